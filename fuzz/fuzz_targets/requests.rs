//! `cargo fuzz run fuzz_requests`: open-ended fuzzing of request documents. The first half of
//! the fuzzer's bytes shapes a generated program, estate and requests, the rest damages the
//! requests' JSON text; deciding must never panic and both engines must decide alike.

#![no_main]

use ward_tests::differential::json;

libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    let (case, mut rng) = json::from_bytes(data);
    if let Err(why) =
        json::run_requests(format_args!("{} input bytes", data.len()), &case, &mut rng)
    {
        panic!("{why}");
    }
});
