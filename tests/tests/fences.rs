//! Dependency fences (ARCHITECTURE.md, "Boundaries"): the runtime knows nothing of the parser,
//! salsa, miette or the LSP; the syntax crate knows nothing of salsa; the lean library pulls in
//! no CLI, terminal or editor crate; the language server does not reach the runtime; only the
//! CLI's renderer uses miette; the checker does no file IO; the MCP guard reaches the service
//! only over HTTP.

use std::path::{Path, PathBuf};
use std::process::Command;

use ward_tests::repo_dir;

fn cargo_tree(args: &[&str]) -> String {
    let out = Command::new(env!("CARGO"))
        .args(["tree", "--offline", "-e", "normal", "--prefix", "none"])
        .args(args)
        .current_dir(repo_dir())
        .output()
        .expect("cargo runs");
    assert!(
        out.status.success(),
        "cargo tree failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).into_owned()
}

/// The package names in `cargo tree` output.
fn names(tree: &str) -> Vec<&str> {
    tree.lines()
        .filter_map(|line| line.split_whitespace().next())
        .collect()
}

fn assert_free_of(package: &str, forbidden: &[&str]) {
    let tree = cargo_tree(&["-p", package]);
    for name in names(&tree) {
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

/// What a service, a Python extension or an MCP guard links: no command line, no terminal
/// rendering, no language server.
#[test]
fn the_lean_library_pulls_in_no_cli_terminal_or_editor_crate() {
    assert_free_of(
        "ward-embed",
        &[
            "clap",
            "clap_builder",
            "clap_derive",
            "miette",
            "miette-derive",
            "lsp-server",
            "lsp-types",
            "ward-lsp",
            "ward",
        ],
    );
}

#[test]
fn the_policy_loader_depends_on_no_ward_crate() {
    let tree = cargo_tree(&["-p", "ward-files"]);
    for name in names(&tree) {
        assert!(
            name == "ward-files" || !name.starts_with("ward"),
            "`ward-files` depends on `{name}`:\n{tree}"
        );
    }
}

#[test]
fn the_language_server_does_not_reach_the_runtime() {
    assert_free_of(
        "ward-lsp",
        &[
            "ward-runtime",
            "ward-embed",
            "cranelift-codegen",
            "cranelift-jit",
        ],
    );
}

/// The MCP guard reaches `ward serve` over HTTP only: it knows neither the service's code (nor its
/// approvals store) nor any HTTP server, TLS or command-line crate.
#[test]
fn the_mcp_guard_talks_to_the_service_only_over_http() {
    assert_free_of(
        "ward-mcp",
        &[
            "ward-server",
            "axum",
            "hyper",
            "tokio",
            "rustls",
            "native-tls",
            "openssl",
            "clap",
            "miette",
        ],
    );
}

/// Only the `ward` package (the CLI) depends on miette directly, and within it only
/// `src/render.rs` names it.
#[test]
fn only_the_cli_renderer_uses_miette() {
    let tree = cargo_tree(&["--workspace", "-i", "miette", "--depth", "1"]);
    // Third-party dependents (the bench's Cedar) do not count: the bench is no part of Ward.
    let dependents: Vec<&str> = names(&tree)
        .into_iter()
        .filter(|n| n.starts_with("ward"))
        .collect();
    assert_eq!(dependents, ["ward"], "direct dependents of miette:\n{tree}");
    for file in rust_files(&repo_dir().join("src")) {
        let text = std::fs::read_to_string(&file).expect("readable");
        let is_renderer = file.ends_with("src/render.rs");
        assert!(
            is_renderer || !text.contains("miette"),
            "{} uses miette; terminal rendering belongs to src/render.rs",
            file.display()
        );
    }
}

/// What reading or writing files looks like in Rust source.
const FILE_IO: &[&str] = &[
    "std::fs",
    "fs::read",
    "fs::write",
    "fs::metadata",
    "File::open",
    "File::create",
    "OpenOptions",
    "read_dir",
    "read_link",
    ".is_file()",
    ".is_dir()",
    ".exists()",
    ".metadata()",
    "canonicalize(",
];

/// The compiler crates take `(path, text)` pairs; files are read at the edge (`ward-files`).
/// Clippy enforces the same for `ward-check` (`compiler/check/clippy.toml`), which must keep
/// forbidding the ways in.
#[test]
fn the_compiler_crates_do_no_file_io() {
    for krate in ["compiler/syntax", "compiler/ir", "compiler/check"] {
        for file in rust_files(&repo_dir().join(krate).join("src")) {
            let text = std::fs::read_to_string(&file).expect("readable");
            for (n, line) in text.lines().enumerate() {
                let code = line.split("//").next().unwrap_or("");
                for pattern in FILE_IO {
                    assert!(
                        !code.contains(pattern),
                        "{}:{}: `{pattern}` — the compiler does no file IO (read files in \
                         `ward-files`):\n{line}",
                        file.display(),
                        n + 1
                    );
                }
            }
        }
    }
    let clippy = std::fs::read_to_string(repo_dir().join("compiler/check/clippy.toml"))
        .expect("compiler/check/clippy.toml exists");
    for method in [
        "std::fs::read",
        "std::fs::read_to_string",
        "std::fs::read_dir",
        "std::fs::metadata",
        "std::path::Path::exists",
        "std::path::Path::is_file",
        "std::path::Path::is_dir",
        "std::fs::File",
        "std::fs::OpenOptions",
    ] {
        assert!(
            clippy.contains(&format!("path = \"{method}\"")),
            "compiler/check/clippy.toml no longer forbids `{method}`"
        );
    }
}

/// Every `.rs` file below `dir`, sorted.
fn rust_files(dir: &Path) -> Vec<PathBuf> {
    let mut out = Vec::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(dir) = stack.pop() {
        for entry in std::fs::read_dir(&dir).expect("readable directory") {
            let path = entry.expect("readable entry").path();
            if path.is_dir() {
                stack.push(path);
            } else if path.extension().is_some_and(|e| e == "rs") {
                out.push(path);
            }
        }
    }
    out.sort();
    out
}
