//! `cargo run --release --bin json [FIRST_SEED] [COUNT]`: fuzzing of entity and request JSON on
//! stable Rust, looping over seeds (forever without COUNT), printing progress and stopping at
//! the first panic or disagreement between the engines.

use std::process::ExitCode;

use ward_tests::differential::json;

fn main() -> ExitCode {
    let args: Vec<u64> = std::env::args()
        .skip(1)
        .filter_map(|a| a.parse().ok())
        .collect();
    let first = args.first().copied().unwrap_or(0);
    let count = args.get(1).copied();
    let (mut cases, mut documents) = (0u64, 0u64);
    let mut seed = first;
    loop {
        if count.is_some_and(|n| seed - first >= n) {
            break;
        }
        let (case, mut rng) = json::seeded(seed);
        let label = format!("seed {seed}");
        let result = json::run_entities(&label, &case, &mut rng)
            .and_then(|a| json::run_requests(&label, &case, &mut rng).map(|b| a.tried + b.tried));
        match result {
            Ok(n) => documents += n as u64,
            Err(why) => {
                eprintln!("{why}");
                return ExitCode::FAILURE;
            }
        }
        cases += 1;
        seed += 1;
        if cases % 1_000 == 0 {
            eprintln!("{cases} cases, {documents} documents: no panic, no disagreement");
        }
    }
    println!("{cases} cases ({documents} documents) from seed {first}: the engines agree");
    ExitCode::SUCCESS
}
