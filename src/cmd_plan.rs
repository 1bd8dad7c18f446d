//! `ward plan`: turn a backlog of requests into a schedule — for each, the decision now, the
//! earliest instant it is allowed, the earliest it needs only an approval (and whose), and the
//! rules that block it — with a summary a person can act on.
//!
//! The planning itself is `ward_runtime::plan`; this module reads the backlog, spreads it over
//! the cores (one planner each), shows a progress bar on a terminal and prints the results.

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::io::{IsTerminal, Read, Write};
use std::path::Path;
use std::process::ExitCode;

use ward_runtime::engine::Engine;
use ward_runtime::plan::{Plan, PlanOptions, Planner};
use ward_runtime::time;

use crate::cmd_eval::build_engine;
use crate::{CliError, Format, PlanArgs};

/// Below this many requests a second thread is not worth starting.
const PER_THREAD: usize = 64;
/// Line numbers listed per group in the summary.
const LINES_SHOWN: usize = 12;

/// One line of the backlog and what became of it.
struct Entry {
    line: usize,
    action: Option<String>,
    result: Result<Plan, String>,
}

pub(crate) fn run(args: &PlanArgs) -> Result<ExitCode, CliError> {
    let horizon = time::parse_duration(&args.horizon).ok_or_else(|| {
        CliError::new(format!(
            "`--horizon {}` is not a duration (write it like `14d`, `36h` or `1d12h`)",
            args.horizon
        ))
    })?;
    let options = PlanOptions::with_horizon(horizon)
        .map_err(|e| CliError::new(format!("`--horizon {}`: {e}", args.horizon)))?;
    let Some(engine) = build_engine(
        &args.path,
        args.entities.as_deref(),
        args.format,
        args.engine.kind(),
    )?
    else {
        return Ok(ExitCode::from(1));
    };
    let text = read_backlog(&args.requests)?;
    let lines: Vec<(usize, &str)> = text
        .lines()
        .enumerate()
        .map(|(i, l)| (i + 1, l))
        .filter(|(_, l)| !l.trim().is_empty())
        .collect();
    let entries = plan_all(&engine, &lines, options)?;
    let mut out = std::io::BufWriter::new(std::io::stdout().lock());
    let written = match args.format {
        Format::Json => entries.iter().try_for_each(|e| {
            let doc = entry_json(e);
            writeln!(out, "{doc}")
        }),
        Format::Human => write!(out, "{}", summary(&entries, &args.requests, &args.horizon)),
    };
    written
        .and_then(|()| out.flush())
        .map_err(|e| CliError::new(format!("cannot write to stdout: {e}")))?;
    let bad: Vec<&Entry> = entries.iter().filter(|e| e.result.is_err()).collect();
    if args.format == Format::Human {
        let mut err = std::io::stderr().lock();
        for e in &bad {
            if let Err(why) = &e.result {
                let _ = writeln!(err, "error: line {}: {why}", e.line);
            }
        }
    }
    Ok(if bad.is_empty() {
        ExitCode::SUCCESS
    } else {
        ExitCode::from(1)
    })
}

fn read_backlog(path: &Path) -> Result<String, CliError> {
    let mut text = String::new();
    let read = if path.as_os_str() == "-" {
        std::io::stdin().read_to_string(&mut text).map(|_| ())
    } else {
        std::fs::read_to_string(path).map(|t| text = t)
    };
    read.map_err(|e| CliError::new(format!("cannot read `{}`: {e}", path.display())))?;
    Ok(text)
}

/// Plans every line, one planner per thread over consecutive slices; results in input order.
fn plan_all(
    engine: &Engine,
    lines: &[(usize, &str)],
    options: PlanOptions,
) -> Result<Vec<Entry>, CliError> {
    let cores = std::thread::available_parallelism().map_or(1, |n| n.get());
    let threads = cores.min(lines.len().div_ceil(PER_THREAD)).max(1);
    let size = lines.len().div_ceil(threads).max(1);
    let progress = progress_bar(lines.len());
    let results: Vec<Result<Vec<Entry>, String>> = std::thread::scope(|s| {
        let handles: Vec<_> = lines
            .chunks(size)
            .map(|slice| {
                let progress = &progress;
                s.spawn(move || -> Result<Vec<Entry>, String> {
                    let mut planner = Planner::new(engine, options).map_err(|e| e.to_string())?;
                    let out = slice
                        .iter()
                        .map(|&(line, text)| {
                            let entry = plan_line(&mut planner, line, text);
                            progress.inc(1);
                            entry
                        })
                        .collect();
                    Ok(out)
                })
            })
            .collect();
        handles
            .into_iter()
            .map(|h| {
                h.join()
                    .unwrap_or_else(|_| Err("a planning thread failed".to_owned()))
            })
            .collect()
    });
    progress.finish_and_clear();
    let mut entries = Vec::with_capacity(lines.len());
    for r in results {
        entries.extend(r.map_err(|e| CliError::new(format!("cannot plan: {e}")))?);
    }
    Ok(entries)
}

fn plan_line(planner: &mut Planner<'_>, line: usize, text: &str) -> Entry {
    let doc = match ward_runtime::json::parse_strict(text) {
        Ok(doc) => doc,
        Err(e) => {
            return Entry {
                line,
                action: None,
                result: Err(e.to_string()),
            };
        }
    };
    let action = doc
        .get("action")
        .and_then(|a| a.as_str())
        .map(str::to_owned);
    let result = planner.plan(&doc).map_err(|e| e.to_string());
    Entry {
        line,
        action,
        result,
    }
}

/// A progress bar on stderr, drawn only on a terminal.
fn progress_bar(len: usize) -> indicatif::ProgressBar {
    if !std::io::stderr().is_terminal() || len < 2 {
        return indicatif::ProgressBar::hidden();
    }
    let bar = indicatif::ProgressBar::new(len as u64);
    bar.set_draw_target(indicatif::ProgressDrawTarget::stderr());
    if let Ok(style) = indicatif::ProgressStyle::with_template(
        "planning {bar:40} {pos}/{len} requests ({eta} left)",
    ) {
        bar.set_style(style);
    }
    bar
}

/// One line of `--format json`: the line number, the action and the plan's fields, in that
/// order; or the line number and the error.
#[derive(serde::Serialize)]
struct Row<'a> {
    line: usize,
    action: &'a Option<String>,
    #[serde(flatten)]
    plan: &'a Plan,
}

#[derive(serde::Serialize)]
struct Bad<'a> {
    line: usize,
    error: &'a str,
}

fn entry_json(e: &Entry) -> String {
    let doc = match &e.result {
        Ok(plan) => serde_json::to_string(&Row {
            line: e.line,
            action: &e.action,
            plan,
        }),
        Err(error) => serde_json::to_string(&Bad {
            line: e.line,
            error,
        }),
    };
    doc.unwrap_or_else(|e| format!("{{\"error\": \"cannot write the plan: {e}\"}}"))
}

/// The UTC day of an instant, `2026-11-28`.
fn day(t: i64) -> String {
    time::format_timestamp(t).chars().take(10).collect()
}

/// `lines 3, 7 and 12` (at most [`LINES_SHOWN`], then `and N more`).
fn line_list(lines: &[usize]) -> String {
    let shown: Vec<String> = lines
        .iter()
        .take(LINES_SHOWN)
        .map(ToString::to_string)
        .collect();
    let word = if lines.len() == 1 { "line" } else { "lines" };
    match lines.len() {
        0 => String::new(),
        n if n > LINES_SHOWN => format!("{word} {} and {} more", shown.join(", "), n - LINES_SHOWN),
        1 => format!("{word} {}", shown.join("")),
        _ => {
            let (last, rest) = shown.split_last().map_or(("", &[][..]), |(l, r)| (l, r));
            format!("{word} {} and {last}", rest.join(", "))
        }
    }
}

/// The summary for a person: how many can run now, later (by day), sooner with an approval
/// (by approver, so one person can approve a batch), not within the horizon (by blocking
/// rule), and the lines that could not be planned.
fn summary(entries: &[Entry], path: &Path, horizon: &str) -> String {
    let plans: Vec<(usize, &Plan)> = entries
        .iter()
        .filter_map(|e| e.result.as_ref().ok().map(|p| (e.line, p)))
        .collect();
    let bad: Vec<usize> = entries
        .iter()
        .filter(|e| e.result.is_err())
        .map(|e| e.line)
        .collect();
    let mut now = Vec::new();
    let mut later: BTreeMap<String, Vec<usize>> = BTreeMap::new();
    let mut never = Vec::new();
    let mut never_by: BTreeMap<&str, Vec<usize>> = BTreeMap::new();
    let mut only_approval = Vec::new();
    let mut taking_turns = Vec::new();
    let mut sooner: BTreeMap<&str, (Vec<usize>, i64)> = BTreeMap::new();
    let mut sooner_lines = Vec::new();
    for &(line, p) in &plans {
        match p.allow_at {
            Some(t) if t > p.at => later.entry(day(t)).or_default().push(line),
            Some(_) => now.push(line),
            None => {
                never.push(line);
                for rule in &p.blocked_by {
                    never_by.entry(rule).or_default().push(line);
                }
                match (p.blocked_by.is_empty(), p.approval_at) {
                    (false, _) => {}
                    (true, Some(_)) => only_approval.push(line),
                    (true, None) => taking_turns.push(line),
                }
            }
        }
        if let Some(a) = p.approval_at
            && p.allow_at.is_none_or(|t| a < t)
        {
            sooner_lines.push(line);
            for who in &p.approvers {
                let slot = sooner.entry(who).or_insert((Vec::new(), a));
                slot.0.push(line);
                slot.1 = slot.1.min(a);
            }
        }
    }
    let n_later: usize = later.values().map(Vec::len).sum();
    // (label, count, detail), then laid out in columns.
    let mut rows: Vec<(String, usize, String)> = Vec::new();
    rows.push(("can run now".into(), now.len(), String::new()));
    rows.push((
        "can run later, without approval".into(),
        n_later,
        String::new(),
    ));
    for (d, lines) in &later {
        rows.push((format!("  from {d}"), lines.len(), line_list(lines)));
    }
    rows.push((
        "not allowed within the horizon".into(),
        never.len(),
        String::new(),
    ));
    let mut by_rule: Vec<(&&str, &Vec<usize>)> = never_by.iter().collect();
    by_rule.sort_by(|a, b| b.1.len().cmp(&a.1.len()).then(a.0.cmp(b.0)));
    for (rule, lines) in by_rule {
        rows.push((
            format!("  blocked by {rule}"),
            lines.len(),
            line_list(lines),
        ));
    }
    if !only_approval.is_empty() {
        rows.push((
            "  only with an approval".into(),
            only_approval.len(),
            line_list(&only_approval),
        ));
    }
    if !taking_turns.is_empty() {
        rows.push((
            "  blocked by rules that take turns".into(),
            taking_turns.len(),
            line_list(&taking_turns),
        ));
    }
    if !bad.is_empty() {
        rows.push(("could not be planned".into(), bad.len(), line_list(&bad)));
    }
    rows.push((String::new(), 0, String::new()));
    rows.push((
        "sooner with an approval".into(),
        sooner_lines.len(),
        String::new(),
    ));
    let mut by_approver: Vec<(&&str, &(Vec<usize>, i64))> = sooner.iter().collect();
    by_approver.sort_by(|a, b| b.1.0.len().cmp(&a.1.0.len()).then(a.0.cmp(b.0)));
    for (who, (lines, first)) in by_approver {
        rows.push((
            format!("  {who}"),
            lines.len(),
            format!(
                "from {}: {}",
                time::format_timestamp(*first),
                line_list(lines)
            ),
        ));
    }
    let stepped = plans.iter().filter(|(_, p)| p.stepped).count();
    let exhaustive = plans.iter().filter(|(_, p)| p.exhaustive).count();
    let width = rows.iter().map(|r| r.0.chars().count()).max().unwrap_or(0);
    let mut out = String::new();
    let _ = writeln!(
        out,
        "planned {} from `{}`, each over {horizon} from its own time\n",
        plural(plans.len(), "request"),
        path.display(),
    );
    for (label, n, detail) in rows {
        if label.is_empty() {
            let _ = writeln!(out);
            continue;
        }
        let line = format!("{label:<width$}  {n:>5}  {detail}");
        let _ = writeln!(out, "{}", line.trim_end());
    }
    if stepped > 0 {
        let _ = writeln!(
            out,
            "\nnote: {} use `now` in a way the planner cannot bound (a set built from `now`, a \
             product of two durations that depend on it): their rules were re-examined every \
             second while that held, which is exact but slower",
            plural(stepped, "request"),
        );
    }
    if exhaustive > 0 {
        let _ = writeln!(
            out,
            "\nnote: for {} the engine fired other rules than the planner predicted, so the \
             rest of the horizon was decided at every second (exact, slower); please report it",
            plural(exhaustive, "request"),
        );
    }
    out
}

fn plural(n: usize, word: &str) -> String {
    if n == 1 {
        format!("1 {word}")
    } else {
        format!("{n} {word}s")
    }
}
