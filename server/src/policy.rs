//! The one place where the service meets the compiler and the runtime: reading a policy set
//! and an estate from disk into a [`Version`] (an engine plus the content hashes of what it
//! was built from), and rendering what went wrong as plain text.
//!
//! Everything else in the server sees only [`Version`], [`LoadFailure`] and the runtime's
//! `Engine`/`Decision` types through here, so moving to the lean embedding library is a change
//! to this module alone. It knows nothing of HTTP, tokens or the log.

use std::fmt::Write as _;
use std::path::{Path, PathBuf};

pub use ward_embed::Compiled;
pub use ward_ir::EffectKind;
pub use ward_runtime::decision::{Decision, DecisionError, Explanation, FiredRules, Names};
pub use ward_runtime::engine::{Engine, EngineKind};
pub use ward_runtime::plan::PlanOptions;
pub use ward_runtime::request::{MAX_ID_LEN, Request, readable_id};

/// A policy set and an estate, ready to decide.
#[derive(Debug)]
pub struct Version {
    pub engine: Engine,
    /// `sha256:` of the policy files (their paths relative to the policy root, and contents).
    pub policy: String,
    /// `sha256:` of the entities file's bytes.
    pub estate: String,
    /// When it was loaded (milliseconds since the Unix epoch).
    pub loaded_at_ms: i64,
    /// The policy files, relative to the policy root, in the order they were compiled.
    pub files: Vec<String>,
    pub rules: usize,
}

/// Why a policy set or an estate could not be loaded.
#[derive(Debug)]
pub enum LoadFailure {
    /// A file or folder cannot be read.
    Read { path: PathBuf, message: String },
    /// The policy set has errors; `compiled` holds the diagnostics and the files they point
    /// into (for the CLI to render them as `ward check` does).
    Policy { compiled: Box<Compiled> },
    /// The entities do not validate against the policy's schema.
    Estate { path: PathBuf, message: String },
    /// The compiled program cannot be executed (a bug of Ward's).
    Engine { message: String },
}

impl LoadFailure {
    /// The failure as plain text: one line per problem, `file:line:col: error[CODE]: message`,
    /// with the help on the next line.
    pub fn render_plain(&self) -> String {
        match self {
            LoadFailure::Read { path, message } => {
                format!("cannot read `{}`: {message}", path.display())
            }
            LoadFailure::Policy { compiled } => render_diagnostics(compiled),
            LoadFailure::Estate { path, message } => {
                format!(
                    "the entities in `{}` are not valid:\n{message}",
                    path.display()
                )
            }
            LoadFailure::Engine { message } => {
                format!("the compiled policy set is not executable: {message}")
            }
        }
    }

    /// What failed: `policy` or `estate` (a read error says which file).
    pub fn part(&self) -> &'static str {
        match self {
            LoadFailure::Estate { .. } => "estate",
            _ => "policy",
        }
    }
}

/// The bytes a version is built from, read and hashed but not yet compiled: a reload compares
/// the hashes with the serving version's and skips the build when nothing changed.
#[derive(Debug)]
pub struct Sources {
    files: Vec<(String, String)>,
    relative: Vec<String>,
    entities: PathBuf,
    estate_bytes: Vec<u8>,
    pub policy: String,
    pub estate: String,
}

/// Reads the policy set at `policy` (a `.ward` file or a folder) and the entities at
/// `entities`, and hashes them.
pub fn read_sources(policy: &Path, entities: &Path) -> Result<Sources, LoadFailure> {
    let files = ward_embed::load_policy_set(policy).map_err(|e| LoadFailure::Read {
        path: policy.to_owned(),
        message: e.to_string(),
    })?;
    if files.is_empty() {
        return Err(LoadFailure::Read {
            path: policy.to_owned(),
            message: "there is no `.ward` file in it".into(),
        });
    }
    let estate_bytes = std::fs::read(entities).map_err(|e| LoadFailure::Read {
        path: entities.to_owned(),
        message: e.to_string(),
    })?;
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
    Ok(Sources {
        files,
        relative,
        entities: entities.to_owned(),
        estate_bytes,
        policy: policy_hash,
        estate: estate_hash,
    })
}

/// Checks and compiles the policy set, builds an engine of `kind` and loads the entities.
pub fn build(sources: Sources, kind: EngineKind, now_ms: i64) -> Result<Version, LoadFailure> {
    let Sources {
        files,
        relative,
        entities,
        estate_bytes,
        policy,
        estate,
    } = sources;
    let compiled = ward_embed::compile(&files);
    let has_errors = compiled.diagnostics.iter().any(|d| d.diagnostic.is_error());
    let program = match compiled.program.clone() {
        Some(program) if !has_errors => program,
        _ => {
            return Err(LoadFailure::Policy {
                compiled: Box::new(compiled),
            });
        }
    };
    let rules = program.rules.len();
    let engine = Engine::with_config(program, ward_runtime::engine::EngineConfig { engine: kind })
        .map_err(|e| LoadFailure::Engine {
            message: e.to_string(),
        })?;
    let text = String::from_utf8(estate_bytes).map_err(|e| LoadFailure::Estate {
        path: entities.clone(),
        message: format!(
            "the file is not valid UTF-8 (bad byte at offset {})",
            e.utf8_error().valid_up_to()
        ),
    })?;
    engine
        .load_entities_str(&text)
        .map_err(|e| LoadFailure::Estate {
            path: entities.clone(),
            message: e.to_string(),
        })?;
    Ok(Version {
        engine,
        policy,
        estate,
        loaded_at_ms: now_ms,
        files: relative,
        rules,
    })
}

/// [`read_sources`] and [`build`] in one.
pub fn load(
    policy: &Path,
    entities: &Path,
    kind: EngineKind,
    now_ms: i64,
) -> Result<Version, LoadFailure> {
    build(read_sources(policy, entities)?, kind, now_ms)
}

/// An explanation for a request that was rejected before deciding.
pub fn rejected_explanation() -> Explanation {
    Explanation {
        action: None,
        at: None,
        rules: Vec::new(),
        not_applicable: 0,
        default_applied: false,
    }
}

/// Parses an RFC 3339 timestamp as requests write it (seconds since the Unix epoch).
pub fn parse_timestamp(text: &str) -> Option<i64> {
    ward_runtime::time::parse_timestamp(text)
}

/// A timestamp as decisions write it (`2026-12-01T10:00:00Z`).
pub fn format_timestamp(secs: i64) -> String {
    ward_runtime::time::format_timestamp(secs)
}

/// A duration as the language writes it (`5s`, `1h30m`).
pub fn format_duration(secs: i64) -> String {
    ward_runtime::time::format_duration(secs)
}

/// Parses a duration literal (`5s`, `24h`, `1h30m`) into seconds.
pub fn parse_duration(text: &str) -> Option<i64> {
    ward_runtime::time::parse_duration(text)
}

/// Parses JSON strictly: a duplicate key anywhere is an error naming it.
pub fn parse_json(bytes: &[u8]) -> Result<serde_json::Value, String> {
    ward_runtime::json::parse_strict_bytes(bytes).map_err(|e| e.to_string())
}

/// One line per diagnostic (`file:line:col: error[CODE]: message`, then its help), the compact
/// form `/v1/status` and the log carry; positions as `ward check` gives them.
fn render_diagnostics(compiled: &Compiled) -> String {
    let mut out = String::new();
    for d in &compiled.diagnostics {
        let (file, line, column) = ward_embed::diagnostics::location(&compiled.files, d);
        let severity = if d.diagnostic.is_error() {
            "error"
        } else {
            "warning"
        };
        let _ = writeln!(
            out,
            "{file}:{line}:{column}: {severity}[{}]: {}",
            d.diagnostic.code, d.diagnostic.message
        );
        if let Some(help) = &d.diagnostic.help {
            let _ = writeln!(out, "  help: {help}");
        }
    }
    out.trim_end().to_owned()
}

fn relative_to(path: &Path, root: Option<&Path>) -> String {
    root.and_then(|r| path.strip_prefix(r).ok())
        .filter(|p| !p.as_os_str().is_empty())
        .unwrap_or(path)
        .to_string_lossy()
        .into_owned()
}
