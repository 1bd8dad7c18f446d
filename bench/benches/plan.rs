//! `ward plan` on the benchmark scenario: a backlog of 10,000 requests drawn by the scenario's
//! request generator (December 2026, every action, the year-end freeze, windows in three
//! zones, `hour` and `weekday`) against the N = 1 estate, each planned over a 14-day horizon.
//!
//! `cargo bench -p ward-bench --bench plan` (add `-- --quick` for 1,000 requests). Prints the
//! time to plan the whole backlog on one thread (JSON text in, plans out: strict parsing,
//! validation, the walk and every engine decision), the same with one planner per core as
//! `ward plan` does, how many decisions the engine made, and what brute force (one decision
//! per second of the horizon) would have cost at the measured speed of a decision.

use std::time::{Duration, Instant};

use ward_bench::estate::Estate;
use ward_bench::{requests, scenario};
use ward_runtime::engine::{Engine, EngineKind};
use ward_runtime::plan::{Plan, PlanOptions, PlanStats, Planner};

const ESTATE_SEED: u64 = 0x5EED_0001;
const REQUEST_SEED: u64 = 0x5EED_0002;
const HORIZON: i64 = 14 * 86_400;

fn main() {
    let quick = std::env::args().any(|a| a == "--quick");
    let n = if quick { 1_000 } else { 10_000 };
    let program = scenario::compile(&scenario::files()).unwrap_or_else(|e| panic!("{e}"));
    let estate = Estate::generate(1, ESTATE_SEED);
    let specs = requests::generate(&estate, n, REQUEST_SEED);
    let backlog: Vec<String> = specs
        .iter()
        .map(|r| r.to_json(&estate).to_string())
        .collect();
    let entities = estate.to_json();
    let options = PlanOptions::with_horizon(HORIZON).unwrap_or_else(|e| panic!("{e}"));
    println!("# `ward plan` on the benchmark scenario\n");
    println!(
        "{n} requests, horizon 14 days, estate N = 1 ({} identities, {} assets), {} rules\n",
        estate.identities.len(),
        estate.assets.len(),
        program.rules.len()
    );
    let mut reference: Option<Vec<Plan>> = None;
    for kind in [EngineKind::Jit, EngineKind::Interp] {
        let engine = scenario::engine(program.clone(), kind).unwrap_or_else(|e| panic!("{e}"));
        engine
            .load_entities_str(&entities)
            .unwrap_or_else(|e| panic!("the estate does not load: {e}"));
        let (elapsed, plans, stats) = plan_all(&engine, &backlog, options);
        let threads = std::thread::available_parallelism().map_or(1, |n| n.get());
        let parallel = plan_parallel(&engine, &backlog, options, threads);
        let per_decision = decide_speed(&engine, &backlog);
        let brute = per_decision.as_secs_f64() * HORIZON as f64 * n as f64;
        println!("## {} engine\n", kind.as_str());
        println!("| measure | value |\n|---|---|");
        println!(
            "| plan {n} requests, 1 thread | **{:.2} s** ({:.0} µs per request) |",
            elapsed.as_secs_f64(),
            elapsed.as_secs_f64() * 1e6 / n as f64
        );
        println!(
            "| plan {n} requests, {threads} threads | {:.2} s |",
            parallel.as_secs_f64()
        );
        println!(
            "| engine decisions | {} ({:.1} per request) |",
            stats.decisions,
            stats.decisions as f64 / n as f64
        );
        println!(
            "| rule outcomes walked | {} ({:.1} per request) |",
            stats.walks,
            stats.walks as f64 / n as f64
        );
        println!(
            "| plans that fell back to every second | {} |",
            stats.exhaustive
        );
        println!(
            "| one decision | {:.2} µs |",
            per_decision.as_secs_f64() * 1e6
        );
        println!(
            "| brute force (a decision per second of the horizon) | ~{:.0} h, {:.0}x slower |\n",
            brute / 3_600.0,
            brute / elapsed.as_secs_f64()
        );
        summary(&plans);
        assert_eq!(stats.exhaustive, 0, "a plan fell back to every second");
        match &reference {
            None => reference = Some(plans),
            Some(want) => assert!(
                *want == plans,
                "the interpreter's plans differ from the JIT's"
            ),
        }
        if quick {
            break;
        }
    }
    if !quick {
        println!("The JIT's and the interpreter's plans are identical.");
    }
}

fn plan_all(
    engine: &Engine,
    backlog: &[String],
    options: PlanOptions,
) -> (Duration, Vec<Plan>, PlanStats) {
    let start = Instant::now();
    let mut planner = Planner::new(engine, options).unwrap_or_else(|e| panic!("{e}"));
    let plans: Vec<Plan> = backlog
        .iter()
        .map(|line| {
            planner
                .plan_str(line)
                .unwrap_or_else(|e| panic!("{e}: {line}"))
        })
        .collect();
    (start.elapsed(), plans, planner.stats())
}

/// One planner per thread over consecutive slices, as `ward plan` does.
fn plan_parallel(
    engine: &Engine,
    backlog: &[String],
    options: PlanOptions,
    threads: usize,
) -> Duration {
    let start = Instant::now();
    let size = backlog.len().div_ceil(threads.max(1)).max(1);
    std::thread::scope(|s| {
        for slice in backlog.chunks(size) {
            s.spawn(move || {
                let mut planner = Planner::new(engine, options).unwrap_or_else(|e| panic!("{e}"));
                for line in slice {
                    let _ = planner.plan_str(line);
                }
            });
        }
    });
    start.elapsed()
}

/// The average time of one decision on the backlog's requests, at their own times.
fn decide_speed(engine: &Engine, backlog: &[String]) -> Duration {
    let requests: Vec<_> = backlog
        .iter()
        .filter_map(|l| {
            let doc = ward_runtime::json::parse_strict(l).ok()?;
            engine.parse_request(&doc).ok()
        })
        .collect();
    let store = engine.store();
    let rounds = 20;
    let start = Instant::now();
    for _ in 0..rounds {
        for r in &requests {
            std::hint::black_box(engine.decide_request_with(&store, r));
        }
    }
    start.elapsed() / (rounds * requests.len().max(1)) as u32
}

fn summary(plans: &[Plan]) {
    let now = plans.iter().filter(|p| p.allow_at == Some(p.at)).count();
    let later = plans
        .iter()
        .filter(|p| p.allow_at.is_some_and(|t| t > p.at))
        .count();
    let never = plans.iter().filter(|p| p.allow_at.is_none()).count();
    let sooner = plans
        .iter()
        .filter(|p| {
            p.approval_at
                .is_some_and(|a| p.allow_at.is_none_or(|t| a < t))
        })
        .count();
    println!(
        "Plans: {now} can run now, {later} later, {never} not within 14 days; {sooner} sooner with an approval.\n"
    );
}
