//! Deciding a request with compiled code: prepares the per-decision context (request slots,
//! outcome array, entity literals and memo tables of the snapshot), runs the action's native
//! function, and hands its results to the combiner shared with the interpreter
//! ([`decision::combine`]), so both engines produce the same [`Decision`], errors and
//! explanation by construction. Messages and approvers are evaluated by native code; only the
//! rendering of their values is shared with the interpreter. The buffers of a decision are kept
//! per thread and reused, so deciding allocates little beyond the decision itself.
//! This module knows decisions and the context layout, not Cranelift.

use std::cell::RefCell;

use ward_ir::{Expr, MessagePart, Rule};

use super::Code;
use super::rt::{Ctx, Item, SnapshotTables};
use crate::Value;
use crate::budget::Budget;
use crate::decision::{self, Decision, Explanation, RuleParts};
use crate::interp::EvalError;
use crate::prepared::{Compiled, PlannedRule};
use crate::render::render_value;
use crate::request::Request;
use crate::store::Store;

/// Buffers of one decision, kept per thread between decisions (emptied, capacity kept).
#[derive(Default)]
struct Scratch {
    slots: Vec<i64>,
    outcomes: Vec<i64>,
    request_memos: Vec<i64>,
    arena: Vec<Item>,
    builders: Vec<Vec<Value>>,
    emitted: Vec<Value>,
    rule_errors: Vec<(usize, EvalError)>,
}

thread_local! {
    static SCRATCH: RefCell<Scratch> = RefCell::new(Scratch::default());
}

/// Decides `request` against `store` with compiled code. `literals` must come from
/// `code.tables.resolve_literals(store)` and `memos` from `code.tables.snapshot_tables(store)`;
/// both are recomputed (the memo tables as empty ones) when they do not match.
#[allow(clippy::too_many_arguments)]
pub(crate) fn evaluate(
    compiled: &Compiled,
    code: &Code,
    literals: &[i64],
    memos: Option<&SnapshotTables>,
    store: &Store,
    request: &Request,
    explain: bool,
    budget: Budget,
) -> (Decision, Option<Explanation>) {
    SCRATCH.with(|cell| match cell.try_borrow_mut() {
        Ok(mut scratch) => decide(
            compiled,
            code,
            literals,
            memos,
            store,
            request,
            explain,
            budget,
            &mut scratch,
        ),
        // Only reachable if deciding re-entered itself on this thread: fresh buffers.
        Err(_) => decide(
            compiled,
            code,
            literals,
            memos,
            store,
            request,
            explain,
            budget,
            &mut Scratch::default(),
        ),
    })
}

#[allow(clippy::too_many_arguments)]
fn decide(
    compiled: &Compiled,
    code: &Code,
    literals: &[i64],
    memos: Option<&SnapshotTables>,
    store: &Store,
    request: &Request,
    explain: bool,
    budget: Budget,
    scratch: &mut Scratch,
) -> (Decision, Option<Explanation>) {
    let program = &compiled.program;
    let (Some(plan), Some(action)) = (
        compiled.actions.get(request.action.index()),
        program.schema.actions.get(request.action.index()),
    ) else {
        let decision = Decision::rejected(format!("unknown action {}", request.action.0));
        return (decision, explain.then(decision::rejected_explanation));
    };
    let owned;
    let literals = if literals.len() == code.tables.literals.len() {
        literals
    } else {
        owned = code.tables.resolve_literals(store);
        &owned[..]
    };
    let owned_memos;
    let memos = match memos {
        Some(m) if m.fits(&code.tables) => m,
        _ => {
            owned_memos = SnapshotTables::unused(&code.tables);
            &owned_memos
        }
    };
    let n_context = program.schema.context.len();
    let mut ctx = Ctx::new(
        compiled,
        &code.tables,
        store,
        request,
        literals,
        n_context,
        budget,
    );
    ctx.set_memos(memos);
    ctx.arena = std::mem::take(&mut scratch.arena);
    ctx.builders = std::mem::take(&mut scratch.builders);
    ctx.emitted = std::mem::take(&mut scratch.emitted);
    ctx.rule_errors = std::mem::take(&mut scratch.rule_errors);
    // `[present, payload]` per context field, then per action field, as native code reads them.
    let n_slots = n_context + action.fields.len();
    let mut slots = std::mem::take(&mut scratch.slots);
    slots.clear();
    slots.resize(2 * n_slots, 0);
    let values = (0..n_context)
        .map(|i| request.context.get(i))
        .chain((0..action.fields.len()).map(|i| request.args.get(i)));
    for (k, (value, pair)) in values.zip(slots.chunks_exact_mut(2)).enumerate() {
        if let (Some(value), [present, payload]) = (value, pair)
            && let Some(x) = ctx.unbox_slot(k, value)
        {
            *present = 1;
            *payload = x;
        }
    }
    let mut outcomes = std::mem::take(&mut scratch.outcomes);
    outcomes.clear();
    outcomes.resize(plan.rules.len(), 0);
    let mut request_memos = std::mem::take(&mut scratch.request_memos);
    request_memos.clear();
    request_memos.resize(3 * code.tables.request_memos, 0);
    ctx.slots = slots.as_ptr();
    ctx.outcomes = outcomes.as_mut_ptr();
    ctx.request_memos = request_memos.as_mut_ptr();
    let action_index = request.action.index();
    let status = code.run_action(&mut ctx, action_index, 0, 0);
    let mut rule_errors = std::mem::take(&mut ctx.rule_errors);
    let mut parts = Native {
        compiled,
        code,
        store,
        ctx: &mut ctx,
        action: action_index,
        status,
        outcomes: &outcomes,
        rule_errors: &mut rule_errors,
        next_error: 0,
    };
    let result = decision::combine(compiled, request, &mut parts, explain);
    // Back to the thread's scratch, emptied (values dropped, capacity kept).
    rule_errors.clear();
    ctx.emitted.clear();
    ctx.builders.clear();
    ctx.arena.clear();
    scratch.arena = std::mem::take(&mut ctx.arena);
    scratch.builders = std::mem::take(&mut ctx.builders);
    scratch.emitted = std::mem::take(&mut ctx.emitted);
    scratch.rule_errors = rule_errors;
    scratch.slots = slots;
    scratch.outcomes = outcomes;
    scratch.request_memos = request_memos;
    result
}

/// The compiled code's [`RuleParts`]: mode 0 of the action's function has run (outcomes and
/// errors of every rule); messages and approvers run modes 1 and 2 on demand.
struct Native<'a, 'c, 'x> {
    compiled: &'c Compiled,
    code: &'c Code,
    store: &'a Store,
    ctx: &'x mut Ctx<'a>,
    action: usize,
    /// What mode 0 returned (non-zero: the native code failed outside a rule).
    status: i64,
    outcomes: &'x [i64],
    /// Errors of rules, by position in the plan, in plan order.
    rule_errors: &'x mut [(usize, EvalError)],
    next_error: usize,
}

impl<'c> RuleParts<'c> for Native<'_, 'c, '_> {
    #[inline]
    fn conditions(
        &mut self,
        ri: usize,
        _planned: &'c PlannedRule,
        _rule: &'c Rule,
    ) -> Result<Option<usize>, (Option<usize>, EvalError)> {
        let outcome = self.outcomes.get(ri).copied().unwrap_or(0);
        // A rule's error comes with a negative outcome: the common cases need no lookup.
        if self.status == 0 && outcome > 0 {
            return Ok(Some((outcome - 1) as usize));
        }
        let mut error = None;
        while let Some((r, e)) = self.rule_errors.get_mut(self.next_error) {
            if *r != ri {
                break;
            }
            error = Some(std::mem::replace(e, EvalError::new(String::new())));
            self.next_error += 1;
        }
        if self.status != 0 && error.is_none() {
            error = Some(EvalError::new("internal error: compiled code failed"));
        }
        match (outcome, error) {
            (0, None) => Ok(None),
            (n, None) if n > 0 => Ok(Some((n - 1) as usize)),
            (n, error) => Err((
                usize::try_from(-(n + 1)).ok(),
                error.unwrap_or_else(|| {
                    EvalError::new("internal error: a failure without an error")
                }),
            )),
        }
    }

    fn message(
        &mut self,
        ri: usize,
        _planned: &'c PlannedRule,
        _rule: &'c Rule,
        parts: &'c [MessagePart],
        out: &mut String,
    ) -> Result<(), EvalError> {
        let result = match self.code.run_action(self.ctx, self.action, 1, ri as i64) {
            0 => {
                render(parts, &self.ctx.emitted, self.compiled, self.store, out);
                Ok(())
            }
            _ => Err(self.ctx.take_error()),
        };
        self.ctx.emitted.clear();
        result
    }

    fn approvers(
        &mut self,
        ri: usize,
        _planned: &'c PlannedRule,
        _rule: &'c Rule,
        expr: &'c Expr,
        out: &mut Vec<String>,
    ) -> Result<(), EvalError> {
        if literal_approvers(expr, out) {
            return Ok(());
        }
        let result = match self.code.run_action(self.ctx, self.action, 2, ri as i64) {
            0 => decision::collect_approvers(self.ctx.emitted.drain(..), self.store, out),
            _ => Err(self.ctx.take_error()),
        };
        self.ctx.emitted.clear();
        result
    }

    fn default_approvers(
        &mut self,
        _expr: &'c Expr,
        out: &mut Vec<String>,
    ) -> Result<(), EvalError> {
        let result = match self.code.run_default(self.ctx) {
            0 => decision::collect_approvers(self.ctx.emitted.drain(..), self.store, out),
            _ => Err(self.ctx.take_error()),
        };
        self.ctx.emitted.clear();
        result
    }
}

/// Approvers written as a string literal or a set of them (constants are inlined): added to
/// `out` directly, as the compiled code would emit them. `false` (and nothing added) for any
/// other expression.
fn literal_approvers(expr: &Expr, out: &mut Vec<String>) -> bool {
    use ward_ir::ExprKind;
    match &expr.kind {
        ExprKind::Str(s) => {
            out.push(s.clone());
            true
        }
        ExprKind::Set(items)
            if items
                .iter()
                .all(|item| matches!(item.kind, ExprKind::Str(_))) =>
        {
            for item in items {
                if let ExprKind::Str(s) = &item.kind {
                    out.push(s.clone());
                }
            }
            true
        }
        _ => false,
    }
}

/// The message text from its parts and the values native code emitted for its holes.
fn render(
    parts: &[MessagePart],
    emitted: &[Value],
    compiled: &Compiled,
    store: &Store,
    out: &mut String,
) {
    let mut values = emitted.iter();
    for part in parts {
        match part {
            MessagePart::Text(text) => out.push_str(text),
            MessagePart::Expr(e) => {
                let v = values.next().unwrap_or(&Value::Absent);
                render_value(out, v, &e.ty, &compiled.program.schema, store);
            }
        }
    }
}
