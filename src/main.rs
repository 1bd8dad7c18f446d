//! The `ward` command line: check, test and evaluate guardrail policy sets.
//!
//! Exit codes: 0 success, 1 the policy set has errors or a test failed, 2 a usage error or an
//! input that cannot be read (docs/cli.md).

use std::io::Write;
use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Parser, Subcommand, ValueEnum};

mod cmd_check;
mod cmd_eval;
mod cmd_fmt;
mod cmd_log;
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
                  Exit codes: 0 success, 1 policy errors or failed tests, 2 usage errors or unreadable input."
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
    /// Rewrite `.ward` files in the canonical layout (`--check`: only report what would change)
    Fmt(FmtArgs),
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

#[derive(Debug, clap::Args)]
struct CheckArgs {
    /// A `.ward` file or a directory (every `.ward` file below it, in sorted path order)
    path: PathBuf,
    /// Output format of the diagnostics
    #[arg(long, value_enum, default_value_t)]
    format: Format,
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
    format: Format,
}

#[derive(Debug, clap::Args)]
struct EvalArgs {
    /// A `.ward` file or a directory of them
    path: PathBuf,
    /// The estate: entities and relations as JSON (spec §7); an empty estate when left out
    #[arg(long, value_name = "FILE")]
    entities: Option<PathBuf>,
    /// One request as JSON
    #[arg(
        long,
        value_name = "FILE",
        conflicts_with = "requests",
        required_unless_present = "requests"
    )]
    request: Option<PathBuf>,
    /// Requests as JSON lines (`-` for stdin); prints one decision per line, in order
    #[arg(long, value_name = "FILE")]
    requests: Option<PathBuf>,
    /// Explain the decision: which rules matched, which did not and why
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
        Command::Fmt(args) => cmd_fmt::run(&args),
        Command::Serve(args) => cmd_serve::run(&args),
        Command::Token(args) => cmd_token::run(&args),
        Command::Log(args) => cmd_log::run(&args),
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
        Err(err) => {
            let _ = writeln!(std::io::stderr(), "error: {err}");
            ExitCode::from(2)
        }
    }
}

/// A failure to read input or write output; the CLI exits with code 2.
#[derive(Debug)]
struct CliError(String);

impl std::fmt::Display for CliError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

impl CliError {
    fn new(message: impl Into<String>) -> CliError {
        CliError(message.into())
    }
}

/// Read a policy set and compile it; prints the diagnostics. `Ok(None)` when it has errors.
fn compile_and_report(
    path: &std::path::Path,
    format: Format,
    quiet_when_clean: bool,
) -> Result<(ward_check::Compiled, bool), CliError> {
    let files = ward_check::load_policy_set(path)
        .map_err(|e| CliError::new(format!("cannot read `{}`: {e}", path.display())))?;
    if files.is_empty() {
        return Err(CliError::new(format!(
            "no `.ward` files in `{}`",
            path.display()
        )));
    }
    let compiled = ward_check::compile(&files);
    let n_errors = compiled
        .diagnostics
        .iter()
        .filter(|d| d.diagnostic.is_error())
        .count();
    let n_warnings = compiled.diagnostics.len() - n_errors;
    let renderer = ward::render::Renderer::new(&compiled.files, color_stderr());
    match format {
        Format::Human => {
            let mut err = std::io::stderr().lock();
            for diag in &compiled.diagnostics {
                let _ = write!(err, "{}", renderer.human(diag));
            }
            if n_errors > 0 || n_warnings > 0 || !quiet_when_clean {
                let _ = writeln!(
                    err,
                    "{}",
                    summary(path, compiled.files.len(), n_errors, n_warnings)
                );
            }
        }
        Format::Json if n_errors > 0 || !quiet_when_clean => {
            let diagnostics: Vec<_> = compiled
                .diagnostics
                .iter()
                .map(|d| renderer.json(d))
                .collect();
            let doc = serde_json::json!({
                "files": compiled.files.len(),
                "errors": n_errors,
                "warnings": n_warnings,
                "diagnostics": diagnostics,
            });
            println!("{doc:#}");
        }
        Format::Json => {}
    }
    Ok((compiled, n_errors == 0))
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

fn color_stderr() -> bool {
    use std::io::IsTerminal;
    std::io::stderr().is_terminal() && std::env::var_os("NO_COLOR").is_none()
}
