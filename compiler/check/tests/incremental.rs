//! What an edit re-runs, read from salsa's event log (`WillExecute` events): an edit inside one
//! rule of many re-checks that rule only (the file's interface is recomputed equal, so the
//! declarations and the other rules' checks are reused);
//! an edit to a declaration the rules use re-checks every rule. After each edit the result is
//! the same as checking the edited set from scratch.

use std::sync::{Arc, Mutex};

use salsa::Setter;
use ward_check::{Database, PolicySet};

/// A database logging the queries it executes, and the log.
fn logged() -> (Database, Arc<Mutex<Vec<String>>>) {
    let log = Arc::new(Mutex::new(Vec::new()));
    let seen = Arc::clone(&log);
    let db = Database::with_events(move |event| {
        if let salsa::EventKind::WillExecute { database_key } = event.kind {
            seen.lock().unwrap().push(format!("{database_key:?}"));
        }
    });
    (db, log)
}

/// The queries executed since the last call, by name, with how many times each ran.
fn executed(log: &Mutex<Vec<String>>) -> Vec<(String, usize)> {
    let mut counts: Vec<(String, usize)> = Vec::new();
    for key in std::mem::take(&mut *log.lock().unwrap()) {
        let name = key.split('(').next().unwrap_or("").to_string();
        match counts.iter_mut().find(|(n, _)| *n == name) {
            Some((_, c)) => *c += 1,
            None => counts.push((name, 1)),
        }
    }
    counts.sort();
    counts
}

fn runs(counts: &[(String, usize)], query: &str) -> usize {
    counts
        .iter()
        .find(|(n, _)| n == query)
        .map_or(0, |(_, c)| *c)
}

const SCHEMA: &str = "entity Identity { name: String, groups: Set<String> }\n\
    action disable { target: Identity }\naction enable { target: Identity }\n\
    const limit = 3\nfn vip(i: Identity) -> Bool = \"vip\" in i.groups\n";

/// Three files of ten rules each, after the schema.
fn files() -> Vec<(String, String)> {
    let mut files = vec![("a.ward".to_string(), SCHEMA.to_string())];
    for f in 0..3 {
        let mut text = String::new();
        for r in 0..10 {
            let n = f * 10 + r;
            text.push_str(&format!(
                "rule r{n} {{\n  on disable, enable\n  when target.name == \"x{n}\" and count(target.groups) > limit\n  when not vip(target)\n  deny\n}}\n\n"
            ));
        }
        files.push((format!("rules{f}.ward"), text));
    }
    files
}

/// The check is what checking the set's current texts from scratch gives: the same
/// diagnostics as `ward check`, the same symbols and names as the one-pass check.
fn assert_as_from_scratch(db: &Database, set: PolicySet) {
    let texts: Vec<(String, String)> = set
        .files(db)
        .iter()
        .map(|f| (f.path(db).clone(), f.text(db).clone()))
        .collect();
    let checked = ward_check::check(db, set);
    assert_eq!(
        checked.diagnostics,
        ward_check::compile(&texts).diagnostics,
        "the diagnostics of `ward check`"
    );
    let fresh = Database::default();
    let whole = ward_check::check_whole(&fresh, fresh.policy_set(&texts));
    assert_eq!(checked.symbols, whole.symbols);
    assert_eq!(checked.names, whole.names);
}

/// Replace the first `from` in `file` with `to`.
fn edit(db: &mut Database, set: PolicySet, file: usize, from: &str, to: &str) {
    let input = set.files(db)[file];
    let text = input.text(db).replacen(from, to, 1);
    input.set_text(db).to(text);
}

#[test]
fn an_edit_inside_one_rule_rechecks_only_that_rule() {
    let (mut db, log) = logged();
    let set = db.policy_set(&files());
    assert!(ward_check::check(&db, set).diagnostics.is_empty());
    let first = executed(&log);
    assert_eq!(runs(&first, "rule_check"), 30, "{first:?}");
    assert_eq!(runs(&first, "parse"), 4, "{first:?}");

    // Inside rule `r14` (file 2): `"x14"` becomes `"y14"`.
    edit(&mut db, set, 2, "\"x14\"", "\"y14\"");
    assert!(ward_check::check(&db, set).diagnostics.is_empty());
    let after = executed(&log);
    assert_eq!(
        after,
        [
            // `check` itself is not run again: what it reads was recomputed equal.
            ("check_diagnostics".to_string(), 1),
            // The edited file's interface is recomputed and found equal: the declarations
            // and the other rules' checks, which depend on it, are not run again.
            ("interface".to_string(), 1),
            ("parse".to_string(), 1),
            ("rule_check".to_string(), 1),
            // Each rule of the edited file is read again; only `r14`'s differs.
            ("rule_text".to_string(), 10),
        ]
        .as_slice(),
    );
    assert_as_from_scratch(&db, set);

    // An error inside `r25` (file 3) re-checks `r25` alone and is reported as `ward check` does.
    edit(
        &mut db,
        set,
        3,
        "count(target.groups) > limit\n  when not vip(target)\n  deny\n}\n\nrule r26",
        "count(target.gruops) > limit\n  when not vip(target)\n  deny\n}\n\nrule r26",
    );
    let checked = ward_check::check(&db, set);
    assert_eq!(checked.diagnostics.len(), 1, "{:#?}", checked.diagnostics);
    assert_eq!(checked.diagnostics[0].file, "rules2.ward");
    let after = executed(&log);
    assert_eq!(runs(&after, "rule_check"), 1, "{after:?}");
    assert_eq!(runs(&after, "rest_check"), 0, "{after:?}");
    assert_as_from_scratch(&db, set);
}

#[test]
fn an_edit_to_what_rules_use_rechecks_the_rules() {
    let (mut db, log) = logged();
    let set = db.policy_set(&files());
    ward_check::check(&db, set);
    executed(&log);

    // The constant every rule compares with: every rule depends on it.
    edit(&mut db, set, 0, "const limit = 3", "const limit = 4");
    assert!(ward_check::check(&db, set).diagnostics.is_empty());
    let after = executed(&log);
    assert_eq!(runs(&after, "rule_check"), 30, "{after:?}");
    assert_eq!(runs(&after, "parse"), 1, "{after:?}");
    assert_as_from_scratch(&db, set);

    // A type error in the function every rule calls: reported once, at the function.
    edit(&mut db, set, 0, "\"vip\" in i.groups", "i.groups");
    let checked = ward_check::check(&db, set);
    assert_eq!(checked.diagnostics.len(), 1, "{:#?}", checked.diagnostics);
    assert_as_from_scratch(&db, set);
}

#[test]
fn an_edit_that_moves_the_rules_after_it_rechecks_those_rules() {
    let (mut db, log) = logged();
    let set = db.policy_set(&files());
    ward_check::check(&db, set);
    executed(&log);
    // A longer string inside `r3` (file 1): `r3` to `r9` move, their checks run again (their
    // positions are absolute); `r0` to `r2` and the other files' rules are reused.
    edit(&mut db, set, 1, "\"x3\"", "\"a longer string\"");
    let checked = ward_check::check(&db, set);
    assert!(checked.diagnostics.is_empty());
    let after = executed(&log);
    assert_eq!(runs(&after, "rule_check"), 7, "{after:?}");
    assert_eq!(runs(&after, "declarations"), 1, "{after:?}");
    assert_as_from_scratch(&db, set);
    // A new rule in the middle of a file, with an error: the items after it are renumbered.
    edit(
        &mut db,
        set,
        2,
        "rule r11",
        "rule extra { on disable when target.nme == \"z\" deny }\nrule r11",
    );
    let checked = ward_check::check(&db, set);
    assert_eq!(checked.diagnostics.len(), 1, "{:#?}", checked.diagnostics);
    assert_as_from_scratch(&db, set);
    // A rule that names a rule (an error) is checked where the rules' places are known.
    edit(&mut db, set, 3, "not vip(target)", "not r0 and true");
    let checked = ward_check::check(&db, set);
    assert_eq!(checked.diagnostics.len(), 2, "{:#?}", checked.diagnostics);
    assert_as_from_scratch(&db, set);
}
