//! Shared by the server's tests: a policy folder and an estate in a temporary folder, a
//! server started on a free loopback port with a clock the test sets, and clients.

#![allow(dead_code)]

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use serde_json::{Value as Json, json};
use ward_server::client::{Client, Response};
use ward_server::{Config, ManualClock, Server};

/// 2026-12-01T10:00:00Z.
pub const NOW_MS: i64 = 1_796_119_200_000;
pub const NOW: &str = "2026-12-01T10:00:00Z";

pub const POLICY_A: &str = r#"
entity Host { tier: String }
context { agent: String }
action reboot { host: Host }

rule production_needs_oncall {
  on reboot
  when host.tier == "prod"
  require approval from "oncall"
  because "{host} is production"
}

rule development_is_fine {
  on reboot
  when host.tier == "dev"
  allow
  because "{host} is a development host"
}
"#;

/// Version B: development hosts are denied too.
pub const POLICY_B: &str = r#"
entity Host { tier: String }
context { agent: String }
action reboot { host: Host }

rule production_needs_oncall {
  on reboot
  when host.tier == "prod"
  require approval from "oncall"
  because "{host} is production"
}

rule no_reboots_today {
  on reboot
  when host.tier == "dev"
  deny
  because "{host}: no reboots today"
}
"#;

pub const BROKEN: &str = "rule broken { on reboot when nope == 1 allow }\n";

pub const ENTITIES: &str =
    r#"{"entities": {"Host": {"web-1": {"tier": "dev"}, "db-1": {"tier": "prod"}}}}"#;

pub struct Fixture {
    pub dir: tempfile::TempDir,
    pub clock: Arc<ManualClock>,
    pub server: Option<Server>,
}

impl Fixture {
    pub fn policy_dir(&self) -> PathBuf {
        self.dir.path().join("policy")
    }

    pub fn policy_file(&self) -> PathBuf {
        self.policy_dir().join("main.ward")
    }

    pub fn state(&self) -> PathBuf {
        self.dir.path().join("state")
    }

    pub fn server(&self) -> &Server {
        self.server.as_ref().expect("running")
    }

    pub fn client(&self) -> Client {
        Client::new(self.server().local_addr()).with_timeout(Duration::from_secs(20))
    }

    pub fn client_with(&self, token: &str) -> Client {
        self.client().with_token(token)
    }

    pub fn stop(&mut self) {
        if let Some(server) = self.server.take() {
            server.shutdown();
        }
    }

    /// The decision log's lines, parsed.
    pub fn log_lines(&self) -> Vec<Json> {
        ward_log::read(&self.state().join("log"), &ward_log::Filter::default())
            .unwrap()
            .into_iter()
            .map(|e| e.value)
            .collect()
    }

    /// Replaces the policy file atomically (write beside it, rename over it).
    pub fn write_policy(&self, text: &str) {
        write_atomically(&self.policy_file(), text);
    }
}

impl Drop for Fixture {
    fn drop(&mut self) {
        self.stop();
    }
}

pub fn write_atomically(path: &Path, text: &str) {
    let tmp = path.with_extension("tmp");
    std::fs::write(&tmp, text).unwrap();
    std::fs::rename(&tmp, path).unwrap();
}

/// A server on `POLICY_A` with `ENTITIES`, no file watching unless `configure` turns it on.
pub fn start(configure: impl FnOnce(&mut Config, &Path)) -> Fixture {
    let dir = tempfile::tempdir().unwrap();
    let policy = dir.path().join("policy");
    std::fs::create_dir(&policy).unwrap();
    std::fs::write(policy.join("main.ward"), POLICY_A).unwrap();
    std::fs::write(dir.path().join("entities.json"), ENTITIES).unwrap();
    let mut config = Config::new(&policy, dir.path().join("entities.json"));
    config.listen = "127.0.0.1:0".parse().unwrap();
    config.state = dir.path().join("state");
    config.watch = false;
    config.worker_threads = Some(2);
    configure(&mut config, dir.path());
    let clock = Arc::new(ManualClock::new(NOW_MS));
    let server = Server::start_with_clock(config, clock.clone()).unwrap();
    Fixture {
        dir,
        clock,
        server: Some(server),
    }
}

pub fn reboot(host: &str) -> Json {
    json!({"action": "reboot", "args": {"host": host}, "context": {"agent": "patchbot"}})
}

pub fn post(client: &mut Client, path: &str, body: &Json) -> Response {
    client.post_json(path, body.to_string().as_bytes()).unwrap()
}

pub fn decide(client: &mut Client, body: &Json) -> (u16, Json) {
    let response = post(client, "/v1/decide", body);
    (response.status, response.json().unwrap())
}

/// A tokens file with one token per (name, roles, groups); returns the path and the tokens.
pub fn tokens_file(
    dir: &Path,
    entries: &[(&str, &[ward_server::auth::Role], &[&str])],
) -> (PathBuf, Vec<String>) {
    let mut text = String::new();
    let mut tokens = Vec::new();
    for (name, roles, groups) in entries {
        let (token, hash) = ward_server::auth::new_token().unwrap();
        let groups: Vec<String> = groups.iter().map(|g| (*g).to_owned()).collect();
        text.push_str(&ward_server::auth::token_entry(name, roles, &groups, &hash));
        tokens.push(token);
    }
    let path = dir.join("tokens.toml");
    std::fs::write(&path, text).unwrap();
    (path, tokens)
}

pub mod pg;

// --- Approvals -------------------------------------------------------------------------------

/// The policy of the approvals tests: production reboots need on-call and the host's owner,
/// staging reboots need on-call and happen only in the change window (10:00–11:00 UTC),
/// development reboots are allowed, wipes need on-call and are never allowed on production.
pub const APPROVALS_POLICY: &str = r#"
entity Host { tier: String, owner: String }
context { agent: String }
action reboot { host: Host, note: String }
action wipe { host: Host }

window changes {
  timezone "UTC"
  daily 10:00 - 11:00
}

rule production_needs_oncall {
  on reboot
  when host.tier == "prod"
  require approval from "oncall"
  because "{host} is production: {note}"
}

rule owner_agrees {
  on reboot
  when host.tier == "prod"
  require approval from host.owner
  because "{host} belongs to {host.owner}"
}

rule staging_needs_oncall {
  on reboot
  when host.tier == "staging"
  require approval from "oncall"
  because "{host} is staging"
}

rule staging_only_in_the_window {
  on reboot
  when host.tier == "staging" and not (now in changes)
  deny
  because "staging reboots wait for the change window"
}

rule development_is_fine {
  on reboot
  when host.tier == "dev"
  allow
  because "{host} is a development host"
}

rule wipes_need_oncall {
  on wipe
  require approval from "oncall"
  because "wipes need on-call"
}

rule never_wipe_production {
  on wipe
  when host.tier == "prod"
  deny
  because "{host}: never wipe production"
}
"#;

/// The same, with one more approval rule on production reboots (for "not covered").
pub fn approvals_policy_with_security_review() -> String {
    format!(
        "{APPROVALS_POLICY}\nrule security_reviews_production {{\n  on reboot\n  when host.tier == \"prod\"\n  require approval from \"security\"\n  because \"production reboots are reviewed\"\n}}\n"
    )
}

pub const APPROVALS_ENTITIES: &str = r#"{"entities": {"Host": {
  "web-1": {"tier": "dev", "owner": "nobody"},
  "db-1": {"tier": "prod", "owner": "olga"},
  "db-2": {"tier": "prod", "owner": "lead"},
  "stage-1": {"tier": "staging", "owner": "olga"}
}}}"#;

/// Where approvals are kept in a test.
#[derive(Clone, Debug)]
pub enum Backend {
    Sqlite,
    Postgres(String),
}

impl Backend {
    /// A fresh PostgreSQL database, or `None` (the test skips, saying why).
    pub fn postgres() -> Option<Backend> {
        pg::fresh_database().map(Backend::Postgres)
    }

    pub fn configure(&self, config: &mut Config) {
        config.approvals = match self {
            Backend::Sqlite => ward_server::ApprovalsBackend::Sqlite,
            Backend::Postgres(url) => ward_server::ApprovalsBackend::Postgres(url.clone()),
        };
    }
}

/// The principals of the approvals tests and their tokens.
pub const TEAM: &[(&str, &[ward_server::auth::Role], &[&str])] = {
    use ward_server::auth::Role::*;
    &[
        ("remediation-bot", &[Agent], &[]),
        ("other-bot", &[Agent], &[]),
        ("carol", &[Approver], &["oncall"]),
        ("erin", &[Approver], &["oncall"]),
        ("dave", &[Approver], &["sre-leads"]),
        ("olga", &[Approver], &[]),
        ("lead", &[Approver], &["oncall"]),
        ("sam", &[Approver], &["security"]),
        ("root", &[Admin], &[]),
        // An approver whose name is the agent of the requests (`context.agent`).
        ("patchbot", &[Approver], &["oncall"]),
        // An agent that is also an on-call approver.
        ("selfish-bot", &[Agent, Approver], &["oncall"]),
    ]
};

/// A running server with approvals, and a token per name of [`TEAM`].
pub struct Approvals {
    pub fx: Fixture,
    pub tokens: std::collections::HashMap<&'static str, String>,
}

impl Approvals {
    pub fn client(&self, name: &str) -> Client {
        self.fx.client_with(&self.tokens[name])
    }
}

pub fn start_approvals(backend: &Backend, configure: impl FnOnce(&mut Config, &Path)) -> Approvals {
    let mut tokens = std::collections::HashMap::new();
    let fx = start(|config, dir| {
        std::fs::write(dir.join("policy").join("main.ward"), APPROVALS_POLICY).unwrap();
        std::fs::write(dir.join("entities.json"), APPROVALS_ENTITIES).unwrap();
        let (path, list) = tokens_file(dir, TEAM);
        for ((name, _, _), token) in TEAM.iter().zip(list) {
            tokens.insert(*name, token);
        }
        config.tokens = Some(path);
        backend.configure(config);
        configure(config, dir);
    });
    Approvals { fx, tokens }
}

/// A production reboot of `db-1` asked by `patchbot`.
pub fn prod_reboot(note: &str) -> Json {
    json!({"action": "reboot", "args": {"host": "db-1", "note": note}, "context": {"agent": "patchbot"}})
}

pub fn get(client: &mut Client, path: &str) -> (u16, Json) {
    let r = client.get(path).unwrap();
    (r.status, r.json().unwrap())
}

pub fn act(client: &mut Client, id: &str, verb: &str, comment: &str) -> (u16, Json) {
    let r = post(
        client,
        &format!("/v1/approvals/{id}/{verb}"),
        &json!({"comment": comment}),
    );
    (r.status, r.json().unwrap())
}

/// `with` + `"approval": id`.
pub fn resume(request: &Json, id: &str) -> Json {
    let mut body = request.clone();
    body["approval"] = json!(id);
    body
}

/// The approval lines of the log, for one approval.
pub fn approval_lines(fx: &Fixture, id: &str) -> Vec<Json> {
    fx.log_lines()
        .into_iter()
        .filter(|l| l["kind"] == "approval" && l["id"] == id)
        .collect()
}

/// Runs `$name(backend)` once with SQLite and once with PostgreSQL (skipped, saying why,
/// when PostgreSQL is missing and not required).
#[macro_export]
macro_rules! on_both_stores {
    ($($name:ident),* $(,)?) => {
        mod sqlite {
            $( #[test] fn $name() { super::$name(&super::Backend::Sqlite) } )*
        }
        mod postgres {
            $( #[test] fn $name() {
                if let Some(backend) = super::Backend::postgres() {
                    super::$name(&backend)
                }
            } )*
        }
    };
}
