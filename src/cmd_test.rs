//! `ward test`: run the `test` blocks of a policy set and report `N passed, N failed` (or
//! JSON, or JUnit XML for CI test reports); `--coverage` adds what the tests did not exercise.

use std::fmt::Write as _;
use std::io::Write as _;
use std::process::ExitCode;
use std::time::Duration;

use ward::testing::{Coverage, Outcome, TestOptions, TestReport, run_tests_with};

use crate::{
    CliError, Format, TestArgs, TestFormat, color_stdout, compile_and_report, out, outln, paint,
    plural,
};

pub(crate) fn run(args: &TestArgs) -> Result<ExitCode, CliError> {
    let diagnostics_format = match args.format {
        TestFormat::Json => Format::Json,
        TestFormat::Human | TestFormat::Junit => Format::Human,
    };
    let (compiled, ok) = compile_and_report(&args.path, diagnostics_format, true)?;
    let Some(program) = compiled.program.as_ref().filter(|_| ok) else {
        if args.format == TestFormat::Junit {
            let text = ward::diagnostics::render_all_text(&compiled);
            out!(
                "{}",
                junit_not_checked(&args.path.display().to_string(), &text)
            )?;
        }
        return Ok(ExitCode::from(1));
    };
    let options = TestOptions {
        filter: args.filter.as_deref(),
        engine: args.engine.map(|e| e.kind()),
        coverage: args.coverage || args.min_coverage.is_some(),
    };
    let report = run_tests_with(program, &options)
        .map_err(|e| CliError::new(format!("the compiled policy set is not executable: {e}")))?;
    match args.format {
        TestFormat::Human => {
            let color = color_stdout();
            for test in &report.tests {
                match &test.outcome {
                    Outcome::Passed => {
                        outln!("test {} ... {}", test.name, paint(color, "32", "ok"))?
                    }
                    Outcome::Failed(why) => {
                        outln!(
                            "test {} ... {} ({})",
                            test.name,
                            paint(color, "31", "FAILED"),
                            test.location
                        )?;
                        for line in why.lines() {
                            outln!("    {line}")?;
                        }
                    }
                }
            }
            outln!("{} passed, {} failed", report.passed(), report.failed())?;
            if let Some(coverage) = &report.coverage {
                out!("{}", coverage_text(coverage))?;
            }
        }
        TestFormat::Json => {
            let mut doc = serde_json::json!({
                "passed": report.passed(),
                "failed": report.failed(),
                "tests": report.tests,
            });
            if let Some(coverage) = &report.coverage {
                doc["coverage"] = serde_json::json!(coverage);
            }
            outln!("{doc:#}")?;
        }
        TestFormat::Junit => {
            out!("{}", junit(&args.path.display().to_string(), &report))?;
            // Standard output holds the XML: the coverage report goes to the log.
            if let Some(coverage) = &report.coverage {
                let _ = std::io::Write::write_all(
                    &mut std::io::stderr(),
                    coverage_text(coverage).as_bytes(),
                );
            }
        }
    }
    let mut failed = report.failed() > 0;
    if let (Some(min), Some(coverage)) = (args.min_coverage, &report.coverage)
        && !coverage.at_least(min)
    {
        let _ = writeln!(
            std::io::stderr(),
            "error: the tests cover {}%, below --min-coverage {min}",
            coverage.percent
        );
        failed = true;
    }
    Ok(if failed {
        ExitCode::from(1)
    } else {
        ExitCode::SUCCESS
    })
}

/// The coverage report for people: the percentage, then what no test exercised.
fn coverage_text(coverage: &Coverage) -> String {
    let mut text = format!(
        "coverage: {}% ({} of {} — rules made to fire and `when` conditions made false by a test)\n",
        coverage.percent, coverage.covered, coverage.total
    );
    let unfired: Vec<_> = coverage.unfired().collect();
    if !unfired.is_empty() {
        let _ = writeln!(
            text,
            "{} that no test made fire:",
            plural(unfired.len(), "rule")
        );
        for rule in unfired {
            let _ = writeln!(text, "  `{}` ({})", rule.rule, rule.location);
        }
    }
    let never_false: Vec<_> = coverage.never_false().collect();
    if !never_false.is_empty() {
        let _ = writeln!(
            text,
            "{} that no test made false:",
            plural(never_false.len(), "`when` condition")
        );
        for (rule, condition) in never_false {
            let _ = writeln!(
                text,
                "  `{}` in `{}` ({})",
                condition.source, rule.rule, condition.location
            );
        }
    }
    text
}

/// The report as JUnit XML: one `testsuite` for the policy set, one `testcase` per test, a
/// `failure` (its first line as the message, everything as the text) for each failed one.
fn junit(path: &str, report: &TestReport) -> String {
    let total: Duration = report.tests.iter().map(|t| t.duration).sum();
    let mut xml = String::from("<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n");
    let counts = format!(
        "tests=\"{}\" failures=\"{}\" errors=\"0\" skipped=\"0\" time=\"{}\"",
        report.tests.len(),
        report.failed(),
        seconds(total)
    );
    let _ = writeln!(xml, "<testsuites name=\"ward test\" {counts}>");
    let _ = writeln!(xml, "  <testsuite name=\"{}\" {counts}>", attr(path));
    if let Some(coverage) = &report.coverage {
        let _ = writeln!(xml, "    <properties>");
        for (name, value) in [
            ("coverage.percent", coverage.percent.to_string()),
            ("coverage.covered", coverage.covered.to_string()),
            ("coverage.total", coverage.total.to_string()),
        ] {
            let _ = writeln!(
                xml,
                "      <property name=\"{name}\" value=\"{}\"/>",
                attr(&value)
            );
        }
        let _ = writeln!(xml, "    </properties>");
    }
    for test in &report.tests {
        let (file, line) = split_location(&test.location);
        let open = format!(
            "<testcase name=\"{}\" classname=\"{}\" file=\"{}\" line=\"{line}\" time=\"{}\"",
            attr(&test.name),
            attr(file),
            attr(file),
            seconds(test.duration)
        );
        match &test.outcome {
            Outcome::Passed => {
                let _ = writeln!(xml, "    {open}/>");
            }
            Outcome::Failed(why) => {
                let message = why.lines().next().unwrap_or("failed");
                let _ = writeln!(xml, "    {open}>");
                let _ = writeln!(
                    xml,
                    "      <failure message=\"{}\" type=\"expectation\">{}</failure>",
                    attr(message),
                    text(&format!("{} ({})\n{why}", test.name, test.location))
                );
                let _ = writeln!(xml, "    </testcase>");
            }
        }
    }
    let _ = writeln!(xml, "  </testsuite>");
    let _ = writeln!(xml, "</testsuites>");
    xml
}

/// The JUnit document of a policy set that does not check: one failed testcase with the
/// diagnostics, so that a CI report shows why no test ran.
fn junit_not_checked(path: &str, diagnostics: &str) -> String {
    let counts = "tests=\"1\" failures=\"1\" errors=\"0\" skipped=\"0\" time=\"0\"";
    format!(
        "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n\
         <testsuites name=\"ward test\" {counts}>\n  <testsuite name=\"{path}\" {counts}>\n    \
         <testcase name=\"the policy set checks\" classname=\"{path}\" time=\"0\">\n      \
         <failure message=\"the policy set has errors: no test ran\" type=\"check\">{}</failure>\n    \
         </testcase>\n  </testsuite>\n</testsuites>\n",
        text(diagnostics),
        path = attr(path)
    )
}

/// `file` and `line` of a `file:line:col` location.
fn split_location(location: &str) -> (&str, &str) {
    let mut parts = location.rsplitn(3, ':');
    let (_col, line, file) = (parts.next(), parts.next(), parts.next());
    match (file, line) {
        (Some(file), Some(line)) if line.bytes().all(|b| b.is_ascii_digit()) => (file, line),
        _ => (location, "0"),
    }
}

fn seconds(d: Duration) -> String {
    format!("{:.6}", d.as_secs_f64())
}

/// Text content: `&`, `<`, `>` escaped; characters XML 1.0 cannot hold become U+FFFD.
fn text(s: &str) -> String {
    escape(s, false)
}

/// An attribute value: as [`text`], and quotes and line breaks as character references.
fn attr(s: &str) -> String {
    escape(s, true)
}

fn escape(s: &str, in_attribute: bool) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' if in_attribute => out.push_str("&quot;"),
            '\n' if in_attribute => out.push_str("&#10;"),
            '\r' => out.push_str("&#13;"),
            '\t' if in_attribute => out.push_str("&#9;"),
            '\t' | '\n' => out.push(c),
            c if (c as u32) < 0x20 || c == '\u{FFFE}' || c == '\u{FFFF}' => out.push('\u{FFFD}'),
            c => out.push(c),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn escaping_keeps_xml_well_formed() {
        assert_eq!(attr("a\"<&>\n\tb"), "a&quot;&lt;&amp;&gt;&#10;&#9;b");
        assert_eq!(text("x\u{1}y\u{FFFF}\r"), "x\u{FFFD}y\u{FFFD}&#13;");
    }

    #[test]
    fn locations_split_into_file_and_line() {
        assert_eq!(split_location("a/b.ward:12:3"), ("a/b.ward", "12"));
        assert_eq!(split_location("c:/x.ward:4:1"), ("c:/x.ward", "4"));
        assert_eq!(split_location("odd"), ("odd", "0"));
    }
}
