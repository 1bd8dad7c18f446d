//! `ward-check`: name resolution, type checking and lowering of Ward policy sets to
//! [`ward_ir::Program`], behind a salsa database so the CLI and the language server share the
//! same incremental queries.
//!
//! The inputs are [`SourceFile`]s (path and text) grouped in a [`PolicySet`] together with the
//! stdlib modules; the public queries are [`parse`], [`file_items`], [`check_diagnostics`] and
//! [`check`] (the editor's: diagnostics, and symbols and names, made of one query per rule so
//! that an edit inside a rule re-checks that rule) and [`lower`] (the program, in one pass). [`compile`] is the one-shot
//! convenience used by the CLI and tests; it reports what [`check`] reports. [`Checked::symbols`]
//! records every resolved name (hover, go to definition, references) as plain data. This crate
//! knows nothing of the LSP, terminals or the runtime, and does no file IO: its inputs are
//! `(path, text)` pairs, read from disk at the edge (`ward-files`); the fence test in
//! `tests/tests/fences.rs` and `clippy.toml` hold it to that.
//!
//! ```text
//!  SourceFile ──parse──► ast + syntax diagnostics
//!  SourceFile ──interface──► the file with its rules' bodies blanked out
//!  PolicySet ──declarations──► ──rule_check (each rule), rest_check──► check_diagnostics, check: Checked { diagnostics, symbols, names }
//!  PolicySet ──lower──► Program (if no error)
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

/// Everything checking a policy set produced for the editor (the program is [`lower`]'s).
#[derive(Clone, Debug, PartialEq)]
pub struct Checked {
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

// ---------------------------------------------------------------- the incremental check
//
// `check` is assembled from finer queries, so that an edit re-runs only what it affects:
//
//   SourceFile ──interface──► the file with its rules' bodies blanked out
//   PolicySet ──declarations──► checker::Env (schema, constants, functions, windows)
//   (set, file, item) ──rule_check──► one rule's diagnostics and symbols
//   PolicySet ──rest_check──► the `default`, the tests, declaration symbols, names
//
// An edit inside a rule that keeps the positions of what follows it (the usual one-character
// change, or any edit that leaves the number of bytes and lines alike) changes the rule's
// `rule_text` only: every `interface`, hence `declarations`, is recomputed equal and salsa
// backdates it, and only that rule's `rule_check` runs again. Other edits change an
// interface (positions move), and every rule is checked again.

/// A user file as the declarations see it: its AST and text with every rule's body blanked
/// out. A blanked rule keeps its name, doc and span; its text becomes spaces but for line ends,
/// so every position in the file stays where it was.
#[derive(Clone, Debug, PartialEq, Eq)]
struct Interface {
    ast: ast::File,
    text: String,
    /// Whether the parser reported an error anywhere in the file.
    syntax_errors: bool,
}

#[salsa::tracked(returns(ref))]
fn interface(db: &dyn salsa::Database, file: SourceFile) -> Interface {
    let parsed = parse(db, file);
    let mut bytes = file.text(db).clone().into_bytes();
    let mut ast = parsed.ast.clone();
    // The checker reads no comment.
    ast.comments = Vec::new();
    for item in &mut ast.items {
        let ast::Item::Rule(rule) = item else {
            continue;
        };
        if let Some(written) = bytes.get_mut(rule.span.range()) {
            for b in written.iter_mut().filter(|b| **b != b'\n') {
                *b = b' ';
            }
        }
        *rule = ast::RuleDecl {
            span: rule.span,
            doc: rule.doc.take(),
            name: rule.name.clone(),
            on: ast::OnClause {
                span: rule.on.span,
                targets: ast::OnTargets::Actions(Vec::new()),
            },
            when: Vec::new(),
            effect: ast::Effect {
                span: rule.effect.span,
                kind: ast::EffectKind::Deny,
            },
            because: None,
        };
    }
    // Only whole UTF-8 sequences were replaced (a span starts and ends between characters),
    // each byte by a space: the text is UTF-8 still.
    let text = String::from_utf8(bytes).unwrap_or_default();
    Interface {
        ast,
        text,
        syntax_errors: parsed.diagnostics.iter().any(Diagnostic::is_error),
    }
}

/// One rule as written: its declaration and the text of its span.
#[derive(Clone, Debug, PartialEq, Eq)]
struct RuleText {
    decl: ast::RuleDecl,
    text: String,
}

/// The rule that is item `item` of `file`, if it is one.
#[salsa::tracked(returns(ref))]
fn rule_text(db: &dyn salsa::Database, file: SourceFile, item: usize) -> Option<RuleText> {
    match parse(db, file).ast.items.get(item)? {
        ast::Item::Rule(rule) => Some(RuleText {
            decl: rule.clone(),
            text: file.text(db).get(rule.span.range())?.to_string(),
        }),
        _ => None,
    }
}

/// The stdlib modules the set uses (by `use`), by index into [`STDLIB`].
fn used_modules<'a>(files: impl Iterator<Item = &'a ast::File>) -> Vec<usize> {
    let used: Vec<&str> = files
        .flat_map(|f| &f.items)
        .filter_map(|item| match item {
            ast::Item::Use(u) => u.path.get(1).map(|m| m.name.as_str()),
            _ => None,
        })
        .collect();
    (0..STDLIB.len())
        .filter(|&m| used.contains(&STDLIB[m].0))
        .collect()
}

/// The user files' interfaces, and the parses of the stdlib modules the set uses (`None` for
/// the others, which are checked as empty files).
#[allow(clippy::type_complexity)]
fn declaration_inputs(
    db: &dyn salsa::Database,
    set: PolicySet,
) -> (Vec<&Interface>, Vec<Option<&Parsed>>) {
    let interfaces: Vec<&Interface> = set.files(db).iter().map(|f| interface(db, *f)).collect();
    let used = used_modules(interfaces.iter().map(|i| &i.ast));
    let stdlib = set
        .stdlib(db)
        .iter()
        .enumerate()
        .map(|(m, f)| used.contains(&m).then(|| parse(db, *f)))
        .collect();
    (interfaces, stdlib)
}

/// The checker's view of the files: the interfaces, then the stdlib modules.
fn declaration_sources<'a>(
    db: &'a dyn salsa::Database,
    set: PolicySet,
    interfaces: &[&'a Interface],
    stdlib: &[Option<&'a Parsed>],
    empty: &'a ast::File,
) -> Vec<checker::Source<'a>> {
    let user = set
        .files(db)
        .iter()
        .zip(interfaces)
        .map(|(f, i)| checker::Source {
            path: f.path(db),
            text: &i.text,
            ast: &i.ast,
            module: None,
            syntax_errors: i.syntax_errors,
        });
    let modules = STDLIB
        .iter()
        .zip(stdlib)
        .map(|((name, path, text), parsed)| checker::Source {
            path,
            text,
            ast: parsed.map_or(empty, |p| &p.ast),
            module: Some(*name),
            syntax_errors: parsed.is_some_and(|p| p.diagnostics.iter().any(Diagnostic::is_error)),
        });
    user.chain(modules).collect()
}

/// The declarations every rule may use, checked.
#[salsa::tracked(returns(ref))]
fn declarations(db: &dyn salsa::Database, set: PolicySet) -> checker::Env {
    let (interfaces, stdlib) = declaration_inputs(db, set);
    let empty = ast::File::default();
    let sources = declaration_sources(db, set, &interfaces, &stdlib, &empty);
    checker::check_env(&sources)
}

/// What checking one part of the set reported: diagnostics by file index, and symbols.
#[derive(Clone, Debug, Default, PartialEq)]
struct PartChecked {
    diagnostics: Vec<(usize, Diagnostic)>,
    symbols: Vec<Symbol>,
}

/// A user file's declarations as another rule's check sees them: the interface's AST with the
/// blanked rules' positions cleared (checking a rule reads no other rule's place), so that an
/// edit that moves only rules leaves it equal.
#[derive(Clone, Debug, PartialEq, Eq)]
struct Declared {
    ast: ast::File,
    syntax_errors: bool,
}

#[salsa::tracked(returns(ref))]
fn declared(db: &dyn salsa::Database, file: SourceFile) -> Declared {
    let interface = interface(db, file);
    let mut ast = interface.ast.clone();
    for item in &mut ast.items {
        if let ast::Item::Rule(rule) = item {
            rule.span = Span::default();
            rule.name.span = Span::default();
            rule.on.span = Span::default();
            rule.effect.span = Span::default();
        }
    }
    Declared {
        ast,
        syntax_errors: interface.syntax_errors,
    }
}

/// Check the rule that is item `item` of user file `file`. It depends on the declarations, on
/// every file's [`declared`] and on its own [`rule_text`] only, so that an edit elsewhere that
/// moves rules only (typing inside another rule) does not re-run it. A rule that names a rule
/// (an error) is checked over the whole interfaces, where the rules' places are.
#[salsa::tracked(returns(ref))]
fn rule_check(db: &dyn salsa::Database, set: PolicySet, file: usize, item: usize) -> PartChecked {
    let env = declarations(db, set);
    let Some(input) = set.files(db).get(file) else {
        return PartChecked::default();
    };
    let Some(rule) = rule_text(db, *input, item) else {
        return PartChecked::default();
    };
    // After its own name.
    let body = (rule.decl.name.span.end.saturating_sub(rule.decl.span.start) as usize)
        .min(rule.text.len());
    if !env.names_a_rule(rule.text.get(body..).unwrap_or(&rule.text)) {
        let declared: Vec<&Declared> = set.files(db).iter().map(|f| declared(db, *f)).collect();
        let used = used_modules(declared.iter().map(|d| &d.ast));
        // The rule's text where it is written; what is before it is never read (locations,
        // which need the lines, are the program's, and the program is `lower`'s).
        let own = format!("{}{}", " ".repeat(rule.decl.span.start as usize), rule.text);
        let user = set
            .files(db)
            .iter()
            .zip(&declared)
            .enumerate()
            .map(|(i, (f, d))| checker::Source {
                path: f.path(db),
                text: if i == file { &own } else { "" },
                ast: &d.ast,
                module: None,
                syntax_errors: d.syntax_errors,
            });
        let empty = ast::File::default();
        let stdlib: Vec<Option<&Parsed>> = set
            .stdlib(db)
            .iter()
            .enumerate()
            .map(|(m, f)| used.contains(&m).then(|| parse(db, *f)))
            .collect();
        let modules = STDLIB
            .iter()
            .zip(&stdlib)
            .map(|((name, path, text), parsed)| checker::Source {
                path,
                text,
                ast: parsed.map_or(&empty, |p| &p.ast),
                module: Some(*name),
                syntax_errors: parsed
                    .is_some_and(|p| p.diagnostics.iter().any(Diagnostic::is_error)),
            });
        let sources: Vec<checker::Source<'_>> = user.chain(modules).collect();
        let (diagnostics, symbols) = checker::check_one_rule(&sources, env, file, &rule.decl);
        return PartChecked {
            diagnostics,
            symbols,
        };
    }
    let (interfaces, stdlib) = declaration_inputs(db, set);
    let empty = ast::File::default();
    let mut sources = declaration_sources(db, set, &interfaces, &stdlib, &empty);
    // The rule's own file, with the rule's text put back where it was blanked out.
    let mut text = interfaces[file].text.clone();
    if text.get(rule.decl.span.range()).is_some() {
        text.replace_range(rule.decl.span.range(), &rule.text);
    }
    sources[file].text = &text;
    let (diagnostics, symbols) = checker::check_one_rule(&sources, env, file, &rule.decl);
    PartChecked {
        diagnostics,
        symbols,
    }
}

/// Check the `default` and the tests; the declarations' own symbols and the names.
#[salsa::tracked(returns(ref))]
fn rest_check(db: &dyn salsa::Database, set: PolicySet) -> (PartChecked, ide::Names) {
    let env = declarations(db, set);
    let (interfaces, stdlib) = declaration_inputs(db, set);
    let empty = ast::File::default();
    let sources = declaration_sources(db, set, &interfaces, &stdlib, &empty);
    let (diagnostics, symbols, names) = checker::check_rest(&sources, env);
    (
        PartChecked {
            diagnostics,
            symbols,
        },
        names,
    )
}

/// The diagnostics of a policy set, for the editor: the same as [`compile`]'s. Made of finer
/// queries (see above): after an edit inside one rule, only that rule is checked again. What
/// [`check`] gives too, without gathering the symbols, so that diagnostics are published
/// before hover or highlighting needs them.
#[salsa::tracked(returns(ref))]
pub fn check_diagnostics(db: &dyn salsa::Database, set: PolicySet) -> Vec<FileDiagnostic> {
    let user = set.files(db);
    let (interfaces, _) = declaration_inputs(db, set);
    let used = used_modules(interfaces.iter().map(|i| &i.ast));
    let mut diagnostics: Vec<(usize, Diagnostic)> = Vec::new();
    for (i, f) in user.iter().enumerate() {
        diagnostics.extend(parse(db, *f).diagnostics.iter().map(|d| (i, d.clone())));
    }
    for (m, f) in set.stdlib(db).iter().enumerate() {
        if used.contains(&m) {
            let at = user.len() + m;
            diagnostics.extend(parse(db, *f).diagnostics.iter().map(|d| (at, d.clone())));
        }
    }
    let env = declarations(db, set);
    diagnostics.extend(env.outcome().0.iter().cloned());
    // What a stdlib item reports is reported by each part that checks it: once is enough
    // (a one-shot check reports it at its first use only).
    let mut stdlib_seen: Vec<(usize, &Diagnostic)> = Vec::new();
    let parts = env
        .rules()
        .iter()
        .map(|&(file, item)| rule_check(db, set, file, item))
        .chain(std::iter::once(&rest_check(db, set).0));
    for part in parts {
        for (file, d) in &part.diagnostics {
            if *file >= user.len() {
                if stdlib_seen.iter().any(|(f, e)| f == file && *e == d) {
                    continue;
                }
                stdlib_seen.push((*file, d));
            }
            diagnostics.push((*file, d.clone()));
        }
    }
    diagnostics.sort_by_key(|(file, d)| (*file, d.span().start));
    let path = |file: usize| match user.get(file) {
        Some(f) => f.path(db).clone(),
        None => STDLIB
            .get(file - user.len())
            .map_or_else(String::new, |(_, p, _)| (*p).to_string()),
    };
    diagnostics
        .into_iter()
        .map(|(file, diagnostic)| FileDiagnostic {
            file: path(file),
            diagnostic,
        })
        .collect()
}

/// The names a policy set declares, with types and docs (completion, signature help): those
/// of [`check`], without gathering the symbols.
pub fn check_names(db: &dyn salsa::Database, set: PolicySet) -> &ide::Names {
    &rest_check(db, set).1
}

/// Parse, resolve and type-check a whole policy set, for the editor: the diagnostics of
/// [`check_diagnostics`] (those of [`compile`]), with symbols and names.
#[salsa::tracked(returns(ref), no_eq)]
pub fn check(db: &dyn salsa::Database, set: PolicySet) -> Checked {
    let env = declarations(db, set);
    let mut symbols: Vec<Symbol> = env.outcome().1.to_vec();
    for &(file, item) in env.rules() {
        symbols.extend(rule_check(db, set, file, item).symbols.iter().cloned());
    }
    let (rest, names) = rest_check(db, set);
    symbols.extend(rest.symbols.iter().cloned());
    Checked {
        diagnostics: check_diagnostics(db, set).clone(),
        symbols: checker::sorted_symbols(symbols),
        names: names.clone(),
    }
}

/// The one-shot check of a set (what [`compile`] and [`lower`] use): every declaration in one
/// pass, with the program. `symbols` says whether to record [`Checked::symbols`].
fn check_set(
    db: &dyn salsa::Database,
    set: PolicySet,
    mode: checker::Mode,
    symbols: bool,
) -> (Option<ward_ir::Program>, Checked) {
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
    let program = if has_error { None } else { outcome.program };
    let checked = Checked {
        diagnostics: diagnostics
            .into_iter()
            .map(|(file, diagnostic)| FileDiagnostic {
                file: sources[file].path.to_string(),
                diagnostic,
            })
            .collect(),
        symbols,
        names,
    };
    (program, checked)
}

/// The one-shot check of a set with symbols and names, for tests holding [`check`] to it.
#[doc(hidden)]
pub fn check_whole(db: &dyn salsa::Database, set: PolicySet) -> Checked {
    check_set(db, set, checker::Mode::Referenced, true).1
}

/// The program of a policy set, when it has no error (one pass over the whole set).
#[salsa::tracked(returns(ref), no_eq)]
pub fn lower(db: &dyn salsa::Database, set: PolicySet) -> Option<ward_ir::Program> {
    check_set(db, set, checker::Mode::Referenced, false).0
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

/// Check and lower a policy set given as `(path, text)` pairs, in a fresh database, in one
/// pass: the diagnostics of [`check_diagnostics`] (a test holds them equal), no symbols, and
/// the program, handed over instead of copied out of the database.
pub fn compile(files: &[(String, String)]) -> Compiled {
    let db = Database::default();
    let set = db.policy_set(files);
    let (program, checked) = check_set(&db, set, checker::Mode::Referenced, false);
    let mut all = files.to_vec();
    all.extend(
        STDLIB
            .iter()
            .map(|(_, p, t)| ((*p).to_string(), (*t).to_string())),
    );
    Compiled {
        program,
        diagnostics: checked.diagnostics,
        files: all,
    }
}

/// Check every item of every stdlib module (not only those a policy set refers to) in the
/// context of `files` (which may be empty); for the stdlib's own tests.
pub fn check_stdlib(files: &[(String, String)]) -> Vec<FileDiagnostic> {
    let db = Database::default();
    let set = db.policy_set(files);
    check_set(&db, set, checker::Mode::WholeStdlib, true)
        .1
        .diagnostics
}

#[cfg(test)]
mod tests;
