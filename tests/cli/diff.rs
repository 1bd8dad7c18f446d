//! `ward diff`: two versions of a policy set (directories, git revisions) replayed on the
//! requests of `tests/cli/fixtures/diff`, in both request forms (JSON lines and the decision
//! log of `ward serve`), with bad lines, `--fail-on` and the exit codes.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use super::{code, fixtures, json, stderr, stdout, tempdir, ward_in};

fn diff_dir() -> PathBuf {
    fixtures().join("diff")
}

/// `ward diff old new --entities estate.json ARGS` in the fixtures folder.
fn diff(args: &[&str]) -> Output {
    let mut all = vec!["diff", "old", "new", "--entities", "estate.json"];
    all.extend_from_slice(args);
    ward_in(&diff_dir(), &all)
}

#[test]
fn groups_changes_by_transition_and_rules() {
    let out = diff(&["--requests", "requests.jsonl"]);
    assert_eq!(code(&out), 0, "{}", stderr(&out));
    assert_eq!(stderr(&out), "");
    snapshot!("diff_human", stdout(&out));
}

#[test]
fn json_report_has_counts_groups_and_examples() {
    let out = diff(&[
        "--requests",
        "requests.jsonl",
        "--format",
        "json",
        "--examples",
        "1",
    ]);
    assert_eq!(code(&out), 0, "{}", stderr(&out));
    let doc = json(&out);
    assert_eq!(doc["requests"], 11);
    assert_eq!(doc["changed"], 9);
    assert_eq!(doc["unchanged"], 1);
    assert_eq!(doc["invalid_in_both"], 1);
    assert_eq!(doc["invalid_in_both_listed"][0]["line"], 7);
    assert_eq!(doc["bad_lines"], 0);
    assert_eq!(
        doc["newly"],
        serde_json::json!({"allow": 1, "deny": 6, "require_approval": 1})
    );
    assert_eq!(doc["old"]["source"], "old");
    assert_eq!(doc["old"]["commit"], serde_json::Value::Null);
    let transitions: Vec<&str> = doc["transitions"]
        .as_array()
        .expect("transitions")
        .iter()
        .map(|t| t["transition"].as_str().expect("name"))
        .collect();
    assert_eq!(
        transitions,
        [
            "deny→allow",
            "allow→require_approval",
            "allow→deny",
            "require_approval→deny",
            "require_approval (other approvers)"
        ]
    );
    let allow_deny = &doc["transitions"][2];
    assert_eq!(allow_deny["count"], 5);
    let short = &allow_deny["groups"][0];
    assert_eq!(short["count"], 4);
    assert_eq!(
        short["fired_only_in_new"],
        serde_json::json!([{"rule": "short_reason", "effect": "deny"}])
    );
    assert_eq!(short["fired_only_in_old"], serde_json::json!([]));
    assert_eq!(short["rejected_by"], serde_json::Value::Null);
    // `--examples 1`: the first request of the group, with both decisions.
    let examples = short["examples"].as_array().expect("examples");
    assert_eq!(examples.len(), 1);
    assert_eq!(examples[0]["line"], 1);
    assert_eq!(examples[0]["request"]["args"]["reason"], "stale");
    assert_eq!(examples[0]["old"]["decision"], "allow");
    assert_eq!(examples[0]["new"]["decision"], "deny");
    let removed = &allow_deny["groups"][1];
    assert_eq!(removed["rejected_by"], "new");
    assert_eq!(
        removed["fired_only_in_old"],
        serde_json::json!([{"rule": "routine", "effect": "allow"}])
    );
    let approvers = &doc["transitions"][4]["groups"][0]["examples"][0];
    assert_eq!(
        approvers["old"]["approvers"],
        serde_json::json!(["security-oncall"])
    );
    assert_eq!(
        approvers["new"]["approvers"],
        serde_json::json!(["finance-security"])
    );
}

#[test]
fn fail_on_exits_1_only_for_outcomes_newly_reached() {
    for (fail_on, expected) in [
        ("allow", 1),
        ("deny", 1),
        ("require_approval", 1),
        ("any", 1),
        ("allow,deny", 1),
    ] {
        let out = diff(&["--requests", "requests.jsonl", "--fail-on", fail_on]);
        assert_eq!(
            code(&out),
            expected,
            "--fail-on {fail_on}: {}",
            stderr(&out)
        );
    }
    let out = diff(&["--requests", "requests.jsonl", "--fail-on", "allow"]);
    assert_eq!(
        stderr(&out),
        "error: 1 request is newly allowed (--fail-on allow)\n"
    );
    // Replayed the other way round: six requests are newly allowed (four short reasons, the
    // `reset_mfa` the new version rejects, the offboarding), one newly denied (the agent
    // disabling itself) and one newly sent for approval (the finance VP with a short reason).
    let out = ward_in(
        &diff_dir(),
        &[
            "diff",
            "new",
            "old",
            "--entities",
            "estate.json",
            "--requests",
            "requests.jsonl",
            "--fail-on",
            "deny",
            "--format",
            "json",
        ],
    );
    assert_eq!(code(&out), 1, "{}", stderr(&out));
    let doc = json(&out);
    assert_eq!(
        doc["newly"],
        serde_json::json!({"allow": 6, "deny": 1, "require_approval": 1})
    );
    assert_eq!(doc["failed"], true);
    assert_eq!(doc["fail_on"], serde_json::json!(["deny"]));
    // Nothing changes between a version and itself: `--fail-on any` passes.
    let out = ward_in(
        &diff_dir(),
        &[
            "diff",
            "old",
            "old",
            "--entities",
            "estate.json",
            "--requests",
            "requests.jsonl",
            "--fail-on",
            "any",
        ],
    );
    assert_eq!(code(&out), 0, "{}", stderr(&out));
    assert!(
        stdout(&out)
            .contains("replayed 11 requests: 0 changed, 10 unchanged, 1 invalid in both versions"),
        "{}",
        stdout(&out)
    );
    // The decision log changes one request to allow and one to deny, none to approval.
    let out = diff(&["--requests", "log.jsonl", "--fail-on", "require_approval"]);
    assert_eq!(code(&out), 0, "{}", stderr(&out));
    let out = diff(&[
        "--requests",
        "log.jsonl",
        "--fail-on",
        "require-approval,deny",
    ]);
    assert_eq!(code(&out), 1, "{}", stderr(&out));
    assert_eq!(
        stderr(&out),
        "error: 1 request is newly denied (--fail-on deny)\n"
    );
}

#[test]
fn replays_the_decision_lines_of_a_decision_log() {
    let out = diff(&["--requests", "log.jsonl", "--format", "json"]);
    assert_eq!(code(&out), 0, "{}", stderr(&out));
    let doc = json(&out);
    assert_eq!(doc["requests"], 3);
    assert_eq!(doc["skipped"], 2);
    assert_eq!(doc["changed"], 2);
    assert_eq!(doc["bad_lines"], 0);
    // Line numbers are those of the log.
    let lines: Vec<u64> = doc["transitions"]
        .as_array()
        .expect("transitions")
        .iter()
        .flat_map(|t| t["groups"].as_array().expect("groups").iter())
        .flat_map(|g| g["examples"].as_array().expect("examples").iter())
        .map(|e| e["line"].as_u64().expect("line"))
        .collect();
    assert_eq!(lines, [4, 2]);
    let out = diff(&["--requests", "log.jsonl"]);
    assert!(
        stdout(&out).contains(
            "skipped 2 lines of the decision log that are not decisions (`approval`, `reload`)"
        ),
        "{}",
        stdout(&out)
    );
}

#[test]
fn bad_lines_are_reported_by_number_and_exit_2() {
    let out = diff(&["--requests", "bad.jsonl"]);
    assert_eq!(code(&out), 2, "{}", stderr(&out));
    snapshot!("diff_bad_lines_stderr", stderr(&out));
    // The report is still printed, and counts them.
    assert!(
        stdout(&out).contains("replayed 2 requests: 2 changed, 0 unchanged"),
        "{}",
        stdout(&out)
    );
    assert!(
        stdout(&out).contains("5 lines could not be replayed (listed on stderr)"),
        "{}",
        stdout(&out)
    );
    let out = diff(&["--requests", "bad.jsonl", "--format", "json"]);
    assert_eq!(code(&out), 2);
    let doc = json(&out);
    assert_eq!(doc["bad_lines"], 5);
    let listed: Vec<u64> = doc["bad_lines_listed"]
        .as_array()
        .expect("listed")
        .iter()
        .map(|b| b["line"].as_u64().expect("line"))
        .collect();
    assert_eq!(listed, [2, 3, 4, 5, 7]);
    assert_eq!(
        doc["bad_lines_listed"][1]["error"],
        "args: duplicate key `target`"
    );
}

#[test]
fn a_line_longer_than_max_line_is_bad_and_never_held() {
    let dir = tempdir().join("diff-long");
    std::fs::create_dir_all(&dir).expect("dir");
    let requests = dir.join("long.jsonl");
    let first = std::fs::read_to_string(diff_dir().join("requests.jsonl")).expect("read");
    let first = first.lines().next().expect("a line");
    let long = format!(
        "{{\"action\": \"disable_account\", \"pad\": \"{}\"}}",
        "x".repeat(4096)
    );
    std::fs::write(&requests, format!("{first}\n{long}\n{first}\n")).expect("write");
    let out = diff(&[
        "--requests",
        requests.to_str().expect("utf-8"),
        "--max-line",
        "1024",
    ]);
    assert_eq!(code(&out), 2, "{}", stderr(&out));
    assert!(
        stderr(&out)
            .starts_with("error: line 2: longer than 1024 bytes (the limit of --max-line)\n"),
        "{}",
        stderr(&out)
    );
    assert!(
        stdout(&out).contains("replayed 2 requests"),
        "{}",
        stdout(&out)
    );
}

#[test]
fn reads_requests_from_stdin() {
    let requests = std::fs::read(diff_dir().join("requests.jsonl")).expect("read");
    let mut child = Command::new(env!("CARGO_BIN_EXE_ward"))
        .args([
            "diff",
            "old",
            "new",
            "--entities",
            "estate.json",
            "--requests",
            "-",
            "--format",
            "json",
        ])
        .current_dir(diff_dir())
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .expect("ward starts");
    {
        use std::io::Write as _;
        let mut stdin = child.stdin.take().expect("stdin");
        stdin.write_all(&requests).expect("write");
    }
    let out = child.wait_with_output().expect("output");
    assert_eq!(code(&out), 0, "{}", stderr(&out));
    assert_eq!(json(&out)["changed"], 9);
}

#[test]
fn usage_errors_exit_2() {
    let out = diff(&["--requests", "no-such.jsonl"]);
    assert_eq!(code(&out), 2);
    assert!(
        stderr(&out).contains("cannot read `no-such.jsonl`"),
        "{}",
        stderr(&out)
    );
    // The estate must match both versions' schemas.
    let dir = tempdir().join("diff-estate");
    std::fs::create_dir_all(&dir).expect("dir");
    let estate = dir.join("estate.json");
    std::fs::write(&estate, r#"{"entities": {"Identity": {"x": {"name": 3}}}}"#).expect("write");
    let out = ward_in(
        &diff_dir(),
        &[
            "diff",
            "old",
            "new",
            "--entities",
            estate.to_str().expect("utf-8"),
            "--requests",
            "requests.jsonl",
        ],
    );
    assert_eq!(code(&out), 2);
    assert!(
        stderr(&out).contains("are not valid for the old version (`old`)"),
        "{}",
        stderr(&out)
    );
}

#[test]
fn a_version_with_errors_exits_1() {
    let out = ward_in(
        &fixtures(),
        &[
            "diff",
            "policy.ward",
            "broken.ward",
            "--requests",
            "requests.jsonl",
        ],
    );
    assert_eq!(code(&out), 1);
    assert!(
        stderr(&out).contains("error: the new version (`broken.ward`) does not check"),
        "{}",
        stderr(&out)
    );
}

// ---------------------------------------------------------------------------------------------
// Git revisions.

/// Runs git in `dir` with a fixed identity and no user or system configuration.
pub(crate) fn git(dir: &Path, args: &[&str]) -> String {
    let out = Command::new("git")
        .args(args)
        .current_dir(dir)
        .env("GIT_CONFIG_NOSYSTEM", "1")
        .env("GIT_CONFIG_GLOBAL", "/dev/null")
        .env("GIT_AUTHOR_NAME", "Ward Tests")
        .env("GIT_AUTHOR_EMAIL", "tests@ward.invalid")
        .env("GIT_COMMITTER_NAME", "Ward Tests")
        .env("GIT_COMMITTER_EMAIL", "tests@ward.invalid")
        .output()
        .expect("git runs (install git to run these tests)");
    assert!(
        out.status.success(),
        "git {}: {}",
        args.join(" "),
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).into_owned()
}

/// A repository whose `policies/` holds the old fixture policy at `HEAD~1` and the new one at
/// `HEAD`, with the estate and requests beside it.
fn repository(name: &str) -> PathBuf {
    let dir = tempdir().join(name);
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(dir.join("policies")).expect("dir");
    for file in ["estate.json", "requests.jsonl"] {
        std::fs::copy(diff_dir().join(file), dir.join(file)).expect("copy");
    }
    git(&dir, &["init", "-q", "-b", "main"]);
    std::fs::copy(
        diff_dir().join("old/policy.ward"),
        dir.join("policies/policy.ward"),
    )
    .expect("copy");
    git(&dir, &["add", "."]);
    git(&dir, &["commit", "-q", "-m", "old"]);
    std::fs::copy(
        diff_dir().join("new/policy.ward"),
        dir.join("policies/policy.ward"),
    )
    .expect("copy");
    git(&dir, &["commit", "-q", "-a", "-m", "new"]);
    dir
}

/// `doc` without the `location`s of fired rules, which name the files as each version was read.
fn without_locations(mut doc: serde_json::Value) -> serde_json::Value {
    fn strip(value: &mut serde_json::Value) {
        match value {
            serde_json::Value::Object(map) => {
                map.remove("location");
                map.values_mut().for_each(strip);
            }
            serde_json::Value::Array(items) => items.iter_mut().for_each(strip),
            _ => {}
        }
    }
    strip(&mut doc);
    doc
}

#[test]
fn revisions_are_read_through_git() {
    let dir = repository("diff-git");
    let by_dirs = json(&diff(&["--requests", "requests.jsonl", "--format", "json"]));
    let by_dirs = without_locations(by_dirs);
    let head = git(&dir, &["rev-parse", "HEAD"]).trim().to_owned();
    let forms: [&[&str]; 3] = [
        &["HEAD~1", "HEAD", "--path", "policies"],
        &["HEAD~1:policies", "HEAD:policies"],
        &["main~1:policies/policy.ward", "main:policies"],
    ];
    for form in forms {
        let mut args = vec!["diff"];
        args.extend_from_slice(form);
        args.extend_from_slice(&[
            "--entities",
            "estate.json",
            "--requests",
            "requests.jsonl",
            "--format",
            "json",
        ]);
        let out = ward_in(&dir, &args);
        assert_eq!(code(&out), 0, "{form:?}: {}", stderr(&out));
        let doc = json(&out);
        let fired = &doc["transitions"][0]["groups"][0]["examples"][0]["old"]["fired"][0];
        assert_eq!(fired["location"], "policies/policy.ward:16:1", "{form:?}");
        let doc = without_locations(doc);
        assert_eq!(doc["transitions"], by_dirs["transitions"], "{form:?}");
        assert_eq!(doc["new"]["commit"], head.as_str(), "{form:?}");
        assert_eq!(doc["new"]["files"], 1);
    }
    // From a subdirectory, a bare revision means the current directory, and `REV:./PATH` is
    // relative to it, as git reads it.
    let sub = dir.join("policies");
    let out = ward_in(
        &sub,
        &[
            "diff",
            "HEAD~1",
            "HEAD",
            "--entities",
            "../estate.json",
            "--requests",
            "../requests.jsonl",
            "--format",
            "json",
        ],
    );
    assert_eq!(code(&out), 0, "{}", stderr(&out));
    let doc = without_locations(json(&out));
    assert_eq!(doc["transitions"], by_dirs["transitions"]);
    assert_eq!(doc["old"]["source"], "HEAD~1:.");
}

#[test]
fn revisions_leave_the_work_tree_and_the_index_alone() {
    let dir = repository("diff-git-untouched");
    // An uncommitted change to the policy, and one staged elsewhere.
    let policy = dir.join("policies/policy.ward");
    let edited = std::fs::read_to_string(&policy).expect("read").replace(
        "rule routine { on disable_account allow }",
        "rule routine { on disable_account deny }",
    );
    std::fs::write(&policy, &edited).expect("write");
    std::fs::write(dir.join("notes.txt"), "staged\n").expect("write");
    git(&dir, &["add", "notes.txt"]);
    let status = git(&dir, &["status", "--porcelain"]);
    let index = std::fs::read(dir.join(".git/index")).expect("index");
    let out = ward_in(
        &dir,
        &[
            "diff",
            "HEAD~1",
            "HEAD",
            "--path",
            "policies",
            "--entities",
            "estate.json",
            "--requests",
            "requests.jsonl",
        ],
    );
    assert_eq!(code(&out), 0, "{}", stderr(&out));
    assert_eq!(git(&dir, &["status", "--porcelain"]), status);
    assert_eq!(std::fs::read(dir.join(".git/index")).expect("index"), index);
    assert_eq!(std::fs::read_to_string(&policy).expect("read"), edited);
    // The work tree's own version is a directory: HEAD against it shows the uncommitted edit.
    let out = ward_in(
        &dir,
        &[
            "diff",
            "HEAD",
            "policies",
            "--entities",
            "estate.json",
            "--requests",
            "requests.jsonl",
            "--format",
            "json",
        ],
    );
    assert_eq!(code(&out), 0, "{}", stderr(&out));
    let doc = json(&out);
    assert_eq!(doc["newly"]["allow"], 0);
    assert!(doc["newly"]["deny"].as_u64().expect("count") > 0, "{doc:#}");
}

#[test]
fn unknown_revisions_and_paths_are_explained() {
    let dir = repository("diff-git-errors");
    let run = |old: &str, new: &str| {
        ward_in(
            &dir,
            &[
                "diff",
                old,
                new,
                "--path",
                "policies",
                "--requests",
                "requests.jsonl",
            ],
        )
    };
    let out = run("no-such-branch", "HEAD");
    assert_eq!(code(&out), 2);
    assert_eq!(
        stderr(&out),
        "error: `no-such-branch` is neither a file or directory nor a revision of this git \
         repository\n  help: name a directory of `.ward` files, or a git revision such as \
         `HEAD~1`, `main` or `origin/main:policies`\n"
    );
    let out = run("HEAD:nowhere", "HEAD");
    assert_eq!(code(&out), 2);
    assert!(
        stderr(&out).starts_with("error: `nowhere` does not exist at revision `HEAD`"),
        "{}",
        stderr(&out)
    );
    let out = run("HEAD:estate.json", "HEAD");
    assert_eq!(
        code(&out),
        1,
        "a JSON file read as Ward source does not check"
    );
    let out = ward_in(
        &dir,
        &[
            "diff",
            "HEAD",
            "HEAD",
            "--path",
            "nowhere",
            "--requests",
            "requests.jsonl",
        ],
    );
    assert_eq!(code(&out), 2);
    assert!(
        stderr(&out).starts_with("error: `nowhere` does not exist at revision `HEAD`"),
        "{}",
        stderr(&out)
    );
    let outside = tempdir().join("not-a-repository");
    std::fs::create_dir_all(&outside).expect("dir");
    let out = ward_in(
        &outside,
        &["diff", "HEAD~1", "HEAD", "--requests", "x.jsonl"],
    );
    assert_eq!(code(&out), 2);
    assert!(
        stderr(&out).contains("the current directory is not in a git repository"),
        "{}",
        stderr(&out)
    );
}

/// Many batches, decided in parallel: counts add up and the examples and bad lines are the
/// first ones, in input order, as a sequential replay would give.
#[test]
fn a_long_input_gives_the_report_of_a_sequential_replay() {
    let dir = tempdir().join("diff-long-input");
    std::fs::create_dir_all(&dir).expect("dir");
    let one = std::fs::read_to_string(diff_dir().join("requests.jsonl")).expect("read");
    let mut many = String::new();
    for i in 0..400 {
        many.push_str(&one);
        if i % 100 == 99 {
            many.push_str("{\"truncated\": \n");
        }
    }
    let requests = dir.join("many.jsonl");
    std::fs::write(&requests, many).expect("write");
    let out = diff(&[
        "--requests",
        requests.to_str().expect("utf-8"),
        "--format",
        "json",
    ]);
    assert_eq!(code(&out), 2, "{}", stderr(&out));
    let doc = json(&out);
    assert_eq!(doc["requests"], 4400);
    assert_eq!(doc["changed"], 3600);
    assert_eq!(doc["unchanged"], 400);
    assert_eq!(doc["invalid_in_both"], 400);
    let short = &doc["transitions"][2]["groups"][0];
    assert_eq!(short["count"], 1600);
    let lines: Vec<u64> = short["examples"]
        .as_array()
        .expect("examples")
        .iter()
        .map(|e| e["line"].as_u64().expect("line"))
        .collect();
    assert_eq!(lines, [1, 10, 11]);
    let bad: Vec<u64> = doc["bad_lines_listed"]
        .as_array()
        .expect("listed")
        .iter()
        .map(|b| b["line"].as_u64().expect("line"))
        .collect();
    // 12 lines per copy (one blank), a bad line after every hundredth copy.
    assert_eq!(bad, [1201, 2402, 3603, 4804]);
    let err = stderr(&out);
    let numbers: Vec<&str> = err
        .lines()
        .filter_map(|l| l.strip_prefix("error: line "))
        .map(|l| l.split(':').next().unwrap_or(""))
        .collect();
    assert_eq!(numbers, ["1201", "2402", "3603", "4804"]);
}
