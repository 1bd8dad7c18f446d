//! The common decision, combined without [`combine`](super::combine)'s general path: every
//! rule's conditions were evaluated without an error, and each rule that fired shows only holes
//! read directly and literal approvers (or none). What such a decision shows apart from the
//! values of those holes — its outcome, the fired rules, each one's approvers, the decision's
//! approvers, and where each message's holes go — depends only on which of the action's rules
//! fired. So it is worked out once per set of fired rules ([`Settled`]), kept in the rule table
//! ([`Settlements`], a few hundred sets per action at most), and a decision copies it and reads
//! its holes: combining does not walk the rules' effects, push approvers one rule at a time or
//! sort the union of approvers again for every request.
//!
//! The kept part is a function of the program alone (the literal approvers' numbers come from
//! the rule table, which numbers them alike in every copy), so keeping it changes nothing a
//! decision shows: `combine_settled` decides exactly as `combine` does, and the differential
//! tests compare both with the interpreter.
//!
//! This module knows the plan and the decision's compact form; it evaluates nothing.

use std::sync::{Arc, OnceLock};

use ward_ir::EffectKind;

use super::{
    Body, Decision, Entry, Message, Pieces, RuleTable, Span, approvers_of, read_direct, stronger,
};
use crate::prepared::{ActionPlan, Compiled};
use crate::request::Request;
use crate::store::Store;

/// How many settlements an action keeps at most (or one per set of fired rules, when it has
/// fewer rules than that makes sets): a decision whose set finds no room works its settlement
/// out itself. Most actions meet a few sets; a stream of requests that meets many more (up to
/// `2^n` for `n` rules) costs each decision that finds no room the work of settling, never a
/// different decision.
const SLOTS: usize = 256;

/// How many slots a set is looked for in, from the one its hash names.
const PROBES: usize = 8;

/// The settlements of one action, by set of fired rules (bit `ri` of a set for the rule at
/// position `ri` of the plan), in an open-addressed table filled on first use and kept in the
/// rule table, of which each thread's view of an engine has its own copy, so deciding threads
/// share nothing and lock nothing (the engine's own table, used when deciding re-enters
/// itself, may be shared: its slots are `OnceLock`s, set once whoever sets them): a slot is set
/// once, to its set and settlement (`None` when
/// that set cannot be settled: a fired rule's message has a hole to evaluate, or its approvers
/// are not literals, or the default decides and names approvers, so `combine` decides).
#[derive(Clone)]
pub(crate) struct Settlements {
    slots: Box<[OnceLock<Slot>]>,
    /// A slot per set (fewer than 8 rules): set `m` is in slot `m`.
    dense: bool,
}

/// A set of fired rules and its settlement (`None`: it cannot be settled).
type Slot = (u64, Option<Box<Settled>>);

impl std::fmt::Debug for Settlements {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let kept = self.slots.iter().filter(|s| s.get().is_some()).count();
        write!(f, "Settlements({kept} of {} kept)", self.slots.len())
    }
}

impl Settlements {
    /// Empty settlements for an action of `rules` rules (none kept beyond 64 rules, which a
    /// set of 64 bits cannot name).
    pub(crate) fn new(rules: usize) -> Settlements {
        let slots = match rules {
            0..8 => 1 << rules,
            8..=64 => SLOTS,
            _ => 0,
        };
        Settlements {
            slots: (0..slots).map(|_| OnceLock::new()).collect(),
            dense: rules < 8,
        }
    }

    /// The settlement kept for `set`, made by `settle` if no slot holds it yet; the outer
    /// `None` when the table has no room for it.
    #[inline]
    fn get(&self, set: u64, settle: impl Fn() -> Option<Settled>) -> Option<Option<&Settled>> {
        let make = || (set, settle().map(Box::new));
        if self.dense {
            let (_, settled) = self.slots.get(set as usize)?.get_or_init(make);
            return Some(settled.as_deref());
        }
        let mask = self.slots.len().checked_sub(1)?;
        // Fibonacci hashing: the high bits of the product spread sets that differ in low bits.
        let mut i = (set.wrapping_mul(0x9E37_79B9_7F4A_7C15) >> 40) as usize & mask;
        for _ in 0..PROBES.min(self.slots.len()) {
            let (kept, settled) = self.slots.get(i)?.get_or_init(make);
            if *kept == set {
                return Some(settled.as_deref());
            }
            i = (i + 1) & mask;
        }
        None
    }
}

/// What a decision shows when a given set of its action's rules fired, without an error, but
/// for the values of the messages' holes.
#[derive(Clone)]
struct Settled {
    decision: EffectKind,
    /// The fired rules (each message's holes a stretch of the pieces, counted from the first),
    /// their approvers and the decision's; no pieces and no table.
    body: Body,
    /// The positions in the plan of the fired rules whose messages have holes, in plan order:
    /// their holes, read in this order, are the decision's pieces.
    holes: smallvec::SmallVec<[u32; 4]>,
}

/// Works out what a decision shows when the rules at the positions `fired` says fired, or
/// `None` when that cannot be settled without evaluating something.
fn settle(
    compiled: &Compiled,
    plan: &ActionPlan,
    table: &Arc<RuleTable>,
    fired: impl Fn(usize) -> bool,
) -> Option<Settled> {
    let mut settled = Settled {
        decision: EffectKind::Deny,
        body: Body::default(),
        holes: smallvec::SmallVec::new(),
    };
    let body = &mut settled.body;
    let mut pieces = 0usize;
    let mut strongest: Option<EffectKind> = None;
    for (ri, planned) in plan.rules.iter().enumerate() {
        if !fired(ri) {
            continue;
        }
        let Some(text) = table.rules.get(planned.rule) else {
            continue;
        };
        let message = match (planned.has_message, &planned.direct) {
            (false, _) => Message::None,
            (true, None) => return None,
            (true, Some(holes)) => {
                let start = pieces;
                pieces += holes.len();
                if !holes.is_empty() {
                    settled.holes.push(u32::try_from(ri).ok()?);
                }
                Message::Holes(Span::new(start, pieces))
            }
        };
        let kind = planned.kind;
        strongest = Some(strongest.map_or(kind, |s| stronger(s, kind)));
        let approvers = match kind {
            EffectKind::RequireApproval => {
                Some(body.push_literal_names(text.literal_approvers.as_deref()?))
            }
            _ => None,
        };
        body.fired.push(Entry {
            rule: u32::try_from(planned.rule).unwrap_or(u32::MAX),
            message,
            approvers,
        });
    }
    let default_start = body.names.len();
    let decision = match strongest {
        Some(kind) => kind,
        None => {
            let default = &compiled.program.default;
            if default.kind == EffectKind::RequireApproval && default.approvers.is_some() {
                return None;
            }
            default.kind
        }
    };
    approvers_of(body, table, decision, default_start);
    // The decision that copies this shows it through its own table.
    body.table = None;
    settled.decision = decision;
    Some(settled)
}

/// [`combine`](super::combine) without an explanation, for an engine that has evaluated every
/// rule's conditions before combining (the JIT), when nothing is left that could fail:
/// `fired(ri)` says whether the rule at position `ri` fired (`Some(true)`) or not
/// (`Some(false)`), without an error (`None` for an error); each rule that fired has no message
/// or a message whose holes all read directly ([`crate::prepared::PlannedRule::direct`]), and
/// literal approvers or none; and the default, when it decides, names no approvers to evaluate.
/// Nothing is evaluated, so nothing is spent of the budget. Returns `false` when that is not
/// so: `out` is then left for `combine` (which empties it first). When it returns `true`, `out`
/// is what `combine` decides.
#[inline]
pub(crate) fn combine_settled(
    compiled: &Compiled,
    table: &Arc<RuleTable>,
    store: &Store,
    request: &Request,
    fired: impl Fn(usize) -> Option<bool>,
    out: &mut Decision,
) -> bool {
    let Some(plan) = compiled.actions.get(request.action.index()) else {
        return false;
    };
    let mut set = 0u64;
    for ri in 0..plan.rules.len() {
        match fired(ri) {
            Some(true) => set |= 1u64.checked_shl(ri as u32).unwrap_or(0),
            Some(false) => {}
            None => return false,
        }
    }
    let kept = match table.settlements.get(request.action.index()) {
        Some(settlements) if plan.rules.len() <= 64 => settlements.get(set, || {
            settle(compiled, plan, table, |ri| set >> ri & 1 == 1)
        }),
        _ => None,
    };
    match kept {
        Some(Some(settled)) => apply(settled, compiled, plan, table, store, request, out),
        Some(None) => false,
        None => match settle(compiled, plan, table, |ri| fired(ri) == Some(true)) {
            Some(settled) => apply(&settled, compiled, plan, table, store, request, out),
            None => false,
        },
    }
}

/// Makes `out` the decision `settled` describes, with the holes of its messages read from
/// `request` (and `store`). `false`, with `out` left for `combine`, when a hole does not read
/// directly after all (its field is absent, or not an entity the store holds).
#[inline]
fn apply(
    settled: &Settled,
    compiled: &Compiled,
    plan: &ActionPlan,
    table: &Arc<RuleTable>,
    store: &Store,
    request: &Request,
    out: &mut Decision,
) -> bool {
    out.request_id.clone_from(&request.id);
    out.errors.clear();
    let body = &mut out.body;
    if !body.pieces.is_empty() {
        body.pieces.clear();
    }
    for &ri in &settled.holes {
        let Some(holes) = plan
            .rules
            .get(ri as usize)
            .and_then(|p| p.direct.as_deref())
        else {
            return false;
        };
        let mut pieces = Pieces {
            body: &mut *body,
            store,
            schema: &compiled.program.schema,
        };
        for hole in holes {
            let Some(value) = read_direct(hole, request, store) else {
                return false;
            };
            pieces.hole(value, &hole.ty);
        }
    }
    copy_into(&mut body.fired, &settled.body.fired);
    copy_into(&mut body.names, &settled.body.names);
    body.approvers = settled.body.approvers;
    body.show_with(table);
    out.decision = settled.decision;
    true
}

/// Makes `dst` a copy of `src`. Pushed one by one: they hold a few items, and
/// `extend_from_slice` costs a `memmove` call and its checks.
#[inline]
fn copy_into<A: smallvec::Array>(dst: &mut smallvec::SmallVec<A>, src: &[A::Item])
where
    A::Item: Copy,
{
    dst.clear();
    for &x in src {
        dst.push(x);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Past its room the table answers "no room" (the decision settles its own), and what it
    /// kept it finds again without settling it again; an action of few rules has a slot per set.
    #[test]
    fn the_table_keeps_what_fits_and_finds_it_again() {
        let table = Settlements::new(20);
        let kept: Vec<u64> = (0..4096u64)
            .filter(|&set| table.get(set, || None).is_some())
            .collect();
        assert!(
            kept.len() <= SLOTS && kept.len() > SLOTS / 2,
            "{}",
            kept.len()
        );
        for &set in &kept {
            let found = table.get(set, || -> Option<Settled> { panic!("{set} settled again") });
            assert!(matches!(found, Some(None)), "{set}");
        }
        let small = Settlements::new(3);
        assert!((0..8).all(|set| small.get(set, || None).is_some()));
        assert!(Settlements::new(65).get(0, || None).is_none());
    }
}
