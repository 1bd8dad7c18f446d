//! CEL (`cel` 0.15) on the common subset. CEL has no entity store and no graphs, so each
//! request's context carries the entities it names as maps, with the graph closures
//! **precomputed** by the benchmark (untimed, which flatters CEL): an identity's `org` is its
//! chain of managers (`closure(i, reports_to)`), an asset's `dependent_tags` is the union of
//! the tags in its blast radius (`closure(a, ~depends_on)`). Time is the request's Unix second
//! (`now`), durations are seconds. One program per action evaluates to the list of its rules'
//! conditions, in policy order; the host combines the rules that fired.
//! Evaluation path: `Program::compile` once per action, prebuilt `Context` per request,
//! `program.execute(&context)`.

use std::collections::HashMap;
use std::sync::Arc;

use cel::{Context, Env, Program, Value};

use super::{Outcome, Peer, combine, rules_of};
use crate::estate::Estate;
use crate::requests::{Action, RequestSpec};

/// The conditions of the subset's rules per action, in the order of `SUBSET_RULES`.
pub const PROGRAMS: [(Action, &str); 3] = [
    (
        Action::DisableAccount,
        r#"[
          target.department == "Finance" &&
            (target.title.startsWith("VP") || target.title.startsWith("Chief") ||
             target.title.startsWith("SVP") || target.title.startsWith("EVP")),
          "cfo" in target.org,
          target.privileged && "admins" in target.groups,
          "automation" in agent.groups
        ]"#,
    ),
    (
        Action::PatchHost,
        r#"[
          reboot && now >= 1797724800 && now < 1798934400,
          duration > 14400,
          "revenue-critical" in subject.tags || "revenue-critical" in subject.dependent_tags,
          subject.tier == "crown_jewel" && now % 86400 < 21600,
          subject.tier != "crown_jewel"
        ]"#,
    ),
    (
        Action::RotateSecret,
        r#"[
          now >= 1797724800 && now < 1798934400 && subject.tier == "crown_jewel",
          subject.tags.exists(t, t in ["pci", "sox", "hipaa"]),
          true
        ]"#,
    ),
];

pub struct CelPeer {
    programs: Vec<(Action, Program)>,
    contexts: Vec<(Action, Context<'static, 'static>)>,
}

impl std::fmt::Debug for CelPeer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("CelPeer")
            .field("contexts", &self.contexts.len())
            .finish_non_exhaustive()
    }
}

fn list(items: impl IntoIterator<Item = String>) -> Value {
    Value::List(Arc::new(items.into_iter().map(Value::from).collect()))
}

fn map(fields: Vec<(&str, Value)>) -> Value {
    let m: HashMap<String, Value> = fields.into_iter().map(|(k, v)| (k.to_owned(), v)).collect();
    Value::from(m)
}

/// Per identity: its attributes and its chain of managers.
fn identity_values(estate: &Estate) -> Vec<Value> {
    estate
        .identities
        .iter()
        .zip(super::manager_chains(estate))
        .map(|(i, org)| {
            map(vec![
                ("title", Value::from(i.title.as_str())),
                ("department", Value::from(i.department.as_str())),
                ("privileged", Value::Bool(i.privileged)),
                ("groups", list(i.groups.iter().cloned())),
                ("org", list(org)),
            ])
        })
        .collect()
}

/// Per asset: its attributes and the union of the tags of its blast radius.
fn asset_values(estate: &Estate) -> Vec<Value> {
    estate
        .assets
        .iter()
        .zip(super::radius_tags(estate))
        .map(|(a, radius)| {
            map(vec![
                ("tier", Value::from(a.tier.as_str())),
                ("tags", list(a.tags.iter().cloned())),
                ("dependent_tags", list(radius)),
            ])
        })
        .collect()
}

impl CelPeer {
    pub fn new(estate: &Estate, requests: &[RequestSpec]) -> Result<CelPeer, String> {
        let env = Arc::new(Env::stdlib());
        let programs = PROGRAMS
            .iter()
            .map(|&(action, source)| {
                Program::compile(source)
                    .map(|p| (action, p))
                    .map_err(|e| format!("cel program for `{}`: {e}", action.name()))
            })
            .collect::<Result<Vec<_>, _>>()?;
        let identities = identity_values(estate);
        let assets = asset_values(estate);
        let contexts = requests
            .iter()
            .map(|r| {
                let mut ctx = Context::with_env(Arc::clone(&env));
                ctx.add_variable_from_value("agent", identities[r.agent].clone());
                if r.action.on_identity() {
                    ctx.add_variable_from_value("target", identities[r.subject].clone());
                } else {
                    ctx.add_variable_from_value("subject", assets[r.subject].clone());
                }
                ctx.add_variable_from_value("now", Value::Int(r.at));
                ctx.add_variable_from_value("reboot", Value::Bool(r.reboot));
                ctx.add_variable_from_value("duration", Value::Int(r.duration));
                (r.action, ctx)
            })
            .collect();
        Ok(CelPeer { programs, contexts })
    }
}

impl Peer for CelPeer {
    type Raw = Result<Value, String>;

    fn describe(&self) -> String {
        "cel 0.15 (`Program::execute`, prebuilt contexts, closures precomputed)".to_owned()
    }

    fn len(&self) -> usize {
        self.contexts.len()
    }

    fn eval(&mut self, i: usize) -> Result<Value, String> {
        let (action, ctx) = &self.contexts[i];
        let program = self
            .programs
            .iter()
            .find(|(a, _)| a == action)
            .map(|(_, p)| p)
            .ok_or_else(|| format!("no cel program for `{}`", action.name()))?;
        program
            .execute(ctx)
            .map_err(|e| format!("cel evaluation: {e}"))
    }

    fn outcome(&self, i: usize, raw: Result<Value, String>) -> Result<Outcome, String> {
        let (action, _) = &self.contexts[i];
        let Value::List(items) = raw? else {
            return Err("cel result is not a list".to_owned());
        };
        let rules: Vec<&str> = rules_of(*action).map(|(name, _)| name).collect();
        if items.len() != rules.len() {
            return Err(format!(
                "cel result has {} entries, want {}",
                items.len(),
                rules.len()
            ));
        }
        let mut fired = Vec::new();
        for (name, item) in rules.iter().zip(items.iter()) {
            match item {
                Value::Bool(true) => fired.push(*name),
                Value::Bool(false) => {}
                other => return Err(format!("cel condition of `{name}` is {other:?}")),
            }
        }
        Ok(combine(fired))
    }
}
