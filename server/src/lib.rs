//! `ward-server`: `ward serve`, the decision service agents call over HTTP.
//!
//! [`Server::start`] loads the policy set and the estate (failing with the diagnostics when
//! they do not load), opens the decision log in `STATE/log`, binds the listener and serves on
//! its own tokio runtime: `POST /v1/decide` and `/v1/decide/batch`, `POST /v1/reload`,
//! `/v1/status`, `/health`, `/ready`, `/metrics` and `/v1/openapi.json` (docs/server.md). Every
//! decision is answered only after its log line is durable. Reloads (file watching, `SIGHUP`,
//! the API) build a new version beside the serving one and swap it in atomically; a failed
//! one keeps the old version. [`Server::run_until_signal`] is what the CLI runs: `SIGHUP`
//! reloads, `SIGTERM`/`SIGINT` drain and return.
//!
//! With a tokens file it also keeps approvals (docs/approvals.md): [`approvals`] holds their
//! rules and the store interface, with SQLite in `STATE/approvals.sqlite3` and PostgreSQL
//! for several replicas; [`workflow`] runs them on the server (create, resume, approve,
//! reject, expire, each logged), [`webhook`] posts new ones to `--notify`, [`ui`] serves the
//! approver inbox at `/ui/`, and `POST /v1/plan` schedules requests ([`plan`]).
//!
//! It knows HTTP, tokens, the log and the runtime's decisions. It does not know the CLI's
//! rendering (the CLI renders a [`policy::LoadFailure`] itself), the language server, or how
//! the runtime evaluates.

pub mod approvals;
pub mod auth;
pub mod client;
pub mod clock;
pub mod config;
pub mod decide;
pub mod http;
pub use ward_log::ids;
pub mod metrics;
pub mod plan;
pub mod policy;
pub mod reload;
pub mod routes;
pub mod state;
pub mod ui;
pub mod webhook;
pub mod workflow;

use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::Ordering;

use arc_swap::ArcSwap;
use tokio::sync::watch;

pub use clock::{Clock, ManualClock, SystemClock};
pub use config::{ApprovalsBackend, Config, Durability, Limits, LogOptions};
pub use reload::{ReloadReport, Trigger};
pub use ward_log::{LogStats, SYNC_BUCKETS_MS};

use crate::auth::Tokens;
use crate::policy::LoadFailure;
use crate::state::{AppState, ReloadHistory};

/// Why the server did not start.
#[derive(Debug, thiserror::Error)]
pub enum StartError {
    #[error("{0}")]
    Tokens(String),
    /// Without tokens the server only listens on loopback.
    #[error(
        "without `--tokens` the server only listens on a loopback address, not `{0}`: give `--tokens FILE` (create tokens with `ward token new`) or listen on `127.0.0.1`"
    )]
    NotLoopback(SocketAddr),
    #[error("cannot listen on `{addr}`: {message}")]
    Listen { addr: SocketAddr, message: String },
    /// The policy set or the estate does not load.
    #[error("{}", .0.render_plain())]
    Policy(LoadFailure),
    /// The shadow policy set does not load (with the estate).
    #[error("the shadow policy does not load:\n{}", .0.render_plain())]
    Shadow(LoadFailure),
    #[error("{0}")]
    Log(#[from] ward_log::LogError),
    #[error("{0}")]
    Runtime(String),
    /// The approvals store cannot be opened, or `--approvals` was given without tokens.
    #[error("{0}")]
    Approvals(String),
}

/// A running server. Dropping it without [`Server::shutdown`] stops it abruptly.
#[derive(Debug)]
pub struct Server {
    addr: SocketAddr,
    state: Arc<AppState>,
    runtime: Option<tokio::runtime::Runtime>,
    shutdown: watch::Sender<bool>,
    serving: Option<tokio::task::JoinHandle<()>>,
    _watcher: Option<notify::RecommendedWatcher>,
}

impl Server {
    /// Starts a server on the system clock.
    pub fn start(config: Config) -> Result<Server, StartError> {
        Server::start_with_clock(config, Arc::new(SystemClock))
    }

    /// Starts a server on `clock` (tests set the time instead of sleeping).
    pub fn start_with_clock(config: Config, clock: Arc<dyn Clock>) -> Result<Server, StartError> {
        let tokens = match &config.tokens {
            Some(path) => Some(Tokens::load(path).map_err(StartError::Tokens)?),
            None => None,
        };
        if tokens.is_none() && !config.listen.ip().is_loopback() {
            return Err(StartError::NotLoopback(config.listen));
        }
        let now = clock.now_ms();
        let version = policy::load(&config.policy, &config.entities, config.engine, now)
            .map_err(StartError::Policy)?;
        let shadow = match &config.shadow {
            Some(path) => Some(
                policy::load(path, &config.entities, config.engine, now)
                    .map_err(StartError::Shadow)?,
            ),
            None => None,
        };
        let opened = ward_log::Log::open(ward_log::LogConfig {
            dir: config.log_dir(),
            max_file_bytes: config.log.max_file_bytes,
            durability: config.log.durability,
        })?;
        if let Some(torn) = &opened.torn {
            tracing::warn!(
                file = %torn.file.display(), offset = torn.offset, bytes = torn.bytes,
                moved_to = %torn.moved_to.display(),
                "the decision log ended in a torn line (a crash during a write); it was moved aside"
            );
        }
        let mut runtime = tokio::runtime::Builder::new_multi_thread();
        runtime.enable_all().thread_name("ward-serve");
        if let Some(n) = config.worker_threads {
            runtime.worker_threads(n.max(1));
        }
        let runtime = runtime
            .build()
            .map_err(|e| StartError::Runtime(format!("cannot start the runtime: {e}")))?;
        let approvals = open_approvals(&config, &runtime)?;
        let metrics = metrics::Metrics::default();
        metrics
            .last_reload_success_ms
            .store(u64::try_from(now).unwrap_or(0), Ordering::Relaxed);
        let state = Arc::new(AppState {
            tokens,
            current: ArcSwap::from_pointee(version),
            shadow: shadow.map(ArcSwap::from_pointee),
            log: opened.log,
            clock,
            ids: ids::Ids::new(),
            metrics,
            reloads: std::sync::Mutex::new(ReloadHistory::default()),
            reload_lock: tokio::sync::Mutex::new(()),
            started_ms: now,
            torn_at_start: opened.torn,
            draining: std::sync::atomic::AtomicBool::new(false),
            approvals,
            config,
        });
        reload::precompute(&state, reload::Which::Served);
        reload::precompute(&state, reload::Which::Shadow);
        let listen = state.config.listen;
        let listener = runtime
            .block_on(tokio::net::TcpListener::bind(listen))
            .map_err(|e| StartError::Listen {
                addr: listen,
                message: e.to_string(),
            })?;
        let addr = listener.local_addr().map_err(|e| StartError::Listen {
            addr: listen,
            message: e.to_string(),
        })?;
        // The start-up load is the first line of this run in the log.
        let start_line = start_record(&state);
        state
            .log
            .append_blocking(start_line?)
            .map_err(StartError::Log)?;
        let watcher = if state.config.watch {
            let _guard = runtime.enter();
            Some(reload::watch(&state).map_err(StartError::Runtime)?)
        } else {
            None
        };
        // Approval events a crash left between the store and the log are logged now.
        runtime.block_on(workflow::recover(&state)).map_err(|e| {
            StartError::Approvals(format!(
                "cannot log the approval events of the last run: {e}"
            ))
        })?;
        let (shutdown, shutdown_rx) = watch::channel(false);
        if state.approvals.is_some() {
            runtime.spawn(sweep_expiries(Arc::clone(&state), shutdown_rx.clone()));
        }
        let app = routes::router(Arc::clone(&state));
        let serving = runtime.spawn(http::serve(listener, app, Arc::clone(&state), shutdown_rx));
        tracing::info!(%addr, policy = %state.current.load().policy, "serving");
        Ok(Server {
            addr,
            state,
            runtime: Some(runtime),
            shutdown,
            serving: Some(serving),
            _watcher: watcher,
        })
    }

    /// The address the server listens on (useful with port 0).
    pub fn local_addr(&self) -> SocketAddr {
        self.addr
    }

    /// The shared state (status, metrics, the serving version).
    pub fn state(&self) -> &Arc<AppState> {
        &self.state
    }

    /// Reloads now, as `SIGHUP` does, and says what happened.
    pub fn reload(&self) -> Option<ReloadReport> {
        let runtime = self.runtime.as_ref()?;
        Some(runtime.block_on(reload::reload(&self.state, Trigger::Signal, None, false)))
    }

    /// Stops accepting, finishes the requests in flight, flushes the log and stops.
    pub fn shutdown(mut self) {
        self.stop();
    }

    fn stop(&mut self) {
        self.state.draining.store(true, Ordering::SeqCst);
        // Their precomputing threads stop.
        self.state.current.load().retire();
        if let Some(shadow) = &self.state.shadow {
            shadow.load().retire();
        }
        let _ = self.shutdown.send(true);
        if let (Some(runtime), Some(serving)) = (self.runtime.as_ref(), self.serving.take()) {
            let _ = runtime.block_on(serving);
        }
        self.state.log.close();
        if let Some(runtime) = self.runtime.take() {
            runtime.shutdown_timeout(std::time::Duration::from_secs(1));
        }
    }

    /// Serves until `SIGTERM` or `SIGINT`, reloading on `SIGHUP`; then drains as
    /// [`Server::shutdown`] does.
    pub fn run_until_signal(mut self) -> Result<(), StartError> {
        let Some(runtime) = self.runtime.as_ref() else {
            return Ok(());
        };
        let state = Arc::clone(&self.state);
        runtime.block_on(async move {
            use tokio::signal::unix::{SignalKind, signal};
            let signal_error =
                |e: std::io::Error| StartError::Runtime(format!("cannot listen for signals: {e}"));
            let mut term = signal(SignalKind::terminate()).map_err(signal_error)?;
            let mut int = signal(SignalKind::interrupt()).map_err(signal_error)?;
            let mut hup = signal(SignalKind::hangup()).map_err(signal_error)?;
            loop {
                tokio::select! {
                    _ = term.recv() => break,
                    _ = int.recv() => break,
                    _ = hup.recv() => {
                        reload::reload(&state, Trigger::Signal, None, false).await;
                    }
                }
            }
            tracing::info!("draining");
            Ok::<(), StartError>(())
        })?;
        self.stop();
        Ok(())
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        if self.runtime.is_some() {
            self.stop();
        }
    }
}

/// The approvals store the configuration names, with this server's replica id; none
/// without tokens (nobody could act on an approval).
fn open_approvals(
    config: &Config,
    runtime: &tokio::runtime::Runtime,
) -> Result<Option<workflow::Approvals>, StartError> {
    if config.tokens.is_none() {
        if let ApprovalsBackend::Postgres(url) = &config.approvals {
            return Err(StartError::Approvals(format!(
                "`--approvals {}` needs `--tokens FILE`: without tokens nobody may act on approvals, so none are kept",
                approvals::postgres::redact(url)
            )));
        }
        return Ok(None);
    }
    let replica = replica_id(&config.state).map_err(StartError::Approvals)?;
    let store: Arc<dyn approvals::ApprovalStore> = match &config.approvals {
        ApprovalsBackend::Sqlite => Arc::new(
            approvals::sqlite::SqliteStore::open(&config.sqlite_path(), &replica)
                .map_err(|e| StartError::Approvals(e.to_string()))?,
        ),
        ApprovalsBackend::Postgres(url) => Arc::new(
            runtime
                .block_on(approvals::postgres::PostgresStore::connect(url, &replica))
                .map_err(|e| StartError::Approvals(e.to_string()))?,
        ),
    };
    let notifier = match &config.notify {
        Some(url) => Some(
            webhook::Notifier::new(url, config.notify_retry.clone(), runtime.handle().clone())
                .map_err(StartError::Approvals)?,
        ),
        None => None,
    };
    let ttl_ms = i64::try_from(config.approval_ttl.as_millis()).unwrap_or(i64::MAX);
    if ttl_ms <= 0 {
        return Err(StartError::Approvals(
            "`--approval-ttl` must be at least 1s".into(),
        ));
    }
    Ok(Some(workflow::Approvals {
        store,
        ttl_ms,
        replica,
        notifier,
    }))
}

/// This server's id, kept in `STATE/replica` (made at the first start): which replica's
/// store events and log lines these are.
fn replica_id(state: &std::path::Path) -> Result<String, String> {
    let path = state.join("replica");
    match std::fs::read_to_string(&path) {
        Ok(text) if !text.trim().is_empty() => return Ok(text.trim().to_owned()),
        // Empty (it is written beside and renamed, so only by hand): make a new one.
        Ok(_) => {}
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
        Err(e) => return Err(format!("cannot read `{}`: {e}", path.display())),
    }
    std::fs::create_dir_all(state)
        .map_err(|e| format!("cannot create `{}`: {e}", state.display()))?;
    let id = ids::Ids::new().next("rep", SystemClock.now_ms());
    let tmp = state.join("replica.tmp");
    std::fs::write(&tmp, format!("{id}\n"))
        .and_then(|()| std::fs::rename(&tmp, &path))
        .map_err(|e| format!("cannot write `{}`: {e}", path.display()))?;
    Ok(id)
}

/// Expires approvals whose time is up, every `--expiry-sweep`, until the server stops.
async fn sweep_expiries(state: Arc<AppState>, mut shutdown: watch::Receiver<bool>) {
    let every = state
        .config
        .expiry_sweep
        .max(std::time::Duration::from_millis(10));
    loop {
        tokio::select! {
            _ = tokio::time::sleep(every) => {
                if let Err(e) = workflow::sweep(&state).await {
                    tracing::warn!(error = %e, "expiring approvals failed; trying again");
                }
            }
            changed = shutdown.changed() => {
                if changed.is_err() || *shutdown.borrow() {
                    return;
                }
            }
        }
    }
}

fn start_record(state: &AppState) -> Result<ward_log::Record, StartError> {
    let version = state.current.load_full();
    let now = state.clock.now_ms();
    let id = state.ids.next("rld", now);
    let shadow = state.shadow.as_ref().map(|s| {
        let s = s.load_full();
        serde_json::json!({"ok": true, "changed": true, "policy": s.policy, "estate": s.estate, "error": null})
    });
    let torn = state.torn_at_start.as_ref().map(|t| {
        serde_json::json!({"file": t.file, "offset": t.offset, "bytes": t.bytes, "moved_to": t.moved_to})
    });
    let record = ward_log::Record::new(ward_log::Kind::Reload, id, now)
        .field("trigger", &Trigger::Start)?
        .field("principal", &None::<String>)?
        .field("ok", &true)?
        .field("changed", &true)?
        .field("policy", &version.policy)?
        .field("estate", &version.estate)?
        .field("files", &version.files)?
        .field("shadow", &shadow)?
        .field("torn_tail", &torn)?;
    Ok(record)
}
