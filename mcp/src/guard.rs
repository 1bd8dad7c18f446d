//! Deciding one `tools/call`: the call becomes a Ward request through the [`Mapping`], the
//! engine decides it at the guard's clock, the decision is written to the guard's log (and is
//! durable) before anything else happens, and the [`Verdict`] says whether the call goes on to
//! the tool server or what the guard answers instead.
//!
//! - `allow`: forwarded, unchanged.
//! - `deny`, a call that cannot be mapped, arguments that do not validate: answered with a
//!   tool result `isError: true` whose text gives the decision and every message.
//! - `require_approval`: with an approval service, asked there (created, or resumed when the
//!   guard holds an approval for the same request) and forwarded only if the service's fresh
//!   decision is `allow`; otherwise answered with the approval's id and approvers. Without one,
//!   denied, saying that an approval service is needed.
//!
//! This module knows decisions, the log and the approval service; it does not know processes,
//! pipes or how lines are framed.

use std::collections::HashMap;
use std::fmt::{Debug, Write as _};
use std::sync::{Arc, Mutex};

use serde_json::{Map, Value as Json};
use ward_embed::{Decision, EffectKind, Engine};
use ward_log::{Kind, Log, Record};

use crate::approvals::{ApprovalService, ServiceDecision};
use crate::ids::Ids;
use crate::jsonrpc::{self, INVALID_PARAMS, RefusedCall};
use crate::mapping::Mapping;
use crate::policy::Loaded;

// The guard's clock decides `now`: the client cannot set it.
pub use ward_log::clock::{Clock, SystemClock};

/// A clock that stands still (tests and recorded exchanges).
#[derive(Debug, Clone, Copy)]
pub struct FixedClock(pub i64);

impl Clock for FixedClock {
    fn now_ms(&self) -> i64 {
        self.0
    }
}

/// What happens to a call.
#[derive(Debug, PartialEq, Eq)]
pub enum Verdict {
    /// Pass the client's line on to the tool server, unchanged.
    Forward,
    /// Do not pass it on; write this line to the client instead.
    Answer(String),
}

/// Everything a decision needs.
#[derive(Debug)]
pub struct Guard {
    /// Shared with the thread that precomputes its per-entity values ([`precompute`]).
    engine: Arc<Engine>,
    mapping: Mapping,
    policy: String,
    estate: String,
    agent: Option<String>,
    approvals: Option<ApprovalService>,
    /// The approval the service gave for each request (by its canonical text), so that the
    /// same call repeated is resumed with it.
    held: Mutex<HashMap<String, String>>,
    log: Log,
    clock: Box<dyn Clock>,
    ids: Ids,
}

/// Computes every per-entity value of the policy (`Engine::precompute`) on a thread of its
/// own, so that tool calls do not pay for computing one the first time an entity is named; calls
/// are decided meanwhile, the same way. The thread stops once the guard has let go of the
/// engine. A thread that cannot be started changes nothing: decisions compute the values as
/// they need them.
fn precompute(engine: &Arc<Engine>) {
    let engine = Arc::clone(engine);
    let _ = std::thread::Builder::new()
        .name("ward-precompute".into())
        .spawn(move || engine.precompute_while(&|| Arc::strong_count(&engine) > 1));
}

/// How the guard is set up.
#[derive(Debug)]
pub struct GuardConfig {
    pub mapping: Mapping,
    /// `context.agent` of every request (`--agent`).
    pub agent: Option<String>,
    /// Where `require_approval` is sent (`--server`).
    pub approvals: Option<ApprovalService>,
    pub clock: Box<dyn Clock>,
    pub ids: Ids,
}

/// How a decided call ended, for the log.
#[derive(Clone, Copy)]
enum Outcome {
    Forwarded,
    Answered,
}

/// What goes into one decision line besides the decision.
struct Line<'a> {
    id: &'a str,
    received_ms: i64,
    jsonrpc_id: &'a str,
    tool: Option<&'a str>,
    request: Option<&'a Json>,
    at: Option<&'a str>,
    decision: &'a Decision,
    approval: Option<&'a str>,
    service: Option<&'a ServiceDecision>,
    outcome: Outcome,
}

impl Guard {
    /// A guard deciding with `loaded`, logging to `log`. Writes the log's `reload` line of
    /// the start (the versions, the command it guards).
    pub fn start(
        loaded: Loaded,
        config: GuardConfig,
        log: Log,
        command: &[String],
    ) -> Result<Guard, String> {
        let engine = Arc::new(loaded.engine);
        precompute(&engine);
        let guard = Guard {
            engine,
            mapping: config.mapping,
            policy: loaded.policy,
            estate: loaded.estate,
            agent: config.agent,
            approvals: config.approvals,
            held: Mutex::new(HashMap::new()),
            log,
            clock: config.clock,
            ids: config.ids,
        };
        let now = guard.clock.now_ms();
        let id = guard.ids.next("rld", now);
        let record = Record::new(Kind::Reload, id, now)
            .field("trigger", "start")
            .and_then(|r| r.field("principal", &guard.agent))
            .and_then(|r| r.field("ok", &true))
            .and_then(|r| r.field("changed", &true))
            .and_then(|r| r.field("policy", &guard.policy))
            .and_then(|r| r.field("estate", &guard.estate))
            .and_then(|r| r.field("files", &loaded.files))
            .and_then(|r| {
                r.field(
                    "mcp",
                    &serde_json::json!({
                        "command": command,
                        "server": guard.approvals.as_ref().map(ApprovalService::url),
                    }),
                )
            })
            .map_err(|e| e.to_string())?;
        guard
            .log
            .append_blocking(record)
            .map_err(|e| format!("cannot write the decision log: {e}"))?;
        Ok(guard)
    }

    /// The log (to close it when the session ends).
    pub fn log(&self) -> &Log {
        &self.log
    }

    /// Decides the `tools/call` with id `jsonrpc_id` (its JSON text) and `params`.
    pub fn decide_call(&self, jsonrpc_id: &str, params: Option<&Json>) -> Verdict {
        let received_ms = self.clock.now_ms();
        let id = self.ids.next("dec", received_ms);
        let (tool, arguments) = match call_parts(params) {
            Ok(parts) => parts,
            Err(reason) => {
                let decision = Decision::rejected(reason.clone());
                let line = Line {
                    id: &id,
                    received_ms,
                    jsonrpc_id,
                    tool: params.and_then(|p| p.get("name")).and_then(Json::as_str),
                    request: None,
                    at: None,
                    decision: &decision,
                    approval: None,
                    service: None,
                    outcome: Outcome::Answered,
                };
                let answer = jsonrpc::error_response(jsonrpc_id, INVALID_PARAMS, &reason);
                return match self.write(&line) {
                    Ok(()) => Verdict::Answer(answer),
                    Err(e) => Verdict::Answer(self.log_failed(jsonrpc_id, &id, &e)),
                };
            }
        };
        let at = jiff::Timestamp::from_second(received_ms.div_euclid(1000))
            .map(|t| t.to_string())
            .unwrap_or_default();
        let program = self.engine.program();
        let (request, decision) =
            match self
                .mapping
                .request(program, tool, &arguments, self.agent.as_deref(), &at)
            {
                Ok((_, request)) => {
                    let decision = self.engine.decide(&request);
                    (request, decision)
                }
                Err(unmapped) => {
                    // Logged as the default mapping would have built it.
                    let mut context = Map::new();
                    if let Some(agent) = &self.agent {
                        context.insert(crate::mapping::AGENT.into(), Json::String(agent.clone()));
                    }
                    let request = serde_json::json!({
                        "action": tool, "at": at, "args": arguments, "context": context,
                    });
                    (request, Decision::rejected(unmapped.0))
                }
            };
        let mut line = Line {
            id: &id,
            received_ms,
            jsonrpc_id,
            tool: Some(tool),
            request: Some(&request),
            at: Some(&at),
            decision: &decision,
            approval: None,
            service: None,
            outcome: Outcome::Answered,
        };
        match decision.decision {
            EffectKind::Allow => {
                line.outcome = Outcome::Forwarded;
                match self.write(&line) {
                    Ok(()) => Verdict::Forward,
                    Err(e) => Verdict::Answer(self.log_failed(jsonrpc_id, &id, &e)),
                }
            }
            EffectKind::Deny => {
                let text = deny_text(tool, &id, &decision);
                self.answer(&line, text, None)
            }
            EffectKind::RequireApproval => match &self.approvals {
                None => {
                    let text = no_service_text(tool, &id, &decision);
                    self.answer(&line, text, None)
                }
                Some(service) => self.ask_service(service, line, tool, &request),
            },
        }
    }

    /// A `require_approval` call sent to the approval service: resumed with the approval the
    /// guard holds for the same request, or a new one requested.
    fn ask_service(
        &self,
        service: &ApprovalService,
        line: Line<'_>,
        tool: &str,
        request: &Json,
    ) -> Verdict {
        let key = canonical_request(request);
        let held = self.held.lock().ok().and_then(|h| h.get(&key).cloned());
        let asked = service.decide(request, held.as_deref(), line.id);
        let line = Line {
            approval: held.as_deref(),
            ..line
        };
        let answered = match asked {
            Err(reason) => {
                let text = format!(
                    "{}\nthe approval service could not be asked, so the call is denied: {reason}",
                    approval_head(tool, line.id, line.decision)
                );
                return self.answer(&line, text, None);
            }
            Ok(answered) => answered,
        };
        let mut line = Line {
            service: Some(&answered),
            ..line
        };
        let approval = answered.approval();
        if let (Some((apr, _, _)), Ok(mut h)) = (&approval, self.held.lock()) {
            h.insert(key.clone(), apr.clone());
        }
        match (answered.decision(), held.as_deref()) {
            // Resumed: the service's fresh decision is `allow` with the approval we held.
            ("allow", Some(_)) => {
                if let Ok(mut h) = self.held.lock() {
                    h.remove(&key);
                }
                line.outcome = Outcome::Forwarded;
                match self.write(&line) {
                    Ok(()) => Verdict::Forward,
                    Err(e) => Verdict::Answer(self.log_failed(line.jsonrpc_id, line.id, &e)),
                }
            }
            // The service allows what this guard's policy sends for approval: the two differ,
            // and an allow that no approval covers is not an approval.
            ("allow", None) => {
                let text = format!(
                    "{}\nthe approval service decided `allow` where this guard's policy needs an approval: the two policies differ, so the call is denied",
                    approval_head(tool, line.id, line.decision)
                );
                self.answer(&line, text, Some(&answered))
            }
            ("require_approval", _) => {
                let text = pending_text(tool, line.id, line.decision, &answered, held.as_deref());
                self.answer(&line, text, Some(&answered))
            }
            _ => {
                let text = service_deny_text(tool, line.id, &answered);
                self.answer(&line, text, Some(&answered))
            }
        }
    }

    /// Logs `line` as answered and builds the tool result with `text`.
    fn answer(&self, line: &Line<'_>, text: String, service: Option<&ServiceDecision>) -> Verdict {
        if let Err(e) = self.write(line) {
            return Verdict::Answer(self.log_failed(line.jsonrpc_id, line.id, &e));
        }
        let meta = decision_meta(line.id, line.decision, service);
        Verdict::Answer(jsonrpc::tool_error_result(line.jsonrpc_id, &text, &meta))
    }

    /// Logs a `tools/call` refused before it could be decided (a duplicate key, a batch, a
    /// call without an id). When `deny_call` is set, returns the denial to answer with.
    pub fn refused_call(&self, call: &RefusedCall, deny_call: Option<&str>) -> Option<String> {
        let received_ms = self.clock.now_ms();
        let id = self.ids.next("dec", received_ms);
        let decision = Decision::rejected(call.reason.clone());
        let jsonrpc_id = call.id.as_deref().unwrap_or("null");
        let line = Line {
            id: &id,
            received_ms,
            jsonrpc_id,
            tool: call.tool.as_deref(),
            request: None,
            at: None,
            decision: &decision,
            approval: None,
            service: None,
            outcome: Outcome::Answered,
        };
        let logged = self.write(&line);
        let jsonrpc_id = deny_call?;
        Some(match logged {
            Err(e) => self.log_failed(jsonrpc_id, &id, &e),
            Ok(()) => {
                let tool = call.tool.as_deref().unwrap_or("(unknown)");
                let text = deny_text(tool, &id, &decision);
                let meta = decision_meta(&id, &decision, None);
                jsonrpc::tool_error_result(jsonrpc_id, &text, &meta)
            }
        })
    }

    /// The answer when a decision could not be logged: denied, whatever it was.
    fn log_failed(&self, jsonrpc_id: &str, id: &str, err: &str) -> String {
        let decision = Decision::rejected(format!(
            "the decision could not be written to the decision log, so the call is denied: {err}"
        ));
        let text = deny_text("", id, &decision);
        jsonrpc::tool_error_result(jsonrpc_id, &text, &decision_meta(id, &decision, None))
    }

    /// Appends the decision line and waits until it is durable.
    fn write(&self, line: &Line<'_>) -> Result<(), String> {
        let jsonrpc_id: Json = serde_json::from_str(line.jsonrpc_id).unwrap_or(Json::Null);
        let mcp = serde_json::json!({
            "tool": line.tool,
            "id": jsonrpc_id,
            "outcome": match line.outcome {
                Outcome::Forwarded => "forwarded",
                Outcome::Answered => "answered",
            },
        });
        let mut record = Record::new(Kind::Decision, line.id, line.received_ms)
            .field("principal", &self.agent)
            .and_then(|r| r.field("mcp", &mcp))
            .map_err(|e| e.to_string())?;
        if let Some(approval) = line.approval {
            record = record
                .field("approval", approval)
                .map_err(|e| e.to_string())?;
        }
        record = record
            .field("request", &line.request)
            .and_then(|r| r.field("at", &line.at))
            .and_then(|r| r.field("decision", line.decision))
            .and_then(|r| r.field("policy", &self.policy))
            .and_then(|r| r.field("estate", &self.estate))
            .map_err(|e| e.to_string())?;
        if let Some(service) = line.service {
            let doc = &service.doc;
            let summary = serde_json::json!({
                "status": service.status,
                "id": doc.get("id"),
                "decision": doc.get("decision"),
                "errors": doc.get("errors"),
                "approval": doc.get("approval"),
                "policy": doc.get("policy"),
            });
            record = record
                .field("service", &summary)
                .map_err(|e| e.to_string())?;
        }
        self.log
            .append_blocking(record)
            .map(|_| ())
            .map_err(|e| e.to_string())
    }
}

/// The tool's name and its arguments, or why `params` is not a call.
fn call_parts(params: Option<&Json>) -> Result<(&str, Map<String, Json>), String> {
    let Some(Json::Object(params)) = params else {
        return Err(
            "`tools/call` needs `params` with the tool's `name` and its `arguments`".into(),
        );
    };
    let Some(Json::String(name)) = params.get("name") else {
        return Err("`tools/call` needs `params.name`, the tool's name as a string".into());
    };
    match params.get("arguments") {
        None | Some(Json::Null) => Ok((name, Map::new())),
        Some(Json::Object(args)) => Ok((name, args.clone())),
        Some(_) => Err("`params.arguments` of `tools/call` must be an object".into()),
    }
}

/// The request as one canonical text (keys sorted), without `at`: the same call made again
/// later is the same request.
fn canonical_request(request: &Json) -> String {
    let mut request = request.clone();
    if let Some(obj) = request.as_object_mut() {
        obj.remove("at");
    }
    request.to_string()
}

/// `_meta.ward/decision` of an answer: the guard's decision, and the service's answer.
fn decision_meta(id: &str, decision: &Decision, service: Option<&ServiceDecision>) -> Json {
    let mut meta = serde_json::json!({
        "id": id,
        "decision": decision.decision.as_str(),
        "fired": decision.fired(),
        "approvers": decision.approvers(),
        "errors": decision.errors,
    });
    if let (Some(service), Some(obj)) = (service, meta.as_object_mut()) {
        obj.insert(
            "service".into(),
            serde_json::json!({
                "id": service.doc.get("id"),
                "decision": service.decision(),
                "approvers": service.doc.get("approvers"),
                "errors": service.doc.get("errors"),
                "approval": service.doc.get("approval"),
            }),
        );
    }
    meta
}

fn reasons(out: &mut String, decision: &Decision) {
    for fired in decision.fired().iter() {
        let _ = write!(
            out,
            "\n- rule `{}` ({}",
            fired.rule(),
            fired.effect().as_str()
        );
        if let Some(approvers) = fired.approvers() {
            let _ = write!(out, ", approvers: {}", names(&approvers.to_vec()));
        }
        let _ = write!(
            out,
            "): {}",
            fired.message().as_deref().unwrap_or("(no message)")
        );
    }
    for error in &decision.errors {
        match &error.rule {
            Some(rule) => {
                let _ = write!(out, "\n- error in rule `{rule}`: {}", error.message);
            }
            None => {
                let _ = write!(out, "\n- {}", error.message);
            }
        }
    }
}

fn names(list: &[String]) -> String {
    if list.is_empty() {
        "(none)".into()
    } else {
        list.join(", ")
    }
}

fn deny_text(tool: &str, id: &str, decision: &Decision) -> String {
    let mut out = if tool.is_empty() {
        format!("ward denied this call (decision `deny`, {id})")
    } else {
        format!("ward denied the call to `{tool}` (decision `deny`, {id})")
    };
    reasons(&mut out, decision);
    out
}

fn approval_head(tool: &str, id: &str, decision: &Decision) -> String {
    let mut out = format!(
        "ward: the call to `{tool}` needs approval (decision `require_approval`, {id}), approvers: {}",
        names(&decision.approvers().to_vec())
    );
    reasons(&mut out, decision);
    out
}

fn no_service_text(tool: &str, id: &str, decision: &Decision) -> String {
    format!(
        "{}\nthis guard has no approval service (`--server`) to ask, so the call is denied: an approval service is needed for calls that need approval",
        approval_head(tool, id, decision)
    )
}

fn pending_text(
    tool: &str,
    id: &str,
    decision: &Decision,
    service: &ServiceDecision,
    held: Option<&str>,
) -> String {
    let mut out = approval_head(tool, id, decision);
    let approvers: Vec<String> = service
        .doc
        .get("approvers")
        .and_then(Json::as_array)
        .map(|a| {
            a.iter()
                .filter_map(Json::as_str)
                .map(str::to_owned)
                .collect()
        })
        .unwrap_or_default();
    match service.approval() {
        Some((apr, status, expires)) => {
            let _ = write!(
                out,
                "\napproval `{apr}` is {status} (expires {expires}); approvers: {}",
                names(&approvers)
            );
        }
        None => {
            let _ = write!(
                out,
                "\nthe approval service gave no approval for it; approvers: {}",
                names(&approvers)
            );
        }
    }
    if held.is_some() {
        for error in service
            .doc
            .get("errors")
            .and_then(Json::as_array)
            .into_iter()
            .flatten()
        {
            if let Some(message) = error.get("message").and_then(Json::as_str) {
                let _ = write!(out, "\n- {message}");
            }
        }
    }
    out.push_str(
        "\nthe call was not made: once it is approved, make the same call again (same tool, same arguments) and it goes through",
    );
    out
}

fn service_deny_text(tool: &str, id: &str, service: &ServiceDecision) -> String {
    let mut out = format!(
        "ward denied the call to `{tool}`: the approval service decided `{}` ({}, status {}; this guard's decision {id} was `require_approval`)",
        service
            .doc
            .get("decision")
            .and_then(Json::as_str)
            .unwrap_or("deny"),
        service
            .doc
            .get("id")
            .and_then(Json::as_str)
            .unwrap_or("no id"),
        service.status,
    );
    let decision: Option<Decision> = serde_json::from_value(service.doc.clone()).ok();
    match decision {
        Some(decision) => reasons(&mut out, &decision),
        None => out.push_str("\n- the service's answer is not a decision"),
    }
    out
}
