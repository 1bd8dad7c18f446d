//! The decision log end to end: appends chain, concurrent appends share syncs, files rotate,
//! a torn tail is moved aside, and `verify` names the first changed, removed or reordered line.

use std::path::Path;
use std::sync::Arc;

use ward_log::{Durability, Filter, Kind, Log, LogConfig, ProblemKind, Record, verify};

fn record(n: u64) -> Record {
    Record::new(
        Kind::Decision,
        format!("dec_{n:04}"),
        1_796_119_200_000 + n as i64,
    )
    .field(
        "request",
        &serde_json::json!({"action": if n.is_multiple_of(2) { "reboot" } else { "patch" }}),
    )
    .unwrap()
    .field(
        "decision",
        &serde_json::json!({"decision": if n.is_multiple_of(3) { "deny" } else { "allow" }}),
    )
    .unwrap()
}

fn open(dir: &Path, max_file_bytes: u64) -> ward_log::Opened {
    Log::open(LogConfig {
        dir: dir.to_owned(),
        max_file_bytes,
        durability: Durability::Fsync,
    })
    .unwrap()
}

fn write_n(dir: &Path, n: u64, max_file_bytes: u64) {
    let opened = open(dir, max_file_bytes);
    for i in 1..=n {
        opened.log.append_blocking(record(i)).unwrap();
    }
    opened.log.close();
}

fn lines(dir: &Path) -> Vec<(std::path::PathBuf, Vec<String>)> {
    let mut files: Vec<_> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|x| x == "jsonl"))
        .collect();
    files.sort();
    files
        .into_iter()
        .map(|p| {
            let text = std::fs::read_to_string(&p).unwrap();
            (p, text.lines().map(str::to_owned).collect())
        })
        .collect()
}

fn rewrite(path: &Path, lines: &[String]) {
    let mut text = lines.join("\n");
    text.push('\n');
    std::fs::write(path, text).unwrap();
}

#[test]
fn appends_chain_and_verify() {
    let dir = tempfile::tempdir().unwrap();
    write_n(dir.path(), 10, 1 << 20);
    let report = verify(dir.path()).unwrap();
    assert_eq!(report.problem, None);
    assert_eq!(report.lines, 10);
    assert_eq!(report.head.seq, 10);
    // Reopening continues the chain.
    let opened = open(dir.path(), 1 << 20);
    assert_eq!(opened.torn, None);
    assert_eq!(opened.log.head(), report.head);
    let appended = opened.log.append_blocking(record(11)).unwrap();
    assert_eq!(appended.seq, 11);
    opened.log.close();
    assert_eq!(verify(dir.path()).unwrap().lines, 11);
}

#[test]
fn concurrent_appends_are_all_durable_and_in_one_chain() {
    let dir = tempfile::tempdir().unwrap();
    let opened = open(dir.path(), 1 << 20);
    let log = Arc::new(opened.log);
    let threads: Vec<_> = (0..8)
        .map(|t| {
            let log = Arc::clone(&log);
            std::thread::spawn(move || {
                (0..50)
                    .map(|i| log.append_blocking(record(t * 100 + i)).unwrap().seq)
                    .collect::<Vec<_>>()
            })
        })
        .collect();
    let mut seqs: Vec<u64> = threads
        .into_iter()
        .flat_map(|t| t.join().unwrap())
        .collect();
    seqs.sort();
    assert_eq!(seqs, (1..=400).collect::<Vec<_>>());
    log.close();
    let report = verify(dir.path()).unwrap();
    assert_eq!((report.lines, report.problem), (400, None));
}

/// Groups are written and synced by several threads, their syncs overlapping; a line is
/// reported durable only once every line before it is durable too, and it is in the file then.
#[test]
fn a_line_reported_durable_is_in_the_file_with_every_line_before_it() {
    let dir = tempfile::tempdir().unwrap();
    // Small files: groups cross rotations too.
    let opened = open(dir.path(), 16 << 10);
    let log = Arc::new(opened.log);
    let threads: Vec<_> = (0..8u64)
        .map(|t| {
            let (log, dir) = (Arc::clone(&log), dir.path().to_owned());
            std::thread::spawn(move || {
                for i in 0..40 {
                    let seq = log.append_blocking(record(t * 100 + i)).unwrap().seq;
                    assert!(log.head().seq >= seq, "head {:?} behind {seq}", log.head());
                    if i % 10 == 0 {
                        // Read while other threads write: every line up to `seq` is there,
                        // in order (zeros written ahead of the lines are not lines).
                        let seqs: Vec<u64> = lines(&dir)
                            .into_iter()
                            .flat_map(|(_, lines)| lines)
                            .filter(|l| l.starts_with('{'))
                            .map(|l| {
                                let v: serde_json::Value = serde_json::from_str(&l).unwrap();
                                v["seq"].as_u64().unwrap()
                            })
                            .collect();
                        let upto: Vec<u64> = seqs.iter().copied().take(seq as usize).collect();
                        assert_eq!(upto, (1..=seq).collect::<Vec<_>>());
                    }
                }
            })
        })
        .collect();
    for t in threads {
        t.join().unwrap();
    }
    log.close();
    let report = verify(dir.path()).unwrap();
    assert_eq!((report.lines, report.problem), (320, None));
    assert!(lines(dir.path()).len() > 2, "the log did not rotate");
}

#[test]
fn files_rotate_by_size_and_the_chain_crosses_them() {
    let dir = tempfile::tempdir().unwrap();
    write_n(dir.path(), 40, 2_000);
    let files = lines(dir.path());
    assert!(files.len() > 3, "{} files", files.len());
    for (path, _) in &files {
        assert!(std::fs::metadata(path).unwrap().len() < 2_000 + 400);
    }
    let report = verify(dir.path()).unwrap();
    assert_eq!(
        (report.lines, report.files, report.problem),
        (40, files.len(), None)
    );
    // A removed middle file is a gap in the chain.
    std::fs::remove_file(&files[1].0).unwrap();
    let problem = verify(dir.path()).unwrap().problem.unwrap();
    assert_eq!(problem.file, files[2].0);
    assert_eq!(problem.line, 1);
    assert!(
        matches!(problem.kind, ProblemKind::Removed { .. }),
        "{problem}"
    );
}

#[test]
fn a_torn_last_line_is_moved_aside_and_reported() {
    let dir = tempfile::tempdir().unwrap();
    write_n(dir.path(), 3, 1 << 20);
    let (path, _) = lines(dir.path()).pop().unwrap();
    let mut file = std::fs::OpenOptions::new()
        .append(true)
        .open(&path)
        .unwrap();
    std::io::Write::write_all(&mut file, br#"{"seq":4,"kind":"decision","id":"dec_"#).unwrap();
    drop(file);
    // Before the log is opened again, verify passes and points at the torn tail.
    let report = verify(dir.path()).unwrap();
    assert_eq!((report.lines, report.problem), (3, None));
    assert_eq!(
        report.torn_tail,
        Some((
            path.clone(),
            std::fs::metadata(&path).unwrap().len() - 37,
            37
        ))
    );
    let opened = open(dir.path(), 1 << 20);
    let torn = opened.torn.clone().unwrap();
    assert_eq!(torn.file, path);
    assert_eq!(torn.bytes, 37);
    assert_eq!(
        std::fs::read_to_string(&torn.moved_to).unwrap(),
        r#"{"seq":4,"kind":"decision","id":"dec_"#
    );
    // The next line starts on its own line and continues the chain at seq 4.
    assert_eq!(opened.log.append_blocking(record(4)).unwrap().seq, 4);
    opened.log.close();
    let report = verify(dir.path()).unwrap();
    assert_eq!((report.lines, report.problem), (4, None));
    assert_eq!(report.torn, vec![torn.moved_to]);
}

#[test]
fn a_changed_last_line_refuses_to_open() {
    let dir = tempfile::tempdir().unwrap();
    write_n(dir.path(), 3, 1 << 20);
    let (path, mut text) = lines(dir.path()).pop().unwrap();
    text[2] = text[2].replace("dec_0003", "dec_0009");
    rewrite(&path, &text);
    let err = Log::open(LogConfig::new(dir.path())).unwrap_err();
    assert!(err.to_string().contains("does not verify"), "{err}");
}

#[test]
fn verify_names_a_changed_line() {
    let dir = tempfile::tempdir().unwrap();
    write_n(dir.path(), 6, 1 << 20);
    let (path, mut text) = lines(dir.path()).pop().unwrap();
    text[3] = text[3].replace("dec_0004", "dec_9999");
    rewrite(&path, &text);
    let problem = verify(dir.path()).unwrap().problem.unwrap();
    assert_eq!((problem.line, problem.expected_seq), (4, 4));
    assert_eq!(problem.kind, ProblemKind::Changed);
    assert!(problem.to_string().starts_with("line 4 of `"), "{problem}");
    assert!(
        problem
            .to_string()
            .ends_with("(seq 4) was changed: its hash does not match its content")
    );
}

#[test]
fn verify_names_a_removed_line() {
    let dir = tempfile::tempdir().unwrap();
    write_n(dir.path(), 6, 1 << 20);
    let (path, mut text) = lines(dir.path()).pop().unwrap();
    text.remove(2);
    rewrite(&path, &text);
    let problem = verify(dir.path()).unwrap().problem.unwrap();
    assert_eq!(problem.line, 3);
    assert_eq!(problem.kind, ProblemKind::Removed { found: 4 });
    assert!(
        problem.to_string().contains("(seq 3) was removed"),
        "{problem}"
    );
}

#[test]
fn verify_names_reordered_lines() {
    let dir = tempfile::tempdir().unwrap();
    write_n(dir.path(), 6, 1 << 20);
    let (path, mut text) = lines(dir.path()).pop().unwrap();
    text.swap(1, 2);
    rewrite(&path, &text);
    let problem = verify(dir.path()).unwrap().problem.unwrap();
    assert_eq!(problem.line, 2);
    assert_eq!(problem.kind, ProblemKind::Reordered { found: 3 });
}

#[test]
fn verify_names_a_replaced_line_with_a_valid_hash_of_its_own() {
    // Someone writes a whole new line (correct hash, right seq) in place of line 2, but cannot
    // make line 3's `prev` point at it without rewriting every later line.
    let dir = tempfile::tempdir().unwrap();
    write_n(dir.path(), 4, 1 << 20);
    let other = tempfile::tempdir().unwrap();
    let opened = open(other.path(), 1 << 20);
    opened.log.append_blocking(record(1)).unwrap();
    opened.log.append_blocking(record(1000)).unwrap();
    opened.log.close();
    let (_, forged) = lines(other.path()).pop().unwrap();
    let (path, mut text) = lines(dir.path()).pop().unwrap();
    text[1] = forged[1].clone();
    rewrite(&path, &text);
    let problem = verify(dir.path()).unwrap().problem.unwrap();
    assert_eq!(
        (problem.line, problem.kind.clone()),
        (3, ProblemKind::BrokenLink),
        "{problem}"
    );
}

#[test]
fn filters_select_lines() {
    let dir = tempfile::tempdir().unwrap();
    write_n(dir.path(), 12, 1 << 20);
    let all = ward_log::read(dir.path(), &Filter::default()).unwrap();
    assert_eq!(all.len(), 12);
    let reboots = ward_log::read(
        dir.path(),
        &Filter {
            action: Some("reboot".into()),
            ..Filter::default()
        },
    )
    .unwrap();
    assert_eq!(reboots.len(), 6);
    let denied_reboots = ward_log::read(
        dir.path(),
        &Filter {
            action: Some("reboot".into()),
            decision: Some("deny".into()),
            ..Filter::default()
        },
    )
    .unwrap();
    let ids: Vec<_> = denied_reboots
        .iter()
        .map(|e| e.value["id"].as_str().unwrap())
        .collect();
    assert_eq!(ids, ["dec_0006", "dec_0012"]);
    let late = ward_log::read(
        dir.path(),
        &Filter {
            since_ms: Some(1_796_119_200_010),
            ..Filter::default()
        },
    )
    .unwrap();
    assert_eq!(late.len(), 3);
}

#[test]
fn a_log_that_was_not_closed_is_read_verified_and_continued() {
    // While a log is open its file ends in zeros written ahead of the lines; a crash leaves
    // them there, with perhaps a torn line written into them.
    let dir = tempfile::tempdir().unwrap();
    let opened = open(dir.path(), 1 << 30);
    for i in 1..=5 {
        opened.log.append_blocking(record(i)).unwrap();
    }
    let crashed = tempfile::tempdir().unwrap();
    let (path, _) = lines(dir.path()).pop().unwrap();
    let bytes = std::fs::read(&path).unwrap();
    assert!(
        bytes.len() >= 512 << 10 && bytes.ends_with(&[0, 0, 0]),
        "{} bytes",
        bytes.len()
    );
    let copy = crashed.path().join(path.file_name().unwrap());
    std::fs::write(&copy, &bytes).unwrap();
    opened.log.close();
    let report = verify(crashed.path()).unwrap();
    assert_eq!(
        (
            report.lines,
            report.problem.clone(),
            report.torn_tail.clone()
        ),
        (5, None, None)
    );
    assert_eq!(
        ward_log::read(crashed.path(), &Filter::default())
            .unwrap()
            .len(),
        5
    );
    // A torn line inside the zeros.
    let end = bytes.iter().rposition(|&b| b == b'\n').unwrap() + 1;
    let mut torn = bytes.clone();
    torn[end..end + 10].copy_from_slice(b"{\"seq\":6,\"");
    std::fs::write(&copy, &torn).unwrap();
    let report = verify(crashed.path()).unwrap();
    assert_eq!((report.lines, report.problem), (5, None));
    assert_eq!(report.torn_tail.unwrap().2, 10);
    let reopened = open(crashed.path(), 1 << 30);
    assert_eq!(reopened.torn.clone().unwrap().bytes, 10);
    assert_eq!(reopened.log.append_blocking(record(6)).unwrap().seq, 6);
    reopened.log.close();
    let report = verify(crashed.path()).unwrap();
    assert_eq!((report.lines, report.problem), (6, None));
    // Closed, the file has no zeros left.
    assert!(!std::fs::read(&copy).unwrap().ends_with(&[0]));
}
