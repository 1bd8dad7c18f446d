//! How long a rule's outcome stays the same: evaluates a rule at one instant and finds the
//! first later instant at which anything its outcome depends on could change.
//!
//! The walk follows the reference interpreter step by step (same order, same short-circuits,
//! same errors), but every integer carries, besides its value `v` at the instant `t`, its
//! slope `s` as a function of `now`: `now` is `(t, 1)`, `now + 3h` is `(t + 3h, 1)`,
//! `ts - now` is `(ts - t, -1)`, `remaining(w, now)` is `(e - t, -1)` inside an interval
//! ending at `e`, `hour(now, z)` is `(h, 0)`. Every operation whose result would stop
//! following that straight line, or whose result changes, records the first `dt >= 1` at
//! which that happens (a *breakpoint*):
//!
//! - a comparison of two lines: where their difference changes sign;
//! - checked arithmetic: where the exact result enters or leaves the range of `i64` (and of
//!   timestamps); a product of two sloped lines is not a line, so it records `dt = 1`;
//! - `in`, `remaining`, `fits`, `next_open` at a sloped instant: where it leaves the span
//!   between two boundaries of the window, where `remaining` starts to follow the close
//!   (366 days before it), where the duration of `fits` crosses `0s`, 366 days or the time
//!   left, where `next_open` finds the next start within its 366 days;
//! - `hour` and `weekday` at a sloped instant: where it leaves the local hour or day, or the
//!   zone's offset changes;
//! - a set literal with a sloped element: `dt = 1` (its order and duplicates could change at
//!   any second; exact, and slow only while such a set is evaluated).
//!
//! By induction over the walk, until the earliest breakpoint every value the interpreter
//! computes is the same line and every branch, error and short-circuit is the same, so the
//! rule's outcome is constant. The values here only steer the walk and find breakpoints: the
//! decisions of a plan are made by the engine, and the planner checks at each of them that
//! the rules the engine fired are the rules this walk predicted.
//!
//! It knows the IR, the store, windows and zones; nothing about combining or JSON.

use std::sync::Arc;

use regex::Regex;
use ward_ir::{BinOp, Builtin, EffectKind, EntityTypeId, Expr, ExprKind, MessagePart, Program};
use ward_ir::{Rule, TimePart, Type, WindowId};

use super::bounds::{Bounds, END_OF_TIME, Next, Prev};
use crate::store::Store;
use crate::time::{self, DAY, MAX_TIMESTAMP, MIN_TIMESTAMP};
use crate::window::{HORIZON, Windows};
use crate::{EntityRef, Value};

/// What the walk needs besides the request: compiled once per planner.
#[derive(Debug)]
pub(super) struct Tables {
    pub(super) windows: Windows,
    /// `program.regexes`, compiled, same indices.
    pub(super) regexes: Vec<Regex>,
}

/// A value at the instant `t` and, for an integer, its slope in `now`.
#[derive(Clone, Debug)]
struct Sym {
    v: Value,
    s: i128,
}

impl Sym {
    fn flat(v: Value) -> Sym {
        Sym { v, s: 0 }
    }
    fn int(v: i64, s: i128) -> Sym {
        Sym {
            v: Value::Int(v),
            s,
        }
    }
}

/// The interpreter would have failed here (the error itself is not needed).
#[derive(Debug)]
struct Fail;

type R<T> = Result<T, Fail>;

/// One walk: a rule (or several of one request, one after the other) at the instant `now`.
pub(super) struct Sense<'a> {
    pub(super) program: &'a Program,
    pub(super) store: &'a Store,
    pub(super) tables: &'a Tables,
    pub(super) bounds: &'a mut Bounds,
    /// The request's action fields and context fields.
    pub(super) args: &'a [Value],
    pub(super) context: &'a [Value],
    /// The instant of the walk.
    pub(super) now: i64,
    /// Breakpoints at or after this instant do not matter (the end of the plan).
    pub(super) end: i64,
    arg_map: &'a [u32],
    stack: Vec<Sym>,
    base: usize,
    /// The earliest breakpoint found so far (an instant, `<= end`).
    until: i64,
    /// Some value could not be bounded, so a rule was re-examined one second later.
    pub(super) stepped: bool,
}

impl<'a> Sense<'a> {
    #[allow(clippy::too_many_arguments)]
    pub(super) fn new(
        program: &'a Program,
        store: &'a Store,
        tables: &'a Tables,
        bounds: &'a mut Bounds,
        args: &'a [Value],
        context: &'a [Value],
        now: i64,
        end: i64,
    ) -> Sense<'a> {
        Sense {
            program,
            store,
            tables,
            bounds,
            args,
            context,
            now,
            end,
            arg_map: &[],
            stack: Vec::new(),
            base: 0,
            until: end,
            stepped: false,
        }
    }

    /// Whether `rule` fires at `now` (as the engine decides it: its conditions hold, or one
    /// fails and it is not an `allow`; an `allow` whose message fails does not fire), and the
    /// first instant after `now` at which that could change (at most `end`).
    pub(super) fn rule(&mut self, rule: &'a Rule, arg_map: &'a [u32]) -> (bool, i64) {
        self.arg_map = arg_map;
        self.base = 0;
        self.stack.clear();
        self.stack
            .resize(rule.n_locals as usize, Sym::flat(Value::Absent));
        self.until = self.end;
        let fires = self.fires(rule);
        (fires, self.until.max(self.now.saturating_add(1)))
    }

    fn fires(&mut self, rule: &'a Rule) -> bool {
        for c in &rule.conditions {
            match self.eval_bool(&c.expr) {
                Ok(true) => {}
                Ok(false) => return false,
                Err(Fail) => return rule.effect.kind != EffectKind::Allow,
            }
        }
        if rule.effect.kind == EffectKind::Allow
            && let Some(message) = &rule.message
        {
            for part in &message.parts {
                if let MessagePart::Expr(e) = part
                    && self.eval(e).is_err()
                {
                    return false;
                }
            }
        }
        true
    }

    // ---- breakpoints ----

    /// Records a breakpoint `dt` seconds after `now`.
    fn at(&mut self, dt: i128) {
        let dt = dt.max(1);
        let instant = i128::from(self.now).saturating_add(dt);
        if instant < i128::from(self.until) {
            // `instant < until <= end`, so it fits an i64.
            self.until = i64::try_from(instant).unwrap_or(self.until);
        }
    }

    /// The values can only be trusted for this instant: decide again one second later.
    fn fine(&mut self) {
        self.stepped = true;
        self.at(1);
    }

    /// Records where the line `d0 + s dt` changes sign (including becoming or leaving 0).
    fn sign(&mut self, d0: i128, s: i128) {
        if let Some(dt) = sign_change(d0, s) {
            self.at(dt);
        }
    }

    /// Records where `a0 + k dt` leaves `[lo, hi)` (which holds `a0`).
    fn leave(&mut self, a0: i64, k: i128, lo: i64, hi: i64) {
        let (a0, lo, hi) = (i128::from(a0), i128::from(lo), i128::from(hi));
        if k > 0 {
            self.at(div_ceil(hi - a0, k));
        } else if k < 0 {
            self.at((a0 - lo).div_euclid(k.saturating_neg()) + 1);
        }
    }

    /// Records where an exact integer result `r0 + s dt` enters or leaves `[lo, hi]`, and
    /// whether it is inside now.
    fn range(&mut self, r0: i128, s: i128, lo: i64, hi: i64) -> bool {
        self.sign(r0 - i128::from(lo), s);
        self.sign(r0 - i128::from(hi), s);
        r0 >= i128::from(lo) && r0 <= i128::from(hi)
    }

    /// `a - b` for slopes; when it overflows (slopes beyond any use), decide again a second
    /// later instead.
    fn minus(&mut self, a: i128, b: i128) -> i128 {
        match a.checked_sub(b) {
            Some(s) => s,
            None => {
                self.fine();
                0
            }
        }
    }

    /// How far an instant with slope `k` travels before the end of the plan.
    fn reach(&self, k: i128) -> i64 {
        let steps = i128::from(self.end.saturating_sub(self.now).max(1));
        i64::try_from(k.saturating_abs().saturating_mul(steps)).unwrap_or(i64::MAX)
    }

    // ---- evaluation (mirrors `interp::Evaluator`) ----

    fn eval_bool(&mut self, e: &'a Expr) -> R<bool> {
        match self.eval(e)?.v {
            Value::Bool(b) => Ok(b),
            _ => Err(Fail),
        }
    }

    fn eval_int(&mut self, e: &'a Expr) -> R<(i64, i128)> {
        let x = self.eval(e)?;
        match x.v {
            Value::Int(n) => Ok((n, x.s)),
            _ => Err(Fail),
        }
    }

    fn eval(&mut self, e: &'a Expr) -> R<Sym> {
        match &e.kind {
            ExprKind::Bool(b) => Ok(Sym::flat(Value::Bool(*b))),
            ExprKind::Int(n) => Ok(Sym::int(*n, 0)),
            ExprKind::Str(s) => Ok(Sym::flat(Value::Str(self.store.intern(s)))),
            ExprKind::Entity(id) => match &e.ty {
                Type::Entity(ty) => Ok(Sym::flat(Value::Entity(self.store.entity(*ty, id)))),
                _ => Err(Fail),
            },
            ExprKind::Enum(v) => Ok(Sym::flat(Value::Enum(*v))),
            ExprKind::Set(items) => {
                let mut values = Vec::with_capacity(items.len());
                for item in items {
                    let x = self.eval(item)?;
                    if x.s != 0 {
                        self.fine();
                    }
                    values.push(x.v);
                }
                Ok(Sym::flat(Value::set(values)))
            }
            ExprKind::None => Ok(Sym::flat(Value::Absent)),
            ExprKind::Some(inner) => self.eval(inner),
            ExprKind::Now => Ok(Sym::int(self.now, 1)),
            ExprKind::Arg(i) => {
                let field = self.arg_map.get(*i as usize).ok_or(Fail)?;
                self.args
                    .get(*field as usize)
                    .cloned()
                    .map(Sym::flat)
                    .ok_or(Fail)
            }
            ExprKind::Context(i) => self
                .context
                .get(*i as usize)
                .cloned()
                .map(Sym::flat)
                .ok_or(Fail),
            ExprKind::Local(id) => self.stack.get(self.base + id.index()).cloned().ok_or(Fail),
            ExprKind::Attr { of, attr } => {
                let entity = self.eval(of)?.v;
                self.attr(&entity, *attr).map(Sym::flat)
            }
            ExprKind::OptAttr { of, attr } => match self.eval(of)?.v {
                Value::Absent => Ok(Sym::flat(Value::Absent)),
                entity => self.attr(&entity, *attr).map(Sym::flat),
            },
            ExprKind::Has { of, attr } => match self.eval(of)?.v {
                Value::Absent => Ok(Sym::flat(Value::Bool(false))),
                entity => Ok(Sym::flat(Value::Bool(
                    self.attr(&entity, *attr)? != Value::Absent,
                ))),
            },
            ExprKind::Not(inner) => Ok(Sym::flat(Value::Bool(!self.eval_bool(inner)?))),
            ExprKind::Neg(inner) => {
                let (n, s) = self.eval_int(inner)?;
                self.checked(-i128::from(n), s.checked_neg(), false)
            }
            ExprKind::Binary { op, lhs, rhs } => self.binary(*op, lhs, rhs, &e.ty),
            ExprKind::Coalesce { value, fallback } => {
                let x = self.eval(value)?;
                match x.v {
                    Value::Absent => self.eval(fallback),
                    _ => Ok(x),
                }
            }
            ExprKind::In { elem, set } => {
                let x = self.eval(elem)?;
                let set = self.eval(set)?.v;
                let items = set.as_set().ok_or(Fail)?;
                Ok(Sym::flat(Value::Bool(self.member(&x, items))))
            }
            ExprKind::Matches { operand, regex } => {
                let s = self.eval(operand)?.v;
                let re = self.tables.regexes.get(regex.index()).ok_or(Fail)?;
                match s {
                    Value::Str(s) => Ok(Sym::flat(Value::Bool(re.is_match(&s)))),
                    _ => Err(Fail),
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
                let set = self.eval(set)?.v;
                let items = set.as_set().ok_or(Fail)?;
                let slot = self.base + var.index();
                for item in items {
                    self.set_local(slot, Sym::flat(item.clone()))?;
                    if self.eval_bool(body)? != *all {
                        return Ok(Sym::flat(Value::Bool(!*all)));
                    }
                }
                Ok(Sym::flat(Value::Bool(*all)))
            }
            ExprKind::Filter { var, set, cond } => {
                let set = self.eval(set)?.v;
                let items = set.as_set().ok_or(Fail)?;
                let slot = self.base + var.index();
                let mut kept = Vec::new();
                for item in items {
                    self.set_local(slot, Sym::flat(item.clone()))?;
                    if self.eval_bool(cond)? {
                        kept.push(item.clone());
                    }
                }
                Ok(Sym::flat(Value::Set(kept.into())))
            }
            ExprKind::Related { rel, inverse, of } | ExprKind::Closure { rel, inverse, of } => {
                let target = match &e.ty {
                    Type::Set(inner) => match **inner {
                        Type::Entity(t) => t,
                        _ => return Err(Fail),
                    },
                    _ => return Err(Fail),
                };
                let transitive = matches!(e.kind, ExprKind::Closure { .. });
                match self.eval(of)?.v {
                    Value::Entity(EntityRef::Known { idx, .. }) => {
                        let set = if transitive {
                            entity_set(target, &self.store.closure(*rel, *inverse, idx))
                        } else {
                            entity_set(target, self.store.related(*rel, *inverse, idx))
                        };
                        Ok(Sym::flat(set))
                    }
                    Value::Entity(EntityRef::Unknown { .. }) => Ok(Sym::flat(Value::empty_set())),
                    _ => Err(Fail),
                }
            }
            ExprKind::Path {
                rel,
                inverse,
                from,
                to,
            } => {
                let from = self.eval(from)?.v;
                let to = self.eval(to)?.v;
                match (from, to) {
                    (
                        Value::Entity(EntityRef::Known { idx: a, .. }),
                        Value::Entity(EntityRef::Known { idx: b, .. }),
                    ) => Ok(Sym::flat(Value::Bool(
                        self.store.reaches(*rel, *inverse, a, b),
                    ))),
                    (Value::Entity(_), Value::Entity(_)) => Ok(Sym::flat(Value::Bool(false))),
                    _ => Err(Fail),
                }
            }
            ExprKind::InWindow { window, at } => {
                let (a0, k) = self.eval_int(at)?;
                if k == 0 {
                    let inside = self.tables.windows.contains(*window, a0);
                    return Ok(Sym::flat(Value::Bool(inside)));
                }
                let piece = self.piece(*window, a0, k);
                self.leave(a0, k, piece.lo, piece.hi);
                Ok(Sym::flat(Value::Bool(piece.inside)))
            }
            ExprKind::Remaining { window, at } => {
                let (a0, k) = self.eval_int(at)?;
                let r0 = self.tables.windows.remaining(*window, a0);
                if k == 0 {
                    return Ok(Sym::int(r0, 0));
                }
                let piece = self.piece(*window, a0, k);
                self.remaining(piece, a0, k, r0)
            }
            ExprKind::Fits {
                window,
                at,
                duration,
            } => {
                let (a0, k) = self.eval_int(at)?;
                let (d0, kd) = self.eval_int(duration)?;
                let fits = self.tables.windows.fits(*window, a0, d0);
                if k == 0 && kd == 0 {
                    return Ok(Sym::flat(Value::Bool(fits)));
                }
                let piece = self.piece(*window, a0, k);
                self.fits(piece, a0, k, d0, kd, fits);
                Ok(Sym::flat(Value::Bool(fits)))
            }
            ExprKind::NextOpen { window, at } => {
                let (a0, k) = self.eval_int(at)?;
                let open = self.tables.windows.next_open(*window, a0);
                if k == 0 {
                    return open.map(|v| Sym::int(v, 0)).ok_or(Fail);
                }
                let piece = self.piece(*window, a0, k);
                self.next_open(piece, a0, k, open)
            }
            ExprKind::LocalTime { part, at, timezone } => {
                let (a0, k) = self.eval_int(at)?;
                let zone = self.bounds.zone(timezone).ok_or(Fail)?;
                let (value, unit) = match part {
                    TimePart::Hour => (time::local_hour(a0, &zone.tz), 3_600),
                    TimePart::Weekday => (time::local_weekday(a0, &zone.tz), DAY),
                };
                if k != 0 {
                    let (lo, hi) = zone.piece(a0, unit);
                    self.leave(a0, k, lo, hi);
                }
                Ok(Sym::int(value, 0))
            }
        }
    }

    fn set_local(&mut self, slot: usize, value: Sym) -> R<()> {
        match self.stack.get_mut(slot) {
            Some(place) => {
                *place = value;
                Ok(())
            }
            None => Err(Fail),
        }
    }

    fn attr(&self, entity: &Value, attr: u32) -> R<Value> {
        match entity {
            Value::Entity(EntityRef::Known { ty, idx }) => {
                self.store.attr(*ty, *idx, attr).cloned().ok_or(Fail)
            }
            _ => Err(Fail),
        }
    }

    fn call(&mut self, func: usize, args: &'a [Expr]) -> R<Sym> {
        let f = self.program.functions.get(func).ok_or(Fail)?;
        let frame = self.stack.len();
        for arg in args {
            let v = self.eval(arg)?;
            self.stack.push(v);
        }
        let n_locals = (f.n_locals as usize).max(args.len());
        self.stack
            .resize(frame + n_locals, Sym::flat(Value::Absent));
        let saved = std::mem::replace(&mut self.base, frame);
        let result = self.eval(&f.body);
        self.base = saved;
        self.stack.truncate(frame);
        result
    }

    /// `x in items` (an absent `x` is in no set); with a sloped `x`, where it meets or leaves
    /// an element.
    fn member(&mut self, x: &Sym, items: &[Value]) -> bool {
        if x.s != 0
            && let Value::Int(n) = x.v
        {
            for item in items {
                if let Value::Int(m) = item {
                    self.sign(i128::from(n) - i128::from(*m), x.s);
                }
            }
        }
        x.v != Value::Absent && items.binary_search(&x.v).is_ok()
    }

    /// An integer result `r0` with slope `s` (`None`: not a line), checked like the
    /// interpreter: within `i64`, and within the supported range for a timestamp.
    fn checked(&mut self, r0: i128, s: Option<i128>, timestamp: bool) -> R<Sym> {
        let s = match s {
            Some(s) => s,
            None => {
                self.fine();
                0
            }
        };
        let fits = self.range(r0, s, i64::MIN, i64::MAX);
        let in_time = !timestamp || self.range(r0, s, MIN_TIMESTAMP, MAX_TIMESTAMP);
        if !(fits && in_time) {
            return Err(Fail);
        }
        i64::try_from(r0).map(|n| Sym::int(n, s)).map_err(|_| Fail)
    }

    fn binary(&mut self, op: BinOp, lhs: &'a Expr, rhs: &'a Expr, ty: &Type) -> R<Sym> {
        let bool = |b| Ok(Sym::flat(Value::Bool(b)));
        match op {
            BinOp::And => bool(self.eval_bool(lhs)? && self.eval_bool(rhs)?),
            BinOp::Or => bool(self.eval_bool(lhs)? || self.eval_bool(rhs)?),
            BinOp::Eq | BinOp::Ne => {
                let a = self.eval(lhs)?;
                let b = self.eval(rhs)?;
                if let (Value::Int(x), Value::Int(y)) = (&a.v, &b.v) {
                    let s = self.minus(a.s, b.s);
                    self.sign(i128::from(*x) - i128::from(*y), s);
                }
                bool((a.v == b.v) == (op == BinOp::Eq))
            }
            BinOp::Lt | BinOp::Le | BinOp::Gt | BinOp::Ge => {
                let a = self.eval(lhs)?;
                let b = self.eval(rhs)?;
                let (x, y) = match (&a.v, &b.v) {
                    (Value::Int(x), Value::Int(y)) => (*x, *y),
                    (Value::Absent, _) | (_, Value::Absent) => return bool(false),
                    _ => return Err(Fail),
                };
                let s = self.minus(a.s, b.s);
                self.sign(i128::from(x) - i128::from(y), s);
                bool(match op {
                    BinOp::Lt => x < y,
                    BinOp::Le => x <= y,
                    BinOp::Gt => x > y,
                    _ => x >= y,
                })
            }
            BinOp::Add | BinOp::Sub | BinOp::Mul => {
                let (a, sa) = self.eval_int(lhs)?;
                let (b, sb) = self.eval_int(rhs)?;
                let (a, b) = (i128::from(a), i128::from(b));
                let (r, s) = match op {
                    BinOp::Add => (a + b, sa.checked_add(sb)),
                    BinOp::Sub => (a - b, sa.checked_sub(sb)),
                    _ => {
                        let s = if sa != 0 && sb != 0 {
                            None
                        } else {
                            sa.checked_mul(b)
                                .and_then(|x| sb.checked_mul(a).and_then(|y| x.checked_add(y)))
                        };
                        (a * b, s)
                    }
                };
                self.checked(r, s, *ty == Type::Timestamp)
            }
        }
    }

    fn builtin(&mut self, builtin: Builtin, args: &'a [Expr]) -> R<Sym> {
        let (a, b) = match args {
            [a] => (self.eval(a)?, Sym::flat(Value::Absent)),
            [a, b] => {
                let a = self.eval(a)?;
                (a, self.eval(b)?)
            }
            _ => return Err(Fail),
        };
        let value = match (builtin, &a.v, &b.v) {
            (Builtin::Count, Value::Set(items), _) => {
                Value::Int(i64::try_from(items.len()).map_err(|_| Fail)?)
            }
            (Builtin::SetContains, Value::Set(items), _) => Value::Bool(self.member(&b, items)),
            (Builtin::Intersects, Value::Set(s), Value::Set(t)) => {
                Value::Bool(s.iter().any(|x| t.binary_search(x).is_ok()))
            }
            (Builtin::IsSubset, Value::Set(s), Value::Set(t)) => {
                Value::Bool(s.iter().all(|x| t.binary_search(x).is_ok()))
            }
            (Builtin::StartsWith, Value::Str(s), Value::Str(p)) => Value::Bool(s.starts_with(&**p)),
            (Builtin::EndsWith, Value::Str(s), Value::Str(p)) => Value::Bool(s.ends_with(&**p)),
            (Builtin::StrContains, Value::Str(s), Value::Str(p)) => Value::Bool(s.contains(&**p)),
            (Builtin::Lower, Value::Str(s), _) => Value::Str(Arc::from(s.to_lowercase())),
            (Builtin::Len, Value::Str(s), _) => {
                Value::Int(i64::try_from(s.chars().count()).map_err(|_| Fail)?)
            }
            _ => return Err(Fail),
        };
        Ok(Sym::flat(value))
    }

    // ---- windows ----

    /// The span between two boundaries of `w` that holds `a0`, looking as far as an instant
    /// of slope `k` can travel (plus the 366 days `next_open` and `remaining` look ahead).
    fn piece(&mut self, w: WindowId, a0: i64, k: i128) -> Piece {
        let windows = &self.tables.windows;
        let inside = windows.contains(w, a0);
        let ahead = if k > 0 { self.reach(k) } else { 0 };
        let limit = a0
            .saturating_add(ahead)
            .saturating_add(HORIZON)
            .saturating_add(2 * DAY);
        let (hi, exact) = match self.bounds.next(windows, w, a0, limit) {
            Next::At(b) => (b, true),
            Next::Never => (END_OF_TIME, true),
            Next::Beyond(x) => (x, false),
        };
        let lo = if k < 0 {
            let limit = a0.saturating_sub(self.reach(k)).saturating_sub(1);
            match self.bounds.prev(windows, w, a0, limit) {
                Prev::At(b) => b,
                Prev::Never => MIN_TIMESTAMP,
                Prev::Before(x) => x,
            }
        } else {
            MIN_TIMESTAMP
        };
        let mut piece = Piece {
            inside,
            lo,
            hi,
            boundary: hi,
            end_of_time: exact && hi == END_OF_TIME,
        };
        if !exact {
            // The next boundary is somewhere at or after `hi`: what `remaining`, `fits` and
            // `next_open` answer is known while the instant stays 366 days before it.
            piece.hi = hi
                .saturating_sub(HORIZON)
                .saturating_add(1)
                .max(a0.saturating_add(1));
        }
        piece
    }

    fn remaining(&mut self, piece: Piece, a0: i64, k: i128, r0: i64) -> R<Sym> {
        let Piece { lo, hi, .. } = piece;
        if !piece.inside {
            if r0 != 0 {
                self.fine();
            }
            self.leave(a0, k, lo, hi);
            return Ok(Sym::int(r0, 0));
        }
        // Inside an interval that closes at `close`: `min(close - t, 366d)`.
        let close = piece.boundary;
        let left = close.saturating_sub(a0);
        if r0 != left.min(HORIZON) {
            self.fine();
            return Ok(Sym::int(r0, 0));
        }
        if left < HORIZON || (left == HORIZON && k > 0) {
            self.leave(a0, k, lo.max(close.saturating_sub(HORIZON)), hi);
            let s = self.minus(0, k);
            Ok(Sym::int(r0, s))
        } else {
            self.leave(
                a0,
                k,
                lo,
                hi.min(close.saturating_sub(HORIZON).saturating_add(1)),
            );
            Ok(Sym::int(r0, 0))
        }
    }

    #[allow(clippy::too_many_arguments)]
    fn fits(&mut self, piece: Piece, a0: i64, k: i128, d0: i64, kd: i128, fits: bool) {
        self.leave(a0, k, piece.lo, piece.hi);
        // `fits` is `t in w and (d <= 0s or (d <= 366d and close - t >= d))`.
        self.sign(i128::from(d0), kd);
        self.sign(i128::from(d0) - i128::from(HORIZON), kd);
        let mut expect = piece.inside && d0 <= 0;
        if piece.inside {
            let close = piece.boundary;
            let room = i128::from(close) - i128::from(a0) - i128::from(d0);
            let s = self.minus(0, k);
            let s = self.minus(s, kd);
            self.sign(room, s);
            expect = expect || (d0 <= HORIZON && room >= 0);
        }
        if expect != fits {
            self.fine();
        }
    }

    fn next_open(&mut self, piece: Piece, a0: i64, k: i128, open: Option<i64>) -> R<Sym> {
        self.leave(a0, k, piece.lo, piece.hi);
        if piece.inside {
            if open != Some(a0) {
                self.fine();
            }
            return open.map(|v| Sym::int(v, k)).ok_or(Fail);
        }
        let expect = if piece.end_of_time {
            None
        } else {
            // Outside: the next start `s`, found when `s <= t + 366d`.
            let start = piece.boundary;
            let s = self.minus(0, k);
            self.sign(i128::from(start) - i128::from(a0) - i128::from(HORIZON), s);
            (i128::from(start) <= i128::from(a0) + i128::from(HORIZON)).then_some(start)
        };
        if expect != open {
            self.fine();
        }
        open.map(|v| Sym::int(v, 0)).ok_or(Fail)
    }
}

/// The span `[lo, hi)` of instants around a window query in which the window is the same
/// (inside or outside), and the boundary that ends it.
#[derive(Clone, Copy, Debug)]
struct Piece {
    inside: bool,
    lo: i64,
    hi: i64,
    /// The close of the interval (inside) or the next start (outside). When the search for
    /// it stopped early, the instant where it stopped: the real boundary is later, and `hi`
    /// is then moved 366 days before it, so that every answer derived from this stand-in
    /// holds within the span.
    boundary: i64,
    /// No boundary until the end of time.
    end_of_time: bool,
}

/// The first `dt >= 1` at which `d0 + s dt` has another sign than `d0` (becoming zero
/// counts), or `None` when it never does.
pub(super) fn sign_change(d0: i128, s: i128) -> Option<i128> {
    if s == 0 {
        return None;
    }
    if d0 == 0 {
        return Some(1);
    }
    if (d0 > 0) == (s > 0) {
        return None;
    }
    Some(div_ceil(d0.saturating_abs(), s.saturating_abs()))
}

/// `ceil(a / b)` for `b > 0`.
fn div_ceil(a: i128, b: i128) -> i128 {
    let q = a.div_euclid(b);
    if a.rem_euclid(b) == 0 { q } else { q + 1 }
}

/// Store indices (sorted) as a canonical set of entities of type `ty`.
fn entity_set(ty: EntityTypeId, indices: &[u32]) -> Value {
    Value::Set(
        indices
            .iter()
            .map(|&idx| Value::Entity(EntityRef::Known { ty, idx }))
            .collect(),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sign_changes() {
        // Brute force over small lines.
        for d0 in -12i128..=12 {
            for s in -5i128..=5 {
                let sign = |x: i128| x.signum();
                let want = (1..200).find(|dt| sign(d0 + s * dt) != sign(d0));
                assert_eq!(sign_change(d0, s), want, "{d0} + {s} dt");
            }
        }
    }
}
