//! Reading the log back, line by line, with simple filters on the fields the service writes
//! (`kind`, `request.action`, `decision.decision`, `time`). Reading does not verify: use
//! [`crate::verify`] for that.

use std::path::{Path, PathBuf};

use serde_json::Value as Json;

use crate::LogError;
use crate::line::Kind;
use crate::writer::{log_files, strip_padding};

/// Which lines to read. Every condition given must hold.
#[derive(Clone, Debug, Default)]
pub struct Filter {
    pub kind: Option<Kind>,
    /// The requested action (`request.action`).
    pub action: Option<String>,
    /// The outcome (`decision.decision`: `allow`, `deny`, `require_approval`).
    pub decision: Option<String>,
    /// Lines whose `time` is at or after this instant (milliseconds since the Unix epoch).
    pub since_ms: Option<i64>,
}

impl Filter {
    /// Whether `line` passes the filter.
    pub fn matches(&self, line: &Json) -> bool {
        if let Some(kind) = self.kind
            && line.get("kind").and_then(Json::as_str) != Some(kind.as_str())
        {
            return false;
        }
        if let Some(action) = &self.action
            && line.pointer("/request/action").and_then(Json::as_str) != Some(action.as_str())
        {
            return false;
        }
        if let Some(decision) = &self.decision
            && line.pointer("/decision/decision").and_then(Json::as_str) != Some(decision.as_str())
        {
            return false;
        }
        if let Some(since) = self.since_ms {
            let time = line
                .get("time")
                .and_then(Json::as_str)
                .and_then(|t| t.parse::<jiff::Timestamp>().ok());
            if time.is_none_or(|t| t.as_millisecond() < since) {
                return false;
            }
        }
        true
    }
}

/// One line read from the log.
#[derive(Clone, Debug)]
pub struct Entry {
    pub file: PathBuf,
    /// 1-based line number in `file`.
    pub line: u64,
    /// The line as written (without its newline).
    pub text: String,
    pub value: Json,
}

/// The lines of the log in `dir` that pass `filter`, in order. A line that is not JSON is an
/// error naming it.
pub fn read(dir: &Path, filter: &Filter) -> Result<Vec<Entry>, LogError> {
    let mut out = Vec::new();
    for path in log_files(dir)? {
        let bytes = std::fs::read(&path).map_err(|e| LogError::io("read", &path, &e))?;
        let content = strip_padding(&bytes);
        // A torn last line (no newline) is not part of the log.
        let complete = content
            .iter()
            .rposition(|&b| b == b'\n')
            .map_or(0, |i| i + 1);
        let lines = content.get(..complete).unwrap_or_default();
        let lines = lines.strip_suffix(b"\n").unwrap_or(lines);
        if lines.is_empty() {
            continue;
        }
        for (n, text) in lines.split(|&b| b == b'\n').enumerate() {
            let line = n as u64 + 1;
            let text = String::from_utf8_lossy(text).into_owned();
            let value: Json = serde_json::from_str(&text).map_err(|e| LogError::Corrupt {
                path: path.clone(),
                line,
                why: format!("it is not JSON ({e})"),
            })?;
            if filter.matches(&value) {
                out.push(Entry {
                    file: path.clone(),
                    line,
                    text,
                    value,
                });
            }
        }
    }
    Ok(out)
}
