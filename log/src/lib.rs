//! `ward-log`: the decision log — an append-only, hash-chained file of JSON lines that says
//! what was decided, when, for whom and by which policy.
//!
//! One [`Record`] becomes one line of `DIR/<first seq>.jsonl`:
//!
//! ```text
//! {"seq":7,"kind":"decision","id":"dec_…","time":"2026-12-01T10:00:00.123Z",…,"prev":"sha256:…","hash":"sha256:…"}
//! ```
//!
//! `seq` counts lines from 1 across files; `prev` is the `hash` of the line before (64 zeros
//! for the first); `hash` is the SHA-256 of the line's own bytes up to `,"hash"`. Changing,
//! removing or reordering a line therefore breaks the chain at that line, and [`verify`] names
//! it. [`Log`] appends from writer threads that take turns at the file: lines that arrive
//! while one syncs are written and synced together by the next (group commit, the syncs
//! overlapping), and each caller is told only once its line, and every line before it, is
//! durable. Files rotate by size; a torn last line found when the log is opened (a crash in the
//! middle of a write) is moved aside and reported, never dropped or joined to the next line.
//!
//! This crate knows files, JSON and hashes. It knows nothing of HTTP, policies or approvals:
//! what a line says beyond its envelope is the caller's.

pub mod clock;
pub mod hash;
pub mod ids;
mod line;
mod read;
mod verify;
mod writer;

pub use line::{GENESIS, Kind, Record};
pub use read::{Entry, Filter, read};
pub use verify::{Problem, ProblemKind, VerifyReport, verify};
pub use writer::{
    Appended, Durability, Head, Log, LogConfig, LogStats, Opened, SYNC_BUCKETS_MS, TornTail,
};

use std::path::PathBuf;

/// What can go wrong with a log.
#[derive(Debug, Clone, thiserror::Error)]
pub enum LogError {
    /// Reading or writing a file failed.
    #[error("cannot {action} `{}`: {message}", path.display())]
    Io {
        action: &'static str,
        path: PathBuf,
        message: String,
    },
    /// The last complete line of the log does not verify: the log was changed, and appending
    /// to it would hide that.
    #[error(
        "the last line of `{}` (line {line}) does not verify: {why}; run `ward log verify` on the state directory",
        path.display()
    )]
    Corrupt {
        path: PathBuf,
        line: u64,
        why: String,
    },
    /// A record uses a key the envelope owns (`seq`, `kind`, `id`, `time`, `prev`, `hash`).
    #[error("a log record cannot set `{0}`: the log writes it")]
    ReservedKey(String),
    /// A field could not be serialized as JSON.
    #[error("a log record field `{key}` cannot be written as JSON: {message}")]
    Serialize { key: String, message: String },
    /// An earlier write or sync failed; the log accepts nothing more (a line whose sync failed
    /// may or may not be on disk, so carrying on could acknowledge lines that are lost).
    #[error("the decision log failed earlier and accepts no more lines: {0}")]
    Failed(String),
    /// The log was closed.
    #[error("the decision log is closed")]
    Closed,
}

impl LogError {
    pub(crate) fn io(action: &'static str, path: impl Into<PathBuf>, err: &std::io::Error) -> Self {
        LogError::Io {
            action,
            path: path.into(),
            message: err.to_string(),
        }
    }
}
