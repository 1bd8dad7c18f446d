//! Conformance corpus: every policy set under `corpus/eval` checks clean and all its `test`
//! blocks pass; every case under `corpus/eval/messages` yields exactly the expected decision
//! JSON (rendered messages, locations, per-rule and combined approvers, errors) on both engines.

use ward::testing::{Outcome, run_tests};
use ward_runtime::engine::{EngineConfig, EngineKind};
use ward_tests::{crate_dir, entries, read_case, render_diagnostics};

#[test]
fn conformance_tests_pass() {
    let dir = crate_dir().join("corpus/eval");
    let mut n_tests = 0;
    let mut failures = Vec::new();
    for case in entries(&dir, "ward") {
        if case.is_dir() {
            continue;
        }
        let files = ward::load_policy_set(&case).expect("readable corpus file");
        let compiled = ward::compile(&files);
        let Some(program) = compiled.program.as_ref() else {
            failures.push(format!(
                "{}:\n{}",
                case.display(),
                render_diagnostics(&compiled)
            ));
            continue;
        };
        let report = run_tests(program, None).expect("the program is executable");
        n_tests += report.tests.len();
        for test in report.tests {
            if let Outcome::Failed(why) = test.outcome {
                failures.push(format!("{} ({}): {why}", test.name, test.location));
            }
        }
    }
    assert!(
        failures.is_empty(),
        "{} failures:\n{}",
        failures.len(),
        failures.join("\n\n")
    );
    // The contract is covered case by case: one `test` block per request and expectation.
    assert!(n_tests >= 200, "only {n_tests} conformance tests ran");
}

#[test]
fn decisions_match_expected_json() {
    let dir = crate_dir().join("corpus/eval");
    let cases = entries(&dir.join("messages"), "json");
    assert!(!cases.is_empty());
    let mut failures = Vec::new();
    for case in cases {
        let text = std::fs::read_to_string(&case).expect("readable case");
        let doc: serde_json::Value = serde_json::from_str(&text).expect("case is JSON");
        let policy = doc["policy"].as_str().expect("`policy` names a file");
        let files = read_case(&dir.join(policy), &dir);
        let compiled = ward::compile(&files);
        let Some(program) = compiled.program else {
            failures.push(format!("{policy}:\n{}", render_diagnostics(&compiled)));
            continue;
        };
        for kind in [EngineKind::Interp, EngineKind::Jit] {
            let engine = ward::Engine::with_config(program.clone(), EngineConfig { engine: kind })
                .expect("executable program");
            if let Err(e) = engine.load_entities_json(&doc["entities"]) {
                failures.push(format!("{}: entities: {e}", case.display()));
                continue;
            }
            let got = serde_json::to_value(engine.decide(&doc["request"])).expect("serializable");
            if got != doc["decision"] {
                failures.push(format!(
                    "{} ({}):\nexpected {:#}\n     got {got:#}",
                    case.display(),
                    kind.as_str(),
                    doc["decision"]
                ));
            }
        }
    }
    assert!(
        failures.is_empty(),
        "{} failures:\n{}",
        failures.len(),
        failures.join("\n\n")
    );
}
