//! The state every handler shares: the serving versions behind atomic swaps, the tokens, the
//! log, the clock, the id issuer, the metrics, what the last reload said and the approvals.
//!
//! A handler takes one `Arc<Version>` when it starts deciding and uses only that, so a reload
//! that swaps in a new version never mixes two versions in one decision.

use std::sync::atomic::AtomicBool;
use std::sync::{Arc, Mutex};

use arc_swap::ArcSwap;
use ward_log::{Appended, Log, LogError, Record, TornTail};

use crate::auth::Tokens;
use crate::clock::Clock;
use crate::config::Config;
use crate::ids::Ids;
use crate::metrics::Metrics;
use crate::policy::Version;
use crate::reload::ReloadReport;
use crate::workflow::Approvals;

/// Shared by every request.
#[derive(Debug)]
pub struct AppState {
    pub config: Config,
    pub tokens: Option<Tokens>,
    pub current: ArcSwap<Version>,
    pub shadow: Option<ArcSwap<Version>>,
    pub log: Log,
    pub clock: Arc<dyn Clock>,
    pub ids: Ids,
    pub metrics: Metrics,
    pub reloads: Mutex<ReloadHistory>,
    /// One reload at a time.
    pub reload_lock: tokio::sync::Mutex<()>,
    pub started_ms: i64,
    /// A torn last line the log moved aside at start-up.
    pub torn_at_start: Option<TornTail>,
    /// Set when `SIGTERM` (or `Server::shutdown`) starts draining: `/ready` says no.
    pub draining: AtomicBool,
    /// Approvals; `None` without a tokens file (nobody could act on them).
    pub approvals: Option<Approvals>,
}

/// The last reload and the counts, for `/v1/status`.
#[derive(Debug, Default)]
pub struct ReloadHistory {
    pub last: Option<ReloadReport>,
    /// The last reload that failed, while the version it tried to replace is still serving.
    pub last_error: Option<ReloadReport>,
    pub ok: u64,
    pub failed: u64,
}

impl AppState {
    /// Queues a log line; the receiver says when it is durable.
    pub fn append(
        &self,
        record: Record,
    ) -> tokio::sync::oneshot::Receiver<Result<Appended, LogError>> {
        let (tx, rx) = tokio::sync::oneshot::channel();
        self.log.append(record, move |result| {
            let _ = tx.send(result);
        });
        rx
    }

    pub fn reload_history<R>(&self, f: impl FnOnce(&mut ReloadHistory) -> R) -> R {
        match self.reloads.lock() {
            Ok(mut h) => f(&mut h),
            Err(poisoned) => f(&mut poisoned.into_inner()),
        }
    }
}
