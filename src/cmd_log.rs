//! `ward log verify` and `ward log show`: check the decision log's hash chain, and read it
//! with filters.

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use crate::{CliError, Format};

#[derive(Debug, clap::Args)]
pub(crate) struct LogArgs {
    #[command(subcommand)]
    command: LogCommand,
}

#[derive(Debug, clap::Subcommand)]
enum LogCommand {
    /// Check the hash chain; exit 1 naming the first line that was changed, removed or
    /// reordered
    Verify(VerifyArgs),
    /// Print log lines, oldest first
    Show(ShowArgs),
}

#[derive(Debug, clap::Args)]
struct VerifyArgs {
    /// The server's state folder (`--state` of `ward serve`), or its `log` folder
    state: PathBuf,
    /// Also require the last line to have this hash (as `/v1/status` reported it), which
    /// catches lines cut from the end
    #[arg(long, value_name = "HASH")]
    head: Option<String>,
}

#[derive(Debug, clap::Args)]
struct ShowArgs {
    /// The server's state folder (`--state` of `ward serve`), or its `log` folder
    state: PathBuf,
    /// Only lines of requests for this action
    #[arg(long, value_name = "ACTION")]
    action: Option<String>,
    /// Only decisions with this outcome (`allow`, `deny`, `require_approval`)
    #[arg(long, value_name = "DECISION", value_parser = ["allow", "deny", "require_approval"])]
    decision: Option<String>,
    /// Only lines written at or after this time: a timestamp (`2026-12-01T10:00:00Z`) or a
    /// duration before now (`1h`, `2d`)
    #[arg(long, value_name = "TIME")]
    since: Option<String>,
    /// Only lines of this kind
    #[arg(long, value_name = "KIND", value_parser = ["decision", "approval", "reload"])]
    kind: Option<String>,
    /// `human`: one summary line per entry; `json`: the lines as stored
    #[arg(long, value_enum, default_value_t)]
    format: Format,
}

fn log_dir(state: &Path) -> PathBuf {
    let nested = state.join("log");
    if nested.is_dir() {
        nested
    } else {
        state.to_owned()
    }
}

pub(crate) fn run(args: &LogArgs) -> Result<ExitCode, CliError> {
    match &args.command {
        LogCommand::Verify(v) => verify(v),
        LogCommand::Show(s) => show(s),
    }
}

fn verify(args: &VerifyArgs) -> Result<ExitCode, CliError> {
    let dir = log_dir(&args.state);
    if !dir.is_dir() {
        return Err(CliError::new(format!(
            "there is no decision log in `{}`",
            args.state.display()
        )));
    }
    let report = ward_log::verify(&dir).map_err(|e| CliError::new(e.to_string()))?;
    let mut out = std::io::stdout().lock();
    for torn in &report.torn {
        let _ = writeln!(
            out,
            "note: `{}` holds a torn line moved aside at start-up (never acknowledged, not part of the chain)",
            torn.display()
        );
    }
    if let Some((file, offset, bytes)) = &report.torn_tail {
        let _ = writeln!(
            out,
            "note: `{}` ends in a torn line ({bytes} bytes at offset {offset}, a write cut short by a crash, never acknowledged); `ward serve` moves it aside when it starts",
            file.display()
        );
    }
    if let Some(problem) = &report.problem {
        let _ = writeln!(
            std::io::stderr(),
            "error: {problem}\n  {} lines before it verify",
            report.lines
        );
        return Ok(ExitCode::from(1));
    }
    if let Some(head) = &args.head
        && *head != report.head.hash
    {
        let _ = writeln!(
            std::io::stderr(),
            "error: the last line (seq {}) has hash `{}`, not `{head}`: lines were cut from the end, or the log is another one",
            report.head.seq,
            report.head.hash
        );
        return Ok(ExitCode::from(1));
    }
    let _ = writeln!(
        out,
        "ok: {} in {}, the chain is intact (head: seq {}, {})",
        crate::plural(report.lines as usize, "line"),
        crate::plural(report.files, "file"),
        report.head.seq,
        report.head.hash
    );
    Ok(ExitCode::SUCCESS)
}

fn show(args: &ShowArgs) -> Result<ExitCode, CliError> {
    let dir = log_dir(&args.state);
    if !dir.is_dir() {
        return Err(CliError::new(format!(
            "there is no decision log in `{}`",
            args.state.display()
        )));
    }
    let since_ms = match &args.since {
        None => None,
        Some(text) => Some(parse_since(text)?),
    };
    let filter = ward_log::Filter {
        kind: args.kind.as_deref().and_then(ward_log::Kind::parse),
        action: args.action.clone(),
        decision: args.decision.clone(),
        since_ms,
    };
    let entries = ward_log::read(&dir, &filter).map_err(|e| CliError::new(e.to_string()))?;
    let mut out = std::io::BufWriter::new(std::io::stdout().lock());
    for entry in entries {
        let written = match args.format {
            Format::Json => writeln!(out, "{}", entry.text),
            Format::Human => writeln!(out, "{}", summary(&entry.value)),
        };
        written.map_err(|e| CliError::new(format!("cannot write to stdout: {e}")))?;
    }
    out.flush()
        .map_err(|e| CliError::new(format!("cannot write to stdout: {e}")))?;
    Ok(ExitCode::SUCCESS)
}

/// `seq time kind id principal …` on one line.
fn summary(line: &serde_json::Value) -> String {
    let s = |ptr: &str| {
        line.pointer(ptr)
            .and_then(serde_json::Value::as_str)
            .unwrap_or("-")
    };
    let seq = line
        .get("seq")
        .and_then(serde_json::Value::as_u64)
        .unwrap_or(0);
    let principal = s("/principal");
    match s("/kind") {
        "decision" => {
            let mut text = format!(
                "{seq:>6} {} decision {} by {principal}: {} {} -> {}",
                s("/time"),
                s("/id"),
                s("/request/action"),
                s("/at"),
                s("/decision/decision")
            );
            let messages: Vec<&str> = line
                .pointer("/decision/fired")
                .and_then(serde_json::Value::as_array)
                .map(|f| {
                    f.iter()
                        .filter_map(|r| r.get("message").and_then(serde_json::Value::as_str))
                        .collect()
                })
                .unwrap_or_default();
            let errors: Vec<&str> = line
                .pointer("/decision/errors")
                .and_then(serde_json::Value::as_array)
                .map(|f| {
                    f.iter()
                        .filter_map(|r| r.get("message").and_then(serde_json::Value::as_str))
                        .collect()
                })
                .unwrap_or_default();
            if !messages.is_empty() {
                text.push_str(&format!(" ({})", messages.join("; ")));
            }
            if !errors.is_empty() {
                text.push_str(&format!(" [errors: {}]", errors.join("; ")));
            }
            if let Some(shadow) = line
                .pointer("/shadow/decision/decision")
                .and_then(serde_json::Value::as_str)
            {
                text.push_str(&format!(" [shadow: {shadow}]"));
            }
            text
        }
        "reload" => {
            let ok = line
                .get("ok")
                .and_then(serde_json::Value::as_bool)
                .unwrap_or(false);
            let result = if ok {
                "ok"
            } else {
                "FAILED, previous version kept"
            };
            format!(
                "{seq:>6} {} reload {} ({}): {result}, policy {}",
                s("/time"),
                s("/id"),
                s("/trigger"),
                s("/policy")
            )
        }
        kind => format!("{seq:>6} {} {kind} {} by {principal}", s("/time"), s("/id")),
    }
}

fn parse_since(text: &str) -> Result<i64, CliError> {
    if let Some(secs) = ward_runtime::time::parse_timestamp(text) {
        return Ok(secs * 1000);
    }
    if let Some(secs) = ward_runtime::time::parse_duration(text) {
        let now = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.as_millis() as i64)
            .unwrap_or(0);
        return Ok(now - secs * 1000);
    }
    Err(CliError::new(format!(
        "`--since {text}` is neither a timestamp (`2026-12-01T10:00:00Z`) nor a duration (`1h`)"
    )))
}
