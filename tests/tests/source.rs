//! Random policy source text (`ward_tests::source`): the compiler's pipeline keeps its
//! invariants and never panics on generated policies, on broken ones, and on fuzzer-shaped
//! input; the parser's fast path and pest build the same tree for every declaration the fast
//! path takes. A bounded, seeded run (a few seconds); `fuzz/` runs the same checks open-ended
//! (`cargo fuzz run fuzz_policy_source`, `fuzz_fast_path`, or the stable `policy_source` loop).

use std::panic::{AssertUnwindSafe, catch_unwind};

use ward_tests::source;

/// Seeds per run of each check: enough to reach every construct, small enough for debug.
const SEEDS: u64 = 60;

/// Run `check` on `text`, turning a panic into an error too.
fn run<T>(
    what: &str,
    text: &str,
    check: impl FnOnce(&str) -> Result<T, String>,
) -> Result<T, String> {
    match catch_unwind(AssertUnwindSafe(|| check(text))) {
        Ok(result) => result.map_err(|why| format!("{what}: {why}\n--- text\n{text}")),
        Err(panic) => {
            let message = panic
                .downcast_ref::<String>()
                .cloned()
                .or_else(|| panic.downcast_ref::<&str>().map(|s| (*s).to_owned()))
                .unwrap_or_default();
            Err(format!("{what}: panicked: {message}\n--- text\n{text}"))
        }
    }
}

#[test]
fn the_pipeline_keeps_its_invariants_on_generated_and_broken_policies() {
    let mut failures = Vec::new();
    let mut programs = 0;
    for seed in 0..SEEDS {
        for mutated in [false, true] {
            let text = source::case(seed, mutated);
            let what = format!("seed {seed}{}", if mutated { " (mutated)" } else { "" });
            if let Err(why) = run(&what, &text, source::check_pipeline) {
                failures.push(why);
            }
            if !mutated && ward::compile(&[("p.ward".into(), text)]).program.is_some() {
                programs += 1;
            }
        }
    }
    assert!(
        failures.is_empty(),
        "{} failures:\n{}",
        failures.len(),
        failures.join("\n\n")
    );
    // The generator is worth something only if many of its policies check.
    assert!(
        programs >= SEEDS / 2,
        "only {programs} of {SEEDS} generated policies check"
    );
}

#[test]
fn the_fast_path_agrees_with_pest_on_generated_source() {
    let mut failures = Vec::new();
    let mut compared = 0;
    for seed in 0..SEEDS * 2 {
        let text = source::case(seed, seed % 2 == 1);
        match run(&format!("seed {seed}"), &text, source::check_fast_path) {
            Ok(n) => compared += n,
            Err(why) => failures.push(why),
        }
    }
    assert!(
        failures.is_empty(),
        "{} failures:\n{}",
        failures.len(),
        failures.join("\n\n")
    );
    // Most rules take the fast path; a generator that never reached it would test nothing.
    assert!(
        compared >= SEEDS as usize,
        "only {compared} declarations took the fast path"
    );
}

#[test]
fn fuzzer_bytes_drive_the_source_generator() {
    for len in [0usize, 1, 2, 9, 64, 300, 2000] {
        for mode in 0..4u8 {
            let mut data: Vec<u8> = (0..len).map(|i| (i * 31 + len) as u8).collect();
            if let Some(first) = data.first_mut() {
                *first = mode;
            }
            let text = source::case_from_bytes(&data);
            let what = format!("{len} bytes, mode {mode}");
            if let Err(why) = run(&what, &text, source::check_pipeline) {
                panic!("{why}");
            }
            if let Err(why) = run(&what, &text, source::check_fast_path) {
                panic!("{why}");
            }
        }
    }
}
