//! The HTTP API over a real loopback socket: deciding, batches, time, validation, tokens,
//! reload, shadow, health, metrics and the log lines behind every answer.

mod support;

use std::io::{Read, Write};
use std::net::TcpStream;
use std::time::{Duration, Instant};

use serde_json::{Value as Json, json};
use support::*;
use ward_server::auth::Role;

#[test]
fn a_decision_carries_its_id_hashes_time_and_rules() {
    let fx = start(|_, _| {});
    let mut client = fx.client();
    let mut body = reboot("db-1");
    body["id"] = json!("my-request-7");
    let (status, doc) = decide(&mut client, &body);
    assert_eq!(status, 200, "{doc}");
    assert!(doc["id"].as_str().unwrap().starts_with("dec_"), "{doc}");
    assert_eq!(doc["request_id"], "my-request-7");
    assert_eq!(doc["decision"], "require_approval");
    assert_eq!(doc["approvers"], json!(["oncall"]));
    assert_eq!(doc["fired"][0]["rule"], "production_needs_oncall");
    assert_eq!(doc["fired"][0]["message"], "db-1 is production");
    assert_eq!(doc["errors"], json!([]));
    assert_eq!(doc["at"], NOW, "no `at`: the server's clock decides");
    assert!(doc["policy"].as_str().unwrap().starts_with("sha256:"));
    assert!(doc["estate"].as_str().unwrap().starts_with("sha256:"));
    let keys: Vec<&str> = doc
        .as_object()
        .unwrap()
        .keys()
        .map(String::as_str)
        .collect();
    assert_eq!(
        keys.len(),
        9,
        "id, request_id, decision, fired, approvers, errors, policy, estate, at, and no more: {keys:?}"
    );
    // The same decision is in the log, with the request as decided (the `at` used).
    let line = fx
        .log_lines()
        .into_iter()
        .find(|l| l["id"] == doc["id"])
        .expect("logged");
    assert_eq!(line["kind"], "decision");
    assert_eq!(line["principal"], "anonymous");
    assert_eq!(line["request_id"], "my-request-7");
    assert_eq!(line["request"]["at"], NOW);
    assert_eq!(line["request"]["args"]["host"], "db-1");
    assert_eq!(line["decision"]["decision"], "require_approval");
    assert_eq!(line["policy"], doc["policy"]);
}

#[test]
fn ids_are_unique_and_time_ordered() {
    let fx = start(|_, _| {});
    let mut client = fx.client();
    let mut ids = Vec::new();
    for i in 0..20 {
        if i == 10 {
            fx.clock.advance(1);
        }
        ids.push(
            decide(&mut client, &reboot("web-1")).1["id"]
                .as_str()
                .unwrap()
                .to_owned(),
        );
    }
    let mut sorted = ids.clone();
    sorted.sort();
    sorted.dedup();
    assert_eq!(ids, sorted);
}

#[test]
fn explain_is_structured() {
    let fx = start(|_, _| {});
    let mut client = fx.client();
    let response = post(&mut client, "/v1/decide?explain=true", &reboot("web-1"));
    let doc = response.json().unwrap();
    assert_eq!(doc["decision"], "allow");
    let rules = doc["explanation"]["rules"].as_array().unwrap();
    assert_eq!(rules.len(), 2);
    assert_eq!(rules[0]["rule"], "production_needs_oncall");
    assert_eq!(rules[0]["fired"], false);
    assert_eq!(rules[0]["condition"]["source"], "host.tier == \"prod\"");
    assert_eq!(rules[1]["fired"], true);
    // A typo in the query is not silently ignored.
    let response = post(&mut client, "/v1/decide?explian=true", &reboot("web-1"));
    let doc = response.json().unwrap();
    assert_eq!(
        (response.status, doc["decision"].as_str()),
        (400, Some("deny"))
    );
    assert!(
        doc["errors"][0]["message"]
            .as_str()
            .unwrap()
            .contains("did you mean `explain`"),
        "{doc}"
    );
}

#[test]
fn a_batch_is_decided_in_order_and_a_bad_request_is_a_deny_in_its_place() {
    let fx = start(|_, _| {});
    let mut client = fx.client();
    let body = json!({"requests": [
        reboot("web-1"),
        {"action": "reboot", "args": {"host": "nowhere"}, "context": {"agent": "a"}},
        reboot("db-1"),
        "not a request",
    ]});
    let response = post(&mut client, "/v1/decide/batch", &body);
    assert_eq!(response.status, 200);
    let doc = response.json().unwrap();
    let outcomes: Vec<&str> = doc["decisions"]
        .as_array()
        .unwrap()
        .iter()
        .map(|d| d["decision"].as_str().unwrap())
        .collect();
    assert_eq!(outcomes, ["allow", "deny", "require_approval", "deny"]);
    let unknown = &doc["decisions"][1]["errors"][0]["message"];
    assert!(
        unknown
            .as_str()
            .unwrap()
            .contains("no `Host` with id `nowhere`"),
        "{unknown}"
    );
    // Four decisions, four log lines.
    let ids: Vec<&Json> = doc["decisions"]
        .as_array()
        .unwrap()
        .iter()
        .map(|d| &d["id"])
        .collect();
    let lines = fx.log_lines();
    for id in ids {
        assert!(lines.iter().any(|l| l["id"] == *id), "{id} not logged");
    }
    // Not a batch at all.
    let response = post(&mut client, "/v1/decide/batch", &json!([reboot("web-1")]));
    assert_eq!(response.status, 400);
    assert_eq!(response.json().unwrap()["decision"], "deny");
}

#[test]
fn a_lying_clock_is_denied_and_a_small_skew_is_decided_at_its_time() {
    let fx = start(|_, _| {});
    let mut client = fx.client();
    let mut body = reboot("web-1");
    body["at"] = json!("2026-12-01T14:00:00Z");
    let (status, doc) = decide(&mut client, &body);
    assert_eq!(
        (status, doc["decision"].as_str()),
        (400, Some("deny")),
        "{doc}"
    );
    assert_eq!(
        doc["errors"][0]["message"],
        "`at` is 4h ahead of the server's clock (2026-12-01T10:00:00Z), more than the 5s allowed: leave `at` out to be decided at the server's time"
    );
    body["at"] = json!("2026-12-01T09:59:57Z");
    let (status, doc) = decide(&mut client, &body);
    assert_eq!((status, doc["decision"].as_str()), (200, Some("allow")));
    assert_eq!(doc["at"], "2026-12-01T09:59:57Z");
    // The server's clock moves; the request does not get to.
    fx.clock.advance(60_000);
    let (status, _) = decide(&mut client, &body);
    assert_eq!(status, 400);
}

#[test]
fn duplicate_keys_are_denied_naming_the_key() {
    let fx = start(|_, _| {});
    let mut client = fx.client();
    let text = r#"{"action": "reboot", "args": {"host": "db-1", "host": "web-1"}, "context": {"agent": "a"}}"#;
    let response = client.post_json("/v1/decide", text.as_bytes()).unwrap();
    let doc = response.json().unwrap();
    assert_eq!(
        (response.status, doc["decision"].as_str()),
        (400, Some("deny"))
    );
    let message = doc["errors"][0]["message"].as_str().unwrap();
    assert!(message.contains("args: duplicate key `host`"), "{message}");
}

#[test]
fn bodies_that_are_not_requests_are_denied_with_the_reason() {
    let fx = start(|_, _| {});
    let mut client = fx.client();
    for (body, status, expected) in [
        (
            &b"not json"[..],
            400,
            "the body is not a JSON request: invalid JSON at line 1",
        ),
        (b"[1, 2]", 400, "expected a request object"),
        (b"{\"action\": \"reboot\"}", 400, "missing field `host`"),
        (
            b"{\"action\": \"reboot\", \"id\": 7}",
            400,
            "id: expected the request's own id (a string of at most 256 bytes), found",
        ),
        (b"\xff\xfe", 400, "not valid UTF-8"),
    ] {
        let response = client.post_json("/v1/decide", body).unwrap();
        let doc = response.json().unwrap();
        assert_eq!(response.status, status, "{doc}");
        assert_eq!(doc["decision"], "deny");
        let message = doc["errors"][0]["message"].as_str().unwrap();
        assert!(message.contains(expected), "{message}");
    }
    // Deep nesting: refused by the parser's depth limit, not by a stack overflow.
    let deep = format!("{}{}", "[".repeat(100_000), "]".repeat(100_000));
    let response = client.post_json("/v1/decide", deep.as_bytes()).unwrap();
    let doc = response.json().unwrap();
    assert_eq!(
        (response.status, doc["decision"].as_str()),
        (400, Some("deny"))
    );
    assert!(
        doc["errors"][0]["message"]
            .as_str()
            .unwrap()
            .contains("recursion limit"),
        "{doc}"
    );
    // Wrong or missing content type.
    for headers in [&[("content-type", "text/plain")][..], &[]] {
        let response = client
            .request(
                "POST",
                "/v1/decide",
                headers,
                Some(reboot("web-1").to_string().as_bytes()),
            )
            .unwrap();
        let doc = response.json().unwrap();
        assert_eq!(
            (response.status, doc["decision"].as_str()),
            (415, Some("deny")),
            "{doc}"
        );
    }
    // The server still serves.
    assert_eq!(decide(&mut client, &reboot("web-1")).1["decision"], "allow");
}

#[test]
fn a_huge_body_is_refused_before_it_is_read() {
    let fx = start(|_, _| {});
    let addr = fx.server().local_addr();
    // Declared 100 MB: refused from the headers alone.
    let mut stream = TcpStream::connect(addr).unwrap();
    write!(
        stream,
        "POST /v1/decide HTTP/1.1\r\nhost: x\r\ncontent-type: application/json\r\ncontent-length: 104857600\r\n\r\n"
    )
    .unwrap();
    let response =
        ward_server::client::read_response(&mut std::io::BufReader::new(&stream)).unwrap();
    let doc = response.json().unwrap();
    assert_eq!(
        (response.status, doc["decision"].as_str()),
        (413, Some("deny"))
    );
    assert!(
        doc["errors"][0]["message"]
            .as_str()
            .unwrap()
            .contains("larger than the limit of 1048576 bytes")
    );
    // Streamed without a length: cut off at the limit.
    let mut stream = TcpStream::connect(addr).unwrap();
    stream
        .set_read_timeout(Some(Duration::from_secs(20)))
        .unwrap();
    write!(
        stream,
        "POST /v1/decide HTTP/1.1\r\nhost: x\r\ncontent-type: application/json\r\ntransfer-encoding: chunked\r\n\r\n"
    )
    .unwrap();
    let chunk = vec![b' '; 64 * 1024];
    let mut writer = stream.try_clone().unwrap();
    let sender = std::thread::spawn(move || {
        for _ in 0..(100 * 16) {
            if write!(writer, "{:x}\r\n", chunk.len()).is_err()
                || writer.write_all(&chunk).is_err()
                || writer.write_all(b"\r\n").is_err()
            {
                return;
            }
        }
    });
    let response =
        ward_server::client::read_response(&mut std::io::BufReader::new(&stream)).unwrap();
    assert_eq!(response.status, 413);
    assert_eq!(response.json().unwrap()["decision"], "deny");
    drop(stream);
    sender.join().unwrap();
    let mut client = fx.client();
    assert_eq!(decide(&mut client, &reboot("web-1")).1["decision"], "allow");
}

#[test]
fn slow_clients_are_cut_off_and_others_are_served_meanwhile() {
    let fx = start(|config, _| {
        config.limits.header_timeout = Duration::from_millis(500);
        config.limits.request_timeout = Duration::from_millis(800);
    });
    let addr = fx.server().local_addr();
    // Headers that never finish: the connection is closed.
    let mut slow_headers = TcpStream::connect(addr).unwrap();
    slow_headers
        .set_read_timeout(Some(Duration::from_secs(10)))
        .unwrap();
    slow_headers
        .write_all(b"POST /v1/decide HTTP/1.1\r\nhost: x\r\n")
        .unwrap();
    // A body that never finishes: 408 and a deny.
    let mut slow_body = TcpStream::connect(addr).unwrap();
    slow_body
        .set_read_timeout(Some(Duration::from_secs(10)))
        .unwrap();
    slow_body
        .write_all(b"POST /v1/decide HTTP/1.1\r\nhost: x\r\ncontent-type: application/json\r\ncontent-length: 100\r\n\r\n{\"act")
        .unwrap();
    let started = Instant::now();
    let mut client = fx.client();
    assert_eq!(decide(&mut client, &reboot("web-1")).1["decision"], "allow");
    let response =
        ward_server::client::read_response(&mut std::io::BufReader::new(&slow_body)).unwrap();
    let doc = response.json().unwrap();
    assert_eq!(
        (response.status, doc["decision"].as_str()),
        (408, Some("deny")),
        "{doc}"
    );
    let mut rest = Vec::new();
    let closed = slow_headers.read_to_end(&mut rest);
    assert!(closed.is_ok() || started.elapsed() < Duration::from_secs(10));
    assert!(
        started.elapsed() < Duration::from_secs(5),
        "{:?}",
        started.elapsed()
    );
    assert_eq!(decide(&mut client, &reboot("web-1")).1["decision"], "allow");
}

#[test]
fn connections_beyond_the_limit_get_a_clear_503() {
    let fx = start(|config, _| config.limits.max_connections = 2);
    let mut a = fx.client();
    let mut b = fx.client();
    assert_eq!(decide(&mut a, &reboot("web-1")).0, 200);
    assert_eq!(decide(&mut b, &reboot("web-1")).0, 200);
    let mut c = fx.client();
    let response = c.get("/health").unwrap();
    assert_eq!(response.status, 503);
    assert_eq!(
        response.json().unwrap()["error"]["code"],
        "too_many_connections"
    );
    drop(a);
    // Once a connection closes, a new one is served.
    let deadline = Instant::now() + Duration::from_secs(5);
    loop {
        let mut d = fx.client();
        if d.get("/health").unwrap().status == 200 {
            break;
        }
        assert!(
            Instant::now() < deadline,
            "the freed connection was not reused"
        );
        std::thread::sleep(Duration::from_millis(20));
    }
}

#[test]
fn unknown_routes_and_methods_get_json_errors() {
    let fx = start(|_, _| {});
    let mut client = fx.client();
    let response = client.get("/v2/decide").unwrap();
    assert_eq!(response.status, 404);
    assert_eq!(response.json().unwrap()["error"]["code"], "not_found");
    let response = client.get("/v1/decide").unwrap();
    assert_eq!(response.status, 405);
    assert_eq!(
        response.json().unwrap()["error"]["code"],
        "method_not_allowed"
    );
}

#[test]
fn an_approval_id_is_never_an_allow_without_tokens_and_nobody_may_act() {
    let fx = start(|_, _| {});
    let mut client = fx.client();
    let mut body = reboot("db-1");
    body["approval"] = json!("apr_01JDFORGED");
    let (status, doc) = decide(&mut client, &body);
    assert_eq!(
        (status, doc["decision"].as_str()),
        (200, Some("require_approval"))
    );
    assert!(
        doc["errors"][0]["message"]
            .as_str()
            .unwrap()
            .contains("approval `apr_01JDFORGED` was not used")
    );
    // Without tokens, nobody may act on approvals.
    let response = post(
        &mut client,
        "/v1/approvals/apr_1/approve",
        &json!({"comment": "ok"}),
    );
    assert_eq!(response.status, 403);
    // With tokens, an id that does not exist is 404 and nothing is recorded.
    let dir = tempfile::tempdir().unwrap();
    let (tokens, secrets) = tokens_file(dir.path(), &[("carol", &[Role::Approver], &["oncall"])]);
    let fx = start(|config, _| config.tokens = Some(tokens));
    let mut carol = fx.client_with(&secrets[0]);
    let response = post(
        &mut carol,
        "/v1/approvals/apr_1/approve",
        &json!({"comment": "ok"}),
    );
    assert_eq!(response.status, 404);
    assert_eq!(
        response.json().unwrap()["error"]["code"],
        "unknown_approval"
    );
    assert!(fx.log_lines().iter().all(|l| l["kind"] != "approval"));
}

#[test]
fn the_callers_id_follows_the_runtimes_rule() {
    let fx = start(|_, _| {});
    let mut client = fx.client();
    // 256 bytes are fine; 129 two-byte characters (258 bytes, 129 characters) are not.
    let mut body = reboot("web-1");
    body["id"] = json!("a".repeat(256));
    let (status, doc) = decide(&mut client, &body);
    assert_eq!(
        (status, doc["request_id"].as_str().map(str::len)),
        (200, Some(256))
    );
    for (id, why) in [
        (json!("é".repeat(129)), "is 258 bytes long (at most 256)"),
        (json!("line\nbreak"), "control character U+000A"),
        (json!(""), "is empty"),
    ] {
        let mut body = reboot("web-1");
        body["id"] = id.clone();
        let (status, doc) = decide(&mut client, &body);
        assert_eq!(
            (status, doc["decision"].as_str()),
            (400, Some("deny")),
            "{id}"
        );
        assert!(
            doc.get("request_id").is_none(),
            "an invalid id is not echoed: {doc}"
        );
        assert!(
            doc["errors"][0]["message"].as_str().unwrap().contains(why),
            "{doc}"
        );
    }
    // A valid id is echoed also when the request is refused before deciding.
    let mut body = reboot("web-1");
    body["id"] = json!("ticket-1");
    body["at"] = json!("2020-01-01T00:00:00Z");
    let (status, doc) = decide(&mut client, &body);
    assert_eq!(
        (status, doc["request_id"].as_str()),
        (400, Some("ticket-1")),
        "{doc}"
    );
}

#[test]
fn tokens_decide_who_may_call_what() {
    let dir = tempfile::tempdir().unwrap();
    let (tokens, t) = tokens_file(
        dir.path(),
        &[
            ("remediation-bot", &[Role::Agent], &[]),
            ("carol", &[Role::Approver], &["oncall"]),
            ("root", &[Role::Admin], &[]),
        ],
    );
    let fx = start(|config, _| config.tokens = Some(tokens));
    // No token, an unknown token: 401 and a deny.
    let mut nobody = fx.client();
    let (status, doc) = decide(&mut nobody, &reboot("web-1"));
    assert_eq!((status, doc["decision"].as_str()), (401, Some("deny")));
    let mut stranger = fx.client_with("ward_0000");
    assert_eq!(decide(&mut stranger, &reboot("web-1")).0, 401);
    assert_eq!(stranger.get("/v1/status").unwrap().status, 401);
    // The agent decides, as itself.
    let mut bot = fx.client_with(&t[0]);
    let (status, doc) = decide(&mut bot, &reboot("web-1"));
    assert_eq!((status, doc["decision"].as_str()), (200, Some("allow")));
    let line = fx
        .log_lines()
        .into_iter()
        .find(|l| l["id"] == doc["id"])
        .unwrap();
    assert_eq!(line["principal"], "remediation-bot");
    // An approver's token does not decide; an agent's does not reload.
    let mut carol = fx.client_with(&t[1]);
    let (status, doc) = decide(&mut carol, &reboot("web-1"));
    assert_eq!((status, doc["decision"].as_str()), (403, Some("deny")));
    assert!(
        doc["errors"][0]["message"]
            .as_str()
            .unwrap()
            .contains("`carol` has `approver`; this call needs the role `agent`")
    );
    assert_eq!(
        bot.request("POST", "/v1/reload", &[], None).unwrap().status,
        403
    );
    // The admin may do everything.
    let mut root = fx.client_with(&t[2]);
    assert_eq!(decide(&mut root, &reboot("web-1")).0, 200);
    let response = root.request("POST", "/v1/reload", &[], None).unwrap();
    assert_eq!(response.status, 200, "{:?}", response.json());
    assert_eq!(response.json().unwrap()["by"], "root");
    // Health needs no token; status and metrics need any valid one.
    assert_eq!(nobody.get("/health").unwrap().status, 200);
    assert_eq!(nobody.get("/metrics").unwrap().status, 401);
    assert_eq!(carol.get("/metrics").unwrap().status, 200);
}

#[test]
fn without_tokens_only_loopback_is_served() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("p.ward"), POLICY_A).unwrap();
    std::fs::write(dir.path().join("e.json"), ENTITIES).unwrap();
    let mut config = ward_server::Config::new(dir.path().join("p.ward"), dir.path().join("e.json"));
    config.listen = "0.0.0.0:0".parse().unwrap();
    config.state = dir.path().join("state");
    let err = ward_server::Server::start(config).unwrap_err();
    assert!(
        err.to_string()
            .starts_with("without `--tokens` the server only listens on a loopback address"),
        "{err}"
    );
}

#[test]
fn a_failed_reload_keeps_the_old_version_and_says_so_everywhere() {
    let dir = tempfile::tempdir().unwrap();
    let (tokens, t) = tokens_file(dir.path(), &[("root", &[Role::Admin], &[])]);
    let fx = start(|config, _| config.tokens = Some(tokens));
    let mut root = fx.client_with(&t[0]);
    let before = decide(&mut root, &reboot("web-1")).1;
    assert_eq!(before["decision"], "allow");
    fx.write_policy(&format!("{POLICY_A}\n{BROKEN}"));
    let response = root.request("POST", "/v1/reload", &[], None).unwrap();
    let report = response.json().unwrap();
    assert_eq!(response.status, 422, "{report}");
    assert_eq!(report["ok"], false);
    assert_eq!(report["error"]["part"], "policy");
    assert!(
        report["error"]["message"]
            .as_str()
            .unwrap()
            .contains("main.ward:"),
        "{report}"
    );
    // Still serving the old version.
    let after = decide(&mut root, &reboot("web-1")).1;
    assert_eq!(
        (after["decision"].as_str(), &after["policy"]),
        (Some("allow"), &before["policy"])
    );
    let status = root.get("/v1/status").unwrap().json().unwrap();
    assert_eq!(status["last_reload_error"]["ok"], false);
    assert_eq!(status["reloads"]["failed"], 1);
    let metrics = String::from_utf8(root.get("/metrics").unwrap().body).unwrap();
    assert!(metrics.contains("ward_reload_failing 1"), "{metrics}");
    assert!(metrics.contains("ward_reloads_total{result=\"failed\"} 1"));
    let failed = fx
        .log_lines()
        .into_iter()
        .find(|l| l["kind"] == "reload" && l["ok"] == false)
        .unwrap();
    assert_eq!(failed["trigger"], "api");
    assert_eq!(failed["principal"], "root");
    // A good version swaps in.
    fx.write_policy(POLICY_B);
    let response = root.request("POST", "/v1/reload", &[], None).unwrap();
    assert_eq!(response.status, 200);
    let now = decide(&mut root, &reboot("web-1")).1;
    assert_eq!(now["decision"], "deny");
    assert_ne!(now["policy"], before["policy"]);
    let metrics = String::from_utf8(root.get("/metrics").unwrap().body).unwrap();
    assert!(metrics.contains("ward_reload_failing 0"), "{metrics}");
    // The log's writers: groups written, and the fdatasync histogram's buckets add up.
    let value = |name: &str| -> u64 {
        metrics
            .lines()
            .find_map(|l| l.strip_prefix(name)?.strip_prefix(' ')?.parse().ok())
            .unwrap_or_else(|| panic!("no `{name}` in:\n{metrics}"))
    };
    assert!(value("ward_log_groups_total") >= 1, "{metrics}");
    assert_eq!(
        value("ward_log_fdatasync_duration_seconds_bucket{le=\"+Inf\"}"),
        value("ward_log_fdatasync_duration_seconds_count")
    );
    assert!(
        value("ward_log_fdatasync_duration_seconds_bucket{le=\"0.001\"}")
            <= value("ward_log_fdatasync_duration_seconds_bucket{le=\"0.5\"}")
    );
    // A broken estate is refused the same way.
    std::fs::write(
        fx.dir.path().join("entities.json"),
        r#"{"entities": {"Host": {"web-1": {}}}}"#,
    )
    .unwrap();
    let response = root.request("POST", "/v1/reload", &[], None).unwrap();
    assert_eq!(response.status, 422);
    assert_eq!(response.json().unwrap()["error"]["part"], "estate");
    assert_eq!(
        decide(&mut root, &reboot("web-1")).1["estate"],
        now["estate"]
    );
}

#[test]
fn file_changes_are_reloaded() {
    let fx = start(|config, _| {
        config.watch = true;
        config.watch_debounce = Duration::from_millis(30);
    });
    let mut client = fx.client();
    let before = decide(&mut client, &reboot("web-1")).1;
    fx.write_policy(POLICY_B);
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        let doc = decide(&mut client, &reboot("web-1")).1;
        if doc["policy"] != before["policy"] {
            assert_eq!(doc["decision"], "deny");
            break;
        }
        assert!(Instant::now() < deadline, "the change was not picked up");
        std::thread::sleep(Duration::from_millis(20));
    }
    let reload = fx
        .log_lines()
        .into_iter()
        .find(|l| l["kind"] == "reload" && l["trigger"] == "watch")
        .unwrap();
    assert_eq!(reload["ok"], true);
}

#[test]
fn the_shadow_policy_is_logged_and_counted_but_never_answers() {
    let fx = start(|config, dir| {
        std::fs::write(dir.join("shadow.ward"), POLICY_B).unwrap();
        config.shadow = Some(dir.join("shadow.ward"));
    });
    let mut client = fx.client();
    let (_, doc) = decide(&mut client, &reboot("web-1"));
    assert_eq!(doc["decision"], "allow", "the real policy answers");
    let (_, doc2) = decide(&mut client, &reboot("db-1"));
    assert_eq!(doc2["decision"], "require_approval");
    let line = fx
        .log_lines()
        .into_iter()
        .find(|l| l["id"] == doc["id"])
        .unwrap();
    assert_eq!(line["decision"]["decision"], "allow");
    assert_eq!(line["shadow"]["decision"]["decision"], "deny");
    assert_ne!(line["shadow"]["policy"], line["policy"]);
    let metrics = String::from_utf8(client.get("/metrics").unwrap().body).unwrap();
    assert!(
        metrics.contains("ward_shadow_flips_total{from=\"allow\",to=\"deny\"} 1"),
        "{metrics}"
    );
    assert!(
        !metrics.contains("from=\"require_approval\""),
        "no flip for db-1: {metrics}"
    );
    let status = client.get("/v1/status").unwrap().json().unwrap();
    assert!(
        status["shadow"]["policy"]
            .as_str()
            .unwrap()
            .starts_with("sha256:")
    );
}

#[test]
fn health_ready_status_and_metrics() {
    let fx = start(|_, _| {});
    let mut client = fx.client();
    decide(&mut client, &reboot("web-1"));
    decide(&mut client, &reboot("nowhere"));
    assert_eq!(
        client.get("/health").unwrap().json().unwrap(),
        json!({"status": "ok"})
    );
    assert_eq!(
        client.get("/ready").unwrap().json().unwrap(),
        json!({"ready": true})
    );
    let status = client.get("/v1/status").unwrap().json().unwrap();
    assert_eq!(
        status["decisions"],
        json!({"allow": 1, "deny": 1, "require_approval": 0})
    );
    assert_eq!(status["version"]["files"], json!(["main.ward"]));
    assert_eq!(
        status["log"]["head"]["seq"], 3,
        "start-up line and two decisions"
    );
    let response = client.get("/metrics").unwrap();
    assert!(
        response
            .header("content-type")
            .unwrap()
            .starts_with("text/plain; version=0.0.4")
    );
    let text = String::from_utf8(response.body).unwrap();
    for series in [
        "ward_decisions_total{action=\"reboot\",decision=\"allow\"} 1",
        "ward_decisions_total{action=\"(none)\",decision=\"deny\"} 1",
        "ward_decision_duration_seconds_bucket{le=\"+Inf\"} 2",
        "ward_reloads_total{result=\"ok\"} 0",
        "ward_approvals{status=\"pending\"} 0",
        "ward_log_write_duration_seconds_count 2",
        "ward_requests_rejected_total{status=\"400\"} 1",
    ] {
        assert!(text.contains(series), "missing `{series}` in\n{text}");
    }
}

#[test]
fn every_answered_decision_is_in_a_log_that_verifies() {
    let mut fx = start(|_, _| {});
    let mut ids = Vec::new();
    let threads: Vec<_> = (0..4)
        .map(|_| {
            let mut client = fx.client();
            std::thread::spawn(move || {
                (0..25)
                    .map(|i| {
                        let host = if i % 2 == 0 { "web-1" } else { "db-1" };
                        decide(&mut client, &reboot(host)).1["id"]
                            .as_str()
                            .unwrap()
                            .to_owned()
                    })
                    .collect::<Vec<_>>()
            })
        })
        .collect();
    for t in threads {
        ids.extend(t.join().unwrap());
    }
    fx.stop();
    let report = ward_log::verify(&fx.state().join("log")).unwrap();
    assert_eq!(report.problem, None);
    assert_eq!(report.lines, 101);
    let logged: std::collections::HashSet<String> = fx
        .log_lines()
        .into_iter()
        .map(|l| l["id"].as_str().unwrap().to_owned())
        .collect();
    for id in ids {
        assert!(logged.contains(&id), "{id}");
    }
}

#[test]
fn the_shutdown_drains_and_a_restart_continues_the_chain() {
    let mut fx = start(|_, _| {});
    let mut client = fx.client();
    decide(&mut client, &reboot("web-1"));
    let state = fx.state();
    fx.stop();
    let head = ward_log::verify(&state.join("log")).unwrap().head;
    let mut config = ward_server::Config::new(fx.policy_dir(), fx.dir.path().join("entities.json"));
    config.listen = "127.0.0.1:0".parse().unwrap();
    config.state = state.clone();
    config.watch = false;
    let server = ward_server::Server::start(config).unwrap();
    let mut client = ward_server::client::Client::new(server.local_addr());
    let mut body = reboot("web-1");
    body["at"] = Json::Null;
    assert_eq!(decide(&mut client, &body).0, 200);
    server.shutdown();
    let report = ward_log::verify(&state.join("log")).unwrap();
    assert_eq!(report.problem, None);
    assert_eq!(report.lines, head.seq + 2);
}

#[test]
fn a_forged_or_replayed_decision_id_is_only_a_label() {
    let fx = start(|_, _| {});
    let mut client = fx.client();
    let (_, first) = decide(&mut client, &reboot("db-1"));
    // The agent sends back the id the server issued, as its own id and as an approval.
    let mut replay = reboot("db-1");
    replay["id"] = first["id"].clone();
    replay["approval"] = first["id"].clone();
    let (status, again) = decide(&mut client, &replay);
    assert_eq!(status, 200);
    assert_ne!(again["id"], first["id"], "the server issues a new id");
    assert_eq!(
        again["request_id"], first["id"],
        "the caller's id is only echoed"
    );
    assert_eq!(again["decision"], "require_approval", "never an allow");
    // Both are in the log as separate lines; the replay's line names what it claimed.
    let lines = fx.log_lines();
    let line = lines.iter().find(|l| l["id"] == again["id"]).unwrap();
    assert_eq!(line["request_id"], first["id"]);
    assert_eq!(line["approval"], first["id"]);
    assert_eq!(lines.iter().filter(|l| l["id"] == first["id"]).count(), 1);
}

#[test]
fn an_idle_keep_alive_connection_is_closed_after_the_header_timeout() {
    let fx = start(|config, _| config.limits.header_timeout = Duration::from_millis(300));
    let addr = fx.server().local_addr();
    let mut stream = TcpStream::connect(addr).unwrap();
    stream
        .set_read_timeout(Some(Duration::from_secs(10)))
        .unwrap();
    stream
        .write_all(b"GET /health HTTP/1.1\r\nhost: x\r\n\r\n")
        .unwrap();
    let mut reader = std::io::BufReader::new(stream.try_clone().unwrap());
    let response = ward_server::client::read_response(&mut reader).unwrap();
    assert_eq!(response.status, 200);
    let started = Instant::now();
    let mut rest = Vec::new();
    let n = reader.read_to_end(&mut rest).unwrap_or(0);
    assert_eq!(n, 0, "{}", String::from_utf8_lossy(&rest));
    assert!(
        started.elapsed() < Duration::from_secs(5),
        "closed after {:?}",
        started.elapsed()
    );
}
