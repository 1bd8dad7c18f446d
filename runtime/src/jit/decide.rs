//! Deciding a request with compiled code: prepares the per-decision context (request slots,
//! outcome array, entity literals and memo tables of the snapshot), runs the action's native
//! function, and hands its results to the combiner shared with the interpreter
//! ([`decision::combine`]), so both engines produce the same [`Decision`], errors and
//! explanation by construction. The common decision — no rule failed, and what fired shows only
//! holes read directly and literal approvers — goes to [`decision::combine_settled`] instead,
//! which decides as `combine` does without its general path (or declines before doing anything
//! that counts, and `combine` decides). Message holes and approvers are evaluated by native code, except
//! holes that are a request field or an attribute of one (read directly: they cost nothing and
//! cannot fail in either engine); only the rendering of their values is shared with the
//! interpreter, and it happens when a message is read. The request's slots, the outcomes and the
//! per-decision memos live on the stack; the helpers' buffers are kept per thread and reused in
//! place, so deciding allocates nothing of its own.
//! This module knows decisions and the context layout, not Cranelift.

use std::mem::MaybeUninit;
use std::sync::Arc;

use ward_ir::{Expr, MessagePart, Rule};

use super::Code;
use super::rt::{Ctx, Item, SnapshotTables};
use crate::Value;
use crate::budget::Budget;
use crate::decision::{self, Decision, Explanation, Pieces, RuleParts, RuleTable};
use crate::interp::EvalError;
use crate::prepared::{Compiled, PlannedRule};
use crate::request::Request;
use crate::store::Store;

/// Buffers the helpers fill during one decision, kept per thread between decisions (emptied
/// when the decision's context is dropped, capacity kept).
#[derive(Default)]
pub(crate) struct Scratch {
    pub(crate) arena: Vec<Item>,
    pub(crate) builders: Vec<Vec<Value>>,
    pub(crate) emitted: Vec<Value>,
    pub(crate) rule_errors: Vec<(usize, EvalError)>,
}

impl Scratch {
    pub(crate) const fn new() -> Scratch {
        Scratch {
            arena: Vec::new(),
            builders: Vec::new(),
            emitted: Vec::new(),
            rule_errors: Vec::new(),
        }
    }
}

/// The request's slots, the outcomes and the per-decision memos live in one buffer on the
/// stack when they fit in this many words (else in one allocation).
const STACK_WORDS: usize = 128;

/// Decides `request` against `store` with compiled code. `literals` must come from
/// `code.tables.resolve_literals(store)` and `memos` from `code.tables.snapshot_tables(store)`;
/// both are recomputed (the memo tables as empty ones) when they do not match. The explanation
/// goes to `explanation` when `explain` is set.
#[allow(clippy::too_many_arguments)]
#[inline]
pub(crate) fn evaluate(
    compiled: &Compiled,
    code: &Code,
    table: &Arc<RuleTable>,
    literals: &[i64],
    memos: Option<&SnapshotTables>,
    store: &Store,
    request: &Request,
    explain: bool,
    explanation: &mut Option<Explanation>,
    budget: Budget,
    scratch: &mut Scratch,
    out: &mut Decision,
) {
    decide(
        compiled,
        code,
        table,
        literals,
        memos,
        store,
        request,
        explain,
        explanation,
        budget,
        scratch,
        out,
    );
}

#[allow(clippy::too_many_arguments)]
fn decide(
    compiled: &Compiled,
    code: &Code,
    table: &Arc<RuleTable>,
    literals: &[i64],
    memos: Option<&SnapshotTables>,
    store: &Store,
    request: &Request,
    explain: bool,
    explanation: &mut Option<Explanation>,
    budget: Budget,
    scratch: &mut Scratch,
    out: &mut Decision,
) {
    let program = &compiled.program;
    let (Some(plan), Some(action)) = (
        compiled.actions.get(request.action.index()),
        program.schema.actions.get(request.action.index()),
    ) else {
        if explain {
            *explanation = Some(decision::rejected_explanation());
        }
        *out = Decision::rejected(format!("unknown action {}", request.action.0));
        return;
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
    let n_slots = n_context + action.fields.len();
    let (n_slot_words, n_outcomes) = (2 * n_slots, plan.rules.len());
    let total = n_slot_words + n_outcomes + 3 * code.tables.request_memos;
    // Only the words the decision uses are zeroed (zeroing all of them was a `memset` of
    // 1 KiB per decision).
    let mut stack = [MaybeUninit::<i64>::uninit(); STACK_WORDS];
    let mut heap = Vec::new();
    let words: &mut [i64] = match stack.get_mut(..total) {
        Some(words) => {
            for w in words.iter_mut() {
                w.write(0);
            }
            // SAFETY: every element of `words` was just initialized, and `MaybeUninit<i64>`
            // has the layout of `i64`; the slice borrows `stack` for as long as it lives.
            unsafe { &mut *(std::ptr::from_mut::<[MaybeUninit<i64>]>(words) as *mut [i64]) }
        }
        None => {
            heap.resize(total, 0);
            &mut heap
        }
    };
    let Some((slots, rest)) = words.split_at_mut_checked(n_slot_words) else {
        *out = Decision::rejected("internal error: request buffers");
        return;
    };
    let Some((outcomes, request_memos)) = rest.split_at_mut_checked(n_outcomes) else {
        *out = Decision::rejected("internal error: request buffers");
        return;
    };
    let mut ctx = Ctx::new(
        compiled,
        &code.tables,
        store,
        request,
        literals,
        n_context,
        budget,
        scratch,
    );
    ctx.set_memos(memos);
    // `[present, payload]` per context field, then per action field, as native code reads them.
    // Two plain loops: a chain of zipped iterators over both cost some 70 instructions per
    // decision more.
    let mut k = 0;
    for values in [&request.context, &request.args] {
        for value in values {
            if let Some([present, payload]) = slots.get_mut(2 * k..2 * k + 2)
                && let Some(x) = ctx.unbox_slot(k, value)
            {
                *present = 1;
                *payload = x;
            }
            k += 1;
        }
    }
    ctx.slots = slots.as_ptr();
    ctx.outcomes = outcomes.as_mut_ptr();
    ctx.request_memos = request_memos.as_mut_ptr();
    let action_index = request.action.index();
    let status = code.run_conditions(&mut ctx, action_index);
    // The common decision: every rule's conditions held or did not, without an error, and
    // what fired needs nothing evaluated to be shown.
    if !explain
        && status == 0
        && decision::combine_settled(
            compiled,
            table,
            store,
            request,
            |ri| match outcomes.get(ri) {
                Some(0) => Some(true),
                Some(n) if *n > 0 => Some(false),
                _ => None,
            },
            out,
        )
    {
        return;
    }
    let mut parts = Native {
        code,
        store,
        request,
        ctx: &mut ctx,
        action: action_index,
        status,
        outcomes,
        next_error: 0,
    };
    decision::combine(
        compiled,
        table,
        store,
        request,
        &mut parts,
        explain,
        explanation,
        out,
    );
}

/// The compiled code's [`RuleParts`]: mode 0 of the action's function has run (outcomes and
/// errors of every rule); messages and approvers run modes 1 and 2 on demand.
struct Native<'a, 'c, 'x> {
    code: &'c Code,
    store: &'a Store,
    request: &'a Request,
    ctx: &'x mut Ctx<'a>,
    action: usize,
    /// What mode 0 returned (non-zero: the native code failed outside a rule).
    status: i64,
    outcomes: &'x [i64],
    /// The next of the errors of rules (`ctx.rule_errors`, by position in the plan, in plan
    /// order) to hand out.
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
        if self.status == 0 && outcome == 0 {
            return Ok(None);
        }
        let mut error = None;
        while let Some((r, e)) = self.ctx.rule_errors.get_mut(self.next_error) {
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

    fn holes(
        &mut self,
        ri: usize,
        planned: &'c PlannedRule,
        _rule: &'c Rule,
        parts: &'c [MessagePart],
        out: &mut Pieces<'_>,
    ) -> Result<(), EvalError> {
        let holes = || {
            parts.iter().filter_map(|p| match p {
                MessagePart::Expr(e) => Some(e),
                MessagePart::Text(_) => None,
            })
        };
        // The holes read directly, in one pass; at the first that is not, the native code
        // gives them all instead.
        if let Some(direct) = &planned.direct {
            let start = out.len();
            if direct.iter().all(|hole| {
                match decision::read_direct(hole, self.request, self.store) {
                    Some(v) => {
                        out.hole(v, &hole.ty);
                        true
                    }
                    None => false,
                }
            }) {
                return Ok(());
            }
            out.truncate(start);
        }
        let result = match self.code.run_rule(self.ctx, self.action, 1, ri) {
            0 => {
                let mut values = self.ctx.emitted.iter();
                for e in holes() {
                    out.hole(values.next().unwrap_or(&Value::Absent), &e.ty);
                }
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
        _expr: &'c Expr,
        out: &mut Pieces<'_>,
    ) -> Result<(), EvalError> {
        let result = match self.code.run_rule(self.ctx, self.action, 2, ri) {
            0 => self.ctx.emitted.iter().try_for_each(|v| out.names(v)),
            _ => Err(self.ctx.take_error()),
        };
        self.ctx.emitted.clear();
        result
    }

    fn default_approvers(
        &mut self,
        _expr: &'c Expr,
        out: &mut Pieces<'_>,
    ) -> Result<(), EvalError> {
        let result = match self.code.run_default(self.ctx) {
            0 => self.ctx.emitted.iter().try_for_each(|v| out.names(v)),
            _ => Err(self.ctx.take_error()),
        };
        self.ctx.emitted.clear();
        result
    }
}
