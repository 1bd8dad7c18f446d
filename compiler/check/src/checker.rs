//! The checker proper: collects the declarations of a policy set (and of the stdlib modules it
//! uses), resolves names, type-checks every declaration and lowers it to [`ward_ir`] in the
//! same pass. Type checking and lowering share one walk so that the typed IR is the checker's
//! own record of what it inferred.
//!
//! This module works on already parsed files; it knows nothing of salsa, IO or rendering.
//! Expressions are in `expr.rs`, rules in `rule.rs`, windows in `window.rs`, tests in `test_block.rs`.

use std::borrow::Cow;
use std::cell::OnceCell;
use std::collections::HashMap;
use std::sync::Arc;

use ward_ir as ir;
use ward_syntax::ast;
use ward_syntax::{Diagnostic, FileId, Span};

use crate::Symbol;
use crate::codes;
use crate::depth::{Item, Site};
use crate::suggest::did_you_mean;
use crate::ty::{Ty, TypeNames};

/// Which stdlib items to check.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Mode {
    /// Only the items the policy set refers to (the normal case).
    Referenced,
    /// Every item of every stdlib module, for the stdlib's own tests.
    WholeStdlib,
}

/// One parsed file handed to the checker.
#[derive(Debug)]
pub(crate) struct Source<'a> {
    pub path: &'a str,
    pub text: &'a str,
    pub ast: &'a ast::File,
    /// For a stdlib file, the module name (`time`).
    pub module: Option<&'a str>,
    /// Whether the parser reported an error in this file (some warnings would only echo it).
    pub syntax_errors: bool,
}

/// The outcome of checking: the program when there is no error, and every diagnostic with the
/// index of the file it belongs to.
#[derive(Debug)]
pub(crate) struct Outcome {
    pub program: Option<ir::Program>,
    pub diagnostics: Vec<(usize, Diagnostic)>,
    /// Sorted by file, then position.
    pub symbols: Vec<Symbol>,
    pub names: crate::ide::Names,
}

/// A top-level definition.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Def {
    Enum(u32),
    Entity(u32),
    Relation(u32),
    Action(u32),
    Window(u32),
    Const(u32),
    Fn(u32),
    Rule(u32),
    /// A `use std.time` module alias: index into the stdlib files.
    Module(usize),
}

impl Def {
    pub(crate) fn kind(self) -> &'static str {
        match self {
            Def::Enum(_) => "enum",
            Def::Entity(_) => "entity type",
            Def::Relation(_) => "relation",
            Def::Action(_) => "action",
            Def::Window(_) => "window",
            Def::Const(_) => "constant",
            Def::Fn(_) => "function",
            Def::Rule(_) => "rule",
            Def::Module(_) => "module",
        }
    }
}

/// Where a name was defined.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct Origin {
    pub file: usize,
    pub span: Span,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum State {
    Todo,
    InProgress,
    Done,
}

#[derive(Clone, Debug, PartialEq)]
pub(crate) struct EnumInfo {
    pub name: String,
    pub variants: Vec<String>,
    pub index: HashMap<String, u32>,
}

#[derive(Clone, Debug, PartialEq)]
pub(crate) struct EntityInfo {
    pub name: String,
    pub attrs: Vec<(String, Ty)>,
    pub attr_index: HashMap<String, u32>,
    /// Relations whose from-type is this entity, by name.
    pub relations: HashMap<String, u32>,
}

#[derive(Clone, Debug, PartialEq)]
pub(crate) struct RelationInfo {
    pub name: String,
    pub from: Option<u32>,
    pub to: Option<u32>,
}

#[derive(Clone, Debug, PartialEq)]
pub(crate) struct ActionInfo {
    pub name: String,
    pub fields: Vec<(String, Ty)>,
    pub index: HashMap<String, u32>,
}

#[derive(Debug)]
pub(crate) struct ConstInfo<'a> {
    pub decl: &'a ast::ConstDecl,
    pub file: usize,
    pub state: State,
    /// Type, lowered value (locals numbered from 0) and the number of locals it uses; shared
    /// with the [`Env`] it was checked in.
    pub value: Option<Arc<(Ty, ir::Expr, u32)>>,
    /// The effective depth of the value (`ward_ir::limits::depth`).
    pub depth: usize,
}

#[derive(Debug)]
pub(crate) struct FnInfo<'a> {
    pub decl: &'a ast::FnDecl,
    pub file: usize,
    /// `is_exec`, or `time.business_hours` for the stdlib.
    pub display: String,
    pub sig: Option<(Vec<Ty>, Ty)>,
    pub state: State,
    pub ir_id: Option<u32>,
    pub in_cycle: bool,
}

#[derive(Debug)]
pub(crate) struct WindowInfo<'a> {
    pub decl: &'a ast::WindowDecl,
    pub file: usize,
    pub display: String,
    pub state: State,
    pub ir_id: Option<u32>,
    pub in_cycle: bool,
}

/// The checker's state for one policy set.
#[derive(Debug)]
pub(crate) struct Checker<'a> {
    pub files: &'a [Source<'a>],
    pub diags: Vec<(usize, Diagnostic)>,
    // The tables a rule's check only reads are borrowed from the [`Env`] it starts from.
    pub globals: Cow<'a, HashMap<String, Def>>,
    pub origins: HashMap<String, Origin>,
    /// Items of each stdlib module (by index into `files`).
    pub module_items: Cow<'a, HashMap<usize, HashMap<String, Def>>>,
    pub enums: Cow<'a, [EnumInfo]>,
    pub entities: Cow<'a, [EntityInfo]>,
    pub relations: Cow<'a, [RelationInfo]>,
    pub context: Cow<'a, [(String, Ty)]>,
    pub context_index: Cow<'a, HashMap<String, u32>>,
    pub actions: Cow<'a, [ActionInfo]>,
    pub action_index: Cow<'a, HashMap<String, u32>>,
    pub consts: Vec<ConstInfo<'a>>,
    pub fns: Vec<FnInfo<'a>>,
    pub windows: Vec<WindowInfo<'a>>,
    pub rules: Vec<(usize, &'a ast::RuleDecl)>,
    pub rule_names: Cow<'a, HashMap<String, u32>>,
    pub tests: Vec<(usize, &'a ast::TestDecl)>,
    pub default: Option<(usize, &'a ast::DefaultDecl)>,
    pub context_decl: Option<(usize, &'a ast::ContextDecl)>,
    /// Lowered functions and windows, by IR id.
    pub ir_fns: Vec<Option<ir::Function>>,
    pub ir_windows: Vec<Option<ir::Window>>,
    /// The effective depth of each function's body and each window's `except` chain, by IR id
    /// (1 until known, and for one already reported too deep).
    pub ir_fn_depths: Vec<usize>,
    pub ir_window_depths: Vec<usize>,
    pub regexes: Vec<String>,
    pub regex_index: HashMap<String, u32>,
    pub fn_stack: Vec<u32>,
    /// The first declaration of each user top-level name, for symbols (see [`Checker::item`]).
    pub items: Cow<'a, HashMap<String, ItemRef>>,
    /// Every name in the source and what it refers to (hover, go to definition).
    pub symbols: Vec<Symbol>,
    /// Whether to record symbols at all.
    pub record_symbols: bool,
    /// The entities of the `test` block being checked, by type and id: where each id is
    /// written in its declaration.
    pub test_entity_ids: HashMap<(u32, String), Span>,
    /// Symbols already built, to copy for the next use of the same thing.
    pub symbol_memo: crate::symbols::Memo,
    /// The calls of user functions being checked (file, span), innermost last.
    pub call_stack: Vec<(usize, Span)>,
    /// Byte offsets of the line starts of each file, for locations (computed when first
    /// needed: a rule checked alone needs those of its own file only).
    pub line_starts: Vec<OnceCell<Vec<u32>>>,
    pub const_stack: Vec<u32>,
    pub window_stack: Vec<u32>,
}

impl TypeNames for Checker<'_> {
    fn entity_name(&self, id: u32) -> &str {
        self.entities
            .get(id as usize)
            .map_or("?", |e| e.name.as_str())
    }

    fn enum_name(&self, id: u32) -> &str {
        self.enums.get(id as usize).map_or("?", |e| e.name.as_str())
    }
}

/// The builtin type names.
pub(crate) const PRIMITIVES: [&str; 5] = ["Bool", "Int", "String", "Duration", "Timestamp"];

/// Check and lower a policy set. `files` holds the user's files first, then the stdlib
/// modules (with `module` set).
/// `symbols` says whether to record [`Symbol`]s (the language server's data); a one-shot
/// compile has no use for them.
pub(crate) fn check(files: &[Source<'_>], mode: Mode, symbols: bool) -> Outcome {
    let mut ck = Checker::new(files);
    ck.record_symbols = symbols;
    ck.collect();
    ck.resolve_schema();
    if mode == Mode::WholeStdlib {
        ck.check_whole_stdlib();
    }
    let program = ck.check_items();
    ck.declaration_symbols();
    let names = if symbols {
        // Reports nothing (see `names`): the editor's tables only describe what was checked.
        ck.names()
    } else {
        crate::ide::Names::default()
    };
    let has_error = ck.diags.iter().any(|(_, d)| d.is_error());
    let symbols = sorted_symbols(std::mem::take(&mut ck.symbols));
    Outcome {
        program: if has_error { None } else { Some(program) },
        diagnostics: ck.diags,
        symbols,
        names,
    }
}

/// A declaration's place: the index of its file and its index among that file's items.
pub(crate) type ItemRef = (usize, usize);

/// The checker's state once every declaration a rule may use is checked (the schema, the
/// constants, functions and windows): owned data, declarations named by [`ItemRef`], so that
/// it can be a query's result (`lib.rs`) and each rule, the `default` and the tests can be checked
/// from it alone ([`check_env`], [`check_one_rule`], [`check_rest`]). Equal from one revision
/// to the next when an edit changes only the inside of a rule (the files it is made from have
/// their rules' bodies blanked out), so the rules' checks that depend on it are reused.
#[derive(Clone, Debug)]
pub(crate) struct Env(Box<EnvData>);

impl PartialEq for Env {
    fn eq(&self, other: &Env) -> bool {
        // Constant values may be `MAX_DEPTH` deep: compare them where the stack allows.
        stacker::maybe_grow(256 << 10, 64 << 20, || self.0 == other.0)
    }
}

/// A checked constant's type, value and number of locals (see [`ConstInfo::value`]).
type ConstValue = Arc<(Ty, ir::Expr, u32)>;
/// A function's parameter and return types.
type Signature = (Vec<Ty>, Ty);

/// A function of [`EnvData`]: [`FnInfo`] with its declaration named by place.
#[derive(Clone, Debug, PartialEq)]
struct FnEntry {
    decl: ItemRef,
    display: String,
    sig: Option<Signature>,
    state: State,
    ir_id: Option<u32>,
    in_cycle: bool,
}

#[derive(Clone, Debug, PartialEq)]
struct EnvData {
    /// What checking the declarations reported, and the names it resolved.
    diags: Vec<(usize, Diagnostic)>,
    symbols: Vec<Symbol>,
    globals: HashMap<String, Def>,
    // No `origins`: they serve collection only, and would hold every rule's place.
    module_items: HashMap<usize, HashMap<String, Def>>,
    enums: Vec<EnumInfo>,
    entities: Vec<EntityInfo>,
    relations: Vec<RelationInfo>,
    context: Vec<(String, Ty)>,
    context_index: HashMap<String, u32>,
    actions: Vec<ActionInfo>,
    action_index: HashMap<String, u32>,
    /// Declaration, state, value, depth.
    consts: Vec<(ItemRef, State, Option<ConstValue>, usize)>,
    fns: Vec<FnEntry>,
    /// Declaration, display name, state, IR id, in a cycle.
    windows: Vec<(ItemRef, String, State, Option<u32>, bool)>,
    rules: Vec<ItemRef>,
    rule_names: HashMap<String, u32>,
    tests: Vec<ItemRef>,
    default: Option<ItemRef>,
    context_decl: Option<ItemRef>,
    ir_fn_depths: Vec<usize>,
    ir_window_depths: Vec<usize>,
    regexes: Vec<String>,
    regex_index: HashMap<String, u32>,
    items: HashMap<String, ItemRef>,
}

impl Env {
    /// The rules of the set, in declaration order.
    pub(crate) fn rules(&self) -> &[ItemRef] {
        &self.0.rules
    }

    /// Whether `text` (a rule's) names one of the set's rules.
    pub(crate) fn names_a_rule(&self, text: &str) -> bool {
        text.split(|c: char| !(c.is_alphanumeric() || c == '_'))
            .any(|word| self.0.rule_names.contains_key(word))
    }

    /// What checking the declarations reported, and the names it resolved.
    pub(crate) fn outcome(&self) -> (&[(usize, Diagnostic)], &[Symbol]) {
        (&self.0.diags, &self.0.symbols)
    }
}

/// Collect the declarations of `files` (the user's files with their rules' bodies blanked
/// out, then the stdlib modules) and check the schema, constants, functions and windows.
pub(crate) fn check_env(files: &[Source<'_>]) -> Env {
    let mut ck = Checker::new(files);
    ck.collect();
    ck.resolve_schema();
    ck.check_decls();
    ck.snapshot()
}

/// Check one rule (`rule`, declared in file `file`) from `env`: its diagnostics and the names
/// it resolves. `files` are those `env` was made from, but for the rule's own file, whose text
/// is whole at least where the rule is.
pub(crate) fn check_one_rule<'a>(
    files: &'a [Source<'a>],
    env: &'a Env,
    file: usize,
    rule: &ast::RuleDecl,
) -> (Vec<(usize, Diagnostic)>, Vec<Symbol>) {
    let mut ck = Checker::restore(files, env);
    ck.check_rule(file, rule);
    (ck.diags, ck.symbols)
}

/// Check the `default` and the tests from `env`, and gather the declarations' own symbols and
/// the names the editor completes.
pub(crate) fn check_rest<'a>(
    files: &'a [Source<'a>],
    env: &'a Env,
) -> (Vec<(usize, Diagnostic)>, Vec<Symbol>, crate::ide::Names) {
    let mut ck = Checker::restore(files, env);
    ck.check_default();
    for idx in 0..ck.tests.len() {
        let (file, test) = ck.tests[idx];
        ck.check_test(file, test);
    }
    ck.declaration_symbols();
    let names = ck.names();
    (ck.diags, ck.symbols, names)
}

/// Where each declaration of `files` is, by the address of its [`ast::Item`] and of the
/// declaration inside it.
fn item_refs(files: &[Source<'_>]) -> HashMap<usize, ItemRef> {
    let mut out = HashMap::new();
    for (f, src) in files.iter().enumerate() {
        for (i, item) in src.ast.items.iter().enumerate() {
            let inner: usize = match item {
                ast::Item::Const(c) => std::ptr::from_ref(c).addr(),
                ast::Item::Fn(x) => std::ptr::from_ref(x).addr(),
                ast::Item::Window(w) => std::ptr::from_ref(w).addr(),
                ast::Item::Rule(r) => std::ptr::from_ref(r).addr(),
                ast::Item::Test(t) => std::ptr::from_ref(t).addr(),
                ast::Item::Default(d) => std::ptr::from_ref(d).addr(),
                ast::Item::Context(c) => std::ptr::from_ref(c).addr(),
                _ => std::ptr::from_ref(item).addr(),
            };
            out.insert(inner, (f, i));
            out.insert(std::ptr::from_ref(item).addr(), (f, i));
        }
    }
    out
}

/// Symbols by file and position; of several at the same place, the first recorded. Sorts
/// small keys rather than the symbols themselves, which are large.
pub(crate) fn sorted_symbols(symbols: Vec<Symbol>) -> Vec<Symbol> {
    let mut keys: Vec<(usize, u32, u32, usize)> = symbols
        .iter()
        .enumerate()
        .map(|(i, s)| (s.file, s.span.start, s.span.end, i))
        .collect();
    // The index makes every key distinct, so an unstable sort keeps the recorded order.
    keys.sort_unstable();
    keys.dedup_by(|a, b| (a.0, a.1, a.2) == (b.0, b.1, b.2));
    let mut slots: Vec<Option<Symbol>> = symbols.into_iter().map(Some).collect();
    keys.iter()
        .filter_map(|&(_, _, _, i)| slots[i].take())
        .collect()
}

impl<'a> Checker<'a> {
    fn new(files: &'a [Source<'a>]) -> Checker<'a> {
        Checker {
            files,
            diags: Vec::new(),
            globals: Cow::Owned(HashMap::new()),
            origins: HashMap::new(),
            module_items: Cow::Owned(HashMap::new()),
            enums: Cow::Owned(Vec::new()),
            entities: Cow::Owned(Vec::new()),
            relations: Cow::Owned(Vec::new()),
            context: Cow::Owned(Vec::new()),
            context_index: Cow::Owned(HashMap::new()),
            actions: Cow::Owned(Vec::new()),
            action_index: Cow::Owned(HashMap::new()),
            consts: Vec::new(),
            fns: Vec::new(),
            windows: Vec::new(),
            rules: Vec::new(),
            rule_names: Cow::Owned(HashMap::new()),
            tests: Vec::new(),
            default: None,
            context_decl: None,
            ir_fns: Vec::new(),
            ir_windows: Vec::new(),
            ir_fn_depths: Vec::new(),
            ir_window_depths: Vec::new(),
            regexes: Vec::new(),
            regex_index: HashMap::new(),
            fn_stack: Vec::new(),
            items: Cow::Owned(HashMap::new()),
            symbols: Vec::new(),
            record_symbols: true,
            test_entity_ids: HashMap::new(),
            symbol_memo: crate::symbols::Memo::default(),
            call_stack: Vec::new(),
            line_starts: files.iter().map(|_| OnceCell::new()).collect(),
            const_stack: Vec::new(),
            window_stack: Vec::new(),
        }
    }

    /// The owned copy of this checker's state (see [`Env`]).
    fn snapshot(mut self) -> Env {
        let refs = item_refs(self.files);
        let at = |addr: usize| refs.get(&addr).copied().unwrap_or((usize::MAX, usize::MAX));
        let addr = |r: &dyn std::any::Any| std::ptr::from_ref(r).addr();
        Env(Box::new(EnvData {
            diags: std::mem::take(&mut self.diags),
            symbols: std::mem::take(&mut self.symbols),
            consts: self
                .consts
                .iter()
                .map(|c| (at(addr(c.decl)), c.state, c.value.clone(), c.depth))
                .collect(),
            fns: self
                .fns
                .iter()
                .map(|f| FnEntry {
                    decl: at(addr(f.decl)),
                    display: f.display.clone(),
                    sig: f.sig.clone(),
                    state: f.state,
                    ir_id: f.ir_id,
                    in_cycle: f.in_cycle,
                })
                .collect(),
            windows: self
                .windows
                .iter()
                .map(|w| {
                    (
                        at(addr(w.decl)),
                        w.display.clone(),
                        w.state,
                        w.ir_id,
                        w.in_cycle,
                    )
                })
                .collect(),
            rules: self.rules.iter().map(|(_, r)| at(addr(*r))).collect(),
            tests: self.tests.iter().map(|(_, t)| at(addr(*t))).collect(),
            default: self.default.map(|(_, d)| at(addr(d))),
            context_decl: self.context_decl.map(|(_, c)| at(addr(c))),
            items: self.items.into_owned(),
            globals: self.globals.into_owned(),
            module_items: self.module_items.into_owned(),
            enums: self.enums.into_owned(),
            entities: self.entities.into_owned(),
            relations: self.relations.into_owned(),
            context: self.context.into_owned(),
            context_index: self.context_index.into_owned(),
            actions: self.actions.into_owned(),
            action_index: self.action_index.into_owned(),
            rule_names: self.rule_names.into_owned(),
            ir_fn_depths: self.ir_fn_depths,
            ir_window_depths: self.ir_window_depths,
            regexes: self.regexes,
            regex_index: self.regex_index,
        }))
    }

    /// A checker in the state `env` records, over `files` (the files it was made from).
    fn restore(files: &'a [Source<'a>], env: &'a Env) -> Checker<'a> {
        let env = &*env.0;
        let item = |(f, i): ItemRef| -> &'a ast::Item { &files[f].ast.items[i] };
        let wrong = || -> ! { unreachable!("a checker restored over other files than its own") };
        let mut ck = Checker::new(files);
        ck.globals = Cow::Borrowed(&env.globals);
        ck.module_items = Cow::Borrowed(&env.module_items);
        ck.enums = Cow::Borrowed(env.enums.as_slice());
        ck.entities = Cow::Borrowed(env.entities.as_slice());
        ck.relations = Cow::Borrowed(env.relations.as_slice());
        ck.context = Cow::Borrowed(env.context.as_slice());
        ck.context_index = Cow::Borrowed(&env.context_index);
        ck.actions = Cow::Borrowed(env.actions.as_slice());
        ck.action_index = Cow::Borrowed(&env.action_index);
        ck.consts = env
            .consts
            .iter()
            .map(|(r, state, value, depth)| match item(*r) {
                ast::Item::Const(decl) => ConstInfo {
                    decl,
                    file: r.0,
                    state: *state,
                    value: value.clone(),
                    depth: *depth,
                },
                _ => wrong(),
            })
            .collect();
        ck.fns = env
            .fns
            .iter()
            .map(|f| match item(f.decl) {
                ast::Item::Fn(decl) => FnInfo {
                    decl,
                    file: f.decl.0,
                    display: f.display.clone(),
                    sig: f.sig.clone(),
                    state: f.state,
                    ir_id: f.ir_id,
                    in_cycle: f.in_cycle,
                },
                _ => wrong(),
            })
            .collect();
        ck.windows = env
            .windows
            .iter()
            .map(|(r, display, state, ir_id, in_cycle)| match item(*r) {
                ast::Item::Window(decl) => WindowInfo {
                    decl,
                    file: r.0,
                    display: display.clone(),
                    state: *state,
                    ir_id: *ir_id,
                    in_cycle: *in_cycle,
                },
                _ => wrong(),
            })
            .collect();
        ck.rules = env
            .rules
            .iter()
            .map(|r| match item(*r) {
                ast::Item::Rule(decl) => (r.0, decl),
                _ => wrong(),
            })
            .collect();
        ck.rule_names = Cow::Borrowed(&env.rule_names);
        ck.tests = env
            .tests
            .iter()
            .map(|r| match item(*r) {
                ast::Item::Test(decl) => (r.0, decl),
                _ => wrong(),
            })
            .collect();
        ck.default = env.default.map(|r| match item(r) {
            ast::Item::Default(decl) => (r.0, decl),
            _ => wrong(),
        });
        ck.context_decl = env.context_decl.map(|r| match item(r) {
            ast::Item::Context(decl) => (r.0, decl),
            _ => wrong(),
        });
        ck.items = Cow::Borrowed(&env.items);
        ck.ir_fns = env.ir_fn_depths.iter().map(|_| None).collect();
        ck.ir_windows = env.ir_window_depths.iter().map(|_| None).collect();
        ck.ir_fn_depths = env.ir_fn_depths.clone();
        ck.ir_window_depths = env.ir_window_depths.clone();
        ck.regexes = env.regexes.clone();
        ck.regex_index = env.regex_index.clone();
        ck
    }

    /// The first declaration of the user top-level name `name`.
    pub(crate) fn item(&self, name: &str) -> Option<(usize, &'a ast::Item)> {
        let files = self.files;
        let &(f, i) = self.items.get(name)?;
        Some((f, files.get(f)?.ast.items.get(i)?))
    }

    pub(crate) fn report(&mut self, file: usize, diag: Diagnostic) {
        self.diags.push((file, diag));
    }

    /// A secondary label pointing at `origin`, seen from a diagnostic reported in `file`.
    pub(crate) fn label_file(&self, from: usize, origin: usize) -> Option<FileId> {
        (from != origin).then(|| FileId(u32::try_from(origin).unwrap_or(u32::MAX)))
    }

    pub(crate) fn text(&self, file: usize, span: Span) -> &'a str {
        self.files[file].text.get(span.range()).unwrap_or("")
    }

    /// `path:line:col` of a span's start (line and column 1-based, column in characters).
    pub(crate) fn location(&self, file: usize, span: Span) -> ir::Location {
        let text = self.files[file].text;
        let starts = self.line_starts[file].get_or_init(|| {
            std::iter::once(0)
                .chain(text.match_indices('\n').map(|(i, _)| i as u32 + 1))
                .collect()
        });
        let offset = (span.start as usize).min(text.len());
        let line = starts.partition_point(|&s| s as usize <= offset).max(1);
        let line_start = starts[line - 1] as usize;
        let column = text
            .get(line_start..offset)
            .map_or(0, |s| s.chars().count())
            + 1;
        ir::Location {
            file: self.files[file].path.to_string(),
            line: line as u32,
            column: column as u32,
        }
    }

    // ---------------------------------------------------------------- collection

    fn collect(&mut self) {
        let files = self.files;
        // Stdlib modules first, so that `use` can see their items.
        for (idx, src) in files.iter().enumerate() {
            if src.module.is_some() {
                let mut items = HashMap::new();
                for item in &src.ast.items {
                    let def = match item {
                        ast::Item::Const(c) => self.add_const(c, idx),
                        ast::Item::Fn(f) => self.add_fn(f, idx),
                        ast::Item::Window(w) => self.add_window(w, idx),
                        ast::Item::Use(_) => continue,
                        other => {
                            self.report(
                                idx,
                                Diagnostic::error(
                                    codes::BAD_STDLIB_ITEM,
                                    "a stdlib module may only declare `const`, `fn` and `window` items",
                                    other.span(),
                                ),
                            );
                            continue;
                        }
                    };
                    if let Some(name) = item.name() {
                        items.entry(name.name.clone()).or_insert(def);
                    }
                }
                self.module_items.to_mut().insert(idx, items);
            }
        }
        for (idx, src) in files.iter().enumerate() {
            if src.module.is_some() {
                continue;
            }
            for (index, item) in src.ast.items.iter().enumerate() {
                self.collect_item(item, idx, index);
            }
        }
    }

    fn add_const(&mut self, decl: &'a ast::ConstDecl, file: usize) -> Def {
        self.consts.push(ConstInfo {
            decl,
            file,
            state: State::Todo,
            value: None,
            depth: 1,
        });
        Def::Const(self.consts.len() as u32 - 1)
    }

    fn qualified(&self, file: usize, name: &str) -> String {
        match self.files[file].module {
            Some(module) => format!("{module}.{name}"),
            None => name.to_string(),
        }
    }

    fn add_fn(&mut self, decl: &'a ast::FnDecl, file: usize) -> Def {
        let display = self.qualified(file, &decl.name.name);
        self.fns.push(FnInfo {
            decl,
            file,
            display,
            sig: None,
            state: State::Todo,
            ir_id: None,
            in_cycle: false,
        });
        Def::Fn(self.fns.len() as u32 - 1)
    }

    fn add_window(&mut self, decl: &'a ast::WindowDecl, file: usize) -> Def {
        let display = self.qualified(file, &decl.name.name);
        self.windows.push(WindowInfo {
            decl,
            file,
            display,
            state: State::Todo,
            ir_id: None,
            in_cycle: false,
        });
        Def::Window(self.windows.len() as u32 - 1)
    }

    /// Enter `name` in the policy set's namespace; a second definition is an error pointing
    /// at both.
    fn define(&mut self, name: &ast::Ident, file: usize, def: Def) {
        if let Some(first) = self.origins.get(&name.name).copied() {
            let kind = self.globals.get(&name.name).map_or("name", |d| d.kind());
            let diag = Diagnostic::error(
                codes::DUPLICATE_NAME,
                format!("`{}` is defined more than once", name.name),
                name.span,
            )
            .with_label(format!("second definition of `{}`", name.name))
            .with_secondary(
                self.label_file(file, first.file),
                first.span,
                format!("first defined here as a {kind}"),
            )
            .with_help(
                "all top-level names of a policy set share one namespace: rename one of them",
            );
            self.report(file, diag);
            return;
        }
        self.origins.insert(
            name.name.clone(),
            Origin {
                file,
                span: name.span,
            },
        );
        self.globals.to_mut().insert(name.name.clone(), def);
    }

    fn collect_item(&mut self, item: &'a ast::Item, file: usize, index: usize) {
        if let Some(name) = item.name() {
            self.items
                .to_mut()
                .entry(name.name.clone())
                .or_insert((file, index));
        }
        match item {
            ast::Item::Use(u) => self.collect_use(u, file),
            ast::Item::Enum(e) => {
                let mut index = HashMap::new();
                let mut variants = Vec::new();
                let mut first: HashMap<&str, Span> = HashMap::new();
                for v in &e.variants {
                    if let Some(prev) = first.get(v.name.name.as_str()) {
                        let diag = Diagnostic::error(
                            codes::DUPLICATE_VARIANT,
                            format!(
                                "variant `{}` of enum `{}` is declared twice",
                                v.name.name, e.name.name
                            ),
                            v.name.span,
                        )
                        .with_secondary(None, *prev, "first declared here")
                        .with_help("remove one of them");
                        self.report(file, diag);
                        continue;
                    }
                    first.insert(&v.name.name, v.name.span);
                    index.insert(v.name.name.clone(), variants.len() as u32);
                    variants.push(v.name.name.clone());
                }
                self.enums.to_mut().push(EnumInfo {
                    name: e.name.name.clone(),
                    variants,
                    index,
                });
                self.define(&e.name, file, Def::Enum(self.enums.len() as u32 - 1));
            }
            ast::Item::Entity(e) => {
                self.entities.to_mut().push(EntityInfo {
                    name: e.name.name.clone(),
                    attrs: Vec::new(),
                    attr_index: HashMap::new(),
                    relations: HashMap::new(),
                });
                self.define(&e.name, file, Def::Entity(self.entities.len() as u32 - 1));
            }
            ast::Item::Relation(r) => {
                self.relations.to_mut().push(RelationInfo {
                    name: r.name.name.clone(),
                    from: None,
                    to: None,
                });
                self.define(
                    &r.name,
                    file,
                    Def::Relation(self.relations.len() as u32 - 1),
                );
            }
            ast::Item::Context(c) => {
                if let Some((first_file, first)) = self.context_decl {
                    let diag = Diagnostic::error(
                        codes::DUPLICATE_CONTEXT,
                        "a policy set may declare only one `context`",
                        c.keyword,
                    )
                    .with_label("second `context`")
                    .with_secondary(
                        self.label_file(file, first_file),
                        first.keyword,
                        "first `context` here",
                    )
                    .with_help("merge the fields into the first `context` block");
                    self.report(file, diag);
                } else {
                    self.context_decl = Some((file, c));
                }
            }
            ast::Item::Action(a) => {
                self.actions.to_mut().push(ActionInfo {
                    name: a.name.name.clone(),
                    fields: Vec::new(),
                    index: HashMap::new(),
                });
                let id = self.actions.len() as u32 - 1;
                self.action_index
                    .to_mut()
                    .entry(a.name.name.clone())
                    .or_insert(id);
                self.define(&a.name, file, Def::Action(id));
            }
            ast::Item::Window(w) => {
                let def = self.add_window(w, file);
                self.define(&w.name, file, def);
            }
            ast::Item::Const(c) => {
                let def = self.add_const(c, file);
                self.define(&c.name, file, def);
            }
            ast::Item::Fn(f) => {
                if ward_ir::BUILTINS.iter().any(|b| b.name == f.name.name) {
                    let diag = Diagnostic::error(
                        codes::FUNCTION_NAMED_LIKE_BUILTIN,
                        format!("function `{}` has the name of a builtin", f.name.name),
                        f.name.span,
                    )
                    .with_help("builtins cannot be redefined: rename the function");
                    self.report(file, diag);
                }
                let def = self.add_fn(f, file);
                self.define(&f.name, file, def);
            }
            ast::Item::Default(d) => {
                if let Some((first_file, first)) = self.default {
                    let diag = Diagnostic::error(
                        codes::DUPLICATE_DEFAULT,
                        "a policy set may have only one `default`",
                        d.span,
                    )
                    .with_label("second `default`")
                    .with_secondary(
                        self.label_file(file, first_file),
                        first.span,
                        "first `default` here",
                    )
                    .with_help("remove one of them");
                    self.report(file, diag);
                } else {
                    self.default = Some((file, d));
                }
            }
            ast::Item::Rule(r) => {
                self.rules.push((file, r));
                let id = self.rules.len() as u32 - 1;
                self.rule_names
                    .to_mut()
                    .entry(r.name.name.clone())
                    .or_insert(id);
                self.define(&r.name, file, Def::Rule(id));
            }
            ast::Item::Test(t) => self.tests.push((file, t)),
        }
    }

    fn collect_use(&mut self, u: &'a ast::UseDecl, file: usize) {
        let span = u.path.first().map_or(u.span, |first| {
            u.path
                .last()
                .map_or(first.span, |last| first.span.to(last.span))
        });
        let modules: Vec<(usize, &str)> = self
            .files
            .iter()
            .enumerate()
            .filter_map(|(i, f)| f.module.map(|m| (i, m)))
            .collect();
        let names: Vec<&str> = u.path.iter().map(|i| i.name.as_str()).collect();
        let module = match names.as_slice() {
            ["std", m] => modules.iter().find(|(_, name)| name == m).map(|(i, _)| *i),
            _ => None,
        };
        let Some(module) = module else {
            let written = names.join(".");
            let candidates: Vec<String> = modules.iter().map(|(_, m)| format!("std.{m}")).collect();
            let mut diag = Diagnostic::error(
                codes::UNKNOWN_MODULE,
                format!("unknown stdlib module `{written}`"),
                span,
            );
            let help = did_you_mean(&written, candidates.iter().map(String::as_str))
                .unwrap_or_else(|| {
                    format!(
                        "the stdlib modules are {}",
                        candidates
                            .iter()
                            .map(|c| format!("`{c}`"))
                            .collect::<Vec<_>>()
                            .join(", ")
                    )
                });
            diag = diag.with_help(help);
            self.report(file, diag);
            return;
        };
        let alias = u.path.last().cloned();
        match &u.names {
            None => {
                if let Some(alias) = alias {
                    self.define(&alias, file, Def::Module(module));
                }
            }
            Some(list) => {
                for name in list {
                    let def = self
                        .module_items
                        .get(&module)
                        .and_then(|items| items.get(&name.name))
                        .copied();
                    match def {
                        Some(def) => self.define(name, file, def),
                        None => {
                            let module_name = self.files[module].module.unwrap_or("?");
                            let help = self.module_items.get(&module).and_then(|items| {
                                did_you_mean(&name.name, items.keys().map(String::as_str))
                            });
                            let mut diag = Diagnostic::error(
                                codes::UNKNOWN_MODULE,
                                format!("module `std.{module_name}` has no item `{}`", name.name),
                                name.span,
                            );
                            if let Some(help) = help {
                                diag = diag.with_help(help);
                            }
                            self.report(file, diag);
                        }
                    }
                }
            }
        }
    }

    // ---------------------------------------------------------------- schema

    /// Resolve a written type. `optional_ok` says whether `T?` is allowed here; `what` names
    /// the place for the diagnostic.
    pub(crate) fn resolve_type(
        &mut self,
        file: usize,
        ty: &ast::TypeExpr,
        optional_ok: bool,
        what: &str,
    ) -> Ty {
        match &ty.kind {
            ast::TypeExprKind::Named(name) => match name.name.as_str() {
                "Bool" => Ty::Bool,
                "Int" => Ty::Int,
                "String" => Ty::String,
                "Duration" => Ty::Duration,
                "Timestamp" => Ty::Timestamp,
                other => match self.globals.get(other) {
                    Some(Def::Entity(id)) => {
                        let id = *id;
                        self.def_symbol(file, name.span, other, Def::Entity(id));
                        Ty::Entity(id)
                    }
                    Some(Def::Enum(id)) => {
                        let id = *id;
                        self.def_symbol(file, name.span, other, Def::Enum(id));
                        Ty::Enum(id)
                    }
                    Some(def) => {
                        let diag = Diagnostic::error(codes::UNKNOWN_TYPE, format!("`{other}` is a {}, not a type", def.kind()), name.span)
                            .with_help("types are `Bool`, `Int`, `String`, `Duration`, `Timestamp`, `Set<T>`, entity types and enums");
                        self.report(file, diag);
                        Ty::Error
                    }
                    None => {
                        let candidates: Vec<&str> = PRIMITIVES
                            .iter()
                            .copied()
                            .chain(self.entities.iter().map(|e| e.name.as_str()))
                            .chain(self.enums.iter().map(|e| e.name.as_str()))
                            .collect();
                        let mut diag = Diagnostic::error(
                            codes::UNKNOWN_TYPE,
                            format!("unknown type `{other}`"),
                            name.span,
                        );
                        if let Some(help) = did_you_mean(other, candidates) {
                            diag = diag.with_help(help);
                        }
                        self.report(file, diag);
                        Ty::Error
                    }
                },
            },
            ast::TypeExprKind::Set(inner) => {
                if matches!(inner.kind, ast::TypeExprKind::Optional(_)) {
                    let diag = Diagnostic::error(
                        codes::OPTIONAL_NOT_ALLOWED,
                        "a set cannot hold optional values",
                        inner.span,
                    )
                    .with_help("remove the `?`: a set simply leaves absent values out");
                    self.report(file, diag);
                }
                let elem = self.resolve_type(file, inner, true, what);
                Ty::Set(Box::new(elem.strip_optional().clone()))
            }
            ast::TypeExprKind::Optional(inner) => {
                if matches!(inner.kind, ast::TypeExprKind::Optional(_)) {
                    let diag = Diagnostic::error(
                        codes::OPTIONAL_NOT_ALLOWED,
                        "optional types cannot be nested",
                        ty.span,
                    )
                    .with_help("write a single `?`");
                    self.report(file, diag);
                    return self.resolve_type(file, inner, true, what);
                }
                let inner_ty = self.resolve_type(file, inner, true, what);
                if !optional_ok {
                    let diag = Diagnostic::error(codes::OPTIONAL_NOT_ALLOWED, format!("{what} cannot be optional"), ty.span)
                        .with_help("only entity attributes and `context` fields may be optional: remove the `?`");
                    self.report(file, diag);
                    return inner_ty;
                }
                inner_ty.optional()
            }
        }
    }

    fn resolve_fields(
        &mut self,
        file: usize,
        fields: &[ast::FieldDecl],
        optional_ok: bool,
        owner: &str,
        what: &str,
    ) -> (Vec<(String, Ty)>, HashMap<String, u32>) {
        let mut list = Vec::new();
        let mut index = HashMap::new();
        let mut spans: HashMap<&str, Span> = HashMap::new();
        for field in fields {
            let ty = self.resolve_type(file, &field.ty, optional_ok, what);
            if let Some(prev) = spans.get(field.name.name.as_str()) {
                let diag = Diagnostic::error(
                    codes::DUPLICATE_FIELD,
                    format!(
                        "{} `{}` of {owner} is declared twice",
                        what.rsplit(' ').next().unwrap_or("field"),
                        field.name.name
                    ),
                    field.name.span,
                )
                .with_secondary(None, *prev, "first declared here")
                .with_help("remove or rename one of them");
                self.report(file, diag);
                continue;
            }
            spans.insert(&field.name.name, field.name.span);
            index.insert(field.name.name.clone(), list.len() as u32);
            list.push((field.name.name.clone(), ty));
        }
        (list, index)
    }

    fn resolve_schema(&mut self) {
        let files = self.files;
        let mut entity_id = 0u32;
        let mut relation_id = 0u32;
        let mut action_id = 0u32;
        for (file, src) in files.iter().enumerate() {
            if src.module.is_some() {
                continue;
            }
            for item in &src.ast.items {
                match item {
                    ast::Item::Entity(e) => {
                        let owner = format!("entity `{}`", e.name.name);
                        let (attrs, index) =
                            self.resolve_fields(file, &e.fields, true, &owner, "an attribute");
                        let info = &mut self.entities.to_mut()[entity_id as usize];
                        info.attrs = attrs;
                        info.attr_index = index;
                        entity_id += 1;
                    }
                    ast::Item::Relation(r) => {
                        let from = self.relation_end(file, &r.from);
                        let to = self.relation_end(file, &r.to);
                        let info = &mut self.relations.to_mut()[relation_id as usize];
                        info.from = from;
                        info.to = to;
                        relation_id += 1;
                    }
                    ast::Item::Action(a) => {
                        let owner = format!("action `{}`", a.name.name);
                        let (fields, index) =
                            self.resolve_fields(file, &a.fields, false, &owner, "an action field");
                        let info = &mut self.actions.to_mut()[action_id as usize];
                        info.fields = fields;
                        info.index = index;
                        action_id += 1;
                    }
                    _ => {}
                }
            }
        }
        if let Some((file, ctx)) = self.context_decl {
            let (fields, index) =
                self.resolve_fields(file, &ctx.fields, true, "the context", "a context field");
            self.context = Cow::Owned(fields);
            self.context_index = Cow::Owned(index);
        }
        // Relations by from-type; a relation named like an attribute is ambiguous (#15).
        let mut relation_id = 0u32;
        for (file, src) in files.iter().enumerate() {
            if src.module.is_some() {
                continue;
            }
            for item in &src.ast.items {
                let ast::Item::Relation(r) = item else {
                    continue;
                };
                let id = relation_id;
                relation_id += 1;
                if self.globals.get(&r.name.name) != Some(&Def::Relation(id)) {
                    continue;
                }
                let Some(from) = self.relations[id as usize].from else {
                    continue;
                };
                let entity = &mut self.entities.to_mut()[from as usize];
                if entity.attr_index.contains_key(&r.name.name) {
                    let name = entity.name.clone();
                    let diag = Diagnostic::error(
                        codes::RELATION_SHADOWS_ATTRIBUTE,
                        format!(
                            "relation `{}` has the name of an attribute of `{name}`",
                            r.name.name
                        ),
                        r.name.span,
                    )
                    .with_help(format!(
                        "`x.{}` must mean one thing: rename the relation or the attribute",
                        r.name.name
                    ));
                    self.report(file, diag);
                    continue;
                }
                entity.relations.insert(r.name.name.clone(), id);
            }
        }
        // An action field named like a context field is ambiguous in every rule (#13).
        let files = self.files;
        let mut action_id = 0usize;
        for (file, src) in files.iter().enumerate() {
            if src.module.is_some() {
                continue;
            }
            for item in &src.ast.items {
                let ast::Item::Action(a) = item else { continue };
                action_id += 1;
                for field in &a.fields {
                    if self.context_index.contains_key(&field.name.name) {
                        let diag = Diagnostic::error(
                            codes::FIELD_SHADOWS_CONTEXT,
                            format!(
                                "field `{}` of action `{}` has the name of a context field",
                                field.name.name, a.name.name
                            ),
                            field.name.span,
                        )
                        .with_help(
                            "a name inside a rule must mean one thing: rename the action field",
                        );
                        self.report(file, diag);
                    }
                }
            }
        }
        debug_assert_eq!(action_id, self.actions.len());
    }

    fn relation_end(&mut self, file: usize, ty: &ast::TypeExpr) -> Option<u32> {
        match self.resolve_type(file, ty, false, "a relation end") {
            Ty::Entity(id) => Some(id),
            Ty::Error => None,
            other => {
                let shown = self.show(&other);
                let diag = Diagnostic::error(
                    codes::RELATION_END_NOT_ENTITY,
                    format!("a relation connects entities, found `{shown}`"),
                    ty.span,
                )
                .with_help("both ends of a relation must be entity types");
                self.report(file, diag);
                None
            }
        }
    }

    // ---------------------------------------------------------------- items

    fn check_items(&mut self) -> ir::Program {
        self.check_decls();
        let mut rules = Vec::with_capacity(self.rules.len());
        for idx in 0..self.rules.len() {
            let (file, rule) = self.rules[idx];
            rules.push(self.check_rule(file, rule));
        }
        let default = self.check_default();
        let mut tests = Vec::with_capacity(self.tests.len());
        for idx in 0..self.tests.len() {
            let (file, test) = self.tests[idx];
            tests.push(self.check_test(file, test));
        }
        self.program(rules, default, tests)
    }

    /// Give IR ids to the user's functions and windows and check every constant, function and
    /// window, each after what it refers to (so checking one never recurses through a long
    /// chain): what the rules, the `default` and the tests may use.
    fn check_decls(&mut self) {
        // User functions and windows get IR ids in declaration order; stdlib ones when used.
        for idx in 0..self.fns.len() {
            if self.files[self.fns[idx].file].module.is_none() {
                self.fn_ir_id(idx as u32);
            }
        }
        for idx in 0..self.windows.len() {
            if self.files[self.windows[idx].file].module.is_none() {
                self.window_ir_id(idx as u32);
            }
        }
        // Each after what it refers to, so checking one never recurses through a long chain.
        for item in self.dependency_order() {
            match item {
                Item::Window(w) => {
                    self.ensure_window(w);
                }
                Item::Const(c) => {
                    self.ensure_const(c);
                }
                Item::Fn(f) => self.ensure_fn_body(f),
            }
        }
    }

    /// The program, once everything is checked.
    fn program(
        &mut self,
        rules: Vec<ir::Rule>,
        default: ir::Effect,
        tests: Vec<ir::Test>,
    ) -> ir::Program {
        let schema = ir::Schema {
            enums: self
                .enums
                .iter()
                .map(|e| ir::EnumType {
                    name: e.name.clone(),
                    variants: e.variants.clone(),
                })
                .collect(),
            entities: self
                .entities
                .iter()
                .map(|e| ir::EntityType {
                    name: e.name.clone(),
                    attrs: fields_ir(&e.attrs),
                })
                .collect(),
            relations: self
                .relations
                .iter()
                .map(|r| ir::Relation {
                    name: r.name.clone(),
                    from: ir::EntityTypeId(r.from.unwrap_or(0)),
                    to: ir::EntityTypeId(r.to.unwrap_or(0)),
                })
                .collect(),
            context: fields_ir(&self.context),
            actions: self
                .actions
                .iter()
                .map(|a| ir::Action {
                    name: a.name.clone(),
                    fields: fields_ir(&a.fields),
                })
                .collect(),
        };
        ir::Program {
            schema,
            windows: std::mem::take(&mut self.ir_windows)
                .into_iter()
                .flatten()
                .collect(),
            functions: std::mem::take(&mut self.ir_fns)
                .into_iter()
                .flatten()
                .collect(),
            rules,
            default,
            regexes: std::mem::take(&mut self.regexes),
            tests,
        }
    }

    fn check_whole_stdlib(&mut self) {
        let stdlib = |file: usize| self.files[file].module.is_some();
        let windows: Vec<u32> = (0..self.windows.len() as u32)
            .filter(|&w| stdlib(self.windows[w as usize].file))
            .collect();
        let consts: Vec<u32> = (0..self.consts.len() as u32)
            .filter(|&c| stdlib(self.consts[c as usize].file))
            .collect();
        let fns: Vec<u32> = (0..self.fns.len() as u32)
            .filter(|&f| stdlib(self.fns[f as usize].file))
            .collect();
        for w in windows {
            self.ensure_window(w);
        }
        for c in consts {
            self.ensure_const(c);
        }
        for f in fns {
            self.ensure_fn_body(f);
        }
    }

    /// A symbol at the name of every user declaration, so hovering it shows it too: items,
    /// and the attributes, action and context fields and enum variants they declare.
    fn declaration_symbols(&mut self) {
        if !self.record_symbols {
            return;
        }
        let items: Vec<(usize, &'a ast::Item)> = self
            .items
            .values()
            .map(|&(f, i)| (f, &self.files[f].ast.items[i]))
            .collect();
        for (file, item) in items {
            let Some(name) = item.name() else { continue };
            let Some(def) = self.globals.get(&name.name).copied() else {
                continue;
            };
            self.def_symbol(file, name.span, &name.name, def);
            match (item, def) {
                (ast::Item::Entity(e), Def::Entity(id)) => {
                    for field in &e.fields {
                        let attr = self.entities[id as usize]
                            .attr_index
                            .get(&field.name.name)
                            .copied();
                        if let Some(attr) = attr {
                            self.attr_symbol(file, field.name.span, id, attr);
                        }
                    }
                }
                (ast::Item::Action(a), Def::Action(id)) => {
                    for field in &a.fields {
                        let info = &self.actions[id as usize];
                        let ty = info
                            .index
                            .get(&field.name.name)
                            .map(|&f| info.fields[f as usize].1.clone());
                        if let Some(ty) = ty {
                            let owner = a.name.name.clone();
                            self.field_symbol(
                                file,
                                field.name.span,
                                &field.name.name,
                                &ty,
                                Some(&owner),
                            );
                        }
                    }
                }
                (ast::Item::Enum(e), Def::Enum(id)) => {
                    for v in &e.variants {
                        let index = self.enums[id as usize].index.get(&v.name.name).copied();
                        if let Some(index) = index {
                            self.variant_symbol(file, v.name.span, id, index);
                        }
                    }
                }
                _ => {}
            }
        }
        if let Some((file, ctx)) = self.context_decl {
            for field in &ctx.fields {
                let ty = self
                    .context_index
                    .get(&field.name.name)
                    .map(|&f| self.context[f as usize].1.clone());
                if let Some(ty) = ty {
                    self.field_symbol(file, field.name.span, &field.name.name, &ty, None);
                }
            }
        }
    }

    /// The names the set declares, with their types and docs, for the editor.
    /// Checking what only the names need (the signatures and constants of stdlib items no
    /// declaration uses) reports nothing: those items are not part of the program.
    fn names(&mut self) -> crate::ide::Names {
        let (diags, symbols) = (self.diags.len(), self.symbols.len());
        let names = self.names_unreported();
        self.diags.truncate(diags);
        self.symbols.truncate(symbols);
        names
    }

    fn names_unreported(&mut self) -> crate::ide::Names {
        use crate::ide;
        let doc = |s: Option<&str>| s.map(|d| d.trim().to_string()).filter(|d| !d.is_empty());
        let field_docs = |item: Option<(usize, &ast::Item)>| -> Vec<(String, Option<String>)> {
            let fields = match item.map(|(_, i)| i) {
                Some(ast::Item::Entity(e)) => &e.fields,
                Some(ast::Item::Action(a)) => &a.fields,
                _ => return Vec::new(),
            };
            fields
                .iter()
                .map(|f| (f.name.name.clone(), doc(f.doc.as_deref())))
                .collect()
        };
        let fields = |ck: &Self, list: &[(String, Ty)], docs: &[(String, Option<String>)]| {
            list.iter()
                .map(|(n, t)| ide::FieldInfo {
                    name: n.clone(),
                    ty: ck.show(t),
                    doc: docs
                        .iter()
                        .find(|(d, _)| d == n)
                        .and_then(|(_, d)| d.clone()),
                })
                .collect::<Vec<_>>()
        };
        let item_doc = |ck: &Self, name: &str| doc(ck.item(name).and_then(|(_, i)| i.doc()));
        let mut names = ide::Names::default();
        for e in self.entities.iter() {
            let docs = field_docs(self.item(&e.name));
            names.entities.push(ide::EntityInfo {
                name: e.name.clone(),
                doc: item_doc(self, &e.name),
                attrs: fields(self, &e.attrs, &docs),
            });
        }
        for r in self.relations.iter() {
            let end =
                |e: Option<u32>| e.map_or("?".to_string(), |id| self.entity_name(id).to_string());
            names.relations.push(ide::RelationInfo {
                name: r.name.clone(),
                from: end(r.from),
                to: end(r.to),
                doc: item_doc(self, &r.name),
            });
        }
        for e in self.enums.iter() {
            let docs: Vec<Option<String>> = match self.item(&e.name) {
                Some((_, ast::Item::Enum(decl))) => e
                    .variants
                    .iter()
                    .map(|v| {
                        decl.variants
                            .iter()
                            .find(|d| d.name.name == *v)
                            .and_then(|d| doc(d.doc.as_deref()))
                    })
                    .collect(),
                _ => vec![None; e.variants.len()],
            };
            names.enums.push(ide::EnumInfo {
                name: e.name.clone(),
                doc: item_doc(self, &e.name),
                variants: e.variants.iter().cloned().zip(docs).collect(),
            });
        }
        for a in self.actions.iter() {
            let docs = field_docs(self.item(&a.name));
            names.actions.push(ide::ActionInfo {
                name: a.name.clone(),
                doc: item_doc(self, &a.name),
                fields: fields(self, &a.fields, &docs),
            });
        }
        let context_docs: Vec<(String, Option<String>)> = self
            .context_decl
            .map(|(_, c)| {
                c.fields
                    .iter()
                    .map(|f| (f.name.name.clone(), doc(f.doc.as_deref())))
                    .collect()
            })
            .unwrap_or_default();
        names.context = fields(self, &self.context, &context_docs);
        let value = |ck: &mut Self, def: Def| -> Option<ide::ValueInfo> {
            Some(match def {
                Def::Const(c) => {
                    // A stdlib constant no declaration used is checked here, for its type
                    // (so the names do not depend on which rules use it).
                    if ck.consts[c as usize].state == State::Todo {
                        ck.ensure_const(c);
                    }
                    let info = &ck.consts[c as usize];
                    let detail = match info.value.as_deref() {
                        Some((ty, _, _)) if !ty.is_error() => {
                            format!("const {}: {}", info.decl.name.name, ck.show(ty))
                        }
                        _ => format!("const {}", info.decl.name.name),
                    };
                    ide::ValueInfo {
                        name: info.decl.name.name.clone(),
                        kind: "const",
                        detail,
                        doc: doc(info.decl.doc.as_deref()),
                        params: Vec::new(),
                    }
                }
                Def::Fn(f) => {
                    let (params, ret) = ck.fn_sig(f);
                    let info = &ck.fns[f as usize];
                    let params: Vec<ide::FieldInfo> = info
                        .decl
                        .params
                        .iter()
                        .zip(&params)
                        .map(|(p, ty)| ide::FieldInfo {
                            name: p.name.name.clone(),
                            ty: ck.show(ty),
                            doc: None,
                        })
                        .collect();
                    let shown: Vec<String> = params
                        .iter()
                        .map(|p| format!("{}: {}", p.name, p.ty))
                        .collect();
                    ide::ValueInfo {
                        name: info.decl.name.name.clone(),
                        kind: "fn",
                        detail: format!(
                            "fn {}({}) -> {}",
                            info.decl.name.name,
                            shown.join(", "),
                            ck.show(&ret)
                        ),
                        doc: doc(info.decl.doc.as_deref()),
                        params,
                    }
                }
                Def::Window(w) => {
                    let info = &ck.windows[w as usize];
                    ide::ValueInfo {
                        name: info.decl.name.name.clone(),
                        kind: "window",
                        detail: format!("window {}", info.display),
                        doc: doc(info.decl.doc.as_deref()),
                        params: Vec::new(),
                    }
                }
                _ => return None,
            })
        };
        let mut globals: Vec<(String, Def)> =
            self.globals.iter().map(|(n, d)| (n.clone(), *d)).collect();
        globals.sort_by(|a, b| a.0.cmp(&b.0));
        for (name, def) in globals {
            if let Def::Rule(_) = def {
                names.rules.push(name);
                continue;
            }
            if let Some(mut v) = value(self, def) {
                v.name = name;
                names.values.push(v);
            }
        }
        let qualified: Vec<usize> = self
            .globals
            .values()
            .filter_map(|d| match d {
                Def::Module(m) => Some(*m),
                _ => None,
            })
            .collect();
        let mut modules: Vec<(usize, Vec<(String, Def)>)> = self
            .module_items
            .iter()
            .map(|(m, items)| (*m, items.iter().map(|(n, d)| (n.clone(), *d)).collect()))
            .collect();
        modules.sort_by_key(|(m, _)| *m);
        for (m, mut items) in modules {
            items.sort_by(|a, b| a.0.cmp(&b.0));
            let infos = items
                .into_iter()
                .filter_map(|(_, d)| value(self, d))
                .collect();
            names.modules.push((
                ide::ModuleInfo {
                    name: self.files[m].module.unwrap_or("?").to_string(),
                    items: infos,
                },
                qualified.contains(&m),
            ));
        }
        names
    }

    pub(crate) fn fn_ir_id(&mut self, idx: u32) -> u32 {
        if let Some(id) = self.fns[idx as usize].ir_id {
            return id;
        }
        let id = self.ir_fns.len() as u32;
        self.ir_fns.push(None);
        self.ir_fn_depths.push(1);
        self.fns[idx as usize].ir_id = Some(id);
        id
    }

    pub(crate) fn window_ir_id(&mut self, idx: u32) -> u32 {
        if let Some(id) = self.windows[idx as usize].ir_id {
            return id;
        }
        let id = self.ir_windows.len() as u32;
        self.ir_windows.push(None);
        self.ir_window_depths.push(1);
        self.windows[idx as usize].ir_id = Some(id);
        id
    }

    /// The parameter and return types of a function.
    pub(crate) fn fn_sig(&mut self, idx: u32) -> (Vec<Ty>, Ty) {
        if let Some(sig) = &self.fns[idx as usize].sig {
            return sig.clone();
        }
        let (file, decl) = (self.fns[idx as usize].file, self.fns[idx as usize].decl);
        let mut seen: HashMap<&str, Span> = HashMap::new();
        for p in &decl.params {
            if let Some(first) = seen.insert(&p.name.name, p.name.span) {
                let diag = Diagnostic::error(
                    codes::DUPLICATE_FIELD,
                    format!(
                        "parameter `{}` of function `{}` is declared twice",
                        p.name.name, decl.name.name
                    ),
                    p.name.span,
                )
                .with_secondary(None, first, "first declared here")
                .with_help("rename one of them");
                self.report(file, diag);
            }
        }
        let params = decl
            .params
            .iter()
            .map(|p| self.resolve_type(file, &p.ty, false, "a function parameter"))
            .collect();
        let ret = self.resolve_type(file, &decl.ret, true, "a return type");
        let sig = (params, ret);
        self.fns[idx as usize].sig = Some(sig.clone());
        sig
    }

    /// Check a function's body once; a call cycle is reported with its path.
    pub(crate) fn ensure_fn_body(&mut self, idx: u32) {
        match self.fns[idx as usize].state {
            State::Done => return,
            State::InProgress => {
                let start = self.fn_stack.iter().position(|&f| f == idx).unwrap_or(0);
                let cycle: Vec<u32> = self.fn_stack[start..].to_vec();
                if cycle.iter().any(|&f| self.fns[f as usize].in_cycle) {
                    return;
                }
                let mut path: Vec<String> = cycle
                    .iter()
                    .map(|&f| format!("`{}`", self.fns[f as usize].display))
                    .collect();
                path.push(format!("`{}`", self.fns[idx as usize].display));
                for &f in &cycle {
                    self.fns[f as usize].in_cycle = true;
                }
                let info = &self.fns[idx as usize];
                let mut diag = Diagnostic::error(
                    codes::CALL_CYCLE,
                    format!(
                        "function `{}` calls itself: {}",
                        info.display,
                        path.join(" -> ")
                    ),
                    info.decl.name.span,
                )
                .with_help("functions may not be recursive, so that every evaluation terminates");
                // The pending calls made by the functions of the cycle, in order.
                let calls = &self.call_stack[self.call_stack.len().saturating_sub(cycle.len())..];
                for (k, &(file, span)) in calls.iter().enumerate() {
                    let caller = &self.fns[cycle[k] as usize].display;
                    let callee = cycle.get(k + 1).copied().unwrap_or(idx);
                    let callee = &self.fns[callee as usize].display;
                    diag = diag.with_secondary(
                        self.label_file(info.file, file),
                        span,
                        format!("`{caller}` calls `{callee}` here"),
                    );
                }
                self.report(info.file, diag);
                return;
            }
            State::Todo => {}
        }
        let (file, name) = (
            self.fns[idx as usize].file,
            &self.fns[idx as usize].decl.name,
        );
        if self.too_many_pending(file, name) {
            self.fns[idx as usize].state = State::Done;
            return;
        }
        self.fns[idx as usize].state = State::InProgress;
        self.fn_stack.push(idx);
        let (params, ret) = self.fn_sig(idx);
        let (file, decl) = (self.fns[idx as usize].file, self.fns[idx as usize].decl);
        let mut scope = crate::expr::Scope::new(file, self.files[file].module.map(|_| file));
        scope.function = Some(self.fns[idx as usize].display.clone());
        for (p, ty) in decl.params.iter().zip(&params) {
            scope.push_local(&p.name.name, p.name.span, true, ty.clone());
        }
        let body = self.expect(
            &mut scope,
            &decl.body,
            &ret,
            "the function's declared return type",
        );
        self.fn_stack.pop();
        self.fns[idx as usize].state = State::Done;
        let id = self.fn_ir_id(idx);
        let depth = self.depth_of(&body);
        if depth > ward_ir::MAX_DEPTH {
            let display = self.fns[idx as usize].display.clone();
            self.report_too_deep(file, decl.name.span, Site::Fn(&display), depth);
            self.ir_fn_depths[id as usize] = crate::depth::REPORTED;
        } else {
            self.ir_fn_depths[id as usize] = depth;
        }
        self.ir_fns[id as usize] = Some(ir::Function {
            name: self.fns[idx as usize].display.clone(),
            params: params.iter().map(Ty::to_ir).collect(),
            ret: ret.to_ir(),
            n_locals: scope.n_locals,
            body,
        });
    }

    /// Check a constant once; a cycle is reported with its path.
    pub(crate) fn ensure_const(&mut self, idx: u32) -> Option<(Ty, ir::Expr, u32)> {
        match self.consts[idx as usize].state {
            State::Done => {
                let info = &self.consts[idx as usize];
                return info.value.as_ref().map(|v| clone_value(v, info.depth));
            }
            State::InProgress => {
                let start = self.const_stack.iter().position(|&c| c == idx).unwrap_or(0);
                let mut path: Vec<String> = self.const_stack[start..]
                    .iter()
                    .map(|&c| format!("`{}`", self.consts[c as usize].decl.name.name))
                    .collect();
                let info = &self.consts[idx as usize];
                path.push(format!("`{}`", info.decl.name.name));
                let diag = Diagnostic::error(
                    codes::CONST_CYCLE,
                    format!(
                        "constant `{}` refers to itself: {}",
                        info.decl.name.name,
                        path.join(" -> ")
                    ),
                    info.decl.name.span,
                )
                .with_help("a constant's value may not depend on itself");
                self.report(info.file, diag);
                return None;
            }
            State::Todo => {}
        }
        let (file, name) = (
            self.consts[idx as usize].file,
            &self.consts[idx as usize].decl.name,
        );
        if self.too_many_pending(file, name) {
            self.consts[idx as usize].state = State::Done;
            return None;
        }
        self.consts[idx as usize].state = State::InProgress;
        self.const_stack.push(idx);
        let (file, decl) = (
            self.consts[idx as usize].file,
            self.consts[idx as usize].decl,
        );
        let mut scope = crate::expr::Scope::new(file, self.files[file].module.map(|_| file));
        scope.constant = true;
        let value = match &decl.ty {
            Some(ty) => {
                let ty = self.resolve_type(file, ty, false, "a constant");
                let expr =
                    self.expect(&mut scope, &decl.value, &ty, "the constant's declared type");
                (ty, expr)
            }
            None => self.expr(&mut scope, &decl.value, None),
        };
        self.const_stack.pop();
        let mut depth = self.depth_of(&value.1);
        let value = if depth <= ward_ir::MAX_DEPTH {
            value
        } else {
            self.report_too_deep(file, decl.name.span, Site::Const(&decl.name.name), depth);
            depth = 1;
            let error = ir::Expr {
                ty: Ty::Error.to_ir(),
                kind: ir::ExprKind::Bool(false),
            };
            (Ty::Error, error)
        };
        let result = (value.0, value.1, scope.n_locals);
        let copy = clone_value(&result, depth);
        let info = &mut self.consts[idx as usize];
        info.state = State::Done;
        info.value = Some(Arc::new(result));
        info.depth = depth;
        Some(copy)
    }

    pub(crate) fn regex_id(&mut self, pattern: &str) -> u32 {
        if let Some(id) = self.regex_index.get(pattern) {
            return *id;
        }
        let id = self.regexes.len() as u32;
        self.regexes.push(pattern.to_string());
        self.regex_index.insert(pattern.to_string(), id);
        id
    }

    fn check_default(&mut self) -> ir::Effect {
        let Some((file, decl)) = self.default else {
            return ir::Effect::default();
        };
        let mut scope = crate::expr::Scope::new(file, None);
        scope.context = true;
        let effect = self.effect(&mut scope, &decl.effect);
        if scope.n_locals > 0 {
            let diag = Diagnostic::error(
                codes::DEFAULT_APPROVERS_LOCALS,
                "the approvers of `default` cannot use quantifiers or filters",
                decl.effect.span,
            )
            .with_help("compute the set in a `const` or name the approvers directly");
            self.report(file, diag);
        }
        effect
    }
}

/// A copy of a constant's value (`depth` levels deep) to inline. The derived `Clone` recurses
/// once per level, about 1.5 KiB of stack each in a debug build, and a value may be
/// `MAX_DEPTH` deep: it is copied where enough stack is left (on a heap segment if need be).
fn clone_value((ty, e, n): &(Ty, ir::Expr, u32), depth: usize) -> (Ty, ir::Expr, u32) {
    let need = (64 << 10) + depth * (2 << 10);
    stacker::maybe_grow(need, 2 * need, || (ty.clone(), e.clone(), *n))
}

fn fields_ir(fields: &[(String, Ty)]) -> Vec<ir::Field> {
    fields
        .iter()
        .map(|(name, ty)| ir::Field {
            name: name.clone(),
            ty: ty.to_ir(),
        })
        .collect()
}
