//! Appending: callers put records with a completion on a queue (a mutex held for a push; a
//! writer thread is woken only when one sleeps). Two writer threads take turns: one takes
//! every record waiting in one swap, frames and hashes them, and writes them in one `write`
//! while it holds the file; then it lets go of the file and syncs (group commit), so the other
//! can write and sync the next group while the first sync runs. A line is completed once a
//! sync that began after it was written has returned (its own, or a later group's), in order. Opening the log finds the head of the chain, moves a
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
    /// `fdatasync`s by how long they took: up to each bound of [`SYNC_BUCKETS_MS`], then
    /// longer.
    pub syncs_by_ms: [u64; SYNC_BUCKETS_MS.len() + 1],
    /// Times the file was extended with zeros ahead of the lines.
    pub extends: u64,
    /// Time extending took (writing the zeros and syncing the new length), in nanoseconds.
    pub extend_ns: u64,
}

/// The bounds, in milliseconds, of [`LogStats::syncs_by_ms`].
pub const SYNC_BUCKETS_MS: [u64; 8] = [1, 2, 5, 10, 20, 50, 100, 500];

#[derive(Default)]
struct Stats {
    syncs_by_ms: [AtomicU64; SYNC_BUCKETS_MS.len() + 1],
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

impl Stats {
    fn synced(&self, started: Instant) {
        let ns = nanos(started);
        self.sync_ns.fetch_add(ns, Ordering::Relaxed);
        let ms = ns.div_ceil(1_000_000);
        let bucket = SYNC_BUCKETS_MS
            .iter()
            .position(|b| ms <= *b)
            .unwrap_or(SYNC_BUCKETS_MS.len());
        if let Some(c) = self.syncs_by_ms.get(bucket) {
            c.fetch_add(1, Ordering::Relaxed);
        }
    }
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
    /// Writer threads sleeping on the condition variable (so a push must wake one).
    idle: usize,
}

/// A group written and waiting for its sync.
struct Group {
    /// The last line of the group.
    last: Head,
    lines: Vec<Line>,
}

/// A line of a group: its `seq` and `hash`, when it was queued, and its completion.
type Line = (u64, String, Instant, Done);

/// The groups written but not yet known durable, oldest first.
#[derive(Default)]
struct Pending {
    groups: std::collections::VecDeque<Group>,
    /// Every line up to this `seq` is durable.
    durable: u64,
}

/// Writer threads; with two, a group is written and synced while the sync of the group before
/// it runs.
const WRITERS: usize = 4;

/// An open decision log. `Send + Sync`: share it behind an `Arc`.
pub struct Log {
    shared: Arc<Shared>,
    writer: Arc<Mutex<Writer>>,
    threads: Mutex<Vec<JoinHandle<()>>>,
}

struct Shared {
    head: Mutex<Head>,
    failed: Mutex<Option<String>>,
    /// `failed` is set (read without the lock on every append).
    has_failed: AtomicBool,
    queue: Mutex<Queue>,
    wake: Condvar,
    pending: Mutex<Pending>,
    stats: Stats,
}

fn lock<T>(mutex: &Mutex<T>) -> MutexGuard<'_, T> {
    match mutex.lock() {
        Ok(guard) => guard,
        Err(poisoned) => poisoned.into_inner(),
    }
}

impl Shared {
    fn queue(&self) -> MutexGuard<'_, Queue> {
        lock(&self.queue)
    }

    fn failed(&self) -> Option<String> {
        lock(&self.failed).clone()
    }

    /// Stops the log: nothing more is accepted, and nothing not yet durable ever will be.
    fn fail(&self, err: &LogError) {
        {
            let mut failed = lock(&self.failed);
            if failed.is_none() {
                *failed = Some(err.to_string());
            }
        }
        self.has_failed.store(true, Ordering::Release);
        let groups = std::mem::take(&mut lock(&self.pending).groups);
        let why = self.failed().unwrap_or_default();
        for group in groups {
            fail_lines(group.lines, &why);
        }
    }

    /// Every line up to `last.seq` is durable: completes the groups it covers, in order.
    fn durable(&self, last: &Head) {
        if self.has_failed.load(Ordering::Acquire) {
            // A sync failed: a later sync's success is not trusted for what was pending.
            let why = self.failed().unwrap_or_default();
            let groups = std::mem::take(&mut lock(&self.pending).groups);
            for group in groups {
                fail_lines(group.lines, &why);
            }
            return;
        }
        let mut done = Vec::new();
        {
            let mut pending = lock(&self.pending);
            pending.durable = pending.durable.max(last.seq);
            while pending
                .groups
                .front()
                .is_some_and(|g| g.last.seq <= pending.durable)
            {
                if let Some(group) = pending.groups.pop_front() {
                    done.push(group);
                }
            }
            if let Some(group) = done.last() {
                *lock(&self.head) = group.last.clone();
            }
        }
        for group in done {
            for (seq, hash, queued, done) in group.lines {
                done(Ok(Appended {
                    seq,
                    hash,
                    waited: queued.elapsed(),
                }));
            }
        }
    }
}

fn fail_lines(lines: Vec<Line>, why: &str) {
    for (_, _, _, done) in lines {
        done(Err(LogError::Failed(why.to_owned())));
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
            pending: Mutex::new(Pending::default()),
            stats: Stats::default(),
        });
        let writer = Writer {
            config,
            path,
            file,
            size,
            allocated: size,
            head,
            generation: 0,
            shared: Arc::clone(&shared),
            buf: Vec::with_capacity(1 << 16),
        };
        let writer = Arc::new(Mutex::new(writer));
        let mut threads = Vec::with_capacity(WRITERS);
        for _ in 0..WRITERS {
            let (for_thread, writer_) = (Arc::clone(&shared), Arc::clone(&writer));
            let thread = std::thread::Builder::new()
                .name("ward-log".into())
                .spawn(move || write_loop(&for_thread, &writer_));
            match thread {
                Ok(thread) => threads.push(thread),
                Err(e) => {
                    // Stop the ones started.
                    shared.queue().closed = true;
                    shared.wake.notify_all();
                    for thread in threads {
                        let _ = thread.join();
                    }
                    return Err(LogError::Io {
                        action: "start the writer thread of",
                        path: PathBuf::new(),
                        message: e.to_string(),
                    });
                }
            }
        }
        Ok(Opened {
            log: Log {
                shared,
                writer,
                threads: Mutex::new(threads),
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
        // A writer that finds the queue non-empty takes everything in it: one wake-up per
        // group, not per line.
        let wake = queue.idle > 0 && queue.jobs.len() == 1;
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
        self.shared.wake.notify_all();
        let threads = std::mem::take(&mut *lock(&self.threads));
        if threads.is_empty() {
            return;
        }
        for thread in threads {
            let _ = thread.join();
        }
        // Everything queued is written and synced; the zeros after it go.
        let mut writer = lock(&self.writer);
        if !self.shared.has_failed.load(Ordering::Acquire)
            && let Err(e) = writer.cut_padding()
        {
            self.shared.fail(&e);
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
            syncs_by_ms: std::array::from_fn(|i| {
                s.syncs_by_ms
                    .get(i)
                    .map_or(0, |c| c.load(Ordering::Relaxed))
            }),
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
    /// Counts rotations: a writer thread reopens the file it syncs when this changed.
    generation: u64,
    shared: Arc<Shared>,
    buf: Vec<u8>,
}

/// One writer thread: waits for records, takes them all and writes them holding the file,
/// then syncs without it and completes what that sync made durable.
fn write_loop(shared: &Shared, writer: &Mutex<Writer>) {
    let mut jobs: Vec<Job> = Vec::new();
    // Its own open file description to sync, so that a failed write-back is reported to
    // every thread whose sync covers it (an error is reported once per description).
    let mut own: Option<(u64, File)> = None;
    loop {
        {
            let mut queue = shared.queue();
            while queue.jobs.is_empty() && !queue.closed {
                queue.idle += 1;
                queue = match shared.wake.wait(queue) {
                    Ok(q) => q,
                    Err(poisoned) => poisoned.into_inner(),
                };
                queue.idle -= 1;
            }
            if queue.jobs.is_empty() {
                // Closed, and everything queued before is taken.
                return;
            }
        }
        let mut w = lock(writer);
        // Taken while holding the file: lines are framed in the order they were queued.
        std::mem::swap(&mut shared.queue().jobs, &mut jobs);
        if jobs.is_empty() {
            // The other thread took them.
            continue;
        }
        let taken = Instant::now();
        let queued_ns: u64 = jobs
            .iter()
            .map(|j| u64::try_from((taken - j.queued).as_nanos()).unwrap_or(u64::MAX))
            .sum();
        shared
            .stats
            .queued_ns
            .fetch_add(queued_ns, Ordering::Relaxed);
        shared.stats.groups.fetch_add(1, Ordering::Relaxed);
        shared
            .stats
            .lines
            .fetch_add(jobs.len() as u64, Ordering::Relaxed);
        let mut lines = Vec::with_capacity(jobs.len());
        for job in jobs.drain(..) {
            w.frame(&job.record, job.queued, job.done, &mut lines);
        }
        if !shared.has_failed.load(Ordering::Acquire)
            && let Err(e) = w.write_out()
        {
            w.buf.clear();
            shared.fail(&e);
        }
        if shared.has_failed.load(Ordering::Acquire) {
            drop(w);
            fail_lines(lines, &shared.failed().unwrap_or_default());
            continue;
        }
        let last = w.head.clone();
        let sync = w.config.durability == Durability::Fsync;
        if sync
            && own
                .as_ref()
                .is_none_or(|(generation, _)| *generation != w.generation)
        {
            match OpenOptions::new().read(true).open(&w.path) {
                Ok(file) => own = Some((w.generation, file)),
                Err(e) => {
                    let e = LogError::io("open", &w.path, &e);
                    drop(w);
                    shared.fail(&e);
                    fail_lines(lines, &shared.failed().unwrap_or_default());
                    continue;
                }
            }
        }
        let path = w.path.clone();
        lock(&shared.pending).groups.push_back(Group {
            last: last.clone(),
            lines,
        });
        // Let go of the file: the other thread can write the next group while this syncs.
        drop(w);
        if sync && let Some((_, file)) = &own {
            let started = Instant::now();
            if let Err(e) = file.sync_data() {
                shared.fail(&LogError::io("sync", &path, &e));
                continue;
            }
            shared.stats.synced(started);
        }
        shared.durable(&last);
    }
}

impl Writer {
    /// Adds `record`'s line to the buffer, rotating first when the file is full.
    fn frame(&mut self, record: &Record, queued: Instant, done: Done, lines: &mut Vec<Line>) {
        if self.shared.has_failed.load(Ordering::Acquire) {
            lines.push((0, String::new(), queued, done));
            return;
        }
        let pending = self.buf.len() as u64;
        if self.size + pending >= self.config.max_file_bytes
            && self.size + pending > 0
            && let Err(e) = self.flush().and_then(|()| self.rotate())
        {
            self.fail(&e);
            lines.push((0, String::new(), queued, done));
            return;
        }
        let seq = self.head.seq + 1;
        let hash = record.write_line(seq, &self.head.hash, &mut self.buf);
        self.head = Head {
            seq,
            hash: hash.clone(),
        };
        lines.push((seq, hash, queued, done));
    }

    /// Writes and (when durable) syncs the buffer: before a rotation.
    fn flush(&mut self) -> Result<(), LogError> {
        self.write_out()?;
        if self.config.durability == Durability::Fsync {
            let started = Instant::now();
            self.file
                .sync_data()
                .map_err(|e| LogError::io("sync", &self.path, &e))?;
            self.shared.stats.synced(started);
        }
        Ok(())
    }

    /// Writes the buffer after the last line (extending the file first when needed).
    fn write_out(&mut self) -> Result<(), LogError> {
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
        self.generation += 1;
        Ok(())
    }

    fn fail(&mut self, err: &LogError) {
        self.buf.clear();
        self.shared.fail(err);
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
