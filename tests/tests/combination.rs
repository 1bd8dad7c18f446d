//! The JIT's common decision is combined from what it keeps per set of fired rules of an action
//! (`decision::combine_settled`): an action of `n` rules meets up to `2^n` sets, and past the
//! room it keeps (a few hundred sets) each decision settles its own. Both engines must decide
//! every set alike, the first time a set is met (settled and kept), the second (found again),
//! and past the room (settled by the decision), with messages, approvers and fired rules as the
//! interpreter gives them.

use ward_runtime::engine::{Engine, EngineConfig, EngineKind};

/// Ten rules, each firing on one flag of the request, so the 1,024 sets of flags are the 1,024
/// sets of fired rules: every effect, literal approvers that overlap (their union sorted and
/// distinct), messages with direct holes (a field, an entity, an attribute) and without, and a
/// rule whose hole is evaluated (so its sets are combined by the general path).
const POLICY: &str = r#"
entity Host { owner: String, tier: Int }

action act {
  host: Host, n: Int,
  b0: Bool, b1: Bool, b2: Bool, b3: Bool, b4: Bool,
  b5: Bool, b6: Bool, b7: Bool, b8: Bool, b9: Bool
}

default require approval from "default-desk"

rule r0 { on act when b0 allow because "{host} may act" }
rule r1 { on act when b1 require approval from "sre" because "{host.owner} owns {host}" }
rule r2 { on act when b2 require approval from ["change-board", "sre"] }
rule r3 { on act when b3 deny because "n is {n}" }
rule r4 { on act when b4 allow }
rule r5 { on act when b5 require approval from "audit" because "plain text" }
rule r6 { on act when b6 require approval from ["audit", "cfo-office", "sre"] }
rule r7 { on act when b7 allow because "tier {host.tier}" }
rule r8 { on act when b8 require approval from "zz-last" because "{n} and {host}" }
rule r9 { on act when b9 deny because "{n + 1} is evaluated" }
"#;

fn engine(kind: EngineKind) -> Engine {
    let compiled = ward::compile(&[("policy.ward".to_string(), POLICY.to_string())]);
    let Some(program) = compiled.program else {
        panic!("the policy does not check: {:?}", compiled.diagnostics);
    };
    let engine = Engine::with_config(program, EngineConfig { engine: kind }).expect("builds");
    engine
        .load_entities_str(
            r#"{"entities": {"Host": {
                "h1": {"owner": "alice", "tier": 1},
                "h2": {"owner": "bob", "tier": 2}}}}"#,
        )
        .expect("loads");
    engine
}

fn request(set: u32) -> serde_json::Value {
    let mut args = serde_json::Map::new();
    args.insert("host".into(), format!("h{}", 1 + set % 2).into());
    args.insert("n".into(), i64::from(set).into());
    for bit in 0..10 {
        args.insert(format!("b{bit}"), (set >> bit & 1 == 1).into());
    }
    serde_json::json!({
        "action": "act", "at": "2026-11-28T10:00:00Z", "args": args, "context": {},
        "id": format!("set-{set}")
    })
}

#[test]
fn every_set_of_fired_rules_decides_alike_kept_found_again_and_past_the_room() {
    let interp = engine(EngineKind::Interp);
    let jit = engine(EngineKind::Jit);
    let mut approvals = 0;
    // Twice over every set: the first pass keeps what it settles until the room runs out, the
    // second finds those again and settles the rest itself.
    for pass in 0..2 {
        for set in 0..1024 {
            let r = request(set);
            let want = interp.decide(&r);
            let got = jit.decide(&r);
            assert_eq!(
                serde_json::to_value(&got).expect("json"),
                serde_json::to_value(&want).expect("json"),
                "pass {pass}, set {set:#012b}"
            );
            assert_eq!(got.fired().len(), set.count_ones() as usize, "set {set}");
            approvals += usize::from(got.decision == ward_ir::EffectKind::RequireApproval);
        }
    }
    // Neither deny fires in a quarter of the sets; of those, every set with an approval rule
    // fired, or with nothing fired (the default), asks for approval.
    assert!(approvals > 2 * 200, "{approvals}");
}

/// Deciding into one decision a service keeps, set after set, leaves nothing of the previous
/// decision in the next (fired rules, pieces, approvers, request id).
#[test]
fn a_kept_decision_decided_into_again_shows_only_the_last() {
    let interp = engine(EngineKind::Interp);
    let jit = engine(EngineKind::Jit);
    let mut out = ward_runtime::decision::Decision::rejected("not decided yet");
    for set in (0..1024).rev().step_by(7) {
        let r = request(set);
        let parsed = jit.parse_request(&r).expect("valid");
        jit.decide_request_into(&parsed, &mut out);
        assert_eq!(
            serde_json::to_value(&out).expect("json"),
            serde_json::to_value(interp.decide(&r)).expect("json"),
            "set {set:#012b}"
        );
    }
}
