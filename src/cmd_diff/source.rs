//! Where a version of a policy set comes from: a directory (or `.ward` file) on disk, or a git
//! revision read through `git` without touching the work tree or the index.
//!
//! An argument that names an existing file or directory is read from disk. Otherwise it is a
//! revision: `REV:PATH` is read as git reads it (PATH from the repository's root, `REV:./PATH`
//! from the current directory), and a bare `REV` means the `--path` directory (default: the
//! current directory) at that revision. Only git's read-only plumbing runs: `rev-parse`,
//! `cat-file` and `ls-tree`.

use std::io::{BufRead, BufReader, Read, Write};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use crate::CliError;

/// A version of a policy set, read.
#[derive(Debug)]
pub(super) struct Loaded {
    /// How the version is named in reports: the path, or `REV:PATH`.
    pub label: String,
    /// The commit, for a revision.
    pub commit: Option<String>,
    /// `(path, text)` in sorted path order, as `ward check` reads a directory.
    pub files: Vec<(String, String)>,
}

/// Reads the version `spec` names; `default_path` is the directory a bare revision means.
pub(super) fn load(spec: &str, default_path: &Path) -> Result<Loaded, CliError> {
    let path = Path::new(spec);
    if std::fs::symlink_metadata(path).is_ok() {
        return Ok(Loaded {
            label: spec.to_owned(),
            commit: None,
            files: crate::load(path)?,
        });
    }
    let (rev, object_path, shown) = match spec.split_once(':') {
        Some((rev, inside)) if !rev.is_empty() => (rev, inside.to_owned(), inside.to_owned()),
        _ => {
            let relative = default_path.to_str().ok_or_else(|| {
                CliError::new(format!(
                    "`--path {}` is not UTF-8, which git revisions cannot name",
                    default_path.display()
                ))
            })?;
            if default_path.is_absolute() {
                return Err(CliError::new(format!(
                    "`--path {relative}` must be relative: it names a directory inside the \
                     repository at each revision"
                )));
            }
            let inside = match relative.trim_start_matches("./") {
                "" | "." => "./".to_owned(),
                rest => format!("./{rest}"),
            };
            (spec, inside, relative.to_owned())
        }
    };
    let commit = resolve_commit(spec, rev)?;
    let label = if spec.contains(':') {
        spec.to_owned()
    } else {
        format!("{rev}:{shown}")
    };
    let object = git(&[
        "rev-parse",
        "--verify",
        "--quiet",
        "--end-of-options",
        &format!("{commit}:{object_path}"),
    ])
    .ok()
    .map(|out| text_of(&out))
    .filter(|oid| !oid.is_empty())
    .ok_or_else(|| {
        CliError::new(format!(
            "`{shown}` does not exist at revision `{rev}`\n  help: `REV:PATH` names PATH from \
             the repository's root, `REV:./PATH` from the current directory; `--path` is \
             relative to the current directory"
        ))
    })?;
    let kind = text_of(&git(&["cat-file", "-t", &object])?);
    let base = Path::new(shown.trim_start_matches("./"));
    let base = if shown.starts_with("./") && base.as_os_str().is_empty() {
        Path::new(".")
    } else {
        base
    };
    let entries: Vec<(PathBuf, String)> = match kind.as_str() {
        "blob" => vec![(base.to_path_buf(), object)],
        "tree" => {
            let mut entries = Vec::new();
            let listing = git(&["ls-tree", "-r", "-z", "--full-tree", &object])?;
            for entry in listing.split(|&b| b == 0).filter(|e| !e.is_empty()) {
                let entry = String::from_utf8_lossy(entry);
                let Some((meta, name)) = entry.split_once('\t') else {
                    continue;
                };
                if !name.ends_with(".ward") {
                    continue;
                }
                let mut meta = meta.split(' ');
                let (mode, kind, oid) = (meta.next(), meta.next(), meta.next());
                let shown_path = base.join(name);
                match (mode, kind, oid) {
                    (Some("100644" | "100755"), Some("blob"), Some(oid)) => {
                        entries.push((shown_path, oid.to_owned()));
                    }
                    _ => {
                        let _ = writeln!(
                            std::io::stderr(),
                            "warning: skipped `{}` at revision `{rev}`: it is not a regular \
                             file (links are not followed in a revision)",
                            shown_path.display()
                        );
                    }
                }
            }
            entries.sort();
            entries
        }
        other => {
            return Err(CliError::new(format!(
                "`{shown}` at revision `{rev}` is a {other}, not a file or directory"
            )));
        }
    };
    if entries.is_empty() {
        return Err(CliError::new(format!(
            "no `.ward` files in `{shown}` at revision `{rev}`"
        )));
    }
    let texts = read_blobs(&entries, rev)?;
    let files = entries
        .iter()
        .zip(texts)
        .map(|((path, _), text)| (path.display().to_string(), text))
        .collect();
    Ok(Loaded {
        label,
        commit: Some(commit),
        files,
    })
}

/// The commit `rev` names; an error that says what `spec` could have been otherwise.
fn resolve_commit(spec: &str, rev: &str) -> Result<String, CliError> {
    let help = "help: name a directory of `.ward` files, or a git revision such as `HEAD~1`, \
                `main` or `origin/main:policies`";
    let found = git(&[
        "rev-parse",
        "--verify",
        "--quiet",
        "--end-of-options",
        &format!("{rev}^{{commit}}"),
    ]);
    match found {
        Ok(out) if !text_of(&out).is_empty() => Ok(text_of(&out)),
        Err(GitError::Spawn(e)) => Err(CliError::new(format!(
            "`{spec}` is not a file or directory, and git cannot be run to read it as a \
             revision: {e}\n  help: install git, or name a directory of `.ward` files"
        ))),
        _ if git(&["rev-parse", "--git-dir"]).is_err() => Err(CliError::new(format!(
            "`{spec}` is not a file or directory, and the current directory is not in a git \
             repository\n  {help}"
        ))),
        _ => Err(CliError::new(format!(
            "`{spec}` is neither a file or directory nor a revision of this git repository\n  \
             {help}"
        ))),
    }
}

/// The texts of `entries`' blobs, in order, through one `git cat-file --batch`.
fn read_blobs(entries: &[(PathBuf, String)], rev: &str) -> Result<Vec<String>, CliError> {
    let mut child = Command::new("git")
        .args(["cat-file", "--batch"])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .map_err(|e| CliError::new(format!("cannot run `git cat-file`: {e}")))?;
    let (Some(mut stdin), Some(stdout)) = (child.stdin.take(), child.stdout.take()) else {
        return Err(CliError::new("cannot talk to `git cat-file`"));
    };
    let ids: String = entries.iter().map(|(_, oid)| format!("{oid}\n")).collect();
    let texts = std::thread::scope(|scope| {
        // Written from another thread: git answers while it reads, and a full pipe on either
        // side must not stop the other.
        scope.spawn(move || {
            let _ = stdin.write_all(ids.as_bytes());
        });
        let mut out = BufReader::new(stdout);
        let read = read_answers(&mut out, entries, rev);
        if read.is_err() {
            // Unblocks the writer thread, whose pipe nobody reads any more.
            let _ = child.kill();
        }
        read
    });
    let _ = child.wait();
    texts
}

/// The answers of `git cat-file --batch` to `entries`, in order.
fn read_answers(
    out: &mut impl BufRead,
    entries: &[(PathBuf, String)],
    rev: &str,
) -> Result<Vec<String>, CliError> {
    let mut texts = Vec::with_capacity(entries.len());
    for (path, oid) in entries {
        let cannot = |why: &str| {
            CliError::new(format!(
                "cannot read `{}` at revision `{rev}`: {why}",
                path.display()
            ))
        };
        let mut header = String::new();
        out.read_line(&mut header)
            .map_err(|e| cannot(&e.to_string()))?;
        let mut fields = header.split_whitespace();
        let (id, kind, size) = (fields.next(), fields.next(), fields.next());
        let size = match (id, kind, size) {
            (Some(id), Some("blob"), Some(size)) if id == oid => size
                .parse::<u64>()
                .map_err(|_| cannot("git answered with an unexpected header"))?,
            _ => return Err(cannot("git has no such object")),
        };
        let mut bytes = Vec::new();
        out.by_ref()
            .take(size)
            .read_to_end(&mut bytes)
            .map_err(|e| cannot(&e.to_string()))?;
        let mut newline = [0u8; 1];
        out.read_exact(&mut newline)
            .map_err(|e| cannot(&e.to_string()))?;
        let text = String::from_utf8(bytes).map_err(|e| {
            cannot(&format!(
                "it is not UTF-8 (bad byte at offset {})",
                e.utf8_error().valid_up_to()
            ))
        })?;
        texts.push(text);
    }
    Ok(texts)
}

#[derive(Debug)]
enum GitError {
    Spawn(std::io::Error),
    Failed(String),
}

impl From<GitError> for CliError {
    fn from(e: GitError) -> CliError {
        match e {
            GitError::Spawn(e) => CliError::new(format!("cannot run git: {e}")),
            GitError::Failed(why) => CliError::new(format!("git failed: {why}")),
        }
    }
}

/// Runs a read-only git command in the current directory; its stdout.
fn git(args: &[&str]) -> Result<Vec<u8>, GitError> {
    let out = Command::new("git")
        .args(args)
        .stdin(Stdio::null())
        .output()
        .map_err(GitError::Spawn)?;
    if out.status.success() {
        Ok(out.stdout)
    } else {
        Err(GitError::Failed(
            String::from_utf8_lossy(&out.stderr).trim().to_owned(),
        ))
    }
}

fn text_of(out: &[u8]) -> String {
    String::from_utf8_lossy(out).trim().to_owned()
}
