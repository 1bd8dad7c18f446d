//! The diagnostic codes in the code and in `docs/diagnostics.md` are the same lists, both ways:
//! every code the checker (`ward_check::codes`) or the parser (`ward_syntax::codes`) can report
//! is documented, and every code the tables document is one of them.

// The checker's no-IO rule is for the library; this test reads the docs and the sources it checks.
#![allow(clippy::disallowed_methods)]

use std::collections::BTreeSet;

/// The codes of the tables' rows (`| E0123 | …`), in the given range of prefixes.
fn documented(prefixes: &[&str]) -> BTreeSet<String> {
    let path = concat!(env!("CARGO_MANIFEST_DIR"), "/../../docs/diagnostics.md");
    let text = std::fs::read_to_string(path).expect("docs/diagnostics.md is readable");
    text.lines()
        .filter_map(|line| {
            let cell = line.strip_prefix("| ")?.split(' ').next()?;
            let well_formed = cell.len() == 5
                && cell.starts_with(['E', 'W'])
                && cell[1..].bytes().all(|b| b.is_ascii_digit());
            (well_formed && prefixes.iter().any(|p| cell.starts_with(p))).then(|| cell.to_owned())
        })
        .collect()
}

fn listed(all: &[&str]) -> BTreeSet<String> {
    let set: BTreeSet<String> = all.iter().map(|c| (*c).to_owned()).collect();
    assert_eq!(set.len(), all.len(), "a code is listed twice");
    set
}

#[test]
fn checker_codes_are_documented_both_ways() {
    let code = listed(ward_check::codes::ALL);
    let docs = documented(&["E01", "W01"]);
    let undocumented: Vec<_> = code.difference(&docs).collect();
    let unknown: Vec<_> = docs.difference(&code).collect();
    assert!(
        undocumented.is_empty(),
        "not in docs/diagnostics.md: {undocumented:?}"
    );
    assert!(
        unknown.is_empty(),
        "documented but not in `ward_check::codes`: {unknown:?}"
    );
}

#[test]
fn syntax_codes_are_documented_both_ways() {
    let code = listed(ward_syntax::codes::ALL);
    let docs = documented(&["E00"]);
    assert_eq!(code, docs);
}

/// No checker source writes a code as a string literal: each comes from the list.
#[test]
fn the_checker_reports_only_listed_codes() {
    let dir = concat!(env!("CARGO_MANIFEST_DIR"), "/src");
    for entry in std::fs::read_dir(dir).expect("src is readable") {
        let path = entry.expect("an entry").path();
        if path
            .file_name()
            .is_some_and(|n| n == "tests.rs" || n == "codes.rs")
        {
            continue;
        }
        let text = std::fs::read_to_string(&path).expect("a readable source");
        for (i, line) in text.lines().enumerate() {
            let literal = line
                .match_indices("\"E0")
                .chain(line.match_indices("\"W0"))
                .any(|(at, _)| {
                    line[at + 1..].len() >= 6
                        && line.as_bytes()[at + 2..at + 6]
                            .iter()
                            .all(u8::is_ascii_digit)
                        && line.as_bytes()[at + 6] == b'"'
                });
            assert!(
                !literal,
                "{}:{}: write the code as a `codes::` constant",
                path.display(),
                i + 1
            );
        }
    }
}
