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

// ---------------------------------------------------------------------------------------------
// `ward eval` at the edges: strict requests, streaming, bad lines, endless input.

/// The repository root (the bundled `examples/`).
fn repo() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// `ward eval examples/guardrails --entities examples/estate.json ARGS`, from the root.
fn eval_example(args: &[&str]) -> Output {
    let mut all = vec![
        "eval",
        "examples/guardrails",
        "--entities",
        "examples/estate.json",
    ];
    all.extend_from_slice(args);
    ward_in(&repo(), &all)
}

/// The attack: `target` twice. `serde_json` keeps the last key, which decided this break-glass
/// request for `fiona-walsh` instead of denying it for `breakglass-admin`.
const DUPLICATE_TARGET: &str = r#"{"action": "reset_mfa", "at": "2026-11-28T10:00:00Z", "args": {"target": "breakglass-admin", "target": "fiona-walsh"}, "context": {"agent": "warden"}}"#;

#[test]
fn eval_denies_a_duplicated_key_naming_it() {
    let dir = tempdir().join("duplicate-key");
    std::fs::create_dir_all(&dir).expect("temp dir");
    let request = dir.join("request.json");
    std::fs::write(&request, DUPLICATE_TARGET).expect("write");
    let request = request.to_str().expect("utf-8");
    for engine in ["jit", "interp"] {
        let out = eval_example(&["--request", request, "--engine", engine]);
        assert_eq!(code(&out), 0, "{}", stderr(&out));
        let doc = json(&out);
        assert_eq!(doc["decision"], "deny", "{engine}: {doc:#}");
        assert_eq!(doc["fired"], serde_json::json!([]), "{doc:#}");
        assert_eq!(
            doc["errors"],
            serde_json::json!([{"rule": null, "message": "args: duplicate key `target`"}])
        );
        let explained = eval_example(&["--request", request, "--engine", engine, "--explain"]);
        assert!(
            stdout(&explained).contains("duplicate key `target`"),
            "{}",
            stdout(&explained)
        );
    }
    // The same through a stream, between two requests that are decided.
    let batch = dir.join("requests.jsonl");
    let fiona = DUPLICATE_TARGET.replace(r#""target": "breakglass-admin", "#, "");
    std::fs::write(&batch, format!("{fiona}\n{DUPLICATE_TARGET}\n{fiona}\n")).expect("write");
    let out = eval_example(&["--requests", batch.to_str().expect("utf-8")]);
    assert_eq!(code(&out), 0, "{}", stderr(&out));
    let lines: Vec<serde_json::Value> = stdout(&out)
        .lines()
        .map(|l| serde_json::from_str(l).expect("each line is JSON"))
        .collect();
    assert_eq!(lines.len(), 3, "{}", stdout(&out));
    // What the duplicate would have been decided as: not the deny of `breakglass-admin`.
    assert_eq!(lines[0]["decision"], "require_approval", "{:#}", lines[0]);
    assert_eq!(lines[1]["decision"], "deny");
    assert_eq!(lines[1]["line"], 2);
    assert_eq!(
        lines[1]["errors"][0]["message"],
        "line 2: args: duplicate key `target`"
    );
    assert_eq!(lines[2], lines[0]);
}

/// Reads lines from a child's stdout on a thread, so that a test can wait for one answer with a
/// deadline instead of blocking forever.
fn line_reader(stdout: std::process::ChildStdout) -> std::sync::mpsc::Receiver<String> {
    use std::io::BufRead as _;
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        for line in std::io::BufReader::new(stdout).lines() {
            let Ok(line) = line else { break };
            if tx.send(line).is_err() {
                break;
            }
        }
    });
    rx
}

/// Waits for a child at most `secs` seconds; kills it and fails the test after that.
fn wait_bounded(
    child: &mut std::process::Child,
    secs: u64,
    what: &str,
) -> std::process::ExitStatus {
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(secs);
    loop {
        if let Some(status) = child.try_wait().expect("wait") {
            return status;
        }
        if std::time::Instant::now() > deadline {
            let _ = child.kill();
            let _ = child.wait();
            panic!("{what} did not end within {secs} s");
        }
        std::thread::sleep(std::time::Duration::from_millis(20));
    }
}

/// Issue 7.3: a co-process writes one request, waits for its answer, then writes the next.
#[test]
fn eval_requests_answers_each_line_before_the_next_arrives() {
    use std::io::Write as _;
    use std::process::Stdio;
    let mut child = Command::new(env!("CARGO_BIN_EXE_ward"))
        .args([
            "eval",
            "policy.ward",
            "--entities",
            "estate.json",
            "--requests",
            "-",
        ])
        .current_dir(fixtures())
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("ward eval starts");
    let mut input = child.stdin.take().expect("stdin");
    let answers = line_reader(child.stdout.take().expect("stdout"));
    let request = |target: &str| {
        format!(
            r#"{{"action": "disable_account", "at": "2026-11-28T10:00:00Z", "args": {{"target": "{target}", "reason": "stale"}}, "context": {{"agent": "bot"}}}}"#
        )
    };
    for (target, expected) in [
        ("erin", "allow"),
        ("alice", "require_approval"),
        ("bot", "deny"),
        ("erin", "allow"),
    ] {
        writeln!(input, "{}", request(target)).expect("write a request");
        input.flush().expect("flush");
        let answer = answers
            .recv_timeout(std::time::Duration::from_secs(60))
            .unwrap_or_else(|_| {
                let _ = child.kill();
                panic!("no answer for `{target}` within 60 s: decisions are not flushed per line")
            });
        let doc: serde_json::Value = serde_json::from_str(&answer).expect("an answer is JSON");
        assert_eq!(doc["decision"], expected, "{target}: {doc:#}");
    }
    drop(input);
    let status = wait_bounded(&mut child, 60, "ward eval after its input closed");
    assert_eq!(status.code(), Some(0));
}

/// Issue 7.4: lines that are not UTF-8, too long, not JSON or repeat a key each get a deny
/// naming their number, and the lines after them are decided.
#[test]
fn eval_requests_denies_bad_lines_by_number_and_goes_on() {
    let good = std::fs::read_to_string(fixtures().join("request.json"))
        .expect("read")
        .replace('\n', "");
    let mut input = Vec::new();
    input.extend_from_slice(good.as_bytes());
    input.extend_from_slice(b"\n{\"action\": \"disable_account\", \"x\": \"\xff\xfe\"}\n");
    input.extend_from_slice(format!("{{\"action\": \"{}\"}}\n", "x".repeat(10_000)).as_bytes());
    input.extend_from_slice(good.as_bytes());
    input.extend_from_slice(
        b"\n{\"action\": \"disable_account\", \"action\": \"x\"}\n\n{\"oops\"\n",
    );
    input.extend_from_slice(good.as_bytes());
    // The last line has no line break.
    let dir = tempdir().join("bad-lines");
    std::fs::create_dir_all(&dir).expect("temp dir");
    let path = dir.join("requests.jsonl");
    std::fs::write(&path, &input).expect("write");
    let out = ward(&[
        "eval",
        "policy.ward",
        "--entities",
        "estate.json",
        "--requests",
        path.to_str().expect("utf-8"),
        "--max-line",
        "4096",
    ]);
    assert_eq!(code(&out), 0, "{}", stderr(&out));
    let lines: Vec<serde_json::Value> = stdout(&out)
        .lines()
        .map(|l| serde_json::from_str(l).expect("each line is JSON"))
        .collect();
    let summary: Vec<(String, serde_json::Value, String)> = lines
        .iter()
        .map(|d| {
            (
                d["decision"].as_str().unwrap_or("?").to_owned(),
                d.get("line").cloned().unwrap_or(serde_json::Value::Null),
                d["errors"][0]["message"].as_str().unwrap_or("").to_owned(),
            )
        })
        .collect();
    let expected = [
        ("require_approval", serde_json::Value::Null, ""),
        (
            "deny",
            serde_json::json!(2),
            "line 2 is not valid UTF-8 (bad byte at offset 36)",
        ),
        (
            "deny",
            serde_json::json!(3),
            "line 3 is longer than 4096 bytes (the limit of --max-line)",
        ),
        ("require_approval", serde_json::Value::Null, ""),
        (
            "deny",
            serde_json::json!(5),
            "line 5: duplicate key `action`",
        ),
        (
            "deny",
            serde_json::json!(7),
            "line 7: invalid JSON at column 7: EOF while parsing an object",
        ),
        ("require_approval", serde_json::Value::Null, ""),
    ];
    let expected: Vec<(String, serde_json::Value, String)> = expected
        .into_iter()
        .map(|(d, l, m)| (d.to_owned(), l, m.to_owned()))
        .collect();
    assert_eq!(summary, expected, "{}", stdout(&out));
}

/// Issue 7.4: endless input without a line break ends with an error, not a process that grows
/// until the system kills it.
#[test]
fn eval_requests_on_dev_zero_ends_with_a_clear_error() {
    use std::process::Stdio;
    let mut child = Command::new(env!("CARGO_BIN_EXE_ward"))
        .args(["eval", "policy.ward", "--requests", "/dev/zero"])
        .current_dir(fixtures())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("ward eval starts");
    let status = wait_bounded(&mut child, 120, "ward eval --requests /dev/zero");
    let out = child.wait_with_output().expect("output");
    assert_eq!(status.code(), Some(2), "{}", stderr(&out));
    assert!(
        stdout(&out).starts_with(
            r#"{"line":1,"decision":"deny","fired":[],"approvers":[],"errors":[{"rule":null,"message":"line 1 is longer than 1048576 bytes (the limit of --max-line)"}]}"#
        ),
        "{}",
        stdout(&out)
    );
    assert_eq!(
        stderr(&out),
        "error: line 1 of `/dev/zero` has no end after 67108864 bytes: the input is not JSON \
         lines (one request per line)\n"
    );
}

/// Issue 7.9: with `--explain`, every line of a stream has the same shape, rejected ones too.
#[test]
fn eval_explain_requests_prints_every_line_in_one_shape() {
    let out = ward(&[
        "eval",
        "policy.ward",
        "--entities",
        "estate.json",
        "--requests",
        "requests.jsonl",
        "--explain",
        "--format",
        "json",
    ]);
    assert_eq!(code(&out), 0, "{}", stderr(&out));
    let lines: Vec<serde_json::Value> = stdout(&out)
        .lines()
        .map(|l| serde_json::from_str(l).expect("each line is JSON"))
        .collect();
    assert_eq!(lines.len(), 4, "{}", stdout(&out));
    for (i, doc) in lines.iter().enumerate() {
        let mut keys: Vec<&str> = doc
            .as_object()
            .expect("an object")
            .keys()
            .map(String::as_str)
            .filter(|k| *k != "line")
            .collect();
        keys.sort_unstable();
        assert_eq!(keys, ["decision", "explanation"], "line {}: {doc:#}", i + 1);
        assert!(doc["decision"]["decision"].is_string(), "{doc:#}");
        assert!(doc["explanation"]["rules"].is_array(), "{doc:#}");
    }
    assert_eq!(lines[2]["line"], 3);
    assert_eq!(lines[2]["explanation"]["action"], serde_json::Value::Null);
    assert_eq!(lines[0].get("line"), None);
    // For people: one trace per line, each headed by its number.
    let human = ward(&[
        "eval",
        "policy.ward",
        "--entities",
        "estate.json",
        "--requests",
        "requests.jsonl",
        "--explain",
    ]);
    let text = stdout(&human);
    let heads: Vec<&str> = text.lines().filter(|l| l.starts_with("line ")).collect();
    assert_eq!(
        heads,
        ["line 1:", "line 2:", "line 3:", "line 4:"],
        "{text}"
    );
    assert_eq!(text.matches("decision: ").count(), 4, "{text}");
}

// ---------------------------------------------------------------------------------------------
// A newcomer's first hour.

#[test]
fn check_counts_the_files_the_user_wrote_not_the_stdlib() {
    let out = ward(&["check", "policy.ward"]);
    assert_eq!(code(&out), 0, "{}", stderr(&out));
    assert_eq!(
        stderr(&out),
        "checked 1 file in `policy.ward`: no problems\n"
    );
    let out = ward(&["check", "broken.ward", "--format", "json"]);
    assert_eq!(json(&out)["files"], 1);
    let n = std::fs::read_dir(repo().join("examples/guardrails"))
        .expect("readable")
        .filter(|e| {
            e.as_ref()
                .is_ok_and(|e| e.path().extension().is_some_and(|x| x == "ward"))
        })
        .count();
    // The example uses `std.time` and `std.deps`: still only its own files count.
    let out = ward_in(&repo(), &["check", "examples/guardrails"]);
    assert_eq!(
        stderr(&out),
        format!("checked {n} files in `examples/guardrails`: no problems\n")
    );
}

/// The position of the human header (`╭─[file:line:col]`) of each diagnostic.
fn human_positions(text: &str) -> Vec<(u64, u64)> {
    text.lines()
        .filter_map(|l| l.trim_start().strip_prefix("╭─["))
        .filter_map(|l| l.strip_suffix(']'))
        .filter_map(|l| {
            let mut parts = l.rsplitn(3, ':');
            let col = parts.next()?.parse().ok()?;
            let line = parts.next()?.parse().ok()?;
            Some((line, col))
        })
        .collect()
}

#[test]
fn human_and_json_diagnostics_give_the_same_column() {
    let dir = tempdir().join("columns");
    std::fs::create_dir_all(&dir).expect("temp dir");
    // Two-byte characters before the error: a byte count says column 47, characters say 45.
    std::fs::write(
        dir.join("p.ward"),
        "entity Identity { name: String, level: Int }\n\
         action disable_account { target: Identity }\n\
         rule r {\n  on disable_account\n  \
         when target.name == \"éü\" and target.level == \"3\"\n  deny\n}\n",
    )
    .expect("write");
    let human = ward_in(&dir, &["check", "p.ward"]);
    let machine = ward_in(&dir, &["check", "p.ward", "--format", "json"]);
    let doc = json(&machine);
    let from_json: Vec<(u64, u64)> = doc["diagnostics"]
        .as_array()
        .expect("diagnostics")
        .iter()
        .map(|d| {
            (
                d["line"].as_u64().unwrap_or(0),
                d["column"].as_u64().unwrap_or(0),
            )
        })
        .collect();
    assert_eq!(from_json, [(5, 45)]);
    assert_eq!(
        human_positions(&stderr(&human)),
        from_json,
        "{}",
        stderr(&human)
    );
}

/// Output to a closed pipe (`ward … | head`) ends the command quietly: no panic, no message,
/// the status of a Unix tool that SIGPIPE ended.
#[test]
fn every_command_ends_quietly_when_stdout_is_closed() {
    use std::process::Stdio;
    let dir = fmt_copy("closed-pipe", false);
    let estate = fixtures().join("estate.json");
    let estate = estate.to_str().expect("utf-8");
    let policy = fixtures().join("policy.ward");
    let policy = policy.to_str().expect("utf-8");
    let request = fixtures().join("request.json");
    let request = request.to_str().expect("utf-8");
    let requests = fixtures().join("requests.jsonl");
    let requests = requests.to_str().expect("utf-8");
    let commands: Vec<Vec<&str>> = vec![
        vec!["check", policy, "--emit-ir"],
        vec!["check", policy, "--stats"],
        vec!["check", policy, "--format", "json"],
        vec!["test", policy],
        vec!["test", policy, "--format", "json"],
        vec!["eval", policy, "--entities", estate, "--request", request],
        vec![
            "eval",
            policy,
            "--entities",
            estate,
            "--request",
            request,
            "--explain",
        ],
        vec!["eval", policy, "--entities", estate, "--requests", requests],
        vec![
            "eval",
            policy,
            "--entities",
            estate,
            "--requests",
            requests,
            "--explain",
        ],
        vec!["fmt", ".", "--check"],
        vec!["fmt", ".", "--check", "--format", "json"],
    ];
    for args in commands {
        // The read end is closed before the command starts, so its first write fails however
        // the two processes are scheduled (closing it after `spawn` raced a fast command).
        let (reader, writer) = std::io::pipe().expect("a pipe");
        drop(reader);
        let mut child = Command::new(env!("CARGO_BIN_EXE_ward"))
            .args(&args)
            .current_dir(&dir)
            .env("NO_COLOR", "1")
            .stdout(Stdio::from(writer))
            .stderr(Stdio::piped())
            .spawn()
            .expect("ward starts");
        let status = wait_bounded(&mut child, 120, &format!("ward {}", args.join(" ")));
        let out = child.wait_with_output().expect("output");
        let err = stderr(&out);
        assert_eq!(status.code(), Some(141), "ward {}: {err}", args.join(" "));
        assert!(
            !err.contains("panicked") && !err.contains("error") && !err.contains("Broken pipe"),
            "ward {}: {err}",
            args.join(" ")
        );
    }
}

/// The README tells a newcomer how to install the binary, then uses it as `ward …`; its command
/// table and `docs/cli.md` list every command `ward --help` shows.
#[test]
fn the_readme_installs_ward_and_lists_every_command() {
    let readme = std::fs::read_to_string(repo().join("README.md")).expect("README.md");
    let cli_doc = std::fs::read_to_string(repo().join("docs/cli.md")).expect("docs/cli.md");
    assert!(
        readme.contains("cargo install --locked --path ."),
        "{readme}"
    );
    assert!(
        readme.contains("\nward test examples/guardrails\n"),
        "the quick start runs the installed `ward`"
    );
    let help = stdout(&ward(&["--help"]));
    let commands: Vec<&str> = help
        .lines()
        .skip_while(|l| !l.starts_with("Commands:"))
        .skip(1)
        .take_while(|l| l.starts_with("  "))
        .filter_map(|l| l.split_whitespace().next())
        .filter(|c| *c != "help")
        .collect();
    assert!(commands.len() >= 5, "{help}");
    let table = readme
        .split("## The command line")
        .nth(1)
        .and_then(|s| s.split("\n## ").next())
        .expect("README.md has a section `The command line`");
    for command in commands {
        assert!(
            table.contains(&format!("| `ward {command}")),
            "the README's command table has no row for `ward {command}`"
        );
        assert!(
            cli_doc.contains(&format!("## `ward {command}")),
            "docs/cli.md has no section for `ward {command}`"
        );
    }
}

/// Issue 7.5 through the binary: a link loop and a FIFO in a policy directory neither hang nor
/// fail `ward check`; the FIFO is named in a warning. A dangling `.ward` link is an error that
/// names it.
#[cfg(unix)]
#[test]
fn check_survives_link_loops_and_fifos_and_names_a_dangling_file() {
    use std::os::unix::fs::symlink;
    let dir = tempdir().join("policy-dir");
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(dir.join("rules")).expect("temp dir");
    std::fs::copy(
        fixtures().join("policy.ward"),
        dir.join("rules/policy.ward"),
    )
    .expect("copy");
    std::fs::copy(
        fixtures().join("estate.json"),
        dir.join("rules/estate.json"),
    )
    .expect("copy");
    symlink("..", dir.join("rules/loop")).expect("symlink");
    symlink("rules/policy.ward", dir.join("again.ward")).expect("symlink");
    let fifo = dir.join("rules/pipe.ward");
    let made = Command::new("mkfifo")
        .arg(&fifo)
        .status()
        .expect("mkfifo runs");
    assert!(made.success());
    let mut child = Command::new(env!("CARGO_BIN_EXE_ward"))
        .args(["check", "."])
        .current_dir(&dir)
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .expect("ward starts");
    let status = wait_bounded(&mut child, 60, "ward check on a directory with a FIFO");
    let out = child.wait_with_output().expect("output");
    assert_eq!(status.code(), Some(0), "{}", stderr(&out));
    assert_eq!(
        stderr(&out),
        "warning: skipped `./rules/pipe.ward`: it is a FIFO (named pipe), not a policy file\n\
         checked 1 file in `.`: no problems\n"
    );
    symlink("gone.ward", dir.join("rules/dangling.ward")).expect("symlink");
    let out = ward_in(&dir, &["check", "."]);
    assert_eq!(code(&out), 2);
    assert_eq!(
        stderr(&out),
        "error: cannot read `./rules/dangling.ward`: it is a symbolic link to `gone.ward`, which \
         does not exist\n"
    );
}

// The CI commands and outputs, in their own files.
mod diff;
mod outputs;
mod pipeline;
