//! End-to-end tests of the `ward` binary: exit codes and what it prints, on the fixtures in
//! `tests/cli/fixtures`. Outputs that people read are insta snapshots.

use std::path::PathBuf;
use std::process::{Command, Output};

fn fixtures() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/cli/fixtures")
}

/// Run `ward ARGS` in the fixtures folder.
fn ward(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_ward"))
        .args(args)
        .current_dir(fixtures())
        .env("NO_COLOR", "1")
        .output()
        .expect("the ward binary runs")
}

fn code(out: &Output) -> i32 {
    out.status.code().expect("exited normally")
}

fn stdout(out: &Output) -> String {
    String::from_utf8_lossy(&out.stdout).into_owned()
}

fn stderr(out: &Output) -> String {
    String::from_utf8_lossy(&out.stderr).into_owned()
}

fn json(out: &Output) -> serde_json::Value {
    serde_json::from_slice(&out.stdout)
        .unwrap_or_else(|e| panic!("stdout is not JSON ({e}):\n{}", stdout(out)))
}

macro_rules! snapshot {
    ($name:expr, $value:expr) => {
        insta::with_settings!({
            snapshot_path => "snapshots",
            prepend_module_to_snapshot => false,
            omit_expression => true,
        }, {
            insta::assert_snapshot!($name, $value);
        })
    };
}

#[test]
fn check_clean_policy_exits_0() {
    let out = ward(&["check", "policy.ward"]);
    assert_eq!(code(&out), 0, "{}", stderr(&out));
    assert!(stderr(&out).contains("no problems"), "{}", stderr(&out));
}

#[test]
fn check_reports_every_error_and_exits_1() {
    let out = ward(&["check", "broken.ward"]);
    assert_eq!(code(&out), 1);
    snapshot!("check_broken_human", stderr(&out));
}

#[test]
fn check_json_format_is_machine_readable() {
    let out = ward(&["check", "broken.ward", "--format", "json"]);
    assert_eq!(code(&out), 1);
    let doc = json(&out);
    assert_eq!(doc["errors"], 2);
    let first = &doc["diagnostics"][0];
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
    ] {
        assert!(
            first.get(key).is_some(),
            "diagnostic lacks `{key}`: {first:#}"
        );
    }
    assert_eq!(first["file"], "broken.ward");
    assert_eq!(first["line"], 7);
    assert_eq!(first["severity"], "error");
}

#[test]
fn check_missing_path_is_a_usage_error() {
    let out = ward(&["check", "no-such-dir"]);
    assert_eq!(code(&out), 2);
    assert!(
        stderr(&out).contains("cannot read `no-such-dir`"),
        "{}",
        stderr(&out)
    );
}

#[test]
fn unknown_flag_is_a_usage_error() {
    assert_eq!(code(&ward(&["check", "policy.ward", "--no-such-flag"])), 2);
}

#[test]
fn check_emit_ir_prints_the_program() {
    let out = ward(&["check", "policy.ward", "--emit-ir"]);
    assert_eq!(code(&out), 0);
    assert!(stdout(&out).contains("finance_exec"), "{}", stdout(&out));
}

#[test]
fn test_passes_and_prints_summary() {
    let out = ward(&["test", "policy.ward"]);
    assert_eq!(code(&out), 0, "{}{}", stdout(&out), stderr(&out));
    assert!(
        stdout(&out).lines().any(|l| l == "2 passed, 0 failed"),
        "{}",
        stdout(&out)
    );
}

#[test]
fn test_failure_exits_1_and_says_why() {
    let out = ward(&["test", "failing_test.ward"]);
    assert_eq!(code(&out), 1);
    snapshot!("test_failure", stdout(&out));
}

#[test]
fn eval_one_request() {
    let out = ward(&[
        "eval",
        "policy.ward",
        "--entities",
        "estate.json",
        "--request",
        "request.json",
    ]);
    assert_eq!(code(&out), 0, "{}", stderr(&out));
    let doc = json(&out);
    assert_eq!(
        doc,
        serde_json::json!({
            "decision": "require_approval",
            "fired": [
                {"rule": "finance_exec", "effect": "require_approval",
                 "message": "Alice is a finance executive", "location": "policy.ward:8:1",
                 "approvers": ["security-oncall"]},
                {"rule": "routine", "effect": "allow", "message": null, "location": "policy.ward:21:1"}
            ],
            "approvers": ["security-oncall"],
            "errors": []
        })
    );
}

#[test]
fn eval_explain_is_readable() {
    let out = ward(&[
        "eval",
        "policy.ward",
        "--entities",
        "estate.json",
        "--request",
        "request.json",
        "--explain",
    ]);
    assert_eq!(code(&out), 0, "{}", stderr(&out));
    snapshot!("eval_explain", stdout(&out));
}

#[test]
fn eval_batch_answers_line_by_line() {
    let out = ward(&[
        "eval",
        "policy.ward",
        "--entities",
        "estate.json",
        "--requests",
        "requests.jsonl",
    ]);
    assert_eq!(code(&out), 0, "{}", stderr(&out));
    let lines: Vec<serde_json::Value> = stdout(&out)
        .lines()
        .map(|l| serde_json::from_str(l).expect("each line is JSON"))
        .collect();
    let decisions: Vec<_> = lines
        .iter()
        .map(|d| d["decision"].as_str().unwrap_or("?"))
        .collect();
    assert_eq!(decisions, ["allow", "deny", "deny", "deny"]);
    assert!(
        lines[2]["errors"][0]["message"]
            .as_str()
            .unwrap_or("")
            .contains("line 3")
    );
    assert!(
        lines[3]["errors"][0]["message"]
            .as_str()
            .unwrap_or("")
            .contains("disable_account")
    );
}

#[test]
fn eval_with_invalid_entities_exits_2() {
    let dir = tempdir();
    let bad = dir.join("bad.json");
    std::fs::write(&bad, r#"{"entities": {"Identity": {"x": {"name": 3}}}}"#).expect("write");
    let out = ward(&[
        "eval",
        "policy.ward",
        "--entities",
        bad.to_str().expect("utf-8"),
        "--request",
        "request.json",
    ]);
    assert_eq!(code(&out), 2);
    assert!(
        stderr(&out).contains("entities.Identity.x"),
        "{}",
        stderr(&out)
    );
}

fn tempdir() -> PathBuf {
    let dir = std::env::temp_dir().join(format!("ward-cli-{}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("temp dir");
    dir
}

// ---------------------------------------------------------------------------------------------
// `ward fmt`: always on copies of the fixtures, in a fresh folder.

/// A fresh copy of `tests/cli/fixtures/fmt` (`broken.ward.txt` becomes `broken.ward` only when
/// `with_broken`).
fn fmt_copy(name: &str, with_broken: bool) -> PathBuf {
    let dir = tempdir().join(name);
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(dir.join("nested")).expect("temp dir");
    let src = fixtures().join("fmt");
    std::fs::copy(src.join("messy.ward"), dir.join("nested/messy.ward")).expect("copy");
    std::fs::copy(src.join("tidy.ward"), dir.join("tidy.ward")).expect("copy");
    if with_broken {
        std::fs::copy(src.join("broken.ward.txt"), dir.join("broken.ward")).expect("copy");
    }
    dir
}

fn ward_in(dir: &std::path::Path, args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_ward"))
        .args(args)
        .current_dir(dir)
        .env("NO_COLOR", "1")
        .output()
        .expect("the ward binary runs")
}

#[test]
fn fmt_check_lists_unformatted_files_and_exits_1() {
    let dir = fmt_copy("fmt-check", false);
    let before = std::fs::read_to_string(dir.join("nested/messy.ward")).expect("read");
    let out = ward_in(&dir, &["fmt", ".", "--check"]);
    assert_eq!(code(&out), 1, "{}", stderr(&out));
    let printed = stdout(&out);
    assert!(
        printed.starts_with("./nested/messy.ward\n--- ./nested/messy.ward\n"),
        "{printed}"
    );
    assert!(
        printed.contains("@@ line 2 @@\n-entity Identity { name: String, title: String }\n"),
        "{printed}"
    );
    assert!(
        printed.contains("\n-rule routine { on disable_account allow }\n+entity Identity {\n"),
        "{printed}"
    );
    assert!(printed.contains("\n+… ("), "{printed}");
    assert!(!printed.contains("tidy.ward"), "{printed}");
    assert!(
        stderr(&out).contains("1 file would be reformatted"),
        "{}",
        stderr(&out)
    );
    // `--check` changes nothing.
    assert_eq!(
        std::fs::read_to_string(dir.join("nested/messy.ward")).expect("read"),
        before
    );
}

#[test]
fn fmt_rewrites_in_place_and_is_idempotent() {
    let dir = fmt_copy("fmt-write", false);
    let tidy = std::fs::read_to_string(dir.join("tidy.ward")).expect("read");
    let out = ward_in(&dir, &["fmt", "."]);
    assert_eq!(code(&out), 0, "{}", stderr(&out));
    assert!(
        stderr(&out).contains("formatted 1 file, 1 unchanged"),
        "{}",
        stderr(&out)
    );
    let messy = std::fs::read_to_string(dir.join("nested/messy.ward")).expect("read");
    assert_eq!(
        messy,
        "// A policy written without care for layout.\n\
         entity Identity {\n  name: String\n  title: String\n}\n\n\
         context {\n  agent: Identity\n}\n\n\
         action disable_account { target: Identity, reason: String }\n\n\
         rule executives {\n  on disable_account\n  when target.title matches \"^(VP|Chief)\"\n  \
         require approval from \"security-oncall\"\n  because \"{target} is an executive\"\n}  // keep me\n\n\
         rule routine {\n  on disable_account\n  allow\n}\n"
    );
    assert_eq!(
        std::fs::read_to_string(dir.join("tidy.ward")).expect("read"),
        tidy
    );
    // A second run changes nothing, and the formatted policy still checks.
    let again = ward_in(&dir, &["fmt", ".", "--check"]);
    assert_eq!(code(&again), 0, "{}", stdout(&again));
    assert!(
        stderr(&again).contains("2 files already formatted"),
        "{}",
        stderr(&again)
    );
    for file in ["nested/messy.ward", "tidy.ward"] {
        let check = ward_in(&dir, &["check", file]);
        assert_eq!(code(&check), 0, "{}", stderr(&check));
    }
}

#[test]
fn fmt_reports_syntax_errors_and_formats_the_other_files() {
    let dir = fmt_copy("fmt-broken", true);
    let broken = std::fs::read_to_string(dir.join("broken.ward")).expect("read");
    let out = ward_in(&dir, &["fmt", "."]);
    assert_eq!(code(&out), 1);
    let err = stderr(&out);
    assert!(err.contains("error[E0005]"), "{err}");
    assert!(err.contains("broken.ward:1:"), "{err}");
    assert!(err.contains("error: 1 file not formatted"), "{err}");
    assert_eq!(
        std::fs::read_to_string(dir.join("broken.ward")).expect("read"),
        broken
    );
    let messy = std::fs::read_to_string(dir.join("nested/messy.ward")).expect("read");
    assert!(
        messy.contains("rule routine {\n  on disable_account\n  allow\n}\n"),
        "{messy}"
    );
}

#[test]
fn fmt_json_report() {
    let dir = fmt_copy("fmt-json", true);
    let out = ward_in(&dir, &["fmt", ".", "--check", "--format", "json"]);
    assert_eq!(code(&out), 1);
    let doc = json(&out);
    assert_eq!(doc["files"], 3);
    assert_eq!(
        doc["unformatted"],
        serde_json::json!(["./nested/messy.ward"])
    );
    assert_eq!(doc["errors"], 1);
    assert_eq!(doc["diagnostics"][0]["code"], "E0005");
}

#[test]
fn fmt_unreadable_path_is_exit_2() {
    let out = ward(&["fmt", "no/such/place.ward"]);
    assert_eq!(code(&out), 2);
    assert!(
        stderr(&out).contains("cannot read `no/such/place.ward`"),
        "{}",
        stderr(&out)
    );
    let empty = tempdir().join("fmt-empty");
    std::fs::create_dir_all(&empty).expect("temp dir");
    let out = ward_in(&empty, &["fmt", "."]);
    assert_eq!(code(&out), 2);
    assert!(
        stderr(&out).contains("no `.ward` files"),
        "{}",
        stderr(&out)
    );
}

/// Frame a JSON-RPC message for the language server.
fn lsp_frame(body: &serde_json::Value) -> Vec<u8> {
    let text = body.to_string();
    format!("Content-Length: {}\r\n\r\n{text}", text.len()).into_bytes()
}

#[test]
fn lsp_session_over_stdio() {
    use std::io::Write as _;
    use std::process::Stdio;
    let mut child = Command::new(env!("CARGO_BIN_EXE_ward"))
        .arg("lsp")
        .current_dir(fixtures())
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("ward lsp starts");
    let mut input = Vec::new();
    for msg in [
        serde_json::json!({"jsonrpc": "2.0", "id": 1, "method": "initialize", "params": {"capabilities": {}}}),
        serde_json::json!({"jsonrpc": "2.0", "method": "initialized", "params": {}}),
        serde_json::json!({"jsonrpc": "2.0", "id": 2, "method": "no/such/request", "params": {}}),
        serde_json::json!({"jsonrpc": "2.0", "id": 3, "method": "shutdown"}),
        serde_json::json!({"jsonrpc": "2.0", "method": "exit"}),
    ] {
        input.extend(lsp_frame(&msg));
    }
    child
        .stdin
        .take()
        .expect("stdin")
        .write_all(&input)
        .expect("write");
    let out = child.wait_with_output().expect("ward lsp ends");
    let text = String::from_utf8_lossy(&out.stdout);
    assert_eq!(
        out.status.code(),
        Some(0),
        "{text}\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(text.contains("\"capabilities\""), "{text}");
    assert!(
        text.contains("-32601"),
        "an unknown request gets MethodNotFound: {text}"
    );
}
