//! The one child-walker over IR expressions: [`Expr::children`] and [`Expr::children_mut`]
//! yield the direct sub-expressions of a node, in evaluation order, so every pass that visits a
//! whole tree (the verifier, the printer, the checker's local renumbering, the engines) shares
//! one list of which fields of which [`ExprKind`] hold expressions. A new kind is added here
//! once and every traversal sees it.
//!
//! The walker only lists children; it does not recurse. Passes that may meet deep trees drive
//! it with an explicit stack (see [`crate::limits::depth`]).

use crate::{Expr, ExprKind};

impl Expr {
    /// The direct sub-expressions of this node, in evaluation order (`lhs` before `rhs`, a
    /// quantifier's set before its body, `cond`, `then`, `otherwise` of an `if`, arguments in
    /// order). Leaves have none.
    pub fn children(&self) -> impl Iterator<Item = &Expr> + '_ {
        let (list, fixed): (&[Expr], [Option<&Expr>; 3]) = match &self.kind {
            ExprKind::Bool(_)
            | ExprKind::Int(_)
            | ExprKind::Str(_)
            | ExprKind::Entity(_)
            | ExprKind::Enum(_)
            | ExprKind::None
            | ExprKind::Now
            | ExprKind::Arg(_)
            | ExprKind::Context(_)
            | ExprKind::Local(_) => (&[], [None, None, None]),
            ExprKind::Set(items)
            | ExprKind::Call { args: items, .. }
            | ExprKind::Builtin { args: items, .. } => (items, [None, None, None]),
            ExprKind::Some(x)
            | ExprKind::Not(x)
            | ExprKind::Neg(x)
            | ExprKind::Attr { of: x, .. }
            | ExprKind::OptAttr { of: x, .. }
            | ExprKind::Has { of: x, .. }
            | ExprKind::Matches { operand: x, .. }
            | ExprKind::Related { of: x, .. }
            | ExprKind::Closure { of: x, .. }
            | ExprKind::InWindow { at: x, .. }
            | ExprKind::Remaining { at: x, .. }
            | ExprKind::NextOpen { at: x, .. }
            | ExprKind::LocalTime { at: x, .. } => (&[], [Some(x), None, None]),
            ExprKind::Binary { lhs: a, rhs: b, .. }
            | ExprKind::Coalesce {
                value: a,
                fallback: b,
            }
            | ExprKind::In { elem: a, set: b }
            | ExprKind::Quantifier {
                set: a, body: b, ..
            }
            | ExprKind::Filter {
                set: a, cond: b, ..
            }
            | ExprKind::Path { from: a, to: b, .. }
            | ExprKind::Fits {
                at: a, duration: b, ..
            } => (&[], [Some(a), Some(b), None]),
            ExprKind::If {
                cond,
                then,
                otherwise,
            } => (&[], [Some(cond), Some(then), Some(otherwise)]),
        };
        list.iter().chain(fixed.into_iter().flatten())
    }

    /// The direct sub-expressions of this node, mutably, in the order of [`Expr::children`].
    pub fn children_mut(&mut self) -> impl Iterator<Item = &mut Expr> + '_ {
        let (list, fixed): (&mut [Expr], [Option<&mut Expr>; 3]) = match &mut self.kind {
            ExprKind::Bool(_)
            | ExprKind::Int(_)
            | ExprKind::Str(_)
            | ExprKind::Entity(_)
            | ExprKind::Enum(_)
            | ExprKind::None
            | ExprKind::Now
            | ExprKind::Arg(_)
            | ExprKind::Context(_)
            | ExprKind::Local(_) => (&mut [], [None, None, None]),
            ExprKind::Set(items)
            | ExprKind::Call { args: items, .. }
            | ExprKind::Builtin { args: items, .. } => (items, [None, None, None]),
            ExprKind::Some(x)
            | ExprKind::Not(x)
            | ExprKind::Neg(x)
            | ExprKind::Attr { of: x, .. }
            | ExprKind::OptAttr { of: x, .. }
            | ExprKind::Has { of: x, .. }
            | ExprKind::Matches { operand: x, .. }
            | ExprKind::Related { of: x, .. }
            | ExprKind::Closure { of: x, .. }
            | ExprKind::InWindow { at: x, .. }
            | ExprKind::Remaining { at: x, .. }
            | ExprKind::NextOpen { at: x, .. }
            | ExprKind::LocalTime { at: x, .. } => (&mut [], [Some(x), None, None]),
            ExprKind::Binary { lhs: a, rhs: b, .. }
            | ExprKind::Coalesce {
                value: a,
                fallback: b,
            }
            | ExprKind::In { elem: a, set: b }
            | ExprKind::Quantifier {
                set: a, body: b, ..
            }
            | ExprKind::Filter {
                set: a, cond: b, ..
            }
            | ExprKind::Path { from: a, to: b, .. }
            | ExprKind::Fits {
                at: a, duration: b, ..
            } => (&mut [], [Some(a), Some(b), None]),
            ExprKind::If {
                cond,
                then,
                otherwise,
            } => (&mut [], [Some(cond), Some(then), Some(otherwise)]),
        };
        list.iter_mut().chain(fixed.into_iter().flatten())
    }

    /// Call `f` on every node of the tree, this one first, parents before children
    /// (iteratively: any depth is safe).
    pub fn visit(&self, mut f: impl FnMut(&Expr)) {
        let mut stack = vec![self];
        while let Some(e) = stack.pop() {
            f(e);
            let at = stack.len();
            stack.extend(e.children());
            stack[at..].reverse();
        }
    }

    /// Call `f` on every node of the tree mutably, this one first, parents before children
    /// (iteratively: any depth is safe). `f` sees a node before its children are visited, so it
    /// may rewrite the node's own fields (a local slot, an index) but the children it leaves in
    /// place are the ones visited next.
    pub fn visit_mut(&mut self, mut f: impl FnMut(&mut Expr)) {
        let mut stack = vec![self];
        while let Some(e) = stack.pop() {
            f(e);
            let at = stack.len();
            stack.extend(e.children_mut());
            stack[at..].reverse();
        }
    }
}

#[cfg(test)]
mod tests {
    use crate::{BinOp, Expr, ExprKind, LocalId, Type};

    fn int(n: i64) -> Expr {
        Expr {
            ty: Type::Int,
            kind: ExprKind::Int(n),
        }
    }

    fn add(a: Expr, b: Expr) -> Expr {
        Expr {
            ty: Type::Int,
            kind: ExprKind::Binary {
                op: BinOp::Add,
                lhs: Box::new(a),
                rhs: Box::new(b),
            },
        }
    }

    #[test]
    fn children_come_in_evaluation_order() {
        let e = add(int(1), int(2));
        let seen: Vec<&ExprKind> = e.children().map(|c| &c.kind).collect();
        assert_eq!(seen, [&ExprKind::Int(1), &ExprKind::Int(2)]);
        let set = Expr {
            ty: Type::Set(Box::new(Type::Int)),
            kind: ExprKind::Set(vec![int(1), int(2), int(3)]),
        };
        assert_eq!(set.children().count(), 3);
        assert_eq!(int(1).children().count(), 0);
    }

    #[test]
    fn visits_are_pre_order_and_iterative() {
        let e = add(add(int(1), int(2)), int(3));
        let mut seen = Vec::new();
        e.visit(|n| {
            if let ExprKind::Int(v) = n.kind {
                seen.push(v);
            }
        });
        assert_eq!(seen, [1, 2, 3]);
        // A tree far deeper than any recursion could take.
        let mut deep = Expr {
            ty: Type::Int,
            kind: ExprKind::Local(LocalId(0)),
        };
        for _ in 0..200_000 {
            deep = Expr {
                ty: Type::Int,
                kind: ExprKind::Neg(Box::new(deep)),
            };
        }
        let mut n = 0;
        deep.visit_mut(|node| {
            if let ExprKind::Local(id) = &mut node.kind {
                id.0 += 7;
            }
            n += 1;
        });
        assert_eq!(n, 200_001);
        let mut found = None;
        deep.visit(|node| {
            if let ExprKind::Local(id) = node.kind {
                found = Some(id.0);
            }
        });
        assert_eq!(found, Some(7));
        dismantle(deep);
    }

    /// Drop a tree without recursing (the derived drop would recurse once per level).
    fn dismantle(e: Expr) {
        let mut stack = vec![e];
        while let Some(mut e) = stack.pop() {
            for child in e.children_mut() {
                let leaf = Expr {
                    ty: Type::Bool,
                    kind: ExprKind::Bool(false),
                };
                stack.push(std::mem::replace(child, leaf));
            }
        }
    }
}
