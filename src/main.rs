//! The `ward` command line: check, test and evaluate guardrail policy sets.
//!
//! Exit codes: 0 success, 1 the policy set has errors or a test failed, 2 a usage error or an
//! input that cannot be read, 141 standard output closed by its reader (docs/cli.md). Every
//! command writes standard output through [`out!`] and [`outln!`], so that a closed pipe ends
//! it quietly instead of a panic.

use std::io::Write;
use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Parser, Subcommand, ValueEnum};

mod cmd_approvals;
mod cmd_check;
mod cmd_diff;
mod cmd_eval;
mod cmd_fmt;
mod cmd_log;
mod cmd_mcp;
mod cmd_plan;
mod cmd_serve;
mod cmd_test;
mod cmd_token;

#[derive(Debug, Parser)]
#[command(
    name = "ward",
    version,
    about = "Guardrails for agentic security automation: check, test and evaluate Ward policy sets",
    long_about = "Ward decides whether an action an agent proposes is allowed, denied or needs human \
                  approval, and says why. A policy set is a `.ward` file or a directory of them.\n\n\
                  Exit codes: 0 success, 1 policy errors or failed tests, 2 usage errors or unreadable input, \
                  141 standard output closed by its reader (`ward … | head`). See docs/cli.md."
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Parse and type-check a policy set and report every problem found
    Check(CheckArgs),
    /// Run the `test` blocks of a policy set
    Test(TestArgs),
    /// Decide one request (or a stream of them) against a policy set and an estate
    Eval(EvalArgs),
    /// Schedule a backlog of requests: when each can run, and who must approve what sooner
    Plan(PlanArgs),
    /// Rewrite `.ward` files in the canonical layout (`--check`: only report what would change)
    Fmt(FmtArgs),
    /// Replay requests against two versions of a policy set (directories or git revisions) and
    /// report every decision that changes
    Diff(cmd_diff::DiffArgs),
    /// Run the language server on stdin and stdout (diagnostics, hover, go to definition,
    /// references, formatting, completion)
    Lsp,
    /// Serve decisions over HTTP, with hot reload, a shadow policy and a hash-chained
    /// decision log (docs/server.md)
    Serve(cmd_serve::ServeArgs),
    /// Make bearer tokens for `ward serve --tokens`
    Token(cmd_token::TokenArgs),
    /// Verify or read the decision log of `ward serve`
    Log(cmd_log::LogArgs),
    /// List, show, approve or reject the approvals of a `ward serve` (docs/approvals.md)
    Approvals(cmd_approvals::ApprovalsArgs),
    /// Guard an MCP server: decide every `tools/call` an agent makes with the policy set before
    /// the tool sees it; pass every other message through (docs/mcp.md)
    #[command(name = "mcp-guard")]
    McpGuard(cmd_mcp::GuardArgs),
    /// Turn an MCP server's `tools/list` into `action` declarations and a `tools.toml` for
    /// `ward mcp-guard --map` (docs/mcp.md)
    #[command(name = "mcp-schema")]
    McpSchema(cmd_mcp::SchemaArgs),
}

/// How diagnostics and results are printed.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, ValueEnum)]
enum Format {
    /// For people: source snippets, labels and help
    #[default]
    Human,
    /// For machines: one JSON document on stdout
    Json,
}

/// How `ward check` prints its diagnostics.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, ValueEnum)]
enum CheckFormat {
    /// For people: source snippets, labels and help
    #[default]
    Human,
    /// For machines: one JSON document on stdout
    Json,
    /// SARIF 2.1.0 on stdout, for code-scanning tools (GitHub, GitLab, IDEs)
    Sarif,
}

/// How `ward test` prints its results.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, ValueEnum)]
enum TestFormat {
    /// For people: one line per test, what failed and why
    #[default]
    Human,
    /// For machines: one JSON document on stdout
    Json,
    /// JUnit XML on stdout, one testcase per test, for CI test reports
    Junit,
}

#[derive(Debug, clap::Args)]
struct CheckArgs {
    /// A `.ward` file or a directory (every `.ward` file below it, in sorted path order)
    path: PathBuf,
    /// Output format of the diagnostics
    #[arg(long, value_enum, default_value_t)]
    format: CheckFormat,
    /// Print the typed IR the runtime executes (only when the policy set has no errors)
    #[arg(long)]
    emit_ir: bool,
    /// Compile the rules to native code and report, per rule, how it is executed
    #[arg(long)]
    stats: bool,
}

/// The engine that decides: native code compiled by the JIT, or the reference interpreter.
#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
enum EngineChoice {
    /// The reference interpreter
    Interp,
    /// Native code (Cranelift JIT)
    Jit,
}

impl EngineChoice {
    fn kind(self) -> ward_runtime::engine::EngineKind {
        match self {
            EngineChoice::Interp => ward_runtime::engine::EngineKind::Interp,
            EngineChoice::Jit => ward_runtime::engine::EngineKind::Jit,
        }
    }
}

#[derive(Debug, clap::Args)]
struct TestArgs {
    /// A `.ward` file or a directory of them
    path: PathBuf,
    /// Run only the tests whose name contains this text
    #[arg(long)]
    filter: Option<String>,
    /// Run the tests on this engine only (default: on both, a disagreement is a failure)
    #[arg(long, value_enum)]
    engine: Option<EngineChoice>,
    /// Output format of diagnostics and results
    #[arg(long, value_enum, default_value_t)]
    format: TestFormat,
    /// Report what the tests exercise: the rules no test made fire, the `when` conditions no
    /// test made false, and the share of both that the tests cover
    #[arg(long)]
    coverage: bool,
    /// Exit with code 1 when the coverage is below this percentage (implies `--coverage`)
    #[arg(long, value_name = "PERCENT", value_parser = parse_percent)]
    min_coverage: Option<f64>,
}

fn parse_percent(text: &str) -> Result<f64, String> {
    match text.trim_end_matches('%').parse::<f64>() {
        Ok(n) if (0.0..=100.0).contains(&n) => Ok(n),
        _ => Err(format!("`{text}` is not a percentage between 0 and 100")),
    }
}

#[derive(Debug, clap::Args)]
struct EvalArgs {
    /// A `.ward` file or a directory of them
    path: PathBuf,
    /// The estate: entities and relations as JSON (docs/language.md §9); an empty estate when
    /// left out
    #[arg(long, value_name = "FILE")]
    entities: Option<PathBuf>,
    /// One request as JSON (docs/language.md §9); a duplicate key is a deny naming it
    #[arg(
        long,
        value_name = "FILE",
        conflicts_with = "requests",
        required_unless_present = "requests"
    )]
    request: Option<PathBuf>,
    /// Requests as JSON lines (`-` for stdin): one decision per line, in order, each written as
    /// soon as its line is decided; a line that cannot be decided gets a deny naming its number
    #[arg(long, value_name = "FILE")]
    requests: Option<PathBuf>,
    /// The longest request accepted, in bytes: a longer line of `--requests` (or a longer
    /// `--request` file) is denied without being read into memory
    #[arg(long, value_name = "BYTES", default_value_t = 1 << 20, value_parser = clap::value_parser!(u64).range(1..))]
    max_line: u64,
    /// Explain the decision: which rules matched, which did not and why (with `--requests`, one
    /// trace per line, headed by its number; with `--format json`, `{"decision", "explanation"}`
    /// for every line)
    #[arg(long)]
    explain: bool,
    /// The engine that decides
    #[arg(long, value_enum, default_value = "jit")]
    engine: EngineChoice,
    /// Output format of diagnostics and explanations
    #[arg(long, value_enum, default_value_t)]
    format: Format,
}

#[derive(Debug, clap::Args)]
struct PlanArgs {
    /// A `.ward` file or a directory of them
    path: PathBuf,
    /// The estate: entities and relations as JSON; an empty estate when left out
    #[arg(long, value_name = "FILE")]
    entities: Option<PathBuf>,
    /// The backlog: requests as JSON lines (`-` for stdin); each request's `at` is its "now"
    #[arg(long, value_name = "FILE")]
    requests: PathBuf,
    /// How far ahead of each request's time to look (a duration: `14d`, `36h`; at most `366d`)
    #[arg(long, value_name = "DURATION", default_value = "14d")]
    horizon: String,
    /// The engine that decides
    #[arg(long, value_enum, default_value = "jit")]
    engine: EngineChoice,
    /// `human`: a summary; `json`: one JSON object per request, in input order
    #[arg(long, value_enum, default_value_t)]
    format: Format,
}

#[derive(Debug, clap::Args)]
struct FmtArgs {
    /// A `.ward` file or a directory (every `.ward` file below it, in sorted path order)
    path: PathBuf,
    /// Change nothing: list the files that are not formatted, with the first lines that differ,
    /// and exit with code 1 if there are any
    #[arg(long)]
    check: bool,
    /// Output format of the report and diagnostics
    #[arg(long, value_enum, default_value_t)]
    format: Format,
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    let result = match cli.command {
        Command::Check(args) => cmd_check::run(&args),
        Command::Test(args) => cmd_test::run(&args),
        Command::Eval(args) => cmd_eval::run(&args),
        Command::Plan(args) => cmd_plan::run(&args),
        Command::Fmt(args) => cmd_fmt::run(&args),
        Command::Diff(args) => cmd_diff::run(&args),
        Command::Serve(args) => cmd_serve::run(&args),
        Command::Token(args) => cmd_token::run(&args),
        Command::Log(args) => cmd_log::run(&args),
        Command::Approvals(args) => cmd_approvals::run(&args),
        Command::McpGuard(args) => cmd_mcp::guard(&args),
        Command::McpSchema(args) => cmd_mcp::schema(&args),
        // The LSP specification asks for exit code 1 when the session ends without `shutdown`.
        Command::Lsp => Ok(match ward_lsp::run_stdio() {
            Ok(()) => ExitCode::SUCCESS,
            Err(e) => {
                let _ = writeln!(std::io::stderr(), "error: language server: {e}");
                ExitCode::from(1)
            }
        }),
    };
    match result {
        Ok(code) => code,
        // Whoever read our output has gone (`ward eval … | head`): stop without a word, with
        // the status a shell shows for a Unix tool that SIGPIPE ended (128 + 13).
        Err(CliError::ClosedStdout) => ExitCode::from(141),
        Err(CliError::Message(err)) => {
            let _ = writeln!(std::io::stderr(), "error: {err}");
            ExitCode::from(2)
        }
    }
}

/// Why a command stopped early. A message means exit code 2 (docs/cli.md).
#[derive(Debug)]
enum CliError {
    /// Input that cannot be read, output that cannot be written, an unusable argument.
    Message(String),
    /// Standard output was closed by its reader: the command ends quietly.
    ClosedStdout,
}

impl CliError {
    fn new(message: impl Into<String>) -> CliError {
        CliError::Message(message.into())
    }

    /// An error writing to standard output: a closed pipe ends the command quietly, anything
    /// else is reported.
    fn stdout(err: &std::io::Error) -> CliError {
        if err.kind() == std::io::ErrorKind::BrokenPipe {
            CliError::ClosedStdout
        } else {
            CliError::new(format!("cannot write to standard output: {err}"))
        }
    }
}

/// Writes to standard output; a closed pipe becomes [`CliError::ClosedStdout`].
macro_rules! out {
    ($($arg:tt)*) => {{
        use std::io::Write as _;
        write!(std::io::stdout().lock(), $($arg)*).map_err(|e| $crate::CliError::stdout(&e))
    }};
}

/// [`out!`] with a line break.
macro_rules! outln {
    ($($arg:tt)*) => {{
        use std::io::Write as _;
        writeln!(std::io::stdout().lock(), $($arg)*).map_err(|e| $crate::CliError::stdout(&e))
    }};
}

pub(crate) use {out, outln};

/// Read a policy set (the files the user wrote); prints what was skipped, and refuses a
/// directory without `.ward` files.
fn load(path: &std::path::Path) -> Result<Vec<(String, String)>, CliError> {
    let loaded =
        ward::load_policy_set_with_warnings(path).map_err(|e| CliError::new(e.to_string()))?;
    let mut err = std::io::stderr().lock();
    for warning in &loaded.warnings {
        let _ = writeln!(err, "warning: {warning}");
    }
    if loaded.files.is_empty() {
        return Err(CliError::new(format!(
            "no `.ward` files in `{}`",
            path.display()
        )));
    }
    Ok(loaded.files)
}

/// Read a policy set and compile it; prints the diagnostics. The flag says whether it has no
/// errors.
fn compile_and_report(
    path: &std::path::Path,
    format: Format,
    quiet_when_clean: bool,
) -> Result<(ward::Compiled, bool), CliError> {
    let files = load(path)?;
    report_diagnostics(path, files, format, quiet_when_clean)
}

/// Compile `files` (read from `path`) and print the diagnostics as [`compile_and_report`]
/// does; the flag says whether the policy set has no errors.
fn report_diagnostics(
    path: &std::path::Path,
    files: Vec<(String, String)>,
    format: Format,
    quiet_when_clean: bool,
) -> Result<(ward::Compiled, bool), CliError> {
    // What the user wrote: `compiled.files` also holds the embedded stdlib modules.
    let n_files = files.len();
    let compiled = ward::compile(&files);
    let (n_errors, n_warnings) = count_diagnostics(&compiled);
    let renderer = ward::render::Renderer::new(&compiled.files, color_stderr());
    match format {
        Format::Human => {
            let mut err = std::io::stderr().lock();
            for diag in &compiled.diagnostics {
                let _ = write!(err, "{}", renderer.human(diag));
            }
            if n_errors > 0 || n_warnings > 0 || !quiet_when_clean {
                let _ = writeln!(err, "{}", summary(path, n_files, n_errors, n_warnings));
            }
        }
        Format::Json if n_errors > 0 || !quiet_when_clean => {
            let diagnostics: Vec<_> = compiled
                .diagnostics
                .iter()
                .map(|d| renderer.json(d))
                .collect();
            let doc = serde_json::json!({
                "files": n_files,
                "errors": n_errors,
                "warnings": n_warnings,
                "diagnostics": diagnostics,
            });
            outln!("{doc:#}")?;
        }
        Format::Json => {}
    }
    Ok((compiled, n_errors == 0))
}

/// How many errors and warnings `compiled` has.
/// A policy set that stopped a service from starting, on standard error: its diagnostics as
/// `ward check` shows them, then `error: the policy set has N errors (CONSEQUENCE)`.
fn report_policy_errors(compiled: &ward::Compiled, consequence: &str) {
    let renderer = ward::render::Renderer::new(&compiled.files, color_stderr());
    let mut err = std::io::stderr().lock();
    for diag in &compiled.diagnostics {
        let _ = write!(err, "{}", renderer.human(diag));
    }
    let (n_errors, _) = count_diagnostics(compiled);
    let _ = writeln!(
        err,
        "error: the policy set has {} ({consequence})",
        plural(n_errors, "error")
    );
}

fn count_diagnostics(compiled: &ward::Compiled) -> (usize, usize) {
    let n_errors = compiled
        .diagnostics
        .iter()
        .filter(|d| d.diagnostic.is_error())
        .count();
    (n_errors, compiled.diagnostics.len() - n_errors)
}

fn summary(path: &std::path::Path, n_files: usize, n_errors: usize, n_warnings: usize) -> String {
    let files = plural(n_files, "file");
    match (n_errors, n_warnings) {
        (0, 0) => format!("checked {files} in `{}`: no problems", path.display()),
        (0, w) => format!(
            "checked {files} in `{}`: {}",
            path.display(),
            plural(w, "warning")
        ),
        (e, 0) => format!("error: `{}` has {}", path.display(), plural(e, "error")),
        (e, w) => format!(
            "error: `{}` has {} and {}",
            path.display(),
            plural(e, "error"),
            plural(w, "warning")
        ),
    }
}

fn plural(n: usize, word: &str) -> String {
    if n == 1 {
        format!("1 {word}")
    } else {
        format!("{n} {word}s")
    }
}

/// Whether diagnostics on stderr may be coloured: stderr is a terminal and `NO_COLOR` is
/// unset or empty (no-color.org).
fn color_stderr() -> bool {
    use std::io::IsTerminal;
    std::io::stderr().is_terminal() && color_allowed()
}

/// Whether what is written on stdout may be coloured, as [`color_stderr`] for stdout.
fn color_stdout() -> bool {
    use std::io::IsTerminal;
    std::io::stdout().is_terminal() && color_allowed()
}

fn color_allowed() -> bool {
    std::env::var_os("NO_COLOR").is_none_or(|v| v.is_empty())
}

/// `text` in the ANSI colour `code` (`32` green, `31` red, `33` yellow, `1` bold) when `on`.
fn paint(on: bool, code: &str, text: &str) -> String {
    if on {
        format!("\x1b[{code}m{text}\x1b[0m")
    } else {
        text.to_owned()
    }
}
