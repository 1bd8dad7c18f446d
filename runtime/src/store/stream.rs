//! Streaming load of an entities document: serde `DeserializeSeed`s that read the JSON text
//! once into the loader's id tables and once more, entity by entity, straight into the
//! attribute columns, with no `serde_json::Value` tree for the document or for an entity.
//!
//! Pass 1 ([`TopSeed`]) walks the whole text: it checks the syntax (every string and number is
//! decoded, so the first syntax error in the document is the one reported), reports every
//! duplicate object key in document order, interns the entity ids, and keeps for each entity
//! only its id and the slice of text holding its attributes (a borrowed `RawValue`), and for the
//! relations their slice. Pass 2 ([`EntitySeed`], [`RelationSeed`]) converts those slices once
//! every id is known, so references resolve in any order. Values of the wrong shape are
//! described ("an array", "the number 3") from what the parser saw, never rebuilt.
//!
//! It knows the document's JSON shape and the schema types; the store's layout, the problem
//! order and the messages about the document as a whole are the loader's (`super`).

use serde::de::{self, DeserializeSeed, IgnoredAny, MapAccess, SeqAccess, Visitor};
use serde_json::value::RawValue;
use smallvec::SmallVec;
use std::borrow::Cow;
use std::cell::RefCell;
use std::collections::HashSet;
use std::fmt;
use ward_ir::{EntityType, EntityTypeId, Relation, Schema, Type};

use super::convert::{
    DuplicateKey, Env, Path, Problem, Problems, Seed, Trail, clip, convert, expected,
    syntax_problem_at, type_name, variants,
};
use super::ids::BATCH;
use super::{Loader, did_you_mean, list};
use crate::{EntityRef, Value};

/// A value that should be an object: what it was instead, or what was read from it.
pub(super) enum Found<T> {
    Null,
    /// Not an object (nor `null`): "an array", "the number 3".
    Other(String),
    Object(T),
}

impl<T> Found<T> {
    /// What a value that is not an object was, for "found …" (`null` included).
    pub(super) fn describe(&self) -> Option<&str> {
        match self {
            Found::Null => Some("`null`"),
            Found::Other(what) => Some(what),
            Found::Object(_) => None,
        }
    }
}

/// The members of an object, each with the slice of text holding its value, in document
/// order.
pub(super) type Members<'de> = Vec<(Cow<'de, str>, &'de RawValue)>;

/// The members of an entity table in document order, and their order by id.
pub(super) struct Table<'de> {
    pub(super) members: Members<'de>,
    /// Each member's [`Order`], index in `members` and id's length (saturated), sorted by id
    /// (of a repeated id, the occurrences in document order). An id of at most 16 bytes is
    /// its order and length: numbering it reads neither the member nor the text.
    pub(super) by_id: Vec<(Order, usize, u32)>,
}

impl Table<'_> {
    /// The id of member `i`.
    pub(super) fn id(&self, i: usize) -> &str {
        self.members.get(i).map_or("", |(id, _)| id)
    }

    /// Whether the members at `a` and `b` of `by_id` have the same id.
    pub(super) fn same_id(&self, a: &(Order, usize, u32), b: &(Order, usize, u32)) -> bool {
        a.0 == b.0 && self.id(a.1) == self.id(b.1)
    }
}

/// The first 16 bytes of an id, zero-padded, as two big-endian numbers: ids whose keys differ
/// are in the order of their keys, so sorting and comparing ids reads the ids themselves (in
/// the text, a cache miss apiece in a large document) only when their first 16 bytes match.
#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub(super) struct Order(u64, u64);

impl Order {
    fn of(id: &str) -> Order {
        let mut head = [0u8; 16];
        let n = id.len().min(head.len());
        if let (Some(dst), Some(src)) = (head.get_mut(..n), id.as_bytes().get(..n)) {
            dst.copy_from_slice(src);
        }
        let (hi, lo) = head.split_at(8);
        let word = |half: &[u8]| u64::from_be_bytes(half.try_into().unwrap_or_default());
        Order(word(hi), word(lo))
    }

    /// The id of this order and length `len`, when it is at most 16 bytes long.
    pub(super) fn short_id<'b>(&self, len: u32, out: &'b mut [u8; 16]) -> Option<&'b str> {
        out.get_mut(..8)?.copy_from_slice(&self.0.to_be_bytes());
        out.get_mut(8..)?.copy_from_slice(&self.1.to_be_bytes());
        std::str::from_utf8(out.get(..usize::try_from(len).ok()?)?).ok()
    }
}

/// The document as pass 1 saw it. Members given twice are all kept, in document order; the
/// loader keeps the last (as a parsed object would).
pub(super) struct Outline<'de> {
    /// Every top-level key, in document order.
    pub(super) keys: Vec<Cow<'de, str>>,
    /// The last `entities` member.
    pub(super) entities: Option<Found<Vec<TypeEntry<'de>>>>,
    /// The last `relations` member.
    pub(super) relations: Option<Found<Members<'de>>>,
}

/// One member of `entities`.
pub(super) struct TypeEntry<'de> {
    pub(super) name: Cow<'de, str>,
    /// `None` for a type the schema does not declare.
    pub(super) table: Option<(EntityTypeId, Found<Table<'de>>)>,
}

/// The state pass 1 shares between its seeds.
pub(super) struct Pass1<'l, 's> {
    pub(super) loader: &'l mut Loader<'s>,
    pub(super) duplicates: RefCell<Vec<DuplicateKey>>,
    /// The text being read, to place errors found in a slice of it.
    pub(super) text: &'l str,
    /// A syntax error found while reading a slice of the text, placed in the whole document.
    pub(super) fatal: Option<Problem>,
    /// Report repeated entity ids (as they are met).
    pub(super) exact_ids: bool,
    /// An entity id was repeated (and not reported, unless `exact_ids`).
    pub(super) repeated_id: bool,
}

impl Pass1<'_, '_> {
    fn duplicate(&self, trail: &Trail<'_>, key: &str) {
        self.duplicates.borrow_mut().push(DuplicateKey {
            object: trail.segments(),
            key: key.to_owned(),
        });
    }

    /// Reads `raw` (a slice of the text) once more, for its duplicate keys and for syntax the
    /// skipping reader does not decode (escapes, number ranges).
    fn scan<E: de::Error>(&mut self, raw: &RawValue, trail: &Trail<'_>) -> Result<(), E> {
        let mut de = serde_json::Deserializer::from_str(raw.get());
        let scan = DupScan {
            trail,
            duplicates: &self.duplicates,
        };
        match scan.deserialize(&mut de) {
            Ok(()) => Ok(()),
            Err(err) => {
                self.fatal = Some(slice_syntax_problem(self.text, raw.get(), &err));
                Err(E::custom("invalid JSON"))
            }
        }
    }
}

/// A syntax error found reading `slice`, a part of `text`, placed in `text`.
pub(super) fn slice_syntax_problem(text: &str, slice: &str, err: &serde_json::Error) -> Problem {
    let (line, column) = place(text, slice, err.line(), err.column());
    syntax_problem_at(err, line, column)
}

/// The line and column in `text` of (`line`, `column`) of `slice`, a part of it (lines from 1,
/// columns as serde_json counts them).
fn place(text: &str, slice: &str, line: usize, column: usize) -> (usize, usize) {
    let offset = (slice.as_ptr() as usize).saturating_sub(text.as_ptr() as usize);
    let before = text.as_bytes().get(..offset).unwrap_or_default();
    let base_line = 1 + before.iter().filter(|&&b| b == b'\n').count();
    let start_of_line = before
        .iter()
        .rposition(|&b| b == b'\n')
        .map_or(0, |i| i + 1);
    let base_column = offset - start_of_line;
    if line <= 1 {
        (base_line, base_column + column)
    } else {
        (base_line + line - 1, column)
    }
}

/// An object key, borrowed from the text when it has no escapes.
struct KeySeed;

impl<'de> DeserializeSeed<'de> for KeySeed {
    type Value = Cow<'de, str>;

    fn deserialize<D: de::Deserializer<'de>>(self, d: D) -> Result<Cow<'de, str>, D::Error> {
        d.deserialize_str(self)
    }
}

impl<'de> Visitor<'de> for KeySeed {
    type Value = Cow<'de, str>;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a string key")
    }

    fn visit_borrowed_str<E>(self, v: &'de str) -> Result<Cow<'de, str>, E> {
        Ok(Cow::Borrowed(v))
    }

    fn visit_str<E>(self, v: &str) -> Result<Cow<'de, str>, E> {
        Ok(Cow::Owned(v.to_owned()))
    }

    fn visit_string<E>(self, v: String) -> Result<Cow<'de, str>, E> {
        Ok(Cow::Owned(v))
    }
}

/// What a value is, for "found …", as `describe_json` would say it.
fn number(n: serde_json::Number) -> String {
    format!("the number {n}")
}

fn f64_number(v: f64) -> String {
    serde_json::Number::from_f64(v).map_or_else(|| "`null`".into(), number)
}

fn string(v: &str) -> String {
    format!("the string `{}`", clip(v))
}

/// The arms of a visitor for the scalars it does not want (booleans, numbers, strings): each
/// describes the value as a "found …" text, binds it to `$found` and `self` to `$this`, and
/// answers `Ok($answer)`. `null`, arrays and objects differ per visitor and are written out.
macro_rules! found_scalars {
    ($value:ty, |$this:ident, $found:ident| $answer:expr) => {
        fn visit_bool<E>(self, v: bool) -> Result<$value, E> {
            let ($this, $found) = (self, format!("`{v}`"));
            Ok($answer)
        }

        fn visit_i64<E>(self, v: i64) -> Result<$value, E> {
            let ($this, $found) = (self, number(v.into()));
            Ok($answer)
        }

        fn visit_u64<E>(self, v: u64) -> Result<$value, E> {
            let ($this, $found) = (self, number(v.into()));
            Ok($answer)
        }

        fn visit_f64<E>(self, v: f64) -> Result<$value, E> {
            let ($this, $found) = (self, f64_number(v));
            Ok($answer)
        }

        fn visit_str<E>(self, v: &str) -> Result<$value, E> {
            let ($this, $found) = (self, string(v));
            Ok($answer)
        }
    };
}

/// Reads a value that should be an object through `S`, or says what it was instead (reading
/// arrays and objects through the duplicate-reporting [`Seed`]).
struct Shaped<'t, S> {
    inner: S,
    trail: &'t Trail<'t>,
    duplicates: &'t RefCell<Vec<DuplicateKey>>,
}

/// A seed for the members of an object.
trait ObjectSeed<'de> {
    type Out;
    fn visit_object<A: MapAccess<'de>>(self, map: A) -> Result<Self::Out, A::Error>;
}

impl<'de, S: ObjectSeed<'de>> DeserializeSeed<'de> for Shaped<'_, S> {
    type Value = Found<S::Out>;

    fn deserialize<D: de::Deserializer<'de>>(self, d: D) -> Result<Self::Value, D::Error> {
        d.deserialize_any(self)
    }
}

impl<'de, S: ObjectSeed<'de>> Visitor<'de> for Shaped<'_, S> {
    type Value = Found<S::Out>;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("an object")
    }

    fn visit_map<A: MapAccess<'de>>(self, map: A) -> Result<Self::Value, A::Error> {
        self.inner.visit_object(map).map(Found::Object)
    }

    fn visit_seq<A: SeqAccess<'de>>(self, seq: A) -> Result<Self::Value, A::Error> {
        let seed = Seed {
            trail: self.trail,
            duplicates: self.duplicates,
        };
        seed.visit_seq(seq)?;
        Ok(Found::Other("an array".into()))
    }

    fn visit_unit<E>(self) -> Result<Self::Value, E> {
        Ok(Found::Null)
    }

    found_scalars!(Self::Value, |_this, found| Found::Other(found));
}

/// Pass 1 over the whole document.
pub(super) struct TopSeed<'p, 'l, 's> {
    pub(super) pass: &'p mut Pass1<'l, 's>,
}

impl<'de> DeserializeSeed<'de> for TopSeed<'_, '_, '_> {
    type Value = Found<Outline<'de>>;

    fn deserialize<D: de::Deserializer<'de>>(self, d: D) -> Result<Self::Value, D::Error> {
        let root = Trail::Root;
        // The duplicates cell is borrowed by `Shaped` for non-objects only; members are read
        // through `self.pass`, which owns it.
        let duplicates = RefCell::new(Vec::new());
        let found = Shaped {
            inner: TopMembers { pass: self.pass },
            trail: &root,
            duplicates: &duplicates,
        }
        .deserialize(d)?;
        // Only a document that is not an object puts duplicates here.
        let mut inner = duplicates.into_inner();
        if !inner.is_empty() {
            self.pass.duplicates.borrow_mut().append(&mut inner);
        }
        Ok(found)
    }
}

struct TopMembers<'p, 'l, 's> {
    pass: &'p mut Pass1<'l, 's>,
}

impl<'de> ObjectSeed<'de> for TopMembers<'_, '_, '_> {
    type Out = Outline<'de>;

    fn visit_object<A: MapAccess<'de>>(self, mut map: A) -> Result<Outline<'de>, A::Error> {
        let pass = self.pass;
        let root = Trail::Root;
        let mut outline = Outline {
            keys: Vec::new(),
            entities: None,
            relations: None,
        };
        while let Some(key) = map.next_key_seed(KeySeed)? {
            let trail = Trail::Key(&root, &key);
            match &*key {
                "entities" => {
                    let duplicates = RefCell::new(Vec::new());
                    let found = map.next_value_seed(Shaped {
                        inner: TypeMembers {
                            pass: &mut *pass,
                            trail: &trail,
                        },
                        trail: &trail,
                        duplicates: &duplicates,
                    })?;
                    pass.duplicates
                        .borrow_mut()
                        .append(&mut duplicates.into_inner());
                    outline.entities = Some(found);
                }
                "relations" => {
                    let duplicates = RefCell::new(Vec::new());
                    let found = map.next_value_seed(Shaped {
                        inner: RelationMembers {
                            pass: &mut *pass,
                            trail: &trail,
                        },
                        trail: &trail,
                        duplicates: &duplicates,
                    })?;
                    pass.duplicates
                        .borrow_mut()
                        .append(&mut duplicates.into_inner());
                    outline.relations = Some(found);
                }
                _ => {
                    map.next_value_seed(Seed {
                        trail: &trail,
                        duplicates: &pass.duplicates,
                    })?;
                }
            }
            if outline.keys.contains(&key) {
                pass.duplicate(&root, &key);
            }
            outline.keys.push(key);
        }
        Ok(outline)
    }
}

/// The members of `entities`: entity type to table.
struct TypeMembers<'p, 'l, 's, 't> {
    pass: &'p mut Pass1<'l, 's>,
    trail: &'t Trail<'t>,
}

impl<'de> ObjectSeed<'de> for TypeMembers<'_, '_, '_, '_> {
    type Out = Vec<TypeEntry<'de>>;

    fn visit_object<A: MapAccess<'de>>(self, mut map: A) -> Result<Self::Out, A::Error> {
        let pass = self.pass;
        let mut types: Vec<TypeEntry<'de>> = Vec::new();
        while let Some(name) = map.next_key_seed(KeySeed)? {
            let trail = Trail::Key(self.trail, &name);
            let table = match pass.loader.entity_type(&name) {
                Some(ty) => {
                    let duplicates = RefCell::new(Vec::new());
                    let found = map.next_value_seed(Shaped {
                        inner: IdMembers {
                            pass: &mut *pass,
                            trail: &trail,
                        },
                        trail: &trail,
                        duplicates: &duplicates,
                    })?;
                    pass.duplicates
                        .borrow_mut()
                        .append(&mut duplicates.into_inner());
                    Some((ty, found))
                }
                None => {
                    map.next_value_seed(Seed {
                        trail: &trail,
                        duplicates: &pass.duplicates,
                    })?;
                    None
                }
            };
            if types.iter().any(|t| t.name == name) {
                pass.duplicate(self.trail, &name);
            }
            types.push(TypeEntry { name, table });
        }
        Ok(types)
    }
}

/// The members of one entity table: id to the text of its attributes, and their order by id
/// (sorting pairs of an [`Order`] and an index, not the members). Repeated ids are reported in document
/// order only when [`Pass1::exact_ids`] is set (it costs a hash set of the ids); otherwise
/// [`Pass1::repeated_id`] is set, and the loader reads the document again with it.
struct IdMembers<'p, 'l, 's, 't> {
    pass: &'p mut Pass1<'l, 's>,
    trail: &'t Trail<'t>,
}

impl<'de> ObjectSeed<'de> for IdMembers<'_, '_, '_, '_> {
    type Out = Table<'de>;

    fn visit_object<A: MapAccess<'de>>(self, mut map: A) -> Result<Self::Out, A::Error> {
        let pass = self.pass;
        let mut members: Members<'de> = Vec::new();
        // Each id's order, taken while its text is at hand.
        let mut by_id: Vec<(Order, usize, u32)> = Vec::new();
        let mut seen: Option<HashSet<Cow<'de, str>>> = pass.exact_ids.then(HashSet::default);
        while let Some(key) = map.next_key_seed(KeySeed)? {
            let raw: &'de RawValue = map.next_value()?;
            pass.scan(raw, &Trail::Key(self.trail, &key))?;
            if let Some(seen) = &mut seen
                && !seen.insert(key.clone())
            {
                pass.duplicate(self.trail, &key);
            }
            let len = u32::try_from(key.len()).unwrap_or(u32::MAX);
            by_id.push((Order::of(&key), members.len(), len));
            members.push((key, raw));
        }
        let mut table = Table {
            members,
            by_id: Vec::new(),
        };
        // Equal ids stay in document order.
        by_id.sort_unstable_by(|a, b| {
            a.0.cmp(&b.0)
                .then_with(|| table.id(a.1).cmp(table.id(b.1)))
                .then(a.1.cmp(&b.1))
        });
        if by_id
            .windows(2)
            .any(|w| matches!(w, [a, b] if table.same_id(a, b)))
        {
            pass.repeated_id = true;
        }
        table.by_id = by_id;
        Ok(table)
    }
}

/// The members of `relations`: name to the text of its edges.
struct RelationMembers<'p, 'l, 's, 't> {
    pass: &'p mut Pass1<'l, 's>,
    trail: &'t Trail<'t>,
}

impl<'de> ObjectSeed<'de> for RelationMembers<'_, '_, '_, '_> {
    type Out = Vec<(Cow<'de, str>, &'de RawValue)>;

    fn visit_object<A: MapAccess<'de>>(self, mut map: A) -> Result<Self::Out, A::Error> {
        let pass = self.pass;
        let mut out: Vec<(Cow<'de, str>, &'de RawValue)> = Vec::new();
        while let Some(name) = map.next_key_seed(KeySeed)? {
            let raw: &'de RawValue = map.next_value()?;
            pass.scan(raw, &Trail::Key(self.trail, &name))?;
            if out.iter().any(|(n, _)| *n == name) {
                pass.duplicate(self.trail, &name);
            }
            out.push((name, raw));
        }
        Ok(out)
    }
}

/// Reads a value for its duplicate keys only (what [`Seed`] reports, without building it).
struct DupScan<'t> {
    trail: &'t Trail<'t>,
    duplicates: &'t RefCell<Vec<DuplicateKey>>,
}

impl<'de> DeserializeSeed<'de> for DupScan<'_> {
    type Value = ();

    fn deserialize<D: de::Deserializer<'de>>(self, d: D) -> Result<(), D::Error> {
        d.deserialize_any(self)
    }
}

impl<'de> Visitor<'de> for DupScan<'_> {
    type Value = ();

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("any JSON value")
    }

    fn visit_bool<E>(self, _: bool) -> Result<(), E> {
        Ok(())
    }

    fn visit_i64<E>(self, _: i64) -> Result<(), E> {
        Ok(())
    }

    fn visit_u64<E>(self, _: u64) -> Result<(), E> {
        Ok(())
    }

    fn visit_f64<E>(self, _: f64) -> Result<(), E> {
        Ok(())
    }

    fn visit_str<E>(self, _: &str) -> Result<(), E> {
        Ok(())
    }

    fn visit_unit<E>(self) -> Result<(), E> {
        Ok(())
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<(), A::Error> {
        let mut i = 0;
        loop {
            let trail = Trail::Index(self.trail, i);
            let scan = DupScan {
                trail: &trail,
                duplicates: self.duplicates,
            };
            if seq.next_element_seed(scan)?.is_none() {
                return Ok(());
            }
            i += 1;
        }
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<(), A::Error> {
        /// Past this many keys, duplicates are found with a hash set.
        const LINEAR: usize = 16;
        let mut keys: SmallVec<[Cow<'de, str>; LINEAR]> = SmallVec::new();
        let mut many: Option<HashSet<Cow<'de, str>>> = None;
        while let Some(key) = map.next_key_seed(KeySeed)? {
            let trail = Trail::Key(self.trail, &key);
            map.next_value_seed(DupScan {
                trail: &trail,
                duplicates: self.duplicates,
            })?;
            let repeated = match &mut many {
                Some(set) => !set.insert(key.clone()),
                None => {
                    let repeated = keys.contains(&key);
                    keys.push(key.clone());
                    if keys.len() > LINEAR {
                        many = Some(keys.drain(..).collect());
                    }
                    repeated
                }
            };
            if repeated {
                self.duplicates.borrow_mut().push(DuplicateKey {
                    object: self.trail.segments(),
                    key: key.into_owned(),
                });
            }
        }
        Ok(())
    }
}

/// Per attribute of the entity being read: whether it was given, and its value and problems
/// (the last occurrence wins, as in a parsed object).
#[derive(Default)]
pub(super) struct Slot {
    seen: bool,
    value: Option<Value>,
    problems: Problems,
}

/// References to entities met in pass 2 and not looked up yet: the loader looks them up in
/// batches (see [`super::ids::Ids::get_many`]) once the entities holding them are written, so
/// the lookups (each a likely cache miss in a large estate) overlap. Each is an attribute's own
/// value (not a set element) given as an id without escapes.
#[derive(Default)]
pub(super) struct Deferred<'t> {
    /// The attribute (its index in the type), the entity's number, the type referred to and
    /// the id; in the order read.
    pub(super) refs: Vec<(usize, usize, EntityTypeId, &'t str)>,
    /// A deferred id was not found: pass 2 must run again without deferring, which reports
    /// what is wrong where and in order.
    pub(super) missed: bool,
}

/// Pass 2 for one entity: its attributes, from its text, into `columns` at `idx`.
pub(super) struct EntitySeed<'a, 's, 't> {
    pub(super) schema: &'s Schema,
    pub(super) entity_type: &'s EntityType,
    pub(super) loader: &'a mut Loader<'s>,
    pub(super) columns: &'a mut [Vec<Value>],
    pub(super) idx: usize,
    pub(super) path: &'a Path<'a>,
    pub(super) problems: &'a mut Problems,
    pub(super) slots: &'a mut Vec<Slot>,
    /// Where references are put off to, when they are (else they are looked up as read).
    pub(super) deferred: Option<&'a mut Deferred<'t>>,
}

impl<'t> DeserializeSeed<'t> for EntitySeed<'_, '_, 't> {
    type Value = ();

    fn deserialize<D: de::Deserializer<'t>>(self, d: D) -> Result<(), D::Error> {
        d.deserialize_any(self)
    }
}

impl EntitySeed<'_, '_, '_> {
    fn not_an_object(self, found: String) {
        self.problems.push(
            self.path,
            format!("expected an object of attributes, found {found}"),
        );
    }
}

impl<'t> Visitor<'t> for EntitySeed<'_, '_, 't> {
    type Value = ();

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("an object of attributes")
    }

    fn visit_map<A: MapAccess<'t>>(mut self, mut map: A) -> Result<(), A::Error> {
        let schema = self.schema;
        let entity_type = self.entity_type;
        let slots = self.slots;
        slots.clear();
        slots.resize_with(entity_type.attrs.len(), Slot::default);
        let mut unknown: Vec<Cow<'t, str>> = Vec::new();
        while let Some(key) = map.next_key_seed(KeySeed)? {
            let found = entity_type.attrs.iter().position(|f| f.name == *key);
            match found.and_then(|i| Some((i, entity_type.attrs.get(i)?, slots.get_mut(i)?))) {
                Some((attr, field, slot)) => {
                    slot.seen = true;
                    slot.problems = Problems::default();
                    let path = self.path.key(&field.name);
                    slot.value = map.next_value_seed(ConvertSeed {
                        schema,
                        env: &mut *self.loader,
                        ty: &field.ty,
                        path: &path,
                        problems: &mut slot.problems,
                        attribute: Some((entity_type, &field.name)),
                        deferred: self
                            .deferred
                            .as_deref_mut()
                            .map(|deferred| (deferred, attr, self.idx)),
                    })?;
                }
                None => {
                    map.next_value::<IgnoredAny>()?;
                    unknown.push(key);
                }
            }
        }
        if !unknown.is_empty() {
            unknown.sort();
            unknown.dedup();
            for key in &unknown {
                self.problems.push(
                    &self.path.key(key),
                    format!(
                        "unknown attribute `{key}` of `{}` (it has {}){}",
                        entity_type.name,
                        list(entity_type.attrs.iter().map(|f| f.name.as_str())),
                        did_you_mean(key, entity_type.attrs.iter().map(|f| f.name.as_str()))
                    ),
                );
            }
        }
        for ((field, slot), column) in entity_type
            .attrs
            .iter()
            .zip(slots.iter_mut())
            .zip(self.columns.iter_mut())
        {
            let value = if !slot.seen {
                if field.ty.is_optional() {
                    Some(Value::Absent)
                } else {
                    self.problems.push(
                        &self.path.key(&field.name),
                        format!(
                            "missing attribute `{}` of `{}` (type `{}`)",
                            field.name,
                            entity_type.name,
                            type_name(schema, &field.ty)
                        ),
                    );
                    None
                }
            } else {
                self.problems.append(std::mem::take(&mut slot.problems));
                slot.value.take()
            };
            if let (Some(value), Some(cell)) = (value, column.get_mut(self.idx)) {
                *cell = value;
            }
        }
        Ok(())
    }

    fn visit_seq<A: SeqAccess<'t>>(self, mut seq: A) -> Result<(), A::Error> {
        while seq.next_element::<IgnoredAny>()?.is_some() {}
        self.not_an_object("an array".into());
        Ok(())
    }

    fn visit_unit<E>(self) -> Result<(), E> {
        self.not_an_object("`null`".into());
        Ok(())
    }

    found_scalars!((), |this, found| this.not_an_object(found));
}

/// Converts one JSON value to a [`Value`] of type `ty` as it is read: the streaming form of
/// [`convert`], with the same messages. `None` when a problem was pushed.
struct ConvertSeed<'a, 's, 't> {
    schema: &'s Schema,
    env: &'a mut Loader<'s>,
    ty: &'s Type,
    path: &'a Path<'a>,
    problems: &'a mut Problems,
    /// Set for an attribute's own value (not a set element), with the attribute's name:
    /// `null` is then a missing attribute, unless the attribute is optional.
    attribute: Option<(&'s EntityType, &'s str)>,
    /// Where a reference is put off to, with the attribute's index and the entity's number;
    /// the value read is then [`Value::Absent`] until the loader writes the reference.
    deferred: Option<(&'a mut Deferred<'t>, usize, usize)>,
}

impl<'t> DeserializeSeed<'t> for ConvertSeed<'_, '_, 't> {
    type Value = Option<Value>;

    fn deserialize<D: de::Deserializer<'t>>(self, d: D) -> Result<Option<Value>, D::Error> {
        d.deserialize_any(self)
    }
}

impl<'s> ConvertSeed<'_, 's, '_> {
    /// The type values are checked against: optional wrappers accept `null` and otherwise
    /// convert as their inner type.
    fn inner(&self) -> &'s Type {
        let mut ty = self.ty;
        while let Type::Optional(inner) = ty {
            ty = inner;
        }
        ty
    }

    fn mistyped(self, found: &str) -> Option<Value> {
        let message = format!("{}, found {found}", expected(self.schema, self.inner()));
        self.problems.push(self.path, message);
        None
    }

    fn out_of_range(self, message: String) -> Option<Value> {
        self.problems.push(self.path, message);
        None
    }
}

/// Whether an integral float lies strictly inside the range of `i64` (see `convert`).
fn fits_i64(f: f64) -> bool {
    f > -9_223_372_036_854_775_808.0 && f < 9_223_372_036_854_775_808.0
}

const INT_RANGE: &str = "-9223372036854775808 to 9223372036854775807";

impl<'t> Visitor<'t> for ConvertSeed<'_, '_, 't> {
    type Value = Option<Value>;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("an attribute value")
    }

    fn visit_unit<E>(self) -> Result<Option<Value>, E> {
        if self.ty.is_optional() {
            return Ok(Some(Value::Absent));
        }
        if let Some((entity_type, name)) = self.attribute {
            let message = format!(
                "missing attribute `{name}` of `{}` (type `{}`) (`null` is only allowed for \
                 an optional attribute)",
                entity_type.name,
                type_name(self.schema, self.ty)
            );
            self.problems.push(self.path, message);
            return Ok(None);
        }
        Ok(self.mistyped("`null`"))
    }

    fn visit_bool<E>(self, v: bool) -> Result<Option<Value>, E> {
        Ok(match self.inner() {
            Type::Bool => Some(Value::Bool(v)),
            _ => self.mistyped(&format!("`{v}`")),
        })
    }

    fn visit_i64<E>(self, v: i64) -> Result<Option<Value>, E> {
        Ok(match self.inner() {
            Type::Int => Some(Value::Int(v)),
            _ => self.mistyped(&number(v.into())),
        })
    }

    fn visit_u64<E>(self, v: u64) -> Result<Option<Value>, E> {
        Ok(match (self.inner(), i64::try_from(v)) {
            (Type::Int, Ok(v)) => Some(Value::Int(v)),
            (Type::Int, Err(_)) => self.out_of_range(format!(
                "the integer {v} is out of range for Int ({INT_RANGE})"
            )),
            _ => self.mistyped(&number(v.into())),
        })
    }

    fn visit_f64<E>(self, v: f64) -> Result<Option<Value>, E> {
        Ok(match self.inner() {
            // An integer beyond the range of `i64` arrives as a float whose digits are not
            // the ones written: say what is wrong without echoing them.
            Type::Int if v.fract() == 0.0 && !fits_i64(v) => {
                self.out_of_range(format!("the integer is out of range for Int ({INT_RANGE})"))
            }
            _ => self.mistyped(&f64_number(v)),
        })
    }

    fn visit_borrowed_str<E: de::Error>(mut self, s: &'t str) -> Result<Option<Value>, E> {
        if let Type::Entity(ety) = self.inner()
            && let Some((deferred, attr, idx)) = self.deferred.take()
        {
            deferred.refs.push((attr, idx, *ety, s));
            return Ok(Some(Value::Absent));
        }
        self.visit_str(s)
    }

    fn visit_str<E>(self, s: &str) -> Result<Option<Value>, E> {
        let schema = self.schema;
        let ty = self.inner();
        Ok(match ty {
            Type::String => Some(Value::Str(self.env.intern(s))),
            Type::Duration => match crate::time::parse_duration(s) {
                Some(secs) => Some(Value::Int(secs)),
                None => self.out_of_range(format!(
                    "malformed duration `{}` (expected a duration like `90s`, `30m`, `4h`, \
                     `2d` or `1h30m`)",
                    clip(s)
                )),
            },
            Type::Timestamp => match crate::time::parse_timestamp(s) {
                Some(secs) => Some(Value::Int(secs)),
                None => self.out_of_range(format!(
                    "malformed timestamp `{}` (expected RFC 3339 like `2026-11-28T05:00:00Z`, \
                     years 0001 to 9999)",
                    clip(s)
                )),
            },
            Type::Entity(ety) => resolve(schema, self.env, *ety, s, self.path, self.problems)
                .map(|idx| Value::Entity(EntityRef::Known { ty: *ety, idx })),
            Type::Enum(eid) => {
                let variants = variants(schema, *eid);
                match variants.iter().position(|v| v == s) {
                    Some(i) => u32::try_from(i).ok().map(Value::Enum),
                    None => self.out_of_range(format!(
                        "unknown `{}` variant `{}` (expected one of {}){}",
                        type_name(schema, ty),
                        clip(s),
                        list(variants.iter().map(String::as_str)),
                        did_you_mean(s, variants.iter().map(String::as_str))
                    )),
                }
            }
            _ => self.mistyped(&string(s)),
        })
    }

    fn visit_seq<A: SeqAccess<'t>>(self, mut seq: A) -> Result<Option<Value>, A::Error> {
        let Type::Set(elem) = self.inner() else {
            while seq.next_element::<IgnoredAny>()?.is_some() {}
            return Ok(self.mistyped("an array"));
        };
        // Built on the stack, sorted and deduplicated as `Value::set` does, then copied once
        // into the set's allocation, or shared with an equal set (see `Loader::set`).
        let mut out: SmallVec<[Value; 8]> = SmallVec::new();
        let mut ok = true;
        let mut i = 0;
        loop {
            let path = self.path.index(i);
            let item = seq.next_element_seed(ConvertSeed {
                schema: self.schema,
                env: &mut *self.env,
                ty: elem,
                path: &path,
                problems: &mut *self.problems,
                attribute: None,
                deferred: None,
            })?;
            match item {
                Some(Some(v)) => out.push(v),
                Some(None) => ok = false,
                None => break,
            }
            i += 1;
        }
        Ok(ok.then(|| {
            out.sort();
            out.dedup();
            Value::Set(self.env.set(&out))
        }))
    }

    fn visit_map<A: MapAccess<'t>>(self, mut map: A) -> Result<Option<Value>, A::Error> {
        while map.next_entry::<IgnoredAny, IgnoredAny>()?.is_some() {}
        Ok(self.mistyped("an object"))
    }
}

/// The index of entity `id` of type `ty`, or a "dangling reference" problem.
fn resolve(
    schema: &Schema,
    env: &mut Loader<'_>,
    ty: EntityTypeId,
    id: &str,
    path: &Path<'_>,
    problems: &mut Problems,
) -> Option<u32> {
    match env.entity(ty, id) {
        Some(idx) => Some(idx),
        None => {
            let message = super::convert::unknown_entity(schema, &*env, ty, id);
            problems.push(path, message);
            None
        }
    }
}

/// Pass 2 for one relation: its edges, from its text, into `out`.
pub(super) struct RelationSeed<'a, 's> {
    pub(super) schema: &'s Schema,
    pub(super) relation: &'s Relation,
    pub(super) loader: &'a mut Loader<'s>,
    pub(super) path: &'a Path<'a>,
    pub(super) out: &'a mut Vec<(u32, u32)>,
    pub(super) problems: &'a mut Problems,
}

impl<'de> DeserializeSeed<'de> for RelationSeed<'_, '_> {
    type Value = ();

    fn deserialize<D: de::Deserializer<'de>>(self, d: D) -> Result<(), D::Error> {
        d.deserialize_any(self)
    }
}

impl RelationSeed<'_, '_> {
    /// Resolves the edges of `batch` (the first one at index `first`) into `out`, draining it.
    /// The ids of the batch are looked up together first (see [`super::ids::Ids::get_many`]);
    /// `found` holds their numbers, sources then targets.
    fn resolve_edges(
        &mut self,
        first: usize,
        batch: &mut Vec<Edge<'_>>,
        found: &mut (Vec<Option<u32>>, Vec<Option<u32>>),
    ) {
        fn id<'e>(end: &'e End<'_>) -> &'e str {
            match end {
                End::Id(id) => id,
                End::Other(_) => "",
            }
        }
        let ends = |a: bool| {
            batch.iter().map(move |edge| match edge {
                Edge::Pair(from, to) => id(if a { from } else { to }),
                Edge::Not(_) => "",
            })
        };
        let (froms, tos) = found;
        for (ty, ids, out) in [
            (self.relation.from, ends(true), &mut *froms),
            (self.relation.to, ends(false), &mut *tos),
        ] {
            match self.loader.ids_of(ty) {
                Some(table) => table.get_many(ids, out),
                None => {
                    out.clear();
                    out.extend(ids.map(|_| None));
                }
            }
        }
        let edges = batch.drain(..).zip(froms.iter().zip(tos.iter()));
        for (i, (edge, (&from, &to))) in (first..).zip(edges) {
            let path = self.path.index(i);
            let (a, b) = match edge {
                Edge::Pair(a, b) => (a, b),
                Edge::Not(found) => {
                    self.problems.push(
                        &path,
                        format!(
                            "expected an edge `[from, to]` (an array of two ids), found {found}"
                        ),
                    );
                    continue;
                }
            };
            let from = self.end(self.relation.from, &a, from, &path.index(0));
            let to = self.end(self.relation.to, &b, to, &path.index(1));
            if let (Some(from), Some(to)) = (from, to) {
                self.out.push((from, to));
            }
        }
    }

    /// The number of one end of an edge: `found` when the end is an id that was found, else
    /// resolved here (which says what is wrong).
    fn end(
        &mut self,
        ty: EntityTypeId,
        end: &End<'_>,
        found: Option<u32>,
        path: &Path<'_>,
    ) -> Option<u32> {
        if let (End::Id(_), Some(idx)) = (end, found) {
            return Some(idx);
        }
        self.resolve_end(ty, end, path)
    }

    fn resolve_end(&mut self, ty: EntityTypeId, end: &End<'_>, path: &Path<'_>) -> Option<u32> {
        match end {
            End::Id(id) => resolve(self.schema, self.loader, ty, id, path, self.problems),
            End::Other(json) => {
                match convert(
                    self.schema,
                    self.loader,
                    &Type::Entity(ty),
                    json,
                    path,
                    self.problems,
                ) {
                    Some(Value::Entity(EntityRef::Known { idx, .. })) => Some(idx),
                    _ => None,
                }
            }
        }
    }

    fn not_an_array(self, found: String) {
        self.problems.push(
            self.path,
            format!("expected an array of edges like `[[\"from-id\", \"to-id\"]]`, found {found}"),
        );
    }
}

impl<'de> Visitor<'de> for RelationSeed<'_, '_> {
    type Value = ();

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("an array of edges")
    }

    fn visit_seq<A: SeqAccess<'de>>(mut self, mut seq: A) -> Result<(), A::Error> {
        // Edges are read in batches and then resolved together: the id lookups of a batch
        // (each a likely cache miss in a large estate) do not wait on the parsing between
        // them. Problems still come in edge order.
        let mut batch: Vec<Edge<'de>> = Vec::with_capacity(BATCH);
        let mut found = (Vec::with_capacity(BATCH), Vec::with_capacity(BATCH));
        let mut first = 0;
        while let Some(edge) = seq.next_element_seed(EdgeSeed)? {
            batch.push(edge);
            if batch.len() == BATCH {
                self.resolve_edges(first, &mut batch, &mut found);
                first += BATCH;
            }
        }
        self.resolve_edges(first, &mut batch, &mut found);
        Ok(())
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<(), A::Error> {
        while map.next_entry::<IgnoredAny, IgnoredAny>()?.is_some() {}
        self.not_an_array("an object".into());
        Ok(())
    }

    fn visit_unit<E>(self) -> Result<(), E> {
        self.not_an_array("`null`".into());
        Ok(())
    }

    found_scalars!((), |this, found| this.not_an_array(found));
}

/// One edge `[from, to]`, read but not resolved.
struct EdgeSeed;

/// An edge as read.
enum Edge<'de> {
    Pair(End<'de>, End<'de>),
    /// Not an array of two values: what it was.
    Not(String),
}

impl<'de> DeserializeSeed<'de> for EdgeSeed {
    type Value = Edge<'de>;

    fn deserialize<D: de::Deserializer<'de>>(self, d: D) -> Result<Edge<'de>, D::Error> {
        d.deserialize_any(self)
    }
}

/// One end of an edge: an id, or any other value (which is a problem, described by
/// [`convert`]).
enum End<'de> {
    Id(Cow<'de, str>),
    Other(serde_json::Value),
}

impl<'de> serde::Deserialize<'de> for End<'de> {
    fn deserialize<D: de::Deserializer<'de>>(d: D) -> Result<End<'de>, D::Error> {
        struct EndVisitor;
        impl<'de> Visitor<'de> for EndVisitor {
            type Value = End<'de>;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("an entity id")
            }
            fn visit_borrowed_str<E>(self, v: &'de str) -> Result<End<'de>, E> {
                Ok(End::Id(Cow::Borrowed(v)))
            }
            fn visit_str<E>(self, v: &str) -> Result<End<'de>, E> {
                Ok(End::Id(Cow::Owned(v.to_owned())))
            }
            fn visit_unit<E>(self) -> Result<End<'de>, E> {
                Ok(End::Other(serde_json::Value::Null))
            }
            fn visit_bool<E>(self, v: bool) -> Result<End<'de>, E> {
                Ok(End::Other(v.into()))
            }
            fn visit_i64<E>(self, v: i64) -> Result<End<'de>, E> {
                Ok(End::Other(v.into()))
            }
            fn visit_u64<E>(self, v: u64) -> Result<End<'de>, E> {
                Ok(End::Other(v.into()))
            }
            fn visit_f64<E>(self, v: f64) -> Result<End<'de>, E> {
                Ok(End::Other(serde_json::Number::from_f64(v).map_or(
                    serde_json::Value::Null,
                    serde_json::Value::Number,
                )))
            }
            fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<End<'de>, A::Error> {
                while seq.next_element::<IgnoredAny>()?.is_some() {}
                Ok(End::Other(serde_json::Value::Array(Vec::new())))
            }
            fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<End<'de>, A::Error> {
                while map.next_entry::<IgnoredAny, IgnoredAny>()?.is_some() {}
                Ok(End::Other(
                    serde_json::Value::Object(serde_json::Map::new()),
                ))
            }
        }
        d.deserialize_any(EndVisitor)
    }
}

impl<'de> Visitor<'de> for EdgeSeed {
    type Value = Edge<'de>;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("an edge")
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Edge<'de>, A::Error> {
        let a: Option<End<'de>> = seq.next_element()?;
        let b: Option<End<'de>> = match a {
            Some(_) => seq.next_element()?,
            None => None,
        };
        let more = b.is_some() && seq.next_element::<IgnoredAny>()?.is_some();
        if more {
            while seq.next_element::<IgnoredAny>()?.is_some() {}
        }
        Ok(match (a, b, more) {
            (Some(a), Some(b), false) => Edge::Pair(a, b),
            _ => Edge::Not("an array".into()),
        })
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Edge<'de>, A::Error> {
        while map.next_entry::<IgnoredAny, IgnoredAny>()?.is_some() {}
        Ok(Edge::Not("an object".into()))
    }

    fn visit_unit<E>(self) -> Result<Edge<'de>, E> {
        Ok(Edge::Not("`null`".into()))
    }

    found_scalars!(Edge<'de>, |_this, found| Edge::Not(found));
}
