//! `POST /v1/plan` over a real socket, on the bundled guardrails and backlog: the plans are
//! the runtime planner's, in order, a bad request is an error in its place, the body is
//! parsed strictly, the number of requests and the horizon are bounded, and only agents and
//! admins may plan.

mod support;

use std::path::PathBuf;

use serde_json::{Value as Json, json};
use support::*;
use ward_server::auth::Role;

fn examples() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../examples")
}

fn backlog(n: usize) -> Vec<Json> {
    std::fs::read_to_string(examples().join("backlog.jsonl"))
        .unwrap()
        .lines()
        .take(n)
        .map(|l| serde_json::from_str(l).unwrap())
        .collect()
}

fn start_examples(tokens: Option<PathBuf>) -> Fixture {
    start(|config, _| {
        config.policy = examples().join("guardrails");
        config.entities = examples().join("estate.json");
        config.tokens = tokens;
        config.limits.max_plan = 50;
    })
}

#[test]
fn plans_are_the_planners_in_order_and_a_bad_request_is_an_error_in_its_place() {
    let fx = start_examples(None);
    let mut requests = backlog(20);
    requests.insert(
        3,
        json!({"action": "reboot_host", "at": NOW, "args": {"host": "nowhere"}, "context": {}}),
    );
    let response = post(
        &mut fx.client(),
        "/v1/plan",
        &json!({"requests": requests, "horizon": "14d"}),
    );
    assert_eq!(response.status, 200);
    let doc = response.json().unwrap();
    assert_eq!(doc["horizon"], "14d");
    let status = fx.client().get("/v1/status").unwrap().json().unwrap();
    assert_eq!(doc["policy"], status["version"]["policy"]);
    assert_eq!(doc["estate"], status["version"]["estate"]);
    let plans = doc["plans"].as_array().unwrap();
    assert_eq!(plans.len(), 21);
    assert!(
        plans[3]["error"].as_str().unwrap().contains("nowhere"),
        "{}",
        plans[3]
    );
    // The same answers as the runtime's planner on the same version.
    let version = ward_server::policy::load(
        &examples().join("guardrails"),
        &examples().join("estate.json"),
        ward_server::policy::EngineKind::Interp,
        0,
    )
    .unwrap();
    let mut planner = version
        .engine
        .planner(ward_server::policy::PlanOptions::with_horizon(14 * 86_400).unwrap())
        .unwrap();
    for (request, plan) in requests.iter().zip(plans) {
        let expected = match planner.plan(request) {
            Ok(p) => serde_json::to_value(&p).unwrap(),
            Err(e) => json!({"error": e.to_string()}),
        };
        assert_eq!(plan, &expected, "{request}");
    }
    // Without `at`, the server's clock is the plan's now.
    let mut request = backlog(1).remove(0);
    request.as_object_mut().unwrap().remove("at");
    let doc = post(
        &mut fx.client(),
        "/v1/plan",
        &json!({"requests": [request]}),
    )
    .json()
    .unwrap();
    assert_eq!(doc["plans"][0]["at"], NOW);
    assert_eq!(doc["horizon"], "14d", "the default");
}

#[test]
fn the_body_is_strict_and_bounded() {
    let fx = start_examples(None);
    let mut client = fx.client();
    for (body, why) in [
        (
            json!({"requests": backlog(51)}),
            "at most 50 requests, this one 51",
        ),
        (
            json!({"requests": [], "horizon": "32d"}),
            "between 1s and 31d",
        ),
        (
            json!({"requests": [], "horizon": "soon"}),
            "a duration like `14d`",
        ),
        (json!({"requests": [], "horizon": 3}), "a duration string"),
        (
            json!({"requests": [], "horizn": "1d"}),
            "did you mean `horizon`",
        ),
        (json!({"requests": {}}), "`requests` must be an array"),
        (json!([1]), "the body is `{\"requests\""),
    ] {
        let r = post(&mut client, "/v1/plan", &body);
        let doc = r.json().unwrap();
        assert_eq!(r.status, 400, "{body}: {doc}");
        assert!(
            doc["error"]["message"].as_str().unwrap().contains(why),
            "{why}: {doc}"
        );
    }
    let r = client
        .post_json("/v1/plan", br#"{"requests": [], "requests": []}"#)
        .unwrap();
    assert_eq!(r.status, 400);
    assert!(String::from_utf8_lossy(&r.body).contains("duplicate key"));
    let r = client
        .request(
            "POST",
            "/v1/plan",
            &[("content-type", "text/plain")],
            Some(b"{}"),
        )
        .unwrap();
    assert_eq!(r.status, 415);
}

#[test]
fn only_agents_and_admins_may_plan() {
    let dir = tempfile::tempdir().unwrap();
    let (tokens, t) = tokens_file(
        dir.path(),
        &[
            ("bot", &[Role::Agent], &[]),
            ("carol", &[Role::Approver], &[]),
            ("root", &[Role::Admin], &[]),
        ],
    );
    let fx = start_examples(Some(tokens));
    let body = json!({"requests": backlog(2), "horizon": "1d"});
    assert_eq!(
        post(&mut fx.client_with(&t[0]), "/v1/plan", &body).status,
        200
    );
    assert_eq!(
        post(&mut fx.client_with(&t[2]), "/v1/plan", &body).status,
        200
    );
    assert_eq!(
        post(&mut fx.client_with(&t[1]), "/v1/plan", &body).status,
        403
    );
    assert_eq!(post(&mut fx.client(), "/v1/plan", &body).status, 401);
    // A plan authorizes nothing, so it is not a decision in the log.
    assert!(fx.log_lines().iter().all(|l| l["kind"] != "decision"));
}
