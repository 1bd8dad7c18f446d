//! `ward lsp` as an editor runs it: the binary over stdio, driven by a scripted client
//! (`stdio.rs`, the session recorded as an insta snapshot), on policies past the depth budget
//! (`deep.rs`) and by a real Neovim
//! (`neovim.rs`). It belongs to the root package because only there is the binary's path known.

mod deep;
mod neovim;
mod stdio;

use std::path::PathBuf;

fn ward() -> PathBuf {
    PathBuf::from(env!("CARGO_BIN_EXE_ward"))
}

/// A fresh folder under the system's temporary directory.
fn tempdir(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("ward-lsp-{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

/// Says that `what` is missing: panics when the suite requires external parts
/// (`scripts/test.sh`), else prints that the test is skipped. Returns `false` to skip.
fn external(what: &str, how: &str) -> bool {
    if std::env::var("WARD_TEST_EXTERNAL").as_deref() == Ok("require") {
        panic!("{what} is missing: {how}");
    }
    eprintln!("skipped: {what} is missing ({how})");
    false
}

/// A broken policy: a misspelt attribute, and a rule cut short where completion is asked.
const BROKEN: &str = "\
/// A person.
entity Identity {
  /// Display name.
  name: String
  title: String
}

action disable_account { target: Identity }

rule exec { on disable_account when target.nmae == \"x\" deny }

rule typing {
  on disable_account
  when target.
";
