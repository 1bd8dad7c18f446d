//! Verifying the chain: every line's hash matches its bytes, `seq` counts up by one from 1
//! across files, and every `prev` is the hash of the line before. The first line that breaks
//! this is named, with what is wrong with it.
//!
//! What the chain cannot show by itself: lines cut from the *end* of the log (the remaining
//! lines still chain). Compare [`VerifyReport::head`] with a head recorded elsewhere (the
//! service reports it in its status) to catch that.

use std::fmt;
use std::path::{Path, PathBuf};

use crate::LogError;
use crate::line::{GENESIS, LineFault, check_line};
use crate::writer::{Head, log_files, strip_padding};

/// The result of verifying a log.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct VerifyReport {
    pub files: usize,
    /// Lines that verified, before the first problem.
    pub lines: u64,
    /// The last line that verified.
    pub head: Head,
    /// The first line that breaks the chain.
    pub problem: Option<Problem>,
    /// Torn lines moved aside when the log was opened (`*.jsonl.torn-*`): not part of the
    /// chain, listed so that nobody mistakes them for lost decisions.
    pub torn: Vec<PathBuf>,
    /// Bytes after the last newline of the last file (file, offset, length): a write cut short
    /// by a crash, never acknowledged. Not part of the chain; the writer moves it aside when
    /// it next opens the log.
    pub torn_tail: Option<(PathBuf, u64, u64)>,
}

/// The first line that breaks the chain.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Problem {
    pub file: PathBuf,
    /// 1-based line number in `file`.
    pub line: u64,
    /// The `seq` the line should have.
    pub expected_seq: u64,
    pub kind: ProblemKind,
}

/// What is wrong with a line.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum ProblemKind {
    /// Its hash does not match its bytes: the line was edited.
    Changed,
    /// It is not a log line (not JSON, or without its envelope).
    Malformed(String),
    /// Lines are missing before it (it carries `found`, the log expected `expected_seq`).
    Removed { found: u64 },
    /// It is out of order: a line with this `seq` comes later, or it comes again.
    Reordered { found: u64 },
    /// Its `prev` is not the hash of the line before it: the line before was replaced by
    /// another one with a valid hash of its own, or a line was removed and the rest renumbered.
    BrokenLink,
}

impl fmt::Display for Problem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let at = format!(
            "line {} of `{}` (seq {})",
            self.line,
            self.file.display(),
            self.expected_seq
        );
        match &self.kind {
            ProblemKind::Changed => {
                write!(f, "{at} was changed: its hash does not match its content")
            }
            ProblemKind::Malformed(why) => write!(f, "{at} is not a log line: {why}"),
            ProblemKind::Removed { found } if *found == self.expected_seq + 1 => {
                write!(f, "{at} was removed: the line found there has seq {found}")
            }
            ProblemKind::Removed { found } => write!(
                f,
                "{at} was removed, with the lines up to seq {}: the line found there has seq {found}",
                found - 1
            ),
            ProblemKind::Reordered { found } => write!(
                f,
                "{at} is out of order: the line found there has seq {found}"
            ),
            ProblemKind::BrokenLink => write!(
                f,
                "{at} does not follow the line before it: its `prev` is not that line's hash (the line before was replaced, or lines were removed and renumbered)"
            ),
        }
    }
}

/// Verifies the log in `dir`. `Err` only when files cannot be read; a broken chain is a
/// [`Problem`] in the report.
pub fn verify(dir: &Path) -> Result<VerifyReport, LogError> {
    let files = log_files(dir)?;
    let mut report = VerifyReport {
        files: files.len(),
        lines: 0,
        head: Head {
            seq: 0,
            hash: GENESIS.to_owned(),
        },
        problem: None,
        torn: torn_files(dir)?,
        torn_tail: None,
    };
    for (idx, path) in files.iter().enumerate() {
        let bytes = std::fs::read(path).map_err(|e| LogError::io("read", path, &e))?;
        let bytes = strip_padding(&bytes).to_vec();
        let is_last = idx + 1 == files.len();
        let complete = bytes.iter().rposition(|&b| b == b'\n').map_or(0, |i| i + 1);
        let ends_cleanly = complete == bytes.len();
        let body = bytes.get(..complete).unwrap_or_default();
        let body = body.strip_suffix(b"\n").unwrap_or(body);
        let lines = if body.is_empty() {
            None
        } else {
            Some(body.split(|&b| b == b'\n'))
        };
        for (n, line) in lines.into_iter().flatten().enumerate() {
            let line_no = n as u64 + 1;
            let expected = report.head.seq + 1;
            let problem = |kind| Problem {
                file: path.clone(),
                line: line_no,
                expected_seq: expected,
                kind,
            };
            let checked = match check_line(line) {
                Ok(checked) => checked,
                Err(LineFault::HashMismatch) => {
                    report.problem = Some(problem(ProblemKind::Changed));
                    return Ok(report);
                }
                Err(LineFault::Malformed(why)) => {
                    report.problem = Some(problem(ProblemKind::Malformed(why)));
                    return Ok(report);
                }
            };
            if checked.seq != expected {
                let kind = if checked.seq < expected
                    || seq_appears_later(&files[idx..], path, line_no, expected)?
                {
                    ProblemKind::Reordered { found: checked.seq }
                } else {
                    ProblemKind::Removed { found: checked.seq }
                };
                report.problem = Some(problem(kind));
                return Ok(report);
            }
            if checked.prev != report.head.hash {
                report.problem = Some(problem(ProblemKind::BrokenLink));
                return Ok(report);
            }
            report.head = Head {
                seq: checked.seq,
                hash: checked.hash,
            };
            report.lines += 1;
        }
        if !ends_cleanly && is_last {
            report.torn_tail = Some((
                path.clone(),
                complete as u64,
                (bytes.len() - complete) as u64,
            ));
        } else if !ends_cleanly {
            report.problem = Some(Problem {
                file: path.clone(),
                line: count_lines(&bytes) + 1,
                expected_seq: report.head.seq + 1,
                kind: ProblemKind::Malformed(
                    "the file ends in the middle of a line, and a later file follows".into(),
                ),
            });
            return Ok(report);
        }
    }
    Ok(report)
}

/// Whether a line with `seq` comes after `line_no` of `from` in the rest of the log.
fn seq_appears_later(
    files: &[PathBuf],
    from: &Path,
    line_no: u64,
    seq: u64,
) -> Result<bool, LogError> {
    for path in files {
        let bytes = std::fs::read(path).map_err(|e| LogError::io("read", path, &e))?;
        for (n, line) in strip_padding(&bytes).split(|&b| b == b'\n').enumerate() {
            if path == from && (n as u64 + 1) <= line_no {
                continue;
            }
            if let Ok(checked) = check_line(line)
                && checked.seq == seq
            {
                return Ok(true);
            }
        }
    }
    Ok(false)
}

fn torn_files(dir: &Path) -> Result<Vec<PathBuf>, LogError> {
    let entries = std::fs::read_dir(dir).map_err(|e| LogError::io("read the folder", dir, &e))?;
    let mut torn = Vec::new();
    for entry in entries {
        let entry = entry.map_err(|e| LogError::io("read the folder", dir, &e))?;
        let path = entry.path();
        if path
            .file_name()
            .and_then(|n| n.to_str())
            .is_some_and(|n| n.contains(".jsonl.torn-"))
        {
            torn.push(path);
        }
    }
    torn.sort();
    Ok(torn)
}

fn count_lines(bytes: &[u8]) -> u64 {
    bytes.iter().filter(|&&b| b == b'\n').count() as u64
}
