//! The HTTP API: one handler per endpoint, each with its security argument beside it (who may
//! call it, what it trusts from the caller, what it never trusts).
//!
//! Decision endpoints answer every failure with a decision document (`"decision": "deny"` and
//! the reason in `errors`); the others answer failures with `{"error": {"status", "code",
//! "message"}}`. Nothing here decides: `decide` does; nothing here writes files: the log does.

use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::time::{Duration, Instant};

use axum::Router;
use axum::body::Body;
use axum::extract::{Request, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::Response;
use axum::routing::{get, post};
use http_body_util::BodyExt;
use serde_json::{Value as Json, json};

use crate::auth::{self, Denied, Principal, Role};
use crate::decide::{self, Decided};
use crate::reload::{self, Trigger};
use crate::state::AppState;

/// The OpenAPI 3.1 description of this API.
pub const OPENAPI: &str = include_str!("../openapi.json");

/// Every route of the service.
pub fn router(state: Arc<AppState>) -> Router {
    let limit = state.config.limits.request_timeout;
    Router::new()
        .route("/v1/decide", post(decide_one))
        .route("/v1/decide/batch", post(decide_batch))
        .route("/v1/reload", post(reload_now))
        .route("/v1/status", get(status))
        .route("/v1/plan", post(crate::plan::plan))
        .route("/v1/approvals", get(list_approvals))
        .route("/v1/approvals/{id}", get(get_approval))
        .route("/v1/approvals/{id}/approve", post(approve))
        .route("/v1/approvals/{id}/reject", post(reject))
        .route("/ui", get(crate::ui::redirect))
        .route("/ui/", get(crate::ui::page))
        .route("/ui/{file}", get(crate::ui::asset))
        .route("/v1/openapi.json", get(openapi))
        .route("/health", get(health))
        .route("/ready", get(ready))
        .route("/metrics", get(metrics))
        .fallback(not_found)
        .method_not_allowed_fallback(method_not_allowed)
        .layer(axum::middleware::from_fn(move |request, next| {
            backstop(request, next, limit)
        }))
        .with_state(state)
}

/// The error document of the non-decision endpoints.
pub fn error_response(status: StatusCode, code: &str, message: &str) -> Response {
    let body = json!({"error": {"status": status.as_u16(), "code": code, "message": message}});
    json_response(status, body.to_string().into_bytes())
}

pub(crate) fn json_response(status: StatusCode, body: Vec<u8>) -> Response {
    let mut response = Response::new(Body::from(body));
    *response.status_mut() = status;
    response.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/json"),
    );
    response
}

pub(crate) fn denied_response(denied: &Denied) -> Response {
    match denied {
        Denied::Unauthenticated(why) => {
            let mut response = error_response(StatusCode::UNAUTHORIZED, "unauthenticated", why);
            response
                .headers_mut()
                .insert(header::WWW_AUTHENTICATE, HeaderValue::from_static("Bearer"));
            response
        }
        Denied::Forbidden(why) => error_response(StatusCode::FORBIDDEN, "forbidden", why),
    }
}

pub(crate) fn authorization(headers: &HeaderMap) -> Option<&[u8]> {
    headers
        .get(header::AUTHORIZATION)
        .map(HeaderValue::as_bytes)
}

// --- Deciding ------------------------------------------------------------------------------

/// `POST /v1/decide`.
///
/// Security: callers with the role `agent` or `admin` (anyone on loopback without tokens, as
/// `anonymous`). Trusted from the caller: the request proper (action, args, context), checked
/// against the schema and the estate before anything is decided; `at` only within
/// `--max-skew` of the server's clock; `id` only as an opaque label echoed back and logged.
/// Never trusted: a clock further away (denied, so an agent cannot move itself into a change
/// window), duplicate keys (denied, naming them: the log and the decision must read the same
/// request), an `approval` id (it is looked up and used only when it belongs to this
/// principal, binds this exact request, is approved, unexpired and unused, and covers every
/// approval rule of the fresh decision, judged at the server's clock — a resume's own `at`
/// is replaced by it; a fresh deny is never overridden), a decision `id` (the server issues
/// ids; one sent by the caller is only echoed as `request_id`), bodies beyond the size
/// limit, content that is not `application/json`.
async fn decide_one(State(state): State<Arc<AppState>>, request: Request) -> Response {
    let started = Instant::now();
    let received_ms = state.clock.now_ms();
    let explain = match explain_flag(request.uri().query()) {
        Ok(explain) => explain,
        Err(message) => {
            let principal = principal_or_none(&state, request.headers());
            let decided =
                decide::reject(&state, principal.as_ref(), received_ms, 400, &message, None);
            return answer(&state, vec![decided], started, None).await;
        }
    };
    let body = match read_body(&state, request, received_ms).await {
        Ok((principal, bytes)) => (principal, bytes),
        Err(decided) => return answer(&state, vec![*decided], started, None).await,
    };
    let (principal, bytes) = body;
    let decided = match crate::policy::parse_json(&bytes) {
        Ok(doc) => decide::decide_doc(&state, Some(&principal), doc, received_ms, explain).await,
        Err(message) => decide::reject(
            &state,
            Some(&principal),
            received_ms,
            400,
            &format!("the body is not a JSON request: {message}"),
            Some(&bytes),
        ),
    };
    answer(&state, vec![decided], started, None).await
}

/// `POST /v1/decide/batch`: `{"requests": [...]}` → `{"decisions": [...]}`, in order.
///
/// Security: as `POST /v1/decide`, request by request: one bad request is a `deny` in its
/// place and does not stop the others. Trusted and never trusted: as there, for each
/// request; plus the number of requests, at most `max_batch`.
async fn decide_batch(State(state): State<Arc<AppState>>, request: Request) -> Response {
    let started = Instant::now();
    let received_ms = state.clock.now_ms();
    let explain = match explain_flag(request.uri().query()) {
        Ok(explain) => explain,
        Err(message) => {
            let principal = principal_or_none(&state, request.headers());
            let decided =
                decide::reject(&state, principal.as_ref(), received_ms, 400, &message, None);
            return answer(&state, vec![decided], started, None).await;
        }
    };
    let (principal, bytes) = match read_body(&state, request, received_ms).await {
        Ok(body) => body,
        Err(decided) => return answer(&state, vec![*decided], started, None).await,
    };
    let max = state.config.limits.max_batch;
    let requests = match crate::policy::parse_json(&bytes) {
        Ok(Json::Object(mut top)) => {
            let requests = top.remove("requests");
            let extra: Vec<String> = top.keys().map(|k| format!("`{k}`")).collect();
            match requests {
                Some(Json::Array(items)) if extra.is_empty() && items.len() <= max => Ok(items),
                Some(Json::Array(items)) if extra.is_empty() => Err(format!(
                    "a batch holds at most {max} requests, this one {}: split it",
                    items.len()
                )),
                _ if !extra.is_empty() => Err(format!(
                    "unknown key {} (a batch is `{{\"requests\": [...]}}`)",
                    extra.join(", ")
                )),
                _ => Err("a batch is `{\"requests\": [...]}`, with an array of requests".into()),
            }
        }
        Ok(_) => Err("a batch is `{\"requests\": [...]}`, with an array of requests".into()),
        Err(message) => Err(format!("the body is not JSON: {message}")),
    };
    let requests = match requests {
        Ok(requests) => requests,
        Err(message) => {
            let decided = decide::reject(
                &state,
                Some(&principal),
                received_ms,
                400,
                &message,
                Some(&bytes),
            );
            return answer(&state, vec![decided], started, None).await;
        }
    };
    let mut decided: Vec<Decided> = Vec::with_capacity(requests.len());
    for doc in requests {
        decided.push(decide::decide_doc(&state, Some(&principal), doc, received_ms, explain).await);
    }
    answer(&state, decided, started, Some(())).await
}

/// `explain=true|false`; any other query parameter is an error (so a typo is not ignored).
fn explain_flag(query: Option<&str>) -> Result<bool, String> {
    let mut explain = false;
    for pair in query
        .unwrap_or_default()
        .split('&')
        .filter(|p| !p.is_empty())
    {
        let (key, value) = pair.split_once('=').unwrap_or((pair, ""));
        match (key, value) {
            ("explain", "true" | "1" | "") => explain = true,
            ("explain", "false" | "0") => explain = false,
            ("explain", other) => {
                return Err(format!(
                    "`explain` must be `true` or `false`, not `{other}`"
                ));
            }
            (other, _) => {
                let hint = if strsim_close(other, "explain") {
                    " (did you mean `explain`?)"
                } else {
                    ""
                };
                return Err(format!("unknown query parameter `{other}`{hint}"));
            }
        }
    }
    Ok(explain)
}

fn strsim_close(a: &str, b: &str) -> bool {
    strsim::levenshtein(a, b) <= 2
}

/// The principal, if the headers name a valid one with the role to decide (for logging a
/// request refused before its body was read).
fn principal_or_none(state: &AppState, headers: &HeaderMap) -> Option<Principal> {
    auth::authorize(state.tokens.as_ref(), authorization(headers), Role::Agent).ok()
}

/// Authenticates, checks the content type and reads the body within the size and time
/// limits. Every refusal is a decided `deny`.
async fn read_body(
    state: &AppState,
    request: Request,
    received_ms: i64,
) -> Result<(Principal, Vec<u8>), Box<Decided>> {
    let (parts, body) = request.into_parts();
    let refuse = |principal: Option<&Principal>, status: u16, message: &str| {
        Box::new(decide::reject(
            state,
            principal,
            received_ms,
            status,
            message,
            None,
        ))
    };
    let principal = match auth::authorize(
        state.tokens.as_ref(),
        authorization(&parts.headers),
        Role::Agent,
    ) {
        Ok(principal) => principal,
        Err((principal, denied)) => {
            let (status, message) = match &denied {
                Denied::Unauthenticated(why) => (401, why.clone()),
                Denied::Forbidden(why) => (403, why.clone()),
            };
            return Err(refuse(principal.as_ref(), status, &message));
        }
    };
    let content_type = parts
        .headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("");
    let media = content_type.split(';').next().unwrap_or("").trim();
    if !media.eq_ignore_ascii_case("application/json") {
        let found = if content_type.is_empty() {
            "no `Content-Type`".to_owned()
        } else {
            format!("`Content-Type: {content_type}`")
        };
        return Err(refuse(
            Some(&principal),
            415,
            &format!(
                "the body must be JSON sent with `Content-Type: application/json`, found {found}"
            ),
        ));
    }
    let limit = state.config.limits.max_body_bytes;
    let too_large = || format!("the body is larger than the limit of {limit} bytes");
    if let Some(length) = parts
        .headers
        .get(header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<u64>().ok())
        && length > limit as u64
    {
        return Err(refuse(Some(&principal), 413, &too_large()));
    }
    let timeout = state.config.limits.request_timeout;
    let read = tokio::time::timeout(timeout, collect(body, limit)).await;
    match read {
        Ok(Ok(bytes)) => Ok((principal, bytes)),
        Ok(Err(Collect::TooLarge)) => Err(refuse(Some(&principal), 413, &too_large())),
        Ok(Err(Collect::Failed(e))) => Err(refuse(
            Some(&principal),
            400,
            &format!("the body could not be read: {e}"),
        )),
        Err(_) => Err(refuse(
            Some(&principal),
            408,
            &format!(
                "the body did not arrive within {}",
                crate::policy::format_duration(timeout.as_secs() as i64)
            ),
        )),
    }
}

pub(crate) enum Collect {
    TooLarge,
    Failed(String),
}

pub(crate) async fn collect(mut body: Body, limit: usize) -> Result<Vec<u8>, Collect> {
    let mut out = Vec::new();
    while let Some(frame) = body.frame().await {
        let frame = frame.map_err(|e| Collect::Failed(e.to_string()))?;
        if let Ok(data) = frame.into_data() {
            if out.len() + data.len() > limit {
                return Err(Collect::TooLarge);
            }
            out.extend_from_slice(&data);
        }
    }
    Ok(out)
}

/// Logs every decision, waits until the lines are durable, then answers. `batch`: answer
/// `{"decisions": [...]}` instead of the one document.
async fn answer(
    state: &AppState,
    mut decided: Vec<Decided>,
    started: Instant,
    batch: Option<()>,
) -> Response {
    let deadline = state.config.limits.request_timeout;
    let mut waits = Vec::with_capacity(decided.len());
    let mut failed: Option<String> = None;
    for d in &mut decided {
        match std::mem::replace(&mut d.record, Err(ward_log::LogError::Closed)) {
            Ok(record) => waits.push(state.append(record)),
            Err(e) => failed = Some(e.to_string()),
        }
    }
    for wait in waits {
        match tokio::time::timeout(deadline, wait).await {
            Ok(Ok(Ok(appended))) => {
                state.metrics.log_lines.fetch_add(1, Ordering::Relaxed);
                state.metrics.log_write_latency.observe(appended.waited);
            }
            Ok(Ok(Err(e))) => failed = Some(e.to_string()),
            Ok(Err(_)) => failed = Some("the decision log stopped".into()),
            Err(_) => failed = Some("the decision log did not confirm the write in time".into()),
        }
    }
    if let Some(why) = failed {
        state.metrics.log_failures.fetch_add(1, Ordering::Relaxed);
        state.metrics.rejected(503);
        tracing::error!(error = %why, "decision log write failed; answering deny");
        let message = format!(
            "the decision could not be recorded in the decision log, so it is denied: {why}"
        );
        let body = json!({
            "id": decided.first().map(|d| d.id.as_str()),
            "decision": "deny", "fired": [], "approvers": [],
            "errors": [{"rule": null, "message": message}],
            "policy": state.current.load().policy, "estate": state.current.load().estate, "at": null,
        });
        return json_response(
            StatusCode::SERVICE_UNAVAILABLE,
            body.to_string().into_bytes(),
        );
    }
    for d in &decided {
        state.metrics.decision(&d.action, d.outcome.as_str());
        if d.status != 200 {
            state.metrics.rejected(d.status);
        }
    }
    state.metrics.decision_latency.observe(started.elapsed());
    let (status, body) = match batch {
        None => match decided.into_iter().next() {
            Some(d) => (d.status, d.body),
            None => (500, Vec::new()),
        },
        Some(()) => {
            let mut body =
                Vec::with_capacity(decided.iter().map(|d| d.body.len() + 1).sum::<usize>() + 16);
            body.extend_from_slice(b"{\"decisions\":[");
            for (i, d) in decided.iter().enumerate() {
                if i > 0 {
                    body.push(b',');
                }
                body.extend_from_slice(&d.body);
            }
            body.extend_from_slice(b"]}");
            (200, body)
        }
    };
    let mut response = json_response(
        StatusCode::from_u16(status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR),
        body,
    );
    if status == 401 {
        response
            .headers_mut()
            .insert(header::WWW_AUTHENTICATE, HeaderValue::from_static("Bearer"));
    }
    response
}

// --- Operating -----------------------------------------------------------------------------

/// `POST /v1/reload`.
///
/// Security: `admin` only; without a tokens file nobody (file watching and `SIGHUP` still
/// reload). Trusted from the caller: nothing but the request to reload — which files are read
/// is fixed at start-up, and a body, if any, is ignored. Never trusted: the caller's word that
/// the new files are good: they are checked like at start-up, and a version that fails keeps
/// the old one serving.
async fn reload_now(State(state): State<Arc<AppState>>, headers: HeaderMap) -> Response {
    let principal =
        match auth::authorize(state.tokens.as_ref(), authorization(&headers), Role::Admin) {
            Ok(p) => p,
            Err((_, denied)) => return denied_response(&denied),
        };
    let report = reload::reload(&state, Trigger::Api, Some(principal.name), false).await;
    let status = if report.ok {
        StatusCode::OK
    } else {
        StatusCode::UNPROCESSABLE_ENTITY
    };
    let body = serde_json::to_vec(&report).unwrap_or_default();
    json_response(status, body)
}

/// `GET /v1/status`: versions, load times, the last reload error, counts, the log's head.
///
/// Security: any valid token (any role), or anyone on loopback without tokens: it reveals the
/// policy's hashes and file names and reload diagnostics, which an operator needs and an
/// outsider should not read. Trusts nothing from the caller (no input).
async fn status(State(state): State<Arc<AppState>>, headers: HeaderMap) -> Response {
    if let Err(denied) = any_principal(&state, &headers) {
        return denied_response(&denied);
    }
    let body = status_doc(&state);
    json_response(StatusCode::OK, body.to_string().into_bytes())
}

/// The `/v1/status` document.
pub fn status_doc(state: &AppState) -> Json {
    let version_doc = |v: &crate::policy::Version| {
        json!({
            "policy": v.policy, "estate": v.estate,
            "loaded_at": decide::format_time_ms(v.loaded_at_ms),
            "files": v.files, "rules": v.rules,
        })
    };
    let current = state.current.load_full();
    let shadow = state.shadow.as_ref().map(|s| version_doc(&s.load_full()));
    let (last, last_error, ok, failed) =
        state.reload_history(|h| (h.last.clone(), h.last_error.clone(), h.ok, h.failed));
    let [allow, deny, approval] = state.metrics.decisions_by_outcome();
    let head = state.log.head();
    json!({
        "ready": is_ready(state).is_ok(),
        "version": version_doc(&current),
        "shadow": shadow,
        "last_reload": last,
        "last_reload_error": last_error,
        "reloads": {"ok": ok, "failed": failed},
        "decisions": {"allow": allow, "deny": deny, "require_approval": approval},
        "log": {
            "dir": state.config.log_dir(),
            "head": {"seq": head.seq, "hash": head.hash},
            "failure": state.log.failure(),
            "torn_at_start": state.torn_at_start.as_ref().map(|t| json!({
                "file": t.file, "offset": t.offset, "bytes": t.bytes, "moved_to": t.moved_to,
            })),
        },
        "started_at": decide::format_time_ms(state.started_ms),
        "server_time": decide::format_time_ms(state.clock.now_ms()),
    })
}

fn any_principal(state: &AppState, headers: &HeaderMap) -> Result<Principal, Denied> {
    let Some(tokens) = state.tokens.as_ref() else {
        return Ok(Principal::anonymous());
    };
    // Any role will do: try each, keep the first that passes.
    let mut last = None;
    for role in Role::ALL {
        match auth::authorize(Some(tokens), authorization(headers), role) {
            Ok(p) => return Ok(p),
            Err((_, denied)) => last = Some(denied),
        }
    }
    Err(last.unwrap_or_else(|| Denied::Unauthenticated("unknown token".into())))
}

/// `GET /health`: the process is up and answering.
///
/// Security: anyone (load balancers probe without credentials). It reveals nothing but that
/// the server answers; it trusts nothing from the caller.
async fn health() -> Response {
    json_response(StatusCode::OK, br#"{"status":"ok"}"#.to_vec())
}

/// `GET /ready`: `200` while a policy and an estate are loaded and the log accepts lines;
/// `503` while draining or when the log failed (the server would only deny).
///
/// Security: anyone, as `/health`; the reason given is one short sentence with no policy
/// content.
async fn ready(State(state): State<Arc<AppState>>) -> Response {
    match is_ready(&state) {
        Ok(()) => json_response(StatusCode::OK, br#"{"ready":true}"#.to_vec()),
        Err(why) => json_response(
            StatusCode::SERVICE_UNAVAILABLE,
            json!({"ready": false, "reason": why})
                .to_string()
                .into_bytes(),
        ),
    }
}

fn is_ready(state: &AppState) -> Result<(), String> {
    if state.draining.load(Ordering::Relaxed) {
        return Err("the server is shutting down".into());
    }
    if let Some(why) = state.log.failure() {
        return Err(format!("the decision log cannot be written: {why}"));
    }
    Ok(())
}

/// `GET /metrics`: Prometheus text.
///
/// Security: as `/v1/status` (any valid token; anyone on loopback without tokens): counts by
/// action name reveal what agents do. Trusts nothing from the caller.
async fn metrics(State(state): State<Arc<AppState>>, headers: HeaderMap) -> Response {
    if let Err(denied) = any_principal(&state, &headers) {
        return denied_response(&denied);
    }
    let counts = crate::workflow::counts(&state).await;
    let approvals: Vec<(&str, u64)> = crate::approvals::Status::ALL
        .iter()
        .map(|s| {
            let n = counts.iter().find(|(c, _)| c == s).map_or(0, |(_, n)| *n);
            (s.as_str(), n)
        })
        .collect();
    let text = state.metrics.render(&approvals, &state.log.stats());
    let mut response = Response::new(Body::from(text));
    response.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("text/plain; version=0.0.4; charset=utf-8"),
    );
    response
}

/// `GET /v1/openapi.json`: the API's description.
///
/// Security: anyone; it is public documentation and trusts nothing from the caller.
async fn openapi() -> Response {
    json_response(StatusCode::OK, OPENAPI.as_bytes().to_vec())
}

// --- Approvals -----------------------------------------------------------------------------

/// The principal of an approvals call: any valid token (what it may see or do is decided per
/// approval). Without a tokens file nobody: `403`.
fn approvals_principal(state: &AppState, headers: &HeaderMap) -> Result<Principal, Box<Response>> {
    if state.tokens.is_none() || state.approvals.is_none() {
        return Err(Box::new(error_response(
            StatusCode::FORBIDDEN,
            "forbidden",
            "approvals need a tokens file: without `--tokens` nobody may see or act on them",
        )));
    }
    any_principal(state, headers).map_err(|d| Box::new(denied_response(&d)))
}

fn approval_json(approval: &crate::approvals::Approval) -> Vec<u8> {
    serde_json::to_vec(approval).unwrap_or_default()
}

fn store_unavailable(e: &crate::approvals::StoreError) -> Response {
    tracing::error!(error = %e, "the approvals store failed");
    error_response(
        StatusCode::SERVICE_UNAVAILABLE,
        "approvals_unavailable",
        &format!("{e}: nothing was changed"),
    )
}

/// The largest body of an approve or reject.
const MAX_ACTION_BODY: usize = 64 * 1024;
/// The longest comment, in characters.
pub const MAX_COMMENT: usize = 2000;

/// `GET /v1/approvals?status=pending&limit=100`: newest first.
///
/// Security: any valid token. An admin sees every approval, an approver those whose entries
/// name them or one of their groups, anyone the ones they requested; without tokens nobody
/// (`403`). Trusted from the caller: the filter (`status` one of the five, `limit` 1–1000);
/// an unknown parameter is refused (a typo must not widen or narrow the list silently).
async fn list_approvals(State(state): State<Arc<AppState>>, request: Request) -> Response {
    let principal = match approvals_principal(&state, request.headers()) {
        Ok(p) => p,
        Err(response) => return *response,
    };
    let mut status = None;
    let mut limit = 100usize;
    for pair in request
        .uri()
        .query()
        .unwrap_or_default()
        .split('&')
        .filter(|p| !p.is_empty())
    {
        let (key, value) = pair.split_once('=').unwrap_or((pair, ""));
        match key {
            "status" if value == "all" => status = None,
            "status" => match crate::approvals::Status::parse(value) {
                Some(s) => status = Some(s),
                None => {
                    return error_response(
                        StatusCode::BAD_REQUEST,
                        "bad_request",
                        &format!(
                            "`status` must be one of `pending`, `approved`, `rejected`, `expired`, `used`, `all`, not `{value}`"
                        ),
                    );
                }
            },
            "limit" => match value.parse::<usize>() {
                Ok(n) if (1..=1000).contains(&n) => limit = n,
                _ => {
                    return error_response(
                        StatusCode::BAD_REQUEST,
                        "bad_request",
                        &format!("`limit` must be a number from 1 to 1000, not `{value}`"),
                    );
                }
            },
            other => {
                let hint = ["status", "limit"]
                    .into_iter()
                    .find(|k| strsim_close(other, k))
                    .map(|k| format!(" (did you mean `{k}`?)"))
                    .unwrap_or_default();
                return error_response(
                    StatusCode::BAD_REQUEST,
                    "bad_request",
                    &format!("unknown query parameter `{other}`{hint}"),
                );
            }
        }
    }
    match crate::workflow::list(&state, &principal, status, limit).await {
        Ok(list) => {
            let body = json!({"approvals": list, "principal": principal.name});
            json_response(StatusCode::OK, body.to_string().into_bytes())
        }
        Err(e) => store_unavailable(&e),
    }
}

/// `GET /v1/approvals/{id}`.
///
/// Security: as the list: an admin, the requester, or an approver it names. Anyone else gets
/// `404`, the answer for an id that does not exist, so an id reveals nothing to them.
/// Trusted from the caller: the id, only as a key to look up.
async fn get_approval(
    State(state): State<Arc<AppState>>,
    axum::extract::Path(id): axum::extract::Path<String>,
    headers: HeaderMap,
) -> Response {
    let principal = match approvals_principal(&state, &headers) {
        Ok(p) => p,
        Err(response) => return *response,
    };
    match crate::workflow::current(&state, &id).await {
        Ok(Some(a)) if crate::approvals::may_see(&a, &principal) => {
            json_response(StatusCode::OK, approval_json(&a))
        }
        Ok(_) => refused_response(&crate::approvals::Refused::Unknown, &id),
        Err(e) => store_unavailable(&e),
    }
}

fn refused_response(refused: &crate::approvals::Refused, id: &str) -> Response {
    use crate::approvals::Refused;
    let message = refused.message(id);
    match refused {
        Refused::Unknown => error_response(StatusCode::NOT_FOUND, "unknown_approval", &message),
        Refused::Forbidden(_) => error_response(StatusCode::FORBIDDEN, "forbidden", &message),
        Refused::Final(_) => error_response(StatusCode::CONFLICT, "final", &message),
        Refused::Conflict(_) => error_response(StatusCode::CONFLICT, "conflict", &message),
    }
}

/// `POST /v1/approvals/{id}/approve` with `{"comment": "…"}` (optional).
///
/// Security: `approver` or `admin`, and then only a principal named (by name or group) in an
/// entry that still waits; never the requester, never the identity in the request's
/// `context.agent` (separation of duties), whatever their roles. `403` for a principal that
/// may not act (nothing changes; one that may not see it is not told whom it names), `409`
/// when the approval is final or the principal's entries are already approved, `404` for an
/// id that does not exist. The check and the
/// change are one transaction in the store: of a concurrent approve and reject, one wins and
/// the other gets `409`. Trusted from the caller: the comment (at most 2,000 characters, no
/// control characters but newlines and tabs), recorded with the principal in the approval's
/// history and the decision log; the answer is sent only after the log line is durable.
async fn approve(
    State(state): State<Arc<AppState>>,
    axum::extract::Path(id): axum::extract::Path<String>,
    request: Request,
) -> Response {
    act(state, id, request, crate::workflow::Verb::Approve).await
}

/// `POST /v1/approvals/{id}/reject` with `{"comment": "…"}` (optional).
///
/// Security: as approve, except that an admin may reject any approval it can see (rejecting
/// is the safe direction); the requester and `context.agent` still cannot. One reject makes
/// the approval `rejected`, which is final.
async fn reject(
    State(state): State<Arc<AppState>>,
    axum::extract::Path(id): axum::extract::Path<String>,
    request: Request,
) -> Response {
    act(state, id, request, crate::workflow::Verb::Reject).await
}

async fn act(
    state: Arc<AppState>,
    id: String,
    request: Request,
    verb: crate::workflow::Verb,
) -> Response {
    let (parts, body) = request.into_parts();
    let principal = match approvals_principal(&state, &parts.headers) {
        Ok(p) => p,
        Err(response) => return *response,
    };
    if !principal.may(Role::Approver) {
        return denied_response(&Denied::Forbidden(format!(
            "`{}` has {}; approving and rejecting need the role `approver` or `admin`",
            principal.name,
            principal
                .roles
                .iter()
                .map(|r| format!("`{}`", r.as_str()))
                .collect::<Vec<_>>()
                .join(", ")
        )));
    }
    let comment = match read_comment(&state, &parts.headers, body).await {
        Ok(comment) => comment,
        Err(message) => return error_response(StatusCode::BAD_REQUEST, "bad_request", &message),
    };
    match crate::workflow::act(&state, &principal, &id, verb, comment).await {
        Ok(approval) => json_response(StatusCode::OK, approval_json(&approval)),
        Err(crate::workflow::ActError::Refused(refused)) => refused_response(&refused, &id),
        Err(crate::workflow::ActError::Store(e)) => store_unavailable(&e),
        Err(crate::workflow::ActError::Log(why, _)) => {
            tracing::error!(error = %why, id, "an approval action was stored but not logged");
            error_response(
                StatusCode::SERVICE_UNAVAILABLE,
                "log_failed",
                &format!(
                    "the action was stored, but the decision log did not take its line ({why}); it is written when the server starts again"
                ),
            )
        }
    }
}

/// The optional `{"comment": "…"}` of an approve or reject.
async fn read_comment(
    state: &AppState,
    headers: &HeaderMap,
    body: Body,
) -> Result<Option<String>, String> {
    let timeout = state.config.limits.request_timeout;
    let bytes = match tokio::time::timeout(timeout, collect(body, MAX_ACTION_BODY)).await {
        Ok(Ok(bytes)) => bytes,
        Ok(Err(Collect::TooLarge)) => {
            return Err(format!("the body is larger than {MAX_ACTION_BODY} bytes"));
        }
        Ok(Err(Collect::Failed(e))) => return Err(format!("the body could not be read: {e}")),
        Err(_) => return Err("the body did not arrive in time".into()),
    };
    if bytes.iter().all(u8::is_ascii_whitespace) {
        return Ok(None);
    }
    let content_type = headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("");
    let media = content_type.split(';').next().unwrap_or("").trim();
    if !media.eq_ignore_ascii_case("application/json") {
        return Err("the body must be JSON sent with `Content-Type: application/json`".into());
    }
    let doc =
        crate::policy::parse_json(&bytes).map_err(|e| format!("the body is not JSON: {e}"))?;
    let Json::Object(mut obj) = doc else {
        return Err("the body must be an object: `{\"comment\": \"…\"}`".into());
    };
    let comment = obj.remove("comment");
    if let Some(key) = obj.keys().next() {
        let hint = if strsim_close(key, "comment") {
            " (did you mean `comment`?)"
        } else {
            ""
        };
        return Err(format!(
            "unknown key `{key}`{hint}: the body is `{{\"comment\": \"…\"}}`"
        ));
    }
    match comment {
        None | Some(Json::Null) => Ok(None),
        Some(Json::String(text)) => {
            if text.chars().count() > MAX_COMMENT {
                return Err(format!("`comment` is longer than {MAX_COMMENT} characters"));
            }
            if let Some(c) = text
                .chars()
                .find(|c| c.is_control() && *c != '\n' && *c != '\t')
            {
                return Err(format!(
                    "`comment` contains the control character U+{:04X}",
                    u32::from(c)
                ));
            }
            Ok(Some(text))
        }
        Some(_) => Err("`comment` must be a string".into()),
    }
}

/// Any other path. Security: anyone; says only that the path does not exist.
async fn not_found(request: Request) -> Response {
    let path = request.uri().path().to_owned();
    error_response(
        StatusCode::NOT_FOUND,
        "not_found",
        &format!("there is no endpoint `{path}` (the API is described at `/v1/openapi.json`)"),
    )
}

/// A known path with another method. Security: anyone; says only which path it was.
async fn method_not_allowed(request: Request) -> Response {
    let what = format!("{} {}", request.method(), request.uri().path());
    error_response(
        StatusCode::METHOD_NOT_ALLOWED,
        "method_not_allowed",
        &format!("`{what}` is not an endpoint (the API is described at `/v1/openapi.json`)"),
    )
}

/// A backstop for every route: a handler that does not finish within the request timeout
/// (plus a second for the decision endpoints' own timeouts to answer first) gets `503`.
pub async fn backstop(request: Request, next: axum::middleware::Next, limit: Duration) -> Response {
    match tokio::time::timeout(limit + Duration::from_secs(1), next.run(request)).await {
        Ok(response) => response,
        Err(_) => error_response(
            StatusCode::SERVICE_UNAVAILABLE,
            "timeout",
            "the request did not finish in time",
        ),
    }
}
