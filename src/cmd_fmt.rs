//! `ward fmt`: rewrite `.ward` files in the canonical layout, or with `--check` only report
//! the files that would change (exit 1 if any).
//!
//! Formatting is `ward_syntax::format`; this module reads and writes the files, refuses files
//! with syntax errors (rendered as `ward check` renders them), and writes a file only after
//! `ward_syntax::format::verify` confirms the new text has the same tree and comments.

use std::io::Write as _;
use std::path::Path;
use std::process::ExitCode;

use ward::FileDiagnostic;
use ward::render::Renderer;

use crate::{CliError, FmtArgs, Format, color_stderr, out, outln, plural};

/// Lines of each side shown per changed file by `--check`.
const DIFF_LINES: usize = 6;

pub(crate) fn run(args: &FmtArgs) -> Result<ExitCode, CliError> {
    let files = crate::load(&args.path)?;
    let mut changed = Vec::new();
    let mut diagnostics = Vec::new();
    let mut refused = Vec::new();
    let mut diffs = Vec::new();
    for (path, text) in &files {
        let formatted = match ward_syntax::format(text) {
            Ok(formatted) => formatted,
            Err(errors) => {
                diagnostics.extend(errors.into_iter().map(|diagnostic| FileDiagnostic {
                    file: path.clone(),
                    diagnostic,
                }));
                continue;
            }
        };
        if formatted == *text {
            continue;
        }
        if let Err(why) = ward_syntax::format::verify(text, &formatted) {
            refused.push(format!(
                "internal error: formatting `{path}` would change what it says ({why}); the file is left \
                 unchanged, please report this"
            ));
            continue;
        }
        if args.check {
            diffs.push(diff(path, text, &formatted));
        } else {
            write(Path::new(path), &formatted)?;
        }
        changed.push(path.clone());
    }
    report(args, &files, &changed, &diagnostics, &refused, &diffs)?;
    let failed =
        !diagnostics.is_empty() || !refused.is_empty() || (args.check && !changed.is_empty());
    Ok(if failed {
        ExitCode::from(1)
    } else {
        ExitCode::SUCCESS
    })
}

fn write(path: &Path, text: &str) -> Result<(), CliError> {
    std::fs::write(path, text)
        .map_err(|e| CliError::new(format!("cannot write `{}`: {e}", path.display())))
}

fn report(
    args: &FmtArgs,
    files: &[(String, String)],
    changed: &[String],
    diagnostics: &[FileDiagnostic],
    refused: &[String],
    diffs: &[String],
) -> Result<(), CliError> {
    let renderer = Renderer::new(files, color_stderr());
    match args.format {
        Format::Human => {
            let mut err = std::io::stderr().lock();
            for diag in diagnostics {
                let _ = write!(err, "{}", renderer.human(diag));
            }
            for why in refused {
                let _ = writeln!(err, "error: {why}");
            }
            for (path, diff) in changed.iter().zip(diffs) {
                out!("{path}\n{diff}")?;
            }
            let n_bad = files_with_errors(diagnostics) + refused.len();
            let _ = writeln!(
                err,
                "{}",
                summary(args.check, files.len(), changed.len(), n_bad)
            );
        }
        Format::Json => {
            let diagnostics: Vec<_> = diagnostics.iter().map(|d| renderer.json(d)).collect();
            let doc = serde_json::json!({
                "files": files.len(),
                (if args.check { "unformatted" } else { "formatted" }): changed,
                "errors": diagnostics.len() + refused.len(),
                "diagnostics": diagnostics,
                "internal_errors": refused,
            });
            outln!("{doc:#}")?;
        }
    }
    Ok(())
}

fn files_with_errors(diagnostics: &[FileDiagnostic]) -> usize {
    let mut files: Vec<&str> = diagnostics.iter().map(|d| d.file.as_str()).collect();
    files.dedup();
    files.len()
}

fn summary(check: bool, n_files: usize, n_changed: usize, n_bad: usize) -> String {
    let mut text = match (check, n_changed) {
        (true, 0) => format!("{} already formatted", plural(n_files - n_bad, "file")),
        (true, n) => format!("{} would be reformatted", plural(n, "file")),
        (false, n) => format!(
            "formatted {}, {} unchanged",
            plural(n, "file"),
            n_files - n - n_bad
        ),
    };
    if n_bad > 0 {
        text.push_str(&format!("; error: {} not formatted", plural(n_bad, "file")));
    }
    text
}

/// The first run of lines that differs, as `-`/`+` lines under an `@@ line N @@` header, at
/// most [`DIFF_LINES`] of each side.
fn diff(path: &str, old: &str, new: &str) -> String {
    let old_lines: Vec<&str> = old.lines().collect();
    let new_lines: Vec<&str> = new.lines().collect();
    let prefix = old_lines
        .iter()
        .zip(&new_lines)
        .take_while(|(a, b)| a == b)
        .count();
    let suffix = old_lines[prefix..]
        .iter()
        .rev()
        .zip(new_lines[prefix..].iter().rev())
        .take_while(|(a, b)| a == b)
        .count();
    let removed = &old_lines[prefix..old_lines.len() - suffix];
    let added = &new_lines[prefix..new_lines.len() - suffix];
    let mut out = format!(
        "--- {path}\n+++ {path} (formatted)\n@@ line {} @@\n",
        prefix + 1
    );
    for (sign, lines) in [('-', removed), ('+', added)] {
        for line in lines.iter().take(DIFF_LINES) {
            out.push_str(&format!("{sign}{line}\n"));
        }
        if lines.len() > DIFF_LINES {
            out.push_str(&format!(
                "{sign}… ({} more)\n",
                plural(lines.len() - DIFF_LINES, "line")
            ));
        }
    }
    if removed.is_empty() && added.is_empty() {
        // Only the line endings or the end of the file differ.
        out.push_str("~ line endings or trailing blank lines\n");
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn diff_shows_the_first_differing_lines() {
        let d = diff("a.ward", "x\ny  \nz\n", "x\ny\nz\n");
        assert_eq!(
            d,
            "--- a.ward\n+++ a.ward (formatted)\n@@ line 2 @@\n-y  \n+y\n"
        );
        let d = diff("a.ward", "x\n\n\n", "x\n");
        assert!(d.ends_with("@@ line 2 @@\n-\n-\n"), "{d}");
        let d = diff("a.ward", "x\r\n", "x\n");
        assert!(d.contains("line endings"), "{d}");
    }

    #[test]
    fn summaries() {
        assert_eq!(summary(true, 3, 0, 0), "3 files already formatted");
        assert_eq!(summary(true, 3, 1, 0), "1 file would be reformatted");
        assert_eq!(summary(false, 3, 2, 0), "formatted 2 files, 1 unchanged");
        assert_eq!(
            summary(false, 3, 1, 1),
            "formatted 1 file, 1 unchanged; error: 1 file not formatted"
        );
    }
}
