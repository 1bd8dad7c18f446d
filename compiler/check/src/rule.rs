//! Rules and effects (`docs/language.md`, section 6): the `on` clause and the fields it brings into scope, the
//! `when` conditions (split at top-level `and`), approvers and `because` messages.
//!
//! Expressions are typed by `expr.rs`; this module knows nothing of how decisions are combined
//! at run time.

use ward_ir as ir;
use ward_syntax::Diagnostic;
use ward_syntax::ast::{self, BinaryOp, ExprKind};

use crate::checker::Checker;
use crate::codes;
use crate::depth::Site;
use crate::expr::Scope;
use crate::suggest::did_you_mean;
use crate::ty::{Ty, TypeNames};

impl Checker<'_> {
    /// Resolve the actions of an `on` clause, sorted and deduplicated.
    pub(crate) fn on_actions(&mut self, file: usize, on: &ast::OnClause) -> Vec<u32> {
        let mut actions = match &on.targets {
            ast::OnTargets::All => (0..self.actions.len() as u32).collect(),
            ast::OnTargets::Actions(names) => {
                let mut out = Vec::new();
                for name in names {
                    match self.action_index.get(&name.name) {
                        Some(&id) => {
                            self.def_symbol(
                                file,
                                name.span,
                                &name.name,
                                crate::checker::Def::Action(id),
                            );
                            out.push(id);
                        }
                        None => {
                            let mut diag = Diagnostic::error(
                                codes::UNKNOWN_ACTION,
                                format!("unknown action `{}`", name.name),
                                name.span,
                            );
                            if let Some(help) = did_you_mean(
                                &name.name,
                                self.actions.iter().map(|a| a.name.as_str()),
                            ) {
                                diag = diag.with_help(help);
                            }
                            self.report(file, diag);
                        }
                    }
                }
                out
            }
        };
        actions.sort_unstable();
        actions.dedup();
        actions
    }

    pub(crate) fn check_rule(&mut self, file: usize, rule: &ast::RuleDecl) -> ir::Rule {
        let errors_before = self.diags.len();
        let actions = self.on_actions(file, &rule.on);
        let mut scope = Scope::new(file, None);
        scope.context = true;
        scope.unknown_action = self.diags.len() > errors_before;
        // Fields every action declares with the same type, in the first action's order.
        if let Some((&first, rest)) = actions.split_first() {
            for (name, ty) in &self.actions[first as usize].fields {
                let shared = rest.iter().all(|&a| {
                    let info = &self.actions[a as usize];
                    info.index
                        .get(name)
                        .is_some_and(|&f| info.fields[f as usize].1 == *ty)
                });
                if shared {
                    scope
                        .args_index
                        .insert(name.clone(), scope.args.len() as u32);
                    scope.args.push((name.clone(), ty.clone()));
                }
            }
        }
        scope.rule_actions = actions.clone();
        let mut conjuncts = Vec::new();
        for when in &rule.when {
            split_and(when, &mut conjuncts);
        }
        let conditions = conjuncts
            .into_iter()
            .map(|c| {
                let expr = self.expect(&mut scope, c, &Ty::Bool, "a `when` condition");
                self.within_budget(file, c.span, Site::Condition, &expr);
                ir::Condition {
                    source: self.text(file, c.span).to_string(),
                    location: self.location(file, c.span),
                    expr,
                }
            })
            .collect();
        let effect = self.effect(&mut scope, &rule.effect);
        let message = rule.because.as_ref().map(|m| self.message(&mut scope, m));
        let keyword = ward_syntax::Span {
            start: rule.span.start,
            end: rule.span.start,
        };
        ir::Rule {
            name: rule.name.name.clone(),
            location: self.location(file, keyword),
            actions: actions.into_iter().map(ir::ActionId).collect(),
            args: scope
                .args
                .iter()
                .map(|(n, t)| ir::Field {
                    name: n.clone(),
                    ty: t.to_ir(),
                })
                .collect(),
            conditions,
            effect,
            message,
            n_locals: scope.n_locals,
        }
    }

    pub(crate) fn effect(&mut self, sc: &mut Scope, effect: &ast::Effect) -> ir::Effect {
        match &effect.kind {
            ast::EffectKind::Allow => ir::Effect {
                kind: ir::EffectKind::Allow,
                approvers: None,
            },
            ast::EffectKind::Deny => ir::Effect {
                kind: ir::EffectKind::Deny,
                approvers: None,
            },
            ast::EffectKind::RequireApproval { from } => {
                let approvers = from.as_ref().map(|e| self.approvers(sc, e));
                ir::Effect {
                    kind: ir::EffectKind::RequireApproval,
                    approvers,
                }
            }
        }
    }

    fn approvers(&mut self, sc: &mut Scope, e: &ast::Expr) -> ir::Expr {
        let hint = Ty::Set(Box::new(Ty::String));
        let (ty, lowered) = self.expr(sc, e, Some(&hint));
        self.within_budget(sc.file, e.span, Site::Approvers, &lowered);
        let ok = match &ty {
            Ty::Error | Ty::String | Ty::Entity(_) => true,
            Ty::Set(elem) => matches!(**elem, Ty::String | Ty::Entity(_) | Ty::Error),
            _ => false,
        };
        if !ok {
            let shown = self.show(&ty);
            let mut diag = Diagnostic::error(
                codes::BAD_APPROVERS,
                format!(
                    "approvers must be a `String`, an entity or a set of them, found `{shown}`"
                ),
                e.span,
            )
            .with_label(format!("this is `{shown}`"));
            diag = if ty.is_optional() {
                let text = self.text(sc.file, e.span);
                diag.with_help(format!(
                    "the approver may be absent: give a fallback of the same type, `{text} ?? …`"
                ))
            } else {
                diag.with_help("write a team name (`\"security-oncall\"`), an entity (`host.owner`) or a set of them")
            };
            self.report(sc.file, diag);
        }
        lowered
    }

    /// W0102: literal braces around what reads as an expression whose names are in scope
    /// (`"{{target}}"`), where a hole (`"{target}"`) was probably meant. The `k`-th literal `{` of the text is the `k`-th
    /// `{{` of the source string.
    fn literal_braces(&mut self, sc: &Scope, message: &ast::Message) {
        let file = sc.file;
        let source = self.text(file, message.span);
        let mut doubled = source.match_indices("{{").map(|(i, _)| i);
        let mut found = Vec::new();
        for part in &message.parts {
            let ast::MessagePart::Text(text) = part else {
                continue;
            };
            let mut rest = text.as_str();
            while let Some(open) = rest.find('{') {
                let at = doubled.next();
                let after = &rest[open + 1..];
                let Some(close) = after.find('}') else { break };
                let inner = &after[..close];
                let parses = !inner.trim().is_empty() && {
                    let (e, diags) = ward_syntax::parse_expr(inner);
                    diags.is_empty() && self.names_in_scope(sc, &e)
                };
                if let (true, Some(at)) = (parses, at) {
                    found.push((at, inner.to_owned()));
                }
                // Literal `{`s inside the braces have their own `{{` in the source.
                for _ in inner.matches('{') {
                    doubled.next();
                }
                rest = &after[close + 1..];
            }
        }
        for (at, inner) in found {
            let start = message.span.start as usize + at;
            let end = source[at..]
                .find("}}")
                .map_or(start + 2, |i| message.span.start as usize + at + i + 2);
            let diag = Diagnostic::warning(
                codes::LITERAL_BRACES,
                format!(
                    "`{{{{{inner}}}}}` is literal text, not a hole: the message shows the braces"
                ),
                ward_syntax::Span::new(start, end),
            )
            .with_help(format!(
                "write `{{{}}}` to insert its value; `{{{{` and `}}}}` stand for literal braces",
                inner.trim()
            ));
            self.report(file, diag);
        }
    }

    fn message(&mut self, sc: &mut Scope, message: &ast::Message) -> ir::Message {
        self.literal_braces(sc, message);
        let parts = message
            .parts
            .iter()
            .map(|part| match part {
                ast::MessagePart::Text(text) => ir::MessagePart::Text(text.clone()),
                ast::MessagePart::Hole(e) => {
                    let lowered = self.expr(sc, e, None).1;
                    self.within_budget(sc.file, e.span, Site::Message, &lowered);
                    ir::MessagePart::Expr(lowered)
                }
            })
            .collect();
        ir::Message { parts }
    }
}

/// Split a condition at its top-level `and`s (not inside parentheses).
fn split_and<'e>(e: &'e ast::Expr, out: &mut Vec<&'e ast::Expr>) {
    match &e.kind {
        ExprKind::Binary { op, lhs, rhs } if op.value == BinaryOp::And => {
            split_and(lhs, out);
            split_and(rhs, out);
        }
        _ => out.push(e),
    }
}
