//! The OpenAPI document at `/v1/openapi.json` against real responses: every endpoint is
//! called in its documented situations (success, every documented refusal), and each
//! response's status must be documented for that operation and its body must match the
//! documented schema. (`scripts/test.d/50-openapi.sh` also runs schemathesis against it.)
//!
//! The schema check covers the JSON Schema keywords the document uses: `$ref`, `type`,
//! `properties`, `required`, `additionalProperties: false`, `items`, `enum`, `const`,
//! `anyOf`, `pattern`, `minimum`, `maxLength`.

mod support;

use std::time::Duration;

use serde_json::{Value as Json, json};
use support::*;
use ward_server::auth::Role;
use ward_server::client::Response;

fn resolve<'a>(doc: &'a Json, schema: &'a Json) -> &'a Json {
    match schema.get("$ref").and_then(Json::as_str) {
        Some(r) => doc
            .pointer(r.trim_start_matches('#'))
            .unwrap_or_else(|| panic!("no {r}")),
        None => schema,
    }
}

fn type_ok(ty: &str, value: &Json) -> bool {
    match ty {
        "object" => value.is_object(),
        "array" => value.is_array(),
        "string" => value.is_string(),
        "integer" => value.is_i64() || value.is_u64(),
        "number" => value.is_number(),
        "boolean" => value.is_boolean(),
        "null" => value.is_null(),
        other => panic!("unknown type {other}"),
    }
}

/// Problems of `value` against `schema`, with JSON paths.
fn check(doc: &Json, schema: &Json, value: &Json, path: &str, out: &mut Vec<String>) {
    let schema = resolve(doc, schema);
    if let Some(options) = schema.get("anyOf").and_then(Json::as_array) {
        let fits = options.iter().any(|s| {
            let mut sub = Vec::new();
            check(doc, s, value, path, &mut sub);
            sub.is_empty()
        });
        if !fits {
            out.push(format!("{path}: {value} matches no option of anyOf"));
        }
    }
    match schema.get("type") {
        Some(Json::String(ty)) if !type_ok(ty, value) => {
            out.push(format!("{path}: {value} is not {ty}"))
        }
        Some(Json::Array(tys)) if !tys.iter().any(|t| type_ok(t.as_str().unwrap(), value)) => {
            out.push(format!("{path}: {value} is none of {tys:?}"))
        }
        _ => {}
    }
    if let Some(options) = schema.get("enum").and_then(Json::as_array)
        && !options.contains(value)
    {
        out.push(format!("{path}: {value} is not one of {options:?}"));
    }
    if let Some(c) = schema.get("const")
        && c != value
    {
        out.push(format!("{path}: {value} is not {c}"));
    }
    if let (Some(pattern), Some(s)) = (schema.get("pattern").and_then(Json::as_str), value.as_str())
        && !regex::Regex::new(pattern).unwrap().is_match(s)
    {
        out.push(format!("{path}: `{s}` does not match {pattern}"));
    }
    if let (Some(max), Some(s)) = (
        schema.get("maxLength").and_then(Json::as_u64),
        value.as_str(),
    ) && s.chars().count() as u64 > max
    {
        out.push(format!("{path}: longer than {max}"));
    }
    if let (Some(min), Some(n)) = (schema.get("minimum").and_then(Json::as_i64), value.as_i64())
        && n < min
    {
        out.push(format!("{path}: {n} < {min}"));
    }
    if let Some(obj) = value.as_object() {
        let props = schema.get("properties").and_then(Json::as_object);
        for key in schema
            .get("required")
            .and_then(Json::as_array)
            .into_iter()
            .flatten()
        {
            if !obj.contains_key(key.as_str().unwrap()) {
                out.push(format!("{path}: missing `{key}`"));
            }
        }
        for (key, v) in obj {
            match props.and_then(|p| p.get(key)) {
                Some(s) => check(doc, s, v, &format!("{path}.{key}"), out),
                None if schema.get("additionalProperties") == Some(&Json::Bool(false)) => {
                    out.push(format!("{path}: undocumented `{key}`"))
                }
                None => {}
            }
        }
    }
    if let (Some(items), Some(arr)) = (schema.get("items"), value.as_array()) {
        for (i, v) in arr.iter().enumerate() {
            check(doc, items, v, &format!("{path}[{i}]"), out);
        }
    }
}

struct Checker {
    doc: Json,
    checked: Vec<String>,
    problems: Vec<String>,
}

impl Checker {
    fn response(&mut self, method: &str, path: &str, response: &Response) {
        let op = &self.doc["paths"][path][method];
        assert!(op.is_object(), "{method} {path} is not documented");
        let status = response.status.to_string();
        let documented = &op["responses"][&status];
        if !documented.is_object() {
            self.problems.push(format!(
                "{method} {path}: status {status} is not documented"
            ));
            return;
        }
        let content_type = response.header("content-type").unwrap_or("");
        let media = content_type.split(';').next().unwrap();
        let Some(schema) = documented["content"]
            .get(media)
            .map(|c| c["schema"].clone())
        else {
            self.problems.push(format!(
                "{method} {path} {status}: content type `{content_type}` is not documented"
            ));
            return;
        };
        if media == "application/json" {
            let body = response.json().unwrap();
            let mut out = Vec::new();
            check(&self.doc, &schema, &body, "$", &mut out);
            for p in out {
                self.problems.push(format!("{method} {path} {status}: {p}"));
            }
        }
        self.checked.push(format!("{method} {path} {status}"));
    }
}

#[test]
fn real_responses_match_the_openapi_document() {
    let dir = tempfile::tempdir().unwrap();
    let (tokens, t) = tokens_file(
        dir.path(),
        &[
            ("bot", &[Role::Agent], &[]),
            ("carol", &[Role::Approver], &["oncall"]),
            ("root", &[Role::Admin], &[]),
        ],
    );
    let fx = start(|config, _| {
        config.tokens = Some(tokens);
        config.limits.request_timeout = Duration::from_secs(10); // generous: a loaded machine must not turn an answer into a timeout
    });
    let mut anon = fx.client();
    let doc = anon.get("/v1/openapi.json").unwrap().json().unwrap();
    assert_eq!(doc["openapi"], "3.1.0");
    let mut c = Checker {
        doc,
        checked: Vec::new(),
        problems: Vec::new(),
    };
    let (mut bot, mut carol, mut root) = (
        fx.client_with(&t[0]),
        fx.client_with(&t[1]),
        fx.client_with(&t[2]),
    );

    let decide = "/v1/decide";
    let mut request = reboot("db-1");
    request["id"] = json!("req-1");
    c.response("post", decide, &post(&mut bot, decide, &request));
    c.response(
        "post",
        decide,
        &post(&mut bot, "/v1/decide?explain=true", &reboot("web-1")),
    );
    c.response(
        "post",
        decide,
        &post(&mut bot, "/v1/decide?explain=true", &reboot("nowhere")),
    );
    c.response("post", decide, &bot.post_json(decide, b"{").unwrap());
    c.response("post", decide, &post(&mut anon, decide, &request));
    c.response("post", decide, &post(&mut carol, decide, &request));
    c.response(
        "post",
        decide,
        &bot.request(
            "POST",
            decide,
            &[("content-type", "text/plain")],
            Some(b"{}"),
        )
        .unwrap(),
    );
    c.response(
        "post",
        decide,
        &bot.post_json(decide, &vec![b' '; 2 << 20]).unwrap(),
    );
    c.response(
        "post",
        "/v1/decide/batch",
        &post(
            &mut bot,
            "/v1/decide/batch",
            &json!({"requests": [reboot("web-1"), 3]}),
        ),
    );
    c.response(
        "post",
        "/v1/decide/batch",
        &post(&mut bot, "/v1/decide/batch", &json!({"requests": 3})),
    );
    c.response(
        "post",
        "/v1/reload",
        &root.request("POST", "/v1/reload", &[], None).unwrap(),
    );
    c.response(
        "post",
        "/v1/reload",
        &bot.request("POST", "/v1/reload", &[], None).unwrap(),
    );
    c.response(
        "post",
        "/v1/reload",
        &anon.request("POST", "/v1/reload", &[], None).unwrap(),
    );
    fx.write_policy(BROKEN);
    c.response(
        "post",
        "/v1/reload",
        &root.request("POST", "/v1/reload", &[], None).unwrap(),
    );
    c.response("get", "/v1/status", &bot.get("/v1/status").unwrap());
    c.response("get", "/v1/status", &anon.get("/v1/status").unwrap());
    // Approvals: the decision above created one.
    let created = post(&mut bot, decide, &reboot("db-1")).json().unwrap();
    let id = created["approval"]["id"].as_str().unwrap().to_owned();
    c.response(
        "get",
        "/v1/approvals",
        &carol.get("/v1/approvals?status=pending").unwrap(),
    );
    c.response("get", "/v1/approvals", &bot.get("/v1/approvals").unwrap());
    c.response(
        "get",
        "/v1/approvals",
        &carol.get("/v1/approvals?status=nope").unwrap(),
    );
    c.response("get", "/v1/approvals", &anon.get("/v1/approvals").unwrap());
    let one = format!("/v1/approvals/{id}");
    c.response("get", "/v1/approvals/{id}", &carol.get(&one).unwrap());
    c.response(
        "get",
        "/v1/approvals/{id}",
        &carol.get("/v1/approvals/apr_1").unwrap(),
    );
    c.response("get", "/v1/approvals/{id}", &anon.get(&one).unwrap());
    let approve = format!("{one}/approve");
    c.response(
        "post",
        "/v1/approvals/{id}/approve",
        &post(&mut bot, &approve, &json!({})),
    );
    c.response(
        "post",
        "/v1/approvals/{id}/approve",
        &post(&mut carol, &approve, &json!({"coment": 1})),
    );
    c.response(
        "post",
        "/v1/approvals/{id}/approve",
        &post(&mut carol, &approve, &json!({"comment": "ok"})),
    );
    c.response(
        "post",
        "/v1/approvals/{id}/approve",
        &post(&mut carol, &approve, &json!({"comment": "again"})),
    );
    c.response(
        "post",
        "/v1/approvals/{id}/reject",
        &post(&mut carol, "/v1/approvals/apr_1/reject", &json!({})),
    );
    c.response(
        "post",
        "/v1/approvals/{id}/reject",
        &post(&mut anon, "/v1/approvals/apr_1/reject", &json!({})),
    );
    let resumed = post(&mut bot, decide, &{
        let mut r = reboot("db-1");
        r["approval"] = json!(id);
        r
    });
    assert_eq!(resumed.json().unwrap()["decision"], "allow");
    c.response("post", decide, &resumed);
    // Plans.
    let plan = "/v1/plan";
    c.response(
        "post",
        plan,
        &post(
            &mut bot,
            plan,
            &json!({"requests": [reboot("web-1"), {"action": "nope"}], "horizon": "1d"}),
        ),
    );
    c.response(
        "post",
        plan,
        &post(&mut bot, plan, &json!({"requests": [], "horizon": "400d"})),
    );
    c.response(
        "post",
        plan,
        &post(&mut anon, plan, &json!({"requests": []})),
    );
    c.response(
        "post",
        plan,
        &post(&mut carol, plan, &json!({"requests": []})),
    );
    c.response(
        "post",
        plan,
        &bot.request("POST", plan, &[("content-type", "text/plain")], Some(b"{}"))
            .unwrap(),
    );
    c.response("get", "/ui/", &anon.get("/ui/").unwrap());
    c.response("get", "/health", &anon.get("/health").unwrap());
    c.response("get", "/ready", &anon.get("/ready").unwrap());
    c.response("get", "/metrics", &bot.get("/metrics").unwrap());
    c.response("get", "/metrics", &anon.get("/metrics").unwrap());
    c.response(
        "get",
        "/v1/openapi.json",
        &anon.get("/v1/openapi.json").unwrap(),
    );

    assert!(c.problems.is_empty(), "{}", c.problems.join("\n"));
    for must in [
        "post /v1/decide 200",
        "post /v1/decide 400",
        "post /v1/decide 401",
        "post /v1/decide 403",
        "post /v1/decide 413",
        "post /v1/decide 415",
        "post /v1/reload 422",
        "post /v1/reload 200",
        "get /v1/approvals 200",
        "get /v1/approvals 400",
        "get /v1/approvals 401",
        "get /v1/approvals/{id} 200",
        "get /v1/approvals/{id} 404",
        "post /v1/approvals/{id}/approve 200",
        "post /v1/approvals/{id}/approve 400",
        "post /v1/approvals/{id}/approve 403",
        "post /v1/approvals/{id}/approve 409",
        "post /v1/approvals/{id}/reject 404",
        "post /v1/plan 200",
        "post /v1/plan 400",
        "post /v1/plan 401",
        "post /v1/plan 403",
        "post /v1/plan 415",
    ] {
        assert!(
            c.checked.iter().any(|s| s == must),
            "{must} was not exercised: {:?}",
            c.checked
        );
    }
    // Every documented path was called.
    for path in c.doc["paths"].as_object().unwrap().keys() {
        assert!(
            c.checked.iter().any(|s| s.split(' ').nth(1) == Some(path)),
            "{path} not exercised"
        );
    }
}
