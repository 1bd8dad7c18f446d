//! The standard library (`stdlib/`): every item is documented, every function is exercised by
//! `stdlib/tests`, and those tests pass on both engines.

use ward::testing::{Outcome, run_tests};
use ward_tests::{render_diagnostics, repo_dir};

const MODULES: [&str; 3] = ["time", "identity", "deps"];

#[test]
fn every_stdlib_item_is_documented_and_tested() {
    let tests = std::fs::read_to_string(repo_dir().join("stdlib/tests/doc_examples.ward"))
        .expect("stdlib tests are readable");
    for module in MODULES {
        let text = std::fs::read_to_string(repo_dir().join(format!("stdlib/{module}.ward")))
            .expect("stdlib module is readable");
        let (file, diags) = ward_syntax::parse(&text);
        assert!(diags.is_empty(), "std.{module} does not parse: {diags:?}");
        assert!(!file.items.is_empty(), "std.{module} is empty");
        for item in &file.items {
            let Some(name) = item.name() else { continue };
            assert!(
                item.doc().is_some_and(|d| !d.trim().is_empty()),
                "std.{module}.{} has no `///` documentation",
                name.name
            );
            let qualified = format!("{module}.{}", name.name);
            assert!(
                tests.contains(&qualified),
                "std.{module}.{} is not exercised by stdlib/tests",
                name.name
            );
        }
    }
}

#[test]
fn stdlib_tests_pass() {
    let files = ward::load_policy_set(&repo_dir().join("stdlib/tests")).expect("readable");
    let compiled = ward::compile(&files);
    assert!(
        compiled.diagnostics.is_empty(),
        "{}",
        render_diagnostics(&compiled)
    );
    let program = compiled.program.expect("program");
    let report = run_tests(&program, None).expect("executable");
    assert!(report.passed() > 0);
    for test in &report.tests {
        if let Outcome::Failed(why) = &test.outcome {
            panic!("{}: {why}", test.name);
        }
    }
}
