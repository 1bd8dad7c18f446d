//! Recorded JSON-RPC exchanges (`tests/exchanges/*.txt`) driven through the guard's session
//! line by line: what the client and the tool server send, and what the guard must do with
//! each line. The policy, estate and mapping are `tests/fixtures/`; the clock stands still at
//! 2026-12-01T10:00:00Z and decision ids count up, so every answer is compared byte for byte.
//!
//! A file is a list of lines:
//!
//! ```text
//! # a comment
//! client {"jsonrpc":"2.0",…}        a line from the client
//! server {"jsonrpc":"2.0",…}        a line from the tool server
//! client-too-long 5000000           a client line over the limit, of that many bytes
//! server-gone WHY                   the tool server's output ended
//! log                               the decision-log lines written since the last `log`
//! < to-server                       expected: the client's line went to the server unchanged
//! < to-client {…}                   expected: this line went to the client
//! < forwarded                       expected: the server's line went to the client unchanged
//! < dropped WHY                     expected: the server's line was held back
//! < log DECISION OUTCOME TOOL       expected: a decision-log line
//! ```
//!
//! `WARD_BLESS=1 cargo test -p ward-mcp --test exchanges` rewrites the expected lines from
//! what the guard did; review the diff before committing it.

use std::path::{Path, PathBuf};

use ward_mcp::guard::{FixedClock, Guard, GuardConfig};
use ward_mcp::ids::Ids;
use ward_mcp::mapping::Mapping;
use ward_mcp::session::{FromServer, Out, Session};

const AT_MS: i64 = 1_796_119_200_000; // 2026-12-01T10:00:00Z

fn fixtures() -> PathBuf {
    PathBuf::from("tests/fixtures")
}

fn session(state: &Path) -> Session {
    let loaded = ward_mcp::policy::load(
        &fixtures().join("policy.ward"),
        &fixtures().join("estate.json"),
        ward_embed::EngineKind::Interp,
    )
    .unwrap_or_else(|e| panic!("{e}"));
    let mapping = Mapping::load(&fixtures().join("tools.toml"), loaded.engine.program())
        .unwrap_or_else(|e| panic!("{e}"));
    let mut log = ward_log::LogConfig::new(state.join("log"));
    log.durability = ward_log::Durability::Buffered;
    let log = ward_log::Log::open(log).unwrap().log;
    let config = GuardConfig {
        mapping,
        agent: Some("bot".into()),
        approvals: None,
        clock: Box::new(FixedClock(AT_MS)),
        ids: Ids::sequential(),
    };
    let guard = Guard::start(loaded, config, log, &["tool-server".to_owned()]).unwrap();
    Session::new(guard, 4096)
}

fn log_lines(state: &Path, seen: &mut usize) -> Vec<String> {
    let entries = ward_log::read(&state.join("log"), &ward_log::Filter::default()).unwrap();
    let mut out = Vec::new();
    for entry in entries.iter().skip(*seen) {
        let v = &entry.value;
        if v["kind"] != "decision" {
            continue;
        }
        let s = |p: &str| {
            v.pointer(p)
                .and_then(|x| x.as_str())
                .unwrap_or("-")
                .to_owned()
        };
        out.push(format!(
            "log {} {} {}",
            s("/decision/decision"),
            s("/mcp/outcome"),
            s("/mcp/tool")
        ));
    }
    *seen = entries.len();
    out
}

/// Runs one file; returns the file as it should be (inputs kept, expectations from what
/// happened) and whether every expectation held.
fn run(path: &Path) -> (String, Vec<String>) {
    let text = std::fs::read_to_string(path).unwrap();
    let state = tempfile::tempdir().unwrap();
    let session = session(state.path());
    let mut seen = 0;
    let mut blessed = String::new();
    let mut failures = Vec::new();
    let mut expected: Vec<&str> = Vec::new();
    let mut actual: Vec<String> = Vec::new();
    let mut flush =
        |expected: &mut Vec<&str>, actual: &mut Vec<String>, blessed: &mut String, at: usize| {
            if expected.iter().map(|s| s.to_string()).collect::<Vec<_>>() != *actual {
                failures.push(format!(
                    "{}: before line {at}:\n  expected:\n    {}\n  got:\n    {}",
                    path.display(),
                    expected.join("\n    "),
                    actual.join("\n    ")
                ));
            }
            for line in actual.drain(..) {
                blessed.push_str("< ");
                blessed.push_str(&line);
                blessed.push('\n');
            }
            expected.clear();
        };
    for (n, line) in text.lines().enumerate() {
        if let Some(want) = line.strip_prefix("< ") {
            expected.push(want);
            continue;
        }
        flush(&mut expected, &mut actual, &mut blessed, n + 1);
        blessed.push_str(line);
        blessed.push('\n');
        let (verb, rest) = line.split_once(' ').unwrap_or((line, ""));
        match verb {
            "" | "#" => {}
            _ if line.starts_with('#') || line.trim().is_empty() => {}
            "client" => match session.client_line(rest.as_bytes()) {
                Out::Server => actual.push("to-server".into()),
                Out::Client(answer) => actual.push(format!("to-client {answer}")),
                Out::Nothing => {}
            },
            "server" => match session.server_line(rest.as_bytes()) {
                FromServer::Forward => actual.push("forwarded".into()),
                FromServer::Drop(why) => actual.push(format!("dropped {why}")),
                FromServer::Skip => {}
            },
            "client-too-long" => {
                let bytes: u64 = rest.parse().unwrap();
                actual.push(format!("to-client {}", session.client_too_long(bytes)));
            }
            "server-gone" => {
                for answer in session.server_gone(rest) {
                    actual.push(format!("to-client {answer}"));
                }
            }
            "log" => actual.extend(log_lines(state.path(), &mut seen)),
            other => panic!("{}:{}: unknown line `{other}`", path.display(), n + 1),
        }
    }
    flush(
        &mut expected,
        &mut actual,
        &mut blessed,
        text.lines().count() + 1,
    );
    (blessed, failures)
}

#[test]
fn recorded_exchanges() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/exchanges");
    let mut files: Vec<PathBuf> = std::fs::read_dir(&dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == "txt"))
        .collect();
    files.sort();
    assert!(
        files.len() >= 5,
        "the exchanges are missing from {}",
        dir.display()
    );
    let bless = std::env::var_os("WARD_BLESS").is_some_and(|v| v == "1");
    let mut failures = Vec::new();
    for file in &files {
        let (blessed, failed) = run(file);
        if bless {
            std::fs::write(file, blessed).unwrap();
        } else {
            failures.extend(failed);
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n\n"));
}
