//! The one place where the service meets the compiler and the runtime: a policy set and an
//! estate read from disk (by `ward_embed::sources`, as `ward mcp-guard` reads them) into a
//! [`Version`] (an engine, the content hashes of what it was built from, when it was loaded).
//!
//! Everything else in the server sees only [`Version`], [`LoadFailure`] and the runtime's
//! `Engine`/`Decision` types through here, so moving to the lean embedding library is a change
//! to this module alone. It knows nothing of HTTP, tokens or the log.

use std::path::Path;

pub use ward_embed::Compiled;
pub use ward_ir::EffectKind;
pub use ward_runtime::decision::{Decision, DecisionError, Explanation, FiredRules, Names};
pub use ward_runtime::engine::{Engine, EngineKind};
pub use ward_runtime::plan::PlanOptions;
pub use ward_runtime::request::{MAX_ID_LEN, Request, readable_id};

pub use ward_embed::sources::{LoadFailure, Sources, read_sources};

/// A policy set and an estate, ready to decide.
#[derive(Debug)]
pub struct Version {
    pub engine: Engine,
    /// `sha256:` of the policy files (their paths relative to the policy root, and contents).
    pub policy: String,
    /// `sha256:` of the entities file's bytes.
    pub estate: String,
    /// When it was loaded (milliseconds since the Unix epoch).
    pub loaded_at_ms: i64,
    /// The policy files, relative to the policy root, in the order they were compiled.
    pub files: Vec<String>,
    pub rules: usize,
    /// Set once the version is no longer served (replaced by a reload, or the server stopped):
    /// its precomputing thread stops.
    retired: std::sync::atomic::AtomicBool,
}

impl Version {
    /// Marks the version as no longer served.
    pub fn retire(&self) {
        self.retired
            .store(true, std::sync::atomic::Ordering::Release);
    }

    fn retired(&self) -> bool {
        self.retired.load(std::sync::atomic::Ordering::Acquire)
    }
}

/// Checks and compiles the policy set, builds an engine of `kind` and loads the entities
/// (`ward_embed::sources::build`), as the version loaded at `now_ms`.
pub fn build(sources: Sources, kind: EngineKind, now_ms: i64) -> Result<Version, LoadFailure> {
    let built = ward_embed::sources::build(sources, kind)?;
    Ok(Version {
        engine: built.engine,
        policy: built.policy,
        estate: built.estate,
        loaded_at_ms: now_ms,
        files: built.files,
        rules: built.rules,
        retired: std::sync::atomic::AtomicBool::new(false),
    })
}

/// Precomputes `version`'s per-entity memos (`Engine::precompute`) on a thread of its own,
/// so that no request pays for computing one, until the version is retired
/// ([`Version::retire`]); decisions meanwhile are the same, only slower. Logged when done. A
/// thread that cannot be started is logged and skipped: decisions then compute the memos as
/// they need them.
pub fn precompute_in_background(version: std::sync::Arc<Version>, what: &'static str) {
    let started = std::thread::Builder::new()
        .name("ward-precompute".into())
        .spawn(move || {
            let done = version.engine.precompute_while(&|| !version.retired());
            if done.memos > 0 {
                tracing::info!(
                    policy = %version.policy, estate = %version.estate, memos = done.memos,
                    computed = done.computed, failed = done.failed, stopped = done.stopped,
                    ms = done.elapsed.as_millis() as u64,
                    "precomputed the {what} policy's per-entity values"
                );
            }
        });
    if let Err(e) = started {
        tracing::warn!("cannot start a thread to precompute per-entity values: {e}");
    }
}

/// [`read_sources`] and [`build`] in one.
pub fn load(
    policy: &Path,
    entities: &Path,
    kind: EngineKind,
    now_ms: i64,
) -> Result<Version, LoadFailure> {
    build(read_sources(policy, entities)?, kind, now_ms)
}

/// An explanation for a request that was rejected before deciding.
pub fn rejected_explanation() -> Explanation {
    Explanation {
        action: None,
        at: None,
        rules: Vec::new(),
        not_applicable: 0,
        default_applied: false,
    }
}

/// Parses an RFC 3339 timestamp as requests write it (seconds since the Unix epoch).
pub fn parse_timestamp(text: &str) -> Option<i64> {
    ward_runtime::time::parse_timestamp(text)
}

/// A timestamp as decisions write it (`2026-12-01T10:00:00Z`).
pub fn format_timestamp(secs: i64) -> String {
    ward_runtime::time::format_timestamp(secs)
}

/// A duration as the language writes it (`5s`, `1h30m`).
pub fn format_duration(secs: i64) -> String {
    ward_runtime::time::format_duration(secs)
}

/// Parses a duration literal (`5s`, `24h`, `1h30m`) into seconds.
pub fn parse_duration(text: &str) -> Option<i64> {
    ward_runtime::time::parse_duration(text)
}

/// Parses JSON strictly: a duplicate key anywhere is an error naming it.
pub fn parse_json(bytes: &[u8]) -> Result<serde_json::Value, String> {
    ward_runtime::json::parse_strict_bytes(bytes).map_err(|e| e.to_string())
}
