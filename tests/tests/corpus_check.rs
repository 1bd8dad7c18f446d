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

/// The editor's check (`ward_check::check`, made of one salsa query per rule) reports what
/// `ward check` reports, on every case of the corpus, and the symbols and names of the
/// one-pass check; and after an edit that makes each case's first rule differ, as checking
/// the edited case from scratch does.
#[test]
fn the_incremental_check_reports_what_ward_check_reports() {
    use salsa::Setter;
    let base = crate_dir().join("corpus/check");
    let mut cases = Vec::new();
    for dir in ["pass", "warn", "fail"] {
        cases.extend(entries(&base.join(dir), "ward"));
    }
    assert!(cases.len() > 100, "{} cases", cases.len());
    let same = |db: &ward_check::Database, set: ward_check::PolicySet, what: &str| {
        let files: Vec<(String, String)> = set
            .files(db)
            .iter()
            .map(|f| (f.path(db).clone(), f.text(db).clone()))
            .collect();
        let checked = ward_check::check(db, set);
        assert_eq!(
            checked.diagnostics,
            ward::compile(&files).diagnostics,
            "{what}: the diagnostics differ from `ward check`"
        );
        let fresh = ward_check::Database::default();
        let whole = ward_check::check_whole(&fresh, fresh.policy_set(&files));
        assert_eq!(checked.symbols, whole.symbols, "{what}: symbols");
        assert_eq!(checked.names, whole.names, "{what}: names");
    };
    for case in cases {
        let files = read_case(&case, &base);
        let mut db = ward_check::Database::default();
        let set = db.policy_set(&files);
        same(&db, set, &case.display().to_string());
        // Turn the first `deny` of a rule into `allow` (or back), then break a name in it.
        let Some((i, text)) = files
            .iter()
            .enumerate()
            .find(|(_, (_, t))| t.contains("rule "))
            .map(|(i, (_, t))| (i, t.clone()))
        else {
            continue;
        };
        let at = text.find("rule ").unwrap_or(0);
        let (head, tail) = text.split_at(at);
        let edited = if tail.contains(" deny") {
            format!("{head}{}", tail.replacen(" deny", " allow", 1))
        } else {
            format!("{head}{}", tail.replacen(" allow", " deny", 1))
        };
        let input = set.files(&db)[i];
        input.set_text(&mut db).to(edited.clone());
        same(&db, set, &format!("{} after an edit", case.display()));
        let broken = format!(
            "{head}{}",
            edited[at..].replacen("when ", "when nosuchname and ", 1)
        );
        input.set_text(&mut db).to(broken);
        same(&db, set, &format!("{} after a second edit", case.display()));
    }
}
