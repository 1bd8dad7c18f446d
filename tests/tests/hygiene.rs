//! Rules that keep the repository honest, as tests: it stands alone (nothing points at
//! documents outside it), CI runs what the README says it runs, and the runtime's no-panic
//! lints sit where every build and clippy see them.

use std::path::{Path, PathBuf};
use std::process::Command;

use ward_tests::repo_dir;

/// References to documents that are not in the repository. Spelled in pieces so that this file
/// does not match itself.
const OUTSIDE: &[&str] = &[
    concat!("..", "/shared"),
    concat!("/work", "/shared"),
    concat!("spec", " §"),
    concat!("Spec", " §"),
    concat!("the spec", "'s"),
    concat!("the spec", " says"),
    concat!("benchmark", " spec"),
    concat!("LANGUAGE", ".md"),
    concat!("BENCH", ".md"),
    concat!("DESIGN", ".md"),
    concat!("SERVICE", ".md"),
    concat!("STYLE", ".md"),
    concat!("CRATES", ".md"),
];

/// Every tracked file (`git ls-files`); without git (an exported tree), every file below the
/// root but build outputs.
fn tracked_files() -> Vec<PathBuf> {
    let root = repo_dir();
    let listed = Command::new("git")
        .args(["ls-files", "-z"])
        .current_dir(&root)
        .output()
        .ok()
        .filter(|out| out.status.success() && !out.stdout.is_empty());
    match listed {
        Some(out) => out
            .stdout
            .split(|&b| b == 0)
            .filter(|p| !p.is_empty())
            .map(|p| root.join(String::from_utf8_lossy(p).as_ref()))
            .collect(),
        None => {
            let mut out = Vec::new();
            walk(&root, &mut out);
            out
        }
    }
}

fn walk(dir: &Path, out: &mut Vec<PathBuf>) {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return;
    };
    for entry in entries.flatten() {
        let path = entry.path();
        let name = entry.file_name();
        if name == "target" || name == ".git" {
            continue;
        }
        if path.is_dir() {
            walk(&path, out);
        } else {
            out.push(path);
        }
    }
}

#[test]
fn the_repository_stands_alone() {
    let root = repo_dir();
    let mut found = Vec::new();
    let mut scanned = 0;
    for file in tracked_files() {
        // Binary files (and files deleted but not yet committed) are not text to read.
        let Ok(text) = std::fs::read_to_string(&file) else {
            continue;
        };
        scanned += 1;
        for (n, line) in text.lines().enumerate() {
            for pattern in OUTSIDE {
                if line.contains(pattern) {
                    let rel = file.strip_prefix(&root).unwrap_or(&file);
                    found.push(format!(
                        "{}:{}: `{pattern}`: {}",
                        rel.display(),
                        n + 1,
                        line.trim()
                    ));
                }
            }
        }
    }
    assert!(scanned > 100, "only {scanned} text files found");
    assert!(
        found.is_empty(),
        "these lines point at documents outside the repository; refer to docs/language.md, \
         docs/decisions.md, ARCHITECTURE.md, bench/src/lib.rs … instead:\n{}",
        found.join("\n")
    );
}

fn read(path: &str) -> String {
    std::fs::read_to_string(repo_dir().join(path)).unwrap_or_else(|e| panic!("{path}: {e}"))
}

/// `.ci/run` runs formatting, clippy and then the README's test command, in that order, and
/// the README says so.
#[test]
fn ci_runs_what_the_readme_says() {
    let fmt = "cargo fmt --all --check";
    let clippy = "cargo clippy --workspace --all-targets --locked -- -D warnings";
    let suite = "scripts/test.sh";
    let ci = read(".ci/run");
    let commands: Vec<&str> = ci
        .lines()
        .map(str::trim)
        .filter(|l| {
            !l.is_empty() && !l.starts_with('#') && !l.starts_with("set ") && !l.starts_with("cd ")
        })
        .collect();
    assert_eq!(commands, [fmt, clippy, suite], ".ci/run runs:\n{ci}");
    let readme = read("README.md").replace("--\n", "-- ");
    for command in [fmt, clippy] {
        assert!(
            readme.contains(command),
            "README.md does not mention `{command}`"
        );
    }
    assert!(
        readme.contains(&format!("```sh\n{suite}\n```")),
        "README.md does not give `{suite}` as the test command"
    );
    let test_sh = read("scripts/test.sh");
    assert!(
        test_sh.contains("export WARD_TEST_EXTERNAL=require"),
        "{test_sh}"
    );
    assert!(test_sh.contains("cargo test --locked"), "{test_sh}");
    assert!(test_sh.contains("scripts/test.d/*.sh"), "{test_sh}");
}

/// The lines of a `[section]` of a TOML file, up to the next section.
fn section<'a>(toml: &'a str, name: &str) -> Vec<&'a str> {
    toml.lines()
        .skip_while(|l| l.trim() != format!("[{name}]"))
        .skip(1)
        .take_while(|l| !l.trim_start().starts_with('['))
        .map(str::trim)
        .filter(|l| !l.is_empty() && !l.starts_with('#'))
        .collect()
}

/// The runtime's no-panic rules are lints of its manifest, which every build and clippy read
/// (a crate attribute guarded by `cfg` is easy to lose), and it keeps every workspace lint.
#[test]
fn the_runtime_denies_panics_in_its_manifest() {
    let runtime = read("runtime/Cargo.toml");
    let clippy = section(&runtime, "lints.clippy");
    for lint in ["unwrap_used", "expect_used", "panic", "indexing_slicing"] {
        assert!(
            clippy.contains(&format!("{lint} = \"deny\"").as_str()),
            "runtime/Cargo.toml does not deny `clippy::{lint}`: {clippy:?}"
        );
    }
    let workspace = read("Cargo.toml");
    for table in ["lints.rust", "lints.clippy"] {
        let mine = section(&runtime, table);
        for lint in section(&workspace, &format!("workspace.{table}")) {
            assert!(
                mine.contains(&lint),
                "runtime/Cargo.toml `[{table}]` lacks the workspace lint `{lint}`"
            );
        }
    }
    let lib = read("runtime/src/lib.rs");
    assert!(
        !lib.contains("deny(") && !lib.contains("not(test)"),
        "runtime/src/lib.rs configures the no-panic lints itself; they belong in Cargo.toml"
    );
}

/// In every rendered diagnostic of the corpus (`tests/snapshots/check_fail`), each connector
/// under a source line (`│`, `╰`) hangs from a labelled span (`┬` or `▲` above it): none leads
/// to no text, as the one miette drew for a span without a label did.
#[test]
fn diagnostic_snippets_have_no_stray_connector() {
    let dir = repo_dir().join("tests/snapshots/check_fail");
    let mut checked = 0;
    let mut stray = Vec::new();
    for snap in ward_tests::entries(&dir, "snap") {
        let text = std::fs::read_to_string(&snap).expect("readable snapshot");
        let Some((_, rendered)) = text.split_once("// ==== diagnostics") else {
            continue;
        };
        let rows: Vec<Vec<char>> = rendered.lines().map(|l| l.chars().collect()).collect();
        let is_marks = |row: &[char]| {
            let s: String = row.iter().collect();
            s.trim_start().starts_with('·')
        };
        let mut i = 0;
        while i < rows.len() {
            // An underline row follows a source row and opens a run of mark rows.
            if !is_marks(&rows[i]) || i == 0 || is_marks(&rows[i - 1]) {
                i += 1;
                continue;
            }
            let underline = &rows[i];
            let mut j = i + 1;
            while j < rows.len() && is_marks(&rows[j]) {
                let row = &rows[j];
                let multi_line = row.contains(&'▶');
                let bar = row.iter().position(|&c| c == '·').unwrap_or(0);
                if !multi_line {
                    for (col, &c) in row.iter().enumerate().skip(bar + 1) {
                        if c == '╰' || c == '│' {
                            let above = underline.get(col).copied().unwrap_or(' ');
                            if above != '┬' && above != '▲' {
                                stray.push(format!(
                                    "{}:\n{}\n{}",
                                    snap.file_name().unwrap_or_default().to_string_lossy(),
                                    underline.iter().collect::<String>(),
                                    row.iter().collect::<String>()
                                ));
                            }
                        }
                        if c == '╰' {
                            break;
                        }
                    }
                }
                j += 1;
            }
            checked += 1;
            i = j;
        }
    }
    assert!(checked > 100, "only {checked} snippets found");
    assert!(
        stray.is_empty(),
        "stray connectors:\n{}",
        stray.join("\n\n")
    );
}
