//! Dependency fences (DESIGN.md): the runtime knows nothing of the parser, salsa, miette or
//! the LSP; the syntax crate knows nothing of salsa.

use std::process::Command;

fn deps_of(package: &str) -> String {
    let out = Command::new(env!("CARGO"))
        .args([
            "tree",
            "--offline",
            "-e",
            "normal",
            "--prefix",
            "none",
            "-p",
            package,
        ])
        .current_dir(ward_tests::repo_dir())
        .output()
        .expect("cargo runs");
    assert!(
        out.status.success(),
        "cargo tree failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).into_owned()
}

fn assert_free_of(package: &str, forbidden: &[&str]) {
    let tree = deps_of(package);
    for line in tree.lines() {
        let name = line.split_whitespace().next().unwrap_or("");
        assert!(
            !forbidden.contains(&name),
            "`{package}` depends on `{name}`:\n{tree}"
        );
    }
}

#[test]
fn runtime_is_fenced() {
    assert_free_of(
        "ward-runtime",
        &[
            "pest",
            "pest_derive",
            "salsa",
            "miette",
            "lsp-types",
            "lsp-server",
            "ward-syntax",
            "ward-check",
        ],
    );
}

#[test]
fn syntax_is_fenced() {
    assert_free_of(
        "ward-syntax",
        &["salsa", "miette", "lsp-types", "lsp-server"],
    );
}

#[test]
fn ir_is_fenced() {
    assert_free_of("ward-ir", &["pest", "salsa", "miette", "ward-syntax"]);
}
