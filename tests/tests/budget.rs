//! Issue 7.7: evaluation cost is bounded. Closure sizes are per-node facts of a snapshot that
//! need no closure (the shape that took 18 s and 3.2 GB on a 40,000-node chain decides in a
//! few thousand steps), and every decision has a budget of steps whose exhaustion is an
//! evaluation error of the rule being evaluated, failing closed, identically on both engines.
//! Nothing here is timed: the budget bounds every decision by construction.

use ward_runtime::budget::{Budget, DEFAULT_STEPS};
use ward_runtime::engine::{Engine, EngineConfig, EngineKind};

const POLICY: &str = r#"
entity Host { name: String, critical: Bool }
relation depends_on: Host -> Host
action patch { host: Host }

default allow

// Many hosts depend on this one, each through a long chain of others.
rule wide_blast_radius {
  on patch
  when any a in closure(host, ~depends_on): count(closure(a, depends_on)) > 39990
  deny
  because "{host} is depended on through a long chain"
}

rule audited {
  on patch
  allow
  because "patching {host}"
}
"#;

/// A policy whose deny rule needs about `n * n / 2` steps on a chain of `n` hosts: for every
/// host `a` upstream of `host`, it walks `a`'s whole closure.
const QUADRATIC: &str = r#"
entity Host { name: String, critical: Bool }
relation depends_on: Host -> Host
action patch { host: Host }

default allow

rule allow_first {
  on patch
  when any a in closure(host, ~depends_on): all b in closure(a, depends_on): b == a
  allow
}

rule deny_all_pairs {
  on patch
  when any a in closure(host, ~depends_on): any b in closure(a, depends_on): b == a
  deny
}

rule free_deny {
  on patch
  when host.critical
  deny
}

rule needs_a_step {
  on patch
  when count(host.depends_on) == 0
  require approval from "oncall"
}
"#;

/// `h0 -> h1 -> … -> h{n-1}`: `h{n-1}` is depended on by every other host.
fn chain(n: usize) -> String {
    let mut hosts = Vec::with_capacity(n);
    let mut edges = Vec::with_capacity(n);
    for i in 0..n {
        hosts.push(format!(
            r#""h{i}": {{"name": "host {i}", "critical": false}}"#
        ));
        if i + 1 < n {
            edges.push(format!(r#"["h{i}", "h{}"]"#, i + 1));
        }
    }
    format!(
        r#"{{"entities": {{"Host": {{{}}}}}, "relations": {{"depends_on": [{}]}}}}"#,
        hosts.join(","),
        edges.join(",")
    )
}

/// `policy.ward:LINE:1` of `rule NAME` in [`QUADRATIC`].
fn location(rule: &str) -> String {
    let line = QUADRATIC
        .lines()
        .position(|l| l == format!("rule {rule} {{"))
        .expect("the rule is in the policy");
    format!("policy.ward:{}:1", line + 1)
}

fn engines(policy: &str, entities: &str) -> [Engine; 2] {
    let compiled = ward::compile(&[("policy.ward".to_string(), policy.to_string())]);
    let Some(program) = compiled.program else {
        panic!("the policy does not check: {:?}", compiled.diagnostics);
    };
    [EngineKind::Interp, EngineKind::Jit].map(|kind| {
        let engine =
            Engine::with_config(program.clone(), EngineConfig { engine: kind }).expect("builds");
        engine.load_entities_str(entities).expect("loads");
        engine
    })
}

fn request(host: &str) -> String {
    format!(
        r#"{{"action": "patch", "at": "2026-11-28T10:00:00Z", "args": {{"host": "{host}"}},
            "context": {{}}}}"#
    )
}

#[test]
fn closure_sizes_over_a_40000_node_chain_need_no_closures() {
    let n = 40_000;
    let estate = chain(n);
    for engine in engines(POLICY, &estate) {
        let kind = engine.kind();
        // The hosts h0 … h8 have closures of more than 39,990 hosts.
        let d = engine.decide_str(&request(&format!("h{}", n - 1)));
        assert_eq!(d.decision.as_str(), "deny", "{kind:?}: {d:?}");
        assert!(d.errors.is_empty(), "{kind:?}: {d:?}");
        assert_eq!(
            d.fired().first().and_then(|f| f.message()).as_deref(),
            Some("h39999 is depended on through a long chain")
        );
        // h0 has no host upstream.
        let d = engine.decide_str(&request("h0"));
        assert_eq!(d.decision.as_str(), "allow", "{kind:?}: {d:?}");
        // About 40,000 iterations, one step each for the element and the size: well inside a
        // budget of 200,000 steps (materializing the closures would take 800 million).
        let tight = engine
            .with_shared_store(engine.store())
            .with_budget(Budget { steps: 200_000 });
        for _ in 0..3 {
            let d = tight.decide_str(&request(&format!("h{}", n - 1)));
            assert_eq!(d.decision.as_str(), "deny", "{kind:?}: {d:?}");
            assert!(d.errors.is_empty(), "{kind:?}: {d:?}");
        }
    }
}

#[test]
fn an_exhausted_budget_fails_closed_identically_on_both_engines() {
    let estate = chain(3_000);
    let [interp, jit] = engines(QUADRATIC, &estate);
    assert_eq!(interp.budget().steps, DEFAULT_STEPS);
    let exhausted = format!(
        "evaluation budget exhausted: the decision needs more than {DEFAULT_STEPS} steps \
         (loops, calls, graph walks and string and set work)"
    );
    for engine in [&interp, &jit] {
        let kind = engine.kind();
        let d = engine.decide_str(&request("h2999"));
        // The allow rule runs out (about 4.5 million steps): it does not fire. The deny rule
        // then has no steps left: it fires with the error. A rule that needs no steps is
        // decided as usual; one that needs a step fails too, and fires (approval).
        let json = serde_json::to_value(&d).expect("serializable");
        assert_eq!(
            json,
            serde_json::json!({
                "decision": "deny",
                "fired": [
                    {"rule": "deny_all_pairs", "effect": "deny", "message": null,
                     "location": location("deny_all_pairs")},
                    {"rule": "needs_a_step", "effect": "require_approval", "message": null,
                     "location": location("needs_a_step"), "approvers": ["oncall"]}
                ],
                "approvers": [],
                "errors": [
                    {"rule": "allow_first", "message": exhausted},
                    {"rule": "deny_all_pairs", "message": exhausted},
                    {"rule": "needs_a_step", "message": exhausted}
                ]
            }),
            "{kind:?}"
        );
        // The same request with a budget large enough decides without errors.
        let roomy = engine
            .with_shared_store(engine.store())
            .with_budget(Budget { steps: 20_000_000 });
        let d = roomy.decide_str(&request("h2999"));
        assert!(d.errors.is_empty(), "{kind:?}: {d:?}");
        assert_eq!(d.decision.as_str(), "require_approval", "{kind:?}: {d:?}");
    }
    // Budgets of every size run out at the same point on both engines.
    for steps in [0, 1, 2, 3, 10, 2_999, 3_000, 3_001, 5_000, 100_000] {
        let budget = Budget { steps };
        let a = interp.with_shared_store(interp.store()).with_budget(budget);
        let b = jit.with_shared_store(jit.store()).with_budget(budget);
        for host in ["h0", "h1", "h1500", "h2999"] {
            assert_eq!(
                a.explain_str(&request(host)),
                b.explain_str(&request(host)),
                "{steps} steps, {host}"
            );
        }
    }
}

/// The JIT memoizes per snapshot and per decision: a memoized value is charged what it cost
/// to compute, so whether a decision runs out never depends on what was decided before.
#[test]
fn memoized_values_cost_what_they_cost_to_compute() {
    let policy = r#"
entity Host { name: String, critical: Bool }
relation depends_on: Host -> Host
action patch { host: Host, other: Host }

default allow

fn upstream(h: Host) -> Int = count({ x in closure(h, ~depends_on) | x.name != "" })

rule one { on patch when upstream(host) > 5 deny }
rule two { on patch when upstream(other) > 5 deny }
rule three { on patch when upstream(host) > 5 require approval from "oncall" }
"#;
    let estate = chain(200);
    let [interp, jit] = engines(policy, &estate);
    let req = |host: &str, other: &str| {
        format!(
            r#"{{"action": "patch", "at": "2026-11-28T10:00:00Z",
                "args": {{"host": "{host}", "other": "{other}"}}, "context": {{}}}}"#
        )
    };
    for steps in [150, 199, 200, 201, 401, 402, 403, 404, 600, 605, 700] {
        let budget = Budget { steps };
        let a = interp.with_shared_store(interp.store()).with_budget(budget);
        let b = jit.with_shared_store(jit.store()).with_budget(budget);
        // Warm the JIT's memo with other requests first, then in the other order.
        for (x, y) in [
            ("h199", "h199"),
            ("h199", "h100"),
            ("h100", "h199"),
            ("h199", "h199"),
        ] {
            assert_eq!(
                a.decide_str(&req(x, y)),
                b.decide_str(&req(x, y)),
                "{steps} steps, {x} {y}"
            );
        }
    }
}
