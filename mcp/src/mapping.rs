//! The mapping from MCP tools to Ward actions (`tools.toml`, docs/mcp.md): which action a tool
//! is and which field each argument fills, checked against the policy's schema when the guard
//! starts; and [`Mapping::request`], which turns one `tools/call` into a Ward request.
//!
//! ```toml
//! [tool.reboot]
//! action = "reboot_host"
//! [tool.reboot.args]
//! host = "host"                 # the argument `host` fills the field `host`
//! window = "duration"
//! ticket = "context.ticket"     # an argument may fill a context field instead
//! [tool.reboot.defaults]
//! dry_run = false               # decided as `false` when the call leaves it out
//! ```
//!
//! A tool without an entry is the action of the same name, its arguments the fields of the
//! same names. An argument that fills no field is never dropped: the call is denied, saying
//! so. This module knows the schema's names; it does not know JSON-RPC or the log.

use std::collections::BTreeMap;
use std::path::Path;

use serde::Deserialize;
use serde_json::{Map, Value as Json};
use ward_embed::Program;

/// What `tools.toml` says, checked against a policy's schema.
#[derive(Clone, Debug, Default)]
pub struct Mapping {
    tools: BTreeMap<String, ToolMap>,
}

#[derive(Clone, Debug)]
struct ToolMap {
    action: String,
    args: BTreeMap<String, Target>,
    defaults: BTreeMap<String, Json>,
}

/// Where an argument goes.
#[derive(Clone, Debug, PartialEq, Eq)]
enum Target {
    Field(String),
    Context(String),
}

/// A `tools.toml` that cannot be used: the file's name, and every problem.
#[derive(Debug, thiserror::Error)]
#[error("{}", render(.file, .problems))]
pub struct MapError {
    pub file: String,
    pub problems: Vec<String>,
}

fn render(file: &str, problems: &[String]) -> String {
    let mut out = format!("the tool mapping `{file}` cannot be used:");
    for p in problems {
        out.push_str("\n  ");
        out.push_str(&p.replace('\n', "\n  "));
    }
    out
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct FileDoc {
    #[serde(default)]
    tool: BTreeMap<String, EntryDoc>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct EntryDoc {
    action: Option<String>,
    #[serde(default)]
    args: BTreeMap<String, String>,
    #[serde(default)]
    defaults: BTreeMap<String, toml::Value>,
}

/// Why a call could not become a request: the reason, for the denial.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Unmapped(pub String);

/// The context field the guard fills from `--agent`.
pub const AGENT: &str = "agent";

impl Mapping {
    /// Reads and checks `path` against `program`.
    pub fn load(path: &Path, program: &Program) -> Result<Mapping, MapError> {
        let file = path.display().to_string();
        let text = std::fs::read_to_string(path).map_err(|e| MapError {
            file: file.clone(),
            problems: vec![format!("cannot read it: {e}")],
        })?;
        Mapping::parse(&file, &text, program)
    }

    /// Parses and checks the text of a `tools.toml` named `file`.
    pub fn parse(file: &str, text: &str, program: &Program) -> Result<Mapping, MapError> {
        let doc: FileDoc = toml::from_str(text).map_err(|e| MapError {
            file: file.to_owned(),
            problems: vec![e.to_string().trim_end().to_owned()],
        })?;
        let mut problems = Vec::new();
        let mut tools = BTreeMap::new();
        for (tool, entry) in doc.tool {
            let action_name = entry.action.clone().unwrap_or_else(|| tool.clone());
            let Some(action) = program
                .schema
                .actions
                .iter()
                .find(|a| a.name == action_name)
            else {
                problems.push(format!(
                    "`[tool.{}]`: the policy set declares no action `{action_name}`{}",
                    toml_key(&tool),
                    did_you_mean(
                        &action_name,
                        program.schema.actions.iter().map(|a| a.name.as_str())
                    )
                ));
                continue;
            };
            let mut args = BTreeMap::new();
            let mut filled: BTreeMap<Target, String> = BTreeMap::new();
            for (arg, target) in entry.args {
                let target = match target.strip_prefix("context.") {
                    Some(AGENT) => {
                        problems.push(format!(
                            "`[tool.{}.args]`: `{arg}` cannot fill `context.agent`: the agent is `--agent`, never an argument the agent chooses",
                            toml_key(&tool)
                        ));
                        continue;
                    }
                    Some(field) => {
                        if !program.schema.context.iter().any(|f| f.name == field) {
                            problems.push(format!(
                                "`[tool.{}.args]`: `{arg}` fills `context.{field}`, but the policy's `context` has no field `{field}`{}",
                                toml_key(&tool),
                                did_you_mean(field, program.schema.context.iter().map(|f| f.name.as_str()))
                            ));
                            continue;
                        }
                        Target::Context(field.to_owned())
                    }
                    None => {
                        if !action.fields.iter().any(|f| f.name == target) {
                            problems.push(format!(
                                "`[tool.{}.args]`: `{arg}` fills `{target}`, but action `{}` has no field `{target}`{}",
                                toml_key(&tool),
                                action.name,
                                did_you_mean(&target, action.fields.iter().map(|f| f.name.as_str()))
                            ));
                            continue;
                        }
                        Target::Field(target)
                    }
                };
                if let Some(other) = filled.insert(target.clone(), arg.clone()) {
                    problems.push(format!(
                        "`[tool.{}.args]`: `{other}` and `{arg}` both fill `{}`: one value per field",
                        toml_key(&tool),
                        target.describe()
                    ));
                }
                args.insert(arg, target);
            }
            let mut defaults = BTreeMap::new();
            for (arg, value) in entry.defaults {
                match toml_to_json(&value) {
                    Some(json) => {
                        defaults.insert(arg, json);
                    }
                    None => problems.push(format!(
                        "`[tool.{}.defaults]`: `{arg}` must be a string, a boolean, an integer or an array of those",
                        toml_key(&tool)
                    )),
                }
            }
            tools.insert(
                tool,
                ToolMap {
                    action: action.name.clone(),
                    args,
                    defaults,
                },
            );
        }
        if problems.is_empty() {
            Ok(Mapping { tools })
        } else {
            Err(MapError {
                file: file.to_owned(),
                problems,
            })
        }
    }

    /// The Ward request for a call of `tool` with `arguments`, at `at` (RFC 3339), for
    /// `agent`: the action, and the request document. Fails with the reason to deny.
    pub fn request(
        &self,
        program: &Program,
        tool: &str,
        arguments: &Map<String, Json>,
        agent: Option<&str>,
        at: &str,
    ) -> Result<(String, Json), Unmapped> {
        let default_entry;
        let entry = match self.tools.get(tool) {
            Some(entry) => entry,
            None => {
                if !program.schema.actions.iter().any(|a| a.name == tool) {
                    return Err(Unmapped(format!(
                        "tool `{tool}` is not mapped to an action: the policy set declares no action `{tool}`{} and the tool mapping has no `[tool.{}]`",
                        did_you_mean(tool, program.schema.actions.iter().map(|a| a.name.as_str())),
                        toml_key(tool)
                    )));
                }
                default_entry = ToolMap {
                    action: tool.to_owned(),
                    args: BTreeMap::new(),
                    defaults: BTreeMap::new(),
                };
                &default_entry
            }
        };
        let Some(action) = program
            .schema
            .actions
            .iter()
            .find(|a| a.name == entry.action)
        else {
            return Err(Unmapped(format!(
                "action `{}` is not declared",
                entry.action
            )));
        };
        let mut args = Map::new();
        let mut context = Map::new();
        if let Some(agent) = agent {
            context.insert(AGENT.into(), Json::String(agent.to_owned()));
        }
        let mut filled_by: BTreeMap<Target, &str> = BTreeMap::new();
        let defaults = entry
            .defaults
            .iter()
            .filter(|(arg, _)| !arguments.contains_key(*arg));
        for (arg, value) in arguments.iter().chain(defaults) {
            let target = match entry.args.get(arg) {
                Some(target) => target.clone(),
                None if action.fields.iter().any(|f| &f.name == arg) => Target::Field(arg.clone()),
                None => {
                    return Err(Unmapped(format!(
                        "argument `{arg}` of tool `{tool}` fills no field of action `{}` (its fields: {}), so the call is denied rather than decided without it{}",
                        action.name,
                        list(action.fields.iter().map(|f| f.name.as_str())),
                        if self.tools.contains_key(tool) {
                            format!(": map it in `[tool.{}.args]`", toml_key(tool))
                        } else {
                            String::new()
                        }
                    )));
                }
            };
            if let Some(other) = filled_by.insert(target.clone(), arg) {
                return Err(Unmapped(format!(
                    "arguments `{other}` and `{arg}` of tool `{tool}` both fill `{}`",
                    target.describe()
                )));
            }
            match target {
                Target::Field(field) => args.insert(field, value.clone()),
                Target::Context(field) => context.insert(field, value.clone()),
            };
        }
        let mut doc = Map::new();
        doc.insert("action".into(), Json::String(action.name.clone()));
        doc.insert("at".into(), Json::String(at.to_owned()));
        doc.insert("args".into(), Json::Object(args));
        doc.insert("context".into(), Json::Object(context));
        Ok((action.name.clone(), Json::Object(doc)))
    }
}

impl Target {
    fn describe(&self) -> String {
        match self {
            Target::Field(f) => format!("field `{f}`"),
            Target::Context(f) => format!("`context.{f}`"),
        }
    }
}

impl PartialOrd for Target {
    fn partial_cmp(&self, other: &Self) -> Option<std::cmp::Ordering> {
        Some(self.cmp(other))
    }
}

impl Ord for Target {
    fn cmp(&self, other: &Self) -> std::cmp::Ordering {
        let key = |t: &Target| match t {
            Target::Field(f) => (0, f.clone()),
            Target::Context(f) => (1, f.clone()),
        };
        key(self).cmp(&key(other))
    }
}

fn toml_to_json(value: &toml::Value) -> Option<Json> {
    Some(match value {
        toml::Value::String(s) => Json::String(s.clone()),
        toml::Value::Boolean(b) => Json::Bool(*b),
        toml::Value::Integer(i) => Json::from(*i),
        toml::Value::Array(items) => {
            Json::Array(items.iter().map(toml_to_json).collect::<Option<Vec<_>>>()?)
        }
        _ => return None,
    })
}

/// A TOML key as written in a table header: bare when it can be, quoted otherwise.
pub fn toml_key(key: &str) -> String {
    let bare = !key.is_empty()
        && key
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-');
    if bare {
        key.to_owned()
    } else {
        Json::String(key.to_owned()).to_string()
    }
}

fn list<'a>(names: impl Iterator<Item = &'a str>) -> String {
    let names: Vec<String> = names.map(|n| format!("`{n}`")).collect();
    if names.is_empty() {
        "none".into()
    } else {
        names.join(", ")
    }
}

fn did_you_mean<'a>(name: &str, candidates: impl Iterator<Item = &'a str>) -> String {
    let best = candidates
        .map(|c| (strsim::levenshtein(name, c), c))
        .filter(|(d, c)| *d <= 2.max(c.len() / 3))
        .min();
    match best {
        Some((_, c)) => format!(" (did you mean `{c}`?)"),
        None => String::new(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn program() -> Program {
        let src = r#"
            entity Asset { tier: String }
            context { agent: String, ticket: String? }
            action reboot_host { host: Asset, duration: Duration }
            action disable_account { target: String, reason: String }
            rule r { on reboot_host allow }
        "#;
        ward_embed::compile(&[("p.ward".to_owned(), src.to_owned())])
            .program
            .unwrap()
    }

    fn args(json: Json) -> Map<String, Json> {
        json.as_object().unwrap().clone()
    }

    #[test]
    fn the_default_mapping_and_an_entry() {
        let p = program();
        let m = Mapping::parse(
            "tools.toml",
            r#"
            [tool.reboot]
            action = "reboot_host"
            [tool.reboot.args]
            hostname = "host"
            ticket = "context.ticket"
            [tool.reboot.defaults]
            duration = "1h"
            "#,
            &p,
        )
        .unwrap();
        let (action, doc) = m
            .request(
                &p,
                "reboot",
                &args(serde_json::json!({"hostname": "db-1", "ticket": "INC-1"})),
                Some("bot"),
                "2026-12-01T10:00:00Z",
            )
            .unwrap();
        assert_eq!(action, "reboot_host");
        assert_eq!(
            doc,
            serde_json::json!({"action": "reboot_host", "at": "2026-12-01T10:00:00Z",
                "args": {"host": "db-1", "duration": "1h"}, "context": {"agent": "bot", "ticket": "INC-1"}})
        );
        let (_, doc) = m
            .request(
                &p,
                "disable_account",
                &args(serde_json::json!({"target": "a", "reason": "r"})),
                None,
                "t",
            )
            .unwrap();
        assert_eq!(
            doc["args"],
            serde_json::json!({"target": "a", "reason": "r"})
        );
        assert_eq!(doc["context"], serde_json::json!({}));
    }

    #[test]
    fn calls_that_cannot_be_mapped() {
        let p = program();
        let m = Mapping::default();
        let err = m
            .request(&p, "reboot_hots", &Map::new(), None, "t")
            .unwrap_err();
        assert_eq!(
            err.0,
            "tool `reboot_hots` is not mapped to an action: the policy set declares no action `reboot_hots` (did you mean `reboot_host`?) and the tool mapping has no `[tool.reboot_hots]`"
        );
        let err = m
            .request(
                &p,
                "disable_account",
                &args(serde_json::json!({"target": "a", "reason": "r", "force": true})),
                None,
                "t",
            )
            .unwrap_err();
        assert!(err.0.starts_with("argument `force` of tool `disable_account` fills no field of action `disable_account` (its fields: `target`, `reason`)"), "{}", err.0);
    }

    #[test]
    fn files_that_cannot_be_used() {
        let p = program();
        let err = Mapping::parse(
            "tools.toml",
            r#"
            [tool.a]
            action = "reboot_hots"
            [tool.b]
            action = "reboot_host"
            [tool.b.args]
            x = "hots"
            y = "context.agent"
            z = "context.nope"
            "#,
            &p,
        )
        .unwrap_err();
        insta_like(
            &err.to_string(),
            "the tool mapping `tools.toml` cannot be used:
  `[tool.a]`: the policy set declares no action `reboot_hots` (did you mean `reboot_host`?)
  `[tool.b.args]`: `x` fills `hots`, but action `reboot_host` has no field `hots` (did you mean `host`?)
  `[tool.b.args]`: `y` cannot fill `context.agent`: the agent is `--agent`, never an argument the agent chooses
  `[tool.b.args]`: `z` fills `context.nope`, but the policy's `context` has no field `nope`",
        );
        let err = Mapping::parse("tools.toml", "[tool.a]\nactoin = \"x\"\n", &p).unwrap_err();
        assert!(err.to_string().contains("unknown field `actoin`"), "{err}");
        let err = Mapping::parse("tools.toml", "[tools.a]\n", &p).unwrap_err();
        assert!(err.to_string().contains("unknown field `tools`"), "{err}");
    }

    fn insta_like(got: &str, want: &str) {
        assert_eq!(got, want, "\n{got}");
    }
}
