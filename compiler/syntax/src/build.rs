//! From pest pairs to the AST.
//!
//! The builder walks the pairs of one declaration (or one expression), computes file spans,
//! checks the literals the grammar reads leniently, reports the mistakes the grammar accepts on
//! purpose (`=` for `==`, `&&`, chained comparisons, a rule without effect) and attaches doc
//! comments. It knows the grammar's rules and the AST; it does not know about files or IO.
//! Its submodule `fast` parses well-formed `rule` and `const` declarations without pest.

use crate::ast::{self, Expr, ExprKind, Ident, Spanned};
use crate::errors::{self, Context};
use crate::grammar::{Rule, WardParser};
use crate::literal::{self, LiteralError};
use crate::message::{self, Piece};
use crate::scan::{self, Chunk, MAX_NESTING, MAX_OPERATORS};
use crate::{Diagnostic, Span, codes};
use pest::Parser;
use pest::iterators::Pair;
use ward_ir::MAX_DEPTH;

mod fast;

/// How offsets in the text given to pest become offsets in the file.
#[derive(Debug)]
pub(crate) enum SpanMap {
    /// The text starts at this offset of the file.
    Offset(usize),
    /// The text was decoded from the file (a `{…}` hole): one file offset per byte, plus one
    /// for the end.
    Table(Vec<usize>),
}

impl SpanMap {
    fn at(&self, local: usize) -> usize {
        match self {
            SpanMap::Offset(o) => o + local,
            SpanMap::Table(t) => t.get(local).or(t.last()).copied().unwrap_or(0),
        }
    }

    fn span(&self, local: Span) -> Span {
        Span::new(self.at(local.start as usize), self.at(local.end as usize))
    }
}

pub(crate) struct Builder<'a> {
    text: &'a str,
    comments: &'a [ast::Comment],
    map: SpanMap,
    diags: &'a mut Vec<Diagnostic>,
    /// How many expression nodes lie above the one being built (0 at a root expression).
    level: usize,
    /// Whether this declaration was already reported as nesting beyond [`MAX_DEPTH`].
    too_deep: bool,
}

/// The stack a declaration nesting `nesting` levels (brackets, `if`, `any`, `all`) may need
/// to be parsed and built in a debug build: pest's descent costs about 30 KiB a bracket there,
/// and the tree's own passes (the debug cross-check compares and drops trees up to `MAX_DEPTH`
/// deep) under 1 MiB.
fn parse_stack(nesting: usize) -> usize {
    (1 << 20) + nesting * (32 << 10)
}

/// Run `f` with at least `need` bytes of stack, moving to a heap segment (the `stacker`
/// crate) when the thread has less. Pest stops with an error when its stack runs low rather
/// than overflow, so this is what lets every declaration within the scanner's nesting limit
/// parse on any thread, the 2 MiB ones of the test harness included.
fn with_stack<R>(need: usize, f: impl FnOnce() -> R) -> R {
    stacker::maybe_grow(need, 2 * need, f)
}

/// Parse `text` as one expression; spans go through `map`.
pub(crate) fn parse_expr_with(text: &str, map: &SpanMap, diags: &mut Vec<Diagnostic>) -> Expr {
    let whole = Span::new(map.at(0), map.at(text.len()));
    let scanned = scan::scan(text);
    let nesting = scanned.chunks.iter().map(|c| c.nesting).max().unwrap_or(0);
    if let Some(d) = too_deep_scanned(&scanned, whole) {
        diags.push(d);
        return Expr {
            span: whole,
            kind: ExprKind::Error,
        };
    }
    with_stack(parse_stack(nesting), || {
        parse_expr_unguarded(text, map, diags)
    })
}

fn parse_expr_unguarded(text: &str, map: &SpanMap, diags: &mut Vec<Diagnostic>) -> Expr {
    let whole = Span::new(map.at(0), map.at(text.len()));
    let map = match map {
        SpanMap::Offset(o) => SpanMap::Offset(*o),
        SpanMap::Table(t) => SpanMap::Table(t.clone()),
    };
    let mut builder = Builder {
        text: "",
        comments: &[],
        map,
        diags,
        level: 0,
        too_deep: false,
    };
    match WardParser::parse(Rule::expr_only, text) {
        Ok(mut pairs) => {
            let inner = pairs.next().and_then(|p| p.into_inner().next());
            match inner {
                Some(p) => builder.expr(p),
                None => Expr {
                    span: whole,
                    kind: ExprKind::Error,
                },
            }
        }
        Err(e) => {
            let d = errors::translate(
                text,
                &e,
                &Context {
                    after: "the end of the expression",
                },
            );
            builder.push_local(d);
            Expr {
                span: whole,
                kind: ExprKind::Error,
            }
        }
    }
}

/// Parse every declaration of `text` that the fast path accepts with pest too, and compare:
/// the number of declarations both parsed the same, or what differs. See [`crate::cross_check`].
pub(crate) fn cross_check(text: &str) -> Result<usize, String> {
    let scanned = scan::scan(text);
    let mut compared = 0;
    for chunk in &scanned.chunks {
        let mut diags = Vec::new();
        let builder = Builder::new(text, &scanned.comments, chunk.start, &mut diags);
        if too_deep_chunk(
            chunk.nesting,
            chunk.operators,
            Span::new(chunk.start, chunk.end),
        )
        .is_some()
        {
            continue;
        }
        let agreed = with_stack(parse_stack(chunk.nesting), || {
            builder
                .fast_item(chunk)
                .map(|item| builder.agrees_with_pest(chunk, &item))
        });
        if let Some(result) = agreed {
            result?;
            compared += 1;
        }
    }
    Ok(compared)
}

/// Refuse text nested so deeply (or with so many operators) that a parser or a later pass
/// could exhaust its stack.
fn too_deep(text: &str, whole: Span) -> Option<Diagnostic> {
    too_deep_scanned(&scan::scan(text), whole)
}

fn too_deep_scanned(scanned: &scan::Scanned, whole: Span) -> Option<Diagnostic> {
    let nesting = scanned.chunks.iter().map(|c| c.nesting).max().unwrap_or(0);
    let operators: usize = scanned.chunks.iter().map(|c| c.operators).sum();
    too_deep_chunk(nesting, operators, whole)
}

fn too_deep_chunk(nesting: usize, operators: usize, span: Span) -> Option<Diagnostic> {
    if nesting > MAX_NESTING {
        return Some(
            Diagnostic::error(
                codes::TOO_DEEP,
                format!("this declaration nests more than {MAX_NESTING} levels deep"),
                Span::new(span.start as usize, span.start as usize),
            )
            .with_help("split it into smaller functions or constants"),
        );
    }
    if operators > MAX_OPERATORS {
        return Some(
            Diagnostic::error(
                codes::TOO_DEEP,
                format!("this declaration has more than {MAX_OPERATORS} operators"),
                Span::new(span.start as usize, span.start as usize),
            )
            .with_help("split it into smaller functions or constants"),
        );
    }
    None
}

type P<'i> = Pair<'i, Rule>;

impl<'a> Builder<'a> {
    pub(crate) fn new(
        text: &'a str,
        comments: &'a [ast::Comment],
        offset: usize,
        diags: &'a mut Vec<Diagnostic>,
    ) -> Builder<'a> {
        Builder {
            text,
            comments,
            map: SpanMap::Offset(offset),
            diags,
            level: 0,
            too_deep: false,
        }
    }

    /// Parse and build one top-level chunk of the file.
    pub(crate) fn chunk(&mut self, chunk: &Chunk) -> Option<ast::Item> {
        let whole = Span::new(chunk.start, chunk.end);
        if let Some(d) = too_deep_chunk(chunk.nesting, chunk.operators, whole) {
            self.diags.push(d);
            return None;
        }
        with_stack(parse_stack(chunk.nesting), || self.chunk_unguarded(chunk))
    }

    fn chunk_unguarded(&mut self, chunk: &Chunk) -> Option<ast::Item> {
        if let Some(item) = self.fast_item(chunk) {
            #[cfg(debug_assertions)]
            if let Err(why) = self.agrees_with_pest(chunk, &item) {
                panic!("{why}");
            }
            return Some(item);
        }
        self.chunk_with_pest(chunk)
    }

    /// The declaration as the fast path builds it, doc comment attached; `None` when the fast
    /// path leaves it to pest.
    fn fast_item(&self, chunk: &Chunk) -> Option<ast::Item> {
        let source = &self.text[chunk.start..chunk.end];
        let mut item = fast::item(source, &self.map)?;
        let doc = self.doc_before(item.span());
        match &mut item {
            ast::Item::Rule(r) => r.doc = doc,
            ast::Item::Const(c) => c.doc = doc,
            _ => {}
        }
        Some(item)
    }

    /// Parse the declaration with pest as well: it must give no diagnostic and the same tree
    /// as the fast path did. Debug builds run this on every declaration the fast path takes;
    /// [`cross_check`] runs it on demand, in any build.
    fn agrees_with_pest(&self, chunk: &Chunk, fast: &ast::Item) -> Result<(), String> {
        let mut diags = Vec::new();
        let mut builder = Builder::new(self.text, self.comments, chunk.start, &mut diags);
        let slow = builder.chunk_with_pest(chunk);
        if diags.is_empty() && slow.as_ref() == Some(fast) {
            return Ok(());
        }
        Err(format!(
            "the fast path and pest disagree on {:?}: {diags:?}\nfast: {fast:?}\npest: {slow:?}",
            &self.text[chunk.start..chunk.end],
        ))
    }

    fn chunk_with_pest(&mut self, chunk: &Chunk) -> Option<ast::Item> {
        let source = &self.text[chunk.start..chunk.end];
        match WardParser::parse(Rule::chunk, source) {
            Ok(mut pairs) => {
                let item = pairs.next()?.into_inner().next()?;
                self.item(item)
            }
            Err(e) => {
                let after = match scan::next_token(self.text, chunk.end) {
                    Some(t) => errors::quote(&self.text[t.start..t.end]),
                    None => "end of file".to_string(),
                };
                let d = errors::translate(source, &e, &Context { after: &after });
                self.push_local(d);
                None
            }
        }
    }

    fn push_local(&mut self, mut d: Diagnostic) {
        for label in &mut d.labels {
            label.span = self.map.span(label.span);
        }
        self.diags.push(d);
    }

    /// The span of a pair without the white space and comments that pest lets a trailing
    /// optional or repeated part consume.
    fn span(&self, p: &P<'_>) -> Span {
        let start = p.as_span().start();
        let mut end = p.as_span().end();
        // Trailing white space (or a comment, which runs to a line break or the end of the
        // text) is the only sign of it; most pairs end on their own last token.
        let tail = p.as_str().as_bytes().last();
        let at_text_end = end == p.as_span().get_input().len();
        if !at_text_end && !tail.is_some_and(u8::is_ascii_whitespace) {
            return Span::new(self.map.at(start), self.map.at(end));
        }
        let input = p.as_span().get_input().as_bytes();
        loop {
            while end > start && input[end - 1].is_ascii_whitespace() {
                end -= 1;
            }
            // A comment that ends here (comments are sorted, so also by their ends).
            let SpanMap::Offset(offset) = self.map else {
                break;
            };
            let abs = offset + end;
            let idx = self
                .comments
                .partition_point(|c| (c.span.end as usize) < abs);
            match self.comments.get(idx) {
                Some(c)
                    if c.span.end as usize == abs && c.span.start as usize >= offset + start =>
                {
                    end = c.span.start as usize - offset;
                }
                _ => break,
            }
        }
        Span::new(self.map.at(start), self.map.at(end))
    }

    fn error(
        &mut self,
        code: &'static str,
        message: impl Into<String>,
        span: Span,
    ) -> &mut Diagnostic {
        self.diags.push(Diagnostic::error(code, message, span));
        let last = self.diags.len() - 1;
        &mut self.diags[last]
    }

    fn literal_error(&mut self, code: &'static str, e: LiteralError, base: usize) {
        let span = Span::new(self.map.at(base + e.start), self.map.at(base + e.end));
        let mut d = Diagnostic::error(code, e.message, span);
        d.help = e.help;
        self.diags.push(d);
    }

    /// The `///` comments directly before `pos` (only white space between), joined by lines.
    fn doc_before(&self, pos: Span) -> Option<String> {
        let mut pos = pos.start as usize;
        let mut idx = self
            .comments
            .partition_point(|c| (c.span.end as usize) <= pos);
        let mut lines = Vec::new();
        while idx > 0 {
            let c = &self.comments[idx - 1];
            let gap = self.text.get(c.span.end as usize..pos).unwrap_or("x");
            if !c.doc || !gap.trim().is_empty() || !self.starts_line(c.span.start as usize) {
                break;
            }
            lines.push(c.text.strip_prefix(' ').unwrap_or(&c.text).to_string());
            pos = c.span.start as usize;
            idx -= 1;
        }
        if lines.is_empty() {
            return None;
        }
        lines.reverse();
        Some(lines.join("\n"))
    }

    fn starts_line(&self, pos: usize) -> bool {
        let line_start = self.text[..pos].rfind('\n').map_or(0, |n| n + 1);
        self.text[line_start..pos].trim().is_empty()
    }

    fn ident(&self, p: &P<'_>) -> Ident {
        Ident {
            name: p.as_str().to_string(),
            span: self.span(p),
        }
    }

    // -----------------------------------------------------------------------------------------
    // Declarations

    fn item(&mut self, p: P<'_>) -> Option<ast::Item> {
        let span = self.span(&p);
        let doc = self.doc_before(span);
        let rule = p.as_rule();
        let mut inner = p.into_inner().peekable();
        let keyword = inner.next().map(|k| self.span(&k)).unwrap_or(span);
        let item = match rule {
            Rule::use_decl => {
                let mut path = Vec::new();
                let mut names = None;
                for q in inner {
                    match q.as_rule() {
                        Rule::ident => path.push(self.ident(&q)),
                        Rule::use_names => {
                            names = Some(
                                q.into_inner()
                                    .filter(|n| n.as_rule() == Rule::ident)
                                    .map(|n| self.ident(&n))
                                    .collect(),
                            );
                        }
                        _ => {}
                    }
                }
                ast::Item::Use(ast::UseDecl { span, path, names })
            }
            Rule::enum_decl => {
                let name = self.ident(&inner.next()?);
                let variants = inner
                    .filter(|q| q.as_rule() == Rule::variant)
                    .map(|q| {
                        let span = self.span(&q);
                        ast::Variant {
                            doc: self.doc_before(span),
                            name: Ident {
                                name: q.as_str().to_string(),
                                span,
                            },
                        }
                    })
                    .collect();
                ast::Item::Enum(ast::EnumDecl {
                    span,
                    doc,
                    name,
                    variants,
                })
            }
            Rule::entity_decl => {
                let name = self.ident(&inner.next()?);
                let fields = self.fields(inner);
                ast::Item::Entity(ast::EntityDecl {
                    span,
                    doc,
                    name,
                    fields,
                })
            }
            Rule::action_decl => {
                let name = self.ident(&inner.next()?);
                let fields = self.fields(inner);
                ast::Item::Action(ast::ActionDecl {
                    span,
                    doc,
                    name,
                    fields,
                })
            }
            Rule::context_decl => {
                let fields = self.fields(inner);
                ast::Item::Context(ast::ContextDecl {
                    span,
                    doc,
                    keyword,
                    fields,
                })
            }
            Rule::relation_decl => {
                let name = self.ident(&inner.next()?);
                let mut types = inner.filter(|q| q.as_rule() == Rule::type_expr);
                let from = self.type_expr(types.next()?);
                let to = self.type_expr(types.next()?);
                ast::Item::Relation(ast::RelationDecl {
                    span,
                    doc,
                    name,
                    from,
                    to,
                })
            }
            Rule::window_decl => {
                let name = self.ident(&inner.next()?);
                let lines = inner.filter_map(|q| self.window_line(q)).collect();
                ast::Item::Window(ast::WindowDecl {
                    span,
                    doc,
                    name,
                    lines,
                })
            }
            Rule::const_decl => {
                let name = self.ident(&inner.next()?);
                let mut ty = None;
                let mut value = None;
                for q in inner {
                    match q.as_rule() {
                        Rule::type_expr => ty = Some(self.type_expr(q)),
                        Rule::expr => value = Some(self.expr(q)),
                        _ => {}
                    }
                }
                ast::Item::Const(ast::ConstDecl {
                    span,
                    doc,
                    name,
                    ty,
                    value: value?,
                })
            }
            Rule::fn_decl => {
                let name = self.ident(&inner.next()?);
                let mut params = Vec::new();
                let mut ret = None;
                let mut body = None;
                for q in inner {
                    match q.as_rule() {
                        Rule::params => params = self.fields(q.into_inner()),
                        Rule::type_expr => ret = Some(self.type_expr(q)),
                        Rule::expr => body = Some(self.expr(q)),
                        _ => {}
                    }
                }
                ast::Item::Fn(ast::FnDecl {
                    span,
                    doc,
                    name,
                    params,
                    ret: ret?,
                    body: body?,
                })
            }
            Rule::default_decl => {
                let effect = self.effect(inner.next()?);
                for q in inner {
                    self.bad_from(&effect, &q);
                }
                ast::Item::Default(ast::DefaultDecl { span, effect })
            }
            Rule::rule_decl => ast::Item::Rule(self.rule(span, doc, inner)?),
            Rule::test_decl => ast::Item::Test(self.test(span, doc, inner)?),
            _ => return None,
        };
        Some(item)
    }

    fn fields<'i>(&mut self, pairs: impl Iterator<Item = P<'i>>) -> Vec<ast::FieldDecl> {
        let mut out = Vec::new();
        for q in pairs.filter(|q| q.as_rule() == Rule::field_decl) {
            let span = self.span(&q);
            let mut inner = q
                .into_inner()
                .filter(|r| matches!(r.as_rule(), Rule::ident | Rule::type_expr));
            let (Some(name), Some(ty)) = (inner.next(), inner.next()) else {
                continue;
            };
            out.push(ast::FieldDecl {
                span,
                doc: self.doc_before(span),
                name: self.ident(&name),
                ty: self.type_expr(ty),
            });
        }
        out
    }

    fn type_expr(&mut self, p: P<'_>) -> ast::TypeExpr {
        let span = self.span(&p);
        let mut inner = p.into_inner();
        let base = match inner.next() {
            Some(q) if q.as_rule() == Rule::set_type => {
                let set_span = self.span(&q);
                let element = q.into_inner().find(|r| r.as_rule() == Rule::type_expr);
                let element = match element {
                    Some(e) => self.type_expr(e),
                    None => ast::TypeExpr {
                        span: set_span,
                        kind: ast::TypeExprKind::Named(Ident {
                            name: String::new(),
                            span: set_span,
                        }),
                    },
                };
                ast::TypeExpr {
                    span: set_span,
                    kind: ast::TypeExprKind::Set(Box::new(element)),
                }
            }
            Some(q) => ast::TypeExpr {
                span: self.span(&q),
                kind: ast::TypeExprKind::Named(self.ident(&q)),
            },
            None => ast::TypeExpr {
                span,
                kind: ast::TypeExprKind::Named(Ident {
                    name: String::new(),
                    span,
                }),
            },
        };
        if inner.next().is_some() {
            ast::TypeExpr {
                span,
                kind: ast::TypeExprKind::Optional(Box::new(base)),
            }
        } else {
            base
        }
    }

    fn window_line(&mut self, p: P<'_>) -> Option<ast::WindowLine> {
        let span = self.span(&p);
        let rule = p.as_rule();
        let mut inner = p.into_inner().skip(1);
        let kind = match rule {
            Rule::timezone_line => ast::WindowLineKind::Timezone(self.str_lit(inner.next()?)),
            Rule::weekly_line => {
                let start_day = self.day(inner.next()?);
                let start = self.time_of_day(inner.next()?);
                inner.next();
                let end_day = self.day(inner.next()?);
                let end = self.time_of_day(inner.next()?);
                ast::WindowLineKind::Weekly {
                    start_day: start_day?,
                    start: start?,
                    end_day: end_day?,
                    end: end?,
                }
            }
            Rule::daily_line => {
                let start = self.time_of_day(inner.next()?);
                inner.next();
                let end = self.time_of_day(inner.next()?);
                let mut days = Vec::new();
                let mut ok = true;
                for q in inner.filter(|q| q.as_rule() == Rule::day_spec) {
                    let span = self.span(&q);
                    let mut ds = q.into_inner().filter(|d| d.as_rule() == Rule::day);
                    let first = ds.next().and_then(|d| self.day(d));
                    let last = match ds.next() {
                        Some(d) => self.day(d),
                        None => first,
                    };
                    match (first, last) {
                        (Some(first), Some(last)) => days.push(ast::DaySpec {
                            span,
                            first: first.value,
                            last: last.value,
                        }),
                        _ => ok = false,
                    }
                }
                if !ok {
                    return None;
                }
                ast::WindowLineKind::Daily {
                    start: start?,
                    end: end?,
                    days,
                }
            }
            Rule::between_line => {
                let from = self.timestamp(inner.next()?);
                inner.next();
                let to = self.timestamp(inner.next()?);
                ast::WindowLineKind::Between {
                    from: from?,
                    to: to?,
                }
            }
            Rule::except_line => ast::WindowLineKind::Except(self.ident(&inner.next()?)),
            _ => return None,
        };
        Some(ast::WindowLine { span, kind })
    }

    fn day(&mut self, p: P<'_>) -> Option<Spanned<ast::Weekday>> {
        let span = self.span(&p);
        match ast::Weekday::from_name(p.as_str()) {
            Some(value) => Some(Spanned { value, span }),
            None => {
                self.error(
                    codes::BAD_DAY,
                    format!("unknown day `{}`", p.as_str()),
                    span,
                )
                .help = Some("write one of `Mon`, `Tue`, `Wed`, `Thu`, `Fri`, `Sat`, `Sun`".into());
                None
            }
        }
    }

    fn time_of_day(&mut self, p: P<'_>) -> Option<Spanned<ast::TimeOfDay>> {
        let span = self.span(&p);
        match literal::time_of_day(p.as_str()) {
            Ok(minutes) => Some(Spanned {
                value: ast::TimeOfDay { minutes },
                span,
            }),
            Err(e) => {
                self.literal_error(codes::BAD_TIME_OF_DAY, e, p.as_span().start());
                None
            }
        }
    }

    fn timestamp(&mut self, p: P<'_>) -> Option<Spanned<ast::Timestamp>> {
        let span = self.span(&p);
        match literal::timestamp(p.as_str()) {
            Ok(seconds) => Some(Spanned {
                value: ast::Timestamp { seconds },
                span,
            }),
            Err(e) => {
                self.literal_error(codes::BAD_TIMESTAMP, e, p.as_span().start());
                None
            }
        }
    }

    /// A `string` or `bad_string` pair, decoded.
    fn str_lit(&mut self, p: P<'_>) -> ast::StrLit {
        let span = self.span(&p);
        let raw = p.as_str();
        let start = p.as_span().start();
        let body = if p.as_rule() == Rule::bad_string {
            self.unterminated(span);
            &raw[1..]
        } else {
            &raw[1..raw.len() - 1]
        };
        let (value, errors) = literal::string_body(body);
        for e in errors {
            self.literal_error(codes::BAD_ESCAPE, e, start + 1);
        }
        ast::StrLit { span, value }
    }

    fn unterminated(&mut self, span: Span) {
        self.error(codes::UNTERMINATED_STRING, "unterminated string", span)
            .help = Some("add the closing `\"`; a string cannot span lines (write `\\n`)".into());
    }

    fn rule<'i>(
        &mut self,
        span: Span,
        doc: Option<String>,
        inner: impl Iterator<Item = P<'i>>,
    ) -> Option<ast::RuleDecl> {
        let mut name = None;
        let mut on = None;
        let mut when = Vec::new();
        let mut effect = None;
        let mut because = None;
        for q in inner {
            match q.as_rule() {
                Rule::ident => name = Some(self.ident(&q)),
                Rule::on_clause => {
                    let on_span = self.span(&q);
                    let mut actions = Vec::new();
                    let mut all = false;
                    for a in q.into_inner() {
                        match a.as_rule() {
                            Rule::star => all = true,
                            Rule::ident => actions.push(self.ident(&a)),
                            _ => {}
                        }
                    }
                    let targets = if all {
                        ast::OnTargets::All
                    } else {
                        ast::OnTargets::Actions(actions)
                    };
                    on = Some(ast::OnClause {
                        span: on_span,
                        targets,
                    });
                }
                Rule::when_clause => {
                    if let Some(e) = q.into_inner().find(|e| e.as_rule() == Rule::expr) {
                        when.push(self.expr(e));
                    }
                }
                Rule::effect => effect = Some(self.effect(q)),
                Rule::bad_from => {
                    if let Some(effect) = &effect {
                        self.bad_from(effect, &q);
                    }
                }
                Rule::missing_effect => {
                    let at = self.span(&q);
                    let rule_name = name
                        .as_ref()
                        .map_or(String::new(), |n: &Ident| format!(" `{}`", n.name));
                    self.error(
                        codes::MISSING_EFFECT,
                        format!("the rule{rule_name} has no effect"),
                        at,
                    )
                    .help = Some(
                        "add `allow`, `deny` or `require approval` after the conditions".into(),
                    );
                    effect = Some(ast::Effect {
                        span: at,
                        kind: ast::EffectKind::Deny,
                    });
                }
                Rule::because_clause => {
                    if let Some(s) = q
                        .into_inner()
                        .find(|s| matches!(s.as_rule(), Rule::string | Rule::bad_string))
                    {
                        because = Some(self.message(s));
                    }
                }
                _ => {}
            }
        }
        Some(ast::RuleDecl {
            span,
            doc,
            name: name?,
            on: on?,
            when,
            effect: effect?,
            because,
        })
    }

    /// `deny from …`: report it (E0021); the approvers are dropped.
    fn bad_from(&mut self, effect: &ast::Effect, p: &P<'_>) {
        if p.as_rule() != Rule::bad_from {
            return;
        }
        let span = self.span(p);
        let written = match effect.kind {
            ast::EffectKind::Allow => "allow",
            ast::EffectKind::Deny => "deny",
            ast::EffectKind::RequireApproval { .. } => {
                self.error(
                    codes::FROM_WITHOUT_APPROVAL,
                    "`require approval` takes one `from`",
                    span,
                )
                .help = Some("put every approver in one set: `from [a, b]`".into());
                return;
            }
        };
        self.error(
            codes::FROM_WITHOUT_APPROVAL,
            format!("`{written}` takes no approvers: only `require approval` takes `from`"),
            span,
        )
        .help = Some(format!(
            "remove `from …`, or write `require approval {}` to ask someone",
            self.text.get(span.range()).unwrap_or("from …")
        ));
    }

    fn effect(&mut self, p: P<'_>) -> ast::Effect {
        let span = self.span(&p);
        let kind = match p.into_inner().next() {
            Some(q) if q.as_rule() == Rule::kw_allow => ast::EffectKind::Allow,
            Some(q) if q.as_rule() == Rule::require_approval => {
                let from = q
                    .into_inner()
                    .find(|e| e.as_rule() == Rule::expr)
                    .map(|e| self.expr(e));
                ast::EffectKind::RequireApproval { from }
            }
            _ => ast::EffectKind::Deny,
        };
        ast::Effect { span, kind }
    }

    fn message(&mut self, p: P<'_>) -> ast::Message {
        let span = self.span(&p);
        let raw = p.as_str();
        let unterminated = p.as_rule() == Rule::bad_string;
        if unterminated {
            self.unterminated(span);
        }
        let body = if unterminated {
            &raw[1..]
        } else {
            &raw[1..raw.len() - 1]
        };
        let body_start = p.as_span().start() + 1;
        let (pieces, errors) = message::split(body);
        for e in errors {
            let code = if e.hole {
                codes::BAD_HOLE
            } else {
                codes::BAD_ESCAPE
            };
            self.literal_error(code, e.error, body_start);
        }
        let parts = pieces
            .into_iter()
            .map(|piece| match piece {
                Piece::Text(t) => ast::MessagePart::Text(t),
                Piece::Hole { text, offsets } => {
                    let table = offsets
                        .iter()
                        .map(|o| self.map.at(body_start + o))
                        .collect();
                    let expr = parse_expr_with(&text, &SpanMap::Table(table), self.diags);
                    ast::MessagePart::Hole(expr)
                }
            })
            .collect();
        ast::Message { span, parts }
    }

    fn test<'i>(
        &mut self,
        span: Span,
        doc: Option<String>,
        inner: impl Iterator<Item = P<'i>>,
    ) -> Option<ast::TestDecl> {
        let mut name = None;
        let mut entities = None;
        let mut cases = Vec::new();
        for q in inner {
            match q.as_rule() {
                Rule::string | Rule::bad_string => name = Some(self.str_lit(q)),
                Rule::test_entities => entities = Some(self.test_entities(q)),
                Rule::test_case => cases.extend(self.test_case(q)),
                _ => {}
            }
        }
        Some(ast::TestDecl {
            span,
            doc,
            name: name?,
            entities,
            cases,
        })
    }

    fn test_entities(&mut self, p: P<'_>) -> ast::TestEntities {
        let span = self.span(&p);
        let mut entries = Vec::new();
        for q in p.into_inner() {
            match q.as_rule() {
                Rule::string | Rule::bad_string => return ast::TestEntities::From(self.str_lit(q)),
                Rule::entity_literal => {
                    let entry_span = self.span(&q);
                    let mut inner = q.into_inner();
                    let Some(r) = inner.next() else { continue };
                    let Some((ty, id)) = self.entity_ref_parts(r) else {
                        continue;
                    };
                    let attrs = inner
                        .find(|f| f.as_rule() == Rule::record_fields)
                        .map(|f| self.record_fields(f))
                        .unwrap_or_default();
                    entries.push(ast::EntityEntry::Entity {
                        span: entry_span,
                        ty,
                        id,
                        attrs,
                    });
                }
                Rule::edge_entry => {
                    let entry_span = self.span(&q);
                    let mut inner = q.into_inner();
                    let (Some(from), Some(rel), Some(to)) =
                        (inner.next(), inner.next(), inner.next())
                    else {
                        continue;
                    };
                    let from = self.entity_ref_expr(from);
                    let relation = self.ident(&rel);
                    let to = self.entity_ref_expr(to);
                    entries.push(ast::EntityEntry::Edge {
                        span: entry_span,
                        from,
                        relation,
                        to,
                    });
                }
                _ => {}
            }
        }
        ast::TestEntities::Inline { span, entries }
    }

    fn entity_ref_parts(&mut self, p: P<'_>) -> Option<(Ident, ast::StrLit)> {
        let mut inner = p.into_inner();
        let ty = self.ident(&inner.next()?);
        let id = self.str_lit(inner.next()?);
        Some((ty, id))
    }

    fn entity_ref_expr(&mut self, p: P<'_>) -> Expr {
        let span = self.span(&p);
        match self.entity_ref_parts(p) {
            Some((ty, id)) => Expr {
                span,
                kind: ExprKind::EntityRef { ty, id },
            },
            None => Expr {
                span,
                kind: ExprKind::Error,
            },
        }
    }

    fn record_fields(&mut self, p: P<'_>) -> Vec<ast::RecordField> {
        let mut out = Vec::new();
        for f in p.into_inner().filter(|f| f.as_rule() == Rule::record_field) {
            let span = self.span(&f);
            let mut inner = f
                .into_inner()
                .filter(|q| matches!(q.as_rule(), Rule::ident | Rule::expr));
            let (Some(name), Some(value)) = (inner.next(), inner.next()) else {
                continue;
            };
            let name = self.ident(&name);
            let value = self.expr(value);
            out.push(ast::RecordField { span, name, value });
        }
        out
    }

    fn test_case(&mut self, p: P<'_>) -> Option<ast::TestCase> {
        let span = self.span(&p);
        let mut action = None;
        let mut args = Vec::new();
        let mut context: Option<Vec<ast::RecordField>> = None;
        let mut at: Option<Option<Spanned<ast::Timestamp>>> = None;
        let mut expect = None;
        for q in p.into_inner() {
            let q_span = self.span(&q);
            match q.as_rule() {
                Rule::ident => action = Some(self.ident(&q)),
                Rule::record_fields => args = self.record_fields(q),
                Rule::with_clause => {
                    if context.is_some() {
                        self.duplicate("with", q_span);
                    }
                    let fields = q.into_inner().find(|f| f.as_rule() == Rule::record_fields);
                    context = Some(fields.map(|f| self.record_fields(f)).unwrap_or_default());
                }
                Rule::at_clause => {
                    if at.is_some() {
                        self.duplicate("at", q_span);
                    }
                    let ts = q.into_inner().find(|t| t.as_rule() == Rule::timestamp);
                    at = Some(ts.and_then(|t| self.timestamp(t)));
                }
                Rule::expect_clause => {
                    let mut effect = None;
                    let mut by: Option<Vec<Ident>> = None;
                    for e in q.into_inner() {
                        match e.as_rule() {
                            Rule::effect => effect = Some(self.effect(e)),
                            Rule::bad_from => {
                                if let Some(effect) = &effect {
                                    self.bad_from(effect, &e);
                                }
                            }
                            Rule::kw_by => by = Some(Vec::new()),
                            Rule::ident => by.get_or_insert_with(Vec::new).push(self.ident(&e)),
                            _ => {}
                        }
                    }
                    expect = Some(ast::Expectation {
                        span: q_span,
                        effect: effect?,
                        by,
                    });
                }
                _ => {}
            }
        }
        Some(ast::TestCase {
            span,
            action: action?,
            args,
            context: context.unwrap_or_default(),
            at: at.flatten(),
            expect: expect?,
        })
    }

    fn duplicate(&mut self, clause: &str, span: Span) {
        self.error(
            codes::DUPLICATE_CLAUSE,
            format!("`{clause}` is written twice for this request"),
            span,
        )
        .help = Some(format!("write one `{clause}` per request"));
    }

    // -----------------------------------------------------------------------------------------
    // Expressions

    // The depth budget: every builder of an expression node knows, from the pairs pest read,
    // how many nodes its tree puts above each operand (a chain of `n` operands nests its first
    // one `n - 1` levels down), so it sets `level` for each operand and refuses, with one
    // diagnostic, a tree that would nest beyond `MAX_DEPTH` before building any of it. The
    // tree of a declaration, and so every later pass over it, is never deeper than the budget.
    // The fast path measures the same depth bottom-up and leaves such declarations to pest.

    /// Build `p` as an expression `below` levels under the current position.
    fn sub(&mut self, p: P<'_>, below: usize) -> Expr {
        let saved = self.level;
        self.level = saved + below;
        let e = self.expr(p);
        self.level = saved;
        e
    }

    /// Whether a node `below` levels under the current position nests beyond the budget;
    /// reported once per declaration.
    fn beyond(&mut self, below: usize, span: Span) -> bool {
        if self.level + below < MAX_DEPTH {
            return false;
        }
        if !self.too_deep {
            self.too_deep = true;
            let at = Span::new(span.start as usize, span.start as usize);
            self.diags.push(
                Diagnostic::error(
                    codes::EXPR_TOO_DEEP,
                    format!("this expression nests more than {MAX_DEPTH} levels deep"),
                    at,
                )
                .with_help(
                    "split it: write a long `or` of comparisons as a set (`x in [\"a\", \"b\"]`), \
                     a long `and` as several `when` lines, and name parts with `const` or `fn`",
                ),
            );
        }
        true
    }

    fn error_expr(span: Span) -> Expr {
        Expr {
            span,
            kind: ExprKind::Error,
        }
    }

    fn expr(&mut self, p: P<'_>) -> Expr {
        let span = self.span(&p);
        if self.beyond(0, span) {
            return Self::error_expr(span);
        }
        match p.as_rule() {
            Rule::expr => match p.into_inner().next() {
                Some(q) => self.expr(q),
                None => Expr {
                    span,
                    kind: ExprKind::Error,
                },
            },
            Rule::or_expr | Rule::and_expr | Rule::add_expr | Rule::mul_expr => self.left_assoc(p),
            Rule::coalesce_expr => self.coalesce(p),
            Rule::not_expr => self.prefixed(p, ast::UnaryOp::Not),
            Rule::neg_expr => self.prefixed(p, ast::UnaryOp::Neg),
            Rule::cmp_expr => self.comparison(p),
            Rule::postfix_expr => self.postfix(p),
            _ => self.primary(p),
        }
    }

    fn binary_op(&mut self, p: &P<'_>) -> Spanned<ast::BinaryOp> {
        use ast::BinaryOp::*;
        let span = self.span(p);
        let op = match p.as_str() {
            "or" => Or,
            "and" => And,
            "==" => Eq,
            "!=" => Ne,
            "<" => Lt,
            "<=" => Le,
            ">" => Gt,
            ">=" => Ge,
            "in" => In,
            "matches" => Matches,
            "??" => Coalesce,
            "+" => Add,
            "-" => Sub,
            "*" => Mul,
            "||" => {
                self.c_operator("||", "or", span);
                Or
            }
            "&&" => {
                self.c_operator("&&", "and", span);
                And
            }
            _ => {
                self.error(
                    codes::ASSIGN_IN_EXPR,
                    "`=` is not an operator: write `==` to compare",
                    span,
                )
                .help = Some("`=` appears only in `const` and `fn` declarations".into());
                Eq
            }
        };
        Spanned { value: op, span }
    }

    fn c_operator(&mut self, written: &str, word: &str, span: Span) {
        let message = format!("`{written}` is not an operator in Ward: write `{word}`");
        self.diags.push(
            Diagnostic::error(codes::C_OPERATOR, message, span)
                .with_label(format!("write `{word}`")),
        );
    }

    fn left_assoc(&mut self, p: P<'_>) -> Expr {
        let span = self.span(&p);
        let parts: Vec<P<'_>> = p.into_inner().collect();
        // `a op b op c`: the first operand is `n - 1` levels down, operand `k` is `n - k`.
        let n = parts.len().div_ceil(2);
        if n > 1 && self.beyond(n - 1, span) {
            return Self::error_expr(span);
        }
        let mut inner = parts.into_iter();
        let Some(first) = inner.next() else {
            return Self::error_expr(span);
        };
        let mut lhs = self.sub(first, n.saturating_sub(1));
        let mut k = 1;
        while let (Some(op), Some(rhs)) = (inner.next(), inner.next()) {
            let op = self.binary_op(&op);
            let rhs = self.sub(rhs, n - k);
            k += 1;
            lhs = Expr {
                span: lhs.span.to(rhs.span),
                kind: ExprKind::Binary {
                    op,
                    lhs: Box::new(lhs),
                    rhs: Box::new(rhs),
                },
            };
        }
        lhs
    }

    fn coalesce(&mut self, p: P<'_>) -> Expr {
        let span = self.span(&p);
        let parts: Vec<P<'_>> = p.into_inner().collect();
        // `a ?? b ?? c` is `a ?? (b ?? c)`: operand `i` is `i + 1` levels down, the last `n - 1`.
        let n = parts.len().div_ceil(2);
        if n > 1 && self.beyond(n - 1, span) {
            return Self::error_expr(span);
        }
        let mut operands = Vec::new();
        let mut ops = Vec::new();
        for q in parts {
            if q.as_rule() == Rule::op_coalesce {
                ops.push(self.binary_op(&q));
            } else {
                let i = operands.len();
                let below = if i + 1 == n { i } else { i + 1 };
                operands.push(self.sub(q, below));
            }
        }
        let mut rhs = operands.pop().unwrap_or(Expr {
            span: Span::default(),
            kind: ExprKind::Error,
        });
        while let (Some(op), Some(lhs)) = (ops.pop(), operands.pop()) {
            rhs = Expr {
                span: lhs.span.to(rhs.span),
                kind: ExprKind::Binary {
                    op,
                    lhs: Box::new(lhs),
                    rhs: Box::new(rhs),
                },
            };
        }
        rhs
    }

    /// `not not x`, `- - x`: prefix operators, applied innermost last.
    fn prefixed(&mut self, p: P<'_>, unary: ast::UnaryOp) -> Expr {
        let span = self.span(&p);
        let mut ops = Vec::new();
        let mut operand = None;
        for q in p.into_inner() {
            match q.as_rule() {
                Rule::op_not | Rule::op_neg => {
                    let op_span = self.span(&q);
                    if q.as_str() == "!" {
                        self.c_operator("!", "not", op_span);
                    }
                    ops.push(op_span);
                }
                _ => operand = Some(q),
            }
        }
        let Some(operand) = operand else {
            return Self::error_expr(span);
        };
        // `-9223372036854775808` is the smallest Int, not the negation of an overflow.
        let min_int = unary == ast::UnaryOp::Neg && !ops.is_empty() && is_min_int(&operand);
        let below = ops.len() - usize::from(min_int);
        if below > 0 && self.beyond(below, span) {
            return Self::error_expr(span);
        }
        let mut expr = match ops.last() {
            Some(&op_span) if min_int => {
                ops.pop();
                Expr {
                    span: op_span.to(self.span(&operand)),
                    kind: ExprKind::Int(i64::MIN),
                }
            }
            _ => self.sub(operand, below),
        };
        while let Some(op_span) = ops.pop() {
            expr = Expr {
                span: op_span.to(expr.span),
                kind: ExprKind::Unary {
                    op: Spanned {
                        value: unary,
                        span: op_span,
                    },
                    operand: Box::new(expr),
                },
            };
        }
        expr
    }

    fn comparison(&mut self, p: P<'_>) -> Expr {
        let span = self.span(&p);
        let parts: Vec<P<'_>> = p.into_inner().collect();
        // Each tail (`== b`, `has a`) is a node over what precedes it.
        let tails = parts.len().saturating_sub(1);
        if tails > 0 && self.beyond(tails, span) {
            return Self::error_expr(span);
        }
        let mut inner = parts.into_iter();
        let Some(first) = inner.next() else {
            return Self::error_expr(span);
        };
        let mut lhs = self.sub(first, tails);
        for (idx, tail) in inner.enumerate() {
            let mut parts = tail.into_inner();
            let (Some(op), Some(rhs)) = (parts.next(), parts.next()) else {
                continue;
            };
            if idx == 1 {
                let op_span = self.span(&op);
                self.error(
                    codes::CHAINED_COMPARISON,
                    "comparison operators do not chain: write `a < b and b < c`",
                    op_span,
                )
                .help = Some("join the comparisons with `and`, or add parentheses".into());
            }
            lhs = if op.as_rule() == Rule::op_has {
                let attr = self.ident(&rhs);
                Expr {
                    span: lhs.span.to(attr.span),
                    kind: ExprKind::Has {
                        operand: Box::new(lhs),
                        attr,
                    },
                }
            } else {
                let op = self.binary_op(&op);
                let rhs = self.sub(rhs, tails - idx);
                Expr {
                    span: lhs.span.to(rhs.span),
                    kind: ExprKind::Binary {
                        op,
                        lhs: Box::new(lhs),
                        rhs: Box::new(rhs),
                    },
                }
            };
        }
        lhs
    }

    fn postfix(&mut self, p: P<'_>) -> Expr {
        let span = self.span(&p);
        let parts: Vec<P<'_>> = p.into_inner().collect();
        // Each suffix (`(…)`, `.a`, `?.a`) is a node over what precedes it; the arguments of
        // a call are one level below the call.
        let suffixes = parts.len().saturating_sub(1);
        if suffixes > 0 && self.beyond(suffixes, span) {
            return Self::error_expr(span);
        }
        let mut inner = parts.into_iter();
        let Some(first) = inner.next() else {
            return Self::error_expr(span);
        };
        let saved = self.level;
        self.level = saved + suffixes;
        let mut expr = self.primary(first);
        self.level = saved;
        for (j, q) in inner.enumerate() {
            let q_span = self.span(&q);
            let whole = expr.span.to(q_span);
            let call_level = suffixes - j - 1;
            expr = match q.as_rule() {
                Rule::call_args => {
                    let args = q
                        .into_inner()
                        .filter(|a| a.as_rule() == Rule::expr)
                        .map(|a| self.sub(a, call_level + 1))
                        .collect();
                    Expr {
                        span: whole,
                        kind: ExprKind::Call {
                            callee: Box::new(expr),
                            args,
                        },
                    }
                }
                rule => {
                    let optional = rule == Rule::opt_field_access;
                    let Some(attr) = q.into_inner().find(|a| a.as_rule() == Rule::ident) else {
                        continue;
                    };
                    let attr = self.ident(&attr);
                    Expr {
                        span: whole,
                        kind: ExprKind::Field {
                            operand: Box::new(expr),
                            attr,
                            optional,
                        },
                    }
                }
            };
        }
        expr
    }

    fn primary(&mut self, p: P<'_>) -> Expr {
        let span = self.span(&p);
        if self.beyond(0, span) {
            return Self::error_expr(span);
        }
        let kind = match p.as_rule() {
            Rule::paren_expr => match p.into_inner().find(|q| q.as_rule() == Rule::expr) {
                Some(e) => ExprKind::Paren(Box::new(self.sub(e, 1))),
                None => ExprKind::Error,
            },
            Rule::if_expr => {
                let mut parts = p.into_inner().filter(|q| q.as_rule() == Rule::expr);
                match (parts.next(), parts.next(), parts.next()) {
                    (Some(c), Some(a), Some(b)) => ExprKind::If {
                        cond: Box::new(self.sub(c, 1)),
                        then: Box::new(self.sub(a, 1)),
                        otherwise: Box::new(self.sub(b, 1)),
                    },
                    _ => ExprKind::Error,
                }
            }
            Rule::quantifier => {
                let mut inner = p.into_inner();
                let kind = match inner.next().map(|k| k.as_rule()) {
                    Some(Rule::kw_all) => ast::Quantifier::All,
                    _ => ast::Quantifier::Any,
                };
                let mut parts = inner
                    .filter(|q| matches!(q.as_rule(), Rule::ident | Rule::add_expr | Rule::expr));
                match (parts.next(), parts.next(), parts.next()) {
                    (Some(var), Some(set), Some(body)) => ExprKind::Quantifier {
                        kind,
                        var: self.ident(&var),
                        set: Box::new(self.sub(set, 1)),
                        body: Box::new(self.sub(body, 1)),
                    },
                    _ => ExprKind::Error,
                }
            }
            Rule::filter_expr => {
                let mut parts = p
                    .into_inner()
                    .filter(|q| matches!(q.as_rule(), Rule::ident | Rule::add_expr | Rule::expr));
                match (parts.next(), parts.next(), parts.next()) {
                    (Some(var), Some(set), Some(cond)) => ExprKind::Filter {
                        var: self.ident(&var),
                        set: Box::new(self.sub(set, 1)),
                        cond: Box::new(self.sub(cond, 1)),
                    },
                    _ => ExprKind::Error,
                }
            }
            Rule::set_lit => ExprKind::Set(
                p.into_inner()
                    .filter(|q| q.as_rule() == Rule::expr)
                    .map(|q| self.sub(q, 1))
                    .collect(),
            ),
            Rule::timestamp => match self.timestamp(p) {
                Some(ts) => ExprKind::Timestamp(ts.value),
                None => ExprKind::Error,
            },
            Rule::duration => match literal::duration(p.as_str()) {
                Ok(secs) => ExprKind::Duration(secs),
                Err(e) => {
                    self.literal_error(codes::BAD_DURATION, e, p.as_span().start());
                    ExprKind::Error
                }
            },
            Rule::int => match literal::int(p.as_str()) {
                Ok(n) => ExprKind::Int(n),
                Err(e) => {
                    self.literal_error(codes::INT_OVERFLOW, e, p.as_span().start());
                    ExprKind::Error
                }
            },
            Rule::bad_number => {
                let text = p.as_str();
                self.error(codes::BAD_NUMBER, format!("invalid number `{text}`"), span).help = Some(
                    "a duration is written with the units `d`, `h`, `m` and `s`, such as `90s` or `1h30m`; a name cannot start with a digit"
                        .into(),
                );
                ExprKind::Error
            }
            Rule::string | Rule::bad_string => ExprKind::Str(self.str_lit(p).value),
            Rule::kw_true => ExprKind::Bool(true),
            Rule::kw_false => ExprKind::Bool(false),
            Rule::kw_now => ExprKind::Now,
            Rule::inverse_rel => match p.into_inner().next() {
                Some(r) => ExprKind::InverseRelation(self.ident(&r)),
                None => ExprKind::Error,
            },
            Rule::enum_value => {
                let mut inner = p.into_inner();
                match (inner.next(), inner.next()) {
                    (Some(ty), Some(v)) => ExprKind::EnumValue {
                        ty: self.ident(&ty),
                        variant: self.ident(&v),
                    },
                    _ => ExprKind::Error,
                }
            }
            Rule::entity_ref => return self.entity_ref_expr(p),
            Rule::ident => ExprKind::Name(self.ident(&p)),
            _ => return self.expr(p),
        };
        Expr { span, kind }
    }
}

fn is_min_int(p: &P<'_>) -> bool {
    // The operand of `-` is a postfix expression; look for a bare integer literal inside.
    let mut current = p.clone();
    loop {
        let mut inner = current.clone().into_inner();
        match (current.as_rule(), inner.next(), inner.next()) {
            (Rule::int, _, _) => return current.as_str() == "9223372036854775808",
            (Rule::postfix_expr, Some(only), None) => current = only,
            _ => return false,
        }
    }
}
