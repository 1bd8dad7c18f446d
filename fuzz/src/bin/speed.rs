//! `cargo run --release --bin speed [ROUNDS] [interp|jit]`: a quick comparison of the interpreter
//! and the JIT on the bundled example (`examples/`): the same requests decided by both (the
//! decisions are checked to be identical), timed per decision. With an engine name only that
//! engine runs (for profiling one engine under `valgrind --tool=callgrind`).

use std::time::Instant;

use ward_runtime::engine::{Engine, EngineConfig, EngineKind};

fn main() {
    let mut args = std::env::args().skip(1);
    let rounds: usize = args
        .next()
        .map(|s| s.parse().expect("ROUNDS is a number"))
        .unwrap_or(20_000);
    let kinds: Vec<EngineKind> = match args.next() {
        Some(name) => vec![EngineKind::parse(&name).expect("engine is interp or jit")],
        None => vec![EngineKind::Interp, EngineKind::Jit],
    };
    let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("..");
    let files = ward::load_policy_set(&root.join("examples/guardrails")).expect("readable policy");
    let program = ward::compile(&files).program.expect("the example checks");
    let estate = std::fs::read_to_string(root.join("examples/estate.json")).expect("estate");
    let requests: Vec<serde_json::Value> =
        std::fs::read_to_string(root.join("examples/requests.jsonl"))
            .expect("requests")
            .lines()
            .filter(|l| !l.trim().is_empty())
            .map(|l| serde_json::from_str(l).expect("json"))
            .collect();
    let mut results = Vec::new();
    let mut decisions = Vec::new();
    for kind in kinds {
        let engine =
            Engine::with_config(program.clone(), EngineConfig { engine: kind }).expect("engine");
        engine.load_entities_str(&estate).expect("estate loads");
        let parsed: Vec<_> = requests
            .iter()
            .map(|r| engine.parse_request(r).expect("valid"))
            .collect();
        let these: Vec<_> = parsed.iter().map(|r| engine.decide_request(r)).collect();
        let start = Instant::now();
        let mut n = 0usize;
        for _ in 0..rounds {
            for r in &parsed {
                n += engine.decide_request(r).fired().len();
            }
        }
        let per = start.elapsed().as_secs_f64() * 1e9 / (rounds * parsed.len()).max(1) as f64;
        println!("{:<6} {per:>8.0} ns/decision ({n} fired)", kind.as_str());
        results.push(per);
        decisions.push(these);
    }
    if let [interp, jit] = results.as_slice() {
        assert_eq!(decisions[0], decisions[1], "the engines disagree");
        println!("jit speed-up: {:.2}x", interp / jit);
    }
}
