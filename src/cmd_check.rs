//! `ward check`: parse and type-check a policy set; `--stats` says how each rule runs natively.

use std::process::ExitCode;

use crate::{CheckArgs, CliError, compile_and_report, out, outln};

pub(crate) fn run(args: &CheckArgs) -> Result<ExitCode, CliError> {
    let (compiled, ok) = compile_and_report(&args.path, args.format, false)?;
    let Some(program) = compiled.program.as_ref().filter(|_| ok) else {
        return Ok(ExitCode::from(1));
    };
    if args.emit_ir {
        out!("{}", ward_ir::print(program))?;
    }
    if args.stats {
        let stats = ward_runtime::jit::stats(program).map_err(|e| {
            CliError::new(format!("the compiled policy set is not executable: {e}"))
        })?;
        for (rule, stats) in program.rules.iter().zip(&stats) {
            outln!(
                "{} ({}): {}",
                rule.name,
                rule.location,
                ward_runtime::jit::describe(stats)
            )?;
        }
    }
    Ok(ExitCode::SUCCESS)
}
