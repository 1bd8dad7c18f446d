//! `ward eval`: decide requests against a policy set and an estate.

use std::io::{BufRead, IsTerminal, Write};
use std::path::Path;
use std::process::ExitCode;
use std::time::{Duration, Instant};

use ward_runtime::decision::render_explanation;
use ward_runtime::engine::{Engine, EngineConfig, EngineKind};

use crate::{CliError, EvalArgs, Format, compile_and_report};

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
        let text = read(path)?;
        let request: serde_json::Value = serde_json::from_str(&text)
            .map_err(|e| CliError::new(format!("`{}` is not valid JSON: {e}", path.display())))?;
        decide_one(&engine, &request, args)?;
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
        let text = read(path)?;
        engine.load_entities_str(&text).map_err(|e| {
            CliError::new(format!(
                "the entities in `{}` are not valid:\n{e}",
                path.display()
            ))
        })?;
    }
    Ok(Some(engine))
}

fn read(path: &Path) -> Result<String, CliError> {
    std::fs::read_to_string(path)
        .map_err(|e| CliError::new(format!("cannot read `{}`: {e}", path.display())))
}

fn decide_one(
    engine: &Engine,
    request: &serde_json::Value,
    args: &EvalArgs,
) -> Result<(), CliError> {
    let mut out = std::io::stdout().lock();
    let written = if args.explain {
        let (decision, explanation) = engine.explain(request);
        match args.format {
            Format::Human => write!(out, "{}", render_explanation(&decision, &explanation)),
            Format::Json => {
                let doc = serde_json::json!({ "decision": decision, "explanation": explanation });
                writeln!(out, "{doc:#}")
            }
        }
    } else {
        let decision = engine.decide(request);
        let doc = serde_json::to_value(&decision)
            .map_err(|e| CliError::new(format!("cannot write the decision: {e}")))?;
        writeln!(out, "{doc:#}")
    };
    written.map_err(|e| CliError::new(format!("cannot write to stdout: {e}")))
}

/// One decision per input line, in order, streaming. A line that is not JSON gets a `deny`
/// carrying the parse error, so output line N always answers input line N (blank lines are
/// skipped).
fn decide_stream(engine: &Engine, path: &Path, args: &EvalArgs) -> Result<(), CliError> {
    let input: Box<dyn BufRead> = if path.as_os_str() == "-" {
        Box::new(std::io::stdin().lock())
    } else {
        let file = std::fs::File::open(path)
            .map_err(|e| CliError::new(format!("cannot read `{}`: {e}", path.display())))?;
        Box::new(std::io::BufReader::new(file))
    };
    let mut out = std::io::BufWriter::new(std::io::stdout().lock());
    let mut progress = Progress::new();
    for (idx, line) in input.lines().enumerate() {
        let line =
            line.map_err(|e| CliError::new(format!("cannot read `{}`: {e}", path.display())))?;
        if line.trim().is_empty() {
            continue;
        }
        let doc = match serde_json::from_str::<serde_json::Value>(&line) {
            Ok(request) if args.explain => {
                let (decision, explanation) = engine.explain(&request);
                serde_json::json!({ "decision": decision, "explanation": explanation })
            }
            Ok(request) => serde_json::to_value(engine.decide(&request))
                .map_err(|e| CliError::new(format!("cannot write the decision: {e}")))?,
            Err(e) => malformed_line(idx + 1, &e),
        };
        writeln!(out, "{doc}")
            .map_err(|e| CliError::new(format!("cannot write to stdout: {e}")))?;
        progress.tick();
    }
    out.flush()
        .map_err(|e| CliError::new(format!("cannot write to stdout: {e}")))?;
    progress.finish();
    Ok(())
}

fn malformed_line(line: usize, err: &serde_json::Error) -> serde_json::Value {
    serde_json::json!({
        "decision": "deny",
        "fired": [],
        "approvers": [],
        "errors": [{ "rule": null, "message": format!("line {line} is not a JSON request: {err}") }],
    })
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
