//! Runs one generated case on both engines and compares the whole decisions (decision, fired
//! rules with their messages and approvers, approvers, errors) and the explanations, with the
//! default evaluation budget and with budgets so small that decisions run out of steps at
//! every point where work is charged (the engines must run out at the same point).

use std::fmt::Display;

use ward_runtime::budget::Budget;
use ward_runtime::decision::Decision;
use ward_runtime::engine::{Engine, EngineConfig, EngineKind};

/// The small budgets every case is also decided with.
const SMALL_BUDGETS: [u64; 4] = [0, 1, 4, 25];

/// Compares the engines on `case`: the number of requests compared, or what differed.
pub fn run_case(label: impl Display, case: &super::generate::Case) -> Result<usize, String> {
    if let Err(errors) = ward_ir::verify(&case.program) {
        let all: Vec<String> = errors.iter().map(ToString::to_string).collect();
        return Err(format!(
            "{label}: the generated program does not verify:\n{}",
            all.join("\n")
        ));
    }
    let build = |kind| {
        Engine::with_config(case.program.clone(), EngineConfig { engine: kind })
            .map_err(|e| format!("{label}: {} engine: {e}", kind.as_str()))
    };
    let interp = build(EngineKind::Interp)?;
    let jit = build(EngineKind::Jit)?;
    for engine in [&interp, &jit] {
        engine
            .load_entities_json(&case.entities)
            .map_err(|e| format!("{label}: the generated estate does not load: {e}"))?;
    }
    compare(&label, case, &interp, &jit, "the default budget")?;
    // The JIT again with every per-entity memo computed before the first decision
    // (`Engine::precompute`): decisions then read what they would otherwise compute.
    let precomputed = |engine: &Engine, budget: Budget| {
        let fresh = engine.with_shared_store(engine.store()).with_budget(budget);
        let done = fresh.precompute();
        (fresh, done)
    };
    let (ahead, done) = precomputed(&jit, Budget::default());
    if done.stopped || done.computed + done.known + done.failed == 0 && done.memos > 0 {
        return Err(format!("{label}: precomputing did not run: {done:?}"));
    }
    compare(
        &label,
        case,
        &interp,
        &ahead,
        "the default budget, precomputed",
    )?;
    for steps in SMALL_BUDGETS {
        let budget = Budget { steps };
        let small = |engine: &Engine| engine.with_shared_store(engine.store()).with_budget(budget);
        let interp = small(&interp);
        compare(
            &label,
            case,
            &interp,
            &small(&jit),
            &format!("a budget of {steps} steps"),
        )?;
        compare(
            &label,
            case,
            &interp,
            &precomputed(&jit, budget).0,
            &format!("a budget of {steps} steps, precomputed"),
        )?;
    }
    Ok(case.requests.len())
}

/// Decides and explains every request of `case` on both engines.
fn compare(
    label: &impl Display,
    case: &super::generate::Case,
    interp: &Engine,
    jit: &Engine,
    budget: &str,
) -> Result<(), String> {
    // One decision per engine, decided into again and again: what an earlier request left in
    // it must never show in a later one.
    let mut reused = [
        Decision::rejected("left over"),
        Decision::rejected("left over"),
    ];
    for request in &case.requests {
        let (a, ea) = interp.explain(request);
        let (b, eb) = jit.explain(request);
        if a != b || ea != eb {
            return Err(format!(
                "{label}: the engines disagree on {request} with {budget}\ninterp: {}\njit:    {}\nprogram:\n{}",
                serde_json::to_string(&a).unwrap_or_default(),
                serde_json::to_string(&b).unwrap_or_default(),
                ward_ir::print(&case.program)
            ));
        }
        if jit.decide(request) != b || interp.decide(request) != a {
            return Err(format!(
                "{label}: `decide` and `explain` disagree on {request} with {budget}"
            ));
        }
        for ((engine, expected), out) in [(interp, &a), (jit, &b)].into_iter().zip(&mut reused) {
            let Ok(parsed) = engine.parse_request(request) else {
                continue;
            };
            engine.decide_request_into(&parsed, out);
            let json = |d: &Decision| serde_json::to_string(d).unwrap_or_default();
            if *out != *expected || json(out) != json(expected) {
                return Err(format!(
                    "{label}: a decision decided into again differs on {request} with {budget}\nreused: {}\nfresh:  {}",
                    json(out),
                    json(expected)
                ));
            }
        }
    }
    Ok(())
}
