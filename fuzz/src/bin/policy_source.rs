//! `cargo run --release --bin policy_source [FIRST_SEED] [COUNT]`: the compiler on random
//! policy source text on stable Rust, looping over seeds (forever without COUNT): each seed's
//! generated policy and a mutated copy go through the pipeline checks, and the fast path is
//! compared with pest (`ward_tests::source`). Prints progress; stops at the first failure,
//! printing the seed and the text.

use std::panic::{AssertUnwindSafe, catch_unwind};
use std::process::ExitCode;

use ward_tests::source;

fn main() -> ExitCode {
    let args: Vec<u64> = std::env::args().skip(1).filter_map(|a| a.parse().ok()).collect();
    let first = args.first().copied().unwrap_or(0);
    let count = args.get(1).copied();
    let (mut cases, mut compared) = (0u64, 0u64);
    let mut seed = first;
    loop {
        if count.is_some_and(|n| seed - first >= n) {
            break;
        }
        for mutated in [false, true] {
            let text = source::case(seed, mutated);
            let checked = catch_unwind(AssertUnwindSafe(|| {
                source::check_pipeline(&text)?;
                source::check_fast_path(&text)
            }));
            match checked {
                Ok(Ok(n)) => compared += n as u64,
                Ok(Err(why)) => {
                    eprintln!("seed {seed} (mutated: {mutated}): {why}\n--- text\n{text}");
                    return ExitCode::FAILURE;
                }
                Err(_) => {
                    eprintln!("seed {seed} (mutated: {mutated}) panicked\n--- text\n{text}");
                    return ExitCode::FAILURE;
                }
            }
            cases += 1;
        }
        seed += 1;
        if cases % 10_000 == 0 {
            eprintln!("{cases} texts, {compared} fast-path declarations: no failure");
        }
    }
    println!("{cases} texts from seed {first} ({compared} fast-path declarations compared): no failure");
    ExitCode::SUCCESS
}
