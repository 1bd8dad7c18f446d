//! The plain-text and JSON forms on small policies, compared whole.

use super::*;

const SCHEMA: &str = "entity Identity { name: String, level: Int }\n\
                      action disable_account { target: Identity }\n";

fn compile_one(path: &str, text: &str) -> Compiled {
    ward_check::compile(&[(path.to_owned(), text.to_owned())])
}

#[test]
fn text_is_rustc_like_with_every_label_and_the_help() {
    let text = format!(
        "{SCHEMA}rule r {{\n  on disable_account\n  when target.level == \"3\"\n  deny\n}}\n"
    );
    let compiled = compile_one("policy.ward", &text);
    assert_eq!(compiled.diagnostics.len(), 1, "{:?}", compiled.diagnostics);
    assert_eq!(
        render_all_text(&compiled),
        "error[E0136]: cannot compare `Int` with `String` using `==`\n \
         --> policy.ward:5:21\n  \
         |\n\
         5 |   when target.level == \"3\"\n  \
         |        ------------ this is `Int`\n  \
         |                     ^^\n  \
         |                        --- this is `String`\n  \
         |\n  \
         = help: both sides of `==` and `!=` must have the same type\n"
    );
}

#[test]
fn columns_count_characters_in_both_forms() {
    // `é` and `ü` are two bytes each: a byte column would say 47, not 45.
    let text = format!(
        "{SCHEMA}rule r {{\n  on disable_account\n  when target.name == \"éü\" and target.level == \"3\"\n  deny\n}}\n"
    );
    let compiled = compile_one("p.ward", &text);
    let diag = &compiled.diagnostics[0];
    let json = to_json(&compiled.files, diag);
    assert_eq!((json.line, json.column), (5, 45));
    assert_eq!(
        location(&compiled.files, diag),
        ("p.ward".to_owned(), 5, 45)
    );
    let rendered = render_text(&compiled.files, diag);
    assert!(rendered.contains("--> p.ward:5:45\n"), "{rendered}");
    // The caret sits under the `==` that follows `target.level`.
    let source = rendered.lines().find(|l| l.starts_with("5 |")).unwrap();
    let caret = rendered.lines().find(|l| l.ends_with("^^")).unwrap();
    let at = |line: &str, pat: &str| {
        line.chars().count() - line[line.find(pat).unwrap()..].chars().count()
    };
    assert_eq!(at(caret, "^^"), at(source, "== \"3\""), "{rendered}");
}

#[test]
fn json_has_the_documented_fields() {
    let compiled = compile_one("p.ward", "rule r { on nothing deny }");
    let doc = serde_json::to_value(all_to_json(&compiled)).unwrap();
    let first = &doc[0];
    for key in [
        "file",
        "line",
        "column",
        "end_line",
        "end_column",
        "code",
        "severity",
        "message",
        "help",
        "labels",
    ] {
        assert!(first.get(key).is_some(), "no `{key}` in {first:#}");
    }
    assert_eq!(first["file"], "p.ward");
    assert_eq!(first["severity"], "error");
    assert_eq!(first["line"], 1);
}

#[test]
fn labels_in_another_file_become_notes_with_their_own_snippet() {
    let compiled = ward_check::compile(&[
        (
            "a.ward".to_owned(),
            "action patch { host: String }\nrule guard { on patch deny }\n".to_owned(),
        ),
        (
            "b.ward".to_owned(),
            "rule guard { on patch allow }\n".to_owned(),
        ),
    ]);
    let text = render_all_text(&compiled);
    assert!(text.starts_with("error[E0110]: "), "{text}");
    assert!(text.contains(" --> b.ward:1:6\n"), "{text}");
    assert!(text.contains(" = note: first defined here"), "{text}");
    assert!(text.contains(" --> a.ward:2:6\n"), "{text}");
    assert!(
        text.contains("2 | rule guard { on patch deny }\n  |      -----\n"),
        "{text}"
    );
}
