//! Declarations: every construct builds the expected tree with accurate spans; doc comments
//! attach; comments are kept.

use ward_syntax::ast::*;
use ward_syntax::parse;

#[track_caller]
fn one(text: &str) -> Item {
    let (file, diags) = parse(text);
    assert_eq!(diags, vec![], "diagnostics for {text:?}");
    assert_eq!(file.items.len(), 1, "items of {text:?}");
    file.items.into_iter().next().unwrap()
}

fn src(text: &str, span: ward_syntax::Span) -> &str {
    &text[span.range()]
}

#[test]
fn use_declarations() {
    let Item::Use(u) = one("use std.time") else {
        panic!()
    };
    assert_eq!(
        u.path.iter().map(|i| i.name.as_str()).collect::<Vec<_>>(),
        ["std", "time"]
    );
    assert_eq!(u.names, None);
    let Item::Use(u) = one("use std.time.{business_hours, fits_before_close}") else {
        panic!()
    };
    let names: Vec<_> = u.names.unwrap().into_iter().map(|i| i.name).collect();
    assert_eq!(names, ["business_hours", "fits_before_close"]);
}

#[test]
fn schema_declarations() {
    let text = "/// Tiers.\nenum Tier {\n  /// The best.\n  crown_jewel,\n  critical standard, }";
    let Item::Enum(e) = one(text) else { panic!() };
    assert_eq!(e.doc.as_deref(), Some("Tiers."));
    let names: Vec<_> = e.variants.iter().map(|v| v.name.name.as_str()).collect();
    assert_eq!(names, ["crown_jewel", "critical", "standard"]);
    assert_eq!(e.variants[0].doc.as_deref(), Some("The best."));
    assert_eq!(e.variants[1].doc, None);
    assert_eq!(src(text, e.span), &text[11..]);

    let text = "entity Identity {\n  /// Who they report to.\n  manager: Identity?, groups: Set<String>\n  name: String,\n}";
    let Item::Entity(e) = one(text) else { panic!() };
    assert_eq!(e.fields.len(), 3);
    assert_eq!(e.fields[0].doc.as_deref(), Some("Who they report to."));
    assert_eq!(src(text, e.fields[0].span), "manager: Identity?");
    let TypeExprKind::Optional(inner) = &e.fields[0].ty.kind else {
        panic!()
    };
    assert!(matches!(&inner.kind, TypeExprKind::Named(n) if n.name == "Identity"));
    let TypeExprKind::Set(inner) = &e.fields[1].ty.kind else {
        panic!()
    };
    assert!(matches!(&inner.kind, TypeExprKind::Named(n) if n.name == "String"));
    assert_eq!(src(text, e.fields[1].ty.span), "Set<String>");

    let Item::Relation(r) = one("relation depends_on: Asset -> Asset") else {
        panic!()
    };
    assert_eq!(r.name.name, "depends_on");
    let text = "context { agent: Identity ticket: String? }";
    let Item::Context(c) = one(text) else {
        panic!()
    };
    assert_eq!(src(text, c.keyword), "context");
    assert_eq!(c.fields.len(), 2);
    let Item::Action(a) =
        one("action patch_host { host: Asset, reboot: Bool, duration: Duration }")
    else {
        panic!()
    };
    assert_eq!(a.fields.len(), 3);
    // Contextual words are names.
    let Item::Entity(e) = one("entity E { from: String, at: Int, request: Bool }") else {
        panic!()
    };
    assert_eq!(e.fields[0].name.name, "from");
}

#[test]
fn windows() {
    let text = "window w {\n timezone \"Europe/London\"\n weekly Wed 22:00 - Thu 01:00\n daily 09:00 - 17:30 on Mon-Fri, Sun\n between 2026-12-20T00:00:00Z and 2027-01-03T00:00:00Z\n except freeze\n daily 22:00 - 02:00\n}";
    let Item::Window(w) = one(text) else { panic!() };
    assert_eq!(w.lines.len(), 6);
    assert!(matches!(&w.lines[0].kind, WindowLineKind::Timezone(s) if s.value == "Europe/London"));
    let WindowLineKind::Weekly {
        start_day,
        start,
        end_day,
        end,
    } = &w.lines[1].kind
    else {
        panic!()
    };
    assert_eq!(
        (
            start_day.value,
            start.value.minutes,
            end_day.value,
            end.value.minutes
        ),
        (Weekday::Wed, 1320, Weekday::Thu, 60)
    );
    let WindowLineKind::Daily { start, end, days } = &w.lines[2].kind else {
        panic!()
    };
    assert_eq!((start.value.minutes, end.value.minutes), (540, 1050));
    assert_eq!(days.len(), 2);
    assert_eq!((days[0].first, days[0].last), (Weekday::Mon, Weekday::Fri));
    assert_eq!((days[1].first, days[1].last), (Weekday::Sun, Weekday::Sun));
    assert_eq!(src(text, days[0].span), "Mon-Fri");
    let WindowLineKind::Between { from, to } = &w.lines[3].kind else {
        panic!()
    };
    assert!(from.value.seconds < to.value.seconds);
    assert!(matches!(&w.lines[4].kind, WindowLineKind::Except(i) if i.name == "freeze"));
    let WindowLineKind::Daily { days, .. } = &w.lines[5].kind else {
        panic!()
    };
    assert!(days.is_empty());
    assert_eq!(src(text, w.lines[1].span), "weekly Wed 22:00 - Thu 01:00");
}

#[test]
fn constants_functions_default() {
    let Item::Const(c) = one("const limit: Duration = 4h") else {
        panic!()
    };
    assert!(c.ty.is_some());
    assert_eq!(c.value.kind, ExprKind::Duration(14_400));
    let Item::Const(c) = one("const tags = [\"a\"];") else {
        panic!()
    };
    assert!(c.ty.is_none());
    let text = "fn is_exec(i: Identity, j: Int,) -> Bool = i.title matches \"^(VP|Chief)\";";
    let Item::Fn(f) = one(text) else { panic!() };
    assert_eq!(f.params.len(), 2);
    assert!(matches!(&f.ret.kind, TypeExprKind::Named(n) if n.name == "Bool"));
    assert_eq!(src(text, f.span), text);
    let Item::Default(d) = one("default require approval from \"oncall\"") else {
        panic!()
    };
    assert!(matches!(
        d.effect.kind,
        EffectKind::RequireApproval { from: Some(_) }
    ));
    let Item::Default(d) = one("default allow") else {
        panic!()
    };
    assert_eq!(d.effect.kind, EffectKind::Allow);
}

#[test]
fn rules() {
    let text = "/// Doc.\nrule r {\n  on a, b\n  when x\n  when y\n  require approval\n  because \"{x.name} is {{literal}} {y}\"\n}";
    let Item::Rule(r) = one(text) else { panic!() };
    assert_eq!(r.doc.as_deref(), Some("Doc."));
    assert_eq!(r.name.name, "r");
    let OnTargets::Actions(actions) = &r.on.targets else {
        panic!()
    };
    assert_eq!(actions.len(), 2);
    assert_eq!(r.when.len(), 2);
    assert_eq!(r.effect.kind, EffectKind::RequireApproval { from: None });
    let msg = r.because.unwrap();
    assert_eq!(msg.parts.len(), 3);
    let MessagePart::Hole(hole) = &msg.parts[0] else {
        panic!()
    };
    assert_eq!(src(text, hole.span), "x.name");
    assert_eq!(msg.parts[1], MessagePart::Text(" is {literal} ".into()));
    let Item::Rule(r) = one("rule all_of_them { on * deny }") else {
        panic!()
    };
    assert_eq!(r.on.targets, OnTargets::All);
    assert_eq!(r.effect.kind, EffectKind::Deny);
    assert!(r.when.is_empty() && r.because.is_none());
}

#[test]
fn holes_with_escaped_strings_map_back_into_the_file() {
    let text = r#"rule r { on a deny because "owner: {x ?? \"none\"}" }"#;
    let Item::Rule(r) = one(text) else { panic!() };
    let MessagePart::Hole(hole) = &r.because.unwrap().parts[1] else {
        panic!()
    };
    assert_eq!(src(text, hole.span), r#"x ?? \"none\""#);
    let ExprKind::Binary { rhs, .. } = &hole.kind else {
        panic!()
    };
    assert_eq!(rhs.kind, ExprKind::Str("none".into()));
    assert_eq!(src(text, rhs.span), r#"\"none\""#);
}

#[test]
fn tests() {
    let text = r#"test "t" {
  entities {
    Identity::"alice" { name: "Alice", groups: [] }
    Asset::"web-1" depends_on Asset::"db-1"
  }
  request disable_account { target: Identity::"alice" } at 2026-11-28T10:00:00Z with { agent: Identity::"bot" }
  expect require approval from "oncall" by a, b
  request other {}
  expect allow
}"#;
    let Item::Test(t) = one(text) else { panic!() };
    assert_eq!(t.name.value, "t");
    let Some(TestEntities::Inline { entries, .. }) = &t.entities else {
        panic!()
    };
    assert_eq!(entries.len(), 2);
    let EntityEntry::Entity { ty, id, attrs, .. } = &entries[0] else {
        panic!()
    };
    assert_eq!(
        (ty.name.as_str(), id.value.as_str(), attrs.len()),
        ("Identity", "alice", 2)
    );
    let EntityEntry::Edge { relation, from, .. } = &entries[1] else {
        panic!()
    };
    assert_eq!(relation.name, "depends_on");
    assert_eq!(src(text, from.span), r#"Asset::"web-1""#);
    assert_eq!(t.cases.len(), 2);
    let case = &t.cases[0];
    assert_eq!(case.action.name, "disable_account");
    assert_eq!(case.args.len(), 1);
    assert_eq!(case.context.len(), 1);
    assert!(case.at.is_some());
    let by: Vec<_> = case
        .expect
        .by
        .as_ref()
        .unwrap()
        .iter()
        .map(|i| i.name.as_str())
        .collect();
    assert_eq!(by, ["a", "b"]);
    assert_eq!(t.cases[1].at, None);
    assert_eq!(t.cases[1].expect.by, None);
    let Item::Test(t) =
        one("test \"f\" { entities from \"fixtures/estate.json\" request a {} expect deny }")
    else {
        panic!()
    };
    assert!(
        matches!(&t.entities, Some(TestEntities::From(s)) if s.value == "fixtures/estate.json")
    );
}

#[test]
fn comments_are_kept() {
    let text = "// head\n/// doc\nrule r { on a deny } // tail\n//// not doc\n";
    let (file, diags) = parse(text);
    assert!(diags.is_empty());
    let comments: Vec<_> = file
        .comments
        .iter()
        .map(|c| (c.text.as_str(), c.doc))
        .collect();
    assert_eq!(
        comments,
        [
            (" head", false),
            (" doc", true),
            (" tail", false),
            ("// not doc", false)
        ]
    );
    assert_eq!(file.items[0].doc(), Some("doc"));
}

#[test]
fn a_rule_on_one_line_and_several_declarations_on_one_line() {
    let (file, diags) = parse("const a = 1 const b = 2; fn f() -> Int = a rule r { on x allow }");
    assert!(diags.is_empty(), "{diags:?}");
    assert_eq!(file.items.len(), 4);
}
