//! `ward check`: parse and type-check a policy set.

use std::process::ExitCode;

use crate::{compile_and_report, CheckArgs, CliError};

pub(crate) fn run(args: &CheckArgs) -> Result<ExitCode, CliError> {
    let (compiled, ok) = compile_and_report(&args.path, args.format, false)?;
    if !ok {
        return Ok(ExitCode::from(1));
    }
    if args.emit_ir {
        if let Some(program) = &compiled.program {
            print!("{}", ward_ir::print(program));
        }
    }
    Ok(ExitCode::SUCCESS)
}
