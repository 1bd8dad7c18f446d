//! The depth budget in the checker (`ward_ir::MAX_DEPTH`): the order in which constants,
//! functions and windows are checked, and the effective depth of what is lowered (`E0178`).
//!
//! Checking a constant, a function or a window checks what it refers to first, recursively.
//! Taken in declaration order, a chain of 10,000 constants each naming the next would recurse
//! 10,000 items deep, so [`Checker::dependency_order`] lists the user's constants, functions and
//! windows with what each refers to before it: checking them in that order recurses one item at
//! a time (only a cycle, itself an error, recurses further, and [`Checker::too_many_pending`]
//! bounds that). Every lowered expression is then measured as the verifier will measure it
//! ([`ward_ir::limits::depth`]), through calls, inlined constants and `except` chains, and one
//! deeper than the budget is reported where it is written.
//!
//! This module knows the AST only to find names; types and lowering are `expr.rs`'s.

use ward_ir as ir;
use ward_ir::MAX_DEPTH;
use ward_syntax::ast::{self, ExprKind};
use ward_syntax::{Diagnostic, Span};

use crate::checker::{Checker, Def};
use crate::codes;

/// A constant, function or window, by index into the checker's tables.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Item {
    Window(u32),
    Const(u32),
    Fn(u32),
}

/// What an over-deep expression is, for the message.
#[derive(Clone, Copy, Debug)]
pub(crate) enum Site<'n> {
    Const(&'n str),
    Fn(&'n str),
    Window(&'n str),
    Condition,
    Approvers,
    Message,
}

/// The depth recorded for a function or window already reported too deep: anything using it
/// is deeper than the budget too, but is not reported again (one error per chain).
pub(crate) const REPORTED: usize = usize::MAX / 4;

pub(crate) const HELP: &str = "the depth counts every operator, call and field access, through \
    the constants and functions used and the windows read: write a long `or` of comparisons as a \
    set (`x in [\"a\", \"b\"]`), and do not build each constant or function on the previous one";

impl Checker<'_> {
    /// The user's windows, constants and functions (in that order of declaration, as before),
    /// each after the user items it refers to, each once. Of a cycle (an error checking
    /// reports) only the member the walk reaches first is listed: checking it goes round the
    /// cycle and reports it from there, as checking in declaration order would. (Tarjan's
    /// strongly connected components, iteratively: a component is listed by its root.)
    pub(crate) fn dependency_order(&self) -> Vec<Item> {
        let (n_windows, n_consts) = (self.windows.len(), self.consts.len());
        let id = |item: Item| match item {
            Item::Window(i) => i as usize,
            Item::Const(i) => n_windows + i as usize,
            Item::Fn(i) => n_windows + n_consts + i as usize,
        };
        let n = n_windows + n_consts + self.fns.len();
        let user = |file: usize| self.files[file].module.is_none();
        let mut roots = Vec::new();
        roots.extend(
            (0..n_windows as u32)
                .filter(|&w| user(self.windows[w as usize].file))
                .map(Item::Window),
        );
        roots.extend(
            (0..n_consts as u32)
                .filter(|&c| user(self.consts[c as usize].file))
                .map(Item::Const),
        );
        roots.extend(
            (0..self.fns.len() as u32)
                .filter(|&f| user(self.fns[f as usize].file))
                .map(Item::Fn),
        );
        let mut t = Tarjan {
            index: vec![UNSEEN; n],
            low: vec![0; n],
            on_stack: vec![false; n],
            component: Vec::new(),
            counter: 0,
        };
        let mut order = Vec::new();
        for root in roots {
            if t.index[id(root)] != UNSEEN {
                continue;
            }
            t.visit(id(root));
            let mut stack = vec![(root, self.refers_to(root), 0usize)];
            while let Some((item, deps, next)) = stack.last_mut() {
                let i = id(*item);
                if let Some(&dep) = deps.get(*next) {
                    *next += 1;
                    let d = id(dep);
                    if t.index[d] == UNSEEN {
                        t.visit(d);
                        stack.push((dep, self.refers_to(dep), 0));
                    } else if t.on_stack[d] {
                        t.low[i] = t.low[i].min(t.index[d]);
                    }
                    continue;
                }
                let done = *item;
                stack.pop();
                if let Some((parent, _, _)) = stack.last() {
                    let p = id(*parent);
                    t.low[p] = t.low[p].min(t.low[i]);
                }
                if t.low[i] == t.index[i] {
                    while let Some(member) = t.component.pop() {
                        t.on_stack[member] = false;
                        if member == i {
                            break;
                        }
                    }
                    order.push(done);
                }
            }
        }
        order
    }

    /// The user constants, functions and windows `item` names, in source order.
    fn refers_to(&self, item: Item) -> Vec<Item> {
        let user = |file: usize| self.files[file].module.is_none();
        let lookup = |name: &str| -> Option<Item> {
            let item = match self.globals.get(name)? {
                Def::Const(c) if user(self.consts[*c as usize].file) => Item::Const(*c),
                Def::Fn(f) if user(self.fns[*f as usize].file) => Item::Fn(*f),
                Def::Window(w) if user(self.windows[*w as usize].file) => Item::Window(*w),
                _ => return None,
            };
            Some(item)
        };
        match item {
            Item::Window(w) => self.windows[w as usize]
                .decl
                .lines
                .iter()
                .filter_map(|line| match &line.kind {
                    ast::WindowLineKind::Except(name) => lookup(&name.name),
                    _ => None,
                })
                .filter(|dep| matches!(dep, Item::Window(_)))
                .collect(),
            Item::Const(c) => names_in(&self.consts[c as usize].decl.value, &[], lookup),
            Item::Fn(f) => {
                let decl = self.fns[f as usize].decl;
                let params: Vec<&str> = decl.params.iter().map(|p| p.name.name.as_str()).collect();
                names_in(&decl.body, &params, lookup)
            }
        }
    }

    /// Whether as many constants, functions and windows are being checked, each inside the
    /// previous one, as the budget allows: only a cycle gets here (checking follows
    /// [`Checker::dependency_order`]). Reported as `E0178` at the item that would go deeper.
    pub(crate) fn too_many_pending(&mut self, file: usize, name: &ast::Ident) -> bool {
        let pending = self.const_stack.len() + self.fn_stack.len() + self.window_stack.len();
        if pending < MAX_DEPTH {
            return false;
        }
        let diag = Diagnostic::error(
            codes::TOO_DEEP,
            format!(
                "`{}` is defined through more than {MAX_DEPTH} constants, functions or windows, \
                 each using the next",
                name.name
            ),
            name.span,
        )
        .with_help(HELP);
        self.report(file, diag);
        true
    }

    /// The effective depth of a lowered expression ([`ward_ir::limits::depth`]), with the
    /// depths of the functions and windows lowered so far.
    pub(crate) fn depth_of(&self, e: &ir::Expr) -> usize {
        ir::limits::depth(
            e,
            |f| self.ir_fn_depths.get(f.index()).copied().unwrap_or(1),
            |w| self.ir_window_depths.get(w.index()).copied().unwrap_or(1),
        )
    }

    /// Report `e` (written at `span` of `file`) when its effective depth exceeds the budget;
    /// returns whether it is within it.
    pub(crate) fn within_budget(
        &mut self,
        file: usize,
        span: Span,
        site: Site<'_>,
        e: &ir::Expr,
    ) -> bool {
        let depth = self.depth_of(e);
        if depth <= MAX_DEPTH {
            return true;
        }
        self.report_too_deep(file, span, site, depth);
        false
    }

    /// Report `E0178` for a depth beyond the budget, unless it comes from something already
    /// reported ([`REPORTED`]).
    pub(crate) fn report_too_deep(
        &mut self,
        file: usize,
        span: Span,
        site: Site<'_>,
        depth: usize,
    ) {
        if depth >= REPORTED {
            return;
        }
        if let Site::Window(name) = site {
            let diag = Diagnostic::error(
                codes::TOO_DEEP,
                format!(
                    "window `{name}` heads a chain of {depth} windows, each excepting the next; \
                     the limit is {MAX_DEPTH}"
                ),
                span,
            )
            .with_help("except the windows of the chain from one window directly");
            self.report(file, diag);
            return;
        }
        let (what, verb) = match site {
            Site::Const(name) => (format!("constant `{name}`"), "nests"),
            Site::Window(_) => (String::new(), "nests"),
            Site::Fn(name) => (format!("the body of function `{name}`"), "nests"),
            Site::Condition => ("this condition".to_string(), "nests"),
            Site::Approvers => ("these approvers".to_string(), "nest"),
            Site::Message => ("this message hole".to_string(), "nests"),
        };
        let diag = Diagnostic::error(
            codes::TOO_DEEP,
            format!(
                "{what} {verb} {depth} levels deep, counting the constants, functions and windows \
                 used; the limit is {MAX_DEPTH}"
            ),
            span,
        )
        .with_help(HELP);
        self.report(file, diag);
    }
}

const UNSEEN: usize = usize::MAX;

/// The bookkeeping of Tarjan's algorithm, by node.
struct Tarjan {
    index: Vec<usize>,
    low: Vec<usize>,
    on_stack: Vec<bool>,
    /// The nodes of components not yet complete.
    component: Vec<usize>,
    counter: usize,
}

impl Tarjan {
    fn visit(&mut self, i: usize) {
        self.index[i] = self.counter;
        self.low[i] = self.counter;
        self.counter += 1;
        self.on_stack[i] = true;
        self.component.push(i);
    }
}

/// The items the names in `e` resolve to (by `lookup`), skipping names bound in `e` or in
/// `bound` (a function's parameters), in source order; iterative.
fn names_in(e: &ast::Expr, bound: &[&str], lookup: impl Fn(&str) -> Option<Item>) -> Vec<Item> {
    let mut out = Vec::new();
    let mut stack = vec![e];
    while let Some(e) = stack.pop() {
        let at = stack.len();
        match &e.kind {
            ExprKind::Name(n) => {
                if !bound.contains(&n.name.as_str())
                    && let Some(item) = lookup(&n.name)
                    && !out.contains(&item)
                {
                    out.push(item);
                }
            }
            ExprKind::Unary { operand, .. }
            | ExprKind::Has { operand, .. }
            | ExprKind::Field { operand, .. } => stack.push(operand),
            ExprKind::Paren(inner) => stack.push(inner),
            ExprKind::Binary { lhs, rhs, .. } => stack.extend([&**lhs, &**rhs]),
            ExprKind::Call { callee, args } => {
                stack.push(callee);
                stack.extend(args);
            }
            ExprKind::Set(items) => stack.extend(items),
            ExprKind::If {
                cond,
                then,
                otherwise,
            } => stack.extend([&**cond, &**then, &**otherwise]),
            ExprKind::Quantifier { set, body, .. } => stack.extend([&**set, &**body]),
            ExprKind::Filter { set, cond, .. } => stack.extend([&**set, &**cond]),
            ExprKind::Bool(_)
            | ExprKind::Int(_)
            | ExprKind::Str(_)
            | ExprKind::Duration(_)
            | ExprKind::Timestamp(_)
            | ExprKind::Now
            | ExprKind::EntityRef { .. }
            | ExprKind::EnumValue { .. }
            | ExprKind::InverseRelation(_)
            | ExprKind::Error => {}
        }
        stack[at..].reverse();
    }
    out
}
