//! `ward-syntax`: the Ward language's surface syntax.
//!
//! [`parse`] turns the text of one `.ward` file into an [`ast::File`] and the diagnostics of
//! everything it could not read; it never fails, so an editor keeps working on a broken file.
//! The grammar is `grammar/ward.pest`. This crate knows nothing of salsa, the LSP or IO.
//!
//! The pipeline: [`scan`] finds every comment and splits the file into top-level declarations
//! (tracking braces, strings and comments, so that one broken declaration cannot hide the
//! next); each declaration is parsed by pest on its own; [`build`] turns the pest pairs into
//! the AST, checks literals and reports the mistakes the grammar accepts on purpose;
//! [`errors`] turns pest's failures into compiler-style messages. Well-formed `rule` and
//! `const` declarations, nearly all of a large policy set, take a hand-written fast path
//! (`build/fast.rs`) that builds the same tree several times faster and leaves anything else,
//! every error included, to pest; debug builds check that both paths agree.

pub mod ast;
mod build;
pub mod codes;
mod diagnostic;
mod errors;
pub mod format;
mod grammar;
mod literal;
mod message;
mod scan;

pub use diagnostic::{Diagnostic, FileId, Label, Severity, Span, line_col};
pub use format::format;

/// Parse one file. Always returns a tree (with [`ast::ExprKind::Error`] holes and skipped
/// declarations where the text could not be read) and every syntax error found.
pub fn parse(text: &str) -> (ast::File, Vec<Diagnostic>) {
    let scanned = scan::scan(text);
    let mut diags = Vec::new();
    let mut items = Vec::new();
    for chunk in &scanned.chunks {
        let mut builder = build::Builder::new(text, &scanned.comments, chunk.start, &mut diags);
        if let Some(item) = builder.chunk(chunk) {
            items.push(item);
        }
    }
    diags.sort_by_key(|d| d.span().start);
    (
        ast::File {
            items,
            comments: scanned.comments,
        },
        diags,
    )
}

/// Parse every declaration of `text` that the fast path (`build/fast.rs`) accepts with pest as
/// well and compare the two trees: `Ok(n)` when all `n` agree, else what differs. Debug builds
/// make the same comparison inside [`parse`] (and panic on a difference); this runs it in any
/// build, for the generated-source tests and fuzz targets. Declarations the fast path leaves to
/// pest are not counted: pest is the definition of the language.
pub fn cross_check(text: &str) -> Result<usize, String> {
    build::cross_check(text)
}

/// Parse a single expression (the whole text must be one expression). Handy for tests and for
/// the language server; spans are offsets into `text`.
pub fn parse_expr(text: &str) -> (ast::Expr, Vec<Diagnostic>) {
    let mut diags = Vec::new();
    let expr = build::parse_expr_with(text, &build::SpanMap::Offset(0), &mut diags);
    (expr, diags)
}
