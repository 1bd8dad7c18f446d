//! A readable text form of a [`Program`], for `ward check --emit-ir` and for tests.
//!
//! The form is stable (the same program always prints the same text) and meant for people:
//! names instead of indices, durations and timestamps in literal syntax, expressions fully
//! parenthesized in infix style, local slots as `%N` with their type where they are bound.
//! It is not parsed back; the serde form is the interchange format. It must not know about
//! the source syntax tree or the runtime.

use std::fmt::Write as _;

use crate::{
    BinOp, Effect, EffectKind, Expr, ExprKind, Field, Program, Rule, Schema, TestEntities,
    TimePart, Type, WindowLine,
};

/// Render the program as text.
pub fn print(program: &Program) -> String {
    let mut p = Printer {
        program,
        out: String::new(),
        args: &[],
    };
    p.program();
    p.out
}

/// A type as the user writes it (`Set<String>`, `Identity?`), with names from the schema.
pub(crate) fn type_name(schema: &Schema, ty: &Type) -> String {
    match ty {
        Type::Bool => "Bool".into(),
        Type::Int => "Int".into(),
        Type::String => "String".into(),
        Type::Duration => "Duration".into(),
        Type::Timestamp => "Timestamp".into(),
        Type::Entity(id) => schema
            .entities
            .get(id.index())
            .map_or_else(|| format!("<entity {}>", id.0), |e| e.name.clone()),
        Type::Enum(id) => schema
            .enums
            .get(id.index())
            .map_or_else(|| format!("<enum {}>", id.0), |e| e.name.clone()),
        Type::Set(inner) => format!("Set<{}>", type_name(schema, inner)),
        Type::Optional(inner) => format!("{}?", type_name(schema, inner)),
    }
}

const DAYS: [&str; 7] = ["Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun"];

fn day_name(day: u8) -> String {
    DAYS.get(usize::from(day).wrapping_sub(1))
        .map_or_else(|| format!("day{day}"), |d| (*d).to_string())
}

fn minutes(m: u16) -> String {
    format!("{:02}:{:02}", m / 60, m % 60)
}

fn quoted(s: &str) -> String {
    let mut out = String::with_capacity(s.len() + 2);
    out.push('"');
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\t' => out.push_str("\\t"),
            c if c.is_control() => {
                let _ = write!(out, "\\u{{{:x}}}", c as u32);
            }
            c => out.push(c),
        }
    }
    out.push('"');
    out
}

fn binop(op: BinOp) -> &'static str {
    match op {
        BinOp::And => "and",
        BinOp::Or => "or",
        BinOp::Eq => "==",
        BinOp::Ne => "!=",
        BinOp::Lt => "<",
        BinOp::Le => "<=",
        BinOp::Gt => ">",
        BinOp::Ge => ">=",
        BinOp::Add => "+",
        BinOp::Sub => "-",
        BinOp::Mul => "*",
    }
}

struct Printer<'p> {
    program: &'p Program,
    out: String,
    /// The action fields of the rule being printed.
    args: &'p [Field],
}

impl<'p> Printer<'p> {
    fn ty(&self, ty: &Type) -> String {
        type_name(&self.program.schema, ty)
    }

    fn fields(&self, fields: &[Field]) -> String {
        let parts: Vec<String> = fields
            .iter()
            .map(|f| format!("{}: {}", f.name, self.ty(&f.ty)))
            .collect();
        parts.join(", ")
    }

    fn line(&mut self, indent: usize, text: &str) {
        for _ in 0..indent {
            self.out.push_str("  ");
        }
        self.out.push_str(text);
        self.out.push('\n');
    }

    fn program(&mut self) {
        let p = self.program;
        let s = &p.schema;
        self.line(0, "schema");
        for e in &s.enums {
            self.line(
                1,
                &format!("enum {} {{ {} }}", e.name, e.variants.join(", ")),
            );
        }
        for e in &s.entities {
            self.line(
                1,
                &format!("entity {} {{ {} }}", e.name, self.fields(&e.attrs)),
            );
        }
        for r in &s.relations {
            let from = self.ty(&Type::Entity(r.from));
            let to = self.ty(&Type::Entity(r.to));
            self.line(1, &format!("relation {}: {from} -> {to}", r.name));
        }
        self.line(1, &format!("context {{ {} }}", self.fields(&s.context)));
        for a in &s.actions {
            self.line(
                1,
                &format!("action {} {{ {} }}", a.name, self.fields(&a.fields)),
            );
        }
        for w in &p.windows {
            self.out.push('\n');
            self.line(0, &format!("window {} in {}", w.name, quoted(&w.timezone)));
            for line in &w.lines {
                let text = match *line {
                    WindowLine::Weekly {
                        start_day,
                        start,
                        end_day,
                        end,
                    } => format!(
                        "weekly {} {} - {} {}",
                        day_name(start_day),
                        minutes(start),
                        day_name(end_day),
                        minutes(end)
                    ),
                    WindowLine::Daily { start, end, days } => {
                        let on: Vec<&str> = DAYS
                            .iter()
                            .enumerate()
                            .filter(|(i, _)| days & (1 << i) != 0)
                            .map(|(_, d)| *d)
                            .collect();
                        format!(
                            "daily {} - {} on {}",
                            minutes(start),
                            minutes(end),
                            on.join(", ")
                        )
                    }
                    WindowLine::Between { from, to } => {
                        format!(
                            "between {} and {}",
                            crate::literal::format_timestamp(from),
                            crate::literal::format_timestamp(to)
                        )
                    }
                };
                self.line(1, &text);
            }
            for id in &w.except {
                let name = p
                    .windows
                    .get(id.index())
                    .map_or("<window out of range>", |w| w.name.as_str());
                self.line(1, &format!("except {name}"));
            }
        }
        if !p.regexes.is_empty() {
            self.out.push('\n');
            self.line(0, "regexes");
            for (i, r) in p.regexes.iter().enumerate() {
                self.line(1, &format!("re{i} = {}", quoted(r)));
            }
        }
        for f in &p.functions {
            self.out.push('\n');
            let params: Vec<String> = f
                .params
                .iter()
                .enumerate()
                .map(|(i, t)| format!("%{i}: {}", self.ty(t)))
                .collect();
            self.line(
                0,
                &format!(
                    "fn {}({}) -> {} [locals {}] =",
                    f.name,
                    params.join(", "),
                    self.ty(&f.ret),
                    f.n_locals
                ),
            );
            self.args = &[];
            let body = self.expr(&f.body);
            self.line(1, &body);
        }
        self.out.push('\n');
        self.args = &[];
        let default = self.effect(&p.default);
        self.line(0, &format!("default {default}"));
        for rule in &p.rules {
            self.out.push('\n');
            self.rule(rule);
        }
        for t in &p.tests {
            self.out.push('\n');
            let entities = match &t.entities {
                TestEntities::None => "no entities".to_string(),
                TestEntities::Inline(doc) => {
                    let n: usize =
                        doc.get("entities")
                            .and_then(|e| e.as_object())
                            .map_or(0, |types| {
                                types
                                    .values()
                                    .filter_map(|v| v.as_object())
                                    .map(|m| m.len())
                                    .sum()
                            });
                    format!("{n} inline entities")
                }
                TestEntities::File { written, .. } => format!("entities from {}", quoted(written)),
            };
            self.line(
                0,
                &format!("test {} @ {}, {entities}", quoted(&t.name), t.location),
            );
            for case in &t.cases {
                let action = case
                    .request
                    .get("action")
                    .and_then(|a| a.as_str())
                    .unwrap_or("?");
                let at = case
                    .request
                    .get("at")
                    .and_then(|a| a.as_str())
                    .unwrap_or("1970-01-01T00:00:00Z");
                let mut expect = case.expect.as_str().to_string();
                if let Some(approvers) = &case.approvers {
                    let _ = write!(expect, " from [{}]", approvers.join(", "));
                }
                if let Some(by) = &case.by {
                    let _ = write!(expect, " by [{}]", by.join(", "));
                }
                self.line(
                    1,
                    &format!("@ {}: {action} at {at} => expect {expect}", case.location),
                );
            }
        }
    }

    fn rule(&mut self, rule: &'p Rule) {
        let p = self.program;
        let actions: Vec<&str> = rule
            .actions
            .iter()
            .map(|a| {
                p.schema
                    .actions
                    .get(a.index())
                    .map_or("<action out of range>", |a| a.name.as_str())
            })
            .collect();
        self.line(
            0,
            &format!(
                "rule {} @ {} on [{}]",
                rule.name,
                rule.location,
                actions.join(", ")
            ),
        );
        self.args = &rule.args;
        if !rule.args.is_empty() {
            self.line(1, &format!("args {}", self.fields(&rule.args)));
        }
        if rule.n_locals > 0 {
            self.line(1, &format!("locals {}", rule.n_locals));
        }
        for c in &rule.conditions {
            let text = self.expr(&c.expr);
            self.line(1, &format!("when {text}"));
        }
        let effect = self.effect(&rule.effect);
        self.line(1, &format!("=> {effect}"));
        if let Some(message) = &rule.message {
            let mut text = String::from("because \"");
            for part in &message.parts {
                match part {
                    crate::MessagePart::Text(t) => {
                        let q = quoted(t);
                        text.push_str(q.get(1..q.len() - 1).unwrap_or_default());
                    }
                    crate::MessagePart::Expr(e) => {
                        let _ = write!(text, "{{{}}}", self.expr(e));
                    }
                }
            }
            text.push('"');
            self.line(1, &text);
        }
        self.args = &[];
    }

    fn effect(&self, effect: &Effect) -> String {
        let mut text = match effect.kind {
            EffectKind::Allow => "allow".to_string(),
            EffectKind::Deny => "deny".to_string(),
            EffectKind::RequireApproval => "require approval".to_string(),
        };
        if let Some(a) = &effect.approvers {
            let _ = write!(text, " from {}", self.expr(a));
        }
        text
    }

    fn window_name(&self, id: crate::WindowId) -> &str {
        self.program
            .windows
            .get(id.index())
            .map_or("<window out of range>", |w| w.name.as_str())
    }

    fn relation_name(&self, id: crate::RelationId, inverse: bool) -> String {
        let name = self
            .program
            .schema
            .relations
            .get(id.index())
            .map_or("<relation out of range>", |r| r.name.as_str());
        if inverse {
            format!("~{name}")
        } else {
            name.to_string()
        }
    }

    fn attr_name(&self, of: &Type, attr: u32) -> String {
        let entity = match of.strip_optional() {
            Type::Entity(id) => self.program.schema.entities.get(id.index()),
            _ => None,
        };
        entity
            .and_then(|e| e.attrs.get(attr as usize))
            .map_or_else(|| format!("<attr {attr}>"), |f| f.name.clone())
    }

    /// An expression as text. Iterative (a work stack of pieces), so a tree of any depth
    /// prints: each node expands into its text and its children in order, and the children are
    /// expanded in turn when they come off the stack.
    fn expr(&self, root: &Expr) -> String {
        let mut out = String::new();
        let mut stack = vec![Piece::Expr(root)];
        while let Some(piece) = stack.pop() {
            match piece {
                Piece::Text(t) => out.push_str(&t),
                Piece::Expr(e) => {
                    let at = stack.len();
                    stack.extend(self.pieces(e));
                    stack[at..].reverse();
                }
            }
        }
        out
    }

    /// The pieces of one node, in print order: text and the child expressions between it.
    fn pieces<'e>(&self, e: &'e Expr) -> Vec<Piece<'e>> {
        use Piece::{Expr as E, Text as T};
        let t = |s: &str| T(s.to_string());
        match &e.kind {
            ExprKind::Bool(b) => vec![T(b.to_string())],
            ExprKind::Int(n) => vec![T(match e.ty {
                Type::Duration => crate::literal::format_duration(*n),
                Type::Timestamp => crate::literal::format_timestamp(*n),
                _ => n.to_string(),
            })],
            ExprKind::Str(s) => vec![T(quoted(s))],
            ExprKind::Entity(id) => vec![T(format!("{}::{}", self.ty(&e.ty), quoted(id)))],
            ExprKind::Enum(v) => {
                let variant = match &e.ty {
                    Type::Enum(id) => self
                        .program
                        .schema
                        .enums
                        .get(id.index())
                        .and_then(|en| en.variants.get(*v as usize)),
                    _ => None,
                };
                vec![T(match variant {
                    Some(name) => format!("{}::{name}", self.ty(&e.ty)),
                    None => format!("{}::<variant {v}>", self.ty(&e.ty)),
                })]
            }
            ExprKind::Set(items) if items.is_empty() => {
                vec![T(format!("([]: {})", self.ty(&e.ty)))]
            }
            ExprKind::Set(items) => list(t("["), items, t("]")),
            ExprKind::None => vec![T(format!("(none: {})", self.ty(&e.ty)))],
            ExprKind::Some(x) => vec![t("some("), E(x), t(")")],
            ExprKind::Now => vec![t("now")],
            ExprKind::Arg(i) => vec![T(self
                .args
                .get(*i as usize)
                .map_or_else(|| format!("<arg {i}>"), |f| f.name.clone()))],
            ExprKind::Context(i) => {
                vec![T(self.program.schema.context.get(*i as usize).map_or_else(
                    || format!("<context {i}>"),
                    |f| format!("context.{}", f.name),
                ))]
            }
            ExprKind::Local(id) => vec![T(format!("%{}", id.0))],
            ExprKind::Attr { of, attr } => {
                vec![E(of), T(format!(".{}", self.attr_name(&of.ty, *attr)))]
            }
            ExprKind::OptAttr { of, attr } => {
                vec![E(of), T(format!("?.{}", self.attr_name(&of.ty, *attr)))]
            }
            ExprKind::Has { of, attr } => vec![
                t("("),
                E(of),
                T(format!(" has {})", self.attr_name(&of.ty, *attr))),
            ],
            ExprKind::Not(x) => vec![t("(not "), E(x), t(")")],
            ExprKind::Neg(x) => vec![t("(-"), E(x), t(")")],
            ExprKind::Binary { op, lhs, rhs } => vec![
                t("("),
                E(lhs),
                T(format!(" {} ", binop(*op))),
                E(rhs),
                t(")"),
            ],
            ExprKind::Coalesce { value, fallback } => {
                vec![t("("), E(value), t(" ?? "), E(fallback), t(")")]
            }
            ExprKind::In { elem, set } => vec![t("("), E(elem), t(" in "), E(set), t(")")],
            ExprKind::Matches { operand, regex } => {
                let pattern = self
                    .program
                    .regexes
                    .get(regex.index())
                    .map_or_else(|| "<regex out of range>".into(), |r| quoted(r));
                vec![t("("), E(operand), T(format!(" matches {pattern})"))]
            }
            ExprKind::If {
                cond,
                then,
                otherwise,
            } => vec![
                t("(if "),
                E(cond),
                t(" then "),
                E(then),
                t(" else "),
                E(otherwise),
                t(")"),
            ],
            ExprKind::Call { func, args } => {
                let name = self
                    .program
                    .functions
                    .get(func.index())
                    .map_or("<fn out of range>", |f| f.name.as_str());
                list(T(format!("{name}(")), args, t(")"))
            }
            ExprKind::Builtin { builtin, args } => {
                list(T(format!("{}(", builtin.name())), args, t(")"))
            }
            ExprKind::Quantifier {
                all,
                var,
                set,
                body,
            } => vec![
                T(format!(
                    "({} %{}: {} in ",
                    if *all { "all" } else { "any" },
                    var.0,
                    self.ty(set.ty_elem())
                )),
                E(set),
                t(": "),
                E(body),
                t(")"),
            ],
            ExprKind::Filter { var, set, cond } => vec![
                T(format!("{{%{}: {} in ", var.0, self.ty(set.ty_elem()))),
                E(set),
                t(" | "),
                E(cond),
                t("}"),
            ],
            ExprKind::Related { rel, inverse, of } => {
                vec![E(of), T(format!(".{}", self.relation_name(*rel, *inverse)))]
            }
            ExprKind::Closure { rel, inverse, of } => vec![
                t("closure("),
                E(of),
                T(format!(", {})", self.relation_name(*rel, *inverse))),
            ],
            ExprKind::Path {
                rel,
                inverse,
                from,
                to,
            } => vec![
                t("path("),
                E(from),
                t(", "),
                E(to),
                T(format!(", {})", self.relation_name(*rel, *inverse))),
            ],
            ExprKind::InWindow { window, at } => vec![
                t("("),
                E(at),
                T(format!(" in {})", self.window_name(*window))),
            ],
            ExprKind::Remaining { window, at } => vec![
                T(format!("remaining({}, ", self.window_name(*window))),
                E(at),
                t(")"),
            ],
            ExprKind::Fits {
                window,
                at,
                duration,
            } => vec![
                T(format!("fits({}, ", self.window_name(*window))),
                E(at),
                t(", "),
                E(duration),
                t(")"),
            ],
            ExprKind::NextOpen { window, at } => vec![
                T(format!("next_open({}, ", self.window_name(*window))),
                E(at),
                t(")"),
            ],
            ExprKind::LocalTime { part, at, timezone } => {
                let name = match part {
                    TimePart::Hour => "hour",
                    TimePart::Weekday => "weekday",
                };
                vec![
                    T(format!("{name}(")),
                    E(at),
                    T(format!(", {})", quoted(timezone))),
                ]
            }
        }
    }
}

/// A piece of an expression's text: literal text, or a child still to print.
enum Piece<'e> {
    Text(String),
    Expr(&'e Expr),
}

/// `open`, the items separated by `, `, then `close`.
fn list<'e>(open: Piece<'e>, items: &'e [Expr], close: Piece<'e>) -> Vec<Piece<'e>> {
    let mut out = Vec::with_capacity(items.len() * 2 + 1);
    out.push(open);
    for (i, item) in items.iter().enumerate() {
        if i > 0 {
            out.push(Piece::Text(", ".to_string()));
        }
        out.push(Piece::Expr(item));
    }
    out.push(close);
    out
}

impl Expr {
    /// The element type of a set-typed expression (the expression's own type otherwise).
    fn ty_elem(&self) -> &Type {
        match &self.ty {
            Type::Set(inner) => inner,
            other => other,
        }
    }
}
