//! Fixture tests: whole files under `tests/fixtures/` parse as expected.

use ward_syntax::ast::Item;
use ward_syntax::parse;

fn fixture(name: &str) -> String {
    let path = format!("{}/tests/fixtures/{name}", env!("CARGO_MANIFEST_DIR"));
    std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("cannot read {path}: {e}"))
}

#[test]
fn the_examples_of_the_contract_parse_cleanly() {
    let text = fixture("spec.ward");
    let (file, diags) = parse(&text);
    assert_eq!(diags, vec![], "unexpected diagnostics");
    let kinds: Vec<&str> = file
        .items
        .iter()
        .map(|it| match it {
            Item::Use(_) => "use",
            Item::Enum(_) => "enum",
            Item::Entity(_) => "entity",
            Item::Relation(_) => "relation",
            Item::Context(_) => "context",
            Item::Action(_) => "action",
            Item::Window(_) => "window",
            Item::Const(_) => "const",
            Item::Fn(_) => "fn",
            Item::Default(_) => "default",
            Item::Rule(_) => "rule",
            Item::Test(_) => "test",
        })
        .collect();
    assert_eq!(
        kinds,
        [
            "use", "use", "enum", "entity", "entity", "relation", "relation", "context", "action",
            "action", "action", "action", "window", "window", "window", "fn", "const", "const",
            "default", "rule", "rule", "rule", "rule", "test", "test"
        ]
    );
    assert_eq!(
        file.items[2].doc(),
        Some("How much the business depends on an asset.")
    );
    // Every item's span starts at its keyword and ends at its last character.
    for item in &file.items {
        let span = item.span();
        let slice = &text[span.range()];
        assert!(
            !slice.starts_with(char::is_whitespace) && !slice.ends_with(char::is_whitespace),
            "{slice:?}"
        );
    }
    assert_eq!(file.comments.len(), 5);
}
