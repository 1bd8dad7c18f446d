//! Tests of the JIT's resource handling and statistics (its semantics are tested against the
//! interpreter by the engine tests, `ward test` on both engines and the differential suite).

use ward_ir::*;

use super::{describe, live_modules, stats};
use crate::engine::{Engine, EngineConfig, EngineKind};

/// `action act { k: Int }` and `n` rules `rule r{i} { on act when k > i and k * 2 < 1000 deny }`.
fn program(n: usize) -> Program {
    let k = arg_k();
    let bin = |op, lhs: Expr, rhs: Expr, ty: Type| Expr {
        ty,
        kind: ExprKind::Binary {
            op,
            lhs: Box::new(lhs),
            rhs: Box::new(rhs),
        },
    };
    let mut p = Program::default();
    p.schema.actions.push(Action {
        name: "act".into(),
        fields: vec![Field {
            name: "k".into(),
            ty: Type::Int,
        }],
    });
    for i in 0..n {
        let gt = bin(BinOp::Gt, k.clone(), int(i as i64), Type::Bool);
        let twice = bin(BinOp::Mul, k.clone(), int(2), Type::Int);
        let lt = bin(BinOp::Lt, twice, int(1000), Type::Bool);
        p.rules.push(Rule {
            name: format!("r{i}"),
            location: Location::default(),
            actions: vec![ActionId(0)],
            args: vec![Field {
                name: "k".into(),
                ty: Type::Int,
            }],
            conditions: [gt, lt]
                .into_iter()
                .map(|expr| Condition {
                    source: String::new(),
                    location: Location::default(),
                    expr,
                })
                .collect(),
            effect: Effect {
                kind: EffectKind::Deny,
                approvers: None,
            },
            message: None,
            n_locals: 0,
        });
    }
    p
}

/// Resident set size in bytes (Linux).
fn rss() -> Option<usize> {
    let statm = std::fs::read_to_string("/proc/self/statm").ok()?;
    let pages: usize = statm.split_whitespace().nth(1)?.parse().ok()?;
    Some(pages * 4096)
}

/// Reload a program 1,000 times; returns the growth of this process's RSS in bytes.
fn reload_a_thousand_times() -> Option<usize> {
    let p = program(4);
    let request =
        serde_json::json!({"action": "act", "at": "2026-11-28T10:00:00Z", "args": {"k": 30}});
    // Warm up allocator pools before measuring.
    for _ in 0..20 {
        let engine = Engine::new(p.clone()).unwrap();
        assert_eq!(engine.decide(&request).fired().len(), 4);
    }
    let before = rss();
    for _ in 0..1000 {
        let engine = Engine::new(p.clone()).unwrap();
        assert_eq!(engine.decide(&request).fired().len(), 4);
        assert!(live_modules() >= 1);
    }
    // Every dropped engine dropped its code (other tests may hold a few meanwhile).
    assert!(live_modules() < 100, "{} modules alive", live_modules());
    Some(rss()?.saturating_sub(before?))
}

const RELOAD_CHILD: &str = "WARD_RELOAD_CHILD";

/// The measuring half of the test below: does its work only in the child process it starts.
#[test]
fn reload_child() {
    if std::env::var_os(RELOAD_CHILD).is_some()
        && let Some(grown) = reload_a_thousand_times()
    {
        println!("reload-rss-growth {grown}");
    }
}

#[test]
fn reloading_a_program_a_thousand_times_frees_the_code() {
    // The live-module counter is exact whatever runs beside this test.
    let _ = reload_a_thousand_times();
    // The RSS is per process and other tests run in parallel, so measure it in a child process
    // that runs only the reload loop.
    let exe = std::env::current_exe().expect("the test binary");
    let out = std::process::Command::new(exe)
        .args([
            "--exact",
            "jit::tests::reload_child",
            "--nocapture",
            "--test-threads=1",
        ])
        .env(RELOAD_CHILD, "1")
        .output()
        .expect("the test binary runs");
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "{stdout}{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let Some(grown) = stdout
        .lines()
        .find_map(|l| l.strip_prefix("reload-rss-growth "))
        .and_then(|n| n.trim().parse::<usize>().ok())
    else {
        // No /proc/self/statm on this system: the module counter above is the check.
        return;
    };
    // In isolation 1,000 reloads grow the RSS by about 150 KiB (allocator noise); a leak of
    // the compiled code (several KiB per module) would show as megabytes.
    assert!(
        grown < 4 << 20,
        "RSS grew by {} KiB over 1,000 reloads",
        grown >> 10
    );
}

#[test]
fn overflow_is_an_error_of_the_rule_on_both_engines() {
    let p = program(3);
    let request =
        serde_json::json!({"action": "act", "at": "2026-11-28T10:00:00Z", "args": {"k": i64::MAX}});
    let decide = |kind| {
        let engine = Engine::with_config(p.clone(), EngineConfig { engine: kind }).unwrap();
        assert_eq!(engine.kind(), kind);
        engine.decide(&request)
    };
    let jit = decide(EngineKind::Jit);
    assert_eq!(jit, decide(EngineKind::Interp));
    assert_eq!(jit.errors.len(), 3);
    assert_eq!(jit.errors[0].message, "integer overflow in `*`");
    assert_eq!(jit.decision, EffectKind::Deny);
}

#[test]
fn stats_list_every_rule_as_native() {
    let s = stats(&program(2)).unwrap();
    assert_eq!(s.len(), 2);
    assert_eq!(s[0].rule, "r0");
    assert!(s[0].runtime_calls.is_empty(), "{:?}", s[0].runtime_calls);
    assert!(s[0].native_ops >= 5);
    assert_eq!(
        describe(&s[0]),
        format!("native, {} inline ops", s[0].native_ops)
    );
}

/// Issue 8.5: a panic inside an `extern "C"` helper never unwinds into native code. It becomes
/// an evaluation error of the rule (a deny rule fires, an allow rule does not), and the
/// process goes on deciding.
#[test]
fn a_panicking_helper_fails_the_rule_closed() {
    let s = Expr {
        ty: Type::String,
        kind: ExprKind::Arg(0),
    };
    let long = |s: Expr| Expr {
        ty: Type::Bool,
        kind: ExprKind::Binary {
            op: BinOp::Gt,
            lhs: Box::new(Expr {
                ty: Type::Int,
                kind: ExprKind::Builtin {
                    builtin: Builtin::Len,
                    args: vec![s],
                },
            }),
            rhs: Box::new(Expr {
                ty: Type::Int,
                kind: ExprKind::Int(3),
            }),
        },
    };
    let rule = |name: &str, kind: EffectKind| Rule {
        name: name.into(),
        location: Location::default(),
        actions: vec![ActionId(0)],
        args: vec![Field {
            name: "s".into(),
            ty: Type::String,
        }],
        conditions: vec![Condition {
            source: "len(s) > 3".into(),
            location: Location::default(),
            expr: long(s.clone()),
        }],
        effect: Effect {
            kind,
            approvers: None,
        },
        message: None,
        n_locals: 0,
    };
    let mut p = Program::default();
    p.schema.actions.push(Action {
        name: "act".into(),
        fields: vec![Field {
            name: "s".into(),
            ty: Type::String,
        }],
    });
    p.default = Effect {
        kind: EffectKind::Allow,
        approvers: None,
    };
    p.rules = vec![
        rule("long_allowed", EffectKind::Allow),
        rule("long_denied", EffectKind::Deny),
    ];
    super::lower::PANIC_IN_LEN.with(|flag| flag.set(true));
    let panicking = Engine::new(p.clone());
    super::lower::PANIC_IN_LEN.with(|flag| flag.set(false));
    let panicking = panicking.unwrap();
    let sound = Engine::new(p).unwrap();
    let request = |s: &str| serde_json::json!({"action": "act", "at": "2026-11-28T10:00:00Z", "args": {"s": s}});
    let expected = "internal error: the runtime failed while evaluating (a test helper panics \
                    on purpose)";
    for round in 0..3 {
        let d = panicking.decide(&request("ab"));
        assert_eq!(d.decision, EffectKind::Deny, "round {round}: {d:?}");
        let fired: Vec<&str> = d.fired().iter().map(|f| f.rule()).collect();
        assert_eq!(fired, ["long_denied"]);
        let errors: Vec<(&str, &str)> = d
            .errors
            .iter()
            .map(|e| (e.rule.as_deref().unwrap_or(""), e.message.as_str()))
            .collect();
        assert_eq!(
            errors,
            [("long_allowed", expected), ("long_denied", expected)]
        );
        // The same program without the panicking helper decides as usual meanwhile.
        assert_eq!(sound.decide(&request("ab")).decision, EffectKind::Allow);
        assert!(sound.decide(&request("abcd")).errors.is_empty());
    }
}

/// `n` rules on `act { k: Int }` of every effect, with messages and approvers: rule `r{i}`
/// holds when `k > i and k * m < 1,000,000` (`m` is 3 for every third rule, else 2, so that
/// `k` near `i64::MAX / 2` is an overflow error of those rules only).
fn mixed(n: usize) -> Program {
    let mut p = program(n);
    let k = Expr {
        ty: Type::Int,
        kind: ExprKind::Arg(0),
    };
    let str_set = |items: Vec<String>| Expr {
        ty: Type::Set(Box::new(Type::String)),
        kind: ExprKind::Set(
            items
                .into_iter()
                .map(|s| Expr {
                    ty: Type::String,
                    kind: ExprKind::Str(s),
                })
                .collect(),
        ),
    };
    for (i, rule) in p.rules.iter_mut().enumerate() {
        if let Some(ExprKind::Binary { lhs, rhs, .. }) =
            rule.conditions.get_mut(1).map(|c| &mut c.expr.kind)
        {
            if let ExprKind::Binary { rhs: factor, .. } = &mut lhs.kind {
                factor.kind = ExprKind::Int(if i % 3 == 0 { 3 } else { 2 });
            }
            rhs.kind = ExprKind::Int(1_000_000);
        }
        rule.effect = match i % 4 {
            0 => Effect {
                kind: EffectKind::Allow,
                approvers: None,
            },
            2 => Effect {
                kind: EffectKind::RequireApproval,
                approvers: Some(str_set(vec![format!("team-{}", i % 5), "oncall".into()])),
            },
            _ => Effect {
                kind: EffectKind::Deny,
                approvers: None,
            },
        };
        if i % 4 != 3 {
            rule.message = Some(Message {
                parts: vec![
                    MessagePart::Text(format!("r{i} saw ")),
                    MessagePart::Expr(k.clone()),
                ],
            });
        }
    }
    p
}

/// A policy set spanning several native functions per action decides exactly as the
/// interpreter does: outcomes, errors, fired rules in policy order across chunk boundaries,
/// approvers and messages.
#[test]
fn an_action_in_several_chunks_decides_as_the_interpreter() {
    let p = mixed(300);
    // The rules differ only in their literals: compiled by shape unless told not to.
    super::NO_SHAPES.with(|flag| flag.set(true));
    let compiled = crate::prepared::Compiled::new(p.clone()).unwrap();
    let code = super::compile(&compiled);
    let engines = [EngineKind::Interp, EngineKind::Jit]
        .map(|kind| Engine::with_config(p.clone(), EngineConfig { engine: kind }).unwrap());
    super::NO_SHAPES.with(|flag| flag.set(false));
    let code = code.unwrap();
    let chunks = code.actions.first().map_or(0, Vec::len);
    assert!((4..50).contains(&chunks), "{chunks} chunks");
    for k in [
        0,
        1,
        49,
        50,
        51,
        120,
        299,
        300,
        1_000,
        333_333,
        499_999,
        i64::MAX / 2,
        i64::MAX,
    ] {
        let request =
            serde_json::json!({"action": "act", "at": "2026-11-28T10:00:00Z", "args": {"k": k}});
        let jit = agreed(&engines, &request, &format!("k = {k}"));
        if k == 1_000 {
            assert!(jit.fired().len() > 250, "{} fired", jit.fired().len());
        }
        if k == i64::MAX / 2 {
            assert_eq!(jit.errors.len(), 100);
        }
    }
}

/// [`mixed`] with literals everywhere a rule has code: the condition `k > i` goes through a
/// function (a step of the budget per rule), and the message hole is `k * (i * 10^13)`, an
/// overflow error of the message for every rule with `i` of 10 or more once `k` is 100,000.
fn shaped(n: usize) -> Program {
    let mut p = mixed(n);
    let local = Expr {
        ty: Type::Int,
        kind: ExprKind::Local(LocalId(0)),
    };
    p.functions.push(Function {
        name: "id".into(),
        params: vec![Type::Int],
        ret: Type::Int,
        n_locals: 1,
        body: local,
    });
    let k = arg_k();
    for (i, rule) in p.rules.iter_mut().enumerate() {
        if let Some(ExprKind::Binary { lhs, .. }) =
            rule.conditions.get_mut(0).map(|c| &mut c.expr.kind)
        {
            lhs.kind = ExprKind::Call {
                func: FnId(0),
                args: vec![k.clone()],
            };
        }
        if let Some(message) = &mut rule.message {
            message.parts = vec![
                MessagePart::Text(format!("r{i}: ")),
                MessagePart::Expr(Expr {
                    ty: Type::Int,
                    kind: ExprKind::Binary {
                        op: BinOp::Mul,
                        lhs: Box::new(k.clone()),
                        rhs: Box::new(int(i as i64 * 10_000_000_000_000)),
                    },
                }),
            ];
        }
    }
    p
}

/// Rules equal but for their literals share one native function per shape (here one per
/// effect and message: four), each reading its own literals: outcomes, the rule whose
/// condition or message fails, messages, approvers and the rule the budget runs out in are
/// the interpreter's, for every request.
#[test]
fn rules_of_one_shape_share_a_function_and_keep_their_literals() {
    let p = shaped(300);
    let compiled = crate::prepared::Compiled::new(p.clone()).unwrap();
    let code = super::compile(&compiled).unwrap();
    let chunks = code.actions.first().map_or(&[][..], Vec::as_slice);
    assert_eq!(chunks.len(), 300, "every rule is compiled by its shape");
    let functions: std::collections::HashSet<usize> = chunks.iter().map(|c| c.f as usize).collect();
    assert_eq!(functions.len(), 4);
    assert!(chunks.iter().all(|c| c.table != 0));
    for steps in [crate::budget::DEFAULT_STEPS, 150, 7] {
        let budget = crate::budget::Budget { steps };
        let engines = [EngineKind::Interp, EngineKind::Jit].map(|kind| {
            Engine::with_config(p.clone(), EngineConfig { engine: kind })
                .unwrap()
                .with_budget(budget)
        });
        for k in [0, 1, 7, 120, 299, 300, 100_000, 333_333, i64::MAX / 2] {
            let request = serde_json::json!({"action": "act", "at": "2026-11-28T10:00:00Z", "args": {"k": k}});
            let jit = agreed(&engines, &request, &format!("k = {k}, {steps} steps"));
            let fired: Vec<&str> = jit.fired().iter().map(|f| f.rule()).collect();
            let errors: Vec<&str> = jit
                .errors
                .iter()
                .filter_map(|e| e.rule.as_deref())
                .collect();
            match (steps, k) {
                // Rules r0..r119 hold; r2, r6, … require approval from their own teams.
                (crate::budget::DEFAULT_STEPS, 120) => {
                    assert!(errors.is_empty(), "{errors:?}");
                    assert!(fired.contains(&"r119") && !fired.contains(&"r120"));
                    let json = serde_json::to_string(&jit).unwrap();
                    assert!(json.contains("\"r5: 6000000000000000\""), "{json}");
                    assert!(json.contains("\"team-2\""), "{json}");
                }
                // Every rule holds; the message of r10 and later overflows.
                (crate::budget::DEFAULT_STEPS, 100_000) => {
                    assert!(
                        !errors.contains(&"r9") && errors.contains(&"r10"),
                        "{errors:?}"
                    );
                }
                // The budget runs out in the condition of rule 150.
                (150, 299) => assert_eq!(errors.first(), Some(&"r150"), "{errors:?}"),
                _ => {}
            }
        }
    }
}

/// Both engines explain `request` alike (the decision, its JSON and the explanation); the
/// compiled code's decision.
fn agreed(
    engines: &[Engine; 2],
    request: &serde_json::Value,
    label: &str,
) -> crate::decision::Decision {
    let [(interp, interp_why), (jit, jit_why)] = engines.each_ref().map(|e| e.explain(request));
    assert_eq!(jit, interp, "{label}");
    assert_eq!(jit_why, interp_why, "{label}");
    assert_eq!(
        serde_json::to_string(&jit).unwrap(),
        serde_json::to_string(&interp).unwrap(),
        "{label}"
    );
    jit
}

/// The action's argument `k`.
fn arg_k() -> Expr {
    Expr {
        ty: Type::Int,
        kind: ExprKind::Arg(0),
    }
}

/// The integer literal `v`.
fn int(v: i64) -> Expr {
    Expr {
        ty: Type::Int,
        kind: ExprKind::Int(v),
    }
}
