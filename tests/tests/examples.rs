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

/// The bundled example is what users copy, and `docs/ci.md` runs `ward fmt --check` on it.
#[test]
fn the_example_guardrails_are_in_the_canonical_layout() {
    let files = ward::load_policy_set(&repo_dir().join("examples/guardrails")).expect("readable");
    for (path, text) in files {
        let formatted = ward_syntax::format::format(&text);
        assert!(
            formatted.as_deref() == Ok(text.as_str()),
            "`{path}` is not in the layout `ward fmt` writes: run `ward fmt examples/guardrails`"
        );
    }
}

/// The decision `docs/language.md` shows for `examples/requests/reboot-db-outside-window.json`
/// is the one Ward gives (locations included), so the reference cannot drift from the example.
#[test]
fn the_language_reference_shows_the_examples_real_decision() {
    let doc = std::fs::read_to_string(repo_dir().join("docs/language.md")).expect("readable");
    let marker = "**Decision.** The answer to that request under `examples/guardrails`:";
    let after = &doc[doc
        .find(marker)
        .expect("the decision example is in docs/language.md")..];
    let start = after.find("```json\n").expect("a json block") + "```json\n".len();
    let shown: serde_json::Value =
        serde_json::from_str(&after[start..start + after[start..].find("```").expect("closed")])
            .expect("the block is JSON");
    // Locations in the reference are relative to the repository root, as `ward eval` prints
    // them when run there.
    let files: Vec<(String, String)> =
        ward::load_policy_set(&repo_dir().join("examples/guardrails"))
            .expect("readable")
            .into_iter()
            .map(|(path, text)| {
                let rel = std::path::Path::new(&path)
                    .strip_prefix(repo_dir())
                    .map(|p| p.to_string_lossy().into_owned())
                    .unwrap_or(path);
                (rel, text)
            })
            .collect();
    let engine = ward::Engine::new(ward::compile(&files).program.expect("checks")).expect("builds");
    engine
        .load_entities_str(
            &std::fs::read_to_string(repo_dir().join("examples/estate.json")).expect("readable"),
        )
        .expect("loads");
    let request =
        std::fs::read_to_string(repo_dir().join("examples/requests/reboot-db-outside-window.json"))
            .expect("readable");
    let decided = serde_json::to_value(engine.decide_str(&request)).expect("serializes");
    assert_eq!(
        decided, shown,
        "docs/language.md shows another decision than Ward gives"
    );
}
