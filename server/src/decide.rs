//! Deciding one request document: the caller's `approval` is taken out (its `id` stays: the
//! runtime validates it and echoes it as `request_id`), `at` is the server's clock (or the
//! caller's, within `--max-skew`; always the server's for a resume), the serving version
//! decides, the shadow version decides beside it, approvals are applied
//! ([`crate::workflow::on_decision`]), and the result becomes both the response document and
//! the decision log line.
//!
//! Every path out of here is a decision document; a request that cannot be decided is a
//! `deny` with the reason in `errors`, never anything that reads as allow. This module knows
//! the decision document and the log line; the HTTP plumbing is in `routes`.

use std::sync::Arc;

use serde::Serialize;
use serde_json::Value as Json;
use ward_log::{Kind, Record};

use crate::approvals::ApprovalRef;
use crate::auth::Principal;
use crate::metrics::NO_ACTION;
use crate::policy::{
    self, Decision, DecisionError, EffectKind, Explanation, FiredRules, Names, Version,
};
use crate::state::AppState;

/// The longest approval id a request may claim, in bytes.
pub const MAX_APPROVAL_ID: usize = 256;

/// A decision ready to be logged and answered.
#[derive(Debug)]
pub struct Decided {
    pub status: u16,
    pub id: String,
    /// The response document.
    pub body: Vec<u8>,
    /// The log line; `Err` if it could not be built (the request is then refused).
    pub record: Result<Record, ward_log::LogError>,
    /// For the metrics: the action's name, or [`NO_ACTION`].
    pub action: String,
    pub outcome: EffectKind,
}

/// The response document of one decision (field order as documented).
#[derive(Serialize)]
struct DecisionDoc<'a> {
    id: &'a str,
    #[serde(skip_serializing_if = "Option::is_none")]
    request_id: Option<&'a str>,
    decision: EffectKind,
    fired: FiredRules<'a>,
    approvers: Names<'a>,
    errors: &'a [DecisionError],
    policy: &'a str,
    estate: &'a str,
    at: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    approval: Option<&'a ApprovalRef>,
    #[serde(skip_serializing_if = "Option::is_none")]
    explanation: Option<&'a Explanation>,
}

#[derive(Serialize)]
struct ShadowLine<'a> {
    policy: &'a str,
    estate: &'a str,
    decision: &'a Decision,
}

/// What the request said about itself, beyond the request proper.
struct Taken {
    approval: Option<String>,
}

/// The parts of a decision that go into both the response and the log line.
struct Parts<'a> {
    state: &'a AppState,
    principal: Option<&'a Principal>,
    version: &'a Version,
    id: String,
    received_ms: i64,
    status: u16,
    request_id: Option<String>,
    approval: Option<String>,
    /// The `approval` of the response (created, found or used).
    approval_answer: Option<ApprovalRef>,
    /// The request as decided (`at` filled in), or `None` when the body was not a request.
    request: Option<&'a Json>,
    at: Option<i64>,
    decision: Decision,
    explanation: Option<Explanation>,
    shadow: Option<(Arc<Version>, Decision)>,
    action: Option<String>,
    /// For a body that is not JSON: its length and a prefix, for the log.
    raw: Option<(usize, String)>,
}

/// Decides a parsed request document received at `received_ms`, with its approvals.
pub async fn decide_doc(
    state: &AppState,
    principal: Option<&Principal>,
    mut doc: Json,
    received_ms: i64,
    explain: bool,
) -> Decided {
    let version = state.current.load_full();
    let id = state.ids.next("dec", received_ms);
    // The caller's `id`, when valid by the runtime's rule (1 to 256 bytes, no control
    // characters): echoed even when the request is refused for another reason.
    let request_id = policy::readable_id(&doc);
    let taken = match take_own_fields(&mut doc) {
        Ok(taken) => taken,
        Err(message) => {
            return reject_parts(
                state,
                principal,
                &version,
                id,
                received_ms,
                400,
                &message,
                Some(&doc),
                None,
                request_id,
            );
        }
    };
    let at = match set_time(state, &mut doc, received_ms) {
        Ok(at) => at,
        Err(message) => {
            return reject_parts(
                state,
                principal,
                &version,
                id,
                received_ms,
                400,
                &message,
                Some(&doc),
                None,
                request_id,
            );
        }
    };
    // A resumed request is decided at the server's clock, whatever `at` it carries (within
    // the skew): an approval never moves a request into a window it has left.
    let at = match (&taken.approval, doc.as_object_mut()) {
        (Some(_), Some(obj)) if at.is_some() => {
            let secs = received_ms.div_euclid(1000);
            obj.insert("at".into(), Json::String(policy::format_timestamp(secs)));
            Some(secs)
        }
        _ => at,
    };
    let engine = &version.engine;
    let request = match engine.parse_request(&doc) {
        Ok(request) => request,
        Err(e) => {
            let parts = Parts {
                state,
                principal,
                version: &version,
                id,
                received_ms,
                status: 400,
                request_id,
                approval: taken.approval,
                approval_answer: None,
                request: Some(&doc),
                at,
                decision: Decision::rejected(e.to_string())
                    .with_request_id(policy::readable_id(&doc)),
                explanation: explain.then(policy::rejected_explanation),
                shadow: None,
                action: None,
                raw: None,
            };
            return finish(parts);
        }
    };
    let (mut decision, explanation) = if explain {
        let store = engine.store();
        let (d, e) = engine.explain_request_with(&store, &request);
        (d, Some(e))
    } else {
        (engine.decide_request(&request), None)
    };
    let action = engine
        .program()
        .schema
        .actions
        .get(request.action.index())
        .map(|a| a.name.clone());
    let shadow = state.shadow.as_ref().map(|slot| {
        let shadow = slot.load_full();
        let decided = shadow.engine.decide(&doc);
        (shadow, decided)
    });
    let mut approval_answer = None;
    if taken.approval.is_some() || decision.decision == EffectKind::RequireApproval {
        let outcome = crate::workflow::on_decision(
            state,
            principal,
            &doc,
            &mut decision,
            &version.policy,
            &id,
            received_ms,
            taken.approval.as_deref(),
        )
        .await;
        approval_answer = outcome.answer;
    }
    finish(Parts {
        state,
        principal,
        version: &version,
        id,
        received_ms,
        status: 200,
        request_id: decision.request_id.clone(),
        approval: taken.approval,
        approval_answer,
        request: Some(&doc),
        at,
        decision,
        explanation,
        shadow,
        action,
        raw: None,
    })
}

/// A request refused before it could be decided (authentication, content type, size, time,
/// JSON syntax): `deny` with `message`, answered with `status`.
pub fn reject(
    state: &AppState,
    principal: Option<&Principal>,
    received_ms: i64,
    status: u16,
    message: &str,
    raw: Option<&[u8]>,
) -> Decided {
    let version = state.current.load_full();
    let id = state.ids.next("dec", received_ms);
    let raw = raw.map(|bytes| {
        let prefix = bytes.get(..bytes.len().min(1024)).unwrap_or_default();
        (bytes.len(), String::from_utf8_lossy(prefix).into_owned())
    });
    reject_parts(
        state,
        principal,
        &version,
        id,
        received_ms,
        status,
        message,
        None,
        raw,
        None,
    )
}

#[expect(
    clippy::too_many_arguments,
    reason = "one call site per way of refusing"
)]
fn reject_parts(
    state: &AppState,
    principal: Option<&Principal>,
    version: &Version,
    id: String,
    received_ms: i64,
    status: u16,
    message: &str,
    request: Option<&Json>,
    raw: Option<(usize, String)>,
    request_id: Option<String>,
) -> Decided {
    finish(Parts {
        state,
        principal,
        version,
        id,
        received_ms,
        status,
        request_id,
        approval: None,
        approval_answer: None,
        request,
        at: None,
        decision: Decision::rejected(message),
        explanation: None,
        shadow: None,
        action: None,
        raw,
    })
}

/// Builds the response document and the log line.
fn finish(parts: Parts<'_>) -> Decided {
    let at = parts.at.map(policy::format_timestamp);
    let doc = DecisionDoc {
        id: &parts.id,
        request_id: parts.request_id.as_deref(),
        decision: parts.decision.decision,
        fired: parts.decision.fired(),
        approvers: parts.decision.approvers(),
        errors: &parts.decision.errors,
        policy: &parts.version.policy,
        estate: &parts.version.estate,
        at: at.clone(),
        approval: parts.approval_answer.as_ref(),
        explanation: parts.explanation.as_ref(),
    };
    let body = serde_json::to_vec(&doc).unwrap_or_else(|_| {
        // Serializing plain strings and numbers cannot fail; if it ever did, still deny.
        br#"{"decision":"deny","fired":[],"approvers":[],"errors":[{"rule":null,"message":"the decision could not be written"}]}"#.to_vec()
    });
    if let Some((shadow, shadow_decision)) = &parts.shadow {
        let (from, to) = (parts.decision.decision, shadow_decision.decision);
        if from != to {
            parts.state.metrics.shadow_flip(from.as_str(), to.as_str());
        }
        // A request the shadow policy could not validate (its schema differs).
        if shadow_decision.errors.iter().any(|e| e.rule.is_none()) {
            parts
                .state
                .metrics
                .shadow_failures
                .fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        }
        let _ = shadow;
    }
    let record = build_record(&parts, at.as_deref());
    Decided {
        status: parts.status,
        id: parts.id,
        body,
        record,
        action: parts.action.unwrap_or_else(|| NO_ACTION.to_owned()),
        outcome: parts.decision.decision,
    }
}

fn build_record(parts: &Parts<'_>, at: Option<&str>) -> Result<Record, ward_log::LogError> {
    let mut record = Record::new(Kind::Decision, parts.id.clone(), parts.received_ms)
        .field("principal", &parts.principal.map(|p| p.name.as_str()))?
        .field("status", &parts.status)?;
    if let Some(request_id) = &parts.request_id {
        record = record.field("request_id", request_id)?;
    }
    if let Some(approval) = &parts.approval {
        record = record.field("approval", approval)?;
    }
    if let Some(answer) = &parts.approval_answer {
        record = record.field("approval_answer", answer)?;
    }
    record = record.field("request", &parts.request)?;
    if let Some((len, prefix)) = &parts.raw {
        record = record
            .field("body_bytes", len)?
            .field("body_prefix", prefix)?;
    }
    record = record
        .field("at", &at)?
        .field("decision", &parts.decision)?
        .field("policy", &parts.version.policy)?
        .field("estate", &parts.version.estate)?;
    if let Some((shadow, decision)) = &parts.shadow {
        record = record.field(
            "shadow",
            &ShadowLine {
                policy: &shadow.policy,
                estate: &shadow.estate,
                decision,
            },
        )?;
    }
    Ok(record)
}

/// Takes `approval` out of the request document: the runtime validates the request proper
/// (with its `id`), and an approval id does not belong to it.
fn take_own_fields(doc: &mut Json) -> Result<Taken, String> {
    let Some(obj) = doc.as_object_mut() else {
        return Ok(Taken { approval: None });
    };
    let approval = match obj.remove("approval") {
        None | Some(Json::Null) => None,
        Some(Json::String(s))
            if !s.is_empty() && s.len() <= MAX_APPROVAL_ID && !s.chars().any(char::is_control) =>
        {
            Some(s)
        }
        Some(_) => {
            return Err("`approval` must be the id of an approval (a string like `apr_…`)".into());
        }
    };
    Ok(Taken { approval })
}

/// Fills in `at` from the server's clock, or checks the caller's `at` against it. Returns
/// the time the request is decided at (`None` when `at` is present but not a timestamp: the
/// runtime's validation says what is wrong with it).
fn set_time(state: &AppState, doc: &mut Json, received_ms: i64) -> Result<Option<i64>, String> {
    let Some(obj) = doc.as_object_mut() else {
        return Ok(None);
    };
    match obj.get("at") {
        None | Some(Json::Null) => {
            let secs = received_ms.div_euclid(1000);
            obj.insert("at".into(), Json::String(policy::format_timestamp(secs)));
            Ok(Some(secs))
        }
        Some(Json::String(text)) => {
            let Some(at) = policy::parse_timestamp(text) else {
                return Ok(None);
            };
            let skew_ms = i64::try_from(state.config.max_skew.as_millis()).unwrap_or(i64::MAX);
            let off_ms = at.saturating_mul(1000).saturating_sub(received_ms);
            if off_ms.unsigned_abs() > skew_ms.unsigned_abs() {
                let off_secs = (off_ms.unsigned_abs().div_ceil(1000)) as i64;
                let direction = if off_ms > 0 { "ahead of" } else { "behind" };
                return Err(format!(
                    "`at` is {} {direction} the server's clock ({}), more than the {} allowed: leave `at` out to be decided at the server's time",
                    policy::format_duration(off_secs),
                    policy::format_timestamp(received_ms.div_euclid(1000)),
                    policy::format_duration(state.config.max_skew.as_secs() as i64),
                ));
            }
            Ok(Some(at))
        }
        Some(_) => Ok(None),
    }
}

/// A time as the service writes it: RFC 3339, UTC, milliseconds.
pub fn format_time_ms(ms: i64) -> String {
    match jiff::Timestamp::from_millisecond(ms) {
        Ok(t) => format!("{t:.3}"),
        Err(_) => ms.to_string(),
    }
}
