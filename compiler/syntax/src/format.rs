//! The canonical formatter: a file's tree and comments printed back as canonical text.
//!
//! [`format`] refuses a file with syntax errors (it returns them) and otherwise prints every
//! declaration in one fixed layout, so two files with the same tree and comments format to the
//! same text, and formatting twice changes nothing. It is pure: no IO, no knowledge of names,
//! types or the checker. The layout (also in `docs/cli.md`):
//!
//! - Two spaces per indentation level; lines end without white space; the file ends with one
//!   line break. Semicolons after `const` and `fn` and commas between fields are dropped.
//! - Declarations are separated by one blank line. Consecutive one-line declarations of the
//!   same kind (`use`, `relation`, short `action` or `enum`, `const` and `fn` together, …) keep
//!   the user's grouping: a blank line between two of them only where the user had one or more.
//! - `entity` and `context` bodies: one `name: Type` per line, no commas. `action` and `enum`
//!   bodies stay on one line (`action a { x: T, y: U }`) when the line fits in 100 columns and
//!   the body holds no comment; otherwise one per line. An empty body is `{}`.
//! - Inside blocks, one blank line is kept where the user had one or more (never right after
//!   `{` or before `}`).
//! - Rules: `on …`, each `when` line as written, the effect, and `because "…"`, each on its own
//!   line. A `when` line longer than 100 columns is broken before each operator of its
//!   outermost `or` (else `and`) chain, continuation lines indented 4 more.
//! - `const` and `fn`: `head = value` on one line when it fits in 100 columns, else the value on
//!   the next line indented 2 (and wrapped like a `when` when still too long).
//! - Windows: one line per entry, in the user's order; times of day as `HH:MM`.
//! - Tests: `entities { … }` with one entity or edge per line; an entity or request record on
//!   one line when it fits in 100 columns and holds no comment, else one field per line;
//!   `with { … }` and `at …` follow the request on its line, or on the next line indented 2;
//!   then `expect …`.
//! - Expressions: single spaces around binary operators and after commas, none before `.`,
//!   `?.` and `(`; `{ x in s | c }`, `[a, b]`. The user's parentheses are kept and none are
//!   added unless the tree needs them.
//! - Literals: strings re-escaped (`\"`, `\\`, `\n`, `\t`, `\u{…}` for other control and
//!   invisible characters such as bidi overrides); durations with the largest units first
//!   (`90m` is `1h30m`); timestamps as the user wrote them (upper-case `T` and `Z`);
//!   `because` messages re-printed from their parts, literal braces as `{{`/`}}`.
//! - Comments are never dropped. A comment on the line where a construct ends stays at the
//!   end of that line (after two spaces); other comments go on their own line before the
//!   construct that follows them. Comments inside an expression that spans lines, or inside a
//!   record or list printed on one line, move to the line before it (above the doc comment of
//!   a declaration, so that the doc comment stays attached).

mod equiv;
mod expr;
mod items;
mod printer;

use crate::Diagnostic;

pub use equiv::{comment_texts, erase_spans};

/// Lines longer than this are wrapped where the layout allows it.
pub const MAX_WIDTH: usize = 100;

/// Format one file. `Err` holds the syntax errors of a file that does not parse cleanly
/// (warnings do not stop formatting).
pub fn format(text: &str) -> Result<String, Vec<Diagnostic>> {
    let errors = |diags: Vec<Diagnostic>| -> Vec<Diagnostic> {
        diags.into_iter().filter(Diagnostic::is_error).collect()
    };
    if !text.contains("\r\n") {
        let (file, diags) = crate::parse(text);
        let errors = errors(diags);
        return if errors.is_empty() {
            Ok(items::print_file(text, &file))
        } else {
            Err(errors)
        };
    }
    // Line endings become `\n` (the spans of the tree then always end on their last token);
    // errors are reported against the text as given.
    let lf = text.replace("\r\n", "\n");
    let (file, diags) = crate::parse(&lf);
    if errors(diags).is_empty() {
        Ok(items::print_file(&lf, &file))
    } else {
        Err(errors(crate::parse(text).1))
    }
}

/// Check that `formatted` says exactly what `original` says: it parses without errors, its
/// tree equals the original's once spans are erased, and it has the same comments. The error
/// says what differs. `ward fmt` runs this before it writes a file.
pub fn verify(original: &str, formatted: &str) -> Result<(), String> {
    // Cloning, comparing and dropping two trees up to `MAX_DEPTH` deep (derived, recursive)
    // takes about 1.3 MiB of stack in a debug build: run where at least 4 MiB are left.
    stacker::maybe_grow(4 << 20, 8 << 20, || verify_trees(original, formatted))
}

fn verify_trees(original: &str, formatted: &str) -> Result<(), String> {
    let (before, _) = crate::parse(original);
    let (after, diags) = crate::parse(formatted);
    if let Some(d) = diags.iter().find(|d| d.is_error()) {
        return Err(format!("the formatted text does not parse: {}", d.message));
    }
    if comment_texts(&before.comments) != comment_texts(&after.comments) {
        return Err("the formatted text does not have the same comments".to_owned());
    }
    let (before, after) = (erase_spans(&before), erase_spans(&after));
    if before.len() != after.len() {
        return Err("the formatted text does not have the same declarations".to_owned());
    }
    match before.iter().zip(&after).position(|(a, b)| a != b) {
        None => Ok(()),
        Some(idx) => Err(format!(
            "declaration {} of the formatted text differs from the original",
            idx + 1
        )),
    }
}
