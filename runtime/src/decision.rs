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

mod fired;
mod settled;

use std::fmt::Write as _;
use std::sync::Arc;

use serde::{Deserialize, Serialize};
use ward_ir::{EffectKind, Expr, MessagePart, Rule, Schema, Type};

pub(crate) use fired::{Body, Entry, Message, Piece, RuleTable, Span, Text};
pub use fired::{Fired, FiredRules, Names};
pub(crate) use settled::{Settlements, combine_settled};

use crate::budget::Budget;
use crate::interp::{Env, EvalError, Evaluator};
use crate::prepared::{Compiled, DirectHole, PlannedRule, RequestField};
use crate::render::render_value;
use crate::request::Request;
use crate::store::Store;
use crate::{EntityRef, Value, time};

/// The decision for one request (`docs/language.md` §9).
///
/// The rules that fired and the approvers are read through [`Decision::fired`] and
/// [`Decision::approvers`]; a fired rule's message is rendered from the values of its holes
/// when it is read (or the decision serialized), so deciding does not format text nobody
/// reads. Serialized, a decision is `{"request_id"?, "decision", "fired", "approvers",
/// "errors"}` exactly as §9 writes it.
#[derive(Clone)]
pub struct Decision {
    /// The request's own `id`, echoed (also when the request was rejected, if its `id` could
    /// be read); not serialized when the request has none.
    pub request_id: Option<String>,
    pub decision: EffectKind,
    pub errors: Vec<DecisionError>,
    /// The fired rules, their messages' holes and the approvers.
    body: Body,
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
            errors: vec![DecisionError {
                rule: None,
                message: message.into(),
            }],
            body: Body::default(),
        }
    }

    /// A `deny` with nothing fired: the place an engine decides into (it is overwritten).
    pub(crate) fn pending() -> Decision {
        Decision {
            request_id: None,
            decision: EffectKind::Deny,
            errors: Vec::new(),
            body: Body::default(),
        }
    }

    /// The same decision, answering the request with this `id`.
    pub fn with_request_id(mut self, id: Option<String>) -> Decision {
        self.request_id = id;
        self
    }

    /// Every rule that fired, in policy order.
    pub fn fired(&self) -> FiredRules<'_> {
        FiredRules::new(&self.body)
    }

    /// The approvers: sorted and distinct; non-empty only for `require_approval`.
    pub fn approvers(&self) -> Names<'_> {
        Names::decision(&self.body)
    }

    /// Empties the decision's approvers (for an embedding that changes the decision, as
    /// `ward serve` does when an approval is used); the fired rules keep their own.
    pub fn clear_approvers(&mut self) {
        self.body.approvers = Span::default();
    }

    /// Whether the rule `fired` decided the outcome: it fired with the decision's effect.
    pub fn decided_by(&self, fired: &Fired<'_>) -> bool {
        fired.effect() == self.decision
    }
}

/// Equal when their JSON is: the same fields, messages compared as rendered.
impl PartialEq for Decision {
    fn eq(&self, other: &Decision) -> bool {
        self.request_id == other.request_id
            && self.decision == other.decision
            && self.errors == other.errors
            && self.fired() == other.fired()
            && self.approvers() == other.approvers()
    }
}

impl Eq for Decision {}

impl std::fmt::Debug for Decision {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Decision")
            .field("request_id", &self.request_id)
            .field("decision", &self.decision)
            .field("fired", &self.fired())
            .field("approvers", &self.approvers())
            .field("errors", &self.errors)
            .finish()
    }
}

impl Serialize for Decision {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        use serde::ser::SerializeMap;
        let n = 4 + usize::from(self.request_id.is_some());
        let mut map = serializer.serialize_map(Some(n))?;
        if let Some(id) = &self.request_id {
            map.serialize_entry("request_id", id)?;
        }
        map.serialize_entry("decision", &self.decision)?;
        map.serialize_entry("fired", &self.fired())?;
        map.serialize_entry("approvers", &self.approvers())?;
        map.serialize_entry("errors", &self.errors)?;
        map.end()
    }
}

/// A decision as JSON has it (what [`Decision`]'s `Deserialize` reads).
#[derive(Deserialize)]
struct DecisionDoc {
    #[serde(default)]
    request_id: Option<String>,
    decision: EffectKind,
    fired: Vec<FiredDoc>,
    approvers: Vec<String>,
    errors: Vec<DecisionError>,
}

#[derive(Deserialize)]
struct FiredDoc {
    rule: String,
    effect: EffectKind,
    message: Option<String>,
    location: String,
    #[serde(default)]
    approvers: Option<Vec<String>>,
}

impl<'de> Deserialize<'de> for Decision {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Decision, D::Error> {
        let doc = DecisionDoc::deserialize(deserializer)?;
        let fired = doc
            .fired
            .into_iter()
            .map(|f| (f.rule, f.effect, f.message, f.location, f.approvers))
            .collect();
        Ok(Decision {
            request_id: doc.request_id,
            decision: doc.decision,
            errors: doc.errors,
            body: Body::from_parts(fired, doc.approvers),
        })
    }
}

/// Where the engines put the values of message holes and approvers: the decision's pieces,
/// each value kept as a message renders it (entities as their ids, sets as their text).
pub(crate) struct Pieces<'b> {
    body: &'b mut Body,
    store: &'b Store,
    schema: &'b Schema,
}

impl Pieces<'_> {
    /// How many pieces the decision has so far.
    pub(crate) fn len(&self) -> usize {
        self.body.pieces.len()
    }

    /// Drops the pieces after the first `len`.
    pub(crate) fn truncate(&mut self, len: usize) {
        self.body.pieces.truncate(len);
    }

    /// The value of a hole of static type `ty`.
    pub(crate) fn hole(&mut self, value: &Value, ty: &Type) {
        let piece = self.piece(value, ty);
        self.body.pieces.push(piece);
    }

    fn piece(&self, value: &Value, ty: &Type) -> Piece {
        match value {
            Value::Absent => Piece::Absent,
            Value::Bool(b) => Piece::Bool(*b),
            Value::Int(n) => Piece::Int(*n),
            Value::Enum(v) => Piece::Enum(*v),
            Value::Str(s) => Piece::Text(Text::share(s)),
            Value::Entity(EntityRef::Known { ty, idx }) => match self.store.entity_id(*ty, *idx) {
                Some(id) => Piece::Text(Text::share(id)),
                None => Piece::Text(Text::copy("")),
            },
            Value::Entity(EntityRef::Unknown { id, .. }) => Piece::Text(Text::share(id)),
            Value::Set(_) => {
                let mut text = String::new();
                render_value(&mut text, value, ty, self.schema, self.store);
                Piece::Text(Text::owned(text))
            }
        }
    }

    /// Adds the approvers a value names: strings as they are, entities as their ids, sets
    /// flattened.
    pub(crate) fn names(&mut self, value: &Value) -> Result<(), EvalError> {
        let items = match value {
            Value::Set(items) => &items[..],
            single => std::slice::from_ref(single),
        };
        for item in items {
            match item {
                Value::Str(_) | Value::Entity(_) => {
                    let piece = self.piece(item, &Type::String);
                    self.body.pieces.push(piece);
                    self.body.push_piece_name(self.body.pieces.len() - 1);
                }
                _ => return Err(EvalError::new("approvers must be strings or entities")),
            }
        }
        Ok(())
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
    if !decision.approvers().is_empty() {
        let _ = writeln!(out, "approvers: {}", decision.approvers().join(", "));
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
        let fired = decision.fired().iter().find(|f| f.rule() == trace.rule);
        let decides = trace.fired && fired.is_some_and(|f| decision.decided_by(&f));
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
            if let Some(message) = fired.message() {
                let _ = writeln!(out, "      because: {message}");
            }
            if let Some(approvers) = fired.approvers() {
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
/// point. Approvers written as string literals are not asked for: they cost nothing and cannot
/// fail, and the rule table has them.
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

    /// Adds the values of the holes of the `because` message of the rule at position `ri` to
    /// `out`, in order (called after its conditions).
    fn holes(
        &mut self,
        ri: usize,
        planned: &'c PlannedRule,
        rule: &'c Rule,
        parts: &'c [MessagePart],
        out: &mut Pieces<'_>,
    ) -> Result<(), EvalError>;

    /// Adds the approvers of the rule at position `ri` to `out` (called after its message).
    fn approvers(
        &mut self,
        ri: usize,
        planned: &'c PlannedRule,
        rule: &'c Rule,
        expr: &'c Expr,
        out: &mut Pieces<'_>,
    ) -> Result<(), EvalError>;

    /// Adds the approvers of the program's default to `out`.
    fn default_approvers(&mut self, expr: &'c Expr, out: &mut Pieces<'_>) -> Result<(), EvalError>;
}

/// Decide `request` against `store` with the interpreter into `out`, recording an explanation
/// in `explanation` when `explain` is set. The decision shows the rules through `table` (the
/// program's, or a copy).
#[allow(clippy::too_many_arguments)]
pub(crate) fn evaluate(
    compiled: &Compiled,
    table: &Arc<RuleTable>,
    store: &Store,
    request: &Request,
    explain: bool,
    explanation: &mut Option<Explanation>,
    budget: Budget,
    out: &mut Decision,
) {
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
        outcomes,
    };
    combine(
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

/// What the conditions of a rule gave: all held, the first false one, or a failure.
type Outcome = Result<Option<usize>, (Option<usize>, EvalError)>;

/// The interpreter's [`RuleParts`]: walks the IR.
struct Interpreted<'a> {
    ev: Evaluator<'a>,
    compiled: &'a Compiled,
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

    fn holes(
        &mut self,
        _ri: usize,
        planned: &'a PlannedRule,
        rule: &'a Rule,
        parts: &'a [MessagePart],
        out: &mut Pieces<'_>,
    ) -> Result<(), EvalError> {
        self.ev.reset(&planned.args, rule.n_locals);
        for part in parts {
            if let MessagePart::Expr(e) = part {
                let v = self.ev.eval(e)?;
                out.hole(&v, &e.ty);
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
        out: &mut Pieces<'_>,
    ) -> Result<(), EvalError> {
        self.ev.reset(&planned.args, rule.n_locals);
        let value = self.ev.eval(expr)?;
        out.names(&value)
    }

    fn default_approvers(&mut self, expr: &'a Expr, out: &mut Pieces<'_>) -> Result<(), EvalError> {
        self.ev.reset(&[], self.compiled.default_locals);
        let value = self.ev.eval(expr)?;
        out.names(&value)
    }
}

/// Decides `request` from the rule parts an engine evaluates, into `out` (whatever it held is
/// replaced): `docs/language.md` §6 and decisions.md #16, #20-#23 (fail closed), in policy
/// order, with the explanation when `explain` is set. The decision is built where the caller
/// keeps it: a decision is some 300 bytes, and returning it by value through the engine's
/// layers copied it five times per decision.
#[allow(clippy::too_many_arguments)]
#[inline]
pub(crate) fn combine<'c>(
    compiled: &'c Compiled,
    table: &Arc<RuleTable>,
    store: &Store,
    request: &Request,
    parts: &mut impl RuleParts<'c>,
    explain: bool,
    explanation: &mut Option<Explanation>,
    out: &mut Decision,
) {
    let program = &compiled.program;
    let Some(plan) = compiled.actions.get(request.action.index()) else {
        if explain {
            *explanation = Some(rejected_explanation());
        }
        *out = Decision::rejected(format!("unknown action {}", request.action.0));
        return;
    };
    // Emptied field by field: assigning a whole new decision built it aside and copied it.
    out.request_id.clone_from(&request.id);
    out.decision = EffectKind::Deny;
    out.errors.clear();
    out.body.clear_keeping_table();
    let decided = out;
    let body = &mut decided.body;
    let errors = &mut decided.errors;
    let mut traces = Vec::new();
    let mut strongest: Option<EffectKind> = None;
    for (ri, planned) in plan.rules.iter().enumerate() {
        let (Some(rule), Some(text)) = (
            program.rules.get(planned.rule),
            table.rules.get(planned.rule),
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
                rule: Some(text.name.to_string()),
                message: e.message.clone(),
            });
            condition_error = Some(e.message);
        }
        let mut fires = fires;
        if fires {
            let message = match &rule.message {
                None => Message::None,
                Some(m) => {
                    let start = body.pieces.len();
                    let mut out = Pieces {
                        body: &mut *body,
                        store,
                        schema: &program.schema,
                    };
                    match parts.holes(ri, planned, rule, &m.parts, &mut out) {
                        Ok(()) => Message::Holes(Span::new(start, body.pieces.len())),
                        Err(e) => {
                            body.pieces.truncate(start);
                            if explain {
                                trace_error.get_or_insert_with(|| e.message.clone());
                            }
                            let text = format!("could not render message: {e}");
                            if condition_error.as_deref() != Some(e.message.as_str()) {
                                errors.push(DecisionError {
                                    rule: Some(text_name(table, planned.rule)),
                                    message: e.message,
                                });
                            }
                            // Fail closed: an error can only make the decision stricter, so an
                            // `allow` whose message cannot be rendered does not fire.
                            fires = rule.effect.kind != EffectKind::Allow;
                            body.pieces.push(Piece::Text(Text::owned(text)));
                            Message::Text(u32::try_from(start).unwrap_or(u32::MAX))
                        }
                    }
                }
            };
            if fires {
                strongest =
                    Some(strongest.map_or(rule.effect.kind, |s| stronger(s, rule.effect.kind)));
                let mut own = None;
                if rule.effect.kind == EffectKind::RequireApproval {
                    let start = body.names.len();
                    match (&text.literal_approvers, &rule.effect.approvers) {
                        (Some(literals), _) => {
                            body.push_literal_names(literals);
                        }
                        (None, Some(expr)) => {
                            let pieces = body.pieces.len();
                            let mut out = Pieces {
                                body: &mut *body,
                                store,
                                schema: &program.schema,
                            };
                            if let Err(e) = parts.approvers(ri, planned, rule, expr, &mut out) {
                                // The rule fires without the approvers it could not name.
                                body.names.truncate(start);
                                body.pieces.truncate(pieces);
                                let message = format!("could not evaluate approvers: {e}");
                                if explain {
                                    trace_error.get_or_insert_with(|| message.clone());
                                }
                                errors.push(DecisionError {
                                    rule: Some(text_name(table, planned.rule)),
                                    message,
                                });
                            }
                            body.sort_names_from(table, start);
                        }
                        (None, None) => {}
                    }
                    own = Some(Span::new(start, body.names.len()));
                }
                body.fired.push(Entry {
                    rule: u32::try_from(planned.rule).unwrap_or(u32::MAX),
                    message,
                    approvers: own,
                });
            }
        }
        if explain {
            traces.push(RuleTrace {
                rule: text.name.to_string(),
                location: text.location.to_string(),
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
    // The default's approvers, when it decides.
    let default_start = body.names.len();
    let decision = match strongest {
        Some(kind) => kind,
        None => {
            let default = &program.default;
            if default.kind == EffectKind::RequireApproval
                && let Some(expr) = &default.approvers
            {
                let mut out = Pieces {
                    body: &mut *body,
                    store,
                    schema: &program.schema,
                };
                if let Err(e) = parts.default_approvers(expr, &mut out) {
                    errors.push(DecisionError {
                        rule: None,
                        message: format!("could not evaluate the default's approvers: {e}"),
                    });
                }
            }
            default.kind
        }
    };
    approvers_of(body, table, decision, default_start);
    if explain {
        *explanation = Some(Explanation {
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
    }
    decided.decision = decision;
}

/// The decision's approvers once every rule has been combined into `body` (the default's own
/// from `default_start` on), and the table `body` shows its rules through.
fn approvers_of(
    body: &mut Body,
    table: &Arc<RuleTable>,
    decision: EffectKind,
    default_start: usize,
) {
    if decision == EffectKind::RequireApproval {
        let mut own_spans = body.fired.iter().filter_map(|entry| entry.approvers);
        let only_span = match (own_spans.next(), own_spans.next()) {
            (Some(span), None) if default_start == body.names.len() => Some(span),
            _ => None,
        };
        if let Some(span) = only_span {
            // One rule named approvers (and the default none): its own list, sorted and
            // distinct, is the union.
            body.approvers = span;
        } else {
            // The union of the approval rules' own approvers (and the default's), sorted.
            let start = body.names.len();
            let mut all: smallvec::SmallVec<[u32; 8]> = smallvec::SmallVec::new();
            for entry in &body.fired {
                if let Some(span) = entry.approvers {
                    all.extend_from_slice(span.of(&body.names));
                }
            }
            all.extend_from_slice(body.names.get(default_start..start).unwrap_or_default());
            body.names.extend(all);
            body.sort_names_from(table, start);
            body.approvers = Span::new(start, body.names.len());
        }
    }
    body.show_with(table);
}

/// The value of a hole that reads directly ([`DirectHole`]): the request field, or its
/// entity's attribute. `None` when the field is not there or not an entity the store holds,
/// or the store has no such attribute: the hole is then evaluated as any other.
#[inline]
pub(crate) fn read_direct<'r>(
    hole: &DirectHole,
    request: &'r Request,
    store: &'r Store,
) -> Option<&'r Value> {
    let value = match hole.field {
        RequestField::Context(i) => request.context.get(i as usize),
        RequestField::Arg(k) => request.args.get(k as usize),
    }?;
    match hole.attr {
        None => Some(value),
        Some(attr) => match value {
            Value::Entity(EntityRef::Known { ty, idx }) => store.attr(*ty, *idx, attr),
            _ => None,
        },
    }
}

/// The name of rule `r` as a decision's error names it.
fn text_name(table: &RuleTable, r: usize) -> String {
    table
        .rules
        .get(r)
        .map_or_else(String::new, |t| t.name.to_string())
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
