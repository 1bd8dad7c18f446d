//! The abstract syntax tree of a Ward file.
//!
//! Every node carries a [`Span`] (byte offsets into the file's text), so diagnostics, the
//! formatter and the language server can point back at the source. Comments are kept beside
//! the tree in [`File::comments`]; doc comments (`///`) are also attached to the declaration or
//! field that follows them. The tree is plain data: it knows nothing of names, types or IO.

use crate::Span;

/// One parsed `.ward` file: its declarations in source order and every comment.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct File {
    pub items: Vec<Item>,
    pub comments: Vec<Comment>,
}

/// A `//` or `///` comment, with the text after the slashes.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Comment {
    pub span: Span,
    pub text: String,
    pub doc: bool,
}

/// A name as written in the source.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct Ident {
    pub name: String,
    pub span: Span,
}

/// A top-level declaration.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Item {
    Use(UseDecl),
    Enum(EnumDecl),
    Entity(EntityDecl),
    Relation(RelationDecl),
    Context(ContextDecl),
    Action(ActionDecl),
    Window(WindowDecl),
    Const(ConstDecl),
    Fn(FnDecl),
    Default(DefaultDecl),
    Rule(RuleDecl),
    Test(TestDecl),
}

impl Item {
    /// The span of the whole declaration, doc comment excluded.
    pub fn span(&self) -> Span {
        match self {
            Item::Use(it) => it.span,
            Item::Enum(it) => it.span,
            Item::Entity(it) => it.span,
            Item::Relation(it) => it.span,
            Item::Context(it) => it.span,
            Item::Action(it) => it.span,
            Item::Window(it) => it.span,
            Item::Const(it) => it.span,
            Item::Fn(it) => it.span,
            Item::Default(it) => it.span,
            Item::Rule(it) => it.span,
            Item::Test(it) => it.span,
        }
    }

    /// The declared name, for the items that have one (`use`, `context` and `default` do not).
    pub fn name(&self) -> Option<&Ident> {
        match self {
            Item::Enum(it) => Some(&it.name),
            Item::Entity(it) => Some(&it.name),
            Item::Relation(it) => Some(&it.name),
            Item::Action(it) => Some(&it.name),
            Item::Window(it) => Some(&it.name),
            Item::Const(it) => Some(&it.name),
            Item::Fn(it) => Some(&it.name),
            Item::Rule(it) => Some(&it.name),
            Item::Use(_) | Item::Context(_) | Item::Default(_) | Item::Test(_) => None,
        }
    }

    /// The `///` doc comment written before the declaration, without the slashes.
    pub fn doc(&self) -> Option<&str> {
        let doc = match self {
            Item::Use(_) | Item::Default(_) => return None,
            Item::Enum(it) => &it.doc,
            Item::Entity(it) => &it.doc,
            Item::Relation(it) => &it.doc,
            Item::Context(it) => &it.doc,
            Item::Action(it) => &it.doc,
            Item::Window(it) => &it.doc,
            Item::Const(it) => &it.doc,
            Item::Fn(it) => &it.doc,
            Item::Rule(it) => &it.doc,
            Item::Test(it) => &it.doc,
        };
        doc.as_deref()
    }
}

/// `use std.time` or `use std.time.{business_hours, fits_before_close}`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct UseDecl {
    pub span: Span,
    /// The dotted path, e.g. `std`, `time`.
    pub path: Vec<Ident>,
    /// `None` for `use std.time`; the listed names for `use std.time.{a, b}`.
    pub names: Option<Vec<Ident>>,
}

/// `enum Tier { crown_jewel, critical }`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct EnumDecl {
    pub span: Span,
    pub doc: Option<String>,
    pub name: Ident,
    pub variants: Vec<Variant>,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Variant {
    pub doc: Option<String>,
    pub name: Ident,
}

/// `entity Identity { name: String, manager: Identity? }`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct EntityDecl {
    pub span: Span,
    pub doc: Option<String>,
    pub name: Ident,
    pub fields: Vec<FieldDecl>,
}

/// `name: Type` inside an `entity`, `context` or `action` body, or a `fn` parameter.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct FieldDecl {
    pub span: Span,
    pub doc: Option<String>,
    pub name: Ident,
    pub ty: TypeExpr,
}

/// `relation depends_on: Asset -> Asset`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RelationDecl {
    pub span: Span,
    pub doc: Option<String>,
    pub name: Ident,
    pub from: TypeExpr,
    pub to: TypeExpr,
}

/// `context { agent: Identity, ticket: String? }`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ContextDecl {
    pub span: Span,
    pub doc: Option<String>,
    /// The span of the `context` keyword, to point at a second context block.
    pub keyword: Span,
    pub fields: Vec<FieldDecl>,
}

/// `action patch_host { host: Asset, reboot: Bool }`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ActionDecl {
    pub span: Span,
    pub doc: Option<String>,
    pub name: Ident,
    pub fields: Vec<FieldDecl>,
}

/// A type as written: `Int`, `Set<String>`, `Identity?`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TypeExpr {
    pub span: Span,
    pub kind: TypeExprKind,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub enum TypeExprKind {
    /// A builtin (`Int`, `String`, …), an entity or an enum, resolved by the checker.
    Named(Ident),
    /// `Set<T>`.
    Set(Box<TypeExpr>),
    /// `T?`.
    Optional(Box<TypeExpr>),
}

/// `window prod_changes { timezone "…" weekly … daily … between … except … }`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct WindowDecl {
    pub span: Span,
    pub doc: Option<String>,
    pub name: Ident,
    pub lines: Vec<WindowLine>,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct WindowLine {
    pub span: Span,
    pub kind: WindowLineKind,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub enum WindowLineKind {
    /// `timezone "Europe/London"`.
    Timezone(StrLit),
    /// `weekly Sat 02:00 - Sat 06:00`.
    Weekly {
        start_day: Spanned<Weekday>,
        start: Spanned<TimeOfDay>,
        end_day: Spanned<Weekday>,
        end: Spanned<TimeOfDay>,
    },
    /// `daily 09:00 - 17:30 on Mon-Fri`; `days` is empty when no `on` is written.
    Daily {
        start: Spanned<TimeOfDay>,
        end: Spanned<TimeOfDay>,
        days: Vec<DaySpec>,
    },
    /// `between 2026-12-20T00:00:00Z and 2027-01-03T00:00:00Z`.
    Between {
        from: Spanned<Timestamp>,
        to: Spanned<Timestamp>,
    },
    /// `except year_end_freeze`.
    Except(Ident),
}

/// A value with the span it was written at.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct Spanned<T> {
    pub value: T,
    pub span: Span,
}

/// One entry of a `daily … on` list: a day or an inclusive range of days (`Mon-Fri`, which may
/// wrap around the week end: `Sat-Mon`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct DaySpec {
    pub span: Span,
    pub first: Weekday,
    pub last: Weekday,
}

/// Days of the week, numbered as ISO 8601 does (Mon = 1 … Sun = 7).
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Weekday {
    Mon = 1,
    Tue = 2,
    Wed = 3,
    Thu = 4,
    Fri = 5,
    Sat = 6,
    Sun = 7,
}

impl Weekday {
    pub const ALL: [Weekday; 7] = [
        Weekday::Mon,
        Weekday::Tue,
        Weekday::Wed,
        Weekday::Thu,
        Weekday::Fri,
        Weekday::Sat,
        Weekday::Sun,
    ];

    /// The three-letter name used in the source (`Mon`).
    pub fn name(self) -> &'static str {
        match self {
            Weekday::Mon => "Mon",
            Weekday::Tue => "Tue",
            Weekday::Wed => "Wed",
            Weekday::Thu => "Thu",
            Weekday::Fri => "Fri",
            Weekday::Sat => "Sat",
            Weekday::Sun => "Sun",
        }
    }

    pub fn from_name(name: &str) -> Option<Weekday> {
        Weekday::ALL.into_iter().find(|d| d.name() == name)
    }

    /// ISO number, Mon = 1 … Sun = 7.
    pub fn number(self) -> u8 {
        self as u8
    }
}

/// A wall-clock time `HH:MM`, as minutes since midnight (0 ..= 1439).
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct TimeOfDay {
    pub minutes: u16,
}

/// An RFC 3339 timestamp literal: seconds since the Unix epoch (UTC), one-second precision.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Timestamp {
    pub seconds: i64,
}

/// `const revenue_tags = ["revenue-critical", "payments"];` (a type annotation is optional).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ConstDecl {
    pub span: Span,
    pub doc: Option<String>,
    pub name: Ident,
    pub ty: Option<TypeExpr>,
    pub value: Expr,
}

/// `fn is_exec(i: Identity) -> Bool = …;`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct FnDecl {
    pub span: Span,
    pub doc: Option<String>,
    pub name: Ident,
    pub params: Vec<FieldDecl>,
    pub ret: TypeExpr,
    pub body: Expr,
}

/// `default deny`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct DefaultDecl {
    pub span: Span,
    pub effect: Effect,
}

/// `rule NAME { on …  when …  EFFECT  because "…" }`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RuleDecl {
    pub span: Span,
    pub doc: Option<String>,
    pub name: Ident,
    pub on: OnClause,
    /// Every `when` line, in order; they are joined with `and`.
    pub when: Vec<Expr>,
    pub effect: Effect,
    pub because: Option<Message>,
}

/// `on a, b` or `on *`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct OnClause {
    pub span: Span,
    pub targets: OnTargets,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub enum OnTargets {
    /// `on *`.
    All,
    Actions(Vec<Ident>),
}

/// `allow`, `deny`, `require approval [from APPROVERS]`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Effect {
    pub span: Span,
    pub kind: EffectKind,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub enum EffectKind {
    Allow,
    Deny,
    RequireApproval { from: Option<Expr> },
}

/// The text of a `because` message: literal pieces and `{expr}` holes.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Message {
    pub span: Span,
    pub parts: Vec<MessagePart>,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub enum MessagePart {
    /// Text with escapes already decoded (`{{` and `}}` stand for literal braces).
    Text(String),
    /// `{expr}`; the expression's spans point into the string in the file.
    Hole(Expr),
}

/// A string literal with escapes decoded; `span` covers the quotes.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct StrLit {
    pub span: Span,
    pub value: String,
}

/// An expression.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Expr {
    pub span: Span,
    pub kind: ExprKind,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub enum ExprKind {
    Bool(bool),
    Int(i64),
    Str(String),
    /// A duration literal in seconds (`1h30m` is 5400).
    Duration(i64),
    Timestamp(Timestamp),
    /// `now`: the request's timestamp.
    Now,
    /// `Identity::"alice"`.
    EntityRef {
        ty: Ident,
        id: StrLit,
    },
    /// `Tier::critical`.
    EnumValue {
        ty: Ident,
        variant: Ident,
    },
    /// `["a", "b"]`.
    Set(Vec<Expr>),
    /// A bare name: a field in scope, a parameter, a constant, a window, a quantifier variable.
    Name(Ident),
    /// `~r`: a relation against its edges (only meaningful where a relation is expected).
    InverseRelation(Ident),
    Unary {
        op: Spanned<UnaryOp>,
        operand: Box<Expr>,
    },
    Binary {
        op: Spanned<BinaryOp>,
        lhs: Box<Expr>,
        rhs: Box<Expr>,
    },
    /// `target has manager`.
    Has {
        operand: Box<Expr>,
        attr: Ident,
    },
    /// `x.attr` or `x?.attr` (`optional` is true for `?.`).
    Field {
        operand: Box<Expr>,
        attr: Ident,
        optional: bool,
    },
    /// `f(a, b)`, `s.contains(x)`, `time.business_hours(t)`: the checker tells which by the
    /// callee's shape and the names in scope.
    Call {
        callee: Box<Expr>,
        args: Vec<Expr>,
    },
    /// `if C then A else B`.
    If {
        cond: Box<Expr>,
        then: Box<Expr>,
        otherwise: Box<Expr>,
    },
    /// `any x in s: COND` / `all x in s: COND`.
    Quantifier {
        kind: Quantifier,
        var: Ident,
        set: Box<Expr>,
        body: Box<Expr>,
    },
    /// `{ x in s | COND }`.
    Filter {
        var: Ident,
        set: Box<Expr>,
        cond: Box<Expr>,
    },
    /// `( e )`; kept so the formatter can reproduce the user's grouping.
    Paren(Box<Expr>),
    /// A piece the parser could not read; the parser has reported it already.
    Error,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum UnaryOp {
    Not,
    Neg,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum BinaryOp {
    Or,
    And,
    Eq,
    Ne,
    Lt,
    Le,
    Gt,
    Ge,
    In,
    Matches,
    Coalesce,
    Add,
    Sub,
    Mul,
}

impl BinaryOp {
    /// The operator as written in the source.
    pub fn symbol(self) -> &'static str {
        match self {
            BinaryOp::Or => "or",
            BinaryOp::And => "and",
            BinaryOp::Eq => "==",
            BinaryOp::Ne => "!=",
            BinaryOp::Lt => "<",
            BinaryOp::Le => "<=",
            BinaryOp::Gt => ">",
            BinaryOp::Ge => ">=",
            BinaryOp::In => "in",
            BinaryOp::Matches => "matches",
            BinaryOp::Coalesce => "??",
            BinaryOp::Add => "+",
            BinaryOp::Sub => "-",
            BinaryOp::Mul => "*",
        }
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Quantifier {
    Any,
    All,
}

/// `test "name" { entities … request … expect … }`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TestDecl {
    pub span: Span,
    pub doc: Option<String>,
    pub name: StrLit,
    pub entities: Option<TestEntities>,
    /// One or more request/expectation pairs, run in order against the same entities.
    pub cases: Vec<TestCase>,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub enum TestEntities {
    /// `entities { Identity::"a" { … }  Asset::"w" depends_on Asset::"d" }`.
    Inline {
        span: Span,
        entries: Vec<EntityEntry>,
    },
    /// `entities from "fixtures/estate.json"` (relative to the test's file).
    From(StrLit),
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub enum EntityEntry {
    /// `Identity::"alice" { name: "Alice", … }`.
    Entity {
        span: Span,
        ty: Ident,
        id: StrLit,
        attrs: Vec<RecordField>,
    },
    /// `Asset::"web-1" depends_on Asset::"db-1"`.
    Edge {
        span: Span,
        from: Expr,
        relation: Ident,
        to: Expr,
    },
}

/// `name: expr` inside a record literal.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RecordField {
    pub span: Span,
    pub name: Ident,
    pub value: Expr,
}

/// `request ACTION { … } [with { … }] [at TIMESTAMP]  expect …`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TestCase {
    pub span: Span,
    pub action: Ident,
    pub args: Vec<RecordField>,
    /// The `with { … }` context fields; empty when absent.
    pub context: Vec<RecordField>,
    /// `at …`; `None` when absent.
    pub at: Option<Spanned<Timestamp>>,
    pub expect: Expectation,
}

/// `expect EFFECT [by RULE, …]`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Expectation {
    pub span: Span,
    pub effect: Effect,
    /// `None` when no `by` clause is written.
    pub by: Option<Vec<Ident>>,
}
