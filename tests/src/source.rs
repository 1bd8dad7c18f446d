//! A generator of random Ward *source text*, and the properties every text must have.
//!
//! [`policy`] writes a policy file over a fixed schema: constants, functions and rules whose
//! expressions are drawn type-directed from every construct of the expression grammar (every
//! operator, literal form, builtin, quantifier, filter, `if`, `?.`, `??`, `because` holes and
//! literal braces), with random layout (line breaks, comments between tokens, trailing commas,
//! optional `;`), so most files check and the rest fail in varied ways. [`mutate`] then breaks
//! a text at the token level (deletions, duplications, swaps, insertions of odd tokens, deep
//! nesting, truncation) to reach the error paths. Choices come from [`Rng`], from a seed or from
//! a fuzzer's bytes, so a case is always reproducible.
//!
//! Two checks use it: [`check_pipeline`] (parse, check, lower, verify, print, format and its
//! round trip, none of which may panic, with the invariants between them) and
//! [`check_fast_path`] (the hand-written fast path of the parser and pest build the same tree
//! for every declaration the fast path takes). The bounded runs are `tests/tests/source.rs`;
//! `fuzz/` runs them open-ended. This module knows the language's surface, not its internals.

use std::fmt::Write as _;

pub use crate::differential::generate::Rng;

/// The declarations every generated file starts with.
const SCHEMA: &str = r#"enum Tier { low, mid, high }
entity User { name: String, title: String, manager: User?, groups: Set<String>, level: Int }
entity Host { name: String, tier: Tier, tags: Set<String>, owner: User, backup: Host? }
relation depends_on: Host -> Host
relation reports_to: User -> User
context { agent: User, ticket: String? }
action restart { host: Host, reboot: Bool, duration: Duration, n: Int, note: String }
action disable { target: User, reason: String }
window hours { timezone "Europe/Berlin" daily 09:00 - 17:00 on Mon-Fri }
window freeze { between 2026-12-20T00:00:00Z and 2027-01-03T00:00:00Z except hours }
"#;

/// The types expressions are drawn at.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum T {
    Bool,
    Int,
    Str,
    Dur,
    Ts,
    Strs,
    Ints,
    User,
    Host,
    Tier,
}

impl T {
    fn written(self) -> &'static str {
        match self {
            T::Bool => "Bool",
            T::Int => "Int",
            T::Str => "String",
            T::Dur => "Duration",
            T::Ts => "Timestamp",
            T::Strs => "Set<String>",
            T::Ints => "Set<Int>",
            T::User => "User",
            T::Host => "Host",
            T::Tier => "Tier",
        }
    }
}

const ALL_TYPES: [T; 10] = [
    T::Bool,
    T::Int,
    T::Str,
    T::Dur,
    T::Ts,
    T::Strs,
    T::Ints,
    T::User,
    T::Host,
    T::Tier,
];

/// What names an expression may use where it is generated.
#[derive(Clone, Debug, Default)]
struct Scope {
    /// Fields, parameters and quantifier variables, with their types.
    values: Vec<(String, T)>,
    /// Whether the context fields are in scope (rules).
    context: bool,
}

struct Gen<'r> {
    rng: &'r mut Rng,
    /// Constants declared so far, with their types.
    consts: Vec<(String, T)>,
    /// Functions declared so far: name, parameter types, return type.
    fns: Vec<(String, Vec<T>, T)>,
    /// Fresh names for quantifier variables.
    fresh: u32,
}

/// A policy file: the schema, then constants, functions, rules and maybe a `default`.
pub fn policy(rng: &mut Rng) -> String {
    let mut g = Gen {
        rng,
        consts: Vec::new(),
        fns: Vec::new(),
        fresh: 0,
    };
    let mut out = String::from(SCHEMA);
    for i in 0..g.rng.below(4) {
        out += &g.constant(i);
    }
    for i in 0..g.rng.below(3) {
        out += &g.function(i);
    }
    for i in 0..1 + g.rng.below(5) {
        out += &g.rule(i);
    }
    if g.rng.chance(20) {
        out += *g.rng.pick(&[
            "default allow\n",
            "default deny\n",
            "default require approval from \"secops\"\n",
            "default require approval from agent\n",
        ]);
    }
    out
}

impl Gen<'_> {
    /// White space between tokens: usually a space, sometimes a line break or a comment.
    fn gap(&mut self) -> &'static str {
        match self.rng.below(40) {
            0 => "\n    ",
            1 => " // note\n    ",
            2 => "  ",
            _ => " ",
        }
    }

    fn constant(&mut self, i: u64) -> String {
        let ty = *self
            .rng
            .pick(&[T::Int, T::Str, T::Dur, T::Ts, T::Strs, T::Ints, T::Bool]);
        let scope = Scope::default();
        let value = self.expr(ty, 3, &scope);
        let name = format!("c{i}");
        let annotation = if self.rng.chance(30) {
            format!(": {}", ty.written())
        } else {
            String::new()
        };
        let semi = if self.rng.chance(30) { ";" } else { "" };
        self.consts.push((name.clone(), ty));
        let doc = if self.rng.chance(30) {
            "/// A constant.\n"
        } else {
            ""
        };
        format!("{doc}const {name}{annotation} = {value}{semi}\n")
    }

    fn function(&mut self, i: u64) -> String {
        let n_params = self.rng.below(3) as usize;
        let params: Vec<T> = (0..n_params).map(|_| *self.rng.pick(&ALL_TYPES)).collect();
        let ret = *self.rng.pick(&[T::Bool, T::Int, T::Str, T::Dur, T::Strs]);
        let scope = Scope {
            values: params
                .iter()
                .enumerate()
                .map(|(k, t)| (format!("p{k}"), *t))
                .collect(),
            context: false,
        };
        let body = self.expr(ret, 3, &scope);
        let written: Vec<String> = scope
            .values
            .iter()
            .map(|(n, t)| format!("{n}: {}", t.written()))
            .collect();
        let name = format!("f{i}");
        self.fns.push((name.clone(), params, ret));
        format!(
            "fn {name}({}) -> {} = {body}\n",
            written.join(", "),
            ret.written()
        )
    }

    fn rule(&mut self, i: u64) -> String {
        let (on, fields): (&str, &[(&str, T)]) = match self.rng.below(4) {
            0 => ("disable", &[("target", T::User), ("reason", T::Str)]),
            1 => ("*", &[]),
            _ => (
                "restart",
                &[
                    ("host", T::Host),
                    ("reboot", T::Bool),
                    ("duration", T::Dur),
                    ("n", T::Int),
                    ("note", T::Str),
                ],
            ),
        };
        let scope = Scope {
            values: fields.iter().map(|(n, t)| ((*n).to_owned(), *t)).collect(),
            context: true,
        };
        let mut out = String::new();
        if self.rng.chance(20) {
            out += "/// A rule.\n";
        }
        let one_line = self.rng.chance(30);
        let sep = if one_line { " " } else { "\n  " };
        let _ = write!(out, "rule r{i} {{{sep}on {on}");
        for _ in 0..self.rng.below(3) {
            let cond = self.expr(T::Bool, 4, &scope);
            let _ = write!(out, "{sep}when {cond}");
        }
        let effect = match self.rng.below(4) {
            0 => "allow".to_owned(),
            1 => "deny".to_owned(),
            _ => {
                let ty = *self.rng.pick(&[T::Str, T::Strs, T::User]);
                format!("require approval from {}", self.expr(ty, 2, &scope))
            }
        };
        let _ = write!(out, "{sep}{effect}");
        if self.rng.chance(60) {
            let message = self.message(&scope);
            let _ = write!(out, "{sep}because {message}");
        }
        let close = if one_line { " }" } else { "\n}" };
        out += close;
        out.push('\n');
        out
    }

    /// A `because` string: text, holes and literal braces.
    fn message(&mut self, scope: &Scope) -> String {
        let mut out = String::from("\"");
        for _ in 0..1 + self.rng.below(4) {
            match self.rng.below(5) {
                0 => out += "{{literal}} ",
                1 => out += "quote \\\" tab\\t ",
                2 | 3 => {
                    let ty = *self.rng.pick(&ALL_TYPES);
                    let hole = self.expr(ty, 2, scope);
                    // A hole holds an expression written inside the string: its quotes and
                    // backslashes escaped, and no line comments (the hole would run on).
                    let hole = hole
                        .replace(" // note\n    ", " ")
                        .replace("\n    ", " ")
                        .replace('\\', "\\\\")
                        .replace('"', "\\\"")
                        .replace("}}", "} }");
                    let _ = write!(out, "{{ {hole} }} ");
                }
                _ => out += "text ",
            }
        }
        out.push('"');
        out
    }

    fn local(&mut self) -> String {
        self.fresh += 1;
        format!("v{}", self.fresh)
    }

    /// Names in scope (fields, parameters, variables, constants) of type `ty`.
    fn names_of(&self, ty: T, scope: &Scope) -> Vec<String> {
        let mut names: Vec<String> = scope
            .values
            .iter()
            .filter(|(_, t)| *t == ty)
            .map(|(n, _)| n.clone())
            .collect();
        names.extend(
            self.consts
                .iter()
                .filter(|(_, t)| *t == ty)
                .map(|(n, _)| n.clone()),
        );
        if scope.context && ty == T::User {
            names.push("agent".to_owned());
        }
        names
    }

    /// An expression of type `ty`, at most `depth` levels of productions deep.
    fn expr(&mut self, ty: T, depth: u32, scope: &Scope) -> String {
        if depth == 0 || self.rng.chance(25) {
            return self.atom(ty, scope);
        }
        let d = depth - 1;
        if self.rng.chance(8) {
            let inner = self.expr(ty, d, scope);
            return format!("({inner})");
        }
        if self.rng.chance(6) {
            let (c, a, b) = (
                self.expr(T::Bool, d, scope),
                self.expr(ty, d, scope),
                self.expr(ty, d, scope),
            );
            return format!("(if {c} then {a} else {b})");
        }
        if let Some(call) = self.call(ty, d, scope) {
            return call;
        }
        let g = self.gap();
        match ty {
            T::Bool => match self.rng.below(22) {
                0 => format!("not {}", self.operand(T::Bool, d, scope)),
                1 => format!(
                    "{} and{g}{}",
                    self.operand(T::Bool, d, scope),
                    self.operand(T::Bool, d, scope)
                ),
                2 => format!(
                    "{} or{g}{}",
                    self.operand(T::Bool, d, scope),
                    self.operand(T::Bool, d, scope)
                ),
                3 => {
                    let op = *self.rng.pick(&["==", "!=", "<", "<=", ">", ">="]);
                    let t = *self.rng.pick(&[T::Int, T::Dur, T::Ts]);
                    format!(
                        "{} {op} {}",
                        self.operand(t, d, scope),
                        self.operand(t, d, scope)
                    )
                }
                4 => {
                    let op = *self.rng.pick(&["==", "!="]);
                    let t = *self.rng.pick(&[T::Str, T::Tier, T::User, T::Strs, T::Bool]);
                    format!(
                        "{} {op} {}",
                        self.operand(t, d, scope),
                        self.operand(t, d, scope)
                    )
                }
                5 => format!(
                    "{} in {}",
                    self.operand(T::Str, d, scope),
                    self.operand(T::Strs, d, scope)
                ),
                6 => format!(
                    "{} in {}",
                    self.operand(T::Int, d, scope),
                    self.operand(T::Ints, d, scope)
                ),
                7 => format!(
                    "{}.contains({})",
                    self.operand(T::Strs, d, scope),
                    self.operand(T::Str, d, scope)
                ),
                8 => {
                    let f = *self.rng.pick(&["starts_with", "ends_with", "contains"]);
                    format!(
                        "{f}({}, {})",
                        self.operand(T::Str, d, scope),
                        self.operand(T::Str, d, scope)
                    )
                }
                9 => {
                    let re =
                        *self
                            .rng
                            .pick(&["\"^svc-\"", "\"(?i)chief\"", "\"a\\\\d+\"", "\"^$\""]);
                    format!("{} matches {re}", self.operand(T::Str, d, scope))
                }
                10 | 11 => {
                    let (set_ty, elem) = *self.rng.pick(&[(T::Strs, T::Str), (T::Ints, T::Int)]);
                    let set = self.operand(set_ty, d, scope);
                    let v = self.local();
                    let mut inner = scope.clone();
                    inner.values.push((v.clone(), elem));
                    let body = self.expr(T::Bool, d, &inner);
                    let q = *self.rng.pick(&["any", "all"]);
                    format!("{q} {v} in {set}: {body}")
                }
                12 => format!("{} has backup", self.operand(T::Host, d, scope)),
                13 => format!("{} has manager", self.operand(T::User, d, scope)),
                14 => format!("{} in {}", self.operand(T::Ts, d, scope), self.window()),
                15 => format!(
                    "fits({}, {}, {})",
                    self.window(),
                    self.operand(T::Ts, d, scope),
                    self.operand(T::Dur, d, scope)
                ),
                16 => format!(
                    "path({}, {}, {})",
                    self.operand(T::Host, d, scope),
                    self.operand(T::Host, d, scope),
                    self.rng.pick(&["depends_on", "~depends_on"])
                ),
                17 => format!(
                    "{}.intersects({})",
                    self.operand(T::Strs, d, scope),
                    self.operand(T::Strs, d, scope)
                ),
                18 => format!(
                    "{}.is_subset({})",
                    self.operand(T::Strs, d, scope),
                    self.operand(T::Strs, d, scope)
                ),
                19 => format!(
                    "{} == {}",
                    self.operand(T::Tier, d, scope),
                    self.rng.pick(&["Tier::low", "Tier::high"])
                ),
                20 => format!(
                    "count({}) > {}",
                    self.operand(T::Strs, d, scope),
                    self.operand(T::Int, d, scope)
                ),
                _ => format!(
                    "any u in closure({}, {}): u.tier == Tier::high",
                    self.operand(T::Host, d, scope),
                    self.rng.pick(&["depends_on", "~depends_on"])
                ),
            },
            T::Int => match self.rng.below(9) {
                0 => format!(
                    "{} + {}",
                    self.operand(T::Int, d, scope),
                    self.operand(T::Int, d, scope)
                ),
                1 => format!(
                    "{} - {}",
                    self.operand(T::Int, d, scope),
                    self.operand(T::Int, d, scope)
                ),
                2 => format!(
                    "{} * {}",
                    self.operand(T::Int, d, scope),
                    self.operand(T::Int, d, scope)
                ),
                3 => format!("-{}", self.operand(T::Int, d, scope)),
                4 => format!("count({})", self.operand(T::Strs, d, scope)),
                5 => format!("len({})", self.operand(T::Str, d, scope)),
                6 => format!("{}.level", self.operand(T::User, d, scope)),
                7 => format!(
                    "{}({}, {})",
                    self.rng.pick(&["hour", "weekday"]),
                    self.operand(T::Ts, d, scope),
                    self.rng
                        .pick(&["\"UTC\"", "\"Europe/Berlin\"", "\"America/New_York\""])
                ),
                _ => format!(
                    "{}.manager?.level ?? {}",
                    self.operand(T::User, d, scope),
                    self.operand(T::Int, d, scope)
                ),
            },
            T::Str => match self.rng.below(6) {
                0 => format!("lower({})", self.operand(T::Str, d, scope)),
                1 => format!("{}.lower()", self.operand(T::Str, d, scope)),
                2 => format!("{}.name", self.operand(T::User, d, scope)),
                3 => format!("{}.owner.title", self.operand(T::Host, d, scope)),
                4 if scope.context => format!("ticket ?? {}", self.operand(T::Str, d, scope)),
                _ => format!(
                    "{}.manager?.name ?? {}",
                    self.operand(T::User, d, scope),
                    self.operand(T::Str, d, scope)
                ),
            },
            T::Dur => match self.rng.below(6) {
                0 => format!(
                    "{} + {}",
                    self.operand(T::Dur, d, scope),
                    self.operand(T::Dur, d, scope)
                ),
                1 => format!(
                    "{} - {}",
                    self.operand(T::Dur, d, scope),
                    self.operand(T::Dur, d, scope)
                ),
                2 => format!(
                    "{} * {}",
                    self.operand(T::Dur, d, scope),
                    self.operand(T::Int, d, scope)
                ),
                3 => format!(
                    "remaining({}, {})",
                    self.window(),
                    self.operand(T::Ts, d, scope)
                ),
                4 => format!(
                    "{} - {}",
                    self.operand(T::Ts, d, scope),
                    self.operand(T::Ts, d, scope)
                ),
                _ => format!("-{}", self.operand(T::Dur, d, scope)),
            },
            T::Ts => match self.rng.below(3) {
                0 => format!(
                    "{} + {}",
                    self.operand(T::Ts, d, scope),
                    self.operand(T::Dur, d, scope)
                ),
                1 => format!(
                    "{} - {}",
                    self.operand(T::Ts, d, scope),
                    self.operand(T::Dur, d, scope)
                ),
                _ => format!(
                    "next_open({}, {})",
                    self.window(),
                    self.operand(T::Ts, d, scope)
                ),
            },
            T::Strs => match self.rng.below(4) {
                0 => {
                    let n = 1 + self.rng.below(3);
                    let items: Vec<String> =
                        (0..n).map(|_| self.operand(T::Str, d, scope)).collect();
                    let trailing = if self.rng.chance(20) { "," } else { "" };
                    format!("[{}{trailing}]", items.join(", "))
                }
                1 => {
                    let set = self.operand(T::Strs, d, scope);
                    let v = self.local();
                    let mut inner = scope.clone();
                    inner.values.push((v.clone(), T::Str));
                    let cond = self.expr(T::Bool, d, &inner);
                    format!("{{ {v} in {set} | {cond} }}")
                }
                2 => format!("{}.groups", self.operand(T::User, d, scope)),
                _ => format!("{}.tags", self.operand(T::Host, d, scope)),
            },
            T::Ints => {
                let n = 1 + self.rng.below(3);
                let items: Vec<String> = (0..n).map(|_| self.operand(T::Int, d, scope)).collect();
                format!("[{}]", items.join(", "))
            }
            T::User => match self.rng.below(4) {
                0 => format!("{}.owner", self.operand(T::Host, d, scope)),
                1 => format!(
                    "{}.manager ?? {}",
                    self.operand(T::User, d, scope),
                    self.operand(T::User, d, scope)
                ),
                _ => self.atom(T::User, scope),
            },
            T::Host => match self.rng.below(3) {
                0 => format!(
                    "{}.backup ?? {}",
                    self.operand(T::Host, d, scope),
                    self.operand(T::Host, d, scope)
                ),
                _ => self.atom(T::Host, scope),
            },
            T::Tier => match self.rng.below(2) {
                0 => format!("{}.tier", self.operand(T::Host, d, scope)),
                _ => self.atom(T::Tier, scope),
            },
        }
    }

    /// An operand of an operator: compound ones parenthesized, mostly, so that precedence
    /// keeps the types the generator meant (the rest exercise precedence as written).
    fn operand(&mut self, ty: T, depth: u32, scope: &Scope) -> String {
        let e = self.expr(ty, depth, scope);
        if e.contains(' ') && !e.starts_with('(') && self.rng.chance(90) {
            format!("({e})")
        } else {
            e
        }
    }

    fn window(&mut self) -> &'static str {
        ["hours", "freeze"][self.rng.below(2) as usize]
    }

    /// A call of a declared function returning `ty`, sometimes.
    fn call(&mut self, ty: T, depth: u32, scope: &Scope) -> Option<String> {
        let candidates: Vec<(String, Vec<T>)> = self
            .fns
            .iter()
            .filter(|(_, _, ret)| *ret == ty)
            .map(|(n, p, _)| (n.clone(), p.clone()))
            .collect();
        if candidates.is_empty() || !self.rng.chance(15) {
            return None;
        }
        let (name, params) = self.rng.pick(&candidates).clone();
        let args: Vec<String> = params.iter().map(|t| self.expr(*t, depth, scope)).collect();
        Some(format!("{name}({})", args.join(", ")))
    }

    /// A leaf of type `ty`: a literal, or a name in scope.
    fn atom(&mut self, ty: T, scope: &Scope) -> String {
        let names = self.names_of(ty, scope);
        if !names.is_empty() && self.rng.chance(50) {
            return self.rng.pick(&names).clone();
        }
        let pick = |rng: &mut Rng, items: &[&str]| (*rng.pick(items)).to_owned();
        match ty {
            T::Bool => pick(self.rng, &["true", "false"]),
            T::Int => pick(
                self.rng,
                &[
                    "0",
                    "1",
                    "42",
                    "86400",
                    "9223372036854775807",
                    "-9223372036854775808",
                    "-5",
                ],
            ),
            T::Str => pick(
                self.rng,
                &[
                    "\"\"",
                    "\"svc-backup\"",
                    "\"VP Finance\"",
                    "\"a\\\"b\"",
                    "\"caf\\u{e9}\"",
                    "\"naïve ☃\"",
                    "\"tab\\there\"",
                ],
            ),
            T::Dur => pick(
                self.rng,
                &["0s", "90s", "30m", "4h", "2d", "1h30m", "1d2h3m4s"],
            ),
            T::Ts => pick(
                self.rng,
                &[
                    "now",
                    "2026-11-29T10:00:00Z",
                    "2026-11-29T10:00:00+01:00",
                    "2026-11-29t10:00:00z",
                    "2026-11-29T10:00:00-05:30",
                    "9999-12-31T00:00:00Z",
                    "0001-01-01T00:00:00Z",
                ],
            ),
            T::Strs => pick(self.rng, &["[\"a\", \"b\"]", "[\"prod\"]"]),
            T::Ints => pick(self.rng, &["[1, 2, 3]", "[0]"]),
            T::User => pick(self.rng, &["User::\"alice\"", "User::\"bob\""]),
            T::Host => pick(self.rng, &["Host::\"db-1\"", "Host::\"web-1\""]),
            T::Tier => pick(self.rng, &["Tier::low", "Tier::mid", "Tier::high"]),
        }
    }
}

/// Tokens [`mutate`] inserts: keywords, punctuation, mistakes the parser names, literals the
/// builder rejects, odd characters, and the starts of deep nesting.
const ODD: &[&str] = &[
    "rule",
    "fn",
    "const",
    "when",
    "deny",
    "allow",
    "require",
    "approval",
    "from",
    "because",
    "not",
    "and",
    "or",
    "in",
    "has",
    "matches",
    "if",
    "then",
    "else",
    "any",
    "all",
    "{",
    "}",
    "(",
    ")",
    "[",
    "]",
    ",",
    ":",
    "::",
    ".",
    "?.",
    "??",
    "==",
    "=",
    "&&",
    "||",
    "!",
    "<",
    ">",
    "+",
    "-",
    "*",
    "|",
    "~",
    "\"",
    "\"{",
    "{{",
    "}}",
    "\"\\q\"",
    "99999999999999999999",
    "500ms",
    "1m1h",
    "2026-13-01T00:00:00Z",
    "2026-12-31T23:59:60Z",
    "0000-01-01T00:00:00Z",
    "24:00",
    "Set<",
    "x?",
    "//",
    "é",
    "\u{202e}",
    "\u{feff}",
    "\r\n",
    "\t",
    "Tier::nope",
    "User::\"",
    "true",
    "now",
    "count(",
    ".lower()",
];

/// Break `text` at the token level: a few random edits.
pub fn mutate(rng: &mut Rng, text: &str) -> String {
    let mut tokens = split_tokens(text);
    for _ in 0..1 + rng.below(4) {
        let at = rng.below(tokens.len() as u64 + 1) as usize;
        match rng.below(9) {
            0 if at < tokens.len() => {
                tokens.remove(at);
            }
            1 if at < tokens.len() => {
                let t = tokens[at].clone();
                tokens.insert(at, t);
            }
            2 if at + 1 < tokens.len() => tokens.swap(at, at + 1),
            3 => {
                // Deep nesting: past the parser's limits, or just within them.
                let (open, n) = *rng.pick(&[
                    ("(", 70usize),
                    ("(", 60),
                    ("not ", 1_100),
                    ("- ", 1_100),
                    ("[", 70),
                    ("Set<", 70),
                    ("if true then 1 else ", 70),
                ]);
                tokens.insert(at, open.repeat(n));
            }
            4 => {
                tokens.truncate(at);
            }
            _ => tokens.insert(at, format!(" {} ", rng.pick(ODD))),
        }
    }
    tokens.concat()
}

/// `text` as tokens: words, single other characters, and the white space between them (each
/// a token of its own, so that joining gives the text back).
fn split_tokens(text: &str) -> Vec<String> {
    let mut out: Vec<String> = Vec::new();
    let mut word = String::new();
    for c in text.chars() {
        if c.is_alphanumeric() || c == '_' {
            word.push(c);
            continue;
        }
        if !word.is_empty() {
            out.push(std::mem::take(&mut word));
        }
        out.push(c.to_string());
    }
    if !word.is_empty() {
        out.push(word);
    }
    out
}

/// Everything that must hold for any text, checked without panicking on the way:
///
/// - parsing, checking, lowering and formatting never panic (a panic escapes to the caller);
/// - every diagnostic in the file points inside it, at character boundaries;
/// - a program is produced exactly when no error is reported, and it verifies and prints;
/// - a text that parses without error formats, the formatted text says the same thing
///   (`format::verify`) and formats to itself; a text with syntax errors does not format.
pub fn check_pipeline(text: &str) -> Result<(), String> {
    let (_, syntax) = ward_syntax::parse(text);
    let files = vec![("fuzz.ward".to_owned(), text.to_owned())];
    let compiled = ward::compile(&files);
    for d in compiled
        .diagnostics
        .iter()
        .filter(|d| d.file == "fuzz.ward")
    {
        for label in d.diagnostic.labels.iter().filter(|l| l.file.is_none()) {
            let (start, end) = (label.span.start as usize, label.span.end as usize);
            if start > end
                || end > text.len()
                || !text.is_char_boundary(start)
                || !text.is_char_boundary(end)
            {
                return Err(format!(
                    "{} points outside the text or inside a character: {}..{} of {}",
                    d.diagnostic.code,
                    start,
                    end,
                    text.len()
                ));
            }
        }
    }
    let errors = compiled.diagnostics.iter().any(|d| d.diagnostic.is_error());
    match (&compiled.program, errors) {
        (Some(program), false) => {
            if let Err(e) = ward_ir::verify(program) {
                return Err(format!("the program does not verify: {e:?}"));
            }
            let _ = ward_ir::print(program);
        }
        (None, true) => {}
        (Some(_), true) => return Err("a program despite errors".to_owned()),
        (None, false) => return Err("no program and no error".to_owned()),
    }
    let syntax_errors = syntax.iter().any(ward_syntax::Diagnostic::is_error);
    match ward_syntax::format(text) {
        Ok(formatted) => {
            if syntax_errors {
                return Err("a text with syntax errors formatted".to_owned());
            }
            ward_syntax::format::verify(text, &formatted)
                .map_err(|why| format!("formatting changed the text's meaning: {why}"))?;
            match ward_syntax::format(&formatted) {
                Ok(again) if again == formatted => {}
                Ok(again) => {
                    return Err(format!(
                        "formatting is not idempotent:\n--- once\n{formatted}\n--- twice\n{again}"
                    ));
                }
                Err(errors) => {
                    return Err(format!("the formatted text does not format: {errors:?}"));
                }
            }
        }
        Err(_) if syntax_errors => {}
        Err(errors) => return Err(format!("a clean text did not format: {errors:?}")),
    }
    Ok(())
}

/// The fast path and pest agree on every declaration of `text` the fast path takes: the number
/// of such declarations, or what differs ([`ward_syntax::cross_check`]).
pub fn check_fast_path(text: &str) -> Result<usize, String> {
    ward_syntax::cross_check(text)
}

/// One case from a seed: a generated policy, mutated when `mutated`.
pub fn case(seed: u64, mutated: bool) -> String {
    let mut rng = Rng::new(seed);
    let text = policy(&mut rng);
    if mutated {
        mutate(&mut rng, &text)
    } else {
        text
    }
}

/// One case from a fuzzer's bytes: the first byte says whether the rest is the text itself
/// (as UTF-8, lossily), a generated policy or a mutated one.
pub fn case_from_bytes(data: &[u8]) -> String {
    let Some((&mode, rest)) = data.split_first() else {
        return String::new();
    };
    match mode % 4 {
        0 => String::from_utf8_lossy(rest).into_owned(),
        1 => policy(&mut Rng::from_bytes(rest)),
        _ => {
            let mut rng = Rng::from_bytes(rest);
            let text = policy(&mut rng);
            mutate(&mut rng, &text)
        }
    }
}
