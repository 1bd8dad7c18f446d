//! Deciding a request with compiled code: prepares the per-decision context (request slots,
//! outcome array, entity literals of the snapshot), runs the action's native function, and
//! combines what fired exactly as `decision::evaluate` does for the interpreter (same
//! [`Decision`], same errors in the same order, same explanation). Messages and approvers are
//! evaluated by native code; only the rendering of their values is shared with the interpreter.
//! This module knows decisions and the context layout; not Cranelift.

use ward_ir::{EffectKind, MessagePart, Rule};

use super::Code;
use super::rt::Ctx;
use crate::decision::{
    self, ConditionTrace, Decision, DecisionError, Explanation, Fired, RuleTrace, render_value,
};
use crate::engine::Compiled;
use crate::interp::EvalError;
use crate::request::Request;
use crate::store::Store;
use crate::{EntityRef, Value, time};

/// Decides `request` against `store` with compiled code. `literals` must come from
/// `code.tables.resolve_literals(store)`; it is recomputed when its length does not match.
pub(crate) fn evaluate(
    compiled: &Compiled,
    code: &Code,
    literals: &[i64],
    store: &Store,
    request: &Request,
    explain: bool,
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
    let n_context = program.schema.context.len();
    let mut ctx = Ctx::new(compiled, &code.tables, store, request, literals, n_context);
    // `[present, payload]` per context field, then per action field, as native code reads them.
    let n_slots = n_context + action.fields.len();
    let mut slots = vec![0i64; 2 * n_slots];
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
    let mut outcomes = vec![0i64; plan.rules.len()];
    ctx.slots = slots.as_ptr();
    ctx.outcomes = outcomes.as_mut_ptr();
    let action_index = request.action.index();
    let status = code.run_action(&mut ctx, action_index, 0, 0);

    let mut fired = Vec::new();
    let mut errors = Vec::new();
    let mut approvers = Vec::new();
    let mut traces = Vec::new();
    let mut strongest: Option<EffectKind> = None;
    let mut rule_errors = std::mem::take(&mut ctx.rule_errors).into_iter().peekable();
    for (ri, planned) in plan.rules.iter().enumerate() {
        let Some(rule) = program.rules.get(planned.rule) else {
            continue;
        };
        let outcome = outcomes.get(ri).copied().unwrap_or(0);
        let mut error = None;
        while let Some((r, _)) = rule_errors.peek() {
            if *r != ri {
                break;
            }
            if let Some((_, e)) = rule_errors.next() {
                error = Some(e);
            }
        }
        if status != 0 && error.is_none() {
            error = Some(EvalError::new("internal error: compiled code failed"));
        }
        let (fires, condition) = match (outcome, &error) {
            (0, None) => (true, None),
            (n, None) if n > 0 => (false, Some((n - 1) as usize)),
            (n, _) => (
                rule.effect.kind != EffectKind::Allow,
                usize::try_from(-(n + 1)).ok(),
            ),
        };
        let mut trace_error = error.as_ref().map(|e| e.message.clone());
        if let Some(e) = error {
            errors.push(DecisionError {
                rule: Some(rule.name.clone()),
                message: e.message,
            });
        }
        let mut fires = fires;
        if fires {
            let message = match &rule.message {
                None => Ok(None),
                Some(m) => {
                    let result = match code.run_action(&mut ctx, action_index, 1, ri as i64) {
                        0 => Ok(Some(render(&m.parts, &ctx.emitted, compiled, store))),
                        _ => Err(ctx.take_error()),
                    };
                    ctx.emitted.clear();
                    result
                }
            };
            let message = match message {
                Ok(text) => text,
                Err(e) => {
                    errors.push(DecisionError {
                        rule: Some(rule.name.clone()),
                        message: e.message.clone(),
                    });
                    trace_error.get_or_insert_with(|| e.message.clone());
                    // Fail closed, as the interpreter: an `allow` whose message cannot be
                    // rendered does not fire.
                    fires = rule.effect.kind != EffectKind::Allow;
                    Some(format!("could not render message: {e}"))
                }
            };
            if fires {
                strongest =
                    Some(strongest.map_or(rule.effect.kind, |s| stronger(s, rule.effect.kind)));
                if rule.effect.kind == EffectKind::RequireApproval
                    && rule.effect.approvers.is_some()
                {
                    let result = match code.run_action(&mut ctx, action_index, 2, ri as i64) {
                        0 => collect_approvers(ctx.emitted.drain(..), store, &mut approvers),
                        _ => Err(ctx.take_error()),
                    };
                    ctx.emitted.clear();
                    if let Err(e) = result {
                        let message = format!("could not evaluate approvers: {e}");
                        trace_error.get_or_insert_with(|| message.clone());
                        errors.push(DecisionError {
                            rule: Some(rule.name.clone()),
                            message,
                        });
                    }
                }
                fired.push(Fired {
                    rule: rule.name.clone(),
                    effect: rule.effect.kind,
                    message,
                    location: rule.location.to_string(),
                });
            }
        }
        if explain {
            traces.push(trace(rule, fires, condition, trace_error));
        }
    }
    let decision = match strongest {
        Some(kind) => kind,
        None => {
            let default = &program.default;
            if default.kind == EffectKind::RequireApproval && default.approvers.is_some() {
                let result = match code.run_default(&mut ctx) {
                    0 => collect_approvers(ctx.emitted.drain(..), store, &mut approvers),
                    _ => Err(ctx.take_error()),
                };
                if let Err(e) = result {
                    errors.push(DecisionError {
                        rule: None,
                        message: format!("could not evaluate the default's approvers: {e}"),
                    });
                }
            }
            default.kind
        }
    };
    if decision == EffectKind::RequireApproval {
        approvers.sort_unstable();
        approvers.dedup();
    } else {
        approvers.clear();
    }
    let explanation = explain.then(|| Explanation {
        action: Some(action.name.clone()),
        at: Some(time::format_timestamp(request.at)),
        rules: traces,
        not_applicable: program.rules.len().saturating_sub(plan.rules.len()),
        default_applied: strongest.is_none(),
    });
    (
        Decision {
            decision,
            fired,
            approvers,
            errors,
        },
        explanation,
    )
}

fn trace(rule: &Rule, fires: bool, condition: Option<usize>, error: Option<String>) -> RuleTrace {
    RuleTrace {
        rule: rule.name.clone(),
        location: rule.location.to_string(),
        effect: rule.effect.kind,
        fired: fires,
        condition: condition.and_then(|i| {
            rule.conditions.get(i).map(|c| ConditionTrace {
                index: i,
                source: c.source.clone(),
                location: c.location.to_string(),
            })
        }),
        error,
    }
}

/// The stricter of two effects: deny > require approval > allow.
fn stronger(a: EffectKind, b: EffectKind) -> EffectKind {
    let rank = |k: EffectKind| match k {
        EffectKind::Allow => 0,
        EffectKind::RequireApproval => 1,
        EffectKind::Deny => 2,
    };
    if rank(b) > rank(a) { b } else { a }
}

/// Adds the approvers a value names: strings as they are, entities as their ids, sets
/// flattened (as `decision::collect_approvers`).
fn collect_approvers(
    values: impl Iterator<Item = Value>,
    store: &Store,
    out: &mut Vec<String>,
) -> Result<(), EvalError> {
    for value in values {
        let items = match &value {
            Value::Set(items) => &items[..],
            single => std::slice::from_ref(single),
        };
        for item in items {
            match item {
                Value::Str(s) => out.push(s.to_string()),
                Value::Entity(e) => out.push(entity_id(e, store)),
                _ => return Err(EvalError::new("approvers must be strings or entities")),
            }
        }
    }
    Ok(())
}

fn entity_id(e: &EntityRef, store: &Store) -> String {
    match e {
        EntityRef::Known { ty, idx } => store
            .entity_id(*ty, *idx)
            .map_or_else(String::new, |id| id.to_string()),
        EntityRef::Unknown { id, .. } => id.to_string(),
    }
}

/// The message text from its parts and the values native code emitted for its holes.
fn render(parts: &[MessagePart], emitted: &[Value], compiled: &Compiled, store: &Store) -> String {
    let mut out = String::new();
    let mut values = emitted.iter();
    for part in parts {
        match part {
            MessagePart::Text(text) => out.push_str(text),
            MessagePart::Expr(e) => {
                let v = values.next().unwrap_or(&Value::Absent);
                render_value(&mut out, v, &e.ty, &compiled.program.schema, store);
            }
        }
    }
    out
}
