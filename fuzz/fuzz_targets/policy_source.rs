//! `cargo fuzz run fuzz_policy_source`: open-ended fuzzing of the compiler on policy source
//! text. The first byte picks raw text, a generated policy or a mutated one
//! (`ward_tests::source::case_from_bytes`); parsing, checking, lowering, verifying and the
//! formatter's round trip must keep their invariants and never panic.

#![no_main]

use ward_tests::source;

libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    let text = source::case_from_bytes(data);
    if let Err(why) = source::check_pipeline(&text) {
        panic!("{why}\n--- text\n{text}");
    }
});
