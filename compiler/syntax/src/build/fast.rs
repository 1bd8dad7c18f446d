//! The fast path of the parser: a hand-written recursive descent over the declarations that
//! make up almost all of a large policy set (`rule` and untyped `const`), with their
//! expressions and `because` messages.
//!
//! It builds exactly the AST that pest and the builder would build, for well-formed input only:
//! at the first thing it does not accept without a word to say (any syntax error, a mistake the
//! grammar accepts on purpose such as `&&`, a literal the builder would reject, a timestamp, a
//! type annotation, a comment inside a message hole, …) it gives up and returns `None`, and the
//! declaration goes through pest as before. So every diagnostic still comes from the pest path,
//! and the grammar stays the definition of the language: in debug builds [`super::Builder`]
//! parses every declaration the fast path accepted with pest as well and asserts that both trees
//! are equal. It knows the grammar's tokens and the AST; it knows nothing of pest.

use super::{SpanMap, too_deep};
use crate::Span;
use crate::ast::{self, Expr, ExprKind, Ident, Spanned};
use crate::literal;
use crate::message::{self, Piece};
use crate::scan::{is_ident_char, is_reserved};
use ward_ir::MAX_DEPTH;

/// Beyond this many nested brackets and `if`/`any`/`all` the fast path gives up (pest has its
/// own limits and messages).
const MAX_NESTING: usize = 48;

/// An expression and the depth of its tree (1 for a leaf). Every node is built through
/// [`deep`], which gives up on a tree deeper than [`MAX_DEPTH`]: pest reports those (`E0020`),
/// and the fast path never builds a tree deeper than the budget.
type D = (Expr, usize);

/// `Some(depth)` when a node of this depth is within the budget.
fn deep(depth: usize) -> Option<usize> {
    (depth <= MAX_DEPTH).then_some(depth)
}

/// Parse the declaration `source` (a chunk of the file) if it is a `rule` or an untyped
/// `const` the fast path accepts; `None` otherwise. Spans go through `map`; the doc comment is
/// left to the caller.
pub(super) fn item(source: &str, map: &SpanMap) -> Option<ast::Item> {
    let mut p = Fast::new(source, map);
    let item = match p.word() {
        "rule" => ast::Item::Rule(p.rule()?),
        "const" => ast::Item::Const(p.constant()?),
        _ => return None,
    };
    p.at_end().then_some(item)
}

/// Parse a decoded `{…}` hole of a message, if the fast path accepts it.
fn hole(text: &str, map: &SpanMap) -> Option<Expr> {
    if text.contains("//") {
        return None;
    }
    let whole = Span::new(map.at(0), map.at(text.len()));
    if too_deep(text, whole).is_some() {
        return None;
    }
    let mut p = Fast::new(text, map);
    let (e, _) = p.expr()?;
    p.at_end().then_some(e)
}

struct Fast<'t> {
    text: &'t str,
    bytes: &'t [u8],
    map: &'t SpanMap,
    /// The next token (white space and comments are skipped eagerly).
    pos: usize,
    /// The end of the last token taken.
    last_end: usize,
    /// The end of the word at `pos` (`pos` itself when none starts there).
    word_end: usize,
    depth: usize,
}

fn is_ident_start(b: u8) -> bool {
    b.is_ascii_alphabetic() || b == b'_'
}

impl<'t> Fast<'t> {
    fn new(text: &'t str, map: &'t SpanMap) -> Fast<'t> {
        let mut p = Fast {
            text,
            bytes: text.as_bytes(),
            map,
            pos: 0,
            last_end: 0,
            word_end: 0,
            depth: 0,
        };
        p.skip();
        p
    }

    /// Skip white space and comments, as pest's implicit `WHITESPACE` and `COMMENT` do.
    fn skip(&mut self) {
        let b = self.bytes;
        while self.pos < b.len() {
            match b[self.pos] {
                b' ' | b'\t' | b'\r' | b'\n' => self.pos += 1,
                b'/' if b.get(self.pos + 1) == Some(&b'/') => {
                    while self.pos < b.len() && b[self.pos] != b'\n' {
                        self.pos += 1;
                    }
                }
                _ => break,
            }
        }
        let mut j = self.pos;
        if self.peek().is_some_and(is_ident_start) {
            j += 1;
            while j < b.len() && is_ident_char(b[j]) {
                j += 1;
            }
        }
        self.word_end = j;
    }

    fn at_end(&self) -> bool {
        self.pos == self.bytes.len()
    }

    fn peek(&self) -> Option<u8> {
        self.bytes.get(self.pos).copied()
    }

    fn peek2(&self) -> Option<u8> {
        self.bytes.get(self.pos + 1).copied()
    }

    fn starts(&self, s: &str) -> bool {
        self.bytes[self.pos..].starts_with(s.as_bytes())
    }

    /// The word (`[A-Za-z_][A-Za-z0-9_]*`) at the cursor, or "".
    fn word(&self) -> &'t str {
        &self.text[self.pos..self.word_end]
    }

    /// Take `n` bytes as a token and skip what follows it.
    fn bump(&mut self, n: usize) -> Span {
        let start = self.pos;
        self.pos += n;
        self.last_end = self.pos;
        self.skip();
        self.span(start, self.last_end)
    }

    fn span(&self, start: usize, end: usize) -> Span {
        Span::new(self.map.at(start), self.map.at(end))
    }

    /// Take the keyword `kw` (a whole word).
    fn keyword(&mut self, kw: &str) -> Option<Span> {
        (self.word() == kw).then(|| self.bump(kw.len()))
    }

    /// Take the punctuation `c`.
    fn punct(&mut self, c: u8) -> Option<Span> {
        (self.peek() == Some(c)).then(|| self.bump(1))
    }

    fn ident(&mut self) -> Option<Ident> {
        let w = self.word();
        if w.is_empty() || is_reserved(w) {
            return None;
        }
        let span = self.bump(w.len());
        Some(Ident {
            name: w.to_string(),
            span,
        })
    }

    /// A string literal without errors: its span (quotes included), raw body and body start.
    fn string(&mut self) -> Option<(Span, &'t str, usize)> {
        if self.peek() != Some(b'"') {
            return None;
        }
        let start = self.pos;
        let mut j = start + 1;
        loop {
            match *self.bytes.get(j)? {
                b'"' => break,
                b'\n' => return None,
                b'\\' => {
                    if matches!(self.bytes.get(j + 1), None | Some(b'\n')) {
                        return None;
                    }
                    j += 2;
                }
                _ => j += 1,
            }
        }
        // `j` may have stepped into a multi-byte character only through `\\`; the closing quote
        // is ASCII, so the body is a valid slice.
        let body = self.text.get(start + 1..j)?;
        let span = self.bump(j + 1 - start);
        Some((span, body, start + 1))
    }

    fn str_lit(&mut self) -> Option<ast::StrLit> {
        let (span, body, _) = self.string()?;
        let (value, errors) = literal::string_body(body);
        errors.is_empty().then_some(ast::StrLit { span, value })
    }

    // -----------------------------------------------------------------------------------------
    // Declarations

    fn rule(&mut self) -> Option<ast::RuleDecl> {
        let start = self.pos;
        self.keyword("rule")?;
        let name = self.ident()?;
        self.punct(b'{')?;
        let on_start = self.pos;
        self.keyword("on")?;
        let targets = if self.punct(b'*').is_some() {
            ast::OnTargets::All
        } else {
            let mut actions = vec![self.ident()?];
            while self.punct(b',').is_some() {
                actions.push(self.ident()?);
            }
            ast::OnTargets::Actions(actions)
        };
        let on = ast::OnClause {
            span: self.span(on_start, self.last_end),
            targets,
        };
        let mut when = Vec::new();
        while self.keyword("when").is_some() {
            when.push(self.expr()?.0);
        }
        let effect = self.effect()?;
        let because = match self.keyword("because") {
            Some(_) => Some(self.message()?),
            None => None,
        };
        self.punct(b'}')?;
        Some(ast::RuleDecl {
            span: self.span(start, self.last_end),
            doc: None,
            name,
            on,
            when,
            effect,
            because,
        })
    }

    fn effect(&mut self) -> Option<ast::Effect> {
        let start = self.pos;
        let kind = match self.word() {
            "allow" => {
                self.bump(5);
                ast::EffectKind::Allow
            }
            "deny" => {
                self.bump(4);
                ast::EffectKind::Deny
            }
            "require" => {
                self.bump(7);
                self.keyword("approval")?;
                let from = match self.keyword("from") {
                    Some(_) => Some(self.expr()?.0),
                    None => None,
                };
                ast::EffectKind::RequireApproval { from }
            }
            _ => return None,
        };
        Some(ast::Effect {
            span: self.span(start, self.last_end),
            kind,
        })
    }

    fn message(&mut self) -> Option<ast::Message> {
        let (span, body, body_start) = self.string()?;
        let (pieces, errors) = message::split(body);
        if !errors.is_empty() {
            return None;
        }
        let mut parts = Vec::with_capacity(pieces.len());
        for piece in pieces {
            parts.push(match piece {
                Piece::Text(t) => ast::MessagePart::Text(t),
                Piece::Hole { text, offsets } => {
                    let table = offsets
                        .iter()
                        .map(|o| self.map.at(body_start + o))
                        .collect();
                    ast::MessagePart::Hole(hole(&text, &SpanMap::Table(table))?)
                }
            });
        }
        Some(ast::Message { span, parts })
    }

    fn constant(&mut self) -> Option<ast::ConstDecl> {
        let start = self.pos;
        self.keyword("const")?;
        let name = self.ident()?;
        self.punct(b'=')?;
        let (value, _) = self.expr()?;
        self.punct(b';');
        Some(ast::ConstDecl {
            span: self.span(start, self.last_end),
            doc: None,
            name,
            ty: None,
            value,
        })
    }

    // -----------------------------------------------------------------------------------------
    // Expressions, loosest first, as in the grammar.

    fn expr(&mut self) -> Option<D> {
        self.depth += 1;
        if self.depth > MAX_NESTING {
            return None;
        }
        let e = self.or_expr();
        self.depth -= 1;
        e
    }

    fn or_expr(&mut self) -> Option<D> {
        let mut lhs = self.and_expr()?;
        loop {
            if self.starts("||") {
                return None;
            }
            let Some(op) = self.keyword("or") else {
                return Some(lhs);
            };
            let rhs = self.and_expr()?;
            lhs = binary(lhs, ast::BinaryOp::Or, op, rhs)?;
        }
    }

    fn and_expr(&mut self) -> Option<D> {
        let mut lhs = self.not_expr()?;
        loop {
            if self.starts("&&") {
                return None;
            }
            let Some(op) = self.keyword("and") else {
                return Some(lhs);
            };
            let rhs = self.not_expr()?;
            lhs = binary(lhs, ast::BinaryOp::And, op, rhs)?;
        }
    }

    fn not_expr(&mut self) -> Option<D> {
        let mut ops = Vec::new();
        loop {
            if self.peek() == Some(b'!') && self.peek2() != Some(b'=') {
                return None;
            }
            match self.keyword("not") {
                Some(op) => ops.push(op),
                None => break,
            }
        }
        let operand = self.cmp_expr()?;
        unary(ops, ast::UnaryOp::Not, operand)
    }

    /// A comparison operator (or `has`, `=`) at the cursor: its length and meaning.
    fn cmp_op(&self) -> Option<(usize, Option<ast::BinaryOp>)> {
        use ast::BinaryOp::*;
        let two = match self.bytes.get(self.pos..self.pos + 2) {
            Some(b"==") => Some(Eq),
            Some(b"!=") => Some(Ne),
            Some(b"<=") => Some(Le),
            Some(b">=") => Some(Ge),
            _ => None,
        };
        if let Some(op) = two {
            return Some((2, Some(op)));
        }
        match self.peek() {
            Some(b'<') => return Some((1, Some(Lt))),
            Some(b'>') => return Some((1, Some(Gt))),
            // `=` for `==`, or the start of something no caller accepts.
            Some(b'=') => return Some((1, None)),
            _ => {}
        }
        match self.word() {
            "in" => Some((2, Some(In))),
            "matches" => Some((7, Some(Matches))),
            "has" => Some((3, None)),
            _ => None,
        }
    }

    fn cmp_expr(&mut self) -> Option<D> {
        let lhs = self.coalesce_expr()?;
        let Some((len, op)) = self.cmp_op() else {
            return Some(lhs);
        };
        let is_has = self.word() == "has";
        if op.is_none() && !is_has {
            return None;
        }
        let op_span = self.bump(len);
        let e = if is_has {
            let attr = self.ident()?;
            let (lhs, d) = lhs;
            let e = Expr {
                span: lhs.span.to(attr.span),
                kind: ExprKind::Has {
                    operand: Box::new(lhs),
                    attr,
                },
            };
            (e, deep(d + 1)?)
        } else {
            let rhs = self.coalesce_expr()?;
            binary(lhs, op?, op_span, rhs)?
        };
        // A second comparison is reported as chained (or fails): pest's business.
        if self.cmp_op().is_some() {
            return None;
        }
        Some(e)
    }

    fn coalesce_expr(&mut self) -> Option<D> {
        let mut operands = vec![self.add_expr()?];
        let mut ops = Vec::new();
        while self.starts("??") {
            ops.push(self.bump(2));
            operands.push(self.add_expr()?);
            // The first operand ends up one level below each `??`.
            deep(operands.len())?;
        }
        let mut rhs = operands.pop()?;
        while let (Some(op), Some(lhs)) = (ops.pop(), operands.pop()) {
            rhs = binary(lhs, ast::BinaryOp::Coalesce, op, rhs)?;
        }
        Some(rhs)
    }

    fn add_expr(&mut self) -> Option<D> {
        let mut lhs = self.mul_expr()?;
        loop {
            let op = match self.peek() {
                Some(b'+') => ast::BinaryOp::Add,
                Some(b'-') if self.peek2() != Some(b'>') => ast::BinaryOp::Sub,
                _ => return Some(lhs),
            };
            let op_span = self.bump(1);
            let rhs = self.mul_expr()?;
            lhs = binary(lhs, op, op_span, rhs)?;
        }
    }

    fn mul_expr(&mut self) -> Option<D> {
        let mut lhs = self.neg_expr()?;
        while self.peek() == Some(b'*') {
            let op_span = self.bump(1);
            let rhs = self.neg_expr()?;
            lhs = binary(lhs, ast::BinaryOp::Mul, op_span, rhs)?;
        }
        Some(lhs)
    }

    fn neg_expr(&mut self) -> Option<D> {
        let mut ops = Vec::new();
        while self.peek() == Some(b'-') && self.peek2() != Some(b'>') {
            ops.push(self.bump(1));
        }
        // `-9223372036854775808` is the smallest Int, not the negation of an overflow.
        const MIN: &str = "9223372036854775808";
        if !ops.is_empty() && self.starts(MIN) {
            let save = (self.pos, self.last_end, self.word_end);
            let after = self.pos + MIN.len();
            if !self.bytes.get(after).copied().is_some_and(is_ident_char) {
                let int_span = self.bump(MIN.len());
                if !self.at_postfix() {
                    let op = ops.pop()?;
                    let operand = Expr {
                        span: op.to(int_span),
                        kind: ExprKind::Int(i64::MIN),
                    };
                    return unary(ops, ast::UnaryOp::Neg, (operand, 1));
                }
            }
            (self.pos, self.last_end, self.word_end) = save;
        }
        let operand = self.postfix_expr()?;
        unary(ops, ast::UnaryOp::Neg, operand)
    }

    fn at_postfix(&self) -> bool {
        matches!(self.peek(), Some(b'(' | b'.')) || self.starts("?.")
    }

    fn postfix_expr(&mut self) -> Option<D> {
        let (mut e, mut d) = self.primary()?;
        loop {
            e = match self.peek() {
                Some(b'(') => {
                    self.bump(1);
                    let (args, args_depth) = self.list(b')')?;
                    let end = self.span(self.last_end, self.last_end);
                    d = deep(1 + d.max(args_depth))?;
                    Expr {
                        span: e.span.to(end),
                        kind: ExprKind::Call {
                            callee: Box::new(e),
                            args,
                        },
                    }
                }
                Some(b'.') => {
                    self.bump(1);
                    d = deep(d + 1)?;
                    field(e, self.ident()?, false)
                }
                Some(b'?') if self.peek2() == Some(b'.') => {
                    self.bump(2);
                    d = deep(d + 1)?;
                    field(e, self.ident()?, true)
                }
                _ => return Some((e, d)),
            };
        }
    }

    /// `expr, expr, …` with an optional trailing comma, then `close` (taken); the items and
    /// the depth of the deepest (0 for none).
    fn list(&mut self, close: u8) -> Option<(Vec<Expr>, usize)> {
        let mut items = Vec::new();
        let mut depth = 0;
        if self.punct(close).is_some() {
            return Some((items, depth));
        }
        loop {
            self.depth += 1;
            let item = self.expr();
            self.depth -= 1;
            let (item, d) = item?;
            depth = depth.max(d);
            items.push(item);
            if self.punct(b',').is_some() {
                if self.punct(close).is_some() {
                    return Some((items, depth));
                }
            } else {
                self.punct(close)?;
                return Some((items, depth));
            }
        }
    }

    fn primary(&mut self) -> Option<D> {
        let start = self.pos;
        let (kind, below) = match self.peek()? {
            b'(' => {
                self.bump(1);
                let (inner, d) = self.expr()?;
                self.punct(b')')?;
                (ExprKind::Paren(Box::new(inner)), d)
            }
            b'{' => {
                self.bump(1);
                let var = self.ident()?;
                self.keyword("in")?;
                let (set, ds) = self.add_expr()?;
                if self.peek() != Some(b'|') || self.peek2() == Some(b'|') {
                    return None;
                }
                self.bump(1);
                let (cond, dc) = self.expr()?;
                self.punct(b'}')?;
                let kind = ExprKind::Filter {
                    var,
                    set: Box::new(set),
                    cond: Box::new(cond),
                };
                (kind, ds.max(dc))
            }
            b'[' => {
                self.bump(1);
                let (items, d) = self.list(b']')?;
                (ExprKind::Set(items), d)
            }
            b'"' => (ExprKind::Str(self.str_lit()?.value), 0),
            b'~' => {
                self.bump(1);
                (ExprKind::InverseRelation(self.ident()?), 0)
            }
            b'0'..=b'9' => (self.number()?, 0),
            _ => return self.word_primary(),
        };
        let e = Expr {
            span: self.span(start, self.last_end),
            kind,
        };
        Some((e, deep(below + 1)?))
    }

    /// An integer or a duration (anything else that starts with a digit is left to pest).
    fn number(&mut self) -> Option<ExprKind> {
        let mut end = self.pos;
        while end < self.bytes.len() && is_ident_char(self.bytes[end]) {
            end += 1;
        }
        let word = &self.text[self.pos..end];
        // Possibly a timestamp (`2026-11-29…`).
        if self.bytes.get(end) == Some(&b'-') {
            return None;
        }
        let kind = if word.bytes().all(|b| b.is_ascii_digit()) {
            ExprKind::Int(literal::int(word).ok()?)
        } else if is_duration(word) {
            ExprKind::Duration(literal::duration(word).ok()?)
        } else {
            return None;
        };
        self.bump(word.len());
        Some(kind)
    }

    fn word_primary(&mut self) -> Option<D> {
        let start = self.pos;
        let (kind, below) = match self.word() {
            "if" => {
                self.bump(2);
                let (cond, dc) = self.expr()?;
                self.keyword("then")?;
                let (then, dt) = self.expr()?;
                self.keyword("else")?;
                let (otherwise, de) = self.expr()?;
                let kind = ExprKind::If {
                    cond: Box::new(cond),
                    then: Box::new(then),
                    otherwise: Box::new(otherwise),
                };
                (kind, dc.max(dt).max(de))
            }
            w @ ("any" | "all") => {
                self.bump(3);
                let kind = if w == "all" {
                    ast::Quantifier::All
                } else {
                    ast::Quantifier::Any
                };
                let var = self.ident()?;
                self.keyword("in")?;
                let (set, ds) = self.add_expr()?;
                if self.peek() != Some(b':') || self.peek2() == Some(b':') {
                    return None;
                }
                self.bump(1);
                let (body, db) = self.expr()?;
                let kind = ExprKind::Quantifier {
                    kind,
                    var,
                    set: Box::new(set),
                    body: Box::new(body),
                };
                (kind, ds.max(db))
            }
            "true" => {
                self.bump(4);
                (ExprKind::Bool(true), 0)
            }
            "false" => {
                self.bump(5);
                (ExprKind::Bool(false), 0)
            }
            "now" => {
                self.bump(3);
                (ExprKind::Now, 0)
            }
            _ => {
                let ty = self.ident()?;
                if !self.starts("::") {
                    let e = Expr {
                        span: ty.span,
                        kind: ExprKind::Name(ty),
                    };
                    return Some((e, 1));
                }
                self.bump(2);
                if self.peek() == Some(b'"') {
                    let id = self.str_lit()?;
                    (ExprKind::EntityRef { ty, id }, 0)
                } else {
                    let variant = self.ident()?;
                    (ExprKind::EnumValue { ty, variant }, 0)
                }
            }
        };
        let e = Expr {
            span: self.span(start, self.last_end),
            kind,
        };
        Some((e, deep(below + 1)?))
    }
}

/// `(DIGIT+ ("d" | "h" | "m" | "s"))+`, the whole word.
fn is_duration(word: &str) -> bool {
    let b = word.as_bytes();
    let mut i = 0;
    while i < b.len() {
        let digits = i;
        while i < b.len() && b[i].is_ascii_digit() {
            i += 1;
        }
        if i == digits || !matches!(b.get(i), Some(b'd' | b'h' | b'm' | b's')) {
            return false;
        }
        i += 1;
    }
    !b.is_empty()
}

fn binary(lhs: D, op: ast::BinaryOp, op_span: Span, rhs: D) -> Option<D> {
    let ((lhs, dl), (rhs, dr)) = (lhs, rhs);
    let e = Expr {
        span: lhs.span.to(rhs.span),
        kind: ExprKind::Binary {
            op: Spanned {
                value: op,
                span: op_span,
            },
            lhs: Box::new(lhs),
            rhs: Box::new(rhs),
        },
    };
    Some((e, deep(1 + dl.max(dr))?))
}

/// Apply prefix operators (written in `ops`, left to right) to `operand`, innermost last.
fn unary(mut ops: Vec<Span>, op: ast::UnaryOp, operand: D) -> Option<D> {
    let (mut e, d) = operand;
    let d = deep(d + ops.len())?;
    while let Some(op_span) = ops.pop() {
        e = Expr {
            span: op_span.to(e.span),
            kind: ExprKind::Unary {
                op: Spanned {
                    value: op,
                    span: op_span,
                },
                operand: Box::new(e),
            },
        };
    }
    Some((e, d))
}

fn field(operand: Expr, attr: Ident, optional: bool) -> Expr {
    Expr {
        span: operand.span.to(attr.span),
        kind: ExprKind::Field {
            operand: Box::new(operand),
            attr,
            optional,
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Every case is parsed by the fast path and by pest; both trees must be equal, and the
    /// fast path must accept exactly the cases marked `true`.
    #[test]
    fn fast_path_agrees_with_pest() {
        let cases: &[(&str, bool)] = &[
            ("rule r { on a deny }", true),
            ("rule r { on * when x allow because \"ok\" }", true),
            (
                "rule r { on a, b\n  when x.y?.z ?? \"n\" != \"t\" // note\n  when not not y\n  require approval from [\"a\", b,] because \"{x.y} at {now} ({{lit}})\" }",
                true,
            ),
            (
                "rule r { on a when any a in closure(h, ~dep): a.tags.intersects(r) and h has tier deny }",
                true,
            ),
            (
                "rule r { on a when {x in s | x.n > 1 + 2 * -3} == [] or if a then b else c deny }",
                true,
            ),
            (
                "rule r { on a when d + 1h30m < 90s and t == Tier::critical and e == E::\"x\" deny }",
                true,
            ),
            ("rule r { on a when n == -9223372036854775808 deny }", true),
            (
                "rule r { on a when n == - -9223372036854775808 deny }",
                true,
            ),
            (
                "rule r { on a when all x in s: x matches \"^a\\\\d\" deny }",
                true,
            ),
            // The shapes of the generated policy sets that the compile benchmarks time.
            (
                "rule r7 { on patch_host when reboot and not fits(prod, now, duration) and host.tier == Tier::critical and any a in closure(host, ~depends_on): a.tags.intersects(revenue) and is_exec(host.owner) and host.owner.manager?.title ?? \"none\" != \"t7\" and host.owner.title matches \"^svc-7\" require approval from host.owner because \"{host} needs {duration} (7)\" }",
                true,
            ),
            (
                "rule r1 {\n  on patch_host\n  when reboot and not fits(prod_changes, now, duration + 1m)\n  deny because \"reboot of {host} ({duration}) would not finish\"\n}",
                true,
            ),
            (
                "rule r6 {\n  on change_firewall\n  when hour(now, \"Europe/Berlin\") < 6 or duration > 2h\n  require approval from \"netops\"\n  because \"firewall change of {duration} on {host}\"\n}",
                true,
            ),
            ("const c = [1, 2, 3];", true),
            ("const c = f(a)(b).c", true),
            ("rule r { on a when x && y deny }", false),
            ("rule r { on a when x = y deny }", false),
            ("rule r { on a when a < b < c deny }", false),
            ("rule r { on a when !x deny }", false),
            ("rule r { on a when t < 2026-01-01T00:00:00Z deny }", false),
            ("rule r { on a when x == 12x deny }", false),
            ("rule r { on a when x deny because \"{x // y}\" }", false),
            ("rule r { on a when x deny because \"{x\" }", false),
            ("rule r { on a when x }", false),
            ("rule r { on a when x deny } x", false),
            ("rule r { on a when \"\\q\" deny }", false),
            ("const c: Int = 1", false),
            ("fn f() -> Bool = true", false),
        ];
        for (text, fast) in cases {
            let (file, diags) = crate::parse(text);
            let accepted = item(text, &SpanMap::Offset(0));
            assert_eq!(accepted.is_some(), *fast, "{text}");
            if let Some(item) = accepted {
                assert!(diags.is_empty(), "{text}: {diags:?}");
                assert_eq!(item, file.items[0], "{text}");
            }
        }
    }

    #[test]
    fn durations() {
        for (word, ok) in [
            ("1h", true),
            ("1h30m", true),
            ("90s", true),
            ("1", false),
            ("h", false),
            ("1h3", false),
            ("1x", false),
        ] {
            assert_eq!(is_duration(word), ok, "{word}");
        }
    }
}
