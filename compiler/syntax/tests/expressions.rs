//! Expressions: every form, precedence and associativity, spans.

use ward_syntax::ast::{BinaryOp, Expr, ExprKind, Quantifier, UnaryOp};
use ward_syntax::parse_expr;

/// A compact, fully parenthesized rendering of an expression tree.
fn sexp(e: &Expr) -> String {
    match &e.kind {
        ExprKind::Bool(b) => b.to_string(),
        ExprKind::Int(n) => n.to_string(),
        ExprKind::Str(s) => format!("{s:?}"),
        ExprKind::Duration(s) => format!("{s}sec"),
        ExprKind::Timestamp(t) => format!("@{}", t.seconds),
        ExprKind::Now => "now".into(),
        ExprKind::EntityRef { ty, id } => format!("{}::{:?}", ty.name, id.value),
        ExprKind::EnumValue { ty, variant } => format!("{}::{}", ty.name, variant.name),
        ExprKind::Set(items) => {
            format!("[{}]", items.iter().map(sexp).collect::<Vec<_>>().join(" "))
        }
        ExprKind::Name(n) => n.name.clone(),
        ExprKind::InverseRelation(n) => format!("~{}", n.name),
        ExprKind::Unary { op, operand } => {
            let op = match op.value {
                UnaryOp::Not => "not",
                UnaryOp::Neg => "neg",
            };
            format!("({op} {})", sexp(operand))
        }
        ExprKind::Binary { op, lhs, rhs } => {
            format!("({} {} {})", op.value.symbol(), sexp(lhs), sexp(rhs))
        }
        ExprKind::Has { operand, attr } => format!("(has {} {})", sexp(operand), attr.name),
        ExprKind::Field {
            operand,
            attr,
            optional,
        } => {
            format!(
                "({} {} {})",
                if *optional { "?." } else { "." },
                sexp(operand),
                attr.name
            )
        }
        ExprKind::Call { callee, args } => {
            format!(
                "(call {}{})",
                sexp(callee),
                args.iter()
                    .map(|a| format!(" {}", sexp(a)))
                    .collect::<String>()
            )
        }
        ExprKind::If {
            cond,
            then,
            otherwise,
        } => format!("(if {} {} {})", sexp(cond), sexp(then), sexp(otherwise)),
        ExprKind::Quantifier {
            kind,
            var,
            set,
            body,
        } => {
            let q = if *kind == Quantifier::Any {
                "any"
            } else {
                "all"
            };
            format!("({q} {} {} {})", var.name, sexp(set), sexp(body))
        }
        ExprKind::Filter { var, set, cond } => {
            format!("(filter {} {} {})", var.name, sexp(set), sexp(cond))
        }
        ExprKind::Paren(inner) => format!("[{}]", sexp(inner)),
        ExprKind::Error => "ERROR".into(),
    }
}

#[track_caller]
fn check(text: &str, expect: &str) {
    let (expr, diags) = parse_expr(text);
    assert_eq!(diags, vec![], "diagnostics for {text:?}");
    assert_eq!(sexp(&expr), expect, "tree of {text:?}");
    assert_eq!(
        expr.span.range(),
        0..text.trim_end().len(),
        "span of {text:?}"
    );
}

#[test]
fn literals() {
    check("true", "true");
    check("false", "false");
    check("42", "42");
    check("9223372036854775807", "9223372036854775807");
    check("-9223372036854775808", "-9223372036854775808");
    check(r#""a\"b\\c\n\t\u{41}""#, r#""a\"b\\c\n\tA""#);
    check("90s", "90sec");
    check("30m", "1800sec");
    check("4h", "14400sec");
    check("2d", "172800sec");
    check("1h30m", "5400sec");
    check("1970-01-01T00:00:00Z", "@0");
    check("2026-11-29T10:00:00+01:00", "@1795942800");
    check("now", "now");
    check(r#"Identity::"alice""#, r#"Identity::"alice""#);
    check("Tier::critical", "Tier::critical");
    check(r#"["a", "b",]"#, r#"["a" "b"]"#);
    check("[]", "[]");
    check("~depends_on", "~depends_on");
    check("from", "from"); // a contextual word is a name
}

#[test]
fn precedence() {
    check("a or b and c", "(or a (and b c))");
    check("a and b or c", "(or (and a b) c)");
    check("not a and b", "(and (not a) b)");
    check("not a == b", "(not (== a b))");
    check("not not a", "(not (not a))");
    check("a == b + c * d", "(== a (+ b (* c d)))");
    check("a - b - c", "(- (- a b) c)");
    check("a * -b", "(* a (neg b))");
    check("- - a", "(neg (neg a))");
    check("a ?? b ?? c", "(?? a (?? b c))");
    check("a ?? b + c", "(?? a (+ b c))");
    check(
        r#"x.manager?.title ?? "none" == "CFO""#,
        r#"(== (?? (?. (. x manager) title) "none") "CFO")"#,
    );
    check("a in s", "(in a s)");
    check("t in w and x", "(and (in t w) x)");
    check(r#"t matches "^a""#, r#"(matches t "^a")"#);
    check("target has manager", "(has target manager)");
    check("a <= b", "(<= a b)");
    check("a != b", "(!= a b)");
    check("(a or b) and c", "(and [(or a b)] c)");
}

#[test]
fn postfix_calls_and_binders() {
    check("f()", "(call f)");
    check(
        "closure(host, ~depends_on)",
        "(call closure host ~depends_on)",
    );
    check("s.contains(x).y", "(. (call (. s contains) x) y)");
    check("time.business_hours(t)", "(call (. time business_hours) t)");
    check("if a then b else c", "(if a b c)");
    check("if a then b else c or d", "(if a b (or c d))");
    check("1 + if a then 2 else 3 + 4", "(+ 1 (if a 2 (+ 3 4)))");
    check(
        "any a in s: p(a) and q(a)",
        "(any a s (and (call p a) (call q a)))",
    );
    check("all x in a + b: x", "(all x (+ a b) x)");
    check("{ x in s | x.ok }", "(filter x s (. x ok))");
    check(
        "count({ x in s | x.ok }) > 2",
        "(> (call count (filter x s (. x ok))) 2)",
    );
    check("not any a in s: a", "(not (any a s a))");
}

#[test]
fn spans_point_at_the_source() {
    let text = "a.b + f(c)";
    let (expr, _) = parse_expr(text);
    let ExprKind::Binary { op, lhs, rhs } = &expr.kind else {
        panic!("not binary: {expr:?}")
    };
    assert_eq!(op.value, BinaryOp::Add);
    assert_eq!(&text[op.span.range()], "+");
    assert_eq!(&text[lhs.span.range()], "a.b");
    assert_eq!(&text[rhs.span.range()], "f(c)");
    let ExprKind::Field { attr, .. } = &lhs.kind else {
        panic!("not a field")
    };
    assert_eq!(&text[attr.span.range()], "b");
}

#[track_caller]
fn fails(text: &str, code: &str, message: &str) {
    let (_, diags) = parse_expr(text);
    assert!(
        diags.iter().any(|d| d.code == code && d.message == message),
        "expected {code} {message:?} for {text:?}, got {diags:#?}"
    );
}

#[test]
fn literal_errors() {
    fails(
        "99999999999999999999",
        "E0008",
        "integer literal `99999999999999999999` is out of range for Int",
    );
    fails(r#""a\qb""#, "E0009", "unknown escape `\\q` in string");
    fails(
        r#""\u{D800}""#,
        "E0009",
        "invalid unicode escape `\\u{D800}`",
    );
    fails(
        "1m1h",
        "E0011",
        "the units of duration `1m1h` are out of order or repeated",
    );
    fails(
        "1h1h",
        "E0011",
        "the units of duration `1h1h` are out of order or repeated",
    );
    fails(
        "2026-01-01T00:00:00.5Z",
        "E0012",
        "timestamp `2026-01-01T00:00:00.5Z` has fractional seconds",
    );
    fails(
        "2026-01-01T00:00:00",
        "E0012",
        "timestamp `2026-01-01T00:00:00` has no UTC offset",
    );
    fails("500ms", "E0018", "invalid number `500ms`");
    fails("\"abc", "E0010", "unterminated string");
}

#[test]
fn mistakes_are_named() {
    fails(
        "a < b < c",
        "E0004",
        "comparison operators do not chain: write `a < b and b < c`",
    );
    fails(
        "a = b",
        "E0005",
        "`=` is not an operator: write `==` to compare",
    );
    fails(
        "a && b",
        "E0006",
        "`&&` is not an operator in Ward: write `and`",
    );
    fails(
        "a || b",
        "E0006",
        "`||` is not an operator in Ward: write `or`",
    );
    fails("!a", "E0006", "`!` is not an operator in Ward: write `not`");
    fails("a and", "E0001", "expected an expression after `and`");
    fails("a +", "E0001", "expected an expression after `+`");
    fails("f(a", "E0002", "expected `)`");
    fails(
        "x.rule",
        "E0003",
        "expected a name after `.`, found keyword `rule`",
    );
}

#[test]
fn accepted_mistakes_still_build_a_tree() {
    let (expr, _) = parse_expr("a = b && c");
    assert_eq!(sexp(&expr), "(and (== a b) c)");
}
