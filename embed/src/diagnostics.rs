//! Showing the checker's diagnostics without a terminal library: rustc-like plain text for
//! people (logs, HTTP error bodies, Python exceptions) and a JSON form for machines.
//!
//! ```text
//! error[E0136]: cannot compare `Int` with `String` using `==`
//!   --> policy.ward:14:21
//!    |
//! 14 |   when target.level == "3"
//!    |        ------------ this is `Int`
//!    |                     ^^
//!    |                        --- this is `String`
//!    |
//!    = help: both sides of `==` and `!=` must have the same type
//! ```
//!
//! Lines and columns are 1-based, columns counted in characters, the same in both forms (the
//! CLI's terminal renderer prints the same `file:line:col`). This module knows diagnostics as
//! plain values and the texts of the files they point into; it does not know colours, terminals
//! or how a diagnostic was found.

use std::fmt::Write as _;

use serde::Serialize;
use ward_check::{Compiled, FileDiagnostic};
use ward_syntax::{Label, Severity, Span, line_col};

/// The machine form of one diagnostic (what `ward check --format json` prints).
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct JsonDiagnostic {
    pub file: String,
    pub line: u32,
    pub column: u32,
    pub end_line: u32,
    pub end_column: u32,
    pub code: String,
    pub severity: Severity,
    pub message: String,
    pub help: Option<String>,
    /// Every labelled span, the primary one first.
    pub labels: Vec<JsonLabel>,
}

/// A labelled span of a [`JsonDiagnostic`], possibly in another file.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct JsonLabel {
    pub file: String,
    pub line: u32,
    pub column: u32,
    /// May be empty.
    pub message: String,
}

/// Where a diagnostic is: the file, and line and column (1-based, in characters) of the start
/// of its primary span. `files` are [`Compiled::files`].
pub fn location(files: &[(String, String)], diag: &FileDiagnostic) -> (String, u32, u32) {
    let (line, column) = line_col(text_of(files, &diag.file), diag.diagnostic.span().start);
    (diag.file.clone(), line, column)
}

/// The JSON form of one diagnostic; `files` are [`Compiled::files`].
pub fn to_json(files: &[(String, String)], diag: &FileDiagnostic) -> JsonDiagnostic {
    let text = text_of(files, &diag.file);
    let span = diag.diagnostic.span();
    let (line, column) = line_col(text, span.start);
    let (end_line, end_column) = line_col(text, span.end);
    let labels = diag
        .diagnostic
        .labels
        .iter()
        .map(|label| {
            let file = label_file(files, diag, label);
            let (line, column) = line_col(text_of(files, file), label.span.start);
            JsonLabel {
                file: file.to_owned(),
                line,
                column,
                message: label.message.clone(),
            }
        })
        .collect();
    JsonDiagnostic {
        file: diag.file.clone(),
        line,
        column,
        end_line,
        end_column,
        code: diag.diagnostic.code.to_owned(),
        severity: diag.diagnostic.severity,
        message: diag.diagnostic.message.clone(),
        help: diag.diagnostic.help.clone(),
        labels,
    }
}

/// Every diagnostic of a compilation in JSON form, in order.
pub fn all_to_json(compiled: &Compiled) -> Vec<JsonDiagnostic> {
    compiled
        .diagnostics
        .iter()
        .map(|d| to_json(&compiled.files, d))
        .collect()
}

/// One diagnostic as plain text, rustc-like, ending with a line break: the headline
/// `error[CODE]: message`, ` --> file:line:col`, each source line a label is on with the
/// label's span marked (`^` primary, `-` secondary) and its text, labels in other files as
/// notes, and `= help: …`.
pub fn render_text(files: &[(String, String)], diag: &FileDiagnostic) -> String {
    let d = &diag.diagnostic;
    let severity = match d.severity {
        Severity::Error => "error",
        Severity::Warning => "warning",
    };
    let mut here = Vec::new();
    let mut elsewhere = Vec::new();
    for label in &d.labels {
        let file = label_file(files, diag, label);
        if file == diag.file {
            here.push(label);
        } else {
            elsewhere.push((file, label));
        }
    }
    let text = text_of(files, &diag.file);
    let mut lines: Vec<u32> = here
        .iter()
        .map(|l| line_col(text, l.span.start).0)
        .collect();
    lines.extend(elsewhere.iter().map(|(file, l)| {
        let (line, _) = line_col(text_of(files, file), l.span.start);
        line
    }));
    let width = lines.iter().max().map_or(1, |n| n.to_string().len());

    let mut out = String::new();
    let _ = writeln!(out, "{severity}[{}]: {}", d.code, d.message);
    let (file, line, column) = location(files, diag);
    let _ = writeln!(out, "{:width$}--> {file}:{line}:{column}", "");
    snippet(&mut out, text, &here, width);
    for (file, label) in elsewhere {
        let note = if label.message.is_empty() {
            "see here"
        } else {
            label.message.as_str()
        };
        let other = text_of(files, file);
        let (line, column) = line_col(other, label.span.start);
        let _ = writeln!(out, "{:width$} = note: {note}", "");
        let _ = writeln!(out, "{:width$}--> {file}:{line}:{column}", "");
        let unlabelled = Label {
            message: String::new(),
            ..label.clone()
        };
        snippet(&mut out, other, &[&unlabelled], width);
    }
    if let Some(help) = &d.help {
        let _ = writeln!(out, "{:width$} |", "");
        let _ = writeln!(out, "{:width$} = help: {help}", "");
    }
    out
}

/// Every diagnostic of a compilation as plain text, separated by blank lines.
pub fn render_all_text(compiled: &Compiled) -> String {
    compiled
        .diagnostics
        .iter()
        .map(|d| render_text(&compiled.files, d))
        .collect::<Vec<_>>()
        .join("\n")
}

/// The source lines the labels are on, each followed by one marker line per label on it.
fn snippet(out: &mut String, text: &str, labels: &[&Label], width: usize) {
    let _ = writeln!(out, "{:width$} |", "");
    let mut marks: Vec<(u32, u32, &Label)> = labels
        .iter()
        .map(|l| {
            let (line, column) = line_col(text, l.span.start);
            (line, column, *l)
        })
        .collect();
    marks.sort_by_key(|(line, column, l)| (*line, *column, !l.primary));
    let mut shown = None;
    for (line, _, label) in marks {
        let Some((start, source)) = source_line(text, line) else {
            continue;
        };
        if shown != Some(line) {
            if shown.is_some_and(|s| s + 1 < line) {
                let _ = writeln!(out, "{:width$} |", "");
            }
            let _ = writeln!(out, "{line:>width$} | {}", expand_tabs(source));
            shown = Some(line);
        }
        let span = clip(label.span, start, start + source.len());
        let lead = display_width(source.get(..span.start - start).unwrap_or(""));
        let marked = display_width(
            source
                .get(span.start - start..span.end - start)
                .unwrap_or(""),
        );
        let mark = if label.primary { "^" } else { "-" };
        let mut row = format!("{:width$} | {:lead$}{}", "", "", mark.repeat(marked.max(1)));
        if !label.message.is_empty() {
            row.push(' ');
            row.push_str(&label.message);
        }
        let _ = writeln!(out, "{}", row.trim_end());
    }
}

/// The 1-based line `line` of `text`: its byte offset and its text without the line break.
fn source_line(text: &str, line: u32) -> Option<(usize, &str)> {
    let mut start = 0;
    for (i, l) in text.split('\n').enumerate() {
        if i + 1 == line as usize {
            return Some((start, l.strip_suffix('\r').unwrap_or(l)));
        }
        start += l.len() + 1;
    }
    None
}

/// `span` as a byte range inside `[start, end)`, on character boundaries of the line.
fn clip(span: Span, start: usize, end: usize) -> std::ops::Range<usize> {
    let from = (span.start as usize).clamp(start, end);
    let to = (span.end as usize).clamp(from, end);
    from..to
}

const TAB: &str = "    ";

fn expand_tabs(line: &str) -> String {
    line.replace('\t', TAB)
}

/// Columns a text takes once tabs are expanded (one per character otherwise).
fn display_width(text: &str) -> usize {
    text.chars()
        .map(|c| if c == '\t' { TAB.len() } else { 1 })
        .sum()
}

fn text_of<'a>(files: &'a [(String, String)], path: &str) -> &'a str {
    files
        .iter()
        .find(|(p, _)| p == path)
        .map_or("", |(_, t)| t.as_str())
}

/// The file a label points into: its own, or the diagnostic's.
fn label_file<'a>(
    files: &'a [(String, String)],
    diag: &'a FileDiagnostic,
    label: &Label,
) -> &'a str {
    label
        .file
        .and_then(|id| files.get(id.0 as usize))
        .map_or(diag.file.as_str(), |(p, _)| p.as_str())
}

#[cfg(test)]
mod tests;
