//! The entity store: an immutable snapshot of the estate (entities, attributes, relation edges),
//! loaded from the JSON format of `docs/language.md` §9 and validated against the program's schema.
//!
//! Loading reads the JSON text straight into the tables (see [`stream`]: no parsed
//! `serde_json::Value` for the document or an entity; a document given as a `Value` is written
//! out as text first, the slower path). It reports every problem it finds (up to a cap) with
//! its JSON path, and returns either a complete store or an error, never something half-loaded.
//! Attribute strings are interned (one `Arc<str>` per distinct string; an entity id has its own
//! in its type's table), entities are dense `u32` indices
//! per type (found from their ids through [`ids`]), attributes live in columns, relations are
//! adjacency in CSR form with a lazily memoized closure and closure sizes (see [`graph`]). A
//! `Store` is `Send + Sync` and never changes after it is built; the closure memo fills in
//! without locks on the read path. The store knows the schema and JSON, not rules, requests or
//! evaluation.

mod convert;
mod graph;
mod ids;
mod stream;

use std::borrow::Cow;
use std::cell::RefCell;
use std::collections::HashSet;
use std::fmt;
use std::sync::Arc;

use serde::de::DeserializeSeed;
use serde_json::Value as Json;
use serde_json::value::RawValue;
use ward_ir::{EntityTypeId, RelationId, Schema};

pub use convert::Problem;
pub(crate) use convert::{
    DuplicateKey, Env, Path, Problems, convert, describe_json, did_you_mean, list, parse_json,
    syntax_problem, type_name, write_problems,
};
pub use graph::ClosureCount;
use graph::RelationIndex;
use ids::BATCH;
use ids::{Ids, IdsBuilder};
use stream::{
    Deferred, EntitySeed, Found, Order, Pass1, RelationSeed, Table, TopSeed, slice_syntax_problem,
};

use crate::{EntityRef, Value};

/// An entities document that does not match the schema: every problem found, each with the
/// JSON path it is about.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub struct LoadError {
    problems: Vec<Problem>,
    omitted: usize,
}

impl LoadError {
    /// The problems, in document order (at most 100).
    pub fn problems(&self) -> &[Problem] {
        &self.problems
    }

    /// How many further problems were found but not listed.
    pub fn omitted(&self) -> usize {
        self.omitted
    }

    fn from_problems(problems: Problems) -> LoadError {
        LoadError {
            problems: problems.list,
            omitted: problems.omitted,
        }
    }
}

/// One problem per line.
impl fmt::Display for LoadError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write_problems(f, &self.problems, self.omitted, "\n")
    }
}

/// The interned attribute strings of a store.
type Strings = HashSet<Arc<str>, foldhash::fast::RandomState>;

/// An immutable, validated snapshot of the estate.
pub struct Store {
    types: Vec<TypeTable>,
    relations: Vec<RelationIndex>,
    strings: Strings,
}

/// The entities of one type.
struct TypeTable {
    /// The ids, by dense index, and the index from id.
    ids: Ids,
    /// One column per attribute, indexed by entity.
    columns: Vec<Vec<Value>>,
}

impl fmt::Debug for Store {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Store")
            .field(
                "entities",
                &self.types.iter().map(|t| t.ids.len()).collect::<Vec<_>>(),
            )
            .field("relations", &self.relations)
            .field("strings", &self.strings.len())
            .finish()
    }
}

const TOP_LEVEL_KEYS: [&str; 2] = ["entities", "relations"];

impl Store {
    /// A store with no entities and no edges.
    pub fn empty(schema: &Schema) -> Store {
        Store {
            types: schema
                .entities
                .iter()
                .map(|e| TypeTable {
                    ids: Ids::default(),
                    columns: e.attrs.iter().map(|_| Vec::new()).collect(),
                })
                .collect(),
            relations: schema
                .relations
                .iter()
                .map(|r| RelationIndex::new(0, 0, r.from == r.to, Vec::new()))
                .collect(),
            strings: Strings::default(),
        }
    }

    /// Loads an entities document given as a parsed value. This is the slower path, for
    /// callers that hold a `serde_json::Value` already: the value is written out as JSON text
    /// and loaded by [`Store::from_str`] (so both report the same problems). Duplicate keys
    /// cannot be seen in a parsed value (serde_json keeps the last one): load the text to have
    /// them reported.
    pub fn from_json(schema: &Schema, doc: &Json) -> Result<Store, LoadError> {
        let text = serde_json::to_string(doc).map_err(|e| LoadError {
            problems: vec![Problem {
                path: String::new(),
                message: format!("the document cannot be written as JSON: {e}"),
            }],
            omitted: 0,
        })?;
        Store::from_str(schema, &text)
    }

    /// Parses and loads an entities document, streaming: the text is read straight into the
    /// store's tables, with no parsed document in between. JSON syntax errors say
    /// `line:column`; duplicate keys (a duplicate entity id, an attribute given twice) are
    /// problems too.
    pub fn from_str(schema: &Schema, text: &str) -> Result<Store, LoadError> {
        let mut problems = Problems::default();
        match Loader::new(schema).load(text, &mut problems) {
            Some(store) if problems.is_empty() => Ok(store),
            _ => Err(LoadError::from_problems(problems)),
        }
    }

    /// Like [`Store::from_str`] for bytes: text that is not UTF-8 is a problem naming the
    /// offset of the first bad byte.
    pub fn from_bytes(schema: &Schema, bytes: &[u8]) -> Result<Store, LoadError> {
        let text = std::str::from_utf8(bytes).map_err(|e| LoadError {
            problems: vec![Problem {
                path: String::new(),
                message: format!(
                    "the document is not valid UTF-8 (bad byte at offset {})",
                    e.valid_up_to()
                ),
            }],
            omitted: 0,
        })?;
        Store::from_str(schema, text)
    }

    /// The dense index of entity `id` of type `ty`.
    pub fn lookup(&self, ty: EntityTypeId, id: &str) -> Option<u32> {
        self.types.get(ty.index())?.ids.get(id)
    }

    /// The entity `id` of type `ty` as the interpreter sees it: known when the store has it.
    pub fn entity(&self, ty: EntityTypeId, id: &str) -> EntityRef {
        match self.lookup(ty, id) {
            Some(idx) => EntityRef::Known { ty, idx },
            None => EntityRef::Unknown {
                ty,
                id: self.intern(id),
            },
        }
    }

    pub fn entity_id(&self, ty: EntityTypeId, idx: u32) -> Option<&Arc<str>> {
        self.types.get(ty.index())?.ids.id(idx)
    }

    pub fn entity_count(&self, ty: EntityTypeId) -> usize {
        self.types.get(ty.index()).map_or(0, |t| t.ids.len())
    }

    /// Attribute `attr` (index into the type's attributes) of an entity; [`Value::Absent`] for a
    /// missing optional attribute. `None` only for indices out of range.
    pub fn attr(&self, ty: EntityTypeId, idx: u32, attr: u32) -> Option<&Value> {
        self.types
            .get(ty.index())?
            .columns
            .get(attr as usize)?
            .get(idx as usize)
    }

    /// Direct successors of `idx` (or predecessors when `inverse`), sorted and deduplicated.
    pub fn related(&self, rel: RelationId, inverse: bool, idx: u32) -> &[u32] {
        self.relations
            .get(rel.index())
            .map_or(&[], |r| r.related(inverse, idx))
    }

    /// Everything reachable from `idx` by one or more edges (against the edges when
    /// `inverse`), sorted; `idx` itself only when it lies on a cycle. Memoized per snapshot (up
    /// to a cap, past which closures are computed for each call).
    pub fn closure(&self, rel: RelationId, inverse: bool, idx: u32) -> Arc<[u32]> {
        self.relations
            .get(rel.index())
            .map_or_else(|| Arc::from([]), |r| r.closure(inverse, idx))
    }

    /// Computes and keeps now the closures `closure(x, r)` (`~r` when the flag is set) for every
    /// `x`, for each relation and direction of `wanted`, so that no decision computes one; up to
    /// the memo's cap, past which closures are computed on use as before. Gives how many
    /// closures were computed. The engine calls it for the closures its program takes, before a
    /// snapshot is put in place.
    pub(crate) fn fill_closures(&self, wanted: &[(RelationId, bool)]) -> usize {
        wanted
            .iter()
            .filter_map(|&(rel, inverse)| {
                let r = self.relations.get(rel.index())?;
                Some(r.fill_closures(inverse))
            })
            .sum()
    }

    /// The size of [`Store::closure`], without computing the closure where the relation's
    /// shape gives it (chains and trees); memoized per snapshot.
    pub fn closure_count(&self, rel: RelationId, inverse: bool, idx: u32) -> ClosureCount {
        self.relations.get(rel.index()).map_or(
            ClosureCount {
                count: 0,
                direct: true,
            },
            |r| r.closure_count(inverse, idx),
        )
    }

    /// `to` is in the closure of `from`.
    pub fn reaches(&self, rel: RelationId, inverse: bool, from: u32, to: u32) -> bool {
        self.relations
            .get(rel.index())
            .is_some_and(|r| r.reaches(inverse, from, to))
    }

    /// The store's shared `Arc` when the string is an attribute value in the data (entity ids
    /// are not looked up: [`Store::entity_id`] gives theirs), else a new one.
    pub fn intern(&self, s: &str) -> Arc<str> {
        self.strings.get(s).cloned().unwrap_or_else(|| Arc::from(s))
    }
}

fn report_duplicate(dup: &DuplicateKey, problems: &mut Problems) {
    let path = dup.object.join(".");
    let message = match dup.object.as_slice() {
        [top, ty] if top == "entities" => {
            format!(
                "duplicate `{ty}` id `{}` (each id may appear once)",
                dup.key
            )
        }
        [top] if top == "relations" => {
            format!(
                "duplicate relation `{}` (list all its edges in one array)",
                dup.key
            )
        }
        _ => format!("duplicate key `{}`", dup.key),
    };
    problems.push_rendered(path, message);
}

/// Load state: the id tables, built before any attribute is converted so references resolve.
struct Loader<'s> {
    schema: &'s Schema,
    /// The ids of each type, once numbered.
    ids: Vec<Ids>,
    strings: Strings,
    /// Set values already built, shared by the entities that hold an equal set (at most
    /// [`SHARED_SETS`] of them).
    sets: HashSet<Arc<[Value]>, foldhash::fast::RandomState>,
}

/// The most distinct set values one load shares: the table stays small enough to sit in the
/// cache, and data whose sets are all different does not grow it without bound.
const SHARED_SETS: usize = 4096;

impl Env for Loader<'_> {
    fn entity(&self, ty: EntityTypeId, id: &str) -> Option<u32> {
        self.ids.get(ty.index())?.get(id)
    }

    fn types_with_id(&self, id: &str) -> Vec<EntityTypeId> {
        (0u32..)
            .zip(&self.ids)
            .filter(|(_, ids)| ids.get(id).is_some())
            .map(|(i, _)| EntityTypeId(i))
            .collect()
    }

    fn intern(&mut self, s: &str) -> Arc<str> {
        if let Some(shared) = self.strings.get(s) {
            return shared.clone();
        }
        let shared: Arc<str> = Arc::from(s);
        self.strings.insert(shared.clone());
        shared
    }

    fn unknown_entity_prefix(&self) -> &'static str {
        "dangling reference: "
    }
}

impl<'s> Loader<'s> {
    fn new(schema: &'s Schema) -> Loader<'s> {
        let n = schema.entities.len();
        Loader {
            schema,
            ids: (0..n).map(|_| Ids::default()).collect(),
            strings: Strings::default(),
            sets: HashSet::default(),
        }
    }

    /// A set value holding `items` (sorted and deduplicated): one built before when an equal
    /// set was (most entities share a few sets, such as no tags), else a new one.
    fn set(&mut self, items: &[Value]) -> Arc<[Value]> {
        if let Some(shared) = self.sets.get(items) {
            return shared.clone();
        }
        let set: Arc<[Value]> = Arc::from(items);
        if self.sets.len() < SHARED_SETS {
            self.sets.insert(set.clone());
        }
        set
    }

    /// Loads `text` in two passes (see [`stream`]), reporting problems in the order of a
    /// parsed document walked with its object keys sorted: duplicate keys first (in document
    /// order), then the top-level keys, the entity types, each type's entities by id, and the
    /// relations by name. Of a key given twice, the last value counts.
    fn load(mut self, text: &str, problems: &mut Problems) -> Option<Store> {
        if text.starts_with('\u{feff}') {
            problems.push_rendered(
                String::new(),
                "the document starts with a UTF-8 byte order mark (BOM), which JSON does not \
                 allow: save it as UTF-8 without a BOM"
                    .into(),
            );
            return None;
        }

        // Pass 1: syntax, duplicate keys, entity ids; each entity's text kept for pass 2.
        // Repeated ids are rare (and make the document invalid): found cheaply by sorting,
        // then, to report them in document order, found again as they are met.
        let mut exact_ids = false;
        let (outline, duplicates) = loop {
            let mut pass = Pass1 {
                loader: &mut self,
                duplicates: RefCell::new(Vec::new()),
                text,
                fatal: None,
                exact_ids,
                repeated_id: false,
            };
            let mut de = serde_json::Deserializer::from_str(text);
            let parsed = TopSeed { pass: &mut pass }
                .deserialize(&mut de)
                .and_then(|outline| de.end().map(|()| outline));
            let outline = match parsed {
                Ok(outline) => outline,
                Err(err) => {
                    let problem = pass.fatal.take().unwrap_or_else(|| syntax_problem(&err));
                    problems.push_rendered(problem.path, problem.message);
                    return None;
                }
            };
            if pass.repeated_id && !exact_ids {
                exact_ids = true;
                continue;
            }
            break (outline, pass.duplicates.into_inner());
        };
        for dup in duplicates {
            report_duplicate(&dup, problems);
        }

        let root = Path::Root;
        let top = match outline {
            Found::Object(top) => top,
            other => {
                problems.push(
                    &root,
                    format!(
                        "expected an object with `entities` and `relations`, found {}",
                        other.describe().unwrap_or_default()
                    ),
                );
                return None;
            }
        };
        let mut keys = top.keys;
        keys.sort();
        keys.dedup();
        for key in &keys {
            if !TOP_LEVEL_KEYS.contains(&&**key) {
                problems.push(
                    &root.key(key),
                    format!(
                        "unknown key `{key}` (expected {}){}",
                        list(TOP_LEVEL_KEYS.into_iter()),
                        did_you_mean(key, TOP_LEVEL_KEYS.into_iter())
                    ),
                );
            }
        }

        let entities_path = root.key("entities");
        let types = match top.entities {
            None | Some(Found::Null) => Vec::new(),
            Some(Found::Object(types)) => types,
            Some(other) => {
                problems.push(
                    &entities_path,
                    format!(
                        "expected an object from entity type to entities, found {}",
                        other.describe().unwrap_or_default()
                    ),
                );
                Vec::new()
            }
        };

        // The ids of each type, numbered in id order.
        let mut tables = Vec::new();
        let mut types = last_of_each(types, |t| &t.name);
        // Each table's order by id, taken out to be freed once the ids are numbered.
        let orders: Vec<Vec<(Order, usize, u32)>> = types
            .iter_mut()
            .map(|t| match &mut t.table {
                Some((_, Found::Object(table))) => std::mem::take(&mut table.by_id),
                _ => Vec::new(),
            })
            .collect();
        for (entry, by_id) in types.iter().zip(orders) {
            let path = entities_path.key(&entry.name);
            let (ty, found) = match &entry.table {
                Some((ty, found)) => (*ty, found),
                None => {
                    let declared = || self.schema.entities.iter().map(|e| e.name.as_str());
                    problems.push(
                        &path,
                        format!(
                            "unknown entity type `{}` (the schema declares {}){}",
                            entry.name,
                            list(declared()),
                            did_you_mean(&entry.name, declared())
                        ),
                    );
                    continue;
                }
            };
            let Found::Object(entries) = found else {
                problems.push(
                    &path,
                    format!(
                        "expected an object from id to attributes, found {}",
                        found.describe().unwrap_or_default()
                    ),
                );
                continue;
            };
            if u32::try_from(entries.members.len()).is_err() {
                problems.push(&path, "too many entities of one type".into());
                return None;
            }
            let raws = self.number_ids(ty, entries, by_id);
            tables.push((ty, &entry.name, raws));
        }

        // Pass 2: attributes, into columns.
        let mut columns: Vec<Vec<Vec<Value>>> = self
            .schema
            .entities
            .iter()
            .zip(&self.ids)
            .map(|(e, ids)| {
                e.attrs
                    .iter()
                    .map(|_| vec![Value::Absent; ids.len()])
                    .collect()
            })
            .collect();
        // References are looked up in batches; if one is not found, the pass runs again
        // looking each up as it is read, which reports the problems in order.
        let mark = problems.mark();
        let mut deferred = Deferred::default();
        for defer in [true, false] {
            deferred.missed = false;
            let mut slots = Vec::new();
            for (ty, type_name, raws) in &tables {
                let type_path = entities_path.key(type_name);
                let (Some(table), Some(entity_type)) = (
                    columns.get_mut(ty.index()),
                    self.schema.entities.get(ty.index()),
                ) else {
                    continue;
                };
                for (idx, (id, raw)) in raws.iter().copied().enumerate() {
                    let path = type_path.key(id);
                    let seed = EntitySeed {
                        schema: self.schema,
                        entity_type,
                        loader: &mut self,
                        columns: table,
                        idx,
                        path: &path,
                        problems,
                        slots: &mut slots,
                        deferred: defer.then_some(&mut deferred),
                    };
                    if let Err(err) =
                        seed.deserialize(&mut serde_json::Deserializer::from_str(raw.get()))
                    {
                        let problem = slice_syntax_problem(text, raw.get(), &err);
                        problems.push_rendered(problem.path, problem.message);
                        return None;
                    }
                    if deferred.refs.len() >= BATCH {
                        self.resolve_deferred(&mut deferred, table);
                    }
                }
                self.resolve_deferred(&mut deferred, table);
            }
            if !deferred.missed {
                break;
            }
            problems.rewind(mark);
        }

        // Relations.
        let relations_path = root.key("relations");
        let mut edges: Vec<Vec<(u32, u32)>> = vec![Vec::new(); self.schema.relations.len()];
        match top.relations {
            None | Some(Found::Null) => {}
            Some(Found::Object(list)) => {
                for (name, raw) in last_of_each(list, |(name, _)| name) {
                    if !self.load_relation(&name, raw, text, &relations_path, &mut edges, problems)
                    {
                        return None;
                    }
                }
            }
            Some(other) => problems.push(
                &relations_path,
                format!(
                    "expected an object from relation name to a list of edges, found {}",
                    other.describe().unwrap_or_default()
                ),
            ),
        }

        if !problems.is_empty() {
            return None;
        }
        let relations = self
            .schema
            .relations
            .iter()
            .zip(edges)
            .map(|(r, edges)| {
                let n_from = self.ids.get(r.from.index()).map_or(0, Ids::len);
                let n_to = self.ids.get(r.to.index()).map_or(0, Ids::len);
                RelationIndex::new(n_from, n_to, r.from == r.to, edges)
            })
            .collect();
        let types = self
            .ids
            .into_iter()
            .zip(columns)
            .map(|(ids, columns)| TypeTable { ids, columns })
            .collect();
        Some(Store {
            types,
            relations,
            strings: self.strings,
        })
    }

    /// Numbers the ids of type `ty` in id order (as a parsed object's sorted keys would be)
    /// and indexes them; gives back each entity's id and text in that order. `by_id` is the
    /// table's order by id (see [`Table::by_id`]); of a repeated id the last occurrence counts.
    fn number_ids<'e, 'de>(
        &mut self,
        ty: EntityTypeId,
        table: &'e Table<'de>,
        by_id: Vec<(Order, usize, u32)>,
    ) -> Vec<&'e (Cow<'de, str>, &'de RawValue)> {
        let mut live: Vec<&'e (Cow<'de, str>, &'de RawValue)> = Vec::with_capacity(by_id.len());
        // Not added to the set of strings: ids are distinct within a type, kept once in its
        // table, and inserting each into the set is a cache miss per entity in a large estate.
        let mut ids = IdsBuilder::with_capacity(by_id.len());
        let mut head = [0u8; 16];
        for (k, entry) in by_id.iter().enumerate() {
            let next_is_same = by_id
                .get(k + 1)
                .is_some_and(|next| table.same_id(entry, next));
            if let (false, Some(member)) = (next_is_same, table.members.get(entry.1)) {
                live.push(member);
                // A short id is read from its order, not from the text (at a place of its own
                // in a large document: a cache miss apiece).
                match entry.0.short_id(entry.2, &mut head) {
                    Some(id) => ids.push(id),
                    None => ids.push(&member.0),
                }
            }
        }
        drop(by_id);
        if let Some(slot) = self.ids.get_mut(ty.index()) {
            *slot = ids.finish();
        }
        live
    }

    /// Looks the references of `deferred` up and writes them into `columns` (the columns of
    /// the type holding them), draining it; [`Deferred::missed`] is set if one is not found.
    fn resolve_deferred(&self, deferred: &mut Deferred<'_>, columns: &mut [Vec<Value>]) {
        let mut found = Vec::with_capacity(deferred.refs.len());
        let mut rest = deferred.refs.as_slice();
        while let Some(&(_, _, ty, _)) = rest.first() {
            // A run of references to one type, looked up together.
            let run = rest.iter().take_while(|r| r.2 == ty).count();
            let (refs, tail) = rest.split_at(run);
            match self.ids_of(ty) {
                Some(table) => table.get_many(refs.iter().map(|r| r.3), &mut found),
                None => found.clear(),
            }
            for (i, &(attr, idx, ty, _)) in refs.iter().enumerate() {
                let cell = columns.get_mut(attr).and_then(|c| c.get_mut(idx));
                match (found.get(i).copied().flatten(), cell) {
                    (Some(found), Some(cell)) => {
                        *cell = Value::Entity(EntityRef::Known { ty, idx: found });
                    }
                    _ => deferred.missed = true,
                }
            }
            rest = tail;
        }
        deferred.refs.clear();
    }

    /// The ids of type `ty`, once numbered.
    fn ids_of(&self, ty: EntityTypeId) -> Option<&Ids> {
        self.ids.get(ty.index())
    }

    fn entity_type(&self, name: &str) -> Option<EntityTypeId> {
        let i = self.schema.entities.iter().position(|e| e.name == name)?;
        Some(EntityTypeId(u32::try_from(i).ok()?))
    }

    /// Reads the edges of relation `name` from `raw`; `false` on a syntax error (pushed).
    fn load_relation(
        &mut self,
        name: &str,
        raw: &RawValue,
        text: &str,
        relations_path: &Path<'_>,
        edges: &mut [Vec<(u32, u32)>],
        problems: &mut Problems,
    ) -> bool {
        let schema = self.schema;
        let path = relations_path.key(name);
        let Some(r) = schema.relations.iter().position(|r| r.name == name) else {
            problems.push(
                &path,
                format!(
                    "unknown relation `{name}` (the schema declares {}){}",
                    list(schema.relations.iter().map(|r| r.name.as_str())),
                    did_you_mean(name, schema.relations.iter().map(|r| r.name.as_str()))
                ),
            );
            return true;
        };
        let (Some(relation), Some(out)) = (schema.relations.get(r), edges.get_mut(r)) else {
            return true;
        };
        let seed = RelationSeed {
            schema,
            relation,
            loader: self,
            path: &path,
            out,
            problems,
        };
        match seed.deserialize(&mut serde_json::Deserializer::from_str(raw.get())) {
            Ok(()) => true,
            Err(err) => {
                let problem = slice_syntax_problem(text, raw.get(), &err);
                problems.push_rendered(problem.path, problem.message);
                false
            }
        }
    }
}

/// The members of an object as a parsed object holds them: sorted by key, the last of a
/// repeated key kept.
fn last_of_each<T>(mut items: Vec<T>, key: impl Fn(&T) -> &str) -> Vec<T> {
    items.reverse();
    items.sort_by(|a, b| key(a).cmp(key(b)));
    items.dedup_by(|later, kept| key(later) == key(kept));
    items
}

/// Entity lookups for request validation, against a loaded store.
pub(crate) struct StoreEnv<'a>(pub(crate) &'a Store);

impl Env for StoreEnv<'_> {
    fn entity(&self, ty: EntityTypeId, id: &str) -> Option<u32> {
        self.0.lookup(ty, id)
    }

    fn types_with_id(&self, id: &str) -> Vec<EntityTypeId> {
        (0u32..)
            .zip(&self.0.types)
            .filter(|(_, t)| t.ids.get(id).is_some())
            .map(|(i, _)| EntityTypeId(i))
            .collect()
    }

    fn intern(&mut self, s: &str) -> Arc<str> {
        self.0.intern(s)
    }

    fn unknown_entity_prefix(&self) -> &'static str {
        ""
    }
}

#[cfg(test)]
pub(crate) mod tests;
