//! The depth budget of syntax trees (`ward_ir::MAX_DEPTH`, code `E0020`): a declaration whose
//! expression tree nests exactly `MAX_DEPTH` levels parses cleanly, one level more is one
//! error, and far deeper input is the same one error, quickly and without a stack overflow. Each
//! shape is tried as a `rule` and as a `const` (both taken by the fast path when well formed)
//! and as a `fn` (pest only); debug builds also check that the fast path and pest agree.

use ward_ir::MAX_DEPTH;
use ward_syntax::ast::{Expr, Item};
use ward_syntax::parse;

/// An expression whose tree is exactly `depth` levels deep, in the given shape.
fn shape(kind: &str, depth: usize) -> String {
    let n = depth - 1;
    match kind {
        // `not … x`: n unary nodes over a name.
        "not" => format!("{}x", "not ".repeat(n)),
        "neg" => format!("{}x", "- ".repeat(n)),
        // `x or x or …`: n binary nodes, the first operand deepest.
        "or" => vec!["x"; n + 1].join(" or "),
        "and" => vec!["x"; n + 1].join(" and "),
        "add" => vec!["x"; n + 1].join(" + "),
        "mul" => vec!["x"; n + 1].join(" * "),
        // `x ?? x ?? …`: right associative, the last operand deepest.
        "coalesce" => vec!["x"; n + 1].join(" ?? "),
        // `x.a.a…`: n field nodes.
        "field" => format!("x{}", ".a".repeat(n)),
        // `x.f().f()…`: each call is a field and a call node.
        "call" if n.is_multiple_of(2) => format!("x{}", ".f()".repeat(n / 2)),
        "call" => format!("x.a{}", ".f()".repeat(n / 2)),
        // Mixed: `x or x …` over `not …` over `( - … x.a.a… )`.
        "mixed" => {
            let (a, b, c) = (n / 4, n / 4, n / 4);
            let m = n - a - b - c - 1;
            format!(
                "{}({}x{}){}",
                "not ".repeat(a),
                "- ".repeat(b),
                ".a".repeat(c),
                " or x".repeat(m)
            )
        }
        other => panic!("unknown shape {other}"),
    }
}

const SHAPES: &[&str] = &[
    "not", "neg", "or", "and", "add", "mul", "coalesce", "field", "call", "mixed",
];

fn declarations(e: &str) -> [String; 3] {
    [
        format!("rule r {{ on a when {e} deny }}"),
        format!("const c = {e}"),
        format!("fn f(x: Int) -> Bool = {e}"),
    ]
}

/// The depth of the deepest expression of a parsed file, counted without recursion.
fn deepest(items: &[Item]) -> usize {
    let mut roots: Vec<&Expr> = Vec::new();
    for item in items {
        match item {
            Item::Rule(r) => roots.extend(&r.when),
            Item::Const(c) => roots.push(&c.value),
            Item::Fn(f) => roots.push(&f.body),
            _ => {}
        }
    }
    let mut max = 0;
    let mut stack: Vec<(&Expr, usize)> = roots.into_iter().map(|e| (e, 1)).collect();
    while let Some((e, d)) = stack.pop() {
        max = max.max(d);
        use ward_syntax::ast::ExprKind as K;
        let children: Vec<&Expr> = match &e.kind {
            K::Unary { operand, .. } | K::Has { operand, .. } | K::Field { operand, .. } => {
                vec![operand]
            }
            K::Binary { lhs, rhs, .. } => vec![lhs, rhs],
            K::Call { callee, args } => std::iter::once(&**callee).chain(args).collect(),
            K::Set(items) => items.iter().collect(),
            K::If {
                cond,
                then,
                otherwise,
            } => vec![cond, then, otherwise],
            K::Quantifier { set, body, .. } => vec![set, body],
            K::Filter { set, cond, .. } => vec![set, cond],
            K::Paren(inner) => vec![inner],
            _ => vec![],
        };
        stack.extend(children.into_iter().map(|c| (c, d + 1)));
    }
    max
}

#[test]
fn a_tree_of_max_depth_parses_and_one_level_more_is_e0020() {
    for kind in SHAPES {
        for text in declarations(&shape(kind, MAX_DEPTH)) {
            let (file, diags) = parse(&text);
            assert!(diags.is_empty(), "{kind} at the budget: {diags:?}");
            assert_eq!(deepest(&file.items), MAX_DEPTH, "{kind}: {text:.60}");
        }
        for text in declarations(&shape(kind, MAX_DEPTH + 1)) {
            let (file, diags) = parse(&text);
            let codes: Vec<&str> = diags.iter().map(|d| d.code).collect();
            assert_eq!(codes, ["E0020"], "{kind} one past the budget: {text:.60}");
            assert!(
                deepest(&file.items) <= MAX_DEPTH,
                "{kind}: the tree kept is deeper than the budget"
            );
        }
    }
}

/// Ten times past the crash points of the issue, in every parser path: one diagnostic each.
#[test]
fn far_deeper_input_is_one_error_not_a_crash() {
    // Operators (`-`, `or`, …) beyond 4096 in one declaration are refused by the scanner.
    let cases = [
        (
            format!("rule r {{ on a when {}x deny }}", "not ".repeat(57_000)),
            "E0020",
        ),
        (
            format!(
                "rule r {{ on a when x{} == \"a\" deny }}",
                ".lower()".repeat(27_000)
            ),
            "E0020",
        ),
        (format!("const c = {}x", "not ".repeat(57_000)), "E0020"),
        (
            format!("fn f(x: Int) -> Bool = {}x", "not ".repeat(57_000)),
            "E0020",
        ),
        (
            format!("const c = {}", vec!["x"; 4_000].join(" or ")),
            "E0020",
        ),
        (format!("const c = x{}", ".a".repeat(100_000)), "E0020"),
        (format!("const c = {}x", "- ".repeat(57_000)), "E0019"),
    ];
    for (text, code) in cases {
        let (file, diags) = parse(&text);
        let codes: Vec<&str> = diags.iter().map(|d| d.code).collect();
        assert_eq!(codes, [code], "{text:.60}");
        assert!(deepest(&file.items) <= MAX_DEPTH);
        assert!(ward_syntax::format(&text).is_err());
    }
    // In a `because` hole too.
    let text = format!(
        "rule r {{ on a deny because \"{{{}x}}\" }}",
        "not ".repeat(57_000)
    );
    let (_, diags) = parse(&text);
    assert_eq!(diags.len(), 1);
    assert_eq!(diags[0].code, "E0020");
}

/// Brackets and `Set<…>` types beyond 64 levels are refused before pest runs (`E0019`); within
/// it, they parse on any thread (the test harness's threads have 2 MiB).
#[test]
fn brackets_and_types_nest_up_to_the_parser_limit() {
    for depth in [63, 64] {
        let text = format!("const c = {}1{}", "(".repeat(depth), ")".repeat(depth));
        let (_, diags) = parse(&text);
        assert!(diags.is_empty(), "{depth}: {diags:?}");
        let text = format!("const c = {}1{}", "[".repeat(depth), "]".repeat(depth));
        let (_, diags) = parse(&text);
        assert!(diags.is_empty(), "{depth}: {diags:?}");
        let text = format!(
            "const c: {}Int{} = []",
            "Set<".repeat(depth),
            ">".repeat(depth)
        );
        let (_, diags) = parse(&text);
        assert!(diags.is_empty(), "{depth}: {diags:?}");
    }
    for depth in [65, 100_000] {
        let text = format!(
            "const c: {}Int{} = []",
            "Set<".repeat(depth),
            ">".repeat(depth)
        );
        let (_, diags) = parse(&text);
        let codes: Vec<&str> = diags.iter().map(|d| d.code).collect();
        assert_eq!(codes, ["E0019"], "{depth}");
    }
}
