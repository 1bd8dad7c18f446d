//! The reference interpreter: evaluates a typed `ward_ir::Expr` to a [`Value`].
//!
//! It is the definition of what a Ward expression means (`docs/language.md` §3-§7, decisions.md
//! #11, #16-#19); the JIT must agree with it on every input. Evaluation is total: arithmetic is
//! checked, timestamps stay in the supported range, and everything that can still go wrong at
//! run time (overflow, an entity literal missing from the store, a window that never opens) is
//! an [`EvalError`] value, never a panic. The interpreter trusts a verified program
//! (`ward_ir::verify`) for types, but an ill-typed node is still only an error.
//!
//! It counts the work it does against the decision's budget (`crate::budget`, the same costs
//! as the JIT's), and recurses through `crate::prepared::deeper`, so that a verified program
//! never overflows the stack.
//!
//! It reads a store snapshot, compiled windows, compiled regexes and one validated request; it
//! knows nothing about combining decisions, JSON or how the engine is shared between threads.

use std::collections::HashMap;
use std::fmt;
use std::sync::Arc;

use jiff::tz::TimeZone;
use regex::Regex;
use ward_ir::{BinOp, Builtin, EntityTypeId, Expr, ExprKind, Program, TimePart, Type};

use crate::budget::{Budget, result_steps, size_steps, value_size};
use crate::request::Request;
use crate::store::Store;
use crate::time;
use crate::window::Windows;
use crate::{EntityRef, Value};

/// Something that went wrong while evaluating an expression: the rule it belongs to fails
/// closed (decisions.md #16).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct EvalError {
    pub message: String,
}

impl EvalError {
    pub fn new(message: impl Into<String>) -> EvalError {
        EvalError {
            message: message.into(),
        }
    }

    fn internal(what: &str) -> EvalError {
        EvalError::new(format!(
            "internal error: {what} (the program did not verify?)"
        ))
    }
}

impl fmt::Display for EvalError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.message)
    }
}

impl std::error::Error for EvalError {}

/// Time zones of `hour` / `weekday`, resolved once per program (never per request).
pub type TimeZones = HashMap<String, TimeZone>;

/// Everything an expression may read, for one request.
#[derive(Clone, Copy)]
pub struct Env<'a> {
    pub program: &'a Program,
    pub store: &'a Store,
    pub windows: &'a Windows,
    /// `program.regexes`, compiled, same indices.
    pub regexes: &'a [Regex],
    pub timezones: &'a TimeZones,
    pub request: &'a Request,
}

impl fmt::Debug for Env<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Env")
            .field("request", self.request)
            .finish_non_exhaustive()
    }
}

/// Evaluates the expressions of one rule (or of the default) for one request.
///
/// Local slots live on one stack shared by all calls: a call pushes a frame of the callee's
/// `n_locals` slots (parameters first) and pops it after, so the evaluator allocates only when
/// a deeper frame than ever before is needed. The evaluator counts the steps it takes against
/// its [`Budget`] (the default one unless [`Evaluator::set_budget`] says otherwise), across
/// [`Evaluator::reset`]: one evaluator is one decision.
#[derive(Debug)]
pub struct Evaluator<'a> {
    env: Env<'a>,
    /// For each of the rule's `args`, the index of the action field it reads.
    arg_map: &'a [u32],
    stack: Vec<Value>,
    base: usize,
    budget: Budget,
    /// Steps left (negative once exhausted).
    remaining: i64,
    /// How deep the evaluation is nested right now.
    depth: u32,
}

type Result<T> = std::result::Result<T, EvalError>;

impl<'a> Evaluator<'a> {
    /// An evaluator for a rule with `n_locals` slots whose arguments map to the request's
    /// action fields through `arg_map` (empty outside a rule).
    pub fn new(env: Env<'a>, arg_map: &'a [u32], n_locals: u32) -> Evaluator<'a> {
        Evaluator {
            env,
            arg_map,
            stack: vec![Value::Absent; n_locals as usize],
            base: 0,
            budget: Budget::default(),
            remaining: Budget::default().start(),
            depth: 0,
        }
    }

    /// Counts the steps from now on against `budget`.
    pub fn set_budget(&mut self, budget: Budget) {
        self.budget = budget;
        self.remaining = budget.start();
    }

    /// Spends `n` steps; an error once the budget is exhausted.
    fn charge(&mut self, n: i64) -> Result<()> {
        self.remaining = self.remaining.saturating_sub(n);
        if self.remaining < 0 {
            return Err(self.budget.exhausted());
        }
        Ok(())
    }

    /// Reuse this evaluator for another rule of the same request.
    pub fn reset(&mut self, arg_map: &'a [u32], n_locals: u32) {
        self.arg_map = arg_map;
        self.base = 0;
        self.stack.clear();
        self.stack.resize(n_locals as usize, Value::Absent);
    }

    /// Evaluates a `Bool` expression.
    pub fn eval_bool(&mut self, e: &Expr) -> Result<bool> {
        match self.eval(e)? {
            Value::Bool(b) => Ok(b),
            _ => Err(EvalError::internal("a condition is not a boolean")),
        }
    }

    /// Evaluates an expression to its value.
    pub fn eval(&mut self, e: &Expr) -> Result<Value> {
        // The stack is looked at every few levels only: each level takes far less than the
        // red zone `deeper` keeps free divided by the interval.
        self.depth = self.depth.wrapping_add(1);
        let result = if self.depth.is_multiple_of(crate::prepared::CHECK_EVERY) {
            crate::prepared::deeper(|| self.eval_node(e))
        } else {
            self.eval_node(e)
        };
        self.depth = self.depth.wrapping_sub(1);
        result
    }

    /// Evaluates one node (its children through [`Evaluator::eval`]).
    fn eval_node(&mut self, e: &Expr) -> Result<Value> {
        let env = self.env;
        match &e.kind {
            ExprKind::Bool(b) => Ok(Value::Bool(*b)),
            ExprKind::Int(n) => Ok(Value::Int(*n)),
            ExprKind::Str(s) => Ok(Value::Str(env.store.intern(s))),
            ExprKind::Entity(id) => match &e.ty {
                Type::Entity(ty) => Ok(Value::Entity(env.store.entity(*ty, id))),
                _ => Err(EvalError::internal("entity literal of a non-entity type")),
            },
            ExprKind::Enum(v) => Ok(Value::Enum(*v)),
            ExprKind::Set(items) => {
                let values = items
                    .iter()
                    .map(|item| self.eval(item))
                    .collect::<Result<Vec<_>>>()?;
                Ok(Value::set(values))
            }
            ExprKind::None => Ok(Value::Absent),
            ExprKind::Some(inner) => self.eval(inner),
            ExprKind::Now => Ok(Value::Int(env.request.at)),
            ExprKind::Arg(i) => {
                let field = self
                    .arg_map
                    .get(*i as usize)
                    .ok_or_else(|| EvalError::internal("rule argument out of range"))?;
                env.request
                    .args
                    .get(*field as usize)
                    .cloned()
                    .ok_or_else(|| EvalError::internal("action field out of range"))
            }
            ExprKind::Context(i) => env
                .request
                .context
                .get(*i as usize)
                .cloned()
                .ok_or_else(|| EvalError::internal("context field out of range")),
            ExprKind::Local(id) => self
                .stack
                .get(self.base + id.index())
                .cloned()
                .ok_or_else(|| EvalError::internal("local slot out of range")),
            ExprKind::Attr { of, attr } => {
                let entity = self.eval(of)?;
                self.attr(&entity, *attr)
            }
            ExprKind::OptAttr { of, attr } => match self.eval(of)? {
                Value::Absent => Ok(Value::Absent),
                entity => self.attr(&entity, *attr),
            },
            ExprKind::Has { of, attr } => match self.eval(of)? {
                Value::Absent => Ok(Value::Bool(false)),
                entity => Ok(Value::Bool(self.attr(&entity, *attr)? != Value::Absent)),
            },
            ExprKind::Not(inner) => Ok(Value::Bool(!self.eval_bool(inner)?)),
            ExprKind::Neg(inner) => {
                let n = self.eval_int(inner)?;
                n.checked_neg().map(Value::Int).ok_or_else(|| overflow("-"))
            }
            ExprKind::Binary { op, lhs, rhs } => self.binary(*op, lhs, rhs, &e.ty),
            ExprKind::Coalesce { value, fallback } => match self.eval(value)? {
                Value::Absent => self.eval(fallback),
                present => Ok(present),
            },
            ExprKind::In { elem, set } => {
                if let Some(lit) = str_literal(elem) {
                    let set = self.eval(set)?;
                    self.charge(1 + size_steps(lit.len()))?;
                    return Ok(Value::Bool(contains_str(as_set(&set)?, lit)));
                }
                if let Some(lits) = str_set_literal(set) {
                    let elem = self.eval(elem)?;
                    self.charge_element(&elem)?;
                    return Ok(Value::Bool(in_literals(&elem, lits)));
                }
                let elem = self.eval(elem)?;
                let set = self.eval(set)?;
                self.charge_element(&elem)?;
                Ok(Value::Bool(contains(&set, &elem)?))
            }
            ExprKind::Matches { operand, regex } => {
                let s = self.eval(operand)?;
                let re = env
                    .regexes
                    .get(regex.index())
                    .ok_or_else(|| EvalError::internal("regex out of range"))?;
                match s {
                    Value::Str(s) => {
                        self.charge(1 + size_steps(s.len()))?;
                        Ok(Value::Bool(re.is_match(&s)))
                    }
                    _ => Err(EvalError::internal("`matches` on a non-string")),
                }
            }
            ExprKind::If {
                cond,
                then,
                otherwise,
            } => {
                if self.eval_bool(cond)? {
                    self.eval(then)
                } else {
                    self.eval(otherwise)
                }
            }
            ExprKind::Call { func, args } => self.call(func.index(), args),
            ExprKind::Builtin { builtin, args } => self.builtin(*builtin, args),
            ExprKind::Quantifier {
                all,
                var,
                set,
                body,
            } => {
                let set = self.eval(set)?;
                let items = as_set(&set)?;
                let slot = self.base + var.index();
                for item in items {
                    self.charge(1)?;
                    self.set_local(slot, item.clone())?;
                    if self.eval_bool(body)? != *all {
                        return Ok(Value::Bool(!*all));
                    }
                }
                Ok(Value::Bool(*all))
            }
            ExprKind::Filter { var, set, cond } => {
                let set = self.eval(set)?;
                let items = as_set(&set)?;
                let slot = self.base + var.index();
                let mut kept = Vec::new();
                for item in items {
                    self.charge(1)?;
                    self.set_local(slot, item.clone())?;
                    if self.eval_bool(cond)? {
                        kept.push(item.clone());
                    }
                }
                // A subsequence of a canonical set is canonical.
                Ok(Value::Set(kept.into()))
            }
            ExprKind::Related { rel, inverse, of } | ExprKind::Closure { rel, inverse, of } => {
                let target = match &e.ty {
                    Type::Set(inner) => match **inner {
                        Type::Entity(t) => t,
                        _ => return Err(EvalError::internal("relation of a non-entity set type")),
                    },
                    _ => return Err(EvalError::internal("relation of a non-set type")),
                };
                let transitive = matches!(e.kind, ExprKind::Closure { .. });
                match self.eval(of)? {
                    Value::Entity(EntityRef::Known { idx, .. }) => {
                        if transitive {
                            let closure = env.store.closure(*rel, *inverse, idx);
                            self.charge(result_steps(closure.len()))?;
                            Ok(entity_set(target, &closure))
                        } else {
                            let related = env.store.related(*rel, *inverse, idx);
                            self.charge(result_steps(related.len()))?;
                            Ok(entity_set(target, related))
                        }
                    }
                    // An entity the store does not hold has no edges (decisions.md #17).
                    Value::Entity(EntityRef::Unknown { .. }) => {
                        self.charge(1)?;
                        Ok(Value::empty_set())
                    }
                    _ => Err(EvalError::internal("relation of a non-entity")),
                }
            }
            ExprKind::Path {
                rel,
                inverse,
                from,
                to,
            } => {
                let from = self.eval(from)?;
                let to = self.eval(to)?;
                match (from, to) {
                    (
                        Value::Entity(EntityRef::Known { idx: a, .. }),
                        Value::Entity(EntityRef::Known { idx: b, .. }),
                    ) => {
                        let size = env.store.closure_count(*rel, *inverse, a).count;
                        self.charge(result_steps(size))?;
                        Ok(Value::Bool(env.store.reaches(*rel, *inverse, a, b)))
                    }
                    (Value::Entity(_), Value::Entity(_)) => {
                        self.charge(1)?;
                        Ok(Value::Bool(false))
                    }
                    _ => Err(EvalError::internal("`path` between non-entities")),
                }
            }
            ExprKind::InWindow { window, at } => {
                let t = self.eval_int(at)?;
                Ok(Value::Bool(env.windows.contains(*window, t)))
            }
            ExprKind::Remaining { window, at } => {
                let t = self.eval_int(at)?;
                Ok(Value::Int(env.windows.remaining(*window, t)))
            }
            ExprKind::Fits {
                window,
                at,
                duration,
            } => {
                let t = self.eval_int(at)?;
                let d = self.eval_int(duration)?;
                Ok(Value::Bool(env.windows.fits(*window, t, d)))
            }
            ExprKind::NextOpen { window, at } => {
                let t = self.eval_int(at)?;
                match env.windows.next_open(*window, t) {
                    Some(open) => Ok(Value::Int(open)),
                    None => {
                        let name = env
                            .program
                            .windows
                            .get(window.index())
                            .map_or("?", |w| w.name.as_str());
                        Err(EvalError::new(format!(
                            "window `{name}` does not open within 366 days after {}",
                            time::format_timestamp(t)
                        )))
                    }
                }
            }
            ExprKind::LocalTime { part, at, timezone } => {
                let t = self.eval_int(at)?;
                let tz = env
                    .timezones
                    .get(timezone)
                    .ok_or_else(|| EvalError::new(format!("unknown time zone `{timezone}`")))?;
                Ok(Value::Int(match part {
                    TimePart::Hour => time::local_hour(t, tz),
                    TimePart::Weekday => time::local_weekday(t, tz),
                }))
            }
        }
    }

    /// The steps of `elem in s` (none for an absent element, which is in no set).
    fn charge_element(&mut self, elem: &Value) -> Result<()> {
        if *elem == Value::Absent {
            return Ok(());
        }
        self.charge(1 + size_steps(value_size(elem)))
    }

    /// The steps of an operation on the strings or sets `values`.
    fn charge_sizes(&mut self, values: &[&Value]) -> Result<()> {
        let steps = values
            .iter()
            .fold(1i64, |n, v| n.saturating_add(size_steps(value_size(v))));
        self.charge(steps)
    }

    fn eval_int(&mut self, e: &Expr) -> Result<i64> {
        match self.eval(e)? {
            Value::Int(n) => Ok(n),
            _ => Err(EvalError::internal("expected an integer")),
        }
    }

    fn set_local(&mut self, slot: usize, value: Value) -> Result<()> {
        match self.stack.get_mut(slot) {
            Some(place) => {
                *place = value;
                Ok(())
            }
            None => Err(EvalError::internal("local slot out of range")),
        }
    }

    /// Attribute `attr` of an entity value; an entity the store does not hold has none.
    fn attr(&self, entity: &Value, attr: u32) -> Result<Value> {
        let store = self.env.store;
        match entity {
            Value::Entity(EntityRef::Known { ty, idx }) => store
                .attr(*ty, *idx, attr)
                .cloned()
                .ok_or_else(|| EvalError::internal("attribute out of range")),
            Value::Entity(EntityRef::Unknown { ty, id }) => {
                let ty_name = self
                    .env
                    .program
                    .schema
                    .entities
                    .get(ty.index())
                    .map_or("?", |t| t.name.as_str());
                Err(EvalError::new(format!(
                    "entity `{ty_name}::{}` is not in the entities",
                    quote(id)
                )))
            }
            _ => Err(EvalError::internal("attribute of a non-entity")),
        }
    }

    fn call(&mut self, func: usize, args: &[Expr]) -> Result<Value> {
        let f = self
            .env
            .program
            .functions
            .get(func)
            .ok_or_else(|| EvalError::internal("function out of range"))?;
        // Arguments are evaluated in the caller's frame, then become the callee's first slots.
        let frame = self.stack.len();
        for arg in args {
            let v = self.eval(arg)?;
            self.stack.push(v);
        }
        self.charge(1)?;
        let n_locals = (f.n_locals as usize).max(args.len());
        self.stack.resize(frame + n_locals, Value::Absent);
        let saved = std::mem::replace(&mut self.base, frame);
        let result = self.eval(&f.body);
        self.base = saved;
        self.stack.truncate(frame);
        result
    }

    fn binary(&mut self, op: BinOp, lhs: &Expr, rhs: &Expr, ty: &Type) -> Result<Value> {
        match op {
            BinOp::And => Ok(Value::Bool(self.eval_bool(lhs)? && self.eval_bool(rhs)?)),
            BinOp::Or => Ok(Value::Bool(self.eval_bool(lhs)? || self.eval_bool(rhs)?)),
            BinOp::Eq | BinOp::Ne => {
                // Comparing with a string literal needs no string value for the literal.
                let literal = match (str_literal(lhs), str_literal(rhs)) {
                    (_, Some(lit)) => Some((lhs, lit)),
                    (Some(lit), None) => Some((rhs, lit)),
                    (None, None) => None,
                };
                if let Some((other, lit)) = literal {
                    let equal = match self.eval(other)? {
                        Value::Str(s) => {
                            self.charge(1 + size_steps(s.len()) + size_steps(lit.len()))?;
                            &*s == lit
                        }
                        _ => false,
                    };
                    return Ok(Value::Bool(equal == (op == BinOp::Eq)));
                }
                let a = self.eval(lhs)?;
                let b = self.eval(rhs)?;
                if matches!(
                    (&a, &b),
                    (Value::Str(_), Value::Str(_)) | (Value::Set(_), Value::Set(_))
                ) {
                    self.charge_sizes(&[&a, &b])?;
                }
                // `Absent` equals only `Absent`: `T? == T` is false when absent (decisions.md #11).
                Ok(Value::Bool((a == b) == (op == BinOp::Eq)))
            }
            BinOp::Lt | BinOp::Le | BinOp::Gt | BinOp::Ge => {
                let a = self.eval(lhs)?;
                let b = self.eval(rhs)?;
                let (a, b) = match (a, b) {
                    (Value::Int(a), Value::Int(b)) => (a, b),
                    // An absent optional compares false (decisions.md #11).
                    (Value::Absent, _) | (_, Value::Absent) => return Ok(Value::Bool(false)),
                    _ => return Err(EvalError::internal("ordering of non-integers")),
                };
                Ok(Value::Bool(match op {
                    BinOp::Lt => a < b,
                    BinOp::Le => a <= b,
                    BinOp::Gt => a > b,
                    _ => a >= b,
                }))
            }
            BinOp::Add | BinOp::Sub | BinOp::Mul => {
                let a = self.eval_int(lhs)?;
                let b = self.eval_int(rhs)?;
                let (result, symbol) = match op {
                    BinOp::Add => (a.checked_add(b), "+"),
                    BinOp::Sub => (a.checked_sub(b), "-"),
                    _ => (a.checked_mul(b), "*"),
                };
                let n = result.ok_or_else(|| overflow(symbol))?;
                if *ty == Type::Timestamp && !time::in_range(n) {
                    return Err(EvalError::new(format!(
                        "timestamp arithmetic `{symbol}` leaves the supported range (years 0001 to 9999)"
                    )));
                }
                Ok(Value::Int(n))
            }
        }
    }

    fn builtin(&mut self, builtin: Builtin, args: &[Expr]) -> Result<Value> {
        if let (Builtin::SetContains, [set, elem]) = (builtin, args)
            && let Some(lit) = str_literal(elem)
        {
            let set = self.eval(set)?;
            self.charge(1 + size_steps(lit.len()))?;
            return Ok(Value::Bool(contains_str(as_set(&set)?, lit)));
        }
        // The size of a closure needs no closure.
        if let (Builtin::Count, [arg]) = (builtin, args)
            && let ExprKind::Closure { rel, inverse, of } = &arg.kind
        {
            return match self.eval(of)? {
                Value::Entity(EntityRef::Known { idx, .. }) => {
                    let size = self.env.store.closure_count(*rel, *inverse, idx);
                    self.charge(if size.direct {
                        1
                    } else {
                        result_steps(size.count)
                    })?;
                    Ok(Value::Int(
                        i64::try_from(size.count).map_err(|_| overflow("count"))?,
                    ))
                }
                Value::Entity(EntityRef::Unknown { .. }) => {
                    self.charge(1)?;
                    Ok(Value::Int(0))
                }
                _ => Err(EvalError::internal("relation of a non-entity")),
            };
        }
        // A literal set of strings is not built: it is searched where it is written.
        match (builtin, args) {
            (Builtin::SetContains, [set, elem]) if let Some(lits) = str_set_literal(set) => {
                let elem = self.eval(elem)?;
                self.charge_element(&elem)?;
                return Ok(Value::Bool(in_literals(&elem, lits)));
            }
            (Builtin::Intersects, [s, t]) | (Builtin::Intersects, [t, s])
                if let Some(lits) = str_set_literal(t) =>
            {
                let s = self.eval(s)?;
                self.charge(
                    1i64.saturating_add(size_steps(value_size(&s)))
                        .saturating_add(size_steps(distinct(lits))),
                )?;
                let items = as_set(&s)?;
                return Ok(Value::Bool(lits.iter().any(|lit| match &lit.kind {
                    ExprKind::Str(lit) => contains_str(items, lit),
                    _ => false,
                })));
            }
            (Builtin::IsSubset, [s, t]) if let Some(lits) = str_set_literal(t) => {
                let s = self.eval(s)?;
                self.charge(
                    1i64.saturating_add(size_steps(value_size(&s)))
                        .saturating_add(size_steps(distinct(lits))),
                )?;
                let items = as_set(&s)?;
                return Ok(Value::Bool(items.iter().all(|x| in_literals(x, lits))));
            }
            _ => {}
        }
        let values = match args {
            [a] => [self.eval(a)?, Value::Absent],
            [a, b] => {
                let a = self.eval(a)?;
                [a, self.eval(b)?]
            }
            _ => {
                return Err(EvalError::internal(
                    "builtin with a wrong number of arguments",
                ));
            }
        };
        let [a, b] = values;
        match builtin {
            Builtin::SetContains => self.charge_element(&b)?,
            Builtin::Intersects
            | Builtin::IsSubset
            | Builtin::StartsWith
            | Builtin::EndsWith
            | Builtin::StrContains => self.charge_sizes(&[&a, &b])?,
            Builtin::Lower | Builtin::Len => self.charge_sizes(&[&a])?,
            _ => {}
        }
        let result = match (builtin, &a, &b) {
            (Builtin::Count, Value::Set(items), _) => {
                Value::Int(i64::try_from(items.len()).map_err(|_| overflow("count"))?)
            }
            (Builtin::SetContains, set, elem) => Value::Bool(contains(set, elem)?),
            (Builtin::Intersects, Value::Set(s), Value::Set(t)) => Value::Bool(intersects(s, t)),
            (Builtin::IsSubset, Value::Set(s), Value::Set(t)) => {
                Value::Bool(s.iter().all(|x| t.binary_search(x).is_ok()))
            }
            (Builtin::StartsWith, Value::Str(s), Value::Str(p)) => Value::Bool(s.starts_with(&**p)),
            (Builtin::EndsWith, Value::Str(s), Value::Str(p)) => Value::Bool(s.ends_with(&**p)),
            (Builtin::StrContains, Value::Str(s), Value::Str(p)) => Value::Bool(s.contains(&**p)),
            (Builtin::Lower, Value::Str(s), _) => Value::Str(Arc::from(s.to_lowercase())),
            (Builtin::Len, Value::Str(s), _) => {
                Value::Int(i64::try_from(s.chars().count()).map_err(|_| overflow("len"))?)
            }
            _ => {
                return Err(EvalError::internal(
                    "builtin applied to values of the wrong type",
                ));
            }
        };
        Ok(result)
    }
}

/// The number of distinct strings of a literal set of strings (exactly when it matters to the
/// steps, that is from 64 on).
fn distinct(lits: &[Expr]) -> usize {
    if lits.len() < 64 {
        return lits.len();
    }
    let mut all: Vec<&str> = lits.iter().filter_map(str_literal).collect();
    all.sort_unstable();
    all.dedup();
    all.len()
}

fn overflow(op: &str) -> EvalError {
    EvalError::new(format!("integer overflow in `{op}`"))
}

fn as_set(v: &Value) -> Result<&[Value]> {
    v.as_set()
        .ok_or_else(|| EvalError::internal("expected a set"))
}

/// `elem in set`; an absent element is in no set (decisions.md #11).
fn contains(set: &Value, elem: &Value) -> Result<bool> {
    let items = as_set(set)?;
    Ok(*elem != Value::Absent && items.binary_search(elem).is_ok())
}

fn str_literal(e: &Expr) -> Option<&str> {
    match &e.kind {
        ExprKind::Str(s) => Some(s),
        _ => None,
    }
}

/// The items of a set literal whose items are all string literals.
fn str_set_literal(e: &Expr) -> Option<&[Expr]> {
    match &e.kind {
        ExprKind::Set(items) if items.iter().all(|x| matches!(x.kind, ExprKind::Str(_))) => {
            Some(items)
        }
        _ => None,
    }
}

/// Whether `v` is one of the string literals `lits` (an absent value is in no set).
fn in_literals(v: &Value, lits: &[Expr]) -> bool {
    match v {
        Value::Str(s) => lits
            .iter()
            .any(|lit| matches!(&lit.kind, ExprKind::Str(l) if **s == **l)),
        _ => false,
    }
}

/// Whether a canonical set of strings holds `lit`.
fn contains_str(items: &[Value], lit: &str) -> bool {
    items
        .binary_search_by(|v| match v {
            Value::Str(s) => (**s).cmp(lit),
            // A set of strings holds only strings; anything else sorts apart.
            _ => std::cmp::Ordering::Less,
        })
        .is_ok()
}

/// Whether two canonical (sorted) sets share an element: a merge walk.
fn intersects(s: &[Value], t: &[Value]) -> bool {
    let (mut i, mut j) = (s.iter().peekable(), t.iter().peekable());
    while let (Some(a), Some(b)) = (i.peek(), j.peek()) {
        match a.cmp(b) {
            std::cmp::Ordering::Less => {
                i.next();
            }
            std::cmp::Ordering::Greater => {
                j.next();
            }
            std::cmp::Ordering::Equal => return true,
        }
    }
    false
}

/// Store indices (sorted) as a canonical set of entities of type `ty`.
fn entity_set(ty: EntityTypeId, indices: &[u32]) -> Value {
    // Known entities of one type order by index, so sorted indices give a canonical set.
    Value::Set(
        indices
            .iter()
            .map(|&idx| Value::Entity(EntityRef::Known { ty, idx }))
            .collect(),
    )
}

/// An entity id as written in a literal: `"alice"` with `"` and `\` escaped.
pub(crate) fn quote(id: &str) -> String {
    let mut out = String::with_capacity(id.len() + 2);
    out.push('"');
    for c in id.chars() {
        if c == '"' || c == '\\' {
            out.push('\\');
        }
        out.push(c);
    }
    out.push('"');
    out
}
