//! Printing expressions, types and literals in their canonical one-line form.
//!
//! Parentheses: every [`ExprKind::Paren`] the user wrote is kept, and a pair is added only
//! where the tree could not be read back otherwise (precedence, or an `if`/quantifier that
//! would swallow what follows it). Literals are re-spelled canonically: strings re-escaped,
//! durations with the largest units first, times of day as `HH:MM`. Timestamps keep the text
//! the user wrote (so the offset survives). This module knows nothing of lines, indentation
//! or comments.

use std::fmt::Write as _;

use crate::Span;

use crate::ast::{
    BinaryOp, DaySpec, Expr, ExprKind, Message, MessagePart, Quantifier, TimeOfDay, Timestamp,
    TypeExpr, TypeExprKind, UnaryOp,
};

/// Prints expressions of one file; `src` is the file's text (timestamps are copied from it).
#[derive(Clone, Copy)]
pub(super) struct ExprPrinter<'a> {
    src: &'a str,
    /// Inside a `{…}` hole of a message: string literals avoid `\"` (see [`push_str_lit`]).
    in_hole: bool,
}

/// Binding strength, loosest first (decision 2). `if` and the quantifiers are greedy
/// primaries and are handled apart.
const OR: u8 = 1;
const AND: u8 = 2;
const NOT: u8 = 3;
const CMP: u8 = 4;
const COALESCE: u8 = 5;
const ADD: u8 = 6;
const MUL: u8 = 7;
const NEG: u8 = 8;
const POSTFIX: u8 = 9;
const ATOM: u8 = 10;

impl<'a> ExprPrinter<'a> {
    pub(super) fn new(src: &'a str) -> ExprPrinter<'a> {
        ExprPrinter {
            src,
            in_hole: false,
        }
    }

    /// The expression on one line.
    pub(super) fn expr(&self, e: &Expr) -> String {
        let mut out = String::new();
        self.write(&mut out, e, 0, true);
        out
    }

    /// The operands of the outermost `or` chain (or else `and` chain) of `e`, each printed, with
    /// the operator; `None` when `e` is neither. Used to wrap long conditions.
    pub(super) fn chain(&self, e: &Expr) -> Option<(&'static str, Vec<String>)> {
        let ExprKind::Binary { op, .. } = &e.kind else {
            return None;
        };
        let op = op.value;
        if !matches!(op, BinaryOp::Or | BinaryOp::And) {
            return None;
        }
        let (lmin, rmin) = operand_strength(op);
        let mut rights = Vec::new();
        let mut cur = e;
        while let ExprKind::Binary { op: o, lhs, rhs } = &cur.kind {
            if o.value != op {
                break;
            }
            rights.push(rhs.as_ref());
            cur = lhs;
        }
        let mut parts = Vec::with_capacity(rights.len() + 1);
        let mut first = String::new();
        self.write(&mut first, cur, lmin, false);
        parts.push(first);
        let last = rights.len().saturating_sub(1);
        for (idx, rhs) in rights.into_iter().rev().enumerate() {
            let mut s = String::new();
            self.write(&mut s, rhs, rmin, idx == last);
            parts.push(s);
        }
        Some((op.symbol(), parts))
    }

    /// Write `e`. Recursive, one call per node of a tree at most `MAX_DEPTH` deep (the parser
    /// refuses deeper ones); a level takes about 1 KiB of stack in a debug build, so every
    /// level enters through `grow_stack`, which moves to a heap segment when the thread's stack
    /// runs low.
    fn write(&self, out: &mut String, e: &Expr, min: u8, tail: bool) {
        ward_ir::limits::grow_stack(|| self.write_node(out, e, min, tail));
    }

    fn write_node(&self, out: &mut String, e: &Expr, min: u8, tail: bool) {
        let parens = if greedy(e) { !tail } else { strength(e) < min };
        if parens {
            out.push('(');
            self.write(out, e, 0, true);
            out.push(')');
            return;
        }
        match &e.kind {
            ExprKind::Bool(b) => out.push_str(if *b { "true" } else { "false" }),
            ExprKind::Int(n) => {
                let _ = write!(out, "{n}");
            }
            ExprKind::Str(s) => push_str_lit(out, s, self.in_hole),
            ExprKind::Duration(secs) => out.push_str(&duration(*secs)),
            ExprKind::Timestamp(ts) => out.push_str(&self.timestamp(*ts, e.span)),
            ExprKind::Now => out.push_str("now"),
            ExprKind::EntityRef { ty, id } => {
                out.push_str(&ty.name);
                out.push_str("::");
                push_str_lit(out, &id.value, self.in_hole);
            }
            ExprKind::EnumValue { ty, variant } => {
                let _ = write!(out, "{}::{}", ty.name, variant.name);
            }
            ExprKind::Set(elems) => {
                out.push('[');
                self.list(out, elems);
                out.push(']');
            }
            ExprKind::Name(name) => out.push_str(&name.name),
            ExprKind::InverseRelation(name) => {
                out.push('~');
                out.push_str(&name.name);
            }
            ExprKind::Unary { op, operand } => match op.value {
                UnaryOp::Not => {
                    out.push_str("not ");
                    self.write(out, operand, NOT, tail);
                }
                UnaryOp::Neg => {
                    out.push('-');
                    self.write(out, operand, NEG, tail);
                }
            },
            ExprKind::Binary { op, lhs, rhs } => {
                let (lmin, rmin) = operand_strength(op.value);
                self.write(out, lhs, lmin, false);
                out.push(' ');
                out.push_str(op.value.symbol());
                out.push(' ');
                self.write(out, rhs, rmin, tail);
            }
            ExprKind::Has { operand, attr } => {
                self.write(out, operand, COALESCE, false);
                out.push_str(" has ");
                out.push_str(&attr.name);
            }
            ExprKind::Field {
                operand,
                attr,
                optional,
            } => {
                self.write(out, operand, POSTFIX, false);
                out.push_str(if *optional { "?." } else { "." });
                out.push_str(&attr.name);
            }
            ExprKind::Call { callee, args } => {
                self.write(out, callee, POSTFIX, false);
                out.push('(');
                self.list(out, args);
                out.push(')');
            }
            ExprKind::If {
                cond,
                then,
                otherwise,
            } => {
                out.push_str("if ");
                self.write(out, cond, 0, true);
                out.push_str(" then ");
                self.write(out, then, 0, true);
                out.push_str(" else ");
                self.write(out, otherwise, 0, tail);
            }
            ExprKind::Quantifier {
                kind,
                var,
                set,
                body,
            } => {
                out.push_str(match kind {
                    Quantifier::Any => "any ",
                    Quantifier::All => "all ",
                });
                out.push_str(&var.name);
                out.push_str(" in ");
                self.write(out, set, ADD, true);
                out.push_str(": ");
                self.write(out, body, 0, tail);
            }
            ExprKind::Filter { var, set, cond } => {
                out.push_str("{ ");
                out.push_str(&var.name);
                out.push_str(" in ");
                self.write(out, set, ADD, true);
                out.push_str(" | ");
                self.write(out, cond, 0, true);
                out.push_str(" }");
            }
            ExprKind::Paren(inner) => {
                out.push('(');
                self.write(out, inner, 0, true);
                out.push(')');
            }
            // Unreachable for a file without syntax errors (the formatter refuses those);
            // keep whatever the source held rather than invent text.
            ExprKind::Error => out.push_str(self.src.get(e.span.range()).unwrap_or("")),
        }
    }

    fn list(&self, out: &mut String, elems: &[Expr]) {
        for (idx, elem) in elems.iter().enumerate() {
            if idx > 0 {
                out.push_str(", ");
            }
            self.write(out, elem, 0, true);
        }
    }

    /// A timestamp as the user wrote it (letters upper-cased), or RFC 3339 in UTC when the
    /// span does not hold a timestamp literal.
    pub(super) fn timestamp(&self, ts: Timestamp, span: Span) -> String {
        let written = self.src.get(span.range()).unwrap_or("");
        let looks_right = written.len() >= 10
            && written.as_bytes()[..4].iter().all(u8::is_ascii_digit)
            && written
                .bytes()
                .all(|b| b.is_ascii_digit() || b"-:+.TtZz".contains(&b));
        if looks_right {
            return written.to_ascii_uppercase();
        }
        ward_ir::literal::format_timestamp(ts.seconds)
    }

    /// A `because` message: text re-escaped (literal braces doubled), holes as `{expr}`.
    pub(super) fn message(&self, msg: &Message) -> String {
        let hole = ExprPrinter {
            src: self.src,
            in_hole: true,
        };
        let mut out = String::from("\"");
        for part in &msg.parts {
            match part {
                MessagePart::Text(text) => {
                    for c in text.chars() {
                        match c {
                            '{' => out.push_str("{{"),
                            '}' => out.push_str("}}"),
                            c => push_escaped_char(&mut out, c, false),
                        }
                    }
                }
                MessagePart::Hole(e) => {
                    let text = hole.expr(e);
                    // `{{` would be a literal brace: a hole starting with a filter is padded.
                    let pad = if text.starts_with('{') { " " } else { "" };
                    out.push('{');
                    out.push_str(pad);
                    for c in text.chars() {
                        match c {
                            '\\' => out.push_str("\\\\"),
                            '"' => out.push_str("\\\""),
                            c => out.push(c),
                        }
                    }
                    out.push_str(pad);
                    out.push('}');
                }
            }
        }
        out.push('"');
        out
    }
}

/// How tightly `e` binds, for the parentheses check.
fn strength(e: &Expr) -> u8 {
    match &e.kind {
        ExprKind::Binary { op, .. } => match op.value {
            BinaryOp::Or => OR,
            BinaryOp::And => AND,
            BinaryOp::Eq
            | BinaryOp::Ne
            | BinaryOp::Lt
            | BinaryOp::Le
            | BinaryOp::Gt
            | BinaryOp::Ge
            | BinaryOp::In
            | BinaryOp::Matches => CMP,
            BinaryOp::Coalesce => COALESCE,
            BinaryOp::Add | BinaryOp::Sub => ADD,
            BinaryOp::Mul => MUL,
        },
        ExprKind::Has { .. } => CMP,
        ExprKind::Unary { op, .. } => match op.value {
            UnaryOp::Not => NOT,
            UnaryOp::Neg => NEG,
        },
        ExprKind::Int(n) if *n < 0 => NEG,
        ExprKind::Duration(secs) if *secs < 0 => NEG,
        ExprKind::Field { .. } | ExprKind::Call { .. } => POSTFIX,
        _ => ATOM,
    }
}

/// `if`, `any` and `all` extend as far right as possible (decision 3): unparenthesized they
/// may only stand where nothing of the same expression follows them.
fn greedy(e: &Expr) -> bool {
    matches!(e.kind, ExprKind::If { .. } | ExprKind::Quantifier { .. })
}

/// The least strength of the left and right operands of `op` that needs no parentheses:
/// `or`, `and`, `+ -`, `*` associate to the left, `??` to the right, comparisons not at all.
fn operand_strength(op: BinaryOp) -> (u8, u8) {
    match op {
        BinaryOp::Or => (OR, AND),
        BinaryOp::And => (AND, NOT),
        BinaryOp::Eq
        | BinaryOp::Ne
        | BinaryOp::Lt
        | BinaryOp::Le
        | BinaryOp::Gt
        | BinaryOp::Ge
        | BinaryOp::In
        | BinaryOp::Matches => (COALESCE, COALESCE),
        BinaryOp::Coalesce => (ADD, COALESCE),
        BinaryOp::Add | BinaryOp::Sub => (ADD, MUL),
        BinaryOp::Mul => (MUL, NEG),
    }
}

/// A type as written: `Set<String>`, `Identity?`.
pub(super) fn type_expr(ty: &TypeExpr) -> String {
    match &ty.kind {
        TypeExprKind::Named(name) => name.name.clone(),
        TypeExprKind::Set(inner) => format!("Set<{}>", type_expr(inner)),
        TypeExprKind::Optional(inner) => format!("{}?", type_expr(inner)),
    }
}

/// A string literal with canonical escapes: `\"`, `\\`, `\n`, `\t`, and `\u{…}` for other
/// control characters and for invisible characters that could disguise the text (bidi
/// overrides, zero-width characters). Inside a message hole a quote is written `\u{22}`: the
/// hole itself is inside a string, where `\"` delimits nested literals.
pub(super) fn push_str_lit(out: &mut String, s: &str, in_hole: bool) {
    out.push('"');
    for c in s.chars() {
        push_escaped_char(out, c, in_hole);
    }
    out.push('"');
}

pub(super) fn str_lit(s: &str) -> String {
    let mut out = String::new();
    push_str_lit(&mut out, s, false);
    out
}

fn push_escaped_char(out: &mut String, c: char, in_hole: bool) {
    match c {
        '"' if in_hole => out.push_str("\\u{22}"),
        '"' => out.push_str("\\\""),
        '\\' => out.push_str("\\\\"),
        '\n' => out.push_str("\\n"),
        '\t' => out.push_str("\\t"),
        c if c.is_control() || invisible(c) => {
            let _ = write!(out, "\\u{{{:x}}}", u32::from(c));
        }
        c => out.push(c),
    }
}

/// Characters that change how the text around them reads without showing themselves.
fn invisible(c: char) -> bool {
    matches!(
        c,
        '\u{ad}'
            | '\u{200b}'..='\u{200f}'
            | '\u{2028}'..='\u{202e}'
            | '\u{2060}'..='\u{2064}'
            | '\u{2066}'..='\u{2069}'
            | '\u{feff}'
    )
}

/// A duration with the largest units first: `5400` is `1h30m`, `0` is `0s`.
pub(super) fn duration(secs: i64) -> String {
    let mut out = String::new();
    if secs < 0 {
        out.push('-');
    }
    let mut rest = secs.unsigned_abs();
    if rest == 0 {
        return "0s".to_owned();
    }
    for (unit, size) in [('d', 86_400u64), ('h', 3_600), ('m', 60), ('s', 1)] {
        if rest >= size {
            let _ = write!(out, "{}{unit}", rest / size);
            rest %= size;
        }
    }
    out
}

/// `HH:MM`.
pub(super) fn time_of_day(t: TimeOfDay) -> String {
    format!("{:02}:{:02}", t.minutes / 60, t.minutes % 60)
}

/// `Mon-Fri` or `Sat`.
pub(super) fn day_spec(d: &DaySpec) -> String {
    if d.first == d.last {
        d.first.name().to_owned()
    } else {
        format!("{}-{}", d.first.name(), d.last.name())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durations_take_the_largest_units_first() {
        let cases = [
            (0, "0s"),
            (59, "59s"),
            (5_400, "1h30m"),
            (172_800, "2d"),
            (93_784, "1d2h3m4s"),
            (3_601, "1h1s"),
        ];
        for (secs, want) in cases {
            assert_eq!(duration(secs), want, "{secs}");
        }
    }

    #[test]
    fn strings_are_escaped_canonically() {
        let cases = [
            ("plain", r#""plain""#),
            ("a\"b", r#""a\"b""#),
            ("back\\slash", r#""back\\slash""#),
            ("line\nbreak\ttab", r#""line\nbreak\ttab""#),
            ("bell\u{7}", r#""bell\u{7}""#),
            ("rtl\u{202e}x", r#""rtl\u{202e}x""#),
            ("é ü 中", "\"é ü 中\""),
        ];
        for (value, want) in cases {
            assert_eq!(str_lit(value), want, "{value:?}");
        }
    }

    #[test]
    fn times_of_day_have_two_digit_hours() {
        assert_eq!(time_of_day(TimeOfDay { minutes: 9 * 60 }), "09:00");
        assert_eq!(
            time_of_day(TimeOfDay {
                minutes: 23 * 60 + 59
            }),
            "23:59"
        );
    }
}
