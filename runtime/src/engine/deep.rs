//! Issue 7.2: a verified program nests at most `ward_ir::MAX_DEPTH` evaluation levels
//! (expressions counted through function calls and window `except` chains), and every
//! recursive pass of the runtime survives that on a 2 MiB thread stack in a debug build:
//! preparing the program (window compilation, the expression walks), the JIT's lowering,
//! deciding and explaining on both engines. The programs are built directly as IR at the
//! budget; the verifier is left out (`Engine::unverified`): its stack is the compiler's to
//! test, and `ward-tests`' `deep_programs` runs the same shapes through the public API.

use serde_json::json;
use ward_ir::*;

use super::{Engine, EngineConfig, EngineKind};

/// The stack of the threads the tests decide on: the test harness's default.
const STACK: usize = 2 * 1024 * 1024;

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

/// Builds both engines for `program` and decides and explains `requests` on a thread with a
/// 2 MiB stack; returns the decisions as JSON (both engines must agree).
fn decide_deep(
    label: &str,
    program: Program,
    requests: Vec<serde_json::Value>,
) -> Vec<serde_json::Value> {
    let label = label.to_string();
    let worker = std::thread::Builder::new()
        .name(label.clone())
        .stack_size(STACK)
        .spawn(move || {
            let mut out = Vec::new();
            let engines = [EngineKind::Interp, EngineKind::Jit].map(|kind| {
                Engine::unverified(program.clone(), EngineConfig { engine: kind })
                    .unwrap_or_else(|e| panic!("{label}: {kind:?}: {e}"))
            });
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
            out
        })
        .expect("a thread");
    worker.join().expect("no stack overflow, no panic")
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

/// `if flag then (if flag then … else false) else false`, `MAX_DEPTH` levels.
#[test]
fn nested_ifs_at_the_budget() {
    let mut x = flag();
    for _ in 1..MAX_DEPTH / 2 {
        x = e(
            Type::Bool,
            ExprKind::If {
                cond: Box::new(flag()),
                then: Box::new(x),
                otherwise: Box::new(e(Type::Bool, ExprKind::Bool(false))),
            },
        );
    }
    let out = decide_deep(
        "ifs",
        program(x, None),
        vec![request(true, 0), request(false, 0)],
    );
    assert_eq!(decision(&out[0]), "deny");
    assert_eq!(decision(&out[1]), "allow");
}

/// `[[…[n]…]]` nested 200 times under `count(…) == 1`, rendered in the message (nesting sets
/// keeps every level's set builder alive at once, which a debug build of Cranelift's register
/// allocator takes a minute over at the full budget; 200 levels are as deep as rendering and
/// comparing nested set values get in practice).
#[test]
fn nested_set_literals() {
    let levels = 200;
    let mut x = n();
    for _ in 0..levels {
        x = e(Type::Set(Box::new(x.ty.clone())), ExprKind::Set(vec![x]));
    }
    let count = e(
        Type::Int,
        ExprKind::Builtin {
            builtin: Builtin::Count,
            args: vec![x.clone()],
        },
    );
    let condition = bin(BinOp::Eq, Type::Bool, count, e(Type::Int, ExprKind::Int(1)));
    let out = decide_deep("sets", program(condition, Some(x)), vec![request(false, 7)]);
    assert_eq!(decision(&out[0]), "deny");
    let expected = format!("got {}7{}", "[".repeat(levels), "]".repeat(levels));
    assert_eq!(out[0]["fired"][0]["message"], expected.as_str());
}

/// `any x1 in [n]: not not … any x2 in [x1]: … xk > 0`: 99 nested quantifiers (each binding
/// a local that the next one reads), each with 8 `not`s, about 900 levels in all
/// (fewer, deeper loops: a debug build of Cranelift's register allocator is slow on hundreds
/// of nested loops).
#[test]
fn nested_quantifiers_at_the_budget() {
    let k = 99;
    let int_set = Type::Set(Box::new(Type::Int));
    let local = |i: usize| e(Type::Int, ExprKind::Local(LocalId(i as u32)));
    let mut body = bin(
        BinOp::Gt,
        Type::Bool,
        local(k - 1),
        e(Type::Int, ExprKind::Int(0)),
    );
    for i in (0..k).rev() {
        for _ in 0..8 {
            body = e(Type::Bool, ExprKind::Not(Box::new(body)));
        }
        let over = if i == 0 { n() } else { local(i - 1) };
        body = e(
            Type::Bool,
            ExprKind::Quantifier {
                all: false,
                var: LocalId(i as u32),
                set: Box::new(e(int_set.clone(), ExprKind::Set(vec![over]))),
                body: Box::new(body),
            },
        );
    }
    let mut p = program(body, None);
    p.rules[0].n_locals = k as u32;
    let out = decide_deep(
        "quantifiers",
        p,
        vec![request(false, 3), request(false, -3)],
    );
    assert_eq!(decision(&out[0]), "deny");
    assert_eq!(decision(&out[1]), "allow");
}

/// Windows that each except the next two (a lattice: the same window is excepted along
/// exponentially many paths) are decided in linear time, on both engines and both paths (the
/// cached span and before it). Deciding each window once per query is what makes this end.
#[test]
fn an_except_lattice_is_linear() {
    let count = 90;
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
            Type::Timestamp,
            ExprKind::NextOpen {
                window: WindowId(0),
                at: Box::new(now()),
            },
        )),
    );
    for i in 0..count {
        let except = (i + 1..count.min(i + 3))
            .map(|j| WindowId(j as u32))
            .collect();
        p.windows.push(Window {
            name: format!("w{i}"),
            timezone: "UTC".into(),
            lines: vec![WindowLine::Daily {
                start: 0,
                end: 0,
                days: 0x7f,
            }],
            except,
        });
    }
    // w89 is open, w88 closed (w89 is), w87 open (w88 is not, w89 is: closed!) … the same
    // rule for every window: open when neither of the next two is.
    let mut open = vec![false; count];
    for i in (0..count).rev() {
        open[i] = !(i + 1..count.min(i + 3)).any(|j| open[j]);
    }
    let early = json!({"action": "act", "at": "1950-06-01T10:00:00Z",
                       "args": {"flag": false, "n": 0}, "context": {}});
    let out = decide_deep("lattice", p, vec![request(false, 0), early]);
    for d in &out {
        let expected = if open[0] { "deny" } else { "allow" };
        assert_eq!(decision(d), expected, "{d}");
    }
}

/// Functions that each call the next twice (`f{i}(x) = f{i+1}(x) or f{i+1}(x)`): 40 levels
/// nest only 80 deep but would be a trillion calls. The JIT refuses to inline them (an error of
/// building the engine, not a hang); the interpreter runs out of its budget of steps and fails
/// closed.
#[test]
fn doubling_calls_are_refused_by_the_jit_and_bounded_by_the_budget() {
    let levels = 40;
    let mut p = program(
        e(
            Type::Bool,
            ExprKind::Call {
                func: FnId(0),
                args: vec![flag()],
            },
        ),
        None,
    );
    for i in 0..levels {
        let x = || e(Type::Bool, ExprKind::Local(LocalId(0)));
        let call = || {
            e(
                Type::Bool,
                ExprKind::Call {
                    func: FnId(i as u32 + 1),
                    args: vec![x()],
                },
            )
        };
        let body = if i + 1 == levels {
            x()
        } else {
            bin(BinOp::Or, Type::Bool, call(), call())
        };
        p.functions.push(Function {
            name: format!("f{i}"),
            params: vec![Type::Bool],
            ret: Type::Bool,
            n_locals: 1,
            body,
        });
    }
    match Engine::unverified(
        p.clone(),
        EngineConfig {
            engine: EngineKind::Jit,
        },
    ) {
        Err(e) => assert!(e.to_string().contains("too large for native code"), "{e}"),
        Ok(_) => panic!("the JIT inlined a trillion calls"),
    }
    let interp = Engine::unverified(
        p,
        EngineConfig {
            engine: EngineKind::Interp,
        },
    )
    .unwrap();
    // `flag` false: every path is walked, and the budget runs out (the deny rule fires).
    let d = interp.decide(&request(false, 0));
    assert_eq!(d.decision, EffectKind::Deny);
    assert!(
        d.errors[0]
            .message
            .starts_with("evaluation budget exhausted"),
        "{d:?}"
    );
    // `flag` true: `or` stops at the first call of each level.
    assert_eq!(interp.decide(&request(true, 0)).decision, EffectKind::Deny);
    assert!(interp.decide(&request(true, 0)).errors.is_empty());
}
