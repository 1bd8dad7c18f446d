//! `ward-check`: name resolution, type checking and lowering of Ward policy sets to
//! [`ward_ir::Program`], behind a salsa database so the CLI and the language server share the
//! same incremental queries.
//!
//! The inputs are [`SourceFile`]s (path and text) grouped in a [`PolicySet`] together with the
//! stdlib modules; the queries are [`parse`], [`file_items`], [`check`] and [`lower`].
//! [`compile`] is the one-shot convenience used by the CLI and tests. [`Checked::symbols`]
//! records every resolved name (hover, go to definition, references) as plain data. This crate
//! knows nothing of the LSP, terminals or the runtime, and does no file IO: its inputs are
//! `(path, text)` pairs, read from disk at the edge (`ward-files`); the fence test in
//! `tests/tests/fences.rs` and `clippy.toml` hold it to that.
//!
//! ```text
//!  SourceFile ──parse──► ast + syntax diagnostics
//!  PolicySet ──check──► Checked { program (if no error), diagnostics, symbols } ──lower──► Program
//! ```
//!
//! Diagnostic codes are the constants of [`codes`], each listed with an example in
//! `docs/diagnostics.md` (a test holds the two lists equal).

mod checker;
pub mod codes;
mod depth;
mod expr;
pub mod ide;
mod rule;
mod suggest;
mod symbols;
mod test_block;
mod ty;
mod window;

use serde::Serialize;
use ward_syntax::{Diagnostic, Span, ast};

pub use symbols::{Symbol, SymbolKind};

/// The stdlib modules shipped in the binary: module name, path shown in diagnostics, text.
pub const STDLIB: &[(&str, &str, &str)] = &[
    (
        "time",
        "std/time.ward",
        include_str!("../../../stdlib/time.ward"),
    ),
    (
        "identity",
        "std/identity.ward",
        include_str!("../../../stdlib/identity.ward"),
    ),
    (
        "deps",
        "std/deps.ward",
        include_str!("../../../stdlib/deps.ward"),
    ),
];

/// One `.ward` file: its path (as given to the compiler) and text.
#[salsa::input(debug)]
pub struct SourceFile {
    #[returns(ref)]
    pub path: String,
    #[returns(ref)]
    pub text: String,
}

/// A policy set: the user's files in sorted path order, and the stdlib modules.
#[salsa::input(debug)]
pub struct PolicySet {
    #[returns(ref)]
    pub files: Vec<SourceFile>,
    #[returns(ref)]
    pub stdlib: Vec<SourceFile>,
}

/// The salsa database. Cheap to clone (the LSP keeps a snapshot per request).
#[salsa::db]
#[derive(Clone, Default)]
pub struct Database {
    storage: salsa::Storage<Self>,
}

#[salsa::db]
impl salsa::Database for Database {}

impl std::fmt::Debug for Database {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Database").finish_non_exhaustive()
    }
}

impl Database {
    /// A database that reports every salsa event to `callback` (tests use it to see which
    /// queries an edit re-runs).
    pub fn with_events(callback: impl Fn(salsa::Event) + Send + Sync + 'static) -> Database {
        Database {
            storage: salsa::Storage::new(Some(Box::new(callback))),
        }
    }

    /// Create the inputs of a policy set (files as `(path, text)`) with the embedded stdlib.
    pub fn policy_set(&self, files: &[(String, String)]) -> PolicySet {
        let user = files
            .iter()
            .map(|(p, t)| SourceFile::new(self, p.clone(), t.clone()))
            .collect();
        let stdlib = STDLIB
            .iter()
            .map(|(_, p, t)| SourceFile::new(self, (*p).to_string(), (*t).to_string()))
            .collect();
        PolicySet::new(self, user, stdlib)
    }
}

/// A parsed file.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Parsed {
    pub ast: ast::File,
    pub diagnostics: Vec<Diagnostic>,
}

/// Parse one file.
#[salsa::tracked(returns(ref))]
pub fn parse(db: &dyn salsa::Database, file: SourceFile) -> Parsed {
    let (ast, diagnostics) = ward_syntax::parse(file.text(db));
    Parsed { ast, diagnostics }
}

/// A named top-level declaration of a file, for outlines and workspace symbols.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ItemSummary {
    pub name: String,
    /// `enum`, `entity`, `relation`, `action`, `window`, `const`, `fn`, `rule`.
    pub kind: &'static str,
    /// The span of the name.
    pub span: Span,
}

/// The named declarations of one file, in source order.
#[salsa::tracked(returns(ref))]
pub fn file_items(db: &dyn salsa::Database, file: SourceFile) -> Vec<ItemSummary> {
    parse(db, file)
        .ast
        .items
        .iter()
        .filter_map(|item| {
            let kind = match item {
                ast::Item::Enum(_) => "enum",
                ast::Item::Entity(_) => "entity",
                ast::Item::Relation(_) => "relation",
                ast::Item::Action(_) => "action",
                ast::Item::Window(_) => "window",
                ast::Item::Const(_) => "const",
                ast::Item::Fn(_) => "fn",
                ast::Item::Rule(_) => "rule",
                ast::Item::Use(_)
                | ast::Item::Context(_)
                | ast::Item::Default(_)
                | ast::Item::Test(_) => return None,
            };
            item.name().map(|n| ItemSummary {
                name: n.name.clone(),
                kind,
                span: n.span,
            })
        })
        .collect()
}

/// A diagnostic with the path of the file it is about. Labels with `file: Some(FileId(i))`
/// point into the `i`-th file of [`Compiled::files`] (user files, then the stdlib modules).
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct FileDiagnostic {
    pub file: String,
    pub diagnostic: Diagnostic,
}

/// Everything checking a policy set produced.
#[derive(Clone, Debug, PartialEq)]
pub struct Checked {
    /// `None` when any error was reported.
    pub program: Option<ward_ir::Program>,
    /// Syntax and semantic diagnostics, by file (in [`Compiled::files`] order), then position.
    pub diagnostics: Vec<FileDiagnostic>,
    /// Every resolved name, sorted by file (index in [`Compiled::files`] order), then position.
    pub symbols: Vec<Symbol>,
    /// The names the set declares, with types and docs (for completion); kept when the set
    /// has errors. Empty when symbols are not recorded.
    pub names: ide::Names,
}

impl Checked {
    /// The symbol written at byte `offset` of file `file` (hover, go to definition).
    pub fn symbol_at(&self, file: usize, offset: u32) -> Option<&Symbol> {
        let after = self
            .symbols
            .partition_point(|s| (s.file, s.span.start) <= (file, offset));
        self.symbols[..after]
            .iter()
            .rev()
            .take_while(|s| s.file == file)
            .find(|s| s.span.start <= offset && offset < s.span.end.max(s.span.start + 1))
    }

    /// Every place that refers to a declaration `symbol` stands for (its declarations
    /// included): with a field shared by the actions of a rule's `on`, the uses of each.
    pub fn references<'s>(&'s self, symbol: &'s Symbol) -> impl Iterator<Item = &'s Symbol> + 's {
        self.symbols.iter().filter(move |s| {
            s.kind == symbol.kind
                && s.definitions()
                    .any(|d| symbol.definitions().any(|e| d == e))
        })
    }
}

/// Parse, resolve, type-check and lower a whole policy set.
#[salsa::tracked(returns(ref), no_eq)]
pub fn check(db: &dyn salsa::Database, set: PolicySet) -> Checked {
    check_set(db, set, checker::Mode::Referenced, true)
}

/// Check `set`; `symbols` says whether to record [`Checked::symbols`].
fn check_set(
    db: &dyn salsa::Database,
    set: PolicySet,
    mode: checker::Mode,
    symbols: bool,
) -> Checked {
    let user = set.files(db);
    let stdlib = set.stdlib(db);
    let user_parsed: Vec<&Parsed> = user.iter().map(|f| parse(db, *f)).collect();
    // Only the stdlib modules the policy set uses are parsed and checked.
    let used: Vec<&str> = user_parsed
        .iter()
        .flat_map(|p| &p.ast.items)
        .filter_map(|item| match item {
            ast::Item::Use(u) => u.path.get(1).map(|m| m.name.as_str()),
            _ => None,
        })
        .collect();
    let unused = Parsed {
        ast: ast::File::default(),
        diagnostics: Vec::new(),
    };
    let parsed: Vec<&Parsed> = user_parsed
        .iter()
        .copied()
        .chain(stdlib.iter().zip(STDLIB).map(|(f, (name, _, _))| {
            if mode == checker::Mode::WholeStdlib || used.contains(name) {
                parse(db, *f)
            } else {
                &unused
            }
        }))
        .collect();
    let sources: Vec<checker::Source<'_>> = user
        .iter()
        .chain(stdlib)
        .enumerate()
        .map(|(i, f)| checker::Source {
            path: f.path(db),
            text: f.text(db),
            ast: &parsed[i].ast,
            module: i
                .checked_sub(user.len())
                .and_then(|m| STDLIB.get(m))
                .map(|(name, _, _)| *name),
            syntax_errors: parsed[i].diagnostics.iter().any(Diagnostic::is_error),
        })
        .collect();
    let mut diagnostics: Vec<(usize, Diagnostic)> = parsed
        .iter()
        .enumerate()
        .flat_map(|(i, p)| p.diagnostics.iter().cloned().map(move |d| (i, d)))
        .collect();
    let mut outcome = checker::check(&sources, mode, symbols);
    let symbols = std::mem::take(&mut outcome.symbols);
    let names = std::mem::take(&mut outcome.names);
    diagnostics.extend(outcome.diagnostics);
    diagnostics.sort_by_key(|(file, d)| (*file, d.span().start));
    let has_error = diagnostics.iter().any(|(_, d)| d.is_error());
    Checked {
        program: if has_error { None } else { outcome.program },
        diagnostics: diagnostics
            .into_iter()
            .map(|(file, diagnostic)| FileDiagnostic {
                file: sources[file].path.to_string(),
                diagnostic,
            })
            .collect(),
        symbols,
        names,
    }
}

/// The program of a policy set, when it has no error.
#[salsa::tracked(returns(ref), no_eq)]
pub fn lower(db: &dyn salsa::Database, set: PolicySet) -> Option<ward_ir::Program> {
    check(db, set).program.clone()
}

/// The result of [`compile`].
#[derive(Clone, Debug, PartialEq)]
pub struct Compiled {
    /// `None` if any error was reported.
    pub program: Option<ward_ir::Program>,
    pub diagnostics: Vec<FileDiagnostic>,
    /// Every file diagnostics may point into, as `(path, text)`: the user's files in the order
    /// given, then the stdlib modules (`std/time.ward`, …).
    pub files: Vec<(String, String)>,
}

/// Check and lower a policy set given as `(path, text)` pairs, in a fresh database. The same
/// as [`check`] but for the symbols, which it does not record, and it hands over the program
/// instead of copying it out of the database.
pub fn compile(files: &[(String, String)]) -> Compiled {
    let db = Database::default();
    let set = db.policy_set(files);
    let checked = check_set(&db, set, checker::Mode::Referenced, false);
    let mut all = files.to_vec();
    all.extend(
        STDLIB
            .iter()
            .map(|(_, p, t)| ((*p).to_string(), (*t).to_string())),
    );
    Compiled {
        program: checked.program,
        diagnostics: checked.diagnostics,
        files: all,
    }
}

/// Check every item of every stdlib module (not only those a policy set refers to) in the
/// context of `files` (which may be empty); for the stdlib's own tests.
pub fn check_stdlib(files: &[(String, String)]) -> Vec<FileDiagnostic> {
    let db = Database::default();
    let set = db.policy_set(files);
    check_set(&db, set, checker::Mode::WholeStdlib, true).diagnostics
}

#[cfg(test)]
mod tests;
