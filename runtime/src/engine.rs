//! The embedding API: an [`Engine`] holds one compiled program and the current entity
//! snapshot, and decides requests.
//!
//! Building an engine verifies the IR (`ward_ir::verify`), compiles the regular expressions and
//! windows, resolves the time zones of `hour`/`weekday` once, and groups the rules per action
//! with each rule's argument table (rule argument → action field), so deciding a request only
//! evaluates the rules of its action. The store lives behind an `RwLock<Arc<Store>>`: loading
//! validates a complete new snapshot first and then swaps the `Arc`, so a concurrent `decide`
//! sees either the old or the new estate, never half of one.
//!
//! This module knows nothing about the source language, the CLI or how a program was compiled.

use std::collections::HashMap;
use std::fmt;
use std::sync::{Arc, RwLock};

use regex::Regex;
use serde_json::Value as Json;
use ward_ir::{Expr, Program};

use crate::decision::{self, Decision, Explanation};
use crate::interp::TimeZones;
use crate::request::{self, Request, RequestError};
use crate::store::{LoadError, Store};
use crate::time;
use crate::window::{WindowError, Windows};

#[cfg(test)]
mod tests;

/// A program that cannot be run.
#[derive(Debug, thiserror::Error)]
pub enum EngineError {
    /// The IR breaks an invariant (one line per problem).
    #[error("the program does not verify:\n{}", lines(.0))]
    Verify(Vec<ward_ir::VerifyError>),
    /// A regular expression of `matches` does not compile.
    #[error("regular expression `{pattern}` does not compile: {message}")]
    Regex { pattern: String, message: String },
    /// A window cannot be compiled.
    #[error("window error: {0}")]
    Window(WindowError),
    /// `hour` or `weekday` names a time zone the bundled database does not have.
    #[error("unknown time zone `{0}`")]
    TimeZone(String),
    /// The JIT could not compile the program (a bug of Ward: there is no fallback).
    #[error("the JIT cannot compile the program: {0}")]
    Jit(#[from] crate::jit::JitError),
}

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

fn lines(errors: &[ward_ir::VerifyError]) -> String {
    let all: Vec<String> = errors.iter().map(ToString::to_string).collect();
    all.join("\n")
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
    compiled: Arc<Compiled>,
    store: RwLock<Snapshot>,
}

/// The current estate, with the program's entity literals resolved against it (JIT only).
#[derive(Clone)]
struct Snapshot {
    store: Arc<Store>,
    literals: Arc<[i64]>,
    /// The values of the JIT's memoized sub-expressions for this estate.
    memos: Option<Arc<crate::jit::SnapshotTables>>,
}

impl Snapshot {
    fn new(compiled: &Compiled, store: Arc<Store>) -> Snapshot {
        let (literals, memos) = match &compiled.jit {
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

impl fmt::Debug for Engine {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Engine")
            .field("rules", &self.compiled.program.rules.len())
            .field("engine", &self.kind())
            .field("store", &self.store())
            .finish()
    }
}

/// A verified program with everything precomputed for deciding.
pub(crate) struct Compiled {
    pub(crate) program: Program,
    pub(crate) windows: Windows,
    /// `program.regexes`, compiled, same indices.
    pub(crate) regexes: Vec<Regex>,
    pub(crate) timezones: TimeZones,
    /// Per action (by `ActionId`), the rules that apply, in policy order.
    pub(crate) actions: Vec<ActionPlan>,
    /// Local slots the default's approvers need.
    pub(crate) default_locals: u32,
    /// Per rule (same indices as `program.rules`), the strings a decision copies.
    pub(crate) rule_strings: Vec<RuleStrings>,
    /// The native code, for a JIT engine.
    pub(crate) jit: Option<crate::jit::Code>,
}

/// A rule's name and location as a decision shows them, formatted once.
pub(crate) struct RuleStrings {
    pub(crate) name: Arc<str>,
    /// `path:line:col`.
    pub(crate) location: Arc<str>,
    /// A first guess of the rendered message's length (its text plus a little per hole).
    pub(crate) message_capacity: usize,
}

impl RuleStrings {
    fn new(rule: &ward_ir::Rule) -> RuleStrings {
        let message_capacity = rule.message.as_ref().map_or(0, |m| {
            m.parts
                .iter()
                .map(|p| match p {
                    ward_ir::MessagePart::Text(t) => t.len(),
                    ward_ir::MessagePart::Expr(_) => 16,
                })
                .sum()
        });
        RuleStrings {
            name: Arc::from(rule.name.as_str()),
            location: Arc::from(rule.location.to_string()),
            message_capacity,
        }
    }
}

pub(crate) struct ActionPlan {
    pub(crate) rules: Vec<PlannedRule>,
}

pub(crate) struct PlannedRule {
    /// Index into `program.rules`.
    pub(crate) rule: usize,
    /// For each rule argument, the index of the action field of the same name.
    pub(crate) args: Vec<u32>,
}

impl Compiled {
    pub(crate) fn new(program: Program, kind: EngineKind) -> Result<Compiled, EngineError> {
        ward_ir::verify(&program).map_err(EngineError::Verify)?;
        let regexes = program
            .regexes
            .iter()
            .map(|pattern| {
                Regex::new(pattern).map_err(|e| EngineError::Regex {
                    pattern: pattern.clone(),
                    message: e.to_string(),
                })
            })
            .collect::<Result<Vec<_>, _>>()?;
        let windows = Windows::compile(&program.windows).map_err(EngineError::Window)?;
        let mut timezones = HashMap::new();
        let mut names = Vec::new();
        for f in &program.functions {
            collect_timezones(&f.body, &mut names);
        }
        for rule in &program.rules {
            for_each_rule_expr(rule, &mut |e| collect_timezones(e, &mut names));
        }
        if let Some(e) = &program.default.approvers {
            collect_timezones(e, &mut names);
        }
        for name in names {
            if let std::collections::hash_map::Entry::Vacant(slot) = timezones.entry(name) {
                let tz = time::timezone(slot.key())
                    .ok_or_else(|| EngineError::TimeZone(slot.key().clone()))?;
                slot.insert(tz);
            }
        }
        let mut actions: Vec<ActionPlan> = program
            .schema
            .actions
            .iter()
            .map(|_| ActionPlan { rules: Vec::new() })
            .collect();
        for (i, rule) in program.rules.iter().enumerate() {
            for action_id in &rule.actions {
                let (Some(plan), Some(action)) = (
                    actions.get_mut(action_id.index()),
                    program.schema.actions.get(action_id.index()),
                ) else {
                    continue;
                };
                // The verifier guarantees every argument is a field of every listed action.
                let args = rule
                    .args
                    .iter()
                    .map(|arg| {
                        action
                            .fields
                            .iter()
                            .position(|f| f.name == arg.name)
                            .unwrap_or(0) as u32
                    })
                    .collect();
                plan.rules.push(PlannedRule { rule: i, args });
            }
        }
        let default_locals = program.default.approvers.as_ref().map_or(0, max_local);
        let rule_strings = program.rules.iter().map(RuleStrings::new).collect();
        let mut compiled = Compiled {
            rule_strings,
            program,
            windows,
            regexes,
            timezones,
            actions,
            default_locals,
            jit: None,
        };
        if kind == EngineKind::Jit {
            compiled.jit = Some(crate::jit::compile(&compiled)?);
        }
        Ok(compiled)
    }
}

fn for_each_rule_expr(rule: &ward_ir::Rule, f: &mut dyn FnMut(&Expr)) {
    for c in &rule.conditions {
        f(&c.expr);
    }
    if let Some(e) = &rule.effect.approvers {
        f(e);
    }
    for part in rule.message.iter().flat_map(|m| &m.parts) {
        if let ward_ir::MessagePart::Expr(e) = part {
            f(e);
        }
    }
}

/// Visit `e` and every expression below it.
pub(crate) fn walk(e: &Expr, f: &mut dyn FnMut(&Expr)) {
    use ward_ir::ExprKind as K;
    f(e);
    match &e.kind {
        K::Bool(_)
        | K::Int(_)
        | K::Str(_)
        | K::Entity(_)
        | K::Enum(_)
        | K::None
        | K::Now
        | K::Arg(_) => {}
        K::Context(_) | K::Local(_) => {}
        K::Set(items) | K::Call { args: items, .. } | K::Builtin { args: items, .. } => {
            items.iter().for_each(|x| walk(x, f));
        }
        K::Some(x)
        | K::Not(x)
        | K::Neg(x)
        | K::Attr { of: x, .. }
        | K::OptAttr { of: x, .. }
        | K::Has { of: x, .. }
        | K::Matches { operand: x, .. }
        | K::Related { of: x, .. }
        | K::Closure { of: x, .. }
        | K::InWindow { at: x, .. }
        | K::Remaining { at: x, .. }
        | K::NextOpen { at: x, .. }
        | K::LocalTime { at: x, .. } => walk(x, f),
        K::Binary { lhs: a, rhs: b, .. }
        | K::Coalesce {
            value: a,
            fallback: b,
        }
        | K::In { elem: a, set: b }
        | K::Quantifier {
            set: a, body: b, ..
        }
        | K::Filter {
            set: a, cond: b, ..
        }
        | K::Path { from: a, to: b, .. }
        | K::Fits {
            at: a, duration: b, ..
        } => {
            walk(a, f);
            walk(b, f);
        }
        K::If {
            cond,
            then,
            otherwise,
        } => {
            walk(cond, f);
            walk(then, f);
            walk(otherwise, f);
        }
    }
}

fn collect_timezones(e: &Expr, out: &mut Vec<String>) {
    walk(e, &mut |x| {
        if let ward_ir::ExprKind::LocalTime { timezone, .. } = &x.kind {
            out.push(timezone.clone());
        }
    });
}

/// One more than the largest local slot an expression binds or reads.
fn max_local(e: &Expr) -> u32 {
    let mut n = 0;
    walk(e, &mut |x| {
        let slot = match &x.kind {
            ward_ir::ExprKind::Local(id)
            | ward_ir::ExprKind::Quantifier { var: id, .. }
            | ward_ir::ExprKind::Filter { var: id, .. } => Some(id.0),
            _ => None,
        };
        if let Some(slot) = slot {
            n = n.max(slot.saturating_add(1));
        }
    });
    n
}

impl Engine {
    /// Verifies and compiles `program` to native code (the JIT, the default engine); the
    /// engine starts with an empty store.
    pub fn new(program: Program) -> Result<Engine, EngineError> {
        Engine::with_config(program, EngineConfig::default())
    }

    /// Verifies `program` and prepares it for the chosen engine; an empty store.
    pub fn with_config(program: Program, config: EngineConfig) -> Result<Engine, EngineError> {
        let compiled = Compiled::new(program, config.engine)?;
        let store = Arc::new(Store::empty(&compiled.program.schema));
        let snapshot = Snapshot::new(&compiled, store);
        Ok(Engine {
            compiled: Arc::new(compiled),
            store: RwLock::new(snapshot),
        })
    }

    /// Which engine decides.
    pub fn kind(&self) -> EngineKind {
        if self.compiled.jit.is_some() {
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
        let snapshot = Snapshot::new(&self.compiled, store);
        Engine {
            compiled: Arc::clone(&self.compiled),
            store: RwLock::new(snapshot),
        }
    }

    /// The program this engine runs.
    pub fn program(&self) -> &Program {
        &self.compiled.program
    }

    /// Validates an entities document (`docs/language.md` §9) and, if it loads, makes it the current
    /// snapshot. On error the previous snapshot stays in place.
    pub fn load_entities_json(&self, doc: &Json) -> Result<(), LoadError> {
        let store = Store::from_json(&self.compiled.program.schema, doc)?;
        self.set_store(store);
        Ok(())
    }

    /// Like [`Engine::load_entities_json`] from text; duplicate keys are reported too.
    pub fn load_entities_str(&self, text: &str) -> Result<(), LoadError> {
        let store = Store::from_str(&self.compiled.program.schema, text)?;
        self.set_store(store);
        Ok(())
    }

    /// Replaces the current snapshot atomically. The store must have been built for this
    /// engine's schema (`engine.program().schema`).
    pub fn set_store(&self, store: Store) {
        let snapshot = Snapshot::new(&self.compiled, Arc::new(store));
        match self.store.write() {
            Ok(mut slot) => *slot = snapshot,
            Err(poisoned) => *poisoned.into_inner() = snapshot,
        }
    }

    /// The current snapshot.
    pub fn store(&self) -> Arc<Store> {
        Arc::clone(&self.snapshot().store)
    }

    fn snapshot(&self) -> Snapshot {
        match self.store.read() {
            Ok(slot) => slot.clone(),
            Err(poisoned) => poisoned.into_inner().clone(),
        }
    }

    /// Decides with the engine's code: native when compiled, else the interpreter.
    fn evaluate(
        &self,
        snapshot: Option<&Snapshot>,
        store: &Store,
        request: &Request,
        explain: bool,
    ) -> (Decision, Option<Explanation>) {
        match &self.compiled.jit {
            Some(code) => {
                let (literals, memos) = match snapshot {
                    Some(s) if std::ptr::eq(Arc::as_ptr(&s.store), store) => {
                        (&s.literals[..], s.memos.as_deref())
                    }
                    _ => (&[][..], None),
                };
                crate::jit::evaluate(
                    &self.compiled,
                    code,
                    literals,
                    memos,
                    store,
                    request,
                    explain,
                )
            }
            None => decision::evaluate(&self.compiled, store, request, explain),
        }
    }

    /// Validates a request document against the schema and the current snapshot.
    pub fn parse_request(&self, doc: &Json) -> Result<Request, RequestError> {
        request::parse_request(&self.compiled.program.schema, &self.store(), doc)
    }

    /// Runs `f` on the current snapshot, under the read lock (deciding does not clone the
    /// snapshot; a concurrent `set_store` waits for the decisions in progress).
    fn with_snapshot<R>(&self, f: impl FnOnce(&Snapshot) -> R) -> R {
        match self.store.read() {
            Ok(slot) => f(&slot),
            Err(poisoned) => f(&poisoned.into_inner()),
        }
    }

    /// Decides a request given as JSON text: the entry point for anything that receives a
    /// request from outside. The text is parsed strictly ([`crate::json::parse_strict`]): a
    /// duplicate key anywhere (`action`, a field of `args` or `context`, a nested object) is
    /// a validation error naming it, so the request is denied. Never panics.
    pub fn decide_str(&self, text: &str) -> Decision {
        match crate::json::parse_strict(text) {
            Ok(doc) => self.decide(&doc),
            Err(e) => Decision::rejected(e.to_string()),
        }
    }

    /// Like [`Engine::decide_str`] for bytes: text that is not UTF-8 is denied with the offset
    /// of the first bad byte.
    pub fn decide_bytes(&self, bytes: &[u8]) -> Decision {
        match crate::json::parse_strict_bytes(bytes) {
            Ok(doc) => self.decide(&doc),
            Err(e) => Decision::rejected(e.to_string()),
        }
    }

    /// Like [`Engine::explain`] for JSON text, parsed strictly as [`Engine::decide_str`] does.
    pub fn explain_str(&self, text: &str) -> (Decision, Explanation) {
        match crate::json::parse_strict(text) {
            Ok(doc) => self.explain(&doc),
            Err(e) => (
                Decision::rejected(e.to_string()),
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
        self.with_snapshot(|snapshot| {
            let store = &snapshot.store;
            match request::parse_request(&self.compiled.program.schema, store, doc) {
                Ok(request) => self.evaluate(Some(snapshot), store, &request, false).0,
                Err(e) => Decision::rejected(e.to_string()),
            }
        })
    }

    /// Decides a validated request against the current snapshot. The request's entities are
    /// indices into the snapshot it was validated against: when the store may have been
    /// swapped since, use [`Engine::decide_request_with`] with that snapshot.
    pub fn decide_request(&self, request: &Request) -> Decision {
        self.with_snapshot(|snapshot| {
            self.evaluate(Some(snapshot), &snapshot.store, request, false)
                .0
        })
    }

    /// Decides a validated request against a given snapshot (one from [`Engine::store`]).
    pub fn decide_request_with(&self, store: &Store, request: &Request) -> Decision {
        self.with_snapshot(|snapshot| self.evaluate(Some(snapshot), store, request, false).0)
    }

    /// Decides a request document and explains the decision. As for [`Engine::decide`], the
    /// caller owns the duplicate-key check ([`Engine::explain_str`] does it).
    pub fn explain(&self, doc: &Json) -> (Decision, Explanation) {
        let store = self.store();
        match request::parse_request(&self.compiled.program.schema, &store, doc) {
            Ok(request) => self.explain_request_with(&store, &request),
            Err(e) => (
                Decision::rejected(e.to_string()),
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
        let (decision, explanation) =
            self.with_snapshot(|snapshot| self.evaluate(Some(snapshot), store, request, true));
        (
            decision,
            explanation.unwrap_or_else(decision::rejected_explanation),
        )
    }
}
