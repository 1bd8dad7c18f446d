//! `ward eval`: decide requests against a policy set and an estate.
//!
//! Every request is parsed strictly (a duplicate key is a deny naming it, as for any entry
//! point). `--requests` streams: each decision is written and flushed before the next line is
//! waited for, so a co-process that writes a request and reads its answer is served at once. A
//! line is never read into memory beyond `--max-line` bytes: a longer one, or one that is not
//! UTF-8 or not JSON, gets a deny naming its line number and the batch goes on.

use std::io::{BufRead, BufReader, IsTerminal, Read, Write};
use std::path::Path;
use std::process::ExitCode;
use std::time::{Duration, Instant};

use serde::Serialize;
use ward::{Decision, Engine, EngineConfig, EngineKind, Explanation};
use ward_runtime::decision::render_explanation;

use crate::{CliError, EvalArgs, Format, compile_and_report, out};

/// How far past `--max-line` an unfinished line is skipped before the input is given up on as
/// not being JSON lines at all (`/dev/zero`, a binary file): this many times the limit, and at
/// least [`MIN_SKIP`] bytes.
pub(crate) const SKIP_FACTOR: u64 = 64;
pub(crate) const MIN_SKIP: u64 = 64 << 20;

pub(crate) fn run(args: &EvalArgs) -> Result<ExitCode, CliError> {
    let Some(engine) = build_engine(
        &args.path,
        args.entities.as_deref(),
        args.format,
        args.engine.kind(),
    )?
    else {
        return Ok(ExitCode::from(1));
    };
    if let Some(path) = &args.request {
        decide_file(&engine, path, args)?;
    } else if let Some(path) = &args.requests {
        decide_stream(&engine, path, args)?;
    }
    Ok(ExitCode::SUCCESS)
}

/// Compile the policy set and load the estate; `None` when the policy set has errors (they
/// are printed).
pub(crate) fn build_engine(
    policy: &Path,
    entities: Option<&Path>,
    format: Format,
    kind: EngineKind,
) -> Result<Option<Engine>, CliError> {
    let (compiled, ok) = compile_and_report(policy, format, true)?;
    let Some(program) = compiled.program.filter(|_| ok) else {
        return Ok(None);
    };
    let engine = Engine::with_config(program, EngineConfig { engine: kind })
        .map_err(|e| CliError::new(format!("the compiled policy set is not executable: {e}")))?;
    if let Some(path) = entities {
        let text = std::fs::read_to_string(path)
            .map_err(|e| CliError::new(format!("cannot read `{}`: {e}", path.display())))?;
        engine.load_entities_str(&text).map_err(|e| {
            CliError::new(format!(
                "the entities in `{}` are not valid:\n{e}",
                path.display()
            ))
        })?;
    }
    Ok(Some(engine))
}

/// One request from a file. A file that cannot be read, is not UTF-8 or is not JSON at all
/// exits with 2 (decisions #24); anything else is decided, so a duplicate key is a `deny`
/// naming it, as the embedding API answers.
fn decide_file(engine: &Engine, path: &Path, args: &EvalArgs) -> Result<(), CliError> {
    let cannot_read =
        |e: std::io::Error| CliError::new(format!("cannot read `{}`: {e}", path.display()));
    let file = std::fs::File::open(path).map_err(cannot_read)?;
    let mut bytes = Vec::new();
    file.take(args.max_line.saturating_add(1))
        .read_to_end(&mut bytes)
        .map_err(cannot_read)?;
    let (decision, explanation) = if bytes.len() as u64 > args.max_line {
        let why = format!(
            "`{}` is longer than {} bytes (the limit of --max-line)",
            path.display(),
            args.max_line
        );
        (Decision::rejected(why), rejected_explanation(engine))
    } else {
        let text = String::from_utf8(bytes).map_err(|e| {
            CliError::new(format!(
                "`{}` is not UTF-8 (bad byte at offset {})",
                path.display(),
                e.utf8_error().valid_up_to()
            ))
        })?;
        if let Err(e) = serde_json::from_str::<serde::de::IgnoredAny>(&text) {
            let why = ward::json::parse_strict(&text)
                .err()
                .map_or(e.to_string(), |e| e.to_string());
            return Err(CliError::new(format!(
                "`{}` is not valid JSON: {why}",
                path.display()
            )));
        }
        if args.explain {
            engine.explain_str(&text)
        } else {
            (engine.decide_str(&text), rejected_explanation(engine))
        }
    };
    let text = match (args.explain, args.format) {
        (true, Format::Human) => render_explanation(&decision, &explanation),
        (true, Format::Json) => format!(
            "{}\n",
            pretty(&Explained {
                line: None,
                decision: &decision,
                explanation: &explanation
            })?
        ),
        (false, _) => format!("{}\n", pretty(&decision)?),
    };
    out!("{text}")
}

/// A decision as `--requests` writes it: the line number when the line was rejected.
#[derive(Serialize)]
struct Answer<'a> {
    #[serde(skip_serializing_if = "Option::is_none")]
    line: Option<usize>,
    #[serde(flatten)]
    decision: &'a Decision,
}

/// The shape of every line of `--explain` output in JSON.
#[derive(Serialize)]
struct Explained<'a> {
    #[serde(skip_serializing_if = "Option::is_none")]
    line: Option<usize>,
    decision: &'a Decision,
    explanation: &'a Explanation,
}

fn pretty<T: Serialize>(value: &T) -> Result<String, CliError> {
    serde_json::to_string_pretty(value)
        .map_err(|e| CliError::new(format!("cannot write the decision: {e}")))
}

fn compact<T: Serialize>(value: &T) -> Result<String, CliError> {
    serde_json::to_string(value)
        .map_err(|e| CliError::new(format!("cannot write the decision: {e}")))
}

/// The explanation of a request that did not validate. Taken from the engine (a `null`
/// request never validates) so that it is exactly what the engine says for one.
fn rejected_explanation(engine: &Engine) -> Explanation {
    engine.explain(&serde_json::Value::Null).1
}

/// Whether a decision carries a request-level error (`rule: null`): the line could not be
/// decided as a request, so its answer names the line.
fn rejected(decision: &Decision) -> bool {
    decision.errors.iter().any(|e| e.rule.is_none())
}

/// One decision per input line, in order, streaming (blank lines are skipped).
fn decide_stream(engine: &Engine, path: &Path, args: &EvalArgs) -> Result<(), CliError> {
    let name = if path.as_os_str() == "-" {
        "standard input".to_owned()
    } else {
        format!("`{}`", path.display())
    };
    let input: Box<dyn Read> = if path.as_os_str() == "-" {
        Box::new(std::io::stdin())
    } else {
        Box::new(
            std::fs::File::open(path)
                .map_err(|e| CliError::new(format!("cannot read {name}: {e}")))?,
        )
    };
    let max = usize::try_from(args.max_line).unwrap_or(usize::MAX);
    let skip_limit = args.max_line.saturating_mul(SKIP_FACTOR).max(MIN_SKIP);
    let mut lines = Lines::new(input, max, skip_limit, name);
    let mut out = std::io::BufWriter::new(std::io::stdout().lock());
    let mut progress = Progress::new();
    let mut template = None;
    loop {
        let mut flush = || out.flush().map_err(|e| CliError::stdout(&e));
        let Some((number, line)) = lines.next(&mut flush)? else {
            break;
        };
        let decided = match line {
            Line::TooLong => Err(format!(
                "line {number} is longer than {max} bytes (the limit of --max-line)"
            )),
            Line::Text(bytes) => match std::str::from_utf8(bytes) {
                Err(e) => Err(format!(
                    "line {number} is not valid UTF-8 (bad byte at offset {})",
                    e.valid_up_to()
                )),
                Ok(text) if text.trim().is_empty() => continue,
                Ok(text) => match ward::json::parse_strict(text) {
                    Err(e) => Err(format!(
                        "line {number}: {}",
                        e.to_string()
                            .replacen("invalid JSON at line 1, ", "invalid JSON at ", 1)
                    )),
                    Ok(doc) if args.explain => {
                        let (decision, explanation) = engine.explain(&doc);
                        Ok((decision, Some(explanation)))
                    }
                    Ok(doc) => Ok((engine.decide(&doc), None)),
                },
            },
        };
        let (decision, explanation) = match decided {
            Ok((decision, explanation)) => (decision, explanation),
            Err(why) => (Decision::rejected(why), None),
        };
        let line_no = rejected(&decision).then_some(number);
        let text = if args.explain {
            let explanation = match explanation {
                Some(explanation) => explanation,
                None => template
                    .get_or_insert_with(|| rejected_explanation(engine))
                    .clone(),
            };
            match args.format {
                Format::Human => format!(
                    "line {number}:\n{}\n",
                    render_explanation(&decision, &explanation)
                ),
                Format::Json => format!(
                    "{}\n",
                    compact(&Explained {
                        line: line_no,
                        decision: &decision,
                        explanation: &explanation
                    })?
                ),
            }
        } else {
            format!(
                "{}\n",
                compact(&Answer {
                    line: line_no,
                    decision: &decision
                })?
            )
        };
        out.write_all(text.as_bytes())
            .map_err(|e| CliError::stdout(&e))?;
        progress.tick();
    }
    out.flush().map_err(|e| CliError::stdout(&e))?;
    progress.finish();
    Ok(())
}

/// What [`Lines::next`] read.
pub(crate) enum Line<'a> {
    /// A whole line, without its line break.
    Text(&'a [u8]),
    /// A line longer than the limit: what was read of it is dropped, the rest is skipped on
    /// the next call.
    TooLong,
}

/// JSON lines read with a bounded buffer: no line is held beyond `max` bytes.
pub(crate) struct Lines {
    input: BufReader<Box<dyn Read>>,
    max: usize,
    skip_limit: u64,
    /// How the input is named in errors: `` `requests.jsonl` `` or `standard input`.
    name: String,
    buf: Vec<u8>,
    number: usize,
    /// The last line was too long and its end has not been read yet.
    skipping: bool,
}

impl Lines {
    pub(crate) fn new(input: Box<dyn Read>, max: usize, skip_limit: u64, name: String) -> Lines {
        Lines {
            input: BufReader::with_capacity(64 << 10, input),
            max,
            skip_limit,
            name,
            buf: Vec::new(),
            number: 0,
            skipping: false,
        }
    }

    /// The next line and its 1-based number; `None` at the end of the input. `before_wait` is
    /// called before every read that may block (nothing is buffered), so that the answers to
    /// the lines already read are out before waiting for more.
    pub(crate) fn next(
        &mut self,
        before_wait: &mut dyn FnMut() -> Result<(), CliError>,
    ) -> Result<Option<(usize, Line<'_>)>, CliError> {
        if self.skipping {
            self.skip_rest(before_wait)?;
        }
        self.buf.clear();
        let mut started = false;
        loop {
            if self.input.buffer().is_empty() {
                before_wait()?;
            }
            let chunk = match self.input.fill_buf() {
                Ok(chunk) => chunk,
                Err(e) if e.kind() == std::io::ErrorKind::Interrupted => continue,
                Err(e) => return Err(CliError::new(format!("cannot read {}: {e}", self.name))),
            };
            if chunk.is_empty() {
                if !started {
                    return Ok(None);
                }
                break;
            }
            started = true;
            let (taken, ends) = match chunk.iter().position(|&b| b == b'\n') {
                Some(at) => (at, true),
                None => (chunk.len(), false),
            };
            if self.buf.len() + taken > self.max {
                self.input.consume(taken + usize::from(ends));
                self.number += 1;
                self.skipping = !ends;
                return Ok(Some((self.number, Line::TooLong)));
            }
            self.buf
                .extend_from_slice(chunk.get(..taken).unwrap_or_default());
            self.input.consume(taken + usize::from(ends));
            if ends {
                break;
            }
        }
        self.number += 1;
        Ok(Some((self.number, Line::Text(&self.buf))))
    }

    /// Reads and drops the rest of a line that was too long, up to its line break.
    fn skip_rest(
        &mut self,
        before_wait: &mut dyn FnMut() -> Result<(), CliError>,
    ) -> Result<(), CliError> {
        let mut skipped = self.max as u64;
        loop {
            if self.input.buffer().is_empty() {
                before_wait()?;
            }
            let chunk = match self.input.fill_buf() {
                Ok(chunk) => chunk,
                Err(e) if e.kind() == std::io::ErrorKind::Interrupted => continue,
                Err(e) => return Err(CliError::new(format!("cannot read {}: {e}", self.name))),
            };
            if chunk.is_empty() {
                break;
            }
            if let Some(at) = chunk.iter().position(|&b| b == b'\n') {
                self.input.consume(at + 1);
                break;
            }
            let n = chunk.len();
            self.input.consume(n);
            skipped += n as u64;
            if skipped > self.skip_limit {
                return Err(CliError::new(format!(
                    "line {} of {} has no end after {} bytes: the input is not JSON lines \
                     (one request per line)",
                    self.number, self.name, self.skip_limit
                )));
            }
        }
        self.skipping = false;
        Ok(())
    }
}

/// A decision counter on stderr, shown only when stderr is a terminal.
struct Progress {
    enabled: bool,
    start: Instant,
    last: Instant,
    count: u64,
}

impl Progress {
    fn new() -> Progress {
        let now = Instant::now();
        Progress {
            enabled: std::io::stderr().is_terminal(),
            start: now,
            last: now,
            count: 0,
        }
    }

    fn tick(&mut self) {
        self.count += 1;
        if self.enabled
            && self.count.is_multiple_of(1024)
            && self.last.elapsed() > Duration::from_millis(100)
        {
            self.last = Instant::now();
            self.draw();
        }
    }

    fn draw(&self) {
        let secs = self.start.elapsed().as_secs_f64().max(1e-9);
        let rate = self.count as f64 / secs;
        let _ = write!(
            std::io::stderr(),
            "\r\x1b[2K{} decisions ({rate:.0}/s)",
            self.count
        );
    }

    fn finish(&self) {
        if self.enabled && self.count > 0 {
            self.draw();
            let _ = writeln!(std::io::stderr());
        }
    }
}
