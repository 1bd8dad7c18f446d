//! `POST /v1/plan`: when each request of a backlog can run — `{"requests": [REQUEST…],
//! "horizon": "14d"}` → `{"plans": [PLAN or {"error": …}], "policy", "estate", "horizon"}`,
//! in order (docs/plan.md for what a plan says), planned by the runtime's planner over the
//! serving version, on a blocking thread.
//!
//! A plan authorizes nothing (it is advice on when to ask), so it is not a line of the
//! decision log; a request without `at` is planned from the server's clock. It knows the
//! body's shape and the planner through `policy`; nothing of approvals.

use std::sync::Arc;

use axum::extract::{Request, State};
use axum::http::StatusCode;
use axum::response::Response;
use serde_json::{Value as Json, json};

use crate::auth::{self, Role};
use crate::policy::{self, PlanOptions};
use crate::routes::{
    Collect, authorization, collect, denied_response, error_response, json_response,
};
use crate::state::AppState;

/// `POST /v1/plan`.
///
/// Security: `agent` or `admin` (anyone on loopback without tokens, as `anonymous`), as for
/// deciding: a plan reveals what the policy would decide and when. Trusted from the caller:
/// the requests (each validated like a decision's; one that does not validate is an
/// `{"error"}` in its place), their `at` (a plan allows nothing, so the caller may ask about
/// any time; without `at` the server's clock), the horizon (from 1s to `max_plan_horizon`,
/// default 31 days). Never trusted: the number of requests (at most `max_plan`), duplicate
/// keys and unknown keys (refused), bodies beyond the size limit.
pub async fn plan(State(state): State<Arc<AppState>>, request: Request) -> Response {
    let received_ms = state.clock.now_ms();
    let (parts, body) = request.into_parts();
    if let Err((_, denied)) = auth::authorize(
        state.tokens.as_ref(),
        authorization(&parts.headers),
        Role::Agent,
    ) {
        return denied_response(&denied);
    }
    let bad = |message: &str| error_response(StatusCode::BAD_REQUEST, "bad_request", message);
    let content_type = parts
        .headers
        .get(axum::http::header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("");
    if !content_type
        .split(';')
        .next()
        .unwrap_or("")
        .trim()
        .eq_ignore_ascii_case("application/json")
    {
        return error_response(
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
            "unsupported_media_type",
            "the body must be JSON sent with `Content-Type: application/json`",
        );
    }
    let limit = state.config.limits.max_body_bytes;
    let timeout = state.config.limits.request_timeout;
    let bytes = match tokio::time::timeout(timeout, collect(body, limit)).await {
        Ok(Ok(bytes)) => bytes,
        Ok(Err(Collect::TooLarge)) => {
            return error_response(
                StatusCode::PAYLOAD_TOO_LARGE,
                "too_large",
                &format!("the body is larger than the limit of {limit} bytes"),
            );
        }
        Ok(Err(Collect::Failed(e))) => return bad(&format!("the body could not be read: {e}")),
        Err(_) => {
            return error_response(
                StatusCode::REQUEST_TIMEOUT,
                "timeout",
                "the body did not arrive in time",
            );
        }
    };
    let doc = match policy::parse_json(&bytes) {
        Ok(doc) => doc,
        Err(e) => return bad(&format!("the body is not JSON: {e}")),
    };
    let (requests, horizon) = match parse_body(&state, doc) {
        Ok(parsed) => parsed,
        Err(message) => return bad(&message),
    };
    let options = match PlanOptions::with_horizon(horizon) {
        Ok(options) => options,
        Err(e) => return bad(&e.to_string()),
    };
    let version = state.current.load_full();
    let now_secs = received_ms.div_euclid(1000);
    let planned = tokio::task::spawn_blocking(move || {
        let mut planner = match version.engine.planner(options) {
            Ok(planner) => planner,
            Err(e) => return Err(e.to_string()),
        };
        let plans: Vec<Json> = requests
            .into_iter()
            .map(|mut request| {
                if let Some(obj) = request.as_object_mut()
                    && obj.get("at").is_none_or(Json::is_null)
                {
                    obj.insert(
                        "at".into(),
                        Json::String(policy::format_timestamp(now_secs)),
                    );
                }
                match planner.plan(&request) {
                    Ok(plan) => serde_json::to_value(&plan).unwrap_or_else(
                        |e| json!({"error": format!("the plan could not be written: {e}")}),
                    ),
                    Err(e) => json!({"error": e.to_string()}),
                }
            })
            .collect();
        Ok((plans, version))
    })
    .await;
    match planned {
        Ok(Ok((plans, version))) => {
            let body = json!({
                "plans": plans,
                "policy": version.policy,
                "estate": version.estate,
                "horizon": policy::format_duration(horizon),
            });
            json_response(StatusCode::OK, body.to_string().into_bytes())
        }
        Ok(Err(message)) => error_response(
            StatusCode::INTERNAL_SERVER_ERROR,
            "plan_failed",
            &format!("the policy cannot be planned: {message}"),
        ),
        Err(e) => error_response(
            StatusCode::INTERNAL_SERVER_ERROR,
            "plan_failed",
            &format!("the planning task failed: {e}"),
        ),
    }
}

/// `{"requests": [...], "horizon": "14d"}` → the requests and the horizon in seconds.
fn parse_body(state: &AppState, doc: Json) -> Result<(Vec<Json>, i64), String> {
    let shape = "the body is `{\"requests\": [...], \"horizon\": \"14d\"}` (`horizon` optional)";
    let Json::Object(mut top) = doc else {
        return Err(shape.into());
    };
    let requests = top.remove("requests");
    let horizon = top.remove("horizon");
    if let Some(key) = top.keys().next() {
        let hint = ["requests", "horizon"]
            .into_iter()
            .find(|k| strsim::levenshtein(key, k) <= 2)
            .map(|k| format!(" (did you mean `{k}`?)"))
            .unwrap_or_default();
        return Err(format!("unknown key `{key}`{hint}: {shape}"));
    }
    let Some(Json::Array(requests)) = requests else {
        return Err(format!("`requests` must be an array: {shape}"));
    };
    let max = state.config.limits.max_plan;
    if requests.len() > max {
        return Err(format!(
            "a plan holds at most {max} requests, this one {}: split it",
            requests.len()
        ));
    }
    let max_horizon = state.config.limits.max_plan_horizon;
    let horizon = match horizon {
        None | Some(Json::Null) => PlanOptions::DEFAULT_HORIZON.min(max_horizon),
        Some(Json::String(text)) => match policy::parse_duration(&text) {
            Some(secs) if (1..=max_horizon).contains(&secs) => secs,
            Some(_) => {
                return Err(format!(
                    "`horizon` must be between 1s and {}, not `{text}`",
                    policy::format_duration(max_horizon)
                ));
            }
            None => {
                return Err(format!(
                    "`horizon` must be a duration like `14d` or `36h`, not `{text}`"
                ));
            }
        },
        Some(_) => return Err("`horizon` must be a duration string like `14d`".into()),
    };
    Ok((requests, horizon))
}
