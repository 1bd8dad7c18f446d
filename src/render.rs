//! Showing diagnostics to people (miette, with source snippets) and to machines (JSON).
//!
//! Diagnostics arrive as plain values from `ward-check`; this is the only place that knows how
//! they look on a terminal.

use std::fmt;

use miette::{GraphicalReportHandler, GraphicalTheme, LabeledSpan, NamedSource};
use serde::Serialize;
use ward_check::FileDiagnostic;
use ward_syntax::{Diagnostic, Severity, line_col};

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
            handler: GraphicalReportHandler::new_themed(theme).with_context_lines(1),
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
        let report = Report::new(self, &diag.file, &diag.diagnostic);
        let mut out = String::new();
        if self.handler.render_report(&mut out, &report).is_err() {
            out = format!("{}: {}\n", diag.file, diag.diagnostic.message);
        }
        out.push('\n');
        out
    }

    /// The machine form of `--format json`.
    pub fn json(&self, diag: &FileDiagnostic) -> JsonDiagnostic {
        let text = self.text_of(&diag.file);
        let span = diag.diagnostic.span();
        let (line, column) = line_col(text, span.start);
        let (end_line, end_column) = line_col(text, span.end);
        let labels = diag
            .diagnostic
            .labels
            .iter()
            .map(|label| {
                let file = match label.file {
                    Some(id) => self.files.get(id.0 as usize).map_or(&diag.file, |(p, _)| p),
                    None => &diag.file,
                };
                let (line, column) = line_col(self.text_of(file), label.span.start);
                JsonLabel {
                    file: file.clone(),
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
            code: diag.diagnostic.code,
            severity: diag.diagnostic.severity,
            message: diag.diagnostic.message.clone(),
            help: diag.diagnostic.help.clone(),
            labels,
        }
    }
}

#[derive(Debug, Serialize)]
pub struct JsonDiagnostic {
    pub file: String,
    pub line: u32,
    pub column: u32,
    pub end_line: u32,
    pub end_column: u32,
    pub code: &'static str,
    pub severity: Severity,
    pub message: String,
    pub help: Option<String>,
    pub labels: Vec<JsonLabel>,
}

#[derive(Debug, Serialize)]
pub struct JsonLabel {
    pub file: String,
    pub line: u32,
    pub column: u32,
    pub message: String,
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
    fn new(renderer: &Renderer<'_>, file: &str, diag: &'d Diagnostic) -> Report<'d> {
        let source = NamedSource::new(file, renderer.text_of(file).to_owned());
        let mut labels = Vec::new();
        let mut related = Vec::new();
        for label in &diag.labels {
            let text = (!label.message.is_empty()).then(|| label.message.clone());
            let at = (label.span.start as usize, label.span.len());
            let other = label
                .file
                .and_then(|id| renderer.files.get(id.0 as usize))
                .filter(|(path, _)| path != file);
            match other {
                Some((path, text_of_other)) => related.push(Related {
                    message: format!(
                        "note: {}",
                        text.clone().unwrap_or_else(|| "see here".to_owned())
                    ),
                    source: NamedSource::new(path, text_of_other.clone()),
                    label: LabeledSpan::new_with_span(text, at),
                }),
                None if label.primary => labels.push(LabeledSpan::new_primary_with_span(text, at)),
                None => labels.push(LabeledSpan::new_with_span(text, at)),
            }
        }
        Report {
            diag,
            source,
            labels,
            related,
        }
    }
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
