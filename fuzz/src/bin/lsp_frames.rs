//! `cargo run --release --bin lsp_frames [FIRST_SEED] [COUNT]`: fuzzing of the language
//! server's framed input on stable Rust, looping over seeds (forever without COUNT), printing
//! progress and stopping at the first panic, hang or session the server stopped serving.

use std::process::ExitCode;

use ward_tests::lsp_frames;

fn main() -> ExitCode {
    let args: Vec<u64> = std::env::args()
        .skip(1)
        .filter_map(|a| a.parse().ok())
        .collect();
    let first = args.first().copied().unwrap_or(0);
    let count = args.get(1).copied();
    let mut seed = first;
    let mut replies = 0usize;
    loop {
        if count.is_some_and(|n| seed - first >= n) {
            break;
        }
        match lsp_frames::run(format_args!("seed {seed}"), &lsp_frames::seeded(seed)) {
            Ok(t) => replies += t.replies,
            Err(why) => {
                eprintln!("{why}");
                return ExitCode::FAILURE;
            }
        }
        seed += 1;
        if (seed - first) % 1_000 == 0 {
            eprintln!("{} sessions, {replies} replies: the server kept serving", seed - first);
        }
    }
    println!("{} sessions from seed {first}: the server kept serving", seed - first);
    ExitCode::SUCCESS
}
