//! `Engine::precompute`: computing every per-entity memo of a snapshot before decisions need
//! it changes no decision, message, error or explanation (at the default budget and at budgets
//! that run out), runs beside deciding threads, and stops when the snapshot is replaced. The
//! random programs of the differential suite are decided precomputed too (`diff::run_case`).

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::mpsc;

use ward_runtime::budget::Budget;
use ward_runtime::engine::{Engine, EngineConfig, EngineKind};

const POLICY: &str = r#"
entity Host { name: String, tags: Set<String>, critical: Bool }
relation depends_on: Host -> Host
action patch { host: Host }

default allow

fn revenue(h: Host) -> Bool = any a in closure(h, ~depends_on): "revenue" in a.tags

rule revenue_blast_radius {
  on patch
  when "revenue" in host.tags or revenue(host)
  require approval from "sre-leads"
  because "patching {host} affects revenue"
}

rule wide {
  on patch
  when count(closure(host, ~depends_on)) > 40
  deny
  because "{host} has {count(closure(host, ~depends_on))} dependents"
}

rule deep {
  on patch
  when any b in closure(host, depends_on): b.critical and not revenue(b)
  deny
  because "{host} depends on a critical host"
}
"#;

/// `n` hosts in a DAG: host `i` depends on `i / 2` and `i / 3` (so low numbers have many
/// dependents); every seventh is tagged `revenue`, every eleventh is critical.
fn estate(n: usize) -> String {
    let mut hosts = Vec::with_capacity(n);
    let mut edges = Vec::new();
    for i in 0..n {
        let tags = if i % 7 == 3 { r#"["revenue"]"# } else { "[]" };
        hosts.push(format!(
            r#""h{i}": {{"name": "host {i}", "tags": {tags}, "critical": {}}}"#,
            i % 11 == 5
        ));
        for d in [i / 2, i / 3] {
            if d != i {
                edges.push(format!(r#"["h{i}", "h{d}"]"#));
            }
        }
    }
    format!(
        r#"{{"entities": {{"Host": {{{}}}}}, "relations": {{"depends_on": [{}]}}}}"#,
        hosts.join(","),
        edges.join(",")
    )
}

fn request(host: &str) -> serde_json::Value {
    serde_json::json!({
        "action": "patch", "at": "2026-11-28T10:00:00Z", "args": {"host": host}, "context": {}
    })
}

fn engine(policy: &str, kind: EngineKind) -> Engine {
    let compiled = ward::compile(&[("policy.ward".to_string(), policy.to_string())]);
    let Some(program) = compiled.program else {
        panic!("the policy does not check: {:?}", compiled.diagnostics);
    };
    Engine::with_config(program, EngineConfig { engine: kind }).expect("builds")
}

/// Every host's decision and explanation on `expected` and `actual`, as JSON.
fn same_decisions(expected: &Engine, actual: &Engine, n: usize, what: &str) {
    for i in 0..n {
        let r = request(&format!("h{i}"));
        let (a, ea) = expected.explain(&r);
        let (b, eb) = actual.explain(&r);
        assert_eq!(
            serde_json::to_value(&a).expect("json"),
            serde_json::to_value(&b).expect("json"),
            "{what}: h{i}"
        );
        assert_eq!(ea, eb, "{what}: h{i}");
    }
}

#[test]
fn precomputed_memos_change_no_decision() {
    let n = 600;
    let text = estate(n);
    let interp = engine(POLICY, EngineKind::Interp);
    let jit = engine(POLICY, EngineKind::Jit);
    interp.load_entities_str(&text).expect("loads");
    jit.load_entities_str(&text).expect("loads");
    for steps in [None, Some(3), Some(40), Some(400)] {
        let budget = steps.map_or_else(Budget::default, |steps| Budget { steps });
        let reference = interp.with_shared_store(interp.store()).with_budget(budget);
        let ahead = jit.with_shared_store(jit.store()).with_budget(budget);
        let done = ahead.precompute();
        assert!(done.memos >= 2, "{done:?}");
        assert!(!done.stopped, "{done:?}");
        assert_eq!(
            done.computed + done.known + done.failed,
            (done.memos * n) as u64,
            "every memo of every host: {done:?}"
        );
        match steps {
            // Every value fits in a decision's budget.
            None => assert_eq!(done.failed, 0, "{done:?}"),
            // Some do not: they are left for decisions, which fail as they would have.
            Some(3) => assert!(done.failed > 0, "{done:?}"),
            Some(_) => {}
        }
        let what = format!("budget {}", budget.steps);
        same_decisions(&reference, &ahead, n, &what);
        // Precomputing again finds everything but what failed.
        let again = ahead.precompute();
        assert_eq!(again.computed, 0, "{what}: {again:?}");
        assert_eq!(again.failed, done.failed, "{what}: {again:?}");
    }
    // The interpreter has nothing to precompute.
    assert_eq!(interp.precompute().memos, 0);
}

#[test]
fn precomputing_runs_beside_decisions_and_stops_at_a_load() {
    let n = 4_000;
    let big = estate(n);
    let small = estate(50);
    let interp = engine(POLICY, EngineKind::Interp);
    interp.load_entities_str(&big).expect("loads");
    let jit = Arc::new(engine(POLICY, EngineKind::Jit));
    jit.load_entities_str(&big).expect("loads");
    // Precomputing on one thread, deciding on this one.
    let precompute = |jit: &Arc<Engine>| {
        let (started, wait) = mpsc::channel();
        let jit = Arc::clone(jit);
        let worker = std::thread::spawn(move || {
            let _ = started.send(());
            jit.precompute()
        });
        wait.recv().expect("the worker starts");
        worker
    };
    let worker = precompute(&jit);
    same_decisions(&interp, &jit, 200, "while precomputing");
    let done = worker.join().expect("precomputing does not panic");
    assert!(!done.stopped && done.computed > 0, "{done:?}");
    // A load while precomputing stops it. The load is made from the precomputing thread, at
    // its second look at whether to go on (after 16 hosts), so that it surely comes while the
    // 4,000 hosts are being precomputed: made from another thread, it came after the end
    // whenever the machine gave that thread no core for a while.
    jit.load_entities_str(&big).expect("loads");
    let looks = AtomicUsize::new(0);
    let during = jit.precompute_while(&|| {
        if looks.fetch_add(1, Ordering::SeqCst) == 1 {
            jit.load_entities_str(&small).expect("loads");
        }
        true
    });
    assert!(
        during.stopped,
        "a load did not stop precomputing: {during:?}"
    );
    assert!(
        during.computed < done.computed,
        "precomputing went on after the load: {during:?} against {done:?}"
    );
    // The new snapshot is precomputed from scratch, and decides as the interpreter does.
    let next = jit.precompute();
    assert!(!next.stopped, "{next:?}");
    interp.load_entities_str(&small).expect("loads");
    same_decisions(&interp, &jit, 50, "after the load");
}
