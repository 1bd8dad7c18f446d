//! `ward-tests`: the integration suite's shared helpers.
//!
//! The tests themselves are data under `corpus/`: policies that must fail to check (with
//! their rendered diagnostics as insta snapshots), policies that must check clean, and policy
//! sets with `test` blocks that must pass. The harnesses in `tests/` walk those folders.
//! Generators shared with `fuzz/` live here too: random programs for the engines
//! (`differential`), random policy source text for the compiler (`source`) and damaged
//! language-server sessions (`lsp_frames`).

pub mod differential;
pub mod lsp_frames;
pub mod source;

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};

/// The folder of this crate (`tests/`), whatever the current directory is.
pub fn crate_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// The repository root.
pub fn repo_dir() -> PathBuf {
    crate_dir()
        .parent()
        .map(Path::to_path_buf)
        .unwrap_or_else(crate_dir)
}

/// The entries (files ending in `ext`, and directories) directly inside `dir`, sorted.
pub fn entries(dir: &Path, ext: &str) -> Vec<PathBuf> {
    let mut out: Vec<PathBuf> = std::fs::read_dir(dir)
        .unwrap_or_else(|e| panic!("cannot read {}: {e}", dir.display()))
        .map(|entry| entry.expect("readable directory entry").path())
        .filter(|p| p.is_dir() || p.extension().is_some_and(|e| e == ext))
        .collect();
    out.sort();
    out
}

/// Read a policy case (a `.ward` file or a directory of them) as `(path, text)` pairs, with
/// paths relative to `base` so that rendered output does not depend on the machine.
pub fn read_case(case: &Path, base: &Path) -> Vec<(String, String)> {
    let files = ward::load_policy_set(case)
        .unwrap_or_else(|e| panic!("cannot read {}: {e}", case.display()));
    files
        .into_iter()
        .map(|(path, text)| {
            let rel = Path::new(&path)
                .strip_prefix(base)
                .map(|p| p.to_string_lossy().replace('\\', "/"))
                .unwrap_or(path);
            (rel, text)
        })
        .collect()
}

/// Render every diagnostic of a compilation as a person sees it, without colour.
pub fn render_diagnostics(compiled: &ward::Compiled) -> String {
    let renderer = ward::render::Renderer::new(&compiled.files, false);
    compiled
        .diagnostics
        .iter()
        .map(|d| renderer.human(d))
        .collect::<Vec<_>>()
        .join("\n")
}

/// The name of a case for snapshots and messages: its file stem or directory name.
pub fn case_name(case: &Path) -> String {
    case.file_stem()
        .map(|s| s.to_string_lossy().into_owned())
        .unwrap_or_default()
}

/// Every diagnostic code listed in the tables of `docs/diagnostics.md` (a row starting with
/// `| E0123 |`), so that tests can insist each one has a corpus case. Rows whose example is
/// `—` are internal errors no policy can provoke, and are left out.
pub fn documented_codes() -> BTreeSet<String> {
    let path = repo_dir().join("docs/diagnostics.md");
    let text = std::fs::read_to_string(&path).expect("docs/diagnostics.md is readable");
    let mut codes = BTreeSet::new();
    for line in text.lines() {
        let Some(rest) = line.trim_start().strip_prefix('|') else {
            continue;
        };
        let cells: Vec<&str> = rest.split('|').map(str::trim).collect();
        let cell = cells.first().copied().unwrap_or("").trim_matches('`');
        if cells.get(2) == Some(&"—") {
            continue;
        }
        let well_formed = cell.len() == 5
            && cell.starts_with(['E', 'W'])
            && cell[1..].chars().all(|c| c.is_ascii_digit());
        if well_formed {
            codes.insert(cell.to_owned());
        }
    }
    assert!(
        codes.len() > 20,
        "found only {} codes in {}",
        codes.len(),
        path.display()
    );
    codes
}
