//! Rego (`regorus`) on the common subset. The data document holds the identities, the assets
//! and both graphs as adjacency objects (`reports_to`: identity → [manager], `dependents`:
//! asset → [assets that depend on it directly]); closures go through `graph.reachable`. The
//! request's time is its Unix second in the input (`now`), the duration its seconds, compared
//! with integer arithmetic (the fastest path; the `time.*` builtins would parse strings).
//! The policy computes the set of fired rules (`data.ward.fired`), named after the Ward rules.
//! Evaluation path: the policy compiled to regorus' RVM (`RegoVM`, data loaded once, one
//! prebuilt input per request, `set_input` + `execute`).

use std::sync::Arc;

use regorus::Value;
use regorus::languages::rego::compiler::Compiler;
use regorus::rvm::program::Program;
use regorus::rvm::vm::RegoVM;

use super::{Outcome, Peer, combine};
use crate::estate::Estate;
use crate::requests::{Action, RequestSpec};

/// The Unix seconds of the year-end freeze's bounds (2026-12-20, 2027-01-03, UTC).
pub const FREEZE: (i64, i64) = (1_797_724_800, 1_798_934_400);

/// The rules without graph closures (shared by both variants).
pub const COMMON_RULES: &str = r#"
package ward

import rego.v1

in_freeze if {
  input.now >= 1797724800
  input.now < 1798934400
}

is_exec(title) if startswith(title, "VP")
is_exec(title) if startswith(title, "Chief")
is_exec(title) if startswith(title, "SVP")
is_exec(title) if startswith(title, "EVP")

fired contains "finance_exec_accounts" if {
  input.action == "disable_account"
  t := data.identities[input.subject]
  t.department == "Finance"
  is_exec(t.title)
}

fired contains "privileged_admins" if {
  input.action == "disable_account"
  t := data.identities[input.subject]
  t.privileged
  "admins" in t.groups
}

fired contains "routine_disable" if {
  input.action == "disable_account"
  "automation" in data.identities[input.agent].groups
}

fired contains "reboot_in_freeze" if {
  input.action == "patch_host"
  input.reboot
  in_freeze
}

fired contains "long_patch" if {
  input.action == "patch_host"
  input.duration > 14400
}

fired contains "crown_jewel_at_night" if {
  input.action == "patch_host"
  data.assets[input.subject].tier == "crown_jewel"
  input.now % 86400 < 21600
}

fired contains "routine_patching" if {
  input.action == "patch_host"
  data.assets[input.subject].tier != "crown_jewel"
}

fired contains "rotate_in_freeze" if {
  input.action == "rotate_secret"
  in_freeze
  data.assets[input.subject].tier == "crown_jewel"
}

fired contains "rotate_regulated" if {
  input.action == "rotate_secret"
  some t in data.assets[input.subject].tags
  t in {"pci", "sox", "hipaa"}
}

fired contains "routine_rotation" if {
  input.action == "rotate_secret"
}
"#;

/// The two closure rules walking the graphs per request (`graph.reachable`).
pub const GRAPH_RULES: &str = r#"
fired contains "cfo_organisation" if {
  input.action == "disable_account"
  input.subject != "cfo"
  "cfo" in graph.reachable(data.reports_to, {input.subject})
}

fired contains "revenue_blast_radius" if {
  input.action == "patch_host"
  some a in graph.reachable(data.dependents, {input.subject})
  "revenue-critical" in data.assets[a].tags
}
"#;

/// The two closure rules reading closures precomputed in `data` (as CEL gets them): an
/// identity's `org` (its chain of managers) and an asset's `dependent_tags` (the union of the
/// tags of its blast radius).
pub const PRECOMPUTED_RULES: &str = r#"
fired contains "cfo_organisation" if {
  input.action == "disable_account"
  "cfo" in data.identities[input.subject].org
}

fired contains "revenue_blast_radius" if {
  input.action == "patch_host"
  "revenue-critical" in data.assets[input.subject].tags
}

fired contains "revenue_blast_radius" if {
  input.action == "patch_host"
  "revenue-critical" in data.assets[input.subject].dependent_tags
}
"#;

/// How the peer gets the two graph closures.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Closures {
    /// Walked per request by `graph.reachable` over adjacency objects in `data`.
    Walked,
    /// Precomputed per entity in `data` (untimed).
    Precomputed,
}

impl Closures {
    /// The whole policy.
    pub fn policy(self) -> String {
        match self {
            Closures::Walked => format!("{COMMON_RULES}{GRAPH_RULES}"),
            Closures::Precomputed => format!("{COMMON_RULES}{PRECOMPUTED_RULES}"),
        }
    }
}

pub const ENTRY_POINT: &str = "data.ward.fired";

pub struct RegoPeer {
    vm: RegoVM,
    closures: Closures,
    inputs: Vec<Value>,
}

impl std::fmt::Debug for RegoPeer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RegoPeer")
            .field("inputs", &self.inputs.len())
            .finish_non_exhaustive()
    }
}

/// The data document as JSON: identities, assets and the two adjacency objects.
pub fn data_json(estate: &Estate, closures: Closures) -> serde_json::Value {
    use serde_json::{Map, json};
    let (chains, radius) = match closures {
        Closures::Walked => (Vec::new(), Vec::new()),
        Closures::Precomputed => (super::manager_chains(estate), super::radius_tags(estate)),
    };
    let mut identities = Map::new();
    let mut reports_to = Map::new();
    for (k, i) in estate.identities.iter().enumerate() {
        let mut doc = json!({"title": i.title, "department": i.department,
                             "privileged": i.privileged, "groups": i.groups});
        if let Some(org) = chains.get(k) {
            doc["org"] = json!(org);
        }
        identities.insert(i.id.clone(), doc);
        let up: Vec<&str> = i
            .manager
            .map(|m| estate.identities[m].id.as_str())
            .into_iter()
            .collect();
        reports_to.insert(i.id.clone(), json!(up));
    }
    let mut assets = Map::new();
    let mut dependents = Map::new();
    for (k, deps) in estate.dependents().into_iter().enumerate() {
        let a = &estate.assets[k];
        let mut doc = json!({"tier": a.tier.as_str(), "tags": a.tags});
        if let Some(tags) = radius.get(k) {
            doc["dependent_tags"] = json!(tags);
        }
        assets.insert(a.id.clone(), doc);
        let ids: Vec<&str> = deps.iter().map(|&d| estate.assets[d].id.as_str()).collect();
        dependents.insert(a.id.clone(), json!(ids));
    }
    json!({"identities": identities, "assets": assets,
           "reports_to": reports_to, "dependents": dependents})
}

/// The input document of one request.
pub fn input_json(estate: &Estate, r: &RequestSpec) -> serde_json::Value {
    let subject = if r.action.on_identity() {
        &estate.identities[r.subject].id
    } else {
        &estate.assets[r.subject].id
    };
    let mut input = serde_json::json!({
        "action": r.action.name(),
        "agent": estate.identities[r.agent].id,
        "subject": subject,
        "now": r.at,
    });
    if r.action == Action::PatchHost {
        input["reboot"] = serde_json::json!(r.reboot);
        input["duration"] = serde_json::json!(r.duration);
    }
    input
}

/// Compiles the policy to an RVM program for [`ENTRY_POINT`].
pub fn program(closures: Closures) -> Result<Arc<Program>, String> {
    let mut engine = regorus::Engine::new();
    engine
        .add_policy("ward.rego".to_owned(), closures.policy())
        .map_err(|e| format!("rego policy: {e}"))?;
    let entry: regorus::Rc<str> = ENTRY_POINT.into();
    let compiled = engine
        .compile_with_entrypoint(&entry)
        .map_err(|e| format!("rego compile: {e}"))?;
    Compiler::compile_from_policy(&compiled, &[ENTRY_POINT])
        .map_err(|e| format!("rego to RVM: {e}"))
}

impl RegoPeer {
    pub fn new(
        estate: &Estate,
        requests: &[RequestSpec],
        closures: Closures,
    ) -> Result<RegoPeer, String> {
        let data = Value::from_json_str(&data_json(estate, closures).to_string())
            .map_err(|e| format!("rego data: {e}"))?;
        let mut vm = RegoVM::new();
        vm.load_program(program(closures)?);
        // The default budget (25,000 instructions) is too small for `graph.reachable` over
        // blast radii of thousands of assets; the benchmark wants the answer, not a limit.
        vm.set_max_instructions(1 << 40);
        vm.set_data(data).map_err(|e| format!("rego data: {e}"))?;
        let inputs = requests
            .iter()
            .map(|r| {
                Value::from_json_str(&input_json(estate, r).to_string())
                    .map_err(|e| format!("rego input: {e}"))
            })
            .collect::<Result<_, _>>()?;
        Ok(RegoPeer {
            vm,
            closures,
            inputs,
        })
    }
}

impl Peer for RegoPeer {
    type Raw = Result<Value, String>;

    fn describe(&self) -> String {
        match self.closures {
            Closures::Walked => {
                "regorus 0.14 (RVM: `RegoVM::set_input` + `execute`, prebuilt inputs)".to_owned()
            }
            Closures::Precomputed => {
                "regorus 0.14 (RVM, prebuilt inputs, closures precomputed in `data`)".to_owned()
            }
        }
    }

    fn len(&self) -> usize {
        self.inputs.len()
    }

    fn eval(&mut self, i: usize) -> Result<Value, String> {
        self.vm.set_input(self.inputs[i].clone());
        self.vm
            .execute()
            .map_err(|e| format!("rego evaluation: {e}"))
    }

    fn outcome(&self, _i: usize, raw: Result<Value, String>) -> Result<Outcome, String> {
        let value = raw?;
        if value == Value::Undefined {
            return Ok(combine([]));
        }
        let set = value
            .as_set()
            .map_err(|e| format!("rego result is not a set: {e}"))?;
        let names: Vec<String> = set
            .iter()
            .map(|v| v.as_string().map(|s| s.to_string()))
            .collect::<Result<_, _>>()
            .map_err(|e| format!("rego result: {e}"))?;
        Ok(combine(names.iter().map(String::as_str)))
    }
}
