//! One line of the log: the record a caller hands in, the envelope the writer adds around it
//! (`seq`, `kind`, `id`, `time`, `prev`, `hash`), and the check that a line's hash matches its
//! bytes.
//!
//! This module knows the line format; it does not know files.

use std::fmt::Write as _;

use serde::Serialize;

use crate::LogError;

/// The `prev` of the first line of a log.
pub const GENESIS: &str = "sha256:0000000000000000000000000000000000000000000000000000000000000000";

/// Keys the envelope writes; a record's fields cannot use them.
const RESERVED: [&str; 6] = ["seq", "kind", "id", "time", "prev", "hash"];

/// What a line records.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Kind {
    /// A decision, including a request that was rejected before deciding.
    Decision,
    /// An approval action (created, approved, rejected, used, expired).
    Approval,
    /// A load or reload of the policy and the estate, successful or not.
    Reload,
}

impl Kind {
    /// `decision`, `approval` or `reload`, as the line writes it.
    pub fn as_str(self) -> &'static str {
        match self {
            Kind::Decision => "decision",
            Kind::Approval => "approval",
            Kind::Reload => "reload",
        }
    }

    /// Parses `decision`, `approval` or `reload`.
    pub fn parse(s: &str) -> Option<Kind> {
        match s {
            "decision" => Some(Kind::Decision),
            "approval" => Some(Kind::Approval),
            "reload" => Some(Kind::Reload),
            _ => None,
        }
    }
}

/// A record to append: its kind, the id of what it records, its time and its fields (in the
/// order given). Fields are serialized when they are added, on the caller's thread, so the
/// writer thread only frames and hashes.
///
/// ```
/// use ward_log::{Kind, Record};
/// let record = Record::new(Kind::Decision, "dec_01", 1_796_119_200_000)
///     .field("principal", "anonymous")?
///     .field("decision", &serde_json::json!({"decision": "deny"}))?;
/// assert_eq!(record.kind(), Kind::Decision);
/// # Ok::<(), ward_log::LogError>(())
/// ```
#[derive(Clone, Debug)]
pub struct Record {
    kind: Kind,
    id: String,
    time_ms: i64,
    /// `,"key":value` for each field, in order.
    fields: String,
}

impl Record {
    /// A record of `kind` about `id`, at `time_ms` (milliseconds since the Unix epoch).
    pub fn new(kind: Kind, id: impl Into<String>, time_ms: i64) -> Record {
        Record {
            kind,
            id: id.into(),
            time_ms,
            fields: String::new(),
        }
    }

    /// Adds a field. Keys of the envelope are refused.
    pub fn field<T: Serialize + ?Sized>(
        mut self,
        key: &str,
        value: &T,
    ) -> Result<Record, LogError> {
        if RESERVED.contains(&key) {
            return Err(LogError::ReservedKey(key.to_owned()));
        }
        let value = serde_json::to_string(value).map_err(|e| LogError::Serialize {
            key: key.to_owned(),
            message: e.to_string(),
        })?;
        self.fields.push(',');
        self.fields.push_str(&json_string(key));
        self.fields.push(':');
        self.fields.push_str(&value);
        Ok(self)
    }

    pub fn kind(&self) -> Kind {
        self.kind
    }

    pub fn id(&self) -> &str {
        &self.id
    }

    /// Appends the complete line (with its newline) for sequence number `seq` after a line
    /// whose hash is `prev`, and returns the line's hash (`sha256:…`).
    pub(crate) fn write_line(&self, seq: u64, prev: &str, out: &mut Vec<u8>) -> String {
        let start = out.len();
        let mut head = String::with_capacity(96 + self.id.len());
        let _ = write!(
            head,
            "{{\"seq\":{seq},\"kind\":\"{}\",\"id\":{},\"time\":\"{}\"",
            self.kind.as_str(),
            json_string(&self.id),
            format_time(self.time_ms)
        );
        out.extend_from_slice(head.as_bytes());
        out.extend_from_slice(self.fields.as_bytes());
        out.extend_from_slice(b",\"prev\":\"");
        out.extend_from_slice(prev.as_bytes());
        out.push(b'"');
        let hash = hash_of(out.get(start..).unwrap_or_default());
        out.extend_from_slice(b",\"hash\":\"");
        out.extend_from_slice(hash.as_bytes());
        out.extend_from_slice(b"\"}\n");
        hash
    }
}

/// `sha256:` and the hex SHA-256 of `bytes`.
pub(crate) fn hash_of(bytes: &[u8]) -> String {
    crate::hash::sha256(bytes)
}

/// The time as the log writes it: RFC 3339, UTC, milliseconds.
pub(crate) fn format_time(ms: i64) -> String {
    match jiff::Timestamp::from_millisecond(ms) {
        Ok(t) => format!("{t:.3}"),
        // Out of jiff's range (years beyond ±9999): the number itself, so nothing is lost.
        Err(_) => ms.to_string(),
    }
}

fn json_string(s: &str) -> String {
    serde_json::to_string(s).unwrap_or_else(|_| String::from("\"\""))
}

/// The parts of a line the chain is made of.
#[derive(Debug)]
pub(crate) struct Checked {
    pub(crate) seq: u64,
    pub(crate) prev: String,
    pub(crate) hash: String,
}

/// Why a line is not a valid log line.
#[derive(Debug)]
pub(crate) enum LineFault {
    /// Not a log line at all (no `hash` at the end, not JSON, missing `seq` or `prev`).
    Malformed(String),
    /// A well-formed line whose hash does not match its bytes.
    HashMismatch,
}

/// Checks one line (without its newline): framing, hash, and the envelope's `seq` and `prev`.
pub(crate) fn check_line(line: &[u8]) -> Result<Checked, LineFault> {
    const SUFFIX_START: &[u8] = b",\"hash\":\"sha256:";
    // `,"hash":"sha256:` + 64 hex digits + `"}`
    let suffix_len = SUFFIX_START.len() + 64 + 2;
    if line.len() < suffix_len || !line.ends_with(b"\"}") {
        return Err(LineFault::Malformed(
            "it does not end with its `hash`".into(),
        ));
    }
    let split = line.len() - suffix_len;
    let (body, suffix) = line.split_at(split);
    if !suffix.starts_with(SUFFIX_START) {
        return Err(LineFault::Malformed(
            "it does not end with its `hash`".into(),
        ));
    }
    let stated = std::str::from_utf8(suffix.get(9..suffix.len() - 2).unwrap_or_default())
        .map_err(|_| LineFault::Malformed("its `hash` is not text".into()))?;
    let value: serde_json::Value = serde_json::from_slice(line)
        .map_err(|e| LineFault::Malformed(format!("it is not JSON ({e})")))?;
    if hash_of(body) != stated {
        return Err(LineFault::HashMismatch);
    }
    let seq = value
        .get("seq")
        .and_then(serde_json::Value::as_u64)
        .ok_or_else(|| LineFault::Malformed("it has no `seq`".into()))?;
    let prev = value
        .get("prev")
        .and_then(serde_json::Value::as_str)
        .ok_or_else(|| LineFault::Malformed("it has no `prev`".into()))?
        .to_owned();
    Ok(Checked {
        seq,
        prev,
        hash: stated.to_owned(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_written_line_checks_and_chains() {
        let record = Record::new(Kind::Reload, "rld_1", 0)
            .field("ok", &true)
            .unwrap();
        let mut out = Vec::new();
        let hash = record.write_line(1, GENESIS, &mut out);
        let text = String::from_utf8(out.clone()).unwrap();
        assert!(text.starts_with(
            r#"{"seq":1,"kind":"reload","id":"rld_1","time":"1970-01-01T00:00:00.000Z","ok":true,"prev":"sha256:000"#
        ));
        assert!(text.ends_with("\"}\n"));
        let checked = check_line(&out[..out.len() - 1]).unwrap();
        assert_eq!(checked.seq, 1);
        assert_eq!(checked.prev, GENESIS);
        assert_eq!(checked.hash, hash);
    }

    #[test]
    fn an_edited_line_fails_its_hash() {
        let record = Record::new(Kind::Decision, "dec_1", 0)
            .field("decision", "deny")
            .unwrap();
        let mut out = Vec::new();
        record.write_line(1, GENESIS, &mut out);
        let text = String::from_utf8(out).unwrap().replace("deny", "allo");
        assert!(matches!(
            check_line(text.trim_end().as_bytes()),
            Err(LineFault::HashMismatch)
        ));
    }

    #[test]
    fn reserved_keys_are_refused() {
        let err = Record::new(Kind::Decision, "x", 0)
            .field("prev", "y")
            .unwrap_err();
        assert_eq!(
            err.to_string(),
            "a log record cannot set `prev`: the log writes it"
        );
    }
}
