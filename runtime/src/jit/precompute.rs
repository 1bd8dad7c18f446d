//! Precomputing a snapshot's memos: for every entity of the estate, each value the compiled
//! code memoizes per entity (a sub-expression that depends on one entity and the estate only,
//! such as `any a in closure(host, ~depends_on): …` or `count(closure(x, r))`), computed by the
//! same native miss function a decision calls the first time it needs the value, and stored
//! with the steps it cost. Decisions then read every such value instead of computing it, as a
//! hand-written guardrail would read facts it precomputed at load.
//!
//! Nothing changes meaning: a memoized value is charged what computing it costs (see
//! [`crate::budget`]), whoever computed it, so a decision's outcome, messages, errors and
//! whether it runs out of steps are the same before, during and after precomputing. Each
//! value is computed with a budget of its own, the engine's per-decision budget: a value that
//! needs more than a whole decision may spend fails here as it would in every decision, and is
//! not stored (decisions then compute it and fail the same way). The tables are the ones
//! deciding threads read and fill (atomic entries, first value wins), so precomputing can run on
//! its own thread while others decide.
//!
//! This module knows the memo tables and the miss functions, not the engine that calls it.

use std::time::{Duration, Instant};

use super::rt::{Ctx, SnapshotTables};
use super::{Code, Scratch};
use crate::budget::Budget;
use crate::prepared::Compiled;
use crate::request::Request;
use crate::store::Store;

/// What [`crate::engine::Engine::precompute`] did.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Precomputed {
    /// How many memoized expressions the program has per entity.
    pub memos: usize,
    /// How many values were computed and stored.
    pub computed: u64,
    /// How many were already known (decisions had computed them).
    pub known: u64,
    /// How many failed (an evaluation error, such as running out of steps): decisions compute
    /// these themselves, and fail the same way.
    pub failed: u64,
    /// Whether precomputing stopped before the end because the snapshot was replaced.
    pub stopped: bool,
    pub elapsed: Duration,
}

/// How many entities are precomputed between two looks at `stop` (each value is bounded by a
/// decision's budget, so a replaced snapshot is let go within a few of those).
const STOP_EVERY: usize = 16;

/// Computes every memo of `code` for every entity of `store` into `memos` (the snapshot's
/// tables; `literals` are its resolved entity literals), each with `budget`, until `stop` says
/// so.
pub(crate) fn precompute(
    compiled: &Compiled,
    code: &Code,
    literals: &[i64],
    memos: &SnapshotTables,
    store: &Store,
    budget: Budget,
    stop: &dyn Fn() -> bool,
) -> Precomputed {
    let started = Instant::now();
    let mut done = Precomputed {
        memos: code.misses.len(),
        ..Precomputed::default()
    };
    if !memos.fits(&code.tables) || literals.len() != code.tables.literals.len() {
        done.elapsed = started.elapsed();
        return done;
    }
    // Miss functions read no request: they depend on one entity and the estate only. The
    // context still gets a request and zeroed buffers of a decision's sizes, so that nothing it
    // points to is null.
    let program = &compiled.program;
    let request = Request {
        action: ward_ir::ActionId(0),
        at: 0,
        args: Vec::new(),
        context: Vec::new(),
        id: None,
    };
    let n_context = program.schema.context.len();
    let widest = program
        .schema
        .actions
        .iter()
        .map(|a| a.fields.len())
        .max()
        .unwrap_or(0);
    let most_rules = compiled
        .actions
        .iter()
        .map(|p| p.rules.len())
        .max()
        .unwrap_or(0);
    let slots = vec![0i64; 2 * (n_context + widest)];
    let mut outcomes = vec![0i64; most_rules];
    let mut request_memos = vec![0i64; 3 * code.tables.request_memos];
    let mut scratch = Scratch::new();
    for &(m, miss) in &code.misses {
        let Some(spec) = code.tables.memos.get(m) else {
            continue;
        };
        let n = memos.entities(m).min(store.entity_count(spec.ty));
        for idx in 0..n {
            if idx % STOP_EVERY == 0 && stop() {
                done.stopped = true;
                done.elapsed = started.elapsed();
                return done;
            }
            if memos.known(m, idx) {
                done.known += 1;
                continue;
            }
            let Ok(native) = i64::try_from(idx) else {
                break;
            };
            request_memos.fill(0);
            let mut ctx = Ctx::new(
                compiled,
                &code.tables,
                store,
                &request,
                literals,
                n_context,
                budget,
                &mut scratch,
            );
            ctx.set_memos(memos);
            ctx.slots = slots.as_ptr();
            ctx.outcomes = outcomes.as_mut_ptr();
            ctx.request_memos = request_memos.as_mut_ptr();
            Code::run_miss(&mut ctx, miss, native);
            if ctx.err != 0 {
                done.failed += 1;
            } else {
                done.computed += 1;
            }
        }
    }
    done.elapsed = started.elapsed();
    done
}
