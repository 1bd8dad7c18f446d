//! Unit tests of the checker: small sources through [`crate::compile`], asserting the codes
//! and messages of diagnostics, and the structure of the lowered program.

use ward_ir as ir;

use crate::compile;

/// A small schema most cases build on.
const SCHEMA: &str = r#"
enum Tier { crown_jewel, critical, standard }
entity Identity {
  name: String
  title: String
  department: String
  privileged: Bool
  manager: Identity?
  groups: Set<String>
  level: Int
}
entity Asset { tier: Tier, tags: Set<String>, owner: Identity }
relation depends_on: Asset -> Asset
relation reports_to: Identity -> Identity
context { agent: Identity, ticket: String? }
action disable_account { target: Identity, reason: String }
action revoke_sessions { target: Identity }
action patch_host { host: Asset, reboot: Bool, duration: Duration }
window business_hours { timezone "Europe/London" daily 09:00 - 17:30 on Mon-Fri }
"#;

fn compile_one(src: &str) -> crate::Compiled {
    compile(&[("p.ward".to_string(), src.to_string())])
}

/// Every diagnostic as `CODE message`.
fn rendered(src: &str) -> Vec<String> {
    compile_one(src)
        .diagnostics
        .iter()
        .map(|d| format!("{} {}", d.diagnostic.code, d.diagnostic.message))
        .collect()
}

/// Check `SCHEMA + src`: exactly the expected diagnostics, in order, each given as a
/// substring of `CODE message`.
#[track_caller]
fn check(src: &str, expect: &[&str]) {
    let full = format!("{SCHEMA}\n{src}");
    let got = rendered(&full);
    let ok = got.len() == expect.len() && got.iter().zip(expect).all(|(g, e)| g.contains(e));
    assert!(ok, "source:\n{src}\nexpected: {expect:#?}\ngot: {got:#?}");
}

/// Check `SCHEMA + src` compiles without any diagnostic; return the verified program.
#[track_caller]
fn ok(src: &str) -> ir::Program {
    let full = format!("{SCHEMA}\n{src}");
    let out = compile_one(&full);
    assert!(
        out.diagnostics.is_empty(),
        "source:\n{src}\ngot: {:#?}",
        out.diagnostics
    );
    let program = out.program.expect("a program without diagnostics");
    if let Err(errors) = ir::verify(&program) {
        panic!(
            "verifier rejected the program of:\n{src}\n{errors:#?}\n{}",
            ir::print(&program)
        );
    }
    program
}

/// The help text of the only diagnostic of `SCHEMA + src`.
#[track_caller]
fn help(src: &str) -> String {
    let out = compile_one(&format!("{SCHEMA}\n{src}"));
    assert_eq!(out.diagnostics.len(), 1, "{:#?}", out.diagnostics);
    out.diagnostics[0]
        .diagnostic
        .help
        .clone()
        .unwrap_or_default()
}

fn rule(when: &str) -> String {
    format!("rule r {{ on disable_account when {when} deny }}")
}

#[test]
fn well_typed_expressions() {
    for when in [
        "target.name == \"x\"",
        "target.manager?.title == \"CFO\"",
        "target.manager?.title ?? \"none\" == \"CFO\"",
        "(target.manager?.title ?? ticket) == \"CFO\"",
        "(target.manager?.title ?? ticket ?? \"none\") == \"CFO\"",
        "target has manager and target.level > 3",
        "\"admins\" in target.groups",
        "ticket in [\"a\", \"b\"]",
        "ticket == \"T-1\"",
        "target.groups == []",
        "[] == target.groups",
        "now in business_hours",
        "now + 2h > now and now - now == 0s and 2 * 1h == 1h * 2 and -1h < 0s and -(3) < 0",
        "remaining(business_hours, now) >= 30m and fits(business_hours, now, 1h)",
        "next_open(business_hours, now) >= now",
        "hour(now, \"Europe/Berlin\") < 9 or weekday(now, \"UTC\") == 6",
        "count(target.groups) > 1 and target.groups.count() > 1",
        "target.groups.contains(\"a\") and contains(target.name, \"b\") and target.name.contains(\"c\")",
        "target.groups.intersects([\"a\"]) and target.groups.is_subset([]) and intersects(target.groups, [])",
        "starts_with(target.name, \"svc-\") and target.name.ends_with(\"x\") and lower(target.name) == \"a\" and len(reason) > 2",
        "target.title matches \"^(VP|Chief)\"",
        "any g in target.groups: g == \"x\"",
        "all g in target.groups: any h in target.groups: g == h",
        "count({ g in target.groups | g != \"x\" }) == 0",
        "path(target, agent, reports_to) and path(agent, target, ~reports_to)",
        "agent in closure(target, reports_to) and target in target.reports_to",
        "(if target has manager then target.manager else agent) == agent",
        "(if reason == \"\" then ticket else \"none\") == \"none\"",
        "Tier::critical != Tier::standard and Identity::\"alice\" == target",
    ] {
        ok(&rule(when));
    }
}

#[test]
fn unknown_names() {
    check(
        &rule("traget.name == \"x\""),
        &["E0100 unknown name `traget`"],
    );
    assert_eq!(
        help(&rule("traget.name == \"x\"")),
        "did you mean `target`?"
    );
    check(
        &rule("target.nmae == \"x\""),
        &["E0103 entity type `Identity` has no attribute or relation `nmae`"],
    );
    check(
        "rule r { on disable_acount when reason == \"x\" deny }",
        &["E0102 unknown action `disable_acount`"],
    );
    assert_eq!(
        help("rule r { on disable_acount deny }"),
        "did you mean `disable_account`?"
    );
    check(
        &rule("Tier::critcal == Tier::standard"),
        &["E0106 enum `Tier` has no variant `critcal`"],
    );
    check(
        &rule("Identiy::\"a\" == target"),
        &["E0101 unknown entity type `Identiy`"],
    );
    check("entity X { a: Strin }", &["E0101 unknown type `Strin`"]);
    check(
        &rule("now in busines_hours"),
        &["E0100 unknown name `busines_hours`"],
    );
    check(
        &rule("fits(busines_hours, now, 1h)"),
        &["E0105 unknown window `busines_hours`"],
    );
    check(
        &rule("any a in closure(target, report_to): true"),
        &["E0104 unknown relation `report_to`"],
    );
    check(
        &rule("is_exec(target)"),
        &["E0108 unknown function `is_exec`"],
    );
    check(
        &rule("target.name.startswith(\"a\")"),
        &["E0108 unknown method `startswith`"],
    );
    check(
        "window w { except nope weekly Mon 01:00 - Mon 02:00 }",
        &["E0105 unknown window `nope`"],
    );
}

#[test]
fn duplicates_point_at_both() {
    check(
        "const a = 1\nconst a = 2",
        &["E0110 `a` is defined more than once"],
    );
    check(
        "const business_hours = 1",
        &["E0110 `business_hours` is defined more than once"],
    );
    check(
        "enum E { a, b, a }",
        &["E0112 variant `a` of enum `E` is declared twice"],
    );
    check(
        "entity E { a: Int, a: String }",
        &["E0111 attribute `a` of entity `E` is declared twice"],
    );
    check(
        "context { x: Int }",
        &["E0113 a policy set may declare only one `context`"],
    );
    check(
        "default deny\ndefault allow",
        &["E0114 a policy set may have only one `default`"],
    );
    // Across files: the secondary label names the other file.
    let out = compile(&[
        ("a.ward".to_string(), "const x = 1".to_string()),
        ("b.ward".to_string(), "const x = 2".to_string()),
    ]);
    assert_eq!(out.diagnostics.len(), 1);
    let d = &out.diagnostics[0];
    assert_eq!(d.file, "b.ward");
    assert_eq!(d.diagnostic.labels[1].file, Some(ward_syntax::FileId(0)));
    assert_eq!(out.files[0].0, "a.ward");
}

#[test]
fn optionals() {
    check(
        &rule("target.manager.title == \"x\""),
        &["E0131 cannot read `title` of `target.manager`, which may be absent"],
    );
    assert_eq!(
        help(&rule("target.manager.title == \"x\"")),
        "use `?.` to read it when present: `target.manager?.title`"
    );
    check(
        &rule("target?.title == \"x\""),
        &["W0100 `?.` on `target`, which is always present"],
    );
    check(
        &rule("target has name"),
        &["E0133 attribute `name` of `Identity` is always present"],
    );
    check(
        &rule("starts_with(ticket, \"T\")"),
        &["E0131 `ticket` may be absent"],
    );
    check(
        &rule("reason ?? \"x\" == \"y\""),
        &["E0149 `??` needs an optional value on the left"],
    );
    check(
        &rule("ticket ?? 3 == 3"),
        &["E0130 mismatched types: expected `String`, found `Int`"],
    );
    check(
        &rule("target.manager?.level + 1 > 2"),
        &["E0131 `target.manager?.level` may be absent"],
    );
    check(
        "action a { x: Int? }",
        &["E0138 an action field cannot be optional"],
    );
    check(
        "entity E { s: Set<String?> }",
        &["E0138 a set cannot hold optional values"],
    );
    check(
        "fn f(x: Int?) -> Bool = true",
        &["E0138 a function parameter cannot be optional"],
    );
}

#[test]
fn operator_types() {
    check(
        &rule("target.name < \"b\""),
        &["E0134 `<` cannot order values of type `String`"],
    );
    check(
        &rule("target.level < 1h"),
        &["E0134 cannot compare `Int` with `Duration` using `<`"],
    );
    check(
        &rule("now + now > now"),
        &["E0135 cannot apply `+` to `Timestamp` and `Timestamp`"],
    );
    check(
        &rule("1h * 1h > 0s"),
        &["E0135 cannot apply `*` to `Duration` and `Duration`"],
    );
    check(
        &rule("target.name == 1"),
        &["E0136 cannot compare `String` with `Int` using `==`"],
    );
    check(
        &rule("target.groups == [1]"),
        &["E0136 cannot compare `Set<String>` with `Set<Int>`"],
    );
    check(
        &rule("1 in target.groups"),
        &["E0130 cannot look for `Int` in `Set<String>`"],
    );
    check(
        &rule("\"a\" in target.name"),
        &["E0130 `in` needs a set or a window on the right, found `String`"],
    );
    check(
        &rule("target.level"),
        &["E0130 mismatched types: expected `Bool`, found `Int`"],
    );
    check(
        &rule("not target.name"),
        &["E0130 mismatched types: expected `Bool`, found `String`"],
    );
    check(
        &rule("-target.name == \"\""),
        &["E0130 mismatched types: expected `Int` or `Duration` for unary `-`"],
    );
    check(
        &rule("count([]) == 0"),
        &["E0137 cannot tell the element type of the empty set `[]`"],
    );
    check(
        &rule("[\"a\", 1] == target.groups"),
        &["E0130 mismatched types: expected `String`, found `Int`"],
    );
    check(
        &rule("(if reboot then 1 else \"a\") == 1"),
        &["E0139 the branches of `if`", "E0100 unknown name `reboot`"],
    );
    check(
        &rule("(if true then 1 else \"a\") == 1"),
        &["E0139 the branches of `if` have different types: `Int` and `String`"],
    );
    check(
        &rule("count(target.name) > 1"),
        &["E0130 mismatched types: expected a set for `count`, found `String`"],
    );
    check(
        &rule("target.groups.starts_with(\"a\")"),
        &["E0130 mismatched types: expected `String`, found `Set<String>`"],
    );
}

#[test]
fn errors_do_not_cascade() {
    // One unknown name, used in several operators: one diagnostic.
    check(
        &rule("nope.a == 1 and nope2 + 1 > 2 and count(nope3) > 0"),
        &[
            "E0100 unknown name `nope`",
            "E0100 unknown name `nope2`",
            "E0100 unknown name `nope3`",
        ],
    );
    check(
        "entity X { a: Nope }\nrule r { on patch_host when host.tier == Tier::critical and 1 == \"a\" deny }",
        &[
            "E0101 unknown type `Nope`",
            "E0136 cannot compare `Int` with `String`",
        ],
    );
}

#[test]
fn regexes_and_time_zones() {
    check(
        &rule("target.name matches \"(\""),
        &["E0160 invalid regular expression"],
    );
    check(
        &rule("target.name matches target.title"),
        &["E0161 the pattern of `matches` must be a string literal"],
    );
    check(
        &rule("hour(now, \"Mars/Olympus\") > 1"),
        &["E0162 unknown time zone `Mars/Olympus`"],
    );
    check(
        &rule("hour(now, reason) > 1"),
        &["E0163 the time zone of `hour` must be a string literal"],
    );
    check(
        "window w { timezone \"Europe/Lodnon\" weekly Mon 01:00 - Mon 02:00 }",
        &["E0162 unknown time zone `Europe/Lodnon`"],
    );
    assert_eq!(
        help("window w { timezone \"Europe/Lodnon\" weekly Mon 01:00 - Mon 02:00 }"),
        "did you mean `Europe/London`?"
    );
    let p = ok(&rule(
        "target.name matches \"^a\" and target.title matches \"^a\" and reason matches \"b$\"",
    ));
    assert_eq!(p.regexes, vec!["^a".to_string(), "b$".to_string()]);
}

/// The shortcut that skips compiling plain patterns says yes only where `regex` compiles them,
/// and leaves every pattern with an error to `regex` (so its message is kept).
#[test]
fn plain_patterns_skip_compilation_only_when_they_compile() {
    let cases = [
        ("^svc-1", true),
        ("^(VP|Chief|SVP|EVP)", true),
        ("[a-z]+\\.example\\.com$", true),
        (".*[^x]?", true),
        ("", true),
        ("(", false),
        ("a{2}", false),
        ("\\w+", false),
        ("\\p{Greek}", false),
        ("(?i)abc", false),
        ("[z-a]", false),
        ("a**", true),
        ("\\", false),
    ];
    for (pattern, plain) in cases {
        assert_eq!(crate::expr::surely_compiles(pattern), plain, "{pattern}");
        if plain {
            assert!(regex::Regex::new(pattern).is_ok(), "{pattern}");
        }
    }
    assert!(!crate::expr::surely_compiles(&"a".repeat(257)));
}

#[test]
fn windows() {
    check(
        "window w { weekly Tue 23:00 - Tue 16:00 }",
        &["E0170 this weekly interval ends before it starts on `Tue`"],
    );
    assert!(help("window w { weekly Tue 23:00 - Tue 16:00 }").contains("`Tue 23:00 - Wed 16:00`"));
    check(
        "window w { timezone \"UTC\" timezone \"UTC\" daily 01:00 - 02:00 }",
        &["E0171 window `w` has more than one `timezone` line"],
    );
    check(
        "window w { between 2026-01-02T00:00:00Z and 2026-01-01T00:00:00Z }",
        &["E0174 the end of `between` must be after its start"],
    );
    check(
        "window a { except b daily 01:00 - 02:00 }\nwindow b { except a daily 01:00 - 02:00 }",
        &["E0173 window `a` excepts itself: `a` -> `b` -> `a`"],
    );
    check(
        "window w { except w }",
        &[
            "E0173 window `w` excepts itself",
            "W0101 window `w` is never open",
        ],
    );
    check(
        &rule("business_hours"),
        &["E0142 window `business_hours` is not a value"],
    );
    check(
        &rule("remaining(reason, now) > 0s"),
        &["E0143 expected a window, found `reason`"],
    );
    let p = ok(
        "window w { daily 22:00 - 02:00 on Sat-Mon, Wed }\nwindow v { except w weekly Sun 22:00 - Mon 02:00 }",
    );
    let w = p.windows.iter().find(|w| w.name == "w").unwrap();
    assert_eq!(
        w.lines,
        vec![ir::WindowLine::Daily {
            start: 22 * 60,
            end: 120,
            days: 0b110_0101
        }]
    );
    assert_eq!(w.timezone, "UTC");
    let v = p.windows.iter().find(|w| w.name == "v").unwrap();
    assert_eq!(v.except.len(), 1);
}

#[test]
fn relations() {
    check(
        &rule("any a in closure(target, depends_on): true"),
        &["E0146 relation `depends_on` expects `Asset` as its start, found `Identity`"],
    );
    check(
        &rule("any a in closure(target, reason): true"),
        &["E0144 expected a relation, but `reason`"],
    );
    check(
        &rule("any a in closure(target, 1): true"),
        &["E0144 expected a relation, found `1`"],
    );
    check(
        &rule("count(~reports_to) > 0"),
        &["E0145 `~reports_to` is only allowed where a relation is expected"],
    );
    check(
        &rule("count(reports_to) > 0"),
        &["E0148 relation `reports_to` is not a value"],
    );
    check(
        &rule("closure(target) == []"),
        &["E0140 `closure` takes 2 arguments, found 1"],
    );
    check(
        "relation r: Identity -> String",
        &["E0177 a relation connects entities, found `String`"],
    );
    check(
        "relation name: Identity -> Identity",
        &["E0116 relation `name` has the name of an attribute of `Identity`"],
    );
    let p = ok(&rule(
        "count(target.reports_to) > 0 and target in closure(agent, ~reports_to)",
    ));
    let cond = &p.rules[0].conditions;
    assert_eq!(cond.len(), 2);
    assert!(matches!(&cond[1].expr.kind, ir::ExprKind::In { set, .. }
        if matches!(set.kind, ir::ExprKind::Closure { inverse: true, .. })));
}

#[test]
fn functions_and_constants() {
    check(
        "fn a(x: Int) -> Bool = b(x)\nfn b(x: Int) -> Bool = a(x)",
        &["E0175 function `a` calls itself: `a` -> `b` -> `a`"],
    );
    check(
        "fn a(x: Int) -> Bool = a(x)",
        &["E0175 function `a` calls itself: `a` -> `a`"],
    );
    check(
        "const a = b\nconst b = a",
        &["E0176 constant `a` refers to itself: `a` -> `b` -> `a`"],
    );
    check(
        "fn f(x: Int) -> Bool = x > 1\nrule r { on * when f(1, 2) deny }",
        &["E0140 `f` takes 1 argument, found 2"],
    );
    check(
        "fn f(x: Int) -> Bool = x > 1\nrule r { on * when f(\"a\") deny }",
        &["E0130 mismatched types: expected `Int`, found `String`"],
    );
    check(
        "fn f(x: Int) -> Bool = x",
        &["E0130 mismatched types: expected `Bool`, found `Int`"],
    );
    check(
        "fn f(x: Int) -> Bool = true\nrule r { on * when f deny }",
        &["E0148 function `f` is not a value"],
    );
    check(
        &rule("reason(1)"),
        &["E0141 `reason` is a value, not a function"],
    );
    check(
        "const c: Set<String> = []\nconst d: Int = \"a\"",
        &["E0130 mismatched types: expected `Int`, found `String`"],
    );
    check(
        "fn f(x: Int) -> Bool = reason == \"a\"",
        &["E0100 unknown name `reason`"],
    );
    let p = ok(
        "const tags = [\"a\", \"b\"]\nconst some = any t in tags: t == \"a\"\nfn f(i: Identity) -> Bool = any g in i.groups: g in tags\nrule r { on disable_account when some and f(target) and any g in target.groups: some deny }",
    );
    let r = &p.rules[0];
    // Constants are inlined; their locals are renumbered after the rule's own.
    assert_eq!(r.n_locals, 3);
    assert!(matches!(
        r.conditions[0].expr.kind,
        ir::ExprKind::Quantifier {
            var: ir::LocalId(0),
            ..
        }
    ));
    assert_eq!(p.functions[0].name, "f");
    assert_eq!(p.functions[0].n_locals, 2);
}

#[test]
fn a_call_cycle_shows_each_call() {
    let src =
        "fn a(x: Int) -> Bool = b(x)\nfn b(x: Int) -> Bool = a(x)\nrule r { on * when a(1) deny }";
    let out = compile_one(src);
    assert_eq!(out.diagnostics.len(), 1, "{:#?}", out.diagnostics);
    let labels: Vec<(&str, &str)> = out.diagnostics[0]
        .diagnostic
        .labels
        .iter()
        .map(|l| (&src[l.span.range()], l.message.as_str()))
        .collect();
    assert_eq!(
        labels,
        vec![
            ("a", ""),
            ("b(x)", "`a` calls `b` here"),
            ("a(x)", "`b` calls `a` here")
        ]
    );
}

#[test]
fn rule_scope() {
    check(
        "rule r { on disable_account, revoke_sessions when reason == \"x\" deny }",
        &["E0117 field `reason` is not in scope: not every action of this rule declares it"],
    );
    assert!(
        help("rule r { on disable_account, revoke_sessions when reason == \"x\" deny }")
            .starts_with("`revoke_sessions` does not declare it")
    );
    check(
        &rule("any target in target.groups: true"),
        &["E0118 quantifier variable `target` shadows a field of the action"],
    );
    check(
        &rule("any g in target.groups: any g in target.groups: true"),
        &["E0118 quantifier variable `g` shadows a variable"],
    );
    check(
        &rule("any business_hours in target.groups: true"),
        &["E0118 quantifier variable `business_hours` shadows the window"],
    );
    check(
        "action a { agent: Identity }",
        &["E0115 field `agent` of action `a` has the name of a context field"],
    );
    let p = ok(
        "rule r { on disable_account, revoke_sessions when target.privileged deny }\nrule s { on * when agent.privileged allow }",
    );
    assert_eq!(p.rules[0].args.len(), 1);
    assert_eq!(p.rules[0].actions, vec![ir::ActionId(0), ir::ActionId(1)]);
    assert_eq!(p.rules[1].actions.len(), 3);
    assert!(p.rules[1].args.is_empty());
}

#[test]
fn effects_and_messages() {
    check(
        "rule r { on disable_account require approval from target.manager }",
        &["E0147 approvers must be a `String`, an entity or a set of them, found `Identity?`"],
    );
    check(
        "rule r { on disable_account require approval from 3 }",
        &["E0147 approvers must be"],
    );
    check(
        "rule r { on disable_account deny because \"{nope} is bad\" }",
        &["E0100 unknown name `nope`"],
    );
    check(
        "default require approval from target",
        &["E0100 unknown name `target`"],
    );
    let p = ok(
        "default require approval from agent\nrule r { on disable_account require approval from [target, agent] because \"{target} for {reason}, {{x}}\" }\nrule s { on disable_account require approval from target.manager ?? agent }",
    );
    assert_eq!(p.default.kind, ir::EffectKind::RequireApproval);
    let r = &p.rules[0];
    assert_eq!(
        r.location.to_string(),
        format!("p.ward:{}:1", SCHEMA.lines().count() + 3)
    );
    let parts = &r.message.as_ref().unwrap().parts;
    assert_eq!(parts.len(), 4);
    assert!(matches!(&parts[3], ir::MessagePart::Text(t) if t == ", {x}"));
    // The spans of a hole point inside the string.
    let src = format!("{SCHEMA}\nrule r {{ on disable_account deny because \"a {{nope}}\" }}");
    let out = compile_one(&src);
    let span = out.diagnostics[0].diagnostic.span();
    assert_eq!(&src[span.range()], "nope");
}

#[test]
fn conditions_are_split_at_top_level_and() {
    let p = ok(
        "rule r { on disable_account\n  when target.privileged and (reason == \"a\" and true)\n  when not target.privileged deny }",
    );
    let c = &p.rules[0].conditions;
    let sources: Vec<&str> = c.iter().map(|c| c.source.as_str()).collect();
    assert_eq!(
        sources,
        vec![
            "target.privileged",
            "(reason == \"a\" and true)",
            "not target.privileged"
        ]
    );
    let line = SCHEMA.lines().count() + 3;
    assert_eq!(c[0].location.to_string(), format!("p.ward:{line}:8"));
}

#[test]
fn optional_lifting_in_if() {
    let p = ok(&rule("(if true then \"a\" else ticket) == \"a\""));
    let ir::ExprKind::Binary { lhs, .. } = &p.rules[0].conditions[0].expr.kind else {
        panic!()
    };
    let ir::ExprKind::If { then, .. } = &lhs.kind else {
        panic!("{lhs:?}")
    };
    assert!(matches!(then.kind, ir::ExprKind::Some(_)));
    assert_eq!(lhs.ty, ir::Type::Optional(Box::new(ir::Type::String)));
}

#[test]
fn stdlib_modules() {
    check("use std.tim", &["E0107 unknown stdlib module `std.tim`"]);
    check(
        "use std.deps.{revenue_tag}",
        &["E0107 module `std.deps` has no item `revenue_tag`"],
    );
    check(
        "use std.deps\nrule r { on patch_host when deps.nope(host.tags) deny }",
        &["E0107 module `std.deps` has no item `nope`"],
    );
    let p = ok(
        "use std.deps\nuse std.deps.{is_regulated}\nrule r { on patch_host when deps.is_revenue_critical(host.tags) or is_regulated(host.tags) or host.tags.intersects(deps.revenue_tags) deny }",
    );
    let names: Vec<&str> = p.functions.iter().map(|f| f.name.as_str()).collect();
    assert_eq!(names, vec!["deps.is_revenue_critical", "deps.is_regulated"]);
}

#[test]
fn tests_blocks() {
    let base = "rule deny_it { on disable_account deny }\n";
    check(
        &format!("{base}test \"t\" {{ request disable_acount {{ }} expect deny }}"),
        &[
            "E0181 the context is missing field `agent`",
            "E0102 unknown action `disable_acount`",
        ],
    );
    check(
        &format!(
            "{base}test \"t\" {{ request revoke_sessions {{ target: Identity::\"a\", x: 1 }} with {{ agent: Identity::\"b\" }} expect deny }}"
        ),
        &["E0182 action `revoke_sessions` has no field `x`"],
    );
    check(
        &format!(
            "{base}test \"t\" {{ request revoke_sessions {{ }} with {{ agent: Identity::\"b\" }} expect deny }}"
        ),
        &["E0181 action `revoke_sessions` is missing field `target`"],
    );
    check(
        &format!(
            "{base}test \"t\" {{ request revoke_sessions {{ target: Asset::\"a\" }} with {{ agent: Identity::\"b\" }} expect deny }}"
        ),
        &["E0180 mismatched types: expected `Identity`, found `Asset`"],
    );
    check(
        &format!(
            "{base}test \"t\" {{ request revoke_sessions {{ target: Identity::\"a\" }} with {{ agent: Identity::\"b\" }} expect deny by deny_itt }}"
        ),
        &["E0119 unknown rule `deny_itt`"],
    );
    check(
        &format!(
            "{base}test \"t\" {{ request revoke_sessions {{ target: Identity::\"a\" }} with {{ agent: Identity::\"b\" }} expect require approval from agent }}"
        ),
        &["E0184 the approvers a test expects must be constants"],
    );
    check(
        &format!(
            "{base}test \"t\" {{ entities {{ Identity::\"a\" {{ name: 1 }} }} request revoke_sessions {{ target: Identity::\"a\" }} with {{ agent: Identity::\"b\" }} expect deny }}"
        ),
        &[
            "E0181 entity `Identity::\"a\"` is missing attributes `title`",
            "E0180 mismatched types: expected `String`, found `Int`",
        ],
    );
    check(
        &format!(
            "{base}test \"t\" {{ entities {{ Identit::\"a\" {{ }} }} request revoke_sessions {{ target: Identity::\"a\" }} with {{ agent: Identity::\"b\" }} expect deny }}"
        ),
        &["E0101 unknown entity type `Identit`"],
    );
    check(
        &format!(
            "{base}test \"t\" {{ entities {{ Asset::\"a\" depend_on Asset::\"b\" }} request revoke_sessions {{ target: Identity::\"a\" }} with {{ agent: Identity::\"b\" }} expect deny }}"
        ),
        &["E0104 unknown relation `depend_on`"],
    );
    check(
        &format!(
            "{base}test \"t\" {{ entities {{ Asset::\"a\" depends_on Identity::\"b\" }} request revoke_sessions {{ target: Identity::\"a\" }} with {{ agent: Identity::\"b\" }} expect deny }}"
        ),
        &["E0180 mismatched types: expected `Asset`, found `Identity`"],
    );
    check(
        &format!(
            "{base}test \"t\" {{ entities {{ Asset::\"a\" {{ tier: Tier::critical, tags: [], owner: Identity::\"o\", color: 1 }} }} request revoke_sessions {{ target: Identity::\"a\" }} with {{ agent: Identity::\"b\" }} expect deny }}"
        ),
        &["E0182 entity `Asset::\"a\"` has no attribute `color`"],
    );
    check(
        &format!(
            "{base}test \"t\" {{ request patch_host {{ host: Asset::\"a\", reboot: 1 == 1, duration: 1h }} with {{ agent: Identity::\"b\" }} expect deny }}"
        ),
        &["E0183 values in tests must be constants"],
    );

    let p = ok(&format!(
        "{base}const team = \"sec\"\ntest \"t\" {{\n entities {{ Asset::\"a\" {{ tier: Tier::critical, tags: [\"x\"], owner: Identity::\"o\" }}\n Asset::\"a\" depends_on Asset::\"b\" }}\n request patch_host {{ host: Asset::\"a\", reboot: true, duration: 1h30m }} with {{ agent: Identity::\"b\", ticket: \"T-1\" }}\n expect require approval from [team, Identity::\"o\"] by deny_it\n}}"
    ));
    let t = &p.tests[0];
    let ir::TestEntities::Inline(doc) = &t.entities else {
        panic!()
    };
    assert_eq!(
        doc,
        &serde_json::json!({
            "entities": {"Asset": {"a": {"tier": "critical", "tags": ["x"], "owner": "o"}}},
            "relations": {"depends_on": [["a", "b"]]}
        })
    );
    assert_eq!(
        t.cases[0].request,
        serde_json::json!({"action": "patch_host", "at": "1970-01-01T00:00:00Z",
            "args": {"host": "a", "reboot": true, "duration": "1h30m"},
            "context": {"agent": "b", "ticket": "T-1"}})
    );
    assert_eq!(
        t.cases[0].approvers,
        Some(vec!["o".to_string(), "sec".to_string()])
    );
    assert_eq!(t.cases[0].by, Some(vec!["deny_it".to_string()]));
}

#[test]
fn entities_from_is_resolved_against_the_test_file() {
    let out = compile(&[(
        "policies/sub/p.ward".to_string(),
        "action a {}\ntest \"t\" { entities from \"../fixtures/e.json\" request a {} expect deny }"
            .to_string(),
    )]);
    let p = out.program.unwrap();
    let ir::TestEntities::File { written, resolved } = &p.tests[0].entities else {
        panic!()
    };
    assert_eq!(written, "../fixtures/e.json");
    assert_eq!(resolved, "policies/sub/../fixtures/e.json");
}

#[test]
fn the_program_of_a_policy_set_without_errors_verifies() {
    let p = ok(&format!(
        "const limit: Duration = 4h\nfn exec(i: Identity) -> Bool = i.title matches \"^VP\"\n{}",
        "rule a { on patch_host when duration > limit and not fits(business_hours, now, duration) deny because \"{host} {duration}\" }\nrule b { on disable_account when exec(target) and (target.manager?.privileged ?? false) require approval from target.manager ?? agent }"
    ));
    assert_eq!(p.rules.len(), 2);
    assert_eq!(p.default.kind, ir::EffectKind::Deny);
}

#[test]
fn syntax_errors_are_reported_and_block_the_program() {
    let out = compile_one("rule {");
    assert!(out.program.is_none());
    assert!(!out.diagnostics.is_empty());
}

#[test]
fn incremental_database_rechecks_after_an_edit() {
    use salsa::Setter;
    let mut db = crate::Database::default();
    let set = db.policy_set(&[("p.ward".to_string(), "const a = 1 +".to_string())]);
    assert!(crate::lower(&db, set).is_none());
    assert!(!crate::check(&db, set).diagnostics.is_empty());
    let file = set.files(&db)[0];
    file.set_text(&mut db).to("const a = 1".to_string());
    assert!(crate::check(&db, set).diagnostics.is_empty());
    assert!(crate::lower(&db, set).is_some());
}

#[test]
fn the_shipped_stdlib_type_checks() {
    let diags = crate::check_stdlib(&[]);
    assert!(diags.is_empty(), "{diags:#?}");
}

/// Check `user` with a made-up stdlib module `m` whose text is `module`.
fn with_module(user: &str, module: &str) -> crate::checker::Outcome {
    let (user_ast, _) = ward_syntax::parse(user);
    let (module_ast, _) = ward_syntax::parse(module);
    let sources = [
        crate::checker::Source {
            path: "p.ward",
            text: user,
            ast: &user_ast,
            module: None,
            syntax_errors: false,
        },
        crate::checker::Source {
            path: "std/m.ward",
            text: module,
            ast: &module_ast,
            module: Some("m"),
            syntax_errors: false,
        },
    ];
    crate::checker::check(&sources, crate::checker::Mode::Referenced, true)
}

#[test]
fn stdlib_items_are_checked_only_when_referenced_and_in_the_users_schema() {
    let module = "fn bad() -> Bool = 1\nfn good(i: Identity) -> Bool = i.name == \"x\"\nwindow w { weekly Mon 01:00 - Mon 02:00 }";
    // Not referenced: no diagnostic, even for `bad`.
    let out = with_module("entity Identity { name: String }\nuse std.m", module);
    assert!(out.diagnostics.is_empty(), "{:#?}", out.diagnostics);
    // `good` uses the user's `Identity`; its window and function are lowered with qualified names.
    let out = with_module(
        "entity Identity { name: String }\naction a { t: Identity }\nuse std.m\nrule r { on a when m.good(t) and now in m.w deny }",
        module,
    );
    assert!(out.diagnostics.is_empty(), "{:#?}", out.diagnostics);
    let p = out.program.unwrap();
    assert_eq!(p.functions[0].name, "m.good");
    assert_eq!(p.windows[0].name, "m.w");
    // Referencing `bad` reports its error in the stdlib file (index 1).
    let out = with_module(
        "use std.m.{bad}\naction a {}\nrule r { on a when bad() deny }",
        module,
    );
    let files: Vec<usize> = out.diagnostics.iter().map(|(f, _)| *f).collect();
    assert_eq!(files, vec![1], "{:#?}", out.diagnostics);
    assert_eq!(out.diagnostics[0].1.code, "E0130");
    // A module may only declare constants, functions and windows.
    let out = with_module("use std.m", "action a {}");
    assert_eq!(out.diagnostics[0].1.code, "E0199");
}

#[test]
fn more_declaration_errors() {
    const REQ: &str = " request revoke_sessions { target: Identity::\"a\" } with { agent: Identity::\"b\" } expect deny";
    check(
        &format!(
            "test \"t\" {{ entities {{ Asset::\"a\" {{ tier: Tier::critical, tags: [], owner: Identity::\"o\" }} Asset::\"a\" {{ tier: Tier::critical, tags: [], owner: Identity::\"o\" }} }}{REQ} }}"
        ),
        &["E0185 entity `Asset::\"a\"` is defined twice in this test"],
    );
    check(
        "default require approval from { g in agent.groups | true }",
        &["E0186 the approvers of `default` cannot use quantifiers or filters"],
    );
    check(
        "use std.time\nuse std.time",
        &["E0110 `time` is defined more than once"],
    );
    check(
        "use std.deps.{is_regulated}\nconst is_regulated = 1",
        &["E0110 `is_regulated` is defined more than once"],
    );
    check(&rule("time.hours(1) > 0s"), &["E0100 unknown name `time`"]);
}

#[test]
fn truncated_and_damaged_sources_never_panic_and_programs_verify() {
    let src = format!(
        "{SCHEMA}\nuse std.time\nconst limit: Duration = 4h\nfn exec(i: Identity) -> Bool = i.title matches \"^VP\"\n\
         rule a {{ on patch_host when duration > limit and not fits(business_hours, now, duration) \
         and any d in closure(host, ~depends_on): \"pci\" in d.tags deny because \"{{host}} {{duration}}\" }}\n\
         rule b {{ on disable_account when exec(target) and (target.manager?.privileged ?? false) \
         and time.is_weekend(weekday(now, \"UTC\")) require approval from target.manager ?? agent }}\n\
         test \"t\" {{ entities {{ Identity::\"a\" {{ name: \"A\", title: \"VP\", department: \"x\", privileged: true, \
         groups: [], level: 3 }} }} request disable_account {{ target: Identity::\"a\", reason: \"r\" }} \
         with {{ agent: Identity::\"a\" }} at 2026-01-03T10:00:00Z expect require approval from [Identity::\"a\"] by b }}\n"
    );
    assert!(compile_one(&src).diagnostics.is_empty());
    let bounds: Vec<usize> = src.char_indices().map(|(i, _)| i).collect();
    for (k, &cut) in bounds.iter().enumerate().step_by(13) {
        let end = bounds.get(k + 2).copied().unwrap_or(src.len());
        for text in [
            src[..cut].to_string(),
            format!("{}{}", &src[..cut], &src[end..]),
        ] {
            let out = compile_one(&text);
            if let Some(program) = &out.program {
                assert!(ir::verify(program).is_ok(), "{text}");
            }
        }
    }
}

#[test]
fn symbols_resolve_names_to_their_declarations() {
    let src = format!(
        "{SCHEMA}\nuse std.deps\n/// The limit.\nconst limit: Duration = 4h\nfn exec(i: Identity) -> Bool = i.title matches \"^VP\"\n\
         rule a {{ on patch_host when duration > limit and exec(host.owner) and any d in closure(host, ~depends_on): \
         deps.is_regulated(d.tags) and host.tier == Tier::critical and now in business_hours deny }}\n"
    );
    let db = crate::Database::default();
    let set = db.policy_set(&[("p.ward".to_string(), src.clone())]);
    let checked = crate::check(&db, set);
    assert!(checked.diagnostics.is_empty(), "{:#?}", checked.diagnostics);
    let at = |needle: &str, nth: usize| -> &crate::Symbol {
        let offset = src.match_indices(needle).nth(nth).unwrap().0 as u32;
        checked
            .symbol_at(0, offset)
            .unwrap_or_else(|| panic!("no symbol at `{needle}`"))
    };
    let decl_of = |s: &crate::Symbol| {
        let (file, span) = s.definition.unwrap();
        assert_eq!(file, 0);
        &src[span.range()]
    };
    use crate::SymbolKind as K;
    let cases: &[(&str, usize, K, &str)] = &[
        ("duration >", 0, K::ActionField, "duration: Duration"),
        ("limit and", 0, K::Constant, "const limit: Duration"),
        ("exec(host", 0, K::Function, "fn exec(i: Identity) -> Bool"),
        ("i.title", 0, K::Parameter, "i: Identity"),
        ("title matches", 0, K::Attribute, "Identity.title: String"),
        ("owner)", 0, K::Attribute, "Asset.owner: Identity"),
        (
            "closure(",
            0,
            K::Builtin,
            "closure(x: A, r: Relation<A, B>) -> Set<B>",
        ),
        (
            "depends_on):",
            0,
            K::Relation,
            "relation depends_on: Asset -> Asset",
        ),
        ("d.tags", 0, K::Variable, "d: Asset"),
        (
            "is_regulated",
            0,
            K::Function,
            "fn deps.is_regulated(tags: Set<String>) -> Bool",
        ),
        ("critical and", 0, K::Variant, "Tier::critical"),
        ("business_hours deny", 0, K::Window, "window business_hours"),
        ("patch_host when", 0, K::Action, "action patch_host"),
        ("Identity) -> Bool", 0, K::EntityType, "entity Identity"),
    ];
    for &(needle, nth, kind, detail) in cases {
        let s = at(needle, nth);
        assert_eq!((s.kind, s.detail.as_str()), (kind, detail), "at `{needle}`");
    }
    assert_eq!(decl_of(at("limit and", 0)), "limit");
    assert_eq!(at("limit and", 0).doc.as_deref(), Some("The limit."));
    assert_eq!(decl_of(at("duration >", 0)), "duration");
    assert_eq!(decl_of(at("d.tags", 0)), "d");
    assert_eq!(
        at("is_regulated", 0).definition.unwrap().0,
        1 + 2,
        "std/deps.ward is the third stdlib file"
    );
    // References: the declaration of `limit` and its use.
    let limit = at("limit and", 0);
    assert_eq!(checked.references(limit).count(), 2);
}

#[test]
fn arithmetic_on_constants_is_folded_or_an_error() {
    // Folded: the program holds the result.
    let p = ok(
        "const a = 9223372036854775806 + 1\nconst d = 1h + 30m * 2\nrule r { on patch_host when duration > d and a > 0 deny }",
    );
    let cond = &p.rules[0].conditions[0].expr;
    assert!(
        matches!(&cond.kind, ir::ExprKind::Binary { rhs, .. } if rhs.kind == ir::ExprKind::Int(7200)),
        "{cond:?}"
    );
    for (src, what) in [
        (
            "const a = 9223372036854775807 + 1",
            "`9223372036854775807 + 1` always fails: its result is out of range for Int",
        ),
        (
            "const a = 9223372036854775807\nconst b = (a - 1) + 2",
            "`(a - 1) + 2` always fails",
        ),
        (
            "const a = -9223372036854775807 - 2",
            "`-9223372036854775807 - 2` always fails: its result is out of range for Int",
        ),
        (
            "const a = - -9223372036854775808",
            "`- -9223372036854775808` always fails",
        ),
        (
            "const a = 4611686018427387904 * 2",
            "`4611686018427387904 * 2` always fails: its result is out of range for Int",
        ),
        (
            "const d = 106751991167300d * 2",
            "`106751991167300d * 2` always fails: its result is out of range for Duration",
        ),
        (
            "const t = 9999-12-31T00:00:00Z + 1d",
            "`9999-12-31T00:00:00Z + 1d` always fails: its result leaves the range of timestamps",
        ),
        (
            "const t = 0001-01-01T00:00:00Z - 1s",
            "`0001-01-01T00:00:00Z - 1s` always fails: its result leaves the range of timestamps",
        ),
    ] {
        check(src, &[&format!("E0179 {what}")]);
    }
    // Only constants are folded: a field may make it fit at run time.
    let p = ok("rule r { on disable_account when target.level + 9223372036854775807 > 0 deny }");
    assert!(matches!(
        p.rules[0].conditions[0].expr.kind,
        ir::ExprKind::Binary { .. }
    ));
    // A test value too.
    let src = format!(
        "{SCHEMA}\nconst n = 1\ntest \"t\" {{ entities {{ Identity::\"a\" {{ name: \"a\", title: \"t\", department: \"d\", privileged: false, groups: [], level: - -9223372036854775808 }} }} request revoke_sessions {{ target: Identity::\"a\" }} with {{ agent: Identity::\"a\" }} at 2026-01-01T00:00:00Z expect allow }}"
    );
    let codes: Vec<&str> = compile_one(&src)
        .diagnostics
        .iter()
        .map(|d| d.diagnostic.code)
        .collect();
    assert_eq!(codes, ["E0179"]);
}

#[test]
fn depth_is_counted_through_constants_functions_and_windows() {
    let nots = |n: usize| "not ".repeat(n);
    // A condition over a constant: 600 + 401 levels.
    check(
        &format!(
            "const c = {}true\nrule r {{ on * when {}c deny }}",
            nots(400),
            nots(600)
        ),
        &["E0178 this condition nests 1001 levels deep"],
    );
    // Approvers and message holes too.
    let deep = format!("const deep = {}true\n", nots(600));
    check(
        &format!(
            "{deep}rule r {{ on * require approval from {{ x in [\"a\"] | {}deep }} }}",
            nots(450)
        ),
        &["E0178 these approvers nest 1052 levels deep"],
    );
    check(
        &format!(
            "{deep}rule r {{ on * deny because \"{{{}deep}}\" }}",
            nots(450)
        ),
        &["E0178 this message hole nests 1051 levels deep"],
    );
    // A function's body counts what it calls; one report per chain.
    let mut src = String::from("fn f0(x: Bool) -> Bool = x\n");
    for i in 1..1100 {
        src += &format!("fn f{i}(x: Bool) -> Bool = f{}(x)\n", i - 1);
    }
    src += "rule r { on * when f1099(true) deny }";
    check(
        &src,
        &["E0178 the body of function `f1000` nests 1001 levels deep"],
    );
    // A constant built on constants, declared last first.
    let mut src = String::new();
    for i in (1..1100).rev() {
        src += &format!("const c{i} = not c{}\n", i - 1);
    }
    src += "const c0 = true\nrule r { on * when c1099 deny }";
    check(&src, &["E0178 constant `c1000` nests 1001 levels deep"]);
    // Windows: the chain of `except`s.
    let mut src = String::from("window w0 { daily 09:00 - 17:00 }\n");
    for i in 1..1100 {
        src += &format!("window w{i} {{ daily 09:00 - 17:00 except w{} }}\n", i - 1);
    }
    src += "rule r { on * when now in w1099 deny }";
    check(
        &src,
        &["E0178 window `w1000` heads a chain of 1001 windows"],
    );
    // A cycle longer than the budget is cut, not followed to the end of the stack.
    let mut src = String::from("const c0 = c1999\n");
    for i in 1..2000 {
        src += &format!("const c{i} = c{}\n", i - 1);
    }
    let got = rendered(&format!("{SCHEMA}\n{src}"));
    assert_eq!(got.len(), 1, "{got:?}");
    assert!(got[0].starts_with("E0178 `c"), "{got:?}");
}

#[test]
fn declaration_order_does_not_matter_for_long_chains() {
    // Each refers to the next one declared: checked in dependency order, not recursively.
    let mut src = String::new();
    for i in 0..3000 {
        src += &format!("const c{i} = c{}\n", i + 1);
    }
    src += "const c3000 = true\nrule r { on * when c0 deny }";
    ok(&src);
}
