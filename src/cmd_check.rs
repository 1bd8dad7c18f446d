//! `ward check`: parse and type-check a policy set; `--stats` says how each rule runs natively;
//! `--format sarif` writes the diagnostics for code-scanning tools.

use std::process::ExitCode;

use crate::{
    CheckArgs, CheckFormat, CliError, Format, compile_and_report, count_diagnostics, load, out,
    outln,
};

pub(crate) fn run(args: &CheckArgs) -> Result<ExitCode, CliError> {
    let format = match args.format {
        CheckFormat::Human => Format::Human,
        CheckFormat::Json => Format::Json,
        CheckFormat::Sarif => return sarif(args),
    };
    let (compiled, ok) = compile_and_report(&args.path, format, false)?;
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

/// `--format sarif`: the log on stdout, whatever it holds; the exit code as for the other
/// formats. `--emit-ir` and `--stats` would mix other text into it, so they are refused.
fn sarif(args: &CheckArgs) -> Result<ExitCode, CliError> {
    if args.emit_ir || args.stats {
        return Err(CliError::new(
            "`--format sarif` cannot be combined with `--emit-ir` or `--stats`",
        ));
    }
    let files = load(&args.path)?;
    let compiled = ward::compile(&files);
    let log = ward::render::sarif(&compiled.files, &compiled.diagnostics);
    outln!("{log:#}")?;
    let (n_errors, _) = count_diagnostics(&compiled);
    Ok(if n_errors == 0 && compiled.program.is_some() {
        ExitCode::SUCCESS
    } else {
        ExitCode::from(1)
    })
}
