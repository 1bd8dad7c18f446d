//! The benchmark scenario (`bench/src/lib.rs`) as Ward source: the schema, windows and functions
//! (`scenario/schema.ward`), the common subset every peer can express (`scenario/common.ward`)
//! and the rest of the guardrails (`scenario/rules.ward`), about 60 rules over eight actions.
//! This module only hands out the text and compiles it; it knows nothing of estates or peers.

/// Schema, windows, constants and functions.
pub const SCHEMA: &str = include_str!("../scenario/schema.ward");
/// The rules of the common subset (and the policy set's `default`).
pub const COMMON: &str = include_str!("../scenario/common.ward");
/// The remaining rules of the scenario.
pub const RULES: &str = include_str!("../scenario/rules.ward");

/// The actions of the common subset.
pub const SUBSET_ACTIONS: [&str; 3] = ["disable_account", "patch_host", "rotate_secret"];

/// The full scenario as a policy set (path, text).
pub fn files() -> Vec<(String, String)> {
    vec![
        ("scenario/schema.ward".to_owned(), SCHEMA.to_owned()),
        ("scenario/common.ward".to_owned(), COMMON.to_owned()),
        ("scenario/rules.ward".to_owned(), RULES.to_owned()),
    ]
}

/// The common subset alone as a policy set: same schema, only `common.ward`'s rules.
pub fn subset_files() -> Vec<(String, String)> {
    vec![
        ("scenario/schema.ward".to_owned(), SCHEMA.to_owned()),
        ("scenario/common.ward".to_owned(), COMMON.to_owned()),
    ]
}

/// Compiles a policy set and fails with the first error diagnostic.
pub fn compile(files: &[(String, String)]) -> Result<ward_ir::Program, String> {
    let compiled = ward::compile(files);
    if let Some(d) = compiled
        .diagnostics
        .iter()
        .find(|d| d.diagnostic.is_error())
    {
        return Err(format!("{d:?}"));
    }
    compiled
        .program
        .ok_or_else(|| "the compiler produced no program".to_owned())
}

/// An engine of the given kind for `program` (the interpreter or the JIT).
pub fn engine(
    program: ward_ir::Program,
    kind: ward_runtime::engine::EngineKind,
) -> Result<ward::Engine, ward_runtime::engine::EngineError> {
    ward::Engine::with_config(program, ward_runtime::engine::EngineConfig { engine: kind })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn scenario_and_subset_check_clean() {
        let full = compile(&files()).expect("the scenario checks");
        assert!(
            (55..=70).contains(&full.rules.len()),
            "{} rules",
            full.rules.len()
        );
        assert_eq!(full.schema.actions.len(), 8);
        let subset = compile(&subset_files()).expect("the subset checks");
        let names: Vec<&str> = subset
            .rules
            .iter()
            .flat_map(|r| r.actions.iter())
            .map(|a| subset.schema.actions[a.index()].name.as_str())
            .collect();
        assert!(
            names.iter().all(|n| SUBSET_ACTIONS.contains(n)),
            "{names:?}"
        );
    }

    #[test]
    fn no_warnings_either() {
        let compiled = ward::compile(&files());
        assert!(
            compiled.diagnostics.is_empty(),
            "{:?}",
            compiled.diagnostics
        );
    }
}
