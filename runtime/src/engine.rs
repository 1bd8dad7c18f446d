//! The embedding API: an [`Engine`] holds one compiled program and the current entity
//! snapshot, and decides requests.
//!
//! Building an engine verifies the IR (`ward_ir::verify`), compiles the regular expressions and
//! windows, resolves the time zones of `hour`/`weekday` once, and groups the rules per action
//! with each rule's argument table (rule argument → action field), so deciding a request only
//! evaluates the rules of its action. The current snapshot (the store, and for the JIT its
//! resolved literals and memo tables) is an `Arc` behind a lock that only loading and a thread's
//! first decision after a load take: loading validates a complete new snapshot first, then
//! swaps the `Arc` and bumps a generation number. Each deciding thread keeps the snapshot it
//! last used and its own copy of the rule table (what decisions show of each rule), and
//! compares the generation with a plain atomic load: deciding takes no lock and changes no
//! reference count another thread touches, so threads decide in parallel and a load never
//! waits for decisions (nor they for it). A decision sees either the old or the new estate,
//! never half of one. A thread keeps the last snapshot it used of an engine (of at most four
//! engines) until it decides again on that engine, so an idle thread holds a replaced estate
//! until its next decision; dropping an engine drops the dropping thread's view of it. Each
//! decision gets the engine's budget of steps ([`crate::budget`]); running out fails the rule
//! being evaluated closed.
//!
//! This module knows nothing about the source language, the CLI or how a program was compiled.

use std::cell::RefCell;
use std::fmt;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, RwLock};

use smallvec::SmallVec;

use serde_json::Value as Json;
use ward_ir::Program;

use crate::budget::Budget;
use crate::decision::{self, Decision, Explanation, RuleTable};
use crate::jit::Scratch;
use crate::prepared::Compiled;
pub use crate::prepared::EngineError;
use crate::request::{self, Request, RequestError};
use crate::store::{LoadError, Store};

#[cfg(test)]
mod deep;
#[cfg(test)]
mod tests;

/// Which engine decides requests: both give the same decisions (the interpreter is the
/// reference the JIT is tested against).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
pub enum EngineKind {
    /// The reference interpreter: walks the IR.
    Interp,
    /// Native code compiled with Cranelift (the default).
    #[default]
    Jit,
}

impl EngineKind {
    /// `interp` or `jit`, as the CLI's `--engine` flag writes it.
    pub fn as_str(self) -> &'static str {
        match self {
            EngineKind::Interp => "interp",
            EngineKind::Jit => "jit",
        }
    }

    /// Parses `interp` or `jit`.
    pub fn parse(s: &str) -> Option<EngineKind> {
        match s {
            "interp" => Some(EngineKind::Interp),
            "jit" => Some(EngineKind::Jit),
            _ => None,
        }
    }
}

/// How an engine is built.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct EngineConfig {
    pub engine: EngineKind,
}

/// Decides requests against a compiled Ward program and the current estate.
///
/// `Engine` is `Send + Sync`: share it (`Arc<Engine>`) between threads; `decide` takes `&self`.
///
/// ```
/// use ward_ir::{Action, EffectKind, Effect, Expr, ExprKind, Field, Location, Program, Rule, Type};
/// use ward_runtime::engine::Engine;
///
/// // A program as the compiler emits it (here built by hand; usually deserialized from JSON):
/// // `action reboot { host: String }` and `rule no_db_reboots { on reboot
/// //  when host == "db-1" deny because "{host} is a database" }`, default allow.
/// let host = Expr { ty: Type::String, kind: ExprKind::Arg(0) };
/// let mut program = Program::default();
/// program.schema.actions.push(Action {
///     name: "reboot".into(),
///     fields: vec![Field { name: "host".into(), ty: Type::String }],
/// });
/// program.default = Effect { kind: EffectKind::Allow, approvers: None };
/// program.rules.push(Rule {
///     name: "no_db_reboots".into(),
///     location: Location { file: "policy.ward".into(), line: 3, column: 1 },
///     actions: vec![ward_ir::ActionId(0)],
///     args: vec![Field { name: "host".into(), ty: Type::String }],
///     conditions: vec![ward_ir::Condition {
///         source: "host == \"db-1\"".into(),
///         location: Location { file: "policy.ward".into(), line: 5, column: 8 },
///         expr: Expr {
///             ty: Type::Bool,
///             kind: ExprKind::Binary {
///                 op: ward_ir::BinOp::Eq,
///                 lhs: Box::new(host.clone()),
///                 rhs: Box::new(Expr { ty: Type::String, kind: ExprKind::Str("db-1".into()) }),
///             },
///         },
///     }],
///     effect: Effect { kind: EffectKind::Deny, approvers: None },
///     message: Some(ward_ir::Message {
///         parts: vec![ward_ir::MessagePart::Expr(host), ward_ir::MessagePart::Text(" is a database".into())],
///     }),
///     n_locals: 0,
/// });
///
/// let engine = Engine::new(program)?;
/// engine.load_entities_str(r#"{"entities": {}}"#)?;
///
/// let request = serde_json::json!({
///     "action": "reboot", "at": "2026-11-28T05:00:00Z", "args": {"host": "db-1"}, "context": {}
/// });
/// let decision = engine.decide(&request);
/// assert_eq!(decision.decision, EffectKind::Deny);
/// assert_eq!(
///     serde_json::to_value(&decision)?,
///     serde_json::json!({
///         "decision": "deny",
///         "fired": [{"rule": "no_db_reboots", "effect": "deny",
///                    "message": "db-1 is a database", "location": "policy.ward:3:1"}],
///         "approvers": [], "errors": []
///     })
/// );
///
/// // A request that does not validate is denied with the error, never a panic.
/// let bad = engine.decide(&serde_json::json!({"action": "shutdown", "at": "2026-11-28T05:00:00Z"}));
/// assert_eq!(bad.decision, EffectKind::Deny);
/// assert_eq!(bad.errors.len(), 1);
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
pub struct Engine {
    prepared: Arc<Prepared>,
    /// The current snapshot: written by loading, read by a thread's first decision after it.
    store: RwLock<Arc<Snapshot>>,
    /// Bumped (under the write lock) each time `store` is replaced.
    generation: AtomicU64,
    /// This engine's key in the threads' caches (unique in the process).
    id: u64,
    /// The work each decision may do.
    budget: Budget,
}

/// The program as this engine runs it: prepared for deciding and, for a JIT engine, compiled
/// to native code. Shared by the engines [`Engine::with_store`] makes.
struct Prepared {
    compiled: Compiled,
    /// The native code, for a JIT engine.
    jit: Option<crate::jit::Code>,
    /// What decisions show of each rule; each thread decides with its own copy.
    table: Arc<RuleTable>,
}

/// The current estate, with the program's entity literals resolved against it (JIT only).
struct Snapshot {
    store: Arc<Store>,
    literals: Arc<[i64]>,
    /// The values of the JIT's memoized sub-expressions for this estate.
    memos: Option<Arc<crate::jit::SnapshotTables>>,
}

impl Snapshot {
    fn new(prepared: &Prepared, store: Arc<Store>) -> Snapshot {
        // Before the snapshot is in place: no decision computes a closure the program takes
        // (up to the memo's cap).
        store.fill_closures(&prepared.compiled.closed_over);
        let (literals, memos) = match &prepared.jit {
            Some(code) => (
                code.tables.resolve_literals(&store),
                Some(Arc::new(code.tables.snapshot_tables(&store))),
            ),
            None => (Arc::from([]), None),
        };
        Snapshot {
            store,
            literals,
            memos,
        }
    }
}

/// What one thread keeps of one engine between decisions.
struct ThreadView {
    engine: u64,
    generation: u64,
    snapshot: Arc<Snapshot>,
    /// This thread's copy of the engine's rule table (decisions hold a reference to it).
    table: Arc<RuleTable>,
}

/// How many engines a thread keeps views of (the least recently added is dropped first).
const VIEWS: usize = 4;

/// What a thread keeps for deciding: its views of engines and the JIT helpers' buffers.
struct PerThread {
    views: SmallVec<[ThreadView; VIEWS]>,
    scratch: Scratch,
}

thread_local! {
    static THREAD_VIEWS: RefCell<PerThread> = const {
        RefCell::new(PerThread {
            views: SmallVec::new_const(),
            scratch: Scratch::new(),
        })
    };
}

/// Lets go of a replaced snapshot. When it is the last reference, the snapshot (the whole
/// estate: hundreds of MiB of columns and indexes on a large one) is handed to a thread that
/// only frees snapshots, so that neither the decision that noticed a reload nor the reload
/// itself pays for the frees. If that thread cannot be started, it is freed here.
fn retire(old: Arc<Snapshot>) {
    if Arc::strong_count(&old) > 1 {
        // Another holder frees it (a race may still make this the last: then it is freed
        // here, which is only slower).
        drop(old);
        return;
    }
    static REAPER: std::sync::OnceLock<Option<std::sync::mpsc::Sender<Arc<Snapshot>>>> =
        std::sync::OnceLock::new();
    let reaper = REAPER.get_or_init(|| {
        let (tx, rx) = std::sync::mpsc::channel::<Arc<Snapshot>>();
        std::thread::Builder::new()
            .name("ward-snapshot-free".into())
            .spawn(move || {
                for snapshot in rx {
                    drop(snapshot);
                }
            })
            .ok()
            .map(|_| tx)
    });
    if let Some(tx) = reaper {
        // A closed channel gives the snapshot back, and it is freed here.
        let _ = tx.send(old);
    }
}

/// Engine ids, so that a thread's views of one engine are never mistaken for another's.
static NEXT_ID: AtomicU64 = AtomicU64::new(1);

/// A dropped engine's view leaves the dropping thread's cache at once (other threads drop
/// theirs when they decide on other engines), so dropping an engine frees its snapshot.
impl Drop for Engine {
    fn drop(&mut self) {
        // `try_with`: the thread's cache may already be gone when a thread exits.
        let _ = THREAD_VIEWS.try_with(|cell| {
            if let Ok(mut state) = cell.try_borrow_mut() {
                state.views.retain(|v| v.engine != self.id);
            }
        });
    }
}

impl fmt::Debug for Engine {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Engine")
            .field("rules", &self.prepared.compiled.program.rules.len())
            .field("engine", &self.kind())
            .field("store", &self.store())
            .finish()
    }
}

impl Engine {
    /// Verifies and compiles `program` to native code (the JIT, the default engine); the
    /// engine starts with an empty store.
    pub fn new(program: Program) -> Result<Engine, EngineError> {
        Engine::with_config(program, EngineConfig::default())
    }

    /// Verifies `program` and prepares it for the chosen engine; an empty store.
    pub fn with_config(program: Program, config: EngineConfig) -> Result<Engine, EngineError> {
        Engine::from_compiled(Compiled::new(program)?, config)
    }

    /// An engine for a program the caller knows to be verified (tests of the runtime's passes).
    #[cfg(test)]
    pub(crate) fn unverified(
        program: Program,
        config: EngineConfig,
    ) -> Result<Engine, EngineError> {
        Engine::from_compiled(Compiled::prepare(program)?, config)
    }

    fn from_compiled(compiled: Compiled, config: EngineConfig) -> Result<Engine, EngineError> {
        let jit = match config.engine {
            EngineKind::Jit => Some(crate::jit::compile(&compiled)?),
            EngineKind::Interp => None,
        };
        let table = Arc::new(RuleTable::new(&compiled.program));
        let prepared = Prepared {
            compiled,
            jit,
            table,
        };
        let store = Arc::new(Store::empty(&prepared.compiled.program.schema));
        let snapshot = Snapshot::new(&prepared, store);
        Ok(Engine::assemble(
            Arc::new(prepared),
            snapshot,
            Budget::default(),
        ))
    }

    fn assemble(prepared: Arc<Prepared>, snapshot: Snapshot, budget: Budget) -> Engine {
        Engine {
            prepared,
            store: RwLock::new(Arc::new(snapshot)),
            generation: AtomicU64::new(0),
            id: NEXT_ID.fetch_add(1, Ordering::Relaxed),
            budget,
        }
    }

    /// Which engine decides.
    pub fn kind(&self) -> EngineKind {
        if self.prepared.jit.is_some() {
            EngineKind::Jit
        } else {
            EngineKind::Interp
        }
    }

    /// Another engine for the same compiled program (shared, not recompiled) with its own
    /// store: for running a policy set's tests, each against its own entities.
    pub fn with_store(&self, store: Store) -> Engine {
        self.with_shared_store(Arc::new(store))
    }

    /// Like [`Engine::with_store`] with a snapshot shared with other engines.
    pub fn with_shared_store(&self, store: Arc<Store>) -> Engine {
        let snapshot = Snapshot::new(&self.prepared, store);
        Engine::assemble(Arc::clone(&self.prepared), snapshot, self.budget)
    }

    /// The same engine giving each decision `budget` (the default is
    /// [`Budget::default`], [`crate::budget::DEFAULT_STEPS`] steps): a decision that needs
    /// more fails closed with an evaluation error (see [`crate::budget`]).
    pub fn with_budget(mut self, budget: Budget) -> Engine {
        self.budget = budget;
        self
    }

    /// The work each decision may do.
    pub fn budget(&self) -> Budget {
        self.budget
    }

    /// The program this engine runs.
    pub fn program(&self) -> &Program {
        &self.prepared.compiled.program
    }

    /// Validates an entities document (`docs/language.md` §9) and, if it loads, makes it the current
    /// snapshot. On error the previous snapshot stays in place. The store is built, and the
    /// snapshot prepared, before the engine's lock is taken: deciding threads go on with the
    /// previous snapshot meanwhile, and the lock is held only to swap one `Arc`.
    ///
    /// This is the slower path, for a document held as a `serde_json::Value` already (the
    /// Python package's dicts): it is written out as text and loaded as
    /// [`Engine::load_entities_str`] loads text, which reads it straight into the store.
    pub fn load_entities_json(&self, doc: &Json) -> Result<(), LoadError> {
        let store = Store::from_json(&self.prepared.compiled.program.schema, doc)?;
        self.set_store(store);
        Ok(())
    }

    /// Like [`Engine::load_entities_json`] from text; duplicate keys are reported too.
    pub fn load_entities_str(&self, text: &str) -> Result<(), LoadError> {
        let store = Store::from_str(&self.prepared.compiled.program.schema, text)?;
        self.set_store(store);
        Ok(())
    }

    /// Like [`Engine::load_entities_str`] for bytes: text that is not UTF-8 is an error naming
    /// the offset of the first bad byte.
    pub fn load_entities_bytes(&self, bytes: &[u8]) -> Result<(), LoadError> {
        let store = Store::from_bytes(&self.prepared.compiled.program.schema, bytes)?;
        self.set_store(store);
        Ok(())
    }

    /// Replaces the current snapshot atomically. The store must have been built for this
    /// engine's schema (`engine.program().schema`). Decisions in progress finish on the
    /// snapshot they started with; nothing waits for them.
    pub fn set_store(&self, store: Store) {
        let snapshot = Arc::new(Snapshot::new(&self.prepared, Arc::new(store)));
        let mut slot = match self.store.write() {
            Ok(slot) => slot,
            Err(poisoned) => poisoned.into_inner(),
        };
        let old = std::mem::replace(&mut *slot, snapshot);
        self.generation.fetch_add(1, Ordering::Release);
        drop(slot);
        // Freed outside the lock, and not on this thread (a server's reload task shares its
        // thread with requests), unless a thread still uses it.
        retire(old);
    }

    /// Computes, for every entity of the current snapshot, each value the compiled code
    /// memoizes per entity (see [`crate::jit::Precomputed`]), so that no decision pays for
    /// computing one: the JIT's equivalent of the facts a hand-written guardrail computes at
    /// load. Decisions go on meanwhile, on other threads, and give the same results before,
    /// during and after it (a memoized value is charged the steps computing it costs). Stops
    /// early when the snapshot is replaced (a load), and does nothing for the interpreter.
    /// `ward serve` runs it on a thread of its own after every load.
    pub fn precompute(&self) -> crate::jit::Precomputed {
        self.precompute_while(&|| true)
    }

    /// [`Engine::precompute`], which also stops (between entities) once `keep_going` says
    /// `false`: a server stops precomputing an engine it no longer serves.
    pub fn precompute_while(&self, keep_going: &dyn Fn() -> bool) -> crate::jit::Precomputed {
        let (snapshot, generation) = self.current();
        let (Some(code), Some(memos)) = (&self.prepared.jit, snapshot.memos.as_deref()) else {
            return crate::jit::Precomputed::default();
        };
        crate::jit::precompute(
            &self.prepared.compiled,
            code,
            &snapshot.literals,
            memos,
            &snapshot.store,
            self.budget,
            &|| self.generation.load(Ordering::Acquire) != generation || !keep_going(),
        )
    }

    /// The current snapshot.
    pub fn store(&self) -> Arc<Store> {
        Arc::clone(&self.current().0.store)
    }

    /// The current snapshot and its generation, under the lock.
    fn current(&self) -> (Arc<Snapshot>, u64) {
        let slot = match self.store.read() {
            Ok(slot) => slot,
            Err(poisoned) => poisoned.into_inner(),
        };
        (Arc::clone(&slot), self.generation.load(Ordering::Acquire))
    }

    /// Runs `f` on the current snapshot, this thread's copy of the rule table and its scratch
    /// buffers: from the thread's view when the engine has not been loaded since (one atomic
    /// load), else after refreshing the view under the lock.
    #[inline]
    fn with_view<R>(&self, f: impl FnOnce(&Snapshot, &Arc<RuleTable>, &mut Scratch) -> R) -> R {
        let generation = self.generation.load(Ordering::Acquire);
        THREAD_VIEWS.with(|cell| {
            let Ok(mut state) = cell.try_borrow_mut() else {
                // Deciding re-entered itself on this thread: no view, fresh buffers.
                let (snapshot, _) = self.current();
                return f(&snapshot, &self.prepared.table, &mut Scratch::new());
            };
            let PerThread { views, scratch } = &mut *state;
            let at = match views.iter().position(|v| v.engine == self.id) {
                Some(i) => {
                    if let Some(view) = views.get_mut(i)
                        && view.generation != generation
                    {
                        let (snapshot, generation) = self.current();
                        retire(std::mem::replace(&mut view.snapshot, snapshot));
                        view.generation = generation;
                    }
                    i
                }
                None => {
                    if views.len() == VIEWS {
                        retire(views.remove(0).snapshot);
                    }
                    let (snapshot, generation) = self.current();
                    views.push(ThreadView {
                        engine: self.id,
                        generation,
                        snapshot,
                        table: Arc::new(RuleTable::clone(&self.prepared.table)),
                    });
                    views.len() - 1
                }
            };
            match views.get(at) {
                Some(view) => f(&view.snapshot, &view.table, scratch),
                None => {
                    let (snapshot, _) = self.current();
                    f(&snapshot, &self.prepared.table, scratch)
                }
            }
        })
    }

    /// Decides with the engine's code into `out`: native when compiled, else the interpreter;
    /// with `explanation`, explains the decision into it.
    /// Inlined into each caller: out of line, the decision path costs 13 more instructions.
    #[allow(clippy::too_many_arguments)]
    #[inline]
    fn evaluate(
        &self,
        snapshot: Option<&Snapshot>,
        table: &Arc<RuleTable>,
        store: &Store,
        request: &Request,
        explanation: Option<&mut Option<Explanation>>,
        scratch: &mut Scratch,
        out: &mut Decision,
    ) {
        let explain = explanation.is_some();
        let mut unused = None;
        let explanation = explanation.unwrap_or(&mut unused);
        let compiled = &self.prepared.compiled;
        match &self.prepared.jit {
            Some(code) => {
                let (literals, memos) = match snapshot {
                    Some(s) if std::ptr::eq(Arc::as_ptr(&s.store), store) => {
                        (&s.literals[..], s.memos.as_deref())
                    }
                    _ => (&[][..], None),
                };
                crate::jit::evaluate(
                    compiled,
                    code,
                    table,
                    literals,
                    memos,
                    store,
                    request,
                    explain,
                    explanation,
                    self.budget,
                    scratch,
                    out,
                );
            }
            None => decision::evaluate(
                compiled,
                table,
                store,
                request,
                explain,
                explanation,
                self.budget,
                out,
            ),
        }
        // Nothing is explained when `explain` is false, so `unused` is `None`: tested inline,
        // rather than through the explanation's drop glue on every decision.
        if unused.is_some() {
            drop(unused);
        } else {
            std::mem::forget(unused);
        }
    }

    /// Validates a request document against the schema and the current snapshot.
    pub fn parse_request(&self, doc: &Json) -> Result<Request, RequestError> {
        request::parse_request(&self.prepared.compiled.program.schema, &self.store(), doc)
    }

    /// Decides a request given as JSON text: the entry point for anything that receives a
    /// request from outside. The text is parsed strictly ([`crate::json::parse_strict`]): a
    /// duplicate key anywhere (`action`, a field of `args` or `context`, a nested object) is
    /// a validation error naming it, so the request is denied. Never panics.
    pub fn decide_str(&self, text: &str) -> Decision {
        match crate::json::parse_strict_keeping(text) {
            Ok(doc) => self.decide(&doc),
            Err((e, doc)) => Decision::rejected(e.to_string()).with_request_id(id_of(doc)),
        }
    }

    /// Like [`Engine::decide_str`] for bytes: text that is not UTF-8 is denied with the offset
    /// of the first bad byte.
    pub fn decide_bytes(&self, bytes: &[u8]) -> Decision {
        match crate::json::parse_strict_bytes_keeping(bytes) {
            Ok(doc) => self.decide(&doc),
            Err((e, doc)) => Decision::rejected(e.to_string()).with_request_id(id_of(doc)),
        }
    }

    /// Like [`Engine::explain`] for JSON text, parsed strictly as [`Engine::decide_str`] does.
    pub fn explain_str(&self, text: &str) -> (Decision, Explanation) {
        match crate::json::parse_strict_keeping(text) {
            Ok(doc) => self.explain(&doc),
            Err((e, doc)) => (
                Decision::rejected(e.to_string()).with_request_id(id_of(doc)),
                decision::rejected_explanation(),
            ),
        }
    }

    /// Like [`Engine::explain_str`] for bytes, which must be UTF-8 (as [`Engine::decide_bytes`]).
    pub fn explain_bytes(&self, bytes: &[u8]) -> (Decision, Explanation) {
        match crate::json::parse_strict_bytes_keeping(bytes) {
            Ok(doc) => self.explain(&doc),
            Err((e, doc)) => (
                Decision::rejected(e.to_string()).with_request_id(id_of(doc)),
                decision::rejected_explanation(),
            ),
        }
    }

    /// Decides an already-parsed request document. Never panics: a request that does not
    /// validate is decided `deny` with the validation error (decisions.md #23).
    ///
    /// **The caller owns the duplicate-key check.** A `serde_json::Value` cannot hold two
    /// equal keys, so when it was parsed with `serde_json::from_str` the last of them already
    /// won silently, and a request whose text says `"target": "breakglass-admin"` first may be
    /// decided for another target. Parse outside input with [`crate::json::parse_strict`], or
    /// give the text to [`Engine::decide_str`].
    pub fn decide(&self, doc: &Json) -> Decision {
        let mut out = Decision::pending();
        self.with_view(|snapshot, table, scratch| {
            let store = &snapshot.store;
            match request::parse_request(&self.prepared.compiled.program.schema, store, doc) {
                Ok(request) => self.evaluate(
                    Some(snapshot),
                    table,
                    store,
                    &request,
                    None,
                    scratch,
                    &mut out,
                ),
                Err(e) => {
                    out = Decision::rejected(e.to_string())
                        .with_request_id(request::readable_id(doc));
                }
            }
        });
        out
    }

    /// Decides a validated request against the current snapshot. The request's entities are
    /// indices into the snapshot it was validated against: when the store may have been
    /// swapped since, use [`Engine::decide_request_with`] with that snapshot.
    pub fn decide_request(&self, request: &Request) -> Decision {
        let mut out = Decision::pending();
        self.decide_request_into(request, &mut out);
        out
    }

    /// [`Engine::decide_request`] into a decision the caller keeps: whatever `out` held is
    /// replaced (its request id, outcome, errors, fired rules and approvers), and the room it
    /// has is reused. A loop deciding many requests into one decision neither builds nor drops
    /// one per request, and a decision too large to keep inline allocates once, not per request.
    pub fn decide_request_into(&self, request: &Request, out: &mut Decision) {
        self.with_view(|snapshot, table, scratch| {
            self.evaluate(
                Some(snapshot),
                table,
                &snapshot.store,
                request,
                None,
                scratch,
                out,
            );
        });
    }

    /// Decides a validated request against a given snapshot (one from [`Engine::store`]).
    pub fn decide_request_with(&self, store: &Store, request: &Request) -> Decision {
        let mut out = Decision::pending();
        self.with_view(|snapshot, table, scratch| {
            self.evaluate(
                Some(snapshot),
                table,
                store,
                request,
                None,
                scratch,
                &mut out,
            );
        });
        out
    }

    /// Decides a request document and explains the decision. As for [`Engine::decide`], the
    /// caller owns the duplicate-key check ([`Engine::explain_str`] does it).
    pub fn explain(&self, doc: &Json) -> (Decision, Explanation) {
        let store = self.store();
        match request::parse_request(&self.prepared.compiled.program.schema, &store, doc) {
            Ok(request) => self.explain_request_with(&store, &request),
            Err(e) => (
                Decision::rejected(e.to_string()).with_request_id(request::readable_id(doc)),
                decision::rejected_explanation(),
            ),
        }
    }

    /// Decides a validated request against a given snapshot and explains the decision.
    pub fn explain_request_with(
        &self,
        store: &Store,
        request: &Request,
    ) -> (Decision, Explanation) {
        let mut explanation = None;
        let mut decision = Decision::pending();
        self.with_view(|snapshot, table, scratch| {
            self.evaluate(
                Some(snapshot),
                table,
                store,
                request,
                Some(&mut explanation),
                scratch,
                &mut decision,
            );
        });
        (
            decision,
            explanation.unwrap_or_else(decision::rejected_explanation),
        )
    }
}

/// The `id` of a request document that could be parsed but not accepted.
fn id_of(doc: Option<Json>) -> Option<String> {
    doc.as_ref().and_then(request::readable_id)
}
