//! `cargo fuzz run fuzz_lsp_frames`: open-ended fuzzing of the language server's input. The
//! fuzzer's bytes shape an editor session and its damage (`ward_tests::lsp_frames`); the server
//! must never panic, hang or stop serving.

#![no_main]

use ward_tests::lsp_frames;

libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    let case = lsp_frames::from_bytes(data);
    if let Err(why) = lsp_frames::run(format_args!("{} input bytes", data.len()), &case) {
        panic!("{why}");
    }
});
