//! A policy set and an estate read from disk into an engine, with the content hashes that name
//! the version in decision logs: `sha256:` over the policy files (their paths relative to the
//! policy root, and contents) and over the entities file's bytes (docs/decisions.md #52).
//! `ward serve` and `ward mcp-guard` both load through here, so that a line of either log
//! names the same version the same way and both report a bad file in the same words.
//!
//! Reading ([`read_sources`]) is apart from building ([`build`]): a reload reads and hashes
//! first, and skips the build when nothing changed. This module knows files, the compiler and
//! the engine; it does not know HTTP, MCP or terminals (the CLI renders a policy set's
//! diagnostics itself, from [`LoadFailure::Policy`]).

use std::fmt::Write as _;
use std::path::{Path, PathBuf};

use ward_check::Compiled;
use ward_runtime::engine::{Engine, EngineConfig, EngineKind};

/// Why a policy set or an estate could not be loaded.
#[derive(Debug)]
pub enum LoadFailure {
    /// A file or folder cannot be read, or the policy folder holds no `.ward` file.
    Read { path: PathBuf, message: String },
    /// The policy set has errors; `compiled` holds the diagnostics and the files they point
    /// into (for a caller to render them as `ward check` does).
    Policy { compiled: Box<Compiled> },
    /// The entities do not validate against the policy's schema (or are not UTF-8).
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

    /// What failed: `policy` or `estate` (a read error counts as the policy's).
    pub fn part(&self) -> &'static str {
        match self {
            LoadFailure::Estate { .. } => "estate",
            _ => "policy",
        }
    }
}

impl std::fmt::Display for LoadFailure {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.render_plain())
    }
}

impl std::error::Error for LoadFailure {}

/// The bytes a version is built from, read and hashed but not yet compiled.
#[derive(Debug)]
pub struct Sources {
    files: Vec<(String, String)>,
    relative: Vec<String>,
    entities: PathBuf,
    estate_bytes: Vec<u8>,
    /// `sha256:` of the policy files (their paths relative to the policy root, and contents).
    pub policy: String,
    /// `sha256:` of the entities file's bytes.
    pub estate: String,
}

/// A policy set and an estate, ready to decide.
#[derive(Debug)]
pub struct Built {
    pub engine: Engine,
    /// `sha256:` of the policy files, as [`Sources::policy`].
    pub policy: String,
    /// `sha256:` of the entities file's bytes.
    pub estate: String,
    /// The policy files, relative to the policy root, in the order they were compiled.
    pub files: Vec<String>,
    /// How many rules the policy set has.
    pub rules: usize,
}

/// Reads the policy set at `policy` (a `.ward` file or a folder) and the entities at
/// `entities`, and hashes them.
pub fn read_sources(policy: &Path, entities: &Path) -> Result<Sources, LoadFailure> {
    let files = ward_files::load_policy_set(policy).map_err(|e| LoadFailure::Read {
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
pub fn build(sources: Sources, kind: EngineKind) -> Result<Built, LoadFailure> {
    let Sources {
        files,
        relative,
        entities,
        estate_bytes,
        policy,
        estate,
    } = sources;
    let compiled = ward_check::compile(&files);
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
    let engine = Engine::with_config(program, EngineConfig { engine: kind }).map_err(|e| {
        LoadFailure::Engine {
            message: e.to_string(),
        }
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
    Ok(Built {
        engine,
        policy,
        estate,
        files: relative,
        rules,
    })
}

/// [`read_sources`] and [`build`] in one.
pub fn load(policy: &Path, entities: &Path, kind: EngineKind) -> Result<Built, LoadFailure> {
    build(read_sources(policy, entities)?, kind)
}

/// One line per diagnostic (`file:line:col: error[CODE]: message`, then its help): the compact
/// form a status document and a log line carry; positions as `ward check` gives them.
fn render_diagnostics(compiled: &Compiled) -> String {
    let mut out = String::new();
    for d in &compiled.diagnostics {
        let (file, line, column) = crate::diagnostics::location(&compiled.files, d);
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

/// `path` relative to the policy root (as the hash and the version's file list name it).
fn relative_to(path: &Path, root: Option<&Path>) -> String {
    root.and_then(|r| path.strip_prefix(r).ok())
        .filter(|p| !p.as_os_str().is_empty())
        .unwrap_or(path)
        .to_string_lossy()
        .into_owned()
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A fresh folder under the system's temporary directory, removed when dropped.
    struct Dir(PathBuf);

    impl Dir {
        fn new(name: &str) -> Dir {
            let path = std::env::temp_dir()
                .join(format!("ward-embed-sources-{name}-{}", std::process::id()));
            let _ = std::fs::remove_dir_all(&path);
            std::fs::create_dir_all(path.join("policy")).unwrap();
            Dir(path)
        }
    }

    impl Drop for Dir {
        fn drop(&mut self) {
            let _ = std::fs::remove_dir_all(&self.0);
        }
    }

    const POLICY: &str = "entity Identity { title: String }\ncontext { agent: Identity }\n\
                          action disable_account { target: Identity }\n\
                          rule routine { on disable_account allow }\n";

    #[test]
    fn a_policy_folder_and_an_estate_build_with_their_hashes() {
        let dir = Dir::new("ok");
        std::fs::write(dir.0.join("policy/main.ward"), POLICY).unwrap();
        let estate = br#"{"entities": {"Identity": {"a": {"title": "VP"}}}}"#;
        std::fs::write(dir.0.join("entities.json"), estate).unwrap();
        let built = load(
            &dir.0.join("policy"),
            &dir.0.join("entities.json"),
            EngineKind::Interp,
        )
        .unwrap();
        assert_eq!(built.files, ["main.ward"]);
        assert_eq!(built.rules, 1);
        assert_eq!(built.estate, ward_log::hash::sha256(estate));
        assert_eq!(
            built.policy,
            ward_log::hash::policy([("main.ward", POLICY)])
        );
    }

    #[test]
    fn each_failure_names_its_file_and_part() {
        let dir = Dir::new("bad");
        let (policy, entities) = (dir.0.join("policy"), dir.0.join("entities.json"));
        std::fs::write(&entities, b"{\"entities\": {}}").unwrap();
        let empty = read_sources(&policy, &entities).unwrap_err();
        assert_eq!(
            empty.render_plain(),
            format!(
                "cannot read `{}`: there is no `.ward` file in it",
                policy.display()
            )
        );
        assert_eq!(empty.part(), "policy");

        std::fs::write(policy.join("main.ward"), POLICY).unwrap();
        std::fs::write(&entities, b"{\"entities\": \xff}").unwrap();
        let bytes = load(&policy, &entities, EngineKind::Interp).unwrap_err();
        assert_eq!(bytes.part(), "estate");
        assert!(
            bytes
                .render_plain()
                .ends_with("are not valid:\nthe file is not valid UTF-8 (bad byte at offset 13)"),
            "{bytes}"
        );

        std::fs::write(policy.join("main.ward"), "rule r { on nothing deny }").unwrap();
        let broken = load(&policy, &entities, EngineKind::Interp).unwrap_err();
        assert!(matches!(broken, LoadFailure::Policy { .. }));
        assert!(
            broken
                .render_plain()
                .ends_with("main.ward:1:13: error[E0102]: unknown action `nothing`"),
            "{broken}"
        );
    }
}
