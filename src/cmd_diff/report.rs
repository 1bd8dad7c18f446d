//! What `ward diff` keeps while it replays — counts per group of changed decisions and the
//! first few examples of each, so that memory does not grow with the input — and how it is
//! printed, for people and as JSON.
//!
//! A group is a transition (`allow→deny`, …) and the rules responsible: those that fired in
//! one version and not in the other (a rule is its name and effect, so a rule whose effect
//! changed counts on both sides), and whether one version rejected the request outright.

use std::collections::{BTreeSet, HashMap};
use std::fmt::Write as _;
use std::sync::Arc;

use serde_json::{Value, json};
use ward::{Decision, EffectKind};

use crate::{paint, plural};

/// How many bad lines and requests invalid in both versions are listed (all are counted).
const LISTED: usize = 100;
/// How many kinds of skipped log lines are named.
const KINDS_NAMED: usize = 8;
/// Requests longer than this, in characters, are cut in the human report.
const SHOWN_CHARS: usize = 240;

/// The two versions, for the report's header.
#[derive(Debug)]
pub(super) struct Versions {
    pub old: Value,
    pub new: Value,
}

#[derive(Debug, Default)]
pub(super) struct Report {
    examples: usize,
    /// Requests replayed (lines decided by both versions).
    pub requests: u64,
    pub changed: u64,
    unchanged: u64,
    /// Requests that neither version accepts (both deny them as invalid).
    invalid_in_both: u64,
    invalid_listed: Vec<(usize, String)>,
    /// Log lines of another kind than `decision`.
    skipped: u64,
    skipped_kinds: BTreeSet<String>,
    /// Lines that could not be replayed.
    pub bad: u64,
    bad_listed: Vec<(usize, String)>,
    /// Requests that newly get each outcome: allow, deny, require_approval.
    newly: [u64; 3],
    groups: HashMap<GroupKey, Group>,
}

/// Which version rejected a request outright (a request-level error: it does not validate).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
enum Side {
    Old,
    New,
}

#[derive(Clone, Debug, PartialEq, Eq, Hash)]
struct GroupKey {
    from: EffectKind,
    to: EffectKind,
    only_old: Vec<(Arc<str>, EffectKind)>,
    only_new: Vec<(Arc<str>, EffectKind)>,
    rejected_by: Option<Side>,
}

#[derive(Debug, Default)]
struct Group {
    count: u64,
    examples: Vec<Example>,
}

#[derive(Debug)]
struct Example {
    line: usize,
    request: Value,
    old: Decision,
    new: Decision,
}

/// A transition `(from, to)`, how many requests made it, and its groups.
type Transition<'r> = (
    (EffectKind, EffectKind),
    u64,
    Vec<(&'r GroupKey, &'r Group)>,
);

/// The outcomes in the order they are counted in [`Report::newly`].
const OUTCOMES: [EffectKind; 3] = [
    EffectKind::Allow,
    EffectKind::Deny,
    EffectKind::RequireApproval,
];

fn outcome_index(kind: EffectKind) -> usize {
    OUTCOMES.iter().position(|&k| k == kind).unwrap_or(0)
}

impl Report {
    pub(super) fn new(examples: usize) -> Report {
        Report {
            examples,
            ..Report::default()
        }
    }

    /// A line that could not be replayed.
    pub(super) fn bad_line(&mut self, line: usize, why: String) {
        self.bad += 1;
        if self.bad_listed.len() < LISTED {
            self.bad_listed.push((line, why));
        }
    }

    /// A log line of another kind than `decision`.
    pub(super) fn skipped(&mut self, kind: &str) {
        self.skipped += 1;
        if self.skipped_kinds.len() < KINDS_NAMED {
            self.skipped_kinds.insert(kind.to_owned());
        }
    }

    /// `n` requests whose decision did not change ([`unchanged`]).
    pub(super) fn unchanged(&mut self, n: u64) {
        self.requests += n;
        self.unchanged += n;
    }

    /// One request and its decision in each version.
    pub(super) fn record(&mut self, line: usize, request: &Value, old: Decision, new: Decision) {
        if unchanged(&old, &new) {
            self.unchanged(1);
            return;
        }
        self.requests += 1;
        let (old_rejected, new_rejected) = (rejected(&old), rejected(&new));
        if old_rejected && new_rejected {
            self.invalid_in_both += 1;
            if self.invalid_listed.len() < LISTED {
                let why = new.errors.first().map(|e| e.message.clone());
                self.invalid_listed.push((line, why.unwrap_or_default()));
            }
            return;
        }
        self.changed += 1;
        if old.decision != new.decision
            && let Some(n) = self.newly.get_mut(outcome_index(new.decision))
        {
            *n += 1;
        }
        let fired = |d: &Decision| -> Vec<(Arc<str>, EffectKind)> {
            d.fired()
                .iter()
                .map(|f| (Arc::from(f.rule()), f.effect()))
                .collect()
        };
        let (in_old, in_new) = (fired(&old), fired(&new));
        let only = |a: &[(Arc<str>, EffectKind)], b: &[(Arc<str>, EffectKind)]| {
            let mut only: Vec<_> = a.iter().filter(|x| !b.contains(x)).cloned().collect();
            only.sort();
            only.dedup();
            only
        };
        let key = GroupKey {
            from: old.decision,
            to: new.decision,
            only_old: only(&in_old, &in_new),
            only_new: only(&in_new, &in_old),
            rejected_by: match (old_rejected, new_rejected) {
                (true, _) => Some(Side::Old),
                (_, true) => Some(Side::New),
                _ => None,
            },
        };
        let group = self.groups.entry(key).or_default();
        group.count += 1;
        if group.examples.len() < self.examples {
            group.examples.push(Example {
                line,
                request: request.clone(),
                old,
                new,
            });
        }
    }

    /// How many requests newly get `outcome`.
    pub(super) fn newly(&self, outcome: EffectKind) -> u64 {
        self.newly.get(outcome_index(outcome)).copied().unwrap_or(0)
    }

    /// Transitions, most consequential first (newly allowed, then newly sent for approval,
    /// then newly denied, then changes of approvers), each with its groups, largest first.
    fn transitions(&self) -> Vec<Transition<'_>> {
        let rank = |kind: EffectKind| match kind {
            EffectKind::Allow => 0,
            EffectKind::RequireApproval => 1,
            EffectKind::Deny => 2,
        };
        let mut by_transition: HashMap<(EffectKind, EffectKind), Vec<(&GroupKey, &Group)>> =
            HashMap::new();
        for (key, group) in &self.groups {
            by_transition
                .entry((key.from, key.to))
                .or_default()
                .push((key, group));
        }
        let mut transitions: Vec<_> = by_transition
            .into_iter()
            .map(|(transition, mut groups)| {
                groups.sort_by(|(ka, a), (kb, b)| {
                    b.count
                        .cmp(&a.count)
                        .then_with(|| first_line(a).cmp(&first_line(b)))
                        .then_with(|| ka.only_new.cmp(&kb.only_new))
                        .then_with(|| ka.only_old.cmp(&kb.only_old))
                });
                let count = groups.iter().map(|(_, g)| g.count).sum();
                (transition, count, groups)
            })
            .collect();
        transitions.sort_by_key(|((from, to), _, _)| (from == to, rank(*to), rank(*from)));
        transitions
    }

    /// The report for people.
    pub(super) fn human(&self, versions: &Versions, color: bool) -> String {
        let mut out = String::new();
        let name = |v: &Value| {
            let source = v["source"].as_str().unwrap_or("?");
            match v["commit"].as_str() {
                Some(commit) => format!("{source} ({})", commit.get(..12).unwrap_or(commit)),
                None => source.to_owned(),
            }
        };
        let _ = writeln!(out, "old: {}", name(&versions.old));
        let _ = writeln!(out, "new: {}", name(&versions.new));
        let invalid = if self.invalid_in_both > 0 {
            format!(", {} invalid in both versions", self.invalid_in_both)
        } else {
            String::new()
        };
        let _ = writeln!(
            out,
            "replayed {}: {} changed, {} unchanged{invalid}",
            plural(self.requests as usize, "request"),
            self.changed,
            self.unchanged
        );
        for ((from, to), count, groups) in self.transitions() {
            let _ = writeln!(
                out,
                "\n{}: {}",
                paint(color, "1", &transition_name(from, to)),
                plural(count as usize, "request")
            );
            for (key, group) in groups {
                let _ = writeln!(
                    out,
                    "  {}: {}",
                    plural(group.count as usize, "request"),
                    responsible(key, color)
                );
                for example in &group.examples {
                    let _ = writeln!(
                        out,
                        "    line {}: {}",
                        example.line,
                        shorten(&example.request.to_string())
                    );
                    if example.new.decision == EffectKind::RequireApproval {
                        let approvers = |d: &Decision| d.approvers().join(", ");
                        let _ = if example.old.decision == EffectKind::RequireApproval {
                            writeln!(
                                out,
                                "      approvers: {} → {}",
                                approvers(&example.old),
                                approvers(&example.new)
                            )
                        } else {
                            writeln!(out, "      approvers: {}", approvers(&example.new))
                        };
                    }
                    if let Some(side) = key.rejected_by {
                        let decision = match side {
                            Side::Old => &example.old,
                            Side::New => &example.new,
                        };
                        if let Some(error) = decision.errors.iter().find(|e| e.rule.is_none()) {
                            let _ = writeln!(out, "      {}", error.message);
                        }
                    }
                }
            }
        }
        if self.invalid_in_both > 0 {
            let _ = writeln!(
                out,
                "\n{} invalid in both versions (denied by both, not counted as changed):",
                super::requests(self.invalid_in_both)
            );
            for (line, why) in self.invalid_listed.iter().take(self.examples.max(1)) {
                let _ = writeln!(out, "  line {line}: {why}");
            }
        }
        if self.skipped > 0 {
            let kinds: Vec<String> = self
                .skipped_kinds
                .iter()
                .map(|k| format!("`{k}`"))
                .collect();
            let _ = writeln!(
                out,
                "\nskipped {} of the decision log that are not decisions ({})",
                plural(self.skipped as usize, "line"),
                kinds.join(", ")
            );
        }
        if self.bad > 0 {
            let _ = writeln!(
                out,
                "\n{} could not be replayed (listed on stderr)",
                plural(self.bad as usize, "line")
            );
        }
        out
    }

    /// The report for machines.
    pub(super) fn json(&self, versions: &Versions, fail_on: &[String], failed: bool) -> Value {
        let transitions: Vec<Value> = self
            .transitions()
            .into_iter()
            .map(|((from, to), count, groups)| {
                let groups: Vec<Value> = groups
                    .into_iter()
                    .map(|(key, group)| {
                        let rules = |rules: &[(Arc<str>, EffectKind)]| -> Vec<Value> {
                            rules
                                .iter()
                                .map(|(rule, effect)| json!({"rule": &**rule, "effect": effect}))
                                .collect()
                        };
                        json!({
                            "count": group.count,
                            "fired_only_in_old": rules(&key.only_old),
                            "fired_only_in_new": rules(&key.only_new),
                            "rejected_by": key.rejected_by.map(|s| match s {
                                Side::Old => "old",
                                Side::New => "new",
                            }),
                            "examples": group.examples.iter().map(|e| json!({
                                "line": e.line,
                                "request": e.request,
                                "old": e.old,
                                "new": e.new,
                            })).collect::<Vec<_>>(),
                        })
                    })
                    .collect();
                json!({
                    "transition": transition_name(from, to),
                    "from": from,
                    "to": to,
                    "count": count,
                    "groups": groups,
                })
            })
            .collect();
        let listed = |items: &[(usize, String)]| -> Vec<Value> {
            items
                .iter()
                .map(|(line, why)| json!({"line": line, "error": why}))
                .collect()
        };
        json!({
            "old": versions.old,
            "new": versions.new,
            "requests": self.requests,
            "changed": self.changed,
            "unchanged": self.unchanged,
            "invalid_in_both": self.invalid_in_both,
            "invalid_in_both_listed": listed(&self.invalid_listed),
            "skipped": self.skipped,
            "bad_lines": self.bad,
            "bad_lines_listed": listed(&self.bad_listed),
            "newly": {
                "allow": self.newly(EffectKind::Allow),
                "deny": self.newly(EffectKind::Deny),
                "require_approval": self.newly(EffectKind::RequireApproval),
            },
            "transitions": transitions,
            "fail_on": fail_on,
            "failed": failed,
        })
    }
}

/// Whether a request kept its decision: both versions accept it, with the same outcome and,
/// for `require_approval`, the same approvers. (A request both reject is counted apart.)
pub(super) fn unchanged(old: &Decision, new: &Decision) -> bool {
    old.decision == new.decision
        && (old.decision != EffectKind::RequireApproval || old.approvers() == new.approvers())
        && !(rejected(old) && rejected(new))
}

fn first_line(group: &Group) -> usize {
    group.examples.first().map_or(usize::MAX, |e| e.line)
}

/// Whether a decision carries a request-level error (`rule: null`): the request was rejected.
fn rejected(decision: &Decision) -> bool {
    decision.errors.iter().any(|e| e.rule.is_none())
}

fn transition_name(from: EffectKind, to: EffectKind) -> String {
    if from == to {
        format!("{} (other approvers)", from.as_str())
    } else {
        format!("{}→{}", from.as_str(), to.as_str())
    }
}

/// The rules responsible for a group, for people.
fn responsible(key: &GroupKey, color: bool) -> String {
    let list = |rules: &[(Arc<str>, EffectKind)]| -> String {
        rules
            .iter()
            .map(|(rule, effect)| format!("`{rule}` ({})", effect.as_str()))
            .collect::<Vec<_>>()
            .join(", ")
    };
    let mut parts = Vec::new();
    match key.rejected_by {
        Some(Side::Old) => parts.push("rejected as invalid by old".to_owned()),
        Some(Side::New) => parts.push("rejected as invalid by new".to_owned()),
        None => {}
    }
    if !key.only_new.is_empty() {
        parts.push(format!(
            "{} {}",
            paint(color, "32", "fired only in new"),
            list(&key.only_new)
        ));
    }
    if !key.only_old.is_empty() {
        parts.push(format!(
            "{} {}",
            paint(color, "31", "fired only in old"),
            list(&key.only_old)
        ));
    }
    if parts.is_empty() {
        parts.push("(the same rules fired: the default or the approvers changed)".to_owned());
    }
    parts.join("; ")
}

/// A request on one line, cut after [`SHOWN_CHARS`] characters.
fn shorten(text: &str) -> String {
    match text.char_indices().nth(SHOWN_CHARS) {
        Some((at, _)) => format!("{}…", text.get(..at).unwrap_or(text)),
        None => text.to_owned(),
    }
}
