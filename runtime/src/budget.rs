//! The evaluation budget: how much work one decision may do.
//!
//! Evaluation is total, but a legal policy over a large estate can still ask for a lot of work
//! (a loop over a closure, for each element another closure; a string function on a long
//! string inside a loop over a long set). Each decision therefore gets a number of *steps*; the
//! work that grows with the data is charged in steps as the decision goes, and running out is
//! an evaluation error of the rule being evaluated, which fails closed like any other
//! (a `deny` or `require approval` rule with an error fires, an `allow` rule does not), and of
//! every later rule that needs more steps.
//!
//! What costs what (docs/language.md §7 says the same; both engines charge exactly this, at the
//! same points of the evaluation, so they agree on when a decision runs out):
//!
//! | work | steps |
//! |---|---|
//! | a function call (after its arguments) | 1 |
//! | each element `any`, `all` or a filter visits | 1 |
//! | `x.r`, `x.~r`, `closure(x, r)` | 1 + the size of the result |
//! | `count(closure(x, r))` | 1 where the relation's shape gives the size (chains, trees), else 1 + the size |
//! | `path(x, y, r)` | 1 + the size of `closure(x, r)` |
//! | `lower`, `len`, `starts_with`, `ends_with`, `contains` on strings, `matches` | 1 + each string's length / 64 |
//! | `==`, `!=` on strings or sets, `in`, `contains` on sets, `intersects`, `is_subset` | 1 + each operand's size / 64 (a string's length in bytes, a set's number of elements, 0 for other values); for `in` the element only |
//!
//! Everything else (arithmetic, attributes, windows, a constant's value) is free: its work is
//! bounded by the size of the program for each step charged. Memoized values are charged what
//! computing them costs, so memoization (in the JIT, per snapshot and per decision) changes the
//! time a decision takes, never whether it runs out. Conditions are evaluated for every rule of
//! the action first, in policy order, then the messages and approvers of the rules that fired.
//!
//! This module knows only steps and the error they give; the engines do the charging.

use crate::interp::EvalError;

/// The steps one decision may take unless the engine is given another [`Budget`]: about a
/// tenth of a second of the interpreter's work in a release build, and ten thousand times
/// what the bundled examples need (at most 84 steps per decision of `examples/requests.jsonl`).
pub const DEFAULT_STEPS: u64 = 1_000_000;

/// How much work one decision may do, in steps (see the module documentation).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct Budget {
    pub steps: u64,
}

impl Default for Budget {
    fn default() -> Budget {
        Budget {
            steps: DEFAULT_STEPS,
        }
    }
}

impl Budget {
    /// The steps as the signed counter the engines count down (a budget beyond `i64::MAX` is
    /// as good as unlimited).
    pub(crate) fn start(self) -> i64 {
        i64::try_from(self.steps).unwrap_or(i64::MAX)
    }

    /// The error of a decision that ran out of steps.
    pub(crate) fn exhausted(self) -> EvalError {
        EvalError::new(exhausted_message(self.steps))
    }
}

/// The message of [`Budget::exhausted`].
pub(crate) fn exhausted_message(steps: u64) -> String {
    format!(
        "evaluation budget exhausted: the decision needs more than {steps} steps (loops, calls, \
         graph walks and string and set work)"
    )
}

/// The steps of a relation whose result has `n` elements: 1 + `n`.
pub(crate) fn result_steps(n: usize) -> i64 {
    i64::try_from(n).map_or(i64::MAX, |n| n.saturating_add(1))
}

/// The steps a value of `n` bytes or elements adds to an operation.
pub(crate) fn size_steps(n: usize) -> i64 {
    i64::try_from(n / 64).unwrap_or(i64::MAX)
}

/// The size a value adds to an operation's steps: a string's length in bytes, a set's number
/// of elements, 0 for any other value.
pub(crate) fn value_size(v: &crate::Value) -> usize {
    match v {
        crate::Value::Str(s) => s.len(),
        crate::Value::Set(items) => items.len(),
        _ => 0,
    }
}
