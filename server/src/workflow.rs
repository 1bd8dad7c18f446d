//! The approval workflow on a running server: creating an approval for a `require_approval`
//! decision, resuming a request with one, approving and rejecting, expiring on the server's
//! clock, writing every event to the decision log (and, at start-up, the events a crash left
//! unlogged), and notifying `--notify`.
//!
//! The rules are in [`crate::approvals`]; this module sequences them: store change first (one
//! transaction), then the log line, durable, then the answer — so an answered action is
//! always in both, and an event the process stopped before logging is logged at the next
//! start (marked `recovered`). It knows the store interface, the log, the clock and the ids;
//! not HTTP (the routes map [`Refused`] to statuses) and not SQL.

use std::sync::Arc;
use std::sync::atomic::Ordering;

use serde_json::Value as Json;

use crate::approvals::{
    self, Approval, ApprovalRef, ApprovalStore, Event, Refused, Status, StoreError,
};
use crate::auth::Principal;
use crate::policy::{Decision, DecisionError, EffectKind};
use crate::state::AppState;
use crate::webhook::Notifier;

/// The approvals of a server: where they are kept and how long they live.
#[derive(Debug)]
pub struct Approvals {
    pub store: Arc<dyn ApprovalStore>,
    pub ttl_ms: i64,
    /// This server's id (`STATE/replica`), on its events.
    pub replica: String,
    pub notifier: Option<Notifier>,
}

/// Writes the events' lines to the log and waits until they are durable, then marks them
/// logged in the store. An error says the log did not take them (they stay unlogged in the
/// store and are written at the next start).
pub async fn record(state: &AppState, events: &[Event], recovered: bool) -> Result<(), String> {
    let Some(approvals) = state.approvals.as_ref() else {
        return Ok(());
    };
    let mut waits = Vec::with_capacity(events.len());
    for event in events {
        let record = event
            .record(&approvals.replica, recovered)
            .map_err(|e| e.to_string())?;
        waits.push(state.append(record));
    }
    let deadline = state.config.limits.request_timeout;
    for wait in waits {
        match tokio::time::timeout(deadline, wait).await {
            Ok(Ok(Ok(appended))) => {
                state.metrics.log_lines.fetch_add(1, Ordering::Relaxed);
                state.metrics.log_write_latency.observe(appended.waited);
            }
            Ok(Ok(Err(e))) => return Err(fail(state, e.to_string())),
            Ok(Err(_)) => return Err(fail(state, "the decision log stopped".into())),
            Err(_) => {
                return Err(fail(
                    state,
                    "the decision log did not confirm the write in time".into(),
                ));
            }
        }
    }
    let ids = events.iter().map(|e| e.id.clone()).collect();
    if let Err(e) = approvals.store.mark_logged(ids).await {
        // Logged but not marked: the next start logs them again (a duplicate line, marked
        // `recovered`, rather than a missing one).
        tracing::warn!(error = %e, "approval events were logged but not marked as logged");
    }
    Ok(())
}

fn fail(state: &AppState, why: String) -> String {
    state.metrics.log_failures.fetch_add(1, Ordering::Relaxed);
    why
}

/// Writes the events a previous run stored but did not log (it stopped in between).
pub async fn recover(state: &AppState) -> Result<usize, String> {
    let Some(approvals) = state.approvals.as_ref() else {
        return Ok(0);
    };
    let events = approvals
        .store
        .unlogged()
        .await
        .map_err(|e| e.to_string())?;
    if events.is_empty() {
        return Ok(0);
    }
    tracing::warn!(
        events = events.len(),
        "approval events stored before the last stop were not in the decision log; writing them now"
    );
    record(state, &events, true).await?;
    Ok(events.len())
}

fn event_id(state: &AppState, now_ms: i64) -> String {
    state.ids.next("evt", now_ms)
}

/// The approval `id` as it stands now: expired first (and logged) if its time is up.
pub async fn current(state: &AppState, id: &str) -> Result<Option<Approval>, StoreError> {
    let Some(approvals) = state.approvals.as_ref() else {
        return Ok(None);
    };
    let Some(approval) = approvals.store.get(id).await? else {
        return Ok(None);
    };
    let now = state.clock.now_ms();
    if approval.is_due(now) {
        return Ok(Some(
            expire_one(state, &approval.id, now)
                .await?
                .unwrap_or(approval),
        ));
    }
    Ok(Some(approval))
}

/// Expires one approval if it is due; `None` when it was not (someone changed it first).
async fn expire_one(
    state: &AppState,
    id: &str,
    now_ms: i64,
) -> Result<Option<Approval>, StoreError> {
    let Some(approvals) = state.approvals.as_ref() else {
        return Ok(None);
    };
    let apply = approvals::expire(event_id(state, now_ms), now_ms);
    match approvals.store.update(id, apply).await? {
        Ok((approval, event)) => {
            if let Err(why) = record(state, &[event], false).await {
                tracing::error!(error = %why, id, "an expiry could not be logged (it will be at the next start)");
            }
            Ok(Some(approval))
        }
        Err(_) => Ok(approvals.store.get(id).await?),
    }
}

/// Expires every approval whose time is up (the periodic sweep).
pub async fn sweep(state: &AppState) -> Result<usize, StoreError> {
    let Some(approvals) = state.approvals.as_ref() else {
        return Ok(0);
    };
    let now = state.clock.now_ms();
    let due = approvals.store.due(now).await?;
    let mut n = 0;
    for id in due {
        if expire_one(state, &id, now).await?.is_some() {
            n += 1;
        }
    }
    Ok(n)
}

/// Approvals `principal` may see, with `status` (all when `None`), newest first.
pub async fn list(
    state: &AppState,
    principal: &Principal,
    status: Option<Status>,
    limit: usize,
) -> Result<Vec<Approval>, StoreError> {
    let Some(approvals) = state.approvals.as_ref() else {
        return Ok(Vec::new());
    };
    // Bring expiries up to date first, so that `pending` means pending now.
    sweep(state).await?;
    let all = approvals.store.list(status, SCAN_LIMIT).await?;
    Ok(all
        .into_iter()
        .filter(|a| approvals::may_see(a, principal))
        .take(limit)
        .collect())
}

/// How many approvals a listing looks through before filtering by who may see them.
pub const SCAN_LIMIT: usize = 10_000;

/// `approve` or `reject`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Verb {
    Approve,
    Reject,
}

/// Why an approve or reject was not recorded.
#[derive(Debug)]
pub enum ActError {
    Refused(Refused),
    Store(StoreError),
    /// Stored, but the log did not take the line: answered 503 (it is logged at the next
    /// start).
    Log(String, Box<Approval>),
}

/// Approves or rejects `id` as `principal` with `comment`.
pub async fn act(
    state: &AppState,
    principal: &Principal,
    id: &str,
    verb: Verb,
    comment: Option<String>,
) -> Result<Approval, ActError> {
    let Some(approvals) = state.approvals.as_ref() else {
        return Err(ActError::Refused(Refused::Unknown));
    };
    let before = current(state, id).await.map_err(ActError::Store)?;
    match before {
        None => return Err(ActError::Refused(Refused::Unknown)),
        Some(a) if !approvals::may_see(&a, principal) => {
            // Someone who may not see it learns only that it is not theirs to act on (not
            // whom it names).
            return Err(ActError::Refused(Refused::Forbidden(format!(
                "`{}` is not among the approvers of approval `{}`",
                principal.name, a.id
            ))));
        }
        Some(_) => {}
    }
    let now = state.clock.now_ms();
    let apply = match verb {
        Verb::Approve => approvals::approve(principal.clone(), comment, event_id(state, now), now),
        Verb::Reject => approvals::reject(principal.clone(), comment, event_id(state, now), now),
    };
    let (approval, event) = match approvals.store.update(id, apply).await {
        Ok(Ok(done)) => done,
        Ok(Err(refused)) => return Err(ActError::Refused(refused)),
        Err(e) => return Err(ActError::Store(e)),
    };
    if let Err(why) = record(state, &[event], false).await {
        return Err(ActError::Log(why, Box::new(approval)));
    }
    Ok(approval)
}

/// What the approval layer did to a decision, for the response and the log line.
#[derive(Debug, Default)]
pub struct Outcome {
    /// The `approval` of the response.
    pub answer: Option<ApprovalRef>,
    /// Whether the claimed approval was used (the decision became `allow`).
    pub used: bool,
}

/// Applies approvals to a fresh `decision` of `principal`'s request `doc` (the request
/// document as decided): uses the claimed approval when it covers the decision, creates or
/// finds the pending approval of a `require_approval`, and says in `errors` why a claimed
/// approval was not used.
#[expect(clippy::too_many_arguments, reason = "the parts of one decision")]
pub async fn on_decision(
    state: &AppState,
    principal: Option<&Principal>,
    doc: &Json,
    decision: &mut Decision,
    policy: &str,
    decision_id: &str,
    received_ms: i64,
    claimed: Option<&str>,
) -> Outcome {
    let mut outcome = Outcome::default();
    let request = approvals::bound_request(doc);
    let note = |decision: &mut Decision, message: String| {
        decision.errors.push(DecisionError {
            rule: None,
            message,
        });
    };
    let (Some(approvals), Some(principal)) = (state.approvals.as_ref(), principal) else {
        if let Some(id) = claimed {
            note(
                decision,
                format!(
                    "approval `{id}` was not used: this server keeps no approvals without a tokens file (start it with `--tokens FILE`)"
                ),
            );
        }
        // Without tokens a `require_approval` is answered as such, without an approval
        // (nobody could act on it); the decision stays exactly what `ward eval` decides.
        return outcome;
    };
    let digest = approvals::digest(&request);
    if let Some(id) = claimed {
        match decision.decision {
            EffectKind::Deny => note(
                decision,
                format!(
                    "approval `{id}` was not used: the decision is deny, and no approval overrides a deny"
                ),
            ),
            EffectKind::Allow => note(
                decision,
                format!("approval `{id}` was not used: the request is allowed without it"),
            ),
            EffectKind::RequireApproval => {
                match resume(
                    state,
                    approvals,
                    principal,
                    id,
                    &digest,
                    decision,
                    decision_id,
                    received_ms,
                )
                .await
                {
                    Ok(approval) => {
                        decision.decision = EffectKind::Allow;
                        decision.clear_approvers();
                        outcome.answer = Some(approval.reference());
                        outcome.used = true;
                        return outcome;
                    }
                    Err(why) => note(decision, format!("{why}: this is the decision without it")),
                }
            }
        }
    }
    if decision.decision != EffectKind::RequireApproval {
        return outcome;
    }
    let now = state.clock.now_ms();
    let (approval, event) = approvals::new_approval(
        state.ids.next("apr", now),
        event_id(state, now),
        principal,
        request,
        approvals::needs_of(decision),
        policy,
        decision_id,
        now,
        approvals.ttl_ms,
    );
    match approvals.store.create_or_get(approval, event.clone()).await {
        Ok((approval, created)) => {
            if created {
                if let Err(why) = record(state, &[event], false).await {
                    note(
                        decision,
                        format!("the approval could not be recorded in the decision log: {why}"),
                    );
                    return outcome;
                }
                if let Some(notifier) = &approvals.notifier {
                    notifier.send(&approval);
                }
            }
            outcome.answer = Some(approval.reference());
        }
        Err(e) => note(decision, format!("no approval was created: {e}")),
    }
    outcome
}

/// Uses approval `id` for `decision`, atomically; the reason when it cannot.
#[expect(clippy::too_many_arguments, reason = "the parts of one resume")]
async fn resume(
    state: &AppState,
    approvals: &Approvals,
    principal: &Principal,
    id: &str,
    digest: &str,
    decision: &Decision,
    decision_id: &str,
    received_ms: i64,
) -> Result<Approval, String> {
    let not_used = |why: String| format!("approval `{id}` was not used: {why}");
    let unknown = || not_used("there is no such approval".into());
    let found = current(state, id)
        .await
        .map_err(|e| not_used(e.to_string()))?;
    let Some(found) = found else {
        return Err(unknown());
    };
    // Judged at the server's clock when the request arrived, never at the request's `at`.
    if let Some(why) = approvals::cannot_use(&found, principal, digest, decision, received_ms) {
        return Err(why);
    }
    let apply = approvals::use_for(
        principal.clone(),
        digest.to_owned(),
        decision.clone(),
        decision_id.to_owned(),
        event_id(state, received_ms),
        received_ms,
    );
    match approvals.store.update(id, apply).await {
        Ok(Ok((approval, event))) => {
            // The allow is answered only once the `use` line is durable.
            record(state, &[event], false).await.map_err(|why| {
                not_used(format!("the decision log did not take its use ({why})"))
            })?;
            Ok(approval)
        }
        Ok(Err(Refused::Conflict(why))) => Err(why),
        Ok(Err(Refused::Unknown)) => Err(unknown()),
        Ok(Err(other)) => Err(other.message(id)),
        Err(e) => Err(not_used(e.to_string())),
    }
}

/// The number of approvals by status, for the metrics.
pub async fn counts(state: &AppState) -> Vec<(Status, u64)> {
    match state.approvals.as_ref() {
        Some(a) => a.store.counts().await.unwrap_or_default(),
        None => Vec::new(),
    }
}
