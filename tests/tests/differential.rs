//! Differential testing: random well-typed programs, estates and requests
//! (`ward_tests::differential::generate`) decided by the JIT and by the reference interpreter
//! must give identical decisions and explanations. A bounded number of seeds runs here;
//! `fuzz/` runs it open-ended (`cargo fuzz run fuzz_differential`, or the stable
//! `differential` binary).

use ward_tests::differential::{diff, generate};

/// Seeds per run: enough to exercise every construct, small enough for a debug `cargo test`.
const SEEDS: u64 = 700;

#[test]
fn jit_agrees_with_the_interpreter_on_random_programs() {
    let mut requests = 0;
    let mut failures = Vec::new();
    for seed in 0..SEEDS {
        let case = generate::case(seed);
        match diff::run_case(format_args!("seed {seed}"), &case) {
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

#[test]
fn fuzzer_bytes_drive_the_generator() {
    // Inputs of every length, including empty and partial choices, give valid cases.
    for len in [0usize, 1, 7, 8, 9, 64, 1000] {
        let data: Vec<u8> = (0..len).map(|i| (i * 37 + len) as u8).collect();
        let case = generate::case_from_bytes(&data);
        if let Err(why) = diff::run_case(format_args!("{len} bytes"), &case) {
            panic!("{why}");
        }
    }
}

/// The small budgets of `diff::run_case` do run out in the generated programs (so that the
/// comparison covers the engines running out), and the default one does not.
#[test]
fn small_budgets_run_out_on_generated_programs() {
    use ward_runtime::budget::Budget;
    use ward_runtime::engine::{Engine, EngineConfig, EngineKind};
    let (mut exhausted, mut decided) = (0, 0);
    for seed in 0..100 {
        let case = generate::case(seed);
        let engine = Engine::with_config(
            case.program.clone(),
            EngineConfig {
                engine: EngineKind::Interp,
            },
        )
        .expect("builds");
        engine.load_entities_json(&case.entities).expect("loads");
        let tight = engine
            .with_shared_store(engine.store())
            .with_budget(Budget { steps: 1 });
        for request in &case.requests {
            let ran_out = |d: &ward::Decision| {
                d.errors
                    .iter()
                    .any(|e| e.message.starts_with("evaluation budget exhausted"))
            };
            assert!(!ran_out(&engine.decide(request)), "seed {seed}");
            exhausted += usize::from(ran_out(&tight.decide(request)));
            decided += 1;
        }
    }
    assert!(
        exhausted * 5 > decided,
        "only {exhausted} of {decided} decisions ran out of one step"
    );
}
