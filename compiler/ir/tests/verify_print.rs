//! Tests of the IR verifier and printer on hand-built programs.

use ward_ir::*;

fn e(ty: Type, kind: ExprKind) -> Expr {
    Expr { ty, kind }
}
fn b(x: Expr) -> Box<Expr> {
    Box::new(x)
}
fn string(s: &str) -> Expr {
    e(Type::String, ExprKind::Str(s.into()))
}
fn field(name: &str, ty: Type) -> Field {
    Field {
        name: name.into(),
        ty,
    }
}
fn loc(line: u32) -> Location {
    Location {
        file: "a.ward".into(),
        line,
        column: 1,
    }
}
const IDENTITY: Type = Type::Entity(EntityTypeId(0));
const ASSET: Type = Type::Entity(EntityTypeId(1));
fn set(t: Type) -> Type {
    Type::Set(Box::new(t))
}
fn opt(t: Type) -> Type {
    Type::Optional(Box::new(t))
}

/// The schema of the language contract, a window, a function and two rules.
fn sample() -> Program {
    let schema = Schema {
        enums: vec![EnumType {
            name: "Tier".into(),
            variants: vec!["crown_jewel".into(), "critical".into()],
        }],
        entities: vec![
            EntityType {
                name: "Identity".into(),
                attrs: vec![
                    field("name", Type::String),
                    field("title", Type::String),
                    field("manager", opt(IDENTITY)),
                    field("groups", set(Type::String)),
                ],
            },
            EntityType {
                name: "Asset".into(),
                attrs: vec![
                    field("tier", Type::Enum(EnumId(0))),
                    field("tags", set(Type::String)),
                    field("owner", IDENTITY),
                ],
            },
        ],
        relations: vec![Relation {
            name: "depends_on".into(),
            from: EntityTypeId(1),
            to: EntityTypeId(1),
        }],
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
                fields: vec![field("target", IDENTITY)],
            },
        ],
    };
    let is_exec = Function {
        name: "is_exec".into(),
        params: vec![IDENTITY],
        ret: Type::Bool,
        n_locals: 1,
        body: e(
            Type::Bool,
            ExprKind::Matches {
                operand: b(e(
                    Type::String,
                    ExprKind::Attr {
                        of: b(e(IDENTITY, ExprKind::Local(LocalId(0)))),
                        attr: 1,
                    },
                )),
                regex: RegexId(0),
            },
        ),
    };
    let target = e(IDENTITY, ExprKind::Arg(0));
    let exec_rule = Rule {
        name: "finance_exec".into(),
        location: loc(10),
        actions: vec![ActionId(0), ActionId(2)],
        args: vec![field("target", IDENTITY)],
        conditions: vec![Condition {
            source: "is_exec(target)".into(),
            location: Location {
                file: "a.ward".into(),
                line: 12,
                column: 8,
            },
            expr: e(
                Type::Bool,
                ExprKind::Call {
                    func: FnId(0),
                    args: vec![target.clone()],
                },
            ),
        }],
        effect: Effect {
            kind: EffectKind::RequireApproval,
            approvers: Some(e(
                set(Type::String),
                ExprKind::Set(vec![string("security-oncall")]),
            )),
        },
        message: Some(Message {
            parts: vec![
                MessagePart::Expr(e(
                    Type::String,
                    ExprKind::Attr {
                        of: b(target.clone()),
                        attr: 0,
                    },
                )),
                MessagePart::Text(" is an \"executive\"".into()),
            ],
        }),
        n_locals: 0,
    };
    let host = e(ASSET, ExprKind::Arg(0));
    let blast = Rule {
        name: "blast_radius".into(),
        location: loc(20),
        actions: vec![ActionId(1)],
        args: vec![field("host", ASSET), field("duration", Type::Duration)],
        conditions: vec![
            Condition {
                source: "any a in closure(host, ~depends_on): \"revenue\" in a.tags".into(),
                location: loc(22),
                expr: e(
                    Type::Bool,
                    ExprKind::Quantifier {
                        all: false,
                        var: LocalId(0),
                        set: b(e(
                            set(ASSET),
                            ExprKind::Closure {
                                rel: RelationId(0),
                                inverse: true,
                                of: b(host.clone()),
                            },
                        )),
                        body: b(e(
                            Type::Bool,
                            ExprKind::In {
                                elem: b(string("revenue")),
                                set: b(e(
                                    set(Type::String),
                                    ExprKind::Attr {
                                        of: b(e(ASSET, ExprKind::Local(LocalId(0)))),
                                        attr: 1,
                                    },
                                )),
                            },
                        )),
                    },
                ),
            },
            Condition {
                source: "not fits(prod, now, duration + 30m)".into(),
                location: loc(23),
                expr: e(
                    Type::Bool,
                    ExprKind::Not(b(e(
                        Type::Bool,
                        ExprKind::Fits {
                            window: WindowId(0),
                            at: b(e(Type::Timestamp, ExprKind::Now)),
                            duration: b(e(
                                Type::Duration,
                                ExprKind::Binary {
                                    op: BinOp::Add,
                                    lhs: b(e(Type::Duration, ExprKind::Arg(1))),
                                    rhs: b(e(Type::Duration, ExprKind::Int(1800))),
                                },
                            )),
                        },
                    ))),
                ),
            },
        ],
        effect: Effect {
            kind: EffectKind::RequireApproval,
            approvers: Some(e(
                IDENTITY,
                ExprKind::Attr {
                    of: b(host),
                    attr: 2,
                },
            )),
        },
        message: None,
        n_locals: 1,
    };
    Program {
        schema,
        windows: vec![Window {
            name: "prod".into(),
            timezone: "America/New_York".into(),
            lines: vec![
                WindowLine::Weekly {
                    start_day: 6,
                    start: 120,
                    end_day: 6,
                    end: 360,
                },
                WindowLine::Daily {
                    start: 540,
                    end: 1050,
                    days: 0b1_1111,
                },
                WindowLine::Between {
                    from: 1_798_156_800,
                    to: 1_799_366_400,
                },
            ],
            except: vec![],
        }],
        functions: vec![is_exec],
        rules: vec![exec_rule, blast],
        default: Effect {
            kind: EffectKind::Deny,
            approvers: None,
        },
        regexes: vec!["^(VP|Chief)".into()],
        tests: vec![Test {
            name: "exec needs approval".into(),
            location: loc(40),
            entities: TestEntities::None,
            cases: vec![TestCase {
                location: loc(41),
                request: serde_json::json!({"action": "disable_account", "at": "2026-11-28T10:00:00Z"}),
                expect: EffectKind::RequireApproval,
                approvers: Some(vec!["security-oncall".into()]),
                by: Some(vec!["finance_exec".into()]),
            }],
        }],
    }
}

/// Apply `mutate` to the sample and expect exactly these `path: message` errors.
fn check_errors(mutate: impl FnOnce(&mut Program), expected: &[&str]) {
    let mut p = sample();
    mutate(&mut p);
    let errors = match verify(&p) {
        Ok(()) => Vec::new(),
        Err(errors) => errors.iter().map(ToString::to_string).collect::<Vec<_>>(),
    };
    assert_eq!(errors, expected);
}

#[test]
fn sample_verifies() {
    assert_eq!(verify(&sample()), Ok(()));
}

#[test]
fn sample_survives_json_round_trip() {
    let p = sample();
    let json = serde_json::to_string(&p).unwrap();
    let back: Program = serde_json::from_str(&json).unwrap();
    assert_eq!(back, p);
    assert_eq!(verify(&back), Ok(()));
}

fn cond(p: &mut Program, rule: usize, i: usize) -> &mut Expr {
    &mut p.rules[rule].conditions[i].expr
}

#[test]
fn reports_broken_invariants_with_paths() {
    check_errors(
        |p| cond(p, 1, 1).ty = Type::Int,
        &[
            "rules[1].conditions[1]: annotated `Int` but the expression has type `Bool`",
            "rules[1].conditions[1]: type `Int`, expected `Bool`",
        ],
    );
    check_errors(
        |p| p.rules[0].actions = vec![ActionId(2), ActionId(0)],
        &["rules[0].actions: actions are not sorted and unique"],
    );
    check_errors(
        |p| p.rules[0].actions.clear(),
        &["rules[0].actions: a rule applies to no action"],
    );
    check_errors(
        |p| p.rules[0].args.push(field("reason", Type::String)),
        &["rules[0].args[1]: action `revoke_sessions` has no field `reason`"],
    );
    check_errors(
        |p| p.rules[1].args[1].ty = Type::Int,
        &[
            "rules[1].args[1]: field `duration` of action `patch_host` has type `Duration`, not `Int`",
            "rules[1].conditions[1].operand.duration.lhs: annotated `Duration` but the expression has type `Int`",
        ],
    );
    check_errors(
        |p| p.regexes.clear(),
        &["functions[0].body: regex 0 out of range"],
    );
    check_errors(
        |p| p.rules[1].n_locals = 0,
        &["rules[1].conditions[0]: local 0 out of range (`n_locals` is 0)"],
    );
    check_errors(
        |p| p.rules[0].effect.approvers = Some(e(Type::Int, ExprKind::Int(3))),
        &[
            "rules[0].effect.approvers: approvers of type `Int`; expected a string, an entity or a set of them",
        ],
    );
    check_errors(
        |p| p.rules[0].effect.kind = EffectKind::Deny,
        &["rules[0].effect.approvers: approvers on a `deny` effect"],
    );
    check_errors(
        |p| p.schema.entities[0].attrs[2].ty = opt(opt(IDENTITY)),
        &["schema.entities[0].attrs[2]: a nested optional"],
    );
    check_errors(
        |p| p.schema.context[1].ty = set(opt(Type::String)),
        &["schema.context[1]: a set of optionals"],
    );
    check_errors(
        |p| {
            let recursive = e(
                Type::Bool,
                ExprKind::Call {
                    func: FnId(0),
                    args: vec![e(IDENTITY, ExprKind::Local(LocalId(0)))],
                },
            );
            p.functions[0].body = recursive;
        },
        &["functions[0]: function `is_exec` calls itself through a cycle"],
    );
    check_errors(
        |p| p.windows[0].except.push(WindowId(0)),
        &["windows[0]: window `prod` excepts itself through a cycle"],
    );
    check_errors(
        |p| {
            p.windows[0].lines.push(WindowLine::Weekly {
                start_day: 2,
                start: 23 * 60,
                end_day: 2,
                end: 16 * 60,
            })
        },
        &["windows[0].lines[3]: weekly line with the same day must end after it starts"],
    );
    check_errors(
        |p| p.tests[0].cases[0].by = Some(vec!["nope".into()]),
        &["tests[0].cases[0]: `by` names unknown rule `nope`"],
    );
    check_errors(
        |p| p.functions[0].body = e(Type::Bool, ExprKind::Arg(0)),
        &["functions[0].body: action field outside a rule"],
    );
}

#[test]
fn checks_operator_and_builtin_types() {
    let cases: Vec<(Expr, &str)> = vec![
        (
            e(
                Type::Bool,
                ExprKind::Binary {
                    op: BinOp::Lt,
                    lhs: b(string("a")),
                    rhs: b(string("b")),
                },
            ),
            "rules[0].conditions[0]: operator Lt on `String` and `String`",
        ),
        (
            e(
                Type::Bool,
                ExprKind::Binary {
                    op: BinOp::Eq,
                    lhs: b(e(opt(Type::String), ExprKind::Context(1))),
                    rhs: b(e(Type::Int, ExprKind::Int(1))),
                },
            ),
            "rules[0].conditions[0]: operator Eq on `String?` and `Int`",
        ),
        (
            e(
                Type::Bool,
                ExprKind::Builtin {
                    builtin: Builtin::Len,
                    args: vec![string("x")],
                },
            ),
            "rules[0].conditions[0]: annotated `Bool` but the expression has type `Int`",
        ),
        (
            e(
                Type::Bool,
                ExprKind::Builtin {
                    builtin: Builtin::Closure,
                    args: vec![],
                },
            ),
            "rules[0].conditions[0]: `closure` is not a value builtin",
        ),
        (
            e(
                Type::Bool,
                ExprKind::Builtin {
                    builtin: Builtin::StartsWith,
                    args: vec![string("x"), e(Type::Int, ExprKind::Int(1))],
                },
            ),
            "rules[0].conditions[0]: `starts_with` applied to `String`, `Int`",
        ),
        (
            e(Type::Bool, ExprKind::Not(b(e(Type::Int, ExprKind::Int(1))))),
            "rules[0].conditions[0].operand: type `Int`, expected `Bool`",
        ),
        (
            e(
                Type::Bool,
                ExprKind::Coalesce {
                    value: b(string("x")),
                    fallback: b(e(Type::Bool, ExprKind::Bool(true))),
                },
            ),
            "rules[0].conditions[0].value: `??` on a non-optional `String`",
        ),
    ];
    for (expr, expected) in cases {
        check_errors(|p| *cond(p, 0, 0) = expr, &[expected]);
    }
}

#[test]
fn accepts_optional_comparisons_and_timestamp_arithmetic() {
    let ok: Vec<Expr> = vec![
        e(
            Type::Bool,
            ExprKind::Binary {
                op: BinOp::Eq,
                lhs: b(e(opt(Type::String), ExprKind::Context(1))),
                rhs: b(string("T-1")),
            },
        ),
        e(
            Type::Bool,
            ExprKind::Binary {
                op: BinOp::Lt,
                lhs: b(e(
                    Type::Duration,
                    ExprKind::Binary {
                        op: BinOp::Sub,
                        lhs: b(e(Type::Timestamp, ExprKind::Now)),
                        rhs: b(e(Type::Timestamp, ExprKind::Int(0))),
                    },
                )),
                rhs: b(e(Type::Duration, ExprKind::Int(60))),
            },
        ),
        e(
            Type::Bool,
            ExprKind::Binary {
                op: BinOp::Eq,
                lhs: b(e(
                    Type::String,
                    ExprKind::Coalesce {
                        value: b(e(
                            opt(Type::String),
                            ExprKind::OptAttr {
                                of: b(e(
                                    opt(IDENTITY),
                                    ExprKind::Attr {
                                        of: b(e(IDENTITY, ExprKind::Arg(0))),
                                        attr: 2,
                                    },
                                )),
                                attr: 1,
                            },
                        )),
                        fallback: b(string("none")),
                    },
                )),
                rhs: b(string("CFO")),
            },
        ),
    ];
    for expr in ok {
        check_errors(|p| *cond(p, 0, 0) = expr, &[]);
    }
}

#[test]
fn prints_a_readable_stable_form() {
    let text = print(&sample());
    let expected = r#"schema
  enum Tier { crown_jewel, critical }
  entity Identity { name: String, title: String, manager: Identity?, groups: Set<String> }
  entity Asset { tier: Tier, tags: Set<String>, owner: Identity }
  relation depends_on: Asset -> Asset
  context { agent: Identity, ticket: String? }
  action disable_account { target: Identity, reason: String }
  action patch_host { host: Asset, reboot: Bool, duration: Duration }
  action revoke_sessions { target: Identity }

window prod in "America/New_York"
  weekly Sat 02:00 - Sat 06:00
  daily 09:00 - 17:30 on Mon, Tue, Wed, Thu, Fri
  between 2026-12-25T00:00:00Z and 2027-01-08T00:00:00Z

regexes
  re0 = "^(VP|Chief)"

fn is_exec(%0: Identity) -> Bool [locals 1] =
  (%0.title matches "^(VP|Chief)")

default deny

rule finance_exec @ a.ward:10:1 on [disable_account, revoke_sessions]
  args target: Identity
  when is_exec(target)
  => require approval from ["security-oncall"]
  because "{target.name} is an \"executive\""

rule blast_radius @ a.ward:20:1 on [patch_host]
  args host: Asset, duration: Duration
  locals 1
  when (any %0: Asset in closure(host, ~depends_on): ("revenue" in %0.tags))
  when (not fits(prod, now, (duration + 30m)))
  => require approval from host.owner

test "exec needs approval" @ a.ward:40:1, no entities
  @ a.ward:41:1: disable_account at 2026-11-28T10:00:00Z => expect require_approval from [security-oncall] by [finance_exec]
"#;
    assert_eq!(text, expected);
    assert_eq!(print(&sample()), text, "printing is deterministic");
}

#[test]
fn prints_literals_in_source_syntax() {
    let mut p = sample();
    p.rules[0].conditions[0].expr = e(
        Type::Bool,
        ExprKind::If {
            cond: b(e(
                Type::Bool,
                ExprKind::Has {
                    of: b(e(IDENTITY, ExprKind::Arg(0))),
                    attr: 2,
                },
            )),
            then: b(e(
                Type::Bool,
                ExprKind::Binary {
                    op: BinOp::Eq,
                    lhs: b(e(Type::Timestamp, ExprKind::Int(-62_135_596_800))),
                    rhs: b(e(Type::Timestamp, ExprKind::Int(253_402_300_799))),
                },
            )),
            otherwise: b(e(
                Type::Bool,
                ExprKind::In {
                    elem: b(e(Type::Enum(EnumId(0)), ExprKind::Enum(1))),
                    set: b(e(set(Type::Enum(EnumId(0))), ExprKind::Set(vec![]))),
                },
            )),
        },
    );
    assert_eq!(verify(&p), Ok(()));
    let text = print(&p);
    assert!(
        text.contains(
            "when (if (target has manager) then (0001-01-01T00:00:00Z == 9999-12-31T23:59:59Z) \
             else (Tier::critical in ([]: Set<Tier>)))"
        ),
        "{text}"
    );
}

/// `not not … c` with `depth` levels in all (a bool context field at the bottom).
fn nots(depth: usize) -> Expr {
    let mut x = e(Type::Bool, ExprKind::Bool(true));
    for _ in 1..depth {
        x = e(Type::Bool, ExprKind::Not(b(x)));
    }
    x
}

#[test]
fn rejects_expressions_deeper_than_the_budget() {
    let mut p = sample();
    p.rules[1].conditions[1].expr = nots(MAX_DEPTH);
    assert_eq!(verify(&p), Ok(()));
    print(&p);
    check_errors(
        |p| p.rules[1].conditions[1].expr = nots(MAX_DEPTH + 1),
        &[
            "rules[1].conditions[1]: the expression nests 1001 levels deep, counting the calls and windows it uses; the limit is 1000",
        ],
    );
    // Approvers and message parts are bounded too.
    check_errors(
        |p| {
            p.rules[0].effect.approvers = Some(e(
                set(Type::String),
                ExprKind::Set(vec![e(
                    Type::String,
                    ExprKind::Builtin {
                        builtin: Builtin::Lower,
                        args: vec![{
                            let mut s = string("a");
                            for _ in 0..MAX_DEPTH {
                                s = e(
                                    Type::String,
                                    ExprKind::Builtin {
                                        builtin: Builtin::Lower,
                                        args: vec![s],
                                    },
                                );
                            }
                            s
                        }],
                    },
                )]),
            ));
        },
        &[
            "rules[0].effect.approvers: the expression nests 1003 levels deep, counting the calls and windows it uses; the limit is 1000",
        ],
    );
}

/// A chain of functions, each calling the previous one and adding a level: the depth counts
/// through the calls (2 a function), so 500 functions are within the budget and 501 are not.
#[test]
fn counts_depth_through_calls_and_except_chains() {
    let chain = |p: &mut Program, n: usize| {
        p.functions.truncate(1);
        for i in 0..n {
            let inner = if i == 0 {
                e(Type::Bool, ExprKind::Local(LocalId(0)))
            } else {
                e(
                    Type::Bool,
                    ExprKind::Call {
                        func: FnId(i as u32),
                        args: vec![e(Type::Bool, ExprKind::Local(LocalId(0)))],
                    },
                )
            };
            p.functions.push(Function {
                name: format!("f{i}"),
                params: vec![Type::Bool],
                ret: Type::Bool,
                n_locals: 1,
                body: e(Type::Bool, ExprKind::Not(b(inner))),
            });
        }
        p.rules[1].conditions[1].expr = e(
            Type::Bool,
            ExprKind::Call {
                func: FnId(n as u32),
                args: vec![e(Type::Bool, ExprKind::Bool(true))],
            },
        );
    };
    let mut p = sample();
    chain(&mut p, 499);
    assert_eq!(verify(&p), Ok(()));
    assert_eq!(Depths::of(&p).functions[499], 998);
    let mut p = sample();
    chain(&mut p, 501);
    let errors = verify(&p).unwrap_err();
    assert_eq!(errors.len(), 2, "{errors:?}");
    assert_eq!(errors[0].path, "functions[501].body");
    assert_eq!(errors[1].path, "rules[1].conditions[1]");
    // Windows: a chain of `except`s deeper than the budget.
    let mut p = sample();
    for i in 1..MAX_DEPTH as u32 {
        let mut w = p.windows[0].clone();
        w.name = format!("w{i}");
        w.except = vec![WindowId(i - 1)];
        p.windows.push(w);
    }
    assert_eq!(
        verify(&p),
        Ok(()),
        "a chain of 1000 windows is within the budget"
    );
    let mut w = p.windows[0].clone();
    w.name = "one_more".into();
    w.except = vec![WindowId(MAX_DEPTH as u32 - 1)];
    p.windows.push(w);
    let errors = verify(&p).unwrap_err();
    assert_eq!(errors.len(), 1, "{errors:?}");
    assert_eq!(
        errors[0].to_string(),
        "windows[1000]: the window's `except` chain is 1001 windows deep; the limit is 1000"
    );
}

/// The verifier and the printer are safe on trees far deeper than any stack: the verifier
/// measures depth without recursion and stops, the printer is iterative.
#[test]
fn deep_programs_do_not_overflow_the_stack() {
    let mut p = sample();
    p.rules[1].conditions[1].expr = nots(200_000);
    let errors = verify(&p).unwrap_err();
    assert_eq!(errors.len(), 1);
    let text = print(&p);
    assert!(text.contains(&"(not ".repeat(1000)));
    // Take the tree apart without the derived (recursive) drop.
    let mut stack = vec![std::mem::replace(
        &mut p.rules[1].conditions[1].expr,
        e(Type::Bool, ExprKind::Bool(true)),
    )];
    while let Some(mut x) = stack.pop() {
        for c in x.children_mut() {
            stack.push(std::mem::replace(c, e(Type::Bool, ExprKind::Bool(true))));
        }
    }
}
