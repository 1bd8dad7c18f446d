//! The JIT: compiles a verified program to native code with Cranelift, one function per chunk
//! of an action's rules (consecutive rules in policy order, at most [`CHUNK_NODES`] expression
//! nodes, so that compile time stays linear in the number of rules).
//!
//! Each chunk's function has three modes: mode 0 evaluates the `when` conditions of every rule
//! of the chunk, in policy order, and writes one outcome per rule (all held, the first false
//! condition, or the condition that failed); deciding runs mode 0 of the action's chunks in
//! order. Mode 1 evaluates the message holes of one rule and mode 2 its approvers, emitting
//! their values for the shared renderer. The program's default approvers get a function of
//! their own, and so does the miss path of each memoized expression (see [`lower`]), which
//! every rule reading the memo calls.
//!
//! Rules written from one template, equal except for their literals and reading the same
//! request fields (a *shape*, see [`shape_keys`]), are compiled once for the shape when it has
//! at least [`SHARED_SHAPE`] rules: the shape's function takes the address of a table of the
//! rule's position in the plan and its literals (strings, numbers, entity literals, regex,
//! window and time-zone numbers, and the numbers of its memos), which live in [`Code`]; each
//! such rule is a chunk of its own, called in policy order like the others. A generated set of 10,000
//! rules from a dozen templates thus compiles a dozen functions, not hundreds of chunks; rules
//! of a rare shape keep their literals compiled in.
//!
//! Everything an expression does is native code or a call into the `extern "C"` helpers of
//! [`rt`] (registered as JIT symbols); nothing falls back to the interpreter, and a program
//! that cannot be compiled is an error of `Engine::new`.
//!
//! Compiled code lives in a [`JITModule`] owned by [`Code`] together with the function pointers
//! taken from it; dropping `Code` (when an engine's program is replaced) frees the code memory.
//! This is the only module with `unsafe` code: calling the compiled functions, reading the
//! context behind the pointer they pass to helpers, and freeing the module. The tables of
//! literals are plain `Box<[i64]>`s of `Code`, which native code only reads.
//! It knows the IR, the store, requests and decisions; not the CLI or how programs are compiled.

mod decide;
mod lower;
mod precompute;
mod rt;
#[cfg(test)]
mod tests;

use std::collections::{HashMap, HashSet};
use std::ops::Range;
use std::sync::atomic::{AtomicUsize, Ordering};

use cranelift_codegen::Context;
use cranelift_codegen::control::ControlPlane;
use cranelift_codegen::ir::{AbiParam, Function, InstBuilder, JumpTableData, MemFlagsData, types};
use cranelift_codegen::isa::TargetIsa;
use cranelift_codegen::settings::{self, Configurable};
use cranelift_frontend::{FunctionBuilder, FunctionBuilderContext, Switch};
use cranelift_jit::{JITBuilder, JITModule};
use cranelift_module::{FuncId, Linkage, Module, ModuleReloc};
use ward_ir::{EffectKind, MessagePart, Program};

use crate::prepared::Compiled;

pub use crate::prepared::JitError;
pub(crate) use decide::{Scratch, evaluate};
pub use lower::RuleStats;
pub use precompute::Precomputed;
pub(crate) use precompute::precompute;
pub(crate) use rt::{SnapshotTables, Tables};

fn codegen(e: impl std::fmt::Display) -> JitError {
    JitError::Codegen(e.to_string())
}

/// `fn(ctx, mode, rule) -> status` of one action's chunk (status 0 ok, 1 error, 2 nothing to do).
/// A function compiled by shape takes the address of its rule's table instead of `rule` (the
/// table starts with the rule's position in the plan).
type ActionFn = unsafe extern "C" fn(*mut u8, i64, i64) -> i64;
/// `fn(ctx) -> status` of the default's approvers.
type DefaultFn = unsafe extern "C" fn(*mut u8) -> i64;

/// `fn(ctx, entity) -> value` computing and storing one memo's value (see `lower`).
type MissFn = unsafe extern "C" fn(*mut u8, i64) -> i64;
/// `fn(ctx, entity, table) -> value` of a memo compiled by shape: `table` is the memo's.
type ShapedMissFn = unsafe extern "C" fn(*mut u8, i64, i64) -> i64;

/// The native function that computes memo `memo` for one entity and stores it, for
/// [`precompute`]: its own, or its shape's with the address of the memo's table (in
/// [`Code::data`]).
#[derive(Clone, Copy)]
enum Miss {
    Own(MissFn),
    Shaped(ShapedMissFn, i64),
}

/// How many [`Code`] values are alive (for the reload leak test).
static LIVE: AtomicUsize = AtomicUsize::new(0);

/// The number of compiled programs whose code memory has not been freed yet.
pub fn live_modules() -> usize {
    LIVE.load(Ordering::SeqCst)
}

/// One native function of an action: the action's rules from position `first` in its plan up
/// to the next chunk's `first`; for a function compiled by shape, the one rule at `first`, whose
/// table of literals (in [`Code::data`]) is at address `table` (0 for other functions).
struct Chunk {
    first: usize,
    f: ActionFn,
    table: i64,
}

/// The most expression nodes (functions inlined, see [`lower::rule_sizes`]) the rules of one
/// native function hold: an action with more rules gets several functions, each compiled on
/// its own, because Cranelift's register allocation and optimisation take more than linear
/// time in the size of a function. A rule larger than this gets a function of its own.
const CHUNK_NODES: usize = 500;

/// A program compiled to native code. The function pointers point into `module`'s memory,
/// which is freed when this value is dropped: they are never handed out.
pub(crate) struct Code {
    module: Option<JITModule>,
    /// Per action (by `ActionId`), its chunks in plan order (none when it has no rules).
    actions: Vec<Vec<Chunk>>,
    default: Option<DefaultFn>,
    /// Per memo that has one (by memo number, ascending), its miss function.
    misses: Vec<(usize, Miss)>,
    pub(crate) tables: Tables,
    pub(crate) stats: Vec<RuleStats>,
    /// The literals of the rules and memos compiled by shape, which native code reads through
    /// their addresses: never changed, never moved, until the code is dropped.
    data: Vec<Box<[i64]>>,
}

// SAFETY: after `finalize_definitions` the module is never used again except to free it in
// `Drop` (which takes `&mut self`, so no other thread can be calling into it then); the compiled
// functions are immutable machine code that only reads its arguments, and the tables are
// immutable plain data. `JITModule` is only `!Sync` because of interior state used while
// defining functions, which is over.
unsafe impl Send for Code {}
// SAFETY: see `Send` above: shared access only calls the finalized, immutable functions.
unsafe impl Sync for Code {}

impl Drop for Code {
    fn drop(&mut self) {
        if let Some(module) = self.module.take() {
            // SAFETY: the function pointers into this memory are private fields of `self`,
            // which is being dropped, so none of them can be called after this point; no call
            // can be in progress, because calls borrow `self`.
            unsafe { module.free_memory() };
        }
        LIVE.fetch_sub(1, Ordering::SeqCst);
    }
}

impl std::fmt::Debug for Code {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Code")
            .field("actions", &self.actions.len())
            .finish_non_exhaustive()
    }
}

impl Code {
    /// Runs mode 0 of action `action`: every chunk in order, up to the first that fails.
    fn run_conditions(&self, ctx: &mut rt::Ctx<'_>, action: usize) -> i64 {
        let chunks = match self.actions.get(action) {
            Some(chunks) if !chunks.is_empty() => chunks,
            _ => return 2,
        };
        for chunk in chunks {
            let status = Self::call(ctx, chunk.f, 0, chunk.table);
            if status != 0 {
                return status;
            }
        }
        0
    }

    /// Runs mode 1 or 2 for the rule at position `rule` of action `action`'s plan, in the
    /// chunk holding it.
    fn run_rule(&self, ctx: &mut rt::Ctx<'_>, action: usize, mode: i64, rule: usize) -> i64 {
        let Some(chunks) = self.actions.get(action) else {
            return 2;
        };
        let k = chunks.partition_point(|c| c.first <= rule);
        let Some(chunk) = k.checked_sub(1).and_then(|k| chunks.get(k)) else {
            return 2;
        };
        let arg = if chunk.table != 0 {
            chunk.table
        } else {
            rule as i64
        };
        Self::call(ctx, chunk.f, mode, arg)
    }

    #[inline]
    fn call(ctx: &mut rt::Ctx<'_>, f: ActionFn, mode: i64, rule: i64) -> i64 {
        let p: *mut rt::Ctx<'_> = ctx;
        // SAFETY: `f` was compiled by `compile` for this program with the `ActionFn` signature
        // and its memory lives as long as the `Code` it was taken from, which the caller
        // borrows; it only dereferences `p` (a live, exclusive context whose `slots`,
        // `outcomes` and `literals` were sized by `decide::evaluate` for this action) at the
        // fixed offsets of `rt::Ctx`'s `repr(C)` header, and passes it on to the helpers. A
        // function compiled by shape gets the `table` of its chunk as `rule`: the address of a
        // table of `Code::data` built for its rule (the addresses in it point into
        // `Code::data` too), which lives as long as the code.
        unsafe { f(p.cast(), mode, rule) }
    }

    /// Computes and stores the value of memo `miss` for entity `idx` (which the memo's
    /// table holds); on failure the error is left pending in `ctx`.
    fn run_miss(ctx: &mut rt::Ctx<'_>, miss: Miss, idx: i64) -> i64 {
        let p: *mut rt::Ctx<'_> = ctx;
        match miss {
            // SAFETY: as in `call`: a miss function of this module with the `MissFn`
            // signature, called with a live, exclusive context whose memo tables are this
            // program's; it reads only the context's header and calls the helpers.
            Miss::Own(f) => unsafe { f(p.cast(), idx) },
            // SAFETY: as above, with the address of the memo's table in `Code::data`, which
            // lives as long as the code the caller borrows.
            Miss::Shaped(f, table) => unsafe { f(p.cast(), idx, table) },
        }
    }

    fn run_default(&self, ctx: &mut rt::Ctx<'_>) -> i64 {
        let Some(f) = self.default else {
            return 2;
        };
        let p: *mut rt::Ctx<'_> = ctx;
        // SAFETY: as in `run_action`: a function of this module with the `DefaultFn` signature,
        // called with a live, exclusive context.
        unsafe { f(p.cast()) }
    }
}

/// How each rule is executed once compiled, in policy order (`ward check --stats`).
pub fn stats(program: &Program) -> Result<Vec<RuleStats>, crate::prepared::EngineError> {
    let compiled = Compiled::new(program.clone())?;
    let code = compile(&compiled)?;
    Ok(code.stats.clone())
}

/// Renders statistics of one rule as `native (3 runtime calls: attr ×2, matches)`.
pub fn describe(stats: &RuleStats) -> String {
    let calls: usize = stats.runtime_calls.values().sum();
    let mut out = format!("native, {} inline ops", stats.native_ops);
    if calls > 0 {
        let list: Vec<String> = stats
            .runtime_calls
            .iter()
            .map(|(name, n)| {
                if *n == 1 {
                    (*name).to_string()
                } else {
                    format!("{name} ×{n}")
                }
            })
            .collect();
        out.push_str(&format!(
            ", {calls} runtime call{}: {}",
            if calls == 1 { "" } else { "s" },
            list.join(", ")
        ));
    }
    if stats.inlined_calls > 0 {
        out.push_str(&format!(", {} inlined function calls", stats.inlined_calls));
    }
    out
}

/// Compiles every action of a verified program.
pub(crate) fn compile(compiled: &Compiled) -> Result<Code, JitError> {
    let program = &compiled.program;
    let sizes = lower::rule_sizes(program)?;
    let mut flags = settings::builder();
    // The IR verifier takes about a fifth of the compile time: it checks what this module
    // emits in debug builds (so in every test), not in release builds.
    let verify = if cfg!(debug_assertions) {
        "true"
    } else {
        "false"
    };
    for (name, value) in [
        ("opt_level", "speed"),
        ("use_colocated_libcalls", "false"),
        ("is_pic", "false"),
        ("enable_verifier", verify),
    ] {
        flags.set(name, value).map_err(codegen)?;
    }

    let isa = cranelift_native::builder()
        .map_err(codegen)?
        .finish(settings::Flags::new(flags))
        .map_err(codegen)?;
    let mut builder = JITBuilder::with_isa(isa, cranelift_module::default_libcall_names());
    let helpers = lower::helpers();
    for (_, info) in &helpers {
        builder.symbol(info.name, info.ptr);
    }
    let module = JITModule::new(builder);
    LIVE.fetch_add(1, Ordering::SeqCst);
    // From here on `code` owns the module, so an error frees it.
    let mut code = Code {
        module: Some(module),
        actions: Vec::new(),
        default: None,
        misses: Vec::new(),
        tables: Tables::default(),
        stats: Vec::new(),
        data: Vec::new(),
    };
    let module = code
        .module
        .as_mut()
        .ok_or_else(|| JitError::Codegen("no module".into()))?;
    let mut ids = HashMap::new();
    for (h, info) in &helpers {
        let sig = lower::helper_signature(module, info.params);
        let id = module
            .declare_function(info.name, Linkage::Import, &sig)
            .map_err(codegen)?;
        ids.insert(*h, (id, info.fallible));
    }
    let mut shared = lower::Shared::new(program, ids);
    let mut stats: Vec<RuleStats> = program
        .rules
        .iter()
        .map(|r| RuleStats {
            rule: r.name.clone(),
            ..RuleStats::default()
        })
        .collect();
    let mut recorded = vec![false; program.rules.len()];
    let frontend = module.target_config();
    let mut fctx = FunctionBuilderContext::new();
    let mut cctx = module.make_context();
    // Per action, its chunks: (first rule's position in the plan, function).
    let mut action_ids = Vec::new();
    // The functions built, to be compiled.
    let mut pending = Vec::new();
    let n_context = program.schema.context.len();
    let keys = shape_keys(compiled);
    // Per shape compiled so far: its function, the words of its rules' tables, its statistics.
    let mut shapes: HashMap<&str, (FuncId, Vec<lower::Slot>, RuleStats)> = HashMap::new();
    for (a, plan) in compiled.actions.iter().enumerate() {
        let mut ids = Vec::new();
        let plan_keys = keys.get(a).map_or(&[][..], Vec::as_slice);
        for (k, segment) in segments(plan, &sizes, plan_keys).into_iter().enumerate() {
            let (range, key) = match segment {
                Segment::Chunk(range) => (range, None),
                Segment::Shaped(ri, key) => (ri..ri + 1, Some(key)),
            };
            let first = range.start;
            let shape = key.and_then(|key| shapes.get(key).map(|s| (key, s)));
            let id = match (key, shape) {
                (Some(_), Some((_, (id, _, _)))) => *id,
                (key, _) => {
                    cctx.func.signature = action_signature(module);
                    let built = {
                        let b = FunctionBuilder::new(&mut cctx.func, &mut fctx);
                        action_body(
                            b,
                            module,
                            &mut shared,
                            compiled,
                            plan,
                            range,
                            n_context,
                            &mut stats,
                            &mut recorded,
                            key.is_some(),
                        )?
                    };
                    let name = match key {
                        Some(_) => format!("shape_{}", shapes.len()),
                        None => format!("action_{a}_{k}"),
                    };
                    let id = module
                        .declare_function(&name, Linkage::Local, &cctx.func.signature)
                        .map_err(codegen)?;
                    pending.push((id, std::mem::replace(&mut cctx.func, Function::new())));
                    module.clear_context(&mut cctx);
                    if let (Some(key), Some((slots, own))) = (key, built) {
                        shapes.insert(key, (id, slots, own));
                    }
                    id
                }
            };
            // A rule compiled by shape: its table, and the shape's statistics.
            let table = match key.and_then(|key| shapes.get(key)) {
                Some((_, slots, own)) => {
                    let planned = plan
                        .rules
                        .get(first)
                        .ok_or_else(|| JitError::Codegen("rule out of range".into()))?;
                    let rule = program
                        .rules
                        .get(planned.rule)
                        .ok_or_else(|| JitError::Codegen("rule out of range".into()))?;
                    if let (Some(slot), Some(done)) =
                        (stats.get_mut(planned.rule), recorded.get_mut(planned.rule))
                        && !*done
                    {
                        *slot = RuleStats {
                            rule: rule.name.clone(),
                            ..own.clone()
                        };
                        *done = true;
                    }
                    let words = shared.table(slots, &shape_roots(rule), &[first as i64])?;
                    Some(words)
                }
                None => None,
            };
            ids.push((first, id, table.map(|words| shared.keep(words))));
        }
        action_ids.push(ids);
    }
    let mut default_id = None;
    if program.default.kind == EffectKind::RequireApproval
        && let Some(expr) = &program.default.approvers
    {
        let mut sig = module.make_signature();
        sig.params.push(AbiParam::new(types::I64));
        sig.returns.push(AbiParam::new(types::I64));
        cctx.func.signature = sig;
        {
            let mut b = FunctionBuilder::new(&mut cctx.func, &mut fctx);
            let entry = b.create_block();
            b.append_block_params_for_function_params(entry);
            b.switch_to_block(entry);
            let ctx = *b
                .block_params(entry)
                .first()
                .ok_or_else(|| JitError::Codegen("no context parameter".into()))?;
            let exit = lower::Exit::returning(&mut b);
            let mut l = lower::Lower::new(b, module, &mut shared, ctx, exit);
            l.enter_rule(compiled.default_locals, Vec::new());
            l.emit(expr)?;
            let zero = l.b.ins().iconst(types::I64, 0);
            l.b.ins().return_(&[zero]);
            l.fill_returning_exit(exit, 1)?;
            l.b.seal_all_blocks();
            l.b.finalize(frontend);
        }
        let id = module
            .declare_function("default_approvers", Linkage::Local, &cctx.func.signature)
            .map_err(codegen)?;
        pending.push((id, std::mem::replace(&mut cctx.func, Function::new())));
        module.clear_context(&mut cctx);
        default_id = Some(id);
    }
    let miss_entries = shared.miss_entries();
    pending.append(&mut shared.functions);
    let parallel = sizes.iter().sum::<usize>() >= PARALLEL_NODES;
    let machine = machine_code(module.isa(), pending, parallel)?;
    for (id, m) in machine {
        module
            .define_function_bytes(id, m.alignment, &m.bytes, &m.relocs)
            .map_err(codegen)?;
    }
    module.finalize_definitions().map_err(codegen)?;
    let mut actions = Vec::with_capacity(action_ids.len());
    for ids in action_ids {
        let mut chunks = Vec::with_capacity(ids.len());
        for (first, id, table) in ids {
            let ptr = module.get_finalized_function(id);
            // SAFETY: `ptr` is the finalized code of a function defined above with the
            // signature `(i64, i64, i64) -> i64` in the host's default calling convention,
            // which is what `ActionFn` (`extern "C"`) is on this target.
            let f = unsafe { std::mem::transmute::<*const u8, ActionFn>(ptr) };
            let table = table.unwrap_or(0);
            chunks.push(Chunk { first, f, table });
        }
        actions.push(chunks);
    }
    let default = match default_id {
        Some(id) => {
            let ptr = module.get_finalized_function(id);
            // SAFETY: as above, a function defined with the signature `(i64) -> i64`.
            Some(unsafe { std::mem::transmute::<*const u8, DefaultFn>(ptr) })
        }
        None => None,
    };
    let misses = miss_entries
        .into_iter()
        .map(|(m, id, table)| {
            let ptr = module.get_finalized_function(id);
            let miss = match table {
                // SAFETY: as above, a miss function defined with the signature
                // `(i64, i64) -> i64` (`lower::miss_signature`, not shaped).
                None => Miss::Own(unsafe { std::mem::transmute::<*const u8, MissFn>(ptr) }),
                // SAFETY: as above, a shaped miss function, `(i64, i64, i64) -> i64`.
                Some(table) => Miss::Shaped(
                    unsafe { std::mem::transmute::<*const u8, ShapedMissFn>(ptr) },
                    table,
                ),
            };
            (m, miss)
        })
        .collect();
    code.actions = actions;
    code.default = default;
    code.misses = misses;
    code.tables = shared.tables;
    code.data = shared.data;
    code.stats = stats;
    Ok(code)
}

/// The machine code of one function, for [`Module::define_function_bytes`].
struct Machine {
    alignment: u64,
    bytes: Vec<u8>,
    relocs: Vec<ModuleReloc>,
}

/// At most this many threads compile a program's functions.
const THREADS: usize = 2;

/// A program of fewer expression nodes is compiled on the calling thread: it takes a few
/// milliseconds, and a process that never started a thread keeps the allocator's faster
/// single-threaded paths.
const PARALLEL_NODES: usize = 4 * CHUNK_NODES;

/// Compiles the functions built (each on its own: the result does not depend on which thread
/// compiled which), on up to [`THREADS`] threads when `parallel` and there are several, and
/// returns their code in the order given.
fn machine_code(
    isa: &dyn TargetIsa,
    pending: Vec<(FuncId, Function)>,
    parallel: bool,
) -> Result<Vec<(FuncId, Machine)>, JitError> {
    let one = |(id, func): (FuncId, Function)| -> Result<(FuncId, Machine), JitError> {
        let mut ctx = Context::for_function(func);
        ctx.compile(isa, &mut ControlPlane::default())
            .map_err(|e| codegen(e.inner))?;
        let code = ctx
            .compiled_code()
            .ok_or_else(|| JitError::Codegen("no compiled code".into()))?;
        let machine = Machine {
            alignment: u64::from(code.buffer.alignment),
            bytes: code.code_buffer().to_vec(),
            relocs: code
                .buffer
                .relocs()
                .iter()
                .map(|r| ModuleReloc::from_mach_reloc(r, &ctx.func, id))
                .collect(),
        };
        Ok((id, machine))
    };
    let threads = std::thread::available_parallelism()
        .map_or(1, usize::from)
        .min(THREADS);
    if !parallel || threads < 2 || pending.len() < 2 {
        return pending.into_iter().map(one).collect();
    }
    // Functions alternate between the threads; each returns its results in its order.
    let mut shares: Vec<Vec<(FuncId, Function)>> = (0..threads).map(|_| Vec::new()).collect();
    let n = pending.len();
    for (i, f) in pending.into_iter().enumerate() {
        if let Some(share) = shares.get_mut(i % threads) {
            share.push(f);
        }
    }
    let results: Vec<Result<Vec<(FuncId, Machine)>, JitError>> = std::thread::scope(|scope| {
        let handles: Vec<_> = shares
            .into_iter()
            .map(|share| {
                scope.spawn(move || share.into_iter().map(one).collect::<Result<Vec<_>, _>>())
            })
            .collect();
        handles
            .into_iter()
            .map(|h| {
                h.join()
                    .unwrap_or_else(|_| Err(JitError::Codegen("a compiler thread panicked".into())))
            })
            .collect()
    });
    let mut per_thread = Vec::with_capacity(threads);
    for r in results {
        per_thread.push(r?.into_iter());
    }
    let mut out = Vec::with_capacity(n);
    for i in 0..n {
        if let Some(next) = per_thread.get_mut(i % threads).and_then(Iterator::next) {
            out.push(next);
        }
    }
    Ok(out)
}

fn action_signature(module: &JITModule) -> cranelift_codegen::ir::Signature {
    let mut sig = module.make_signature();
    for _ in 0..3 {
        sig.params.push(AbiParam::new(types::I64));
    }
    sig.returns.push(AbiParam::new(types::I64));
    sig
}

/// How many rules of one shape (in all actions) make it worth compiling once for all of them
/// (see [`shape_keys`]). A rule compiled by shape costs a call of its own per decision and
/// reads its literals from memory, so a shape of a few rules is compiled in its chunks, with
/// its literals compiled in.
const SHARED_SHAPE: usize = 4;

#[cfg(test)]
thread_local! {
    /// When set while a program is compiled, no rule is compiled by shape.
    pub(crate) static NO_SHAPES: std::cell::Cell<bool> = const { std::cell::Cell::new(false) };
}

/// A part of an action's plan compiled as one function.
enum Segment<'k> {
    /// Consecutive rules (positions in the plan), with their literals compiled in.
    Chunk(Range<usize>),
    /// The rule at a position, compiled by its shape (the key).
    Shaped(usize, &'k str),
}

/// Per action, per rule of its plan, the key of the rule's shape when it is compiled by shape:
/// rules whose expressions are equal except for their literals (see [`lower::shaped_key`]) and
/// which read the same request fields share one native function, which reads each rule's
/// literals (and the numbers of its memos) from a table of its own. `None` for a rule whose
/// shape has fewer than [`SHARED_SHAPE`] rules (a rule on several actions counts once).
fn shape_keys(compiled: &Compiled) -> Vec<Vec<Option<String>>> {
    let program = &compiled.program;
    #[cfg(test)]
    if NO_SHAPES.with(std::cell::Cell::get) {
        return compiled
            .actions
            .iter()
            .map(|plan| vec![None; plan.rules.len()])
            .collect();
    }
    let mut by_rule: Vec<Option<String>> = vec![None; program.rules.len()];
    let mut keys: Vec<Vec<String>> = Vec::with_capacity(compiled.actions.len());
    // The rules of each shape (a rule on several actions counts once).
    let mut rules: HashMap<String, HashSet<usize>> = HashMap::new();
    for plan in &compiled.actions {
        let mut plan_keys = Vec::with_capacity(plan.rules.len());
        for planned in &plan.rules {
            let own = match by_rule.get_mut(planned.rule) {
                Some(Some(key)) => key.clone(),
                Some(slot) => {
                    let key = program
                        .rules
                        .get(planned.rule)
                        .map(rule_shape)
                        .unwrap_or_default();
                    *slot = Some(key.clone());
                    key
                }
                None => String::new(),
            };
            let key = format!("{:?}|{own}", planned.args);
            rules.entry(key.clone()).or_default().insert(planned.rule);
            plan_keys.push(key);
        }
        keys.push(plan_keys);
    }
    keys.into_iter()
        .map(|plan_keys| {
            plan_keys
                .into_iter()
                .map(|key| (rules.get(&key).map_or(0, HashSet::len) >= SHARED_SHAPE).then_some(key))
                .collect()
        })
        .collect()
}

/// The shape of a rule (with its literals left out): what its native function depends on.
fn rule_shape(rule: &ward_ir::Rule) -> String {
    let mut key = format!(
        "{} {:?} {} {}",
        rule.n_locals,
        rule.effect.kind,
        rule.conditions.len(),
        rule.message.is_some()
    );
    for e in shape_roots(rule) {
        key.push('|');
        key.push_str(&lower::shaped_key(e));
    }
    key
}

/// The rules of an action's plan cut into functions, in plan order: each rule compiled by
/// shape (`keys`, see [`shape_keys`]) on its own, the others in chunks of at most
/// [`CHUNK_NODES`] expression nodes (at least one rule each) of consecutive rules.
fn segments<'k>(
    plan: &crate::prepared::ActionPlan,
    sizes: &[usize],
    keys: &'k [Option<String>],
) -> Vec<Segment<'k>> {
    let mut out = Vec::new();
    let (mut start, mut nodes) = (0, 0usize);
    for (ri, planned) in plan.rules.iter().enumerate() {
        if let Some(Some(key)) = keys.get(ri) {
            if ri > start {
                out.push(Segment::Chunk(start..ri));
            }
            out.push(Segment::Shaped(ri, key));
            (start, nodes) = (ri + 1, 0);
            continue;
        }
        let n = sizes.get(planned.rule).copied().unwrap_or(0);
        if ri > start && nodes.saturating_add(n) > CHUNK_NODES {
            out.push(Segment::Chunk(start..ri));
            (start, nodes) = (ri, 0);
        }
        nodes = nodes.saturating_add(n);
    }
    if start < plan.rules.len() {
        out.push(Segment::Chunk(start..plan.rules.len()));
    }
    out
}

/// Builds the function of the rules at positions `range` of an action's plan. Mode 0 writes
/// the outcome of each of them at its position: 0 all conditions held, `1 + j` condition `j`
/// was false, `-(1 + j)` condition `j` failed. Modes 1 and 2 take a position in the plan.
///
/// With `shaped`, `range` is one rule and the function serves every rule of its shape (see
/// [`shape_keys`]): its `rule` parameter is the address of the rule's table, whose first word
/// is the rule's position in the plan and the others its literals. It then returns the words
/// of that table after the position and the rule's statistics, which every rule of the shape
/// has.
#[allow(clippy::too_many_arguments)]
fn action_body(
    mut b: FunctionBuilder<'_>,
    module: &mut JITModule,
    shared: &mut lower::Shared<'_>,
    compiled: &Compiled,
    plan: &crate::prepared::ActionPlan,
    range: Range<usize>,
    n_context: usize,
    stats: &mut [RuleStats],
    recorded: &mut [bool],
    shaped: bool,
) -> Result<Option<(Vec<lower::Slot>, RuleStats)>, JitError> {
    let frontend = module.target_config();
    let program = &compiled.program;
    let planned_rules = plan
        .rules
        .get(range.clone())
        .ok_or_else(|| JitError::Codegen("chunk out of range".into()))?;
    let entry = b.create_block();
    b.append_block_params_for_function_params(entry);
    b.switch_to_block(entry);
    let (ctx, mode, arg) = match b.block_params(entry) {
        [c, m, r] => (*c, *m, *r),
        _ => return Err(JitError::Codegen("wrong parameters".into())),
    };
    // The rule's position: the parameter, or the first word of a shaped rule's table.
    let (position, data) = if shaped {
        let flags = MemFlagsData::trusted().with_readonly();
        (b.ins().load(types::I64, flags, arg, 0), arg)
    } else {
        (arg, arg)
    };
    let conds = b.create_block();
    let dispatch = b.create_block();
    b.ins().brif(mode, dispatch, &[], conds, &[]);
    b.switch_to_block(conds);
    // One failure exit for every condition of the chunk: `fail(site)` records the pending
    // error as the rule's, writes its outcome and goes on with the next rule; `raise(code,
    // site)` raises an error first. A site is `k * stride + j` for condition `j` of the
    // chunk's rule `k`.
    let n = planned_rules.len();
    let mut most = 0usize;
    for planned in planned_rules {
        let rule = program
            .rules
            .get(planned.rule)
            .ok_or_else(|| JitError::Unsupported("rule out of range".into()))?;
        most = most.max(rule.conditions.len());
    }
    let stride = most + 1;
    let too_many = || JitError::Unsupported("too many conditions for one function".into());
    if n.checked_mul(stride)
        .and_then(|x| i64::try_from(x).ok())
        .is_none()
    {
        return Err(too_many());
    }
    let fail = b.create_block();
    b.append_block_param(fail, types::I64);
    let raise = b.create_block();
    b.append_block_param(raise, types::I64);
    b.append_block_param(raise, types::I64);
    // The start of each rule's conditions, then the end of the chunk.
    let starts: Vec<_> = (0..=n).map(|_| b.create_block()).collect();
    let start_of = |k: usize| {
        starts
            .get(k)
            .copied()
            .ok_or_else(|| JitError::Codegen("rule start out of range".into()))
    };
    b.ins().jump(start_of(0)?, &[]);
    let exit = lower::Exit {
        fail,
        raise,
        site: None,
    };
    let mut l = lower::Lower::new(b, module, shared, ctx, exit);
    if shaped {
        let rule = planned_rules
            .first()
            .and_then(|p| program.rules.get(p.rule))
            .ok_or_else(|| JitError::Codegen("a shaped function without its rule".into()))?;
        l.lits = Some(lower::Lits::new(data, &shape_roots(rule), 1));
    }
    // The statistics of the rule of a shaped function, recorded whatever `recorded` says.
    let mut own: Option<RuleStats> = None;
    // Per planned rule: (position, rule index) for the dispatch part.
    let mut parts = Vec::new();
    for (k, (ri, planned)) in range.clone().zip(planned_rules).enumerate() {
        let rule = program
            .rules
            .get(planned.rule)
            .ok_or_else(|| JitError::Unsupported("rule out of range".into()))?;
        let record = shaped || recorded.get(planned.rule) == Some(&false);
        if shaped {
            l.shared().stats = Some(RuleStats {
                rule: rule.name.clone(),
                ..RuleStats::default()
            });
        } else if record {
            l.shared().stats = stats.get_mut(planned.rule).map(std::mem::take);
        }
        let arg_slots: Vec<usize> = planned
            .args
            .iter()
            .map(|f| n_context + *f as usize)
            .collect();
        l.enter_rule(rule.n_locals, arg_slots.clone());
        l.b.switch_to_block(start_of(k)?);
        // The rule's outcome: 0 all conditions held, `1 + j` condition `j` was false (each
        // written on its own path, which then goes on with the next rule). A shaped function
        // finds its rule's outcome at run time.
        let offset = i32::try_from(ri * 8)
            .map_err(|_| JitError::Unsupported("too many rules for one action".into()))?;
        let after = start_of(k + 1)?;
        let write_outcome = |l: &mut lower::Lower<'_, '_, '_>, outcome: i64| {
            let out = l.load_ctx(rt::OFF_OUTCOMES);
            let code = l.b.ins().iconst(types::I64, outcome);
            if shaped {
                let at = l.b.ins().ishl_imm_u(position, 3);
                let addr = l.b.ins().iadd(out, at);
                l.b.ins().store(MemFlagsData::trusted(), code, addr, 0);
            } else {
                l.b.ins().store(MemFlagsData::trusted(), code, out, offset);
            }
            l.b.ins().jump(after, &[]);
        };
        for (j, c) in rule.conditions.iter().enumerate() {
            l.set_site(Some((k * stride + j) as i64));
            let v = l.bool_expr(&c.expr)?;
            let next = l.b.create_block();
            let false_block = l.b.create_block();
            l.b.ins().brif(v, next, &[], false_block, &[]);
            l.flush_exits();
            l.b.switch_to_block(false_block);
            write_outcome(&mut l, 1 + j as i64);
            l.b.switch_to_block(next);
        }
        l.set_site(None);
        write_outcome(&mut l, 0);
        if shaped {
            own = l.shared().stats.take();
        } else if record
            && let (Some(s), Some(slot)) = (l.shared().stats.take(), stats.get_mut(planned.rule))
        {
            *slot = s;
        }
        // In a shaped function the dispatch is on the mode alone.
        let at = if shaped { 0 } else { ri };
        parts.push((at, planned.rule, arg_slots, record));
    }
    l.b.switch_to_block(start_of(n)?);
    let zero = l.b.ins().iconst(types::I64, 0);
    l.b.ins().return_(&[zero]);
    // The failure exits: outcome `-(1 + j)` for the rule at position `first + k`, then the
    // conditions of the rule after it.
    l.b.switch_to_block(raise);
    let (code, site) = match l.b.block_params(raise) {
        [c, s] => (*c, *s),
        _ => return Err(JitError::Codegen("raise exit parameters".into())),
    };
    l.call(lower::H::Raise, &[code])?;
    l.b.ins().jump(fail, &[site.into()]);
    l.b.switch_to_block(fail);
    let site =
        *l.b.block_params(fail)
            .first()
            .ok_or_else(|| JitError::Codegen("failure exit parameters".into()))?;
    let k = l.b.ins().udiv_imm_u(site, stride as i64);
    let j = l.b.ins().urem_imm_u(site, stride as i64);
    let pos = if shaped {
        l.b.ins().iadd(k, position)
    } else {
        l.b.ins().iadd_imm_s(k, range.start as i64)
    };
    l.call(lower::H::RuleError, &[pos])?;
    let minus = l.b.ins().ineg(j);
    let code = l.b.ins().iadd_imm_s(minus, -1);
    let out = l.load_ctx(rt::OFF_OUTCOMES);
    let offset = l.b.ins().ishl_imm_u(pos, 3);
    let addr = l.b.ins().iadd(out, offset);
    l.b.ins().store(MemFlagsData::trusted(), code, addr, 0);
    let table: Vec<_> = starts
        .iter()
        .skip(1)
        .map(|block| l.b.func.dfg.block_call(*block, &[]))
        .collect();
    let default = l.b.func.dfg.block_call(start_of(n)?, &[]);
    let jt = l.b.create_jump_table(JumpTableData::new(default, &table));
    let k32 = l.b.ins().ireduce(types::I32, k);
    l.b.ins().br_table(k32, jt);

    // Modes 1 (message) and 2 (approvers): one entry per rule that has them. Rules whose
    // bodies are the same code (the same expressions over the same request slots, such as
    // rules written from one template) share one body.
    l.b.switch_to_block(dispatch);
    let returning = lower::Exit::returning(&mut l.b);
    let nothing = l.b.create_block();
    let key = {
        let shifted = l.b.ins().ishl_imm_u(mode, 32);
        if shaped {
            shifted
        } else {
            l.b.ins().bor(shifted, position)
        }
    };
    let mut switch = Switch::new();
    let mut bodies: Vec<SharedBody<'_>> = Vec::new();
    let mut by_key: HashMap<String, usize> = HashMap::new();
    for (ri, r, arg_slots, record) in parts {
        let Some(rule) = program.rules.get(r) else {
            continue;
        };
        let approvers = match (&rule.effect.kind, &rule.effect.approvers) {
            (EffectKind::RequireApproval, Some(expr)) => Some(expr),
            _ => None,
        };
        let entries = [
            (1u128, rule.message.as_ref().map(Body::Message)),
            (2u128, approvers.map(Body::Approvers)),
        ];
        for (mode, body) in entries {
            let Some(body) = body else {
                continue;
            };
            // A shaped function has one rule: nothing to share.
            let body_key = if shaped {
                mode.to_string()
            } else {
                format!("{mode}|{arg_slots:?}|{}|{}", rule.n_locals, body.key())
            };
            let k = match by_key.get(&body_key) {
                Some(k) => *k,
                None => {
                    bodies.push(SharedBody {
                        block: l.b.create_block(),
                        n_locals: rule.n_locals,
                        arg_slots: arg_slots.clone(),
                        body,
                        recorded_by: Vec::new(),
                    });
                    by_key.insert(body_key, bodies.len() - 1);
                    bodies.len() - 1
                }
            };
            if let Some(shared_body) = bodies.get_mut(k) {
                switch.set_entry((mode << 32) | ri as u128, shared_body.block);
                if record {
                    shared_body.recorded_by.push(r);
                }
            }
        }
    }
    switch.emit(&mut l.b, key, nothing);
    l.set_exit(returning);
    for body in bodies {
        l.b.switch_to_block(body.block);
        // The body's statistics count in every rule that runs it.
        l.shared().stats = Some(RuleStats::default());
        l.enter_rule(body.n_locals, body.arg_slots);
        match body.body {
            Body::Message(m) => {
                for part in &m.parts {
                    if let MessagePart::Expr(e) = part {
                        l.emit_hole(e)?;
                    }
                }
            }
            Body::Approvers(e) => l.emit(e)?,
        }
        let counted = l.shared().stats.take().unwrap_or_default();
        if let Some(own) = &mut own {
            own.add(&counted);
        } else {
            for r in body.recorded_by {
                if let Some(s) = stats.get_mut(r) {
                    s.add(&counted);
                }
            }
        }
        let zero = l.b.ins().iconst(types::I64, 0);
        l.b.ins().return_(&[zero]);
    }
    if !shaped {
        for planned in planned_rules {
            if let Some(slot) = recorded.get_mut(planned.rule) {
                *slot = true;
            }
        }
    }
    l.fill_returning_exit(returning, 1)?;
    l.b.switch_to_block(nothing);
    let two = l.b.ins().iconst(types::I64, 2);
    l.b.ins().return_(&[two]);
    let slots = l.lits.take().map(lower::Lits::into_slots);
    l.b.seal_all_blocks();
    l.b.finalize(frontend);
    Ok(slots.map(|slots| (slots, own.unwrap_or_default())))
}

/// The expressions of a rule a shaped function's table refers to, in order: its conditions,
/// its message holes, its approvers.
fn shape_roots(rule: &ward_ir::Rule) -> Vec<&ward_ir::Expr> {
    let mut roots: Vec<&ward_ir::Expr> = rule.conditions.iter().map(|c| &c.expr).collect();
    for part in rule.message.iter().flat_map(|m| &m.parts) {
        if let MessagePart::Expr(e) = part {
            roots.push(e);
        }
    }
    if let (EffectKind::RequireApproval, Some(e)) = (&rule.effect.kind, &rule.effect.approvers) {
        roots.push(e);
    }
    roots
}

enum Body<'p> {
    Message(&'p ward_ir::Message),
    Approvers(&'p ward_ir::Expr),
}

impl Body<'_> {
    /// Equal for bodies that lower to the same code (given the same slots).
    fn key(&self) -> String {
        match self {
            Body::Message(m) => {
                let mut key = String::from("message");
                for part in &m.parts {
                    if let MessagePart::Expr(e) = part {
                        key.push('|');
                        key.push_str(&lower::expr_key(e));
                    }
                }
                key
            }
            Body::Approvers(e) => format!("approvers|{}", lower::expr_key(e)),
        }
    }
}

/// A message or approvers body of a chunk's function, with the rules that run it.
struct SharedBody<'p> {
    block: cranelift_codegen::ir::Block,
    n_locals: u32,
    arg_slots: Vec<usize>,
    body: Body<'p>,
    /// The rules (by index) whose statistics are being recorded that run this body.
    recorded_by: Vec<usize>,
}
