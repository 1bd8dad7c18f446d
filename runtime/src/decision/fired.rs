//! The compact form of a decision's fired rules and approvers, and the read-only views a
//! [`Decision`](super::Decision) hands out over it.
//!
//! A decision does not copy what the program already knows: a fired rule is its index into the
//! engine's [`RuleTable`] (name, location, effect, message template, literal approvers), its
//! message is the values of its holes ([`Piece`]s: scalars, short strings inline, literal
//! approver names by number), and the message text is rendered only when it is read or
//! serialized. One `Arc` of the table per decision keeps those strings alive; engines hand out a
//! table per thread (`engine.rs`), so deciding touches no reference count another thread uses.
//! Up to a few fired rules, pieces and approvers live inline in the decision: the common
//! decision allocates nothing. The JSON of a decision is byte-identical to what the rendered
//! fields would serialize to (`docs/language.md` §9).
//!
//! This module knows the IR's types and effects and how values render; it does not evaluate
//! anything and knows neither the store nor the engines.

use std::borrow::Cow;
use std::fmt;
use std::sync::Arc;

use serde::ser::{SerializeMap, SerializeSeq};
use serde::{Serialize, Serializer};
use smallvec::SmallVec;
use ward_ir::{EffectKind, MessagePart, Program, Type};

use crate::render;

/// What a decision shows of each rule of a program, formatted once when the engine is built:
/// names, locations, effects, message templates and literal approvers, and the names of the
/// schema's enum variants (for message holes). Engines share it with their decisions.
#[derive(Clone, Debug, Default)]
pub(crate) struct RuleTable {
    /// Per rule, same indices as `Program::rules`.
    pub(crate) rules: Vec<RuleText>,
    /// The variant names of each enum of the schema (for rendering holes).
    enums: Vec<Vec<Box<str>>>,
    /// Every string literal the rules name as approvers, sorted and distinct: literal `i` sorts
    /// before literal `j` exactly when `i < j`.
    literals: Vec<Box<str>>,
    /// Per action, what the common decision shows by set of fired rules, kept as decisions
    /// meet them ([`super::settled`]). Each thread's copy of the table keeps its own.
    pub(crate) settlements: Box<[super::Settlements]>,
}

/// One rule as a decision shows it.
#[derive(Clone, Debug)]
pub(crate) struct RuleText {
    pub(crate) name: Box<str>,
    /// `path:line:col` of the `rule` keyword.
    pub(crate) location: Box<str>,
    pub(crate) effect: EffectKind,
    /// The message's parts; `None` when the rule has no message.
    template: Option<Box<[Part]>>,
    /// A first guess of the rendered message's length.
    capacity: usize,
    /// When the approvers are string literals (or a set of them): their numbers in
    /// [`RuleTable::literals`], sorted and distinct, as approvers ([`LIT`] set).
    pub(crate) literal_approvers: Option<Box<[u32]>>,
}

/// A part of a message template.
#[derive(Clone, Debug)]
enum Part {
    Text(Box<str>),
    Hole(Hole),
}

/// How the value of a hole renders (from the hole's static type).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Hole {
    Int,
    Duration,
    Timestamp,
    /// A variant of the enum with this index.
    Enum(u32),
    /// Anything else: booleans, strings, entities, sets (already text), `none`.
    Plain,
}

impl Hole {
    fn of(ty: &Type) -> Hole {
        match ty.strip_optional() {
            Type::Int => Hole::Int,
            Type::Duration => Hole::Duration,
            Type::Timestamp => Hole::Timestamp,
            Type::Enum(id) => Hole::Enum(id.0),
            _ => Hole::Plain,
        }
    }
}

impl RuleTable {
    /// The table of a (verified) program.
    pub(crate) fn new(program: &Program) -> RuleTable {
        let literal_of = |e: &ward_ir::Expr| -> Option<Vec<String>> {
            use ward_ir::ExprKind;
            match &e.kind {
                ExprKind::Str(s) => Some(vec![s.clone()]),
                ExprKind::Set(items) => items
                    .iter()
                    .map(|item| match &item.kind {
                        ExprKind::Str(s) => Some(s.clone()),
                        _ => None,
                    })
                    .collect(),
                _ => None,
            }
        };
        let mut literals: Vec<String> = program
            .rules
            .iter()
            .filter_map(|r| r.effect.approvers.as_ref().and_then(literal_of))
            .flatten()
            .collect();
        literals.sort_unstable();
        literals.dedup();
        let number = |s: &str| {
            literals
                .binary_search_by(|l| l.as_str().cmp(s))
                .ok()
                .and_then(|i| u32::try_from(i).ok())
        };
        let rules = program
            .rules
            .iter()
            .map(|rule| {
                let literal_approvers = match (&rule.effect.kind, &rule.effect.approvers) {
                    (EffectKind::RequireApproval, Some(e)) => literal_of(e).and_then(|names| {
                        let mut ids: Vec<u32> =
                            names.iter().map(|n| number(n)).collect::<Option<_>>()?;
                        ids.sort_unstable();
                        ids.dedup();
                        Some(ids.into_iter().map(|n| n | LIT).collect())
                    }),
                    (EffectKind::RequireApproval, None) => Some(Box::from([])),
                    _ => None,
                };
                let template = rule.message.as_ref().map(|m| {
                    m.parts
                        .iter()
                        .map(|p| match p {
                            MessagePart::Text(t) => Part::Text(t.as_str().into()),
                            MessagePart::Expr(e) => Part::Hole(Hole::of(&e.ty)),
                        })
                        .collect::<Box<[Part]>>()
                });
                let capacity = template.as_ref().map_or(0, |parts| {
                    parts
                        .iter()
                        .map(|p| match p {
                            Part::Text(t) => t.len(),
                            Part::Hole(_) => 16,
                        })
                        .sum()
                });
                RuleText {
                    name: rule.name.as_str().into(),
                    location: rule.location.to_string().into(),
                    effect: rule.effect.kind,
                    template,
                    capacity,
                    literal_approvers,
                }
            })
            .collect();
        let enums = program
            .schema
            .enums
            .iter()
            .map(|e| e.variants.iter().map(|v| v.as_str().into()).collect())
            .collect();
        // As many rules per action as its plan has (a rule once per action it lists).
        let mut per_action = vec![0usize; program.schema.actions.len()];
        for rule in &program.rules {
            for action in &rule.actions {
                if let Some(n) = per_action.get_mut(action.index()) {
                    *n += 1;
                }
            }
        }
        RuleTable {
            settlements: per_action
                .into_iter()
                .map(super::Settlements::new)
                .collect(),
            rules,
            enums,
            literals: literals.into_iter().map(String::into_boxed_str).collect(),
        }
    }

    fn literal(&self, i: u32) -> &str {
        self.literals.get(i as usize).map_or("", |s| &**s)
    }
}

/// Text kept by a decision: short strings inline, longer ones shared or owned.
#[derive(Clone)]
pub(crate) enum Text {
    Inline { len: u8, bytes: [u8; INLINE] },
    Shared(Arc<str>),
    Owned(Box<str>),
}

/// The longest text kept inline, in bytes.
const INLINE: usize = 22;

impl Text {
    /// A copy of `s` (inline when short).
    pub(crate) fn copy(s: &str) -> Text {
        match Text::inline(s) {
            Some(t) => t,
            None => Text::Owned(s.into()),
        }
    }

    /// `s` itself: inline when short, else the same allocation.
    pub(crate) fn share(s: &Arc<str>) -> Text {
        match Text::inline(s) {
            Some(t) => t,
            None => Text::Shared(Arc::clone(s)),
        }
    }

    /// `s` (inline when short).
    pub(crate) fn owned(s: String) -> Text {
        match Text::inline(&s) {
            Some(t) => t,
            None => Text::Owned(s.into_boxed_str()),
        }
    }

    fn inline(s: &str) -> Option<Text> {
        let len = s.len();
        if len > INLINE {
            return None;
        }
        let mut bytes = [0u8; INLINE];
        bytes.get_mut(..len)?.copy_from_slice(s.as_bytes());
        Some(Text::Inline {
            len: len as u8,
            bytes,
        })
    }

    pub(crate) fn as_str(&self) -> &str {
        match self {
            // The bytes are a copy of a whole `str`, so they are UTF-8.
            Text::Inline { len, bytes } => bytes
                .get(..*len as usize)
                .and_then(|b| std::str::from_utf8(b).ok())
                .unwrap_or(""),
            Text::Shared(s) => s,
            Text::Owned(s) => s,
        }
    }
}

/// A value a decision keeps: a message hole's or an approver's.
#[derive(Clone)]
pub(crate) enum Piece {
    Absent,
    Bool(bool),
    /// An int, a duration or a timestamp (the hole's type says which).
    Int(i64),
    /// An enum variant (the hole's type says of which enum).
    Enum(u32),
    /// A string, an entity's id, a rendered set, a message that could not be rendered.
    Text(Text),
}

impl Piece {
    fn as_name(&self) -> &str {
        match self {
            Piece::Text(t) => t.as_str(),
            _ => "",
        }
    }

    /// Appends the piece as a hole of kind `hole` renders it.
    fn render(&self, out: &mut String, hole: Hole, table: &RuleTable) {
        match self {
            Piece::Absent => out.push_str("none"),
            Piece::Bool(b) => out.push_str(if *b { "true" } else { "false" }),
            Piece::Int(n) => match hole {
                Hole::Duration => render::push_duration(out, *n),
                Hole::Timestamp => render::push_timestamp(out, *n),
                _ => render::push_int(out, *n),
            },
            Piece::Enum(v) => {
                let name = match hole {
                    Hole::Enum(e) => table
                        .enums
                        .get(e as usize)
                        .and_then(|names| names.get(*v as usize)),
                    _ => None,
                };
                match name {
                    Some(name) => out.push_str(name),
                    None => render::push_int(out, i64::from(*v)),
                }
            }
            Piece::Text(t) => out.push_str(t.as_str()),
        }
    }
}

/// A stretch of the decision's pieces or approver numbers.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub(crate) struct Span {
    start: u32,
    len: u32,
}

impl Span {
    pub(crate) fn new(start: usize, end: usize) -> Span {
        let start32 = u32::try_from(start).unwrap_or(u32::MAX);
        Span {
            start: start32,
            len: u32::try_from(end.saturating_sub(start)).unwrap_or(0),
        }
    }

    pub(crate) fn of<T>(self, items: &[T]) -> &[T] {
        let start = self.start as usize;
        items
            .get(start..start.saturating_add(self.len as usize))
            .unwrap_or_default()
    }
}

/// A fired rule's message.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Message {
    /// The rule has no message.
    None,
    /// The values of the template's holes.
    Holes(Span),
    /// The text itself (a piece): a message that could not be rendered, or one read from JSON.
    Text(u32),
}

/// A fired rule.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Entry {
    /// Index into [`RuleTable::rules`].
    pub(crate) rule: u32,
    pub(crate) message: Message,
    /// For a `require approval` rule, its approvers (a stretch of [`Body::names`]).
    pub(crate) approvers: Option<Span>,
}

/// An approver: bit 31 set for literal number `n & !LIT`, else a piece number.
const LIT: u32 = 1 << 31;

/// A fired rule as JSON has it: name, effect, message, location and its own approvers.
pub(crate) type FiredParts = (
    String,
    EffectKind,
    Option<String>,
    String,
    Option<Vec<String>>,
);

/// The fired rules of a decision and everything they show.
#[derive(Clone, Default)]
pub(crate) struct Body {
    /// The table the entries index; `None` when nothing fired.
    pub(crate) table: Option<Arc<RuleTable>>,
    pub(crate) fired: SmallVec<[Entry; 3]>,
    pub(crate) pieces: SmallVec<[Piece; 4]>,
    /// Approvers (see [`LIT`]): each rule's own, then the decision's.
    pub(crate) names: SmallVec<[u32; 4]>,
    /// The decision's approvers (a stretch of `names`).
    pub(crate) approvers: Span,
}

impl Body {
    /// Empties the body but for its table, which [`Body::show_with`] then keeps or replaces
    /// (a decision decided into again by the same engine keeps the same table).
    #[inline]
    pub(crate) fn clear_keeping_table(&mut self) {
        // Most decisions leave them empty or nearly: a test each costs less than a clear,
        // which drops the pieces one by one.
        if !self.fired.is_empty() {
            self.fired.clear();
        }
        if !self.pieces.is_empty() {
            self.pieces.clear();
        }
        if !self.names.is_empty() {
            self.names.clear();
        }
        self.approvers = Span::default();
    }

    /// The body shows its rules through `table` when anything fired or was named; else it
    /// keeps no table, as [`Body::default`].
    pub(crate) fn show_with(&mut self, table: &Arc<RuleTable>) {
        if self.fired.is_empty() && self.names.is_empty() {
            self.table = None;
        } else if !self.table.as_ref().is_some_and(|t| Arc::ptr_eq(t, table)) {
            self.table = Some(Arc::clone(table));
        }
    }

    fn table(&self) -> Option<&RuleTable> {
        self.table.as_deref()
    }

    /// Adds a rule's literal approvers (its [`RuleText::literal_approvers`]) and gives their
    /// stretch of the names.
    pub(crate) fn push_literal_names(&mut self, literals: &[u32]) -> Span {
        let start = self.names.len();
        // Most rules name one.
        match literals {
            [one] => self.names.push(*one),
            _ => self.names.extend_from_slice(literals),
        }
        Span::new(start, self.names.len())
    }

    /// Adds piece `p` as an approver.
    pub(crate) fn push_piece_name(&mut self, p: usize) {
        self.names.push(u32::try_from(p).unwrap_or(0) & !LIT);
    }

    fn name(&self, id: u32) -> &str {
        self.name_in(self.table(), id)
    }

    /// The text of approver `id`, with literals looked up in `table` (the body's own table is
    /// set only once the decision is complete).
    fn name_in<'s>(&'s self, table: Option<&'s RuleTable>, id: u32) -> &'s str {
        if id & LIT != 0 {
            return table.map_or("", |t| t.literal(id & !LIT));
        }
        self.pieces.get(id as usize).map_or("", |p| p.as_name())
    }

    /// Sorts `names[start..]` by text (literals looked up in `table`) and removes repeated
    /// names.
    pub(crate) fn sort_names_from(&mut self, table: &RuleTable, start: usize) {
        let Some(tail) = self.names.get(start..) else {
            return;
        };
        if tail.len() < 2 {
            return;
        }
        let mut ids: SmallVec<[u32; 8]> = tail.iter().copied().collect();
        if ids.iter().all(|id| id & LIT != 0) {
            // Literal numbers sort as their texts do.
            ids.sort_unstable();
            ids.dedup();
        } else {
            let name = |id: u32| self.name_in(Some(table), id);
            ids.sort_by(|a, b| name(*a).cmp(name(*b)));
            ids.dedup_by(|a, b| name(*a) == name(*b));
        }
        self.names.truncate(start);
        self.names.extend(ids);
    }

    /// The rendered message of `entry`.
    fn message(&self, entry: &Entry) -> Option<Cow<'_, str>> {
        let table = self.table()?;
        match entry.message {
            Message::None => None,
            Message::Text(p) => Some(Cow::Borrowed(
                self.pieces.get(p as usize).map_or("", |p| p.as_name()),
            )),
            Message::Holes(span) => {
                let text = table.rules.get(entry.rule as usize)?;
                let parts = text.template.as_deref()?;
                if let [Part::Text(only)] = parts {
                    return Some(Cow::Borrowed(only));
                }
                let mut out = String::with_capacity(text.capacity);
                let mut holes = span.of(&self.pieces).iter();
                for part in parts {
                    match part {
                        Part::Text(t) => out.push_str(t),
                        Part::Hole(h) => match holes.next() {
                            Some(piece) => piece.render(&mut out, *h, table),
                            None => out.push_str("none"),
                        },
                    }
                }
                Some(Cow::Owned(out))
            }
        }
    }

    /// A body read from JSON: a table of the fired rules it names, messages as text.
    pub(crate) fn from_parts(fired: Vec<FiredParts>, approvers: Vec<String>) -> Body {
        let mut body = Body::default();
        let mut table = RuleTable::default();
        for (i, (name, effect, message, location, own)) in fired.into_iter().enumerate() {
            let message = match message {
                Some(m) => {
                    body.pieces.push(Piece::Text(Text::owned(m)));
                    Message::Text(u32::try_from(body.pieces.len() - 1).unwrap_or(0))
                }
                None => Message::None,
            };
            let approvers = own.map(|names| {
                let start = body.names.len();
                for n in names {
                    body.pieces.push(Piece::Text(Text::owned(n)));
                    body.push_piece_name(body.pieces.len() - 1);
                }
                Span::new(start, body.names.len())
            });
            table.rules.push(RuleText {
                name: name.into_boxed_str(),
                location: location.into_boxed_str(),
                effect,
                template: None,
                capacity: 0,
                literal_approvers: None,
            });
            body.fired.push(Entry {
                rule: u32::try_from(i).unwrap_or(0),
                message,
                approvers,
            });
        }
        let start = body.names.len();
        for n in approvers {
            body.pieces.push(Piece::Text(Text::owned(n)));
            body.push_piece_name(body.pieces.len() - 1);
        }
        body.approvers = Span::new(start, body.names.len());
        body.table = Some(Arc::new(table));
        body
    }
}

/// The rules that fired, in policy order ([`Decision::fired`](super::Decision::fired)).
#[derive(Clone, Copy)]
pub struct FiredRules<'d> {
    body: &'d Body,
}

/// One fired rule.
#[derive(Clone, Copy)]
pub struct Fired<'d> {
    body: &'d Body,
    entry: &'d Entry,
}

/// A list of approver names, sorted and distinct.
#[derive(Clone, Copy)]
pub struct Names<'d> {
    body: &'d Body,
    ids: &'d [u32],
}

impl<'d> FiredRules<'d> {
    pub(crate) fn new(body: &'d Body) -> FiredRules<'d> {
        FiredRules { body }
    }

    pub fn len(&self) -> usize {
        self.body.fired.len()
    }

    pub fn is_empty(&self) -> bool {
        self.body.fired.is_empty()
    }

    /// The `i`-th fired rule.
    pub fn get(&self, i: usize) -> Option<Fired<'d>> {
        let body = self.body;
        body.fired.get(i).map(|entry| Fired { body, entry })
    }

    pub fn first(&self) -> Option<Fired<'d>> {
        self.get(0)
    }

    pub fn iter(&self) -> impl DoubleEndedIterator<Item = Fired<'d>> + ExactSizeIterator + 'd {
        let body = self.body;
        body.fired.iter().map(move |entry| Fired { body, entry })
    }
}

impl<'d> IntoIterator for FiredRules<'d> {
    type Item = Fired<'d>;
    type IntoIter = Box<dyn ExactSizeIterator<Item = Fired<'d>> + 'd>;

    fn into_iter(self) -> Self::IntoIter {
        Box::new(self.iter())
    }
}

impl<'d> Fired<'d> {
    /// The rule's name.
    pub fn rule(&self) -> &'d str {
        self.text().map_or("", |t| &*t.name)
    }

    pub fn effect(&self) -> EffectKind {
        self.text().map_or(EffectKind::Deny, |t| t.effect)
    }

    /// The rendered `because` message; `None` when the rule has none. Rendered on each call.
    pub fn message(&self) -> Option<Cow<'d, str>> {
        self.body.message(self.entry)
    }

    /// `path:line:col` of the `rule` keyword.
    pub fn location(&self) -> &'d str {
        self.text().map_or("", |t| &*t.location)
    }

    /// For a `require_approval` rule, the approvers it names (sorted and distinct; empty when
    /// it names none or they could not be evaluated), also when another rule's `deny` decided.
    /// `None` for the other effects.
    pub fn approvers(&self) -> Option<Names<'d>> {
        let body = self.body;
        self.entry.approvers.map(|span| Names {
            body,
            ids: span.of(&body.names),
        })
    }

    fn text(&self) -> Option<&'d RuleText> {
        self.body.table()?.rules.get(self.entry.rule as usize)
    }
}

impl<'d> Names<'d> {
    pub(crate) fn decision(body: &'d Body) -> Names<'d> {
        Names {
            body,
            ids: body.approvers.of(&body.names),
        }
    }

    pub fn len(&self) -> usize {
        self.ids.len()
    }

    pub fn is_empty(&self) -> bool {
        self.ids.is_empty()
    }

    pub fn get(&self, i: usize) -> Option<&'d str> {
        let body = self.body;
        self.ids.get(i).map(|id| body.name(*id))
    }

    pub fn iter(&self) -> impl DoubleEndedIterator<Item = &'d str> + ExactSizeIterator + 'd {
        let body = self.body;
        self.ids.iter().map(move |id| body.name(*id))
    }

    /// The names as owned strings.
    pub fn to_vec(&self) -> Vec<String> {
        self.iter().map(str::to_owned).collect()
    }

    /// The names joined by `sep`.
    pub fn join(&self, sep: &str) -> String {
        let mut out = String::new();
        for (i, name) in self.iter().enumerate() {
            if i > 0 {
                out.push_str(sep);
            }
            out.push_str(name);
        }
        out
    }
}

impl<'d> IntoIterator for Names<'d> {
    type Item = &'d str;
    type IntoIter = Box<dyn ExactSizeIterator<Item = &'d str> + 'd>;

    fn into_iter(self) -> Self::IntoIter {
        Box::new(self.iter())
    }
}

impl PartialEq for Names<'_> {
    fn eq(&self, other: &Names<'_>) -> bool {
        self.iter().eq(other.iter())
    }
}

impl Eq for Names<'_> {}

impl<S: AsRef<str>> PartialEq<[S]> for Names<'_> {
    fn eq(&self, other: &[S]) -> bool {
        self.iter().eq(other.iter().map(AsRef::as_ref))
    }
}

impl<S: AsRef<str>> PartialEq<Vec<S>> for Names<'_> {
    fn eq(&self, other: &Vec<S>) -> bool {
        *self == other[..]
    }
}

impl<S: AsRef<str>, const N: usize> PartialEq<[S; N]> for Names<'_> {
    fn eq(&self, other: &[S; N]) -> bool {
        *self == other[..]
    }
}

impl PartialEq for Fired<'_> {
    fn eq(&self, other: &Fired<'_>) -> bool {
        self.rule() == other.rule()
            && self.effect() == other.effect()
            && self.location() == other.location()
            && self.message() == other.message()
            && self.approvers() == other.approvers()
    }
}

impl PartialEq for FiredRules<'_> {
    fn eq(&self, other: &FiredRules<'_>) -> bool {
        self.len() == other.len() && self.iter().eq(other.iter())
    }
}

impl fmt::Debug for Names<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_list().entries(self.iter()).finish()
    }
}

impl fmt::Debug for Fired<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut s = f.debug_struct("Fired");
        s.field("rule", &self.rule())
            .field("effect", &self.effect())
            .field("message", &self.message())
            .field("location", &self.location());
        if let Some(a) = self.approvers() {
            s.field("approvers", &a);
        }
        s.finish()
    }
}

impl fmt::Debug for FiredRules<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_list().entries(self.iter()).finish()
    }
}

impl Serialize for Names<'_> {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let mut seq = serializer.serialize_seq(Some(self.len()))?;
        for name in self.iter() {
            seq.serialize_element(name)?;
        }
        seq.end()
    }
}

/// `{"rule", "effect", "message", "location"}` and, for an approval rule, `"approvers"`.
impl Serialize for Fired<'_> {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let approvers = self.approvers();
        let mut map = serializer.serialize_map(Some(4 + usize::from(approvers.is_some())))?;
        map.serialize_entry("rule", self.rule())?;
        map.serialize_entry("effect", &self.effect())?;
        map.serialize_entry("message", &self.message())?;
        map.serialize_entry("location", self.location())?;
        if let Some(a) = approvers {
            map.serialize_entry("approvers", &a)?;
        }
        map.end()
    }
}

impl Serialize for FiredRules<'_> {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let mut seq = serializer.serialize_seq(Some(self.len()))?;
        for fired in self.iter() {
            seq.serialize_element(&fired)?;
        }
        seq.end()
    }
}
