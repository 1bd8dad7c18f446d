//! `ward diff OLD NEW`: replay requests against two versions of a policy set and report every
//! request whose decision changes, grouped by transition and by the rules responsible.
//!
//! OLD and NEW are directories (or `.ward` files) or git revisions ([`source`]). The requests
//! are JSON lines: requests as `ward eval` reads them, or the decision log of `ward serve`,
//! whose `"kind": "decision"` lines carry the request as decided in `"request"` (lines of
//! other kinds are counted and skipped; no other field of a log line is read). Every line is
//! parsed strictly, as every entry point parses requests. It streams: a line is held only
//! while it is decided, never beyond `--max-line` bytes, and what is kept ([`report`]) does not
//! grow with the input. A line that cannot be replayed is reported by number and makes the
//! exit code 2; `--fail-on` makes it 1 when a request newly gets an outcome.

mod report;
mod source;

use std::io::{IsTerminal, Write};
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, mpsc};

use clap::ValueEnum;
use serde_json::{Value, json};
use ward::{Decision, EffectKind, Engine, EngineConfig};

use crate::cmd_eval::{Line, Lines, MIN_SKIP, SKIP_FACTOR};
use crate::{CliError, EngineChoice, Format, color_stdout, out, report_diagnostics};

#[derive(Debug, clap::Args)]
pub(crate) struct DiffArgs {
    /// The policy set before the change: a directory or `.ward` file, or a git revision
    /// (`REV` for the `--path` directory at REV, or `REV:PATH` as git names it)
    old: String,
    /// The policy set after the change, named as OLD is
    new: String,
    /// The policy directory inside the repository for revisions given without `:PATH`,
    /// relative to the current directory
    #[arg(long, value_name = "DIR", default_value = ".")]
    path: PathBuf,
    /// The estate both versions decide against (an empty estate when left out)
    #[arg(long, value_name = "FILE")]
    entities: Option<PathBuf>,
    /// Requests as JSON lines (`-` for stdin), or the decision log of `ward serve` (its
    /// `"kind": "decision"` lines are replayed, other kinds skipped)
    #[arg(long, value_name = "FILE")]
    requests: PathBuf,
    /// Exit with code 1 if any request newly gets this outcome (`any`: if any decision
    /// changes); may be repeated or comma-separated
    #[arg(long, value_enum, value_name = "OUTCOME", value_delimiter = ',')]
    fail_on: Vec<FailOn>,
    /// How many example requests to show per group
    #[arg(long, value_name = "N", default_value_t = 3)]
    examples: usize,
    /// The longest line accepted, in bytes: a longer one is reported as bad without being read
    /// into memory
    #[arg(long, value_name = "BYTES", default_value_t = 1 << 20, value_parser = clap::value_parser!(u64).range(1..))]
    max_line: u64,
    /// The engine that decides, in both versions
    #[arg(long, value_enum, default_value = "jit")]
    engine: EngineChoice,
    /// Output format of the report
    #[arg(long, value_enum, default_value_t)]
    format: Format,
}

/// An outcome `--fail-on` watches for.
#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub(crate) enum FailOn {
    /// A request newly allowed
    Allow,
    /// A request newly denied
    Deny,
    /// A request newly sent for approval
    #[value(name = "require_approval", alias = "require-approval")]
    RequireApproval,
    /// Any change of decision, or of approvers
    Any,
}

impl FailOn {
    fn as_str(self) -> &'static str {
        match self {
            FailOn::Allow => "allow",
            FailOn::Deny => "deny",
            FailOn::RequireApproval => "require_approval",
            FailOn::Any => "any",
        }
    }
}

/// One version, ready to decide.
struct Version {
    engine: Engine,
    /// For the report: `{"source", "commit", "files"}`.
    described: Value,
}

pub(crate) fn run(args: &DiffArgs) -> Result<ExitCode, CliError> {
    let Some(old) = version("old", &args.old, args)? else {
        return Ok(ExitCode::from(1));
    };
    let Some(new) = version("new", &args.new, args)? else {
        return Ok(ExitCode::from(1));
    };
    let mut report = report::Report::new(args.examples);
    replay(&old.engine, &new.engine, args, &mut report)?;
    let fail_on: Vec<String> = args.fail_on.iter().map(|f| f.as_str().to_owned()).collect();
    let failures: Vec<String> = args
        .fail_on
        .iter()
        .filter_map(|f| {
            let (n, what) = match f {
                FailOn::Allow => (report.newly(EffectKind::Allow), "newly allowed"),
                FailOn::Deny => (report.newly(EffectKind::Deny), "newly denied"),
                FailOn::RequireApproval => (
                    report.newly(EffectKind::RequireApproval),
                    "newly sent for approval",
                ),
                FailOn::Any => (report.changed, "decided differently"),
            };
            (n > 0).then(|| format!("{} {what} (--fail-on {})", requests(n), f.as_str()))
        })
        .collect();
    let versions = report::Versions {
        old: old.described,
        new: new.described,
    };
    match args.format {
        Format::Human => out!("{}", report.human(&versions, color_stdout()))?,
        Format::Json => out!(
            "{:#}\n",
            report.json(&versions, &fail_on, !failures.is_empty())
        )?,
    }
    let mut err = std::io::stderr().lock();
    for failure in &failures {
        let _ = writeln!(err, "error: {failure}");
    }
    if report.bad > 0 {
        let _ = writeln!(
            err,
            "error: {} of `{}` could not be replayed: the diff is incomplete",
            crate::plural(report.bad as usize, "line"),
            args.requests.display()
        );
        return Ok(ExitCode::from(2));
    }
    Ok(if failures.is_empty() {
        ExitCode::SUCCESS
    } else {
        ExitCode::from(1)
    })
}

fn requests(n: u64) -> String {
    if n == 1 {
        "1 request is".to_owned()
    } else {
        format!("{n} requests are")
    }
}

/// Reads, compiles and loads the estate into one version; `None` when it has errors (they
/// are printed).
fn version(role: &str, spec: &str, args: &DiffArgs) -> Result<Option<Version>, CliError> {
    let loaded = source::load(spec, &args.path)?;
    let n_files = loaded.files.len();
    let (compiled, ok) =
        report_diagnostics(Path::new(&loaded.label), loaded.files, args.format, true)?;
    let Some(program) = compiled.program.filter(|_| ok) else {
        let _ = writeln!(
            std::io::stderr(),
            "error: the {role} version (`{}`) does not check",
            loaded.label
        );
        return Ok(None);
    };
    let engine = Engine::with_config(
        program,
        EngineConfig {
            engine: args.engine.kind(),
        },
    )
    .map_err(|e| CliError::new(format!("the {role} policy set is not executable: {e}")))?;
    if let Some(path) = &args.entities {
        let text = std::fs::read_to_string(path)
            .map_err(|e| CliError::new(format!("cannot read `{}`: {e}", path.display())))?;
        engine.load_entities_str(&text).map_err(|e| {
            CliError::new(format!(
                "the entities in `{}` are not valid for the {role} version (`{}`):\n{e}",
                path.display(),
                loaded.label
            ))
        })?;
    }
    Ok(Some(Version {
        engine,
        described: json!({
            "source": loaded.label,
            "commit": loaded.commit,
            "files": n_files,
        }),
    }))
}

/// What one line of the input holds.
enum Entry<'a> {
    /// A request to replay (a request line, or the `request` of a decision-log line).
    Request(&'a Value),
    /// A decision-log line of another kind.
    Skip(&'a str),
}

/// Reads a line generically: a JSON object with a string `kind` is a decision-log line, whose
/// `request` is replayed when the kind is `decision`; anything else is a request (which the
/// versions then validate).
fn entry(doc: &Value) -> Result<Entry<'_>, String> {
    let Some(kind) = doc.get("kind") else {
        return Ok(Entry::Request(doc));
    };
    match kind.as_str() {
        Some("decision") => match doc.get("request") {
            Some(Value::Null) | None => Err(
                "a decision-log line without `request`: there is no request to replay".to_owned(),
            ),
            Some(request) => Ok(Entry::Request(request)),
        },
        Some(other) => Ok(Entry::Skip(other)),
        None => Err(format!(
            "`kind` is {kind}, not a string: the line is neither a request nor a decision-log \
             line"
        )),
    }
}

/// Lines per batch handed to a worker.
const BATCH: usize = 512;

/// A line as the reader hands it on: its text, or why it cannot be replayed.
enum Read {
    Text(String),
    Bad(String),
}

/// Consecutive lines of the input, numbered.
struct Batch {
    index: u64,
    lines: Vec<(usize, Read)>,
}

/// What a worker made of a batch: how many requests kept their decision, and everything
/// else, in line order.
struct Done {
    index: u64,
    lines: usize,
    unchanged: u64,
    events: Vec<(usize, Event)>,
}

enum Event {
    Bad(String),
    Skip(String),
    /// A request whose decision changed (boxed: most events are small).
    Replayed(Box<Replayed>),
}

struct Replayed {
    request: Value,
    old: Decision,
    new: Decision,
}

/// Replays the input: one thread reads lines (bounded, as `ward eval` does), workers parse
/// and decide batches of them, and this thread takes their results in input order, so the
/// report (the first examples of each group, bad lines on stderr) is that of a sequential run.
/// The channels are bounded: at most a few batches are in flight, whatever the input's size.
fn replay(
    old: &Engine,
    new: &Engine,
    args: &DiffArgs,
    report: &mut report::Report,
) -> Result<(), CliError> {
    let stdin = args.requests.as_os_str() == "-";
    let name = if stdin {
        "standard input".to_owned()
    } else {
        format!("`{}`", args.requests.display())
    };
    let (input, size): (Box<dyn std::io::Read + Send>, Option<u64>) = if stdin {
        (Box::new(std::io::stdin()), None)
    } else {
        let file = std::fs::File::open(&args.requests)
            .map_err(|e| CliError::new(format!("cannot read {name}: {e}")))?;
        let size = file
            .metadata()
            .ok()
            .filter(|m| m.is_file())
            .map(|m| m.len());
        (Box::new(file), size)
    };
    let read = Arc::new(AtomicU64::new(0));
    let input = Box::new(Counting {
        inner: input,
        read: Arc::clone(&read),
    });
    let max = usize::try_from(args.max_line).unwrap_or(usize::MAX);
    let skip_limit = args.max_line.saturating_mul(SKIP_FACTOR).max(MIN_SKIP);
    let workers = std::thread::available_parallelism().map_or(1, |n| n.get().min(8));
    let mut progress = Progress::new(size, read);
    std::thread::scope(|scope| {
        let (to_workers, jobs) = mpsc::sync_channel::<Batch>(workers * 2);
        let (to_collector, results) = mpsc::sync_channel::<Done>(workers * 2);
        let jobs = Arc::new(Mutex::new(jobs));
        for _ in 0..workers {
            let jobs = Arc::clone(&jobs);
            let to_collector = to_collector.clone();
            scope.spawn(move || {
                loop {
                    let batch = match jobs.lock() {
                        Ok(jobs) => jobs.recv(),
                        Err(_) => return,
                    };
                    let Ok(batch) = batch else {
                        return;
                    };
                    if to_collector.send(decide_batch(old, new, batch)).is_err() {
                        return;
                    }
                }
            });
        }
        drop(to_collector);
        let reader = scope.spawn(move || {
            let mut lines = Lines::new(input, max, skip_limit, name);
            let mut batch = Batch {
                index: 0,
                lines: Vec::with_capacity(BATCH),
            };
            while let Some((number, line)) = lines.next(&mut || Ok(()))? {
                let read = match line {
                    Line::TooLong => {
                        Read::Bad(format!("longer than {max} bytes (the limit of --max-line)"))
                    }
                    Line::Text(bytes) => match std::str::from_utf8(bytes) {
                        Ok(text) if text.trim().is_empty() => continue,
                        Ok(text) => Read::Text(text.to_owned()),
                        Err(e) => Read::Bad(format!(
                            "not valid UTF-8 (bad byte at offset {})",
                            e.valid_up_to()
                        )),
                    },
                };
                batch.lines.push((number, read));
                if batch.lines.len() == BATCH {
                    let next = Batch {
                        index: batch.index + 1,
                        lines: Vec::with_capacity(BATCH),
                    };
                    if to_workers
                        .send(std::mem::replace(&mut batch, next))
                        .is_err()
                    {
                        break;
                    }
                }
            }
            let mut sent = batch.index;
            if !batch.lines.is_empty() && to_workers.send(batch).is_ok() {
                sent += 1;
            }
            Ok::<u64, CliError>(sent)
        });
        // Results come back in any order; they are taken in input order.
        let mut waiting = std::collections::BTreeMap::new();
        let mut next = 0;
        for done in results {
            waiting.insert(done.index, done);
            while let Some(done) = waiting.remove(&next) {
                next += 1;
                report.unchanged(done.unchanged);
                for (line, event) in done.events {
                    match event {
                        Event::Bad(why) => {
                            progress.println(&format!("error: line {line}: {why}"));
                            report.bad_line(line, why);
                        }
                        Event::Skip(kind) => report.skipped(&kind),
                        Event::Replayed(replayed) => {
                            let Replayed { request, old, new } = *replayed;
                            report.record(line, &request, old, new);
                        }
                    }
                }
                progress.advance(done.lines, report);
            }
        }
        progress.finish();
        match reader.join() {
            // Every batch read was taken: none was lost with a worker.
            Ok(Ok(sent)) if sent == next => Ok(()),
            Ok(Err(e)) => Err(e),
            _ => Err(CliError::new(
                "the replay stopped before every line was decided",
            )),
        }
    })
}

/// Parses and decides the lines of one batch in both versions.
fn decide_batch(old: &Engine, new: &Engine, batch: Batch) -> Done {
    let mut done = Done {
        index: batch.index,
        lines: batch.lines.len(),
        unchanged: 0,
        events: Vec::new(),
    };
    for (line, read) in batch.lines {
        let text = match read {
            Read::Bad(why) => {
                done.events.push((line, Event::Bad(why)));
                continue;
            }
            Read::Text(text) => text,
        };
        let doc = match ward::json::parse_strict(&text) {
            Ok(doc) => doc,
            Err(e) => {
                let why = e
                    .to_string()
                    .replacen("invalid JSON at line 1, ", "invalid JSON at ", 1);
                done.events.push((line, Event::Bad(why)));
                continue;
            }
        };
        let event = match entry(&doc) {
            Err(why) => Event::Bad(why),
            Ok(Entry::Skip(kind)) => Event::Skip(kind.to_owned()),
            Ok(Entry::Request(request)) => {
                let (before, after) = (old.decide(request), new.decide(request));
                if report::unchanged(&before, &after) {
                    done.unchanged += 1;
                    continue;
                }
                Event::Replayed(Box::new(Replayed {
                    request: request.clone(),
                    old: before,
                    new: after,
                }))
            }
        };
        done.events.push((line, event));
    }
    done
}

/// Counts the bytes read, for the progress bar.
struct Counting {
    inner: Box<dyn std::io::Read + Send>,
    read: Arc<AtomicU64>,
}

impl std::io::Read for Counting {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        let n = self.inner.read(buf)?;
        self.read.fetch_add(n as u64, Ordering::Relaxed);
        Ok(n)
    }
}

/// A progress bar on stderr (bytes of the input read, requests replayed, changes found), only
/// when stderr is a terminal.
struct Progress {
    bar: Option<indicatif::ProgressBar>,
    read: Arc<AtomicU64>,
    lines: u64,
}

impl Progress {
    fn new(size: Option<u64>, read: Arc<AtomicU64>) -> Progress {
        let bar = std::io::stderr().is_terminal().then(|| {
            let target = indicatif::ProgressDrawTarget::stderr();
            match size {
                Some(size) => {
                    let bar = indicatif::ProgressBar::with_draw_target(Some(size), target);
                    if let Ok(style) = indicatif::ProgressStyle::with_template(
                        "{wide_bar} {bytes}/{total_bytes} {msg} ({elapsed}, {eta} left)",
                    ) {
                        bar.set_style(style);
                    }
                    bar
                }
                None => {
                    let bar = indicatif::ProgressBar::with_draw_target(None, target);
                    if let Ok(style) = indicatif::ProgressStyle::with_template(
                        "{spinner} {bytes} {msg} ({elapsed})",
                    ) {
                        bar.set_style(style);
                    }
                    bar
                }
            }
        });
        Progress {
            bar,
            read,
            lines: 0,
        }
    }

    /// `lines` more lines were taken.
    fn advance(&mut self, lines: usize, report: &report::Report) {
        let before = self.lines;
        self.lines += lines as u64;
        if let Some(bar) = &self.bar
            && before / 4096 != self.lines / 4096
        {
            bar.set_position(self.read.load(Ordering::Relaxed));
            bar.set_message(format!(
                "{} requests, {} changed",
                report.requests, report.changed
            ));
        }
    }

    /// A line on stderr, above the bar.
    fn println(&self, line: &str) {
        match &self.bar {
            Some(bar) => bar.suspend(|| {
                let _ = writeln!(std::io::stderr(), "{line}");
            }),
            None => {
                let _ = writeln!(std::io::stderr(), "{line}");
            }
        }
    }

    fn finish(&self) {
        if let Some(bar) = &self.bar {
            bar.finish_and_clear();
        }
    }
}
