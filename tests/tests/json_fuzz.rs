//! Issue 7.10: the entity and request JSON inputs, damaged as hostile or broken input is, never
//! make the runtime panic, and both engines agree on what loads and on every decision
//! (`ward_tests::differential::json`). A bounded number of seeds runs here; `fuzz/` runs them
//! open-ended (`cargo fuzz run fuzz_entities` / `fuzz_requests`, or the stable `json` binary).

use ward_tests::differential::json;

/// Seeds per run: enough to reach every kind of damage, small for a debug `cargo test`.
const SEEDS: u64 = 150;

#[test]
fn damaged_entity_documents_load_alike_on_both_engines() {
    let mut total = json::Tally::default();
    let mut failures = Vec::new();
    for seed in 0..SEEDS {
        let (case, mut rng) = json::seeded(seed);
        match json::run_entities(format_args!("seed {seed}"), &case, &mut rng) {
            Ok(t) => add(&mut total, t),
            Err(why) => failures.push(why),
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n\n"));
    // The damage is neither always fatal nor always harmless.
    assert!(total.accepted * 10 > total.tried, "{total:?}");
    assert!(total.accepted * 10 < total.tried * 9, "{total:?}");
}

#[test]
fn damaged_requests_are_decided_alike_on_both_engines() {
    let mut total = json::Tally::default();
    let mut failures = Vec::new();
    for seed in 0..SEEDS {
        let (case, mut rng) = json::seeded(seed);
        match json::run_requests(format_args!("seed {seed}"), &case, &mut rng) {
            Ok(t) => add(&mut total, t),
            Err(why) => failures.push(why),
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n\n"));
    assert!(total.accepted * 10 > total.tried, "{total:?}");
    assert!(total.accepted * 10 < total.tried * 9, "{total:?}");
}

fn add(total: &mut json::Tally, t: json::Tally) {
    total.tried += t.tried;
    total.accepted += t.accepted;
}

#[test]
fn fuzzer_bytes_drive_the_damage() {
    for len in [0usize, 1, 9, 64, 1000] {
        let data: Vec<u8> = (0..len).map(|i| (i * 131 + len) as u8).collect();
        let (case, mut rng) = json::from_bytes(&data);
        json::run_entities(format_args!("{len} bytes"), &case, &mut rng)
            .unwrap_or_else(|e| panic!("{e}"));
        json::run_requests(format_args!("{len} bytes"), &case, &mut rng)
            .unwrap_or_else(|e| panic!("{e}"));
    }
}
