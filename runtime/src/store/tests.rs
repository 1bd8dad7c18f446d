use std::sync::Arc;

use serde_json::json;
use ward_ir::{
    Action, EntityType, EntityTypeId, EnumId, EnumType, Field, RelationId, Schema, Type,
};

use super::*;

pub(crate) fn field(name: &str, ty: Type) -> Field {
    Field {
        name: name.into(),
        ty,
    }
}

pub(crate) const IDENTITY: EntityTypeId = EntityTypeId(0);
pub(crate) const ASSET: EntityTypeId = EntityTypeId(1);
pub(crate) const DEPENDS_ON: RelationId = RelationId(0);
pub(crate) const REPORTS_TO: RelationId = RelationId(1);
pub(crate) const OWNS: RelationId = RelationId(2);

/// The schema of the examples of `docs/language.md`, with a few more attribute types.
pub(crate) fn schema() -> Schema {
    let opt = |t: Type| Type::Optional(Box::new(t));
    let set = |t: Type| Type::Set(Box::new(t));
    Schema {
        enums: vec![EnumType {
            name: "Tier".into(),
            variants: ["crown_jewel", "critical", "standard", "sandbox"]
                .map(String::from)
                .to_vec(),
        }],
        entities: vec![
            EntityType {
                name: "Identity".into(),
                attrs: vec![
                    field("name", Type::String),
                    field("privileged", Type::Bool),
                    field("manager", opt(Type::Entity(IDENTITY))),
                    field("groups", set(Type::String)),
                    field("level", Type::Int),
                    field("hired", opt(Type::Timestamp)),
                ],
            },
            EntityType {
                name: "Asset".into(),
                attrs: vec![
                    field("tier", Type::Enum(EnumId(0))),
                    field("tags", set(Type::String)),
                    field("owner", Type::Entity(IDENTITY)),
                    field("max_downtime", Type::Duration),
                ],
            },
        ],
        relations: vec![
            ward_ir::Relation {
                name: "depends_on".into(),
                from: ASSET,
                to: ASSET,
            },
            ward_ir::Relation {
                name: "reports_to".into(),
                from: IDENTITY,
                to: IDENTITY,
            },
            ward_ir::Relation {
                name: "owns".into(),
                from: IDENTITY,
                to: ASSET,
            },
        ],
        context: vec![
            field("agent", Type::Entity(IDENTITY)),
            field("ticket", opt(Type::String)),
        ],
        actions: vec![
            Action {
                name: "disable_account".into(),
                fields: vec![
                    field("target", Type::Entity(IDENTITY)),
                    field("reason", Type::String),
                ],
            },
            Action {
                name: "patch_host".into(),
                fields: vec![
                    field("host", Type::Entity(ASSET)),
                    field("reboot", Type::Bool),
                    field("duration", Type::Duration),
                    field("tiers", set(Type::Enum(EnumId(0)))),
                ],
            },
        ],
    }
}

/// A valid estate: alice reports to bob; web-1 -> api-1 -> db-1.
pub(crate) fn estate() -> serde_json::Value {
    json!({
        "entities": {
            "Identity": {
                "alice": {"name": "Alice", "privileged": false, "manager": "bob",
                          "groups": ["finance", "admins", "finance"], "level": 3,
                          "hired": "2020-01-01T00:00:00Z"},
                "bob": {"name": "Bob", "privileged": true, "manager": null,
                        "groups": [], "level": 5},
                "bot": {"name": "Remediator", "privileged": false, "groups": ["admins"],
                        "level": 0}
            },
            "Asset": {
                "db-1": {"tier": "critical", "tags": ["revenue-critical"], "owner": "bob",
                         "max_downtime": "1h30m"},
                "api-1": {"tier": "standard", "tags": [], "owner": "alice",
                          "max_downtime": "5m"},
                "web-1": {"tier": "sandbox", "tags": ["public"], "owner": "alice",
                          "max_downtime": "2d"}
            }
        },
        "relations": {
            "depends_on": [["web-1", "api-1"], ["api-1", "db-1"], ["web-1", "api-1"]],
            "reports_to": [["alice", "bob"]],
            "owns": [["bob", "db-1"], ["alice", "api-1"], ["alice", "web-1"]]
        }
    })
}

pub(crate) fn store() -> Store {
    match Store::from_json(&schema(), &estate()) {
        Ok(store) => store,
        Err(err) => panic!("the test estate does not load:\n{err}"),
    }
}

fn idx(store: &Store, ty: EntityTypeId, id: &str) -> u32 {
    store.lookup(ty, id).unwrap_or_else(|| panic!("no {id}"))
}

fn ids(store: &Store, ty: EntityTypeId, idxs: &[u32]) -> Vec<String> {
    idxs.iter()
        .map(|&i| store.entity_id(ty, i).map_or("?".into(), |s| s.to_string()))
        .collect()
}

#[test]
fn loads_entities_and_attributes() {
    let store = store();
    assert_eq!(store.entity_count(IDENTITY), 3);
    assert_eq!(store.entity_count(ASSET), 3);
    let alice = idx(&store, IDENTITY, "alice");
    let bob = idx(&store, IDENTITY, "bob");
    let bot = idx(&store, IDENTITY, "bot");
    assert_eq!(
        store.entity_id(IDENTITY, alice).map(|s| &**s),
        Some("alice")
    );
    assert_eq!(store.attr(IDENTITY, alice, 0), Some(&Value::str("Alice")));
    assert_eq!(store.attr(IDENTITY, alice, 1), Some(&Value::Bool(false)));
    assert_eq!(
        store.attr(IDENTITY, alice, 2),
        Some(&Value::Entity(EntityRef::Known {
            ty: IDENTITY,
            idx: bob
        }))
    );
    assert_eq!(
        store.attr(IDENTITY, alice, 3),
        Some(&Value::set(vec![
            Value::str("admins"),
            Value::str("finance")
        ]))
    );
    assert_eq!(store.attr(IDENTITY, alice, 4), Some(&Value::Int(3)));
    assert_eq!(
        store.attr(IDENTITY, alice, 5),
        Some(&Value::Int(1_577_836_800))
    );
    // `null` and a left-out optional are both absent.
    assert_eq!(store.attr(IDENTITY, bob, 2), Some(&Value::Absent));
    assert_eq!(store.attr(IDENTITY, bot, 2), Some(&Value::Absent));
    assert_eq!(store.attr(IDENTITY, bot, 5), Some(&Value::Absent));
    let db = idx(&store, ASSET, "db-1");
    assert_eq!(store.attr(ASSET, db, 0), Some(&Value::Enum(1)));
    assert_eq!(store.attr(ASSET, db, 3), Some(&Value::Int(5400)));
    let web = idx(&store, ASSET, "web-1");
    assert_eq!(store.attr(ASSET, web, 3), Some(&Value::Int(172_800)));
    // Out of range is `None`, never a panic.
    assert_eq!(store.attr(ASSET, db, 9), None);
    assert_eq!(store.attr(ASSET, 99, 0), None);
    assert_eq!(store.attr(EntityTypeId(7), 0, 0), None);
    assert_eq!(store.lookup(IDENTITY, "db-1"), None);
    assert_eq!(store.entity_id(IDENTITY, 99), None);
    assert_eq!(store.entity_count(EntityTypeId(7)), 0);
}

#[test]
fn strings_are_interned() {
    let store = store();
    let alice = idx(&store, IDENTITY, "alice");
    let bot = idx(&store, IDENTITY, "bot");
    let admins = |i| match store.attr(IDENTITY, i, 3).and_then(Value::as_set) {
        Some([Value::Str(s), ..]) => s.clone(),
        other => panic!("{other:?}"),
    };
    assert!(Arc::ptr_eq(&admins(alice), &admins(bot)));
    assert!(Arc::ptr_eq(&admins(alice), &store.intern("admins")));
    // Ids are kept in their tables, not in the set of attribute strings.
    assert_eq!(
        store.entity_id(IDENTITY, alice).map(|id| &**id),
        Some("alice")
    );
    assert_eq!(&*store.intern("not in the data"), "not in the data");
}

#[test]
fn relations_are_indexed_both_ways() {
    let store = store();
    let [web, api, db] = ["web-1", "api-1", "db-1"].map(|id| idx(&store, ASSET, id));
    assert_eq!(store.related(DEPENDS_ON, false, web), &[api]);
    assert_eq!(store.related(DEPENDS_ON, true, db), &[api]);
    assert_eq!(
        ids(&store, ASSET, &store.closure(DEPENDS_ON, false, web)),
        ["api-1", "db-1"]
    );
    assert_eq!(
        ids(&store, ASSET, &store.closure(DEPENDS_ON, true, db)),
        ["api-1", "web-1"]
    );
    assert!(store.reaches(DEPENDS_ON, false, web, db));
    assert!(!store.reaches(DEPENDS_ON, false, db, web));
    assert!(store.reaches(DEPENDS_ON, true, db, web));
    assert!(!store.reaches(DEPENDS_ON, false, web, web));
    // `owns` goes from identities to assets: inverse results are identities.
    let alice = idx(&store, IDENTITY, "alice");
    assert_eq!(
        ids(&store, ASSET, &store.closure(OWNS, false, alice)),
        ["api-1", "web-1"]
    );
    assert_eq!(
        ids(&store, IDENTITY, store.related(OWNS, true, web)),
        ["alice"]
    );
    let bob = idx(&store, IDENTITY, "bob");
    assert!(store.reaches(REPORTS_TO, false, alice, bob));
    assert_eq!(store.related(RelationId(9), false, 0), &[] as &[u32]);
    assert_eq!(&*store.closure(RelationId(9), true, 0), &[] as &[u32]);
}

#[test]
fn closure_with_cycles_in_the_data() {
    let doc = json!({
        "entities": {"Asset": {
            "a": {"tier": "critical", "tags": [], "owner": "o", "max_downtime": "0s"},
            "b": {"tier": "critical", "tags": [], "owner": "o", "max_downtime": "0s"},
            "c": {"tier": "critical", "tags": [], "owner": "o", "max_downtime": "0s"},
            "d": {"tier": "critical", "tags": [], "owner": "o", "max_downtime": "0s"},
            "s": {"tier": "critical", "tags": [], "owner": "o", "max_downtime": "0s"}
        }, "Identity": {"o": {"name": "O", "privileged": false, "groups": [], "level": 1}}},
        "relations": {"depends_on": [["a", "b"], ["b", "c"], ["c", "a"], ["c", "d"], ["s", "s"]]}
    });
    let store = Store::from_json(&schema(), &doc).unwrap_or_else(|e| panic!("{e}"));
    let i = |id| idx(&store, ASSET, id);
    let closure = |id, inverse| ids(&store, ASSET, &store.closure(DEPENDS_ON, inverse, i(id)));
    assert_eq!(closure("a", false), ["a", "b", "c", "d"]);
    assert_eq!(closure("d", false), Vec::<String>::new());
    assert_eq!(closure("d", true), ["a", "b", "c"]);
    assert_eq!(closure("s", false), ["s"]);
    assert_eq!(closure("s", true), ["s"]);
    assert!(store.reaches(DEPENDS_ON, false, i("b"), i("b")));
    assert!(!store.reaches(DEPENDS_ON, false, i("d"), i("d")));
}

#[test]
fn empty_store_has_nothing() {
    let store = Store::empty(&schema());
    assert_eq!(store.entity_count(IDENTITY), 0);
    assert_eq!(store.lookup(IDENTITY, "alice"), None);
    assert_eq!(&*store.closure(DEPENDS_ON, false, 0), &[] as &[u32]);
    assert_eq!(
        store.entity(IDENTITY, "alice"),
        EntityRef::Unknown {
            ty: IDENTITY,
            id: "alice".into()
        }
    );
    let loaded = Store::from_json(&schema(), &json!({})).unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(loaded.entity_count(ASSET), 0);
}

#[test]
fn store_is_send_and_sync() {
    fn check<T: Send + Sync>() {}
    check::<Store>();
    check::<LoadError>();
}

#[test]
fn closure_is_shared_across_threads() {
    let store = Arc::new(store());
    let db = idx(&store, ASSET, "db-1");
    let handles: Vec<_> = (0..4)
        .map(|_| {
            let store = Arc::clone(&store);
            std::thread::spawn(move || store.closure(DEPENDS_ON, true, db).to_vec())
        })
        .collect();
    for handle in handles {
        let got = handle.join().unwrap_or_default();
        assert_eq!(got, &*store.closure(DEPENDS_ON, true, db));
    }
}

/// Loads `doc` into the test schema and expects exactly these problems, in order.
fn check_errors(doc: serde_json::Value, expected: &[&str]) {
    match Store::from_json(&schema(), &doc) {
        Ok(_) => panic!("expected problems, the document loaded"),
        Err(err) => {
            let got: Vec<String> = err.problems().iter().map(ToString::to_string).collect();
            assert_eq!(got, expected, "\nfull error:\n{err}");
            assert_eq!(err.to_string(), expected.join("\n"));
        }
    }
}

/// Like [`check_errors`] for a document given as text.
fn check_text_errors(text: &str, expected: &[&str]) {
    match Store::from_str(&schema(), text) {
        Ok(_) => panic!("expected problems, the document loaded"),
        Err(err) => {
            let got: Vec<String> = err.problems().iter().map(ToString::to_string).collect();
            assert_eq!(got, expected, "\nfull error:\n{err}");
        }
    }
}

fn with_identity(attrs: serde_json::Value) -> serde_json::Value {
    json!({"entities": {"Identity": {"alice": attrs}}})
}

#[test]
fn document_shape_errors() {
    check_errors(
        json!([]),
        &["expected an object with `entities` and `relations`, found an array"],
    );
    check_errors(
        json!({"entites": {}, "relations": []}),
        &[
            "entites: unknown key `entites` (expected `entities`, `relations`); did you mean `entities`?",
            "relations: expected an object from relation name to a list of edges, found an array",
        ],
    );
    check_errors(
        json!({"entities": 3}),
        &["entities: expected an object from entity type to entities, found the number 3"],
    );
    check_errors(
        json!({"entities": {"Identity": ["alice"]}}),
        &["entities.Identity: expected an object from id to attributes, found an array"],
    );
    check_errors(
        json!({"entities": {"Identity": {"alice": "Alice"}}}),
        &["entities.Identity.alice: expected an object of attributes, found the string `Alice`"],
    );
}

#[test]
fn unknown_entity_type() {
    check_errors(
        json!({"entities": {"Identiy": {}, "Host": {}}}),
        &[
            "entities.Host: unknown entity type `Host` (the schema declares `Identity`, `Asset`)",
            "entities.Identiy: unknown entity type `Identiy` (the schema declares `Identity`, \
             `Asset`); did you mean `Identity`?",
        ],
    );
}

#[test]
fn attribute_errors() {
    check_errors(
        with_identity(json!({"nmae": "A", "privileged": false, "groups": [], "level": 1})),
        &[
            "entities.Identity.alice.nmae: unknown attribute `nmae` of `Identity` (it has \
             `name`, `privileged`, `manager`, `groups`, `level`, `hired`); did you mean `name`?",
            "entities.Identity.alice.name: missing attribute `name` of `Identity` (type `String`)",
        ],
    );
    check_errors(
        with_identity(json!({"name": null, "privileged": false, "groups": [], "level": 1})),
        &[
            "entities.Identity.alice.name: missing attribute `name` of `Identity` (type \
           `String`) (`null` is only allowed for an optional attribute)",
        ],
    );
}

#[test]
fn wrong_types() {
    check_errors(
        with_identity(json!({"name": 3, "privileged": "yes", "groups": "admins",
                             "level": 1.5, "hired": 12})),
        &[
            "entities.Identity.alice.name: expected a string, found the number 3",
            "entities.Identity.alice.privileged: expected `true` or `false`, found the string `yes`",
            "entities.Identity.alice.groups: expected an array (a `Set<String>`), found the \
             string `admins`",
            "entities.Identity.alice.level: expected an integer, found the number 1.5",
            "entities.Identity.alice.hired: expected a timestamp string like \
             `2026-11-28T05:00:00Z`, found the number 12",
        ],
    );
    check_errors(
        with_identity(
            json!({"name": "A", "privileged": false, "groups": ["a", 2, null],
                             "level": 18_446_744_073_709_551_615u64}),
        ),
        &[
            "entities.Identity.alice.groups[1]: expected a string, found the number 2",
            "entities.Identity.alice.groups[2]: expected a string, found `null`",
            "entities.Identity.alice.level: the integer 18446744073709551615 is out of range \
             for Int (-9223372036854775808 to 9223372036854775807)",
        ],
    );
}

/// Issue 7.9: an integer below `i64::MIN` (which JSON parsers read as a float) says it is out
/// of range, not "the number -9.223372036854776e18"; so does one beyond `u64::MAX`.
#[test]
fn integers_outside_i64_are_out_of_range_for_int() {
    for text in [
        "-9223372036854775809",
        "-100000000000000000000",
        "100000000000000000000",
    ] {
        let doc = format!(
            r#"{{"entities": {{"Identity": {{"alice": {{"name": "A", "privileged": false,
                "groups": [], "level": {text}}}}}}}}}"#
        );
        check_text_errors(
            &doc,
            &[
                "entities.Identity.alice.level: the integer is out of range for Int \
               (-9223372036854775808 to 9223372036854775807)",
            ],
        );
    }
    // The ends of the range load.
    for text in ["-9223372036854775808", "9223372036854775807"] {
        let doc = format!(
            r#"{{"entities": {{"Identity": {{"alice": {{"name": "A", "privileged": false,
                "groups": [], "level": {text}}}}}}}}}"#
        );
        assert!(Store::from_str(&schema(), &doc).is_ok(), "{text}");
    }
}

/// Issue 7.9: a byte order mark before the document is named, not "expected value".
#[test]
fn a_byte_order_mark_is_named() {
    check_text_errors(
        "\u{feff}{\"entities\": {}}",
        &[
            "the document starts with a UTF-8 byte order mark (BOM), which JSON does not allow: \
           save it as UTF-8 without a BOM",
        ],
    );
}

fn with_asset(attrs: serde_json::Value) -> serde_json::Value {
    json!({"entities": {
        "Identity": {"bob": {"name": "B", "privileged": false, "groups": [], "level": 1}},
        "Asset": {"db-1": attrs}
    }})
}

#[test]
fn durations_enums_and_references() {
    check_errors(
        with_asset(json!({"tier": "gold", "tags": [], "owner": "bob", "max_downtime": 3})),
        &[
            "entities.Asset.db-1.tier: unknown `Tier` variant `gold` (expected one of \
             `crown_jewel`, `critical`, `standard`, `sandbox`)",
            "entities.Asset.db-1.max_downtime: expected a duration string like `1h30m`, found \
             the number 3",
        ],
    );
    check_errors(
        with_asset(json!({"tier": "critcal", "tags": [], "owner": "zed",
                          "max_downtime": "1h90x"})),
        &[
            "entities.Asset.db-1.tier: unknown `Tier` variant `critcal` (expected one of \
             `crown_jewel`, `critical`, `standard`, `sandbox`); did you mean `critical`?",
            "entities.Asset.db-1.owner: dangling reference: no `Identity` with id `zed` in the \
             entities",
            "entities.Asset.db-1.max_downtime: malformed duration `1h90x` (expected a duration \
             like `90s`, `30m`, `4h`, `2d` or `1h30m`)",
        ],
    );
    check_errors(
        with_asset(json!({"tier": 1, "tags": [], "owner": "db-1", "max_downtime": "1h"})),
        &[
            "entities.Asset.db-1.tier: expected a `Tier` variant (one of `crown_jewel`, \
             `critical`, `standard`, `sandbox`), found the number 1",
            "entities.Asset.db-1.owner: dangling reference: no `Identity` with id `db-1` in the \
             entities (there is an `Asset` with that id)",
        ],
    );
    check_errors(
        with_identity(
            json!({"name": "A", "privileged": false, "groups": [], "level": 1,
                             "hired": "2026-13-01T00:00:00Z"}),
        ),
        &[
            "entities.Identity.alice.hired: malformed timestamp `2026-13-01T00:00:00Z` (expected \
           RFC 3339 like `2026-11-28T05:00:00Z`, years 0001 to 9999)",
        ],
    );
}

#[test]
fn relation_errors() {
    let mut doc = estate();
    doc["relations"] = json!({
        "depend_on": [],
        "depends_on": [["web-1", "nope"], ["alice", "db-1"], ["web-1"], "x", [1, "db-1"]],
        "reports_to": {"alice": "bob"}
    });
    check_errors(
        doc,
        &[
            "relations.depend_on: unknown relation `depend_on` (the schema declares \
             `depends_on`, `reports_to`, `owns`); did you mean `depends_on`?",
            "relations.depends_on[0][1]: dangling reference: no `Asset` with id `nope` in the \
             entities",
            "relations.depends_on[1][0]: dangling reference: no `Asset` with id `alice` in the \
             entities (there is an `Identity` with that id)",
            "relations.depends_on[2]: expected an edge `[from, to]` (an array of two ids), found \
             an array",
            "relations.depends_on[3]: expected an edge `[from, to]` (an array of two ids), found \
             the string `x`",
            "relations.depends_on[4][0]: expected the id of an `Asset` (a string), found the \
             number 1",
            "relations.reports_to: expected an array of edges like `[[\"from-id\", \"to-id\"]]`, \
             found an object",
        ],
    );
}

#[test]
fn every_problem_is_reported_up_to_a_cap() {
    let mut identities = serde_json::Map::new();
    for i in 0..150usize {
        identities.insert(
            format!("u{i:03}"),
            json!({"name": 1, "privileged": false,
                                                      "groups": [], "level": 1}),
        );
    }
    let doc = json!({"entities": {"Identity": identities}});
    match Store::from_json(&schema(), &doc) {
        Ok(_) => panic!("loaded"),
        Err(err) => {
            assert_eq!(err.problems().len(), 100);
            assert_eq!(err.omitted(), 50);
            assert!(
                err.to_string().ends_with("\n… and 50 more problems"),
                "{err}"
            );
        }
    }
}

#[test]
fn text_errors_and_duplicates() {
    check_text_errors(
        "{\"entities\": {\n  \"Identity\": {,}}}",
        &["invalid JSON at line 2, column 16: key must be a string"],
    );
    check_text_errors(
        r#"{"entities": {"Identity": {
             "alice": {"name": "A", "privileged": false, "groups": [], "level": 1},
             "alice": {"name": "A", "name": "B", "privileged": false, "groups": [], "level": 1}
           }}, "relations": {"owns": [], "owns": []}}"#,
        &[
            "entities.Identity.alice: duplicate key `name`",
            "entities.Identity: duplicate `Identity` id `alice` (each id may appear once)",
            "relations: duplicate relation `owns` (list all its edges in one array)",
        ],
    );
    let text = serde_json::to_string(&estate()).unwrap_or_default();
    let store = Store::from_str(&schema(), &text).unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(store.entity_count(ASSET), 3);
}

/// A synthetic estate at the scale of the benchmark scenario (`bench/src/lib.rs`): 50,000 assets with three
/// edges each, 10,000 identities in a six-level manager tree.
pub(crate) fn big_estate() -> String {
    use std::fmt::Write;
    let mut s = String::from("{\"entities\": {\"Identity\": {");
    for i in 0..10_000u32 {
        let manager = if i == 0 {
            "null".to_owned()
        } else {
            format!("\"u{}\"", (i - 1) / 6)
        };
        let comma = if i == 0 { "" } else { "," };
        let _ = write!(
            s,
            "{comma}\"u{i}\": {{\"name\": \"User {i}\", \"privileged\": {}, \"manager\": {manager}, \
             \"groups\": [\"g{}\", \"all\"], \"level\": {}}}",
            i % 7 == 0,
            i % 20,
            i % 6
        );
    }
    s.push_str("}, \"Asset\": {");
    for i in 0..50_000u32 {
        let comma = if i == 0 { "" } else { "," };
        let tier = ["crown_jewel", "critical", "standard", "sandbox"][(i % 4) as usize];
        let _ = write!(
            s,
            "{comma}\"a{i}\": {{\"tier\": \"{tier}\", \"tags\": [\"t{}\"], \"owner\": \"u{}\", \
             \"max_downtime\": \"{}m\"}}",
            i % 50,
            i % 10_000,
            i % 90
        );
    }
    s.push_str("}}, \"relations\": {\"depends_on\": [");
    for i in 1..50_000u32 {
        for k in 1..=3u32 {
            // Edges to lower-numbered assets, plus a few back edges that make cycles.
            let to = if i % 1000 == 0 && k == 3 {
                i + 1
            } else {
                (i * 7 + k * 13) % i
            };
            let comma = if i == 1 && k == 1 { "" } else { "," };
            let _ = write!(s, "{comma}[\"a{i}\", \"a{to}\"]");
        }
    }
    s.push_str("], \"reports_to\": [");
    for i in 1..10_000u32 {
        let comma = if i == 1 { "" } else { "," };
        let _ = write!(s, "{comma}[\"u{i}\", \"u{}\"]", (i - 1) / 6);
    }
    s.push_str("]}}");
    s
}

#[test]
fn big_estate_loads() {
    let text = big_estate();
    let start = std::time::Instant::now();
    let store = Store::from_str(&schema(), &text).unwrap_or_else(|e| panic!("{e}"));
    let load = start.elapsed();
    assert_eq!(store.entity_count(ASSET), 50_000);
    assert_eq!(store.entity_count(IDENTITY), 10_000);
    let root = idx(&store, IDENTITY, "u0");
    assert_eq!(store.closure(REPORTS_TO, true, root).len(), 9_999);
    let leaf = idx(&store, IDENTITY, "u9999");
    assert_eq!(store.closure(REPORTS_TO, false, leaf).len(), 6);
    let start = std::time::Instant::now();
    let mut total = 0usize;
    for id in (0..50_000).step_by(997) {
        let a = idx(&store, ASSET, &format!("a{id}"));
        total += store.closure(DEPENDS_ON, true, a).len();
    }
    eprintln!(
        "big estate: load {load:?}, 51 blast radii {:?} ({total} assets)",
        start.elapsed()
    );
}

/// The streaming loader keeps what a parsed document would hold when a key is repeated: the
/// last value counts (a repeated type or `entities` member replaces the earlier one, ids
/// included), and every repetition is reported.
#[test]
fn repeated_members_count_once_the_last_time() {
    check_text_errors(
        r#"{"entities": {"Identity": {"zed": {"name": 1}},
                         "Identity": {"alice": {"name": "A", "privileged": false,
                                                "groups": [], "level": 1}}},
            "relations": {"reports_to": [["zed", "alice"]]}}"#,
        &[
            "entities: duplicate key `Identity`",
            "relations.reports_to[0][0]: dangling reference: no `Identity` with id `zed` in \
             the entities",
        ],
    );
    check_text_errors(
        r#"{"entities": {"Asset": {}}, "relations": {}, "entities": {"Identity": {
              "bob": {"name": "B", "privileged": false, "groups": [], "level": 1},
              "alice": {"name": 2, "privileged": false, "groups": [], "level": 1},
              "alice": {"name": "A", "privileged": false, "groups": [], "level": "x"}}}}"#,
        &[
            "entities.Identity: duplicate `Identity` id `alice` (each id may appear once)",
            "duplicate key `entities`",
            "entities.Identity.alice.level: expected an integer, found the string `x`",
        ],
    );
}

/// A syntax error inside an entity (read as a slice of the text) is placed in the document,
/// where a parse of the whole document places it.
#[test]
fn syntax_errors_inside_an_entity_name_the_document_line() {
    for (text, expected) in [
        (
            "{\"entities\": {\"Identity\": {\n  \"alice\": {\"name\": \"A\", \"level\": 1e400}}}}",
            "invalid JSON at line 2, column ",
        ),
        (
            "{\"entities\": {\"Identity\": {\"alice\": {\"name\": \"\\ud800\"}}}}",
            "invalid JSON at line 1, column ",
        ),
        (
            "{\"relations\": {\"owns\": [[\"a\",\n\n   \"\\ud800\"]]}}",
            "invalid JSON at line 3, column ",
        ),
    ] {
        let whole = match parse_json(text) {
            Ok(_) => panic!("parsed: {text}"),
            Err(problem) => problem.to_string(),
        };
        assert!(whole.starts_with(expected), "{whole}");
        check_text_errors(text, &[whole.as_str()]);
    }
}

/// `n` identities `p000`, `p001`, …, each managed by the one before it, except as `manager`
/// says (`Some(id)` to name another manager).
fn chain_of_identities(n: usize, manager: impl Fn(usize) -> Option<String>) -> serde_json::Value {
    let identities: serde_json::Map<String, serde_json::Value> = (0..n)
        .map(|i| {
            let mut attrs = json!({"name": format!("P{i}"), "privileged": false, "groups": [],
                                   "level": 1});
            let boss = manager(i).or_else(|| i.checked_sub(1).map(|b| format!("p{b:03}")));
            if let Some(boss) = boss {
                attrs["manager"] = json!(boss);
            }
            (format!("p{i:03}"), attrs)
        })
        .collect();
    json!({"entities": {"Identity": identities}})
}

#[test]
fn references_looked_up_in_batches_land_on_their_entities() {
    // More entities than one batch of lookups, references to another type and to the same
    // one, and an id written with an escape (read as it is met, not put off).
    let mut doc = chain_of_identities(150, |_| None);
    let assets: serde_json::Map<String, serde_json::Value> = (0..150)
        .map(|i| {
            let attrs = json!({"tier": "critical", "tags": [], "owner": format!("p{:03}", 149 - i),
                               "max_downtime": "1h"});
            (format!("a{i:03}"), attrs)
        })
        .collect();
    doc["entities"]["Asset"] = json!(assets);
    let text = doc
        .to_string()
        .replace(r#""owner":"p100""#, r#""owner":"p\u0031\u0030\u0030""#);
    assert!(text.contains(r"p\u0031"));
    let store = Store::from_str(&schema(), &text).unwrap_or_else(|e| panic!("{e}"));
    for i in 0..150usize {
        let p = idx(&store, IDENTITY, &format!("p{i:03}"));
        let manager = match i.checked_sub(1) {
            Some(b) => Value::Entity(EntityRef::Known {
                ty: IDENTITY,
                idx: idx(&store, IDENTITY, &format!("p{b:03}")),
            }),
            None => Value::Absent,
        };
        assert_eq!(store.attr(IDENTITY, p, 2), Some(&manager), "p{i:03}");
        let a = idx(&store, ASSET, &format!("a{i:03}"));
        let owner = EntityRef::Known {
            ty: IDENTITY,
            idx: idx(&store, IDENTITY, &format!("p{:03}", 149 - i)),
        };
        assert_eq!(
            store.attr(ASSET, a, 2),
            Some(&Value::Entity(owner)),
            "a{i:03}"
        );
    }
}

#[test]
fn references_looked_up_in_batches_report_in_document_order() {
    // A dangling reference found in a later batch than another problem is still reported
    // before it, each once.
    let doc = chain_of_identities(150, |i| match i {
        70 => Some("ghost".into()),
        120 => Some("p999".into()),
        _ => None,
    });
    let mut doc = doc;
    doc["entities"]["Identity"]["p100"]["name"] = json!(5);
    check_errors(
        doc,
        &[
            "entities.Identity.p070.manager: dangling reference: no `Identity` with id `ghost` \
             in the entities",
            "entities.Identity.p100.name: expected a string, found the number 5",
            "entities.Identity.p120.manager: dangling reference: no `Identity` with id `p999` \
             in the entities",
        ],
    );
}

#[test]
fn a_reference_that_cannot_wait_reports_in_document_order() {
    // An id written with an escape is looked up as it is read, once every id is numbered: a
    // dangling one is reported in its place among the other problems.
    let mut doc = chain_of_identities(150, |i| (i == 20).then(|| "ghost".into()));
    doc["entities"]["Identity"]["p010"]["name"] = json!(5);
    doc["entities"]["Identity"]["p100"]["name"] = json!(6);
    let text = doc
        .to_string()
        .replace(r#""manager":"ghost""#, r#""manager":"gh\u006fst""#);
    assert!(text.contains(r"gh\u006f"));
    check_text_errors(
        &text,
        &[
            "entities.Identity.p010.name: expected a string, found the number 5",
            "entities.Identity.p020.manager: dangling reference: no `Identity` with id `ghost` \
             in the entities",
            "entities.Identity.p100.name: expected a string, found the number 6",
        ],
    );
}

#[test]
fn ids_are_numbered_in_byte_order() {
    // Ids alike in their first 16 bytes, or told apart only by their length or a NUL byte.
    let mut names = vec![
        "b",
        "a",
        "",
        "a\0",
        "a\0b",
        "ab",
        "\u{e9}",
        "z",
        "0123456789abcdef",
        "0123456789abcdef0",
        "0123456789abcdef\0",
        "0123456789abcdeg",
        "0123456789abcdee-longer",
        "0123456789abcdef-longer-still",
        "0123456789abcdef-longer",
    ];
    // Written out in this order (a JSON map would sort the keys).
    let attrs = r#"{"name": "x", "privileged": false, "groups": [], "level": 1}"#;
    let members: Vec<String> = names
        .iter()
        .map(|n| format!("{}: {attrs}", serde_json::Value::from(*n)))
        .collect();
    let text = format!(
        r#"{{"entities": {{"Identity": {{{}}}}}}}"#,
        members.join(", ")
    );
    let store =
        Store::from_str(&schema(), &text).unwrap_or_else(|err| panic!("does not load:\n{err}"));
    names.sort_unstable();
    for (i, name) in names.iter().enumerate() {
        assert_eq!(store.lookup(IDENTITY, name), Some(i as u32), "{name:?}");
    }
}
