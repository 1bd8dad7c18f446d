//! Approvals through the `ward` binary: `ward approvals list|show|approve|reject` against a
//! `ward serve` process on the bundled guardrails, and `kill -9` in the middle of a burst of
//! approval actions (every acknowledged action is in the store and in the log after the
//! restart, and the log agrees with every approval's history).

use std::collections::HashMap;
use std::path::Path;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use serde_json::{Value as Json, json};

use super::{Served, example_args, verify, ward};

/// Tokens made by `ward token new`, written to `DIR/tokens.toml` and `DIR/NAME.token`.
fn team(dir: &Path, specs: &[(&str, &str, &[&str])]) -> HashMap<String, String> {
    let mut file = String::new();
    let mut tokens = HashMap::new();
    for (name, role, groups) in specs {
        let mut args = vec!["token", "new", name, "--role", role];
        for g in *groups {
            args.extend(["--group", g]);
        }
        let out = ward(&args);
        assert_eq!(out.status.code(), Some(0));
        let text = String::from_utf8(out.stdout).unwrap();
        let (token, entry) = text.split_once('\n').unwrap();
        std::fs::write(dir.join(format!("{name}.token")), token).unwrap();
        file.push_str(entry);
        tokens.insert((*name).to_owned(), token.to_owned());
    }
    std::fs::write(dir.join("tokens.toml"), file).unwrap();
    tokens
}

/// The bundled request that needs `finance-security`, at the server's clock.
fn cfo_request(ticket: &str) -> Json {
    json!({"action": "disable_account", "args": {"target": "chloe-wu", "reason": "impossible travel between two countries"},
           "context": {"agent": "warden", "ticket": ticket}})
}

fn serve_with_tokens(dir: &Path, state: &Path) -> Served {
    let mut args = example_args(state);
    args.extend([
        "--tokens".into(),
        dir.join("tokens.toml").display().to_string(),
    ]);
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    Served::start(&args)
}

fn cli(served: &Served, dir: &Path, who: &str, args: &[&str]) -> (i32, String, String) {
    let server = format!("http://{}", served.addr);
    let token = format!("@{}", dir.join(format!("{who}.token")).display());
    let mut all = vec!["approvals"];
    all.extend_from_slice(args);
    all.extend(["--server", &server, "--token", &token]);
    let out = ward(&all);
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8(out.stdout).unwrap(),
        String::from_utf8(out.stderr).unwrap(),
    )
}

#[test]
fn ward_approvals_lists_shows_approves_and_rejects() {
    let dir = tempfile::tempdir().unwrap();
    let tokens = team(
        dir.path(),
        &[
            ("remediation-bot", "agent", &[]),
            ("fay", "approver", &["finance-security"]),
            ("mallory", "approver", &["network-oncall"]),
        ],
    );
    let served = serve_with_tokens(dir.path(), &dir.path().join("state"));
    let mut agent = served
        .client()
        .with_token(tokens["remediation-bot"].clone());
    let request = cfo_request("INC-20431");
    let doc = agent
        .post_json("/v1/decide", request.to_string().as_bytes())
        .unwrap()
        .json()
        .unwrap();
    assert_eq!(doc["decision"], "require_approval", "{doc}");
    let id = doc["approval"]["id"].as_str().unwrap().to_owned();

    let (code, out, err) = cli(&served, dir.path(), "fay", &["list"]);
    assert_eq!(code, 0, "{err}");
    assert!(
        out.starts_with(&format!(
            "{id}  pending   disable_account  requested by remediation-bot  expires "
        )),
        "{out}"
    );
    assert!(
        out.contains("waiting for: cfo_organisation (finance-security)"),
        "{out}"
    );
    let (code, out, _) = cli(&served, dir.path(), "mallory", &["list"]);
    assert_eq!(
        (code, out.as_str()),
        (0, "no pending approvals that you may see\n")
    );

    let (code, out, err) = cli(&served, dir.path(), "fay", &["show", &id]);
    assert_eq!(code, 0, "{err}");
    for expected in [
        "pending",
        "request:  disable_account by remediation-bot, created ",
        r#"  args:    {"reason":"impossible travel between two countries","target":"chloe-wu"}"#,
        "  cfo_organisation: Chloe Wu (Finance) is in the CFO's organisation [waiting for finance-security]",
        "still needs: cfo_organisation (finance-security)",
        "create by remediation-bot",
    ] {
        assert!(out.contains(expected), "`{expected}` not in:\n{out}");
    }

    // Not mallory's to act on: exit 1, nothing changed.
    let (code, _, err) = cli(
        &served,
        dir.path(),
        "mallory",
        &["approve", &id, "--comment", "sure"],
    );
    assert_eq!(code, 1);
    assert!(
        err.contains("`mallory` is not among the approvers"),
        "{err}"
    );
    let (code, out, err) = cli(
        &served,
        dir.path(),
        "fay",
        &["approve", &id, "--comment", "INC-20431 checked"],
    );
    assert_eq!(code, 0, "{err}");
    assert_eq!(
        out,
        format!("approved {id}: the agent may now resume the request\n")
    );
    let (code, _, err) = cli(
        &served,
        dir.path(),
        "fay",
        &["reject", &id, "-c", "changed my mind"],
    );
    assert_eq!(code, 1);
    assert!(err.contains("already approved"), "{err}");

    let mut resume = request.clone();
    resume["approval"] = json!(id);
    let doc = agent
        .post_json("/v1/decide", resume.to_string().as_bytes())
        .unwrap()
        .json()
        .unwrap();
    assert_eq!(doc["decision"], "allow", "{doc}");
    let (code, out, _) = cli(
        &served,
        dir.path(),
        "fay",
        &["show", &id, "--format", "json"],
    );
    assert_eq!(code, 0);
    let shown: Json = serde_json::from_str(&out).unwrap();
    assert_eq!(shown["status"], "used");
    assert_eq!(shown["history"][1]["comment"], "INC-20431 checked");
    let (code, out, _) = cli(&served, dir.path(), "fay", &["list", "--status", "used"]);
    assert_eq!(code, 0);
    assert!(out.contains(&id), "{out}");

    // Usage errors: exit 2.
    let out = ward(&[
        "approvals",
        "list",
        "--server",
        "127.0.0.1:1",
        "--token",
        "x",
    ]);
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("`http://HOST:PORT`"));
    let out = ward(&[
        "approvals",
        "show",
        "../etc",
        "--server",
        "http://127.0.0.1:1",
        "--token",
        "x",
    ]);
    assert_eq!(out.status.code(), Some(2));
}

#[test]
fn kill_9_during_approvals_loses_no_recorded_action() {
    let dir = tempfile::tempdir().unwrap();
    let tokens = team(
        dir.path(),
        &[
            ("remediation-bot", "agent", &[]),
            ("fay", "approver", &["finance-security"]),
            ("root", "admin", &[]),
        ],
    );
    let state = dir.path().join("state");
    let mut served = serve_with_tokens(dir.path(), &state);
    let stop = Arc::new(AtomicBool::new(false));
    // (approval id, action) acknowledged by the server.
    let acknowledged = Arc::new(Mutex::new(Vec::<(String, &'static str)>::new()));
    let created = Arc::new(Mutex::new(Vec::<String>::new()));
    let mut threads = Vec::new();
    for t in 0..2 {
        let (stop, acknowledged, created) = (
            Arc::clone(&stop),
            Arc::clone(&acknowledged),
            Arc::clone(&created),
        );
        let mut agent = served
            .client()
            .with_token(tokens["remediation-bot"].clone());
        threads.push(std::thread::spawn(move || {
            // Bounded: at most 5,000 requests per thread; it stops at the kill.
            for i in 0..5_000 {
                if stop.load(Ordering::Relaxed) {
                    break;
                }
                let body = cfo_request(&format!("INC-{t}-{i}")).to_string();
                match agent.post_json("/v1/decide", body.as_bytes()) {
                    Ok(r) if r.status == 200 => {
                        let doc = r.json().unwrap();
                        let id = doc["approval"]["id"].as_str().unwrap().to_owned();
                        acknowledged.lock().unwrap().push((id.clone(), "create"));
                        created.lock().unwrap().push(id);
                    }
                    _ => break,
                }
            }
        }));
    }
    {
        let (stop, acknowledged, created) = (
            Arc::clone(&stop),
            Arc::clone(&acknowledged),
            Arc::clone(&created),
        );
        let mut fay = served.client().with_token(tokens["fay"].clone());
        threads.push(std::thread::spawn(move || {
            let mut next = 0;
            for _ in 0..20_000 {
                if stop.load(Ordering::Relaxed) {
                    break;
                }
                let id = created.lock().unwrap().get(next).cloned();
                let Some(id) = id else {
                    std::thread::sleep(Duration::from_millis(2));
                    continue;
                };
                next += 1;
                let verb = if next % 3 == 0 { "reject" } else { "approve" };
                let body = json!({"comment": format!("{verb} {next}")}).to_string();
                match fay.post_json(&format!("/v1/approvals/{id}/{verb}"), body.as_bytes()) {
                    Ok(r) if r.status == 200 => acknowledged.lock().unwrap().push((id, verb)),
                    _ => break,
                }
            }
        }));
    }
    let deadline = Instant::now() + Duration::from_secs(60);
    while acknowledged
        .lock()
        .unwrap()
        .iter()
        .filter(|(_, a)| *a != "create")
        .count()
        < 40
        && Instant::now() < deadline
    {
        std::thread::sleep(Duration::from_millis(5));
    }
    served.child.kill().unwrap(); // SIGKILL, in the middle of the burst
    served.child.wait().unwrap();
    stop.store(true, Ordering::Relaxed);
    for t in threads {
        t.join().unwrap();
    }
    let acknowledged = acknowledged.lock().unwrap().clone();
    let actions = acknowledged.iter().filter(|(_, a)| *a != "create").count();
    assert!(actions >= 40, "only {actions} approve/reject acknowledged");
    eprintln!(
        "{} actions acknowledged before the kill ({} approve/reject)",
        acknowledged.len(),
        actions
    );

    // Restart: events stored but not logged before the kill are logged now.
    let mut served = serve_with_tokens(dir.path(), &state);
    let mut root = served.client().with_token(tokens["root"].clone());
    let list = root
        .get("/v1/approvals?status=all&limit=1000")
        .unwrap()
        .json()
        .unwrap();
    let stored: HashMap<String, Json> = list["approvals"]
        .as_array()
        .unwrap()
        .iter()
        .map(|a| (a["id"].as_str().unwrap().to_owned(), a.clone()))
        .collect();
    served.signal("TERM");
    assert!(served.wait(Duration::from_secs(30)).success());
    let out = verify(&state);
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stdout)
    );
    let lines: Vec<Json> = ward_log::read(&state.join("log"), &ward_log::Filter::default())
        .unwrap()
        .into_iter()
        .map(|e| e.value)
        .filter(|l| l["kind"] == "approval")
        .collect();
    let logged =
        |id: &str, action: &str| lines.iter().any(|l| l["id"] == id && l["action"] == action);
    for (id, action) in &acknowledged {
        let approval = stored
            .get(id)
            .unwrap_or_else(|| panic!("{id} is not in the store"));
        assert!(
            approval["history"]
                .as_array()
                .unwrap()
                .iter()
                .any(|h| h["action"] == *action),
            "{id}: its {action} is not in the store: {approval}"
        );
        assert!(logged(id, action), "{id}: its {action} is not in the log");
    }
    // The log agrees with the store: every history entry of every approval has its line.
    for (id, approval) in &stored {
        for h in approval["history"].as_array().unwrap() {
            assert!(
                logged(id, h["action"].as_str().unwrap()),
                "{id}: {h} is in the store but not in the log"
            );
        }
    }
    let recovered = lines.iter().filter(|l| l["recovered"] == true).count();
    eprintln!("{recovered} approval events were logged at the restart");
}
