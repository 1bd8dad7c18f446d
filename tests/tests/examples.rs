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
