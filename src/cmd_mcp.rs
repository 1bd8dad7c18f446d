//! `ward mcp-guard` and `ward mcp-schema` (docs/mcp.md): flags into `ward-mcp`'s
//! configuration, start-up failures rendered as `ward check` renders them. The proxy, the
//! decisions and the schema tool are `ward-mcp`'s.

use std::io::Write;
use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Duration;

use ward_mcp::approvals::ApprovalService;
use ward_mcp::guard::{Guard, GuardConfig, SystemClock};
use ward_mcp::ids::Ids;
use ward_mcp::mapping::Mapping;
use ward_mcp::policy::LoadFailure;
use ward_mcp::proxy::{self, ProxyConfig};
use ward_mcp::session::Session;

use crate::{CliError, EngineChoice, color_stderr, outln};

#[derive(Debug, clap::Args)]
pub(crate) struct GuardArgs {
    /// A `.ward` file or a directory of them
    policy: PathBuf,
    /// The estate: entities and relations as JSON
    #[arg(long, value_name = "FILE")]
    entities: PathBuf,
    /// The tool mapping (TOML): which action each tool is and which field each argument
    /// fills; without it, a tool is the action of the same name
    #[arg(long, value_name = "FILE")]
    map: Option<PathBuf>,
    /// The agent's identity: `context.agent` of every request (the client cannot change it)
    #[arg(long, value_name = "ID")]
    agent: Option<String>,
    /// `ward serve` to ask about calls that need approval (`http://HOST:PORT`; a token, if the
    /// server wants one, in the environment variable `WARD_TOKEN`); without it such calls are
    /// denied
    #[arg(long, value_name = "URL")]
    server: Option<String>,
    /// Folder for the guard's decision log (`STATE/log/*.jsonl`)
    #[arg(long, value_name = "DIR", default_value = "ward-state")]
    state: PathBuf,
    /// The longest message accepted from the client, in bytes: a longer line is refused
    /// without being read into memory
    #[arg(long, value_name = "BYTES", default_value_t = 4 << 20, value_parser = clap::value_parser!(u64).range(1..=1 << 30))]
    max_message: u64,
    /// `fsync`: a call goes on (or is answered) once its decision is on disk; `buffered`: once
    /// it is written to the operating system
    #[arg(long, value_name = "MODE", default_value = "fsync", value_parser = ["fsync", "buffered"])]
    log_durability: String,
    /// The engine that decides
    #[arg(long, value_enum, default_value = "jit")]
    engine: EngineChoice,
    /// The MCP server to guard, and its arguments
    #[arg(last = true, required = true, value_name = "COMMAND")]
    command: Vec<String>,
}

#[derive(Debug, clap::Args)]
pub(crate) struct SchemaArgs {
    /// A `tools/list` result as JSON (`-` for stdin); or give the server's command after `--`
    #[arg(required_unless_present = "command", conflicts_with = "command")]
    file: Option<PathBuf>,
    /// Write `DIR/tools.ward` and `DIR/tools.toml` instead of printing both
    #[arg(long, value_name = "DIR")]
    out: Option<PathBuf>,
    /// With `--out`, replace files that exist
    #[arg(long, requires = "out")]
    force: bool,
    /// How long a live server has to list its tools (`30s`, `2m`)
    #[arg(long, value_name = "DURATION", default_value = "30s", value_parser = crate::cmd_serve::parse_duration)]
    timeout: Duration,
    /// A live MCP server to ask for its tools, and its arguments
    #[arg(last = true, value_name = "COMMAND")]
    command: Vec<String>,
}

pub(crate) fn guard(args: &GuardArgs) -> Result<ExitCode, CliError> {
    let loaded = match ward_mcp::policy::load(&args.policy, &args.entities, args.engine.kind()) {
        Ok(loaded) => loaded,
        Err(LoadFailure::Policy { compiled }) => {
            let renderer = ward::render::Renderer::new(&compiled.files, color_stderr());
            let mut err = std::io::stderr().lock();
            let n_errors = compiled
                .diagnostics
                .iter()
                .filter(|d| d.diagnostic.is_error())
                .count();
            for diag in &compiled.diagnostics {
                let _ = write!(err, "{}", renderer.human(diag));
            }
            let _ = writeln!(
                err,
                "error: the policy set has {} (the guard did not start)",
                crate::plural(n_errors, "error")
            );
            return Ok(ExitCode::from(1));
        }
        Err(e) => return Err(CliError::new(e.render_plain())),
    };
    let mapping = match &args.map {
        Some(path) => Mapping::load(path, loaded.engine.program())
            .map_err(|e| CliError::new(e.to_string()))?,
        None => Mapping::default(),
    };
    let token = std::env::var("WARD_TOKEN").ok().filter(|t| !t.is_empty());
    let approvals = args
        .server
        .as_deref()
        .map(|url| ApprovalService::parse(url, token))
        .transpose()
        .map_err(|e| CliError::new(format!("--server {e}")))?;
    let mut log_config = ward_log::LogConfig::new(args.state.join("log"));
    if args.log_durability == "buffered" {
        log_config.durability = ward_log::Durability::Buffered;
    }
    let opened = ward_log::Log::open(log_config).map_err(|e| CliError::new(e.to_string()))?;
    if let Some(torn) = &opened.torn {
        let _ = writeln!(
            std::io::stderr(),
            "warning: the decision log ended in a torn line ({} bytes at offset {} of `{}`); it was moved to `{}`",
            torn.bytes,
            torn.offset,
            torn.file.display(),
            torn.moved_to.display()
        );
    }
    let config = GuardConfig {
        mapping,
        agent: args.agent.clone(),
        approvals,
        clock: Box::new(SystemClock),
        ids: Ids::new(),
    };
    let guard = Guard::start(loaded, config, opened.log, &args.command).map_err(CliError::new)?;
    let max = usize::try_from(args.max_message).unwrap_or(usize::MAX);
    let session = Session::new(guard, max);
    let proxy_config = ProxyConfig {
        command: args.command.clone(),
        max_message: max,
        grace: Duration::from_secs(2),
    };
    let ended = proxy::run(session, &proxy_config, std::io::stdin(), std::io::stdout())
        .map_err(CliError::new)?;
    if let Some(message) = &ended.message {
        proxy::note(message);
    }
    Ok(ExitCode::from(ended.code))
}

pub(crate) fn schema(args: &SchemaArgs) -> Result<ExitCode, CliError> {
    let (doc, source) = match &args.file {
        Some(path) => {
            let text = if path.as_os_str() == "-" {
                let mut text = String::new();
                std::io::Read::read_to_string(&mut std::io::stdin(), &mut text)
                    .map_err(|e| CliError::new(format!("cannot read standard input: {e}")))?;
                text
            } else {
                std::fs::read_to_string(path)
                    .map_err(|e| CliError::new(format!("cannot read `{}`: {e}", path.display())))?
            };
            let doc = ward::json::parse_strict(&text)
                .map_err(|e| CliError::new(format!("`{}` is not JSON: {e}", path.display())))?;
            (doc, format!("`{}`", path.display()))
        }
        None => {
            let doc =
                ward_mcp::live::tools_list(&args.command, args.timeout).map_err(CliError::new)?;
            (
                doc,
                format!("the `tools/list` of `{}`", args.command.join(" ")),
            )
        }
    };
    let tools = ward_mcp::schema::tools_of(&doc).map_err(CliError::new)?;
    let generated = ward_mcp::schema::generate(tools, &source).map_err(CliError::new)?;
    match &args.out {
        None => {
            outln!("{}", generated.ward)?;
            outln!("# ---- tools.toml ----")?;
            outln!("{}", generated.toml.trim_end())?;
        }
        Some(dir) => {
            std::fs::create_dir_all(dir)
                .map_err(|e| CliError::new(format!("cannot create `{}`: {e}", dir.display())))?;
            for (name, text) in [
                ("tools.ward", &generated.ward),
                ("tools.toml", &generated.toml),
            ] {
                let path = dir.join(name);
                if path.exists() && !args.force {
                    return Err(CliError::new(format!(
                        "`{}` exists: give `--force` to replace it",
                        path.display()
                    )));
                }
                std::fs::write(&path, text).map_err(|e| {
                    CliError::new(format!("cannot write `{}`: {e}", path.display()))
                })?;
            }
            let _ = writeln!(
                std::io::stderr(),
                "wrote `{}` and `{}` ({} tools)",
                dir.join("tools.ward").display(),
                dir.join("tools.toml").display(),
                tools.len()
            );
        }
    }
    Ok(ExitCode::SUCCESS)
}
