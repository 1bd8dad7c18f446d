//! Unit tests of the planner on small hand-written programs; the brute-force comparisons on
//! the conformance corpus and generated programs live in `tests/tests/plan.rs`.

use ward_ir::*;

use super::*;
use crate::engine::{EngineConfig, EngineKind};
use crate::time::parse_timestamp;

fn ex(ty: Type, kind: ExprKind) -> Expr {
    Expr { ty, kind }
}

fn ts(s: &str) -> i64 {
    parse_timestamp(s).unwrap()
}

/// `action work {}`, default allow, and one `deny` rule with the given condition; a daily
/// window 02:00-06:00 in New York.
fn program(condition: Expr) -> Program {
    let mut program = Program::default();
    program.windows.push(Window {
        name: "nights".into(),
        timezone: "America/New_York".into(),
        lines: vec![WindowLine::Daily {
            start: 2 * 60,
            end: 6 * 60,
            days: 0b111_1111,
        }],
        except: vec![],
    });
    program.schema.actions.push(Action {
        name: "work".into(),
        fields: vec![],
    });
    program.default = Effect {
        kind: EffectKind::Allow,
        approvers: None,
    };
    program.rules.push(Rule {
        name: "blocked".into(),
        location: Location::default(),
        actions: vec![ActionId(0)],
        args: vec![],
        conditions: vec![Condition {
            source: "c".into(),
            location: Location::default(),
            expr: condition,
        }],
        effect: Effect {
            kind: EffectKind::Deny,
            approvers: None,
        },
        message: None,
        n_locals: 0,
    });
    program
}

fn request(at: &str) -> Json {
    serde_json::json!({"action": "work", "at": at, "args": {}, "context": {}})
}

fn engines(program: &Program) -> [Engine; 2] {
    [EngineKind::Interp, EngineKind::Jit]
        .map(|engine| Engine::with_config(program.clone(), EngineConfig { engine }).unwrap())
}

fn not_in_nights() -> Expr {
    let now = ex(Type::Timestamp, ExprKind::Now);
    let inside = ex(
        Type::Bool,
        ExprKind::InWindow {
            window: WindowId(0),
            at: Box::new(now),
        },
    );
    ex(Type::Bool, ExprKind::Not(Box::new(inside)))
}

#[test]
fn a_window_across_the_spring_forward_gap() {
    // 2026-03-08 in New York: 02:00 does not exist, the clocks jump to 03:00, so the window
    // opens at 03:00 EDT (07:00 UTC) that night; the night before it opened at 02:00 EST.
    for engine in engines(&program(not_in_nights())) {
        let plan = engine
            .plan(&request("2026-03-07T12:00:00Z"), PlanOptions::default())
            .unwrap();
        assert_eq!(plan.allow_at, Some(ts("2026-03-08T07:00:00Z")));
        assert_eq!(plan.blocked_by, ["blocked"]);
        let plan = engine
            .plan(&request("2026-03-07T06:59:59Z"), PlanOptions::default())
            .unwrap();
        assert_eq!(plan.allow_at, Some(ts("2026-03-07T07:00:00Z")));
        assert!(!plan.exhaustive && !plan.stepped);
    }
}

#[test]
fn a_rule_that_denies_throughout_is_the_blocker() {
    let always = ex(Type::Bool, ExprKind::Bool(true));
    for engine in engines(&program(always)) {
        let plan = engine
            .plan(&request("2026-03-07T12:00:00Z"), PlanOptions::default())
            .unwrap();
        assert_eq!(plan.allow_at, None);
        assert_eq!(plan.approval_at, None);
        assert_eq!(plan.blocked_by, ["blocked"]);
        assert_eq!(plan.until, ts("2026-03-21T12:00:00Z"));
    }
}

/// `deadline in [now]`: a set literal whose element depends on `now` cannot be bounded, so
/// the rule is re-examined every second — and the plan is still exact.
#[test]
fn a_set_built_from_now_is_re_examined_every_second() {
    let deadline = ts("2026-03-07T12:30:17Z");
    let now = ex(Type::Timestamp, ExprKind::Now);
    let set = ex(
        Type::Set(Box::new(Type::Timestamp)),
        ExprKind::Set(vec![now]),
    );
    let member = ex(
        Type::Bool,
        ExprKind::In {
            elem: Box::new(ex(Type::Timestamp, ExprKind::Int(deadline))),
            set: Box::new(set),
        },
    );
    let condition = ex(Type::Bool, ExprKind::Not(Box::new(member)));
    for engine in engines(&program(condition)) {
        let mut planner = engine
            .planner(PlanOptions::with_horizon(3_600).unwrap())
            .unwrap();
        let plan = planner.plan(&request("2026-03-07T12:00:00Z")).unwrap();
        assert_eq!(plan.allow_at, Some(deadline));
        assert!(!plan.exhaustive);
        assert!(plan.stepped);
        let stats = planner.stats();
        // Every second of the hour (no approval is ever needed, so the whole horizon is
        // walked); the engine decides where the outcome changes: deny, allow for one
        // second, deny.
        assert_eq!(stats.walks, 3_600, "{stats:?}");
        assert_eq!(stats.decisions, 3, "{stats:?}");
    }
}

#[test]
fn horizons_and_bad_requests_are_errors() {
    assert!(matches!(
        PlanOptions::with_horizon(0),
        Err(PlanError::Horizon(0))
    ));
    assert!(PlanOptions::with_horizon(367 * DAY).is_err());
    assert!(PlanOptions::with_horizon(366 * DAY).is_ok());
    let engine = Engine::new(program(not_in_nights())).unwrap();
    let dup = r#"{"action": "work", "action": "work", "at": "2026-03-07T12:00:00Z", "args": {}, "context": {}}"#;
    let err = engine.plan_str(dup, PlanOptions::default()).unwrap_err();
    assert!(matches!(err, PlanError::Json(_)), "{err}");
    assert!(err.to_string().contains("duplicate key `action`"), "{err}");
    let err = engine
        .plan(
            &serde_json::json!({"action": "nap"}),
            PlanOptions::default(),
        )
        .unwrap_err();
    assert!(matches!(err, PlanError::Request(_)), "{err}");
}

/// The end of time cuts the horizon; nothing overflows.
#[test]
fn a_plan_at_the_end_of_time() {
    for engine in engines(&program(not_in_nights())) {
        let plan = engine
            .plan(&request("9999-12-31T12:00:00Z"), PlanOptions::default())
            .unwrap();
        assert_eq!(plan.until, time::MAX_TIMESTAMP + 1);
        assert_eq!(plan.allow_at, None);
    }
}
