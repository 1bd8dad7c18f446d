//! `ward mcp-schema` on a recorded `tools/list` with every shape it meets: the declarations and
//! the mapping it prints (snapshots), that they check beside a schema, and that the guard
//! accepts the mapping against them.

use std::path::Path;

use ward_mcp::mapping::Mapping;
use ward_mcp::schema::{generate, tools_of};

fn generated() -> ward_mcp::schema::Generated {
    let text = std::fs::read_to_string(Path::new("tests/fixtures/tools-list.json")).unwrap();
    let doc = ward_embed::json::parse_strict(&text).unwrap();
    generate(tools_of(&doc).unwrap(), "`tools-list.json`").unwrap()
}

#[test]
fn declarations_and_mapping() {
    let out = generated();
    insta::assert_snapshot!("tools.ward", out.ward);
    insta::assert_snapshot!("tools.toml", out.toml);
}

#[test]
fn they_check_beside_a_schema_and_the_guard_takes_the_mapping() {
    let out = generated();
    let files = vec![
        (
            "schema.ward".to_owned(),
            "default deny\ncontext { agent: String }\n".to_owned(),
        ),
        ("tools.ward".to_owned(), out.ward.clone()),
    ];
    let compiled = ward_embed::compile(&files);
    assert!(
        compiled.diagnostics.is_empty(),
        "{}",
        ward_embed::diagnostics::render_all_text(&compiled)
    );
    let program = compiled.program.unwrap();
    let mapping =
        Mapping::parse("tools.toml", &out.toml, &program).unwrap_or_else(|e| panic!("{e}"));
    // A call the generated mapping takes, with the tool's default filled in.
    let args = serde_json::json!({"host": "web-1", "when": "2026-12-01T10:00:00Z"});
    let (action, request) = mapping
        .request(
            &program,
            "reboot-host",
            args.as_object().unwrap(),
            Some("bot"),
            "2026-12-01T10:00:00Z",
        )
        .unwrap();
    assert_eq!(action, "reboot_host");
    assert_eq!(
        request["args"],
        serde_json::json!({"host": "web-1", "when_": "2026-12-01T10:00:00Z", "duration": "30m", "force": false, "retries": 3})
    );
    // An argument the generator could not type has no field: the call is denied.
    let args = serde_json::json!({"secret": "db", "tags": [], "options": {}});
    let err = mapping
        .request(
            &program,
            "rotate_secret",
            args.as_object().unwrap(),
            None,
            "t",
        )
        .unwrap_err();
    assert!(
        err.0
            .contains("argument `options` of tool `rotate_secret` fills no field"),
        "{}",
        err.0
    );
}

#[test]
fn what_is_not_a_tools_list() {
    for (doc, want) in [
        (serde_json::json!(42), "expected a `tools/list` result"),
        (
            serde_json::json!({"tools": {}}),
            "expected a `tools/list` result",
        ),
    ] {
        assert!(tools_of(&doc).unwrap_err().contains(want));
    }
    let twice = serde_json::json!([{"name": "a"}, {"name": "a"}]);
    assert_eq!(
        generate(twice.as_array().unwrap(), "x").unwrap_err(),
        "the list names tool `a` twice"
    );
    let nameless = serde_json::json!([{"description": "a"}]);
    assert_eq!(
        generate(nameless.as_array().unwrap(), "x").unwrap_err(),
        "tool 1 of the list has no `name`"
    );
}
