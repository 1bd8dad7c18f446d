//! Whether two files say the same thing: their trees equal once every span is erased, and
//! their comments are the same texts. The formatter's safety check and its tests use this;
//! layout (spans, white space, trailing spaces of comments) is all it ignores.

use crate::Span;
use crate::ast::{
    Comment, DaySpec, Effect, EffectKind, EntityEntry, Expectation, Expr, ExprKind, FieldDecl,
    File, Ident, Item, Message, MessagePart, OnClause, RecordField, StrLit, TestCase, TestEntities,
    TypeExpr, TypeExprKind, WindowLine, WindowLineKind,
};

/// The file's tree with every span set to zero and doc comments without trailing white space.
pub fn erase_spans(file: &File) -> Vec<Item> {
    let mut items = file.items.clone();
    for item in &mut items {
        erase_item(item);
    }
    items
}

/// Every comment as `(doc, text)` with trailing white space removed, sorted.
pub fn comment_texts(comments: &[Comment]) -> Vec<(bool, String)> {
    let mut texts: Vec<(bool, String)> = comments
        .iter()
        .map(|c| (c.doc, c.text.trim_end().to_owned()))
        .collect();
    texts.sort();
    texts
}

const ZERO: Span = Span { start: 0, end: 0 };

fn doc(doc: &mut Option<String>) {
    if let Some(text) = doc {
        let lines: Vec<&str> = text.split('\n').map(str::trim_end).collect();
        *text = lines.join("\n");
    }
}

fn ident(i: &mut Ident) {
    i.span = ZERO;
}

fn str_lit(s: &mut StrLit) {
    s.span = ZERO;
}

fn ty(t: &mut TypeExpr) {
    t.span = ZERO;
    match &mut t.kind {
        TypeExprKind::Named(name) => ident(name),
        TypeExprKind::Set(inner) | TypeExprKind::Optional(inner) => ty(inner),
    }
}

fn field(f: &mut FieldDecl) {
    f.span = ZERO;
    doc(&mut f.doc);
    ident(&mut f.name);
    ty(&mut f.ty);
}

fn erase_item(item: &mut Item) {
    match item {
        Item::Use(it) => {
            it.span = ZERO;
            it.path.iter_mut().for_each(ident);
            if let Some(names) = &mut it.names {
                names.iter_mut().for_each(ident);
            }
        }
        Item::Enum(it) => {
            it.span = ZERO;
            doc(&mut it.doc);
            ident(&mut it.name);
            for v in &mut it.variants {
                doc(&mut v.doc);
                ident(&mut v.name);
            }
        }
        Item::Entity(it) => {
            it.span = ZERO;
            doc(&mut it.doc);
            ident(&mut it.name);
            it.fields.iter_mut().for_each(field);
        }
        Item::Relation(it) => {
            it.span = ZERO;
            doc(&mut it.doc);
            ident(&mut it.name);
            ty(&mut it.from);
            ty(&mut it.to);
        }
        Item::Context(it) => {
            it.span = ZERO;
            it.keyword = ZERO;
            doc(&mut it.doc);
            it.fields.iter_mut().for_each(field);
        }
        Item::Action(it) => {
            it.span = ZERO;
            doc(&mut it.doc);
            ident(&mut it.name);
            it.fields.iter_mut().for_each(field);
        }
        Item::Window(it) => {
            it.span = ZERO;
            doc(&mut it.doc);
            ident(&mut it.name);
            it.lines.iter_mut().for_each(window_line);
        }
        Item::Const(it) => {
            it.span = ZERO;
            doc(&mut it.doc);
            ident(&mut it.name);
            if let Some(t) = &mut it.ty {
                ty(t);
            }
            expr(&mut it.value);
        }
        Item::Fn(it) => {
            it.span = ZERO;
            doc(&mut it.doc);
            ident(&mut it.name);
            it.params.iter_mut().for_each(field);
            ty(&mut it.ret);
            expr(&mut it.body);
        }
        Item::Default(it) => {
            it.span = ZERO;
            effect(&mut it.effect);
        }
        Item::Rule(it) => {
            it.span = ZERO;
            doc(&mut it.doc);
            ident(&mut it.name);
            on(&mut it.on);
            it.when.iter_mut().for_each(expr);
            effect(&mut it.effect);
            if let Some(m) = &mut it.because {
                message(m);
            }
        }
        Item::Test(it) => {
            it.span = ZERO;
            doc(&mut it.doc);
            str_lit(&mut it.name);
            match &mut it.entities {
                None => {}
                Some(TestEntities::From(path)) => str_lit(path),
                Some(TestEntities::Inline { span, entries }) => {
                    *span = ZERO;
                    entries.iter_mut().for_each(entity_entry);
                }
            }
            it.cases.iter_mut().for_each(case);
        }
    }
}

fn window_line(line: &mut WindowLine) {
    line.span = ZERO;
    match &mut line.kind {
        WindowLineKind::Timezone(tz) => str_lit(tz),
        WindowLineKind::Weekly {
            start_day,
            start,
            end_day,
            end,
        } => {
            start_day.span = ZERO;
            start.span = ZERO;
            end_day.span = ZERO;
            end.span = ZERO;
        }
        WindowLineKind::Daily { start, end, days } => {
            start.span = ZERO;
            end.span = ZERO;
            days.iter_mut().for_each(|d: &mut DaySpec| d.span = ZERO);
        }
        WindowLineKind::Between { from, to } => {
            from.span = ZERO;
            to.span = ZERO;
        }
        WindowLineKind::Except(name) => ident(name),
    }
}

fn on(clause: &mut OnClause) {
    clause.span = ZERO;
    if let crate::ast::OnTargets::Actions(actions) = &mut clause.targets {
        actions.iter_mut().for_each(ident);
    }
}

fn effect(e: &mut Effect) {
    e.span = ZERO;
    if let EffectKind::RequireApproval { from: Some(from) } = &mut e.kind {
        expr(from);
    }
}

fn message(m: &mut Message) {
    m.span = ZERO;
    for part in &mut m.parts {
        if let MessagePart::Hole(e) = part {
            expr(e);
        }
    }
}

fn entity_entry(entry: &mut EntityEntry) {
    match entry {
        EntityEntry::Entity {
            span,
            ty,
            id,
            attrs,
        } => {
            *span = ZERO;
            ident(ty);
            str_lit(id);
            attrs.iter_mut().for_each(record_field);
        }
        EntityEntry::Edge {
            span,
            from,
            relation,
            to,
        } => {
            *span = ZERO;
            expr(from);
            ident(relation);
            expr(to);
        }
    }
}

fn record_field(f: &mut RecordField) {
    f.span = ZERO;
    ident(&mut f.name);
    expr(&mut f.value);
}

fn case(c: &mut TestCase) {
    c.span = ZERO;
    ident(&mut c.action);
    c.args.iter_mut().for_each(record_field);
    c.context.iter_mut().for_each(record_field);
    if let Some(at) = &mut c.at {
        at.span = ZERO;
    }
    expectation(&mut c.expect);
}

fn expectation(e: &mut Expectation) {
    e.span = ZERO;
    effect(&mut e.effect);
    if let Some(rules) = &mut e.by {
        rules.iter_mut().for_each(ident);
    }
}

/// Recursive over a tree at most `MAX_DEPTH` deep, each level through `grow_stack` (see the
/// expression printer).
fn expr(e: &mut Expr) {
    ward_ir::limits::grow_stack(|| erase_expr(e));
}

fn erase_expr(e: &mut Expr) {
    e.span = ZERO;
    match &mut e.kind {
        ExprKind::Bool(_)
        | ExprKind::Int(_)
        | ExprKind::Str(_)
        | ExprKind::Duration(_)
        | ExprKind::Timestamp(_)
        | ExprKind::Now
        | ExprKind::Error => {}
        ExprKind::EntityRef { ty, id } => {
            ident(ty);
            str_lit(id);
        }
        ExprKind::EnumValue { ty, variant } => {
            ident(ty);
            ident(variant);
        }
        ExprKind::Set(elems) => elems.iter_mut().for_each(expr),
        ExprKind::Name(name) | ExprKind::InverseRelation(name) => ident(name),
        ExprKind::Unary { op, operand } => {
            op.span = ZERO;
            expr(operand);
        }
        ExprKind::Binary { op, lhs, rhs } => {
            op.span = ZERO;
            expr(lhs);
            expr(rhs);
        }
        ExprKind::Has { operand, attr } => {
            expr(operand);
            ident(attr);
        }
        ExprKind::Field { operand, attr, .. } => {
            expr(operand);
            ident(attr);
        }
        ExprKind::Call { callee, args } => {
            expr(callee);
            args.iter_mut().for_each(expr);
        }
        ExprKind::If {
            cond,
            then,
            otherwise,
        } => {
            expr(cond);
            expr(then);
            expr(otherwise);
        }
        ExprKind::Quantifier { var, set, body, .. } => {
            ident(var);
            expr(set);
            expr(body);
        }
        ExprKind::Filter { var, set, cond } => {
            ident(var);
            expr(set);
            expr(cond);
        }
        ExprKind::Paren(inner) => expr(inner),
    }
}
