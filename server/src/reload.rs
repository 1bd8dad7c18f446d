//! Reloading: read the policy set and the estate again, build a new version beside the
//! serving one, and swap it in atomically, or keep the old one and say why.
//!
//! Every trigger (file watching, `SIGHUP`, `POST /v1/reload`) ends here, one reload at a time.
//! A reload whose files hash the same as the serving version changes nothing. A failed reload
//! is recorded in the status, the metrics and the decision log; the serving version stays.
//! This module knows nothing of HTTP.

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::Ordering;

use serde::Serialize;
use ward_log::{Kind, Record};

use crate::policy::{self, LoadFailure, Version};
use crate::state::AppState;

/// What started a reload.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Trigger {
    /// The first load, when the server starts.
    Start,
    /// A watched file changed.
    Watch,
    /// `SIGHUP`.
    Signal,
    /// `POST /v1/reload`.
    Api,
}

/// The outcome of one reload, as `/v1/status`, `POST /v1/reload` and the log show it.
#[derive(Clone, Debug, Serialize)]
pub struct ReloadReport {
    pub id: String,
    pub at: String,
    pub trigger: Trigger,
    /// Who asked (`POST /v1/reload`), if anyone.
    pub by: Option<String>,
    pub ok: bool,
    /// Whether a new version is serving now.
    pub changed: bool,
    /// The version serving after the reload.
    pub policy: String,
    pub estate: String,
    /// The version that was tried, when it could be read (also for a failed build).
    pub tried: Option<Tried>,
    pub error: Option<ReloadError>,
    /// The shadow policy's reload, when there is one.
    pub shadow: Option<ShadowReload>,
}

/// The content hashes of what a reload read.
#[derive(Clone, Debug, Serialize)]
pub struct Tried {
    pub policy: String,
    pub estate: String,
}

/// Why a reload failed.
#[derive(Clone, Debug, Serialize)]
pub struct ReloadError {
    /// `policy` or `estate`.
    pub part: &'static str,
    /// The diagnostics or the validation errors, as plain text.
    pub message: String,
}

/// The shadow policy's side of a reload.
#[derive(Clone, Debug, Serialize)]
pub struct ShadowReload {
    pub ok: bool,
    pub changed: bool,
    pub policy: String,
    pub estate: String,
    pub error: Option<ReloadError>,
}

enum Step {
    Unchanged,
    Swapped,
    Failed(LoadFailure),
}

fn error_of(failure: &LoadFailure) -> ReloadError {
    ReloadError {
        part: failure.part(),
        message: failure.render_plain(),
    }
}

/// Reads `policy` and `entities`; builds and swaps a new version into `slot` when their
/// hashes differ from the serving one's.
async fn step(state: &Arc<AppState>, which: Which, policy_path: PathBuf) -> (Step, Option<Tried>) {
    let Some(slot) = which.slot(state) else {
        return (Step::Unchanged, None);
    };
    let entities = state.config.entities.clone();
    let kind = state.config.engine;
    let now = state.clock.now_ms();
    let current = slot.load_full();
    let read = {
        let (p, e) = (policy_path.clone(), entities.clone());
        tokio::task::spawn_blocking(move || policy::read_sources(&p, &e)).await
    };
    let sources = match read {
        Ok(Ok(sources)) => sources,
        Ok(Err(failure)) => return (Step::Failed(failure), None),
        Err(e) => {
            let failure = LoadFailure::Engine {
                message: format!("the reload task failed: {e}"),
            };
            return (Step::Failed(failure), None);
        }
    };
    let tried = Tried {
        policy: sources.policy.clone(),
        estate: sources.estate.clone(),
    };
    if sources.policy == current.policy && sources.estate == current.estate {
        return (Step::Unchanged, Some(tried));
    }
    let built = tokio::task::spawn_blocking(move || policy::build(sources, kind, now)).await;
    match built {
        Ok(Ok(version)) => {
            let version = Arc::new(version);
            slot.swap(Arc::clone(&version)).retire();
            policy::precompute_in_background(version, which.name());
            (Step::Swapped, Some(tried))
        }
        Ok(Err(failure)) => (Step::Failed(failure), Some(tried)),
        Err(e) => (
            Step::Failed(LoadFailure::Engine {
                message: format!("the reload task failed: {e}"),
            }),
            Some(tried),
        ),
    }
}

/// The served version of a server's state, or its shadow's.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Which {
    Served,
    Shadow,
}

impl Which {
    fn slot(self, state: &AppState) -> Option<&arc_swap::ArcSwap<Version>> {
        match self {
            Which::Served => Some(&state.current),
            Which::Shadow => state.shadow.as_ref(),
        }
    }

    /// How log lines name the version.
    fn name(self) -> &'static str {
        match self {
            Which::Served => "served",
            Which::Shadow => "shadow",
        }
    }
}

/// Precomputes the per-entity values of `which` version as it is now
/// (`policy::precompute_in_background`), on a thread of its own that stops once that version is
/// retired: at start-up (a reload hands its new version to the thread itself).
pub fn precompute(state: &AppState, which: Which) {
    if let Some(slot) = which.slot(state) {
        policy::precompute_in_background(slot.load_full(), which.name());
    }
}

/// Reloads the policy (and the shadow policy) with the estate. `quiet`: when nothing changed,
/// record nothing (file events that did not change the content).
pub async fn reload(
    state: &Arc<AppState>,
    trigger: Trigger,
    by: Option<String>,
    quiet: bool,
) -> ReloadReport {
    let _one_at_a_time = state.reload_lock.lock().await;
    let (main, tried) = step(state, Which::Served, state.config.policy.clone()).await;
    let shadow = match (&state.shadow, &state.config.shadow) {
        (Some(slot), Some(path)) => {
            let (result, _) = step(state, Which::Shadow, path.clone()).await;
            let serving = slot.load_full();
            Some(match result {
                Step::Failed(failure) => ShadowReload {
                    ok: false,
                    changed: false,
                    policy: serving.policy.clone(),
                    estate: serving.estate.clone(),
                    error: Some(error_of(&failure)),
                },
                other => ShadowReload {
                    ok: true,
                    changed: matches!(other, Step::Swapped),
                    policy: serving.policy.clone(),
                    estate: serving.estate.clone(),
                    error: None,
                },
            })
        }
        _ => None,
    };
    let serving = state.current.load_full();
    let now = state.clock.now_ms();
    let (ok, changed, error) = match &main {
        Step::Unchanged => (true, false, None),
        Step::Swapped => (true, true, None),
        Step::Failed(failure) => (false, false, Some(error_of(failure))),
    };
    let shadow_changed = shadow.as_ref().is_some_and(|s| s.changed);
    let shadow_failed = shadow.as_ref().is_some_and(|s| !s.ok);
    let report = ReloadReport {
        id: state.ids.next("rld", now),
        at: crate::decide::format_time_ms(now),
        trigger,
        by,
        ok,
        changed,
        policy: serving.policy.clone(),
        estate: serving.estate.clone(),
        tried,
        error,
        shadow,
    };
    if quiet && ok && !changed && !shadow_changed && !shadow_failed {
        return report;
    }
    let metrics = &state.metrics;
    if report.ok {
        metrics.reloads_ok.fetch_add(1, Ordering::Relaxed);
        metrics.reload_failing.store(0, Ordering::Relaxed);
        if report.changed {
            metrics.last_reload_success_ms.store(
                u64::try_from(serving.loaded_at_ms).unwrap_or(0),
                Ordering::Relaxed,
            );
        }
    } else {
        metrics.reloads_failed.fetch_add(1, Ordering::Relaxed);
        metrics.reload_failing.store(1, Ordering::Relaxed);
    }
    state.reload_history(|h| {
        h.last = Some(report.clone());
        if report.ok {
            h.ok += 1;
            h.last_error = None;
        } else {
            h.failed += 1;
            h.last_error = Some(report.clone());
        }
    });
    match report_record(&report, now) {
        Ok(record) => {
            let written = state.append(record).await;
            if !matches!(written, Ok(Ok(_))) {
                state.metrics.log_failures.fetch_add(1, Ordering::Relaxed);
            }
        }
        Err(_) => {
            state.metrics.log_failures.fetch_add(1, Ordering::Relaxed);
        }
    }
    if report.ok {
        tracing::info!(id = %report.id, trigger = ?trigger, changed = report.changed, policy = %report.policy, "reloaded");
    } else {
        tracing::warn!(id = %report.id, trigger = ?trigger, "reload failed; the previous version keeps serving");
    }
    report
}

/// The log line of a reload.
pub fn report_record(report: &ReloadReport, now_ms: i64) -> Result<Record, ward_log::LogError> {
    Record::new(Kind::Reload, report.id.clone(), now_ms)
        .field("trigger", &report.trigger)?
        .field("principal", &report.by)?
        .field("ok", &report.ok)?
        .field("changed", &report.changed)?
        .field("policy", &report.policy)?
        .field("estate", &report.estate)?
        .field("tried", &report.tried)?
        .field("error", &report.error)?
        .field("shadow", &report.shadow)
}

/// Watches the policy folder (or file), the entities file and the shadow policy, and reloads
/// after each burst of changes. Returns the watcher, which stops watching when dropped.
pub fn watch(state: &Arc<AppState>) -> Result<notify::RecommendedWatcher, String> {
    use notify::{RecursiveMode, Watcher};

    let config = &state.config;
    let mut targets: Vec<(PathBuf, RecursiveMode)> = Vec::new();
    let mut watch_path = |path: &Path| {
        if path.is_dir() {
            targets.push((path.to_owned(), RecursiveMode::Recursive));
        } else {
            let parent = path
                .parent()
                .filter(|p| !p.as_os_str().is_empty())
                .unwrap_or(Path::new("."));
            targets.push((parent.to_owned(), RecursiveMode::NonRecursive));
        }
    };
    watch_path(&config.policy);
    watch_path(&config.entities);
    if let Some(shadow) = &config.shadow {
        watch_path(shadow);
    }
    let relevant = Relevant::new(config);
    let (tx, mut rx) = tokio::sync::mpsc::unbounded_channel::<()>();
    let mut watcher = notify::recommended_watcher(move |event: notify::Result<notify::Event>| {
        let Ok(event) = event else {
            // An error of the watcher itself: reload to be safe (a no-op if nothing changed).
            let _ = tx.send(());
            return;
        };
        if matches!(event.kind, notify::EventKind::Access(_)) {
            return;
        }
        if event.paths.iter().any(|p| relevant.matches(p)) {
            let _ = tx.send(());
        }
    })
    .map_err(|e| format!("cannot watch the policy files: {e}"))?;
    for (path, mode) in targets {
        watcher
            .watch(&path, mode)
            .map_err(|e| format!("cannot watch `{}`: {e}", path.display()))?;
    }
    let debounce = config.watch_debounce;
    let state = Arc::clone(state);
    tokio::spawn(async move {
        while rx.recv().await.is_some() {
            // Wait until the files have been quiet for a moment, then reload once.
            loop {
                tokio::time::sleep(debounce).await;
                let mut more = false;
                while rx.try_recv().is_ok() {
                    more = true;
                }
                if !more {
                    break;
                }
            }
            reload(&state, Trigger::Watch, None, true).await;
        }
    });
    Ok(watcher)
}

/// Which changed paths matter.
struct Relevant {
    dirs: Vec<PathBuf>,
    files: Vec<PathBuf>,
}

impl Relevant {
    fn new(config: &crate::config::Config) -> Relevant {
        let mut dirs = Vec::new();
        let mut files = vec![absolute(&config.entities)];
        for policy in std::iter::once(&config.policy).chain(config.shadow.as_ref()) {
            if policy.is_dir() {
                dirs.push(absolute(policy));
            } else {
                files.push(absolute(policy));
            }
        }
        Relevant { dirs, files }
    }

    fn matches(&self, path: &Path) -> bool {
        let path = absolute(path);
        self.files.contains(&path)
            || (path.extension().is_some_and(|x| x == "ward")
                && self.dirs.iter().any(|d| path.starts_with(d)))
    }
}

fn absolute(path: &Path) -> PathBuf {
    std::path::absolute(path).unwrap_or_else(|_| path.to_owned())
}
