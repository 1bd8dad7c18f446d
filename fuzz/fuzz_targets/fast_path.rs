//! `cargo fuzz run fuzz_fast_path`: the parser's hand-written fast path and pest must build the
//! same tree for every declaration the fast path takes, on generated (and mutated) policy source
//! (`ward_tests::source::case_from_bytes`).

#![no_main]

use ward_tests::source;

libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    let text = source::case_from_bytes(data);
    if let Err(why) = source::check_fast_path(&text) {
        panic!("{why}\n--- text\n{text}");
    }
});
