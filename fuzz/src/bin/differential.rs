//! `cargo run --release --bin differential [FIRST_SEED] [COUNT]`: differential testing of the
//! JIT against the interpreter on stable Rust, looping over seeds (forever without COUNT),
//! printing progress and stopping at the first disagreement.

use std::process::ExitCode;

use ward_tests::differential::{diff, generate};

fn main() -> ExitCode {
    let args: Vec<u64> = std::env::args().skip(1).filter_map(|a| a.parse().ok()).collect();
    let first = args.first().copied().unwrap_or(0);
    let count = args.get(1).copied();
    let (mut cases, mut requests) = (0u64, 0u64);
    let mut seed = first;
    loop {
        if count.is_some_and(|n| seed - first >= n) {
            break;
        }
        match diff::run_case(format_args!("seed {seed}"), &generate::case(seed)) {
            Ok(n) => requests += n as u64,
            Err(why) => {
                eprintln!("{why}");
                return ExitCode::FAILURE;
            }
        }
        cases += 1;
        seed += 1;
        if cases % 10_000 == 0 {
            eprintln!("{cases} cases, {requests} requests: no disagreement");
        }
    }
    println!("{cases} cases ({requests} requests) from seed {first}: the engines agree");
    ExitCode::SUCCESS
}
