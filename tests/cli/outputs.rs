//! What CI reads: `ward check --format sarif` (validated against the official SARIF 2.1.0
//! schema, `tests/cli/schemas/sarif-schema-2.1.0.json`, with `jsonschema` from the Python test
//! environment), `ward test --format junit` (parsed as XML), `ward test --coverage` and
//! `--min-coverage`, and colours: only on a terminal (a pseudo-terminal made by `script`),
//! never with `NO_COLOR`.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use super::{code, fixtures, json, repo, stderr, stdout, tempdir, ward, ward_in};

// ---------------------------------------------------------------------------------------------
// External parts: skipped with a message, or a failure under `WARD_TEST_EXTERNAL=require`.

/// Says that `what` is missing: panics when the suite requires external parts
/// (`scripts/test.sh`), else prints that the test is skipped. Returns `false` to skip.
fn external(what: &str, how: &str) -> bool {
    if std::env::var("WARD_TEST_EXTERNAL").as_deref() == Ok("require") {
        panic!("{what} is missing: {how}");
    }
    eprintln!("skipped: {what} is missing ({how})");
    false
}

/// The Python of the test environment, when it has `jsonschema`.
fn python_with_jsonschema() -> Option<PathBuf> {
    let venv = std::env::var_os("WARD_VENV")
        .map(PathBuf::from)
        .unwrap_or_else(|| repo().join("target/venv"));
    let python = venv.join("bin/python");
    let ok = Command::new(&python)
        .args(["-c", "import jsonschema"])
        .output()
        .is_ok_and(|o| o.status.success());
    if ok {
        Some(python)
    } else {
        external(
            &format!(
                "`jsonschema` in the Python environment `{}`",
                venv.display()
            ),
            "run scripts/setup.sh, which installs scripts/requirements-test.txt",
        );
        None
    }
}

/// Validates each file against the SARIF schema; the validator's output and whether all
/// passed.
fn validate_sarif(python: &Path, files: &[PathBuf]) -> (bool, String) {
    const SCRIPT: &str = r#"
import json, sys
import jsonschema
with open(sys.argv[1], encoding="utf-8") as f:
    schema = json.load(f)
jsonschema.Draft4Validator.check_schema(schema)
validator = jsonschema.Draft4Validator(
    schema, format_checker=jsonschema.Draft4Validator.FORMAT_CHECKER)
failed = False
for path in sys.argv[2:]:
    with open(path, encoding="utf-8") as f:
        doc = json.load(f)
    for error in validator.iter_errors(doc):
        print(f"{path}: /{'/'.join(map(str, error.absolute_path))}: {error.message}")
        failed = True
sys.exit(1 if failed else 0)
"#;
    let schema = repo().join("tests/cli/schemas/sarif-schema-2.1.0.json");
    let out = Command::new(python)
        .arg("-c")
        .arg(SCRIPT)
        .arg(schema)
        .args(files)
        .output()
        .expect("python runs");
    (
        out.status.success(),
        format!("{}{}", stdout(&out), stderr(&out)),
    )
}

// ---------------------------------------------------------------------------------------------
// SARIF.

fn sarif_of(dir: &Path, path: &str) -> (i32, serde_json::Value) {
    let out = ward_in(dir, &["check", path, "--format", "sarif"]);
    (code(&out), json(&out))
}

#[test]
fn sarif_logs_are_valid_sarif_2_1_0() {
    let dir = tempdir().join("sarif");
    std::fs::create_dir_all(&dir).expect("dir");
    let warn = repo().join("tests/corpus/check/warn/window_never_open.ward");
    let cases = [
        (fixtures(), "broken.ward".to_owned(), 1),
        (fixtures(), "policy.ward".to_owned(), 0),
        (repo(), "examples/guardrails".to_owned(), 0),
        (fixtures(), warn.display().to_string(), 0),
    ];
    let mut files = Vec::new();
    for (i, (cwd, path, expected)) in cases.iter().enumerate() {
        let (status, log) = sarif_of(cwd, path);
        assert_eq!(status, *expected, "{path}: {log:#}");
        let file = dir.join(format!("{i}.sarif"));
        std::fs::write(&file, log.to_string()).expect("write");
        files.push(file);
    }
    let Some(python) = python_with_jsonschema() else {
        return;
    };
    let (ok, report) = validate_sarif(&python, &files);
    assert!(ok, "{report}");
    // The validator does reject what is not SARIF: a level the format does not have.
    let (_, mut log) = sarif_of(&fixtures(), "broken.ward");
    log["runs"][0]["results"][0]["level"] = serde_json::json!("fatal");
    let bad = dir.join("bad.sarif");
    std::fs::write(&bad, log.to_string()).expect("write");
    let (ok, report) = validate_sarif(&python, &[bad]);
    assert!(!ok && report.contains("'fatal'"), "{report}");
}

#[test]
fn sarif_results_carry_codes_positions_and_related_labels() {
    let (status, log) = sarif_of(&fixtures(), "broken.ward");
    assert_eq!(status, 1);
    assert_eq!(log["version"], "2.1.0");
    let run = &log["runs"][0];
    assert_eq!(run["tool"]["driver"]["name"], "ward");
    assert_eq!(run["columnKind"], "unicodeCodePoints");
    let check = json(&ward(&["check", "broken.ward", "--format", "json"]));
    let results = run["results"].as_array().expect("results");
    let diagnostics = check["diagnostics"].as_array().expect("diagnostics");
    assert_eq!(results.len(), diagnostics.len());
    for (result, diag) in results.iter().zip(diagnostics) {
        assert_eq!(result["ruleId"], diag["code"]);
        assert_eq!(result["level"], diag["severity"]);
        let region = &result["locations"][0]["physicalLocation"]["region"];
        assert_eq!(region["startLine"], diag["line"]);
        assert_eq!(region["startColumn"], diag["column"]);
        assert_eq!(region["endLine"], diag["end_line"]);
        assert_eq!(region["endColumn"], diag["end_column"]);
        assert_eq!(
            result["locations"][0]["physicalLocation"]["artifactLocation"]["uri"],
            "broken.ward"
        );
        let text = result["message"]["text"].as_str().expect("text");
        assert!(text.starts_with(diag["message"].as_str().expect("message")));
        if let Some(help) = diag["help"].as_str() {
            assert!(text.ends_with(&format!("\nhelp: {help}")), "{text}");
        }
        let index = result["ruleIndex"].as_u64().expect("index") as usize;
        assert_eq!(run["tool"]["driver"]["rules"][index]["id"], diag["code"]);
        let labels = diag["labels"].as_array().expect("labels");
        let related = result["relatedLocations"].as_array().map_or(0, Vec::len);
        assert_eq!(related, labels.len().saturating_sub(1));
    }
    // Rules are described from docs/diagnostics.md.
    let rule = &run["tool"]["driver"]["rules"][0];
    assert!(
        !rule["shortDescription"]["text"]
            .as_str()
            .expect("text")
            .starts_with('E'),
        "{rule:#}"
    );
}

#[test]
fn sarif_refuses_flags_that_would_mix_text_into_it() {
    let out = ward(&["check", "policy.ward", "--format", "sarif", "--stats"]);
    assert_eq!(code(&out), 2);
    assert_eq!(stdout(&out), "");
}

// ---------------------------------------------------------------------------------------------
// JUnit.

fn junit(dir: &Path, args: &[&str]) -> (Output, String) {
    let mut all = vec!["test"];
    all.extend_from_slice(args);
    all.extend_from_slice(&["--format", "junit"]);
    let out = ward_in(dir, &all);
    let xml = stdout(&out);
    (out, xml)
}

fn parse(xml: &str) -> roxmltree::Document<'_> {
    roxmltree::Document::parse(xml).unwrap_or_else(|e| panic!("not well-formed XML ({e}):\n{xml}"))
}

#[test]
fn junit_has_one_testcase_per_test_and_failures_with_expected_and_actual() {
    let (out, xml) = junit(&fixtures(), &["failing_test.ward"]);
    assert_eq!(code(&out), 1);
    let doc = parse(&xml);
    let root = doc.root_element();
    assert_eq!(root.tag_name().name(), "testsuites");
    assert_eq!(root.attribute("tests"), Some("1"));
    assert_eq!(root.attribute("failures"), Some("1"));
    let cases: Vec<_> = doc
        .descendants()
        .filter(|n| n.has_tag_name("testcase"))
        .collect();
    assert_eq!(cases.len(), 1);
    assert_eq!(
        cases[0].attribute("name"),
        Some("this expectation is wrong")
    );
    assert_eq!(cases[0].attribute("file"), Some("failing_test.ward"));
    assert_eq!(cases[0].attribute("line"), Some("6"));
    let failure = cases[0]
        .children()
        .find(|n| n.has_tag_name("failure"))
        .expect("a failure element");
    let message = failure.attribute("message").expect("message");
    assert!(message.contains("expected deny, got allow"), "{message}");
    let text = failure.text().expect("text");
    assert!(text.contains("fired `routine` (allow)"), "{text}");

    let (out, xml) = junit(&repo(), &["examples/guardrails", "--coverage"]);
    assert_eq!(code(&out), 0, "{}", stderr(&out));
    let doc = parse(&xml);
    let human = stdout(&ward_in(&repo(), &["test", "examples/guardrails"]));
    let n_tests = human.lines().filter(|l| l.starts_with("test ")).count();
    let cases = doc
        .descendants()
        .filter(|n| n.has_tag_name("testcase"))
        .count();
    assert_eq!(cases, n_tests);
    assert!(doc.descendants().all(|n| !n.has_tag_name("failure")));
    let coverage = doc
        .descendants()
        .find(|n| n.attribute("name") == Some("coverage.percent"))
        .and_then(|n| n.attribute("value"))
        .expect("the coverage as a property");
    assert!(coverage.parse::<f64>().is_ok(), "{coverage}");
    // The coverage report is in the log, not in the XML.
    assert!(stderr(&out).starts_with("coverage: "), "{}", stderr(&out));
}

#[test]
fn junit_escapes_names_and_reports_a_policy_that_does_not_check() {
    let dir = tempdir().join("junit-names");
    std::fs::create_dir_all(&dir).expect("dir");
    let policy = "entity Identity { name: String }\ncontext { agent: Identity }\n\
                  action ping { target: Identity }\nrule open { on ping allow }\n\n\
                  test \"quotes \\\" <angles> & ampersands\\ttab\" {\n  \
                  entities { Identity::\"a\" { name: \"a\" } }\n  \
                  request ping { target: Identity::\"a\" } with { agent: Identity::\"a\" } \
                  at 2026-11-28T10:00:00Z\n  expect deny\n}\n";
    std::fs::write(dir.join("names.ward"), policy).expect("write");
    let (out, xml) = junit(&dir, &["names.ward"]);
    assert_eq!(code(&out), 1, "{}{xml}", stderr(&out));
    let doc = parse(&xml);
    let case = doc
        .descendants()
        .find(|n| n.has_tag_name("testcase"))
        .expect("testcase");
    assert_eq!(
        case.attribute("name"),
        Some("quotes \" <angles> & ampersands\ttab")
    );

    let (out, xml) = junit(&fixtures(), &["broken.ward"]);
    assert_eq!(code(&out), 1);
    let doc = parse(&xml);
    let failure = doc
        .descendants()
        .find(|n| n.has_tag_name("failure"))
        .expect("failure");
    assert!(
        failure.text().unwrap_or_default().contains("error[E0131]"),
        "{xml}"
    );
    // The diagnostics are on stderr too, for the log.
    assert!(stderr(&out).contains("E0131"), "{}", stderr(&out));
}

// ---------------------------------------------------------------------------------------------
// Coverage.

#[test]
fn coverage_lists_what_no_test_exercised() {
    let out = ward(&["test", "coverage.ward", "--coverage"]);
    assert_eq!(code(&out), 0, "{}", stderr(&out));
    snapshot!("test_coverage", stdout(&out));
    let out = ward(&["test", "coverage.ward", "--coverage", "--format", "json"]);
    let doc = json(&out);
    let coverage = &doc["coverage"];
    assert_eq!(coverage["covered"], 5);
    assert_eq!(coverage["total"], 8);
    assert_eq!(coverage["percent"], 62.5);
    assert_eq!(coverage["rules"][0]["rule"], "finance_exec");
    assert_eq!(coverage["rules"][0]["fired"], true);
    assert_eq!(coverage["rules"][0]["conditions"][0]["made_false"], true);
    assert_eq!(coverage["rules"][0]["conditions"][1]["made_false"], false);
    assert_eq!(
        coverage["rules"][0]["conditions"][1]["source"],
        "target.title matches \"^(VP|Chief)\""
    );
    // Without `--coverage`, none.
    let doc = json(&ward(&["test", "coverage.ward", "--format", "json"]));
    assert!(doc.get("coverage").is_none(), "{doc:#}");
    // `--filter`: only the tests that ran count.
    let doc = json(&ward(&[
        "test",
        "coverage.ward",
        "--coverage",
        "--filter",
        "engineer",
        "--format",
        "json",
    ]));
    assert_eq!(doc["coverage"]["covered"], 4);
}

#[test]
fn min_coverage_exits_1_below_the_floor() {
    for (floor, expected) in [("62.5", 0), ("62.6", 1), ("0", 0), ("100", 1), ("70%", 1)] {
        let out = ward(&["test", "coverage.ward", "--min-coverage", floor]);
        assert_eq!(
            code(&out),
            expected,
            "--min-coverage {floor}: {}",
            stderr(&out)
        );
        if expected == 1 {
            assert_eq!(
                stderr(&out),
                format!(
                    "error: the tests cover 62.5%, below --min-coverage {}\n",
                    floor.trim_end_matches('%').parse::<f64>().expect("number")
                )
            );
        }
        // `--min-coverage` implies `--coverage`.
        assert!(stdout(&out).contains("coverage: 62.5%"), "{}", stdout(&out));
    }
    for bad in ["101", "-1", "most"] {
        let out = ward(&["test", "coverage.ward", "--min-coverage", bad]);
        assert_eq!(code(&out), 2, "--min-coverage {bad}");
    }
    // The examples cover what docs/ci.md asks of them.
    let out = ward_in(
        &repo(),
        &["test", "examples/guardrails", "--min-coverage", "90"],
    );
    assert_eq!(code(&out), 0, "{}{}", stdout(&out), stderr(&out));
}

// ---------------------------------------------------------------------------------------------
// Colours.

/// Runs `ward ARGS` in `dir` on a pseudo-terminal (util-linux `script`), with `NO_COLOR` set
/// to `no_color` or unset; what the terminal showed (stdout and stderr together).
fn on_terminal(dir: &Path, args: &[&str], no_color: Option<&str>) -> Option<String> {
    let quoted: Vec<String> = std::iter::once(env!("CARGO_BIN_EXE_ward"))
        .chain(args.iter().copied())
        .map(|a| format!("'{}'", a.replace('\'', r"'\''")))
        .collect();
    let mut command = Command::new("script");
    command
        .args(["-q", "-e", "-c", &quoted.join(" "), "/dev/null"])
        .current_dir(dir)
        .env("TERM", "xterm-256color")
        .env_remove("NO_COLOR");
    if let Some(value) = no_color {
        command.env("NO_COLOR", value);
    }
    match command.output() {
        Ok(out) => Some(String::from_utf8_lossy(&out.stdout).into_owned()),
        Err(_) => {
            external(
                "`script` (util-linux), which runs a command on a pseudo-terminal",
                "install the Debian package `bsdutils`",
            );
            None
        }
    }
}

/// Runs `ward ARGS` in `dir` with its output piped and `NO_COLOR` unset.
fn piped(dir: &Path, args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_ward"))
        .args(args)
        .current_dir(dir)
        .env_remove("NO_COLOR")
        .output()
        .expect("ward runs")
}

const ESC: &str = "\x1b[";

#[test]
fn colours_only_on_a_terminal_and_never_with_no_color() {
    let diff_dir = fixtures().join("diff");
    let diff: &[&str] = &[
        "diff",
        "old",
        "new",
        "--entities",
        "estate.json",
        "--requests",
        "requests.jsonl",
    ];
    let cases: [(&Path, &[&str], &str); 3] = [
        (&fixtures(), &["test", "coverage.ward"], "\x1b[32mok\x1b[0m"),
        (&fixtures(), &["check", "broken.ward"], ESC),
        (&diff_dir, diff, "\x1b[1mallow→deny\x1b[0m"),
    ];
    for (dir, args, colour) in cases {
        let Some(shown) = on_terminal(dir, args, None) else {
            return;
        };
        assert!(
            shown.contains(colour),
            "ward {args:?} on a terminal:\n{shown}"
        );
        // An empty `NO_COLOR` does not count (no-color.org).
        let shown = on_terminal(dir, args, Some("")).expect("script ran before");
        assert!(
            shown.contains(colour),
            "ward {args:?}, NO_COLOR='':\n{shown}"
        );
        let shown = on_terminal(dir, args, Some("1")).expect("script ran before");
        assert!(
            !shown.contains(ESC),
            "ward {args:?}, NO_COLOR=1:\n{shown:?}"
        );
        let out = piped(dir, args);
        assert!(
            !stdout(&out).contains(ESC) && !stderr(&out).contains(ESC),
            "ward {args:?} piped:\n{}{}",
            stdout(&out),
            stderr(&out)
        );
    }
}

#[test]
fn diff_shows_a_progress_bar_only_on_a_terminal() {
    let dir = tempdir().join("diff-progress");
    std::fs::create_dir_all(&dir).expect("dir");
    let one = std::fs::read_to_string(fixtures().join("diff/requests.jsonl")).expect("read");
    let many = one.repeat(2000);
    let requests = dir.join("many.jsonl");
    std::fs::write(&requests, many).expect("write");
    let args = [
        "diff",
        "old",
        "new",
        "--entities",
        "estate.json",
        "--requests",
        requests.to_str().expect("utf-8"),
    ];
    let diff_dir = fixtures().join("diff");
    let Some(shown) = on_terminal(&diff_dir, &args, Some("1")) else {
        return;
    };
    assert!(shown.contains(" changed"), "{shown}");
    assert!(
        shown.contains("requests, ") && shown.contains("iB/"),
        "no progress bar on the terminal:\n{shown}"
    );
    let out = piped(&diff_dir, &args);
    assert_eq!(code(&out), 0, "{}", stderr(&out));
    assert_eq!(
        stderr(&out),
        "",
        "no progress bar when stderr is not a terminal"
    );
}
