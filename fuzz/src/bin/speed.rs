//! `cargo run --release --bin speed`: a quick comparison of the interpreter and the JIT on the
//! bundled example (`examples/`): the same requests decided by both, timed per decision.

use std::time::Instant;

use ward_runtime::engine::{Engine, EngineConfig, EngineKind};

fn main() {
    let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("..");
    let files = ward::load_policy_set(&root.join("examples/guardrails")).expect("readable policy");
    let program = ward::compile(&files).program.expect("the example checks");
    let estate = std::fs::read_to_string(root.join("examples/estate.json")).expect("estate");
    let requests: Vec<serde_json::Value> = std::fs::read_to_string(root.join("examples/requests.jsonl"))
        .expect("requests")
        .lines()
        .filter(|l| !l.trim().is_empty())
        .map(|l| serde_json::from_str(l).expect("json"))
        .collect();
    let mut results = Vec::new();
    for kind in [EngineKind::Interp, EngineKind::Jit] {
        let engine = Engine::with_config(program.clone(), EngineConfig { engine: kind }).expect("engine");
        engine.load_entities_str(&estate).expect("estate loads");
        let parsed: Vec<_> = requests.iter().map(|r| engine.parse_request(r).expect("valid")).collect();
        let rounds = 20_000;
        let start = Instant::now();
        let mut n = 0usize;
        for _ in 0..rounds {
            for r in &parsed {
                n += engine.decide_request(r).fired.len();
            }
        }
        let per = start.elapsed().as_secs_f64() * 1e9 / (rounds * parsed.len()) as f64;
        println!("{:<6} {per:>8.0} ns/decision ({n} fired)", kind.as_str());
        results.push(per);
    }
    println!("jit speed-up: {:.2}x", results[0] / results[1]);
}
