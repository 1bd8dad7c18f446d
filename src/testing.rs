//! Running the `test` blocks of a compiled policy set (`docs/language.md` §8), for `ward test` and the
//! conformance suite, and measuring what they exercise ([`Coverage`]).
//!
//! Coverage is read from the runtime's explanations, the same trace `ward eval --explain`
//! prints: a rule is covered when a test made it fire (without an evaluation error), a `when`
//! condition when it was, in some test, the first condition of its rule to be false — the
//! rule's conditions are evaluated in order and stop there, so the ones after it were not
//! tried. This module knows nothing of how results are printed.

use std::collections::HashMap;

use serde::Serialize;
use ward_ir::{EffectKind, Program, Test, TestCase, TestEntities};
use ward_runtime::decision::{Decision, Explanation};
use ward_runtime::engine::{Engine, EngineConfig, EngineError, EngineKind};
use ward_runtime::store::Store;

/// The result of every test that ran.
#[derive(Debug, Default, Serialize)]
pub struct TestReport {
    pub tests: Vec<TestResult>,
    /// What the tests that ran exercised, when asked for ([`TestOptions::coverage`]).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub coverage: Option<Coverage>,
}

impl TestReport {
    pub fn passed(&self) -> usize {
        self.tests
            .iter()
            .filter(|t| matches!(t.outcome, Outcome::Passed))
            .count()
    }

    pub fn failed(&self) -> usize {
        self.tests.len() - self.passed()
    }
}

#[derive(Debug, Serialize)]
pub struct TestResult {
    pub name: String,
    pub location: String,
    pub outcome: Outcome,
    /// How long the test took, on every engine it ran on.
    #[serde(skip)]
    pub duration: std::time::Duration,
}

/// Which tests to run, on which engines, and whether to measure coverage.
#[derive(Clone, Copy, Debug, Default)]
pub struct TestOptions<'a> {
    /// Only the tests whose name contains this text (all when `None`).
    pub filter: Option<&'a str>,
    /// One engine, or both (`None`: a disagreement is a failure).
    pub engine: Option<EngineKind>,
    /// Record which rules fired and which conditions were false ([`TestReport::coverage`]).
    pub coverage: bool,
}

/// What the tests exercised: every rule of the policy set, in policy order.
///
/// Counted: one item per rule (covered when a test case made it fire without an evaluation
/// error) and one per `when` condition (a rule's `when`, split at its top-level `and`s;
/// covered when it was the first false condition of its rule in a test case).
#[derive(Debug, Default, Serialize)]
pub struct Coverage {
    /// Covered items (rules that fired plus conditions made false).
    pub covered: usize,
    /// All items (rules plus conditions).
    pub total: usize,
    /// `covered / total` as a percentage, rounded down to one decimal (100 when there is
    /// nothing to cover).
    pub percent: f64,
    pub rules: Vec<RuleCoverage>,
}

/// Coverage of one rule.
#[derive(Debug, Serialize)]
pub struct RuleCoverage {
    pub rule: String,
    pub location: String,
    /// Whether a test case made the rule fire.
    pub fired: bool,
    pub conditions: Vec<ConditionCoverage>,
}

/// Coverage of one `when` condition.
#[derive(Debug, Serialize)]
pub struct ConditionCoverage {
    /// 0-based position among the rule's conditions.
    pub index: usize,
    pub source: String,
    pub location: String,
    /// Whether a test case made it the first false condition of its rule.
    pub made_false: bool,
}

impl Coverage {
    fn new(program: &Program) -> Coverage {
        let rules = program
            .rules
            .iter()
            .map(|rule| RuleCoverage {
                rule: rule.name.clone(),
                location: rule.location.to_string(),
                fired: false,
                conditions: rule
                    .conditions
                    .iter()
                    .enumerate()
                    .map(|(index, c)| ConditionCoverage {
                        index,
                        source: c.source.clone(),
                        location: c.location.to_string(),
                        made_false: false,
                    })
                    .collect(),
            })
            .collect();
        Coverage {
            rules,
            ..Coverage::default()
        }
    }

    /// Marks what one explained decision exercised.
    fn record(&mut self, index: &HashMap<String, usize>, explanation: &Explanation) {
        for trace in &explanation.rules {
            let Some(rule) = index.get(&trace.rule).and_then(|&i| self.rules.get_mut(i)) else {
                continue;
            };
            if trace.error.is_some() {
                continue;
            }
            if trace.fired {
                rule.fired = true;
            } else if let Some(condition) = trace
                .condition
                .as_ref()
                .and_then(|c| rule.conditions.get_mut(c.index))
            {
                condition.made_false = true;
            }
        }
    }

    fn finish(&mut self) {
        let (mut covered, mut total) = (0, 0);
        for rule in &self.rules {
            total += 1 + rule.conditions.len();
            covered +=
                usize::from(rule.fired) + rule.conditions.iter().filter(|c| c.made_false).count();
        }
        self.covered = covered;
        self.total = total;
        self.percent = if total == 0 {
            100.0
        } else {
            // Rounded down, so that 100 means complete.
            (covered as f64 * 1000.0 / total as f64).floor() / 10.0
        };
    }

    /// Whether the coverage is at least `percent` (compared exactly, not rounded).
    pub fn at_least(&self, percent: f64) -> bool {
        self.total == 0 || self.covered as f64 * 100.0 >= percent * self.total as f64
    }

    /// The rules no test made fire.
    pub fn unfired(&self) -> impl Iterator<Item = &RuleCoverage> {
        self.rules.iter().filter(|r| !r.fired)
    }

    /// The conditions no test made false, with their rule.
    pub fn never_false(&self) -> impl Iterator<Item = (&RuleCoverage, &ConditionCoverage)> {
        self.rules.iter().flat_map(|r| {
            r.conditions
                .iter()
                .filter(|c| !c.made_false)
                .map(move |c| (r, c))
        })
    }
}

#[derive(Debug, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Outcome {
    Passed,
    /// What was expected and what happened, for people.
    Failed(String),
}

/// Run the tests of `program` whose name contains `filter` (all when `None`) on both engines;
/// a case where they disagree fails.
pub fn run_tests(program: &Program, filter: Option<&str>) -> Result<TestReport, EngineError> {
    run_tests_on(program, filter, None)
}

/// Like [`run_tests`] on one engine, or on both (`None`).
pub fn run_tests_on(
    program: &Program,
    filter: Option<&str>,
    engine: Option<EngineKind>,
) -> Result<TestReport, EngineError> {
    run_tests_with(
        program,
        &TestOptions {
            filter,
            engine,
            coverage: false,
        },
    )
}

/// Runs the tests `options` selects, measuring coverage when asked.
pub fn run_tests_with(
    program: &Program,
    options: &TestOptions<'_>,
) -> Result<TestReport, EngineError> {
    let (filter, engine) = (options.filter, options.engine);
    let kinds = match engine {
        Some(kind) => vec![kind],
        None => vec![EngineKind::Jit, EngineKind::Interp],
    };
    let engines = kinds
        .into_iter()
        .map(|kind| Engine::with_config(program.clone(), EngineConfig { engine: kind }))
        .collect::<Result<Vec<_>, _>>()?;
    let mut report = TestReport::default();
    let mut coverage = options.coverage.then(|| {
        let index: HashMap<String, usize> = program
            .rules
            .iter()
            .enumerate()
            .map(|(i, r)| (r.name.clone(), i))
            .collect();
        (Coverage::new(program), index)
    });
    for test in &program.tests {
        if filter.is_some_and(|f| !test.name.contains(f)) {
            continue;
        }
        let start = std::time::Instant::now();
        let outcome = match run_test(&engines, program, test, coverage.as_mut()) {
            Ok(()) => Outcome::Passed,
            Err(why) => Outcome::Failed(why),
        };
        report.tests.push(TestResult {
            name: test.name.clone(),
            location: test.location.to_string(),
            outcome,
            duration: start.elapsed(),
        });
    }
    report.coverage = coverage.map(|(mut coverage, _)| {
        coverage.finish();
        coverage
    });
    Ok(report)
}

fn run_test(
    engines: &[Engine],
    program: &Program,
    test: &Test,
    mut coverage: Option<&mut (Coverage, HashMap<String, usize>)>,
) -> Result<(), String> {
    let store = match &test.entities {
        TestEntities::None => Store::empty(&program.schema),
        TestEntities::Inline(doc) => Store::from_json(&program.schema, doc)
            .map_err(|e| format!("the test's entities are not valid:\n{e}"))?,
        TestEntities::File { written, resolved } => {
            let text = std::fs::read_to_string(resolved)
                .map_err(|e| format!("cannot read entities from `{written}`: {e}"))?;
            Store::from_str(&program.schema, &text)
                .map_err(|e| format!("the entities in `{written}` are not valid:\n{e}"))?
        }
    };
    let store = std::sync::Arc::new(store);
    let engines: Vec<Engine> = engines
        .iter()
        .map(|e| e.with_shared_store(std::sync::Arc::clone(&store)))
        .collect();
    let mut failures = Vec::new();
    for case in &test.cases {
        let decisions: Vec<(EngineKind, Decision)> = engines
            .iter()
            .map(|e| (e.kind(), e.decide(&case.request)))
            .collect();
        let Some((_, decision)) = decisions.first() else {
            continue;
        };
        if let (Some((coverage, index)), Some(engine)) = (coverage.as_deref_mut(), engines.first())
        {
            let (_, explanation) = engine.explain(&case.request);
            coverage.record(index, &explanation);
        }
        if let Some(why) = mismatch(case, decision) {
            failures.push(format!("at {}: {why}", case.location));
        }
        for (kind, other) in decisions.iter().skip(1) {
            if other != decision {
                failures.push(format!(
                    "at {}: the engines disagree: {} decided {}, {} decided {}",
                    case.location,
                    decisions[0].0.as_str(),
                    serde_json::to_string(decision).unwrap_or_default(),
                    kind.as_str(),
                    serde_json::to_string(other).unwrap_or_default(),
                ));
            }
        }
    }
    if failures.is_empty() {
        Ok(())
    } else {
        Err(failures.join("\n"))
    }
}

/// Why `decision` does not meet the expectation of `case`, or `None` when it does.
pub fn mismatch(case: &TestCase, decision: &Decision) -> Option<String> {
    let mut problems = Vec::new();
    if decision.decision != case.expect {
        problems.push(format!(
            "expected {}, got {}",
            effect_words(case.expect),
            effect_words(decision.decision)
        ));
    }
    if let Some(expected) = &case.approvers {
        let expected = sorted(expected.iter().cloned());
        let got = sorted(decision.approvers().iter().map(str::to_owned));
        if expected != got {
            problems.push(format!("expected approvers {expected:?}, got {got:?}"));
        }
    }
    if let Some(expected) = &case.by {
        let expected = sorted(expected.iter().cloned());
        let got = sorted(
            decision
                .fired()
                .iter()
                .filter(|f| f.effect() == decision.decision)
                .map(|f| f.rule().to_string()),
        );
        if expected != got {
            problems.push(format!(
                "expected the decision by {expected:?}, got it by {got:?}"
            ));
        }
    }
    if problems.is_empty() {
        return None;
    }
    let mut why = problems.join("; ");
    for fired in decision.fired().iter() {
        let message = fired.message();
        let message = message.as_deref().unwrap_or("(no message)");
        why.push_str(&format!(
            "\n  fired `{}` ({}) at {}: {message}",
            fired.rule(),
            effect_words(fired.effect()),
            fired.location()
        ));
    }
    for error in &decision.errors {
        let rule = error
            .rule
            .as_deref()
            .map(|r| format!(" in `{r}`"))
            .unwrap_or_default();
        why.push_str(&format!("\n  error{rule}: {}", error.message));
    }
    Some(why)
}

fn sorted(items: impl Iterator<Item = String>) -> Vec<String> {
    let mut items: Vec<String> = items.collect();
    items.sort();
    items.dedup();
    items
}

fn effect_words(effect: EffectKind) -> &'static str {
    match effect {
        EffectKind::Allow => "allow",
        EffectKind::Deny => "deny",
        EffectKind::RequireApproval => "require approval",
    }
}
