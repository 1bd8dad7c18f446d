//! Differential testing: random well-typed programs, estates and requests (the generator of
//! `fuzz/src/generate.rs`) decided by the JIT and by the reference interpreter must give identical
//! decisions and explanations. A bounded number of seeds runs here; `fuzz/` runs it open-ended.

#[path = "../../fuzz/src/generate.rs"]
mod generate;

#[path = "../../fuzz/src/diff.rs"]
mod diff;

/// Seeds per run: enough to exercise every construct, small enough for a debug `cargo test`.
const SEEDS: u64 = 700;

#[test]
fn jit_agrees_with_the_interpreter_on_random_programs() {
    let mut requests = 0;
    let mut failures = Vec::new();
    for seed in 0..SEEDS {
        let case = generate::case(seed);
        match diff::run_case(seed, &case) {
            Ok(n) => requests += n,
            Err(why) => failures.push(why),
        }
    }
    assert!(
        failures.is_empty(),
        "{} of {SEEDS} cases failed:\n{}",
        failures.len(),
        failures.join("\n\n")
    );
    assert!(requests >= SEEDS as usize);
}
