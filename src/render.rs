//! Showing diagnostics to people on a terminal (miette, with source snippets and colour) and to
//! machines (JSON, from `ward_embed::diagnostics`).
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
