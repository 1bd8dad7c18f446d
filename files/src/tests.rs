//! Loading policy directories on real folders in the temporary directory: order, links, loops,
//! special files and the errors that name the entry at fault.

use std::path::{Path, PathBuf};
use std::sync::mpsc;
use std::time::Duration;

use super::*;

/// A fresh, empty folder for one test.
fn scratch(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("ward-files-{}-{name}", std::process::id()));
    let _ = fs::remove_dir_all(&dir);
    fs::create_dir_all(&dir).unwrap();
    dir
}

fn write(path: &Path, text: &str) {
    if let Some(parent) = path.parent() {
        fs::create_dir_all(parent).unwrap();
    }
    fs::write(path, text).unwrap();
}

/// Paths relative to `dir`, in the order loaded.
fn names(dir: &Path, files: &[(String, String)]) -> Vec<String> {
    files
        .iter()
        .map(|(p, _)| {
            Path::new(p)
                .strip_prefix(dir)
                .unwrap()
                .to_string_lossy()
                .into_owned()
        })
        .collect()
}

/// Runs `load_policy_set_with_warnings` on another thread, so that a regression that blocks
/// (a FIFO read, `/dev/zero`) fails the test instead of hanging it.
fn load_bounded(path: &Path) -> Result<LoadedPolicySet, PolicyLoadError> {
    let (tx, rx) = mpsc::channel();
    let path = path.to_path_buf();
    std::thread::spawn(move || {
        let _ = tx.send(load_policy_set_with_warnings(&path));
    });
    rx.recv_timeout(Duration::from_secs(20))
        .expect("loading a policy directory blocked for 20 s")
}

#[test]
fn reads_ward_files_below_a_directory_in_sorted_order() {
    let dir = scratch("order");
    write(&dir.join("b/z.ward"), "const z = 1");
    write(&dir.join("a.ward"), "const a = 1");
    write(&dir.join("a/m.ward"), "const m = 1");
    write(&dir.join("notes.txt"), "not ward");
    let files = load_policy_set(&dir).unwrap();
    assert_eq!(names(&dir, &files), ["a/m.ward", "a.ward", "b/z.ward"]);
    assert_eq!(files[1].1, "const a = 1");
    fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn a_single_file_of_any_name_is_read() {
    let dir = scratch("single");
    write(&dir.join("policy.txt"), "const a = 1");
    let files = load_policy_set(&dir.join("policy.txt")).unwrap();
    assert_eq!(files.len(), 1);
    assert_eq!(files[0].1, "const a = 1");
    fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn a_missing_path_is_named() {
    let dir = scratch("missing");
    let missing = dir.join("no-such-dir");
    let err = load_policy_set(&missing).unwrap_err();
    assert_eq!(err.path(), missing);
    assert_eq!(
        err.to_string(),
        format!(
            "cannot read `{}`: no such file or directory",
            missing.display()
        )
    );
    let io: io::Error = err.into();
    assert_eq!(io.kind(), io::ErrorKind::NotFound);
    fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn a_file_that_is_not_utf8_is_named() {
    let dir = scratch("utf8");
    write(&dir.join("good.ward"), "const a = 1");
    fs::write(dir.join("bad.ward"), b"const a = \"\xff\"").unwrap();
    let err = load_policy_set(&dir).unwrap_err();
    assert_eq!(err.path(), dir.join("bad.ward"));
    assert!(
        err.to_string()
            .ends_with("bad.ward`: it is not UTF-8 text (bad byte at offset 11)"),
        "{err}"
    );
    fs::remove_dir_all(&dir).unwrap();
}

#[cfg(unix)]
mod unix {
    use std::os::unix::fs::{PermissionsExt, symlink};
    use std::process::Command;

    use super::*;

    #[test]
    fn symbolic_link_loops_end_and_each_real_directory_is_read_once() {
        let dir = scratch("loops");
        write(&dir.join("a/x.ward"), "const x = 1");
        write(&dir.join("b/y.ward"), "const y = 1");
        symlink("..", dir.join("a/up")).unwrap(); // a/up → the root: a loop
        symlink(".", dir.join("b/self")).unwrap(); // b/self → b: a loop
        symlink(dir.join("b"), dir.join("c")).unwrap(); // c → b: the same directory again
        symlink("../a", dir.join("a/again")).unwrap(); // a/again → a
        let set = load_bounded(&dir).unwrap();
        assert_eq!(names(&dir, &set.files), ["a/x.ward", "b/y.ward"]);
        assert!(set.warnings.is_empty(), "{:?}", set.warnings);
        fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn a_file_reached_by_several_links_is_loaded_once() {
        let dir = scratch("links");
        write(&dir.join("rules/z.ward"), "const z = 1");
        symlink("rules/z.ward", dir.join("a.ward")).unwrap();
        symlink(dir.join("rules/z.ward"), dir.join("b.ward")).unwrap();
        let files = load_policy_set(&dir).unwrap();
        // The first path in sorted order wins.
        assert_eq!(names(&dir, &files), ["a.ward"]);
        fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn a_dangling_link_named_ward_is_an_error_naming_it() {
        let dir = scratch("dangling");
        write(&dir.join("sub/ok.ward"), "const a = 1");
        symlink("nowhere.ward", dir.join("sub/gone.ward")).unwrap();
        let err = load_policy_set(&dir).unwrap_err();
        assert_eq!(err.path(), dir.join("sub/gone.ward"));
        assert!(
            err.to_string().ends_with(
                "sub/gone.ward`: it is a symbolic link to `nowhere.ward`, which does not exist"
            ),
            "{err}"
        );
        fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn a_dangling_link_of_another_name_is_a_warning() {
        let dir = scratch("dangling-dir");
        write(&dir.join("ok.ward"), "const a = 1");
        symlink("/no/such/policies", dir.join("team-a")).unwrap();
        let set = load_policy_set_with_warnings(&dir).unwrap();
        assert_eq!(names(&dir, &set.files), ["ok.ward"]);
        assert_eq!(set.warnings.len(), 1);
        assert!(
            set.warnings[0].to_string().ends_with(
                "team-a`: it is a symbolic link to `/no/such/policies`, which does not exist"
            ),
            "{}",
            set.warnings[0]
        );
        fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn a_dangling_root_is_named() {
        let dir = scratch("dangling-root");
        symlink("nowhere", dir.join("policies")).unwrap();
        let err = load_policy_set(&dir.join("policies")).unwrap_err();
        assert_eq!(err.path(), dir.join("policies"));
        fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn an_unreadable_file_is_named() {
        let dir = scratch("unreadable");
        write(&dir.join("ok.ward"), "const a = 1");
        let secret = dir.join("secret.ward");
        write(&secret, "const s = 1");
        fs::set_permissions(&secret, fs::Permissions::from_mode(0o000)).unwrap();
        if fs::read(&secret).is_ok() {
            // Root reads anything: no permission can make the file unreadable here.
            eprintln!("skipped: running as root, a mode-000 file is still readable");
        } else {
            let err = load_policy_set(&dir).unwrap_err();
            assert_eq!(err.path(), secret);
            assert!(err.to_string().ends_with("`: permission denied"), "{err}");
        }
        fs::set_permissions(&secret, fs::Permissions::from_mode(0o644)).unwrap();
        fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn fifos_and_devices_are_skipped_with_a_warning_instead_of_read() {
        let dir = scratch("special");
        write(&dir.join("ok.ward"), "const a = 1");
        let fifo = dir.join("pipe.ward");
        let status = Command::new("mkfifo").arg(&fifo).status().unwrap();
        assert!(status.success(), "mkfifo failed");
        symlink("/dev/zero", dir.join("zero.ward")).unwrap();
        symlink("/dev/null", dir.join("null")).unwrap(); // not `.ward`: ignored
        let set = load_bounded(&dir).unwrap();
        assert_eq!(names(&dir, &set.files), ["ok.ward"]);
        let warnings: Vec<String> = set.warnings.iter().map(ToString::to_string).collect();
        assert_eq!(warnings.len(), 2, "{warnings:?}");
        assert!(
            warnings[0].ends_with("pipe.ward`: it is a FIFO (named pipe), not a policy file"),
            "{warnings:?}"
        );
        assert!(
            warnings[1].ends_with("zero.ward`: it is a character device, not a policy file"),
            "{warnings:?}"
        );
        // Given directly, a FIFO is an error, not a read that waits for a writer.
        let err = load_bounded(&fifo).unwrap_err();
        assert!(
            err.to_string()
                .ends_with("it is a FIFO (named pipe), not a `.ward` file or a directory"),
            "{err}"
        );
        fs::remove_dir_all(&dir).unwrap();
    }
}
