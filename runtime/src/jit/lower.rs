//! Lowering of typed IR expressions to Cranelift IR, one native function per action.
//!
//! Every expression becomes native code: scalars are `i64` SSA values (bools 0/1, ints,
//! durations, timestamps, enum variants, entity indices with negative codes for entity literals
//! the snapshot does not hold); an optional is a pair (present flag, payload); strings and sets
//! are handles passed to the `extern "C"` helpers of [`super::rt`]. Control flow (`and`, `or`,
//! `if`, `??`, quantifiers, filters) is native branching and loops; arithmetic is checked with
//! the overflow flags of `sadd_overflow`/`ssub_overflow`/`smul_overflow`; user and stdlib
//! functions are inlined (calls never recurse), except that a memoized expression is computed
//! on a miss by a native function of its own, built once per memo (the IR of an expression that
//! many rules share, such as a function of the rule's target, is compiled once rather than in
//! every rule). A failing helper sets the context's error flag,
//! which native code tests after the call and then leaves through the current error block.
//!
//! A function compiled by shape (see [`Lits`]) reads the literals of the expressions it serves
//! from a table instead of compiling them in: each word of the table is a [`Slot`], which says
//! how to compute it from the node at a position of the expressions (in [`preorder`]), so that
//! [`Shared::table`] fills the table of every other rule of the shape from that rule's nodes
//! without lowering it. A memoized expression with literals is a memo of its own per rule, but
//! its miss function is built once per shape, with a table per memo.
//! This module knows the IR and Cranelift, not decisions, the store or requests.

use std::collections::{BTreeMap, HashMap};
use std::sync::Arc;

use cranelift_codegen::ir::condcodes::IntCC;
use cranelift_codegen::ir::{
    AbiParam, Block, BlockArg, ExtFuncData, ExternalName, FuncRef, Function, InstBuilder,
    MemFlagsData, Signature, UserExternalName, UserFuncName, Value, types,
};
use cranelift_frontend::{FunctionBuilder, FunctionBuilderContext};
use cranelift_jit::JITModule;
use cranelift_module::{FuncId, Linkage, Module};
use ward_ir::{BinOp, Builtin, EntityTypeId, Expr, ExprKind, Program, Type};

use super::JitError;
use super::rt::{self, Tables};
use crate::Value as RtValue;
use crate::time;

/// The runtime helpers native code may call, in the order of [`HELPERS`].
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub(crate) enum H {
    Attr,
    SetNew,
    SetPush,
    FilterPush,
    SetFinish,
    Eq,
    Contains,
    Len,
    Get,
    /// Where a set of entity indices lies, for a loop to read it in place.
    Items,
    Intersects,
    Subset,
    StrTest,
    Lower,
    StrLen,
    Matches,
    Related,
    ClosureCount,
    Path,
    InWindow,
    Remaining,
    Fits,
    NextOpen,
    LocalTime,
    Raise,
    RuleError,
    Emit,
    MemoPut,
    TextGet,
    TextPut,
    /// A helper that panics (tests only).
    #[cfg(test)]
    TestPanic,
}

#[cfg(test)]
thread_local! {
    /// When set while a program is compiled, `len` of a string calls a helper that panics.
    pub(crate) static PANIC_IN_LEN: std::cell::Cell<bool> = const { std::cell::Cell::new(false) };
}

/// The helper `len` of a string calls.
fn strlen_helper() -> H {
    #[cfg(test)]
    if PANIC_IN_LEN.with(std::cell::Cell::get) {
        return H::TestPanic;
    }
    H::StrLen
}

/// A helper: its symbol, address, number of `i64` parameters after the context, and whether
/// it can fail (native code then tests the error flag after the call).
pub(crate) struct HelperInfo {
    pub(crate) name: &'static str,
    pub(crate) ptr: *const u8,
    pub(crate) params: usize,
    pub(crate) fallible: bool,
}

pub(crate) fn helpers() -> Vec<(H, HelperInfo)> {
    macro_rules! h {
        ($h:ident, $f:ident, $n:expr, $fallible:expr) => {
            (
                H::$h,
                HelperInfo {
                    name: stringify!($f),
                    ptr: rt::$f as *const u8,
                    params: $n,
                    fallible: $fallible,
                },
            )
        };
    }
    #[allow(unused_mut, reason = "tests add a helper")]
    let mut all = vec![
        h!(Attr, h_attr, 4, true),
        h!(SetNew, h_set_new, 0, false),
        h!(SetPush, h_set_push, 3, true),
        h!(FilterPush, h_filter_push, 3, true),
        h!(SetFinish, h_set_finish, 1, true),
        h!(Eq, h_eq, 2, true),
        h!(Contains, h_contains, 3, true),
        h!(Len, h_len, 1, true),
        h!(Get, h_get, 3, true),
        h!(Items, h_items, 1, false),
        h!(Intersects, h_intersects, 2, true),
        h!(Subset, h_subset, 2, true),
        h!(StrTest, h_str_test, 3, true),
        h!(Lower, h_lower, 1, true),
        h!(StrLen, h_strlen, 1, true),
        h!(Matches, h_matches, 2, true),
        h!(Related, h_related, 4, true),
        h!(ClosureCount, h_closure_count, 3, true),
        h!(Path, h_path, 4, true),
        h!(InWindow, h_in_window, 2, false),
        h!(Remaining, h_remaining, 2, false),
        h!(Fits, h_fits, 3, false),
        h!(NextOpen, h_next_open, 2, true),
        h!(LocalTime, h_local_time, 3, true),
        h!(Raise, h_raise, 1, false),
        h!(RuleError, h_rule_error, 1, false),
        h!(Emit, h_emit, 3, true),
        h!(MemoPut, h_memo_put, 4, false),
        h!(TextGet, h_text_get, 2, true),
        h!(TextPut, h_text_put, 6, true),
    ];
    #[cfg(test)]
    all.push(h!(TestPanic, h_test_panic, 1, true));
    all
}

/// How one rule is executed, for `ward check --stats`.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct RuleStats {
    pub rule: String,
    /// IR nodes compiled to inline native instructions.
    pub native_ops: usize,
    /// Calls into the runtime, by helper (`attr`, `closure`, `matches`, …), with their count.
    pub runtime_calls: BTreeMap<&'static str, usize>,
    /// Function calls inlined.
    pub inlined_calls: usize,
}

impl RuleStats {
    /// Adds the counts of `other` (a body counted in this rule).
    pub(crate) fn add(&mut self, other: &RuleStats) {
        self.native_ops += other.native_ops;
        self.inlined_calls += other.inlined_calls;
        for (name, n) in &other.runtime_calls {
            *self.runtime_calls.entry(name).or_insert(0) += n;
        }
    }
}

/// A user-facing name of a helper, for statistics.
fn stat_name(h: H) -> &'static str {
    match h {
        H::Attr => "attr",
        H::SetNew | H::SetPush | H::SetFinish => "set",
        H::FilterPush => "filter",
        H::Eq => "eq",
        H::Contains => "in",
        H::Len => "count",
        H::Get | H::Items => "iterate",
        H::Intersects => "intersects",
        H::Subset => "is_subset",
        H::StrTest => "string",
        H::Lower => "lower",
        H::StrLen => "len",
        H::Matches => "matches",
        H::Related => "related",
        H::ClosureCount => "count",
        H::Path => "path",
        H::InWindow => "in_window",
        H::Remaining => "remaining",
        H::Fits => "fits",
        H::NextOpen => "next_open",
        H::LocalTime => "local_time",
        H::Raise | H::RuleError => "error",
        H::Emit => "emit",
        H::MemoPut | H::TextGet | H::TextPut => "memo",
        #[cfg(test)]
        H::TestPanic => "test",
    }
}

/// Program-wide state of the lowering: constant tables and the imported helpers.
pub(crate) struct Shared<'p> {
    pub(crate) program: &'p Program,
    pub(crate) tables: Tables,
    pub(crate) helper_ids: HashMap<H, (FuncId, bool)>,
    const_index: HashMap<ConstKey, usize>,
    tz_index: HashMap<String, usize>,
    /// Memoized sub-expressions by their key (see [`Lower::memo_candidate`]).
    memo_index: HashMap<String, usize>,
    /// Per-decision memos, by their key.
    request_index: HashMap<String, usize>,
    /// Attribute columns, by what they hold.
    column_index: HashMap<rt::ColumnSpec, usize>,
    /// Message holes whose text is memoized, by their key.
    text_index: HashMap<String, usize>,
    /// What each function's body depends on, once computed.
    fn_deps: HashMap<usize, Deps>,
    /// Per memo (by number), the native function that computes and stores its value on a
    /// miss, and the statistics of its body (counted in every rule that reads the memo, as if
    /// the body were inlined there).
    miss_functions: HashMap<usize, (FuncId, RuleStats)>,
    /// Per shape of memoized expression (see [`shaped_key`]) whose miss function reads its
    /// literals from a table: that function, the words of its table after the memo's number,
    /// and the statistics of its body.
    shaped_misses: HashMap<String, (FuncId, Vec<Slot>, RuleStats)>,
    /// How many shaped miss functions were started (their names' numbers).
    shaped_started: usize,
    /// The address of each memo's table (for a shaped miss function) and that function, by
    /// memo number.
    memo_tables: HashMap<usize, (i64, FuncId)>,
    /// The tables of literals of the rules and memos compiled by shape: native code holds their
    /// addresses, so they live (and stay in place) as long as the code.
    pub(crate) data: Vec<Box<[i64]>>,
    /// The functions built besides the actions' (memo misses), to be compiled with them.
    pub(crate) functions: Vec<(FuncId, Function)>,
    /// Statistics of the rule being lowered, when they are being recorded.
    pub(crate) stats: Option<RuleStats>,
}

/// The most expression nodes one program may lower to (after inlining its functions). A
/// program whose functions call each other twice per level doubles at every level: 30 levels
/// of that are a billion nodes, which no compiler should try. Real policies lower to a few
/// thousand.
pub(crate) const MAX_LOWERED: usize = 2_000_000;

#[derive(PartialEq, Eq, Hash)]
enum ConstKey {
    Str(String),
    Set(RtValue),
}

impl<'p> Shared<'p> {
    pub(crate) fn new(program: &'p Program, helper_ids: HashMap<H, (FuncId, bool)>) -> Self {
        Shared {
            program,
            tables: Tables::default(),
            helper_ids,
            const_index: HashMap::new(),
            tz_index: HashMap::new(),
            memo_index: HashMap::new(),
            text_index: HashMap::new(),
            column_index: HashMap::new(),
            request_index: HashMap::new(),
            fn_deps: HashMap::new(),
            miss_functions: HashMap::new(),
            shaped_misses: HashMap::new(),
            shaped_started: 0,
            memo_tables: HashMap::new(),
            data: Vec::new(),
            functions: Vec::new(),
            stats: None,
        }
    }

    fn constant(&mut self, key: ConstKey, value: RtValue) -> i64 {
        let consts = &mut self.tables.consts;
        let k = *self.const_index.entry(key).or_insert_with(|| {
            consts.push(value);
            consts.len() - 1
        });
        rt::const_handle(k)
    }

    fn literal(&mut self, ty: EntityTypeId, id: &str) -> usize {
        let key = (ty, Arc::<str>::from(id));
        if let Some(k) = self.tables.literal_index.get(&key) {
            return *k;
        }
        self.tables.literals.push(key.clone());
        let k = self.tables.literals.len() - 1;
        self.tables.literal_index.insert(key, k);
        k
    }

    fn timezone(&mut self, name: &str) -> Result<usize, JitError> {
        if let Some(k) = self.tz_index.get(name) {
            return Ok(*k);
        }
        let tz = time::timezone(name)
            .ok_or_else(|| JitError::Unsupported(format!("unknown time zone `{name}`")))?;
        self.tables.timezones.push(time::ZoneOffsets::new(tz));
        let k = self.tables.timezones.len() - 1;
        self.tz_index.insert(name.to_string(), k);
        Ok(k)
    }

    /// The number of the memo with this key, new or shared with an earlier occurrence.
    fn memo(&mut self, key: String, spec: rt::MemoSpec) -> usize {
        let memos = &mut self.tables.memos;
        *self.memo_index.entry(key).or_insert_with(|| {
            memos.push(spec);
            memos.len() - 1
        })
    }

    /// The number of the per-decision memo with this key, new or shared.
    fn request_memo(&mut self, key: String) -> usize {
        let n = &mut self.tables.request_memos;
        *self.request_index.entry(key).or_insert_with(|| {
            *n += 1;
            *n - 1
        })
    }

    /// The number of the column of an attribute, new or shared.
    fn column(&mut self, spec: rt::ColumnSpec) -> usize {
        let columns = &mut self.tables.columns;
        *self.column_index.entry(spec).or_insert_with(|| {
            columns.push(spec);
            columns.len() - 1
        })
    }

    /// The number of the text memo with this key, new or shared.
    fn text_memo(&mut self, key: String, ty: EntityTypeId, hole: &Type) -> usize {
        let texts = &mut self.tables.text_memos;
        *self.text_index.entry(key).or_insert_with(|| {
            texts.push((ty, hole.clone()));
            texts.len() - 1
        })
    }

    /// What the body of function `f` depends on (bodies never call themselves). The call
    /// graph is walked with an explicit stack, callees first: a chain of calls as long as a
    /// verified program allows costs no stack.
    fn fn_deps(&mut self, f: usize) -> Deps {
        if let Some(d) = self.fn_deps.get(&f) {
            return d.clone();
        }
        // (function, its own dependencies and the functions it calls), pending its callees.
        let mut stack: Vec<(usize, Deps, Vec<usize>)> = Vec::new();
        let push = |g: usize, stack: &mut Vec<(usize, Deps, Vec<usize>)>| {
            let mut calls = Vec::new();
            let deps = match self.program.functions.get(g) {
                Some(func) => collect_deps(&func.body, &mut calls),
                None => Deps::default(),
            };
            stack.push((g, deps, calls));
        };
        push(f, &mut stack);
        while let Some((g, _, calls)) = stack.last() {
            let g = *g;
            // A callee not known yet is computed first (a cycle, which the verifier rejects,
            // counts as impure instead of looping).
            let pending = calls
                .iter()
                .copied()
                .find(|c| !self.fn_deps.contains_key(c) && !stack.iter().any(|(h, _, _)| h == c));
            if let Some(c) = pending {
                push(c, &mut stack);
                continue;
            }
            let Some((_, mut deps, calls)) = stack.pop() else {
                break;
            };
            for c in calls {
                let inner = self.fn_deps.get(&c).cloned().unwrap_or(Deps {
                    impure: true,
                    ..Deps::default()
                });
                deps.impure |= inner.impure;
                deps.timed |= inner.timed;
                deps.expensive |= inner.expensive;
            }
            // A function's parameters are its own: only purity and cost matter to callers.
            deps.args.clear();
            deps.locals.clear();
            self.fn_deps.insert(g, deps);
        }
        self.fn_deps.get(&f).cloned().unwrap_or_default()
    }

    fn native_op(&mut self) {
        if let Some(s) = &mut self.stats {
            s.native_ops += 1;
        }
    }
}

/// How one word of a shaped function's table is computed for the rule (or memoized
/// expression) it serves, from the node at a position of [`preorder`] of its expressions.
#[derive(Clone, Debug)]
pub(crate) enum Slot {
    /// A literal's native value (see [`Shared::literal_word`]).
    Literal(usize),
    /// The number of the memo of the node (of `root`, stored as `spec`).
    Memo(usize, Root, rt::MemoSpec),
    /// The address of the table of the memo of the node, for its shaped miss function.
    MemoData(usize, Root, rt::MemoSpec),
    /// The offset of the node's per-decision memo (the text before the expression's key in
    /// the memo's key).
    RequestMemo(usize, String),
    /// The number of the text memo of a message hole (key prefix, entity type).
    TextMemo(usize, String, EntityTypeId),
}

/// The literals of a function compiled by shape: the table's address, the position of each
/// node of the expressions it serves, and the words of the table so far.
pub(crate) struct Lits {
    data: Value,
    nodes: HashMap<*const Expr, usize>,
    slots: Vec<Slot>,
    /// Words before the first slot's (a memo's table starts with the memo's number).
    reserved: usize,
}

impl Lits {
    pub(crate) fn new(data: Value, roots: &[&Expr], reserved: usize) -> Lits {
        let nodes = preorder(roots)
            .into_iter()
            .enumerate()
            .map(|(k, e)| (std::ptr::from_ref(e), k))
            .collect();
        Lits {
            data,
            nodes,
            slots: Vec::new(),
            reserved,
        }
    }

    pub(crate) fn into_slots(self) -> Vec<Slot> {
        self.slots
    }
}

impl Shared<'_> {
    /// The native value of literal `e` (see [`is_literal`]): an int or enum, the handle of a
    /// string or constant set, the offset of an entity literal in the literal table, or the
    /// number of a regular expression, window or time zone.
    fn literal_word(&mut self, e: &Expr) -> Result<i64, JitError> {
        Ok(match &e.kind {
            ExprKind::Int(n) => *n,
            ExprKind::Enum(v) => i64::from(*v),
            ExprKind::Str(s) => self.constant(ConstKey::Str(s.clone()), RtValue::str(s)),
            ExprKind::Entity(id) => {
                let Type::Entity(ty) = e.ty.strip_optional() else {
                    return Err(internal("entity literal of a non-entity type"));
                };
                let k = self.literal(*ty, id);
                i64::try_from(k * 8).map_err(|_| internal("entity literal out of range"))?
            }
            ExprKind::Set(items) => {
                let values = constant_items(items)
                    .ok_or_else(|| internal("a shaped set literal that is not constant"))?;
                let set = RtValue::set(values);
                self.constant(ConstKey::Set(set.clone()), set)
            }
            ExprKind::Matches { regex, .. } => i64::from(regex.0),
            ExprKind::InWindow { window, .. }
            | ExprKind::Remaining { window, .. }
            | ExprKind::Fits { window, .. }
            | ExprKind::NextOpen { window, .. } => i64::from(window.0),
            ExprKind::LocalTime { timezone, .. } => self.timezone(timezone)? as i64,
            _ => return Err(internal("a table word of a node that is no literal")),
        })
    }

    /// The table of a function compiled by shape for the expressions `roots`: `first`, then
    /// each of `slots` computed from the node at its position.
    pub(crate) fn table(
        &mut self,
        slots: &[Slot],
        roots: &[&Expr],
        first: &[i64],
    ) -> Result<Vec<i64>, JitError> {
        let nodes = preorder(roots);
        let mut out = Vec::with_capacity(first.len() + slots.len());
        out.extend_from_slice(first);
        for slot in slots {
            let node = |k: &usize| {
                nodes
                    .get(*k)
                    .copied()
                    .ok_or_else(|| internal("a table word of a node out of range"))
            };
            let word = match slot {
                Slot::Literal(k) => self.literal_word(node(k)?)?,
                Slot::Memo(k, root, spec) => {
                    let e = node(k)?;
                    self.memo(format!("{root:?}|{}", expr_key(e)), *spec) as i64
                }
                Slot::MemoData(k, root, spec) => {
                    let e = node(k)?;
                    let m = self.memo(format!("{root:?}|{}", expr_key(e)), *spec);
                    crate::prepared::deeper(|| self.memo_table(m, e, *root))?
                }
                Slot::RequestMemo(k, prefix) => {
                    let e = node(k)?;
                    let n = self.request_memo(format!("{prefix}{}", expr_key(e)));
                    i64::try_from(n * 24).map_err(|_| internal("too many per-decision values"))?
                }
                Slot::TextMemo(k, prefix, entity) => {
                    let e = node(k)?;
                    self.text_memo(format!("{prefix}{}", expr_key(e)), *entity, &e.ty) as i64
                }
            };
            out.push(word);
        }
        Ok(out)
    }

    /// Keeps `table` as long as the code and returns its address.
    pub(crate) fn keep(&mut self, table: Vec<i64>) -> i64 {
        let table = table.into_boxed_slice();
        let address = table.as_ptr() as i64;
        self.data.push(table);
        address
    }

    /// The address of the table of memo `m` (expression `e` of `root`) for its shaped miss
    /// function, which was built when the first expression of its shape was lowered.
    fn memo_table(&mut self, m: usize, e: &Expr, root: Root) -> Result<i64, JitError> {
        if let Some((address, _)) = self.memo_tables.get(&m) {
            return Ok(*address);
        }
        let key = format!("{root:?}|{}", shaped_key(e));
        let (id, slots) = match self.shaped_misses.get(&key) {
            Some((id, slots, _)) => (*id, slots.clone()),
            None => return Err(internal("a memo table before its miss function")),
        };
        let table = self.table(&slots, &[e], &[m as i64])?;
        let address = self.keep(table);
        self.memo_tables.insert(m, (address, id));
        Ok(address)
    }

    /// Every memo that has a miss function, by memo number: the function and, when it is
    /// compiled by shape, the address of the memo's table it takes (see
    /// [`Lower::memoized`]). A memo with both kinds gets its own function.
    pub(crate) fn miss_entries(&self) -> Vec<(usize, FuncId, Option<i64>)> {
        let mut out: Vec<(usize, FuncId, Option<i64>)> = self
            .miss_functions
            .iter()
            .map(|(m, (id, _))| (*m, *id, None))
            .collect();
        for (m, (address, id)) in &self.memo_tables {
            if !self.miss_functions.contains_key(m) {
                out.push((*m, *id, Some(*address)));
            }
        }
        out.sort_unstable_by_key(|(m, _, _)| *m);
        out
    }
}

/// The values of a set literal whose items are all literals, else `None`.
fn constant_items(items: &[Expr]) -> Option<Vec<RtValue>> {
    items
        .iter()
        .map(|item| match &item.kind {
            ExprKind::Bool(b) => Some(RtValue::Bool(*b)),
            ExprKind::Int(n) => Some(RtValue::Int(*n)),
            ExprKind::Str(s) => Some(RtValue::str(s)),
            ExprKind::Enum(v) => Some(RtValue::Enum(*v)),
            _ => None,
        })
        .collect()
}

/// What an expression depends on, for memoization.
#[derive(Clone, Debug, Default)]
pub(crate) struct Deps {
    /// Rule arguments read.
    args: Vec<u32>,
    /// Local slots read that the expression does not bind itself.
    locals: Vec<u32>,
    /// Reads the request's time or context, or a window or clock (never memoized per entity).
    impure: bool,
    /// Reads a window or a local clock (worth computing once per decision).
    timed: bool,
    /// Does work worth memoizing: graph walks, loops, set or string helpers (equality of
    /// strings or sets among them), regexes, calls.
    expensive: bool,
}

/// The dependencies of `e` (function calls are listed in `calls`, their bodies not visited).
fn collect_deps(e: &Expr, calls: &mut Vec<usize>) -> Deps {
    let mut deps = Deps::default();
    let mut bound = Vec::new();
    let mut read = Vec::new();
    e.visit(|x| match &x.kind {
        ExprKind::Arg(i) => deps.args.push(*i),
        ExprKind::Local(id) => read.push(id.0),
        ExprKind::Now
        | ExprKind::Context(_)
        | ExprKind::InWindow { .. }
        | ExprKind::Remaining { .. }
        | ExprKind::Fits { .. }
        | ExprKind::NextOpen { .. }
        | ExprKind::LocalTime { .. } => {
            deps.impure = true;
            deps.timed |= !matches!(x.kind, ExprKind::Now | ExprKind::Context(_));
        }
        ExprKind::Quantifier { var, .. } | ExprKind::Filter { var, .. } => {
            bound.push(var.0);
            deps.expensive = true;
        }
        ExprKind::Call { func, .. } => calls.push(func.index()),
        ExprKind::Related { .. }
        | ExprKind::Closure { .. }
        | ExprKind::Path { .. }
        | ExprKind::Matches { .. }
        | ExprKind::Builtin { .. }
        | ExprKind::In { .. } => deps.expensive = true,
        // Equality of strings or sets is a helper call, which reads the values in the store:
        // a memo of it is one read of the entity's row.
        ExprKind::Binary {
            op: BinOp::Eq | BinOp::Ne,
            lhs,
            ..
        } if matches!(lhs.ty.strip_optional(), Type::String | Type::Set(_)) => {
            deps.expensive = true;
        }
        _ => {}
    });
    read.retain(|id| !bound.contains(id));
    read.sort_unstable();
    read.dedup();
    deps.args.sort_unstable();
    deps.args.dedup();
    deps.locals = read;
    deps
}

/// A text that equals another expression's exactly when the expressions are equal (the key
/// of a memo): every node in preorder, with its type and payload, each kind having a fixed
/// number of children or saying how many. Built with an explicit stack, so that a deep
/// expression costs no stack (the derived `Debug` recurses).
pub(crate) fn expr_key(e: &Expr) -> String {
    key_of(e, false)
}

/// A text that equals another expression's exactly when the expressions are equal except for
/// their literals (see [`has_literals`]): expressions with the same shape lower to the same
/// code once their literals are read from a table.
pub(crate) fn shaped_key(e: &Expr) -> String {
    key_of(e, true)
}

/// Whether a node is a literal a shaped function reads from its table: an int, enum, string
/// or entity literal, a constant set, a regular expression, window or time zone.
fn is_literal(e: &Expr) -> bool {
    matches!(
        e.kind,
        ExprKind::Int(_)
            | ExprKind::Enum(_)
            | ExprKind::Str(_)
            | ExprKind::Entity(_)
            | ExprKind::Matches { .. }
            | ExprKind::InWindow { .. }
            | ExprKind::Remaining { .. }
            | ExprKind::Fits { .. }
            | ExprKind::NextOpen { .. }
            | ExprKind::LocalTime { .. }
    )
}

/// Whether `e` holds a literal (see [`is_literal`]).
fn has_literals(e: &Expr) -> bool {
    let mut any = false;
    e.visit(|x| any |= is_literal(x));
    any
}

/// The nodes of `roots` in preorder (the order of [`Expr::visit`]): the positions a shaped
/// function's table refers to.
pub(crate) fn preorder<'e>(roots: &[&'e Expr]) -> Vec<&'e Expr> {
    let mut out = Vec::new();
    for root in roots {
        let mut stack = vec![*root];
        while let Some(e) = stack.pop() {
            out.push(e);
            let at = stack.len();
            stack.extend(e.children());
            if let Some(new) = stack.get_mut(at..) {
                new.reverse();
            }
        }
    }
    out
}

/// [`expr_key`], or with `blank` [`shaped_key`] (literals written without their value).
fn key_of(e: &Expr, blank: bool) -> String {
    use std::fmt::Write as _;
    let mut out = String::new();
    e.visit(|x| {
        let _ = write!(out, "{:?}:", x.ty);
        if blank && is_literal(x) {
            let _ = match &x.kind {
                ExprKind::Int(_) => write!(out, "int"),
                ExprKind::Enum(_) => write!(out, "enum"),
                ExprKind::Str(_) => write!(out, "str"),
                ExprKind::Entity(_) => write!(out, "entity"),
                ExprKind::Matches { .. } => write!(out, "matches"),
                ExprKind::InWindow { .. } => write!(out, "in_window"),
                ExprKind::Remaining { .. } => write!(out, "remaining"),
                ExprKind::Fits { .. } => write!(out, "fits"),
                ExprKind::NextOpen { .. } => write!(out, "next_open"),
                ExprKind::LocalTime { part, .. } => write!(out, "local_time {part:?}"),
                _ => write!(out, "literal"),
            };
            out.push(';');
            return;
        }
        let _ = match &x.kind {
            ExprKind::Bool(b) => write!(out, "bool {b}"),
            ExprKind::Int(n) => write!(out, "int {n}"),
            ExprKind::Str(s) => write!(out, "str {}:{s}", s.len()),
            ExprKind::Entity(id) => write!(out, "entity {}:{id}", id.len()),
            ExprKind::Enum(v) => write!(out, "enum {v}"),
            ExprKind::Set(items) => write!(out, "set {}", items.len()),
            ExprKind::None => write!(out, "none"),
            ExprKind::Some(_) => write!(out, "some"),
            ExprKind::Now => write!(out, "now"),
            ExprKind::Arg(i) => write!(out, "arg {i}"),
            ExprKind::Context(i) => write!(out, "context {i}"),
            ExprKind::Local(id) => write!(out, "local {}", id.0),
            ExprKind::Attr { attr, .. } => write!(out, "attr {attr}"),
            ExprKind::OptAttr { attr, .. } => write!(out, "optattr {attr}"),
            ExprKind::Has { attr, .. } => write!(out, "has {attr}"),
            ExprKind::Not(_) => write!(out, "not"),
            ExprKind::Neg(_) => write!(out, "neg"),
            ExprKind::Binary { op, .. } => write!(out, "binary {op:?}"),
            ExprKind::Coalesce { .. } => write!(out, "coalesce"),
            ExprKind::In { .. } => write!(out, "in"),
            ExprKind::Matches { regex, .. } => write!(out, "matches {}", regex.0),
            ExprKind::If { .. } => write!(out, "if"),
            ExprKind::Call { func, args } => write!(out, "call {} {}", func.0, args.len()),
            ExprKind::Builtin { builtin, args } => {
                write!(out, "builtin {builtin:?} {}", args.len())
            }
            ExprKind::Quantifier { all, var, .. } => write!(out, "quantifier {all} {}", var.0),
            ExprKind::Filter { var, .. } => write!(out, "filter {}", var.0),
            ExprKind::Related { rel, inverse, .. } => write!(out, "related {} {inverse}", rel.0),
            ExprKind::Closure { rel, inverse, .. } => write!(out, "closure {} {inverse}", rel.0),
            ExprKind::Path { rel, inverse, .. } => write!(out, "path {} {inverse}", rel.0),
            ExprKind::InWindow { window, .. } => write!(out, "in_window {}", window.0),
            ExprKind::Remaining { window, .. } => write!(out, "remaining {}", window.0),
            ExprKind::Fits { window, .. } => write!(out, "fits {}", window.0),
            ExprKind::NextOpen { window, .. } => write!(out, "next_open {}", window.0),
            ExprKind::LocalTime { part, timezone, .. } => {
                write!(out, "local_time {part:?} {}:{timezone}", timezone.len())
            }
        };
        out.push(';');
    });
    out
}

/// The size of each rule (by index) in expression nodes once its functions are inlined (each
/// call site gets a copy of the callee's body): its conditions, approvers and message holes.
/// Refuses a program that would lower to more than [`MAX_LOWERED`] nodes in all, before
/// lowering anything. Sizes are added up over the call graph, callees first, with an explicit
/// stack.
pub(crate) fn rule_sizes(program: &Program) -> Result<Vec<usize>, JitError> {
    let functions = &program.functions;
    // The inlined size of each function's body, once known.
    let mut sizes: Vec<Option<usize>> = vec![None; functions.len()];
    let own = |e: &Expr, sizes: &[Option<usize>]| -> Result<usize, usize> {
        // Ok(size), or Err(a callee whose size is not known yet).
        let mut total = 0usize;
        let mut missing = None;
        e.visit(|x| {
            total = total.saturating_add(1);
            if let ExprKind::Call { func, .. } = &x.kind {
                match sizes.get(func.index()) {
                    Some(Some(n)) => total = total.saturating_add(*n),
                    Some(None) => missing = missing.or(Some(func.index())),
                    None => {}
                }
            }
        });
        missing.map_or(Ok(total), Err)
    };
    for start in 0..functions.len() {
        let mut stack = vec![start];
        while let Some(&f) = stack.last() {
            if sizes.get(f).is_some_and(Option::is_some) {
                stack.pop();
                continue;
            }
            let Some(func) = functions.get(f) else {
                stack.pop();
                continue;
            };
            match own(&func.body, &sizes) {
                Ok(n) => {
                    if let Some(slot) = sizes.get_mut(f) {
                        *slot = Some(n);
                    }
                    stack.pop();
                }
                // A cycle (which the verifier rejects) would push forever: count it as huge.
                Err(_) if stack.len() > functions.len() => return Err(too_large()),
                Err(callee) => stack.push(callee),
            }
        }
    }
    let size = |e: &Expr| own(e, &sizes).unwrap_or(usize::MAX);
    let mut rules = Vec::with_capacity(program.rules.len());
    for rule in &program.rules {
        let mut n = 0usize;
        for c in &rule.conditions {
            n = n.saturating_add(size(&c.expr));
        }
        if let Some(e) = &rule.effect.approvers {
            n = n.saturating_add(size(e));
        }
        for part in rule.message.iter().flat_map(|m| &m.parts) {
            if let ward_ir::MessagePart::Expr(e) = part {
                n = n.saturating_add(size(e));
            }
        }
        rules.push(n);
    }
    let default = program.default.approvers.as_ref().map_or(0, size);
    let total = rules.iter().fold(default, |t, n| t.saturating_add(*n));
    if total > MAX_LOWERED {
        return Err(too_large());
    }
    Ok(rules)
}

fn too_large() -> JitError {
    JitError::Unsupported(format!(
        "the program is too large for native code: more than {MAX_LOWERED} expression nodes \
         once its functions are inlined (the interpreter can run it)"
    ))
}

/// The signature of every helper: the context pointer, then `n` `i64`s, returning an `i64`.
pub(crate) fn helper_signature(module: &JITModule, n: usize) -> Signature {
    let mut sig = module.make_signature();
    sig.params.push(AbiParam::new(types::I64));
    for _ in 0..n {
        sig.params.push(AbiParam::new(types::I64));
    }
    sig.returns.push(AbiParam::new(types::I64));
    sig
}

/// The signature of a memo's miss function: the context pointer, an entity index and (`shaped`)
/// the memo's table, returning the value.
fn miss_signature(module: &JITModule, shaped: bool) -> Signature {
    let mut sig = module.make_signature();
    sig.params.push(AbiParam::new(types::I64));
    sig.params.push(AbiParam::new(types::I64));
    if shaped {
        sig.params.push(AbiParam::new(types::I64));
    }
    sig.returns.push(AbiParam::new(types::I64));
    sig
}

/// The entity a memoized expression depends on.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Root {
    Arg(u32),
    Local(u32),
}

/// A native value: a payload, and a presence flag when the static type is optional.
#[derive(Clone, Copy, Debug)]
struct Nv {
    present: Option<Value>,
    v: Value,
}

impl Nv {
    fn plain(v: Value) -> Nv {
        Nv { present: None, v }
    }
}

/// The type code helpers use to box and unbox a native value of type `ty`.
pub(crate) fn code_of(ty: &Type) -> i64 {
    match ty.strip_optional() {
        Type::Bool => rt::K_BOOL,
        Type::Int | Type::Duration | Type::Timestamp => rt::K_INT,
        Type::Enum(_) => rt::K_ENUM,
        Type::Entity(t) => rt::K_ENTITY | (i64::from(t.0) << 8),
        Type::String | Type::Set(_) | Type::Optional(_) => rt::K_HANDLE,
    }
}

fn is_handle(ty: &Type) -> bool {
    code_of(ty) == rt::K_HANDLE
}

fn internal(what: &str) -> JitError {
    JitError::Unsupported(format!("{what} (the program did not verify?)"))
}

/// Where the code being lowered leaves to when it fails: `fail` (with the error pending in the
/// context) or `raise` (which takes one of `rt::RAISE_MESSAGES` and raises it first). Both are
/// shared by every failure point they serve; when `site` is set, it is passed to them as their
/// last argument (which condition of which rule failed). Failure points branch to small blocks
/// of their site that pass these arguments, so that the constants are only materialized on the
/// failure path.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Exit {
    pub(crate) fail: Block,
    pub(crate) raise: Block,
    pub(crate) site: Option<i64>,
}

impl Exit {
    /// The blocks of an exit that returns from the function (filled by
    /// [`Lower::fill_returning_exit`]).
    pub(crate) fn returning(b: &mut FunctionBuilder<'_>) -> Exit {
        let fail = b.create_block();
        let raise = b.create_block();
        b.append_block_param(raise, types::I64);
        Exit {
            fail,
            raise,
            site: None,
        }
    }
}

/// Lowers the expressions of one native function.
pub(crate) struct Lower<'a, 'b, 'p> {
    pub(crate) b: FunctionBuilder<'b>,
    module: &'a mut JITModule,
    shared: &'a mut Shared<'p>,
    refs: HashMap<H, FuncRef>,
    ctx: Value,
    /// Where a failure leaves to.
    pub(crate) exit: Exit,
    frame: Vec<Option<Nv>>,
    /// For each rule argument, the slot holding the action field it reads.
    arg_slots: Vec<usize>,
    /// In a memo's miss function whose entity is a rule argument: that argument and the
    /// parameter holding the entity (the body reads no other argument).
    arg_param: Option<(u32, Value)>,
    /// The memo miss functions this function calls, by their id.
    miss_refs: HashMap<FuncId, FuncRef>,
    /// The blocks leading from the current site to its exits, by raise code (`None`: the
    /// pending-error exit).
    site_blocks: HashMap<Option<i64>, Block>,
    /// Those blocks not filled yet: the block, the exit it jumps to and its arguments.
    unfilled: Vec<(Block, Block, Vec<i64>)>,
    /// In a function compiled by shape: where the literals of its expressions come from.
    pub(crate) lits: Option<Lits>,
}

impl<'a, 'b, 'p> Lower<'a, 'b, 'p> {
    pub(crate) fn new(
        b: FunctionBuilder<'b>,
        module: &'a mut JITModule,
        shared: &'a mut Shared<'p>,
        ctx: Value,
        exit: Exit,
    ) -> Self {
        Lower {
            b,
            module,
            shared,
            refs: HashMap::new(),
            ctx,
            exit,
            frame: Vec::new(),
            arg_slots: Vec::new(),
            arg_param: None,
            miss_refs: HashMap::new(),
            site_blocks: HashMap::new(),
            unfilled: Vec::new(),
            lits: None,
        }
    }

    /// The position of `e` among the expressions of a function compiled by shape, when it is
    /// one of them (not, say, a node of a function's body, the same wherever it is inlined)
    /// and holds a literal.
    fn shaped_node(&self, e: &Expr) -> Option<usize> {
        let lits = self.lits.as_ref()?;
        let k = lits.nodes.get(&std::ptr::from_ref(e)).copied()?;
        has_literals(e).then_some(k)
    }

    /// Loads the next word of the function's table, computed as `slot` says.
    fn table_word(&mut self, slot: Slot) -> Result<Value, JitError> {
        let lits = self
            .lits
            .as_mut()
            .ok_or_else(|| internal("a table word outside a shaped function"))?;
        let offset = i32::try_from((lits.reserved + lits.slots.len()) * 8)
            .map_err(|_| JitError::Unsupported("too many literals in one rule".into()))?;
        lits.slots.push(slot);
        let data = lits.data;
        Ok(self.load_word(data, offset))
    }

    /// A word of a table of literals (never written while the code lives).
    fn load_word(&mut self, data: Value, offset: i32) -> Value {
        self.b.ins().load(
            types::I64,
            MemFlagsData::trusted().with_readonly(),
            data,
            offset,
        )
    }

    /// Literal `e` from the function's table when it is compiled by shape (and `applies`);
    /// `None` when the literal is compiled in.
    fn shaped_literal(
        &mut self,
        e: &Expr,
        applies: impl FnOnce() -> bool,
    ) -> Result<Option<Value>, JitError> {
        match self.shaped_node(e) {
            Some(k) if applies() => Ok(Some(self.table_word(Slot::Literal(k))?)),
            _ => Ok(None),
        }
    }

    /// Literal number `n` of node `e`: from the table when shaped, else an immediate.
    fn literal_number(&mut self, e: &Expr, n: i64) -> Result<Value, JitError> {
        match self.shaped_literal(e, || true)? {
            Some(v) => Ok(v),
            None => Ok(self.iconst(n)),
        }
    }

    /// Sets the site of the failure points lowered from now on.
    pub(crate) fn set_site(&mut self, site: Option<i64>) {
        self.exit.site = site;
        self.site_blocks.clear();
    }

    /// Sets the exits of the code lowered from now on (its site unset).
    pub(crate) fn set_exit(&mut self, exit: Exit) {
        self.exit = exit;
        self.site_blocks.clear();
    }

    /// The block a failure point of the current site branches to: raising error `code` first,
    /// or (`None`) with the error pending.
    fn exit_block(&mut self, code: Option<i64>) -> Block {
        if code.is_none() && self.exit.site.is_none() {
            return self.exit.fail;
        }
        if let Some(b) = self.site_blocks.get(&code) {
            return *b;
        }
        let block = self.b.create_block();
        let mut args: Vec<i64> = code.into_iter().collect();
        args.extend(self.exit.site);
        let target = if code.is_some() {
            self.exit.raise
        } else {
            self.exit.fail
        };
        self.unfilled.push((block, target, args));
        self.site_blocks.insert(code, block);
        block
    }

    /// Fills the blocks of [`Lower::exit_block`] made so far. The current block must be filled.
    pub(crate) fn flush_exits(&mut self) {
        for (block, target, args) in std::mem::take(&mut self.unfilled) {
            self.b.switch_to_block(block);
            let args: Vec<BlockArg> = args.iter().map(|k| self.iconst(*k).into()).collect();
            self.b.ins().jump(target, &args);
        }
    }

    pub(crate) fn shared(&mut self) -> &mut Shared<'p> {
        self.shared
    }

    /// Prepares for a rule's expressions: `n_locals` slots, arguments read from `arg_slots`.
    pub(crate) fn enter_rule(&mut self, n_locals: u32, arg_slots: Vec<usize>) {
        self.frame = vec![None; n_locals as usize];
        self.arg_slots = arg_slots;
    }

    fn iconst(&mut self, n: i64) -> Value {
        self.b.ins().iconst(types::I64, n)
    }

    fn b2i(&mut self, v: Value) -> Value {
        self.b.ins().uextend(types::I64, v)
    }

    pub(crate) fn load_ctx(&mut self, offset: i32) -> Value {
        self.b
            .ins()
            .load(types::I64, MemFlagsData::trusted(), self.ctx, offset)
    }

    /// Calls a helper; after a fallible one, leaves through the error block when it failed.
    pub(crate) fn call(&mut self, h: H, args: &[Value]) -> Result<Value, JitError> {
        let (result, fallible) = self.call_unchecked(h, args)?;
        if fallible {
            let err = self.load_ctx(rt::OFF_ERR);
            let ok = self.b.create_block();
            self.branch_failed(err, ok, &[]);
            self.b.switch_to_block(ok);
        }
        Ok(result)
    }

    /// Calls a helper, then ends the block: to the error exit when it failed, else to `ok` with
    /// `ok_args` (computed after the call, from its result).
    fn call_to(
        &mut self,
        h: H,
        args: &[Value],
        ok: Block,
        ok_args: impl FnOnce(&mut Self, Value) -> Vec<BlockArg>,
    ) -> Result<(), JitError> {
        let (result, fallible) = self.call_unchecked(h, args)?;
        let ok_args = ok_args(self, result);
        if fallible {
            let err = self.load_ctx(rt::OFF_ERR);
            self.branch_failed(err, ok, &ok_args);
        } else {
            self.b.ins().jump(ok, &ok_args);
        }
        Ok(())
    }

    /// Calls a helper: its result, and whether it can fail (the caller tests the error flag).
    fn call_unchecked(&mut self, h: H, args: &[Value]) -> Result<(Value, bool), JitError> {
        let (id, fallible) = *self
            .shared
            .helper_ids
            .get(&h)
            .ok_or_else(|| internal("helper not declared"))?;
        let fref = match self.refs.get(&h) {
            Some(f) => *f,
            None => {
                let f = self.module.declare_func_in_func(id, self.b.func);
                self.refs.insert(h, f);
                f
            }
        };
        // Error reporting only runs on the failure path: not counted.
        if let Some(s) = &mut self.shared.stats
            && !matches!(h, H::Raise | H::RuleError)
        {
            *s.runtime_calls.entry(stat_name(h)).or_insert(0) += 1;
        }
        let mut all = Vec::with_capacity(args.len() + 1);
        all.push(self.ctx);
        all.extend_from_slice(args);
        let inst = self.b.ins().call(fref, &all);
        let result = self
            .b
            .inst_results(inst)
            .first()
            .copied()
            .ok_or_else(|| internal("helper without result"))?;
        Ok((result, fallible))
    }

    /// Ends the current block: to the failure exit when `err` (the context's error flag) is
    /// set, else to `ok` with `ok_args`.
    pub(crate) fn branch_failed(&mut self, err: Value, ok: Block, ok_args: &[BlockArg]) {
        let fail = self.exit_block(None);
        self.b.ins().brif(err, fail, &[], ok, ok_args);
    }

    /// Leaves through the raise exit with one of `rt::RAISE_MESSAGES` when `cond` holds.
    fn raise_if(&mut self, cond: Value, code: i64) -> Result<(), JitError> {
        let ok = self.b.create_block();
        let raise = self.exit_block(Some(code));
        self.b.ins().brif(cond, raise, &[], ok, &[]);
        self.b.switch_to_block(ok);
        Ok(())
    }

    /// Fills the blocks of `exit` (whose `site` is unset) when they return `status`: the raise
    /// exit raises its error first. The current block must be filled.
    pub(crate) fn fill_returning_exit(&mut self, exit: Exit, status: i64) -> Result<(), JitError> {
        self.flush_exits();
        self.b.switch_to_block(exit.fail);
        let v = self.iconst(status);
        self.b.ins().return_(&[v]);
        self.b.switch_to_block(exit.raise);
        let code = *self
            .b
            .block_params(exit.raise)
            .first()
            .ok_or_else(|| internal("raise exit without its code"))?;
        self.call(H::Raise, &[code])?;
        let v = self.iconst(status);
        self.b.ins().return_(&[v]);
        Ok(())
    }

    /// Spends `n` (at least 1) steps of the decision's budget, leaving through the error block
    /// when it is exhausted.
    fn charge(&mut self, n: i64) -> Result<(), JitError> {
        let left = self.load_ctx(rt::OFF_BUDGET);
        let left = self.b.ins().iadd_imm_s(left, -n);
        self.b
            .ins()
            .store(MemFlagsData::trusted(), left, self.ctx, rt::OFF_BUDGET);
        let out = self.b.ins().icmp_imm_s(IntCC::SignedLessThan, left, 0);
        self.raise_if(out, rt::RAISE_BUDGET)
    }

    /// Spends the steps a memoized value cost to compute (`cost`, computed at run time);
    /// nothing at all when it cost none, as computing it would not have.
    fn charge_recorded(&mut self, cost: Value) -> Result<(), JitError> {
        let spend = self.b.create_block();
        let done = self.b.create_block();
        self.b.ins().brif(cost, spend, &[], done, &[]);
        self.b.switch_to_block(spend);
        let left = self.load_ctx(rt::OFF_BUDGET);
        let left = self.b.ins().isub(left, cost);
        self.b
            .ins()
            .store(MemFlagsData::trusted(), left, self.ctx, rt::OFF_BUDGET);
        let out = self.b.ins().icmp_imm_s(IntCC::SignedLessThan, left, 0);
        let raise = self.exit_block(Some(rt::RAISE_BUDGET));
        self.b.ins().brif(out, raise, &[], done, &[]);
        self.b.switch_to_block(done);
        Ok(())
    }

    /// The steps left, to measure what a memoized value costs.
    fn steps_left(&mut self) -> Value {
        self.load_ctx(rt::OFF_BUDGET)
    }

    /// A merge block for values of type `ty`, with its parameters.
    fn merge_block(&mut self, ty: &Type) -> (Block, Nv) {
        let block = self.b.create_block();
        let nv = if ty.is_optional() {
            let p = self.b.append_block_param(block, types::I64);
            let v = self.b.append_block_param(block, types::I64);
            Nv {
                present: Some(p),
                v,
            }
        } else {
            Nv::plain(self.b.append_block_param(block, types::I64))
        };
        (block, nv)
    }

    /// Jumps to a merge block with `nv` shaped as `ty`.
    fn jump_merge(&mut self, block: Block, nv: Nv, ty: &Type) {
        let nv = self.coerce(nv, ty);
        let args: Vec<BlockArg> = match nv.present {
            Some(p) => vec![p.into(), nv.v.into()],
            None => vec![nv.v.into()],
        };
        self.b.ins().jump(block, &args);
    }

    fn coerce(&mut self, nv: Nv, ty: &Type) -> Nv {
        match (ty.is_optional(), nv.present) {
            (true, None) => Nv {
                present: Some(self.iconst(1)),
                v: nv.v,
            },
            (false, Some(_)) => Nv::plain(nv.v),
            _ => nv,
        }
    }

    /// Lowers a `Bool` expression to a 0/1 value.
    pub(crate) fn bool_expr(&mut self, e: &Expr) -> Result<Value, JitError> {
        Ok(self.expr(e)?.v)
    }

    /// Lowers an expression whose value is emitted (message holes, approvers).
    pub(crate) fn emit(&mut self, e: &Expr) -> Result<(), JitError> {
        let nv = self.expr(e)?;
        let present = match nv.present {
            Some(p) => p,
            None => self.iconst(1),
        };
        let code = self.iconst(code_of(&e.ty));
        self.call(H::Emit, &[code, present, nv.v])?;
        Ok(())
    }

    /// Lowers a message hole: like [`Lower::emit`], except that a hole whose value depends
    /// only on one entity and is costly to compute or to render (a set) has its rendered text
    /// memoized per entity.
    pub(crate) fn emit_hole(&mut self, e: &Expr) -> Result<(), JitError> {
        let Some((root, entity, deps)) = self.entity_root(e) else {
            return self.emit(e);
        };
        if !(deps.expensive || matches!(e.ty.strip_optional(), Type::Set(_))) {
            return self.emit(e);
        }
        let m = match self.shaped_node(e) {
            Some(k) => self.table_word(Slot::TextMemo(k, format!("{root:?}|"), entity))?,
            None => {
                let key = format!("{root:?}|{}", expr_key(e));
                let m = self.shared.text_memo(key, entity, &e.ty);
                self.iconst(m as i64)
            }
        };
        let idx = self.root_value(root)?;
        let known = self.call(H::TextGet, &[m, idx])?;
        let miss = self.b.create_block();
        let done = self.b.create_block();
        self.b.ins().brif(known, done, &[], miss, &[]);
        self.b.switch_to_block(miss);
        let before = self.steps_left();
        let nv = self.expr(e)?;
        let after = self.steps_left();
        let cost = self.b.ins().isub(before, after);
        let present = match nv.present {
            Some(p) => p,
            None => self.iconst(1),
        };
        let code = self.iconst(code_of(&e.ty));
        self.call_to(
            H::TextPut,
            &[m, idx, code, present, nv.v, cost],
            done,
            |_, _| Vec::new(),
        )?;
        self.b.switch_to_block(done);
        Ok(())
    }

    fn expr(&mut self, e: &Expr) -> Result<Nv, JitError> {
        crate::prepared::deeper(|| self.expr_node(e))
    }

    /// Lowers one node, through its memo when it has one.
    fn expr_node(&mut self, e: &Expr) -> Result<Nv, JitError> {
        if let Some((root, spec)) = self.memo_candidate(e) {
            return self.memoized(e, root, spec);
        }
        if let Some(prefix) = self.request_candidate(e) {
            return self.once_per_decision(e, prefix);
        }
        self.compute(e)
    }

    /// Whether `e` is computed once per decision: a scalar window test, local-clock reading or
    /// call of a function that reads one, with no local slot (it depends on the request's time,
    /// context and fields only), so that the rules of an action share it. Returns the start of
    /// its key, which names the request fields the rule's arguments read (the expression's
    /// key follows).
    fn request_candidate(&mut self, e: &Expr) -> Option<String> {
        if e.ty.is_optional() || is_handle(&e.ty) {
            return None;
        }
        if !matches!(
            e.kind,
            ExprKind::InWindow { .. }
                | ExprKind::Remaining { .. }
                | ExprKind::Fits { .. }
                | ExprKind::NextOpen { .. }
                | ExprKind::LocalTime { .. }
                | ExprKind::Call { .. }
        ) {
            return None;
        }
        let mut calls = Vec::new();
        let mut deps = collect_deps(e, &mut calls);
        for f in calls {
            deps.timed |= self.shared.fn_deps(f).timed;
        }
        if !deps.timed || !deps.locals.is_empty() {
            return None;
        }
        let slots: Option<Vec<usize>> = deps
            .args
            .iter()
            .map(|a| self.arg_slots.get(*a as usize).copied())
            .collect();
        Some(format!("{:?}|", slots?))
    }

    /// `e` through the decision's memo (`[known, value, cost]` per value): computed the first
    /// time a rule of the decision needs it (not kept when it fails), then read back, spending
    /// the steps it cost again.
    fn once_per_decision(&mut self, e: &Expr, prefix: String) -> Result<Nv, JitError> {
        // The memo's entry: at a fixed offset, or (compiled by shape) at an offset from the
        // table added to the base.
        let (shaped, offset) = match self.shaped_node(e) {
            Some(k) => (Some(self.table_word(Slot::RequestMemo(k, prefix))?), 0),
            None => {
                let k = self.shared.request_memo(format!("{prefix}{}", expr_key(e)));
                let offset = i32::try_from(k * 24)
                    .map_err(|_| JitError::Unsupported("too many per-decision values".into()))?;
                (None, offset)
            }
        };
        self.shared.native_op();
        let flags = MemFlagsData::trusted();
        let base = self.load_ctx(rt::OFF_REQUEST_MEMOS);
        let base = match shaped {
            Some(off) => self.b.ins().iadd(base, off),
            None => base,
        };
        let known = self.b.ins().load(types::I64, flags, base, offset);
        let (done, out) = self.merge_block(&e.ty);
        let hit = self.b.create_block();
        let miss = self.b.create_block();
        self.b.ins().brif(known, hit, &[], miss, &[]);
        self.b.switch_to_block(hit);
        let v = self.b.ins().load(types::I64, flags, base, offset + 8);
        let cost = self.b.ins().load(types::I64, flags, base, offset + 16);
        self.charge_recorded(cost)?;
        self.b.ins().jump(done, &[v.into()]);
        self.b.switch_to_block(miss);
        let before = self.steps_left();
        let v = self.compute(e)?.v;
        let after = self.steps_left();
        let cost = self.b.ins().isub(before, after);
        let base = self.load_ctx(rt::OFF_REQUEST_MEMOS);
        let base = match shaped {
            Some(off) => self.b.ins().iadd(base, off),
            None => base,
        };
        let one = self.iconst(1);
        self.b.ins().store(flags, v, base, offset + 8);
        self.b.ins().store(flags, cost, base, offset + 16);
        self.b.ins().store(flags, one, base, offset);
        self.b.ins().jump(done, &[v.into()]);
        self.b.switch_to_block(done);
        Ok(out)
    }

    /// Whether `e` is memoized: a `Bool`, `Int` (or duration, timestamp) or enum expression
    /// that does work worth saving and depends on nothing but one entity (a rule argument or a
    /// local slot, not optional) and the snapshot: no `now`, context, window or clock. Returns
    /// the entity it depends on and the memo's shape; its key is the entity's designation and
    /// the expression's key (equal keys are the same function of the entity).
    fn memo_candidate(&mut self, e: &Expr) -> Option<(Root, rt::MemoSpec)> {
        let wide = match &e.ty {
            Type::Bool | Type::Enum(_) => false,
            Type::Int | Type::Duration | Type::Timestamp => true,
            _ => return None,
        };
        let (root, entity, deps) = self.entity_root(e)?;
        if !deps.expensive {
            return None;
        }
        Some((root, rt::MemoSpec { ty: entity, wide }))
    }

    /// The one entity `e` depends on besides the snapshot (a rule argument or a local slot
    /// of a non-optional entity type), with its type and `e`'s dependencies; `None` when `e`
    /// reads the request's time or context, a window or clock, or anything else.
    fn entity_root(&mut self, e: &Expr) -> Option<(Root, EntityTypeId, Deps)> {
        if matches!(
            e.kind,
            ExprKind::Arg(_) | ExprKind::Local(_) | ExprKind::Bool(_) | ExprKind::Int(_)
        ) {
            return None;
        }
        let mut calls = Vec::new();
        let mut deps = collect_deps(e, &mut calls);
        for f in calls {
            let inner = self.shared.fn_deps(f);
            deps.impure |= inner.impure;
            deps.expensive |= inner.expensive;
        }
        if deps.impure {
            return None;
        }
        let root = match (deps.args.as_slice(), deps.locals.as_slice()) {
            ([arg], []) => Root::Arg(*arg),
            ([], [local]) => Root::Local(*local),
            _ => return None,
        };
        // The entity's static type, from an occurrence in `e`.
        let mut ty = None;
        e.visit(|x| {
            let is_root = match (&x.kind, root) {
                (ExprKind::Arg(i), Root::Arg(r)) => *i == r,
                (ExprKind::Local(id), Root::Local(r)) => id.0 == r,
                _ => false,
            };
            if is_root && ty.is_none() {
                ty = Some(x.ty.clone());
            }
        });
        match ty {
            Some(Type::Entity(entity)) => Some((root, entity, deps)),
            _ => None,
        }
    }

    /// The native index of the entity a memo depends on.
    fn root_value(&mut self, root: Root) -> Result<Value, JitError> {
        match root {
            Root::Arg(i) => Ok(self.arg(i, &Type::Bool)?.v),
            Root::Local(id) => Ok(self
                .frame
                .get(id as usize)
                .copied()
                .flatten()
                .ok_or_else(|| internal("local slot read before it is bound"))?
                .v),
        }
    }

    /// `e` through its memo: the entity's slot is read natively; on a miss (or for an entity
    /// the snapshot does not hold) the value is computed and stored.
    fn memoized(&mut self, e: &Expr, root: Root, spec: rt::MemoSpec) -> Result<Nv, JitError> {
        let idx = self.root_value(root)?;
        // Compiled by shape, the memo's number comes from the table (and its header is found
        // at run time); else it is compiled in.
        let shaped = self.shaped_node(e);
        let m = match shaped {
            Some(k) => Err(self.table_word(Slot::Memo(k, root, spec))?),
            None => Ok(self.shared.memo(format!("{root:?}|{}", expr_key(e)), spec)),
        };
        self.shared.native_op();
        let headers = self.load_ctx(rt::OFF_MEMOS);
        let flags = MemFlagsData::trusted();
        // The header is `[address, entities, stride, _]` (see `rt::MEMO_HEADER_WORDS`).
        let (addr, header) = match m {
            Ok(m) => (
                headers,
                i32::try_from(m * 8 * rt::MEMO_HEADER_WORDS)
                    .map_err(|_| JitError::Unsupported("too many memoized expressions".into()))?,
            ),
            Err(m) => {
                let offset = self.b.ins().imul_imm_s(m, 8 * rt::MEMO_HEADER_WORDS as i64);
                (self.b.ins().iadd(headers, offset), 0)
            }
        };
        let base = self.b.ins().load(types::I64, flags, addr, header);
        let len = self.b.ins().load(types::I64, flags, addr, header + 8);
        let (done, out) = self.merge_block(&e.ty);
        let probe = self.b.create_block();
        let miss = self.b.create_block();
        // Unsigned: an unknown entity's negative code is out of range too.
        let inside = self.b.ins().icmp(IntCC::UnsignedLessThan, idx, len);
        self.b.ins().brif(inside, probe, &[], miss, &[]);
        self.b.switch_to_block(probe);
        // Entity `idx`'s entry is `idx * stride` bytes after entity 0's; wide entries are
        // `[known, value, cost, _]`, narrow ones `[value + 1, cost]` (see `rt::WIDE_WORDS`).
        let stride = self.b.ins().load(types::I64, flags, addr, header + 16);
        let offset = self.b.ins().imul(idx, stride);
        let addr = self.b.ins().iadd(base, offset);
        if spec.wide {
            let known = self.b.ins().atomic_load(types::I64, flags, addr);
            let hit = self.b.create_block();
            self.b.ins().brif(known, hit, &[], miss, &[]);
            self.b.switch_to_block(hit);
            let v = self.b.ins().load(types::I64, flags, addr, 8);
            let cost = self.b.ins().load(types::I64, flags, addr, 16);
            self.charge_recorded(cost)?;
            self.b.ins().jump(done, &[v.into()]);
        } else {
            let word = self.b.ins().atomic_load(types::I64, flags, addr);
            let hit = self.b.create_block();
            self.b.ins().brif(word, hit, &[], miss, &[]);
            self.b.switch_to_block(hit);
            let v = self.b.ins().iadd_imm_s(word, -1);
            let cost = self.b.ins().load(types::I64, flags, addr, 8);
            self.charge_recorded(cost)?;
            self.b.ins().jump(done, &[v.into()]);
        }
        self.b.switch_to_block(miss);
        let inst = match (m, shaped) {
            (Ok(m), _) => {
                let f = self.miss_function(e, root, m)?;
                self.b.ins().call(f, &[self.ctx, idx])
            }
            (Err(_), Some(k)) => {
                let f = self.shaped_miss_function(e, root)?;
                let data = self.table_word(Slot::MemoData(k, root, spec))?;
                self.b.ins().call(f, &[self.ctx, idx, data])
            }
            (Err(_), None) => return Err(internal("a memo without its number")),
        };
        let v = self
            .b
            .inst_results(inst)
            .first()
            .copied()
            .ok_or_else(|| internal("memo function without result"))?;
        let err = self.load_ctx(rt::OFF_ERR);
        self.branch_failed(err, done, &[v.into()]);
        self.b.switch_to_block(done);
        Ok(out)
    }

    /// The function `fn(ctx, entity) -> value` that computes memo `m` (expression `e` of
    /// entity `root`) for an entity, spending its steps, and stores it with what it cost; on
    /// failure it returns with the error pending in the context. Built the first time a rule
    /// reads the memo, shared by every later one: the compile time of a function used by many
    /// rules is paid once. Its body's statistics count in every rule that reads the memo.
    fn miss_function(&mut self, e: &Expr, root: Root, m: usize) -> Result<FuncRef, JitError> {
        let found = self
            .shared
            .miss_functions
            .get(&m)
            .map(|(id, body)| (*id, body.clone()));
        let id = match found {
            Some((id, body)) => {
                if let Some(s) = &mut self.shared.stats {
                    s.add(&body);
                }
                id
            }
            None => {
                let (id, body, _) = self.build_miss_function(e, root, Some(m))?;
                self.shared.miss_functions.insert(m, (id, body));
                id
            }
        };
        self.import_miss(id, false)
    }

    /// Like [`Lower::miss_function`], the function `fn(ctx, entity, table) -> value` shared by
    /// every memoized expression of the shape of `e` (of `root`): it reads the memo's number
    /// and the expression's literals from the memo's table (see [`Shared::memo_table`]).
    fn shaped_miss_function(&mut self, e: &Expr, root: Root) -> Result<FuncRef, JitError> {
        let key = format!("{root:?}|{}", shaped_key(e));
        let found = self
            .shared
            .shaped_misses
            .get(&key)
            .map(|(id, _, body)| (*id, body.clone()));
        let id = match found {
            Some((id, body)) => {
                if let Some(s) = &mut self.shared.stats {
                    s.add(&body);
                }
                id
            }
            None => {
                let (id, body, slots) = self.build_miss_function(e, root, None)?;
                self.shared.shaped_misses.insert(key, (id, slots, body));
                id
            }
        };
        self.import_miss(id, true)
    }

    /// A reference to miss function `id` in the function being built.
    fn import_miss(&mut self, id: FuncId, shaped: bool) -> Result<FuncRef, JitError> {
        if let Some(f) = self.miss_refs.get(&id) {
            return Ok(*f);
        }
        let sig = self.b.import_signature(miss_signature(self.module, shaped));
        let name = self
            .b
            .func
            .declare_imported_user_function(UserExternalName::new(0, id.as_u32()));
        // Not colocated: the functions of a module are not known to lie within 2 GiB of each
        // other, so the call goes through the function's absolute address.
        let f = self.b.import_function(ExtFuncData {
            name: ExternalName::user(name),
            signature: sig,
            colocated: false,
            patchable: false,
        });
        self.miss_refs.insert(id, f);
        Ok(f)
    }

    /// Builds the miss function of memo `m`, or (`None`) the shaped one of `e`'s shape: its
    /// id, its body's statistics and (shaped) the words of its table after the memo's number.
    fn build_miss_function(
        &mut self,
        e: &Expr,
        root: Root,
        m: Option<usize>,
    ) -> Result<(FuncId, RuleStats, Vec<Slot>), JitError> {
        let sig = miss_signature(self.module, m.is_none());
        let name = match m {
            Some(m) => format!("memo_{m}"),
            None => {
                self.shared.shaped_started += 1;
                format!("memo_shape_{}", self.shared.shaped_started)
            }
        };
        let id = self
            .module
            .declare_function(&name, Linkage::Local, &sig)
            .map_err(|e| JitError::Codegen(e.to_string()))?;
        let mut func = Function::with_name_signature(UserFuncName::user(0, id.as_u32()), sig);
        let mut fctx = FunctionBuilderContext::new();
        let frontend = self.module.target_config();
        // The body's statistics are counted on their own, then added to the rule's.
        let outer = self.shared.stats.replace(RuleStats::default());
        let built = (|| {
            let mut b = FunctionBuilder::new(&mut func, &mut fctx);
            let entry = b.create_block();
            b.append_block_params_for_function_params(entry);
            b.switch_to_block(entry);
            let (ctx, idx, data) = match b.block_params(entry) {
                [c, i] => (*c, *i, None),
                [c, i, d] => (*c, *i, Some(*d)),
                _ => return Err(internal("memo function parameters")),
            };
            let exit = Exit::returning(&mut b);
            let mut l = Lower::new(b, &mut *self.module, &mut *self.shared, ctx, exit);
            if let Some(data) = data {
                l.lits = Some(Lits::new(data, &[e], 1));
            }
            match root {
                Root::Arg(i) => l.arg_param = Some((i, idx)),
                Root::Local(r) => {
                    l.frame = vec![None; r as usize + 1];
                    l.bind(r as usize, Nv::plain(idx))?;
                }
            }
            let before = l.steps_left();
            let v = l.compute(e)?.v;
            let after = l.steps_left();
            let cost = l.b.ins().isub(before, after);
            let mc = match (m, data) {
                (Some(m), _) => l.iconst(m as i64),
                (None, Some(data)) => l.load_word(data, 0),
                (None, None) => return Err(internal("a memo function without its number")),
            };
            l.call(H::MemoPut, &[mc, idx, v, cost])?;
            l.b.ins().return_(&[v]);
            l.fill_returning_exit(exit, 0)?;
            let slots = l.lits.take().map(Lits::into_slots).unwrap_or_default();
            l.b.seal_all_blocks();
            l.b.finalize(frontend);
            Ok(slots)
        })();
        let body = std::mem::replace(&mut self.shared.stats, outer).unwrap_or_default();
        let slots = built?;
        if let Some(s) = &mut self.shared.stats {
            s.add(&body);
        }
        self.shared.functions.push((id, func));
        Ok((id, body, slots))
    }

    /// Lowers `e` itself (its sub-expressions may be memoized).
    fn compute(&mut self, e: &Expr) -> Result<Nv, JitError> {
        match &e.kind {
            ExprKind::Bool(v) => {
                self.shared.native_op();
                Ok(Nv::plain(self.iconst(i64::from(*v))))
            }
            ExprKind::Int(n) => {
                self.shared.native_op();
                Ok(Nv::plain(self.literal_number(e, *n)?))
            }
            ExprKind::Enum(v) => {
                self.shared.native_op();
                Ok(Nv::plain(self.literal_number(e, i64::from(*v))?))
            }
            ExprKind::Str(s) => {
                self.shared.native_op();
                if let Some(v) = self.shaped_literal(e, || true)? {
                    return Ok(Nv::plain(v));
                }
                let h = self
                    .shared
                    .constant(ConstKey::Str(s.clone()), RtValue::str(s));
                Ok(Nv::plain(self.iconst(h)))
            }
            ExprKind::Entity(id) => {
                let Type::Entity(ty) = e.ty.strip_optional() else {
                    return Err(internal("entity literal of a non-entity type"));
                };
                self.shared.native_op();
                if let Some(offset) = self.shaped_literal(e, || true)? {
                    let table = self.load_ctx(rt::OFF_LITERALS);
                    let addr = self.b.ins().iadd(table, offset);
                    let v = self
                        .b
                        .ins()
                        .load(types::I64, MemFlagsData::trusted(), addr, 0);
                    return Ok(Nv::plain(v));
                }
                let k = self.shared.literal(*ty, id);
                let table = self.load_ctx(rt::OFF_LITERALS);
                let offset = i32::try_from(k * 8)
                    .map_err(|_| JitError::Unsupported("too many entity literals".into()))?;
                let v = self
                    .b
                    .ins()
                    .load(types::I64, MemFlagsData::trusted(), table, offset);
                Ok(Nv::plain(v))
            }
            ExprKind::Set(items) => self.set_literal(e, items),
            ExprKind::None => {
                self.shared.native_op();
                let zero = self.iconst(0);
                Ok(Nv {
                    present: Some(zero),
                    v: zero,
                })
            }
            ExprKind::Some(inner) => {
                let nv = self.expr(inner)?;
                Ok(self.coerce(nv, &e.ty))
            }
            ExprKind::Now => {
                self.shared.native_op();
                Ok(Nv::plain(self.load_ctx(rt::OFF_NOW)))
            }
            ExprKind::Arg(i) => self.arg(*i, &e.ty),
            ExprKind::Context(i) => {
                if *i as usize >= self.shared.program.schema.context.len() {
                    return Err(internal("context field out of range"));
                }
                self.slot(*i as usize, &e.ty)
            }
            ExprKind::Local(id) => {
                let nv = self
                    .frame
                    .get(id.index())
                    .copied()
                    .flatten()
                    .ok_or_else(|| internal("local slot read before it is bound"))?;
                Ok(self.coerce(nv, &e.ty))
            }
            ExprKind::Attr { of, attr } => {
                let ent = self.expr(of)?;
                if ent.present.is_some() {
                    return Err(internal("attribute of an optional entity"));
                }
                let (payload, present) = self.attr(&of.ty, ent.v, *attr)?;
                Ok(match (e.ty.is_optional(), present) {
                    (true, Some(p)) => Nv {
                        present: Some(p),
                        v: payload,
                    },
                    _ => self.coerce(Nv::plain(payload), &e.ty),
                })
            }
            ExprKind::OptAttr { of, attr } => {
                let ent = self.expr(of)?;
                let Some(present) = ent.present else {
                    let (payload, p) = self.attr(&of.ty, ent.v, *attr)?;
                    let p = match p {
                        Some(p) => p,
                        None => self.iconst(1),
                    };
                    return Ok(Nv {
                        present: Some(p),
                        v: payload,
                    });
                };
                self.shared.native_op();
                let (merge, out) = self.merge_block(&e.ty);
                let then = self.b.create_block();
                let zero = self.iconst(0);
                self.b
                    .ins()
                    .brif(present, then, &[], merge, &[zero.into(), zero.into()]);
                self.b.switch_to_block(then);
                let (payload, p) = self.attr(&of.ty, ent.v, *attr)?;
                let nv = Nv {
                    present: p,
                    v: payload,
                };
                self.jump_merge(merge, nv, &e.ty);
                self.b.switch_to_block(merge);
                Ok(out)
            }
            ExprKind::Has { of, attr } => {
                let ent = self.expr(of)?;
                let (merge, out) = self.merge_block(&Type::Bool);
                let then = self.b.create_block();
                match ent.present {
                    Some(present) => {
                        let zero = self.iconst(0);
                        self.b.ins().brif(present, then, &[], merge, &[zero.into()]);
                    }
                    None => {
                        self.b.ins().jump(then, &[]);
                    }
                }
                self.b.switch_to_block(then);
                let (_, p) = self.attr(&of.ty, ent.v, *attr)?;
                let p = match p {
                    Some(p) => p,
                    None => self.iconst(1),
                };
                self.b.ins().jump(merge, &[p.into()]);
                self.b.switch_to_block(merge);
                self.shared.native_op();
                Ok(out)
            }
            ExprKind::Not(inner) => {
                let v = self.bool_expr(inner)?;
                self.shared.native_op();
                Ok(Nv::plain(self.b.ins().bxor_imm_u(v, 1)))
            }
            ExprKind::Neg(inner) => {
                let v = self.expr(inner)?.v;
                self.shared.native_op();
                let is_min = self.b.ins().icmp_imm_s(IntCC::Equal, v, i64::MIN);
                self.raise_if(is_min, 1)?;
                Ok(Nv::plain(self.b.ins().ineg(v)))
            }
            ExprKind::Binary { op, lhs, rhs } => self.binary(*op, lhs, rhs, &e.ty),
            ExprKind::Coalesce { value, fallback } => {
                let nv = self.expr(value)?;
                let Some(present) = nv.present else {
                    return Ok(self.coerce(nv, &e.ty));
                };
                self.shared.native_op();
                let (merge, out) = self.merge_block(&e.ty);
                let then = self.b.create_block();
                let other = self.b.create_block();
                self.b.ins().brif(present, then, &[], other, &[]);
                self.b.switch_to_block(then);
                self.jump_merge(merge, Nv::plain(nv.v), &e.ty);
                self.b.switch_to_block(other);
                let fb = self.expr(fallback)?;
                self.jump_merge(merge, fb, &e.ty);
                self.b.switch_to_block(merge);
                Ok(out)
            }
            ExprKind::In { elem, set } => {
                let x = self.expr(elem)?;
                let s = self.expr(set)?.v;
                self.contains(s, x, &elem.ty)
            }
            ExprKind::Matches { operand, regex } => {
                let s = self.expr(operand)?.v;
                let re = self.literal_number(e, i64::from(regex.0))?;
                Ok(Nv::plain(self.call(H::Matches, &[re, s])?))
            }
            ExprKind::If {
                cond,
                then,
                otherwise,
            } => {
                let c = self.bool_expr(cond)?;
                self.shared.native_op();
                let (merge, out) = self.merge_block(&e.ty);
                let t = self.b.create_block();
                let o = self.b.create_block();
                self.b.ins().brif(c, t, &[], o, &[]);
                self.b.switch_to_block(t);
                let tv = self.expr(then)?;
                self.jump_merge(merge, tv, &e.ty);
                self.b.switch_to_block(o);
                let ov = self.expr(otherwise)?;
                self.jump_merge(merge, ov, &e.ty);
                self.b.switch_to_block(merge);
                Ok(out)
            }
            ExprKind::Call { func, args } => {
                let program = self.shared.program;
                let f = program
                    .functions
                    .get(func.index())
                    .ok_or_else(|| internal("function out of range"))?;
                let mut values = Vec::with_capacity(args.len());
                for (i, arg) in args.iter().enumerate() {
                    let nv = self.expr(arg)?;
                    let nv = match f.params.get(i) {
                        Some(ty) => self.coerce(nv, ty),
                        None => nv,
                    };
                    values.push(Some(nv));
                }
                if let Some(s) = &mut self.shared.stats {
                    s.inlined_calls += 1;
                }
                // A call costs a step, after its arguments (as in the interpreter).
                self.charge(1)?;
                let n = (f.n_locals as usize).max(args.len());
                values.resize(n, None);
                let saved = std::mem::replace(&mut self.frame, values);
                let result = self.expr(&f.body);
                self.frame = saved;
                let nv = result?;
                Ok(self.coerce(nv, &e.ty))
            }
            ExprKind::Builtin { builtin, args } => self.builtin(*builtin, args),
            ExprKind::Quantifier {
                all,
                var,
                set,
                body,
            } => self.quantifier(*all, var.index(), set, body),
            ExprKind::Filter { var, set, cond } => self.filter(var.index(), set, cond),
            ExprKind::Related { rel, inverse, of } | ExprKind::Closure { rel, inverse, of } => {
                let target = match &e.ty {
                    Type::Set(inner) => match **inner {
                        Type::Entity(t) => t,
                        _ => return Err(internal("relation of a non-entity set type")),
                    },
                    _ => return Err(internal("relation of a non-set type")),
                };
                let transitive = matches!(e.kind, ExprKind::Closure { .. });
                let x = self.expr(of)?.v;
                let rel = self.iconst(i64::from(rel.0));
                let flags = self.iconst(i64::from(*inverse) | (i64::from(transitive) << 1));
                let ty = self.iconst(i64::from(target.0));
                Ok(Nv::plain(self.call(H::Related, &[rel, flags, x, ty])?))
            }
            ExprKind::Path {
                rel,
                inverse,
                from,
                to,
            } => {
                let a = self.expr(from)?.v;
                let b = self.expr(to)?.v;
                let rel = self.iconst(i64::from(rel.0));
                let inv = self.iconst(i64::from(*inverse));
                Ok(Nv::plain(self.call(H::Path, &[rel, inv, a, b])?))
            }
            ExprKind::InWindow { window, at } => {
                let t = self.expr(at)?.v;
                let w = self.literal_number(e, i64::from(window.0))?;
                Ok(Nv::plain(self.call(H::InWindow, &[w, t])?))
            }
            ExprKind::Remaining { window, at } => {
                let t = self.expr(at)?.v;
                let w = self.literal_number(e, i64::from(window.0))?;
                Ok(Nv::plain(self.call(H::Remaining, &[w, t])?))
            }
            ExprKind::Fits {
                window,
                at,
                duration,
            } => {
                let t = self.expr(at)?.v;
                let d = self.expr(duration)?.v;
                let w = self.literal_number(e, i64::from(window.0))?;
                Ok(Nv::plain(self.call(H::Fits, &[w, t, d])?))
            }
            ExprKind::NextOpen { window, at } => {
                let t = self.expr(at)?.v;
                let w = self.literal_number(e, i64::from(window.0))?;
                Ok(Nv::plain(self.call(H::NextOpen, &[w, t])?))
            }
            ExprKind::LocalTime { part, at, timezone } => {
                let t = self.expr(at)?.v;
                let tz = match self.shaped_literal(e, || true)? {
                    Some(tz) => tz,
                    None => {
                        let tz = self.shared.timezone(timezone)?;
                        self.iconst(tz as i64)
                    }
                };
                let part = self.iconst(rt::time_part(*part));
                Ok(Nv::plain(self.call(H::LocalTime, &[tz, part, t])?))
            }
        }
    }

    /// Rule argument `i` of static type `ty`: its request slot, or the parameter of a memo's
    /// miss function that holds it.
    fn arg(&mut self, i: u32, ty: &Type) -> Result<Nv, JitError> {
        if let Some((a, v)) = self.arg_param
            && a == i
        {
            self.shared.native_op();
            return Ok(Nv::plain(v));
        }
        let slot = *self
            .arg_slots
            .get(i as usize)
            .ok_or_else(|| internal("rule argument out of range"))?;
        self.slot(slot, ty)
    }

    /// A request slot: `[present, payload]` at `slots + 16 * slot`.
    fn slot(&mut self, slot: usize, ty: &Type) -> Result<Nv, JitError> {
        self.shared.native_op();
        let base = self.load_ctx(rt::OFF_SLOTS);
        let offset = i32::try_from(slot * 16)
            .map_err(|_| JitError::Unsupported("too many request fields".into()))?;
        let present = self
            .b
            .ins()
            .load(types::I64, MemFlagsData::trusted(), base, offset);
        let v = self
            .b
            .ins()
            .load(types::I64, MemFlagsData::trusted(), base, offset + 8);
        Ok(if ty.is_optional() {
            Nv {
                present: Some(present),
                v,
            }
        } else {
            Nv::plain(v)
        })
    }

    /// Reads attribute `attr` of entity `ent` of static type `of_ty`: the payload, and the
    /// presence flag when the attribute is optional.
    fn attr(
        &mut self,
        of_ty: &Type,
        ent: Value,
        attr: u32,
    ) -> Result<(Value, Option<Value>), JitError> {
        let Type::Entity(ty) = of_ty.strip_optional() else {
            return Err(internal("attribute of a non-entity"));
        };
        let field = self
            .shared
            .program
            .schema
            .entities
            .get(ty.index())
            .and_then(|t| t.attrs.get(attr as usize))
            .ok_or_else(|| internal("attribute out of range"))?;
        if ty.index() >= rt::MAX_PACKED || attr as usize >= rt::MAX_PACKED {
            return Err(JitError::Unsupported(
                "more than 4096 entity types or attributes".into(),
            ));
        }
        let optional = field.ty.is_optional();
        let code = code_of(&field.ty);
        // Native read from the snapshot's column when the index is in range; otherwise (an
        // entity the store does not hold, or a column that is not kept) `h_attr` reads the
        // attribute or reports the error.
        let c = self.shared.column(rt::ColumnSpec {
            ty: *ty,
            attr,
            code,
        });
        // The header is `[values, present, entities, stride]` (see `rt::COLUMN_HEADER_WORDS`).
        let header = i32::try_from(c * 8 * rt::COLUMN_HEADER_WORDS)
            .map_err(|_| JitError::Unsupported("too many attributes read".into()))?;
        self.shared.native_op();
        let flags = MemFlagsData::trusted();
        let headers = self.load_ctx(rt::OFF_COLUMNS);
        let len = self.b.ins().load(types::I64, flags, headers, header + 16);
        let fast = self.b.create_block();
        let slow = self.b.create_block();
        let done = self.b.create_block();
        let v = self.b.append_block_param(done, types::I64);
        let p = self.b.append_block_param(done, types::I64);
        let inside = self.b.ins().icmp(IntCC::UnsignedLessThan, ent, len);
        self.b.ins().brif(inside, fast, &[], slow, &[]);
        self.b.switch_to_block(fast);
        // Entity `ent`'s value and presence are `ent * stride` bytes after entity 0's (a
        // string or set that cannot be absent needs neither).
        let handle = code & 0xff == rt::K_HANDLE;
        let offset = if optional || !handle {
            let stride = self.b.ins().load(types::I64, flags, headers, header + 24);
            self.b.ins().imul(ent, stride)
        } else {
            ent
        };
        let present = if optional {
            let column = self.b.ins().load(types::I64, flags, headers, header + 8);
            let addr = self.b.ins().iadd(column, offset);
            self.b.ins().uload8(types::I64, flags, addr, 0)
        } else {
            self.iconst(1)
        };
        let value = if handle {
            let base = self.iconst(rt::attr_handle_base(ty.0, attr));
            self.b.ins().bor(ent, base)
        } else {
            let column = self.b.ins().load(types::I64, flags, headers, header);
            let addr = self.b.ins().iadd(column, offset);
            self.b.ins().load(types::I64, flags, addr, 0)
        };
        self.b.ins().jump(done, &[value.into(), present.into()]);
        self.b.switch_to_block(slow);
        let t = self.iconst(i64::from(ty.0));
        let a = self.iconst(i64::from(attr));
        let k = self.iconst(code);
        self.call_to(H::Attr, &[t, ent, a, k], done, |l, value| {
            let present = if optional {
                l.load_ctx(rt::OFF_AUX)
            } else {
                l.iconst(1)
            };
            vec![value.into(), present.into()]
        })?;
        self.b.switch_to_block(done);
        Ok((v, optional.then_some(p)))
    }

    fn set_literal(&mut self, e: &Expr, items: &[Expr]) -> Result<Nv, JitError> {
        if let Some(v) = self.shaped_literal(e, || constant_items(items).is_some())? {
            self.shared.native_op();
            return Ok(Nv::plain(v));
        }
        if let Some(values) = constant_items(items) {
            self.shared.native_op();
            let set = RtValue::set(values);
            let h = self.shared.constant(ConstKey::Set(set.clone()), set);
            return Ok(Nv::plain(self.iconst(h)));
        }
        let elem_ty = match &e.ty {
            Type::Set(inner) => inner.as_ref().clone(),
            _ => return Err(internal("set literal of a non-set type")),
        };
        let builder = self.call(H::SetNew, &[])?;
        let code = self.iconst(code_of(&elem_ty));
        for item in items {
            let nv = self.expr(item)?;
            self.call(H::SetPush, &[builder, code, nv.v])?;
        }
        Ok(Nv::plain(self.call(H::SetFinish, &[builder])?))
    }

    /// `x in s` for a native element of static type `elem_ty` (absent is in no set).
    fn contains(&mut self, set: Value, x: Nv, elem_ty: &Type) -> Result<Nv, JitError> {
        let code = self.iconst(code_of(elem_ty));
        let Some(present) = x.present else {
            return Ok(Nv::plain(self.call(H::Contains, &[set, code, x.v])?));
        };
        let (merge, out) = self.merge_block(&Type::Bool);
        let then = self.b.create_block();
        let zero = self.iconst(0);
        self.b.ins().brif(present, then, &[], merge, &[zero.into()]);
        self.b.switch_to_block(then);
        self.call_to(H::Contains, &[set, code, x.v], merge, |_, r| vec![r.into()])?;
        self.b.switch_to_block(merge);
        Ok(out)
    }

    fn binary(&mut self, op: BinOp, lhs: &Expr, rhs: &Expr, ty: &Type) -> Result<Nv, JitError> {
        match op {
            BinOp::And | BinOp::Or => {
                let a = self.bool_expr(lhs)?;
                self.shared.native_op();
                let (merge, out) = self.merge_block(&Type::Bool);
                let rest = self.b.create_block();
                if op == BinOp::And {
                    self.b.ins().brif(a, rest, &[], merge, &[a.into()]);
                } else {
                    self.b.ins().brif(a, merge, &[a.into()], rest, &[]);
                }
                self.b.switch_to_block(rest);
                let c = self.bool_expr(rhs)?;
                self.b.ins().jump(merge, &[c.into()]);
                self.b.switch_to_block(merge);
                Ok(out)
            }
            BinOp::Eq | BinOp::Ne => {
                let a = self.expr(lhs)?;
                let b = self.expr(rhs)?;
                let eq = self.equal(a, b, &lhs.ty)?;
                Ok(Nv::plain(if op == BinOp::Eq {
                    eq
                } else {
                    self.b.ins().bxor_imm_u(eq, 1)
                }))
            }
            BinOp::Lt | BinOp::Le | BinOp::Gt | BinOp::Ge => {
                let a = self.expr(lhs)?;
                let b = self.expr(rhs)?;
                self.shared.native_op();
                let cc = match op {
                    BinOp::Lt => IntCC::SignedLessThan,
                    BinOp::Le => IntCC::SignedLessThanOrEqual,
                    BinOp::Gt => IntCC::SignedGreaterThan,
                    _ => IntCC::SignedGreaterThanOrEqual,
                };
                let c = self.b.ins().icmp(cc, a.v, b.v);
                let mut r = self.b2i(c);
                for p in [a.present, b.present].into_iter().flatten() {
                    r = self.b.ins().band(r, p);
                }
                Ok(Nv::plain(r))
            }
            BinOp::Add | BinOp::Sub | BinOp::Mul => {
                let a = self.expr(lhs)?.v;
                let b = self.expr(rhs)?.v;
                self.shared.native_op();
                let (n, overflow, code) = match op {
                    BinOp::Add => {
                        let (n, o) = self.b.ins().sadd_overflow(a, b);
                        (n, o, 0)
                    }
                    BinOp::Sub => {
                        let (n, o) = self.b.ins().ssub_overflow(a, b);
                        (n, o, 1)
                    }
                    _ => {
                        let (n, o) = self.b.ins().smul_overflow(a, b);
                        (n, o, 2)
                    }
                };
                self.raise_if(overflow, code)?;
                if *ty == Type::Timestamp {
                    let low =
                        self.b
                            .ins()
                            .icmp_imm_s(IntCC::SignedLessThan, n, time::MIN_TIMESTAMP);
                    let high =
                        self.b
                            .ins()
                            .icmp_imm_s(IntCC::SignedGreaterThan, n, time::MAX_TIMESTAMP);
                    let out = self.b.ins().bor(low, high);
                    self.raise_if(out, code + 3)?;
                }
                Ok(Nv::plain(n))
            }
        }
    }

    /// Equality of two native values of the same static type (up to optionality): an absent
    /// value equals only an absent one.
    fn equal(&mut self, a: Nv, b: Nv, ty: &Type) -> Result<Value, JitError> {
        self.shared.native_op();
        if !is_handle(ty) {
            let c = self.b.ins().icmp(IntCC::Equal, a.v, b.v);
            let same = self.b2i(c);
            return Ok(match (a.present, b.present) {
                (None, None) => same,
                (Some(p), None) | (None, Some(p)) => self.b.ins().band(same, p),
                (Some(p), Some(q)) => {
                    // Both present and equal, or both absent.
                    let both = self.b.ins().band(p, q);
                    let eq = self.b.ins().band(both, same);
                    let either = self.b.ins().bor(p, q);
                    let neither = self.b.ins().bxor_imm_u(either, 1);
                    self.b.ins().bor(eq, neither)
                }
            });
        }
        if a.present.is_none() && b.present.is_none() {
            return self.call(H::Eq, &[a.v, b.v]);
        }
        let one = self.iconst(1);
        let p = a.present.unwrap_or(one);
        let q = b.present.unwrap_or(one);
        let both = self.b.ins().band(p, q);
        let either = self.b.ins().bor(p, q);
        let neither = self.b.ins().bxor_imm_u(either, 1);
        let (merge, out) = self.merge_block(&Type::Bool);
        let cmp = self.b.create_block();
        self.b.ins().brif(both, cmp, &[], merge, &[neither.into()]);
        self.b.switch_to_block(cmp);
        self.call_to(H::Eq, &[a.v, b.v], merge, |_, r| vec![r.into()])?;
        self.b.switch_to_block(merge);
        Ok(out.v)
    }

    fn builtin(&mut self, builtin: Builtin, args: &[Expr]) -> Result<Nv, JitError> {
        // The size of a closure needs no closure.
        if let (Builtin::Count, [arg]) = (builtin, args)
            && let ExprKind::Closure { rel, inverse, of } = &arg.kind
        {
            let x = self.expr(of)?.v;
            let rel = self.iconst(i64::from(rel.0));
            let inv = self.iconst(i64::from(*inverse));
            return Ok(Nv::plain(self.call(H::ClosureCount, &[rel, inv, x])?));
        }
        let mut values = Vec::with_capacity(args.len());
        for arg in args {
            values.push(self.expr(arg)?);
        }
        let (a, b) = match values.as_slice() {
            [a] => (*a, None),
            [a, b] => (*a, Some(*b)),
            _ => return Err(internal("builtin with a wrong number of arguments")),
        };
        let second = |b: Option<Nv>| b.ok_or_else(|| internal("builtin without its argument"));
        let v = match builtin {
            Builtin::Count => self.call(H::Len, &[a.v])?,
            Builtin::SetContains => {
                let elem_ty = args.get(1).map(|x| x.ty.clone()).unwrap_or(Type::Bool);
                return self.contains(a.v, second(b)?, &elem_ty);
            }
            Builtin::Intersects => self.call(H::Intersects, &[a.v, second(b)?.v])?,
            Builtin::IsSubset => self.call(H::Subset, &[a.v, second(b)?.v])?,
            Builtin::StartsWith | Builtin::EndsWith | Builtin::StrContains => {
                let op = match builtin {
                    Builtin::StartsWith => 0,
                    Builtin::EndsWith => 1,
                    _ => 2,
                };
                let op = self.iconst(op);
                self.call(H::StrTest, &[op, a.v, second(b)?.v])?
            }
            Builtin::Lower => self.call(H::Lower, &[a.v])?,
            Builtin::Len => self.call(strlen_helper(), &[a.v])?,
            Builtin::Closure
            | Builtin::Path
            | Builtin::Remaining
            | Builtin::Fits
            | Builtin::NextOpen
            | Builtin::Hour
            | Builtin::Weekday => {
                return Err(internal("builtin with its own IR node used as a call"));
            }
        };
        Ok(Nv::plain(v))
    }

    /// A loop over the elements of a set: calls `each` with the element bound to `var`, in the
    /// loop body; `each` returns `Some(exit value)` to leave early when its value is non-zero.
    fn quantifier(
        &mut self,
        all: bool,
        var: usize,
        set: &Expr,
        body: &Expr,
    ) -> Result<Nv, JitError> {
        let elem_ty = match &set.ty {
            Type::Set(inner) => inner.as_ref().clone(),
            _ => return Err(internal("quantifier over a non-set")),
        };
        let h = self.expr(set)?.v;
        self.shared.native_op();
        let n = self.call(H::Len, &[h])?;
        let items = self.items(h, &elem_ty)?;
        let header = self.b.create_block();
        let i = self.b.append_block_param(header, types::I64);
        let body_block = self.b.create_block();
        let (exit, out) = self.merge_block(&Type::Bool);
        let zero = self.iconst(0);
        self.b.ins().jump(header, &[zero.into()]);
        self.b.switch_to_block(header);
        let more = self.b.ins().icmp(IntCC::SignedLessThan, i, n);
        let done = self.iconst(i64::from(all));
        self.b
            .ins()
            .brif(more, body_block, &[], exit, &[done.into()]);
        self.b.switch_to_block(body_block);
        self.charge(1)?;
        let elem = self.element(h, items, i, &elem_ty)?;
        self.bind(var, Nv::plain(elem))?;
        let v = self.bool_expr(body)?;
        let next = self.b.create_block();
        let early = self.iconst(i64::from(!all));
        if all {
            self.b.ins().brif(v, next, &[], exit, &[early.into()]);
        } else {
            self.b.ins().brif(v, exit, &[early.into()], next, &[]);
        }
        self.b.switch_to_block(next);
        let i1 = self.b.ins().iadd_imm_s(i, 1);
        self.b.ins().jump(header, &[i1.into()]);
        self.b.switch_to_block(exit);
        Ok(out)
    }

    fn filter(&mut self, var: usize, set: &Expr, cond: &Expr) -> Result<Nv, JitError> {
        let elem_ty = match &set.ty {
            Type::Set(inner) => inner.as_ref().clone(),
            _ => return Err(internal("filter over a non-set")),
        };
        let h = self.expr(set)?.v;
        self.shared.native_op();
        let n = self.call(H::Len, &[h])?;
        let items = self.items(h, &elem_ty)?;
        let builder = self.call(H::SetNew, &[])?;
        let header = self.b.create_block();
        let i = self.b.append_block_param(header, types::I64);
        let body_block = self.b.create_block();
        let exit = self.b.create_block();
        let zero = self.iconst(0);
        self.b.ins().jump(header, &[zero.into()]);
        self.b.switch_to_block(header);
        let more = self.b.ins().icmp(IntCC::SignedLessThan, i, n);
        self.b.ins().brif(more, body_block, &[], exit, &[]);
        self.b.switch_to_block(body_block);
        self.charge(1)?;
        let elem = self.element(h, items, i, &elem_ty)?;
        self.bind(var, Nv::plain(elem))?;
        let keep = self.bool_expr(cond)?;
        let keep_block = self.b.create_block();
        let next = self.b.create_block();
        self.b.ins().brif(keep, keep_block, &[], next, &[]);
        self.b.switch_to_block(keep_block);
        self.call_to(H::FilterPush, &[builder, h, i], next, |_, _| Vec::new())?;
        self.b.switch_to_block(next);
        let i1 = self.b.ins().iadd_imm_s(i, 1);
        self.b.ins().jump(header, &[i1.into()]);
        self.b.switch_to_block(exit);
        Ok(Nv::plain(self.call(H::SetFinish, &[builder])?))
    }

    /// For a loop over a set of entities: where its indices lie when it is held as indices (a
    /// relation's result, a closure), else 0; `None` for other elements.
    fn items(&mut self, h: Value, elem_ty: &Type) -> Result<Option<Value>, JitError> {
        match elem_ty {
            Type::Entity(_) => Ok(Some(self.call(H::Items, &[h])?)),
            _ => Ok(None),
        }
    }

    /// Element `i` of set `h`: read in place from `items` when it is not 0 (see
    /// [`Lower::items`]), else through the helper.
    fn element(
        &mut self,
        h: Value,
        items: Option<Value>,
        i: Value,
        elem_ty: &Type,
    ) -> Result<Value, JitError> {
        let code = self.iconst(code_of(elem_ty));
        let Some(items) = items else {
            return self.call(H::Get, &[h, i, code]);
        };
        let direct = self.b.create_block();
        let helper = self.b.create_block();
        let done = self.b.create_block();
        let elem = self.b.append_block_param(done, types::I64);
        self.b.ins().brif(items, direct, &[], helper, &[]);
        self.b.switch_to_block(direct);
        let offset = self.b.ins().ishl_imm_u(i, 2);
        let addr = self.b.ins().iadd(items, offset);
        let idx = self.b.ins().uload32(MemFlagsData::trusted(), addr, 0);
        self.b.ins().jump(done, &[idx.into()]);
        self.b.switch_to_block(helper);
        self.call_to(H::Get, &[h, i, code], done, |_, v| vec![v.into()])?;
        self.b.switch_to_block(done);
        Ok(elem)
    }

    fn bind(&mut self, var: usize, nv: Nv) -> Result<(), JitError> {
        if var >= self.frame.len() {
            self.frame.resize(var + 1, None);
        }
        match self.frame.get_mut(var) {
            Some(slot) => {
                *slot = Some(nv);
                Ok(())
            }
            None => Err(internal("local slot out of range")),
        }
    }
}
