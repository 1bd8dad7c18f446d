//! `ward token new`: a fresh bearer token and the tokens-file entry that holds its hash.

use std::process::ExitCode;

use ward_server::auth::{Role, new_token, token_entry};

use crate::CliError;

#[derive(Debug, clap::Args)]
pub(crate) struct TokenArgs {
    #[command(subcommand)]
    command: TokenCommand,
}

#[derive(Debug, clap::Subcommand)]
enum TokenCommand {
    /// Print a new token alone on the first line, then the `[[token]]` entry to append to the
    /// tokens file (which stores only its SHA-256)
    New(NewArgs),
}

#[derive(Debug, clap::Args)]
struct NewArgs {
    /// The principal's name, as decisions and the log record it
    name: String,
    /// `agent` (decide), `approver` (act on approvals naming them or their groups), `admin`
    /// (everything, reload); repeat for several
    #[arg(long = "role", value_name = "ROLE", required = true, value_parser = ["agent", "approver", "admin"])]
    roles: Vec<String>,
    /// A group the principal belongs to (approvers may be named by group); repeat for several
    #[arg(long = "group", value_name = "GROUP")]
    groups: Vec<String>,
}

pub(crate) fn run(args: &TokenArgs) -> Result<ExitCode, CliError> {
    match &args.command {
        TokenCommand::New(new) => {
            if new.name.trim().is_empty() {
                return Err(CliError::new("the token's name is empty"));
            }
            let mut roles: Vec<Role> = new.roles.iter().filter_map(|r| Role::parse(r)).collect();
            roles.sort();
            roles.dedup();
            let (token, hash) = new_token().map_err(CliError::new)?;
            println!("{token}");
            print!("{}", token_entry(&new.name, &roles, &new.groups, &hash));
            Ok(ExitCode::SUCCESS)
        }
    }
}
