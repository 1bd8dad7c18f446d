//! The hand-written baseline: the twelve rules of the common subset (`scenario/common.ward`)
//! coded directly in Rust over plain structs, as a careful engineer would write them for this
//! one policy, to show what deciding costs without any engine.
//!
//! **Precomputed at load (untimed), per entity:** for an identity, whether it is a finance
//! executive (department `Finance` and a title starting `VP`, `Chief`, `SVP` or `EVP`), whether
//! it is in the CFO's organisation (the CFO is among its managers, walked up once), whether it
//! is a privileged admin (privileged and in group `admins`) and whether it is an automation
//! agent (group `automation`); for an asset, whether it is a crown jewel, whether it holds
//! regulated data (a tag among `pci`, `sox`, `hipaa`) and whether patching it affects
//! revenue-critical systems (its own tags or any tag in its blast radius, by one pass over the
//! dependency DAG from the top layer down). **Per request:** the rules of the action in policy
//! order on those facts and the request's time and fields, then combining (deny > approval >
//! allow > default deny) with the approvers as a bit set over the subset's five names (sorted
//! and distinct by construction). Messages are rendered with `write!` into one `String` per
//! fired rule that has one, only in the variant that renders them.
//!
//! Requests are prebuilt from the generator's [`RequestSpec`]s (entity indices, the reason's
//! index), as every engine of the benchmark gets its requests prebuilt. This module knows the
//! estate and the request stream, nothing of Ward's runtime; [`HandWritten::check`] compares
//! one of its decisions with what Ward decided (decision, approvers, fired rules, messages).

use std::fmt::Write as _;

use crate::estate::{Estate, Tier};
use crate::peers::SUBSET_RULES;
use crate::peers::rego::FREEZE;
use crate::requests::{Action, REASONS, RequestSpec};

/// The approvers the subset's rules name, sorted: bit `i` of [`Decided::approvers`] is
/// `APPROVERS[i]`.
pub const APPROVERS: [&str; 5] = [
    "cfo-office",
    "change-board",
    "compliance",
    "security-oncall",
    "sre-leads",
];

const CFO_OFFICE: u8 = 1 << 0;
const CHANGE_BOARD: u8 = 1 << 1;
const COMPLIANCE: u8 = 1 << 2;
const SECURITY_ONCALL: u8 = 1 << 3;
const SRE_LEADS: u8 = 1 << 4;

/// The rules of the subset by their position in [`SUBSET_RULES`] (bit `i` of
/// [`Decided::fired`]).
mod rule {
    pub const FINANCE_EXEC_ACCOUNTS: u16 = 1 << 0;
    pub const CFO_ORGANISATION: u16 = 1 << 1;
    pub const PRIVILEGED_ADMINS: u16 = 1 << 2;
    pub const ROUTINE_DISABLE: u16 = 1 << 3;
    pub const REBOOT_IN_FREEZE: u16 = 1 << 4;
    pub const LONG_PATCH: u16 = 1 << 5;
    pub const REVENUE_BLAST_RADIUS: u16 = 1 << 6;
    pub const CROWN_JEWEL_AT_NIGHT: u16 = 1 << 7;
    pub const ROUTINE_PATCHING: u16 = 1 << 8;
    pub const ROTATE_IN_FREEZE: u16 = 1 << 9;
    pub const ROTATE_REGULATED: u16 = 1 << 10;
    pub const ROUTINE_ROTATION: u16 = 1 << 11;
}

/// An identity's facts.
#[derive(Clone, Debug)]
struct Person {
    id: Box<str>,
    name: Box<str>,
    finance_exec: bool,
    in_cfo_org: bool,
    privileged_admin: bool,
    automation: bool,
}

/// An asset's facts.
#[derive(Clone, Debug)]
struct Machine {
    id: Box<str>,
    crown_jewel: bool,
    regulated: bool,
    revenue: bool,
}

/// One request as the baseline takes it: entity indices and plain fields.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Req {
    action: Action,
    at: i64,
    agent: u32,
    subject: u32,
    reason: u8,
    reboot: bool,
    duration: i64,
}

impl Req {
    pub fn of(spec: &RequestSpec) -> Req {
        Req {
            action: spec.action,
            at: spec.at,
            agent: spec.agent as u32,
            subject: spec.subject as u32,
            reason: spec.reason as u8,
            reboot: spec.reboot,
            duration: spec.duration,
        }
    }
}

/// The outcome of one request.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Verdict {
    Allow,
    Deny,
    RequireApproval,
}

impl Verdict {
    pub fn as_str(self) -> &'static str {
        match self {
            Verdict::Allow => "allow",
            Verdict::Deny => "deny",
            Verdict::RequireApproval => "require_approval",
        }
    }
}

/// A decision: the verdict, the rules that fired (bits over [`SUBSET_RULES`], so in policy
/// order) and the approvers (bits over [`APPROVERS`]; empty unless approval is required).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Decided {
    pub verdict: Verdict,
    pub fired: u16,
    pub approvers: u8,
}

/// A decision with the messages of its fired rules rendered, in policy order (`None` for a
/// rule without a message).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct WithMessages {
    pub decided: Decided,
    pub messages: Vec<Option<String>>,
}

/// The baseline with its per-entity facts.
#[derive(Clone, Debug)]
pub struct HandWritten {
    people: Vec<Person>,
    machines: Vec<Machine>,
}

fn is_exec(title: &str) -> bool {
    ["VP", "Chief", "SVP", "EVP"]
        .iter()
        .any(|p| title.starts_with(p))
}

/// The year-end freeze (`[start, end)` in Unix seconds).
fn in_freeze(at: i64) -> bool {
    (FREEZE.0..FREEZE.1).contains(&at)
}

impl HandWritten {
    /// Computes the per-entity facts of `estate` (see the module documentation).
    pub fn new(estate: &Estate) -> HandWritten {
        let cfo = estate.cfo;
        let people = estate
            .identities
            .iter()
            .map(|i| {
                let mut in_cfo_org = false;
                let mut up = i.manager;
                while let Some(m) = up {
                    if m == cfo {
                        in_cfo_org = true;
                        break;
                    }
                    up = estate.identities[m].manager;
                }
                let in_group = |g: &str| i.groups.iter().any(|x| x == g);
                Person {
                    id: i.id.as_str().into(),
                    name: i.name.as_str().into(),
                    finance_exec: i.department == "Finance" && is_exec(&i.title),
                    in_cfo_org,
                    privileged_admin: i.privileged && in_group("admins"),
                    automation: in_group("automation"),
                }
            })
            .collect();
        // Revenue impact: the asset's own tag, or any asset depending on it (transitively).
        // Dependents sit in earlier layers, so one pass in layer order settles each asset
        // after all of its dependents.
        let dependents = estate.dependents();
        let mut order: Vec<usize> = (0..estate.assets.len()).collect();
        order.sort_by_key(|&k| estate.assets[k].layer);
        let tagged: Vec<bool> = estate
            .assets
            .iter()
            .map(|a| a.tags.iter().any(|t| t == "revenue-critical"))
            .collect();
        // Whether something in the blast radius (not the asset itself) is revenue-critical.
        let mut below = vec![false; estate.assets.len()];
        for &k in &order {
            below[k] = dependents[k].iter().any(|&d| tagged[d] || below[d]);
        }
        let machines = estate
            .assets
            .iter()
            .enumerate()
            .map(|(k, a)| Machine {
                id: a.id.as_str().into(),
                crown_jewel: a.tier == Tier::CrownJewel,
                regulated: a
                    .tags
                    .iter()
                    .any(|t| matches!(t.as_str(), "pci" | "sox" | "hipaa")),
                revenue: tagged[k] || below[k],
            })
            .collect();
        HandWritten { people, machines }
    }

    /// The rules that fire for `r`, and their combination.
    #[inline]
    pub fn decide(&self, r: &Req) -> Decided {
        let mut fired = 0u16;
        let mut approvers = 0u8;
        let (mut deny, mut allow) = (false, false);
        match r.action {
            Action::DisableAccount => {
                let (Some(t), Some(agent)) = (
                    self.people.get(r.subject as usize),
                    self.people.get(r.agent as usize),
                ) else {
                    return Decided::denied();
                };
                if t.finance_exec {
                    fired |= rule::FINANCE_EXEC_ACCOUNTS;
                    approvers |= SECURITY_ONCALL;
                }
                if t.in_cfo_org {
                    fired |= rule::CFO_ORGANISATION;
                    approvers |= CFO_OFFICE;
                }
                if t.privileged_admin {
                    fired |= rule::PRIVILEGED_ADMINS;
                    deny = true;
                }
                if agent.automation {
                    fired |= rule::ROUTINE_DISABLE;
                    allow = true;
                }
            }
            Action::PatchHost => {
                let Some(h) = self.machines.get(r.subject as usize) else {
                    return Decided::denied();
                };
                if r.reboot && in_freeze(r.at) {
                    fired |= rule::REBOOT_IN_FREEZE;
                    deny = true;
                }
                if r.duration > 4 * 3600 {
                    fired |= rule::LONG_PATCH;
                    approvers |= CHANGE_BOARD;
                }
                if h.revenue {
                    fired |= rule::REVENUE_BLAST_RADIUS;
                    approvers |= SRE_LEADS;
                }
                if h.crown_jewel && r.at.rem_euclid(86_400) < 6 * 3600 {
                    fired |= rule::CROWN_JEWEL_AT_NIGHT;
                    deny = true;
                }
                if !h.crown_jewel {
                    fired |= rule::ROUTINE_PATCHING;
                    allow = true;
                }
            }
            Action::RotateSecret => {
                let Some(s) = self.machines.get(r.subject as usize) else {
                    return Decided::denied();
                };
                if in_freeze(r.at) && s.crown_jewel {
                    fired |= rule::ROTATE_IN_FREEZE;
                    deny = true;
                }
                if s.regulated {
                    fired |= rule::ROTATE_REGULATED;
                    approvers |= COMPLIANCE;
                }
                fired |= rule::ROUTINE_ROTATION;
                allow = true;
            }
            _ => {}
        }
        let verdict = if deny {
            Verdict::Deny
        } else if approvers != 0 {
            Verdict::RequireApproval
        } else if allow {
            Verdict::Allow
        } else {
            Verdict::Deny
        };
        Decided {
            verdict,
            fired,
            approvers: if verdict == Verdict::RequireApproval {
                approvers
            } else {
                0
            },
        }
    }

    /// [`HandWritten::decide`], then the messages of the rules that fired.
    #[inline]
    pub fn decide_with_messages(&self, r: &Req) -> WithMessages {
        let decided = self.decide(r);
        let mut messages = Vec::with_capacity(decided.fired.count_ones() as usize);
        let target = || self.people.get(r.subject as usize);
        let asset = || self.machines.get(r.subject as usize).map_or("", |m| &*m.id);
        for bit in 0..SUBSET_RULES.len() {
            let this = 1u16 << bit;
            if decided.fired & this == 0 {
                continue;
            }
            let mut text = String::new();
            let written = match this {
                rule::FINANCE_EXEC_ACCOUNTS => write!(
                    text,
                    "{} is a finance executive",
                    target().map_or("", |t| &*t.name)
                ),
                rule::CFO_ORGANISATION => write!(
                    text,
                    "{} is in the CFO's organisation",
                    target().map_or("", |t| &*t.id)
                ),
                rule::PRIVILEGED_ADMINS => write!(
                    text,
                    "{} is a privileged admin",
                    target().map_or("", |t| &*t.id)
                ),
                rule::ROUTINE_DISABLE => write!(
                    text,
                    "automation may disable accounts ({})",
                    REASONS.get(r.reason as usize).copied().unwrap_or("")
                ),
                rule::REBOOT_IN_FREEZE => {
                    write!(text, "no reboot of {} during the year-end freeze", asset())
                }
                rule::LONG_PATCH => {
                    let _ = write!(text, "patching {} takes ", asset());
                    write_duration(&mut text, r.duration)
                }
                rule::REVENUE_BLAST_RADIUS => write!(
                    text,
                    "patching {} affects revenue-critical systems",
                    asset()
                ),
                rule::CROWN_JEWEL_AT_NIGHT => write!(
                    text,
                    "{} is a crown jewel: no patching before 06:00 UTC",
                    asset()
                ),
                rule::ROTATE_IN_FREEZE => write!(
                    text,
                    "{} is a crown jewel: no rotation during the freeze",
                    asset()
                ),
                rule::ROTATE_REGULATED => write!(text, "{} holds regulated data", asset()),
                // `routine_patching` and `routine_rotation` have no message.
                _ => {
                    messages.push(None);
                    continue;
                }
            };
            let _ = written;
            messages.push(Some(text));
        }
        WithMessages { decided, messages }
    }

    /// Compares a decision of the baseline with Ward's on the same request: the decision, the
    /// approvers, the fired rules (names, in policy order) and their messages. `None` when they
    /// agree, else what differs.
    pub fn check(&self, mine: &WithMessages, ward: &ward::Decision) -> Option<String> {
        let d = &mine.decided;
        let mut problems = Vec::new();
        if d.verdict.as_str() != ward.decision.as_str() {
            problems.push(format!(
                "decision {} vs Ward's {}",
                d.verdict.as_str(),
                ward.decision.as_str()
            ));
        }
        let approvers: Vec<&str> = (0..APPROVERS.len())
            .filter(|i| d.approvers & (1 << i) != 0)
            .map(|i| APPROVERS[i])
            .collect();
        let theirs: Vec<&str> = ward.approvers().iter().collect();
        if approvers != theirs {
            problems.push(format!("approvers {approvers:?} vs Ward's {theirs:?}"));
        }
        let fired: Vec<&str> = (0..SUBSET_RULES.len())
            .filter(|i| d.fired & (1 << i) != 0)
            .map(|i| SUBSET_RULES[i].1)
            .collect();
        let ward_fired: Vec<&str> = ward.fired().iter().map(|f| f.rule()).collect();
        if fired != ward_fired {
            problems.push(format!("fired {fired:?} vs Ward's {ward_fired:?}"));
        } else {
            for ((name, mine), theirs) in fired.iter().zip(&mine.messages).zip(ward.fired().iter())
            {
                let theirs = theirs.message();
                if mine.as_deref() != theirs.as_deref() {
                    problems.push(format!(
                        "message of `{name}`: {mine:?} vs Ward's {theirs:?}"
                    ));
                }
            }
        }
        (!problems.is_empty()).then(|| problems.join("; "))
    }
}

impl Decided {
    fn denied() -> Decided {
        Decided {
            verdict: Verdict::Deny,
            fired: 0,
            approvers: 0,
        }
    }
}

/// A duration as Ward's messages write it: largest units first (`1h30m`, `45m`, `0s`).
fn write_duration(out: &mut String, secs: i64) -> std::fmt::Result {
    if secs == 0 {
        return out.write_str("0s");
    }
    if secs < 0 {
        out.push('-');
    }
    let mut rest = secs.unsigned_abs();
    for (unit, len) in [('d', 86_400u64), ('h', 3_600), ('m', 60), ('s', 1)] {
        if rest >= len {
            write!(out, "{}{unit}", rest / len)?;
            rest %= len;
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durations_render_like_ward() {
        for secs in [
            0, 59, 60, 300, 5_400, 14_400, 14_700, 36_000, 90_061, -3_600,
        ] {
            let mut out = String::new();
            write_duration(&mut out, secs).unwrap();
            assert_eq!(out, ward_ir::literal::format_duration(secs), "{secs}");
        }
    }

    /// The baseline decides like Ward (both engines) on a stream that exercises every
    /// decision, messages included; a wrong fact is caught by the check.
    #[test]
    fn agrees_with_ward_on_every_request() {
        let estate = Estate::generate(1, 21);
        let program = crate::scenario::compile(&crate::scenario::subset_files()).expect("checks");
        let hand = HandWritten::new(&estate);
        let specs: Vec<_> = crate::requests::generate(&estate, 6_000, 78)
            .into_iter()
            .filter(|r| crate::scenario::SUBSET_ACTIONS.contains(&r.action.name()))
            .take(1_500)
            .collect();
        for kind in [
            ward_runtime::engine::EngineKind::Interp,
            ward_runtime::engine::EngineKind::Jit,
        ] {
            let engine = crate::scenario::engine(program.clone(), kind).expect("engine");
            engine
                .load_entities_str(&estate.to_json())
                .expect("estate loads");
            let mut seen = [0usize; 3];
            for spec in &specs {
                let ward = engine.decide(&spec.to_json(&estate));
                let mine = hand.decide_with_messages(&Req::of(spec));
                assert_eq!(mine.decided, hand.decide(&Req::of(spec)));
                seen[mine.decided.verdict as usize] += 1;
                assert_eq!(hand.check(&mine, &ward), None, "{kind:?}: {spec:?}");
            }
            assert!(seen.iter().all(|&n| n > 50), "{seen:?}");
        }
        // A baseline that forgot the blast radius disagrees somewhere.
        let mut wrong = hand.clone();
        for m in &mut wrong.machines {
            m.revenue = false;
        }
        let engine = crate::scenario::engine(program, ward_runtime::engine::EngineKind::Interp)
            .expect("engine");
        engine.load_entities_str(&estate.to_json()).expect("loads");
        assert!(specs.iter().any(|spec| {
            let ward = engine.decide(&spec.to_json(&estate));
            wrong
                .check(&wrong.decide_with_messages(&Req::of(spec)), &ward)
                .is_some()
        }));
    }

    #[test]
    fn approver_bits_are_sorted_names() {
        let mut sorted = APPROVERS;
        sorted.sort_unstable();
        assert_eq!(sorted, APPROVERS);
    }
}
