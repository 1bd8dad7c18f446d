//! `cargo fuzz run fuzz_differential`: open-ended differential testing of the JIT against the
//! interpreter. The fuzzer's bytes are the generator's choices, so its mutations reshape the
//! program, the estate and the requests.

#![no_main]

use ward_tests::differential::{diff, generate};

libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    if let Err(why) = diff::run_case(format_args!("{} input bytes", data.len()), &generate::case_from_bytes(data)) {
        panic!("{why}");
    }
});
