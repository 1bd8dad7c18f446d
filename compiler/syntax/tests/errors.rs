//! Syntax errors: the words of each message, where it points, and recovery at declaration
//! level.

use ward_syntax::{Diagnostic, parse};

/// Parse `text`; return `(code, message, text under the primary span)` of every diagnostic.
fn diags(text: &str) -> Vec<(&'static str, String, String)> {
    let (_, diags) = parse(text);
    diags
        .into_iter()
        .map(|d: Diagnostic| {
            (
                d.code,
                d.message.clone(),
                text[d.span().range()].to_string(),
            )
        })
        .collect()
}

#[track_caller]
fn check(text: &str, code: &str, message: &str, at: &str) {
    let got = diags(text);
    assert_eq!(
        got,
        vec![(code, message.to_string(), at.to_string())],
        "for {text:?}"
    );
}

#[test]
fn messages() {
    check(
        "rule x { on a when a and }",
        "E0001",
        "expected an expression after `and`",
        "}",
    );
    check(
        "rule x { on a deny",
        "E0002",
        "expected `}` to close the rule `x`",
        "",
    );
    check(
        "entity E { name: String",
        "E0002",
        "expected `}` to close the entity `E`",
        "",
    );
    check(
        "test \"t\" { entities { Identity::\"a\" { name: \"A\" }\n",
        "E0002",
        "expected `}` to close the `entities` block",
        "",
    );
    check(
        "entity E { name: 5 }",
        "E0001",
        "expected a type such as `String`, `Set<T>` or an entity name, found `5`",
        "5",
    );
    check(
        "entity rule { }",
        "E0003",
        "expected a name after `entity`, found keyword `rule`",
        "rule",
    );
    check(
        "entity E { deny: Bool }",
        "E0003",
        "expected a name after `{`, found keyword `deny`",
        "deny",
    );
    check(
        "rule x { on a when a < b < c deny }",
        "E0004",
        "comparison operators do not chain: write `a < b and b < c`",
        "<",
    );
    check(
        "rule x { on a when a = b deny }",
        "E0005",
        "`=` is not an operator: write `==` to compare",
        "=",
    );
    check(
        "rule x { on a when a }",
        "E0007",
        "the rule `x` has no effect",
        "",
    );
    check(
        "rule x { when a deny }",
        "E0001",
        "expected `on`, found `when`",
        "when",
    );
    check(
        "rule x { on a when a b deny }",
        "E0001",
        "expected `when`, an effect (`allow`, `deny` or `require approval`) or an operator, found `b`",
        "b",
    );
    check(
        "fn f(x: Int) -> = 1",
        "E0001",
        "expected a type such as `String`, `Set<T>` or an entity name, found `=`",
        "=",
    );
    check(
        "test \"t\" { request a {} expect deny by }",
        "E0001",
        "expected a name after `by`, found `}`",
        "}",
    );
    check(
        "window w { weekly Monday 02:00 - Sat 06:00 }",
        "E0014",
        "unknown day `Monday`",
        "Monday",
    );
    check(
        "window w { daily 09:00 - 24:00 }",
        "E0013",
        "`24:00` is not a time of day",
        "24:00",
    );
    check(
        "window w { between 2026-01-01 and 2027-01-01T00:00:00Z }",
        "E0012",
        "timestamp `2026-01-01` has no time of day",
        "2026-01-01",
    );
    check(
        "test \"t\" { request a {} at 2026-01-01T00:00:00Z at 2026-01-01T00:00:00Z expect deny }",
        "E0016",
        "`at` is written twice for this request",
        "at 2026-01-01T00:00:00Z",
    );
    check(
        "garbage\nrule x { on a deny }",
        "E0017",
        "expected a declaration such as `rule`, `entity` or `const`, found `garbage`",
        "garbage",
    );
    check(
        "rule x { on a deny } }",
        "E0017",
        "expected a declaration such as `rule`, `entity` or `const`, found `}`",
        "}",
    );
}

#[test]
fn because_holes() {
    check(
        "rule x { on a deny because \"{y\" }",
        "E0015",
        "unclosed `{` in message",
        "{",
    );
    check(
        "rule x { on a deny because \"a {} b\" }",
        "E0015",
        "empty `{}` in message",
        "{}",
    );
    check(
        "rule x { on a deny because \"a } b\" }",
        "E0015",
        "unmatched `}` in message",
        "}",
    );
    // An error inside a hole points inside the string.
    let text = "rule x { on a deny because \"n: {a + }\" }";
    let got = diags(text);
    assert_eq!(got.len(), 1);
    assert_eq!(got[0].1, "expected an expression after `+`");
    let (_, d) = parse(text);
    let at = d[0].span().start as usize;
    assert!(
        text[..at].ends_with("{a +"),
        "points after the `+` inside the string: {at}"
    );
}

#[test]
fn recovery_reports_each_broken_declaration() {
    let text = "\
rule one {
  on a
  when x = 
  deny
}

rule good_1 { on a allow }

rule two {
  on a
  when y and
}

const fine = 3

rule three {
  on a
  when (z
  deny
}
rule good_2 { on a deny }
";
    let (file, diags) = parse(text);
    assert_eq!(diags.len(), 3, "{diags:#?}");
    let names: Vec<_> = file
        .items
        .iter()
        .filter_map(|i| i.name())
        .map(|n| n.name.as_str())
        .collect();
    assert_eq!(names, ["good_1", "fine", "good_2"]);
    let lines: Vec<u32> = diags
        .iter()
        .map(|d| ward_syntax::line_col(text, d.span().start).0)
        .collect();
    assert_eq!(lines, [4, 12, 19]);
}

#[test]
fn an_unclosed_block_stops_at_the_next_declaration_in_column_one() {
    let text = "rule a {\n  on x\n  deny\n\nrule b { on x allow }\n";
    let (file, diags) = parse(text);
    assert_eq!(diags.len(), 1);
    assert_eq!(diags[0].message, "expected `}` to close the rule `a`");
    // The error sits right after `deny`, and the open brace is labelled.
    assert_eq!(
        diags[0].span().start as usize,
        text.find("deny").unwrap() + 4
    );
    assert_eq!(
        diags[0].labels[1].span.start as usize,
        text.find('{').unwrap()
    );
    assert_eq!(file.items.len(), 1);
    assert_eq!(file.items[0].name().unwrap().name, "b");
}

/// A small deterministic generator, so the test needs no dependency.
fn lcg(seed: &mut u64) -> u64 {
    *seed = seed
        .wrapping_mul(6364136223846793005)
        .wrapping_add(1442695040888963407);
    *seed >> 33
}

#[test]
fn parsing_never_panics() {
    let pieces = [
        "rule",
        "x",
        "{",
        "}",
        "(",
        ")",
        "[",
        "]",
        "\"",
        "\\",
        "on",
        "when",
        "deny",
        "allow",
        "and",
        "not",
        "==",
        "=",
        "<",
        "{{",
        "}}",
        "because",
        "\"{a}\"",
        "\"{\"",
        "1h",
        "2026-01-01T00:00:00Z",
        "99999999999999999999",
        "::",
        "?.",
        "??",
        "~",
        "test",
        "request",
        "expect",
        "entities",
        "window",
        "daily",
        "09:00",
        "-",
        "Mon",
        "é",
        "\n",
        " ",
        "//",
        "///",
        "\u{0}",
        "if",
        "then",
        "else",
        "any",
        "in",
        ":",
        "|",
        ",",
        ";",
        "fn",
        "const",
        "->",
    ];
    let mut seed = 7;
    for _ in 0..3000 {
        let n = (lcg(&mut seed) % 40) as usize;
        let text: String = (0..n)
            .map(|_| pieces[(lcg(&mut seed) as usize) % pieces.len()])
            .collect::<Vec<_>>()
            .join(" ");
        let _ = parse(&text);
        let _ = ward_syntax::parse_expr(&text);
        let glued: String = (0..n)
            .map(|_| pieces[(lcg(&mut seed) as usize) % pieces.len()])
            .collect();
        let _ = parse(&glued);
    }
    for _ in 0..500 {
        let bytes: Vec<u8> = (0..(lcg(&mut seed) % 200))
            .map(|_| lcg(&mut seed) as u8)
            .collect();
        let text = String::from_utf8_lossy(&bytes);
        let _ = parse(&text);
        let _ = ward_syntax::parse_expr(&text);
    }
}

#[test]
fn deep_nesting_is_an_error_not_a_crash() {
    for depth in [10, 60, 1000, 100_000] {
        let text = format!("const x = {}1{}", "(".repeat(depth), ")".repeat(depth));
        let (file, diags) = parse(&text);
        if depth <= 60 {
            assert!(diags.is_empty(), "depth {depth}: {diags:?}");
            assert_eq!(file.items.len(), 1);
        } else {
            assert_eq!(diags.len(), 1, "depth {depth}");
            assert_eq!(diags[0].code, "E0019");
        }
    }
    let text = format!("const x = {}1", "- ".repeat(100_000));
    let _ = parse(&text);
    let text = format!("const x = {}", "if a then b else ".repeat(10_000));
    let (_, diags) = parse(&text);
    assert_eq!(diags[0].code, "E0019");
    let text = format!("rule r {{ on a when {} deny }}", "[{(\"".repeat(10_000));
    let _ = parse(&text);
    let (_, diags) = ward_syntax::parse_expr(&"(".repeat(100_000));
    assert_eq!(diags[0].code, "E0019");
}

#[test]
fn every_code_is_documented() {
    let path = concat!(env!("CARGO_MANIFEST_DIR"), "/../../docs/diagnostics.md");
    let doc = std::fs::read_to_string(path).expect("docs/diagnostics.md");
    for code in ward_syntax::codes::ALL {
        assert!(
            doc.contains(&format!("| {code} |")),
            "{code} is not in docs/diagnostics.md"
        );
    }
}

/// A string with an escaped quote inside a hole (`{lower("a\"b")}`, written with the
/// message's own escapes) is one string: the hole ends at its `}`.
#[test]
fn holes_hold_strings_with_escaped_quotes() {
    let text = r#"rule r { on a deny because "{lower(\"a\\\"b\")} and {s}" }"#;
    let (file, diags) = parse(text);
    assert!(diags.is_empty(), "{diags:?}");
    let ward_syntax::ast::Item::Rule(rule) = &file.items[0] else {
        panic!("a rule")
    };
    let parts = &rule.because.as_ref().expect("a message").parts;
    assert_eq!(parts.len(), 3, "{parts:?}");
}
