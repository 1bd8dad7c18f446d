//! Issue 7.2, through the public API: a verified program nests at most `ward_ir::MAX_DEPTH`
//! evaluation levels (expressions counted through function calls and window `except` chains),
//! and deciding and explaining such a program on either engine works on a thread with a 2 MiB
//! stack (the test harness's default) in a debug build. The programs are built directly as IR
//! at the budget, and built into engines (verifier included) on the same 2 MiB stack.

use serde_json::json;
use ward_ir::*;
use ward_runtime::engine::{Engine, EngineConfig, EngineKind};

/// The stack of the threads the tests decide on: the test harness's default.
const STACK: usize = 2 * 1024 * 1024;
/// The stack the engines are built on: the same.
const BUILD_STACK: usize = STACK;

fn e(ty: Type, kind: ExprKind) -> Expr {
    Expr { ty, kind }
}

fn flag() -> Expr {
    e(Type::Bool, ExprKind::Arg(0))
}

fn n() -> Expr {
    e(Type::Int, ExprKind::Arg(1))
}

fn bin(op: BinOp, ty: Type, lhs: Expr, rhs: Expr) -> Expr {
    e(
        ty,
        ExprKind::Binary {
            op,
            lhs: Box::new(lhs),
            rhs: Box::new(rhs),
        },
    )
}

fn location(line: u32) -> Location {
    Location {
        file: "deep.ward".into(),
        line,
        column: 1,
    }
}

/// `action act { flag: Bool, n: Int }`, one deny rule `deep` with `condition` (the rule's
/// arguments are the action's fields) and a message whose hole is `hole`.
fn program(condition: Expr, hole: Option<Expr>) -> Program {
    let mut p = Program::default();
    p.schema.actions.push(Action {
        name: "act".into(),
        fields: vec![
            Field {
                name: "flag".into(),
                ty: Type::Bool,
            },
            Field {
                name: "n".into(),
                ty: Type::Int,
            },
        ],
    });
    p.default = Effect {
        kind: EffectKind::Allow,
        approvers: None,
    };
    p.rules.push(Rule {
        name: "deep".into(),
        location: location(1),
        actions: vec![ActionId(0)],
        args: p.schema.actions[0].fields.clone(),
        conditions: vec![Condition {
            source: "deep".into(),
            location: location(2),
            expr: condition,
        }],
        effect: Effect {
            kind: EffectKind::Deny,
            approvers: None,
        },
        message: hole.map(|h| Message {
            parts: vec![MessagePart::Text("got ".into()), MessagePart::Expr(h)],
        }),
        n_locals: 0,
    });
    p
}

/// `depth` nested `not`s around `flag`, `depth + 1` levels in all.
fn nots(depth: usize) -> Expr {
    let mut x = flag();
    for _ in 0..depth {
        x = e(Type::Bool, ExprKind::Not(Box::new(x)));
    }
    x
}

/// `n + (n + (… + n))` (or left-nested) with `levels` levels.
fn sum(levels: usize, right: bool) -> Expr {
    let mut x = n();
    for _ in 1..levels {
        x = if right {
            bin(BinOp::Add, Type::Int, n(), x)
        } else {
            bin(BinOp::Add, Type::Int, x, n())
        };
    }
    x
}

/// `flag or (flag or (…))` / `flag and …` with `levels` levels.
fn chain(op: BinOp, levels: usize) -> Expr {
    let mut x = flag();
    for _ in 1..levels {
        x = bin(op, Type::Bool, flag(), x);
    }
    x
}

/// The request: `flag` and `n` as given.
fn request(flag: bool, n: i64) -> serde_json::Value {
    json!({"action": "act", "at": "2026-11-28T10:00:00Z", "args": {"flag": flag, "n": n},
           "context": {}})
}

/// Builds both engines for `program`, then decides and explains `requests` on a thread with a
/// 2 MiB stack; returns the decisions as JSON (both engines must agree).
fn decide_deep(
    label: &str,
    program: Program,
    requests: Vec<serde_json::Value>,
) -> Vec<serde_json::Value> {
    let label = label.to_string();
    let name = label.clone();
    let engines = std::thread::Builder::new()
        .stack_size(BUILD_STACK)
        .spawn(move || {
            let engines = [EngineKind::Interp, EngineKind::Jit].map(|kind| {
                Engine::with_config(program.clone(), EngineConfig { engine: kind })
                    .unwrap_or_else(|e| panic!("{name}: {kind:?}: {e}"))
            });
            // Dropped here, on the large stack (dropping an expression recurses).
            drop(program);
            engines
        })
        .expect("a thread")
        .join()
        .expect("the engines build");
    let worker = std::thread::Builder::new()
        .name(label.clone())
        .stack_size(STACK)
        .spawn(move || {
            let mut out = Vec::new();
            for request in &requests {
                let [interp, jit] = &engines;
                let a = interp.decide(request);
                let b = jit.decide(request);
                assert_eq!(a, b, "{label}: the engines disagree on {request}");
                let (ea, xa) = interp.explain(request);
                let (eb, xb) = jit.explain(request);
                assert_eq!((&ea, &xa), (&eb, &xb), "{label}: explanations differ");
                assert_eq!(ea, a, "{label}: explain and decide differ");
                out.push(serde_json::to_value(&a).expect("serializable"));
            }
            (out, engines)
        })
        .expect("a thread");
    let (out, engines) = worker.join().expect("no stack overflow, no panic");
    // The engines own the program: drop them on a large stack too.
    std::thread::Builder::new()
        .stack_size(BUILD_STACK)
        .spawn(move || drop(engines))
        .expect("a thread")
        .join()
        .expect("dropped");
    out
}

fn decision(d: &serde_json::Value) -> &str {
    d["decision"].as_str().unwrap_or("?")
}

#[test]
fn stacked_nots_at_the_budget() {
    // `MAX_DEPTH` levels: the `not`s and the argument below them. An odd number of `not`s
    // negates `flag`.
    let depth = MAX_DEPTH - 1;
    let hole = nots(depth - 2);
    let out = decide_deep(
        "nots",
        program(nots(depth), Some(hole)),
        vec![request(false, 0), request(true, 0)],
    );
    assert_eq!(decision(&out[0]), "deny");
    assert_eq!(out[0]["fired"][0]["message"], "got true");
    assert_eq!(decision(&out[1]), "allow");
}

#[test]
fn binary_chains_at_the_budget() {
    for right in [true, false] {
        // `sum > 0`: the comparison and `MAX_DEPTH - 1` levels of `+`.
        let total = sum(MAX_DEPTH - 1, right);
        let condition = bin(
            BinOp::Gt,
            Type::Bool,
            total.clone(),
            e(Type::Int, ExprKind::Int(0)),
        );
        let out = decide_deep(
            "sums",
            program(condition, Some(total)),
            vec![
                request(false, 1),
                request(false, -1),
                request(false, i64::MAX / 500),
            ],
        );
        assert_eq!(decision(&out[0]), "deny");
        assert_eq!(out[0]["fired"][0]["message"], "got 999");
        assert_eq!(decision(&out[1]), "allow");
        // The overflow is an error of the deny rule: it fires (fail closed).
        assert_eq!(decision(&out[2]), "deny");
        assert_eq!(out[2]["errors"][0]["message"], "integer overflow in `+`");
    }
    for (op, yes, no) in [(BinOp::Or, true, false), (BinOp::And, true, false)] {
        let out = decide_deep(
            "logic",
            program(chain(op, MAX_DEPTH), None),
            vec![request(yes, 0), request(no, 0)],
        );
        assert_eq!(decision(&out[0]), "deny");
        assert_eq!(decision(&out[1]), "allow");
    }
}

/// A chain of 500 functions `f{i}(x) = not f{i+1}(x)`, the last `f499(x) = x`: the rule's
/// call of `f0` nests `MAX_DEPTH` levels through the calls.
#[test]
fn a_chain_of_500_functions() {
    let count = MAX_DEPTH / 2;
    let mut p = program(
        e(
            Type::Bool,
            ExprKind::Call {
                func: FnId(0),
                args: vec![flag()],
            },
        ),
        Some(e(
            Type::Bool,
            ExprKind::Call {
                func: FnId(1),
                args: vec![flag()],
            },
        )),
    );
    for i in 0..count {
        let x = e(Type::Bool, ExprKind::Local(LocalId(0)));
        let body = if i + 1 == count {
            x
        } else {
            e(
                Type::Bool,
                ExprKind::Not(Box::new(e(
                    Type::Bool,
                    ExprKind::Call {
                        func: FnId(i as u32 + 1),
                        args: vec![x],
                    },
                ))),
            )
        };
        p.functions.push(Function {
            name: format!("f{i}"),
            params: vec![Type::Bool],
            ret: Type::Bool,
            n_locals: 1,
            body,
        });
    }
    // 499 `not`s from `f0`: the rule holds when `flag` is false.
    let out = decide_deep("functions", p, vec![request(false, 0), request(true, 0)]);
    assert_eq!(decision(&out[0]), "deny");
    assert_eq!(out[0]["fired"][0]["message"], "got false");
    assert_eq!(decision(&out[1]), "allow");
}

/// Windows `w0 … w998`, each open always and excepting the next: `w998` is open, `w997`
/// closed, and so on, so `w0` (an even distance from the end) is open. The condition
/// `now in w0` nests `MAX_DEPTH` levels through the chain.
#[test]
fn a_long_except_chain() {
    let count = MAX_DEPTH - 1;
    let now = || e(Type::Timestamp, ExprKind::Now);
    let mut p = program(
        e(
            Type::Bool,
            ExprKind::InWindow {
                window: WindowId(0),
                at: Box::new(now()),
            },
        ),
        Some(e(
            Type::Duration,
            ExprKind::Remaining {
                window: WindowId(0),
                at: Box::new(now()),
            },
        )),
    );
    for i in 0..count {
        p.windows.push(Window {
            name: format!("w{i}"),
            timezone: if i % 2 == 0 { "UTC" } else { "Europe/London" }.into(),
            lines: vec![WindowLine::Daily {
                start: 0,
                end: 0,
                days: 0x7f,
            }],
            except: if i + 1 < count {
                vec![WindowId(i as u32 + 1)]
            } else {
                vec![]
            },
        });
    }
    // Outside the cached span (before 1970) the windows are computed directly.
    let early = json!({"action": "act", "at": "1950-06-01T10:00:00Z",
                       "args": {"flag": false, "n": 0}, "context": {}});
    let out = decide_deep("windows", p, vec![request(false, 0), early]);
    for d in &out {
        assert_eq!(decision(d), "deny", "{d}");
        assert_eq!(d["fired"][0]["message"], "got 366d", "{d}");
    }
}
