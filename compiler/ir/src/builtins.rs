//! The builtin functions of the language: one table shared by the checker (names, arity,
//! documentation), the IR verifier, the interpreter and the JIT.
//!
//! Builtins over sets and strings are [`crate::ExprKind::Builtin`] nodes. The builtins that
//! take a relation or a window (`closure`, `path`, `remaining`, `fits`, `next_open`) and the
//! local-time ones (`hour`, `weekday`) have their own IR nodes, because their arguments are not
//! values; they are listed here too so that one table documents the whole library.

use serde::{Deserialize, Serialize};

/// A builtin function.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum Builtin {
    /// `count(s: Set<T>) -> Int`
    Count,
    /// `s.contains(x: T) -> Bool` on a set.
    SetContains,
    /// `s.intersects(t: Set<T>) -> Bool`
    Intersects,
    /// `s.is_subset(t: Set<T>) -> Bool`
    IsSubset,
    /// `starts_with(s: String, p: String) -> Bool`
    StartsWith,
    /// `ends_with(s: String, p: String) -> Bool`
    EndsWith,
    /// `contains(s: String, p: String) -> Bool`
    StrContains,
    /// `lower(s: String) -> String`
    Lower,
    /// `len(s: String) -> Int` (in characters)
    Len,
    /// `closure(x, r)` / `closure(x, ~r)`
    Closure,
    /// `path(x, y, r)`
    Path,
    /// `remaining(w, t) -> Duration`
    Remaining,
    /// `fits(w, t, d) -> Bool`
    Fits,
    /// `next_open(w, t) -> Timestamp`
    NextOpen,
    /// `hour(t, "tz") -> Int`
    Hour,
    /// `weekday(t, "tz") -> Int`
    Weekday,
}

/// What the arguments of a builtin are, which decides how the checker reads and lowers a call.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum BuiltinKind {
    /// Every argument is a value: an [`crate::ExprKind::Builtin`] node. Callable as a method.
    Value,
    /// One argument is a relation (`r` or `~r`): `closure`, `path`.
    Relation,
    /// The first argument is a window: `remaining`, `fits`, `next_open`.
    Window,
    /// The last argument is a string literal naming a time zone: `hour`, `weekday`.
    LocalTime,
}

/// How a builtin is written and what it does, for the checker, hover and docs.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct BuiltinInfo {
    pub builtin: Builtin,
    /// The name the user writes.
    pub name: &'static str,
    /// `true` when written as a method on its first argument (`s.contains(x)`).
    pub method: bool,
    /// The number of arguments, the receiver of a method included.
    pub arity: usize,
    pub kind: BuiltinKind,
    /// The signature as shown to users.
    pub signature: &'static str,
    pub doc: &'static str,
}

/// Every builtin, in the order the documentation lists them.
pub const BUILTINS: &[BuiltinInfo] = &[
    BuiltinInfo {
        builtin: Builtin::Count,
        name: "count",
        method: false,
        arity: 1,
        kind: BuiltinKind::Value,
        signature: "count(s: Set<T>) -> Int",
        doc: "The number of elements of a set.",
    },
    BuiltinInfo {
        builtin: Builtin::SetContains,
        name: "contains",
        method: true,
        arity: 2,
        kind: BuiltinKind::Value,
        signature: "s.contains(x: T) -> Bool",
        doc: "Whether the set `s` has the element `x` (the same as `x in s`).",
    },
    BuiltinInfo {
        builtin: Builtin::Intersects,
        name: "intersects",
        method: true,
        arity: 2,
        kind: BuiltinKind::Value,
        signature: "s.intersects(t: Set<T>) -> Bool",
        doc: "Whether the sets `s` and `t` share at least one element.",
    },
    BuiltinInfo {
        builtin: Builtin::IsSubset,
        name: "is_subset",
        method: true,
        arity: 2,
        kind: BuiltinKind::Value,
        signature: "s.is_subset(t: Set<T>) -> Bool",
        doc: "Whether every element of `s` is in `t` (true for an empty `s`).",
    },
    BuiltinInfo {
        builtin: Builtin::StartsWith,
        name: "starts_with",
        method: false,
        arity: 2,
        kind: BuiltinKind::Value,
        signature: "starts_with(s: String, prefix: String) -> Bool",
        doc: "Whether `s` begins with `prefix`.",
    },
    BuiltinInfo {
        builtin: Builtin::EndsWith,
        name: "ends_with",
        method: false,
        arity: 2,
        kind: BuiltinKind::Value,
        signature: "ends_with(s: String, suffix: String) -> Bool",
        doc: "Whether `s` ends with `suffix`.",
    },
    BuiltinInfo {
        builtin: Builtin::StrContains,
        name: "contains",
        method: false,
        arity: 2,
        kind: BuiltinKind::Value,
        signature: "contains(s: String, part: String) -> Bool",
        doc: "Whether `part` occurs in `s`.",
    },
    BuiltinInfo {
        builtin: Builtin::Lower,
        name: "lower",
        method: false,
        arity: 1,
        kind: BuiltinKind::Value,
        signature: "lower(s: String) -> String",
        doc: "`s` in lower case (Unicode).",
    },
    BuiltinInfo {
        builtin: Builtin::Len,
        name: "len",
        method: false,
        arity: 1,
        kind: BuiltinKind::Value,
        signature: "len(s: String) -> Int",
        doc: "The length of `s` in characters (Unicode scalar values).",
    },
    BuiltinInfo {
        builtin: Builtin::Closure,
        name: "closure",
        method: false,
        arity: 2,
        kind: BuiltinKind::Relation,
        signature: "closure(x: A, r: Relation<A, B>) -> Set<B>",
        doc: "Everything reachable from `x` by one or more `r` edges; `~r` follows edges backwards. \
              `x` itself is included only when it lies on a cycle.",
    },
    BuiltinInfo {
        builtin: Builtin::Path,
        name: "path",
        method: false,
        arity: 3,
        kind: BuiltinKind::Relation,
        signature: "path(x: A, y: B, r: Relation<A, B>) -> Bool",
        doc: "Whether `y` is in `closure(x, r)`.",
    },
    BuiltinInfo {
        builtin: Builtin::Remaining,
        name: "remaining",
        method: false,
        arity: 2,
        kind: BuiltinKind::Window,
        signature: "remaining(w: Window, t: Timestamp) -> Duration",
        doc: "Time from `t` until the (merged) interval of `w` containing `t` closes; `0s` outside `w`.",
    },
    BuiltinInfo {
        builtin: Builtin::Fits,
        name: "fits",
        method: false,
        arity: 3,
        kind: BuiltinKind::Window,
        signature: "fits(w: Window, t: Timestamp, d: Duration) -> Bool",
        doc: "`t in w and remaining(w, t) >= d`.",
    },
    BuiltinInfo {
        builtin: Builtin::NextOpen,
        name: "next_open",
        method: false,
        arity: 2,
        kind: BuiltinKind::Window,
        signature: "next_open(w: Window, t: Timestamp) -> Timestamp",
        doc: "`t` when `t in w`, else the start of the next interval of `w` (at most 366 days ahead; \
              an evaluation error if it never opens).",
    },
    BuiltinInfo {
        builtin: Builtin::Hour,
        name: "hour",
        method: false,
        arity: 2,
        kind: BuiltinKind::LocalTime,
        signature: "hour(t: Timestamp, tz: String) -> Int",
        doc: "The local hour (0 to 23) of `t` in the time zone `tz` (a string literal naming an IANA zone).",
    },
    BuiltinInfo {
        builtin: Builtin::Weekday,
        name: "weekday",
        method: false,
        arity: 2,
        kind: BuiltinKind::LocalTime,
        signature: "weekday(t: Timestamp, tz: String) -> Int",
        doc: "The local day of the week of `t` in the time zone `tz`: 1 (Monday) to 7 (Sunday).",
    },
];

impl Builtin {
    /// This builtin's entry in [`BUILTINS`].
    pub fn info(self) -> &'static BuiltinInfo {
        // Every variant has exactly one row; the table test below keeps it that way.
        BUILTINS
            .iter()
            .find(|b| b.builtin == self)
            .unwrap_or(&BUILTINS[0])
    }

    pub fn name(self) -> &'static str {
        self.info().name
    }

    /// Whether it is a plain value builtin, represented as [`crate::ExprKind::Builtin`].
    pub fn is_value_builtin(self) -> bool {
        self.info().kind == BuiltinKind::Value
    }

    /// Number of arguments, the receiver of a method included.
    pub fn arity(self) -> usize {
        self.info().arity
    }

    /// The rows of [`BUILTINS`] written `name` (`contains` has two: on sets and on strings).
    pub fn named(name: &str) -> impl Iterator<Item = &'static BuiltinInfo> + '_ {
        BUILTINS.iter().filter(move |b| b.name == name)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_builtin_has_exactly_one_row() {
        let all = [
            Builtin::Count,
            Builtin::SetContains,
            Builtin::Intersects,
            Builtin::IsSubset,
            Builtin::StartsWith,
            Builtin::EndsWith,
            Builtin::StrContains,
            Builtin::Lower,
            Builtin::Len,
            Builtin::Closure,
            Builtin::Path,
            Builtin::Remaining,
            Builtin::Fits,
            Builtin::NextOpen,
            Builtin::Hour,
            Builtin::Weekday,
        ];
        assert_eq!(all.len(), BUILTINS.len());
        for b in all {
            assert_eq!(
                BUILTINS.iter().filter(|row| row.builtin == b).count(),
                1,
                "{b:?}"
            );
            assert!(!b.info().doc.is_empty());
            // The signature shows the arity: one parameter per argument.
            let params = b.info().signature.split("->").next().unwrap_or("");
            let written = params.matches(':').count() + usize::from(b.info().method);
            assert_eq!(written, b.arity(), "{b:?}");
        }
        // Rows sharing a name agree on arity and kind.
        for row in BUILTINS {
            for other in Builtin::named(row.name) {
                assert_eq!(
                    (other.arity, other.kind),
                    (row.arity, row.kind),
                    "{}",
                    row.name
                );
            }
        }
    }
}
