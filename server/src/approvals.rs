//! Approvals: the human in the loop. A `require_approval` decision creates an approval bound
//! to one requester and the digest of one exact request; approvers named by the fired rules
//! approve or reject it; the agent resumes the same request with the approval's id, and an
//! approved, unexpired, unused approval that covers every fired approval rule of the fresh
//! decision turns it into `allow`, once (docs/approvals.md).
//!
//! This module holds the rules, as pure functions over an [`Approval`]: who may see and act
//! (a name or a group among an entry's `approvers`; never the requester nor the request's
//! `context.agent`), how each action changes an approval ([`Apply`] closures the store runs
//! inside its transaction, so the check and the change are one atomic step), the digest and
//! its canonical JSON, and the log lines of every action. The stores behind
//! [`ApprovalStore`] (SQLite in `--state`, PostgreSQL for several replicas) only persist and
//! lock; they know none of these rules. This module knows no HTTP and no SQL.
//!
//! Status moves only forward: `pending` → `approved` | `rejected` | `expired`;
//! `approved` → `used` | `expired`. Every change is an [`Event`], stored in the same
//! transaction as the change and then written to the decision log; an event whose log line
//! was not confirmed (a crash between the two) is written at the next start.

pub mod postgres;
pub mod sqlite;

use std::fmt::Write as _;
use std::future::Future;
use std::pin::Pin;

use serde::{Deserialize, Serialize};
use serde_json::{Value as Json, json};
use ward_log::{Kind, Record};

use crate::auth::{Principal, Role};
use crate::policy::{Decision, EffectKind};

/// Where an approval stands.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Status {
    Pending,
    Approved,
    Rejected,
    Expired,
    Used,
}

impl Status {
    pub const ALL: [Status; 5] = [
        Status::Pending,
        Status::Approved,
        Status::Rejected,
        Status::Expired,
        Status::Used,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Status::Pending => "pending",
            Status::Approved => "approved",
            Status::Rejected => "rejected",
            Status::Expired => "expired",
            Status::Used => "used",
        }
    }

    pub fn parse(s: &str) -> Option<Status> {
        Status::ALL.into_iter().find(|st| st.as_str() == s)
    }

    /// Whether the approval can still be approved or rejected.
    pub fn is_open(self) -> bool {
        self == Status::Pending
    }
}

/// What one fired `require approval` rule needs.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Need {
    pub rule: String,
    pub message: Option<String>,
    /// Names or groups, one of which must approve.
    pub approvers: Vec<String>,
    pub approved_by: Option<String>,
}

/// One action on an approval, as its `history` shows it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct HistoryEntry {
    pub at: String,
    /// The principal; `null` for `expire`, which is the server's clock and nobody's act.
    pub by: Option<String>,
    /// `create`, `approve`, `reject`, `expire`, `use`.
    pub action: String,
    pub comment: Option<String>,
}

/// An approval, as stored and as `GET /v1/approvals/{id}` shows it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Approval {
    pub id: String,
    pub status: Status,
    pub created: String,
    pub expires: String,
    pub requested_by: String,
    /// `sha256:` of the canonical JSON of the request's `action`, `args` and `context`.
    pub digest: String,
    /// The policy version that created it.
    pub policy: String,
    /// `{"action", "args", "context"}` as the agent sent them.
    pub request: Json,
    pub needs: Vec<Need>,
    pub history: Vec<HistoryEntry>,
}

impl Approval {
    /// When it expires, in milliseconds; an unreadable time counts as already expired.
    pub fn expires_ms(&self) -> i64 {
        parse_time_ms(&self.expires).unwrap_or(i64::MIN)
    }

    pub fn created_ms(&self) -> i64 {
        parse_time_ms(&self.created).unwrap_or(0)
    }

    /// Whether the server's clock at `now_ms` is at or past `expires`.
    pub fn is_due(&self, now_ms: i64) -> bool {
        matches!(self.status, Status::Pending | Status::Approved) && now_ms >= self.expires_ms()
    }

    /// The entries nobody has approved yet.
    pub fn waiting(&self) -> impl Iterator<Item = &Need> {
        self.needs.iter().filter(|n| n.approved_by.is_none())
    }

    /// The request's `context.agent`, when it is a string (an entity id or a name).
    pub fn context_agent(&self) -> Option<&str> {
        self.request
            .pointer("/context/agent")
            .and_then(Json::as_str)
    }

    /// The short form a decision carries: `{"id", "status", "expires"}`.
    pub fn reference(&self) -> ApprovalRef {
        ApprovalRef {
            id: self.id.clone(),
            status: self.status,
            expires: self.expires.clone(),
        }
    }
}

/// The `approval` of a decision document.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct ApprovalRef {
    pub id: String,
    pub status: Status,
    pub expires: String,
}

/// One action, stored with the change it made and written to the decision log.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Event {
    /// `evt_…`, unique.
    pub id: String,
    pub approval: String,
    pub at_ms: i64,
    pub action: Action,
    pub principal: Option<String>,
    pub comment: Option<String>,
    /// The approval's status after the action.
    pub status: Status,
    /// More fields for the log line (an object): the whole approval for `create`, the
    /// approved entries for `approve`, the decision for `use`.
    pub detail: Json,
}

/// The five actions.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Action {
    Create,
    Approve,
    Reject,
    Expire,
    Use,
}

impl Action {
    pub fn as_str(self) -> &'static str {
        match self {
            Action::Create => "create",
            Action::Approve => "approve",
            Action::Reject => "reject",
            Action::Expire => "expire",
            Action::Use => "use",
        }
    }
}

impl Event {
    /// The event's line in the decision log (`kind: "approval"`, `id`: the approval's).
    /// `replica`: which server's store and log; `recovered`: written at a later start
    /// because the process stopped between the store and the log.
    pub fn record(&self, replica: &str, recovered: bool) -> Result<Record, ward_log::LogError> {
        let mut record = Record::new(Kind::Approval, self.approval.clone(), self.at_ms)
            .field("event", &self.id)?
            .field("action", self.action.as_str())?
            .field("principal", &self.principal)?
            .field("comment", &self.comment)?
            .field("status", self.status.as_str())?
            .field("replica", replica)?;
        if let Json::Object(detail) = &self.detail {
            for (key, value) in detail {
                record = record.field(key, value)?;
            }
        }
        if recovered {
            record = record.field("recovered", &true)?;
        }
        Ok(record)
    }

    fn entry(&self) -> HistoryEntry {
        HistoryEntry {
            at: crate::decide::format_time_ms(self.at_ms),
            by: self.principal.clone(),
            action: self.action.as_str().to_owned(),
            comment: self.comment.clone(),
        }
    }
}

/// Why an action was not done. Nothing changed.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Refused {
    /// No such approval (or none the caller may see): `404`.
    Unknown,
    /// The caller may not do this to it: `403`.
    Forbidden(String),
    /// It is final for this action (`approved`, `rejected`, `expired`, `used`): `409`.
    Final(Status),
    /// The caller may act but the action would change nothing: `409`.
    Conflict(String),
}

impl Refused {
    /// The reason, for an error document (`id`: the approval's).
    pub fn message(&self, id: &str) -> String {
        match self {
            Refused::Unknown => format!("there is no approval `{id}` that you may see"),
            Refused::Forbidden(why) => why.clone(),
            Refused::Final(status) => format!(
                "approval `{id}` is already {}: it cannot change any more",
                status.as_str()
            ),
            Refused::Conflict(why) => why.clone(),
        }
    }
}

/// Why a store failed.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum StoreError {
    #[error("the approvals store failed: {0}")]
    Backend(String),
}

/// A change to one approval, run by the store inside its transaction, with the row locked:
/// it sees the approval as committed, checks, changes it and returns the event, or refuses
/// (and nothing is written).
pub type Apply = Box<dyn FnOnce(&mut Approval) -> Result<Event, Refused> + Send>;

/// The future a store method returns.
pub type StoreFuture<'a, T> = Pin<Box<dyn Future<Output = Result<T, StoreError>> + Send + 'a>>;

/// Where approvals are kept. Every method is one transaction; `update` locks the approval
/// for the time of its [`Apply`], so of two concurrent changes one sees the other's result.
pub trait ApprovalStore: Send + Sync + std::fmt::Debug {
    /// The pending approval of `approval.requested_by` for `approval.digest` if there is one
    /// (`false`: not created), else `approval` stored as new with its `create` event (`true`).
    fn create_or_get(&self, approval: Approval, event: Event) -> StoreFuture<'_, (Approval, bool)>;
    fn get<'a>(&'a self, id: &'a str) -> StoreFuture<'a, Option<Approval>>;
    /// Up to `limit` approvals with `status` (all when `None`), newest first.
    fn list(&self, status: Option<Status>, limit: usize) -> StoreFuture<'_, Vec<Approval>>;
    /// Runs `apply` on the approval `id` and stores the result with its event. `Ok(Err)`:
    /// refused (or unknown), nothing written.
    fn update<'a>(
        &'a self,
        id: &'a str,
        apply: Apply,
    ) -> StoreFuture<'a, Result<(Approval, Event), Refused>>;
    /// Ids of pending or approved approvals whose `expires` is at or before `now_ms`.
    fn due(&self, now_ms: i64) -> StoreFuture<'_, Vec<String>>;
    /// How many approvals have each status.
    fn counts(&self) -> StoreFuture<'_, Vec<(Status, u64)>>;
    /// This replica's events whose log line was not confirmed, oldest first.
    fn unlogged(&self) -> StoreFuture<'_, Vec<Event>>;
    /// Marks events as written to the log.
    fn mark_logged(&self, ids: Vec<String>) -> StoreFuture<'_, ()>;
}

// --- The digest ----------------------------------------------------------------------------

/// `sha256:` of the canonical JSON of `{"action", "args", "context"}` (see [`canonical`]).
pub fn digest(request: &Json) -> String {
    let mut text = String::new();
    canonical(request, &mut text);
    ward_log::hash::sha256(text.as_bytes())
}

/// The request an approval is bound to: `action`, `args` and `context` of a request
/// document (missing ones as `null`), nothing else (not `at`, `id` or `approval`).
pub fn bound_request(doc: &Json) -> Json {
    let get = |key: &str| doc.get(key).cloned().unwrap_or(Json::Null);
    json!({"action": get("action"), "args": get("args"), "context": get("context")})
}

/// Canonical JSON: no whitespace; object keys sorted by their UTF-8 bytes; strings with only
/// `"`, `\` and the control characters escaped (`\b \f \n \r \t`, the others as `\u00XX`,
/// lower-case hex), everything else as the UTF-8 it is; numbers as JSON wrote them after
/// reading (integers in decimal, others in the shortest form that reads back the same).
pub fn canonical(value: &Json, out: &mut String) {
    match value {
        Json::Null => out.push_str("null"),
        Json::Bool(b) => out.push_str(if *b { "true" } else { "false" }),
        Json::Number(n) => out.push_str(&n.to_string()),
        Json::String(s) => canonical_string(s, out),
        Json::Array(items) => {
            out.push('[');
            for (i, item) in items.iter().enumerate() {
                if i > 0 {
                    out.push(',');
                }
                canonical(item, out);
            }
            out.push(']');
        }
        Json::Object(map) => {
            let mut keys: Vec<&String> = map.keys().collect();
            keys.sort_by(|a, b| a.as_bytes().cmp(b.as_bytes()));
            out.push('{');
            for (i, key) in keys.into_iter().enumerate() {
                if i > 0 {
                    out.push(',');
                }
                canonical_string(key, out);
                out.push(':');
                if let Some(v) = map.get(key) {
                    canonical(v, out);
                }
            }
            out.push('}');
        }
    }
}

fn canonical_string(s: &str, out: &mut String) {
    out.push('"');
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\u{8}' => out.push_str("\\b"),
            '\u{c}' => out.push_str("\\f"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            c if (c as u32) < 0x20 => {
                let _ = write!(out, "\\u{:04x}", c as u32);
            }
            c => out.push(c),
        }
    }
    out.push('"');
}

// --- Who may see and act -------------------------------------------------------------------

/// Whether `principal` is one of a need's approvers (by name or by a group).
pub fn named_in(need: &Need, principal: &Principal) -> bool {
    need.approvers
        .iter()
        .any(|a| *a == principal.name || principal.groups.iter().any(|g| g == a))
}

/// Whether `principal` may read `approval`: an admin, its requester, or an approver named in
/// one of its entries.
pub fn may_see(approval: &Approval, principal: &Principal) -> bool {
    principal.roles.contains(&Role::Admin)
        || approval.requested_by == principal.name
        || (principal.may(Role::Approver) && approval.needs.iter().any(|n| named_in(n, principal)))
}

/// Separation of duties: the requester and the request's `context.agent` never decide it.
pub fn conflict_of_interest(approval: &Approval, principal: &Principal) -> Option<String> {
    if approval.requested_by == principal.name {
        return Some(format!(
            "`{}` requested approval `{}` and cannot decide it (separation of duties)",
            principal.name, approval.id
        ));
    }
    if approval.context_agent() == Some(principal.name.as_str()) {
        return Some(format!(
            "`{}` is the agent of the request (`context.agent`) and cannot decide approval `{}` (separation of duties)",
            principal.name, approval.id
        ));
    }
    None
}

fn approvers_text(needs: &[&Need]) -> String {
    let mut names: Vec<&str> = needs
        .iter()
        .flat_map(|n| n.approvers.iter().map(String::as_str))
        .collect();
    names.sort_unstable();
    names.dedup();
    if names.is_empty() {
        "nobody (the rule names no approver)".to_owned()
    } else {
        names
            .iter()
            .map(|n| format!("`{n}`"))
            .collect::<Vec<_>>()
            .join(", ")
    }
}

/// Who may still approve, for messages: `` `rule` (`carol`, `oncall`) ``.
pub fn waiting_text(approval: &Approval) -> String {
    approval
        .waiting()
        .map(|n| format!("`{}` ({})", n.rule, approvers_text(&[n])))
        .collect::<Vec<_>>()
        .join("; ")
}

// --- Actions -------------------------------------------------------------------------------

/// What a fresh `require_approval` decision needs: one entry per fired approval rule.
pub fn needs_of(decision: &Decision) -> Vec<Need> {
    decision
        .fired()
        .iter()
        .filter(|f| f.effect() == EffectKind::RequireApproval)
        .map(|f| Need {
            rule: f.rule().to_string(),
            message: f.message().map(|m| m.into_owned()),
            approvers: f.approvers().map(|a| a.to_vec()).unwrap_or_default(),
            approved_by: None,
        })
        .collect()
}

/// A new pending approval and its `create` event.
#[expect(clippy::too_many_arguments, reason = "one call site, every part named")]
pub fn new_approval(
    id: String,
    event_id: String,
    principal: &Principal,
    request: Json,
    needs: Vec<Need>,
    policy: &str,
    decision_id: &str,
    now_ms: i64,
    ttl_ms: i64,
) -> (Approval, Event) {
    let mut approval = Approval {
        id,
        status: Status::Pending,
        created: crate::decide::format_time_ms(now_ms),
        expires: crate::decide::format_time_ms(now_ms.saturating_add(ttl_ms)),
        requested_by: principal.name.clone(),
        digest: digest(&request),
        policy: policy.to_owned(),
        request,
        needs,
        history: Vec::new(),
    };
    let mut event = Event {
        id: event_id,
        approval: approval.id.clone(),
        at_ms: now_ms,
        action: Action::Create,
        principal: Some(principal.name.clone()),
        comment: None,
        status: Status::Pending,
        detail: Json::Null,
    };
    approval.history.push(event.entry());
    event.detail = json!({
        "decision": decision_id,
        "approval": &approval,
    });
    (approval, event)
}

/// Approve as `principal` at `now_ms`: every waiting entry that names them is approved; the
/// approval is `approved` once none waits.
pub fn approve(
    principal: Principal,
    comment: Option<String>,
    event_id: String,
    now_ms: i64,
) -> Apply {
    Box::new(move |approval: &mut Approval| {
        check_can_decide(approval, &principal, now_ms, false)?;
        let mine: Vec<usize> = approval
            .needs
            .iter()
            .enumerate()
            .filter(|(_, n)| n.approved_by.is_none() && named_in(n, &principal))
            .map(|(i, _)| i)
            .collect();
        if mine.is_empty() {
            return Err(Refused::Conflict(format!(
                "every entry of approval `{}` that names `{}` is already approved; still waiting: {}",
                approval.id,
                principal.name,
                waiting_text(approval)
            )));
        }
        let mut rules = Vec::new();
        for i in mine {
            if let Some(need) = approval.needs.get_mut(i) {
                need.approved_by = Some(principal.name.clone());
                rules.push(need.rule.clone());
            }
        }
        if approval.waiting().next().is_none() {
            approval.status = Status::Approved;
        }
        let event = Event {
            id: event_id,
            approval: approval.id.clone(),
            at_ms: now_ms,
            action: Action::Approve,
            principal: Some(principal.name.clone()),
            comment,
            status: approval.status,
            detail: json!({"rules": rules, "groups": principal.groups, "needs": approval.needs}),
        };
        approval.history.push(event.entry());
        Ok(event)
    })
}

/// Reject as `principal`: one reject is final. An approver named in any entry may reject,
/// and so may an admin (rejecting is the safe direction); never the requester or the agent.
pub fn reject(
    principal: Principal,
    comment: Option<String>,
    event_id: String,
    now_ms: i64,
) -> Apply {
    Box::new(move |approval: &mut Approval| {
        check_can_decide(approval, &principal, now_ms, true)?;
        approval.status = Status::Rejected;
        let event = Event {
            id: event_id,
            approval: approval.id.clone(),
            at_ms: now_ms,
            action: Action::Reject,
            principal: Some(principal.name.clone()),
            comment,
            status: Status::Rejected,
            detail: json!({"groups": principal.groups}),
        };
        approval.history.push(event.entry());
        Ok(event)
    })
}

/// The checks before an approve or reject: separation of duties, being named (or, when
/// `admin_may`, an admin), not expired, still pending. In that order: a principal that may not
/// act is told so (403) before being told it is final (409).
fn check_can_decide(
    approval: &Approval,
    principal: &Principal,
    now_ms: i64,
    admin_may: bool,
) -> Result<(), Refused> {
    if let Some(why) = conflict_of_interest(approval, principal) {
        return Err(Refused::Forbidden(why));
    }
    let named =
        principal.may(Role::Approver) && approval.needs.iter().any(|n| named_in(n, principal));
    let admin = admin_may && principal.roles.contains(&Role::Admin);
    if !named && !admin {
        return Err(Refused::Forbidden(format!(
            "`{}` is not among the approvers of approval `{}` ({})",
            principal.name,
            approval.id,
            approvers_text(&approval.needs.iter().collect::<Vec<_>>())
        )));
    }
    if !approval.status.is_open() {
        return Err(Refused::Final(approval.status));
    }
    if now_ms >= approval.expires_ms() {
        return Err(Refused::Final(Status::Expired));
    }
    Ok(())
}

/// Expire a pending or approved approval whose time is up (the server's clock at `now_ms`).
pub fn expire(event_id: String, now_ms: i64) -> Apply {
    Box::new(move |approval: &mut Approval| {
        if !approval.is_due(now_ms) {
            return Err(Refused::Conflict(format!(
                "approval `{}` is {} and not due to expire",
                approval.id,
                approval.status.as_str()
            )));
        }
        let was = approval.status;
        approval.status = Status::Expired;
        let event = Event {
            id: event_id,
            approval: approval.id.clone(),
            at_ms: now_ms,
            action: Action::Expire,
            principal: None,
            comment: None,
            status: Status::Expired,
            detail: json!({"was": was.as_str(), "expires": approval.expires}),
        };
        approval.history.push(event.entry());
        Ok(event)
    })
}

/// Why an approval does not let a fresh `require_approval` decision through, checked
/// outside the store (before trying to use it) and again inside (atomically).
pub fn cannot_use(
    approval: &Approval,
    principal: &Principal,
    digest: &str,
    decision: &Decision,
    now_ms: i64,
) -> Option<String> {
    let id = &approval.id;
    if approval.requested_by != principal.name {
        return Some(format!(
            "approval `{id}` was requested by another principal, not `{}`",
            principal.name
        ));
    }
    if approval.digest != digest {
        return Some(format!(
            "approval `{id}` is for another request: its digest differs (the action, an argument or the context changed)"
        ));
    }
    match approval.status {
        Status::Approved if now_ms >= approval.expires_ms() => {
            return Some(format!("approval `{id}` expired at {}", approval.expires));
        }
        Status::Approved => {}
        Status::Pending => {
            return Some(format!(
                "approval `{id}` is still pending; waiting for: {}",
                waiting_text(approval)
            ));
        }
        Status::Rejected => {
            let by = approval
                .history
                .iter()
                .rev()
                .find(|h| h.action == "reject")
                .and_then(|h| h.by.clone())
                .unwrap_or_default();
            return Some(format!("approval `{id}` was rejected by `{by}`"));
        }
        Status::Expired => return Some(format!("approval `{id}` expired at {}", approval.expires)),
        Status::Used => return Some(format!("approval `{id}` was already used")),
    }
    for fired in decision
        .fired()
        .iter()
        .filter(|f| f.effect() == EffectKind::RequireApproval)
    {
        let approvers = fired.approvers().map(|a| a.to_vec()).unwrap_or_default();
        let covered = approval.needs.iter().any(|n| {
            *n.rule == *fired.rule() && n.approvers == approvers && n.approved_by.is_some()
        });
        if !covered {
            return Some(format!(
                "approval `{id}` does not cover rule `{}` (approvers {}) of this decision",
                fired.rule(),
                approvers_text(&[&Need {
                    rule: fired.rule().to_string(),
                    message: None,
                    approvers,
                    approved_by: None,
                }])
            ));
        }
    }
    None
}

/// Use an approval for the fresh decision `decision_id`: atomically `approved` → `used`,
/// after checking everything [`cannot_use`] checks against the committed approval.
pub fn use_for(
    principal: Principal,
    digest: String,
    decision: Decision,
    decision_id: String,
    event_id: String,
    now_ms: i64,
) -> Apply {
    Box::new(move |approval: &mut Approval| {
        if let Some(why) = cannot_use(approval, &principal, &digest, &decision, now_ms) {
            return Err(Refused::Conflict(why));
        }
        approval.status = Status::Used;
        let event = Event {
            id: event_id,
            approval: approval.id.clone(),
            at_ms: now_ms,
            action: Action::Use,
            principal: Some(principal.name.clone()),
            comment: None,
            status: Status::Used,
            detail: json!({"decision": decision_id, "digest": digest}),
        };
        approval.history.push(event.entry());
        Ok(event)
    })
}

/// Milliseconds of an RFC 3339 timestamp.
pub fn parse_time_ms(text: &str) -> Option<i64> {
    text.parse::<jiff::Timestamp>()
        .ok()
        .map(jiff::Timestamp::as_millisecond)
}

/// The columns every store keeps beside the document.
pub(crate) struct Row {
    pub id: String,
    pub status: &'static str,
    pub requested_by: String,
    pub digest: String,
    pub created_ms: i64,
    pub expires_ms: i64,
    pub doc: String,
}

impl Row {
    pub(crate) fn of(approval: &Approval) -> Result<Row, StoreError> {
        Ok(Row {
            id: approval.id.clone(),
            status: approval.status.as_str(),
            requested_by: approval.requested_by.clone(),
            digest: approval.digest.clone(),
            created_ms: approval.created_ms(),
            expires_ms: approval.expires_ms(),
            doc: serde_json::to_string(approval)
                .map_err(|e| StoreError::Backend(format!("cannot encode an approval: {e}")))?,
        })
    }
}

pub(crate) fn decode(doc: &str) -> Result<Approval, StoreError> {
    serde_json::from_str(doc)
        .map_err(|e| StoreError::Backend(format!("a stored approval cannot be read: {e}")))
}

pub(crate) fn encode_event(event: &Event) -> Result<String, StoreError> {
    serde_json::to_string(event)
        .map_err(|e| StoreError::Backend(format!("cannot encode an event: {e}")))
}

pub(crate) fn decode_event(text: &str) -> Result<Event, StoreError> {
    serde_json::from_str(text)
        .map_err(|e| StoreError::Backend(format!("a stored event cannot be read: {e}")))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_canonical_form_sorts_keys_and_escapes_only_what_json_must() {
        let doc: Json = serde_json::from_str(
            r#"{"b": [1, 2.5, "x\u0001\n"], "a": {"z": null, "é": true, "A": "ü\"\\"}}"#,
        )
        .unwrap();
        let mut out = String::new();
        canonical(&doc, &mut out);
        assert_eq!(
            out,
            r#"{"a":{"A":"ü\"\\","z":null,"é":true},"b":[1,2.5,"x\u0001\n"]}"#
        );
        // Key order and whitespace of the text do not change the digest; a value does.
        let same: Json = serde_json::from_str(
            r#"{"a":{"é":true,"z":null,"A":"ü\"\\"},"b":[1,2.5,"x\u0001\n"]}"#,
        )
        .unwrap();
        assert_eq!(digest(&doc), digest(&same));
        let other: Json = serde_json::from_str(
            r#"{"a":{"é":false,"z":null,"A":"ü\"\\"},"b":[1,2.5,"x\u0001\n"]}"#,
        )
        .unwrap();
        assert_ne!(digest(&doc), digest(&other));
        assert!(digest(&doc).starts_with("sha256:") && digest(&doc).len() == 71);
    }

    #[test]
    fn the_bound_request_leaves_out_time_and_ids() {
        let doc = json!({"action": "a", "args": {"x": 1}, "context": {}, "at": "t", "id": "i"});
        assert_eq!(
            bound_request(&doc),
            json!({"action": "a", "args": {"x": 1}, "context": {}})
        );
    }
}
