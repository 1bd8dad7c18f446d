//! Tests of the interpreter, decision combining, explanations and the engine, on a
//! hand-built program over the schema of the language contract.

use std::sync::Arc;

use serde_json::json;
use ward_ir::*;

use super::Engine;
use crate::Value;
use crate::decision::{Decision, render_explanation};
use crate::interp::{Env, Evaluator};
use crate::render::render_value;
use crate::store::Store;

// ---- expression builders -------------------------------------------------------------------

const IDENTITY: Type = Type::Entity(EntityTypeId(0));
const ASSET: Type = Type::Entity(EntityTypeId(1));
const TIER: Type = Type::Enum(EnumId(0));

fn e(ty: Type, kind: ExprKind) -> Expr {
    Expr { ty, kind }
}
fn b(x: Expr) -> Box<Expr> {
    Box::new(x)
}
fn set_of(t: Type) -> Type {
    Type::Set(Box::new(t))
}
fn opt(t: Type) -> Type {
    Type::Optional(Box::new(t))
}
fn boolean(v: bool) -> Expr {
    e(Type::Bool, ExprKind::Bool(v))
}
fn s(v: &str) -> Expr {
    e(Type::String, ExprKind::Str(v.into()))
}
fn int(n: i64) -> Expr {
    e(Type::Int, ExprKind::Int(n))
}
fn dur(n: i64) -> Expr {
    e(Type::Duration, ExprKind::Int(n))
}
fn ts(n: i64) -> Expr {
    e(Type::Timestamp, ExprKind::Int(n))
}
fn now() -> Expr {
    e(Type::Timestamp, ExprKind::Now)
}
fn entity(ty: Type, id: &str) -> Expr {
    e(ty, ExprKind::Entity(id.into()))
}
fn set(ty: Type, items: Vec<Expr>) -> Expr {
    e(set_of(ty), ExprKind::Set(items))
}
fn local(i: u32, ty: Type) -> Expr {
    e(ty, ExprKind::Local(LocalId(i)))
}
/// The probe rule's arguments: `target: Identity`, `reason: String`.
fn target() -> Expr {
    e(IDENTITY, ExprKind::Arg(0))
}
fn reason() -> Expr {
    e(Type::String, ExprKind::Arg(1))
}
fn agent() -> Expr {
    e(IDENTITY, ExprKind::Context(0))
}
fn ticket() -> Expr {
    e(opt(Type::String), ExprKind::Context(1))
}
/// Identity attributes: 0 name, 1 title, 2 department, 3 manager (optional), 4 groups.
fn attr(of: Expr, a: u32) -> Expr {
    let ty = match (&of.ty, a) {
        (t, 0..=2) if *t == IDENTITY => Type::String,
        (t, 3) if *t == IDENTITY => opt(IDENTITY),
        (t, 4) if *t == IDENTITY => set_of(Type::String),
        (t, 0) if *t == ASSET => TIER,
        (t, 1) if *t == ASSET => set_of(Type::String),
        (t, 2) if *t == ASSET => IDENTITY,
        _ => unreachable!("no such attribute in the test schema"),
    };
    e(ty, ExprKind::Attr { of: b(of), attr: a })
}
fn opt_attr(of: Expr, a: u32) -> Expr {
    let inner = attr(e(of.ty.strip_optional().clone(), ExprKind::Bool(false)), a).ty;
    e(
        opt(inner.strip_optional().clone()),
        ExprKind::OptAttr { of: b(of), attr: a },
    )
}
fn bin(op: BinOp, lhs: Expr, rhs: Expr) -> Expr {
    let ty = match op {
        BinOp::Add | BinOp::Sub | BinOp::Mul => match (&lhs.ty, &rhs.ty) {
            (Type::Timestamp, Type::Timestamp) => Type::Duration,
            (Type::Timestamp, _) | (_, Type::Timestamp) => Type::Timestamp,
            (Type::Duration, _) | (_, Type::Duration) => Type::Duration,
            _ => Type::Int,
        },
        _ => Type::Bool,
    };
    e(
        ty,
        ExprKind::Binary {
            op,
            lhs: b(lhs),
            rhs: b(rhs),
        },
    )
}
fn eq(lhs: Expr, rhs: Expr) -> Expr {
    bin(BinOp::Eq, lhs, rhs)
}
fn not(x: Expr) -> Expr {
    e(Type::Bool, ExprKind::Not(b(x)))
}
fn is_in(elem: Expr, set: Expr) -> Expr {
    e(
        Type::Bool,
        ExprKind::In {
            elem: b(elem),
            set: b(set),
        },
    )
}
fn builtin(f: Builtin, ty: Type, args: Vec<Expr>) -> Expr {
    e(ty, ExprKind::Builtin { builtin: f, args })
}
fn closure(of: Expr, inverse: bool) -> Expr {
    e(
        set_of(ASSET),
        ExprKind::Closure {
            rel: RelationId(0),
            inverse,
            of: b(of),
        },
    )
}

// ---- the program and data -------------------------------------------------------------------

fn field(name: &str, ty: Type) -> Field {
    Field {
        name: name.into(),
        ty,
    }
}
fn loc(line: u32, column: u32) -> Location {
    Location {
        file: "policy.ward".into(),
        line,
        column,
    }
}

fn schema() -> Schema {
    Schema {
        enums: vec![EnumType {
            name: "Tier".into(),
            variants: vec!["crown_jewel".into(), "critical".into(), "standard".into()],
        }],
        entities: vec![
            EntityType {
                name: "Identity".into(),
                attrs: vec![
                    field("name", Type::String),
                    field("title", Type::String),
                    field("department", Type::String),
                    field("manager", opt(IDENTITY)),
                    field("groups", set_of(Type::String)),
                ],
            },
            EntityType {
                name: "Asset".into(),
                attrs: vec![
                    field("tier", TIER),
                    field("tags", set_of(Type::String)),
                    field("owner", IDENTITY),
                ],
            },
        ],
        relations: vec![
            Relation {
                name: "depends_on".into(),
                from: EntityTypeId(1),
                to: EntityTypeId(1),
            },
            Relation {
                name: "reports_to".into(),
                from: EntityTypeId(0),
                to: EntityTypeId(0),
            },
        ],
        context: vec![field("agent", IDENTITY), field("ticket", opt(Type::String))],
        actions: vec![
            Action {
                name: "disable_account".into(),
                fields: vec![field("target", IDENTITY), field("reason", Type::String)],
            },
            Action {
                name: "patch_host".into(),
                fields: vec![
                    field("host", ASSET),
                    field("reboot", Type::Bool),
                    field("duration", Type::Duration),
                ],
            },
            Action {
                name: "revoke_sessions".into(),
                fields: vec![field("reason", Type::String), field("target", IDENTITY)],
            },
        ],
    }
}

fn windows() -> Vec<Window> {
    vec![
        Window {
            name: "weekend".into(),
            timezone: "UTC".into(),
            lines: vec![WindowLine::Weekly {
                start_day: 6,
                start: 0,
                end_day: 1,
                end: 0,
            }],
            except: vec![],
        },
        Window {
            name: "gone".into(),
            timezone: "UTC".into(),
            lines: vec![WindowLine::Between { from: 0, to: 3600 }],
            except: vec![],
        },
    ]
}

/// The rule `name` on `disable_account` and `revoke_sessions` (args `target`, `reason`).
fn rule(
    name: &str,
    line: u32,
    conditions: Vec<Expr>,
    kind: EffectKind,
    approvers: Option<Expr>,
    message: Option<Vec<MessagePart>>,
) -> Rule {
    Rule {
        name: name.into(),
        location: loc(line, 1),
        actions: vec![ActionId(0), ActionId(2)],
        args: vec![field("target", IDENTITY), field("reason", Type::String)],
        conditions: conditions
            .into_iter()
            .enumerate()
            .map(|(i, expr)| Condition {
                source: format!("cond{i} of {name}"),
                location: loc(line + 1 + i as u32, 8),
                expr,
            })
            .collect(),
        effect: Effect { kind, approvers },
        message: message.map(|parts| Message { parts }),
        n_locals: 2,
    }
}

fn program(rules: Vec<Rule>) -> Program {
    Program {
        schema: schema(),
        windows: windows(),
        functions: vec![],
        rules,
        default: Effect {
            kind: EffectKind::Deny,
            approvers: None,
        },
        regexes: vec!["^(VP|Chief)".into(), "fin".into()],
        tests: vec![],
    }
}

fn entities() -> serde_json::Value {
    json!({
        "entities": {
            "Identity": {
                "alice": {"name": "Alice", "title": "VP Finance", "department": "Finance",
                          "manager": "bob", "groups": ["finance", "execs"]},
                "bob": {"name": "Bob", "title": "CFO", "department": "Finance", "groups": []},
                "bot": {"name": "Remediator", "title": "agent", "department": "SecOps", "groups": ["bots"]}
            },
            "Asset": {
                "db-1": {"tier": "critical", "tags": ["revenue-critical"], "owner": "bob"},
                "web-1": {"tier": "standard", "tags": [], "owner": "alice"},
                "api-1": {"tier": "standard", "tags": ["payments"], "owner": "alice"},
                "lb-1": {"tier": "standard", "tags": [], "owner": "alice"}
            }
        },
        "relations": {
            "depends_on": [["web-1", "db-1"], ["api-1", "db-1"], ["lb-1", "web-1"]],
            "reports_to": [["alice", "bob"]]
        }
    })
}

/// 2026-11-28T10:00:00Z, a Saturday.
const AT: i64 = 1_795_860_000;

fn request(target: &str) -> serde_json::Value {
    json!({"action": "disable_account", "at": "2026-11-28T10:00:00Z",
           "args": {"target": target, "reason": "stale"}, "context": {"agent": "bot"}})
}

fn engine(rules: Vec<Rule>) -> Engine {
    engine_of(program(rules))
}

fn engine_of(program: Program) -> Engine {
    let engine = Engine::new(program).unwrap();
    engine.load_entities_json(&entities()).unwrap();
    engine
}

// ---- the interpreter ------------------------------------------------------------------------

/// Evaluates `expr` in the probe rule for a `disable_account` of alice (with `functions`
/// added to the program) and renders the result as a message would, or `error: …`.
fn eval_with(functions: Vec<Function>, expr: Expr) -> String {
    let mut p = program(vec![rule(
        "probe",
        1,
        vec![],
        EffectKind::Allow,
        None,
        Some(vec![MessagePart::Expr(expr.clone())]),
    )]);
    p.functions = functions;
    if let Err(errors) = verify(&p) {
        panic!("test expression does not verify: {errors:?}");
    }
    let engine = engine_of(p);
    let store = engine.store();
    let req = engine.parse_request(&request("alice")).unwrap();
    let c = &engine.prepared.compiled;
    let env = Env {
        program: &c.program,
        store: &store,
        windows: &c.windows,
        regexes: &c.regexes,
        timezones: &c.timezones,
        request: &req,
    };
    let args = [0, 1];
    let mut ev = Evaluator::new(env, &args, 2);
    match ev.eval(&expr) {
        Ok(v) => {
            let mut out = String::new();
            render_value(&mut out, &v, &expr.ty, &c.program.schema, &store);
            out
        }
        Err(err) => format!("error: {err}"),
    }
}

fn eval(expr: Expr) -> String {
    eval_with(vec![], expr)
}

#[test]
fn evaluates_literals_and_inputs() {
    let cases: Vec<(Expr, &str)> = vec![
        (boolean(true), "true"),
        (int(-7), "-7"),
        (s("x"), "x"),
        (dur(5400), "1h30m"),
        (dur(0), "0s"),
        (ts(AT), "2026-11-28T10:00:00Z"),
        (now(), "2026-11-28T10:00:00Z"),
        (e(TIER, ExprKind::Enum(1)), "critical"),
        (entity(IDENTITY, "alice"), "alice"),
        (entity(IDENTITY, "zed"), "zed"),
        (set(Type::String, vec![s("b"), s("a"), s("b")]), "[a, b]"),
        (set(Type::Int, vec![int(10), int(9)]), "[9, 10]"),
        (e(opt(Type::String), ExprKind::None), "none"),
        (e(opt(Type::String), ExprKind::Some(b(s("y")))), "y"),
        (target(), "alice"),
        (reason(), "stale"),
        (agent(), "bot"),
        (ticket(), "none"),
    ];
    for (expr, want) in cases {
        assert_eq!(eval(expr.clone()), want, "{expr:?}");
    }
}

#[test]
fn evaluates_attributes_and_optionals() {
    let manager = attr(target(), 3);
    let cases: Vec<(Expr, &str)> = vec![
        (attr(target(), 1), "VP Finance"),
        (manager.clone(), "bob"),
        (opt_attr(manager.clone(), 0), "Bob"),
        // bob has no manager: `?.` flattens an absent optional attribute.
        (opt_attr(opt_attr(manager.clone(), 3), 0), "none"),
        (attr(entity(ASSET, "db-1"), 0), "critical"),
        (attr(attr(entity(ASSET, "db-1"), 2), 0), "Bob"),
        (
            e(
                Type::Bool,
                ExprKind::Has {
                    of: b(target()),
                    attr: 3,
                },
            ),
            "true",
        ),
        (
            e(
                Type::Bool,
                ExprKind::Has {
                    of: b(entity(IDENTITY, "bob")),
                    attr: 3,
                },
            ),
            "false",
        ),
        (
            e(
                Type::Bool,
                ExprKind::Has {
                    of: b(e(opt(IDENTITY), ExprKind::None)),
                    attr: 3,
                },
            ),
            "false",
        ),
        (
            attr(entity(IDENTITY, "zed"), 0),
            "error: entity `Identity::\"zed\"` is not in the entities",
        ),
        (
            e(
                Type::String,
                ExprKind::Coalesce {
                    value: b(ticket()),
                    fallback: b(s("no ticket")),
                },
            ),
            "no ticket",
        ),
        (
            e(
                Type::String,
                ExprKind::Coalesce {
                    value: b(opt_attr(manager.clone(), 1)),
                    fallback: b(s("-")),
                },
            ),
            "CFO",
        ),
        // Comparisons with an absent side (decisions.md #11).
        (eq(ticket(), s("T-1")), "false"),
        (bin(BinOp::Ne, ticket(), s("T-1")), "true"),
        (eq(ticket(), e(opt(Type::String), ExprKind::None)), "true"),
        (eq(manager.clone(), entity(IDENTITY, "bob")), "true"),
        (
            bin(BinOp::Lt, e(opt(Type::Int), ExprKind::None), int(3)),
            "false",
        ),
        (
            bin(BinOp::Ge, e(opt(Type::Int), ExprKind::None), int(3)),
            "false",
        ),
        (is_in(ticket(), set(Type::String, vec![s("T-1")])), "false"),
        (
            is_in(opt_attr(manager, 1), set(Type::String, vec![s("CFO")])),
            "true",
        ),
        // Entities compare by type and id; an unknown literal equals no stored entity.
        (eq(target(), entity(IDENTITY, "alice")), "true"),
        (eq(entity(IDENTITY, "zed"), entity(IDENTITY, "zed")), "true"),
        (eq(target(), entity(IDENTITY, "zed")), "false"),
    ];
    for (expr, want) in cases {
        assert_eq!(eval(expr.clone()), want, "{expr:?}");
    }
}

#[test]
fn evaluates_operators_with_checked_arithmetic() {
    let boom = || bin(BinOp::Mul, int(i64::MAX), int(2));
    let cases: Vec<(Expr, &str)> = vec![
        (bin(BinOp::Add, int(2), int(3)), "5"),
        (bin(BinOp::Sub, int(2), int(3)), "-1"),
        (bin(BinOp::Mul, dur(60), int(3)), "3m"),
        (bin(BinOp::Add, now(), dur(3600)), "2026-11-28T11:00:00Z"),
        (bin(BinOp::Sub, now(), ts(AT - 90_000)), "1d1h"),
        (boom(), "error: integer overflow in `*`"),
        (
            bin(BinOp::Add, int(i64::MAX), int(1)),
            "error: integer overflow in `+`",
        ),
        (
            e(Type::Int, ExprKind::Neg(b(int(i64::MIN)))),
            "error: integer overflow in `-`",
        ),
        (e(Type::Duration, ExprKind::Neg(b(dur(60)))), "-1m"),
        (
            bin(BinOp::Add, now(), dur(9_000 * 365 * 86_400)),
            "error: timestamp arithmetic `+` leaves the supported range (years 0001 to 9999)",
        ),
        (bin(BinOp::Le, int(3), int(3)), "true"),
        (bin(BinOp::Gt, dur(3), dur(4)), "false"),
        (not(boolean(false)), "true"),
        // Short-circuit: the right side would fail.
        (bin(BinOp::And, boolean(false), eq(boom(), int(0))), "false"),
        (bin(BinOp::Or, boolean(true), eq(boom(), int(0))), "true"),
        (
            bin(BinOp::And, boolean(true), eq(boom(), int(0))),
            "error: integer overflow in `*`",
        ),
        (
            e(
                Type::String,
                ExprKind::If {
                    cond: b(boolean(false)),
                    then: b(s("a")),
                    otherwise: b(s("b")),
                },
            ),
            "b",
        ),
        (
            e(
                Type::Bool,
                ExprKind::Matches {
                    operand: b(attr(target(), 1)),
                    regex: RegexId(0),
                },
            ),
            "true",
        ),
        // Unanchored search.
        (
            e(
                Type::Bool,
                ExprKind::Matches {
                    operand: b(s("Defines")),
                    regex: RegexId(1),
                },
            ),
            "true",
        ),
        (
            e(
                Type::Bool,
                ExprKind::Matches {
                    operand: b(s("Fin")),
                    regex: RegexId(1),
                },
            ),
            "false",
        ),
        (
            eq(
                set(Type::String, vec![s("a"), s("b")]),
                set(Type::String, vec![s("b"), s("a"), s("a")]),
            ),
            "true",
        ),
    ];
    for (expr, want) in cases {
        assert_eq!(eval(expr.clone()), want, "{expr:?}");
    }
}

#[test]
fn evaluates_builtins() {
    let groups = || attr(target(), 4);
    let strs = |items: &[&str]| set(Type::String, items.iter().map(|x| s(x)).collect());
    let cases: Vec<(Expr, &str)> = vec![
        (builtin(Builtin::Count, Type::Int, vec![groups()]), "2"),
        (
            builtin(Builtin::SetContains, Type::Bool, vec![groups(), s("execs")]),
            "true",
        ),
        (
            builtin(Builtin::SetContains, Type::Bool, vec![groups(), ticket()]),
            "false",
        ),
        (
            builtin(
                Builtin::Intersects,
                Type::Bool,
                vec![groups(), strs(&["a", "finance"])],
            ),
            "true",
        ),
        (
            builtin(
                Builtin::Intersects,
                Type::Bool,
                vec![groups(), strs(&["a", "z"])],
            ),
            "false",
        ),
        (
            builtin(Builtin::Intersects, Type::Bool, vec![strs(&[]), strs(&[])]),
            "false",
        ),
        (
            builtin(
                Builtin::IsSubset,
                Type::Bool,
                vec![groups(), strs(&["execs", "finance", "x"])],
            ),
            "true",
        ),
        (
            builtin(
                Builtin::IsSubset,
                Type::Bool,
                vec![groups(), strs(&["execs"])],
            ),
            "false",
        ),
        (
            builtin(Builtin::IsSubset, Type::Bool, vec![strs(&[]), strs(&[])]),
            "true",
        ),
        (
            builtin(
                Builtin::StartsWith,
                Type::Bool,
                vec![s("svc-db"), s("svc-")],
            ),
            "true",
        ),
        (
            builtin(Builtin::EndsWith, Type::Bool, vec![s("svc-db"), s("svc")]),
            "false",
        ),
        (
            builtin(
                Builtin::StrContains,
                Type::Bool,
                vec![s("svc-db"), s("c-d")],
            ),
            "true",
        ),
        (
            builtin(Builtin::Lower, Type::String, vec![s("ÄBC Straße")]),
            "äbc straße",
        ),
        (builtin(Builtin::Len, Type::Int, vec![s("héllo")]), "5"),
        (is_in(s("finance"), groups()), "true"),
        // The same without literals (the interpreter searches literal sets in place).
        (
            builtin(
                Builtin::Intersects,
                Type::Bool,
                vec![groups(), attr(entity(IDENTITY, "alice"), 4)],
            ),
            "true",
        ),
        (
            builtin(
                Builtin::Intersects,
                Type::Bool,
                vec![groups(), attr(entity(IDENTITY, "bot"), 4)],
            ),
            "false",
        ),
        (
            builtin(
                Builtin::IsSubset,
                Type::Bool,
                vec![attr(entity(IDENTITY, "bob"), 4), groups()],
            ),
            "true",
        ),
        (
            builtin(
                Builtin::IsSubset,
                Type::Bool,
                vec![groups(), attr(entity(IDENTITY, "bot"), 4)],
            ),
            "false",
        ),
        (
            builtin(Builtin::SetContains, Type::Bool, vec![groups(), reason()]),
            "false",
        ),
        (
            builtin(
                Builtin::SetContains,
                Type::Bool,
                vec![strs(&["x", "stale"]), reason()],
            ),
            "true",
        ),
        (is_in(reason(), groups()), "false"),
        (is_in(reason(), strs(&["stale"])), "true"),
        (is_in(s("stale"), strs(&["stale"])), "true"),
    ];
    for (expr, want) in cases {
        assert_eq!(eval(expr.clone()), want, "{expr:?}");
    }
}

#[test]
fn evaluates_quantifiers_filters_and_relations() {
    let db = || entity(ASSET, "db-1");
    let a = || local(0, ASSET);
    let revenue = || is_in(s("revenue-critical"), attr(a(), 1));
    let quant = |all: bool, set: Expr, body: Expr| {
        e(
            Type::Bool,
            ExprKind::Quantifier {
                all,
                var: LocalId(0),
                set: b(set),
                body: b(body),
            },
        )
    };
    let empty = || set(ASSET, vec![]);
    let boom = || eq(bin(BinOp::Mul, int(i64::MAX), int(2)), int(0));
    let cases: Vec<(Expr, &str)> = vec![
        (
            e(
                set_of(ASSET),
                ExprKind::Related {
                    rel: RelationId(0),
                    inverse: false,
                    of: b(entity(ASSET, "web-1")),
                },
            ),
            "[db-1]",
        ),
        (
            e(
                set_of(ASSET),
                ExprKind::Related {
                    rel: RelationId(0),
                    inverse: true,
                    of: b(db()),
                },
            ),
            "[api-1, web-1]",
        ),
        (closure(db(), true), "[api-1, lb-1, web-1]"),
        (closure(entity(ASSET, "lb-1"), false), "[db-1, web-1]"),
        (closure(entity(ASSET, "nope"), true), "[]"),
        (
            e(
                Type::Bool,
                ExprKind::Path {
                    rel: RelationId(0),
                    inverse: false,
                    from: b(entity(ASSET, "lb-1")),
                    to: b(db()),
                },
            ),
            "true",
        ),
        (
            e(
                Type::Bool,
                ExprKind::Path {
                    rel: RelationId(0),
                    inverse: false,
                    from: b(db()),
                    to: b(entity(ASSET, "lb-1")),
                },
            ),
            "false",
        ),
        (
            e(
                Type::Bool,
                ExprKind::Path {
                    rel: RelationId(0),
                    inverse: true,
                    from: b(db()),
                    to: b(entity(ASSET, "lb-1")),
                },
            ),
            "true",
        ),
        (
            quant(false, closure(entity(ASSET, "lb-1"), false), revenue()),
            "true",
        ),
        (
            quant(true, closure(entity(ASSET, "lb-1"), false), revenue()),
            "false",
        ),
        (quant(false, empty(), boom()), "false"),
        (quant(true, empty(), boom()), "true"),
        // Short-circuit: `any` stops at the first true element (api-1 < db-1 < lb-1 by index).
        (
            quant(
                false,
                closure(db(), true),
                bin(BinOp::Or, eq(a(), entity(ASSET, "api-1")), boom()),
            ),
            "true",
        ),
        (
            e(
                set_of(ASSET),
                ExprKind::Filter {
                    var: LocalId(0),
                    set: b(closure(db(), true)),
                    cond: b(eq(attr(a(), 0), e(TIER, ExprKind::Enum(2)))),
                },
            ),
            "[api-1, lb-1, web-1]",
        ),
        (
            e(
                set_of(ASSET),
                ExprKind::Filter {
                    var: LocalId(0),
                    set: b(closure(db(), true)),
                    cond: b(builtin(
                        Builtin::SetContains,
                        Type::Bool,
                        vec![attr(a(), 1), s("payments")],
                    )),
                },
            ),
            "[api-1]",
        ),
        // Nested quantifiers use their own slots.
        (
            quant(
                true,
                closure(db(), true),
                e(
                    Type::Bool,
                    ExprKind::Quantifier {
                        all: false,
                        var: LocalId(1),
                        set: b(closure(a(), false)),
                        body: b(eq(local(1, ASSET), db())),
                    },
                ),
            ),
            "true",
        ),
    ];
    for (expr, want) in cases {
        assert_eq!(eval(expr.clone()), want, "{expr:?}");
    }
}

#[test]
fn evaluates_windows_and_local_time() {
    let weekend = WindowId(0);
    let gone = WindowId(1);
    let cases: Vec<(Expr, &str)> = vec![
        (
            e(
                Type::Bool,
                ExprKind::InWindow {
                    window: weekend,
                    at: b(now()),
                },
            ),
            "true",
        ),
        (
            e(
                Type::Duration,
                ExprKind::Remaining {
                    window: weekend,
                    at: b(now()),
                },
            ),
            "1d14h",
        ),
        (
            e(
                Type::Bool,
                ExprKind::Fits {
                    window: weekend,
                    at: b(now()),
                    duration: b(dur(3600)),
                },
            ),
            "true",
        ),
        (
            e(
                Type::Bool,
                ExprKind::Fits {
                    window: weekend,
                    at: b(now()),
                    duration: b(dur(2 * 86_400)),
                },
            ),
            "false",
        ),
        (
            e(
                Type::Timestamp,
                ExprKind::NextOpen {
                    window: weekend,
                    at: b(bin(BinOp::Add, now(), dur(2 * 86_400))),
                },
            ),
            "2026-12-05T00:00:00Z",
        ),
        (
            e(
                Type::Timestamp,
                ExprKind::NextOpen {
                    window: gone,
                    at: b(now()),
                },
            ),
            "error: window `gone` does not open within 366 days after 2026-11-28T10:00:00Z",
        ),
        (
            e(
                Type::Int,
                ExprKind::LocalTime {
                    part: TimePart::Hour,
                    at: b(now()),
                    timezone: "Asia/Tokyo".into(),
                },
            ),
            "19",
        ),
        (
            e(
                Type::Int,
                ExprKind::LocalTime {
                    part: TimePart::Weekday,
                    at: b(now()),
                    timezone: "Pacific/Kiritimati".into(),
                },
            ),
            "7",
        ),
        (
            e(
                Type::Int,
                ExprKind::LocalTime {
                    part: TimePart::Weekday,
                    at: b(now()),
                    timezone: "UTC".into(),
                },
            ),
            "6",
        ),
    ];
    for (expr, want) in cases {
        assert_eq!(eval(expr.clone()), want, "{expr:?}");
    }
}

#[test]
fn calls_functions_with_fresh_frames() {
    // fn is_exec(i: Identity) -> Bool = i.title matches "^(VP|Chief)"
    let is_exec = Function {
        name: "is_exec".into(),
        params: vec![IDENTITY],
        ret: Type::Bool,
        n_locals: 1,
        body: e(
            Type::Bool,
            ExprKind::Matches {
                operand: b(attr(local(0, IDENTITY), 1)),
                regex: RegexId(0),
            },
        ),
    };
    // fn exec_chain(i: Identity) -> Bool = is_exec(i) and any m in i.reports_to: is_exec(m)
    let exec_chain = Function {
        name: "exec_chain".into(),
        params: vec![IDENTITY],
        ret: Type::Bool,
        n_locals: 2,
        body: bin(
            BinOp::And,
            e(
                Type::Bool,
                ExprKind::Call {
                    func: FnId(0),
                    args: vec![local(0, IDENTITY)],
                },
            ),
            e(
                Type::Bool,
                ExprKind::Quantifier {
                    all: false,
                    var: LocalId(1),
                    set: b(e(
                        set_of(IDENTITY),
                        ExprKind::Related {
                            rel: RelationId(1),
                            inverse: false,
                            of: b(local(0, IDENTITY)),
                        },
                    )),
                    body: b(e(
                        Type::Bool,
                        ExprKind::Call {
                            func: FnId(0),
                            args: vec![local(1, IDENTITY)],
                        },
                    )),
                },
            ),
        ),
    };
    let fns = vec![is_exec, exec_chain];
    let call = |f: u32, arg: Expr| {
        e(
            Type::Bool,
            ExprKind::Call {
                func: FnId(f),
                args: vec![arg],
            },
        )
    };
    assert_eq!(eval_with(fns.clone(), call(0, target())), "true");
    assert_eq!(eval_with(fns.clone(), call(0, agent())), "false");
    // bob reports to nobody, alice reports to bob (CFO: not matching `^(VP|Chief)`).
    assert_eq!(eval_with(fns.clone(), call(1, target())), "false");
    // The caller's locals survive a call: `any x in [alice]: is_exec(x) and x == alice`.
    let q = e(
        Type::Bool,
        ExprKind::Quantifier {
            all: false,
            var: LocalId(0),
            set: b(set(IDENTITY, vec![target()])),
            body: b(bin(
                BinOp::And,
                call(1, local(0, IDENTITY)),
                eq(local(0, IDENTITY), target()),
            )),
        },
    );
    assert_eq!(eval_with(fns, q), "false");
}

// ---- decisions ------------------------------------------------------------------------------

fn text(t: &str) -> MessagePart {
    MessagePart::Text(t.into())
}
fn hole(x: Expr) -> MessagePart {
    MessagePart::Expr(x)
}
fn overflow() -> Expr {
    eq(bin(BinOp::Mul, int(i64::MAX), int(2)), int(0))
}
fn is_finance() -> Expr {
    eq(attr(target(), 2), s("Finance"))
}

fn decide(engine: &Engine, target: &str) -> serde_json::Value {
    serde_json::to_value(engine.decide(&request(target))).unwrap()
}

#[test]
fn decision_json_matches_the_contract() {
    let engine = engine(vec![
        rule(
            "finance",
            10,
            vec![is_finance()],
            EffectKind::RequireApproval,
            Some(s("security-oncall")),
            Some(vec![
                hole(attr(target(), 0)),
                text(" is in "),
                hole(attr(target(), 2)),
            ]),
        ),
        rule("routine", 20, vec![], EffectKind::Allow, None, None),
    ]);
    assert_eq!(
        decide(&engine, "alice"),
        json!({
            "decision": "require_approval",
            "fired": [
                {"rule": "finance", "effect": "require_approval", "message": "Alice is in Finance",
                 "location": "policy.ward:10:1", "approvers": ["security-oncall"]},
                {"rule": "routine", "effect": "allow", "message": null, "location": "policy.ward:20:1"}
            ],
            "approvers": ["security-oncall"],
            "errors": []
        })
    );
    assert_eq!(
        decide(&engine, "bot"),
        json!({
            "decision": "allow",
            "fired": [{"rule": "routine", "effect": "allow", "message": null, "location": "policy.ward:20:1"}],
            "approvers": [], "errors": []
        })
    );
    let round_trip: Decision = serde_json::from_value(decide(&engine, "alice")).unwrap();
    assert_eq!(round_trip, engine.decide(&request("alice")));
}

fn effects(engine: &Engine, target: &str) -> (String, Vec<String>, Vec<String>) {
    let d = engine.decide(&request(target));
    (
        d.decision.as_str().to_string(),
        d.fired().iter().map(|f| f.rule().to_string()).collect(),
        d.approvers().to_vec(),
    )
}

#[test]
fn combines_deny_over_approval_over_allow_over_default() {
    let allow = rule("allow", 1, vec![], EffectKind::Allow, None, None);
    let approve_a = rule(
        "approve_a",
        2,
        vec![],
        EffectKind::RequireApproval,
        Some(set(Type::String, vec![s("z"), s("a")])),
        None,
    );
    let approve_b = rule(
        "approve_b",
        3,
        vec![],
        EffectKind::RequireApproval,
        Some(attr(entity(ASSET, "db-1"), 2)),
        None,
    );
    let approve_c = rule(
        "approve_c",
        4,
        vec![],
        EffectKind::RequireApproval,
        Some(s("a")),
        None,
    );
    let deny = rule("deny", 5, vec![is_finance()], EffectKind::Deny, None, None);
    let e1 = engine(vec![
        allow.clone(),
        approve_a.clone(),
        approve_b,
        approve_c,
        deny.clone(),
    ]);
    assert_eq!(
        effects(&e1, "alice"),
        (
            "deny".into(),
            vec![
                "allow".into(),
                "approve_a".into(),
                "approve_b".into(),
                "approve_c".into(),
                "deny".into()
            ],
            vec![]
        )
    );
    assert_eq!(
        effects(&e1, "bot").2,
        vec!["a".to_string(), "bob".into(), "z".into()],
        "approvers of fired rules are unioned, sorted, deduplicated"
    );
    let e2 = engine(vec![allow.clone(), deny.clone()]);
    assert_eq!(
        effects(&e2, "bot"),
        ("allow".into(), vec!["allow".into()], vec![])
    );
    // No rule fires: the default, here `require approval from context.agent`.
    let mut p = program(vec![deny]);
    p.default = Effect {
        kind: EffectKind::RequireApproval,
        approvers: Some(agent()),
    };
    let e3 = engine_of(p);
    assert_eq!(
        effects(&e3, "bot"),
        ("require_approval".into(), vec![], vec!["bot".into()])
    );
    // The entity approver `target.manager` stands for its id; sets of entities are flattened.
    let approve_mgr = rule(
        "mgr",
        2,
        vec![],
        EffectKind::RequireApproval,
        Some(set(
            IDENTITY,
            vec![entity(IDENTITY, "bob"), entity(IDENTITY, "carol"), agent()],
        )),
        None,
    );
    let e4 = engine(vec![approve_mgr, allow]);
    assert_eq!(
        effects(&e4, "alice").2,
        vec!["bob".to_string(), "bot".into(), "carol".into()]
    );
}

#[test]
fn fails_closed_on_evaluation_errors() {
    let e = engine(vec![
        rule(
            "allow_err",
            1,
            vec![overflow()],
            EffectKind::Allow,
            None,
            None,
        ),
        rule(
            "approve_err",
            2,
            vec![boolean(true), overflow(), boolean(false)],
            EffectKind::RequireApproval,
            Some(s("oncall")),
            None,
        ),
    ]);
    let d = serde_json::to_value(e.decide(&request("alice"))).unwrap();
    assert_eq!(
        d,
        json!({
            "decision": "require_approval",
            "fired": [{"rule": "approve_err", "effect": "require_approval", "message": null,
                       "location": "policy.ward:2:1", "approvers": ["oncall"]}],
            "approvers": ["oncall"],
            "errors": [
                {"rule": "allow_err", "message": "integer overflow in `*`"},
                {"rule": "approve_err", "message": "integer overflow in `*`"}
            ]
        })
    );
    // An allow rule with an error does not fire: the default (deny) decides.
    let e2 = engine(vec![rule(
        "allow_err",
        1,
        vec![overflow()],
        EffectKind::Allow,
        None,
        None,
    )]);
    let d2 = e2.decide(&request("alice"));
    assert_eq!(d2.decision, EffectKind::Deny);
    assert!(d2.fired().is_empty());
    assert_eq!(d2.errors.len(), 1);
    // A deny rule whose condition reads an attribute of an entity not in the store fires.
    let e3 = engine(vec![
        rule("ok", 1, vec![], EffectKind::Allow, None, None),
        rule(
            "ghost",
            2,
            vec![eq(attr(entity(IDENTITY, "ghost"), 0), s("x"))],
            EffectKind::Deny,
            None,
            None,
        ),
    ]);
    let d3 = e3.decide(&request("alice"));
    assert_eq!(d3.decision, EffectKind::Deny);
    assert_eq!(
        d3.errors[0].message,
        "entity `Identity::\"ghost\"` is not in the entities"
    );
}

#[test]
fn approver_and_message_errors_are_listed_and_only_strictness_fires() {
    let bad_approvers = e(
        Type::String,
        ExprKind::If {
            cond: b(overflow()),
            then: b(s("a")),
            otherwise: b(s("b")),
        },
    );
    let e1 = engine(vec![
        rule(
            "approve",
            1,
            vec![],
            EffectKind::RequireApproval,
            Some(bad_approvers),
            None,
        ),
        rule(
            "also",
            2,
            vec![],
            EffectKind::RequireApproval,
            Some(s("fallback")),
            None,
        ),
        rule(
            "msg",
            3,
            vec![],
            EffectKind::Allow,
            None,
            Some(vec![
                text("x="),
                hole(bin(BinOp::Add, int(i64::MAX), int(1))),
            ]),
        ),
    ]);
    let d = serde_json::to_value(e1.decide(&request("alice"))).unwrap();
    assert_eq!(
        d,
        json!({
            "decision": "require_approval",
            "fired": [
                {"rule": "approve", "effect": "require_approval", "message": null,
                 "location": "policy.ward:1:1", "approvers": []},
                {"rule": "also", "effect": "require_approval", "message": null,
                 "location": "policy.ward:2:1", "approvers": ["fallback"]}
                // `msg` is an allow whose message fails: it does not fire (fail closed).
            ],
            "approvers": ["fallback"],
            "errors": [
                {"rule": "approve", "message": "could not evaluate approvers: integer overflow in `*`"},
                {"rule": "msg", "message": "integer overflow in `+`"}
            ]
        })
    );
}

#[test]
fn renders_messages_as_the_contract_says() {
    let groups = attr(target(), 4);
    let e1 = engine(vec![rule(
        "m",
        1,
        vec![],
        EffectKind::Deny,
        None,
        Some(vec![
            hole(target()),
            text(" "),
            hole(e(TIER, ExprKind::Enum(0))),
            text(" "),
            hole(dur(2 * 86_400 + 4 * 3600)),
            text(" "),
            hole(now()),
            text(" "),
            hole(groups),
            text(" "),
            hole(ticket()),
            text(" "),
            hole(int(42)),
            text(" "),
            hole(boolean(false)),
            text(" "),
            hole(closure(entity(ASSET, "db-1"), true)),
            text(" "),
            hole(set(Type::Int, vec![int(10), int(9)])),
        ]),
    )]);
    let d = e1.decide(&request("alice"));
    assert_eq!(
        d.fired().first().and_then(|f| f.message()).as_deref(),
        Some(
            "alice crown_jewel 2d4h 2026-11-28T10:00:00Z [execs, finance] none 42 false [api-1, lb-1, web-1] [9, 10]"
        )
    );
}

#[test]
fn maps_rule_arguments_to_each_actions_fields() {
    // `revoke_sessions` declares `reason` before `target`: the rule must read by name.
    let e1 = engine(vec![rule(
        "m",
        1,
        vec![],
        EffectKind::Deny,
        None,
        Some(vec![hole(target()), text("/"), hole(reason())]),
    )]);
    let d = e1.decide(&json!({"action": "revoke_sessions", "at": "2026-11-28T10:00:00Z",
                              "args": {"reason": "r", "target": "bob"}, "context": {"agent": "bot"}}));
    assert_eq!(
        d.fired().first().and_then(|f| f.message()).as_deref(),
        Some("bob/r")
    );
    // `patch_host` is not listed by the rule: only the default applies.
    let d = e1.decide(&json!({"action": "patch_host", "at": "2026-11-28T10:00:00Z",
                              "args": {"host": "db-1", "reboot": true, "duration": "3h"}, "context": {"agent": "bot"}}));
    assert_eq!(
        serde_json::to_value(&d).unwrap(),
        json!({"decision": "deny", "fired": [], "approvers": [], "errors": []})
    );
}

#[test]
fn rejects_invalid_requests_with_deny() {
    let e1 = engine(vec![rule(
        "allow",
        1,
        vec![],
        EffectKind::Allow,
        None,
        None,
    )]);
    for bad in [
        json!({"action": "shutdown", "at": "2026-11-28T10:00:00Z", "args": {}, "context": {"agent": "bot"}}),
        json!({"action": "disable_account", "at": "2026-11-28T10:00:00Z", "args": {"target": "nobody", "reason": "x"},
               "context": {"agent": "bot"}}),
        json!({"action": "disable_account", "args": {"target": "alice", "reason": "x"}, "context": {}}),
        json!(42),
    ] {
        let d = e1.decide(&bad);
        assert_eq!(d.decision, EffectKind::Deny, "{bad}");
        assert!(d.fired().is_empty());
        assert_eq!(d.errors.len(), 1);
        assert_eq!(d.errors[0].rule, None);
        assert!(!d.errors[0].message.is_empty());
        let (d2, explanation) = e1.explain(&bad);
        assert_eq!(d2, d);
        assert_eq!(explanation.action, None);
        assert!(render_explanation(&d2, &explanation).contains("did not validate"));
    }
}

#[test]
fn explains_decisions() {
    let e1 = engine(vec![
        rule(
            "finance",
            10,
            vec![is_finance()],
            EffectKind::RequireApproval,
            Some(s("oncall")),
            Some(vec![text("finance: "), hole(target())]),
        ),
        rule(
            "execs_only",
            20,
            vec![boolean(true), eq(attr(target(), 1), s("CEO"))],
            EffectKind::Deny,
            None,
            None,
        ),
        rule(
            "broken",
            30,
            vec![overflow()],
            EffectKind::Allow,
            None,
            None,
        ),
        Rule {
            actions: vec![ActionId(1)],
            args: vec![],
            ..rule("patching", 40, vec![], EffectKind::Allow, None, None)
        },
    ]);
    let (decision, explanation) = e1.explain(&request("alice"));
    assert_eq!(decision, e1.decide(&request("alice")));
    assert_eq!(explanation.rules.len(), 3);
    assert_eq!(explanation.not_applicable, 1);
    assert_eq!(
        render_explanation(&decision, &explanation),
        "decision: require_approval
approvers: oncall
action `disable_account` at 2026-11-28T10:00:00Z
3 rules of `disable_account`: 1 fired
  fired, decides         finance (require_approval) at policy.ward:10:1
      because: finance: alice
      approvers: oncall
  not fired              execs_only (deny) at policy.ward:20:1
      condition 2 was false: `cond1 of execs_only` at policy.ward:22:8
  not fired (error)      broken (allow) at policy.ward:30:1
      condition 1 failed: `cond0 of broken` at policy.ward:31:8
      error: integer overflow in `*`
errors:
  in rule `broken`: integer overflow in `*`
"
    );
    let json = serde_json::to_value(&explanation).unwrap();
    assert_eq!(
        json["rules"][1],
        json!({"rule": "execs_only", "location": "policy.ward:20:1", "effect": "deny", "fired": false,
               "condition": {"index": 1, "source": "cond1 of execs_only", "location": "policy.ward:22:8"},
               "error": null})
    );
    // Nothing fires for bot: the default applies and the trace says so.
    let (decision, explanation) = e1.explain(&request("bot"));
    assert!(explanation.default_applied);
    assert!(
        render_explanation(&decision, &explanation)
            .contains("no rule fired: the default (deny) applies")
    );
}

// ---- the engine -----------------------------------------------------------------------------

#[test]
fn rejects_programs_that_cannot_run() {
    let mut p = program(vec![]);
    p.regexes.push("(".into());
    let err = Engine::new(p).unwrap_err().to_string();
    assert!(
        err.starts_with("regular expression `(` does not compile"),
        "{err}"
    );

    let mut p = program(vec![rule(
        "tz",
        1,
        vec![eq(
            e(
                Type::Int,
                ExprKind::LocalTime {
                    part: TimePart::Hour,
                    at: b(now()),
                    timezone: "Mars/Olympus".into(),
                },
            ),
            int(1),
        )],
        EffectKind::Deny,
        None,
        None,
    )]);
    assert_eq!(
        Engine::new(p.clone()).unwrap_err().to_string(),
        "unknown time zone `Mars/Olympus`"
    );

    p.rules[0].actions.clear();
    let err = Engine::new(p).unwrap_err().to_string();
    assert_eq!(
        err,
        "the program does not verify:\nrules[0].actions: a rule applies to no action"
    );

    let mut p = program(vec![]);
    p.windows[0].timezone = "Nowhere/Land".into();
    assert!(
        Engine::new(p)
            .unwrap_err()
            .to_string()
            .contains("Nowhere/Land")
    );
}

/// An engine with one rule: members of Finance are denied.
fn finance_denied() -> Engine {
    engine(vec![rule(
        "finance",
        1,
        vec![is_finance()],
        EffectKind::Deny,
        None,
        None,
    )])
}

#[test]
fn loading_entities_validates_then_swaps() {
    let e1 = finance_denied();
    assert_eq!(e1.decide(&request("alice")).decision, EffectKind::Deny);
    // A bad document is rejected and the old snapshot stays.
    let before = e1.store();
    assert!(
        e1.load_entities_str(r#"{"entities": {"Identity": {"alice": {"name": 1}}}}"#)
            .is_err()
    );
    assert!(Arc::ptr_eq(&before, &e1.store()));
    assert!(
        e1.load_entities_json(&json!({"entities": {"Nope": {}}}))
            .is_err()
    );
    // A good one replaces it: alice is now in HR.
    let mut doc = entities();
    doc["entities"]["Identity"]["alice"]["department"] = json!("HR");
    e1.load_entities_str(&doc.to_string()).unwrap();
    assert_eq!(
        e1.decide(&request("alice")).decision,
        EffectKind::Deny,
        "default deny"
    );
    assert!(e1.decide(&request("alice")).fired().is_empty());
    e1.set_store(Store::empty(&e1.program().schema));
    assert_eq!(
        e1.decide(&request("alice")).errors.len(),
        1,
        "alice is no longer known"
    );
}

#[test]
fn decide_request_uses_a_parsed_request() {
    let e1 = finance_denied();
    let store = e1.store();
    let req = e1.parse_request(&request("alice")).unwrap();
    assert_eq!(e1.decide_request(&req), e1.decide(&request("alice")));
    assert_eq!(
        e1.decide_request_with(&store, &req).decision,
        EffectKind::Deny
    );
    let (d, x) = e1.explain_request_with(&store, &req);
    assert_eq!(d.fired().len(), 1);
    assert_eq!(x.action.as_deref(), Some("disable_account"));
}

#[test]
fn engine_is_send_and_sync_and_swaps_atomically() {
    fn assert_send_sync<T: Send + Sync>() {}
    assert_send_sync::<Engine>();

    let e1 = Arc::new(engine(vec![
        rule(
            "finance",
            1,
            vec![is_finance()],
            EffectKind::Deny,
            None,
            None,
        ),
        rule("allow", 2, vec![], EffectKind::Allow, None, None),
    ]));
    let mut hr = entities();
    hr["entities"]["Identity"]["alice"]["department"] = json!("HR");
    let finance = entities();
    std::thread::scope(|scope| {
        for _ in 0..3 {
            let e1 = Arc::clone(&e1);
            scope.spawn(move || {
                for _ in 0..200 {
                    let d = e1.decide(&request("alice"));
                    // Either snapshot gives a consistent decision: never an error, never a mix.
                    assert!(d.errors.is_empty(), "{d:?}");
                    match d.decision {
                        EffectKind::Deny => assert_eq!(d.fired().len(), 2),
                        EffectKind::Allow => assert_eq!(d.fired().len(), 1),
                        EffectKind::RequireApproval => panic!("unexpected"),
                    }
                }
            });
        }
        let e1 = Arc::clone(&e1);
        scope.spawn(move || {
            for i in 0..50 {
                let doc = if i % 2 == 0 { &hr } else { &finance };
                e1.load_entities_json(doc).unwrap();
            }
        });
    });
}

/// Issue 16.5: a reload does not stall decisions. Loading parses and indexes the new estate
/// holding no lock, and the swap holds the engine's lock only to replace an `Arc`; so a thread
/// that keeps deciding, and reading the current snapshot (which takes that lock), completes
/// decisions that begin and end while one load is in progress.
#[test]
fn decisions_go_on_while_an_estate_loads() {
    use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
    let e1 = finance_denied();
    let mut doc = entities();
    for i in 0..20_000 {
        doc["entities"]["Asset"][format!("extra-{i:05}")] =
            json!({"tier": "standard", "tags": [format!("t{}", i % 50)], "owner": "alice"});
        doc["relations"]["depends_on"]
            .as_array_mut()
            .unwrap()
            .push(json!([format!("extra-{i:05}"), "db-1"]));
    }
    let text = doc.to_string();
    // Odd while a load is in progress.
    let epoch = AtomicUsize::new(0);
    let done = AtomicBool::new(false);
    let during = std::thread::scope(|scope| {
        let decider = scope.spawn(|| {
            let mut during = 0usize;
            while !done.load(Ordering::SeqCst) {
                let before = epoch.load(Ordering::SeqCst);
                let _snapshot = e1.store();
                let d = e1.decide(&request("alice"));
                assert_eq!(d.decision, EffectKind::Deny, "{d:?}");
                if before % 2 == 1 && epoch.load(Ordering::SeqCst) == before {
                    during += 1;
                }
            }
            during
        });
        for _ in 0..3 {
            epoch.fetch_add(1, Ordering::SeqCst);
            e1.load_entities_str(&text).unwrap();
            epoch.fetch_add(1, Ordering::SeqCst);
        }
        done.store(true, Ordering::SeqCst);
        decider.join().unwrap()
    });
    assert_eq!(e1.store().entity_count(EntityTypeId(1)), 20_004);
    assert!(
        during >= 10,
        "only {during} decisions completed within a load"
    );
}

/// Messages render timestamps and ints without the formatting machinery: the same text as
/// `time::format_timestamp` and `Display`, across the supported range and beyond it.
#[test]
fn fast_rendering_matches_the_reference_formatting() {
    let schema = Schema::default();
    let store = Store::empty(&schema);
    let mut stamps = vec![
        crate::time::MIN_TIMESTAMP,
        crate::time::MAX_TIMESTAMP,
        crate::time::MIN_TIMESTAMP - 1,
        crate::time::MAX_TIMESTAMP + 1,
        0,
        -1,
        951_782_400,   // 2000-02-29
        1_795_000_000, // 2026
    ];
    let mut x: i64 = 0x2545_f491_4f6c_dd1d;
    for _ in 0..20_000 {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        stamps.push(
            x.rem_euclid(crate::time::MAX_TIMESTAMP - crate::time::MIN_TIMESTAMP)
                + crate::time::MIN_TIMESTAMP,
        );
    }
    for t in stamps {
        let mut out = String::new();
        render_value(&mut out, &Value::Int(t), &Type::Timestamp, &schema, &store);
        assert_eq!(out, crate::time::format_timestamp(t), "timestamp {t}");
        let mut out = String::new();
        render_value(&mut out, &Value::Int(t), &Type::Int, &schema, &store);
        assert_eq!(out, t.to_string());
        let d = t / 1_000;
        let mut out = String::new();
        render_value(&mut out, &Value::Int(d), &Type::Duration, &schema, &store);
        assert_eq!(out, crate::time::format_duration(d), "duration {d}");
    }
    for n in [
        i64::MIN,
        i64::MAX,
        0,
        -7,
        10,
        99,
        100,
        59,
        60,
        3_600,
        5_400,
        86_400,
        187_200,
    ] {
        let mut out = String::new();
        render_value(&mut out, &Value::Int(n), &Type::Int, &schema, &store);
        assert_eq!(out, n.to_string());
        let mut out = String::new();
        render_value(&mut out, &Value::Int(n), &Type::Duration, &schema, &store);
        assert_eq!(out, crate::time::format_duration(n), "duration {n}");
    }
}

// ---- the JIT's memoization ------------------------------------------------------------------

fn reports(of: Expr, inverse: bool) -> Expr {
    e(
        set_of(IDENTITY),
        ExprKind::Closure {
            rel: RelationId(1),
            inverse,
            of: b(of),
        },
    )
}

/// Expressions that depend only on one entity are memoized per entity by the JIT (scalars,
/// and the rendered text of message holes): deciding the same entities again, in any order,
/// gives what the interpreter gives, and an error is raised every time, never remembered.
#[test]
fn memoized_expressions_decide_as_the_interpreter_every_time() {
    let count_reports =
        |inverse| builtin(Builtin::Count, Type::Int, vec![reports(target(), inverse)]);
    let rules = vec![
        rule(
            "has_reports",
            1,
            vec![bin(BinOp::Gt, count_reports(true), int(0))],
            EffectKind::Deny,
            None,
            Some(vec![
                MessagePart::Text("managers ".into()),
                MessagePart::Expr(reports(target(), false)),
                MessagePart::Text(", reports ".into()),
                MessagePart::Expr(count_reports(true)),
            ]),
        ),
        rule(
            "finance_chain",
            10,
            vec![e(
                Type::Bool,
                ExprKind::Quantifier {
                    all: false,
                    var: LocalId(0),
                    set: b(reports(target(), false)),
                    body: b(is_in(s("finance"), attr(local(0, IDENTITY), 4))),
                },
            )],
            EffectKind::RequireApproval,
            Some(s("finance-security")),
            Some(vec![MessagePart::Expr(attr(target(), 4))]),
        ),
        rule(
            "overflows_for_managers",
            20,
            vec![bin(
                BinOp::Gt,
                bin(
                    BinOp::Mul,
                    bin(BinOp::Add, count_reports(true), int(1)),
                    int(i64::MAX),
                ),
                int(0),
            )],
            EffectKind::Deny,
            None,
            None,
        ),
    ];
    let p = program(rules);
    verify(&p).unwrap();
    let stats = crate::jit::stats(&p).unwrap();
    for rule in &stats {
        assert!(
            rule.runtime_calls.contains_key("memo"),
            "rule `{}` is not memoized: {:?}",
            rule.rule,
            rule.runtime_calls
        );
    }
    let jit = engine_of(p.clone());
    let interp = Engine::with_config(
        p,
        super::EngineConfig {
            engine: super::EngineKind::Interp,
        },
    )
    .unwrap();
    interp.load_entities_json(&entities()).unwrap();
    let mut errors = 0;
    for round in 0..3 {
        for target in ["alice", "bob", "bot", "bob", "alice"] {
            let want = interp.decide(&request(target));
            let got = jit.decide(&request(target));
            assert_eq!(got, want, "round {round}, target {target}");
            errors += got.errors.len();
        }
    }
    // Bob has a report: the overflow is an error of every decision about him.
    assert_eq!(errors, 6);
    // A new snapshot starts with empty memos.
    jit.load_entities_json(&entities()).unwrap();
    assert_eq!(jit.decide(&request("bob")), interp.decide(&request("bob")));
}

/// Both engines for the same rules, with the test estate.
fn both_engines(rules: Vec<Rule>) -> [Engine; 2] {
    [super::EngineKind::Interp, super::EngineKind::Jit].map(|kind| {
        let engine =
            Engine::with_config(program(rules.clone()), super::EngineConfig { engine: kind })
                .unwrap();
        engine.load_entities_json(&entities()).unwrap();
        engine
    })
}

/// Issue 9.2: every fired `require_approval` rule lists its own approvers, also when a `deny`
/// decides; the other effects keep their four keys; the top level stays the union.
#[test]
fn fired_approval_rules_list_their_own_approvers() {
    let rules = vec![
        rule(
            "managers",
            1,
            vec![],
            EffectKind::RequireApproval,
            Some(set(Type::String, vec![s("carol"), s("alice"), s("carol")])),
            None,
        ),
        rule(
            "owner",
            2,
            vec![],
            EffectKind::RequireApproval,
            Some(entity(IDENTITY, "bob")),
            None,
        ),
        rule("nobody", 3, vec![], EffectKind::RequireApproval, None, None),
        rule(
            "finance_denied",
            4,
            vec![is_finance()],
            EffectKind::Deny,
            None,
            None,
        ),
        rule("routine", 5, vec![], EffectKind::Allow, None, None),
    ];
    for engine in both_engines(rules) {
        let kind = engine.kind();
        // Bob is in Finance: the deny decides, the approval rules still name their approvers.
        let d = serde_json::to_value(engine.decide(&request("bob"))).unwrap();
        assert_eq!(
            d,
            json!({
                "decision": "deny",
                "fired": [
                    {"rule": "managers", "effect": "require_approval", "message": null,
                     "location": "policy.ward:1:1", "approvers": ["alice", "carol"]},
                    {"rule": "owner", "effect": "require_approval", "message": null,
                     "location": "policy.ward:2:1", "approvers": ["bob"]},
                    {"rule": "nobody", "effect": "require_approval", "message": null,
                     "location": "policy.ward:3:1", "approvers": []},
                    {"rule": "finance_denied", "effect": "deny", "message": null,
                     "location": "policy.ward:4:1"},
                    {"rule": "routine", "effect": "allow", "message": null,
                     "location": "policy.ward:5:1"}
                ],
                "approvers": [],
                "errors": []
            }),
            "{kind:?}"
        );
        let (decision, explanation) = engine.explain(&request("bob"));
        assert_eq!(
            render_explanation(&decision, &explanation),
            "decision: deny
action `disable_account` at 2026-11-28T10:00:00Z
5 rules of `disable_account`: 5 fired
  fired                  managers (require_approval) at policy.ward:1:1
      approvers: alice, carol
  fired                  owner (require_approval) at policy.ward:2:1
      approvers: bob
  fired                  nobody (require_approval) at policy.ward:3:1
      approvers: (none)
  fired, decides         finance_denied (deny) at policy.ward:4:1
  fired                  routine (allow) at policy.ward:5:1
",
            "{kind:?}"
        );
        // The bot is not: approval decides with the union.
        let d = engine.decide(&request("bot"));
        assert_eq!(d.approvers(), ["alice", "bob", "carol"], "{kind:?}");
        let (decision, explanation) = engine.explain(&request("bot"));
        let text = render_explanation(&decision, &explanation);
        assert!(
            text.contains("  fired, decides         managers (require_approval)"),
            "{text}"
        );
        assert!(
            text.contains("5 rules of `disable_account`: 4 fired"),
            "{text}"
        );
    }
}

/// Issue 8.8: a request's own `id` is echoed as `request_id`, also when the request is
/// rejected (if the id itself is readable), and never when there is none.
#[test]
fn a_request_id_is_echoed() {
    let rules = vec![rule("routine", 1, vec![], EffectKind::Allow, None, None)];
    for engine in both_engines(rules) {
        let kind = engine.kind();
        let mut doc = request("alice");
        doc["id"] = json!("req-17");
        let d = serde_json::to_string(&engine.decide(&doc)).unwrap();
        assert!(
            d.starts_with(r#"{"request_id":"req-17","decision":"allow","#),
            "{kind:?}: {d}"
        );
        let d = serde_json::to_string(&engine.decide(&request("alice"))).unwrap();
        assert!(!d.contains("request_id"), "{d}");
        let (decision, explanation) = engine.explain(&doc);
        assert_eq!(decision.request_id.as_deref(), Some("req-17"));
        assert!(render_explanation(&decision, &explanation).contains("\nrequest: req-17\n"));

        // Rejected, with a readable id.
        let mut bad = doc.clone();
        bad["args"]["target"] = json!("nobody");
        let d = engine.decide(&bad);
        assert_eq!(d.decision, EffectKind::Deny);
        assert_eq!(d.request_id.as_deref(), Some("req-17"), "{kind:?}");
        assert_eq!(engine.explain(&bad).0.request_id.as_deref(), Some("req-17"));
        let text = r#"{"id": "req-18", "action": "disable_account", "action": "x"}"#;
        assert_eq!(
            engine.decide_str(text).request_id.as_deref(),
            Some("req-18")
        );
        assert_eq!(
            engine.decide_bytes(text.as_bytes()).request_id.as_deref(),
            Some("req-18")
        );
        // An id that is itself ambiguous, invalid or unparsable is not echoed.
        for text in [
            r#"{"id": "a", "id": "b", "action": "disable_account"}"#.to_string(),
            r#"{"id": "a", "#.to_string(),
            format!(r#"{{"id": "{}"}}"#, "x".repeat(257)),
            r#"{"id": "line\nbreak"}"#.to_string(),
            r#"{"id": 7}"#.to_string(),
            r#"{"id": ""}"#.to_string(),
        ] {
            let d = engine.decide_str(&text);
            assert_eq!(d.decision, EffectKind::Deny, "{text}");
            assert_eq!(d.request_id, None, "{text}");
        }
        // The problems of an invalid id are named.
        for (id, problem) in [
            (
                json!("x".repeat(257)),
                "id: the request `id` is 257 bytes long (at most 256)",
            ),
            (
                json!("tab\there"),
                "id: the request `id` contains the control character U+0009",
            ),
            (
                json!(""),
                "id: the request `id` is empty (leave it out, or give a non-empty string)",
            ),
            (
                json!(["a"]),
                "id: expected the request's own id (a string of at most 256 bytes), found an array",
            ),
        ] {
            let mut bad = request("alice");
            bad["id"] = id;
            let d = engine.decide(&bad);
            assert_eq!(d.errors.len(), 1);
            assert_eq!(d.errors[0].message, problem, "{kind:?}");
        }
        // 256 bytes is accepted.
        let mut long = request("alice");
        long["id"] = json!("é".repeat(128));
        assert_eq!(engine.decide(&long).decision, EffectKind::Allow);
    }
}

/// Issue 7.9: an error met by both a rule's condition and its message is listed once.
#[test]
fn an_error_in_condition_and_message_is_listed_once() {
    let ghost = || attr(entity(IDENTITY, "ghost"), 0);
    let rules = vec![
        rule(
            "ghostly",
            1,
            vec![eq(ghost(), s("x"))],
            EffectKind::Deny,
            None,
            Some(vec![text("about "), hole(ghost())]),
        ),
        // A different error in the message is still listed.
        rule(
            "two_errors",
            2,
            vec![eq(ghost(), s("x"))],
            EffectKind::Deny,
            None,
            Some(vec![hole(bin(BinOp::Add, int(i64::MAX), int(1)))]),
        ),
    ];
    for engine in both_engines(rules) {
        let d = serde_json::to_value(engine.decide(&request("alice"))).unwrap();
        assert_eq!(
            d["errors"],
            json!([
                {"rule": "ghostly", "message": "entity `Identity::\"ghost\"` is not in the entities"},
                {"rule": "two_errors", "message": "entity `Identity::\"ghost\"` is not in the entities"},
                {"rule": "two_errors", "message": "integer overflow in `+`"}
            ]),
            "{:?}",
            engine.kind()
        );
        assert_eq!(
            d["fired"][0]["message"],
            "could not render message: entity `Identity::\"ghost\"` is not in the entities"
        );
    }
}

/// A snapshot replaced by a reload is freed once no thread uses it — by the thread that only
/// frees snapshots, not by the decision that noticed the reload (nor leaked).
#[test]
fn a_replaced_snapshot_is_freed_off_the_deciding_thread() {
    let e1 = finance_denied();
    e1.load_entities_json(&entities()).unwrap();
    // This thread's view now holds the first snapshot.
    assert_eq!(e1.decide(&request("alice")).decision, EffectKind::Deny);
    let first = Arc::downgrade(&e1.store());
    e1.load_entities_json(&entities()).unwrap();
    assert!(
        first.upgrade().is_some(),
        "the thread's view still holds it"
    );
    // The next decision moves the view to the new snapshot and retires the old one.
    assert_eq!(e1.decide(&request("alice")).decision, EffectKind::Deny);
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
    while first.upgrade().is_some() {
        assert!(
            std::time::Instant::now() < deadline,
            "the replaced snapshot was never freed"
        );
        std::thread::sleep(std::time::Duration::from_millis(5));
    }
}

/// The closures a program takes are computed when an estate is loaded, in the direction the
/// program takes them; a closure the program only counts is not (its size needs no closure).
#[test]
fn a_load_computes_the_closures_the_program_takes() {
    let count = builtin(
        Builtin::Count,
        Type::Int,
        vec![closure(entity(ASSET, "db-1"), true)],
    );
    let rules = vec![
        rule(
            "reaches_db",
            1,
            vec![is_in(
                entity(ASSET, "db-1"),
                closure(entity(ASSET, "lb-1"), false),
            )],
            EffectKind::Deny,
            None,
            None,
        ),
        rule(
            "has_dependents",
            10,
            vec![bin(BinOp::Gt, count, int(0))],
            EffectKind::Deny,
            None,
            None,
        ),
    ];
    for kind in [super::EngineKind::Interp, super::EngineKind::Jit] {
        let engine =
            Engine::with_config(program(rules.clone()), super::EngineConfig { engine: kind })
                .unwrap();
        engine.load_entities_json(&entities()).unwrap();
        let forward = (RelationId(0), false);
        assert_eq!(engine.prepared.compiled.closed_over, vec![forward]);
        let (snapshot, _) = engine.current();
        // Nothing left to compute in the direction taken; the counted one was left alone.
        assert_eq!(snapshot.store.fill_closures(&[forward]), 0);
        assert!(snapshot.store.fill_closures(&[(RelationId(0), true)]) > 0);
        assert_eq!(decide(&engine, "alice")["decision"], "deny");
    }
}
