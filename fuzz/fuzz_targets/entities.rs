//! `cargo fuzz run fuzz_entities`: open-ended fuzzing of entity documents. The first half of
//! the fuzzer's bytes shapes a generated program and estate, the rest damages the estate's
//! JSON text; loading must never panic, both engines must load alike and then decide alike.

#![no_main]

use ward_tests::differential::json;

libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    let (case, mut rng) = json::from_bytes(data);
    if let Err(why) =
        json::run_entities(format_args!("{} input bytes", data.len()), &case, &mut rng)
    {
        panic!("{why}");
    }
});
