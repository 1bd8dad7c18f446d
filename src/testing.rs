//! Running the `test` blocks of a compiled policy set (`docs/language.md` §8), for `ward test` and the
//! conformance suite.

use serde::Serialize;
use ward_ir::{EffectKind, Program, Test, TestCase, TestEntities};
use ward_runtime::decision::Decision;
use ward_runtime::engine::{Engine, EngineConfig, EngineError, EngineKind};
use ward_runtime::store::Store;

/// The result of every test that ran.
#[derive(Debug, Default, Serialize)]
pub struct TestReport {
    pub tests: Vec<TestResult>,
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
    let kinds = match engine {
        Some(kind) => vec![kind],
        None => vec![EngineKind::Jit, EngineKind::Interp],
    };
    let engines = kinds
        .into_iter()
        .map(|kind| Engine::with_config(program.clone(), EngineConfig { engine: kind }))
        .collect::<Result<Vec<_>, _>>()?;
    let mut report = TestReport::default();
    for test in &program.tests {
        if filter.is_some_and(|f| !test.name.contains(f)) {
            continue;
        }
        let outcome = match run_test(&engines, program, test) {
            Ok(()) => Outcome::Passed,
            Err(why) => Outcome::Failed(why),
        };
        report.tests.push(TestResult {
            name: test.name.clone(),
            location: test.location.to_string(),
            outcome,
        });
    }
    Ok(report)
}

fn run_test(engines: &[Engine], program: &Program, test: &Test) -> Result<(), String> {
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
        let got = sorted(decision.approvers.iter().cloned());
        if expected != got {
            problems.push(format!("expected approvers {expected:?}, got {got:?}"));
        }
    }
    if let Some(expected) = &case.by {
        let expected = sorted(expected.iter().cloned());
        let got = sorted(
            decision
                .fired
                .iter()
                .filter(|f| f.effect == decision.decision)
                .map(|f| f.rule.to_string()),
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
    for fired in &decision.fired {
        let message = fired.message.as_deref().unwrap_or("(no message)");
        why.push_str(&format!(
            "\n  fired `{}` ({}) at {}: {message}",
            fired.rule,
            effect_words(fired.effect),
            fired.location
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
