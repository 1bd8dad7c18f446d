//! Re-checks the invariants of a [`Program`] so an engine never executes an ill-typed one.
//!
//! The verifier re-derives the type of every expression from its kind and its children and
//! compares it with the annotation the compiler wrote, checks every index against the table it
//! points into, and checks the structural rules of the IR (sorted rule actions, rule arguments
//! present with one type in every action, no call cycles, well-formed types). Every error names
//! a path into the program (`rules[3].conditions[0].lhs`). It must not know about the source
//! language's syntax or the runtime: it reads only the IR.

use std::collections::HashSet;

use crate::limits::{Depths, MAX_DEPTH, grow_stack};
use crate::print::type_name;
use crate::{BinOp, Builtin, Effect, EffectKind, Expr, ExprKind, Program, Type, WindowLine};

/// A broken invariant, with a path to the offending node.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct VerifyError {
    pub path: String,
    pub message: String,
}

impl std::fmt::Display for VerifyError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}: {}", self.path, self.message)
    }
}

impl std::error::Error for VerifyError {}

/// Check every index and every type of the program.
pub fn verify(program: &Program) -> Result<(), Vec<VerifyError>> {
    let mut v = Verifier {
        program,
        path: String::new(),
        errors: Vec::new(),
        depths: Depths::of(program),
    };
    v.program();
    if v.errors.is_empty() {
        Ok(())
    } else {
        Err(v.errors)
    }
}

/// What an expression may refer to, besides the program's tables.
struct Scope<'a> {
    /// The rule's action fields, when inside a rule.
    args: Option<&'a [crate::Field]>,
    /// Number of local slots; `None` for an expression without a frame size (the default's
    /// approvers), where any bound slot is accepted.
    n_locals: Option<u32>,
    /// The type of each bound local slot.
    locals: Vec<Option<Type>>,
}

struct Verifier<'p> {
    program: &'p Program,
    path: String,
    errors: Vec<VerifyError>,
    /// The effective depth of every function and window (`limits`).
    depths: Depths,
}

impl<'p> Verifier<'p> {
    fn error(&mut self, message: impl Into<String>) {
        self.errors.push(VerifyError {
            path: self.path.clone(),
            message: message.into(),
        });
    }

    /// Run `f` with `segment` appended to the current path (`.name` or `[i]`).
    fn at<R>(&mut self, segment: &str, f: impl FnOnce(&mut Self) -> R) -> R {
        let len = self.path.len();
        if !self.path.is_empty() && !segment.starts_with('[') {
            self.path.push('.');
        }
        self.path.push_str(segment);
        let r = f(self);
        self.path.truncate(len);
        r
    }

    fn show(&self, ty: &Type) -> String {
        type_name(&self.program.schema, ty)
    }

    fn program(&mut self) {
        let p = self.program;
        self.schema();
        for (i, w) in p.windows.iter().enumerate() {
            self.at(&format!("windows[{i}]"), |v| v.window(w, i));
        }
        self.window_cycles();
        for (i, f) in p.functions.iter().enumerate() {
            self.at(&format!("functions[{i}]"), |v| {
                for (j, ty) in f.params.iter().enumerate() {
                    v.at(&format!("params[{j}]"), |v| v.well_formed(ty));
                }
                v.at("ret", |v| v.well_formed(&f.ret));
                if (f.n_locals as usize) < f.params.len() {
                    v.error(format!(
                        "`n_locals` is {} but the function has {} parameters",
                        f.n_locals,
                        f.params.len()
                    ));
                }
                let mut scope = Scope {
                    args: None,
                    n_locals: Some(f.n_locals),
                    locals: vec![None; f.n_locals.max(f.params.len() as u32) as usize],
                };
                for (slot, ty) in scope.locals.iter_mut().zip(&f.params) {
                    *slot = Some(ty.clone());
                }
                v.at("body", |v| {
                    v.root(&f.body, &mut scope);
                    v.expect_ty(&f.body.ty, &f.ret);
                });
            });
        }
        self.call_cycles();
        let mut names = HashSet::new();
        for (i, rule) in p.rules.iter().enumerate() {
            self.at(&format!("rules[{i}]"), |v| {
                if !names.insert(rule.name.as_str()) {
                    v.error(format!("duplicate rule name `{}`", rule.name));
                }
                v.rule(rule);
            });
        }
        self.at("default", |v| {
            let mut scope = Scope {
                args: None,
                n_locals: None,
                locals: Vec::new(),
            };
            v.effect(&p.default, &mut scope);
        });
        for (i, test) in p.tests.iter().enumerate() {
            self.at(&format!("tests[{i}]"), |v| {
                for (j, case) in test.cases.iter().enumerate() {
                    v.at(&format!("cases[{j}]"), |v| {
                        if case.approvers.is_some() && case.expect != EffectKind::RequireApproval {
                            v.error("approvers are only expected of `require approval`");
                        }
                        for name in case.by.iter().flatten() {
                            if !p.rules.iter().any(|r| &r.name == name) {
                                v.error(format!("`by` names unknown rule `{name}`"));
                            }
                        }
                    });
                }
            });
        }
    }

    fn schema(&mut self) {
        let s = &self.program.schema;
        for (i, e) in s.enums.iter().enumerate() {
            if e.variants.is_empty() {
                self.at(&format!("schema.enums[{i}]"), |v| {
                    v.error(format!("enum `{}` has no variants", e.name))
                });
            }
        }
        for (i, e) in s.entities.iter().enumerate() {
            self.at(&format!("schema.entities[{i}]"), |v| {
                for (j, f) in e.attrs.iter().enumerate() {
                    v.at(&format!("attrs[{j}]"), |v| v.well_formed(&f.ty));
                }
            });
        }
        for (i, r) in s.relations.iter().enumerate() {
            self.at(&format!("schema.relations[{i}]"), |v| {
                for (end, id) in [("from", r.from), ("to", r.to)] {
                    if id.index() >= s.entities.len() {
                        v.at(end, |v| {
                            v.error(format!("entity type {} out of range", id.0))
                        });
                    }
                }
            });
        }
        for (i, f) in s.context.iter().enumerate() {
            self.at(&format!("schema.context[{i}]"), |v| v.well_formed(&f.ty));
        }
        for (i, a) in s.actions.iter().enumerate() {
            self.at(&format!("schema.actions[{i}]"), |v| {
                for (j, f) in a.fields.iter().enumerate() {
                    v.at(&format!("fields[{j}]"), |v| {
                        v.well_formed(&f.ty);
                        if f.ty.is_optional() {
                            v.error(format!("action field `{}` is optional", f.name));
                        }
                    });
                }
            });
        }
    }

    fn window(&mut self, w: &crate::Window, index: usize) {
        let depth = self.depths.windows.get(index).copied().unwrap_or(0);
        if depth > MAX_DEPTH {
            self.error(format!(
                "the window's `except` chain is {depth} windows deep; the limit is {MAX_DEPTH}"
            ));
        }
        if w.timezone.is_empty() {
            self.error("empty time zone name");
        }
        for (i, line) in w.lines.iter().enumerate() {
            self.at(&format!("lines[{i}]"), |v| match *line {
                WindowLine::Weekly {
                    start_day,
                    start,
                    end_day,
                    end,
                } => {
                    if !(1..=7).contains(&start_day) || !(1..=7).contains(&end_day) {
                        v.error("day out of range 1..=7");
                    }
                    if start >= 24 * 60 || end > 24 * 60 {
                        v.error("time of day out of range");
                    }
                    if start_day == end_day && end <= start {
                        v.error("weekly line with the same day must end after it starts");
                    }
                }
                WindowLine::Daily { start, end, days } => {
                    if start >= 24 * 60 || end > 24 * 60 {
                        v.error("time of day out of range");
                    }
                    if days == 0 || days & 0x80 != 0 {
                        v.error(format!(
                            "day mask {days:#b} is empty or has bits beyond Sunday"
                        ));
                    }
                }
                WindowLine::Between { .. } => {}
            });
        }
        for (i, id) in w.except.iter().enumerate() {
            if id.index() >= self.program.windows.len() {
                self.at(&format!("except[{i}]"), |v| {
                    v.error(format!("window {} out of range", id.0))
                });
            }
        }
    }

    fn window_cycles(&mut self) {
        let windows = &self.program.windows;
        let edges: Vec<Vec<usize>> = windows
            .iter()
            .map(|w| {
                w.except
                    .iter()
                    .map(|id| id.index())
                    .filter(|&j| j < windows.len())
                    .collect()
            })
            .collect();
        if let Some(i) = find_cycle(&edges) {
            let name = windows.get(i).map_or("", |w| w.name.as_str());
            self.at(&format!("windows[{i}]"), |v| {
                v.error(format!("window `{name}` excepts itself through a cycle"));
            });
        }
    }

    fn call_cycles(&mut self) {
        let fns = &self.program.functions;
        let edges: Vec<Vec<usize>> = fns
            .iter()
            .map(|f| {
                let mut calls = Vec::new();
                f.body.visit(|e| {
                    if let ExprKind::Call { func, .. } = &e.kind
                        && func.index() < fns.len()
                    {
                        calls.push(func.index());
                    }
                });
                calls
            })
            .collect();
        if let Some(i) = find_cycle(&edges) {
            let name = fns.get(i).map_or("", |f| f.name.as_str());
            self.at(&format!("functions[{i}]"), |v| {
                v.error(format!("function `{name}` calls itself through a cycle"));
            });
        }
    }

    fn rule(&mut self, rule: &crate::Rule) {
        let s = &self.program.schema;
        if rule.actions.is_empty() {
            self.at("actions", |v| v.error("a rule applies to no action"));
        }
        if rule
            .actions
            .windows(2)
            .any(|w| matches!(w, [a, b] if a >= b))
        {
            self.at("actions", |v| v.error("actions are not sorted and unique"));
        }
        for (i, id) in rule.actions.iter().enumerate() {
            if id.index() >= s.actions.len() {
                self.at(&format!("actions[{i}]"), |v| {
                    v.error(format!("action {} out of range", id.0))
                });
            }
        }
        for (i, arg) in rule.args.iter().enumerate() {
            self.at(&format!("args[{i}]"), |v| {
                v.well_formed(&arg.ty);
                for id in &rule.actions {
                    let Some(action) = s.actions.get(id.index()) else {
                        continue;
                    };
                    match action.fields.iter().find(|f| f.name == arg.name) {
                        None => v.error(format!(
                            "action `{}` has no field `{}`",
                            action.name, arg.name
                        )),
                        Some(f) if f.ty != arg.ty => v.error(format!(
                            "field `{}` of action `{}` has type `{}`, not `{}`",
                            arg.name,
                            action.name,
                            v.show(&f.ty),
                            v.show(&arg.ty)
                        )),
                        Some(_) => {}
                    }
                }
            });
        }
        let mut scope = Scope {
            args: Some(&rule.args),
            n_locals: Some(rule.n_locals),
            locals: vec![None; rule.n_locals as usize],
        };
        for (i, c) in rule.conditions.iter().enumerate() {
            self.at(&format!("conditions[{i}]"), |v| {
                v.root(&c.expr, &mut scope);
                v.expect_ty(&c.expr.ty, &Type::Bool);
            });
        }
        self.at("effect", |v| v.effect(&rule.effect, &mut scope));
        if let Some(message) = &rule.message {
            for (i, part) in message.parts.iter().enumerate() {
                if let crate::MessagePart::Expr(e) = part {
                    self.at(&format!("message[{i}]"), |v| v.root(e, &mut scope));
                }
            }
        }
    }

    fn effect(&mut self, effect: &Effect, scope: &mut Scope<'_>) {
        let Some(approvers) = &effect.approvers else {
            return;
        };
        self.at("approvers", |v| {
            if effect.kind != EffectKind::RequireApproval {
                v.error(format!("approvers on a `{}` effect", effect.kind.as_str()));
            }
            v.root(approvers, scope);
            let ok = match &approvers.ty {
                Type::String | Type::Entity(_) => true,
                Type::Set(inner) => matches!(**inner, Type::String | Type::Entity(_)),
                _ => false,
            };
            if !ok {
                v.error(format!(
                    "approvers of type `{}`; expected a string, an entity or a set of them",
                    v.show(&approvers.ty)
                ));
            }
        });
    }

    /// A type is well formed: indices in range, no nested optional, no optional in a set.
    fn well_formed(&mut self, ty: &Type) {
        match ty {
            Type::Bool | Type::Int | Type::String | Type::Duration | Type::Timestamp => {}
            Type::Entity(id) => {
                if id.index() >= self.program.schema.entities.len() {
                    self.error(format!("entity type {} out of range", id.0));
                }
            }
            Type::Enum(id) => {
                if id.index() >= self.program.schema.enums.len() {
                    self.error(format!("enum {} out of range", id.0));
                }
            }
            Type::Set(inner) => {
                if inner.is_optional() {
                    self.error("a set of optionals");
                }
                self.well_formed(inner);
            }
            Type::Optional(inner) => {
                if inner.is_optional() {
                    self.error("a nested optional");
                }
                self.well_formed(inner);
            }
        }
    }

    fn expect_ty(&mut self, found: &Type, expected: &Type) {
        if found != expected {
            self.error(format!(
                "type `{}`, expected `{}`",
                self.show(found),
                self.show(expected)
            ));
        }
    }

    fn child(&mut self, name: &str, e: &Expr, scope: &mut Scope<'_>) {
        self.at(name, |v| v.expr(e, scope));
    }

    /// Verify a whole expression (a condition, a body, approvers, a message part): first its
    /// effective depth, without recursion, and its nodes only when that is within the budget.
    fn root(&mut self, e: &Expr, scope: &mut Scope<'_>) {
        let depth = self.depths.of_expr(e);
        if depth > MAX_DEPTH {
            self.error(format!(
                "the expression nests {depth} levels deep, counting the calls and windows it \
                 uses; the limit is {MAX_DEPTH}"
            ));
            return;
        }
        self.expr(e, scope);
    }

    fn entity_of(&mut self, ty: &Type) -> Option<usize> {
        match ty {
            Type::Entity(id) if id.index() < self.program.schema.entities.len() => Some(id.index()),
            _ => None,
        }
    }

    /// The attribute's type, or an error.
    fn attr_ty(&mut self, of: &Type, attr: u32, what: &str) -> Option<Type> {
        let Some(ety) = self.entity_of(of) else {
            self.error(format!(
                "{what} of a `{}`, expected an entity",
                self.show(of)
            ));
            return None;
        };
        let entity = self.program.schema.entities.get(ety)?;
        match entity.attrs.get(attr as usize) {
            Some(f) => Some(f.ty.clone()),
            None => {
                self.error(format!(
                    "attribute {attr} out of range for entity type `{}`",
                    entity.name
                ));
                None
            }
        }
    }

    fn set_elem(&mut self, ty: &Type) -> Option<Type> {
        match ty {
            Type::Set(inner) => Some((**inner).clone()),
            other => {
                self.error(format!("type `{}`, expected a set", self.show(other)));
                None
            }
        }
    }

    fn relation(&mut self, rel: crate::RelationId, inverse: bool) -> Option<(Type, Type)> {
        let Some(r) = self.program.schema.relations.get(rel.index()) else {
            self.error(format!("relation {} out of range", rel.0));
            return None;
        };
        let (from, to) = if inverse {
            (r.to, r.from)
        } else {
            (r.from, r.to)
        };
        Some((Type::Entity(from), Type::Entity(to)))
    }

    fn window_ref(&mut self, w: crate::WindowId) {
        if w.index() >= self.program.windows.len() {
            self.error(format!("window {} out of range", w.0));
        }
    }

    /// Verify `e` and its children; report when its annotation disagrees with its kind.
    ///
    /// Recursive: the checks of a node interleave with the visits of its children and with
    /// binding quantifier variables, which an explicit stack would obscure. Its debug-build
    /// frames (about 6 KiB a level) are more than the 2 KiB a level that `MAX_DEPTH` levels on
    /// a 2 MiB thread allow, so every level enters through `grow_stack`, which moves to a heap
    /// segment when the thread's stack runs low.
    fn expr(&mut self, e: &Expr, scope: &mut Scope<'_>) {
        grow_stack(|| self.expr_node(e, scope));
    }

    fn expr_node(&mut self, e: &Expr, scope: &mut Scope<'_>) {
        self.well_formed(&e.ty);
        let schema = &self.program.schema;
        // The type the node must have, when it is determined by kind and children alone.
        let derived: Option<Type> = match &e.kind {
            ExprKind::Bool(_) => Some(Type::Bool),
            ExprKind::Int(_) => {
                if !e.ty.is_scalar_int() {
                    self.error(format!("integer literal of type `{}`", self.show(&e.ty)));
                }
                None
            }
            ExprKind::Str(_) => Some(Type::String),
            ExprKind::Entity(_) => {
                if !matches!(e.ty, Type::Entity(_)) {
                    self.error(format!("entity literal of type `{}`", self.show(&e.ty)));
                }
                None
            }
            ExprKind::Enum(variant) => {
                match &e.ty {
                    Type::Enum(id) => {
                        if let Some(en) = schema.enums.get(id.index())
                            && *variant as usize >= en.variants.len()
                        {
                            self.error(format!(
                                "variant {variant} out of range for enum `{}`",
                                en.name
                            ));
                        }
                    }
                    other => self.error(format!("enum literal of type `{}`", self.show(other))),
                }
                None
            }
            ExprKind::Set(items) => {
                let elem = self.set_elem(&e.ty);
                for (i, item) in items.iter().enumerate() {
                    self.at(&format!("items[{i}]"), |v| {
                        v.expr(item, scope);
                        if let Some(elem) = &elem {
                            v.expect_ty(&item.ty, elem);
                        }
                    });
                }
                None
            }
            ExprKind::None => {
                if !e.ty.is_optional() {
                    self.error(format!("`none` of type `{}`", self.show(&e.ty)));
                }
                None
            }
            ExprKind::Some(inner) => {
                self.child("value", inner, scope);
                Some(Type::Optional(Box::new(inner.ty.clone())))
            }
            ExprKind::Now => Some(Type::Timestamp),
            ExprKind::Arg(i) => match scope.args {
                None => {
                    self.error("action field outside a rule");
                    None
                }
                Some(args) => match args.get(*i as usize) {
                    Some(f) => Some(f.ty.clone()),
                    None => {
                        self.error(format!("rule argument {i} out of range"));
                        None
                    }
                },
            },
            ExprKind::Context(i) => match schema.context.get(*i as usize) {
                Some(f) => Some(f.ty.clone()),
                None => {
                    self.error(format!("context field {i} out of range"));
                    None
                }
            },
            ExprKind::Local(id) => {
                if let Some(n) = scope.n_locals
                    && id.0 >= n
                {
                    self.error(format!("local {} out of range (`n_locals` is {n})", id.0));
                    None
                } else {
                    match scope.locals.get(id.index()).cloned().flatten() {
                        Some(ty) => Some(ty),
                        None => {
                            self.error(format!("local {} used outside its binder", id.0));
                            None
                        }
                    }
                }
            }
            ExprKind::Attr { of, attr } => {
                self.child("of", of, scope);
                self.attr_ty(&of.ty, *attr, "attribute")
            }
            ExprKind::OptAttr { of, attr } => {
                self.child("of", of, scope);
                self.attr_ty(of.ty.strip_optional(), *attr, "attribute")
                    .map(|t| Type::Optional(Box::new(t.strip_optional().clone())))
            }
            ExprKind::Has { of, attr } => {
                self.child("of", of, scope);
                self.attr_ty(of.ty.strip_optional(), *attr, "`has`");
                Some(Type::Bool)
            }
            ExprKind::Not(inner) => {
                self.child("operand", inner, scope);
                self.at("operand", |v| v.expect_ty(&inner.ty, &Type::Bool));
                Some(Type::Bool)
            }
            ExprKind::Neg(inner) => {
                self.child("operand", inner, scope);
                if !matches!(inner.ty, Type::Int | Type::Duration) {
                    self.at("operand", |v| {
                        v.error(format!("negation of a `{}`", v.show(&inner.ty)));
                    });
                }
                Some(inner.ty.clone())
            }
            ExprKind::Binary { op, lhs, rhs } => {
                self.child("lhs", lhs, scope);
                self.child("rhs", rhs, scope);
                self.binary(*op, &lhs.ty, &rhs.ty)
            }
            ExprKind::Coalesce { value, fallback } => {
                self.child("value", value, scope);
                self.child("fallback", fallback, scope);
                match &value.ty {
                    Type::Optional(inner) => {
                        if fallback.ty != **inner && fallback.ty != value.ty {
                            self.at("fallback", |v| {
                                v.error(format!(
                                    "fallback of type `{}` for a `{}`",
                                    v.show(&fallback.ty),
                                    v.show(&value.ty)
                                ));
                            });
                        }
                        Some(fallback.ty.clone())
                    }
                    other => {
                        self.at("value", |v| {
                            v.error(format!("`??` on a non-optional `{}`", v.show(other)))
                        });
                        None
                    }
                }
            }
            ExprKind::In { elem, set } => {
                self.child("elem", elem, scope);
                self.child("set", set, scope);
                if let Some(t) = self.at("set", |v| v.set_elem(&set.ty)) {
                    self.at("elem", |v| v.expect_ty(elem.ty.strip_optional(), &t));
                }
                Some(Type::Bool)
            }
            ExprKind::Matches { operand, regex } => {
                self.child("operand", operand, scope);
                self.at("operand", |v| v.expect_ty(&operand.ty, &Type::String));
                if regex.index() >= self.program.regexes.len() {
                    self.error(format!("regex {} out of range", regex.0));
                }
                Some(Type::Bool)
            }
            ExprKind::If {
                cond,
                then,
                otherwise,
            } => {
                self.child("cond", cond, scope);
                self.child("then", then, scope);
                self.child("otherwise", otherwise, scope);
                self.at("cond", |v| v.expect_ty(&cond.ty, &Type::Bool));
                for (name, branch) in [("then", then), ("otherwise", otherwise)] {
                    let ok = branch.ty == e.ty
                        || matches!(&e.ty, Type::Optional(inner) if **inner == branch.ty);
                    if !ok {
                        self.at(name, |v| {
                            v.error(format!(
                                "branch of type `{}` in an `if` of type `{}`",
                                v.show(&branch.ty),
                                v.show(&e.ty)
                            ));
                        });
                    }
                }
                None
            }
            ExprKind::Call { func, args } => {
                for (i, a) in args.iter().enumerate() {
                    self.child(&format!("args[{i}]"), a, scope);
                }
                match self.program.functions.get(func.index()) {
                    None => {
                        self.error(format!("function {} out of range", func.0));
                        None
                    }
                    Some(f) => {
                        if f.params.len() != args.len() {
                            self.error(format!(
                                "`{}` takes {} arguments, given {}",
                                f.name,
                                f.params.len(),
                                args.len()
                            ));
                        }
                        for (i, (a, p)) in args.iter().zip(&f.params).enumerate() {
                            self.at(&format!("args[{i}]"), |v| v.expect_ty(&a.ty, p));
                        }
                        Some(f.ret.clone())
                    }
                }
            }
            ExprKind::Builtin { builtin, args } => {
                for (i, a) in args.iter().enumerate() {
                    self.child(&format!("args[{i}]"), a, scope);
                }
                self.builtin(*builtin, args)
            }
            ExprKind::Quantifier { var, set, body, .. } => {
                self.child("set", set, scope);
                let elem = self.at("set", |v| v.set_elem(&set.ty));
                self.bind(*var, elem, scope, |v, scope| {
                    v.child("body", body, scope);
                    v.at("body", |v| v.expect_ty(&body.ty, &Type::Bool));
                });
                Some(Type::Bool)
            }
            ExprKind::Filter { var, set, cond } => {
                self.child("set", set, scope);
                let elem = self.at("set", |v| v.set_elem(&set.ty));
                self.bind(*var, elem, scope, |v, scope| {
                    v.child("cond", cond, scope);
                    v.at("cond", |v| v.expect_ty(&cond.ty, &Type::Bool));
                });
                Some(set.ty.clone())
            }
            ExprKind::Related { rel, inverse, of } | ExprKind::Closure { rel, inverse, of } => {
                self.child("of", of, scope);
                self.relation(*rel, *inverse).map(|(from, to)| {
                    self.at("of", |v| v.expect_ty(&of.ty, &from));
                    Type::Set(Box::new(to))
                })
            }
            ExprKind::Path {
                rel,
                inverse,
                from,
                to,
            } => {
                self.child("from", from, scope);
                self.child("to", to, scope);
                if let Some((a, b)) = self.relation(*rel, *inverse) {
                    self.at("from", |v| v.expect_ty(&from.ty, &a));
                    self.at("to", |v| v.expect_ty(&to.ty, &b));
                }
                Some(Type::Bool)
            }
            ExprKind::InWindow { window, at } => {
                self.window_ref(*window);
                self.timestamp_child("at", at, scope);
                Some(Type::Bool)
            }
            ExprKind::Remaining { window, at } => {
                self.window_ref(*window);
                self.timestamp_child("at", at, scope);
                Some(Type::Duration)
            }
            ExprKind::Fits {
                window,
                at,
                duration,
            } => {
                self.window_ref(*window);
                self.timestamp_child("at", at, scope);
                self.child("duration", duration, scope);
                self.at("duration", |v| v.expect_ty(&duration.ty, &Type::Duration));
                Some(Type::Bool)
            }
            ExprKind::NextOpen { window, at } => {
                self.window_ref(*window);
                self.timestamp_child("at", at, scope);
                Some(Type::Timestamp)
            }
            ExprKind::LocalTime { at, timezone, .. } => {
                self.timestamp_child("at", at, scope);
                if timezone.is_empty() {
                    self.error("empty time zone name");
                }
                Some(Type::Int)
            }
        };
        if let Some(derived) = derived
            && derived != e.ty
        {
            self.error(format!(
                "annotated `{}` but the expression has type `{}`",
                self.show(&e.ty),
                self.show(&derived)
            ));
        }
    }

    fn timestamp_child(&mut self, name: &str, e: &Expr, scope: &mut Scope<'_>) {
        self.child(name, e, scope);
        self.at(name, |v| v.expect_ty(&e.ty, &Type::Timestamp));
    }

    /// Bind `var` to `ty` while `f` runs, restoring the previous binding after.
    fn bind(
        &mut self,
        var: crate::LocalId,
        ty: Option<Type>,
        scope: &mut Scope<'_>,
        f: impl FnOnce(&mut Self, &mut Scope<'_>),
    ) {
        let idx = var.index();
        if let Some(n) = scope.n_locals
            && var.0 >= n
        {
            self.error(format!("local {} out of range (`n_locals` is {n})", var.0));
            return;
        }
        if scope.locals.len() <= idx {
            scope.locals.resize(idx + 1, None);
        }
        let previous = scope
            .locals
            .get_mut(idx)
            .and_then(|slot| std::mem::replace(slot, ty));
        f(self, scope);
        if let Some(slot) = scope.locals.get_mut(idx) {
            *slot = previous;
        }
    }

    fn binary(&mut self, op: BinOp, lhs: &Type, rhs: &Type) -> Option<Type> {
        use Type::{Duration as D, Int as I, Timestamp as T};
        let result = match op {
            BinOp::And | BinOp::Or => {
                (lhs == &Type::Bool && rhs == &Type::Bool).then_some(Type::Bool)
            }
            BinOp::Eq | BinOp::Ne => {
                (lhs.strip_optional() == rhs.strip_optional()).then_some(Type::Bool)
            }
            BinOp::Lt | BinOp::Le | BinOp::Gt | BinOp::Ge => (lhs.strip_optional()
                == rhs.strip_optional()
                && lhs.strip_optional().is_scalar_int())
            .then_some(Type::Bool),
            BinOp::Add => match (lhs, rhs) {
                (I, I) => Some(I),
                (D, D) => Some(D),
                (T, D) | (D, T) => Some(T),
                _ => None,
            },
            BinOp::Sub => match (lhs, rhs) {
                (I, I) => Some(I),
                (D, D) | (T, T) => Some(D),
                (T, D) => Some(T),
                _ => None,
            },
            BinOp::Mul => match (lhs, rhs) {
                (I, I) => Some(I),
                (D, I) | (I, D) => Some(D),
                _ => None,
            },
        };
        if result.is_none() {
            self.error(format!(
                "operator {op:?} on `{}` and `{}`",
                self.show(lhs),
                self.show(rhs)
            ));
        }
        result
    }

    fn builtin(&mut self, builtin: Builtin, args: &[Expr]) -> Option<Type> {
        if !builtin.is_value_builtin() {
            self.error(format!("`{}` is not a value builtin", builtin.name()));
            return None;
        }
        if args.len() != builtin.arity() {
            self.error(format!(
                "`{}` takes {} arguments, given {}",
                builtin.name(),
                builtin.arity(),
                args.len()
            ));
            return None;
        }
        let tys: Vec<&Type> = args.iter().map(|a| &a.ty).collect();
        let s = Type::String;
        let ok_ret = match (builtin, tys.as_slice()) {
            (Builtin::Count, [Type::Set(_)]) => Some(Type::Int),
            (Builtin::SetContains, [Type::Set(e), x]) if **e == *x.strip_optional() => {
                Some(Type::Bool)
            }
            (Builtin::Intersects | Builtin::IsSubset, [a @ Type::Set(_), b]) if *a == *b => {
                Some(Type::Bool)
            }
            (Builtin::StartsWith | Builtin::EndsWith | Builtin::StrContains, [a, b])
                if **a == s && **b == s =>
            {
                Some(Type::Bool)
            }
            (Builtin::Lower, [a]) if **a == s => Some(Type::String),
            (Builtin::Len, [a]) if **a == s => Some(Type::Int),
            _ => None,
        };
        if ok_ret.is_none() {
            let shown: Vec<String> = tys.iter().map(|t| format!("`{}`", self.show(t))).collect();
            self.error(format!(
                "`{}` applied to {}",
                builtin.name(),
                shown.join(", ")
            ));
        }
        ok_ret
    }
}

/// A node on a cycle of the graph, if there is one (iterative three-colour DFS).
fn find_cycle(edges: &[Vec<usize>]) -> Option<usize> {
    #[derive(Clone, Copy, PartialEq)]
    enum Mark {
        New,
        Active,
        Done,
    }
    let mut mark = vec![Mark::New; edges.len()];
    for root in 0..edges.len() {
        if mark[root] != Mark::New {
            continue;
        }
        let mut stack = vec![(root, 0usize)];
        mark[root] = Mark::Active;
        while let Some(&mut (node, ref mut next)) = stack.last_mut() {
            match edges[node].get(*next) {
                Some(&succ) => {
                    *next += 1;
                    match mark[succ] {
                        Mark::Active => return Some(succ),
                        Mark::New => {
                            mark[succ] = Mark::Active;
                            stack.push((succ, 0));
                        }
                        Mark::Done => {}
                    }
                }
                None => {
                    mark[node] = Mark::Done;
                    stack.pop();
                }
            }
        }
    }
    None
}
