//! The entity store: an immutable snapshot of the estate (entities, attributes, relation edges),
//! loaded from the JSON format of `docs/language.md` §9 and validated against the program's schema.
//!
//! Loading reports every problem it finds (up to a cap) with its JSON path, and returns either a
//! complete store or an error, never something half-loaded. Strings are interned (one `Arc<str>`
//! per distinct string), entities are dense `u32` indices per type, attributes live in columns,
//! relations are adjacency in CSR form with a lazily memoized closure and closure sizes (see
//! [`graph`]). A `Store`
//! is `Send + Sync` and never changes after it is built; the closure memo fills in without locks
//! on the read path. The store knows the schema and JSON, not rules, requests or evaluation.

mod convert;
mod graph;

use std::collections::{HashMap, HashSet};
use std::fmt;
use std::sync::Arc;

use serde_json::Value as Json;
use ward_ir::{EntityTypeId, RelationId, Schema, Type};

pub use convert::Problem;
pub(crate) use convert::{
    DuplicateKey, Env, Path, Problems, convert, describe_json, did_you_mean, list, parse_json,
    type_name, write_problems,
};
pub use graph::ClosureCount;
use graph::RelationIndex;

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

/// An immutable, validated snapshot of the estate.
pub struct Store {
    types: Vec<TypeTable>,
    relations: Vec<RelationIndex>,
    strings: HashSet<Arc<str>>,
}

/// The entities of one type.
struct TypeTable {
    ids: Vec<Arc<str>>,
    index: HashMap<Arc<str>, u32>,
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
                    ids: Vec::new(),
                    index: HashMap::new(),
                    columns: e.attrs.iter().map(|_| Vec::new()).collect(),
                })
                .collect(),
            relations: schema
                .relations
                .iter()
                .map(|r| RelationIndex::new(0, 0, r.from == r.to, Vec::new()))
                .collect(),
            strings: HashSet::new(),
        }
    }

    /// Loads an entities document. Duplicate keys cannot be seen in a parsed
    /// `serde_json::Value` (serde_json keeps the last one): use [`Store::from_str`] on the text
    /// to have them reported.
    pub fn from_json(schema: &Schema, doc: &Json) -> Result<Store, LoadError> {
        let mut problems = Problems::default();
        match Loader::new(schema).load(doc, &mut problems) {
            Some(store) if problems.is_empty() => Ok(store),
            _ => Err(LoadError::from_problems(problems)),
        }
    }

    /// Parses and loads an entities document. JSON syntax errors say `line:column`; duplicate
    /// keys (a duplicate entity id, an attribute given twice) are problems too.
    pub fn from_str(schema: &Schema, text: &str) -> Result<Store, LoadError> {
        let (doc, duplicates) = parse_json(text).map_err(|problem| LoadError {
            problems: vec![problem],
            omitted: 0,
        })?;
        let mut problems = Problems::default();
        for dup in duplicates {
            report_duplicate(&dup, &mut problems);
        }
        let store = Loader::new(schema).load(&doc, &mut problems);
        match store {
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
        self.types.get(ty.index())?.index.get(id).copied()
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
        self.types.get(ty.index())?.ids.get(idx as usize)
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

    /// The store's shared `Arc` when the string occurs in the data, else a new one.
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
    ids: Vec<Vec<Arc<str>>>,
    index: Vec<HashMap<Arc<str>, u32>>,
    strings: HashSet<Arc<str>>,
}

impl Env for Loader<'_> {
    fn entity(&self, ty: EntityTypeId, id: &str) -> Option<u32> {
        self.index.get(ty.index())?.get(id).copied()
    }

    fn types_with_id(&self, id: &str) -> Vec<EntityTypeId> {
        (0u32..)
            .zip(&self.index)
            .filter(|(_, index)| index.contains_key(id))
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
            ids: vec![Vec::new(); n],
            index: vec![HashMap::new(); n],
            strings: HashSet::new(),
        }
    }

    fn load(mut self, doc: &Json, problems: &mut Problems) -> Option<Store> {
        let root = Path::Root;
        let Json::Object(top) = doc else {
            problems.push(
                &root,
                format!(
                    "expected an object with `entities` and `relations`, found {}",
                    describe_json(doc)
                ),
            );
            return None;
        };
        for key in top.keys() {
            if !TOP_LEVEL_KEYS.contains(&key.as_str()) {
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
        let entities = match top.get("entities") {
            None | Some(Json::Null) => None,
            Some(Json::Object(map)) => Some(map),
            Some(other) => {
                problems.push(
                    &entities_path,
                    format!(
                        "expected an object from entity type to entities, found {}",
                        describe_json(other)
                    ),
                );
                None
            }
        };

        // Pass 1: entity ids, so that references can be resolved in any order.
        let mut typed: Vec<(EntityTypeId, &str, &serde_json::Map<String, Json>)> = Vec::new();
        for (type_name, entities) in entities.into_iter().flatten() {
            let path = entities_path.key(type_name);
            let Some(ty) = self.entity_type(type_name) else {
                problems.push(
                    &path,
                    format!(
                        "unknown entity type `{type_name}` (the schema declares {}){}",
                        list(self.schema.entities.iter().map(|e| e.name.as_str())),
                        did_you_mean(
                            type_name,
                            self.schema.entities.iter().map(|e| e.name.as_str())
                        )
                    ),
                );
                continue;
            };
            let Json::Object(entities) = entities else {
                problems.push(
                    &path,
                    format!(
                        "expected an object from id to attributes, found {}",
                        describe_json(entities)
                    ),
                );
                continue;
            };
            for id in entities.keys() {
                let id = self.intern(id);
                let (Some(ids), Some(index)) =
                    (self.ids.get_mut(ty.index()), self.index.get_mut(ty.index()))
                else {
                    continue;
                };
                let Ok(idx) = u32::try_from(ids.len()) else {
                    problems.push(&path, "too many entities of one type".into());
                    return None;
                };
                ids.push(id.clone());
                index.insert(id, idx);
            }
            typed.push((ty, type_name, entities));
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
        for (ty, type_name, entities) in typed {
            let type_path = entities_path.key(type_name);
            let Some(table) = columns.get_mut(ty.index()) else {
                continue;
            };
            for (idx, (id, attrs)) in entities.iter().enumerate() {
                self.load_entity(ty, table, idx, &type_path.key(id), attrs, problems);
            }
        }

        // Relations.
        let relations_path = root.key("relations");
        let mut edges: Vec<Vec<(u32, u32)>> = vec![Vec::new(); self.schema.relations.len()];
        match top.get("relations") {
            None | Some(Json::Null) => {}
            Some(Json::Object(map)) => {
                for (name, list) in map {
                    self.load_relation(name, list, &relations_path, &mut edges, problems);
                }
            }
            Some(other) => problems.push(
                &relations_path,
                format!(
                    "expected an object from relation name to a list of edges, found {}",
                    describe_json(other)
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
                let n_from = self.ids.get(r.from.index()).map_or(0, Vec::len);
                let n_to = self.ids.get(r.to.index()).map_or(0, Vec::len);
                RelationIndex::new(n_from, n_to, r.from == r.to, edges)
            })
            .collect();
        let types = self
            .ids
            .into_iter()
            .zip(self.index)
            .zip(columns)
            .map(|((ids, index), columns)| TypeTable {
                ids,
                index,
                columns,
            })
            .collect();
        Some(Store {
            types,
            relations,
            strings: self.strings,
        })
    }

    fn entity_type(&self, name: &str) -> Option<EntityTypeId> {
        let i = self.schema.entities.iter().position(|e| e.name == name)?;
        Some(EntityTypeId(u32::try_from(i).ok()?))
    }

    fn load_entity(
        &mut self,
        ty: EntityTypeId,
        table: &mut [Vec<Value>],
        idx: usize,
        path: &Path<'_>,
        attrs: &Json,
        problems: &mut Problems,
    ) {
        let schema = self.schema;
        let Some(entity_type) = schema.entities.get(ty.index()) else {
            return;
        };
        let Json::Object(attrs) = attrs else {
            problems.push(
                path,
                format!(
                    "expected an object of attributes, found {}",
                    describe_json(attrs)
                ),
            );
            return;
        };
        for key in attrs.keys() {
            if !entity_type.attrs.iter().any(|f| f.name == *key) {
                problems.push(
                    &path.key(key),
                    format!(
                        "unknown attribute `{key}` of `{}` (it has {}){}",
                        entity_type.name,
                        list(entity_type.attrs.iter().map(|f| f.name.as_str())),
                        did_you_mean(key, entity_type.attrs.iter().map(|f| f.name.as_str()))
                    ),
                );
            }
        }
        for (field, column) in entity_type.attrs.iter().zip(table.iter_mut()) {
            let attr_path = path.key(&field.name);
            let json = attrs.get(&field.name);
            let value = match json {
                None | Some(Json::Null) if field.ty.is_optional() => Some(Value::Absent),
                None | Some(Json::Null) => {
                    let null = if json.is_some() {
                        " (`null` is only allowed for an optional attribute)"
                    } else {
                        ""
                    };
                    problems.push(
                        &attr_path,
                        format!(
                            "missing attribute `{}` of `{}` (type `{}`){null}",
                            field.name,
                            entity_type.name,
                            type_name(schema, &field.ty)
                        ),
                    );
                    None
                }
                Some(json) => convert(schema, self, &field.ty, json, &attr_path, problems),
            };
            if let (Some(value), Some(slot)) = (value, column.get_mut(idx)) {
                *slot = value;
            }
        }
    }

    fn load_relation(
        &mut self,
        name: &str,
        json: &Json,
        relations_path: &Path<'_>,
        edges: &mut [Vec<(u32, u32)>],
        problems: &mut Problems,
    ) {
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
            return;
        };
        let (Some(relation), Some(out)) = (schema.relations.get(r), edges.get_mut(r)) else {
            return;
        };
        let Json::Array(list) = json else {
            problems.push(
                &path,
                format!(
                    "expected an array of edges like `[[\"from-id\", \"to-id\"]]`, found {}",
                    describe_json(json)
                ),
            );
            return;
        };
        out.reserve(list.len());
        for (i, edge) in list.iter().enumerate() {
            let edge_path = path.index(i);
            let pair = match edge {
                Json::Array(pair) => match pair.as_slice() {
                    [a, b] => Some((a, b)),
                    _ => None,
                },
                _ => None,
            };
            let Some((a, b)) = pair else {
                problems.push(
                    &edge_path,
                    format!(
                        "expected an edge `[from, to]` (an array of two ids), found {}",
                        describe_json(edge)
                    ),
                );
                continue;
            };
            let from = convert(
                schema,
                self,
                &Type::Entity(relation.from),
                a,
                &edge_path.index(0),
                problems,
            );
            let to = convert(
                schema,
                self,
                &Type::Entity(relation.to),
                b,
                &edge_path.index(1),
                problems,
            );
            if let (
                Some(Value::Entity(EntityRef::Known { idx: from, .. })),
                Some(Value::Entity(EntityRef::Known { idx: to, .. })),
            ) = (from, to)
            {
                out.push((from, to));
            }
        }
    }
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
            .filter(|(_, t)| t.index.contains_key(id))
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
