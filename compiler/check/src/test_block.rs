//! `test` blocks (`docs/language.md`, section 8): check entities, requests and expectations
//! against the schema and lower them to the JSON documents of section 9, so tests go through
//! the runtime's own validation like production data.
//!
//! Values in tests are constants (literals, entity references, enum values, sets of them and
//! constants naming such values); this module evaluates them at compile time. It does no IO:
//! `entities from "…"` is only resolved to a path.

use std::collections::{HashMap, HashSet};

use serde_json::{Map, Value, json};
use ward_ir as ir;
use ward_ir::literal::{format_duration, format_timestamp};
use ward_syntax::ast::{self, ExprKind};
use ward_syntax::{Diagnostic, Span};

use crate::checker::{Checker, Def};
use crate::codes;
use crate::suggest::did_you_mean;
use crate::ty::{Ty, TypeNames};

/// How deep constants may refer to constants inside a test value before we give up.
const MAX_CONST_DEPTH: u32 = 32;

impl Checker<'_> {
    pub(crate) fn check_test(&mut self, file: usize, test: &ast::TestDecl) -> ir::Test {
        // Where each entity of the test is declared, so that references to it resolve.
        self.test_entity_ids.clear();
        if let Some(ast::TestEntities::Inline { entries, .. }) = &test.entities {
            for entry in entries {
                if let ast::EntityEntry::Entity { ty, id, .. } = entry
                    && let Some(Def::Entity(ety)) = self.globals.get(&ty.name)
                {
                    self.test_entity_ids
                        .entry((*ety, id.value.clone()))
                        .or_insert(id.span);
                }
            }
        }
        let entities = match &test.entities {
            None => ir::TestEntities::None,
            Some(ast::TestEntities::From(path)) => {
                let base = std::path::Path::new(self.files[file].path)
                    .parent()
                    .unwrap_or(std::path::Path::new(""));
                ir::TestEntities::File {
                    written: path.value.clone(),
                    resolved: base.join(&path.value).to_string_lossy().into_owned(),
                }
            }
            Some(ast::TestEntities::Inline { entries, .. }) => {
                ir::TestEntities::Inline(self.test_entities(file, entries))
            }
        };
        let cases = test
            .cases
            .iter()
            .map(|case| self.test_case(file, case))
            .collect();
        let keyword = Span {
            start: test.span.start,
            end: test.span.start,
        };
        ir::Test {
            name: test.name.value.clone(),
            location: self.location(file, keyword),
            entities,
            cases,
        }
    }

    fn test_entities(&mut self, file: usize, entries: &[ast::EntityEntry]) -> Value {
        let mut entities: Map<String, Value> = Map::new();
        let mut relations: Map<String, Value> = Map::new();
        let mut seen: HashMap<(u32, String), Span> = HashMap::new();
        for entry in entries {
            match entry {
                ast::EntityEntry::Entity {
                    span,
                    ty,
                    id,
                    attrs,
                } => {
                    let Some(ety) = self.entity_type(file, ty) else {
                        continue;
                    };
                    if let Some(first) = seen.get(&(ety, id.value.clone())) {
                        let diag = Diagnostic::error(
                            codes::DUPLICATE_TEST_ENTITY,
                            format!(
                                "entity `{}::\"{}\"` is defined twice in this test",
                                ty.name, id.value
                            ),
                            *span,
                        )
                        .with_secondary(None, *first, "first defined here")
                        .with_help("merge the two definitions");
                        self.report(file, diag);
                        continue;
                    }
                    seen.insert((ety, id.value.clone()), *span);
                    self.def_symbol(file, ty.span, &ty.name, Def::Entity(ety));
                    self.test_entity_symbol(file, id, &ty.name, id.span);
                    let fields: Vec<(String, Ty)> = self.entities[ety as usize].attrs.clone();
                    let owner = format!("entity `{}::\"{}\"`", ty.name, id.value);
                    let record = self.record(file, *span, attrs, &fields, &owner, "attribute");
                    for field in attrs {
                        let attr = self.entities[ety as usize]
                            .attr_index
                            .get(&field.name.name)
                            .copied();
                        if let Some(attr) = attr {
                            self.attr_symbol(file, field.name.span, ety, attr);
                        }
                    }
                    let by_type = entities
                        .entry(ty.name.clone())
                        .or_insert_with(|| Value::Object(Map::new()));
                    if let Value::Object(map) = by_type {
                        map.insert(id.value.clone(), Value::Object(record));
                    }
                }
                ast::EntityEntry::Edge {
                    from, relation, to, ..
                } => {
                    let rel = match self.globals.get(&relation.name) {
                        Some(Def::Relation(r)) => *r,
                        _ => {
                            let mut diag = Diagnostic::error(
                                codes::UNKNOWN_RELATION,
                                format!("unknown relation `{}`", relation.name),
                                relation.span,
                            );
                            if let Some(help) = did_you_mean(
                                &relation.name,
                                self.relations.iter().map(|r| r.name.as_str()),
                            ) {
                                diag = diag.with_help(help);
                            }
                            self.report(file, diag);
                            continue;
                        }
                    };
                    self.def_symbol(file, relation.span, &relation.name, Def::Relation(rel));
                    let info = &self.relations[rel as usize];
                    let (Some(a), Some(b)) = (info.from, info.to) else {
                        continue;
                    };
                    let from = self.const_json(file, from, &Ty::Entity(a), 0);
                    let to = self.const_json(file, to, &Ty::Entity(b), 0);
                    let edges = relations
                        .entry(relation.name.clone())
                        .or_insert_with(|| Value::Array(Vec::new()));
                    if let Value::Array(list) = edges {
                        list.push(json!([from, to]));
                    }
                }
            }
        }
        json!({ "entities": entities, "relations": relations })
    }

    /// Check a record literal against declared fields: unknown, duplicate and missing fields
    /// and value types.
    fn record(
        &mut self,
        file: usize,
        span: Span,
        given: &[ast::RecordField],
        fields: &[(String, Ty)],
        owner: &str,
        what: &str,
    ) -> Map<String, Value> {
        let mut out = Map::new();
        let mut seen: HashSet<&str> = HashSet::new();
        // Misspelt fields are reported once, as unknown, not again as missing.
        let mut suggested: HashSet<&str> = HashSet::new();
        for field in given {
            let Some((_, ty)) = fields.iter().find(|(n, _)| *n == field.name.name) else {
                let mut diag = Diagnostic::error(
                    codes::TEST_VALUE_UNKNOWN,
                    format!("{owner} has no {what} `{}`", field.name.name),
                    field.name.span,
                );
                if let Some(close) = crate::suggest::closest(
                    &field.name.name,
                    fields.iter().map(|(n, _)| n.as_str()),
                ) {
                    suggested.insert(close);
                    diag = diag.with_help(format!("did you mean `{close}`?"));
                }
                self.report(file, diag);
                continue;
            };
            if !seen.insert(&field.name.name) {
                let diag = Diagnostic::error(
                    codes::DUPLICATE_FIELD,
                    format!("{what} `{}` is given twice", field.name.name),
                    field.name.span,
                )
                .with_help("remove one of them");
                self.report(file, diag);
                continue;
            }
            let value = self.const_json(file, &field.value, ty, 0);
            out.insert(field.name.name.clone(), value);
        }
        let missing: Vec<String> = fields
            .iter()
            .filter(|(n, ty)| {
                !ty.is_optional() && !seen.contains(n.as_str()) && !suggested.contains(n.as_str())
            })
            .map(|(n, _)| format!("`{n}`"))
            .collect();
        if !missing.is_empty() {
            let plural = if missing.len() == 1 { "" } else { "s" };
            let diag = Diagnostic::error(
                codes::TEST_VALUE_MISSING,
                format!("{owner} is missing {what}{plural} {}", missing.join(", ")),
                span,
            )
            .with_help(format!("give a value to every {what} that is not optional"));
            self.report(file, diag);
        }
        out
    }

    fn test_case(&mut self, file: usize, case: &ast::TestCase) -> ir::TestCase {
        let action = self.action_index.get(&case.action.name).copied();
        if let Some(a) = action {
            self.def_symbol(file, case.action.span, &case.action.name, Def::Action(a));
        }
        let args = match action {
            Some(a) => {
                let fields = self.actions[a as usize].fields.clone();
                let owner = format!("action `{}`", case.action.name);
                let record =
                    self.record(file, case.action.span, &case.args, &fields, &owner, "field");
                for field in &case.args {
                    if let Some((_, ty)) = fields.iter().find(|(n, _)| *n == field.name.name) {
                        let ty = ty.clone();
                        self.field_symbol(
                            file,
                            field.name.span,
                            &field.name.name,
                            &ty,
                            Some(&case.action.name),
                        );
                    }
                }
                record
            }
            None => {
                let mut diag = Diagnostic::error(
                    codes::UNKNOWN_ACTION,
                    format!("unknown action `{}`", case.action.name),
                    case.action.span,
                );
                if let Some(help) = did_you_mean(
                    &case.action.name,
                    self.actions.iter().map(|a| a.name.as_str()),
                ) {
                    diag = diag.with_help(help);
                }
                self.report(file, diag);
                Map::new()
            }
        };
        let fields = self.context.clone();
        let context = self.record(
            file,
            case.span,
            &case.context,
            &fields,
            "the context",
            "field",
        );
        for field in &case.context {
            if let Some((_, ty)) = fields.iter().find(|(n, _)| *n == field.name.name) {
                let ty = ty.clone();
                self.field_symbol(file, field.name.span, &field.name.name, &ty, None);
            }
        }
        let at = case.at.map_or(0, |t| t.value.seconds);
        let request = json!({
            "action": case.action.name,
            "at": format_timestamp(at),
            "args": args,
            "context": context,
        });
        let (expect, approvers) = match &case.expect.effect.kind {
            ast::EffectKind::Allow => (ir::EffectKind::Allow, None),
            ast::EffectKind::Deny => (ir::EffectKind::Deny, None),
            ast::EffectKind::RequireApproval { from } => {
                let approvers = from.as_ref().map(|e| {
                    let mut out = Vec::new();
                    self.const_approvers(file, e, &mut out, 0);
                    out.sort();
                    out.dedup();
                    out
                });
                (ir::EffectKind::RequireApproval, approvers)
            }
        };
        let by = case.expect.by.as_ref().map(|names| {
            names
                .iter()
                .map(|name| {
                    if let Some(&rule) = self.rule_names.get(&name.name) {
                        self.def_symbol(file, name.span, &name.name, Def::Rule(rule));
                    } else {
                        let mut diag = Diagnostic::error(
                            codes::UNKNOWN_RULE,
                            format!("unknown rule `{}`", name.name),
                            name.span,
                        );
                        if let Some(help) =
                            did_you_mean(&name.name, self.rule_names.keys().map(String::as_str))
                        {
                            diag = diag.with_help(help);
                        }
                        self.report(file, diag);
                    }
                    name.name.clone()
                })
                .collect()
        });
        ir::TestCase {
            location: self.location(file, case.span),
            request,
            expect,
            approvers,
            by,
        }
    }

    /// The approvers of `expect require approval from X`, evaluated at compile time.
    fn const_approvers(&mut self, file: usize, e: &ast::Expr, out: &mut Vec<String>, depth: u32) {
        match &e.kind {
            ExprKind::Paren(inner) => self.const_approvers(file, inner, out, depth),
            ExprKind::Str(s) => out.push(s.clone()),
            ExprKind::EntityRef { ty, id } => {
                if self.entity_type(file, ty).is_some() {
                    out.push(id.value.clone());
                }
            }
            ExprKind::Set(items) => {
                for item in items {
                    self.const_approvers(file, item, out, depth);
                }
            }
            ExprKind::Name(n) if depth < MAX_CONST_DEPTH => match self.globals.get(&n.name) {
                Some(Def::Const(c)) => {
                    let (cfile, decl) =
                        (self.consts[*c as usize].file, self.consts[*c as usize].decl);
                    self.const_approvers(cfile, &decl.value, out, depth + 1);
                }
                _ => self.bad_approvers(file, e.span),
            },
            ExprKind::Error => {}
            _ => {
                match literal_type(e) {
                    Some(ty) => {
                        let shown = self.show(&ty);
                        let diag = Diagnostic::error(
                        codes::TEST_APPROVERS,
                        format!("the approvers a test expects are strings or entities, found `{shown}`"),
                        e.span,
                    )
                    .with_help("write strings, entity references (`Identity::\"alice\"`) or a set of them");
                        self.report(file, diag);
                    }
                    None => self.bad_approvers(file, e.span),
                }
            }
        }
    }

    fn bad_approvers(&mut self, file: usize, span: Span) {
        let diag = Diagnostic::error(
            codes::TEST_APPROVERS,
            "the approvers a test expects must be constants",
            span,
        )
        .with_help("write strings, entity references (`Identity::\"alice\"`) or a set of them");
        self.report(file, diag);
    }

    /// A constant test value as JSON (`docs/language.md`, section 9), checked against `ty`.
    fn const_json(&mut self, file: usize, e: &ast::Expr, ty: &Ty, depth: u32) -> Value {
        let ty = ty.strip_optional();
        match (&e.kind, ty) {
            (ExprKind::Paren(inner), _) => self.const_json(file, inner, ty, depth),
            (ExprKind::Error, _) | (_, Ty::Error) => Value::Null,
            (ExprKind::Bool(b), Ty::Bool) => Value::Bool(*b),
            (ExprKind::Int(n), Ty::Int) => json!(n),
            (ExprKind::Unary { op, operand }, Ty::Int) if op.value == ast::UnaryOp::Neg => {
                match &operand.kind {
                    ExprKind::Int(n) => match n.checked_neg() {
                        Some(v) => json!(v),
                        None => {
                            let text = self.text(file, e.span).to_string();
                            let diag = Diagnostic::error(
                                codes::ALWAYS_FAILS,
                                format!(
                                    "`{text}` always fails: its result is out of range for Int"
                                ),
                                e.span,
                            )
                            .with_help(
                                "an Int is from -9223372036854775808 to 9223372036854775807",
                            );
                            self.report(file, diag);
                            Value::Null
                        }
                    },
                    _ => self.not_constant(file, e.span),
                }
            }
            (ExprKind::Str(s), Ty::String) => Value::String(s.clone()),
            (ExprKind::Duration(secs), Ty::Duration) => Value::String(format_duration(*secs)),
            (ExprKind::Timestamp(t), Ty::Timestamp) => Value::String(format_timestamp(t.seconds)),
            (ExprKind::EntityRef { ty: name, id }, Ty::Entity(want)) => {
                match self.entity_type(file, name) {
                    Some(found) if found == *want => {
                        self.def_symbol(file, name.span, &name.name, Def::Entity(found));
                        let decl = self
                            .test_entity_ids
                            .get(&(found, id.value.clone()))
                            .copied();
                        if let Some(decl) = decl.filter(|d| *d != id.span) {
                            self.test_entity_symbol(file, id, &name.name, decl);
                        }
                        Value::String(id.value.clone())
                    }
                    Some(found) => {
                        self.wrong_value(file, e.span, ty, &Ty::Entity(found));
                        Value::Null
                    }
                    None => Value::Null,
                }
            }
            (ExprKind::EnumValue { ty: name, variant }, Ty::Enum(want)) => {
                match self.enum_variant(file, name, variant) {
                    Some((found, v)) if found == *want => {
                        self.def_symbol(file, name.span, &name.name, Def::Enum(found));
                        self.variant_symbol(file, variant.span, found, v);
                        Value::String(self.enums[found as usize].variants[v as usize].clone())
                    }
                    Some((found, _)) => {
                        self.wrong_value(file, e.span, ty, &Ty::Enum(found));
                        Value::Null
                    }
                    None => Value::Null,
                }
            }
            (ExprKind::Set(items), Ty::Set(elem)) => {
                let elem = (**elem).clone();
                Value::Array(
                    items
                        .iter()
                        .map(|i| self.const_json(file, i, &elem, depth))
                        .collect(),
                )
            }
            (ExprKind::Name(n), _) if depth < MAX_CONST_DEPTH => match self.globals.get(&n.name) {
                Some(Def::Const(c)) => {
                    let (cfile, decl) =
                        (self.consts[*c as usize].file, self.consts[*c as usize].decl);
                    let found = self.consts[*c as usize].value.as_ref().map(|v| v.0.clone());
                    if let Some(found) = found
                        && !found.compatible(ty)
                    {
                        self.wrong_value(file, e.span, ty, &found);
                        return Value::Null;
                    }
                    self.const_json(cfile, &decl.value, ty, depth + 1)
                }
                _ => self.not_constant(file, e.span),
            },
            _ => match literal_type(e) {
                Some(found) => {
                    self.wrong_value(file, e.span, ty, &found);
                    Value::Null
                }
                None => self.not_constant(file, e.span),
            },
        }
    }

    fn wrong_value(&mut self, file: usize, span: Span, expected: &Ty, found: &Ty) {
        let (exp, fnd) = (self.show(expected), self.show(found));
        let diag = Diagnostic::error(
            codes::TEST_VALUE_TYPE,
            format!("mismatched types: expected `{exp}`, found `{fnd}`"),
            span,
        )
        .with_label(format!("this is `{fnd}`"));
        self.report(file, diag);
    }

    fn not_constant(&mut self, file: usize, span: Span) -> Value {
        let diag = Diagnostic::error(codes::TEST_VALUE_NOT_CONSTANT, "values in tests must be constants", span)
            .with_help("write a literal, an entity reference, an enum value, a set of them or a constant's name");
        self.report(file, diag);
        Value::Null
    }
}

/// The type of a literal, for "expected X, found Y" in tests.
fn literal_type(e: &ast::Expr) -> Option<Ty> {
    Some(match &e.kind {
        ExprKind::Bool(_) => Ty::Bool,
        ExprKind::Int(_) => Ty::Int,
        ExprKind::Str(_) => Ty::String,
        ExprKind::Duration(_) => Ty::Duration,
        ExprKind::Timestamp(_) => Ty::Timestamp,
        ExprKind::Set(items) => Ty::Set(Box::new(
            items.first().and_then(literal_type).unwrap_or(Ty::Error),
        )),
        _ => return None,
    })
}
