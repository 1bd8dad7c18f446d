//! `ward serve`: the decision service (docs/server.md). This module turns flags into a
//! `ward_server::Config`, renders start-up failures as `ward check` does, and runs the server
//! until `SIGTERM`.

use std::io::Write;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Duration;

use ward_server::policy::LoadFailure;
use ward_server::{Config, Durability, Server, StartError};

use crate::{CliError, EngineChoice};

#[derive(Debug, clap::Args)]
pub(crate) struct ServeArgs {
    /// A `.ward` file or a directory of them (watched: changes are reloaded)
    policy: PathBuf,
    /// The estate: entities and relations as JSON (watched: changes are reloaded)
    #[arg(long, value_name = "FILE")]
    entities: PathBuf,
    /// Address to listen on; without `--tokens` it must be a loopback address
    #[arg(long, value_name = "ADDR", default_value = "127.0.0.1:8181")]
    listen: SocketAddr,
    /// Folder for the decision log (`STATE/log/*.jsonl`)
    #[arg(long, value_name = "DIR", default_value = "ward-state")]
    state: PathBuf,
    /// Tokens file (TOML, hashes only; `ward token new` makes entries). Without it: loopback
    /// only, every caller is `anonymous` and may only decide
    #[arg(long, value_name = "FILE")]
    tokens: Option<PathBuf>,
    /// A second policy set decided beside the real one: logged and counted, never answered
    #[arg(long, value_name = "POLICY")]
    shadow: Option<PathBuf>,
    /// How far a request's `at` may be from the server's clock (`5s`, `10m`, `2d`)
    #[arg(long, value_name = "DURATION", default_value = "5s", value_parser = parse_duration)]
    max_skew: Duration,
    /// Largest request body, in bytes
    #[arg(long, value_name = "BYTES", default_value_t = 1 << 20)]
    max_body: usize,
    /// Time to read a request's body, decide and log it
    #[arg(long, value_name = "DURATION", default_value = "10s", value_parser = parse_duration)]
    request_timeout: Duration,
    /// Most connections open at once; more are answered 503
    #[arg(long, value_name = "N", default_value_t = 1024)]
    max_connections: usize,
    /// Do not watch the policy and entities files (reload with SIGHUP or the API)
    #[arg(long)]
    no_watch: bool,
    /// `fsync`: a decision is answered once its log line is on disk; `buffered`: once it is
    /// written to the operating system (survives a crash of ward, not of the machine)
    #[arg(long, value_name = "MODE", default_value = "fsync", value_parser = ["fsync", "buffered"])]
    log_durability: String,
    /// Start a new log file when the current one reaches this size, in bytes
    #[arg(long, value_name = "BYTES", default_value_t = 64 << 20)]
    log_max_file_bytes: u64,
    /// The engine that decides
    #[arg(long, value_enum, default_value = "jit")]
    engine: EngineChoice,
    /// Threads serving requests (default: one per core)
    #[arg(long, value_name = "N")]
    threads: Option<usize>,
    /// Where approvals are kept: `sqlite` (`STATE/approvals.sqlite3`) or a
    /// `postgres://USER@HOST/DB` URL shared by several replicas. Approvals exist only with
    /// `--tokens`
    #[arg(long, value_name = "STORE", default_value = "sqlite", value_parser = ward_server::ApprovalsBackend::parse)]
    approvals: ward_server::ApprovalsBackend,
    /// How long an approval lives after it is created (`24h`, `30m`)
    #[arg(long, value_name = "DURATION", default_value = "24h", value_parser = parse_duration)]
    approval_ttl: Duration,
    /// POST every new pending approval to this `http://` URL (retried with backoff)
    #[arg(long, value_name = "URL")]
    notify: Option<String>,
}

pub(crate) fn parse_duration(text: &str) -> Result<Duration, String> {
    ward_runtime::time::parse_duration(text)
        .and_then(|s| u64::try_from(s).ok())
        .map(Duration::from_secs)
        .ok_or_else(|| format!("`{text}` is not a duration (like `5s`, `10m`, `1h30m`)"))
}

pub(crate) fn run(args: &ServeArgs) -> Result<ExitCode, CliError> {
    init_tracing();
    let mut config = Config::new(&args.policy, &args.entities);
    config.listen = args.listen;
    config.state = args.state.clone();
    config.tokens = args.tokens.clone();
    config.shadow = args.shadow.clone();
    config.max_skew = args.max_skew;
    config.limits.max_body_bytes = args.max_body;
    config.limits.request_timeout = args.request_timeout;
    config.limits.max_connections = args.max_connections.max(1);
    config.watch = !args.no_watch;
    config.log.durability = if args.log_durability == "buffered" {
        Durability::Buffered
    } else {
        Durability::Fsync
    };
    config.log.max_file_bytes = args.log_max_file_bytes.max(1);
    config.engine = args.engine.kind();
    config.worker_threads = args.threads;
    config.approvals = args.approvals.clone();
    config.approval_ttl = args.approval_ttl;
    config.notify = args.notify.clone();
    let server = match Server::start(config) {
        Ok(server) => server,
        Err(err) => return Ok(report_start_error(&err)),
    };
    let status = ward_server::routes::status_doc(server.state());
    let mut err = std::io::stderr().lock();
    let _ = writeln!(
        err,
        "ward serve: listening on http://{} (policy {}, estate {}, log {})",
        server.local_addr(),
        status["version"]["policy"].as_str().unwrap_or(""),
        status["version"]["estate"].as_str().unwrap_or(""),
        args.state.join("log").display()
    );
    if let Some(torn) = &server.state().torn_at_start {
        let _ = writeln!(
            err,
            "warning: the decision log ended in a torn line ({} bytes at offset {} of `{}`, from a crash during a write); it was moved to `{}`",
            torn.bytes,
            torn.offset,
            torn.file.display(),
            torn.moved_to.display()
        );
    }
    drop(err);
    server
        .run_until_signal()
        .map_err(|e| CliError::new(e.to_string()))?;
    let _ = writeln!(std::io::stderr(), "ward serve: stopped");
    Ok(ExitCode::SUCCESS)
}

/// Prints why the server did not start; policy diagnostics as `ward check` prints them.
fn report_start_error(err: &StartError) -> ExitCode {
    let mut out = std::io::stderr().lock();
    let failure = match err {
        StartError::Policy(f) | StartError::Shadow(f) => f,
        other => {
            let _ = writeln!(out, "error: {other}");
            return ExitCode::from(2);
        }
    };
    if matches!(err, StartError::Shadow(_)) {
        let _ = writeln!(out, "error: the shadow policy does not load");
    }
    match failure {
        LoadFailure::Policy { compiled } => {
            crate::report_policy_errors(compiled, "nothing is served");
            ExitCode::from(1)
        }
        LoadFailure::Read { .. } => {
            let _ = writeln!(out, "error: {}", failure.render_plain());
            ExitCode::from(2)
        }
        LoadFailure::Estate { .. } | LoadFailure::Engine { .. } => {
            let _ = writeln!(out, "error: {}", failure.render_plain());
            ExitCode::from(1)
        }
    }
}

/// The server's own events at `info`, everything else (the compiler's queries) at `warn`.
fn init_tracing() {
    use tracing_subscriber::layer::SubscriberExt as _;
    use tracing_subscriber::util::SubscriberInitExt as _;
    let targets = tracing_subscriber::filter::Targets::new()
        .with_target("ward_server", tracing::Level::INFO)
        .with_default(tracing::Level::WARN);
    let _ = tracing_subscriber::registry()
        .with(
            tracing_subscriber::fmt::layer()
                .with_writer(std::io::stderr)
                .with_target(false)
                .with_ansi(false),
        )
        .with(targets)
        .try_init();
}
