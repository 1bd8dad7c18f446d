//! The Rust baseline of the Python benchmark (`python/bench/bench.py`): decides the same
//! requests with `Engine::decide` on the same policy set and estate, and prints the cost per
//! decision as JSON, so the script can show what calling from Python adds.
//!
//! `cargo run --release -p ward-python --example baseline -- POLICY ENTITIES REQUESTS.jsonl
//! [--seconds S]`

use std::path::PathBuf;
use std::process::ExitCode;
use std::time::{Duration, Instant};

use ward_embed::Engine;

fn main() -> ExitCode {
    match run() {
        Ok(()) => ExitCode::SUCCESS,
        Err(message) => {
            eprintln!("baseline: {message}");
            ExitCode::from(2)
        }
    }
}

fn run() -> Result<(), String> {
    let mut args = std::env::args().skip(1);
    let (Some(policy), Some(entities), Some(requests)) = (args.next(), args.next(), args.next())
    else {
        return Err("usage: baseline POLICY ENTITIES REQUESTS.jsonl [--seconds S]".to_owned());
    };
    let mut seconds = 2.0_f64;
    while let Some(flag) = args.next() {
        match (flag.as_str(), args.next()) {
            ("--seconds", Some(s)) => {
                seconds = s
                    .parse()
                    .map_err(|_| format!("`{s}` is not a number of seconds"))?;
            }
            _ => return Err(format!("unknown argument `{flag}`")),
        }
    }
    let files = ward_embed::load_policy_set(&PathBuf::from(&policy)).map_err(|e| e.to_string())?;
    let program = ward_embed::compile(&files)
        .program
        .ok_or_else(|| format!("`{policy}` does not check (run `ward check {policy}`)"))?;
    let engine = Engine::new(program).map_err(|e| e.to_string())?;
    let text =
        std::fs::read_to_string(&entities).map_err(|e| format!("cannot read `{entities}`: {e}"))?;
    engine
        .load_entities_str(&text)
        .map_err(|e| format!("`{entities}`: {e}"))?;
    let lines =
        std::fs::read_to_string(&requests).map_err(|e| format!("cannot read `{requests}`: {e}"))?;
    let docs = lines
        .lines()
        .filter(|l| !l.trim().is_empty())
        .map(ward_embed::json::parse_strict)
        .collect::<Result<Vec<_>, _>>()
        .map_err(|e| format!("`{requests}`: {e}"))?;
    if docs.is_empty() {
        return Err(format!("`{requests}` holds no request"));
    }

    // Warm up (JIT memo tables, caches), then time rounds over all requests.
    for doc in &docs {
        std::hint::black_box(engine.decide(doc));
    }
    let mut rounds: Vec<f64> = Vec::new();
    let mut decisions = 0usize;
    let budget = Duration::from_secs_f64(seconds);
    let start = Instant::now();
    while start.elapsed() < budget || rounds.len() < 5 {
        let t = Instant::now();
        for _ in 0..50 {
            for doc in &docs {
                std::hint::black_box(engine.decide(std::hint::black_box(doc)));
            }
        }
        let n = 50 * docs.len();
        decisions += n;
        rounds.push(t.elapsed().as_nanos() as f64 / n as f64);
    }
    rounds.sort_by(f64::total_cmp);
    let median = rounds.get(rounds.len() / 2).copied().unwrap_or(f64::NAN);
    let best = rounds.first().copied().unwrap_or(f64::NAN);
    println!(
        "{}",
        serde_json::json!({
            "requests": docs.len(),
            "decisions": decisions,
            "rounds": rounds.len(),
            "ns_per_decision_median": median,
            "ns_per_decision_best": best,
        })
    );
    Ok(())
}
