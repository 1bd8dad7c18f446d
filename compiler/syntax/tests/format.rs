//! Tests of the formatter: every Ward file of the repository formats, idempotently, to a text
//! with the same tree and comments; golden pairs under `tests/format/` (`NAME.in.ward` formats
//! to `NAME.out.ward`; run with `WARD_BLESS=1` to rewrite the expected files); and small cases.

use std::path::{Path, PathBuf};

use ward_syntax::format::{comment_texts, erase_spans, verify};
use ward_syntax::{format, parse};

fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

fn ward_files(dir: &Path, out: &mut Vec<PathBuf>) {
    let mut entries: Vec<PathBuf> = std::fs::read_dir(dir)
        .unwrap_or_else(|e| panic!("cannot read {}: {e}", dir.display()))
        .map(|e| e.expect("a directory entry").path())
        .collect();
    entries.sort();
    for path in entries {
        if path.is_dir() {
            ward_files(&path, out);
        } else if path.extension().is_some_and(|x| x == "ward") {
            out.push(path);
        }
    }
}

/// Format `text` and check every property the formatter promises.
fn check_properties(name: &str, text: &str) -> String {
    let formatted = format(text).unwrap_or_else(|e| panic!("{name}: does not format: {e:?}"));
    let again = format(&formatted)
        .unwrap_or_else(|e| panic!("{name}: the formatted text does not parse: {e:?}"));
    assert_eq!(again, formatted, "{name}: formatting is not idempotent");
    let (before, _) = parse(text);
    let (after, _) = parse(&formatted);
    assert_eq!(
        erase_spans(&after),
        erase_spans(&before),
        "{name}: formatting changed the tree\n{formatted}"
    );
    assert_eq!(
        comment_texts(&after.comments),
        comment_texts(&before.comments),
        "{name}: formatting changed the comments\n{formatted}"
    );
    verify(text, &formatted).unwrap_or_else(|e| panic!("{name}: {e}"));
    assert!(formatted.is_empty() || formatted.ends_with('\n') && !formatted.ends_with("\n\n"));
    for line in formatted.lines() {
        assert_eq!(line.trim_end(), line, "{name}: trailing white space");
        assert!(!line.contains('\t'), "{name}: a tab in {line:?}");
    }
    formatted
}

#[test]
fn every_ward_file_of_the_repository_formats_safely() {
    let mut files = Vec::new();
    for dir in [
        "tests/corpus/eval",
        "tests/corpus/check/pass",
        "examples/guardrails",
        "stdlib",
        "compiler/syntax/tests/fixtures",
        "compiler/syntax/tests/format",
    ] {
        ward_files(&root().join(dir), &mut files);
    }
    assert!(files.len() > 40, "only {} files found", files.len());
    for path in &files {
        let text = std::fs::read_to_string(path).expect("a readable file");
        check_properties(&path.display().to_string(), &text);
    }
}

#[test]
fn golden_files() {
    let dir = root().join("compiler/syntax/tests/format");
    let mut inputs: Vec<PathBuf> = std::fs::read_dir(&dir)
        .expect("the golden directory")
        .map(|e| e.expect("a directory entry").path())
        .filter(|p| p.to_string_lossy().ends_with(".in.ward"))
        .collect();
    inputs.sort();
    assert!(!inputs.is_empty());
    let bless = std::env::var_os("WARD_BLESS").is_some();
    let mut failures = Vec::new();
    for input in inputs {
        let text = std::fs::read_to_string(&input).expect("a readable input");
        let name = input.display().to_string();
        let got = check_properties(&name, &text);
        let expected_path = PathBuf::from(name.replace(".in.ward", ".out.ward"));
        if bless {
            std::fs::write(&expected_path, &got).expect("a writable expected file");
            continue;
        }
        let expected = std::fs::read_to_string(&expected_path).unwrap_or_default();
        if got != expected {
            failures.push(format!("{name}:\n--- expected\n{expected}--- got\n{got}"));
        }
        // The expected output is itself canonical.
        assert_eq!(
            format(&expected).as_deref(),
            Ok(expected.as_str()),
            "{name}"
        );
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

/// `input` formats to `expected` (both unindented by the common indentation of `expected`'s
/// lines is not done: write them flush left).
#[track_caller]
fn check(input: &str, expected: &str) {
    let got = check_properties("input", input);
    assert_eq!(got, expected, "\ninput:\n{input}\ngot:\n{got}");
}

#[test]
fn a_file_with_syntax_errors_is_refused() {
    let errors = format("rule r { on a when x = 1 deny }").expect_err("a syntax error");
    assert_eq!(errors[0].code, "E0005");
    assert!(format("entity {").is_err());
}

#[test]
fn empty_and_comment_only_files() {
    check("", "");
    check("\n\n  \n", "");
    check(
        "// only a comment   \n\n\n// another\n",
        "// only a comment\n\n// another\n",
    );
}

#[test]
fn schema_layout() {
    check(
        "enum Tier{a,b,\nc}\nentity Identity { name: String, manager: Identity?, groups: Set< String > }",
        "enum Tier { a, b, c }\n\nentity Identity {\n  name: String\n  manager: Identity?\n  groups: Set<String>\n}\n",
    );
    check(
        "action a {\n  x: Int,\n  y: Bool,\n}\naction b{}\ncontext{}",
        "action a { x: Int, y: Bool }\naction b {}\n\ncontext {}\n",
    );
    check(
        "relation depends_on : Asset->Asset\n\n\n\nrelation r: A -> B\nrelation s: A -> B",
        "relation depends_on: Asset -> Asset\n\nrelation r: A -> B\nrelation s: A -> B\n",
    );
    check(
        "use std.time\nuse std.time.{ a,b, }\nconst x = 1;\nconst y: Duration = 90m;",
        "use std.time\nuse std.time.{a, b}\n\nconst x = 1\nconst y: Duration = 1h30m\n",
    );
}

#[test]
fn a_long_action_goes_one_field_per_line() {
    let fields: Vec<String> = (0..12).map(|i| format!("field_{i}: String")).collect();
    let input = format!("action wide {{ {} }}", fields.join(", "));
    let mut expected = String::from("action wide {\n");
    for f in &fields {
        expected.push_str(&format!("  {f}\n"));
    }
    expected.push_str("}\n");
    check(&input, &expected);
}

#[test]
fn rule_layout() {
    check(
        "rule r { on a,b when x when y deny because \"no\" }",
        "rule r {\n  on a, b\n  when x\n  when y\n  deny\n  because \"no\"\n}\n",
    );
    check(
        "rule r {\n  on *\n  require approval from [\"a\",\"b\"]\n}",
        "rule r {\n  on *\n  require approval from [\"a\", \"b\"]\n}\n",
    );
    check("default require approval", "default require approval\n");
}

#[test]
fn long_conditions_wrap_at_the_outermost_chain() {
    let cond = (0..8)
        .map(|i| format!("condition_number_{i}"))
        .collect::<Vec<_>>();
    let input = format!("rule r {{ on a when {} allow }}", cond.join(" and "));
    let expected = format!(
        "rule r {{\n  on a\n  when {}\n  allow\n}}\n",
        cond.join("\n      and ")
    );
    check(&input, &expected);
    // `or` is the outermost chain: the `and`s stay together.
    let input = format!(
        "rule r {{ on a when {} or {} allow }}",
        cond[..4].join(" and "),
        cond[4..].join(" and ")
    );
    let expected = format!(
        "rule r {{\n  on a\n  when {}\n      or {}\n  allow\n}}\n",
        cond[..4].join(" and "),
        cond[4..].join(" and ")
    );
    check(&input, &expected);
}

#[test]
fn expressions_are_respaced_and_keep_their_parentheses() {
    let cases = [
        ("a+b*c", "a + b * c"),
        ("(a+b)*c", "(a + b) * c"),
        ("((a))", "((a))"),
        ("not(a)and b", "not (a) and b"),
        ("- - x", "--x"),
        (
            "x?.manager?.title??\"none\"==\"CFO\"",
            "x?.manager?.title ?? \"none\" == \"CFO\"",
        ),
        ("a ?? b ?? c", "a ?? b ?? c"),
        ("s.contains( x )", "s.contains(x)"),
        ("count( { x in s|x.a } )", "count({ x in s | x.a })"),
        (
            "any x in closure(h,~depends_on):\"r\" in x.tags",
            "any x in closure(h, ~depends_on): \"r\" in x.tags",
        ),
        (
            "a and (if c then 1 else 2) == 1",
            "a and (if c then 1 else 2) == 1",
        ),
        (
            "if c then a else if d then b else c",
            "if c then a else if d then b else c",
        ),
        ("target has manager", "target has manager"),
        (
            "Identity::\"alice\" == t and Tier::critical == x",
            "Identity::\"alice\" == t and Tier::critical == x",
        ),
        ("[ ]", "[]"),
        ("[1,2,]", "[1, 2]"),
        (
            "now - 2026-11-28t10:00:00z > 48h",
            "now - 2026-11-28T10:00:00Z > 2d",
        ),
        (
            "t == 2026-11-28T10:00:00+01:00",
            "t == 2026-11-28T10:00:00+01:00",
        ),
        ("3600s + 0h", "1h + 0s"),
        ("-9223372036854775808", "-9223372036854775808"),
        ("\"a\\u{41}\\u{9}\\u{202E}\"", "\"aA\\t\\u{202e}\""),
    ];
    for (input, want) in cases {
        let text = format!("const c = {input}");
        check(&text, &format!("const c = {want}\n"));
    }
}

#[test]
fn messages_are_reprinted_from_their_parts() {
    let cases = [
        (
            r#""{ target.name } is {{literal}}""#,
            r#""{target.name} is {{literal}}""#,
        ),
        (r#""{x ?? \"none\"}""#, r#""{x ?? \"none\"}""#),
        (
            r#""{count({a in s | a.b})} items""#,
            r#""{count({ a in s | a.b })} items""#,
        ),
        (
            r#""{ {a in s | a.b} } items""#,
            r#""{ { a in s | a.b } } items""#,
        ),
        (
            r#""quote \" and \\ and {a}\n""#,
            r#""quote \" and \\ and {a}\n""#,
        ),
        (r#""{x matches \"a{2}\"}""#, r#""{x matches \"a{2}\"}""#),
        // A quote inside a string inside a hole is written `\u{22}` (the parser cannot read
        // `\\\"` there).
        (r#""{x == \"a\\u{22}b\"}""#, r#""{x == \"a\\u{22}b\"}""#),
    ];
    for (input, want) in cases {
        let text = format!("rule r {{ on a deny because {input} }}");
        let expected = format!("rule r {{\n  on a\n  deny\n  because {want}\n}}\n");
        check(&text, &expected);
    }
}

#[test]
fn windows() {
    check(
        "window w { timezone \"Europe/London\" weekly Sat 2:00 - Sat 06:00\n daily 9:00-17:30 on Mon-Fri,Sat\n between 2026-12-20T00:00:00Z and 2027-01-03T00:00:00+01:00 except f }\nwindow empty {}",
        "window w {\n  timezone \"Europe/London\"\n  weekly Sat 02:00 - Sat 06:00\n  daily 09:00 - 17:30 on Mon-Fri, Sat\n  between 2026-12-20T00:00:00Z and 2027-01-03T00:00:00+01:00\n  except f\n}\n\nwindow empty {}\n",
    );
}

#[test]
fn functions_break_after_the_equals_sign_when_long() {
    check(
        "fn f(a: Int, b: Int) -> Bool = a > b;",
        "fn f(a: Int, b: Int) -> Bool = a > b\n",
    );
    let long = format!(
        "fn is_long(title: String) -> Bool = title matches \"{}\"",
        "x".repeat(80)
    );
    check(
        &long,
        &format!(
            "fn is_long(title: String) -> Bool =\n  title matches \"{}\"\n",
            "x".repeat(80)
        ),
    );
}

#[test]
fn tests_layout() {
    check(
        r#"test "t" { entities { Identity::"a" { name: "A", groups: [] } Asset::"w" depends_on Asset::"d" }
request act { target: Identity::"a" } at 2026-11-28T10:00:00Z with { agent: Identity::"a" }
expect deny by r1,r2
request act { target: Identity::"a" } expect allow }"#,
        r#"test "t" {
  entities {
    Identity::"a" { name: "A", groups: [] }
    Asset::"w" depends_on Asset::"d"
  }
  request act { target: Identity::"a" } with { agent: Identity::"a" } at 2026-11-28T10:00:00Z
  expect deny by r1, r2
  request act { target: Identity::"a" }
  expect allow
}
"#,
    );
    check(
        "test \"f\" { entities from \"x.json\" request a {} expect require approval from \"x\" }",
        "test \"f\" {\n  entities from \"x.json\"\n  request a {}\n  expect require approval from \"x\"\n}\n",
    );
}

#[test]
fn comments_stay_where_they_were() {
    check(
        "// header\n\n/// doc\nentity A { // opening\n  /// field doc\n  name: String // trailing\n  // before close\n} // after\nconst x = 1 // c",
        "// header\n\n/// doc\nentity A {  // opening\n  /// field doc\n  name: String  // trailing\n  // before close\n}  // after\n\nconst x = 1  // c\n",
    );
    // Comments inside an expression move before its line.
    check(
        "rule r {\n  on a\n  when x and // why x\n    y\n  deny\n}",
        "rule r {\n  on a\n  // why x\n  when x and y\n  deny\n}\n",
    );
    // A record holding a comment is written one field per line.
    check(
        "test \"t\" { request a { x: 1, // the x\n y: 2 } expect allow }",
        "test \"t\" {\n  request a {\n    x: 1  // the x\n    y: 2\n  }\n  expect allow\n}\n",
    );
}

#[test]
fn blank_lines_inside_blocks_are_kept_once() {
    check(
        "entity A {\n\n  a: Int\n\n\n  b: Int\n\n}",
        "entity A {\n  a: Int\n\n  b: Int\n}\n",
    );
}

fn repository_files() -> Vec<(String, String)> {
    let mut files = Vec::new();
    for dir in [
        "tests/corpus/eval",
        "tests/corpus/check/pass",
        "examples/guardrails",
        "stdlib",
    ] {
        ward_files(&root().join(dir), &mut files);
    }
    files
        .into_iter()
        .map(|p| {
            let text = std::fs::read_to_string(&p).expect("a readable file");
            (p.display().to_string(), text)
        })
        .collect()
}

#[test]
fn indentation_and_line_endings_of_the_input_do_not_matter() {
    for (name, text) in repository_files() {
        let want = format(&text).expect("formats");
        let indented: String = text.lines().map(|l| format!("       {l}\n")).collect();
        assert_eq!(format(&indented).as_ref(), Ok(&want), "{name}: indented");
        let crlf = text.replace('\n', "\r\n");
        assert_eq!(format(&crlf).as_ref(), Ok(&want), "{name}: CRLF");
    }
}

/// A comment at the end of every line: each must survive, the result must be stable and the
/// tree unchanged, wherever the comments fall (inside expressions, records, clauses).
#[test]
fn a_comment_after_every_line_survives() {
    for (name, text) in repository_files() {
        let commented: String = text
            .lines()
            .enumerate()
            .map(|(idx, l)| {
                if l.contains("//") {
                    format!("{l}\n")
                } else {
                    format!("{l} // c{idx}\n")
                }
            })
            .collect();
        check_properties(&format!("{name} (commented)"), &commented);
    }
}

/// Doubling every line break keeps at most one blank line anywhere.
#[test]
fn runs_of_blank_lines_collapse_to_one() {
    for (name, text) in repository_files() {
        let spread = text.replace('\n', "\n\n\n");
        let formatted = check_properties(&format!("{name} (spread)"), &spread);
        assert!(!formatted.contains("\n\n\n"), "{name}");
    }
}

#[test]
fn errors_of_a_crlf_file_point_into_the_text_as_given() {
    let text = "const a = 1\r\nconst b = \r\nconst c = 2 = 3\r\n";
    let errors = format(text).expect_err("syntax errors");
    let (_, direct) = parse(text);
    let direct: Vec<_> = direct.into_iter().filter(|d| d.is_error()).collect();
    assert_eq!(errors, direct);
}
