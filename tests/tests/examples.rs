//! The bundled example (`examples/`) checks clean, its tests pass, and its sample requests
//! get decisions.

use ward::testing::{Outcome, run_tests};
use ward_tests::{render_diagnostics, repo_dir};

#[test]
fn example_guardrails_check_and_pass_their_tests() {
    let files = ward::load_policy_set(&repo_dir().join("examples/guardrails")).expect("readable");
    let compiled = ward::compile(&files);
    assert!(
        compiled.diagnostics.is_empty(),
        "{}",
        render_diagnostics(&compiled)
    );
    let program = compiled.program.expect("program");
    let n_rules = program.rules.len();
    assert!(n_rules >= 20, "the example has only {n_rules} rules");
    let report = run_tests(&program, None).expect("executable");
    let failed: Vec<_> = report
        .tests
        .iter()
        .filter_map(|t| match &t.outcome {
            Outcome::Failed(why) => Some(format!("{}: {why}", t.name)),
            Outcome::Passed => None,
        })
        .collect();
    assert!(failed.is_empty(), "{}", failed.join("\n"));
    assert!(report.passed() >= 20);
}

/// Issue 7.1: a request that names `target` twice must not be decided for the last one.
/// `serde_json` keeps the last key, which turned this deny (break-glass) into an allow.
#[test]
fn a_duplicated_key_is_denied_naming_it_on_both_engines() {
    use ward_runtime::engine::{Engine, EngineConfig, EngineKind};
    let files = ward::load_policy_set(&repo_dir().join("examples/guardrails")).expect("readable");
    let program = ward::compile(&files).program.expect("checks");
    let estate =
        std::fs::read_to_string(repo_dir().join("examples/estate.json")).expect("readable");
    let request = r#"{"action": "reset_mfa", "at": "2026-11-28T10:00:00Z",
        "args": {"target": "breakglass-admin", "target": "fiona-walsh"},
        "context": {"agent": "warden"}}"#;
    for kind in [EngineKind::Interp, EngineKind::Jit] {
        let engine =
            Engine::with_config(program.clone(), EngineConfig { engine: kind }).expect("builds");
        engine.load_entities_str(&estate).expect("loads");
        for decision in [
            engine.decide_str(request),
            engine.decide_bytes(request.as_bytes()),
            engine.explain_str(request).0,
        ] {
            assert_eq!(decision.decision.as_str(), "deny", "{kind:?}: {decision:?}");
            assert!(decision.fired().is_empty(), "{decision:?}");
            assert_eq!(decision.errors.len(), 1, "{decision:?}");
            assert_eq!(
                decision.errors[0].message, "args: duplicate key `target`",
                "{kind:?}"
            );
        }
    }
}
