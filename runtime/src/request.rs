//! Request validation: turns a request document (`docs/language.md` §9:
//! `{"action": …, "at": …, "args": {…}, "context": {…}}`, optionally with the caller's own
//! `"id"`) into a typed [`Request`] against the schema and a loaded store, or an error listing
//! every problem with its JSON path.
//!
//! A request that does not validate is decided `deny` by the caller (decisions.md #23); this
//! module only validates. It knows the schema and the store's entity ids, not rules or decisions.

use std::fmt;

use serde_json::Value as Json;
use ward_ir::{ActionId, Field, Schema, Type};

use crate::Value;
use crate::store::{
    Env, Path, Problem, Problems, Store, StoreEnv, convert, describe_json, did_you_mean, list,
    parse_json, type_name, write_problems,
};

/// A validated request.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Request {
    pub action: ActionId,
    /// The request's time (`now`), seconds since the Unix epoch.
    pub at: i64,
    /// The action's fields, in the action's declaration order.
    pub args: Vec<Value>,
    /// The context fields in `Schema::context` order; [`Value::Absent`] for an absent optional.
    pub context: Vec<Value>,
    /// The caller's own id of the request (its `"id"`), echoed in the decision as
    /// `request_id`: a string of 1 to [`MAX_ID_LEN`] bytes without control characters.
    pub id: Option<String>,
}

/// The longest request `id` accepted, in bytes (UTF-8).
pub const MAX_ID_LEN: usize = 256;

/// A request that does not match the schema: every problem found, each with its JSON path
/// (`args.host`, `context.agent`, `at`).
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub struct RequestError {
    problems: Vec<Problem>,
    omitted: usize,
}

impl RequestError {
    pub fn problems(&self) -> &[Problem] {
        &self.problems
    }

    /// How many further problems were found but not listed.
    pub fn omitted(&self) -> usize {
        self.omitted
    }
}

/// On one line (it becomes the message of a decision's error): problems joined by `; `.
impl fmt::Display for RequestError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write_problems(f, &self.problems, self.omitted, "; ")
    }
}

const REQUEST_KEYS: [&str; 5] = ["action", "at", "args", "context", "id"];

/// The request's `id` when the document has a valid one: what a decision echoes, also for a
/// request that does not validate otherwise.
pub fn readable_id(doc: &Json) -> Option<String> {
    match doc.get("id") {
        Some(Json::String(id)) if id_problem(id).is_none() => Some(id.clone()),
        _ => None,
    }
}

/// What is wrong with a request id, if anything.
fn id_problem(id: &str) -> Option<String> {
    if id.is_empty() {
        return Some("the request `id` is empty (leave it out, or give a non-empty string)".into());
    }
    if id.len() > MAX_ID_LEN {
        return Some(format!(
            "the request `id` is {} bytes long (at most {MAX_ID_LEN})",
            id.len()
        ));
    }
    if let Some(c) = id.chars().find(|c| c.is_control()) {
        return Some(format!(
            "the request `id` contains the control character U+{:04X}",
            u32::from(c)
        ));
    }
    None
}

/// Validates a parsed request document.
pub fn parse_request(schema: &Schema, store: &Store, doc: &Json) -> Result<Request, RequestError> {
    let mut problems = Problems::default();
    match validate(schema, store, doc, &mut problems) {
        Some(request) if problems.is_empty() => Ok(request),
        _ => Err(RequestError {
            problems: problems.list,
            omitted: problems.omitted,
        }),
    }
}

/// Parses and validates a request; JSON syntax errors say `line:column`, duplicate keys are
/// problems.
pub fn parse_request_str(
    schema: &Schema,
    store: &Store,
    text: &str,
) -> Result<Request, RequestError> {
    let (doc, duplicates) = parse_json(text).map_err(|problem| RequestError {
        problems: vec![problem],
        omitted: 0,
    })?;
    let mut problems = Problems::default();
    for dup in duplicates {
        problems.push_rendered(dup.object.join("."), format!("duplicate key `{}`", dup.key));
    }
    let request = validate(schema, store, &doc, &mut problems);
    match request {
        Some(request) if problems.is_empty() => Ok(request),
        _ => Err(RequestError {
            problems: problems.list,
            omitted: problems.omitted,
        }),
    }
}

fn validate(
    schema: &Schema,
    store: &Store,
    doc: &Json,
    problems: &mut Problems,
) -> Option<Request> {
    let root = Path::Root;
    let mut env = StoreEnv(store);
    let Json::Object(top) = doc else {
        problems.push(
            &root,
            format!(
                "expected a request object with `action`, `at`, `args` and `context`, found {}",
                describe_json(doc)
            ),
        );
        return None;
    };
    for key in top.keys() {
        if !REQUEST_KEYS.contains(&key.as_str()) {
            problems.push(
                &root.key(key),
                format!(
                    "unknown key `{key}` (a request has {}){}",
                    list(REQUEST_KEYS.into_iter()),
                    did_you_mean(key, REQUEST_KEYS.into_iter())
                ),
            );
        }
    }

    let action_names = || schema.actions.iter().map(|a| a.name.as_str());
    let action_path = root.key("action");
    let action = match top.get("action") {
        None | Some(Json::Null) => {
            problems.push(
                &action_path,
                format!("missing `action` (one of {})", list(action_names())),
            );
            None
        }
        Some(Json::String(name)) => match schema.actions.iter().position(|a| a.name == *name) {
            Some(i) => u32::try_from(i).ok().map(ActionId),
            None => {
                problems.push(
                    &action_path,
                    format!(
                        "unknown action `{name}` (the schema declares {}){}",
                        list(action_names()),
                        did_you_mean(name, action_names())
                    ),
                );
                None
            }
        },
        Some(other) => {
            problems.push(
                &action_path,
                format!(
                    "expected an action name (a string), found {}",
                    describe_json(other)
                ),
            );
            None
        }
    };

    let at_path = root.key("at");
    let at = match top.get("at") {
        None | Some(Json::Null) => {
            problems.push(
                &at_path,
                "missing `at` (the request's time, like `2026-11-28T05:00:00Z`)".into(),
            );
            None
        }
        Some(json) => convert(schema, &mut env, &Type::Timestamp, json, &at_path, problems)
            .and_then(|v| v.as_int()),
    };

    let id_path = root.key("id");
    let id = match top.get("id") {
        None | Some(Json::Null) => Some(None),
        Some(Json::String(id)) => match id_problem(id) {
            None => Some(Some(id.clone())),
            Some(problem) => {
                problems.push(&id_path, problem);
                None
            }
        },
        Some(other) => {
            problems.push(
                &id_path,
                format!(
                    "expected the request's own id (a string of at most {MAX_ID_LEN} bytes), \
                     found {}",
                    describe_json(other)
                ),
            );
            None
        }
    };

    let args = match action.and_then(|a| schema.actions.get(a.index())) {
        Some(decl) => fields(
            schema,
            &mut env,
            &Fields {
                key: "args",
                owner: format!("action `{}`", decl.name),
                fields: &decl.fields,
                allow_optional: false,
            },
            top.get("args"),
            &root,
            problems,
        ),
        // Without a known action the arguments cannot be checked.
        None => None,
    };

    let context = fields(
        schema,
        &mut env,
        &Fields {
            key: "context",
            owner: "the context".into(),
            fields: &schema.context,
            allow_optional: true,
        },
        top.get("context"),
        &root,
        problems,
    );

    Some(Request {
        action: action?,
        at: at?,
        args: args?,
        context: context?,
        id: id?,
    })
}

/// The field list being checked: the action's arguments or the context.
struct Fields<'a> {
    /// `args` or `context`.
    key: &'static str,
    /// For messages: "action `patch_host`", "the context".
    owner: String,
    fields: &'a [Field],
    /// Context fields may be optional; action fields never are.
    allow_optional: bool,
}

fn fields(
    schema: &Schema,
    env: &mut dyn Env,
    spec: &Fields<'_>,
    json: Option<&Json>,
    root: &Path<'_>,
    problems: &mut Problems,
) -> Option<Vec<Value>> {
    let path = root.key(spec.key);
    let empty = serde_json::Map::new();
    let object = match json {
        None | Some(Json::Null) => &empty,
        Some(Json::Object(object)) => object,
        Some(other) => {
            problems.push(
                &path,
                format!(
                    "expected an object of the fields of {}, found {}",
                    spec.owner,
                    describe_json(other)
                ),
            );
            return None;
        }
    };
    let names = || spec.fields.iter().map(|f| f.name.as_str());
    for key in object.keys() {
        if !spec.fields.iter().any(|f| f.name == *key) {
            problems.push(
                &path.key(key),
                format!(
                    "unknown field `{key}` of {} (it has {}){}",
                    spec.owner,
                    list(names()),
                    did_you_mean(key, names())
                ),
            );
        }
    }
    let mut out = Vec::with_capacity(spec.fields.len());
    let mut ok = true;
    for field in spec.fields {
        let field_path = path.key(&field.name);
        let optional = spec.allow_optional && field.ty.is_optional();
        let value = match object.get(&field.name) {
            None | Some(Json::Null) if optional => Some(Value::Absent),
            None | Some(Json::Null) => {
                problems.push(
                    &field_path,
                    format!(
                        "missing field `{}` of {} (type `{}`)",
                        field.name,
                        spec.owner,
                        type_name(schema, &field.ty)
                    ),
                );
                None
            }
            Some(json) => convert(schema, env, &field.ty, json, &field_path, problems),
        };
        match value {
            Some(value) => out.push(value),
            None => ok = false,
        }
    }
    ok.then_some(out)
}

#[cfg(test)]
mod tests {
    use serde_json::json;
    use ward_ir::{ActionId, EntityTypeId};

    use super::*;
    use crate::EntityRef;
    use crate::store::tests::{ASSET, IDENTITY, schema, store};

    fn parse(doc: serde_json::Value) -> Result<Request, RequestError> {
        parse_request(&schema(), &store(), &doc)
    }

    /// Expects exactly these problems, in order.
    fn check(doc: serde_json::Value, expected: &[&str]) {
        match parse(doc) {
            Ok(request) => panic!("expected problems, got {request:?}"),
            Err(err) => {
                let got: Vec<String> = err.problems().iter().map(ToString::to_string).collect();
                assert_eq!(got, expected);
                assert_eq!(err.to_string(), expected.join("; "));
            }
        }
    }

    fn entity(ty: EntityTypeId, id: &str) -> Value {
        let idx = store().lookup(ty, id).unwrap_or(u32::MAX);
        Value::Entity(EntityRef::Known { ty, idx })
    }

    #[test]
    fn valid_request() {
        let request = parse(json!({
            "action": "patch_host", "at": "2026-11-28T05:00:00Z",
            "args": {"host": "db-1", "reboot": true, "duration": "3h",
                     "tiers": ["critical", "crown_jewel", "critical"]},
            "context": {"agent": "bot"}
        }));
        assert_eq!(
            request,
            Ok(Request {
                action: ActionId(1),
                at: 1_795_842_000,
                args: vec![
                    entity(ASSET, "db-1"),
                    Value::Bool(true),
                    Value::Int(10_800),
                    Value::set(vec![Value::Enum(0), Value::Enum(1)]),
                ],
                context: vec![entity(IDENTITY, "bot"), Value::Absent],
                id: None,
            })
        );
        let request = parse(json!({
            "action": "disable_account", "at": "2026-11-28T05:00:00+01:00",
            "args": {"target": "alice", "reason": "stale"},
            "context": {"agent": "bot", "ticket": "SEC-1"}
        }));
        assert_eq!(
            request.map(|r| (r.at, r.args, r.context)),
            Ok((
                1_795_838_400,
                vec![entity(IDENTITY, "alice"), Value::str("stale")],
                vec![entity(IDENTITY, "bot"), Value::str("SEC-1")]
            ))
        );
    }

    #[test]
    fn document_errors() {
        check(
            json!("patch"),
            &[
                "expected a request object with `action`, `at`, `args` and `context`, found the \
               string `patch`",
            ],
        );
        check(
            json!({"at": "2026-11-28T05:00:00Z", "context": {"agent": "bot"}, "arg": {}}),
            &[
                "arg: unknown key `arg` (a request has `action`, `at`, `args`, `context`, \
                 `id`); did you mean `args`?",
                "action: missing `action` (one of `disable_account`, `patch_host`)",
            ],
        );
        check(
            json!({"action": "patch_hots", "context": {"agent": "bot"}}),
            &[
                "action: unknown action `patch_hots` (the schema declares `disable_account`, \
                 `patch_host`); did you mean `patch_host`?",
                "at: missing `at` (the request's time, like `2026-11-28T05:00:00Z`)",
            ],
        );
        check(
            json!({"action": 3, "at": "yesterday", "context": {"agent": "bot"}}),
            &[
                "action: expected an action name (a string), found the number 3",
                "at: malformed timestamp `yesterday` (expected RFC 3339 like \
                 `2026-11-28T05:00:00Z`, years 0001 to 9999)",
            ],
        );
    }

    #[test]
    fn field_errors() {
        check(
            json!({"action": "patch_host", "at": "2026-11-28T05:00:00Z",
                   "args": {"hots": "db-1", "reboot": "yes", "duration": 3, "tiers": ["gold"]},
                   "context": {"agent": "zed", "tiket": "x"}}),
            &[
                "args.hots: unknown field `hots` of action `patch_host` (it has `host`, \
                 `reboot`, `duration`, `tiers`); did you mean `host`?",
                "args.host: missing field `host` of action `patch_host` (type `Asset`)",
                "args.reboot: expected `true` or `false`, found the string `yes`",
                "args.duration: expected a duration string like `1h30m`, found the number 3",
                "args.tiers[0]: unknown `Tier` variant `gold` (expected one of `crown_jewel`, \
                 `critical`, `standard`, `sandbox`)",
                "context.tiket: unknown field `tiket` of the context (it has `agent`, \
                 `ticket`); did you mean `ticket`?",
                "context.agent: no `Identity` with id `zed` in the entities",
            ],
        );
        check(
            json!({"action": "disable_account", "at": "2026-11-28T05:00:00Z",
                   "args": {"target": "db-1", "reason": null}, "context": {"ticket": 7}}),
            &[
                "args.target: no `Identity` with id `db-1` in the entities (there is an `Asset` \
                 with that id)",
                "args.reason: missing field `reason` of action `disable_account` (type `String`)",
                "context.agent: missing field `agent` of the context (type `Identity`)",
                "context.ticket: expected a string, found the number 7",
            ],
        );
        check(
            json!({"action": "disable_account", "at": "2026-11-28T05:00:00Z",
                   "args": [], "context": "bot"}),
            &[
                "args: expected an object of the fields of action `disable_account`, found an array",
                "context: expected an object of the fields of the context, found the string `bot`",
            ],
        );
    }

    #[test]
    fn text_requests() {
        let parse = |text: &str| parse_request_str(&schema(), &store(), text);
        assert!(
            parse(
                r#"{"action": "disable_account", "at": "2026-11-28T05:00:00Z",
                    "args": {"target": "alice", "reason": "stale"}, "context": {"agent": "bot"}}"#
            )
            .is_ok()
        );
        let err = parse(r#"{"action": "disable_account", "at": }"#).err();
        assert_eq!(
            err.map(|e| e.to_string()),
            Some("invalid JSON at line 1, column 37: expected value".to_owned())
        );
        let err = parse(
            r#"{"action": "disable_account", "at": "2026-11-28T05:00:00Z",
                "args": {"target": "alice", "target": "bob", "reason": "stale"},
                "context": {"agent": "bot"}}"#,
        )
        .err();
        assert_eq!(
            err.map(|e| e.to_string()),
            Some("args: duplicate key `target`".to_owned())
        );
    }
}
