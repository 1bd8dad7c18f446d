//! The one place that names the Rust crates this package wraps: reading and compiling a
//! policy set and rendering its diagnostics (`ward-embed`, the lean library for embedders),
//! the engine, decisions and strict JSON, and the few runtime and IR items an extension needs
//! beyond it (validated requests and estate snapshots for `explain()`, literal rendering of
//! times). Everything else in the package goes through these items, so a change of the Rust
//! API is a change of this file alone.
//!
//! It knows nothing about Python.

use std::path::Path;

pub use ward_embed::json::parse_strict;
pub use ward_embed::{
    Compiled, Decision, EffectKind, Engine, EngineConfig, EngineKind, Explanation, Fired,
    LoadError, compile,
};
pub use ward_ir::literal::{format_duration, format_timestamp};
pub use ward_runtime::decision::render_explanation;
pub use ward_runtime::request::{Request, parse_request, readable_id};
pub use ward_runtime::store::Store;

/// The approvers a fired rule lists: its own, for a `require_approval` rule (none for the
/// other effects).
pub fn fired_approvers(fired: &Fired<'_>) -> Vec<String> {
    fired.approvers().map(|a| a.to_vec()).unwrap_or_default()
}

/// What a policy set that does not check looks like to a person and to a program.
pub struct Diagnostics {
    /// Every diagnostic as plain text (`error[E0134]: …`, ` --> file:line:col`, the source
    /// line marked, `= help: …`), then the summary line `ward check` ends with.
    pub rendered: String,
    /// The JSON form of `ward check --format json`, one object per diagnostic.
    pub json: Vec<serde_json::Value>,
    pub errors: usize,
}

/// Renders the diagnostics of `compiled`; `path` is the policy set as the user named it and
/// `n_files` how many files of theirs it holds (`compiled.files` also has the stdlib).
pub fn diagnostics(compiled: &Compiled, path: &str, n_files: usize) -> Diagnostics {
    let mut rendered = ward_embed::diagnostics::render_all_text(compiled);
    let json = ward_embed::diagnostics::all_to_json(compiled)
        .iter()
        .map(|d| serde_json::to_value(d).unwrap_or_default())
        .collect();
    let errors = compiled
        .diagnostics
        .iter()
        .filter(|d| d.diagnostic.is_error())
        .count();
    let warnings = compiled.diagnostics.len() - errors;
    if !rendered.is_empty() {
        rendered.push('\n');
    }
    rendered.push_str(&summary(path, n_files, errors, warnings));
    Diagnostics {
        rendered,
        json,
        errors,
    }
}

/// The summary line `ward check` ends with.
fn summary(path: &str, n_files: usize, n_errors: usize, n_warnings: usize) -> String {
    let files = plural(n_files, "file");
    match (n_errors, n_warnings) {
        (0, 0) => format!("checked {files} in `{path}`: no problems"),
        (0, w) => format!("checked {files} in `{path}`: {}", plural(w, "warning")),
        (e, 0) => format!("error: `{path}` has {}", plural(e, "error")),
        (e, w) => format!(
            "error: `{path}` has {} and {}",
            plural(e, "error"),
            plural(w, "warning")
        ),
    }
}

fn plural(n: usize, word: &str) -> String {
    if n == 1 {
        format!("1 {word}")
    } else {
        format!("{n} {word}s")
    }
}

/// A policy set read from disk: its files, and the entries that were left out (as warnings
/// in the JSON form of diagnostics).
pub struct PolicySet {
    pub files: Vec<(String, String)>,
    pub skipped: Vec<serde_json::Value>,
}

/// Reads a policy set (a `.ward` file or a directory of them) as `(path, text)` pairs.
pub fn read_policy_set(path: &Path) -> Result<PolicySet, String> {
    let loaded = ward_embed::load_policy_set_with_warnings(path).map_err(|e| e.to_string())?;
    if loaded.files.is_empty() {
        return Err(format!("no `.ward` files in `{}`", path.display()));
    }
    let skipped = loaded
        .warnings
        .iter()
        .map(|w| {
            serde_json::json!({
                "file": w.path.display().to_string(), "line": null, "column": null,
                "end_line": null, "end_column": null, "code": null, "severity": "warning",
                "message": w.to_string(), "help": null, "labels": [],
            })
        })
        .collect();
    Ok(PolicySet {
        files: loaded.files,
        skipped,
    })
}

/// A type as the policy writes it (`Set<String>`, `Identity?`).
pub fn type_text(schema: &ward_ir::Schema, ty: &ward_ir::Type) -> String {
    use ward_ir::Type;
    match ty {
        Type::Bool => "Bool".into(),
        Type::Int => "Int".into(),
        Type::String => "String".into(),
        Type::Duration => "Duration".into(),
        Type::Timestamp => "Timestamp".into(),
        Type::Entity(id) => schema
            .entities
            .get(id.index())
            .map_or_else(|| "entity".into(), |e| e.name.clone()),
        Type::Enum(id) => schema
            .enums
            .get(id.index())
            .map_or_else(|| "enum".into(), |e| e.name.clone()),
        Type::Set(elem) => format!("Set<{}>", type_text(schema, elem)),
        Type::Optional(inner) => format!("{}?", type_text(schema, inner)),
    }
}

/// The `test` blocks of a compiled policy set as JSON (name, location, entities, and each
/// case's request and expectation), for the package's conformance tests.
pub fn tests_json(program: &ward_ir::Program) -> serde_json::Value {
    serde_json::to_value(&program.tests).unwrap_or_default()
}
