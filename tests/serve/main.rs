//! `ward serve`, `ward token` and `ward log` as processes: start-up failures, signals
//! (`SIGTERM` drains and exits 0, `SIGHUP` reloads), `kill -9` in the middle of a burst (every
//! answered decision is in the log, the log verifies, a restart continues the chain), tokens
//! made by `ward token new`, and `ward log verify|show` on a tampered log.
//!
//! Every server is started by the test on a free loopback port and stopped by it.

use std::io::{BufRead, BufReader};
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use serde_json::{Value as Json, json};
use ward_server::client::Client;

mod approvals;

fn repo() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

fn ward(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_ward"))
        .args(args)
        .env("NO_COLOR", "1")
        .output()
        .expect("the ward binary runs")
}

/// A `ward serve` process and what it printed on stderr.
struct Served {
    child: Child,
    addr: SocketAddr,
    stderr: Arc<Mutex<String>>,
}

impl Served {
    fn start(args: &[&str]) -> Served {
        let mut child = Command::new(env!("CARGO_BIN_EXE_ward"))
            .arg("serve")
            .args(args)
            .args(["--listen", "127.0.0.1:0"])
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .expect("ward serve starts");
        let stderr = Arc::new(Mutex::new(String::new()));
        let (tx, rx) = std::sync::mpsc::channel();
        let pipe = child.stderr.take().unwrap();
        let sink = Arc::clone(&stderr);
        std::thread::spawn(move || {
            for line in BufReader::new(pipe).lines() {
                let Ok(line) = line else { break };
                if let Some(rest) = line.split("listening on http://").nth(1) {
                    let addr = rest.split_whitespace().next().unwrap_or("").to_owned();
                    let _ = tx.send(addr);
                }
                let mut all = sink.lock().unwrap();
                all.push_str(&line);
                all.push('\n');
            }
        });
        let addr = match rx.recv_timeout(Duration::from_secs(60)) {
            Ok(addr) => addr.parse().unwrap(),
            Err(_) => {
                let _ = child.kill();
                panic!("ward serve did not start:\n{}", stderr.lock().unwrap());
            }
        };
        Served {
            child,
            addr,
            stderr,
        }
    }

    fn client(&self) -> Client {
        Client::new(self.addr).with_timeout(Duration::from_secs(20))
    }

    fn signal(&self, name: &str) {
        let status = Command::new("kill")
            .args([&format!("-{name}"), &self.child.id().to_string()])
            .status()
            .unwrap();
        assert!(status.success());
    }

    /// Waits for the process to exit (at most `limit`).
    fn wait(&mut self, limit: Duration) -> std::process::ExitStatus {
        let deadline = Instant::now() + limit;
        loop {
            if let Some(status) = self.child.try_wait().unwrap() {
                return status;
            }
            if Instant::now() > deadline {
                let _ = self.child.kill();
                panic!("ward serve did not exit:\n{}", self.stderr.lock().unwrap());
            }
            std::thread::sleep(Duration::from_millis(20));
        }
    }
}

impl Drop for Served {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn example_args(state: &Path) -> Vec<String> {
    vec![
        repo().join("examples/guardrails").display().to_string(),
        "--entities".into(),
        repo().join("examples/estate.json").display().to_string(),
        "--state".into(),
        state.display().to_string(),
        // The example requests are dated 2026-11-28.
        "--max-skew".into(),
        "3650d".into(),
        "--no-watch".into(),
    ]
}

fn example_requests() -> Vec<Json> {
    let mut paths: Vec<PathBuf> = std::fs::read_dir(repo().join("examples/requests"))
        .unwrap()
        .map(|e| e.unwrap().path())
        .collect();
    paths.sort();
    paths
        .iter()
        .map(|p| serde_json::from_str(&std::fs::read_to_string(p).unwrap()).unwrap())
        .collect()
}

fn logged_ids(state: &Path) -> Vec<String> {
    let out = ward(&[
        "log",
        "show",
        &state.display().to_string(),
        "--format",
        "json",
    ]);
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout)
        .unwrap()
        .lines()
        .map(|l| {
            serde_json::from_str::<Json>(l).unwrap()["id"]
                .as_str()
                .unwrap()
                .to_owned()
        })
        .collect()
}

fn verify(state: &Path) -> Output {
    ward(&["log", "verify", &state.display().to_string()])
}

#[test]
fn kill_9_in_a_burst_loses_no_answered_decision_and_the_chain_continues() {
    let dir = tempfile::tempdir().unwrap();
    let state = dir.path().join("state");
    let args = example_args(&state);
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    let mut served = Served::start(&args);
    let requests = Arc::new(example_requests());
    let stop = Arc::new(AtomicBool::new(false));
    let answered = Arc::new(Mutex::new(Vec::new()));
    let clients: Vec<_> = (0..4)
        .map(|t| {
            let (requests, stop, answered) = (
                Arc::clone(&requests),
                Arc::clone(&stop),
                Arc::clone(&answered),
            );
            let mut client = served.client();
            std::thread::spawn(move || {
                let mut i = t;
                // Bounded: at most 20,000 requests per client, and it stops at the kill.
                while !stop.load(Ordering::Relaxed) && i < 20_000 {
                    let body = requests[i % requests.len()].to_string();
                    match client.post_json("/v1/decide", body.as_bytes()) {
                        Ok(r) if r.status == 200 => {
                            let id = r.json().unwrap()["id"].as_str().unwrap().to_owned();
                            answered.lock().unwrap().push(id);
                        }
                        Ok(r) => panic!(
                            "unexpected {} {}",
                            r.status,
                            String::from_utf8_lossy(&r.body)
                        ),
                        Err(_) => break,
                    }
                    i += 4;
                }
            })
        })
        .collect();
    let deadline = Instant::now() + Duration::from_secs(30);
    while answered.lock().unwrap().len() < 200 && Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(10));
    }
    served.child.kill().unwrap(); // SIGKILL
    served.child.wait().unwrap();
    stop.store(true, Ordering::Relaxed);
    for c in clients {
        c.join().unwrap();
    }
    let answered = answered.lock().unwrap().clone();
    assert!(answered.len() >= 200, "only {} answered", answered.len());
    let out = verify(&state);
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    let logged: std::collections::HashSet<String> = logged_ids(&state).into_iter().collect();
    let missing: Vec<&String> = answered.iter().filter(|id| !logged.contains(*id)).collect();
    assert!(
        missing.is_empty(),
        "{} answered decisions are not in the log: {:?}",
        missing.len(),
        &missing[..missing.len().min(5)]
    );
    let lines_before = logged.len();

    // A restart continues the chain.
    let mut served = Served::start(&args);
    let mut client = served.client();
    let r = client
        .post_json("/v1/decide", requests[0].to_string().as_bytes())
        .unwrap();
    assert_eq!(r.status, 200);
    served.signal("TERM");
    assert!(served.wait(Duration::from_secs(30)).success());
    let out = verify(&state);
    let text = String::from_utf8_lossy(&out.stdout).into_owned();
    assert_eq!(
        out.status.code(),
        Some(0),
        "{text}{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(
        text.contains(&format!("ok: {} lines", lines_before + 2)),
        "{text}"
    );
}

#[test]
fn sigterm_drains_in_flight_requests_and_exits_0() {
    let dir = tempfile::tempdir().unwrap();
    let state = dir.path().join("state");
    let args = example_args(&state);
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    let mut served = Served::start(&args);
    let requests = example_requests();
    // A batch in flight while SIGTERM arrives is answered in full.
    let batch = json!({"requests": (0..200).map(|i| requests[i % requests.len()].clone()).collect::<Vec<_>>()});
    let mut client = served.client();
    let sender = std::thread::spawn(move || {
        client.post_json("/v1/decide/batch", batch.to_string().as_bytes())
    });
    std::thread::sleep(Duration::from_millis(30));
    served.signal("TERM");
    let status = served.wait(Duration::from_secs(30));
    assert!(
        status.success(),
        "exit {status:?}:\n{}",
        served.stderr.lock().unwrap()
    );
    if let Ok(response) = sender.join().unwrap() {
        assert_eq!(response.status, 200);
        let ids: Vec<String> = response.json().unwrap()["decisions"]
            .as_array()
            .unwrap()
            .iter()
            .map(|d| d["id"].as_str().unwrap().to_owned())
            .collect();
        assert_eq!(ids.len(), 200);
        let logged: std::collections::HashSet<String> = logged_ids(&state).into_iter().collect();
        assert!(ids.iter().all(|id| logged.contains(id)));
    }
    assert!(
        served
            .stderr
            .lock()
            .unwrap()
            .contains("ward serve: stopped")
    );
    assert_eq!(verify(&state).status.code(), Some(0));
}

#[test]
fn sighup_reloads_and_a_broken_policy_keeps_the_old_one() {
    let dir = tempfile::tempdir().unwrap();
    let policy = dir.path().join("policy.ward");
    let entities = dir.path().join("entities.json");
    std::fs::write(&entities, "{}").unwrap();
    let allow = "action ping { n: Int }\nrule ok { on ping allow }\n";
    let deny = "action ping { n: Int }\nrule no { on ping deny because \"not today\" }\n";
    std::fs::write(&policy, allow).unwrap();
    let state = dir.path().join("state");
    let (p, e, s) = (
        policy.display().to_string(),
        entities.display().to_string(),
        state.display().to_string(),
    );
    let mut served = Served::start(&[&p, "--entities", &e, "--state", &s, "--no-watch"]);
    let mut client = served.client();
    let ping = json!({"action": "ping", "args": {"n": 1}, "context": {}}).to_string();
    let decide = |client: &mut Client| {
        client
            .post_json("/v1/decide", ping.as_bytes())
            .unwrap()
            .json()
            .unwrap()
    };
    assert_eq!(decide(&mut client)["decision"], "allow");
    std::fs::write(&policy, "rule broken {").unwrap();
    served.signal("HUP");
    let deadline = Instant::now() + Duration::from_secs(20);
    while client.get("/v1/status").unwrap().json().unwrap()["reloads"]["failed"] != 1 {
        assert!(Instant::now() < deadline, "no failed reload recorded");
        std::thread::sleep(Duration::from_millis(20));
    }
    assert_eq!(decide(&mut client)["decision"], "allow");
    std::fs::write(&policy, deny).unwrap();
    served.signal("HUP");
    while decide(&mut client)["decision"] != "deny" {
        assert!(Instant::now() < deadline, "the reload did not swap");
        std::thread::sleep(Duration::from_millis(20));
    }
    served.signal("TERM");
    assert!(served.wait(Duration::from_secs(30)).success());
    let out = ward(&["log", "show", &s, "--kind", "reload"]);
    let text = String::from_utf8(out.stdout).unwrap();
    assert_eq!(text.lines().count(), 3, "{text}");
    assert!(
        text.contains("(signal): FAILED, previous version kept"),
        "{text}"
    );
}

/// Waits (at most 20 s) until `served` has printed `count` lines containing `needle`, and
/// returns them.
fn wait_for_lines(served: &Served, needle: &str, count: usize) -> Vec<String> {
    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        let lines: Vec<String> = served
            .stderr
            .lock()
            .unwrap()
            .lines()
            .filter(|l| l.contains(needle))
            .map(str::to_owned)
            .collect();
        if lines.len() >= count {
            return lines;
        }
        assert!(
            Instant::now() < deadline,
            "no {count} lines with `{needle}`:\n{}",
            served.stderr.lock().unwrap()
        );
        std::thread::sleep(Duration::from_millis(20));
    }
}

#[test]
fn each_served_version_is_precomputed_after_it_is_loaded() {
    let dir = tempfile::tempdir().unwrap();
    let entities = dir.path().join("estate.json");
    let estate = std::fs::read_to_string(repo().join("examples/estate.json")).unwrap();
    std::fs::write(&entities, &estate).unwrap();
    let state = dir.path().join("state");
    let mut args = example_args(&state);
    args[2] = entities.display().to_string();
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    let mut served = Served::start(&args);
    let needle = "precomputed the served policy's per-entity values";
    let first = wait_for_lines(&served, needle, 1);
    assert!(
        first[0].contains("stopped=false") && !first[0].contains("computed=0 "),
        "{first:?}"
    );
    // The precomputed version decides.
    let mut client = served.client();
    for request in example_requests() {
        let body = request.to_string();
        let got: Json = client
            .post_json("/v1/decide", body.as_bytes())
            .unwrap()
            .json()
            .unwrap();
        assert!(got["decision"].is_string(), "{got}");
    }
    // A reload that swaps a version (the estate's bytes changed) precomputes the new one.
    std::fs::write(&entities, format!("{estate}\n")).unwrap();
    served.signal("HUP");
    let second = wait_for_lines(&served, needle, 2);
    assert!(second[1].contains("stopped=false"), "{second:?}");
    served.signal("TERM");
    assert!(served.wait(Duration::from_secs(30)).success());
}

#[test]
fn a_policy_or_estate_that_does_not_load_stops_the_start_with_diagnostics() {
    let dir = tempfile::tempdir().unwrap();
    let policy = dir.path().join("policy.ward");
    std::fs::write(
        &policy,
        "action ping { n: Int }\nrule r { on ping when m > 1 allow }\n",
    )
    .unwrap();
    std::fs::write(dir.path().join("e.json"), "{}").unwrap();
    let (p, e, s) = (
        policy.display().to_string(),
        dir.path().join("e.json").display().to_string(),
        dir.path().join("state").display().to_string(),
    );
    let out = ward(&[
        "serve",
        &p,
        "--entities",
        &e,
        "--state",
        &s,
        "--listen",
        "127.0.0.1:0",
    ]);
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{err}");
    assert!(err.contains("error[E"), "{err}");
    assert!(err.contains("policy.ward:2:"), "{err}");
    assert!(err.contains("nothing is served"), "{err}");
    std::fs::write(
        &policy,
        "entity Host { tier: String }\naction ping { h: Host }\n",
    )
    .unwrap();
    std::fs::write(
        dir.path().join("e.json"),
        r#"{"entities": {"Host": {"a": {}}}}"#,
    )
    .unwrap();
    let out = ward(&[
        "serve",
        &p,
        "--entities",
        &e,
        "--state",
        &s,
        "--listen",
        "127.0.0.1:0",
    ]);
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{err}");
    assert!(err.contains("are not valid"), "{err}");
    let out = ward(&[
        "serve",
        &p,
        "--entities",
        &e,
        "--state",
        &s,
        "--listen",
        "0.0.0.0:0",
    ]);
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("only listens on a loopback address"));
}

#[test]
fn token_new_prints_a_token_and_an_entry_the_server_accepts() {
    let out = ward(&[
        "token",
        "new",
        "carol",
        "--role",
        "agent",
        "--group",
        "security-oncall",
    ]);
    assert_eq!(out.status.code(), Some(0));
    let text = String::from_utf8(out.stdout).unwrap();
    let (token, entry) = text.split_once('\n').unwrap();
    assert!(token.starts_with("ward_") && token.len() == 69, "{token}");
    assert!(
        !entry.contains(token),
        "the entry holds the hash, not the token"
    );
    assert!(entry.starts_with("[[token]]\nname = \"carol\"\ngroups = [\"security-oncall\"]\nroles = [\"agent\"]\nsha256 = \""), "{entry}");
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("tokens.toml"), entry).unwrap();
    let state = dir.path().join("state");
    let mut args = example_args(&state);
    args.extend([
        "--tokens".into(),
        dir.path().join("tokens.toml").display().to_string(),
    ]);
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    let served = Served::start(&args);
    let request = example_requests()[0].to_string();
    let mut anonymous = served.client();
    assert_eq!(
        anonymous
            .post_json("/v1/decide", request.as_bytes())
            .unwrap()
            .status,
        401
    );
    let mut carol = served.client().with_token(token);
    assert_eq!(
        carol
            .post_json("/v1/decide", request.as_bytes())
            .unwrap()
            .status,
        200
    );
}

#[test]
fn log_verify_names_a_tampered_line_and_show_filters() {
    let dir = tempfile::tempdir().unwrap();
    let state = dir.path().join("state");
    let args = example_args(&state);
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    let mut served = Served::start(&args);
    let mut client = served.client();
    for request in example_requests() {
        assert_eq!(
            client
                .post_json("/v1/decide", request.to_string().as_bytes())
                .unwrap()
                .status,
            200
        );
    }
    served.signal("TERM");
    assert!(served.wait(Duration::from_secs(30)).success());
    let s = state.display().to_string();
    let out = verify(&state);
    assert_eq!(out.status.code(), Some(0));
    assert!(String::from_utf8_lossy(&out.stdout).starts_with("ok: 9 lines in 1 file"));

    let out = ward(&["log", "show", &s, "--decision", "deny"]);
    let denied = String::from_utf8(out.stdout).unwrap();
    assert!(
        !denied.is_empty()
            && denied
                .lines()
                .all(|l| l.ends_with("-> deny") || l.contains("-> deny ")),
        "{denied}"
    );
    let out = ward(&[
        "log",
        "show",
        &s,
        "--action",
        "reboot_host",
        "--format",
        "json",
    ]);
    let reboots = String::from_utf8(out.stdout).unwrap();
    assert_eq!(reboots.lines().count(), 2, "{reboots}");
    let out = ward(&["log", "show", &s, "--since", "2100-01-01T00:00:00Z"]);
    assert!(out.stdout.is_empty());

    // Turn a deny into an allow in line 4: verify names it.
    let file = std::fs::read_dir(state.join("log"))
        .unwrap()
        .next()
        .unwrap()
        .unwrap()
        .path();
    let text = std::fs::read_to_string(&file).unwrap();
    let mut lines: Vec<String> = text.lines().map(str::to_owned).collect();
    let idx = lines
        .iter()
        .position(|l| l.contains("\"decision\":{\"decision\":\"deny\""))
        .unwrap();
    lines[idx] = lines[idx].replacen(
        "\"decision\":{\"decision\":\"deny\"",
        "\"decision\":{\"decision\":\"allow\"",
        1,
    );
    std::fs::write(&file, lines.join("\n") + "\n").unwrap();
    let out = verify(&state);
    assert_eq!(out.status.code(), Some(1));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.starts_with(&format!("error: line {} of `", idx + 1)),
        "{err}"
    );
    assert!(
        err.contains("was changed: its hash does not match its content"),
        "{err}"
    );
    // Removing a line is named too.
    lines.remove(idx);
    std::fs::write(&file, lines.join("\n") + "\n").unwrap();
    let err = String::from_utf8_lossy(&verify(&state).stderr).into_owned();
    assert!(err.contains("was removed"), "{err}");
}
