//! Fences around the service crates: the log knows no other Ward crate and no HTTP; the server
//! reaches the compiler and the runtime only through `src/policy.rs`, and pulls in no TLS
//! stack, no terminal rendering and no language server.

use std::path::Path;
use std::process::Command;

fn deps_of(package: &str) -> Vec<String> {
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
        .current_dir(Path::new(env!("CARGO_MANIFEST_DIR")).join(".."))
        .output()
        .expect("cargo runs");
    assert!(
        out.status.success(),
        "cargo tree failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout)
        .lines()
        .filter_map(|l| l.split_whitespace().next().map(str::to_owned))
        .collect()
}

#[test]
fn the_log_knows_no_http_and_no_policy() {
    for name in deps_of("ward-log") {
        let other_ward_crate = name.starts_with("ward-") && name != "ward-log";
        let http = ["tokio", "hyper", "axum", "notify"].contains(&name.as_str());
        assert!(!other_ward_crate && !http, "`ward-log` depends on `{name}`");
    }
}

#[test]
fn the_server_has_no_tls_rendering_or_language_server() {
    for name in deps_of("ward-server") {
        assert!(
            ![
                "openssl",
                "openssl-sys",
                "native-tls",
                "rustls",
                "miette",
                "ward-lsp",
                "lsp-server",
                "lsp-types",
                "ward"
            ]
            .contains(&name.as_str()),
            "`ward-server` depends on `{name}`"
        );
    }
}

#[test]
fn only_the_policy_module_touches_the_compiler_and_the_runtime() {
    let mut files = Vec::new();
    let mut dirs = vec![Path::new(env!("CARGO_MANIFEST_DIR")).join("src")];
    while let Some(dir) = dirs.pop() {
        for entry in std::fs::read_dir(&dir).unwrap() {
            let path = entry.unwrap().path();
            if path.is_dir() {
                dirs.push(path);
            } else if path.extension().is_some_and(|x| x == "rs") {
                files.push(path);
            }
        }
    }
    assert!(files.len() > 10, "{files:?}");
    for path in files {
        if path.file_name().is_some_and(|n| n == "policy.rs") {
            continue;
        }
        let text = std::fs::read_to_string(&path).unwrap();
        for crate_name in [
            "ward_embed",
            "ward_check",
            "ward_runtime",
            "ward_ir",
            "ward_syntax",
        ] {
            assert!(
                !text.contains(&format!("{crate_name}::")),
                "{} uses `{crate_name}` directly; go through `policy`",
                path.display()
            );
        }
    }
}
