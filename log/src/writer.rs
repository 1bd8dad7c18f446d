//! Appending: one writer thread owns the current file. Callers put records with a completion
//! on a queue (a mutex held for a push; the writer is woken only when it sleeps); it takes
//! every record waiting in one swap, frames and hashes them, writes them in one `write`, syncs
//! once (group commit), and only then completes them. Opening the log finds the head of the chain, moves a
//! torn last line aside, and refuses a log whose last complete line does not verify.
//!
//! The current file is extended with zeros ahead of the writes (512 KiB at a time, synced once),
//! so that syncing a group of lines only flushes data into blocks the file already has: on
//! ext4 that is a fraction of a millisecond, where an append that grows the file costs a
//! journal commit of several. The zeros past the last line are cut off when the file is
//! closed or rotated, and ignored (and cut off) when a log that was not closed is opened.
//!
//! This module knows files and threads; it does not know what the records say.

use std::fs::{File, OpenOptions};
use std::io::{Read, Write};
use std::os::unix::fs::FileExt;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Condvar, Mutex, MutexGuard};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use crate::LogError;
use crate::line::{GENESIS, LineFault, Record, check_line};

/// Whether a line is synced to disk before its caller is told it is written.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum Durability {
    /// `fdatasync` after each group of lines: a line reported written survives a crash of the
    /// process or the machine. The default.
    #[default]
    Fsync,
    /// Written to the operating system only: survives a crash of the process, not of the
    /// machine. For measuring what syncing costs.
    Buffered,
}

/// Where and how a log is kept.
#[derive(Clone, Debug)]
pub struct LogConfig {
    /// The folder of the `*.jsonl` files; created if missing.
    pub dir: PathBuf,
    /// A file that reached this size is closed and a new one started.
    pub max_file_bytes: u64,
    pub durability: Durability,
}

impl LogConfig {
    /// A durable log in `dir`, rotating at 64 MiB.
    pub fn new(dir: impl Into<PathBuf>) -> LogConfig {
        LogConfig {
            dir: dir.into(),
            max_file_bytes: 64 << 20,
            durability: Durability::Fsync,
        }
    }
}

/// The last line of the chain.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Head {
    /// Lines so far (the `seq` of the last one; 0 for an empty log).
    pub seq: u64,
    /// The `hash` of the last line ([`GENESIS`] for an empty log).
    pub hash: String,
}

/// A line that is durable (or written, with [`Durability::Buffered`]).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Appended {
    pub seq: u64,
    pub hash: String,
    /// How long the caller waited, from `append` until the line was synced.
    pub waited: Duration,
}

/// Bytes after the last newline of the log, found when it was opened: a line whose write was
/// cut short. Such a line was never reported written to anyone.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TornTail {
    /// The log file it was at the end of.
    pub file: PathBuf,
    /// Its offset in that file.
    pub offset: u64,
    pub bytes: u64,
    /// Where it was moved (`<file>.torn-<offset>`), byte for byte.
    pub moved_to: PathBuf,
}

/// An open log and what opening it found.
#[derive(Debug)]
pub struct Opened {
    pub log: Log,
    pub torn: Option<TornTail>,
}

/// What the writer did so far, for the metrics: how many lines it wrote in how many groups,
/// and how long writing, syncing and extending the file took.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct LogStats {
    pub lines: u64,
    /// Time lines waited in the queue before the writer took them (for the sync before to
    /// end, for the writer to wake), summed over lines, in nanoseconds.
    pub queued_ns: u64,
    /// Groups written (one `write` and, when durable, one `fdatasync` each).
    pub groups: u64,
    /// Time in `write`, in nanoseconds.
    pub write_ns: u64,
    /// Time in `fdatasync`, in nanoseconds.
    pub sync_ns: u64,
    /// Times the file was extended with zeros ahead of the lines.
    pub extends: u64,
    /// Time extending took (writing the zeros and syncing the new length), in nanoseconds.
    pub extend_ns: u64,
}

#[derive(Default)]
struct Stats {
    lines: AtomicU64,
    queued_ns: AtomicU64,
    groups: AtomicU64,
    write_ns: AtomicU64,
    sync_ns: AtomicU64,
    extends: AtomicU64,
    extend_ns: AtomicU64,
}

fn nanos(since: Instant) -> u64 {
    u64::try_from(since.elapsed().as_nanos()).unwrap_or(u64::MAX)
}

type Done = Box<dyn FnOnce(Result<Appended, LogError>) + Send>;

struct Job {
    record: Record,
    queued: Instant,
    done: Done,
}

/// The records waiting for the writer.
#[derive(Default)]
struct Queue {
    jobs: Vec<Job>,
    /// Set by `close`: nothing more is accepted, and the writer stops once the queue is empty.
    closed: bool,
    /// The writer sleeps on the condition variable (so a push must wake it).
    idle: bool,
}

/// An open decision log. `Send + Sync`: share it behind an `Arc`.
pub struct Log {
    shared: Arc<Shared>,
    thread: Mutex<Option<JoinHandle<()>>>,
}

struct Shared {
    head: Mutex<Head>,
    failed: Mutex<Option<String>>,
    /// `failed` is set (read without the lock on every append).
    has_failed: AtomicBool,
    queue: Mutex<Queue>,
    wake: Condvar,
    stats: Stats,
}

impl Shared {
    fn queue(&self) -> MutexGuard<'_, Queue> {
        match self.queue.lock() {
            Ok(q) => q,
            Err(poisoned) => poisoned.into_inner(),
        }
    }
}

impl std::fmt::Debug for Log {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Log").field("head", &self.head()).finish()
    }
}

impl Log {
    /// Opens (or creates) the log in `config.dir`, recovering a torn last line.
    pub fn open(config: LogConfig) -> Result<Opened, LogError> {
        std::fs::create_dir_all(&config.dir)
            .map_err(|e| LogError::io("create the folder", &config.dir, &e))?;
        let files = log_files(&config.dir)?;
        let mut torn = None;
        let mut head = Head {
            seq: 0,
            hash: GENESIS.to_owned(),
        };
        // The head is the last line of the last non-empty file.
        for (idx, path) in files.iter().enumerate().rev() {
            let is_last = idx + 1 == files.len();
            let found = tail_of(path, is_last)?;
            if is_last {
                torn = found.torn;
            }
            if let Some(last) = found.head {
                head = last;
                break;
            }
        }
        let (path, file, size) = match files.last() {
            Some(path) => {
                let file = OpenOptions::new()
                    .read(true)
                    .write(true)
                    .open(path)
                    .map_err(|e| LogError::io("open", path, &e))?;
                let size = file
                    .metadata()
                    .map_err(|e| LogError::io("read the size of", path, &e))?
                    .len();
                (path.clone(), file, size)
            }
            None => {
                let (path, file) = create_file(&config.dir, head.seq + 1)?;
                (path, file, 0)
            }
        };
        let shared = Arc::new(Shared {
            head: Mutex::new(head.clone()),
            failed: Mutex::new(None),
            has_failed: AtomicBool::new(false),
            queue: Mutex::new(Queue::default()),
            wake: Condvar::new(),
            stats: Stats::default(),
        });
        let mut writer = Writer {
            config,
            path,
            file,
            size,
            allocated: size,
            head,
            shared: Arc::clone(&shared),
            buf: Vec::with_capacity(1 << 16),
        };
        let thread = std::thread::Builder::new()
            .name("ward-log".into())
            .spawn(move || writer.run())
            .map_err(|e| LogError::Io {
                action: "start the writer thread of",
                path: PathBuf::new(),
                message: e.to_string(),
            })?;
        Ok(Opened {
            log: Log {
                shared,
                thread: Mutex::new(Some(thread)),
            },
            torn,
        })
    }

    /// Queues `record`; `done` is called (on the writer thread: keep it short) once the line
    /// is durable, or with the error that stopped it.
    pub fn append(
        &self,
        record: Record,
        done: impl FnOnce(Result<Appended, LogError>) + Send + 'static,
    ) {
        if self.shared.has_failed.load(Ordering::Acquire)
            && let Some(why) = self.failure()
        {
            done(Err(LogError::Failed(why)));
            return;
        }
        let job = Job {
            record,
            queued: Instant::now(),
            done: Box::new(done),
        };
        let mut queue = self.shared.queue();
        if queue.closed {
            drop(queue);
            (job.done)(Err(LogError::Closed));
            return;
        }
        queue.jobs.push(job);
        let wake = std::mem::take(&mut queue.idle);
        drop(queue);
        if wake {
            self.shared.wake.notify_one();
        }
    }

    /// Appends and waits until the line is durable.
    pub fn append_blocking(&self, record: Record) -> Result<Appended, LogError> {
        let (tx, rx) = std::sync::mpsc::sync_channel(1);
        self.append(record, move |result| {
            let _ = tx.send(result);
        });
        rx.recv().unwrap_or(Err(LogError::Closed))
    }

    /// The last line written so far.
    pub fn head(&self) -> Head {
        match self.shared.head.lock() {
            Ok(head) => head.clone(),
            Err(poisoned) => poisoned.into_inner().clone(),
        }
    }

    /// Why the log stopped accepting lines, if it did.
    pub fn failure(&self) -> Option<String> {
        match self.shared.failed.lock() {
            Ok(failed) => failed.clone(),
            Err(poisoned) => poisoned.into_inner().clone(),
        }
    }

    /// Writes and syncs everything queued, then stops the writer. Later appends fail with
    /// [`LogError::Closed`]. Calling it again does nothing.
    pub fn close(&self) {
        self.shared.queue().closed = true;
        self.shared.wake.notify_one();
        let thread = match self.thread.lock() {
            Ok(mut thread) => thread.take(),
            Err(poisoned) => poisoned.into_inner().take(),
        };
        if let Some(thread) = thread {
            let _ = thread.join();
        }
    }

    /// What the writer did so far.
    pub fn stats(&self) -> LogStats {
        let s = &self.shared.stats;
        LogStats {
            lines: s.lines.load(Ordering::Relaxed),
            queued_ns: s.queued_ns.load(Ordering::Relaxed),
            groups: s.groups.load(Ordering::Relaxed),
            write_ns: s.write_ns.load(Ordering::Relaxed),
            sync_ns: s.sync_ns.load(Ordering::Relaxed),
            extends: s.extends.load(Ordering::Relaxed),
            extend_ns: s.extend_ns.load(Ordering::Relaxed),
        }
    }
}

impl Drop for Log {
    fn drop(&mut self) {
        self.close();
    }
}

struct Writer {
    config: LogConfig,
    path: PathBuf,
    file: File,
    /// Bytes of lines in the current file.
    size: u64,
    /// The file's length: lines, then zeros written ahead.
    allocated: u64,
    head: Head,
    shared: Arc<Shared>,
    buf: Vec<u8>,
}

impl Writer {
    fn run(&mut self) {
        let mut jobs: Vec<Job> = Vec::new();
        let mut group: Vec<(u64, String, Instant, Done)> = Vec::new();
        loop {
            let closing = {
                let mut queue = self.shared.queue();
                while queue.jobs.is_empty() && !queue.closed {
                    queue.idle = true;
                    queue = match self.shared.wake.wait(queue) {
                        Ok(q) => q,
                        Err(poisoned) => poisoned.into_inner(),
                    };
                }
                queue.idle = false;
                // Everything waiting, in one swap: the group of this sync.
                std::mem::swap(&mut queue.jobs, &mut jobs);
                queue.closed && jobs.is_empty()
            };
            if closing {
                // `close` was called and everything queued before it is written: nothing
                // more can be queued.
                if self.failed().is_none()
                    && let Err(e) = self.cut_padding()
                {
                    self.fail(&e);
                }
                return;
            }
            let taken = Instant::now();
            let queued_ns: u64 = jobs
                .iter()
                .map(|j| u64::try_from((taken - j.queued).as_nanos()).unwrap_or(u64::MAX))
                .sum();
            self.shared
                .stats
                .queued_ns
                .fetch_add(queued_ns, Ordering::Relaxed);
            for job in jobs.drain(..) {
                self.frame(&job.record, job.queued, job.done, &mut group);
            }
            self.commit(&mut group);
        }
    }

    /// Adds `record`'s line to the buffer, rotating first when the file is full.
    fn frame(
        &mut self,
        record: &Record,
        queued: Instant,
        done: Done,
        group: &mut Vec<(u64, String, Instant, Done)>,
    ) {
        if self.shared.has_failed.load(Ordering::Acquire) {
            group.push((0, String::new(), queued, done));
            return;
        }
        let pending = self.buf.len() as u64;
        if self.size + pending >= self.config.max_file_bytes
            && self.size + pending > 0
            && let Err(e) = self.flush().and_then(|()| self.rotate())
        {
            self.fail(&e);
            group.push((0, String::new(), queued, done));
            return;
        }
        let seq = self.head.seq + 1;
        let hash = record.write_line(seq, &self.head.hash, &mut self.buf);
        self.head = Head {
            seq,
            hash: hash.clone(),
        };
        group.push((seq, hash, queued, done));
    }

    /// Writes and syncs the buffer, then completes the group.
    fn commit(&mut self, group: &mut Vec<(u64, String, Instant, Done)>) {
        if group.is_empty() {
            return;
        }
        if !self.shared.has_failed.load(Ordering::Acquire)
            && let Err(e) = self.flush()
        {
            self.fail(&e);
        }
        let failed = if self.shared.has_failed.load(Ordering::Acquire) {
            self.failed()
        } else {
            None
        };
        let stats = &self.shared.stats;
        stats.groups.fetch_add(1, Ordering::Relaxed);
        stats
            .lines
            .fetch_add(group.len() as u64, Ordering::Relaxed);
        if failed.is_none() {
            match self.shared.head.lock() {
                Ok(mut head) => *head = self.head.clone(),
                Err(poisoned) => *poisoned.into_inner() = self.head.clone(),
            }
        }
        for (seq, hash, queued, done) in group.drain(..) {
            done(match &failed {
                Some(why) => Err(LogError::Failed(why.clone())),
                None => Ok(Appended {
                    seq,
                    hash,
                    waited: queued.elapsed(),
                }),
            });
        }
    }

    fn flush(&mut self) -> Result<(), LogError> {
        if self.buf.is_empty() {
            return Ok(());
        }
        let len = self.buf.len() as u64;
        // Zeros ahead only help a sync; without one, the file just grows.
        if self.config.durability == Durability::Fsync && self.size + len > self.allocated {
            self.preallocate(self.size + len)?;
        }
        let started = Instant::now();
        self.file
            .write_all_at(&self.buf, self.size)
            .map_err(|e| LogError::io("write to", &self.path, &e))?;
        let stats = &self.shared.stats;
        stats.write_ns.fetch_add(nanos(started), Ordering::Relaxed);
        if self.config.durability == Durability::Fsync {
            let started = Instant::now();
            self.file
                .sync_data()
                .map_err(|e| LogError::io("sync", &self.path, &e))?;
            stats.sync_ns.fetch_add(nanos(started), Ordering::Relaxed);
        }
        self.size += len;
        self.allocated = self.allocated.max(self.size);
        self.buf.clear();
        Ok(())
    }

    /// Extends the file with zeros to hold at least `needed` bytes, and syncs the new length.
    fn preallocate(&mut self, needed: u64) -> Result<(), LogError> {
        const CHUNK: u64 = 512 << 10;
        let started = Instant::now();
        let target = needed.div_ceil(CHUNK).max(1) * CHUNK;
        let zeros = vec![0u8; 1 << 16];
        let mut at = self.allocated;
        while at < target {
            let n = (target - at).min(zeros.len() as u64);
            self.file
                .write_all_at(zeros.get(..n as usize).unwrap_or_default(), at)
                .map_err(|e| LogError::io("extend", &self.path, &e))?;
            at += n;
        }
        self.file
            .sync_all()
            .map_err(|e| LogError::io("sync", &self.path, &e))?;
        self.allocated = target;
        let stats = &self.shared.stats;
        stats.extends.fetch_add(1, Ordering::Relaxed);
        stats.extend_ns.fetch_add(nanos(started), Ordering::Relaxed);
        Ok(())
    }

    /// Cuts the zeros after the last line (when the file is closed or rotated).
    fn cut_padding(&mut self) -> Result<(), LogError> {
        if self.allocated > self.size {
            self.file
                .set_len(self.size)
                .and_then(|()| self.file.sync_all())
                .map_err(|e| LogError::io("truncate", &self.path, &e))?;
            self.allocated = self.size;
        }
        Ok(())
    }

    fn rotate(&mut self) -> Result<(), LogError> {
        self.cut_padding()?;
        let (path, file) = create_file(&self.config.dir, self.head.seq + 1)?;
        self.path = path;
        self.file = file;
        self.size = 0;
        self.allocated = 0;
        Ok(())
    }

    fn failed(&self) -> Option<String> {
        match self.shared.failed.lock() {
            Ok(failed) => failed.clone(),
            Err(poisoned) => poisoned.into_inner().clone(),
        }
    }

    fn fail(&mut self, err: &LogError) {
        self.buf.clear();
        match self.shared.failed.lock() {
            Ok(mut failed) => *failed = Some(err.to_string()),
            Err(poisoned) => *poisoned.into_inner() = Some(err.to_string()),
        }
        self.shared.has_failed.store(true, Ordering::Release);
    }
}

/// The `*.jsonl` files of `dir`, in chain order (their names are the first `seq`, padded).
pub(crate) fn log_files(dir: &Path) -> Result<Vec<PathBuf>, LogError> {
    let entries = std::fs::read_dir(dir).map_err(|e| LogError::io("read the folder", dir, &e))?;
    let mut files = Vec::new();
    for entry in entries {
        let entry = entry.map_err(|e| LogError::io("read the folder", dir, &e))?;
        let path = entry.path();
        if path.extension().is_some_and(|x| x == "jsonl") && path.is_file() {
            files.push(path);
        }
    }
    files.sort();
    Ok(files)
}

fn create_file(dir: &Path, first_seq: u64) -> Result<(PathBuf, File), LogError> {
    let path = dir.join(format!("{first_seq:020}.jsonl"));
    let file = OpenOptions::new()
        .create(true)
        .truncate(false)
        .read(true)
        .write(true)
        .open(&path)
        .map_err(|e| LogError::io("create", &path, &e))?;
    // The new name must survive a crash too.
    File::open(dir)
        .and_then(|d| d.sync_all())
        .map_err(|e| LogError::io("sync the folder", dir, &e))?;
    Ok((path, file))
}

struct Tail {
    head: Option<Head>,
    torn: Option<TornTail>,
}

/// The last complete line of a file; for the last file, also moves bytes after the last
/// newline aside.
fn tail_of(path: &Path, is_last: bool) -> Result<Tail, LogError> {
    let mut file = OpenOptions::new()
        .read(true)
        .write(is_last)
        .open(path)
        .map_err(|e| LogError::io("open", path, &e))?;
    let mut bytes = Vec::new();
    file.read_to_end(&mut bytes)
        .map_err(|e| LogError::io("read", path, &e))?;
    // Zeros written ahead of the lines by a writer that did not close the file.
    let content = strip_padding(&bytes);
    let complete = content
        .iter()
        .rposition(|&b| b == b'\n')
        .map_or(0, |i| i + 1);
    let mut torn = None;
    if complete < content.len() {
        let fragment = content.get(complete..).unwrap_or_default();
        if !is_last {
            return Err(LogError::Corrupt {
                path: path.to_owned(),
                line: count_lines(content.get(..complete).unwrap_or_default()) + 1,
                why: "it has no newline although a later file follows".into(),
            });
        }
        let offset = complete as u64;
        let mut name = path.file_name().unwrap_or_default().to_os_string();
        name.push(format!(".torn-{offset}"));
        let moved_to = path.with_file_name(name);
        let mut aside =
            File::create(&moved_to).map_err(|e| LogError::io("create", &moved_to, &e))?;
        aside
            .write_all(fragment)
            .and_then(|()| aside.sync_all())
            .map_err(|e| LogError::io("write", &moved_to, &e))?;
        torn = Some(TornTail {
            file: path.to_owned(),
            offset,
            bytes: fragment.len() as u64,
            moved_to,
        });
    }
    if is_last && (complete as u64) < bytes.len() as u64 {
        file.set_len(complete as u64)
            .and_then(|()| file.sync_all())
            .map_err(|e| LogError::io("truncate", path, &e))?;
    }
    let lines = bytes.get(..complete).unwrap_or_default();
    let Some(last) = lines
        .strip_suffix(b"\n")
        .map(|l| l.rsplit(|&b| b == b'\n').next().unwrap_or_default())
    else {
        return Ok(Tail { head: None, torn });
    };
    let line_no = count_lines(lines);
    match check_line(last) {
        Ok(checked) => Ok(Tail {
            head: Some(Head {
                seq: checked.seq,
                hash: checked.hash,
            }),
            torn,
        }),
        Err(fault) => Err(LogError::Corrupt {
            path: path.to_owned(),
            line: line_no,
            why: match fault {
                LineFault::Malformed(why) => why,
                LineFault::HashMismatch => "its hash does not match its content".into(),
            },
        }),
    }
}

/// `bytes` without the zeros a writer wrote ahead of its lines.
pub(crate) fn strip_padding(bytes: &[u8]) -> &[u8] {
    let end = bytes.iter().rposition(|&b| b != 0).map_or(0, |i| i + 1);
    bytes.get(..end).unwrap_or_default()
}

fn count_lines(bytes: &[u8]) -> u64 {
    bytes.iter().filter(|&&b| b == b'\n').count() as u64
}
