//! The guard's side of approvals, against an HTTP peer on loopback that answers as `ward serve`
//! documents (docs/server.md, `POST /v1/decide`): what the guard sends (no `at`, its decision id,
//! the approval it holds), and what it makes of each answer. The whole path with a real
//! `ward serve` is in `tests/python/test_guard.py`.

use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpListener;
use std::path::PathBuf;
use std::sync::mpsc;

use serde_json::{Value as Json, json};
use ward_mcp::approvals::ApprovalService;
use ward_mcp::guard::{FixedClock, Guard, GuardConfig, Verdict};
use ward_mcp::ids::Ids;
use ward_mcp::mapping::Mapping;

/// Serves `answers` (status, body) one connection each, and sends every request body it got.
fn peer(answers: Vec<(u16, Json)>) -> (String, mpsc::Receiver<Json>) {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    let (tx, rx) = mpsc::channel();
    std::thread::spawn(move || {
        for (status, body) in answers {
            let (stream, _) = listener.accept().unwrap();
            let mut reader = BufReader::new(stream.try_clone().unwrap());
            let mut line = String::new();
            reader.read_line(&mut line).unwrap();
            assert!(line.starts_with("POST /v1/decide "), "{line}");
            let mut length = 0;
            loop {
                line.clear();
                reader.read_line(&mut line).unwrap();
                if line.trim().is_empty() {
                    break;
                }
                if let Some(v) = line.to_ascii_lowercase().strip_prefix("content-length:") {
                    length = v.trim().parse().unwrap();
                }
            }
            let mut bytes = vec![0; length];
            reader.read_exact(&mut bytes).unwrap();
            tx.send(serde_json::from_slice(&bytes).unwrap()).unwrap();
            let body = body.to_string();
            let mut stream = stream;
            write!(
                stream,
                "HTTP/1.1 {status} X\r\ncontent-type: application/json\r\ncontent-length: {}\r\n\r\n{body}",
                body.len()
            )
            .unwrap();
        }
    });
    (url, rx)
}

fn guard(url: &str, state: &std::path::Path) -> Guard {
    let fixtures = PathBuf::from("tests/fixtures");
    let loaded = ward_mcp::policy::load(
        &fixtures.join("policy.ward"),
        &fixtures.join("estate.json"),
        ward_embed::EngineKind::Interp,
    )
    .unwrap_or_else(|e| panic!("{e}"));
    let mapping = Mapping::load(&fixtures.join("tools.toml"), loaded.engine.program()).unwrap();
    let mut log = ward_log::LogConfig::new(state.join("log"));
    log.durability = ward_log::Durability::Buffered;
    let config = GuardConfig {
        mapping,
        agent: Some("bot".into()),
        approvals: Some(ApprovalService::parse(url, Some("tok".into())).unwrap()),
        clock: Box::new(FixedClock(1_796_119_200_000)),
        ids: Ids::sequential(),
    };
    Guard::start(loaded, config, ward_log::Log::open(log).unwrap().log, &[]).unwrap()
}

fn text(verdict: &Verdict) -> String {
    let Verdict::Answer(answer) = verdict else {
        panic!("forwarded")
    };
    let doc: Json = serde_json::from_str(answer).unwrap();
    assert_eq!(doc["result"]["isError"], true, "{doc}");
    doc["result"]["content"][0]["text"]
        .as_str()
        .unwrap()
        .to_owned()
}

#[test]
fn created_resumed_and_refused() {
    let pending = json!({"id": "dec_S1", "decision": "require_approval", "fired": [], "errors": [],
        "approvers": ["security-oncall"],
        "approval": {"id": "apr_1", "status": "pending", "expires": "2026-12-02T10:00:00Z"}});
    let resumed = json!({"id": "dec_S2", "decision": "allow", "fired": [], "errors": [], "approvers": [],
        "approval": {"id": "apr_1", "status": "used", "expires": "2026-12-02T10:00:00Z"}});
    let unrequested_allow =
        json!({"id": "dec_S3", "decision": "allow", "fired": [], "errors": [], "approvers": []});
    let refused = json!({"id": "dec_S4", "decision": "deny", "fired": [], "approvers": [],
        "errors": [{"rule": null, "message": "the decision could not be written to the log"}]});
    let (url, bodies) = peer(vec![
        (200, pending.clone()),
        (200, pending),
        (200, resumed),
        (200, unrequested_allow),
        (503, refused),
    ]);
    let state = tempfile::tempdir().unwrap();
    let guard = guard(&url, state.path());
    let call = json!({"name": "disable_user", "arguments": {"user": "root-admin", "reason": "x", "ticket": "INC-9"}});

    // Created: the answer names the approval and its approvers; the request had no `at`.
    let first = guard.decide_call("1", Some(&call));
    let t = text(&first);
    assert!(
        t.contains(
            "approval `apr_1` is pending (expires 2026-12-02T10:00:00Z); approvers: security-oncall"
        ),
        "{t}"
    );
    let sent = bodies.recv().unwrap();
    assert_eq!(sent.get("at"), None);
    assert_eq!(sent.get("approval"), None);
    assert_eq!(sent["action"], "disable_account");
    assert_eq!(sent["context"], json!({"agent": "bot", "ticket": "INC-9"}));
    assert!(sent["id"].as_str().unwrap().starts_with("dec_"));

    // Repeated while still pending: resumed with the approval, still not made.
    let t = text(&guard.decide_call("2", Some(&call)));
    assert!(t.contains("the call was not made"), "{t}");
    assert_eq!(bodies.recv().unwrap()["approval"], "apr_1");

    // Repeated once approved: the service's fresh decision is `allow`, so it goes on.
    assert_eq!(guard.decide_call("3", Some(&call)), Verdict::Forward);
    assert_eq!(bodies.recv().unwrap()["approval"], "apr_1");

    // The approval is used: the next identical call asks afresh, and an `allow` that no
    // approval covers means the policies differ.
    let t = text(&guard.decide_call("4", Some(&call)));
    assert!(t.contains("the two policies differ"), "{t}");
    assert_eq!(bodies.recv().unwrap().get("approval"), None);

    // A refusal of the service is a denial with its reason.
    let t = text(&guard.decide_call("5", Some(&call)));
    assert!(
        t.contains("the decision could not be written to the log") && t.contains("status 503"),
        "{t}"
    );
    let _ = bodies.recv().unwrap();

    // An unreachable service: denied, saying so (the peer served all its answers and left).
    let t = text(&guard.decide_call("6", Some(&call)));
    assert!(t.contains("the approval service could not be asked"), "{t}");

    let lines = ward_log::read(&state.path().join("log"), &ward_log::Filter::default()).unwrap();
    let outcomes: Vec<(String, String)> = lines
        .iter()
        .filter(|l| l.value["kind"] == "decision")
        .map(|l| {
            (
                l.value["mcp"]["outcome"].as_str().unwrap().to_owned(),
                l.value["service"]["decision"]
                    .as_str()
                    .unwrap_or("-")
                    .to_owned(),
            )
        })
        .collect();
    assert_eq!(
        outcomes,
        [
            ("answered", "require_approval"),
            ("answered", "require_approval"),
            ("forwarded", "allow"),
            ("answered", "allow"),
            ("answered", "deny"),
            ("answered", "-"),
        ]
        .map(|(a, b)| (a.to_owned(), b.to_owned()))
    );
    assert_eq!(lines[3].value["approval"], "apr_1");
}
