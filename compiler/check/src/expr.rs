//! Expressions: name resolution, typing (`docs/language.md`, section 5; decisions #8–#14) and
//! lowering to [`ward_ir::Expr`] in one walk.
//!
//! A mistake is reported once and typed as [`Ty::Error`], which every later check accepts,
//! so one error does not cascade. This module knows nothing of rules or tests beyond the
//! [`Scope`] they hand in.

use std::collections::HashMap;

use ward_ir as ir;
use ward_syntax::ast::{self, BinaryOp, ExprKind, UnaryOp};
use ward_syntax::{Diagnostic, Span};

use crate::checker::{Checker, Def};
use crate::codes;
use crate::suggest::did_you_mean;
use crate::symbols::SymbolKind;
use crate::ty::{Ty, TypeNames};

/// What is in scope while checking one expression (decision #13, innermost first):
/// quantifier variables and parameters, the rule's action fields, the context fields, then
/// top-level names.
#[derive(Debug)]
pub(crate) struct Scope {
    pub file: usize,
    /// The stdlib module (its file index) whose item is being checked.
    pub module: Option<usize>,
    locals: Vec<(String, Ty, u32)>,
    /// Where each local (by id) is declared, and whether it is a parameter.
    local_decls: Vec<(Span, bool)>,
    pub n_locals: u32,
    /// Action fields in scope (rules only).
    pub args: Vec<(String, Ty)>,
    pub args_index: HashMap<String, u32>,
    /// Whether the context fields are in scope.
    pub context: bool,
    /// The rule's actions, to explain a field that only some of them declare.
    pub rule_actions: Vec<u32>,
    /// Set when an action of the rule is unknown: its fields cannot be known, so unknown names
    /// are not reported (they would only echo that error).
    pub unknown_action: bool,
    /// The function (`Some("is_exec")`) or constant (`None` with `constant`) being checked,
    /// whose bodies see no action or context field (decision #29).
    pub function: Option<String>,
    pub constant: bool,
}

impl Scope {
    pub(crate) fn new(file: usize, module: Option<usize>) -> Scope {
        Scope {
            file,
            module,
            locals: Vec::new(),
            local_decls: Vec::new(),
            n_locals: 0,
            args: Vec::new(),
            args_index: HashMap::new(),
            context: false,
            rule_actions: Vec::new(),
            unknown_action: false,
            function: None,
            constant: false,
        }
    }

    /// Bind a parameter (`param`) or a quantifier variable declared at `span`.
    pub(crate) fn push_local(&mut self, name: &str, span: Span, param: bool, ty: Ty) -> u32 {
        let id = self.n_locals;
        self.n_locals += 1;
        self.locals.push((name.to_string(), ty, id));
        self.local_decls
            .resize(id as usize + 1, (Span::default(), false));
        self.local_decls[id as usize] = (span, param);
        id
    }
}

/// What a bare name means at a point.
#[derive(Clone, Debug)]
enum Resolved {
    Local(Ty, u32),
    Arg(Ty, u32),
    Context(Ty, u32),
    Global(Def),
    Unknown,
}

type Typed = (Ty, ir::Expr);

fn mk(ty: &Ty, kind: ir::ExprKind) -> ir::Expr {
    ir::Expr {
        ty: ty.to_ir(),
        kind,
    }
}

fn error() -> Typed {
    (Ty::Error, mk(&Ty::Error, ir::ExprKind::Bool(false)))
}

fn bool_expr(kind: ir::ExprKind) -> Typed {
    (Ty::Bool, mk(&Ty::Bool, kind))
}

/// Strip parentheses.
fn unparen(e: &ast::Expr) -> &ast::Expr {
    match &e.kind {
        ExprKind::Paren(inner) => unparen(inner),
        _ => e,
    }
}

impl Checker<'_> {
    fn lookup_global(&self, sc: &Scope, name: &str) -> Option<Def> {
        if let Some(module) = sc.module
            && let Some(def) = self
                .module_items
                .get(&module)
                .and_then(|items| items.get(name))
        {
            return Some(*def);
        }
        self.globals.get(name).copied()
    }

    fn resolve_name(&self, sc: &Scope, name: &str) -> Resolved {
        if let Some((_, ty, id)) = sc.locals.iter().rev().find(|(n, _, _)| n == name) {
            return Resolved::Local(ty.clone(), *id);
        }
        if let Some(&idx) = sc.args_index.get(name) {
            return Resolved::Arg(sc.args[idx as usize].1.clone(), idx);
        }
        if sc.context
            && let Some(&idx) = self.context_index.get(name)
        {
            return Resolved::Context(self.context[idx as usize].1.clone(), idx);
        }
        match self.lookup_global(sc, name) {
            Some(def) => Resolved::Global(def),
            None => Resolved::Unknown,
        }
    }

    /// Every value name visible in `sc`, for suggestions.
    fn value_names<'s>(&'s self, sc: &'s Scope) -> Vec<&'s str> {
        let mut names: Vec<&str> = sc.locals.iter().map(|(n, _, _)| n.as_str()).collect();
        names.extend(sc.args.iter().map(|(n, _)| n.as_str()));
        if sc.context {
            names.extend(self.context.iter().map(|(n, _)| n.as_str()));
        }
        let value_def = |d: &Def| {
            matches!(
                d,
                Def::Const(_) | Def::Window(_) | Def::Fn(_) | Def::Module(_)
            )
        };
        if let Some(items) = sc.module.and_then(|m| self.module_items.get(&m)) {
            names.extend(
                items
                    .iter()
                    .filter(|(_, d)| value_def(d))
                    .map(|(n, _)| n.as_str()),
            );
        }
        names.extend(
            self.globals
                .iter()
                .filter(|(_, d)| value_def(d))
                .map(|(n, _)| n.as_str()),
        );
        names
    }

    fn unknown_name(&mut self, sc: &Scope, ident: &ast::Ident) {
        if sc.unknown_action {
            return;
        }
        // A field that only some of the rule's actions declare (or with different types).
        if !sc.rule_actions.is_empty() {
            let mut lacking = Vec::new();
            let mut differing = Vec::new();
            let mut declared = false;
            for &action in &sc.rule_actions {
                let info = &self.actions[action as usize];
                match info.index.get(&ident.name) {
                    Some(&f) => {
                        declared = true;
                        differing.push(format!(
                            "`{}` has `{}`",
                            info.name,
                            self.show(&info.fields[f as usize].1)
                        ));
                    }
                    None => lacking.push(format!("`{}`", info.name)),
                }
            }
            if declared {
                let help = if lacking.is_empty() {
                    format!(
                        "the actions declare it with different types: {}",
                        differing.join(", ")
                    )
                } else {
                    format!(
                        "{} {} not declare it",
                        lacking.join(", "),
                        if lacking.len() == 1 { "does" } else { "do" }
                    )
                };
                let diag = Diagnostic::error(
                    codes::FIELD_NOT_SHARED,
                    format!("field `{}` is not in scope: not every action of this rule declares it with the same type", ident.name),
                    ident.span,
                )
                .with_help(format!("{help}; split the rule by action"));
                self.report(sc.file, diag);
                return;
            }
        }
        let mut diag = Diagnostic::error(
            codes::UNKNOWN_NAME,
            format!("unknown name `{}`", ident.name),
            ident.span,
        );
        if let Some(help) = self.field_outside_rule(sc, &ident.name) {
            diag = diag.with_help(help);
        } else if let Some(help) = did_you_mean(&ident.name, self.value_names(sc)) {
            diag = diag.with_help(help);
        } else if self
            .files
            .iter()
            .any(|f| f.module == Some(ident.name.as_str()))
        {
            diag = diag.with_help(format!(
                "to use the stdlib module `{0}`, add `use std.{0}` to the policy set",
                ident.name
            ));
        }
        self.report(sc.file, diag);
    }

    /// Whether every name `e` uses is in scope in `sc` (functions and builtins where called),
    /// without checking anything else or reporting: for the hole-like text of W0102.
    pub(crate) fn names_in_scope(&self, sc: &Scope, e: &ast::Expr) -> bool {
        let mut stack = vec![e];
        while let Some(e) = stack.pop() {
            match &e.kind {
                ExprKind::Name(n) => {
                    if matches!(self.resolve_name(sc, &n.name), Resolved::Unknown) {
                        return false;
                    }
                }
                ExprKind::Call { callee, args } => {
                    match &callee.kind {
                        ExprKind::Name(f) => {
                            let known = ir::Builtin::named(&f.name).next().is_some()
                                || matches!(
                                    self.resolve_name(sc, &f.name),
                                    Resolved::Global(Def::Fn(_))
                                );
                            if !known {
                                return false;
                            }
                        }
                        other => stack.push(callee_operand(other, callee)),
                    }
                    stack.extend(args);
                }
                ExprKind::Unary { operand, .. }
                | ExprKind::Has { operand, .. }
                | ExprKind::Field { operand, .. } => stack.push(operand),
                ExprKind::Paren(inner) => stack.push(inner),
                ExprKind::Binary { lhs, rhs, .. } => stack.extend([&**lhs, &**rhs]),
                ExprKind::Set(items) => stack.extend(items),
                ExprKind::If {
                    cond,
                    then,
                    otherwise,
                } => stack.extend([&**cond, &**then, &**otherwise]),
                // A quantifier binds a name of its own: not worth resolving here.
                ExprKind::Quantifier { .. } | ExprKind::Filter { .. } => return false,
                ExprKind::Error => return false,
                _ => {}
            }
        }
        true
    }

    /// When `name` is an action or context field and `sc` is a function's or a constant's
    /// body: why it is not in scope, and what to write instead.
    fn field_outside_rule(&self, sc: &Scope, name: &str) -> Option<String> {
        let declared = self
            .actions
            .iter()
            .find_map(|a| {
                a.index
                    .get(name)
                    .map(|&f| (&a.fields[f as usize].1, "action"))
            })
            .or_else(|| {
                self.context_index
                    .get(name)
                    .map(|&f| (&self.context[f as usize].1, "context"))
            });
        let (ty, whose) = declared?;
        let ty = self.show(ty);
        match (&sc.function, sc.constant) {
            (Some(function), _) => Some(format!(
                "`{name}` is a field of the {whose}, and functions see only their parameters \
                 (and top-level names): add a parameter `{name}: {ty}` to `{function}` and pass \
                 `{name}` where it is called"
            )),
            (None, true) => Some(format!(
                "`{name}` is a field of the {whose}, and constants see only top-level names: \
                 use a function with a parameter `{name}: {ty}` instead"
            )),
            (None, false) => None,
        }
    }

    fn not_a_value(&mut self, sc: &Scope, name: &str, def: Def, span: Span) {
        let help = match def {
            Def::Window(_) => format!(
                "a window is not a value: use `t in {name}`, `remaining({name}, t)`, `fits({name}, t, d)` or `next_open({name}, t)`"
            ),
            Def::Fn(_) => format!("call it: `{name}(…)`"),
            Def::Relation(_) => {
                format!("follow it: `x.{name}`, `closure(x, {name})` or `path(x, y, {name})`")
            }
            Def::Entity(_) => format!("write an entity reference: `{name}::\"id\"`"),
            Def::Enum(_) => format!("write a variant: `{name}::variant`"),
            Def::Module(_) => format!("name an item of the module: `{name}.NAME`"),
            Def::Action(_) => "inside a rule, the action's fields are in scope by name".to_string(),
            Def::Rule(_) | Def::Const(_) => {
                "rules cannot be referred to in expressions".to_string()
            }
        };
        let code = if matches!(def, Def::Window(_)) {
            codes::WINDOW_AS_VALUE
        } else {
            codes::NOT_A_VALUE
        };
        let diag = Diagnostic::error(
            code,
            format!("{} `{name}` is not a value", def.kind()),
            span,
        )
        .with_help(help);
        self.report(sc.file, diag);
    }

    /// A constant's value, inlined with its locals renumbered after the scope's.
    fn inline_const(&mut self, sc: &mut Scope, idx: u32) -> Typed {
        let Some((ty, mut value, n)) = self.ensure_const(idx) else {
            return error();
        };
        if n > 0 {
            shift_locals(&mut value, sc.n_locals);
            sc.n_locals += n;
        }
        (ty, value)
    }

    /// `module.NAME` when `operand` is a module alias: `Some(None)` after reporting an unknown
    /// item.
    fn module_member(
        &mut self,
        sc: &Scope,
        operand: &ast::Expr,
        attr: &ast::Ident,
    ) -> Option<Option<Def>> {
        let ExprKind::Name(m) = &operand.kind else {
            return None;
        };
        let Resolved::Global(Def::Module(module)) = self.resolve_name(sc, &m.name) else {
            return None;
        };
        let found = self
            .module_items
            .get(&module)
            .and_then(|items| items.get(&attr.name))
            .copied();
        if let Some(def) = found {
            self.def_symbol(sc.file, m.span, &m.name, Def::Module(module));
            self.def_symbol(sc.file, attr.span, &attr.name, def);
        }
        if found.is_none() {
            let module_name = self.files[module].module.unwrap_or("?");
            let mut diag = Diagnostic::error(
                codes::UNKNOWN_MODULE,
                format!("module `std.{module_name}` has no item `{}`", attr.name),
                attr.span,
            );
            if let Some(help) = self
                .module_items
                .get(&module)
                .and_then(|items| did_you_mean(&attr.name, items.keys().map(String::as_str)))
            {
                diag = diag.with_help(help);
            }
            self.report(sc.file, diag);
        }
        Some(found)
    }

    /// Check `e` against `expected`, lifting a `T` into `T?` where needed.
    pub(crate) fn expect(
        &mut self,
        sc: &mut Scope,
        e: &ast::Expr,
        expected: &Ty,
        what: &str,
    ) -> ir::Expr {
        let (found, lowered) = self.expr(sc, e, Some(expected));
        self.coerce(sc, e.span, found, lowered, expected, what)
    }

    fn coerce(
        &mut self,
        sc: &Scope,
        span: Span,
        found: Ty,
        lowered: ir::Expr,
        expected: &Ty,
        what: &str,
    ) -> ir::Expr {
        if found.compatible(expected) {
            return lowered;
        }
        if let Ty::Optional(inner) = expected
            && found.compatible(inner)
        {
            return mk(expected, ir::ExprKind::Some(Box::new(lowered)));
        }
        if let Ty::Optional(inner) = &found
            && inner.compatible(expected)
        {
            self.report_optional(sc, span, &found);
            return lowered;
        }
        let (exp, fnd) = (self.show(expected), self.show(&found));
        let diag = Diagnostic::error(
            codes::MISMATCHED_TYPES,
            format!("mismatched types: expected `{exp}`, found `{fnd}`"),
            span,
        )
        .with_label(format!("this is `{fnd}`"))
        .with_help(format!("{what} is `{exp}`"));
        self.report(sc.file, diag);
        lowered
    }

    fn report_optional(&mut self, sc: &Scope, span: Span, found: &Ty) {
        let text = self.text(sc.file, span);
        let shown = self.show(found);
        let diag = Diagnostic::error(
            codes::MAY_BE_ABSENT,
            format!("`{text}` may be absent (its type is `{shown}`)"),
            span,
        )
        .with_label(format!("this is `{shown}`"))
        .with_help(format!(
            "give a fallback of the same type with `{text} ?? …`"
        ));
        self.report(sc.file, diag);
    }

    /// Check a value that must not be optional; returns its (plain) type.
    fn value(&mut self, sc: &mut Scope, e: &ast::Expr, hint: Option<&Ty>) -> Typed {
        let (ty, lowered) = self.expr(sc, e, hint);
        if ty.is_optional() {
            self.report_optional(sc, e.span, &ty);
            return (Ty::Error, lowered);
        }
        (ty, lowered)
    }

    fn mismatch(&mut self, sc: &Scope, span: Span, expected: &str, found: &Ty) {
        let fnd = self.show(found);
        let diag = Diagnostic::error(
            codes::MISMATCHED_TYPES,
            format!("mismatched types: expected {expected}, found `{fnd}`"),
            span,
        )
        .with_label(format!("this is `{fnd}`"));
        self.report(sc.file, diag);
    }

    /// Type-check and lower one expression. `hint` is the type the context expects, used to
    /// type an empty set literal (decision #12); the caller checks the result against it.
    ///
    /// Recursive, one level per node of a syntax tree at most `MAX_DEPTH` deep (the parser
    /// refuses deeper ones). A level takes up to about 25 KiB of stack in a debug build (the
    /// operators' frames are large), far more than a 2 MiB thread has for 1000 levels, and the
    /// walk interleaves typing, lowering and diagnostics too closely for an explicit stack to
    /// stay readable: so every level enters through `grow_stack`, which continues on a heap
    /// segment when the thread's stack runs low.
    pub(crate) fn expr(&mut self, sc: &mut Scope, e: &ast::Expr, hint: Option<&Ty>) -> Typed {
        ir::limits::grow_stack(|| self.expr_node(sc, e, hint))
    }

    fn expr_node(&mut self, sc: &mut Scope, e: &ast::Expr, hint: Option<&Ty>) -> Typed {
        match &e.kind {
            ExprKind::Bool(b) => bool_expr(ir::ExprKind::Bool(*b)),
            ExprKind::Int(n) => (Ty::Int, mk(&Ty::Int, ir::ExprKind::Int(*n))),
            ExprKind::Str(s) => (Ty::String, mk(&Ty::String, ir::ExprKind::Str(s.clone()))),
            ExprKind::Duration(n) => (Ty::Duration, mk(&Ty::Duration, ir::ExprKind::Int(*n))),
            ExprKind::Timestamp(t) => (
                Ty::Timestamp,
                mk(&Ty::Timestamp, ir::ExprKind::Int(t.seconds)),
            ),
            ExprKind::Now => (Ty::Timestamp, mk(&Ty::Timestamp, ir::ExprKind::Now)),
            ExprKind::EntityRef { ty, id } => match self.entity_type(sc.file, ty) {
                Some(ety) => {
                    self.def_symbol(sc.file, ty.span, &ty.name, Def::Entity(ety));
                    let t = Ty::Entity(ety);
                    (t.clone(), mk(&t, ir::ExprKind::Entity(id.value.clone())))
                }
                None => error(),
            },
            ExprKind::EnumValue { ty, variant } => match self.enum_variant(sc.file, ty, variant) {
                Some((en, v)) => {
                    self.def_symbol(sc.file, ty.span, &ty.name, Def::Enum(en));
                    self.variant_symbol(sc.file, variant.span, en, v);
                    let t = Ty::Enum(en);
                    (t.clone(), mk(&t, ir::ExprKind::Enum(v)))
                }
                None => error(),
            },
            ExprKind::Set(elems) => self.set_literal(sc, e.span, elems, hint),
            ExprKind::Name(ident) => match self.resolve_name(sc, &ident.name) {
                Resolved::Local(ty, id) => {
                    let (decl, param) =
                        sc.local_decls.get(id as usize).copied().unwrap_or_default();
                    let kind = if param {
                        SymbolKind::Parameter
                    } else {
                        SymbolKind::Variable
                    };
                    if self.record_symbols {
                        let detail = format!("{}: {}", ident.name, self.show(&ty));
                        self.symbol(
                            sc.file,
                            ident.span,
                            &ident.name,
                            kind,
                            detail,
                            Some((sc.file, decl)),
                            None,
                        );
                    }
                    (ty.clone(), mk(&ty, ir::ExprKind::Local(ir::LocalId(id))))
                }
                Resolved::Arg(ty, id) => {
                    let owner = sc
                        .rule_actions
                        .first()
                        .map(|&a| self.actions[a as usize].name.clone());
                    self.field_symbol(sc.file, ident.span, &ident.name, &ty, owner.as_deref());
                    if let Some((_, others)) = sc.rule_actions.split_first() {
                        let others = others.to_vec();
                        self.also_action_fields(&others, &ident.name);
                    }
                    (ty.clone(), mk(&ty, ir::ExprKind::Arg(id)))
                }
                Resolved::Context(ty, id) => {
                    self.field_symbol(sc.file, ident.span, &ident.name, &ty, None);
                    (ty.clone(), mk(&ty, ir::ExprKind::Context(id)))
                }
                Resolved::Global(Def::Const(idx)) => {
                    let value = self.inline_const(sc, idx);
                    self.def_symbol(sc.file, ident.span, &ident.name, Def::Const(idx));
                    value
                }
                Resolved::Global(def) => {
                    self.def_symbol(sc.file, ident.span, &ident.name, def);
                    self.not_a_value(sc, &ident.name, def, ident.span);
                    error()
                }
                Resolved::Unknown => {
                    self.unknown_name(sc, ident);
                    error()
                }
            },
            ExprKind::InverseRelation(r) => {
                let diag = Diagnostic::error(
                    codes::MISPLACED_INVERSE,
                    format!("`~{}` is only allowed where a relation is expected", r.name),
                    e.span,
                )
                .with_help(format!(
                    "use it as the relation argument: `closure(x, ~{})` or `path(x, y, ~{})`",
                    r.name, r.name
                ));
                self.report(sc.file, diag);
                error()
            }
            ExprKind::Unary { op, operand } => match op.value {
                UnaryOp::Not => {
                    let inner = self.expect(sc, operand, &Ty::Bool, "the operand of `not`");
                    bool_expr(ir::ExprKind::Not(Box::new(inner)))
                }
                UnaryOp::Neg => {
                    let (ty, inner) = self.value(sc, operand, None);
                    match ty {
                        Ty::Int | Ty::Duration => {
                            if let ir::ExprKind::Int(v) = inner.kind {
                                return match v.checked_neg() {
                                    Some(v) => (ty.clone(), mk(&ty, ir::ExprKind::Int(v))),
                                    None => {
                                        self.always_overflows(sc, e.span, &ty);
                                        error()
                                    }
                                };
                            }
                            (ty.clone(), mk(&ty, ir::ExprKind::Neg(Box::new(inner))))
                        }
                        Ty::Error => error(),
                        other => {
                            self.mismatch(
                                sc,
                                operand.span,
                                "`Int` or `Duration` for unary `-`",
                                &other,
                            );
                            error()
                        }
                    }
                }
            },
            ExprKind::Binary { op, lhs, rhs } => self.binary(sc, e, op.value, op.span, lhs, rhs),
            ExprKind::Has { operand, attr } => self.has(sc, operand, attr),
            ExprKind::Field {
                operand,
                attr,
                optional,
            } => {
                if let Some(def) = self.module_member(sc, operand, attr) {
                    return match def {
                        Some(Def::Const(idx)) => self.inline_const(sc, idx),
                        Some(def) => {
                            let text = self.text(sc.file, e.span).to_string();
                            self.not_a_value(sc, &text, def, e.span);
                            error()
                        }
                        None => error(),
                    };
                }
                let (oty, oir) = self.expr(sc, operand, None);
                self.field(sc, e, operand, oty, oir, attr, *optional)
            }
            ExprKind::Call { callee, args } => self.call(sc, e, callee, args),
            ExprKind::If {
                cond,
                then,
                otherwise,
            } => {
                let cond = self.expect(sc, cond, &Ty::Bool, "the condition of `if`");
                let (tty, tir) = self.expr(sc, then, hint);
                let (ety, eir) = self.expr(sc, otherwise, Some(hint.unwrap_or(&tty)));
                let (ty, tir, eir) = if tty.compatible(&ety) {
                    let ty = if tty.is_error() { ety } else { tty };
                    (ty, tir, eir)
                } else if tty.is_optional() && ety.compatible(tty.strip_optional()) {
                    let wrapped = mk(&tty, ir::ExprKind::Some(Box::new(eir)));
                    (tty, tir, wrapped)
                } else if ety.is_optional() && tty.compatible(ety.strip_optional()) {
                    let wrapped = mk(&ety, ir::ExprKind::Some(Box::new(tir)));
                    (ety, wrapped, eir)
                } else {
                    let (a, b) = (self.show(&tty), self.show(&ety));
                    let diag = Diagnostic::error(
                        codes::IF_BRANCHES_DIFFER,
                        format!("the branches of `if` have different types: `{a}` and `{b}`"),
                        e.span,
                    )
                    .with_secondary(None, then.span, format!("this is `{a}`"))
                    .with_secondary(None, otherwise.span, format!("this is `{b}`"))
                    .with_help("both branches must have the same type");
                    self.report(sc.file, diag);
                    return error();
                };
                let kind = ir::ExprKind::If {
                    cond: Box::new(cond),
                    then: Box::new(tir),
                    otherwise: Box::new(eir),
                };
                (ty.clone(), mk(&ty, kind))
            }
            ExprKind::Quantifier {
                kind,
                var,
                set,
                body,
            } => {
                let (elem, set_ir) = self.collection(sc, set);
                let depth = sc.locals.len();
                let local = self.bind(sc, var, elem);
                let body = self.expect(sc, body, &Ty::Bool, "the condition of a quantifier");
                sc.locals.truncate(depth);
                let kind = ir::ExprKind::Quantifier {
                    all: matches!(kind, ast::Quantifier::All),
                    var: ir::LocalId(local),
                    set: Box::new(set_ir),
                    body: Box::new(body),
                };
                bool_expr(kind)
            }
            ExprKind::Filter { var, set, cond } => {
                let (elem, set_ir) = self.collection(sc, set);
                let depth = sc.locals.len();
                let local = self.bind(sc, var, elem.clone());
                let cond = self.expect(sc, cond, &Ty::Bool, "the condition of a filter");
                sc.locals.truncate(depth);
                let ty = if elem.is_error() {
                    Ty::Error
                } else {
                    Ty::Set(Box::new(elem))
                };
                let kind = ir::ExprKind::Filter {
                    var: ir::LocalId(local),
                    set: Box::new(set_ir),
                    cond: Box::new(cond),
                };
                (ty.clone(), mk(&ty, kind))
            }
            ExprKind::Paren(inner) => self.expr(sc, inner, hint),
            ExprKind::Error => error(),
        }
    }

    /// E0101: `ty` names no `what` (an entity type or an enum): it is unknown, or a definition
    /// of another `kind`.
    fn report_not_a_type(
        &mut self,
        file: usize,
        ty: &ast::Ident,
        kind: Option<&str>,
        what: &str,
        help: Option<String>,
    ) {
        let message = match kind {
            Some(kind) => format!("`{}` is a {kind}, not an {what}", ty.name),
            None => format!("unknown {what} `{}`", ty.name),
        };
        let mut diag = Diagnostic::error(codes::UNKNOWN_TYPE, message, ty.span);
        if let Some(help) = help {
            diag = diag.with_help(help);
        }
        self.report(file, diag);
    }

    pub(crate) fn entity_type(&mut self, file: usize, ty: &ast::Ident) -> Option<u32> {
        match self.globals.get(&ty.name) {
            Some(Def::Entity(id)) => Some(*id),
            other => {
                let help = did_you_mean(&ty.name, self.entities.iter().map(|e| e.name.as_str()));
                let kind = other.map(|def| def.kind());
                self.report_not_a_type(file, ty, kind, "entity type", help);
                None
            }
        }
    }

    pub(crate) fn enum_variant(
        &mut self,
        file: usize,
        ty: &ast::Ident,
        variant: &ast::Ident,
    ) -> Option<(u32, u32)> {
        let en = match self.globals.get(&ty.name) {
            Some(Def::Enum(id)) => *id,
            other => {
                let help = did_you_mean(&ty.name, self.enums.iter().map(|e| e.name.as_str()));
                let kind = other.map(|def| def.kind());
                self.report_not_a_type(file, ty, kind, "enum", help);
                return None;
            }
        };
        let info = &self.enums[en as usize];
        if let Some(&v) = info.index.get(&variant.name) {
            return Some((en, v));
        }
        let mut diag = Diagnostic::error(
            codes::UNKNOWN_VARIANT,
            format!("enum `{}` has no variant `{}`", info.name, variant.name),
            variant.span,
        );
        let help = did_you_mean(&variant.name, info.variants.iter().map(String::as_str))
            .unwrap_or_else(|| {
                format!(
                    "the variants are {}",
                    info.variants
                        .iter()
                        .map(|v| format!("`{v}`"))
                        .collect::<Vec<_>>()
                        .join(", ")
                )
            });
        diag = diag.with_help(help);
        self.report(file, diag);
        None
    }

    fn set_literal(
        &mut self,
        sc: &mut Scope,
        span: Span,
        elems: &[ast::Expr],
        hint: Option<&Ty>,
    ) -> Typed {
        if elems.is_empty() && hint.is_some_and(|h| *h == Ty::Error) {
            return error();
        }
        let hint_elem = hint.and_then(|h| h.strip_optional().set_elem()).cloned();
        let Some((first, rest)) = elems.split_first() else {
            return match hint_elem {
                Some(elem) => {
                    let ty = Ty::Set(Box::new(elem));
                    (ty.clone(), mk(&ty, ir::ExprKind::Set(Vec::new())))
                }
                None => {
                    let diag = Diagnostic::error(codes::UNTYPED_EMPTY_SET, "cannot tell the element type of the empty set `[]`", span)
                        .with_help("give it a type from its use, e.g. a `const` annotation: `const none: Set<String> = []`");
                    self.report(sc.file, diag);
                    error()
                }
            };
        };
        let (elem, first_ir) = self.expr(sc, first, hint_elem.as_ref());
        if elem.is_optional() {
            let diag = Diagnostic::error(
                codes::OPTIONAL_NOT_ALLOWED,
                "a set cannot hold optional values",
                first.span,
            )
            .with_help("use `??` to give a fallback for the absent case");
            self.report(sc.file, diag);
        }
        let elem = elem.strip_optional().clone();
        let mut out = vec![first_ir];
        for item in rest {
            out.push(self.expect(
                sc,
                item,
                &elem,
                "the set's element type (from its first element)",
            ));
        }
        let ty = if elem.is_error() {
            Ty::Error
        } else {
            Ty::Set(Box::new(elem))
        };
        (ty.clone(), mk(&ty, ir::ExprKind::Set(out)))
    }

    /// Bind a quantifier or filter variable; shadowing any name in scope is an error (#13).
    fn bind(&mut self, sc: &mut Scope, var: &ast::Ident, ty: Ty) -> u32 {
        let shadowed = match self.resolve_name(sc, &var.name) {
            Resolved::Unknown => None,
            Resolved::Local(..) => {
                Some("a variable of an enclosing quantifier or a parameter".to_string())
            }
            Resolved::Arg(..) => Some("a field of the action".to_string()),
            Resolved::Context(..) => Some("a context field".to_string()),
            Resolved::Global(def) => Some(format!("the {} of that name", def.kind())),
        };
        if let Some(what) = shadowed {
            let diag = Diagnostic::error(
                codes::VARIABLE_SHADOWS,
                format!("quantifier variable `{}` shadows {what}", var.name),
                var.span,
            )
            .with_help("choose another name for the variable");
            self.report(sc.file, diag);
        }
        if self.record_symbols {
            self.symbol(
                sc.file,
                var.span,
                &var.name,
                SymbolKind::Variable,
                format!("{}: {}", var.name, self.show(&ty)),
                Some((sc.file, var.span)),
                None,
            );
        }
        sc.push_local(&var.name, var.span, false, ty)
    }

    /// The set of a quantifier or filter: its element type and lowered form.
    fn collection(&mut self, sc: &mut Scope, set: &ast::Expr) -> (Ty, ir::Expr) {
        let (ty, lowered) = self.value(sc, set, None);
        match ty {
            Ty::Set(elem) => (*elem, lowered),
            Ty::Error => (Ty::Error, lowered),
            other => {
                self.mismatch(sc, set.span, "a set", &other);
                (Ty::Error, lowered)
            }
        }
    }

    #[expect(
        clippy::too_many_arguments,
        reason = "the operand is passed both as syntax and as its typed form"
    )]
    fn field(
        &mut self,
        sc: &mut Scope,
        e: &ast::Expr,
        operand: &ast::Expr,
        oty: Ty,
        oir: ir::Expr,
        attr: &ast::Ident,
        optional: bool,
    ) -> Typed {
        let (entity, through_optional) = match &oty {
            Ty::Error => return error(),
            Ty::Entity(id) => (*id, false),
            Ty::Optional(inner) => match **inner {
                Ty::Entity(id) => (id, true),
                _ => {
                    self.no_attributes(sc, operand.span, &oty, attr);
                    return error();
                }
            },
            _ => {
                self.no_attributes(sc, operand.span, &oty, attr);
                return error();
            }
        };
        if optional && !through_optional {
            let text = self.text(sc.file, operand.span);
            let shown = self.show(&oty);
            let diag = Diagnostic::warning(
                codes::NEEDLESS_OPTIONAL_ACCESS,
                format!("`?.` on `{text}`, which is always present (its type is `{shown}`)"),
                e.span,
            )
            .with_help(format!("write `.{}`", attr.name));
            self.report(sc.file, diag);
        }
        let known = &self.entities[entity as usize];
        match (
            known.attr_index.get(&attr.name),
            known.relations.get(&attr.name),
        ) {
            (Some(&a), _) => self.attr_symbol(sc.file, attr.span, entity, a),
            (None, Some(&rel)) => {
                self.def_symbol(sc.file, attr.span, &attr.name, Def::Relation(rel))
            }
            (None, None) => {}
        }
        let info = &self.entities[entity as usize];
        if let Some(&a) = info.attr_index.get(&attr.name) {
            let aty = info.attrs[a as usize].1.clone();
            if through_optional {
                if !optional {
                    let text = self.text(sc.file, operand.span);
                    let shown = self.show(&oty);
                    let diag = Diagnostic::error(
                        codes::MAY_BE_ABSENT,
                        format!("cannot read `{}` of `{text}`, which may be absent (its type is `{shown}`)", attr.name),
                        e.span,
                    )
                    .with_secondary(None, operand.span, format!("this is `{shown}`"))
                    .with_help(format!("use `?.` to read it when present: `{text}?.{}`", attr.name));
                    self.report(sc.file, diag);
                    return error();
                }
                let ty = aty.optional();
                return (
                    ty.clone(),
                    mk(
                        &ty,
                        ir::ExprKind::OptAttr {
                            of: Box::new(oir),
                            attr: a,
                        },
                    ),
                );
            }
            return (
                aty.clone(),
                mk(
                    &aty,
                    ir::ExprKind::Attr {
                        of: Box::new(oir),
                        attr: a,
                    },
                ),
            );
        }
        if let Some(&rel) = info.relations.get(&attr.name) {
            if through_optional {
                let text = self.text(sc.file, operand.span);
                let diag = Diagnostic::error(
                    codes::MAY_BE_ABSENT,
                    format!(
                        "cannot follow relation `{}` from `{text}`, which may be absent",
                        attr.name
                    ),
                    e.span,
                )
                .with_help(format!(
                    "give a fallback entity first: `({text} ?? …).{}`",
                    attr.name
                ));
                self.report(sc.file, diag);
                return error();
            }
            let Some(to) = self.relations[rel as usize].to else {
                return error();
            };
            let ty = Ty::Set(Box::new(Ty::Entity(to)));
            let kind = ir::ExprKind::Related {
                rel: ir::RelationId(rel),
                inverse: false,
                of: Box::new(oir),
            };
            return (ty.clone(), mk(&ty, kind));
        }
        let name = info.name.clone();
        let candidates: Vec<&str> = info
            .attrs
            .iter()
            .map(|(n, _)| n.as_str())
            .chain(info.relations.keys().map(String::as_str))
            .collect();
        let mut diag = Diagnostic::error(
            codes::UNKNOWN_ATTRIBUTE,
            format!(
                "entity type `{name}` has no attribute or relation `{}`",
                attr.name
            ),
            attr.span,
        );
        if let Some(help) = did_you_mean(&attr.name, candidates) {
            diag = diag.with_help(help);
        }
        self.report(sc.file, diag);
        error()
    }

    fn no_attributes(&mut self, sc: &Scope, span: Span, ty: &Ty, attr: &ast::Ident) {
        let shown = self.show(ty);
        let mut diag = Diagnostic::error(
            codes::UNKNOWN_ATTRIBUTE,
            format!("a value of type `{shown}` has no attribute `{}`", attr.name),
            attr.span,
        )
        .with_secondary(None, span, format!("this is `{shown}`"));
        if ir::Builtin::named(&attr.name).any(|b| b.kind == ir::BuiltinKind::Value) {
            diag = diag.with_help(format!("builtins are called: `.{}(…)`", attr.name));
        }
        self.report(sc.file, diag);
    }

    fn has(&mut self, sc: &mut Scope, operand: &ast::Expr, attr: &ast::Ident) -> Typed {
        let (ty, of) = self.expr(sc, operand, None);
        let entity = match ty {
            Ty::Error => return error(),
            Ty::Entity(id) => id,
            other => {
                let shown = self.show(&other);
                let diag = Diagnostic::error(codes::BAD_HAS, format!("`has` needs an entity, found `{shown}`"), operand.span)
                    .with_label(format!("this is `{shown}`"))
                    .with_help(if other.is_optional() {
                        "test the optional itself first: `x has a and x.a has b` becomes `x has a and x.a?.b …`".to_string()
                    } else {
                        "`has` tests whether an optional attribute of an entity is present".to_string()
                    });
                self.report(sc.file, diag);
                return error();
            }
        };
        let known = &self.entities[entity as usize];
        match (
            known.attr_index.get(&attr.name),
            known.relations.get(&attr.name),
        ) {
            (Some(&a), _) => self.attr_symbol(sc.file, attr.span, entity, a),
            (None, Some(&rel)) => {
                self.def_symbol(sc.file, attr.span, &attr.name, Def::Relation(rel))
            }
            (None, None) => {}
        }
        let info = &self.entities[entity as usize];
        match info.attr_index.get(&attr.name) {
            Some(&a) if info.attrs[a as usize].1.is_optional() => bool_expr(ir::ExprKind::Has {
                of: Box::new(of),
                attr: a,
            }),
            Some(_) => {
                let diag = Diagnostic::error(
                    codes::BAD_HAS,
                    format!(
                        "attribute `{}` of `{}` is always present",
                        attr.name, info.name
                    ),
                    attr.span,
                )
                .with_help(
                    "`has` only makes sense on an optional attribute (`T?`): remove the test",
                );
                self.report(sc.file, diag);
                error()
            }
            None => {
                let name = info.name.clone();
                let mut diag = Diagnostic::error(
                    codes::UNKNOWN_ATTRIBUTE,
                    format!("entity type `{name}` has no attribute `{}`", attr.name),
                    attr.span,
                );
                if let Some(help) =
                    did_you_mean(&attr.name, info.attrs.iter().map(|(n, _)| n.as_str()))
                {
                    diag = diag.with_help(help);
                }
                self.report(sc.file, diag);
                error()
            }
        }
    }

    // ------------------------------------------------------------ binary operators

    fn binary(
        &mut self,
        sc: &mut Scope,
        e: &ast::Expr,
        op: BinaryOp,
        op_span: Span,
        lhs: &ast::Expr,
        rhs: &ast::Expr,
    ) -> Typed {
        // `a < b < c` was reported by the parser; do not add a type error to it.
        let comparison = |e: &ast::Expr| {
            matches!(&e.kind, ExprKind::Binary { op, .. } if matches!(
                op.value,
                BinaryOp::Eq | BinaryOp::Ne | BinaryOp::Lt | BinaryOp::Le | BinaryOp::Gt | BinaryOp::Ge
            ))
        };
        let is_comparison = matches!(
            op,
            BinaryOp::Eq | BinaryOp::Ne | BinaryOp::Lt | BinaryOp::Le | BinaryOp::Gt | BinaryOp::Ge
        );
        if is_comparison && (comparison(lhs) || comparison(rhs)) {
            return error();
        }
        match op {
            BinaryOp::And | BinaryOp::Or => {
                let what = format!("an operand of `{}`", op.symbol());
                let l = self.expect(sc, lhs, &Ty::Bool, &what);
                let r = self.expect(sc, rhs, &Ty::Bool, &what);
                let op = if op == BinaryOp::And {
                    ir::BinOp::And
                } else {
                    ir::BinOp::Or
                };
                bool_expr(ir::ExprKind::Binary {
                    op,
                    lhs: Box::new(l),
                    rhs: Box::new(r),
                })
            }
            BinaryOp::Eq | BinaryOp::Ne => {
                // Type the side that is not an empty set first, so `[]` takes the other's type.
                let lhs_empty = matches!(&unparen(lhs).kind, ExprKind::Set(v) if v.is_empty());
                let (lt, li, rt, ri) = if lhs_empty {
                    let (rt, ri) = self.expr(sc, rhs, None);
                    let (lt, li) = self.expr(sc, lhs, Some(&rt));
                    (lt, li, rt, ri)
                } else {
                    let (lt, li) = self.expr(sc, lhs, None);
                    let (rt, ri) = self.expr(sc, rhs, Some(&lt));
                    (lt, li, rt, ri)
                };
                if !lt.strip_optional().compatible(rt.strip_optional()) {
                    let (a, b) = (self.show(&lt), self.show(&rt));
                    let diag = Diagnostic::error(
                        codes::BAD_EQUALITY,
                        format!("cannot compare `{a}` with `{b}` using `{}`", op.symbol()),
                        op_span,
                    )
                    .with_secondary(None, lhs.span, format!("this is `{a}`"))
                    .with_secondary(None, rhs.span, format!("this is `{b}`"))
                    .with_help(
                        self.enum_hint(&lt, rhs)
                            .or_else(|| self.enum_hint(&rt, lhs))
                            .unwrap_or_else(|| {
                                "both sides of `==` and `!=` must have the same type".to_owned()
                            }),
                    );
                    self.report(sc.file, diag);
                    return error();
                }
                let op = if op == BinaryOp::Eq {
                    ir::BinOp::Eq
                } else {
                    ir::BinOp::Ne
                };
                bool_expr(ir::ExprKind::Binary {
                    op,
                    lhs: Box::new(li),
                    rhs: Box::new(ri),
                })
            }
            BinaryOp::Lt | BinaryOp::Le | BinaryOp::Gt | BinaryOp::Ge => {
                let (lt, li) = self.expr(sc, lhs, None);
                let (rt, ri) = self.expr(sc, rhs, None);
                let ordered = |t: &Ty| {
                    matches!(
                        t.strip_optional(),
                        Ty::Int | Ty::Duration | Ty::Timestamp | Ty::Error
                    )
                };
                if !ordered(&lt) || !ordered(&rt) {
                    let bad = if ordered(&lt) {
                        (&rt, rhs.span)
                    } else {
                        (&lt, lhs.span)
                    };
                    let shown = self.show(bad.0);
                    let diag = Diagnostic::error(codes::BAD_ORDERING, format!("`{}` cannot order values of type `{shown}`", op.symbol()), bad.1)
                        .with_label(format!("this is `{shown}`"))
                        .with_help("`<`, `<=`, `>` and `>=` compare `Int`, `Duration` and `Timestamp` values; use `==` or `!=` for other types");
                    self.report(sc.file, diag);
                    return error();
                }
                if !lt.strip_optional().compatible(rt.strip_optional()) {
                    let (a, b) = (self.show(&lt), self.show(&rt));
                    let diag = Diagnostic::error(
                        codes::BAD_ORDERING,
                        format!("cannot compare `{a}` with `{b}` using `{}`", op.symbol()),
                        op_span,
                    )
                    .with_secondary(None, lhs.span, format!("this is `{a}`"))
                    .with_secondary(None, rhs.span, format!("this is `{b}`"))
                    .with_help("both sides must have the same type");
                    self.report(sc.file, diag);
                    return error();
                }
                let op = match op {
                    BinaryOp::Lt => ir::BinOp::Lt,
                    BinaryOp::Le => ir::BinOp::Le,
                    BinaryOp::Gt => ir::BinOp::Gt,
                    _ => ir::BinOp::Ge,
                };
                bool_expr(ir::ExprKind::Binary {
                    op,
                    lhs: Box::new(li),
                    rhs: Box::new(ri),
                })
            }
            BinaryOp::In => {
                if let Some(window) = self.window_ref(sc, rhs) {
                    let at = self.expect(sc, lhs, &Ty::Timestamp, "the left side of `in` a window");
                    let Some(window) = window else { return error() };
                    return bool_expr(ir::ExprKind::InWindow {
                        window: ir::WindowId(window),
                        at: Box::new(at),
                    });
                }
                let (lt, li) = self.expr(sc, lhs, None);
                let hint = Ty::Set(Box::new(lt.strip_optional().clone()));
                let (st, si) = self.value(sc, rhs, Some(&hint));
                match &st {
                    Ty::Error => return error(),
                    Ty::Set(elem) => {
                        if !lt.strip_optional().compatible(elem) {
                            let (a, b) = (self.show(&lt), self.show(&st));
                            let diag = Diagnostic::error(
                                codes::MISMATCHED_TYPES,
                                format!("cannot look for `{a}` in `{b}`"),
                                lhs.span,
                            )
                            .with_label(format!("this is `{a}`"))
                            .with_secondary(None, rhs.span, format!("this is `{b}`"))
                            .with_help(
                                self.enum_set_hint(&lt, rhs).unwrap_or_else(|| {
                                    "the element must have the set's element type".to_owned()
                                }),
                            );
                            self.report(sc.file, diag);
                            return error();
                        }
                    }
                    other => {
                        let shown = self.show(other);
                        let diag = Diagnostic::error(
                            codes::MISMATCHED_TYPES,
                            format!("`in` needs a set or a window on the right, found `{shown}`"),
                            rhs.span,
                        )
                        .with_label(format!("this is `{shown}`"))
                        .with_help("use `contains(s, part)` to search a string");
                        self.report(sc.file, diag);
                        return error();
                    }
                }
                bool_expr(ir::ExprKind::In {
                    elem: Box::new(li),
                    set: Box::new(si),
                })
            }
            BinaryOp::Matches => {
                let operand = self.expect(sc, lhs, &Ty::String, "the left side of `matches`");
                let ExprKind::Str(pattern) = &unparen(rhs).kind else {
                    let diag = Diagnostic::error(codes::REGEX_NOT_LITERAL, "the pattern of `matches` must be a string literal", rhs.span)
                        .with_help("patterns are compiled when the policy is checked: write the regular expression as a literal, e.g. `matches \"^svc-\"`");
                    self.report(sc.file, diag);
                    let _ = self.expr(sc, rhs, None);
                    return error();
                };
                let known = self.regex_index.contains_key(pattern.as_str());
                if !known
                    && !surely_compiles(pattern)
                    && let Err(err) = regex::Regex::new(pattern)
                {
                    let detail = err.to_string();
                    let summary = detail
                        .lines()
                        .last()
                        .unwrap_or("invalid pattern")
                        .trim()
                        .trim_start_matches("error: ");
                    let diag = Diagnostic::error(
                        codes::BAD_REGEX,
                        format!("invalid regular expression: {summary}"),
                        rhs.span,
                    )
                    .with_help(format!(
                        "the pattern uses the syntax of the `regex` crate:\n{detail}"
                    ));
                    self.report(sc.file, diag);
                    return error();
                }
                let regex = self.regex_id(pattern);
                bool_expr(ir::ExprKind::Matches {
                    operand: Box::new(operand),
                    regex: ir::RegexId(regex),
                })
            }
            BinaryOp::Coalesce => {
                let (lt, li) = self.expr(sc, lhs, None);
                let inner = match &lt {
                    Ty::Error => Ty::Error,
                    Ty::Optional(inner) => (**inner).clone(),
                    other => {
                        let text = self.text(sc.file, lhs.span);
                        let shown = self.show(other);
                        let diag = Diagnostic::error(codes::COALESCE_NOT_OPTIONAL, format!("`??` needs an optional value on the left, but `{text}` is `{shown}`"), lhs.span)
                            .with_help("the value is always present: remove `?? …`");
                        self.report(sc.file, diag);
                        let _ = self.expr(sc, rhs, None);
                        return error();
                    }
                };
                let (fty, fir) = self.expr(sc, rhs, Some(&inner));
                // `a ?? b` with an optional `b` is still optional (`a ?? b ?? c` chains).
                if fty.is_optional() && !inner.is_error() && fty.compatible(&lt) {
                    let kind = ir::ExprKind::Coalesce {
                        value: Box::new(li),
                        fallback: Box::new(fir),
                    };
                    return (lt.clone(), mk(&lt, kind));
                }
                let consistent = fty.compatible(&inner);
                let fallback = self.coerce(
                    sc,
                    rhs.span,
                    fty,
                    fir,
                    &inner,
                    "the fallback of `??` (the optional's inner type)",
                );
                if !consistent {
                    return error();
                }
                let kind = ir::ExprKind::Coalesce {
                    value: Box::new(li),
                    fallback: Box::new(fallback),
                };
                (inner.clone(), mk(&inner, kind))
            }
            BinaryOp::Add | BinaryOp::Sub | BinaryOp::Mul => {
                let (lt, li) = self.value(sc, lhs, None);
                let (rt, ri) = self.value(sc, rhs, None);
                use Ty::{Duration as D, Int as I, Timestamp as T};
                let result = match (op, &lt, &rt) {
                    (_, Ty::Error, _) | (_, _, Ty::Error) => return error(),
                    (BinaryOp::Add, I, I) | (BinaryOp::Sub, I, I) | (BinaryOp::Mul, I, I) => {
                        Some(I)
                    }
                    (BinaryOp::Add, D, D) | (BinaryOp::Sub, D, D) => Some(D),
                    (BinaryOp::Add, T, D) | (BinaryOp::Sub, T, D) => Some(T),
                    (BinaryOp::Sub, T, T) => Some(D),
                    (BinaryOp::Mul, D, I) | (BinaryOp::Mul, I, D) => Some(D),
                    _ => None,
                };
                let Some(ty) = result else {
                    let (a, b) = (self.show(&lt), self.show(&rt));
                    let allowed = match op {
                        BinaryOp::Add => {
                            "`Int + Int`, `Duration + Duration` and `Timestamp + Duration`"
                        }
                        BinaryOp::Sub => {
                            "`Int - Int`, `Duration - Duration`, `Timestamp - Duration` and `Timestamp - Timestamp`"
                        }
                        _ => "`Int * Int`, `Duration * Int` and `Int * Duration`",
                    };
                    let diag = Diagnostic::error(
                        codes::BAD_ARITHMETIC,
                        format!("cannot apply `{}` to `{a}` and `{b}`", op.symbol()),
                        op_span,
                    )
                    .with_secondary(None, lhs.span, format!("this is `{a}`"))
                    .with_secondary(None, rhs.span, format!("this is `{b}`"))
                    .with_help(format!("the arithmetic allowed is {allowed}"));
                    self.report(sc.file, diag);
                    return error();
                };
                let op = match op {
                    BinaryOp::Add => ir::BinOp::Add,
                    BinaryOp::Sub => ir::BinOp::Sub,
                    _ => ir::BinOp::Mul,
                };
                // Arithmetic on constants is done now (decisions #46): the result, or an error
                // where every evaluation would fail.
                if let (ir::ExprKind::Int(a), ir::ExprKind::Int(b)) = (&li.kind, &ri.kind) {
                    return match fold(op, &ty, *a, *b) {
                        Some(v) => (ty.clone(), mk(&ty, ir::ExprKind::Int(v))),
                        None => {
                            self.always_overflows(sc, e.span, &ty);
                            error()
                        }
                    };
                }
                (
                    ty.clone(),
                    mk(
                        &ty,
                        ir::ExprKind::Binary {
                            op,
                            lhs: Box::new(li),
                            rhs: Box::new(ri),
                        },
                    ),
                )
            }
        }
    }

    /// When `ty` is an enum and `other` a string literal: the variant to write instead, so
    /// `tier == "crown_jewel"` suggests `Tier::crown_jewel`.
    fn enum_hint(&self, ty: &Ty, other: &ast::Expr) -> Option<String> {
        let (Ty::Enum(en), ExprKind::Str(text)) = (ty.strip_optional(), &unparen(other).kind)
        else {
            return None;
        };
        let info = &self.enums[*en as usize];
        let variants = info.variants.iter().map(String::as_str);
        let exact = info
            .variants
            .iter()
            .find(|v| v.as_str() == text.as_str())
            .map(String::as_str);
        let folded = || {
            info.variants
                .iter()
                .find(|v| v.eq_ignore_ascii_case(text.trim()))
                .map(String::as_str)
        };
        Some(
            match exact
                .or_else(folded)
                .or_else(|| crate::suggest::closest(text, variants))
            {
                Some(v) => format!(
                    "an enum is compared with its variants, not with strings: write `{}::{v}`",
                    info.name
                ),
                None => format!(
                    "an enum is compared with its variants, not with strings; the variants of `{}` are {}",
                    info.name,
                    info.variants
                        .iter()
                        .map(|v| format!("`{}::{v}`", info.name))
                        .collect::<Vec<_>>()
                        .join(", ")
                ),
            },
        )
    }

    /// When `ty` is an enum and `set` a literal of strings naming its variants: the set to
    /// write instead (`[Tier::crown_jewel, Tier::critical]`).
    fn enum_set_hint(&self, ty: &Ty, set: &ast::Expr) -> Option<String> {
        let (Ty::Enum(en), ExprKind::Set(items)) = (ty.strip_optional(), &unparen(set).kind) else {
            return None;
        };
        let info = &self.enums[*en as usize];
        let variants: Option<Vec<String>> = items
            .iter()
            .map(|item| match &unparen(item).kind {
                ExprKind::Str(text) => info
                    .variants
                    .iter()
                    .find(|v| v.as_str() == text.as_str())
                    .map(|v| format!("{}::{v}", info.name)),
                _ => None,
            })
            .collect();
        let variants = variants.filter(|v| !v.is_empty())?;
        Some(format!(
            "an enum is compared with its variants, not with strings: write `[{}]`",
            variants.join(", ")
        ))
    }

    /// E0179: arithmetic on constants whose every evaluation fails.
    fn always_overflows(&mut self, sc: &Scope, span: Span, ty: &Ty) {
        let text = self.text(sc.file, span).to_string();
        let (what, help) = match ty {
            Ty::Timestamp => (
                "leaves the range of timestamps",
                "timestamps range over the years 0001 to 9999 (in UTC)",
            ),
            Ty::Duration => (
                "is out of range for Duration",
                "a duration is a whole number of seconds from -9223372036854775808s to 9223372036854775807s",
            ),
            _ => (
                "is out of range for Int",
                "an Int is from -9223372036854775808 to 9223372036854775807",
            ),
        };
        let diag = Diagnostic::error(
            codes::ALWAYS_FAILS,
            format!("`{text}` always fails: its result {what}"),
            span,
        )
        .with_help(format!(
            "{help}; the operation would be an evaluation error every time the rule is decided"
        ));
        self.report(sc.file, diag);
    }

    // ------------------------------------------------------------ windows and relations

    /// When `e` names a window (`w` or `time.w`): `Some(Some(ir id))`, or `Some(None)` after an
    /// error. `None` when `e` is not a window name.
    fn window_ref(&mut self, sc: &mut Scope, e: &ast::Expr) -> Option<Option<u32>> {
        let def = match &unparen(e).kind {
            ExprKind::Name(n) => match self.resolve_name(sc, &n.name) {
                Resolved::Global(def @ Def::Window(_)) => Some(def),
                _ => None,
            },
            ExprKind::Field {
                operand,
                attr,
                optional: false,
            } => {
                let ExprKind::Name(m) = &operand.kind else {
                    return None;
                };
                let Resolved::Global(Def::Module(module)) = self.resolve_name(sc, &m.name) else {
                    return None;
                };
                match self
                    .module_items
                    .get(&module)
                    .and_then(|items| items.get(&attr.name))
                {
                    Some(def @ Def::Window(_)) => Some(*def),
                    _ => None,
                }
            }
            _ => None,
        };
        let Def::Window(idx) = def? else { return None };
        let written = unparen(e);
        let text = self.text(sc.file, written.span);
        self.def_symbol(sc.file, written.span, text, Def::Window(idx));
        let ok = self.ensure_window(idx);
        let id = self.window_ir_id(idx);
        Some(ok.then_some(id))
    }

    /// A window argument of `remaining`, `fits` or `next_open`.
    fn window_arg(&mut self, sc: &mut Scope, e: &ast::Expr) -> Option<u32> {
        if let Some(found) = self.window_ref(sc, e) {
            return found;
        }
        let text = self.text(sc.file, e.span);
        let mut diag = Diagnostic::error(
            codes::NOT_A_WINDOW,
            format!("expected a window, found `{text}`"),
            e.span,
        );
        if let ExprKind::Name(n) = &unparen(e).kind
            && matches!(self.resolve_name(sc, &n.name), Resolved::Unknown)
        {
            diag = Diagnostic::error(
                codes::UNKNOWN_WINDOW,
                format!("unknown window `{}`", n.name),
                e.span,
            );
            let windows: Vec<&str> = self
                .globals
                .iter()
                .filter(|(_, d)| matches!(d, Def::Window(_)))
                .map(|(n, _)| n.as_str())
                .collect();
            if let Some(help) = did_you_mean(&n.name, windows) {
                diag = diag.with_help(help);
            }
        } else {
            diag = diag.with_help("name a `window` declaration here");
        }
        self.report(sc.file, diag);
        None
    }

    /// A relation argument: `r` or `~r`.
    fn relation_arg(&mut self, sc: &Scope, e: &ast::Expr) -> Option<(u32, bool)> {
        let (ident, inverse) = match &unparen(e).kind {
            ExprKind::Name(n) => (n, false),
            ExprKind::InverseRelation(n) => (n, true),
            _ => {
                let text = self.text(sc.file, e.span);
                let diag = Diagnostic::error(
                    codes::NOT_A_RELATION,
                    format!("expected a relation, found `{text}`"),
                    e.span,
                )
                .with_help("name a `relation` declaration, or `~r` to follow its edges backwards");
                self.report(sc.file, diag);
                return None;
            }
        };
        let found = match self.resolve_name(sc, &ident.name) {
            Resolved::Local(..) | Resolved::Arg(..) | Resolved::Context(..) if !inverse => {
                Err(Some("value"))
            }
            _ => match self.lookup_global(sc, &ident.name) {
                Some(Def::Relation(id)) => Ok(id),
                Some(def) => Err(Some(def.kind())),
                None => Err(None),
            },
        };
        match found {
            Ok(id) => {
                self.def_symbol(sc.file, ident.span, &ident.name, Def::Relation(id));
                Some((id, inverse))
            }
            Err(kind) => {
                let (code, message) = match kind {
                    None if self
                        .entities
                        .iter()
                        .any(|e| e.attr_index.contains_key(&ident.name)) =>
                    {
                        (
                            codes::NOT_A_RELATION,
                            format!("expected a relation, but `{}` is an attribute", ident.name),
                        )
                    }
                    None => (
                        codes::UNKNOWN_RELATION,
                        format!("unknown relation `{}`", ident.name),
                    ),
                    Some(kind) => (
                        codes::NOT_A_RELATION,
                        format!("expected a relation, but `{}` is a {kind}", ident.name),
                    ),
                };
                let mut diag = Diagnostic::error(code, message, ident.span);
                let relations: Vec<&str> = self.relations.iter().map(|r| r.name.as_str()).collect();
                if let Some(help) = did_you_mean(&ident.name, relations) {
                    diag = diag.with_help(help);
                } else if code == codes::NOT_A_RELATION {
                    diag = diag.with_help(
                        "`closure`, `path` and `~` follow relations (`relation r: A -> B`), not attributes or values",
                    );
                }
                self.report(sc.file, diag);
                None
            }
        }
    }

    /// An entity-typed value that must be of the relation end `want`.
    fn relation_end_value(
        &mut self,
        sc: &mut Scope,
        e: &ast::Expr,
        want: Option<u32>,
        rel: u32,
        role: &str,
    ) -> ir::Expr {
        let (ty, lowered) = self.value(sc, e, None);
        let Some(want) = want else { return lowered };
        if ty.compatible(&Ty::Entity(want)) {
            return lowered;
        }
        let (exp, fnd) = (self.show(&Ty::Entity(want)), self.show(&ty));
        let rname = self.relations[rel as usize].name.clone();
        let diag = Diagnostic::error(
            codes::RELATION_END_MISMATCH,
            format!("relation `{rname}` expects `{exp}` as its {role}, found `{fnd}`"),
            e.span,
        )
        .with_label(format!("this is `{fnd}`"))
        .with_help(format!(
            "`{rname}` goes from `{}` to `{}`",
            self.show_rel_end(self.relations[rel as usize].from),
            self.show_rel_end(self.relations[rel as usize].to)
        ));
        self.report(sc.file, diag);
        lowered
    }

    fn show_rel_end(&self, end: Option<u32>) -> String {
        end.map_or_else(|| "?".to_string(), |id| self.entity_name(id).to_string())
    }

    // ------------------------------------------------------------ calls

    fn call(
        &mut self,
        sc: &mut Scope,
        e: &ast::Expr,
        callee: &ast::Expr,
        args: &[ast::Expr],
    ) -> Typed {
        match &callee.kind {
            ExprKind::Name(f) => match self.resolve_name(sc, &f.name) {
                Resolved::Global(Def::Fn(idx)) => {
                    self.def_symbol(sc.file, f.span, &f.name, Def::Fn(idx));
                    self.user_call(sc, e, idx, &f.name, args)
                }
                Resolved::Unknown => self.builtin_call(sc, e, f, None, args),
                Resolved::Global(def) => {
                    let diag = Diagnostic::error(
                        codes::NOT_CALLABLE,
                        format!("{} `{}` is not a function", def.kind(), f.name),
                        f.span,
                    )
                    .with_help("only functions and builtins can be called");
                    self.report(sc.file, diag);
                    self.skip_args(sc, args);
                    error()
                }
                Resolved::Local(..) | Resolved::Arg(..) | Resolved::Context(..) => {
                    let diag = Diagnostic::error(
                        codes::NOT_CALLABLE,
                        format!("`{}` is a value, not a function", f.name),
                        f.span,
                    )
                    .with_help("only functions and builtins can be called");
                    self.report(sc.file, diag);
                    self.skip_args(sc, args);
                    error()
                }
            },
            ExprKind::Field {
                operand,
                attr,
                optional,
            } => {
                if let Some(def) = self.module_member(sc, operand, attr) {
                    return match def {
                        Some(Def::Fn(idx)) => {
                            let name = self.text(sc.file, callee.span).to_string();
                            self.user_call(sc, e, idx, &name, args)
                        }
                        Some(def) => {
                            let text = self.text(sc.file, callee.span);
                            let diag = Diagnostic::error(
                                codes::NOT_CALLABLE,
                                format!("{} `{text}` is not a function", def.kind()),
                                callee.span,
                            );
                            self.report(sc.file, diag);
                            self.skip_args(sc, args);
                            error()
                        }
                        None => {
                            self.skip_args(sc, args);
                            error()
                        }
                    };
                }
                if *optional {
                    let diag = Diagnostic::error(
                        codes::NOT_CALLABLE,
                        "builtins cannot be called with `?.`",
                        callee.span,
                    )
                    .with_help("give the optional a fallback first: `(x ?? …).method()`");
                    self.report(sc.file, diag);
                    self.skip_args(sc, args);
                    return error();
                }
                self.builtin_call(sc, e, attr, Some(operand), args)
            }
            _ => {
                let diag = Diagnostic::error(
                    codes::NOT_CALLABLE,
                    "this expression cannot be called",
                    callee.span,
                )
                .with_help("only functions and builtins can be called");
                self.report(sc.file, diag);
                self.skip_args(sc, args);
                error()
            }
        }
    }

    fn skip_args(&mut self, sc: &mut Scope, args: &[ast::Expr]) {
        for arg in args {
            if !matches!(arg.kind, ExprKind::InverseRelation(_)) {
                let _ = self.expr(sc, arg, None);
            }
        }
    }

    fn arity(&mut self, sc: &Scope, e: &ast::Expr, name: &str, want: usize, found: usize) -> bool {
        if want == found {
            return true;
        }
        let plural = if want == 1 { "" } else { "s" };
        let diag = Diagnostic::error(
            codes::WRONG_ARITY,
            format!("`{name}` takes {want} argument{plural}, found {found}"),
            e.span,
        );
        self.report(sc.file, diag);
        false
    }

    fn user_call(
        &mut self,
        sc: &mut Scope,
        e: &ast::Expr,
        idx: u32,
        name: &str,
        args: &[ast::Expr],
    ) -> Typed {
        let (params, ret) = self.fn_sig(idx);
        self.call_stack.push((sc.file, e.span));
        self.ensure_fn_body(idx);
        self.call_stack.pop();
        if !self.arity(sc, e, name, params.len(), args.len()) {
            self.skip_args(sc, args);
            return (ret.clone(), mk(&ret, ir::ExprKind::Bool(false)));
        }
        let what = format!("the parameter's type in `{name}`");
        let lowered = args
            .iter()
            .zip(&params)
            .map(|(a, p)| self.expect(sc, a, p, &what))
            .collect();
        let func = ir::FnId(self.fn_ir_id(idx));
        (
            ret.clone(),
            mk(
                &ret,
                ir::ExprKind::Call {
                    func,
                    args: lowered,
                },
            ),
        )
    }

    fn builtin_call(
        &mut self,
        sc: &mut Scope,
        e: &ast::Expr,
        name: &ast::Ident,
        receiver: Option<&ast::Expr>,
        args: &[ast::Expr],
    ) -> Typed {
        let all: Vec<&ast::Expr> = receiver.into_iter().chain(args).collect();
        let n = name.name.as_str();
        // Names, arity and kinds come from the builtin table; rows sharing a name (`contains`
        // on sets and strings) agree on both, and the types of the arguments pick the row.
        let Some(info) = ir::Builtin::named(n).next() else {
            // An unknown receiver was reported already: do not add an unknown method to it.
            let receiver_ty = match receiver {
                Some(r) => {
                    let ty = self.expr(sc, r, None).0;
                    if ty == Ty::Error {
                        self.skip_args(sc, args);
                        return error();
                    }
                    Some(ty)
                }
                None => None,
            };
            let mut candidates: Vec<&str> = self
                .globals
                .iter()
                .filter(|(_, d)| matches!(d, Def::Fn(_)))
                .map(|(n, _)| n.as_str())
                .collect();
            candidates.extend(ward_ir::BUILTINS.iter().map(|b| b.name));
            let message = match &receiver_ty {
                Some(ty) => format!("unknown method `{n}` on `{}`", self.show(ty)),
                None => format!("unknown function `{n}`"),
            };
            let mut diag = Diagnostic::error(codes::UNKNOWN_FUNCTION, message, name.span);
            let alias = match (n, receiver_ty.as_ref().map(|t| t.strip_optional())) {
                ("size" | "length", Some(Ty::Set(_))) => Some("count"),
                ("size" | "length", Some(Ty::String)) => Some("len"),
                ("size" | "length", None) => Some("count` or `len"),
                ("includes" | "has", _) => Some("contains"),
                ("to_lower" | "lowercase" | "to_lowercase", _) => Some("lower"),
                _ => None,
            };
            let help = alias
                .map(|a| format!("did you mean `{a}`?"))
                .or_else(|| did_you_mean(n, candidates));
            if let Some(help) = help {
                diag = diag.with_help(help);
            }
            self.report(sc.file, diag);
            self.skip_args(sc, args);
            return error();
        };
        if info.kind != ir::BuiltinKind::Value && receiver.is_some() {
            let diag = Diagnostic::error(
                codes::NOT_CALLABLE,
                format!("`{n}` cannot be called as a method"),
                name.span,
            )
            .with_help(format!("write `{n}(…)` with all its arguments"));
            self.report(sc.file, diag);
            self.skip_args(sc, args);
            return error();
        }
        if self.record_symbols
            && let Some(info) = ward_ir::BUILTINS
                .iter()
                .filter(|b| b.name == n)
                .min_by_key(|b| b.method != receiver.is_some())
        {
            self.symbol(
                sc.file,
                name.span,
                n,
                SymbolKind::Builtin,
                info.signature.to_string(),
                None,
                Some(info.doc),
            );
        }
        if !self.arity(sc, e, n, info.arity, all.len()) {
            for a in all {
                if !matches!(a.kind, ExprKind::InverseRelation(_)) {
                    let _ = self.expr(sc, a, None);
                }
            }
            return error();
        }
        let builtin = |b: ir::Builtin, ty: Ty, args: Vec<ir::Expr>| {
            (
                ty.clone(),
                mk(&ty, ir::ExprKind::Builtin { builtin: b, args }),
            )
        };
        use ir::Builtin as B;
        match info.builtin {
            B::Count => {
                let (ty, a) = self.value(sc, all[0], None);
                match ty {
                    Ty::Set(_) | Ty::Error => builtin(ir::Builtin::Count, Ty::Int, vec![a]),
                    other => {
                        self.mismatch(sc, all[0].span, "a set for `count`", &other);
                        error()
                    }
                }
            }
            B::SetContains | B::StrContains => {
                let (ty, a) = self.value(sc, all[0], None);
                match ty {
                    Ty::Set(elem) => {
                        let b = self.expect(sc, all[1], &elem, "the set's element type");
                        builtin(ir::Builtin::SetContains, Ty::Bool, vec![a, b])
                    }
                    Ty::String => {
                        let b = self.expect(sc, all[1], &Ty::String, "the part searched for");
                        builtin(ir::Builtin::StrContains, Ty::Bool, vec![a, b])
                    }
                    Ty::Error => {
                        let _ = self.expr(sc, all[1], None);
                        error()
                    }
                    other => {
                        self.mismatch(sc, all[0].span, "a set or `String` for `contains`", &other);
                        error()
                    }
                }
            }
            b_kind @ (B::Intersects | B::IsSubset) => {
                let (ty, a) = self.value(sc, all[0], None);
                match ty {
                    Ty::Set(_) => {
                        let b = self.expect(sc, all[1], &ty, "the other set's type");
                        builtin(b_kind, Ty::Bool, vec![a, b])
                    }
                    Ty::Error => {
                        let _ = self.expr(sc, all[1], None);
                        error()
                    }
                    other => {
                        self.mismatch(sc, all[0].span, &format!("a set for `{n}`"), &other);
                        error()
                    }
                }
            }
            kind @ (B::StartsWith | B::EndsWith) => {
                let what = format!("an argument of `{n}`");
                let a = self.expect(sc, all[0], &Ty::String, &what);
                let b = self.expect(sc, all[1], &Ty::String, &what);
                builtin(kind, Ty::Bool, vec![a, b])
            }
            B::Lower => {
                let a = self.expect(sc, all[0], &Ty::String, "the argument of `lower`");
                builtin(ir::Builtin::Lower, Ty::String, vec![a])
            }
            B::Len => {
                let a = self.expect(sc, all[0], &Ty::String, "the argument of `len`");
                builtin(ir::Builtin::Len, Ty::Int, vec![a])
            }
            B::Closure => {
                let rel = self.relation_arg(sc, all[1]);
                let Some((rel, inverse)) = rel else {
                    let _ = self.expr(sc, all[0], None);
                    return error();
                };
                let info = &self.relations[rel as usize];
                let (from, to) = if inverse {
                    (info.to, info.from)
                } else {
                    (info.from, info.to)
                };
                let of = self.relation_end_value(sc, all[0], from, rel, "start");
                let Some(to) = to else { return error() };
                let ty = Ty::Set(Box::new(Ty::Entity(to)));
                let kind = ir::ExprKind::Closure {
                    rel: ir::RelationId(rel),
                    inverse,
                    of: Box::new(of),
                };
                (ty.clone(), mk(&ty, kind))
            }
            B::Path => {
                let rel = self.relation_arg(sc, all[2]);
                let Some((rel, inverse)) = rel else {
                    let _ = self.expr(sc, all[0], None);
                    let _ = self.expr(sc, all[1], None);
                    return error();
                };
                let info = &self.relations[rel as usize];
                let (from, to) = if inverse {
                    (info.to, info.from)
                } else {
                    (info.from, info.to)
                };
                let a = self.relation_end_value(sc, all[0], from, rel, "start");
                let b = self.relation_end_value(sc, all[1], to, rel, "end");
                bool_expr(ir::ExprKind::Path {
                    rel: ir::RelationId(rel),
                    inverse,
                    from: Box::new(a),
                    to: Box::new(b),
                })
            }
            which @ (B::Remaining | B::NextOpen | B::Fits) => {
                let window = self.window_arg(sc, all[0]);
                let what = format!("the time argument of `{n}`");
                let at = Box::new(self.expect(sc, all[1], &Ty::Timestamp, &what));
                let duration = (which == B::Fits).then(|| {
                    self.expect(sc, all[2], &Ty::Duration, "the duration argument of `fits`")
                });
                let Some(window) = window else { return error() };
                let window = ir::WindowId(window);
                match (which, duration) {
                    (B::Remaining, _) => (
                        Ty::Duration,
                        mk(&Ty::Duration, ir::ExprKind::Remaining { window, at }),
                    ),
                    (B::NextOpen, _) => (
                        Ty::Timestamp,
                        mk(&Ty::Timestamp, ir::ExprKind::NextOpen { window, at }),
                    ),
                    (_, duration) => {
                        let duration = Box::new(
                            duration.unwrap_or_else(|| mk(&Ty::Duration, ir::ExprKind::Int(0))),
                        );
                        bool_expr(ir::ExprKind::Fits {
                            window,
                            at,
                            duration,
                        })
                    }
                }
            }
            which @ (B::Hour | B::Weekday) => {
                let at = self.expect(
                    sc,
                    all[0],
                    &Ty::Timestamp,
                    &format!("the time argument of `{n}`"),
                );
                let ExprKind::Str(tz) = &unparen(all[1]).kind else {
                    let diag = Diagnostic::error(
                        codes::TIMEZONE_NOT_LITERAL,
                        format!("the time zone of `{n}` must be a string literal"),
                        all[1].span,
                    )
                    .with_help(format!(
                        "name an IANA time zone: `{n}(t, \"Europe/Berlin\")`"
                    ));
                    self.report(sc.file, diag);
                    return error();
                };
                if !self.check_timezone(sc.file, tz, all[1].span) {
                    return error();
                }
                let part = if which == B::Hour {
                    ir::TimePart::Hour
                } else {
                    ir::TimePart::Weekday
                };
                let kind = ir::ExprKind::LocalTime {
                    part,
                    at: Box::new(at),
                    timezone: tz.clone(),
                };
                (Ty::Int, mk(&Ty::Int, kind))
            }
        }
    }

    /// Whether `tz` names a zone of the bundled tz database; reports E0162 otherwise.
    pub(crate) fn check_timezone(&mut self, file: usize, tz: &str, span: Span) -> bool {
        if jiff::tz::TimeZone::get(tz).is_ok() {
            return true;
        }
        let mut diag = Diagnostic::error(
            codes::UNKNOWN_TIMEZONE,
            format!("unknown time zone `{tz}`"),
            span,
        );
        let candidates = jiff::tz::db().available();
        let names: Vec<String> = candidates.map(|n| n.as_str().to_string()).collect();
        diag = diag.with_help(
            did_you_mean(tz, names.iter().map(String::as_str))
                .unwrap_or_else(|| "use an IANA time zone name such as `UTC`, `Europe/London` or `America/New_York`".to_string()),
        );
        self.report(file, diag);
        false
    }
}

/// The receiver of a method call `x.m(…)` (the callee `x.m` itself for any other shape).
fn callee_operand<'e>(kind: &'e ExprKind, callee: &'e ast::Expr) -> &'e ast::Expr {
    match kind {
        ExprKind::Field { operand, .. } => operand,
        _ => callee,
    }
}

/// `a op b` on constants of the operation's result type `ty` (ints, durations, timestamps as
/// their seconds), as evaluation would compute it: `None` when it would fail (overflow, or a
/// timestamp outside the supported years).
fn fold(op: ir::BinOp, ty: &Ty, a: i64, b: i64) -> Option<i64> {
    let v = match op {
        ir::BinOp::Add => a.checked_add(b),
        ir::BinOp::Sub => a.checked_sub(b),
        _ => a.checked_mul(b),
    }?;
    let in_range = *ty != Ty::Timestamp
        || (ir::literal::MIN_TIMESTAMP..=ir::literal::MAX_TIMESTAMP).contains(&v);
    in_range.then_some(v)
}

/// Renumber the locals of an inlined constant after the `base` slots already in use.
fn shift_locals(e: &mut ir::Expr, base: u32) {
    e.visit_mut(|node| match &mut node.kind {
        ir::ExprKind::Local(id)
        | ir::ExprKind::Quantifier { var: id, .. }
        | ir::ExprKind::Filter { var: id, .. } => id.0 += base,
        _ => {}
    });
}

/// Whether `Regex::new(pattern)` is sure to succeed, decided without compiling it: the pattern
/// parses and translates under the `regex` crate's default syntax options, and it is too small
/// and too plain (short, no counted repetition, no Unicode class escapes, no flags) to come near
/// the compiled-size limit. Compiling a pattern costs ten times as much as this, and a policy
/// set may hold thousands of distinct patterns; anything in doubt is compiled as before, so every
/// error still comes from `regex` itself.
pub(crate) fn surely_compiles(pattern: &str) -> bool {
    const PLAIN_LIMIT: usize = 256;
    // Only escapes of punctuation (`\.`): no `\w`, `\p{…}` and the like.
    let plain_escapes = pattern
        .split('\\')
        .skip(1)
        .all(|rest| rest.starts_with(|c: char| c.is_ascii_punctuation()));
    pattern.len() <= PLAIN_LIMIT
        && plain_escapes
        && !pattern.contains('{')
        && !pattern.contains("(?")
        && regex_syntax::Parser::new().parse(pattern).is_ok()
}
