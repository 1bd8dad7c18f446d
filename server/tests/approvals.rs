//! Approvals over a real loopback socket, each rule of docs/approvals.md its own test, run
//! once on the SQLite store and once on PostgreSQL: creation and idempotency, `needs` per
//! fired rule, who may approve (name or group), separation of duties, reject, expiry, the
//! listing's visibility, resuming (allowed once) and every way a resume is refused, the
//! attacks (self-approval through a second token, someone else's approval, replay, a changed
//! argument, approve racing reject, clock skew near a window and near `expires`), 50
//! concurrent resumes, the log lines of every action, and the schema version.

mod support;

use std::collections::BTreeSet;
use std::sync::{Arc, Barrier};
use std::time::{Duration, Instant};

use serde_json::{Value as Json, json};
use support::*;

fn create(a: &Approvals, request: &Json) -> (Json, String) {
    let (status, doc) = decide(&mut a.client("remediation-bot"), request);
    assert_eq!(status, 200, "{doc}");
    assert_eq!(doc["decision"], "require_approval", "{doc}");
    let id = doc["approval"]["id"]
        .as_str()
        .expect("an approval")
        .to_owned();
    (doc, id)
}

fn approve_fully(a: &Approvals, id: &str) {
    assert_eq!(
        act(&mut a.client("carol"), id, "approve", "ok, CAB-1").0,
        200
    );
    let (status, doc) = act(&mut a.client("olga"), id, "approve", "mine, fine");
    assert_eq!(status, 200, "{doc}");
    assert_eq!(doc["status"], "approved", "{doc}");
}

fn current(a: &Approvals, id: &str) -> Json {
    let (status, doc) = get(&mut a.client("root"), &format!("/v1/approvals/{id}"));
    assert_eq!(status, 200, "{doc}");
    doc
}

fn error_of(doc: &Json) -> String {
    doc["errors"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["message"].as_str().unwrap().to_owned())
        .collect::<Vec<_>>()
        .join(" | ")
}

fn a_require_approval_creates_an_approval_bound_to_the_request(backend: &Backend) {
    let a = start_approvals(backend, |_, _| {});
    let request = prod_reboot("kernel 6.1");
    let (doc, id) = create(&a, &request);
    assert!(id.starts_with("apr_"), "{id}");
    assert_eq!(doc["approval"]["status"], "pending");
    assert_eq!(doc["approval"]["expires"], "2026-12-02T10:00:00.000Z");
    assert_eq!(doc["approvers"], json!(["olga", "oncall"]));
    let approval = current(&a, &id);
    assert_eq!(approval["status"], "pending");
    assert_eq!(approval["requested_by"], "remediation-bot");
    assert_eq!(approval["created"], "2026-12-01T10:00:00.000Z");
    assert_eq!(approval["policy"], doc["policy"]);
    assert_eq!(
        approval["request"],
        json!({"action": "reboot", "args": {"host": "db-1", "note": "kernel 6.1"}, "context": {"agent": "patchbot"}})
    );
    // The digest is the SHA-256 of the canonical JSON (keys sorted, no whitespace).
    let canonical = r#"{"action":"reboot","args":{"host":"db-1","note":"kernel 6.1"},"context":{"agent":"patchbot"}}"#;
    use sha2::Digest as _;
    let expected: String = sha2::Sha256::digest(canonical.as_bytes())
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect();
    assert_eq!(approval["digest"], format!("sha256:{expected}"));
    assert_eq!(
        approval["needs"],
        json!([
            {"rule": "production_needs_oncall", "message": "db-1 is production: kernel 6.1", "approvers": ["oncall"], "approved_by": null},
            {"rule": "owner_agrees", "message": "db-1 belongs to olga", "approvers": ["olga"], "approved_by": null},
        ])
    );
    assert_eq!(
        approval["history"],
        json!([{"at": "2026-12-01T10:00:00.000Z", "by": "remediation-bot", "action": "create", "comment": null}])
    );
    let keys: BTreeSet<&str> = approval
        .as_object()
        .unwrap()
        .keys()
        .map(String::as_str)
        .collect();
    assert_eq!(
        keys,
        BTreeSet::from([
            "id",
            "status",
            "created",
            "expires",
            "requested_by",
            "digest",
            "policy",
            "request",
            "needs",
            "history"
        ])
    );
    // The creation is an approval line, before the decision's own line, and the decision
    // line names the approval it answered with.
    let lines = approval_lines(&a.fx, &id);
    assert_eq!(lines.len(), 1, "{lines:?}");
    assert_eq!(lines[0]["action"], "create");
    assert_eq!(lines[0]["principal"], "remediation-bot");
    assert_eq!(lines[0]["decision"], doc["id"]);
    assert_eq!(lines[0]["approval"]["digest"], approval["digest"]);
    let decision =
        a.fx.log_lines()
            .into_iter()
            .find(|l| l["id"] == doc["id"])
            .unwrap();
    assert_eq!(decision["approval_answer"]["id"], id.as_str());
    assert!(decision["seq"].as_u64() > lines[0]["seq"].as_u64());
}

fn the_same_requester_and_digest_get_the_same_pending_approval(backend: &Backend) {
    let a = start_approvals(backend, |_, _| {});
    let request = prod_reboot("kernel");
    let (_, first) = create(&a, &request);
    // Again, with another key order and an `at` (not part of the digest): the same.
    let reordered: Json = serde_json::from_str(
        r#"{"context": {"agent": "patchbot"}, "args": {"note": "kernel", "host": "db-1"}, "action": "reboot", "at": "2026-12-01T10:00:02Z"}"#,
    )
    .unwrap();
    assert_eq!(create(&a, &reordered).1, first);
    // Another argument, or another requester: another approval.
    assert_ne!(create(&a, &prod_reboot("kernel!")).1, first);
    let (_, doc) = decide(&mut a.client("other-bot"), &request);
    assert_ne!(doc["approval"]["id"], first.as_str());
    // Only one `create` line for the first.
    assert_eq!(approval_lines(&a.fx, &first).len(), 1);
}

fn each_fired_rule_is_an_entry_and_one_principal_satisfies_every_entry_naming_them(
    backend: &Backend,
) {
    let a = start_approvals(backend, |_, _| {});
    let (_, id) = create(&a, &prod_reboot("x"));
    let (status, doc) = act(&mut a.client("carol"), &id, "approve", "on-call ok");
    assert_eq!(status, 200, "{doc}");
    assert_eq!(doc["status"], "pending", "olga has not approved yet");
    assert_eq!(doc["needs"][0]["approved_by"], "carol");
    assert_eq!(doc["needs"][1]["approved_by"], Json::Null);
    // carol again: nothing left that names her.
    let (status, doc) = act(&mut a.client("erin"), &id, "approve", "me too");
    assert_eq!(status, 409, "{doc}");
    assert!(
        doc["error"]["message"]
            .as_str()
            .unwrap()
            .contains("already approved"),
        "{doc}"
    );
    let (status, doc) = act(&mut a.client("olga"), &id, "approve", "owner ok");
    assert_eq!(
        (status, doc["status"].as_str()),
        (200, Some("approved")),
        "{doc}"
    );
    // `lead` owns db-2 and is on call: one approval satisfies both entries.
    let (_, id2) = create(
        &a,
        &json!({"action": "reboot", "args": {"host": "db-2", "note": "x"}, "context": {"agent": "patchbot"}}),
    );
    let (status, doc) = act(&mut a.client("lead"), &id2, "approve", "both hats");
    assert_eq!(
        (status, doc["status"].as_str()),
        (200, Some("approved")),
        "{doc}"
    );
    assert_eq!(doc["needs"][0]["approved_by"], "lead");
    assert_eq!(doc["needs"][1]["approved_by"], "lead");
}

fn only_a_named_principal_or_group_member_may_approve(backend: &Backend) {
    let a = start_approvals(backend, |_, _| {});
    let (_, id) = create(&a, &prod_reboot("x"));
    let before = current(&a, &id);
    // dave is an approver, but of another group: he cannot see it (404), nor act on it (403).
    let (status, doc) = get(&mut a.client("dave"), &format!("/v1/approvals/{id}"));
    assert_eq!(status, 404, "{doc}");
    let (status, doc) = act(&mut a.client("dave"), &id, "approve", "mine now");
    assert_eq!(status, 403, "{doc}");
    assert!(
        !doc.to_string().contains("olga"),
        "it does not say whom it names: {doc}"
    );
    let (status, _) = act(&mut a.client("dave"), &id, "reject", "no");
    assert_eq!(status, 403);
    // An id that does not exist is 404.
    assert_eq!(
        act(&mut a.client("dave"), "apr_01JDFORGED", "approve", "").0,
        404
    );
    // An admin is not an approver it is not named as.
    let (status, doc) = act(&mut a.client("root"), &id, "approve", "I can do anything");
    assert_eq!(status, 403, "{doc}");
    // An agent token cannot approve at all.
    let (status, _) = act(&mut a.client("other-bot"), &id, "approve", "x");
    assert_eq!(status, 403);
    assert_eq!(current(&a, &id), before, "nothing changed");
    // By name (olga) and by group (carol, on call).
    assert_eq!(act(&mut a.client("olga"), &id, "approve", "").0, 200);
    assert_eq!(act(&mut a.client("carol"), &id, "approve", "").0, 200);
    assert_eq!(current(&a, &id)["status"], "approved");
}

fn the_requester_and_the_agent_never_approve(backend: &Backend) {
    let a = start_approvals(backend, |_, _| {});
    // selfish-bot asks, and is also an on-call approver: it may not approve its own request.
    let request = json!({"action": "reboot", "args": {"host": "stage-1", "note": "x"}, "context": {"agent": "patchbot"}});
    let (status, doc) = decide(&mut a.client("selfish-bot"), &request);
    assert_eq!(status, 200);
    let id = doc["approval"]["id"].as_str().unwrap().to_owned();
    let (status, doc) = act(
        &mut a.client("selfish-bot"),
        &id,
        "approve",
        "looks fine to me",
    );
    assert_eq!(status, 403, "{doc}");
    assert!(
        doc["error"]["message"]
            .as_str()
            .unwrap()
            .contains("separation of duties"),
        "{doc}"
    );
    // `patchbot` is the request's `context.agent`; its approver token (a second identity of
    // the same agent) is refused too, as approver and as rejecter.
    let (status, doc) = act(&mut a.client("patchbot"), &id, "approve", "second token");
    assert_eq!(status, 403, "{doc}");
    assert!(
        doc["error"]["message"]
            .as_str()
            .unwrap()
            .contains("context.agent"),
        "{doc}"
    );
    assert_eq!(act(&mut a.client("patchbot"), &id, "reject", "x").0, 403);
    let approval = current(&a, &id);
    assert_eq!(approval["status"], "pending");
    assert_eq!(approval["history"].as_array().unwrap().len(), 1);
    // An on-call approver who is neither may.
    assert_eq!(act(&mut a.client("carol"), &id, "approve", "").0, 200);
}

fn one_reject_is_final(backend: &Backend) {
    let a = start_approvals(backend, |_, _| {});
    let (_, id) = create(&a, &prod_reboot("x"));
    assert_eq!(act(&mut a.client("carol"), &id, "approve", "ok").0, 200);
    let (status, doc) = act(&mut a.client("olga"), &id, "reject", "not during the sale");
    assert_eq!(
        (status, doc["status"].as_str()),
        (200, Some("rejected")),
        "{doc}"
    );
    let before = current(&a, &id);
    for (who, verb) in [
        ("olga", "approve"),
        ("carol", "reject"),
        ("erin", "approve"),
    ] {
        let (status, doc) = act(&mut a.client(who), &id, verb, "again");
        assert_eq!(status, 409, "{who} {verb}: {doc}");
        assert!(
            doc["error"]["message"]
                .as_str()
                .unwrap()
                .contains("already rejected"),
            "{doc}"
        );
    }
    assert_eq!(current(&a, &id), before, "nothing changed");
    let lines = approval_lines(&a.fx, &id);
    let actions: Vec<&str> = lines
        .iter()
        .map(|l| l["action"].as_str().unwrap())
        .collect();
    assert_eq!(actions, ["create", "approve", "reject"]);
    assert_eq!(lines[2]["principal"], "olga");
    assert_eq!(lines[2]["comment"], "not during the sale");
    // An admin may reject what it sees (the safe direction).
    let (_, id2) = create(&a, &prod_reboot("y"));
    assert_eq!(act(&mut a.client("root"), &id2, "reject", "freeze").0, 200);
}

fn an_approval_expires_on_the_servers_clock(backend: &Backend) {
    let a = start_approvals(backend, |c, _| {
        c.approval_ttl = Duration::from_secs(3600);
        c.expiry_sweep = Duration::from_millis(50);
    });
    let (doc, id) = create(&a, &prod_reboot("x"));
    assert_eq!(doc["approval"]["expires"], "2026-12-01T11:00:00.000Z");
    a.fx.clock.set(NOW_MS + 3_600_000 - 1);
    assert_eq!(
        current(&a, &id)["status"],
        "pending",
        "one millisecond before"
    );
    a.fx.clock.set(NOW_MS + 3_600_000);
    // The sweep expires it without anyone looking, and logs it as nobody's act.
    let deadline = Instant::now() + Duration::from_secs(20);
    let line = loop {
        if let Some(line) = approval_lines(&a.fx, &id)
            .into_iter()
            .find(|l| l["action"] == "expire")
        {
            break line;
        }
        assert!(Instant::now() < deadline, "no expire line");
        std::thread::sleep(Duration::from_millis(20));
    };
    assert_eq!(line["principal"], Json::Null);
    assert_eq!(line["status"], "expired");
    let approval = current(&a, &id);
    assert_eq!(approval["status"], "expired");
    assert_eq!(approval["history"][1]["action"], "expire");
    assert_eq!(approval["history"][1]["by"], Json::Null);
    let (status, doc) = act(&mut a.client("carol"), &id, "approve", "late");
    assert_eq!(status, 409, "{doc}");
    // An approved one expires too, and is not used afterwards.
    let (_, id2) = create(&a, &prod_reboot("y"));
    approve_fully(&a, &id2);
    a.fx.clock.set(NOW_MS + 2 * 3_600_000 + 1);
    let (_, doc) = decide(
        &mut a.client("remediation-bot"),
        &resume(&prod_reboot("y"), &id2),
    );
    assert_eq!(doc["decision"], "require_approval", "{doc}");
    assert!(error_of(&doc).contains("expired"), "{doc}");
    assert_eq!(current(&a, &id2)["status"], "expired");
}

fn listing_shows_each_principal_what_names_them(backend: &Backend) {
    let a = start_approvals(backend, |_, _| {});
    let (_, prod) = create(&a, &prod_reboot("x"));
    let (_, wipe) = create(
        &a,
        &json!({"action": "wipe", "args": {"host": "web-1"}, "context": {"agent": "patchbot"}}),
    );
    let ids = |who: &str, query: &str| -> Vec<String> {
        let (status, doc) = get(&mut a.client(who), &format!("/v1/approvals{query}"));
        assert_eq!(status, 200, "{doc}");
        assert_eq!(doc["principal"], who);
        doc["approvals"]
            .as_array()
            .unwrap()
            .iter()
            .map(|x| x["id"].as_str().unwrap().to_owned())
            .collect()
    };
    assert_eq!(
        ids("carol", "?status=pending"),
        [wipe.clone(), prod.clone()],
        "newest first"
    );
    assert_eq!(ids("olga", "?status=pending"), std::slice::from_ref(&prod));
    assert!(
        ids("dave", "?status=pending").is_empty(),
        "an unrelated approver sees nothing"
    );
    assert_eq!(
        ids("root", ""),
        [wipe.clone(), prod.clone()],
        "an admin sees all"
    );
    assert_eq!(
        ids("remediation-bot", ""),
        [wipe.clone(), prod.clone()],
        "its own"
    );
    assert!(ids("other-bot", "").is_empty());
    assert_eq!(act(&mut a.client("carol"), &wipe, "approve", "").0, 200);
    assert_eq!(
        ids("carol", "?status=approved"),
        std::slice::from_ref(&wipe)
    );
    assert_eq!(ids("carol", "?status=pending"), std::slice::from_ref(&prod));
    assert_eq!(
        ids("carol", "?status=all&limit=1"),
        std::slice::from_ref(&wipe)
    );
    for bad in [
        "?status=done",
        "?limit=0",
        "?limit=5000",
        "?statuss=pending",
    ] {
        let (status, doc) = get(&mut a.client("carol"), &format!("/v1/approvals{bad}"));
        assert_eq!(status, 400, "{bad}: {doc}");
    }
    let (_, doc) = get(&mut a.client("carol"), "/v1/approvals?statuss=pending");
    assert!(
        doc["error"]["message"]
            .as_str()
            .unwrap()
            .contains("did you mean `status`")
    );
    // The metrics count them by status.
    let text = a.client("root").get("/metrics").unwrap();
    let text = String::from_utf8(text.body).unwrap();
    assert!(
        text.contains("ward_approvals{status=\"pending\"} 1"),
        "{text}"
    );
    assert!(
        text.contains("ward_approvals{status=\"approved\"} 1"),
        "{text}"
    );
}

fn a_covered_resume_is_allowed_once(backend: &Backend) {
    let a = start_approvals(backend, |_, _| {});
    let request = prod_reboot("x");
    let (_, id) = create(&a, &request);
    approve_fully(&a, &id);
    a.fx.clock.advance(60_000);
    let mut agent = a.client("remediation-bot");
    let (status, doc) = decide(&mut agent, &resume(&request, &id));
    assert_eq!(
        (status, doc["decision"].as_str()),
        (200, Some("allow")),
        "{doc}"
    );
    assert_eq!(doc["errors"], json!([]));
    assert_eq!(
        doc["approval"],
        json!({"id": id, "status": "used", "expires": "2026-12-02T10:00:00.000Z"})
    );
    assert_eq!(
        doc["fired"].as_array().unwrap().len(),
        2,
        "the rules that needed it"
    );
    let approval = current(&a, &id);
    assert_eq!(approval["status"], "used");
    let used = approval["history"]
        .as_array()
        .unwrap()
        .last()
        .unwrap()
        .clone();
    assert_eq!(
        (used["action"].as_str(), used["by"].as_str()),
        (Some("use"), Some("remediation-bot"))
    );
    // The replay is the fresh decision, with an error, and a new pending approval.
    let (_, again) = decide(&mut agent, &resume(&request, &id));
    assert_eq!(again["decision"], "require_approval", "{again}");
    assert!(error_of(&again).contains("already used"), "{again}");
    assert_ne!(again["approval"]["id"], id.as_str());
    let lines = approval_lines(&a.fx, &id);
    let use_line = lines.iter().find(|l| l["action"] == "use").unwrap();
    assert_eq!(use_line["decision"], doc["id"]);
    assert_eq!(use_line["principal"], "remediation-bot");
    let decision_line =
        a.fx.log_lines()
            .into_iter()
            .find(|l| l["id"] == doc["id"])
            .unwrap();
    assert_eq!(decision_line["approval"], id.as_str());
    assert_eq!(decision_line["decision"]["decision"], "allow");
}

fn each_way_a_resume_is_refused(backend: &Backend) {
    let a = start_approvals(backend, |c, _| c.approval_ttl = Duration::from_secs(3600));
    let mut agent = a.client("remediation-bot");
    let request = prod_reboot("x");
    let refused = |agent: &mut ward_server::client::Client, body: &Json, why: &str| {
        let (status, doc) = decide(agent, body);
        assert_eq!(status, 200, "{doc}");
        assert_ne!(doc["decision"], "allow", "{why}: {doc}");
        assert!(error_of(&doc).contains(why), "`{why}` not in {doc}");
        doc
    };
    // Unknown.
    refused(
        &mut agent,
        &resume(&request, "apr_01JDFORGED"),
        "there is no such approval",
    );
    // Pending.
    let (_, id) = create(&a, &request);
    refused(
        &mut agent,
        &resume(&request, &id),
        "still pending; waiting for",
    );
    // Other digest: one argument changed after approval.
    approve_fully(&a, &id);
    let changed = prod_reboot("x; rm -rf /");
    refused(&mut agent, &resume(&changed, &id), "for another request");
    let changed_context = json!({"action": "reboot", "args": {"host": "db-1", "note": "x"}, "context": {"agent": "someone-else"}});
    refused(
        &mut agent,
        &resume(&changed_context, &id),
        "for another request",
    );
    // Someone else's approval.
    refused(
        &mut a.client("other-bot"),
        &resume(&request, &id),
        "requested by another principal",
    );
    assert_eq!(
        current(&a, &id)["status"],
        "approved",
        "none of these used it"
    );
    // Used.
    let (_, doc) = decide(&mut agent, &resume(&request, &id));
    assert_eq!(doc["decision"], "allow", "{doc}");
    refused(&mut agent, &resume(&request, &id), "already used");
    // Rejected.
    let (_, id) = create(&a, &prod_reboot("r"));
    assert_eq!(act(&mut a.client("carol"), &id, "reject", "no").0, 200);
    refused(
        &mut agent,
        &resume(&prod_reboot("r"), &id),
        "rejected by `carol`",
    );
    // Expired (the server's clock).
    let (_, id) = create(&a, &prod_reboot("e"));
    approve_fully(&a, &id);
    a.fx.clock.advance(3_600_000);
    refused(&mut agent, &resume(&prod_reboot("e"), &id), "expired");
    // A rule the approval does not cover: a reload adds a third approval rule.
    let (_, id) = create(&a, &prod_reboot("c"));
    approve_fully(&a, &id);
    a.fx.write_policy(&approvals_policy_with_security_review());
    assert!(a.fx.server().reload().unwrap().ok);
    let doc = refused(
        &mut agent,
        &resume(&prod_reboot("c"), &id),
        "does not cover rule `security_reviews_production`",
    );
    assert_eq!(doc["decision"], "require_approval");
    assert_eq!(current(&a, &id)["status"], "approved", "not used");
    // The approval field itself must be an id.
    let mut bad = prod_reboot("c");
    bad["approval"] = json!(42);
    let (status, doc) = decide(&mut agent, &bad);
    assert_eq!(
        (status, doc["decision"].as_str()),
        (400, Some("deny")),
        "{doc}"
    );
}

fn a_fresh_deny_is_never_overridden_and_does_not_use_the_approval(backend: &Backend) {
    let a = start_approvals(backend, |c, _| c.max_skew = Duration::from_secs(5));
    let request = json!({"action": "reboot", "args": {"host": "stage-1", "note": "x"}, "context": {"agent": "patchbot"}});
    let (_, id) = create(&a, &request);
    assert_eq!(act(&mut a.client("carol"), &id, "approve", "ok").0, 200);
    // 11:00:01: the change window closed; the fresh decision is a deny.
    a.fx.clock.set(NOW_MS + 3_600_000 + 1_000);
    let mut agent = a.client("remediation-bot");
    let (_, doc) = decide(&mut agent, &resume(&request, &id));
    assert_eq!(doc["decision"], "deny", "{doc}");
    assert!(
        error_of(&doc).contains("no approval overrides a deny"),
        "{doc}"
    );
    assert!(
        doc.get("approval").is_none(),
        "a deny creates nothing: {doc}"
    );
    // Clock skew: claiming `at` 10:59:57 (4s behind, within the skew) does not reopen the
    // window: a resume is decided at the server's clock.
    let mut skewed = resume(&request, &id);
    skewed["at"] = json!("2026-12-01T10:59:57Z");
    let (status, doc) = decide(&mut agent, &skewed);
    assert_eq!(
        (status, doc["decision"].as_str()),
        (200, Some("deny")),
        "{doc}"
    );
    assert_eq!(
        doc["at"], "2026-12-01T11:00:01Z",
        "the server's time, not the claimed one"
    );
    assert_eq!(current(&a, &id)["status"], "approved", "still not used");
    // The next day in the window, before it expires: allowed.
    a.fx.clock.set(NOW_MS + 3_600_000 - 2_000);
    let (_, doc) = decide(&mut agent, &resume(&request, &id));
    assert_eq!(doc["decision"], "allow", "{doc}");
    // A deny at creation time creates no approval.
    let (_, doc) = decide(
        &mut agent,
        &json!({"action": "wipe", "args": {"host": "db-1"}, "context": {"agent": "patchbot"}}),
    );
    assert_eq!(doc["decision"], "deny");
    assert!(doc.get("approval").is_none());
}

fn clock_skew_near_expires_does_not_help(backend: &Backend) {
    let a = start_approvals(backend, |c, _| c.approval_ttl = Duration::from_secs(3600));
    let request = prod_reboot("x");
    let (_, id) = create(&a, &request);
    approve_fully(&a, &id);
    // Exactly at `expires` on the server's clock, with `at` 4s earlier: expired.
    a.fx.clock.set(NOW_MS + 3_600_000);
    let mut body = resume(&request, &id);
    body["at"] = json!("2026-12-01T10:59:56Z");
    let (_, doc) = decide(&mut a.client("remediation-bot"), &body);
    assert_eq!(doc["decision"], "require_approval", "{doc}");
    assert!(error_of(&doc).contains("expired"), "{doc}");
    // One millisecond before `expires` it is still good.
    let (_, id2) = create(&a, &prod_reboot("y"));
    approve_fully(&a, &id2);
    a.fx.clock.set(NOW_MS + 2 * 3_600_000 - 1);
    let (_, doc) = decide(
        &mut a.client("remediation-bot"),
        &resume(&prod_reboot("y"), &id2),
    );
    assert_eq!(doc["decision"], "allow", "{doc}");
}

fn fifty_concurrent_resumes_give_exactly_one_allow(backend: &Backend) {
    let a = Arc::new(start_approvals(backend, |c, _| c.worker_threads = Some(4)));
    let request = prod_reboot("race");
    let (_, id) = create(&a, &request);
    approve_fully(&a, &id);
    let barrier = Arc::new(Barrier::new(50));
    let threads: Vec<_> = (0..50)
        .map(|_| {
            let (a, barrier, body) = (Arc::clone(&a), Arc::clone(&barrier), resume(&request, &id));
            std::thread::spawn(move || {
                let mut client = a.client("remediation-bot");
                barrier.wait();
                decide(&mut client, &body).1
            })
        })
        .collect();
    let docs: Vec<Json> = threads.into_iter().map(|t| t.join().unwrap()).collect();
    let allowed: Vec<&Json> = docs.iter().filter(|d| d["decision"] == "allow").collect();
    assert_eq!(allowed.len(), 1, "exactly one allow of 50");
    for d in docs.iter().filter(|d| d["decision"] != "allow") {
        assert!(error_of(d).contains("already used"), "{d}");
    }
    let lines = approval_lines(&a.fx, &id);
    let uses: Vec<&Json> = lines.iter().filter(|l| l["action"] == "use").collect();
    assert_eq!(uses.len(), 1);
    assert_eq!(uses[0]["decision"], allowed[0]["id"]);
    let allows =
        a.fx.log_lines()
            .into_iter()
            .filter(|l| l["approval"] == id.as_str() && l["decision"]["decision"] == "allow")
            .count();
    assert_eq!(allows, 1, "the log agrees");
}

fn approve_racing_reject_leaves_one_final_state_and_the_log_agrees(backend: &Backend) {
    let a = Arc::new(start_approvals(backend, |c, _| c.worker_threads = Some(4)));
    let mut approved = 0;
    for round in 0..20 {
        let request = json!({"action": "reboot", "args": {"host": "stage-1", "note": format!("round {round}")}, "context": {"agent": "patchbot"}});
        let (_, id) = create(&a, &request);
        let barrier = Arc::new(Barrier::new(2));
        let racers: Vec<_> = [("carol", "approve"), ("erin", "reject")]
            .into_iter()
            .map(|(who, verb)| {
                let (a, barrier, id) = (Arc::clone(&a), Arc::clone(&barrier), id.clone());
                std::thread::spawn(move || {
                    let mut client = a.client(who);
                    barrier.wait();
                    (verb, act(&mut client, &id, verb, "race").0)
                })
            })
            .collect();
        let results: Vec<(&str, u16)> = racers.into_iter().map(|t| t.join().unwrap()).collect();
        let winners: Vec<&str> = results
            .iter()
            .filter(|(_, s)| *s == 200)
            .map(|(v, _)| *v)
            .collect();
        let losers = results.iter().filter(|(_, s)| *s == 409).count();
        assert_eq!(
            (winners.len(), losers),
            (1, 1),
            "round {round}: {results:?}"
        );
        let status = current(&a, &id)["status"].as_str().unwrap().to_owned();
        let expected = if winners[0] == "approve" {
            "approved"
        } else {
            "rejected"
        };
        assert_eq!(status, expected, "round {round}");
        approved += usize::from(expected == "approved");
        let actions: Vec<String> = approval_lines(&a.fx, &id)
            .iter()
            .map(|l| l["action"].as_str().unwrap().to_owned())
            .collect();
        assert_eq!(
            actions,
            ["create", winners[0]],
            "round {round}: the log agrees"
        );
    }
    eprintln!("approve won {approved} of 20 races");
}

fn every_action_is_a_chained_log_line_with_principal_and_comment(backend: &Backend) {
    let a = start_approvals(backend, |_, _| {});
    let request = prod_reboot("x");
    let (_, id) = create(&a, &request);
    assert_eq!(
        act(&mut a.client("carol"), &id, "approve", "CAB-123").0,
        200
    );
    assert_eq!(
        act(&mut a.client("olga"), &id, "approve", "owner: yes").0,
        200
    );
    decide(&mut a.client("remediation-bot"), &resume(&request, &id));
    let (_, id2) = create(&a, &prod_reboot("y"));
    assert_eq!(
        act(&mut a.client("olga"), &id2, "reject", "no\nreally").0,
        200
    );
    let lines = approval_lines(&a.fx, &id);
    let summary: Vec<(String, String, Json)> = lines
        .iter()
        .map(|l| {
            (
                l["action"].as_str().unwrap().to_owned(),
                l["principal"].as_str().unwrap().to_owned(),
                l["comment"].clone(),
            )
        })
        .collect();
    assert_eq!(
        summary,
        [
            ("create".into(), "remediation-bot".into(), Json::Null),
            ("approve".into(), "carol".into(), json!("CAB-123")),
            ("approve".into(), "olga".into(), json!("owner: yes")),
            ("use".into(), "remediation-bot".into(), Json::Null),
        ]
    );
    assert_eq!(lines[1]["groups"], json!(["oncall"]));
    assert_eq!(lines[2]["status"], "approved");
    assert_eq!(approval_lines(&a.fx, &id2)[1]["comment"], "no\nreally");
    // Comments are checked.
    for (body, why) in [
        (json!({"comment": "a\u{7}b"}), "control character"),
        (json!({"comment": "x".repeat(2001)}), "longer than 2000"),
        (json!({"coment": "x"}), "did you mean `comment`"),
        (json!({"comment": 7}), "must be a string"),
    ] {
        let (_, id3) = create(&a, &prod_reboot(why));
        let r = post(
            &mut a.client("carol"),
            &format!("/v1/approvals/{id3}/approve"),
            &body,
        );
        assert_eq!(r.status, 400, "{body}");
        assert!(
            String::from_utf8_lossy(&r.body).contains(why),
            "{}",
            String::from_utf8_lossy(&r.body)
        );
        assert_eq!(current(&a, &id3)["status"], "pending");
    }
    let mut fx = a.fx;
    fx.stop();
    let report = ward_log::verify(&fx.state().join("log")).unwrap();
    assert!(report.problem.is_none(), "{report:?}");
}

fn the_schema_is_versioned_and_a_newer_one_is_refused(backend: &Backend) {
    let a = start_approvals(backend, |_, _| {});
    let mut fx = a.fx;
    let state = fx.state();
    fx.stop();
    let version = match backend {
        Backend::Sqlite => {
            let store = ward_server::approvals::sqlite::SqliteStore::open(
                &state.join("approvals.sqlite3"),
                "rep_test",
            )
            .unwrap();
            let v = store.schema_version().unwrap();
            let conn = rusqlite::Connection::open(state.join("approvals.sqlite3")).unwrap();
            conn.execute("INSERT INTO ward_schema VALUES (99, 0)", [])
                .unwrap();
            v
        }
        Backend::Postgres(url) => {
            let port = pg::port_of(url);
            let db = url.rsplit('/').next().unwrap();
            pg::run_sql(port, db, "INSERT INTO ward_schema VALUES (99, 0)").unwrap();
            1
        }
    };
    assert_eq!(version, 1);
    let mut config = ward_server::Config::new(fx.policy_dir(), fx.dir.path().join("entities.json"));
    config.listen = "127.0.0.1:0".parse().unwrap();
    config.state = state;
    config.watch = false;
    config.tokens = Some(fx.dir.path().join("tokens.toml"));
    backend.configure(&mut config);
    let err = ward_server::Server::start(config).unwrap_err().to_string();
    assert!(
        err.contains("schema version 99, newer than this ward knows (1)"),
        "{err}"
    );
}

on_both_stores!(
    a_require_approval_creates_an_approval_bound_to_the_request,
    the_same_requester_and_digest_get_the_same_pending_approval,
    each_fired_rule_is_an_entry_and_one_principal_satisfies_every_entry_naming_them,
    only_a_named_principal_or_group_member_may_approve,
    the_requester_and_the_agent_never_approve,
    one_reject_is_final,
    an_approval_expires_on_the_servers_clock,
    listing_shows_each_principal_what_names_them,
    a_covered_resume_is_allowed_once,
    each_way_a_resume_is_refused,
    a_fresh_deny_is_never_overridden_and_does_not_use_the_approval,
    clock_skew_near_expires_does_not_help,
    fifty_concurrent_resumes_give_exactly_one_allow,
    approve_racing_reject_leaves_one_final_state_and_the_log_agrees,
    every_action_is_a_chained_log_line_with_principal_and_comment,
    the_schema_is_versioned_and_a_newer_one_is_refused,
);

// --- Not store-specific ----------------------------------------------------------------------

#[test]
fn without_tokens_no_approval_is_created_and_none_is_used() {
    let fx = start(|_, dir| {
        std::fs::write(dir.join("policy").join("main.ward"), APPROVALS_POLICY).unwrap();
        std::fs::write(dir.join("entities.json"), APPROVALS_ENTITIES).unwrap();
    });
    let mut client = fx.client();
    let (status, doc) = decide(&mut client, &prod_reboot("x"));
    assert_eq!(
        (status, doc["decision"].as_str()),
        (200, Some("require_approval"))
    );
    assert!(doc.get("approval").is_none(), "{doc}");
    assert_eq!(
        doc["errors"],
        json!([]),
        "exactly what `ward eval` decides: {doc}"
    );
    let (_, doc) = decide(&mut client, &resume(&prod_reboot("x"), "apr_01JD"));
    assert_eq!(doc["decision"], "require_approval");
    assert!(
        error_of(&doc).contains("keeps no approvals without a tokens file"),
        "{doc}"
    );
    for path in ["/v1/approvals", "/v1/approvals/apr_01JD"] {
        assert_eq!(client.get(path).unwrap().status, 403, "{path}");
    }
    let r = post(&mut client, "/v1/approvals/apr_01JD/approve", &json!({}));
    assert_eq!(r.status, 403);
    assert!(
        !fx.state().join("approvals.sqlite3").exists(),
        "no store is kept"
    );
}

#[test]
fn postgres_approvals_without_tokens_stop_the_start() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("p.ward"), APPROVALS_POLICY).unwrap();
    std::fs::write(dir.path().join("e.json"), APPROVALS_ENTITIES).unwrap();
    let mut config = ward_server::Config::new(dir.path().join("p.ward"), dir.path().join("e.json"));
    config.listen = "127.0.0.1:0".parse().unwrap();
    config.state = dir.path().join("state");
    config.approvals =
        ward_server::ApprovalsBackend::Postgres("postgres://ward:secret@db.internal/ward".into());
    let err = ward_server::Server::start(config).unwrap_err().to_string();
    assert!(err.contains("needs `--tokens FILE`"), "{err}");
    assert!(
        err.contains("postgres://ward:…@db.internal/ward"),
        "the password is not shown: {err}"
    );
}

#[test]
fn two_replicas_on_one_postgres_share_approvals() {
    let Some(backend) = Backend::postgres() else {
        return;
    };
    let a = start_approvals(&backend, |_, _| {});
    // A second replica: the same policy, estate, tokens and database, its own state.
    let mut config =
        ward_server::Config::new(a.fx.policy_dir(), a.fx.dir.path().join("entities.json"));
    config.listen = "127.0.0.1:0".parse().unwrap();
    config.state = a.fx.dir.path().join("state-b");
    config.watch = false;
    config.tokens = Some(a.fx.dir.path().join("tokens.toml"));
    backend.configure(&mut config);
    let b = ward_server::Server::start_with_clock(config, a.fx.clock.clone()).unwrap();
    let on_b = |name: &str| {
        ward_server::client::Client::new(b.local_addr())
            .with_token(a.tokens[name].clone())
            .with_timeout(Duration::from_secs(20))
    };
    let request = prod_reboot("x");
    let (_, id) = create(&a, &request);
    // Approved on B, resumed on A; used, so B refuses a replay.
    assert_eq!(act(&mut on_b("carol"), &id, "approve", "b").0, 200);
    assert_eq!(act(&mut a.client("olga"), &id, "approve", "a").0, 200);
    let (_, doc) = decide(&mut on_b("remediation-bot"), &resume(&request, &id));
    assert_eq!(doc["decision"], "allow", "{doc}");
    let (_, doc) = decide(&mut a.client("remediation-bot"), &resume(&request, &id));
    assert!(error_of(&doc).contains("already used"), "{doc}");
    // Each replica logs the actions it took, in its own chain.
    let b_lines: Vec<Json> = ward_log::read(
        &a.fx.dir.path().join("state-b/log"),
        &ward_log::Filter::default(),
    )
    .unwrap()
    .into_iter()
    .map(|e| e.value)
    .filter(|l| l["kind"] == "approval")
    .collect();
    let actions: Vec<&str> = b_lines
        .iter()
        .map(|l| l["action"].as_str().unwrap())
        .collect();
    assert_eq!(actions, ["approve", "use"]);
    b.shutdown();
}

#[test]
fn new_pending_approvals_are_posted_to_the_webhook_with_retries() {
    use std::io::{BufReader, Write};
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = listener.local_addr().unwrap();
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        for (attempt, stream) in listener.incoming().enumerate() {
            let Ok(stream) = stream else { break };
            let mut reader = BufReader::new(stream);
            let request = read_request(&mut reader);
            // The first two attempts fail: one with 503, one by closing without an answer.
            match attempt {
                0 => {
                    let _ = reader.get_mut().write_all(b"HTTP/1.1 503 Service Unavailable\r\ncontent-length: 0\r\nconnection: close\r\n\r\n");
                }
                1 => {}
                _ => {
                    let _ = reader
                        .get_mut()
                        .write_all(b"HTTP/1.1 204 No Content\r\nconnection: close\r\n\r\n");
                }
            }
            let _ = tx.send((attempt, request, Instant::now()));
            if attempt >= 2 {
                break;
            }
        }
    });
    let a = start_approvals(&Backend::Sqlite, |c, _| {
        c.notify = Some(format!("http://{addr}/hooks/ward"));
        c.notify_retry.first_delay = Duration::from_millis(100);
    });
    let (_, id) = create(&a, &prod_reboot("notify me"));
    // The same request again is the same approval: not notified twice.
    create(&a, &prod_reboot("notify me"));
    let mut got = Vec::new();
    for _ in 0..3 {
        got.push(
            rx.recv_timeout(Duration::from_secs(20))
                .expect("a delivery"),
        );
    }
    for (attempt, (head, body), _) in &got {
        assert!(head.starts_with("POST /hooks/ward HTTP/1.1"), "{head}");
        assert!(head.contains(&format!("idempotency-key: {id}")), "{head}");
        assert!(head.contains("x-ward-event: approval.pending"), "{head}");
        let doc: Json = serde_json::from_slice(body).unwrap();
        assert_eq!(doc["id"], id.as_str(), "attempt {attempt}");
        assert_eq!(doc["status"], "pending");
        assert_eq!(doc["needs"][1]["approvers"], json!(["olga"]));
    }
    // Backoff: the second wait is about twice the first.
    let first = got[1].2 - got[0].2;
    let second = got[2].2 - got[1].2;
    assert!(first >= Duration::from_millis(90), "{first:?}");
    assert!(second >= Duration::from_millis(180), "{second:?}");
    assert!(
        rx.recv_timeout(Duration::from_millis(500)).is_err(),
        "no more deliveries"
    );
}

/// Reads one HTTP request: the head (lower-cased header names) and the body.
fn read_request(reader: &mut impl std::io::BufRead) -> (String, Vec<u8>) {
    let mut head = String::new();
    let mut length = 0;
    loop {
        let mut line = String::new();
        if reader.read_line(&mut line).unwrap_or(0) == 0 || line == "\r\n" {
            break;
        }
        let lower = match line.split_once(':') {
            Some((name, value)) => format!("{}:{value}", name.to_ascii_lowercase()),
            None => line.clone(),
        };
        if let Some(v) = lower.strip_prefix("content-length:") {
            length = v.trim().parse().unwrap_or(0);
        }
        head.push_str(&lower);
    }
    let mut body = vec![0; length];
    let _ = reader.read_exact(&mut body);
    (head, body)
}
