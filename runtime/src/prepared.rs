//! The prepared program: a verified `ward_ir::Program` with everything deciding needs computed
//! once — compiled regular expressions and windows, resolved time zones, the rules of each
//! action with each rule's argument table (rule argument → action field) and the message holes it
//! reads without evaluating them.
//!
//! [`Compiled`] is what the engines run: the interpreter (`decision`) reads it directly and the
//! JIT (`jit`) compiles native code from it, which the engine keeps beside it. This module also
//! holds the errors of preparing a program ([`EngineError`], [`JitError`]); walks over
//! expressions use the IR's own iterative walker (`ward_ir::Expr::visit`). It knows the IR,
//! windows and time zones; not stores, requests, decisions or native code.

use std::collections::HashMap;

use regex::Regex;
use ward_ir::{Expr, Program, RelationId};

use crate::interp::TimeZones;
use crate::time;
use crate::window::{WindowError, Windows};

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
    /// The JIT could not compile the program.
    #[error("the JIT cannot compile the program: {0}")]
    Jit(#[from] JitError),
}

/// A program the JIT cannot compile.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum JitError {
    /// An expression the JIT does not handle (a bug of Ward: every verified program compiles),
    /// or a program too large to compile to native code.
    #[error("cannot compile: {0}")]
    Unsupported(String),
    /// Cranelift rejected the generated code or the host.
    #[error("code generation failed: {0}")]
    Codegen(String),
}

fn lines(errors: &[ward_ir::VerifyError]) -> String {
    let all: Vec<String> = errors.iter().map(ToString::to_string).collect();
    all.join("\n")
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
    /// The relations and directions (`true`: `~r`) whose closures the program takes, other
    /// than to count them (a count needs no closure): a snapshot computes these at load.
    pub(crate) closed_over: Vec<(RelationId, bool)>,
}

/// The rules of one action.
pub(crate) struct ActionPlan {
    pub(crate) rules: Vec<PlannedRule>,
}

/// A rule as one action runs it.
pub(crate) struct PlannedRule {
    /// Index into `program.rules`.
    pub(crate) rule: usize,
    /// For each rule argument, the index of the action field of the same name.
    pub(crate) args: Vec<u32>,
    /// The rule's message holes when every one is read without evaluating anything (see
    /// [`DirectHole`]), in order: empty when the message has no hole or the rule no message.
    /// `None` when a hole must be evaluated.
    pub(crate) direct: Option<Box<[DirectHole]>>,
    /// The rule's effect, and whether it has a message: what combining a rule that fired reads
    /// of it, kept here so that the common decision reads the plan alone.
    pub(crate) kind: ward_ir::EffectKind,
    pub(crate) has_message: bool,
}

/// A message hole that is a request field (`{host}`, `{reason}`) or an attribute of one
/// (`{target.name}`): its value is read from the request (and the store) without running
/// anything, so it costs no step and cannot fail in either engine (`decision` reads it).
#[derive(Clone, Debug)]
pub(crate) struct DirectHole {
    pub(crate) field: RequestField,
    /// The attribute read from the entity the field names, if any.
    pub(crate) attr: Option<u32>,
    /// The hole's static type (how a set renders).
    pub(crate) ty: ward_ir::Type,
}

/// A field of a request: a context field, or a field of the action (by index).
#[derive(Clone, Copy, Debug)]
pub(crate) enum RequestField {
    Context(u32),
    Arg(u32),
}

impl DirectHole {
    /// The hole `e` of a rule with argument table `args` when it reads directly.
    fn of(e: &Expr, args: &[u32]) -> Option<DirectHole> {
        use ward_ir::ExprKind;
        let field = |e: &Expr| match &e.kind {
            ExprKind::Arg(i) => args.get(*i as usize).map(|k| RequestField::Arg(*k)),
            ExprKind::Context(i) => Some(RequestField::Context(*i)),
            _ => None,
        };
        let (field, attr) = match &e.kind {
            ExprKind::Arg(_) | ExprKind::Context(_) => (field(e)?, None),
            ExprKind::Attr { of, attr } => (field(of)?, Some(*attr)),
            _ => return None,
        };
        Some(DirectHole {
            field,
            attr,
            ty: e.ty.clone(),
        })
    }
}

impl Compiled {
    /// Verifies `program` and prepares it for either engine.
    pub(crate) fn new(program: Program) -> Result<Compiled, EngineError> {
        ward_ir::verify(&program).map_err(EngineError::Verify)?;
        Compiled::prepare(program)
    }

    /// Prepares a program that was verified (tests of the runtime's own passes call it
    /// directly, so that they do not measure the verifier).
    pub(crate) fn prepare(program: Program) -> Result<Compiled, EngineError> {
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
        let (mut names, mut closed_over) = (Vec::new(), Vec::new());
        let mut collect = |e: &Expr| {
            collect_timezones(e, &mut names);
            collect_closures(e, &mut closed_over);
        };
        for f in &program.functions {
            collect(&f.body);
        }
        for rule in &program.rules {
            for_each_rule_expr(rule, &mut collect);
        }
        if let Some(e) = &program.default.approvers {
            collect(e);
        }
        closed_over.sort_unstable();
        closed_over.dedup();
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
                let args: Vec<u32> = rule
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
                let direct = match &rule.message {
                    None => Some(Box::default()),
                    Some(m) => m
                        .parts
                        .iter()
                        .filter_map(|p| match p {
                            ward_ir::MessagePart::Expr(e) => Some(DirectHole::of(e, &args)),
                            ward_ir::MessagePart::Text(_) => None,
                        })
                        .collect(),
                };
                plan.rules.push(PlannedRule {
                    rule: i,
                    args,
                    direct,
                    kind: rule.effect.kind,
                    has_message: rule.message.is_some(),
                });
            }
        }
        let default_locals = program.default.approvers.as_ref().map_or(0, max_local);
        Ok(Compiled {
            program,
            windows,
            regexes,
            timezones,
            actions,
            default_locals,
            closed_over,
        })
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

/// How much stack a recursive pass over the IR keeps free before it recurses once more: each
/// level (a node of the interpreter or of the JIT's lowering) uses far less, even in a debug
/// build.
const RED_ZONE: usize = 256 * 1024;
/// The size of each further stack segment when the red zone is reached.
const SEGMENT: usize = 2 * 1024 * 1024;
/// A pass may call [`deeper`] only every this many levels (the interpreter does, where looking
/// at the stack at every node would cost a fifth of its time): a level of any pass takes less
/// than `RED_ZONE / CHECK_EVERY` (16 KiB) of stack, even in a debug build.
pub(crate) const CHECK_EVERY: u32 = 16;

/// Runs one level of a recursive pass over the IR (`f`), on a fresh stack segment when the
/// current one is nearly used up. A verified program nests at most `ward_ir::MAX_DEPTH` levels
/// (through calls and `except` chains), so the segments this allocates are bounded too; with
/// them, no program can overflow the stack of the thread that decides, whatever its size.
#[inline]
pub(crate) fn deeper<R>(f: impl FnOnce() -> R) -> R {
    stacker::maybe_grow(RED_ZONE, SEGMENT, f)
}

fn collect_timezones(e: &Expr, out: &mut Vec<String>) {
    e.visit(|x| {
        if let ward_ir::ExprKind::LocalTime { timezone, .. } = &x.kind {
            out.push(timezone.clone());
        }
    });
}

/// The relations and directions of the closures `e` takes (`closure(x, r)`, and `path`, which
/// looks in one), but for those it only counts (`count(closure(x, r))` needs no closure).
fn collect_closures(e: &Expr, out: &mut Vec<(RelationId, bool)>) {
    use ward_ir::ExprKind;
    // Parents come before children: a counted closure is known before it is met.
    let mut counted: Vec<*const Expr> = Vec::new();
    e.visit(|x| match &x.kind {
        ExprKind::Builtin {
            builtin: ward_ir::Builtin::Count,
            args,
        } => {
            if let [arg] = args.as_slice() {
                counted.push(std::ptr::from_ref(arg));
            }
        }
        ExprKind::Closure { rel, inverse, .. } if !counted.contains(&std::ptr::from_ref(x)) => {
            out.push((*rel, *inverse));
        }
        ExprKind::Path { rel, inverse, .. } => out.push((*rel, *inverse)),
        _ => {}
    });
}

/// One more than the largest local slot an expression binds or reads.
fn max_local(e: &Expr) -> u32 {
    let mut n = 0;
    e.visit(|x| {
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
