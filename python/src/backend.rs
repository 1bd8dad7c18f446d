//! The one place that names the Rust crates this package wraps: compiling a policy set,
//! rendering its diagnostics as `ward check` prints them, the engine, decisions and strict
//! JSON. Everything else in the package goes through these items, so moving to another
//! library crate is a change of this file alone.
//!
//! It knows nothing about Python.

use std::path::Path;

pub use ward_check::{Compiled, compile, load_policy_set};
pub use ward_ir::EffectKind;
pub use ward_ir::literal::{format_duration, format_timestamp};
pub use ward_runtime::decision::{Decision, Explanation, Fired, render_explanation};
pub use ward_runtime::engine::{Engine, EngineConfig, EngineKind};
pub use ward_runtime::json::parse_strict;
pub use ward_runtime::request::{Request, parse_request};
pub use ward_runtime::store::{LoadError, Store};

/// The approvers a fired rule lists: its own, for a `require_approval` rule.
///
/// Read through the decision's JSON form so that this module does not depend on the field's
/// Rust shape; a decision without per-rule approvers gives none.
pub fn fired_approvers(fired: &Fired) -> Vec<String> {
    match serde_json::to_value(fired) {
        Ok(serde_json::Value::Object(mut map)) => match map.remove("approvers") {
            Some(serde_json::Value::Array(items)) => items
                .into_iter()
                .filter_map(|v| match v {
                    serde_json::Value::String(s) => Some(s),
                    _ => None,
                })
                .collect(),
            _ => Vec::new(),
        },
        _ => Vec::new(),
    }
}

/// What a policy set that does not check looks like to a person and to a program.
pub struct Diagnostics {
    /// Every diagnostic as `ward check` prints it without colour, then its summary line.
    pub rendered: String,
    /// The JSON form of `ward check --format json`, one object per diagnostic.
    pub json: Vec<serde_json::Value>,
    pub errors: usize,
}

/// Renders the diagnostics of `compiled`; `path` is the policy set as the user named it.
pub fn diagnostics(compiled: &Compiled, path: &str) -> Diagnostics {
    let renderer = ward::render::Renderer::new(&compiled.files, false);
    let mut rendered = String::new();
    let mut json = Vec::new();
    for diag in &compiled.diagnostics {
        rendered.push_str(&renderer.human(diag));
        json.push(serde_json::to_value(renderer.json(diag)).unwrap_or_default());
    }
    let errors = compiled
        .diagnostics
        .iter()
        .filter(|d| d.diagnostic.is_error())
        .count();
    let warnings = compiled.diagnostics.len() - errors;
    rendered.push_str(&summary(path, compiled.files.len(), errors, warnings));
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

/// Reads a policy set (a `.ward` file or a directory of them) as `(path, text)` pairs.
pub fn read_policy_set(path: &Path) -> Result<Vec<(String, String)>, String> {
    let files =
        load_policy_set(path).map_err(|e| format!("cannot read `{}`: {e}", path.display()))?;
    if files.is_empty() {
        return Err(format!("no `.ward` files in `{}`", path.display()));
    }
    Ok(files)
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
