//! Loading what the guard decides with: the policy set and the estate, read from disk,
//! compiled and hashed exactly as `ward serve` hashes them (docs/decisions.md #52), so that a
//! line of the guard's log and a line of the service's log name the same version the same way.
//!
//! This module knows files, the compiler and the engine; it does not know MCP.

use std::path::Path;

use ward_embed::{Compiled, Engine, EngineConfig, EngineKind};

/// A policy set and an estate, ready to decide.
#[derive(Debug)]
pub struct Loaded {
    pub engine: Engine,
    /// `sha256:` of the policy files (their paths relative to the policy root, and contents).
    pub policy: String,
    /// `sha256:` of the entities file's bytes.
    pub estate: String,
    /// The policy files, relative to the policy root, in the order they were compiled.
    pub files: Vec<String>,
}

/// Why the guard cannot start deciding.
#[derive(Debug)]
pub enum LoadError {
    /// A file cannot be read, or the policy folder holds no `.ward` file.
    Read(String),
    /// The policy set has errors (rendered by the caller, as `ward check` renders them).
    Policy(Box<Compiled>),
    /// The entities do not validate, or the program cannot run.
    Estate(String),
}

impl std::fmt::Display for LoadError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            LoadError::Read(m) | LoadError::Estate(m) => f.write_str(m),
            LoadError::Policy(compiled) => {
                f.write_str(&ward_embed::diagnostics::render_all_text(compiled))
            }
        }
    }
}

/// Reads, compiles and hashes the policy set at `policy` and the estate at `entities`.
pub fn load(policy: &Path, entities: &Path, kind: EngineKind) -> Result<Loaded, LoadError> {
    let files = ward_embed::load_policy_set(policy)
        .map_err(|e| LoadError::Read(format!("cannot read `{}`: {e}", policy.display())))?;
    if files.is_empty() {
        return Err(LoadError::Read(format!(
            "no `.ward` files in `{}`",
            policy.display()
        )));
    }
    let estate_bytes = std::fs::read(entities)
        .map_err(|e| LoadError::Read(format!("cannot read `{}`: {e}", entities.display())))?;
    let root = if policy.is_dir() {
        Some(policy)
    } else {
        policy.parent()
    };
    let relative: Vec<String> = files
        .iter()
        .map(|(path, _)| relative_to(Path::new(path), root))
        .collect();
    let policy_hash = ward_log::hash::policy(
        relative
            .iter()
            .zip(&files)
            .map(|(rel, (_, text))| (rel.as_str(), text.as_str())),
    );
    let estate_hash = ward_log::hash::sha256(&estate_bytes);
    let compiled = ward_embed::compile(&files);
    let has_errors = compiled.diagnostics.iter().any(|d| d.diagnostic.is_error());
    let program = match compiled.program.clone() {
        Some(program) if !has_errors => program,
        _ => return Err(LoadError::Policy(Box::new(compiled))),
    };
    let engine = Engine::with_config(program, EngineConfig { engine: kind })
        .map_err(|e| LoadError::Estate(format!("the compiled policy set cannot run: {e}")))?;
    let text = String::from_utf8(estate_bytes).map_err(|e| {
        LoadError::Estate(format!(
            "the entities in `{}` are not valid UTF-8 (bad byte at offset {})",
            entities.display(),
            e.utf8_error().valid_up_to()
        ))
    })?;
    engine.load_entities_str(&text).map_err(|e| {
        LoadError::Estate(format!(
            "the entities in `{}` are not valid:\n{e}",
            entities.display()
        ))
    })?;
    Ok(Loaded {
        engine,
        policy: policy_hash,
        estate: estate_hash,
        files: relative,
    })
}

fn relative_to(path: &Path, root: Option<&Path>) -> String {
    root.and_then(|r| path.strip_prefix(r).ok())
        .filter(|p| !p.as_os_str().is_empty())
        .unwrap_or(path)
        .to_string_lossy()
        .into_owned()
}
