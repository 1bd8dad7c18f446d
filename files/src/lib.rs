//! `ward-files`: reads a policy set from disk — one `.ward` file, or every `.ward` file below a
//! directory, in sorted path order — for the CLI, the language server and embedders (through
//! `ward-embed`).
//!
//! It is the only code that walks policy directories, and what it finds there must not make it
//! loop, block or fail silently:
//!
//! - each real directory is entered once, so a symbolic-link loop ends, and a file that several
//!   links reach is read once (under the first of its paths in sorted order);
//! - a FIFO, socket or device file named `*.ward` is skipped with a [`LoadWarning`] instead of
//!   read (reading a FIFO blocks until a writer comes; `/dev/zero` never ends);
//! - a file that cannot be read — a dangling link, no permission, not UTF-8 — is an error that
//!   names that file, not its directory.
//!
//! It knows nothing of the language: its output is `(path, text)` pairs for
//! `ward_check::compile`, which does no file IO itself.

use std::collections::HashSet;
use std::fmt;
use std::fs::{self, Metadata};
use std::io;
use std::path::{Path, PathBuf};

/// What [`load_policy_set_with_warnings`] found: the files, and the entries it skipped.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct LoadedPolicySet {
    /// `(path, text)` in sorted path order; paths are the directory joined with the relative
    /// path, as found (not resolved through links).
    pub files: Vec<(String, String)>,
    /// Entries left out, each with the reason, in the order met.
    pub warnings: Vec<LoadWarning>,
}

/// An entry of a policy directory that was left out.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct LoadWarning {
    pub path: PathBuf,
    pub reason: SkipReason,
}

/// Why an entry was left out.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum SkipReason {
    /// A `*.ward` entry that is not a regular file (a FIFO, a socket, a device).
    NotARegularFile(FileKind),
    /// A symbolic link without the `.ward` extension whose target does not exist (it may have
    /// been a directory of policies, so it is reported rather than ignored).
    DanglingLink { target: PathBuf },
}

/// The kind of a file that is neither a regular file nor a directory.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum FileKind {
    Fifo,
    Socket,
    CharDevice,
    BlockDevice,
    Unknown,
}

impl FileKind {
    fn of(meta: &Metadata) -> FileKind {
        #[cfg(unix)]
        {
            use std::os::unix::fs::FileTypeExt;
            let ty = meta.file_type();
            if ty.is_fifo() {
                return FileKind::Fifo;
            }
            if ty.is_socket() {
                return FileKind::Socket;
            }
            if ty.is_char_device() {
                return FileKind::CharDevice;
            }
            if ty.is_block_device() {
                return FileKind::BlockDevice;
            }
        }
        let _ = meta;
        FileKind::Unknown
    }

    fn describe(self) -> &'static str {
        match self {
            FileKind::Fifo => "a FIFO (named pipe)",
            FileKind::Socket => "a socket",
            FileKind::CharDevice => "a character device",
            FileKind::BlockDevice => "a block device",
            FileKind::Unknown => "not a regular file",
        }
    }
}

impl fmt::Display for LoadWarning {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.reason {
            SkipReason::NotARegularFile(kind) => write!(
                f,
                "skipped `{}`: it is {}, not a policy file",
                self.path.display(),
                kind.describe()
            ),
            SkipReason::DanglingLink { target } => write!(
                f,
                "skipped `{}`: it is a symbolic link to `{}`, which does not exist",
                self.path.display(),
                target.display()
            ),
        }
    }
}

/// A policy set that cannot be read. The path is the entry at fault: the missing root, the
/// dangling link, the unreadable file or directory.
#[derive(Debug, thiserror::Error)]
#[error("cannot read `{}`: {problem}", .path.display())]
pub struct PolicyLoadError {
    path: PathBuf,
    problem: Problem,
}

impl PolicyLoadError {
    /// The entry that could not be read.
    pub fn path(&self) -> &Path {
        &self.path
    }

    fn new(path: &Path, problem: Problem) -> PolicyLoadError {
        PolicyLoadError {
            path: path.to_path_buf(),
            problem,
        }
    }

    fn io(path: &Path, err: io::Error) -> PolicyLoadError {
        PolicyLoadError::new(path, Problem::Io(err))
    }
}

/// So that `?` works in a function returning `std::io::Result`.
impl From<PolicyLoadError> for io::Error {
    fn from(err: PolicyLoadError) -> io::Error {
        let kind = match &err.problem {
            Problem::Io(e) => e.kind(),
            Problem::DanglingLink { .. } => io::ErrorKind::NotFound,
            Problem::NotUtf8 { .. } => io::ErrorKind::InvalidData,
            Problem::NotAFileOrDirectory(_) => io::ErrorKind::InvalidInput,
        };
        io::Error::new(kind, err)
    }
}

#[derive(Debug)]
enum Problem {
    Io(io::Error),
    DanglingLink { target: PathBuf },
    NotUtf8 { offset: usize },
    NotAFileOrDirectory(FileKind),
}

impl fmt::Display for Problem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Problem::Io(e) => f.write_str(&describe_io(e)),
            Problem::DanglingLink { target } => write!(
                f,
                "it is a symbolic link to `{}`, which does not exist",
                target.display()
            ),
            Problem::NotUtf8 { offset } => {
                write!(f, "it is not UTF-8 text (bad byte at offset {offset})")
            }
            Problem::NotAFileOrDirectory(kind) => write!(
                f,
                "it is {}, not a `.ward` file or a directory",
                kind.describe()
            ),
        }
    }
}

impl std::error::Error for Problem {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            Problem::Io(e) => Some(e),
            _ => None,
        }
    }
}

/// An IO error in the house style: lowercase, without the `(os error N)` suffix.
fn describe_io(err: &io::Error) -> String {
    match err.kind() {
        io::ErrorKind::NotFound => return "no such file or directory".to_owned(),
        io::ErrorKind::PermissionDenied => return "permission denied".to_owned(),
        _ => {}
    }
    let text = err.to_string();
    let text = match text.rfind(" (os error ") {
        Some(at) if text.ends_with(')') => text.get(..at).unwrap_or(&text).to_owned(),
        _ => text,
    };
    let mut chars = text.chars();
    match chars.next() {
        Some(first) => first.to_lowercase().chain(chars).collect(),
        None => "unknown error".to_owned(),
    }
}

/// Reads a policy set: the file `path`, or every `*.ward` file below the directory `path`, in
/// sorted path order. Entries that were skipped (see [`load_policy_set_with_warnings`]) are
/// left out silently; an embedder that shows warnings should call that function instead.
pub fn load_policy_set(path: &Path) -> Result<Vec<(String, String)>, PolicyLoadError> {
    load_policy_set_with_warnings(path).map(|set| set.files)
}

/// Like [`load_policy_set`], with the entries that were skipped.
///
/// `path` itself may be a file of any name (it is read as Ward source) or a directory;
/// anything else, or a path that does not exist, is an error naming it.
pub fn load_policy_set_with_warnings(path: &Path) -> Result<LoadedPolicySet, PolicyLoadError> {
    let meta = metadata_following_links(path)?;
    let mut set = LoadedPolicySet::default();
    if meta.is_file() {
        set.files.push((display(path), read_text(path)?));
        return Ok(set);
    }
    if !meta.is_dir() {
        return Err(PolicyLoadError::new(
            path,
            Problem::NotAFileOrDirectory(FileKind::of(&meta)),
        ));
    }
    let mut walk = Walk {
        visited_dirs: HashSet::new(),
        found: Vec::new(),
        warnings: Vec::new(),
    };
    walk.dir(path)?;
    walk.found.sort();
    let mut seen_files = HashSet::new();
    for (found, real) in walk.found {
        if seen_files.insert(real) {
            let text = read_text(&found)?;
            set.files.push((display(&found), text));
        }
    }
    set.warnings = walk.warnings;
    Ok(set)
}

struct Walk {
    /// Canonical paths of the directories entered.
    visited_dirs: HashSet<PathBuf>,
    /// `*.ward` regular files: the path as found and its canonical path.
    found: Vec<(PathBuf, PathBuf)>,
    warnings: Vec<LoadWarning>,
}

impl Walk {
    fn dir(&mut self, dir: &Path) -> Result<(), PolicyLoadError> {
        let real = fs::canonicalize(dir).map_err(|e| PolicyLoadError::io(dir, e))?;
        if !self.visited_dirs.insert(real) {
            return Ok(());
        }
        let mut entries = Vec::new();
        for entry in fs::read_dir(dir).map_err(|e| PolicyLoadError::io(dir, e))? {
            let entry = entry.map_err(|e| PolicyLoadError::io(dir, e))?;
            entries.push((entry.file_name(), entry.path()));
        }
        entries.sort();
        for (_, path) in entries {
            self.entry(&path)?;
        }
        Ok(())
    }

    fn entry(&mut self, path: &Path) -> Result<(), PolicyLoadError> {
        let is_ward = path.extension().is_some_and(|e| e == "ward");
        let meta = match fs::metadata(path) {
            Ok(meta) => meta,
            Err(e) if e.kind() == io::ErrorKind::NotFound => {
                // `metadata` follows links: the entry exists, its target does not.
                let target = fs::read_link(path).map_err(|_| PolicyLoadError::io(path, e))?;
                if is_ward {
                    return Err(PolicyLoadError::new(path, Problem::DanglingLink { target }));
                }
                self.warnings.push(LoadWarning {
                    path: path.to_path_buf(),
                    reason: SkipReason::DanglingLink { target },
                });
                return Ok(());
            }
            Err(e) => return Err(PolicyLoadError::io(path, e)),
        };
        if meta.is_dir() {
            return self.dir(path);
        }
        if !is_ward {
            return Ok(());
        }
        if meta.is_file() {
            let real = fs::canonicalize(path).map_err(|e| PolicyLoadError::io(path, e))?;
            self.found.push((path.to_path_buf(), real));
        } else {
            self.warnings.push(LoadWarning {
                path: path.to_path_buf(),
                reason: SkipReason::NotARegularFile(FileKind::of(&meta)),
            });
        }
        Ok(())
    }
}

/// The metadata of `path` through links; a dangling link or a missing path is an error naming
/// `path`.
fn metadata_following_links(path: &Path) -> Result<Metadata, PolicyLoadError> {
    fs::metadata(path).map_err(|e| match fs::read_link(path) {
        Ok(target) if e.kind() == io::ErrorKind::NotFound => {
            PolicyLoadError::new(path, Problem::DanglingLink { target })
        }
        _ => PolicyLoadError::io(path, e),
    })
}

fn read_text(path: &Path) -> Result<String, PolicyLoadError> {
    let bytes = fs::read(path).map_err(|e| PolicyLoadError::io(path, e))?;
    String::from_utf8(bytes).map_err(|e| {
        let offset = e.utf8_error().valid_up_to();
        PolicyLoadError::new(path, Problem::NotUtf8 { offset })
    })
}

fn display(path: &Path) -> String {
    path.to_string_lossy().into_owned()
}

#[cfg(test)]
mod tests;
