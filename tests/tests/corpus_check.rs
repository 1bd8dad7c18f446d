//! Diagnostics corpus: every policy under `corpus/check/fail` must be rejected, and its
//! rendered diagnostics match the reviewed snapshot in `snapshots/check_fail` (policies under
//! `corpus/check/warn` load with warnings only, snapshots in `snapshots/check_warn`); every policy
//! under `corpus/check/pass` must check clean.

use std::collections::BTreeSet;

use ward_tests::{case_name, crate_dir, entries, read_case, render_diagnostics};

/// The input files and the rendered diagnostics, as one reviewable text.
fn snapshot_text(files: &[(String, String)], compiled: &ward::Compiled) -> String {
    let mut input = String::new();
    for (path, text) in files {
        input.push_str(&format!("// ---- {path}\n{text}\n"));
    }
    format!(
        "{input}\n// ==== diagnostics\n{}",
        render_diagnostics(compiled)
    )
}

#[test]
fn failing_policies_match_their_snapshots() {
    let base = crate_dir().join("corpus/check");
    let mut codes = BTreeSet::new();
    for case in entries(&base.join("warn"), "ward") {
        let files = read_case(&case, &base);
        let compiled = ward::compile(&files);
        assert!(
            compiled
                .diagnostics
                .iter()
                .all(|d| !d.diagnostic.is_error())
                && !compiled.diagnostics.is_empty(),
            "{} must have warnings and no errors:\n{}",
            case.display(),
            render_diagnostics(&compiled)
        );
        assert!(
            compiled.program.is_some(),
            "{}: warnings must not stop the program",
            case.display()
        );
        codes.extend(compiled.diagnostics.iter().map(|d| d.diagnostic.code));
        insta::with_settings!({
            snapshot_path => "../snapshots/check_warn",
            prepend_module_to_snapshot => false,
            omit_expression => true,
        }, {
            insta::assert_snapshot!(case_name(&case), snapshot_text(&files, &compiled));
        });
    }
    for case in entries(&base.join("fail"), "ward") {
        let files = read_case(&case, &base);
        let compiled = ward::compile(&files);
        assert!(
            compiled.diagnostics.iter().any(|d| d.diagnostic.is_error()),
            "{} checks clean, but it is a failing case",
            case.display()
        );
        assert!(
            compiled.program.is_none(),
            "{}: a program was produced despite errors",
            case.display()
        );
        codes.extend(compiled.diagnostics.iter().map(|d| d.diagnostic.code));
        let snapshot = snapshot_text(&files, &compiled);
        insta::with_settings!({
            snapshot_path => "../snapshots/check_fail",
            prepend_module_to_snapshot => false,
            omit_expression => true,
        }, {
            insta::assert_snapshot!(case_name(&case), snapshot);
        });
    }
    let documented = ward_tests::documented_codes();
    let missing: Vec<_> = documented
        .iter()
        .filter(|c| !codes.contains(c.as_str()))
        .collect();
    assert!(
        missing.is_empty(),
        "documented diagnostic codes without a failing case: {missing:?}"
    );
}

#[test]
fn passing_policies_check_clean() {
    let base = crate_dir().join("corpus/check");
    let cases = entries(&base.join("pass"), "ward");
    assert!(!cases.is_empty());
    for case in cases {
        let compiled = ward::compile(&read_case(&case, &base));
        assert!(
            compiled.diagnostics.is_empty(),
            "{} should check clean:\n{}",
            case.display(),
            render_diagnostics(&compiled)
        );
        let program = compiled
            .program
            .expect("a clean policy set lowers to a program");
        if let Err(errors) = ward_ir::verify(&program) {
            panic!("{}: the IR does not verify: {errors:?}", case.display());
        }
    }
}
