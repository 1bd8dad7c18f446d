//! `ward test`: run the `test` blocks of a policy set and report `N passed, N failed`.

use std::process::ExitCode;

use ward::testing::{Outcome, run_tests_on};

use crate::{CliError, Format, TestArgs, compile_and_report, outln};

pub(crate) fn run(args: &TestArgs) -> Result<ExitCode, CliError> {
    let (compiled, ok) = compile_and_report(&args.path, args.format, true)?;
    let Some(program) = compiled.program.filter(|_| ok) else {
        return Ok(ExitCode::from(1));
    };
    let engine = args.engine.map(|e| e.kind());
    let report = run_tests_on(&program, args.filter.as_deref(), engine)
        .map_err(|e| CliError::new(format!("the compiled policy set is not executable: {e}")))?;
    match args.format {
        Format::Human => {
            for test in &report.tests {
                match &test.outcome {
                    Outcome::Passed => outln!("test {} ... ok", test.name)?,
                    Outcome::Failed(why) => {
                        outln!("test {} ... FAILED ({})", test.name, test.location)?;
                        for line in why.lines() {
                            outln!("    {line}")?;
                        }
                    }
                }
            }
            outln!("{} passed, {} failed", report.passed(), report.failed())?;
        }
        Format::Json => {
            let doc = serde_json::json!({
                "passed": report.passed(),
                "failed": report.failed(),
                "tests": report.tests,
            });
            outln!("{doc:#}")?;
        }
    }
    Ok(if report.failed() == 0 {
        ExitCode::SUCCESS
    } else {
        ExitCode::from(1)
    })
}
