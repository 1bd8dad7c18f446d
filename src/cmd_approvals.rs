//! `ward approvals list|show|approve|reject --server URL --token T`: the approver inbox from a
//! terminal (docs/approvals.md). Each command is one call to `ward serve`'s approvals API;
//! the output says what the request is, which rules fired with their messages, and who still
//! needs to approve.
//!
//! Exit codes: 0 done, 1 the server refused (`403`, `404`, `409`: nothing changed), 2 a usage
//! error or a server that cannot be reached or answers something else. It knows the API's
//! documents and the blocking client; nothing of the store.

use std::net::{SocketAddr, ToSocketAddrs};
use std::process::ExitCode;
use std::time::Duration;

use serde_json::{Value as Json, json};
use ward_server::client::{Client, Response};

use crate::{CliError, Format, outln};

#[derive(Debug, clap::Args)]
pub(crate) struct ApprovalsArgs {
    #[command(subcommand)]
    command: ApprovalsCommand,
}

#[derive(Debug, clap::Subcommand)]
enum ApprovalsCommand {
    /// The approvals you may see (an approver: those naming you or your groups), newest first
    List(ListArgs),
    /// One approval: the request, the rules that fired and their messages, who still needs to
    /// approve, and its history
    Show(IdArgs),
    /// Approve every waiting entry that names you (by name or group)
    Approve(ActArgs),
    /// Reject: one reject is final
    Reject(ActArgs),
}

#[derive(Debug, clap::Args)]
struct ServerArgs {
    /// The server, `http://HOST:PORT`
    #[arg(long, value_name = "URL")]
    server: String,
    /// Your bearer token, or `@FILE` to read it from a file (keeps it out of the process list)
    #[arg(long, value_name = "TOKEN")]
    token: String,
    /// Output format
    #[arg(long, value_enum, default_value_t)]
    format: Format,
}

#[derive(Debug, clap::Args)]
struct ListArgs {
    #[command(flatten)]
    server: ServerArgs,
    /// `pending`, `approved`, `rejected`, `expired`, `used` or `all`
    #[arg(long, default_value = "pending", value_parser = ["pending", "approved", "rejected", "expired", "used", "all"])]
    status: String,
    /// At most this many (1 to 1000)
    #[arg(long, default_value_t = 100, value_parser = clap::value_parser!(u16).range(1..=1000))]
    limit: u16,
}

#[derive(Debug, clap::Args)]
struct IdArgs {
    /// The approval's id (`apr_…`)
    id: String,
    #[command(flatten)]
    server: ServerArgs,
}

#[derive(Debug, clap::Args)]
struct ActArgs {
    /// The approval's id (`apr_…`)
    id: String,
    #[command(flatten)]
    server: ServerArgs,
    /// Why (a ticket, a reason): recorded with your name in the approval and the decision log
    #[arg(long, short, value_name = "TEXT")]
    comment: Option<String>,
}

pub(crate) fn run(args: &ApprovalsArgs) -> Result<ExitCode, CliError> {
    match &args.command {
        ApprovalsCommand::List(a) => {
            let mut client = connect(&a.server)?;
            let path = format!("/v1/approvals?status={}&limit={}", a.status, a.limit);
            let response = call(&mut client, &a.server, "GET", &path, None)?;
            let Some(doc) = accepted(&response, &a.server)? else {
                return Ok(ExitCode::from(1));
            };
            if a.server.format == Format::Json {
                outln!("{doc}")?;
                return Ok(ExitCode::SUCCESS);
            }
            let list = doc["approvals"].as_array().cloned().unwrap_or_default();
            if list.is_empty() {
                let which = if a.status == "all" {
                    String::new()
                } else {
                    format!("{} ", a.status)
                };
                outln!("no {which}approvals that you may see")?;
            }
            for approval in &list {
                outln!("{}", summary_line(approval))?;
            }
            Ok(ExitCode::SUCCESS)
        }
        ApprovalsCommand::Show(a) => {
            let mut client = connect(&a.server)?;
            let path = format!("/v1/approvals/{}", segment(&a.id)?);
            let response = call(&mut client, &a.server, "GET", &path, None)?;
            let Some(doc) = accepted(&response, &a.server)? else {
                return Ok(ExitCode::from(1));
            };
            print_approval(&doc, a.server.format)?;
            Ok(ExitCode::SUCCESS)
        }
        ApprovalsCommand::Approve(a) => act(a, "approve"),
        ApprovalsCommand::Reject(a) => act(a, "reject"),
    }
}

fn act(a: &ActArgs, verb: &str) -> Result<ExitCode, CliError> {
    let mut client = connect(&a.server)?;
    let path = format!("/v1/approvals/{}/{verb}", segment(&a.id)?);
    let body = json!({"comment": a.comment}).to_string();
    let response = call(&mut client, &a.server, "POST", &path, Some(body.as_bytes()))?;
    let Some(doc) = accepted(&response, &a.server)? else {
        return Ok(ExitCode::from(1));
    };
    if a.server.format == Format::Json {
        outln!("{doc}")?;
        return Ok(ExitCode::SUCCESS);
    }
    let id = s(&doc["id"]);
    match (verb, doc["status"].as_str().unwrap_or("")) {
        ("approve", "approved") => outln!("approved {id}: the agent may now resume the request")?,
        ("approve", status) => outln!(
            "your approval of {id} is recorded; it is still {status}, waiting for: {}",
            waiting(&doc)
        )?,
        (_, status) => outln!("{id} is {status}")?,
    }
    Ok(ExitCode::SUCCESS)
}

fn token(args: &ServerArgs) -> Result<String, CliError> {
    match args.token.strip_prefix('@') {
        Some(path) => std::fs::read_to_string(path)
            .map(|t| t.trim().to_owned())
            .map_err(|e| CliError::new(format!("cannot read the token file `{path}`: {e}"))),
        None => Ok(args.token.trim().to_owned()),
    }
}

fn address(url: &str) -> Result<SocketAddr, CliError> {
    let bad = || {
        CliError::new(format!(
            "`--server` must be an `http://HOST:PORT` URL, not `{url}`"
        ))
    };
    let rest = url.strip_prefix("http://").ok_or_else(bad)?;
    let authority = rest.split('/').next().unwrap_or("");
    if !rest
        .trim_start_matches(authority)
        .trim_matches('/')
        .is_empty()
    {
        return Err(CliError::new(format!(
            "`--server` is the server's address only (`http://HOST:PORT`), without a path: `{url}`"
        )));
    }
    let with_port = if authority
        .rsplit_once(':')
        .is_some_and(|(_, p)| p.parse::<u16>().is_ok())
    {
        authority.to_owned()
    } else {
        format!("{authority}:80")
    };
    with_port
        .to_socket_addrs()
        .map_err(|e| CliError::new(format!("cannot resolve `{authority}`: {e}")))?
        .next()
        .ok_or_else(bad)
}

fn connect(args: &ServerArgs) -> Result<Client, CliError> {
    Ok(Client::new(address(&args.server)?)
        .with_token(token(args)?)
        .with_timeout(Duration::from_secs(30)))
}

fn segment(id: &str) -> Result<String, CliError> {
    if id.is_empty()
        || !id
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-')
    {
        return Err(CliError::new(format!(
            "`{id}` is not an approval id (like `apr_01KBDRC2Q8X0WQJ5T2NN3R6G1V`)"
        )));
    }
    Ok(id.to_owned())
}

fn call(
    client: &mut Client,
    args: &ServerArgs,
    method: &str,
    path: &str,
    body: Option<&[u8]>,
) -> Result<Response, CliError> {
    let headers: &[(&str, &str)] = if body.is_some() {
        &[("content-type", "application/json")]
    } else {
        &[]
    };
    client
        .request(method, path, headers, body)
        .map_err(|e| CliError::new(format!("cannot reach `{}`: {e}", args.server)))
}

/// The document of a `200`; `None` (after printing why) for a refusal (`401`, `403`, `404`,
/// `409`); an error for anything else.
fn accepted(response: &Response, args: &ServerArgs) -> Result<Option<Json>, CliError> {
    let doc = response.json().map_err(|e| {
        CliError::new(format!(
            "`{}` answered {}: {e}",
            args.server, response.status
        ))
    })?;
    let message = doc["error"]["message"].as_str().unwrap_or("").to_owned();
    match response.status {
        200 => Ok(Some(doc)),
        401 | 403 | 404 | 409 => {
            let _ = {
                use std::io::Write as _;
                writeln!(std::io::stderr(), "error: {message}")
            };
            Ok(None)
        }
        status => Err(CliError::new(format!(
            "`{}` answered {status}: {message}",
            args.server
        ))),
    }
}

/// A string of the document, with control characters shown as escapes: the agent writes
/// the request's text, and it must not move the cursor or recolour the terminal.
fn s(v: &Json) -> String {
    clean(v.as_str().unwrap_or(""))
}

fn clean(text: &str) -> String {
    text.chars()
        .map(|c| {
            if c.is_control() {
                c.escape_unicode().to_string()
            } else {
                c.to_string()
            }
        })
        .collect()
}

/// Who still needs to approve: `` `rule` (olga) ``, or `nobody`.
fn waiting(doc: &Json) -> String {
    let list: Vec<String> = doc["needs"]
        .as_array()
        .into_iter()
        .flatten()
        .filter(|n| n["approved_by"].is_null())
        .map(|n| format!("{} ({})", s(&n["rule"]), names(&n["approvers"])))
        .collect();
    if list.is_empty() {
        "nobody".into()
    } else {
        list.join("; ")
    }
}

fn names(list: &Json) -> String {
    let names: Vec<String> = list.as_array().into_iter().flatten().map(s).collect();
    if names.is_empty() {
        "no approver named".into()
    } else {
        names.join(", ")
    }
}

/// One line of `list`.
fn summary_line(a: &Json) -> String {
    let mut line = format!(
        "{}  {:<8}  {}  requested by {}  expires {}",
        s(&a["id"]),
        s(&a["status"]),
        s(&a["request"]["action"]),
        s(&a["requested_by"]),
        s(&a["expires"]),
    );
    if a["status"] == "pending" {
        line.push_str(&format!("  waiting for: {}", waiting(a)));
    }
    line
}

fn print_approval(a: &Json, format: Format) -> Result<(), CliError> {
    if format == Format::Json {
        return outln!("{a}");
    }
    outln!(
        "{}  {}  (expires {})",
        s(&a["id"]),
        s(&a["status"]),
        s(&a["expires"])
    )?;
    outln!(
        "request:  {} by {}, created {}",
        s(&a["request"]["action"]),
        s(&a["requested_by"]),
        s(&a["created"])
    )?;
    outln!("  args:    {}", a["request"]["args"])?;
    outln!("  context: {}", a["request"]["context"])?;
    outln!(
        "  digest:  {}   policy: {}",
        s(&a["digest"]),
        s(&a["policy"])
    )?;
    outln!("fired rules:")?;
    for n in a["needs"].as_array().into_iter().flatten() {
        let state = match n["approved_by"].as_str() {
            Some(by) => format!("approved by {by}"),
            None => format!("waiting for {}", names(&n["approvers"])),
        };
        outln!(
            "  {}: {} [{state}]",
            s(&n["rule"]),
            n["message"].as_str().map_or("(no message)".into(), clean)
        )?;
    }
    if a["status"] == "pending" {
        outln!("still needs: {}", waiting(a))?;
    }
    outln!("history:")?;
    for h in a["history"].as_array().into_iter().flatten() {
        let by = h["by"].as_str().map_or("the server's clock".into(), clean);
        let comment = h["comment"]
            .as_str()
            .map(|c| format!(": {c:?}"))
            .unwrap_or_default();
        outln!("  {} {} by {by}{comment}", s(&h["at"]), s(&h["action"]))?;
    }
    Ok(())
}
