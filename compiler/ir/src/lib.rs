//! `ward-ir`: the typed intermediate representation that the runtime executes.
//!
//! A [`Program`] is what the checker produces from a policy set that type-checks: the schema,
//! the windows, the functions, the rules and the tests, with every name resolved to an index
//! and every expression annotated with its [`Type`]. It is plain data (serde), so it can be
//! printed (`ward check --emit-ir`), stored and reloaded; [`verify`] re-checks its invariants
//! so a runtime never trusts a program blindly.
//!
//! This crate must not know about pest, salsa, miette or the runtime: it is the contract
//! between the compiler and the engines (the reference interpreter and the JIT).

mod builtins;
pub mod limits;
pub mod literal;
mod print;
mod verify;
mod walk;

pub use builtins::{BUILTINS, Builtin, BuiltinInfo, BuiltinKind};
pub use limits::{Depths, MAX_DEPTH};
pub use print::print;
pub use verify::{VerifyError, verify};

use serde::{Deserialize, Serialize};

macro_rules! id {
    ($($(#[$doc:meta])* $name:ident;)*) => {$(
        $(#[$doc])*
        #[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
        #[serde(transparent)]
        pub struct $name(pub u32);

        impl $name {
            pub fn index(self) -> usize {
                self.0 as usize
            }
        }
    )*};
}

id! {
    /// Index into [`Schema::entities`].
    EntityTypeId;
    /// Index into [`Schema::enums`].
    EnumId;
    /// Index into [`Schema::relations`].
    RelationId;
    /// Index into [`Schema::actions`].
    ActionId;
    /// Index into [`Program::windows`].
    WindowId;
    /// Index into [`Program::functions`].
    FnId;
    /// Index into [`Program::rules`].
    RuleId;
    /// Index into [`Program::regexes`].
    RegexId;
    /// A local variable slot of the enclosing rule or function (parameters first, then every
    /// quantifier or filter variable).
    LocalId;
}

/// A whole compiled policy set.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct Program {
    pub schema: Schema,
    pub windows: Vec<Window>,
    pub functions: Vec<Function>,
    pub rules: Vec<Rule>,
    /// The policy set's `default` (deny when none is written).
    pub default: Effect,
    /// Regular expressions of `matches`, checked valid by the compiler.
    pub regexes: Vec<String>,
    pub tests: Vec<Test>,
}

/// The types and actions the policy set declares.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Schema {
    pub enums: Vec<EnumType>,
    pub entities: Vec<EntityType>,
    pub relations: Vec<Relation>,
    /// The `context` fields, present in every request.
    pub context: Vec<Field>,
    pub actions: Vec<Action>,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct EnumType {
    pub name: String,
    pub variants: Vec<String>,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct EntityType {
    pub name: String,
    /// Attributes in declaration order; [`ExprKind::Attr`] indexes this list.
    pub attrs: Vec<Field>,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Field {
    pub name: String,
    pub ty: Type,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Relation {
    pub name: String,
    pub from: EntityTypeId,
    pub to: EntityTypeId,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Action {
    pub name: String,
    /// The action's fields (never optional), in declaration order.
    pub fields: Vec<Field>,
}

/// The type of a value.
#[derive(Clone, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum Type {
    Bool,
    Int,
    String,
    Duration,
    Timestamp,
    Entity(EntityTypeId),
    Enum(EnumId),
    Set(Box<Type>),
    /// A value that may be absent. Never nested, never inside a set.
    Optional(Box<Type>),
}

impl Type {
    /// The type without its optional wrapper.
    pub fn strip_optional(&self) -> &Type {
        match self {
            Type::Optional(inner) => inner,
            other => other,
        }
    }

    pub fn is_optional(&self) -> bool {
        matches!(self, Type::Optional(_))
    }

    /// Whether values are represented as a 64-bit integer (ints, durations, timestamps).
    pub fn is_scalar_int(&self) -> bool {
        matches!(self, Type::Int | Type::Duration | Type::Timestamp)
    }
}

/// A time window: the union of its lines minus the windows it excepts.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Window {
    pub name: String,
    /// IANA time zone name the local times are in (`UTC` by default), checked by the compiler.
    pub timezone: String,
    pub lines: Vec<WindowLine>,
    /// Windows subtracted from this one; the compiler rejects cycles.
    pub except: Vec<WindowId>,
}

/// Days are ISO numbers, Mon = 1 … Sun = 7; times are minutes after local midnight.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum WindowLine {
    /// From `start_day start` to the next `end_day end` after it.
    Weekly {
        start_day: u8,
        start: u16,
        end_day: u8,
        end: u16,
    },
    /// Opens at `start` on each day in `days` (bit `d - 1` set for day `d`), closing at `end`
    /// the same day, or the next day when `end <= start`.
    Daily { start: u16, end: u16, days: u8 },
    /// `[from, to)` in seconds since the Unix epoch.
    Between { from: i64, to: i64 },
}

/// A user or stdlib function. Calls never recurse (the compiler rejects cycles).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Function {
    /// As the user refers to it: `is_exec`, or `time.business_hours` for the stdlib.
    pub name: String,
    pub params: Vec<Type>,
    pub ret: Type,
    /// Slots used by the body: parameters are `LocalId(0..params.len())`.
    pub n_locals: u32,
    pub body: Expr,
}

/// A source position, 1-based, with the path as given to the compiler.
#[derive(Clone, Debug, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct Location {
    pub file: String,
    pub line: u32,
    pub column: u32,
}

impl std::fmt::Display for Location {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}:{}:{}", self.file, self.line, self.column)
    }
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Rule {
    pub name: String,
    pub location: Location,
    /// The actions it applies to, sorted; `on *` lists every action.
    pub actions: Vec<ActionId>,
    /// The action fields in scope, by name: [`ExprKind::Arg`] indexes this list. The runtime
    /// maps each to the field of the same name of the requested action.
    pub args: Vec<Field>,
    /// The `when` conditions, split at top-level `and`s; all must hold. Empty means `true`.
    pub conditions: Vec<Condition>,
    pub effect: Effect,
    pub message: Option<Message>,
    /// Slots used by conditions, approvers and message.
    pub n_locals: u32,
}

/// One conjunct of a rule's `when`, with its source text for explanations.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Condition {
    pub source: String,
    pub location: Location,
    pub expr: Expr,
}

#[derive(
    Clone, Copy, Debug, Default, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize,
)]
#[serde(rename_all = "snake_case")]
pub enum EffectKind {
    Allow,
    #[default]
    Deny,
    RequireApproval,
}

impl EffectKind {
    /// The name used in decisions (`require_approval`).
    pub fn as_str(self) -> &'static str {
        match self {
            EffectKind::Allow => "allow",
            EffectKind::Deny => "deny",
            EffectKind::RequireApproval => "require_approval",
        }
    }
}

#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct Effect {
    pub kind: EffectKind,
    /// For `require approval from …`: an expression of type `String`, `Set<String>`, an entity
    /// type or a set of entities (an entity stands for its id).
    pub approvers: Option<Expr>,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Message {
    pub parts: Vec<MessagePart>,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub enum MessagePart {
    Text(String),
    /// Rendered as `docs/language.md` §6 says: entity as its id, enum as its name, duration in literal
    /// syntax, timestamp in RFC 3339 UTC, set sorted in brackets, absent as `none`.
    Expr(Expr),
}

/// A typed expression.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Expr {
    pub ty: Type,
    pub kind: ExprKind,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub enum ExprKind {
    Bool(bool),
    /// Also durations (seconds) and timestamps (seconds since the epoch).
    Int(i64),
    Str(String),
    /// An entity of the expression's type, by id. May name an entity absent from the store:
    /// it then has no attributes, and reading one is an evaluation error.
    Entity(String),
    /// A variant of the expression's enum type.
    Enum(u32),
    /// A set literal.
    Set(Vec<Expr>),
    /// The absent value of an optional type.
    None,
    /// Wraps a present value into the expression's optional type.
    Some(Box<Expr>),
    /// The request's timestamp.
    Now,
    /// An action field of the rule ([`Rule::args`]).
    Arg(u32),
    /// A context field ([`Schema::context`]).
    Context(u32),
    Local(LocalId),
    /// Attribute `attr` (index into the entity type's attributes) of an entity.
    Attr {
        of: Box<Expr>,
        attr: u32,
    },
    /// `x?.attr`: absent when `of` (optional) is absent; the result is optional but not nested.
    OptAttr {
        of: Box<Expr>,
        attr: u32,
    },
    /// `x has attr`: the optional attribute is present.
    Has {
        of: Box<Expr>,
        attr: u32,
    },
    Not(Box<Expr>),
    /// Checked negation of an int or duration.
    Neg(Box<Expr>),
    Binary {
        op: BinOp,
        lhs: Box<Expr>,
        rhs: Box<Expr>,
    },
    /// `a ?? b`: `a` is optional, `b` of its inner type.
    Coalesce {
        value: Box<Expr>,
        fallback: Box<Expr>,
    },
    /// `elem in set`.
    In {
        elem: Box<Expr>,
        set: Box<Expr>,
    },
    /// `s matches "re"` against a precompiled regex.
    Matches {
        operand: Box<Expr>,
        regex: RegexId,
    },
    If {
        cond: Box<Expr>,
        then: Box<Expr>,
        otherwise: Box<Expr>,
    },
    Call {
        func: FnId,
        args: Vec<Expr>,
    },
    Builtin {
        builtin: Builtin,
        args: Vec<Expr>,
    },
    /// `any x in s: body` (`all` when `all` is true); false/true on the empty set.
    Quantifier {
        all: bool,
        var: LocalId,
        set: Box<Expr>,
        body: Box<Expr>,
    },
    /// `{ x in s | cond }`.
    Filter {
        var: LocalId,
        set: Box<Expr>,
        cond: Box<Expr>,
    },
    /// `x.r` (or its inverse: every entity with an edge to `x`).
    Related {
        rel: RelationId,
        inverse: bool,
        of: Box<Expr>,
    },
    /// `closure(x, r)` / `closure(x, ~r)`.
    Closure {
        rel: RelationId,
        inverse: bool,
        of: Box<Expr>,
    },
    /// `path(x, y, r)`.
    Path {
        rel: RelationId,
        inverse: bool,
        from: Box<Expr>,
        to: Box<Expr>,
    },
    /// `t in w`.
    InWindow {
        window: WindowId,
        at: Box<Expr>,
    },
    /// `remaining(w, t)`.
    Remaining {
        window: WindowId,
        at: Box<Expr>,
    },
    /// `fits(w, t, d)`.
    Fits {
        window: WindowId,
        at: Box<Expr>,
        duration: Box<Expr>,
    },
    /// `next_open(w, t)`; an evaluation error when the window does not open within 366 days.
    NextOpen {
        window: WindowId,
        at: Box<Expr>,
    },
    /// `hour(t, "tz")` (0..=23) or `weekday(t, "tz")` (1 = Mon ..= 7 = Sun), `tz` checked.
    LocalTime {
        part: TimePart,
        at: Box<Expr>,
        timezone: String,
    },
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum TimePart {
    Hour,
    Weekday,
}

/// Binary operators on typed operands. Arithmetic is checked: overflow (or a timestamp out of
/// the supported range) is an evaluation error.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum BinOp {
    And,
    Or,
    /// Equality on any type; a present optional against a plain value compares the inner value,
    /// an absent one is unequal to every plain value.
    Eq,
    Ne,
    /// Orderings on ints, durations and timestamps (an absent optional compares `false`).
    Lt,
    Le,
    Gt,
    Ge,
    /// `Int + Int`, `Duration + Duration`, `Timestamp + Duration`.
    Add,
    /// `Int - Int`, `Duration - Duration`, `Timestamp - Duration`, `Timestamp - Timestamp`.
    Sub,
    /// `Int * Int`, `Duration * Int`, `Int * Duration`.
    Mul,
}

/// A `test` block, lowered to the same JSON shapes the runtime reads from files (the formats of
/// `docs/language.md`, section 9),
/// so tests go through the same validation as production data.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Test {
    pub name: String,
    pub location: Location,
    pub entities: TestEntities,
    pub cases: Vec<TestCase>,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub enum TestEntities {
    /// No `entities` clause: an empty store.
    None,
    /// Inline entities, as an entities document (`{"entities": …, "relations": …}`).
    Inline(serde_json::Value),
    /// `entities from "…"`: the path as written and the path resolved against the test's file.
    File { written: String, resolved: String },
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct TestCase {
    pub location: Location,
    /// A request document (`{"action": …, "at": …, "args": …, "context": …}`).
    pub request: serde_json::Value,
    pub expect: EffectKind,
    /// `from …`: approvers compared as a set; `None` when not written.
    pub approvers: Option<Vec<String>>,
    /// `by …`: exactly these rules fired with the decisive effect; `None` when not written.
    pub by: Option<Vec<String>>,
}
