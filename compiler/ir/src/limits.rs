//! The one depth budget every recursive pass relies on, and how depth is counted.
//!
//! Policies are data an attacker may write or generate, so no pass may recurse as deep as the
//! input is: a policy of 50,000 stacked `not`s must get a diagnostic, not a stack overflow.
//! The parser and builder reject a declaration whose syntax tree nests beyond [`MAX_DEPTH`]
//! (`E0020`); the checker rejects an expression whose *effective* depth exceeds it (`E0178`);
//! and [`crate::verify`] rejects such a program, whoever built it.
//!
//! # Effective depth
//!
//! The effective depth of an expression counts the nested evaluation levels it may need, through
//! everything it refers to ([`depth`]):
//!
//! - a leaf is 1 level; any other node is 1 plus the deepest of its children;
//! - a call of a function is also 1 plus the effective depth of the function's body (the body
//!   is evaluated below the call), so a chain of 999 functions each adding a level to the
//!   previous one counts about 2,000;
//! - a node that reads a window (`t in w`, `remaining`, `fits`, `next_open`) is also 1 plus the
//!   window's depth: 1 for a window without `except`, else 1 plus the deepest window it excepts;
//! - constants do not appear in the IR: the checker inlines their values, so they count as the
//!   expressions they stand for.
//!
//! # The guarantee
//!
//! **A program that [`crate::verify`] accepts never needs more than [`MAX_DEPTH`] nested
//! evaluation levels**: every rule condition, approver expression (the `default`'s included),
//! message part and function body has an effective depth of at most `MAX_DEPTH`, and so does
//! every window's `except` chain. An engine whose frames per level are bounded may therefore
//! recurse over a verified program without a depth check of its own. The IR's own passes
//! ([`crate::verify`], [`crate::print`]) are safe on any input, verified or not.

use crate::{Expr, ExprKind, FnId, Program, WindowId};

/// How deep any expression, counted through the calls and windows it uses ([`depth`]), may
/// nest; also the limit on the nesting of a declaration's syntax tree. Real policies stay well
/// below 100; the budget leaves room for generated ones (a rule with a few hundred `or`-ed
/// alternatives) while keeping every recursive pass far from the end of a 2 MiB stack.
pub const MAX_DEPTH: usize = 1000;

/// The effective depth of `e` (module docs): `function(f)` is the effective depth of the body
/// of function `f`, `window(w)` the depth of window `w`'s `except` chain. Iterative, so any
/// tree is safe; saturates instead of overflowing.
pub fn depth(
    e: &Expr,
    function: impl Fn(FnId) -> usize,
    window: impl Fn(WindowId) -> usize,
) -> usize {
    // The deepest (level of a node + what it evaluates below itself), levels counted from 1.
    let mut deepest = 0;
    let mut stack = vec![(e, 1usize)];
    while let Some((node, level)) = stack.pop() {
        let below = match &node.kind {
            ExprKind::Call { func, .. } => function(*func),
            ExprKind::InWindow { window: w, .. }
            | ExprKind::Remaining { window: w, .. }
            | ExprKind::Fits { window: w, .. }
            | ExprKind::NextOpen { window: w, .. } => window(*w),
            _ => 0,
        };
        deepest = deepest.max(level.saturating_add(below));
        let next = level.saturating_add(1);
        stack.extend(node.children().map(|c| (c, next)));
    }
    deepest
}

/// The effective depths of a program's functions and windows, by index.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Depths {
    /// The effective depth of each function's body ([`depth`]).
    pub functions: Vec<usize>,
    /// The depth of each window's `except` chain: 1 without `except`.
    pub windows: Vec<usize>,
}

impl Depths {
    /// Compute the depths of `program`'s functions and windows. Total on any program: an
    /// index out of range counts 0, and a call or `except` cycle (which the verifier rejects)
    /// is cut where the walk meets it again.
    pub fn of(program: &Program) -> Depths {
        let windows = &program.windows;
        let except: Vec<Vec<usize>> = windows
            .iter()
            .map(|w| w.except.iter().map(|id| id.index()).collect())
            .collect();
        let mut window_depth = vec![0usize; windows.len()];
        for w in post_order(&except) {
            let deepest = except[w]
                .iter()
                .map(|&x| window_depth.get(x).copied().unwrap_or(0))
                .max()
                .unwrap_or(0);
            window_depth[w] = deepest.saturating_add(1);
        }
        let functions = &program.functions;
        let calls: Vec<Vec<usize>> = functions
            .iter()
            .map(|f| {
                let mut out = Vec::new();
                f.body.visit(|e| {
                    if let ExprKind::Call { func, .. } = &e.kind {
                        out.push(func.index());
                    }
                });
                out
            })
            .collect();
        let mut function_depth = vec![0usize; functions.len()];
        for f in post_order(&calls) {
            let d = depth(
                &functions[f].body,
                |g| function_depth.get(g.index()).copied().unwrap_or(0),
                |w| window_depth.get(w.index()).copied().unwrap_or(0),
            );
            function_depth[f] = d;
        }
        Depths {
            functions: function_depth,
            windows: window_depth,
        }
    }

    /// The effective depth of `e` in the program these depths were computed for.
    pub fn of_expr(&self, e: &Expr) -> usize {
        depth(
            e,
            |f| self.functions.get(f.index()).copied().unwrap_or(0),
            |w| self.windows.get(w.index()).copied().unwrap_or(0),
        )
    }
}

/// Every node of the graph once, each after the nodes it points to (those in range), except
/// where a cycle forces otherwise. Iterative.
fn post_order(edges: &[Vec<usize>]) -> Vec<usize> {
    let mut seen = vec![false; edges.len()];
    let mut order = Vec::with_capacity(edges.len());
    for root in 0..edges.len() {
        if seen[root] {
            continue;
        }
        seen[root] = true;
        let mut stack = vec![(root, 0usize)];
        while let Some(&mut (node, ref mut next)) = stack.last_mut() {
            match edges[node].get(*next) {
                Some(&succ) => {
                    *next += 1;
                    if succ < edges.len() && !seen[succ] {
                        seen[succ] = true;
                        stack.push((succ, 0));
                    }
                }
                None => {
                    order.push(node);
                    stack.pop();
                }
            }
        }
    }
    order
}

/// Run `f` with at least [`RED_ZONE`] bytes of stack left, continuing on a fresh segment of
/// [`STACK_SEGMENT`] bytes allocated on the heap when the current stack has less (the `stacker`
/// crate). The recursive passes whose frames are large in debug builds (the checker's
/// expression walk, the verifier) enter every level through this, so their depth is bounded by
/// memory, not by the thread's stack.
pub fn grow_stack<R>(f: impl FnOnce() -> R) -> R {
    stacker::maybe_grow(RED_ZONE, STACK_SEGMENT, f)
}

/// The stack a level of a [`grow_stack`] pass may use before the next level checks again. It
/// covers the largest single level (a checker frame of about 25 KiB in a debug build) and the
/// non-guarded work one level may do (dropping or cloning a subtree).
pub const RED_ZONE: usize = 1 << 20;

/// The size of each stack segment [`grow_stack`] allocates.
pub const STACK_SEGMENT: usize = 8 << 20;

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{BinOp, Function, LocalId, Type, Window};

    fn leaf() -> Expr {
        Expr {
            ty: Type::Int,
            kind: ExprKind::Local(LocalId(0)),
        }
    }

    fn plus_one(e: Expr) -> Expr {
        Expr {
            ty: Type::Int,
            kind: ExprKind::Binary {
                op: BinOp::Add,
                lhs: Box::new(e),
                rhs: Box::new(Expr {
                    ty: Type::Int,
                    kind: ExprKind::Int(1),
                }),
            },
        }
    }

    fn call(f: u32, arg: Expr) -> Expr {
        Expr {
            ty: Type::Int,
            kind: ExprKind::Call {
                func: FnId(f),
                args: vec![arg],
            },
        }
    }

    #[test]
    fn depth_counts_levels_calls_and_windows() {
        assert_eq!(depth(&leaf(), |_| 0, |_| 0), 1);
        assert_eq!(depth(&plus_one(plus_one(leaf())), |_| 0, |_| 0), 3);
        // A call is one level, and its callee's body is evaluated below it.
        assert_eq!(depth(&call(0, leaf()), |_| 5, |_| 0), 6);
        assert_eq!(depth(&call(0, plus_one(plus_one(leaf()))), |_| 1, |_| 0), 4);
        let in_window = Expr {
            ty: Type::Bool,
            kind: ExprKind::InWindow {
                window: WindowId(0),
                at: Box::new(Expr {
                    ty: Type::Timestamp,
                    kind: ExprKind::Now,
                }),
            },
        };
        assert_eq!(depth(&in_window, |_| 0, |_| 7), 8);
    }

    /// A chain of functions, each calling the previous one and adding a level, counts two
    /// levels per function: the call and the addition.
    #[test]
    fn chains_of_functions_and_windows_add_up() {
        let mut program = Program::default();
        let n = 999;
        for i in 0..n {
            let body = if i == 0 {
                leaf()
            } else {
                plus_one(call(i - 1, leaf()))
            };
            program.functions.push(Function {
                name: format!("f{i}"),
                params: vec![Type::Int],
                ret: Type::Int,
                n_locals: 1,
                body,
            });
        }
        for i in 0..50u32 {
            program.windows.push(Window {
                name: format!("w{i}"),
                timezone: "UTC".into(),
                lines: Vec::new(),
                except: if i == 0 {
                    vec![]
                } else {
                    vec![WindowId(i - 1)]
                },
            });
        }
        // Declared in reverse order, so the walk must order them itself.
        program.functions.reverse();
        for f in &mut program.functions {
            f.body.visit_mut(|e| {
                if let ExprKind::Call { func, .. } = &mut e.kind {
                    func.0 = n - 1 - func.0;
                }
            });
        }
        let depths = Depths::of(&program);
        assert_eq!(depths.functions[(n - 1) as usize], 1);
        assert_eq!(depths.functions[0], 1 + 2 * (n as usize - 1));
        assert_eq!(depths.windows[0], 1);
        assert_eq!(depths.windows[49], 50);
    }

    #[test]
    fn cycles_and_bad_indices_do_not_hang() {
        let mut program = Program::default();
        for (i, target) in [(0u32, 1u32), (1, 0), (2, 99)] {
            program.functions.push(Function {
                name: format!("f{i}"),
                params: vec![Type::Int],
                ret: Type::Int,
                n_locals: 1,
                body: call(target, leaf()),
            });
        }
        let depths = Depths::of(&program);
        assert_eq!(depths.functions.len(), 3);
        assert_eq!(depths.functions[2], 2);
    }
}
