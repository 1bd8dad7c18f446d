//! Printing declarations: the layout of every item, block and clause.
//!
//! Each construct becomes one or more [`Printer`] lines, each carrying the source span it
//! prints so that comments land next to it. Expressions come from [`ExprPrinter`]. The rules
//! are listed in the module documentation of `format`.

use crate::Span;
use crate::ast::{
    ActionDecl, ContextDecl, Effect, EffectKind, EntityDecl, EntityEntry, EnumDecl, Expectation,
    Expr, FieldDecl, File, FnDecl, Item, OnTargets, RecordField, RuleDecl, TestCase, TestDecl,
    TestEntities, WindowDecl, WindowLine, WindowLineKind,
};

use super::MAX_WIDTH;
use super::expr::{self, ExprPrinter};
use super::printer::Printer;

/// Continuation lines of a wrapped condition are indented this much more than its first line.
const CONTINUATION: usize = 4;

pub(super) fn print_file(src: &str, file: &File) -> String {
    let mut f = Formatter {
        p: Printer::new(src, &file.comments),
        e: ExprPrinter::new(src),
    };
    let mut prev: Option<Option<u8>> = None;
    for item in &file.items {
        f.p.flush_trailing();
        let mark = f.p.mark();
        let before = f.p.code_lines();
        f.item(item);
        let group = (f.p.code_lines() - before == 1).then(|| group(item));
        // Consecutive one-line declarations of one kind keep the user's grouping; everything
        // else is separated by one blank line.
        if let Some(prev) = prev
            && (prev.is_none() || prev != group)
        {
            f.p.ensure_blank_at(mark);
        }
        prev = Some(group);
    }
    f.p.finish()
}

/// The kinds of declaration that may stand together without blank lines when each is on one
/// line: `const` and `fn` count as one kind.
fn group(item: &Item) -> u8 {
    match item {
        Item::Use(_) => 0,
        Item::Enum(_) => 1,
        Item::Entity(_) => 2,
        Item::Relation(_) => 3,
        Item::Context(_) => 4,
        Item::Action(_) => 5,
        Item::Window(_) => 6,
        Item::Const(_) | Item::Fn(_) => 7,
        Item::Default(_) => 8,
        Item::Rule(_) => 9,
        Item::Test(_) => 10,
    }
}

struct Formatter<'a> {
    p: Printer<'a>,
    e: ExprPrinter<'a>,
}

fn width(text: &str) -> usize {
    text.chars().count()
}

fn span(start: usize, end: usize) -> Span {
    Span::new(start, end)
}

impl Formatter<'_> {
    fn fits(&self, text: &str) -> bool {
        self.p.indent_width() + width(text) <= MAX_WIDTH && !text.contains('\n')
    }

    fn item(&mut self, item: &Item) {
        match item {
            Item::Use(it) => {
                let mut text = String::from("use ");
                let path: Vec<&str> = it.path.iter().map(|i| i.name.as_str()).collect();
                text.push_str(&path.join("."));
                if let Some(names) = &it.names {
                    let names: Vec<&str> = names.iter().map(|i| i.name.as_str()).collect();
                    text.push_str(".{");
                    text.push_str(&names.join(", "));
                    text.push('}');
                }
                self.p.line(&text, it.span);
            }
            Item::Enum(it) => self.enum_decl(it),
            Item::Entity(it) => self.entity(it),
            Item::Relation(it) => {
                let text = format!(
                    "relation {}: {} -> {}",
                    it.name.name,
                    expr::type_expr(&it.from),
                    expr::type_expr(&it.to)
                );
                self.p.line(&text, it.span);
            }
            Item::Context(it) => self.context(it),
            Item::Action(it) => self.action(it),
            Item::Window(it) => self.window(it),
            Item::Const(it) => {
                let mut head = format!("const {}", it.name.name);
                if let Some(ty) = &it.ty {
                    head.push_str(": ");
                    head.push_str(&expr::type_expr(ty));
                }
                self.definition(&head, &it.value, it.span);
            }
            Item::Fn(it) => self.fn_decl(it),
            Item::Default(it) => {
                let text = format!("default {}", self.effect(&it.effect));
                self.p.line(&text, it.span);
            }
            Item::Rule(it) => self.rule(it),
            Item::Test(it) => self.test(it),
        }
    }

    /// The offset of the `}` that ends a block item.
    fn closing_brace(&self, item: Span) -> usize {
        let src = self.p.src();
        src.get(item.range())
            .and_then(|text| text.rfind('}'))
            .map_or(item.end.saturating_sub(1) as usize, |n| {
                item.start as usize + n
            })
    }

    /// A block: `head {`, one line per entry, `}`; or `head {}` when empty.
    fn block(&mut self, head: &str, head_end: usize, item: Span, entries: &[(String, Span)]) {
        if entries.is_empty() && !self.p.has_comment_in(item) {
            self.p.line(&format!("{head} {{}}"), item);
            return;
        }
        self.p
            .line(&format!("{head} {{"), span(item.start as usize, head_end));
        self.p.open();
        for (text, at) in entries {
            self.p.line(text, *at);
        }
        let close = self.closing_brace(item);
        self.p.close(close, "", None);
    }

    /// A block that stays on one line (`head { a, b }`) when it fits and holds no comment.
    fn short_block(
        &mut self,
        head: &str,
        head_end: usize,
        item: Span,
        entries: &[(String, Span)],
        separator: &str,
    ) {
        if !entries.is_empty() && !self.p.has_comment_in(item) {
            let texts: Vec<&str> = entries.iter().map(|(t, _)| t.as_str()).collect();
            let text = format!("{head} {{ {} }}", texts.join(separator));
            if self.fits(&text) {
                self.p.line(&text, item);
                return;
            }
        }
        self.block(head, head_end, item, entries);
    }

    fn fields(fields: &[FieldDecl]) -> Vec<(String, Span)> {
        fields
            .iter()
            .map(|f| {
                (
                    format!("{}: {}", f.name.name, expr::type_expr(&f.ty)),
                    f.span,
                )
            })
            .collect()
    }

    fn enum_decl(&mut self, it: &EnumDecl) {
        let variants: Vec<(String, Span)> = it
            .variants
            .iter()
            .map(|v| (v.name.name.clone(), v.name.span))
            .collect();
        let head = format!("enum {}", it.name.name);
        self.short_block(&head, it.name.span.end as usize, it.span, &variants, ", ");
    }

    fn entity(&mut self, it: &EntityDecl) {
        let head = format!("entity {}", it.name.name);
        self.block(
            &head,
            it.name.span.end as usize,
            it.span,
            &Self::fields(&it.fields),
        );
    }

    fn context(&mut self, it: &ContextDecl) {
        self.block(
            "context",
            it.keyword.end as usize,
            it.span,
            &Self::fields(&it.fields),
        );
    }

    fn action(&mut self, it: &ActionDecl) {
        let head = format!("action {}", it.name.name);
        let fields = Self::fields(&it.fields);
        self.short_block(&head, it.name.span.end as usize, it.span, &fields, ", ");
    }

    fn window(&mut self, it: &WindowDecl) {
        let lines: Vec<(String, Span)> = it
            .lines
            .iter()
            .map(|l| (self.window_line(l), l.span))
            .collect();
        let head = format!("window {}", it.name.name);
        self.block(&head, it.name.span.end as usize, it.span, &lines);
    }

    fn window_line(&self, line: &WindowLine) -> String {
        match &line.kind {
            WindowLineKind::Timezone(tz) => format!("timezone {}", expr::str_lit(&tz.value)),
            WindowLineKind::Weekly {
                start_day,
                start,
                end_day,
                end,
            } => format!(
                "weekly {} {} - {} {}",
                start_day.value.name(),
                expr::time_of_day(start.value),
                end_day.value.name(),
                expr::time_of_day(end.value)
            ),
            WindowLineKind::Daily { start, end, days } => {
                let mut text = format!(
                    "daily {} - {}",
                    expr::time_of_day(start.value),
                    expr::time_of_day(end.value)
                );
                if !days.is_empty() {
                    let days: Vec<String> = days.iter().map(expr::day_spec).collect();
                    text.push_str(" on ");
                    text.push_str(&days.join(", "));
                }
                text
            }
            WindowLineKind::Between { from, to } => format!(
                "between {} and {}",
                self.e.timestamp(from.value, from.span),
                self.e.timestamp(to.value, to.span)
            ),
            WindowLineKind::Except(name) => format!("except {}", name.name),
        }
    }

    fn fn_decl(&mut self, it: &FnDecl) {
        let params: Vec<String> = it
            .params
            .iter()
            .map(|p| format!("{}: {}", p.name.name, expr::type_expr(&p.ty)))
            .collect();
        let head = format!(
            "fn {}({}) -> {}",
            it.name.name,
            params.join(", "),
            expr::type_expr(&it.ret)
        );
        self.definition(&head, &it.body, it.span);
    }

    /// `head = value` on one line when it fits; else the value on the next line, indented, and
    /// wrapped at its top-level `and`/`or` when still too long.
    fn definition(&mut self, head: &str, value: &Expr, at: Span) {
        let flat = format!("{head} = {}", self.e.expr(value));
        if self.fits(&flat) {
            self.p.line(&flat, at);
            return;
        }
        let body_col = self.p.indent_width() + 2;
        let body = self.wrap(value, body_col, 2 + CONTINUATION);
        self.p.line(&format!("{head} =\n  {body}"), at);
    }

    /// `e` on one line when it fits from column `col`; else broken before each operator of its
    /// outermost `or`/`and` chain, continuation lines indented by `indent` spaces.
    fn wrap(&self, e: &Expr, col: usize, indent: usize) -> String {
        let flat = self.e.expr(e);
        if col + width(&flat) <= MAX_WIDTH {
            return flat;
        }
        let Some((op, parts)) = self.e.chain(e) else {
            return flat;
        };
        let pad = " ".repeat(indent);
        let mut out = String::new();
        for (idx, part) in parts.iter().enumerate() {
            if idx > 0 {
                out.push('\n');
                out.push_str(&pad);
                out.push_str(op);
                out.push(' ');
            }
            out.push_str(part);
        }
        out
    }

    fn effect(&self, effect: &Effect) -> String {
        match &effect.kind {
            EffectKind::Allow => "allow".to_owned(),
            EffectKind::Deny => "deny".to_owned(),
            EffectKind::RequireApproval { from: None } => "require approval".to_owned(),
            EffectKind::RequireApproval { from: Some(from) } => {
                format!("require approval from {}", self.e.expr(from))
            }
        }
    }

    fn rule(&mut self, it: &RuleDecl) {
        let head = format!("rule {} {{", it.name.name);
        self.p.line(
            &head,
            span(it.span.start as usize, it.name.span.end as usize),
        );
        self.p.open();
        let on = match &it.on.targets {
            OnTargets::All => "on *".to_owned(),
            OnTargets::Actions(actions) => {
                let names: Vec<&str> = actions.iter().map(|a| a.name.as_str()).collect();
                format!("on {}", names.join(", "))
            }
        };
        self.p.line(&on, it.on.span);
        for cond in &it.when {
            let col = self.p.indent_width() + "when ".len();
            let text = format!("when {}", self.wrap(cond, col, CONTINUATION));
            self.p.line(&text, cond.span);
        }
        let effect = self.effect(&it.effect);
        self.p.line(&effect, it.effect.span);
        if let Some(msg) = &it.because {
            let text = format!("because {}", self.e.message(msg));
            self.p.line(&text, msg.span);
        }
        let close = self.closing_brace(it.span);
        self.p.close(close, "", None);
    }

    fn test(&mut self, it: &TestDecl) {
        let head = format!("test {} {{", expr::str_lit(&it.name.value));
        self.p.line(
            &head,
            span(it.span.start as usize, it.name.span.end as usize),
        );
        self.p.open();
        match &it.entities {
            None => {}
            Some(TestEntities::From(path)) => {
                let text = format!("entities from {}", expr::str_lit(&path.value));
                self.p.line(&text, path.span);
            }
            Some(TestEntities::Inline { span: at, entries }) => {
                if entries.is_empty() && !self.p.has_comment_in(*at) {
                    self.p.line("entities {}", *at);
                } else {
                    let head_end = at.start as usize + "entities".len();
                    self.p.line("entities {", span(at.start as usize, head_end));
                    self.p.open();
                    for entry in entries {
                        self.entity_entry(entry);
                    }
                    let close = self.closing_brace(*at);
                    self.p.close(close, "", None);
                }
            }
        }
        for case in &it.cases {
            self.case(case);
        }
        let close = self.closing_brace(it.span);
        self.p.close(close, "", None);
    }

    fn entity_entry(&mut self, entry: &EntityEntry) {
        match entry {
            EntityEntry::Entity {
                span: at,
                ty,
                id,
                attrs,
            } => {
                let head = format!("{}::{}", ty.name, expr::str_lit(&id.value));
                let open = self.next_code(id.span.end as usize);
                let close = self.closing_brace(*at);
                self.record(&head, attrs, *at, open, close, "");
            }
            EntityEntry::Edge {
                span: at,
                from,
                relation,
                to,
            } => {
                let text = format!(
                    "{} {} {}",
                    self.e.expr(from),
                    relation.name,
                    self.e.expr(to)
                );
                self.p.line(&text, *at);
            }
        }
    }

    fn record_fields(&self, fields: &[RecordField]) -> Vec<String> {
        fields
            .iter()
            .map(|f| format!("{}: {}", f.name.name, self.e.expr(&f.value)))
            .collect()
    }

    /// `head { a: 1, b: 2 }suffix` on one line when it fits and holds no comment; else one
    /// field per line. `open` and `close` are the offsets of the braces, `at` the span from the
    /// head to the closing brace.
    fn record(
        &mut self,
        head: &str,
        fields: &[RecordField],
        at: Span,
        open: usize,
        close: usize,
        suffix: &str,
    ) {
        let texts = self.record_fields(fields);
        let flat = record_text(head, &texts, suffix);
        if self.fits(&flat) && !self.p.has_comment_in(at) {
            self.p.line(&flat, at);
            return;
        }
        self.expanded_record(head, fields, at.start as usize, open, close, suffix);
    }

    fn expanded_record(
        &mut self,
        head: &str,
        fields: &[RecordField],
        start: usize,
        open: usize,
        close: usize,
        suffix: &str,
    ) {
        let texts = self.record_fields(fields);
        self.p.line(&format!("{head} {{"), span(start, open + 1));
        self.p.open();
        for (text, field) in texts.iter().zip(fields) {
            self.p.line(text, field.span);
        }
        self.p.close(close, suffix, None);
    }

    /// The offset of the next character at or after `pos` that is neither white space nor
    /// part of a comment.
    fn next_code(&self, mut pos: usize) -> usize {
        let src = self.p.src();
        let bytes = src.as_bytes();
        while pos < bytes.len() {
            match bytes[pos] {
                b if b.is_ascii_whitespace() => pos += 1,
                b'/' if bytes.get(pos + 1) == Some(&b'/') => {
                    pos = src[pos..].find('\n').map_or(src.len(), |n| pos + n);
                }
                _ => return pos,
            }
        }
        pos
    }

    /// The offset of the `}` closing a record whose `{` is at `open` and whose last field
    /// ends at `last_end` (commas and comments skipped).
    fn record_close(&self, open: usize, last_end: Option<usize>) -> usize {
        let mut pos = last_end.unwrap_or(open + 1);
        loop {
            pos = self.next_code(pos);
            if self.p.src().as_bytes().get(pos) == Some(&b',') {
                pos += 1;
            } else {
                return pos;
            }
        }
    }

    fn case(&mut self, case: &TestCase) {
        let head = format!("request {}", case.action.name);
        let args_open = self.next_code(case.action.span.end as usize);
        let args_close =
            self.record_close(args_open, case.args.last().map(|f| f.span.end as usize));
        let args = self.record_fields(&case.args);
        let with = (!case.context.is_empty()).then(|| {
            let first = case.context[0].span.start as usize;
            let open = self.p.src()[..first].rfind('{').unwrap_or(first);
            let close = self.record_close(open, case.context.last().map(|f| f.span.end as usize));
            (open, close, self.record_fields(&case.context))
        });
        let at = case
            .at
            .map(|t| format!("at {}", self.e.timestamp(t.value, t.span)));
        let request_end = [
            Some(args_close + 1),
            with.as_ref().map(|w| w.1 + 1),
            case.at.map(|t| t.span.end as usize),
        ]
        .into_iter()
        .flatten()
        .max()
        .unwrap_or(args_close + 1);
        let whole = span(case.span.start as usize, request_end);

        // All on one line.
        let mut flat = record_text(&head, &args, "");
        if let Some((_, _, fields)) = &with {
            flat.push(' ');
            flat.push_str(&record_text("with", fields, ""));
        }
        if let Some(at) = &at {
            flat.push(' ');
            flat.push_str(at);
        }
        if self.fits(&flat) && !self.p.has_comment_in(whole) {
            self.p.line(&flat, whole);
            self.expect(&case.expect);
            return;
        }
        // `with { … } at …`, as one piece of text when it holds no comment.
        let with_start = with
            .as_ref()
            .map(|(open, _, _)| self.p.src()[..*open].rfind("with").unwrap_or(*open));
        let tail_end = case
            .at
            .map(|t| t.span.end as usize)
            .or(with.as_ref().map(|w| w.1 + 1));
        let tail_text = match (&with, &at) {
            (Some((_, _, fields)), Some(at)) => {
                Some(record_text("with", fields, &format!(" {at}")))
            }
            (Some((_, _, fields)), None) => Some(record_text("with", fields, "")),
            (None, Some(at)) => Some(at.clone()),
            (None, None) => None,
        };
        let tail_start = with_start.or(case.at.map(|t| t.span.start as usize));
        let tail_span = tail_start.zip(tail_end).map(|(s, e)| span(s, e));
        let tail_clean = tail_span.is_none_or(|s| !self.p.has_comment_in(s));
        let args_span = span(case.span.start as usize, args_close + 1);
        let args_flat = record_text(&head, &args, "");
        let mut tail_written = tail_text.is_none();
        if self.fits(&args_flat) && !self.p.has_comment_in(args_span) {
            self.p.line(&args_flat, args_span);
        } else {
            // One argument per line; `with`/`at` follow the `}` when they fit there.
            let suffix = tail_text
                .as_ref()
                .map(|t| format!(" {t}"))
                .filter(|t| tail_clean && self.fits(&format!("}}{t}")));
            let suffix_span = suffix.as_ref().and(tail_span);
            tail_written |= suffix.is_some();
            self.p.line(
                &format!("{head} {{"),
                span(case.span.start as usize, args_open + 1),
            );
            self.p.open();
            for (text, field) in args.iter().zip(&case.args) {
                self.p.line(text, field.span);
            }
            self.p
                .close(args_close, suffix.as_deref().unwrap_or(""), suffix_span);
        }
        if !tail_written {
            // `with` and `at` continue on the next line, indented.
            self.p.open();
            match (&with, with_start) {
                (Some((open, close, _)), Some(with_start)) => {
                    let suffix = at.as_ref().map(|a| format!(" {a}")).unwrap_or_default();
                    let with_span = span(with_start, close + 1);
                    let text = record_text("with", &self.record_fields(&case.context), &suffix);
                    if self.fits(&text) && !self.p.has_comment_in(with_span) {
                        let end = case.at.map_or(close + 1, |t| t.span.end as usize);
                        self.p.line(&text, span(with_start, end));
                    } else {
                        self.expanded_record(
                            "with",
                            &case.context,
                            with_start,
                            *open,
                            *close,
                            &suffix,
                        );
                    }
                }
                _ => {
                    if let (Some(text), Some(t)) = (&at, case.at) {
                        self.p.line(text, t.span);
                    }
                }
            }
            self.p.dedent();
        }
        self.expect(&case.expect);
    }

    fn expect(&mut self, expect: &Expectation) {
        let mut text = format!("expect {}", self.effect(&expect.effect));
        if let Some(rules) = &expect.by {
            let names: Vec<&str> = rules.iter().map(|r| r.name.as_str()).collect();
            text.push_str(" by ");
            text.push_str(&names.join(", "));
        }
        self.p.line(&text, expect.span);
    }
}

fn record_text(head: &str, fields: &[String], suffix: &str) -> String {
    if fields.is_empty() {
        format!("{head} {{}}{suffix}")
    } else {
        format!("{head} {{ {} }}{suffix}", fields.join(", "))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn records_print_on_one_line_when_short() {
        assert_eq!(record_text("with", &[], ""), "with {}");
        assert_eq!(
            record_text("with", &["a: 1".into(), "b: 2".into()], " at X"),
            "with { a: 1, b: 2 } at X"
        );
    }
}
