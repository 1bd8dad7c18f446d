//! `cargo fuzz run fuzz_differential`: open-ended differential testing of the JIT against the
//! interpreter; the fuzzer's bytes choose the seed of the program generator.

#![no_main]

#[path = "../src/generate.rs"]
mod generate;

#[path = "../src/diff.rs"]
mod diff;

libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    let mut seed = [0u8; 8];
    for (slot, byte) in seed.iter_mut().zip(data) {
        *slot = *byte;
    }
    let seed = u64::from_le_bytes(seed);
    if let Err(why) = diff::run_case(seed, &generate::case(seed)) {
        panic!("{why}");
    }
});
