//! End-to-end tests of `ward plan` on the bundled guardrails, estate and backlog
//! (`examples/`): the summary people read (an insta snapshot, also quoted in `docs/plan.md`),
//! one JSON object per request in input order, bad lines reported with their line number
//! (never dropped, never planned), both engines giving the same plans, and usage errors.

use std::io::Write;
use std::path::PathBuf;
use std::process::{Command, Output, Stdio};

fn repo() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// Run `ward ARGS` at the repository root, with `input` on stdin.
fn ward_with(args: &[&str], input: &str) -> Output {
    let mut child = Command::new(env!("CARGO_BIN_EXE_ward"))
        .args(args)
        .current_dir(repo())
        .env("NO_COLOR", "1")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("the ward binary runs");
    if let Some(mut stdin) = child.stdin.take() {
        stdin
            .write_all(input.as_bytes())
            .expect("stdin takes the input");
    }
    child.wait_with_output().expect("the ward binary finishes")
}

fn ward(args: &[&str]) -> Output {
    ward_with(args, "")
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

const BUNDLED: [&str; 6] = [
    "plan",
    "examples/guardrails",
    "--entities",
    "examples/estate.json",
    "--requests",
    "examples/backlog.jsonl",
];

fn lines_of(out: &Output) -> Vec<serde_json::Value> {
    stdout(out)
        .lines()
        .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("not JSON ({e}): {l}")))
        .collect()
}

#[test]
fn summary_of_the_bundled_backlog() {
    let out = ward(&BUNDLED);
    assert_eq!(code(&out), 0, "{}", stderr(&out));
    let summary = stdout(&out);
    insta::with_settings!({
        snapshot_path => "snapshots",
        prepend_module_to_snapshot => false,
        omit_expression => true,
    }, {
        insta::assert_snapshot!("plan_backlog_summary", summary);
    });
    // The worked example of docs/plan.md quotes this very output.
    let doc = std::fs::read_to_string(repo().join("docs/plan.md")).expect("docs/plan.md");
    assert!(
        doc.contains(summary.trim_end()),
        "docs/plan.md does not show the current summary:\n{summary}"
    );
}

#[test]
fn json_has_one_object_per_request_in_order() {
    let out = ward(&[&BUNDLED[..], &["--format", "json"]].concat());
    assert_eq!(code(&out), 0, "{}", stderr(&out));
    let rows = lines_of(&out);
    let backlog = std::fs::read_to_string(repo().join("examples/backlog.jsonl")).unwrap();
    assert_eq!(rows.len(), backlog.lines().count());
    for (i, (row, line)) in rows.iter().zip(backlog.lines()).enumerate() {
        let request: serde_json::Value = serde_json::from_str(line).unwrap();
        assert_eq!(row["line"], i + 1);
        assert_eq!(row["action"], request["action"]);
        assert_eq!(row["at"], request["at"]);
        for key in [
            "now",
            "allow_at",
            "approval_at",
            "approvers",
            "blocked_by",
            "until",
        ] {
            assert!(
                row.get(key).is_some(),
                "line {}: no `{key}` in {row}",
                i + 1
            );
        }
        let now = row["now"].as_str().unwrap();
        // Allowed now means `allow_at` is the request's own time.
        assert_eq!(now == "allow", row["allow_at"] == row["at"], "{row}");
        assert_eq!(
            now == "require_approval",
            row["approval_at"] == row["at"],
            "{row}"
        );
    }
    // The worked example's request: a 1h reboot patch on Sunday night in New York waits for
    // Wednesday's change window (22:00 New York, 03:00 UTC).
    assert_eq!(rows[2]["allow_at"], "2026-12-03T03:00:00Z");
    assert_eq!(
        rows[2]["blocked_by"],
        serde_json::json!(["prod_patch_reboot_fits_window"])
    );
}

#[test]
fn both_engines_give_the_same_plans() {
    let jit = ward(&[&BUNDLED[..], &["--format", "json", "--engine", "jit"]].concat());
    let interp = ward(&[&BUNDLED[..], &["--format", "json", "--engine", "interp"]].concat());
    assert_eq!(code(&jit), 0);
    assert_eq!(code(&interp), 0);
    assert_eq!(stdout(&jit), stdout(&interp));
}

#[test]
fn bad_lines_are_reported_with_their_number_never_dropped() {
    let backlog = [
        r#"{"action": "revoke_sessions", "at": "2026-11-24T15:05:00Z", "args": {"target": "fiona-walsh"}, "context": {"agent": "warden"}}"#,
        "",
        r#"{"action": "revoke_sessions", "at": "2026-11-24T15:05:00Z", "args": {"target": "fiona-walsh", "target": "breakglass-admin"}, "context": {"agent": "warden"}}"#,
        r#"{"action": "revoke_sessions", "at": "2026-11-24T15:05:00Z""#,
        r#"{"action": "revoke_sessions", "at": "2026-11-24T15:05:00Z", "args": {"target": "nobody"}, "context": {"agent": "warden"}}"#,
        r#"{"action": "reset_mfa", "at": "2026-11-24T15:07:00Z", "args": {"target": "fiona-walsh"}, "context": {"agent": "warden"}}"#,
    ]
    .join("\n");
    let args = [
        "plan",
        "examples/guardrails",
        "--entities",
        "examples/estate.json",
        "--requests",
        "-",
    ];
    let out = ward_with(&[&args[..], &["--format", "json"]].concat(), &backlog);
    assert_eq!(code(&out), 1, "{}", stderr(&out));
    let rows = lines_of(&out);
    let lines: Vec<u64> = rows.iter().map(|r| r["line"].as_u64().unwrap()).collect();
    assert_eq!(lines, [1, 3, 4, 5, 6]);
    assert_eq!(rows[0]["now"], "allow");
    for row in &rows[1..4] {
        assert!(row.get("now").is_none(), "a bad line was planned: {row}");
        assert!(row["error"].is_string(), "{row}");
    }
    assert!(
        rows[1]["error"]
            .as_str()
            .unwrap()
            .contains("duplicate key `target`")
    );
    assert!(rows[3]["error"].as_str().unwrap().contains("nobody"));
    assert_eq!(rows[4]["now"], "allow");

    let out = ward_with(&args, &backlog);
    assert_eq!(code(&out), 1);
    assert!(
        stdout(&out).contains("could not be planned"),
        "{}",
        stdout(&out)
    );
    let err = stderr(&out);
    for n in [3, 4, 5] {
        assert!(err.contains(&format!("error: line {n}: ")), "{err}");
    }
}

#[test]
fn horizon_must_be_a_duration_within_366_days() {
    let out = ward(&[&BUNDLED[..], &["--horizon", "two weeks"]].concat());
    assert_eq!(code(&out), 2);
    assert!(stderr(&out).contains("not a duration"), "{}", stderr(&out));
    let out = ward(&[&BUNDLED[..], &["--horizon", "400d"]].concat());
    assert_eq!(code(&out), 2);
    assert!(
        stderr(&out).contains("between 1s and 366d"),
        "{}",
        stderr(&out)
    );
    let out = ward(&[&BUNDLED[..], &["--horizon", "36h", "--format", "json"]].concat());
    assert_eq!(code(&out), 0);
    let rows = lines_of(&out);
    assert_eq!(rows[2]["allow_at"], serde_json::Value::Null);
}

#[test]
fn missing_backlog_is_a_usage_error() {
    let out = ward(&[
        "plan",
        "examples/guardrails",
        "--requests",
        "no-such-backlog.jsonl",
    ]);
    assert_eq!(code(&out), 2);
    assert!(
        stderr(&out).contains("no-such-backlog.jsonl"),
        "{}",
        stderr(&out)
    );
}
