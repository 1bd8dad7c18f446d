//! Runs one generated case on both engines and compares the whole decisions (decision, fired
//! rules with their messages, approvers, errors) and the explanations.
//! Included by path next to `generate.rs`; depends on `ward-ir`, `ward-runtime` and `serde_json`.

use ward_runtime::engine::{Engine, EngineConfig, EngineKind};

/// Compares the engines on `case`: the number of requests compared, or what differed.
pub fn run_case(seed: u64, case: &super::generate::Case) -> Result<usize, String> {
    if let Err(errors) = ward_ir::verify(&case.program) {
        let all: Vec<String> = errors.iter().map(ToString::to_string).collect();
        return Err(format!(
            "seed {seed}: the generated program does not verify:\n{}",
            all.join("\n")
        ));
    }
    let build = |kind| {
        Engine::with_config(case.program.clone(), EngineConfig { engine: kind })
            .map_err(|e| format!("seed {seed}: {} engine: {e}", kind.as_str()))
    };
    let interp = build(EngineKind::Interp)?;
    let jit = build(EngineKind::Jit)?;
    for engine in [&interp, &jit] {
        engine
            .load_entities_json(&case.entities)
            .map_err(|e| format!("seed {seed}: the generated estate does not load: {e}"))?;
    }
    for request in &case.requests {
        let (a, ea) = interp.explain(request);
        let (b, eb) = jit.explain(request);
        if a != b || ea != eb {
            return Err(format!(
                "seed {seed}: the engines disagree on {request}\ninterp: {}\njit:    {}\nprogram:\n{}",
                serde_json::to_string(&a).unwrap_or_default(),
                serde_json::to_string(&b).unwrap_or_default(),
                ward_ir::print(&case.program)
            ));
        }
        if jit.decide(request) != b {
            return Err(format!(
                "seed {seed}: `decide` and `explain` disagree on {request}"
            ));
        }
    }
    Ok(case.requests.len())
}
