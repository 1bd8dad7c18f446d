//! Diagnostics corpus: every policy under `corpus/check/fail` must be rejected, and its
//! rendered diagnostics match the reviewed snapshot in `snapshots/check_fail`; every policy
//! under `corpus/check/pass` must check clean.

use std::collections::BTreeSet;

use ward_tests::{case_name, crate_dir, entries, read_case, render_diagnostics};

#[test]
fn failing_policies_match_their_snapshots() {
    let base = crate_dir().join("corpus/check");
    let mut codes = BTreeSet::new();
    for case in entries(&base.join("fail"), "ward") {
        let files = read_case(&case, &base);
        let compiled = ward::compile(&files);
        assert!(
            compiled.diagnostics.iter().any(|d| d.diagnostic.is_error()),
            "{} checks clean, but it is a failing case",
            case.display()
        );
        assert!(compiled.program.is_none(), "{}: a program was produced despite errors", case.display());
        codes.extend(compiled.diagnostics.iter().map(|d| d.diagnostic.code));
        let mut input = String::new();
        for (path, text) in &files {
            input.push_str(&format!("// ---- {path}\n{text}\n"));
        }
        let snapshot = format!("{input}\n// ==== diagnostics\n{}", render_diagnostics(&compiled));
        insta::with_settings!({
            snapshot_path => "../snapshots/check_fail",
            prepend_module_to_snapshot => false,
            omit_expression => true,
        }, {
            insta::assert_snapshot!(case_name(&case), snapshot);
        });
    }
    let documented = ward_tests::documented_codes();
    let missing: Vec<_> = documented.iter().filter(|c| !codes.contains(c.as_str())).collect();
    assert!(missing.is_empty(), "documented diagnostic codes without a failing case: {missing:?}");
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
        let program = compiled.program.expect("a clean policy set lowers to a program");
        if let Err(errors) = ward_ir::verify(&program) {
            panic!("{}: the IR does not verify: {errors:?}", case.display());
        }
    }
}
