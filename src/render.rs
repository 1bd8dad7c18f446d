//! Showing diagnostics to people on a terminal (miette, with source snippets and colour) and to
//! machines (JSON, from `ward_embed::diagnostics`; SARIF 2.1.0 for code-scanning tools,
//! [`sarif`]).
//!
//! Diagnostics arrive as plain values from `ward-check`; this is the only place that knows how
//! they look on a terminal, and the only user of miette (a fence test holds it to that). The
//! location printed in the header, `file:line:col`, is computed by the lean library as the JSON
//! form does (columns in characters; miette would count bytes), so both forms agree.

use std::fmt;

use miette::{GraphicalReportHandler, GraphicalTheme, LabeledSpan, NamedSource};
use ward_embed::FileDiagnostic;
use ward_embed::diagnostics::{self, location};
pub use ward_embed::diagnostics::{JsonDiagnostic, JsonLabel};
use ward_syntax::{Diagnostic, Label, Severity, line_col};

/// Renders diagnostics of one policy set; `files` are `(path, text)` in [`FileId`] order.
///
/// [`FileId`]: ward_syntax::FileId
pub struct Renderer<'a> {
    files: &'a [(String, String)],
    handler: GraphicalReportHandler,
}

impl fmt::Debug for Renderer<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Renderer")
            .field("files", &self.files.len())
            .finish_non_exhaustive()
    }
}

impl<'a> Renderer<'a> {
    pub fn new(files: &'a [(String, String)], color: bool) -> Renderer<'a> {
        let theme = if color {
            GraphicalTheme::unicode()
        } else {
            GraphicalTheme::unicode_nocolor()
        };
        Renderer {
            files,
            handler: GraphicalReportHandler::new_themed(theme)
                .with_context_lines(1)
                .without_primary_span_start(),
        }
    }

    fn text_of(&self, path: &str) -> &str {
        self.files
            .iter()
            .find(|(p, _)| p == path)
            .map_or("", |(_, t)| t.as_str())
    }

    /// The human form: `error[E0103]: …` with the source line and labels, as rustc does.
    pub fn human(&self, diag: &FileDiagnostic) -> String {
        let report = Report::new(self, diag);
        let mut out = String::new();
        if self.handler.render_report(&mut out, &report).is_err() {
            out = format!("{}: {}\n", diag.file, diag.diagnostic.message);
        }
        out.push('\n');
        out
    }

    /// The machine form of `--format json` (the lean library's, so that the service and the
    /// CLI print the same).
    pub fn json(&self, diag: &FileDiagnostic) -> JsonDiagnostic {
        diagnostics::to_json(self.files, diag)
    }
}

/// The diagnostics of one policy set as a SARIF 2.1.0 log (one run, tool `ward`): each
/// diagnostic a result whose rule is its code (described from `docs/diagnostics.md`), its
/// primary span the location, its other labels related locations. Positions are the JSON
/// form's (1-based, columns in Unicode characters, said by `columnKind`); the end column is
/// the one after the span, as SARIF counts it. `files` are `Compiled::files`.
pub fn sarif(files: &[(String, String)], all: &[FileDiagnostic]) -> serde_json::Value {
    use serde_json::json;
    let mut rules: Vec<(String, Severity)> = Vec::new();
    let mut results = Vec::new();
    for diag in all {
        let d = diagnostics::to_json(files, diag);
        let rule_index = match rules.iter().position(|(code, _)| *code == d.code) {
            Some(i) => i,
            None => {
                rules.push((d.code.clone(), d.severity));
                rules.len() - 1
            }
        };
        let mut text = d.message.clone();
        if let Some(help) = &d.help {
            text.push_str("\nhelp: ");
            text.push_str(help);
        }
        let related: Vec<_> = d
            .labels
            .iter()
            .skip(1)
            .enumerate()
            .map(|(i, label)| {
                let mut related = json!({
                    "id": i,
                    "physicalLocation": {
                        "artifactLocation": {"uri": file_uri(&label.file)},
                        "region": {"startLine": label.line, "startColumn": label.column},
                    },
                });
                if !label.message.is_empty() {
                    related["message"] = json!({"text": label.message});
                }
                related
            })
            .collect();
        let mut result = json!({
            "ruleId": d.code,
            "ruleIndex": rule_index,
            "level": sarif_level(d.severity),
            "message": {"text": text},
            "locations": [{
                "physicalLocation": {
                    "artifactLocation": {"uri": file_uri(&d.file)},
                    "region": {
                        "startLine": d.line,
                        "startColumn": d.column,
                        "endLine": d.end_line,
                        "endColumn": d.end_column,
                    },
                },
            }],
        });
        if !related.is_empty() {
            result["relatedLocations"] = json!(related);
        }
        results.push(result);
    }
    let rules: Vec<_> = rules
        .iter()
        .map(|(code, severity)| {
            json!({
                "id": code,
                "shortDescription": {"text": code_meaning(code).unwrap_or_else(|| code.clone())},
                "defaultConfiguration": {"level": sarif_level(*severity)},
            })
        })
        .collect();
    json!({
        "$schema": "https://docs.oasis-open.org/sarif/sarif/v2.1.0/errata01/os/schemas/sarif-schema-2.1.0.json",
        "version": "2.1.0",
        "runs": [{
            "tool": {"driver": {
                "name": "ward",
                "version": env!("CARGO_PKG_VERSION"),
                "rules": rules,
            }},
            "columnKind": "unicodeCodePoints",
            "results": results,
        }],
    })
}

fn sarif_level(severity: Severity) -> &'static str {
    match severity {
        Severity::Error => "error",
        Severity::Warning => "warning",
    }
}

/// The meaning of a diagnostic code, from the tables of `docs/diagnostics.md`
/// (`| E0103 | meaning | example |`).
fn code_meaning(code: &str) -> Option<String> {
    const DOC: &str = include_str!("../docs/diagnostics.md");
    DOC.lines().find_map(|line| {
        let rest = line
            .strip_prefix("| ")?
            .strip_prefix(code)?
            .strip_prefix(" | ")?;
        // The cell ends at the first `|` that is not escaped as `\|`.
        let bytes = rest.as_bytes();
        let end =
            (0..bytes.len()).find(|&i| bytes[i] == b'|' && (i == 0 || bytes[i - 1] != b'\\'))?;
        Some(rest.get(..end)?.trim_end().replace("\\|", "|"))
    })
}

/// A file path as a URI reference: relative paths stay relative (to the directory `ward` ran
/// in, which code-scanning tools take as the repository root), absolute ones become `file://`
/// URIs; every byte outside the unreserved set and `/` is percent-encoded.
fn file_uri(path: &str) -> String {
    let path = path.strip_prefix("./").unwrap_or(path);
    let mut uri = String::with_capacity(path.len());
    if path.starts_with('/') {
        uri.push_str("file://");
    }
    for byte in path.bytes() {
        match byte {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'.' | b'_' | b'~' | b'/' => {
                uri.push(byte as char);
            }
            _ => uri.push_str(&format!("%{byte:02X}")),
        }
    }
    uri
}

/// One diagnostic as a miette report: the labels in its own file are drawn on its source,
/// labels in other files become related reports with their own snippet.
struct Report<'d> {
    diag: &'d Diagnostic,
    source: NamedSource<String>,
    labels: Vec<LabeledSpan>,
    related: Vec<Related>,
}

struct Related {
    message: String,
    source: NamedSource<String>,
    label: LabeledSpan,
}

impl<'d> Report<'d> {
    fn new(renderer: &Renderer<'_>, diag: &'d FileDiagnostic) -> Report<'d> {
        let file = diag.file.as_str();
        let text = renderer.text_of(file);
        let (_, line, column) = location(renderer.files, diag);
        let source = NamedSource::new(format!("{file}:{line}:{column}"), text.to_owned());
        let mut labels = Vec::new();
        let mut related = Vec::new();
        let here: Vec<&Label> = diag
            .diagnostic
            .labels
            .iter()
            .filter(|l| other_file(renderer, file, l).is_none())
            .collect();
        for label in &diag.diagnostic.labels {
            let message = (!label.message.is_empty()).then(|| label.message.clone());
            let at = (label.span.start as usize, label.span.len());
            match other_file(renderer, file, label) {
                Some((path, text_of_other)) => {
                    let (line, column) = line_col(text_of_other, label.span.start);
                    related.push(Related {
                        message: format!(
                            "note: {}",
                            message.clone().unwrap_or_else(|| "see here".to_owned())
                        ),
                        source: NamedSource::new(
                            format!("{path}:{line}:{column}"),
                            text_of_other.clone(),
                        ),
                        label: LabeledSpan::new_with_span(message, at),
                    });
                }
                None if draws_a_stray_connector(text, label, &here) => {}
                None if label.primary => {
                    labels.push(LabeledSpan::new_primary_with_span(message, at));
                }
                None => labels.push(LabeledSpan::new_with_span(message, at)),
            }
        }
        Report {
            diag: &diag.diagnostic,
            source,
            labels,
            related,
        }
    }
}

/// The path and text of the file `label` points into, when it is not `file`.
fn other_file<'r>(
    renderer: &Renderer<'r>,
    file: &str,
    label: &Label,
) -> Option<&'r (String, String)> {
    label
        .file
        .and_then(|id| renderer.files.get(id.0 as usize))
        .filter(|(path, _)| path != file)
}

/// Whether miette would draw a connector (`│`) that leads to no text for `label`: it draws
/// one for every span of a line, labelled or not, across the lines of the labels to its
/// right. A span without text that is not entirely right of every labelled span on its line
/// is left out: it would add a stray bar and no information, since the header
/// already points at the primary span.
fn draws_a_stray_connector(text: &str, label: &Label, here: &[&Label]) -> bool {
    if !label.message.is_empty() || !single_line(text, label) {
        return false;
    }
    let line = line_col(text, label.span.start).0;
    here.iter().any(|other| {
        !other.message.is_empty()
            && single_line(text, other)
            && line_col(text, other.span.start).0 == line
            && other.span.end > label.span.start
    })
}

fn single_line(text: &str, label: &Label) -> bool {
    text.get(label.span.range())
        .is_some_and(|s| !s.contains('\n'))
}

impl fmt::Debug for Report<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.diag.message)
    }
}

/// `error[E0103]: message`, as rustc writes it; the code is part of the headline rather than
/// miette's separate code line, so the line a person reads first says everything.
impl fmt::Display for Report<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let severity = match self.diag.severity {
            Severity::Error => "error",
            Severity::Warning => "warning",
        };
        write!(f, "{severity}[{}]: {}", self.diag.code, self.diag.message)
    }
}

impl std::error::Error for Report<'_> {}

impl miette::Diagnostic for Report<'_> {
    fn severity(&self) -> Option<miette::Severity> {
        Some(match self.diag.severity {
            Severity::Error => miette::Severity::Error,
            Severity::Warning => miette::Severity::Warning,
        })
    }

    fn help<'a>(&'a self) -> Option<Box<dyn fmt::Display + 'a>> {
        self.diag
            .help
            .as_ref()
            .map(|h| Box::new(h) as Box<dyn fmt::Display>)
    }

    fn source_code(&self) -> Option<&dyn miette::SourceCode> {
        Some(&self.source)
    }

    fn labels(&self) -> Option<Box<dyn Iterator<Item = LabeledSpan> + '_>> {
        Some(Box::new(self.labels.iter().cloned()))
    }

    fn related<'a>(&'a self) -> Option<Box<dyn Iterator<Item = &'a dyn miette::Diagnostic> + 'a>> {
        if self.related.is_empty() {
            return None;
        }
        Some(Box::new(
            self.related.iter().map(|r| r as &dyn miette::Diagnostic),
        ))
    }
}

impl fmt::Debug for Related {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.message)
    }
}

impl fmt::Display for Related {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.message)
    }
}

impl std::error::Error for Related {}

impl miette::Diagnostic for Related {
    fn severity(&self) -> Option<miette::Severity> {
        Some(miette::Severity::Advice)
    }

    fn source_code(&self) -> Option<&dyn miette::SourceCode> {
        Some(&self.source)
    }

    fn labels(&self) -> Option<Box<dyn Iterator<Item = LabeledSpan> + '_>> {
        Some(Box::new(std::iter::once(self.label.clone())))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn code_meanings_come_from_the_diagnostics_page() {
        assert_eq!(
            code_meaning("E0006"),
            Some("`&&`, `||` or `!` instead of `and`, `or`, `not`".to_owned())
        );
        assert_eq!(
            code_meaning("E0004").as_deref(),
            Some("comparisons do not chain")
        );
        assert_eq!(code_meaning("E9999"), None);
    }

    #[test]
    fn file_uris_are_encoded() {
        assert_eq!(file_uri("./rules/a b.ward"), "rules/a%20b.ward");
        assert_eq!(file_uri("/tmp/é.ward"), "file:///tmp/%C3%A9.ward");
    }
}
