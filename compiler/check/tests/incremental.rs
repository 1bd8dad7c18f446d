//! What an edit re-runs, read from salsa's event log: editing inside one rule re-parses only
//! the file it is in (the other files' parses are reused) and re-checks the set once.
//!
//! The check itself is one query over the whole set (`ward_check::check`): splitting it per
//! declaration, so that an edit re-checks only the rules that depend on what changed, is not
//! done yet (`docs/editors.md` says so).

use std::sync::{Arc, Mutex};

use salsa::Setter;
use ward_check::Database;

fn executed(log: &Mutex<Vec<String>>) -> Vec<String> {
    let mut names: Vec<String> = std::mem::take(&mut *log.lock().unwrap());
    names.sort();
    names
}

#[test]
fn an_edit_inside_a_rule_reparses_only_its_file() {
    let log = Arc::new(Mutex::new(Vec::new()));
    let seen = Arc::clone(&log);
    let db = Database::with_events(move |event| {
        if let salsa::EventKind::WillExecute { database_key } = event.kind {
            let name = format!("{database_key:?}");
            let query = name.split('(').next().unwrap_or("").to_string();
            seen.lock().unwrap().push(query);
        }
    });
    let mut db = db;
    let files: Vec<(String, String)> = vec![
        ("a.ward".into(), "entity Identity { name: String }\naction disable { target: Identity }\n".into()),
        ("b.ward".into(), "rule one { on disable when target.name == \"x\" deny }\nrule two { on disable deny }\n".into()),
        ("c.ward".into(), "// a comment\nrule three { on disable allow }\n".into()),
    ];
    let set = db.policy_set(&files);
    let checked = ward_check::check(&db, set);
    assert!(checked.diagnostics.is_empty(), "{:?}", checked.diagnostics);
    let first = executed(&log);
    assert_eq!(
        first.iter().filter(|q| *q == "parse").count(),
        3,
        "{first:?}"
    );

    // Inside rule `one`: `"x"` becomes `"y"`.
    let b = set.files(&db)[1];
    let text = b.text(&db).replace("\"x\"", "\"y\"");
    b.set_text(&mut db).to(text);
    let checked = ward_check::check(&db, set);
    assert!(checked.diagnostics.is_empty());
    assert_eq!(executed(&log), ["check", "parse"]);
}
