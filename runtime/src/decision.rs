//! Decisions: evaluating the rules of one action for one request, combining what fired
//! (`docs/language.md` §6, decisions.md #16, #20-#23), and explaining the result.
//!
//! A [`Decision`] serializes to exactly the JSON of `docs/language.md` §9. Combining: any `deny` →
//! deny; else any `require approval` → require approval with the union of approvers; else any
//! `allow` → allow; else the program's default. Evaluation errors fail closed: a `deny` or
//! `require approval` rule with an error fires, an `allow` rule with an error does not, and the
//! decision lists the error. An [`Explanation`] records, for each rule of the action, whether it
//! fired and, if not, the first condition that was false or failed.
//!
//! This module knows the IR, values and the store; it does not parse requests or know how the
//! engine is shared between threads.

use std::fmt::Write as _;
use std::sync::Arc;

use serde::{Deserialize, Serialize};
use ward_ir::{EffectKind, Expr, MessagePart, Rule};

use crate::budget::Budget;
use crate::interp::{Env, EvalError, Evaluator};
use crate::prepared::{Compiled, PlannedRule};
use crate::render::{entity_id, render_value};
use crate::request::Request;
use crate::store::Store;
use crate::{Value, time};

/// The decision for one request (`docs/language.md` §9).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Decision {
    /// The request's own `id`, echoed (also when the request was rejected, if its `id` could
    /// be read); not serialized when the request has none.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub request_id: Option<String>,
    pub decision: EffectKind,
    /// Every rule that fired, in policy order.
    pub fired: Vec<Fired>,
    /// Sorted and deduplicated; non-empty only for `require_approval`.
    pub approvers: Vec<String>,
    pub errors: Vec<DecisionError>,
}

/// A rule that fired. The rule's name and location are shared with the engine (formatted
/// once when it is built), so a decision does not copy them; they serialize as strings.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Fired {
    #[serde(with = "shared_str")]
    pub rule: Arc<str>,
    pub effect: EffectKind,
    /// The rendered `because` message; `null` when the rule has none.
    pub message: Option<String>,
    /// `path:line:col` of the `rule` keyword.
    #[serde(with = "shared_str")]
    pub location: Arc<str>,
    /// For a `require_approval` rule, the approvers it names (sorted and deduplicated; empty
    /// when it names none or they could not be evaluated), also when another rule's `deny`
    /// decided. `None`, and not serialized, for the other effects.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub approvers: Option<Vec<String>>,
}

/// Serde for `Arc<str>` as a plain string (without serde's `rc` feature).
mod shared_str {
    use std::sync::Arc;

    use serde::{Deserialize, Deserializer, Serializer};

    pub(super) fn serialize<S: Serializer>(s: &Arc<str>, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(s)
    }

    pub(super) fn deserialize<'de, D: Deserializer<'de>>(
        deserializer: D,
    ) -> Result<Arc<str>, D::Error> {
        String::deserialize(deserializer).map(Arc::from)
    }
}

/// An evaluation error of a rule (or of the default), or a request-validation error
/// (`rule: null`).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct DecisionError {
    pub rule: Option<String>,
    pub message: String,
}

impl Decision {
    /// The decision for a request that could not be decided: `deny` with the error and no
    /// fired rule (decisions.md #23).
    pub fn rejected(message: impl Into<String>) -> Decision {
        Decision {
            request_id: None,
            decision: EffectKind::Deny,
            fired: Vec::new(),
            approvers: Vec::new(),
            errors: vec![DecisionError {
                rule: None,
                message: message.into(),
            }],
        }
    }

    /// The same decision, answering the request with this `id`.
    pub fn with_request_id(mut self, id: Option<String>) -> Decision {
        self.request_id = id;
        self
    }

    /// Whether the rule `fired` decided the outcome: it fired with the decision's effect.
    pub fn decided_by(&self, fired: &Fired) -> bool {
        fired.effect == self.decision
    }
}

/// Why a decision came out as it did: every rule that applies to the action, in policy order.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Explanation {
    /// The requested action; `None` when the request did not validate.
    pub action: Option<String>,
    /// The request's time (RFC 3339); `None` when the request did not validate.
    pub at: Option<String>,
    /// The rules whose `on` lists the action.
    pub rules: Vec<RuleTrace>,
    /// How many rules do not apply to the action.
    pub not_applicable: usize,
    /// Whether the program's default decided (no rule fired).
    pub default_applied: bool,
}

/// What happened to one rule.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct RuleTrace {
    pub rule: String,
    pub location: String,
    pub effect: EffectKind,
    pub fired: bool,
    /// For a rule that did not fire: the first condition that was false. For an error: the
    /// condition that failed (absent when the approvers or the message failed).
    pub condition: Option<ConditionTrace>,
    /// The evaluation error, if any.
    pub error: Option<String>,
}

/// A `when` condition, as written.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ConditionTrace {
    /// 0-based position among the rule's conditions.
    pub index: usize,
    pub source: String,
    pub location: String,
}

/// A readable trace of a decision, for `ward eval --explain`: the decision, the rules of the
/// action in policy order (those that decided the outcome marked `decides`), each fired rule's
/// message and, for an approval rule, its approvers (also when a `deny` decided), the first
/// false or failing condition of the others, and the errors.
pub fn render_explanation(decision: &Decision, explanation: &Explanation) -> String {
    let mut out = String::new();
    let _ = writeln!(out, "decision: {}", decision.decision.as_str());
    if !decision.approvers.is_empty() {
        let _ = writeln!(out, "approvers: {}", decision.approvers.join(", "));
    }
    if let Some(id) = &decision.request_id {
        let _ = writeln!(out, "request: {id}");
    }
    match (&explanation.action, &explanation.at) {
        (Some(action), at) => {
            let _ = write!(out, "action `{action}`");
            if let Some(at) = at {
                let _ = write!(out, " at {at}");
            }
            let n = explanation.rules.len();
            let fired = explanation.rules.iter().filter(|t| t.fired).count();
            let _ = writeln!(
                out,
                "\n{n} {} of `{action}`: {fired} fired",
                plural(n, "rule", "rules")
            );
        }
        (None, _) => {
            let _ = writeln!(out, "the request did not validate; no rule was evaluated");
        }
    }
    for trace in &explanation.rules {
        let fired = decision.fired.iter().find(|f| *f.rule == *trace.rule);
        let decides = trace.fired && fired.is_some_and(|f| decision.decided_by(f));
        let status = match (trace.fired, trace.error.is_some(), decides) {
            (true, false, false) => "fired",
            (true, false, true) => "fired, decides",
            (true, true, false) => "fired (error)",
            (true, true, true) => "fired (error), decides",
            (false, true, _) => "not fired (error)",
            (false, false, _) => "not fired",
        };
        let _ = writeln!(
            out,
            "  {status:<22} {} ({}) at {}",
            trace.rule,
            trace.effect.as_str(),
            trace.location
        );
        if let Some(fired) = fired {
            if let Some(message) = &fired.message {
                let _ = writeln!(out, "      because: {message}");
            }
            if let Some(approvers) = &fired.approvers {
                let names = if approvers.is_empty() {
                    "(none)".to_string()
                } else {
                    approvers.join(", ")
                };
                let _ = writeln!(out, "      approvers: {names}");
            }
        }
        if let Some(c) = &trace.condition {
            let verb = if trace.error.is_some() {
                "failed"
            } else {
                "was false"
            };
            let _ = writeln!(
                out,
                "      condition {} {verb}: `{}` at {}",
                c.index + 1,
                c.source,
                c.location
            );
        }
        if let Some(error) = &trace.error {
            let _ = writeln!(out, "      error: {error}");
        }
    }
    if explanation.default_applied {
        let _ = writeln!(
            out,
            "no rule fired: the default ({}) applies",
            decision.decision.as_str()
        );
    }
    if !decision.errors.is_empty() {
        let _ = writeln!(out, "errors:");
        for e in &decision.errors {
            match &e.rule {
                Some(rule) => {
                    let _ = writeln!(out, "  in rule `{rule}`: {}", e.message);
                }
                None => {
                    let _ = writeln!(out, "  {}", e.message);
                }
            }
        }
    }
    out
}

fn plural<'s>(n: usize, one: &'s str, many: &'s str) -> &'s str {
    if n == 1 { one } else { many }
}

/// How an engine evaluates the parts of the rules of one action for one request; [`combine`]
/// does the rest (fail-closed errors, combining, approvers, explanation) identically for every
/// engine. `'c` is the lifetime of the compiled program.
///
/// An engine evaluates the conditions of every rule of the action, in policy order, before any
/// message or approvers (then asked for in policy order, message before approvers): both
/// engines spend a decision's evaluation budget in that order, so they run out at the same
/// point.
pub(crate) trait RuleParts<'c> {
    /// The `when` conditions of the rule at position `ri` of the action's plan: `Ok(None)` when
    /// all hold, `Ok(Some(i))` when condition `i` is the first false one, `Err((i, e))` when it
    /// failed (`i` is `None` when the failure is not one condition's).
    fn conditions(
        &mut self,
        ri: usize,
        planned: &'c PlannedRule,
        rule: &'c Rule,
    ) -> Result<Option<usize>, (Option<usize>, EvalError)>;

    /// Appends the rendered `because` message of the rule at position `ri` to `out` (called
    /// after its conditions).
    fn message(
        &mut self,
        ri: usize,
        planned: &'c PlannedRule,
        rule: &'c Rule,
        parts: &'c [MessagePart],
        out: &mut String,
    ) -> Result<(), EvalError>;

    /// Adds the approvers of the rule at position `ri` to `out` (called after its message).
    fn approvers(
        &mut self,
        ri: usize,
        planned: &'c PlannedRule,
        rule: &'c Rule,
        expr: &'c Expr,
        out: &mut Vec<String>,
    ) -> Result<(), EvalError>;

    /// Adds the approvers of the program's default to `out`.
    fn default_approvers(&mut self, expr: &'c Expr, out: &mut Vec<String>)
    -> Result<(), EvalError>;
}

/// Decide `request` against `store` with the interpreter, recording an explanation when
/// `explain` is set.
pub(crate) fn evaluate(
    compiled: &Compiled,
    store: &Store,
    request: &Request,
    explain: bool,
    budget: Budget,
) -> (Decision, Option<Explanation>) {
    let program = &compiled.program;
    let env = Env {
        program,
        store,
        windows: &compiled.windows,
        regexes: &compiled.regexes,
        timezones: &compiled.timezones,
        request,
    };
    let mut ev = Evaluator::new(env, &[], 0);
    ev.set_budget(budget);
    // The conditions of every rule first, in policy order, then (from `combine`) the messages
    // and approvers of the rules that fired: the order the compiled code evaluates in, so that
    // both engines spend a decision's budget identically.
    let plan = compiled.actions.get(request.action.index());
    let outcomes = plan
        .map(|plan| {
            plan.rules
                .iter()
                .map(|planned| {
                    let rule = program.rules.get(planned.rule)?;
                    ev.reset(&planned.args, rule.n_locals);
                    Some(conditions(&mut ev, rule).map_err(|(i, e)| (Some(i), e)))
                })
                .collect()
        })
        .unwrap_or_default();
    let mut parts = Interpreted {
        ev,
        compiled,
        store,
        outcomes,
    };
    combine(compiled, request, &mut parts, explain)
}

/// What the conditions of a rule gave: all held, the first false one, or a failure.
type Outcome = Result<Option<usize>, (Option<usize>, EvalError)>;

/// The interpreter's [`RuleParts`]: walks the IR.
struct Interpreted<'a> {
    ev: Evaluator<'a>,
    compiled: &'a Compiled,
    store: &'a Store,
    /// Per planned rule of the action, its conditions' outcome (taken by `conditions`).
    outcomes: Vec<Option<Outcome>>,
}

impl<'a> RuleParts<'a> for Interpreted<'a> {
    fn conditions(
        &mut self,
        ri: usize,
        planned: &'a PlannedRule,
        rule: &'a Rule,
    ) -> Result<Option<usize>, (Option<usize>, EvalError)> {
        match self.outcomes.get_mut(ri).and_then(Option::take) {
            Some(outcome) => outcome,
            None => {
                self.ev.reset(&planned.args, rule.n_locals);
                conditions(&mut self.ev, rule).map_err(|(i, e)| (Some(i), e))
            }
        }
    }

    fn message(
        &mut self,
        _ri: usize,
        planned: &'a PlannedRule,
        rule: &'a Rule,
        parts: &'a [MessagePart],
        out: &mut String,
    ) -> Result<(), EvalError> {
        self.ev.reset(&planned.args, rule.n_locals);
        for part in parts {
            match part {
                MessagePart::Text(text) => out.push_str(text),
                MessagePart::Expr(e) => {
                    let v = self.ev.eval(e)?;
                    render_value(out, &v, &e.ty, &self.compiled.program.schema, self.store);
                }
            }
        }
        Ok(())
    }

    fn approvers(
        &mut self,
        _ri: usize,
        planned: &'a PlannedRule,
        rule: &'a Rule,
        expr: &'a Expr,
        out: &mut Vec<String>,
    ) -> Result<(), EvalError> {
        self.ev.reset(&planned.args, rule.n_locals);
        let value = self.ev.eval(expr)?;
        collect_approvers(std::iter::once(value), self.store, out)
    }

    fn default_approvers(
        &mut self,
        expr: &'a Expr,
        out: &mut Vec<String>,
    ) -> Result<(), EvalError> {
        self.ev.reset(&[], self.compiled.default_locals);
        let value = self.ev.eval(expr)?;
        collect_approvers(std::iter::once(value), self.store, out)
    }
}

/// Decides `request` from the rule parts an engine evaluates: `docs/language.md` §6 and
/// decisions.md #16, #20-#23 (fail closed), in policy order, with the explanation when
/// `explain` is set.
pub(crate) fn combine<'c>(
    compiled: &'c Compiled,
    request: &Request,
    parts: &mut impl RuleParts<'c>,
    explain: bool,
) -> (Decision, Option<Explanation>) {
    let program = &compiled.program;
    let Some(plan) = compiled.actions.get(request.action.index()) else {
        let decision = Decision::rejected(format!("unknown action {}", request.action.0));
        return (decision, explain.then(rejected_explanation));
    };
    let mut fired = Vec::new();
    let mut errors = Vec::new();
    let mut approvers = Vec::new();
    let mut traces = Vec::new();
    let mut strongest: Option<EffectKind> = None;
    for (ri, planned) in plan.rules.iter().enumerate() {
        let (Some(rule), Some(strings)) = (
            program.rules.get(planned.rule),
            compiled.rule_strings.get(planned.rule),
        ) else {
            continue;
        };
        let (fires, error, condition) = match parts.conditions(ri, planned, rule) {
            // The common case: a rule that does not fire leaves no trace in a decision.
            Ok(Some(_)) if !explain => continue,
            Ok(None) => (true, None, None),
            Ok(Some(false_at)) => (false, None, Some(false_at)),
            Err((at, e)) => (rule.effect.kind != EffectKind::Allow, Some(e), at),
        };
        let mut trace_error = match (&error, explain) {
            (Some(e), true) => Some(e.message.clone()),
            _ => None,
        };
        // The error of the conditions, so that the same error met again by the message (an
        // attribute read in both, say) is listed once.
        let mut condition_error = None;
        if let Some(e) = error {
            errors.push(DecisionError {
                rule: Some(strings.name.to_string()),
                message: e.message.clone(),
            });
            condition_error = Some(e.message);
        }
        let mut fires = fires;
        if fires {
            let message = match &rule.message {
                None => None,
                Some(m) => {
                    let mut text = String::with_capacity(strings.message_capacity);
                    match parts.message(ri, planned, rule, &m.parts, &mut text) {
                        Ok(()) => Some(text),
                        Err(e) => {
                            if explain {
                                trace_error.get_or_insert_with(|| e.message.clone());
                            }
                            let text = format!("could not render message: {e}");
                            if condition_error.as_deref() != Some(e.message.as_str()) {
                                errors.push(DecisionError {
                                    rule: Some(strings.name.to_string()),
                                    message: e.message,
                                });
                            }
                            // Fail closed: an error can only make the decision stricter, so an
                            // `allow` whose message cannot be rendered does not fire.
                            fires = rule.effect.kind != EffectKind::Allow;
                            Some(text)
                        }
                    }
                }
            };
            if fires {
                strongest =
                    Some(strongest.map_or(rule.effect.kind, |s| stronger(s, rule.effect.kind)));
                let mut own = None;
                if rule.effect.kind == EffectKind::RequireApproval {
                    let mut names = Vec::new();
                    if let Some(expr) = &rule.effect.approvers
                        && let Err(e) = parts.approvers(ri, planned, rule, expr, &mut names)
                    {
                        // The rule fires without the approvers it could not name.
                        names.clear();
                        let message = format!("could not evaluate approvers: {e}");
                        if explain {
                            trace_error.get_or_insert_with(|| message.clone());
                        }
                        errors.push(DecisionError {
                            rule: Some(strings.name.to_string()),
                            message,
                        });
                    }
                    approvers.extend(names.iter().cloned());
                    names.sort_unstable();
                    names.dedup();
                    own = Some(names);
                }
                fired.push(Fired {
                    rule: Arc::clone(&strings.name),
                    effect: rule.effect.kind,
                    message,
                    location: Arc::clone(&strings.location),
                    approvers: own,
                });
            }
        }
        if explain {
            traces.push(RuleTrace {
                rule: strings.name.to_string(),
                location: strings.location.to_string(),
                effect: rule.effect.kind,
                fired: fires,
                condition: condition.and_then(|i| {
                    rule.conditions.get(i).map(|c| ConditionTrace {
                        index: i,
                        source: c.source.clone(),
                        location: c.location.to_string(),
                    })
                }),
                error: trace_error,
            });
        }
    }
    let decision = match strongest {
        Some(kind) => kind,
        None => {
            let default = &program.default;
            if default.kind == EffectKind::RequireApproval
                && let Some(expr) = &default.approvers
                && let Err(e) = parts.default_approvers(expr, &mut approvers)
            {
                errors.push(DecisionError {
                    rule: None,
                    message: format!("could not evaluate the default's approvers: {e}"),
                });
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
        action: program
            .schema
            .actions
            .get(request.action.index())
            .map(|a| a.name.clone()),
        at: Some(time::format_timestamp(request.at)),
        rules: traces,
        not_applicable: program.rules.len().saturating_sub(plan.rules.len()),
        default_applied: strongest.is_none(),
    });
    (
        Decision {
            request_id: request.id.clone(),
            decision,
            fired,
            approvers,
            errors,
        },
        explanation,
    )
}

/// An explanation for a request that did not validate.
pub(crate) fn rejected_explanation() -> Explanation {
    Explanation {
        action: None,
        at: None,
        rules: Vec::new(),
        not_applicable: 0,
        default_applied: false,
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

/// Evaluates the conditions in order: `Ok(None)` when all hold, `Ok(Some(i))` when condition
/// `i` is the first false one, `Err((i, e))` when condition `i` failed.
fn conditions(ev: &mut Evaluator<'_>, rule: &Rule) -> Result<Option<usize>, (usize, EvalError)> {
    for (i, c) in rule.conditions.iter().enumerate() {
        match ev.eval_bool(&c.expr) {
            Ok(true) => {}
            Ok(false) => return Ok(Some(i)),
            Err(e) => return Err((i, e)),
        }
    }
    Ok(None)
}

/// Adds the approvers values name: strings as they are, entities as their ids, sets
/// flattened.
pub(crate) fn collect_approvers(
    values: impl IntoIterator<Item = Value>,
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
                Value::Entity(e) => out.push(entity_id(e, store).to_string()),
                _ => return Err(EvalError::new("approvers must be strings or entities")),
            }
        }
    }
    Ok(())
}
