//! The peers of the benchmark (Cedar, Rego through `regorus`, CEL through `cel`) evaluating the
//! scenario's common subset (`scenario/common.ward`) on the same requests as Ward.
//!
//! Every peer translation is built once from the generated [`Estate`] (untimed), prebuilds one
//! input per request (untimed), and then evaluates a request with its own compiled policy
//! ([`Peer::eval`], the only timed part). Its raw result is turned into an [`Outcome`]
//! (decision and approvers) afterwards, with the subset's combining: deny > require approval >
//! allow > default deny, so it can be compared with Ward's decision on the same request.
//! This module knows nothing of Ward's runtime beyond the rule names and effects of the subset.

pub mod cedar;
pub mod cel;
pub mod rego;

use std::collections::BTreeSet;

use crate::estate::Estate;
use crate::requests::Action;

/// Per identity, its chain of managers' ids (`closure(i, reports_to)`, nearest first): what
/// the peers that are given precomputed closures read.
pub fn manager_chains(estate: &Estate) -> Vec<Vec<String>> {
    estate
        .identities
        .iter()
        .map(|i| {
            let mut org = Vec::new();
            let mut up = i.manager;
            while let Some(m) = up {
                org.push(estate.identities[m].id.clone());
                up = estate.identities[m].manager;
            }
            org
        })
        .collect()
}

/// Per asset, the union of the tags of its blast radius (`closure(a, ~depends_on)`, the asset
/// itself excluded).
pub fn radius_tags(estate: &Estate) -> Vec<BTreeSet<String>> {
    let dependents = estate.dependents();
    // Reverse topological order of the layered DAG: an asset's dependents sit in earlier
    // layers, so computing layer by layer from the top makes each union one step.
    let mut order: Vec<usize> = (0..estate.assets.len()).collect();
    order.sort_by_key(|&k| estate.assets[k].layer);
    let mut radius: Vec<BTreeSet<String>> = vec![BTreeSet::new(); estate.assets.len()];
    for &k in &order {
        let mut tags = BTreeSet::new();
        for &d in &dependents[k] {
            tags.extend(estate.assets[d].tags.iter().cloned());
            tags.extend(radius[d].iter().cloned());
        }
        radius[k] = tags;
    }
    radius
}

/// The outcome of one request, as every engine can state it.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct Outcome {
    /// `allow`, `deny` or `require_approval`.
    pub decision: &'static str,
    /// Sorted and distinct; empty unless `require_approval`.
    pub approvers: Vec<String>,
}

/// What a rule of the subset does when it fires.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Effect {
    Allow,
    Deny,
    /// Require approval from this approver.
    Approval(&'static str),
}

/// The rules of `scenario/common.ward`, per action, in policy order, with their effects.
pub const SUBSET_RULES: [(Action, &str, Effect); 12] = [
    (
        Action::DisableAccount,
        "finance_exec_accounts",
        Effect::Approval("security-oncall"),
    ),
    (
        Action::DisableAccount,
        "cfo_organisation",
        Effect::Approval("cfo-office"),
    ),
    (Action::DisableAccount, "privileged_admins", Effect::Deny),
    (Action::DisableAccount, "routine_disable", Effect::Allow),
    (Action::PatchHost, "reboot_in_freeze", Effect::Deny),
    (
        Action::PatchHost,
        "long_patch",
        Effect::Approval("change-board"),
    ),
    (
        Action::PatchHost,
        "revenue_blast_radius",
        Effect::Approval("sre-leads"),
    ),
    (Action::PatchHost, "crown_jewel_at_night", Effect::Deny),
    (Action::PatchHost, "routine_patching", Effect::Allow),
    (Action::RotateSecret, "rotate_in_freeze", Effect::Deny),
    (
        Action::RotateSecret,
        "rotate_regulated",
        Effect::Approval("compliance"),
    ),
    (Action::RotateSecret, "routine_rotation", Effect::Allow),
];

/// The subset's rules for one action, in policy order.
pub fn rules_of(action: Action) -> impl Iterator<Item = (&'static str, Effect)> {
    SUBSET_RULES
        .iter()
        .filter(move |(a, _, _)| *a == action)
        .map(|&(_, name, effect)| (name, effect))
}

/// The effect of a subset rule by name.
pub fn effect_of(rule: &str) -> Option<Effect> {
    SUBSET_RULES
        .iter()
        .find(|(_, name, _)| *name == rule)
        .map(|&(_, _, e)| e)
}

/// Combines the fired rules of the subset (`docs/language.md` §6, default deny). Unknown names are
/// ignored by the caller's choice: they cannot come from a correct translation.
pub fn combine<'a>(fired: impl IntoIterator<Item = &'a str>) -> Outcome {
    let (mut deny, mut allow) = (false, false);
    let mut approvers = BTreeSet::new();
    for rule in fired {
        match effect_of(rule) {
            Some(Effect::Deny) => deny = true,
            Some(Effect::Allow) => allow = true,
            Some(Effect::Approval(who)) => {
                approvers.insert(who.to_owned());
            }
            None => {}
        }
    }
    if deny {
        Outcome {
            decision: "deny",
            approvers: Vec::new(),
        }
    } else if !approvers.is_empty() {
        Outcome {
            decision: "require_approval",
            approvers: approvers.into_iter().collect(),
        }
    } else if allow {
        Outcome {
            decision: "allow",
            approvers: Vec::new(),
        }
    } else {
        Outcome {
            decision: "deny",
            approvers: Vec::new(),
        }
    }
}

/// Ward's decision as an [`Outcome`].
pub fn ward_outcome(decision: &ward::Decision) -> Outcome {
    Outcome {
        decision: decision.decision.as_str(),
        approvers: if decision.decision.as_str() == "require_approval" {
            decision.approvers().to_vec()
        } else {
            Vec::new()
        },
    }
}

/// A peer engine with its policy compiled and its inputs prebuilt.
pub trait Peer {
    /// The raw result of evaluating one request.
    type Raw;
    /// Name and the evaluation path used, for the report.
    fn describe(&self) -> String;
    /// Number of prebuilt requests.
    fn len(&self) -> usize;
    fn is_empty(&self) -> bool {
        self.len() == 0
    }
    /// Evaluates prebuilt request `i`: the timed part.
    fn eval(&mut self, i: usize) -> Self::Raw;
    /// Turns a raw result into an outcome (untimed).
    fn outcome(&self, i: usize, raw: Self::Raw) -> Result<Outcome, String>;
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn combining_follows_the_spec() {
        let cases: [(&[&str], &str, &[&str]); 6] = [
            (&[], "deny", &[]),
            (&["routine_patching"], "allow", &[]),
            (
                &["routine_patching", "long_patch", "revenue_blast_radius"],
                "require_approval",
                &["change-board", "sre-leads"],
            ),
            (&["long_patch", "crown_jewel_at_night"], "deny", &[]),
            (
                &["cfo_organisation", "finance_exec_accounts"],
                "require_approval",
                &["cfo-office", "security-oncall"],
            ),
            (&["routine_rotation"], "allow", &[]),
        ];
        for (fired, decision, approvers) in cases {
            let out = combine(fired.iter().copied());
            assert_eq!(out.decision, decision, "{fired:?}");
            assert_eq!(out.approvers, approvers, "{fired:?}");
        }
    }

    /// Ward's outcomes on `n` subset requests of a small stream, and those requests.
    fn ward_outcomes(
        estate: &Estate,
        n: usize,
    ) -> (Vec<crate::requests::RequestSpec>, Vec<Outcome>) {
        let program = crate::scenario::compile(&crate::scenario::subset_files()).expect("checks");
        let engine = crate::scenario::engine(program, ward_runtime::engine::EngineKind::Interp)
            .expect("engine");
        engine
            .load_entities_str(&estate.to_json())
            .expect("estate loads");
        let specs: Vec<_> = crate::requests::generate(estate, n * 4, 77)
            .into_iter()
            .filter(|r| crate::scenario::SUBSET_ACTIONS.contains(&r.action.name()))
            .take(n)
            .collect();
        let outcomes = specs
            .iter()
            .map(|s| ward_outcome(&engine.decide(&s.to_json(estate))))
            .collect();
        (specs, outcomes)
    }

    fn disagreements<P: Peer>(peer: &mut P, want: &[Outcome]) -> Vec<String> {
        (0..peer.len())
            .filter_map(|i| {
                let raw = peer.eval(i);
                match peer.outcome(i, raw) {
                    Ok(got) if got == want[i] => None,
                    Ok(got) => Some(format!("request {i}: ward {:?}, peer {got:?}", want[i])),
                    Err(e) => Some(format!("request {i}: {e}")),
                }
            })
            .collect()
    }

    #[test]
    fn every_peer_agrees_with_ward_on_the_subset() {
        let estate = Estate::generate(1, 21);
        let (specs, want) = ward_outcomes(&estate, 1_500);
        // The stream exercises every decision, or agreement would prove little.
        for d in ["allow", "deny", "require_approval"] {
            assert!(want.iter().filter(|o| o.decision == d).count() > 50, "{d}");
        }
        let mut cedar = cedar::CedarPeer::new(&estate, &specs).expect("cedar");
        assert_eq!(disagreements(&mut cedar, &want), Vec::<String>::new());
        for closures in [rego::Closures::Walked, rego::Closures::Precomputed] {
            let mut rego = rego::RegoPeer::new(&estate, &specs, closures).expect("rego");
            assert_eq!(
                disagreements(&mut rego, &want),
                Vec::<String>::new(),
                "{closures:?}"
            );
        }
        let mut cel = cel::CelPeer::new(&estate, &specs).expect("cel");
        assert_eq!(disagreements(&mut cel, &want), Vec::<String>::new());
    }

    #[test]
    fn a_wrong_translation_is_caught() {
        let estate = Estate::generate(1, 21);
        let (specs, mut want) = ward_outcomes(&estate, 300);
        // Pretend Ward had allowed everything: the peers must now disagree somewhere.
        for o in &mut want {
            o.decision = "allow";
            o.approvers.clear();
        }
        let mut cel = cel::CelPeer::new(&estate, &specs).expect("cel");
        assert!(!disagreements(&mut cel, &want).is_empty());
    }

    #[test]
    fn subset_rules_match_the_ward_source() {
        let program = crate::scenario::compile(&crate::scenario::subset_files()).expect("checks");
        assert_eq!(program.rules.len(), SUBSET_RULES.len());
        for (rule, (action, name, effect)) in program.rules.iter().zip(SUBSET_RULES) {
            assert_eq!(rule.name, name);
            let actions: Vec<&str> = rule
                .actions
                .iter()
                .map(|a| program.schema.actions[a.index()].name.as_str())
                .collect();
            assert_eq!(actions, [action.name()]);
            let kind = rule.effect.kind.as_str();
            let want = match effect {
                Effect::Allow => "allow",
                Effect::Deny => "deny",
                Effect::Approval(_) => "require_approval",
            };
            assert_eq!(kind, want, "{name}");
        }
    }
}
