//! How a server is started: what it serves, where it listens and keeps its state, and its
//! limits. Defaults are the ones `ward serve` documents (docs/server.md).

use std::net::SocketAddr;
use std::path::PathBuf;
use std::time::Duration;

pub use ward_log::Durability;

use crate::policy::EngineKind;

/// Everything `ward serve` is started with.
#[derive(Clone, Debug)]
pub struct Config {
    /// A `.ward` file or a folder of them.
    pub policy: PathBuf,
    /// The entities file (the estate).
    pub entities: PathBuf,
    pub listen: SocketAddr,
    /// Holds `log/` (the decision log), `approvals.sqlite3` and `replica` (this server's id).
    pub state: PathBuf,
    /// The tokens file; `None`: loopback only, everyone is `anonymous`.
    pub tokens: Option<PathBuf>,
    /// A second policy set decided beside the real one, logged, never answered.
    pub shadow: Option<PathBuf>,
    /// How far a request's `at` may be from the server's clock.
    pub max_skew: Duration,
    pub limits: Limits,
    pub log: LogOptions,
    /// Reload when a policy file or the entities file changes.
    pub watch: bool,
    /// How long file events must be quiet before a reload starts.
    pub watch_debounce: Duration,
    pub engine: EngineKind,
    /// Threads that serve requests (`None`: one per core).
    pub worker_threads: Option<usize>,
    /// Where approvals are kept (they exist only with a tokens file).
    pub approvals: ApprovalsBackend,
    /// How long an approval lives after it is created.
    pub approval_ttl: Duration,
    /// Every new pending approval is POSTed here.
    pub notify: Option<String>,
    pub notify_retry: crate::webhook::Retry,
    /// How often approvals whose time is up are expired (and logged) when nobody looks.
    pub expiry_sweep: Duration,
}

/// Where approvals are kept.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum ApprovalsBackend {
    /// `STATE/approvals.sqlite3` (the default).
    Sqlite,
    /// A PostgreSQL database shared by replicas (`postgres://…`).
    Postgres(String),
}

impl ApprovalsBackend {
    /// `sqlite` or a `postgres://` / `postgresql://` URL.
    pub fn parse(text: &str) -> Result<ApprovalsBackend, String> {
        if text == "sqlite" {
            Ok(ApprovalsBackend::Sqlite)
        } else if text.starts_with("postgres://") || text.starts_with("postgresql://") {
            Ok(ApprovalsBackend::Postgres(text.to_owned()))
        } else {
            Err(format!(
                "`{text}` is neither `sqlite` nor a `postgres://` URL (like `postgres://ward@db.internal/ward`)"
            ))
        }
    }
}

/// Limits that keep one caller from taking the server down.
#[derive(Clone, Debug)]
pub struct Limits {
    /// Larger request bodies are refused with `413`.
    pub max_body_bytes: usize,
    /// Reading the body, deciding and logging must finish within this, else `408`/`503`.
    pub request_timeout: Duration,
    /// A client must send a request's headers within this (also closes idle keep-alive
    /// connections).
    pub header_timeout: Duration,
    /// Connections beyond this are answered `503` and closed.
    pub max_connections: usize,
    /// Requests in one `/v1/decide/batch`.
    pub max_batch: usize,
    /// Requests in one `/v1/plan`.
    pub max_plan: usize,
    /// The longest horizon of `/v1/plan`, in seconds.
    pub max_plan_horizon: i64,
    /// How long `SIGTERM` waits for requests in flight.
    pub drain_timeout: Duration,
}

impl Default for Limits {
    fn default() -> Limits {
        Limits {
            max_body_bytes: 1 << 20,
            request_timeout: Duration::from_secs(10),
            header_timeout: Duration::from_secs(10),
            max_connections: 1024,
            max_batch: 1000,
            max_plan: 1000,
            max_plan_horizon: 31 * 86_400,
            drain_timeout: Duration::from_secs(30),
        }
    }
}

/// How the decision log is written.
#[derive(Clone, Debug)]
pub struct LogOptions {
    pub durability: Durability,
    pub max_file_bytes: u64,
}

impl Default for LogOptions {
    fn default() -> LogOptions {
        LogOptions {
            durability: Durability::Fsync,
            max_file_bytes: 64 << 20,
        }
    }
}

impl Config {
    /// The defaults of `ward serve POLICY --entities E.json`.
    pub fn new(policy: impl Into<PathBuf>, entities: impl Into<PathBuf>) -> Config {
        Config {
            policy: policy.into(),
            entities: entities.into(),
            listen: SocketAddr::from(([127, 0, 0, 1], 8181)),
            state: PathBuf::from("ward-state"),
            tokens: None,
            shadow: None,
            max_skew: Duration::from_secs(5),
            limits: Limits::default(),
            log: LogOptions::default(),
            watch: true,
            watch_debounce: Duration::from_millis(50),
            engine: EngineKind::Jit,
            worker_threads: None,
            approvals: ApprovalsBackend::Sqlite,
            approval_ttl: Duration::from_secs(24 * 3600),
            notify: None,
            notify_retry: crate::webhook::Retry::default(),
            expiry_sweep: Duration::from_secs(1),
        }
    }

    /// The folder of the decision log.
    pub fn log_dir(&self) -> PathBuf {
        self.state.join("log")
    }

    /// The embedded approvals database.
    pub fn sqlite_path(&self) -> PathBuf {
        self.state.join("approvals.sqlite3")
    }
}
