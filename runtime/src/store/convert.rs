//! JSON to [`Value`] conversion typed by a `ward_ir::Type`, shared by the store loader and
//! request validation, plus what both need around it: JSON paths for messages, the problem list,
//! "did you mean" suggestions and a JSON parser that reports duplicate object keys.
//!
//! It knows the schema types and the JSON shapes of `docs/language.md` §9, but not how the store lays out its
//! tables: entity ids are resolved and strings interned through the [`Env`] the caller passes.

use std::cell::RefCell;
use std::fmt;
use std::sync::Arc;

use serde::de::{self, DeserializeSeed, MapAccess, SeqAccess, Visitor};
use serde_json::Value as Json;
use ward_ir::{EntityTypeId, EnumId, Schema, Type};

use crate::Value;

/// At most this many problems are listed; the rest are only counted.
pub(crate) const MAX_PROBLEMS: usize = 100;

/// One thing wrong with a JSON document: where (a JSON path such as
/// `entities.Identity.alice.manager` or `args.host`) and what.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Problem {
    /// The JSON path of the offending value; empty for the document itself.
    pub path: String,
    pub message: String,
}

impl fmt::Display for Problem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.path.is_empty() {
            f.write_str(&self.message)
        } else {
            write!(f, "{}: {}", self.path, self.message)
        }
    }
}

/// The problems found so far, capped at [`MAX_PROBLEMS`].
#[derive(Debug, Default)]
pub(crate) struct Problems {
    pub(crate) list: Vec<Problem>,
    pub(crate) omitted: usize,
}

impl Problems {
    pub(crate) fn push(&mut self, path: &Path<'_>, message: String) {
        if self.list.len() < MAX_PROBLEMS {
            self.list.push(Problem {
                path: path.render(),
                message,
            });
        } else {
            self.omitted = self.omitted.saturating_add(1);
        }
    }

    pub(crate) fn push_rendered(&mut self, path: String, message: String) {
        if self.list.len() < MAX_PROBLEMS {
            self.list.push(Problem { path, message });
        } else {
            self.omitted = self.omitted.saturating_add(1);
        }
    }

    pub(crate) fn is_empty(&self) -> bool {
        self.list.is_empty()
    }

    /// Where the list stands, for [`Problems::rewind`].
    pub(crate) fn mark(&self) -> (usize, usize) {
        (self.list.len(), self.omitted)
    }

    /// Drops the problems found since `mark` was taken.
    pub(crate) fn rewind(&mut self, (len, omitted): (usize, usize)) {
        self.list.truncate(len);
        self.omitted = omitted;
    }

    /// Adds `other`'s problems after these, within the cap.
    pub(crate) fn append(&mut self, other: Problems) {
        for problem in other.list {
            self.push_rendered(problem.path, problem.message);
        }
        self.omitted = self.omitted.saturating_add(other.omitted);
    }
}

/// Writes the problems one per line (`sep` between them), then how many were left out.
pub(crate) fn write_problems(
    f: &mut fmt::Formatter<'_>,
    problems: &[Problem],
    omitted: usize,
    sep: &str,
) -> fmt::Result {
    for (i, problem) in problems.iter().enumerate() {
        if i > 0 {
            f.write_str(sep)?;
        }
        write!(f, "{problem}")?;
    }
    if omitted > 0 {
        let s = if omitted == 1 { "" } else { "s" };
        write!(f, "{sep}… and {omitted} more problem{s}")?;
    }
    Ok(())
}

/// A JSON path built on the stack while walking a document, rendered only for a message.
#[derive(Clone, Copy, Debug)]
pub(crate) enum Path<'a> {
    Root,
    Key(&'a Path<'a>, &'a str),
    Index(&'a Path<'a>, usize),
}

impl<'a> Path<'a> {
    pub(crate) fn key<'b>(&'b self, key: &'b str) -> Path<'b> {
        Path::Key(self, key)
    }

    pub(crate) fn index(&'a self, index: usize) -> Path<'a> {
        Path::Index(self, index)
    }

    /// `entities.Identity.alice.groups[2]`.
    pub(crate) fn render(&self) -> String {
        let mut parts = Vec::new();
        let mut at = self;
        loop {
            match at {
                Path::Root => break,
                Path::Key(parent, key) => {
                    parts.push(Err(*key));
                    at = parent;
                }
                Path::Index(parent, index) => {
                    parts.push(Ok(*index));
                    at = parent;
                }
            }
        }
        let mut out = String::new();
        for part in parts.iter().rev() {
            match part {
                Err(key) => {
                    if !out.is_empty() {
                        out.push('.');
                    }
                    out.push_str(key);
                }
                Ok(index) => {
                    out.push('[');
                    out.push_str(&index.to_string());
                    out.push(']');
                }
            }
        }
        out
    }
}

/// What conversion needs from its caller: entity ids and string interning.
pub(crate) trait Env {
    /// The dense index of entity `id` of type `ty`, if it exists.
    fn entity(&self, ty: EntityTypeId, id: &str) -> Option<u32>;
    /// Every entity type that has an entity with this id (for hints in messages).
    fn types_with_id(&self, id: &str) -> Vec<EntityTypeId>;
    fn intern(&mut self, s: &str) -> Arc<str>;
    /// Put in front of "no `T` with id `x` in the entities" (the store says `dangling reference: `).
    fn unknown_entity_prefix(&self) -> &'static str;
}

/// Converts `json` to a value of type `ty`. An optional type accepts `null` as absent (callers
/// handle a missing key). Every problem found is pushed; `None` when there was one.
pub(crate) fn convert(
    schema: &Schema,
    env: &mut dyn Env,
    ty: &Type,
    json: &Json,
    path: &Path<'_>,
    problems: &mut Problems,
) -> Option<Value> {
    let mistyped = |problems: &mut Problems| {
        problems.push(
            path,
            format!("{}, found {}", expected(schema, ty), describe_json(json)),
        );
        None
    };
    match (ty, json) {
        (Type::Optional(_), Json::Null) => Some(Value::Absent),
        (Type::Optional(inner), _) => convert(schema, env, inner, json, path, problems),
        (Type::Bool, Json::Bool(b)) => Some(Value::Bool(*b)),
        (Type::Int, Json::Number(n)) => match n.as_i64() {
            Some(n) => Some(Value::Int(n)),
            // JSON has one number type: an integer below `i64::MIN` or beyond `u64::MAX`
            // arrives as a float, whose digits are not the ones written; say what is wrong
            // without echoing them.
            None if n.is_f64() && n.as_f64().is_some_and(|f| f.fract() == 0.0 && !fits_i64(f)) => {
                problems.push(
                    path,
                    format!("the integer is out of range for Int ({INT_RANGE})"),
                );
                None
            }
            None if n.is_f64() => mistyped(problems),
            None => {
                problems.push(
                    path,
                    format!("the integer {n} is out of range for Int ({INT_RANGE})"),
                );
                None
            }
        },
        (Type::String, Json::String(s)) => Some(Value::Str(env.intern(s))),
        (Type::Duration, Json::String(s)) => match crate::time::parse_duration(s) {
            Some(secs) => Some(Value::Int(secs)),
            None => {
                problems.push(
                    path,
                    format!(
                        "malformed duration `{}` (expected a duration like `90s`, `30m`, `4h`, \
                         `2d` or `1h30m`)",
                        clip(s)
                    ),
                );
                None
            }
        },
        (Type::Timestamp, Json::String(s)) => match crate::time::parse_timestamp(s) {
            Some(secs) => Some(Value::Int(secs)),
            None => {
                problems.push(
                    path,
                    format!(
                        "malformed timestamp `{}` (expected RFC 3339 like `2026-11-28T05:00:00Z`, \
                         years 0001 to 9999)",
                        clip(s)
                    ),
                );
                None
            }
        },
        (Type::Entity(ety), Json::String(id)) => match env.entity(*ety, id) {
            Some(idx) => Some(Value::Entity(crate::EntityRef::Known { ty: *ety, idx })),
            None => {
                let message = unknown_entity(schema, &*env, *ety, id);
                problems.push(path, message);
                None
            }
        },
        (Type::Enum(eid), Json::String(name)) => {
            let variants = variants(schema, *eid);
            match variants.iter().position(|v| v == name) {
                Some(i) => Some(Value::Enum(u32::try_from(i).ok()?)),
                None => {
                    problems.push(
                        path,
                        format!(
                            "unknown `{}` variant `{}` (expected one of {}){}",
                            type_name(schema, ty),
                            clip(name),
                            list(variants.iter().map(String::as_str)),
                            did_you_mean(name, variants.iter().map(String::as_str))
                        ),
                    );
                    None
                }
            }
        }
        (Type::Set(elem), Json::Array(items)) => {
            let mut out = Vec::with_capacity(items.len());
            let mut ok = true;
            for (i, item) in items.iter().enumerate() {
                match convert(schema, env, elem, item, &path.index(i), problems) {
                    Some(v) => out.push(v),
                    None => ok = false,
                }
            }
            ok.then(|| Value::set(out))
        }
        _ => mistyped(problems),
    }
}

/// The values an `Int` holds, for messages.
const INT_RANGE: &str = "-9223372036854775808 to 9223372036854775807";

/// Whether an integral float lies strictly inside the range of `i64`. The ends are excluded:
/// an integer written within the range is parsed as an integer, never as a float, so a float
/// at `-2^63` is a rounded `-9223372036854775809` or beyond.
fn fits_i64(f: f64) -> bool {
    f > -9_223_372_036_854_775_808.0 && f < 9_223_372_036_854_775_808.0
}

/// "no `Identity` with id `zed` in the entities", with a hint when another type has that id.
pub(crate) fn unknown_entity(schema: &Schema, env: &dyn Env, ty: EntityTypeId, id: &str) -> String {
    let name = entity_name(schema, ty);
    let mut message = format!(
        "{}no `{name}` with id `{}` in the entities",
        env.unknown_entity_prefix(),
        clip(id)
    );
    let others = env.types_with_id(id);
    if let Some(other) = others.first() {
        let other = entity_name(schema, *other);
        message.push_str(&format!(
            " (there is {} `{other}` with that id)",
            article(other)
        ));
    }
    message
}

pub(crate) fn entity_name(schema: &Schema, ty: EntityTypeId) -> &str {
    schema
        .entities
        .get(ty.index())
        .map_or("<unknown entity type>", |e| e.name.as_str())
}

/// The variants of enum `id`, in declaration order (none for an id the schema lacks).
pub(crate) fn variants(schema: &Schema, id: EnumId) -> &[String] {
    schema
        .enums
        .get(id.index())
        .map(|e| e.variants.as_slice())
        .unwrap_or_default()
}

/// The type as the user writes it: `Set<String>`, `Identity?`.
pub(crate) fn type_name(schema: &Schema, ty: &Type) -> String {
    match ty {
        Type::Bool => "Bool".into(),
        Type::Int => "Int".into(),
        Type::String => "String".into(),
        Type::Duration => "Duration".into(),
        Type::Timestamp => "Timestamp".into(),
        Type::Entity(id) => entity_name(schema, *id).into(),
        Type::Enum(id) => schema
            .enums
            .get(id.index())
            .map_or_else(|| "<unknown enum>".into(), |e| e.name.clone()),
        Type::Set(elem) => format!("Set<{}>", type_name(schema, elem)),
        Type::Optional(inner) => format!("{}?", type_name(schema, inner)),
    }
}

/// "expected …" for a value of type `ty`.
pub(crate) fn expected(schema: &Schema, ty: &Type) -> String {
    match ty {
        Type::Bool => "expected `true` or `false`".into(),
        Type::Int => "expected an integer".into(),
        Type::String => "expected a string".into(),
        Type::Duration => "expected a duration string like `1h30m`".into(),
        Type::Timestamp => "expected a timestamp string like `2026-11-28T05:00:00Z`".into(),
        Type::Entity(id) => {
            let name = entity_name(schema, *id);
            format!("expected the id of {} `{name}` (a string)", article(name))
        }
        Type::Enum(id) => {
            let variants = variants(schema, *id);
            format!(
                "expected a `{}` variant (one of {})",
                type_name(schema, ty),
                list(variants.iter().map(String::as_str))
            )
        }
        Type::Set(_) => format!("expected an array (a `{}`)", type_name(schema, ty)),
        Type::Optional(inner) => format!("{} or `null`", expected(schema, inner)),
    }
}

/// "the number 3", "the string `abc`", "an array".
pub(crate) fn describe_json(json: &Json) -> String {
    match json {
        Json::Null => "`null`".into(),
        Json::Bool(b) => format!("`{b}`"),
        Json::Number(n) => format!("the number {n}"),
        Json::String(s) => format!("the string `{}`", clip(s)),
        Json::Array(_) => "an array".into(),
        Json::Object(_) => "an object".into(),
    }
}

/// `; did you mean `x`?` when a candidate is close to `name`, else nothing.
pub(crate) fn did_you_mean<'a>(name: &str, candidates: impl Iterator<Item = &'a str>) -> String {
    let lower = name.to_lowercase();
    let mut best: Option<(usize, &str)> = None;
    for candidate in candidates {
        let distance = if candidate.to_lowercase() == lower {
            0
        } else {
            strsim::damerau_levenshtein(name, candidate)
        };
        let limit = (name.chars().count().max(candidate.chars().count()) / 3).max(1);
        if distance <= limit && best.is_none_or(|(d, _)| distance < d) {
            best = Some((distance, candidate));
        }
    }
    best.map_or_else(String::new, |(_, c)| format!("; did you mean `{c}`?"))
}

/// "`a`, `b`, `c`", or "nothing" for an empty list.
pub(crate) fn list<'a>(names: impl Iterator<Item = &'a str>) -> String {
    let items: Vec<String> = names.map(|n| format!("`{n}`")).collect();
    if items.is_empty() {
        "nothing".into()
    } else {
        items.join(", ")
    }
}

pub(crate) fn article(word: &str) -> &'static str {
    match word.chars().next() {
        Some(c) if "AEIOUaeiou".contains(c) => "an",
        _ => "a",
    }
}

/// User text shown in a message, cut to a readable length.
pub(crate) fn clip(s: &str) -> String {
    const MAX: usize = 80;
    if s.chars().count() <= MAX {
        s.to_owned()
    } else {
        let mut out: String = s.chars().take(MAX).collect();
        out.push('…');
        out
    }
}

/// A duplicate key in a JSON object: the object's path and the key.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct DuplicateKey {
    pub(crate) object: Vec<String>,
    pub(crate) key: String,
}

/// Parses JSON text like `serde_json::from_str` (which keeps the last of duplicate keys
/// silently) and also reports every duplicate key. Syntax errors become a problem with
/// `line:column`.
pub(crate) fn parse_json(text: &str) -> Result<(Json, Vec<DuplicateKey>), Problem> {
    if text.starts_with('\u{feff}') {
        return Err(Problem {
            path: String::new(),
            message: "the document starts with a UTF-8 byte order mark (BOM), which JSON does \
                      not allow: save it as UTF-8 without a BOM"
                .into(),
        });
    }
    let duplicates = RefCell::new(Vec::new());
    let mut de = serde_json::Deserializer::from_str(text);
    let root = Trail::Root;
    let seed = Seed {
        trail: &root,
        duplicates: &duplicates,
    };
    let parsed = seed.deserialize(&mut de).and_then(|v| de.end().map(|()| v));
    match parsed {
        Ok(json) => Ok((json, duplicates.into_inner())),
        Err(err) => Err(syntax_problem(&err)),
    }
}

pub(crate) fn syntax_problem(err: &serde_json::Error) -> Problem {
    syntax_problem_at(err, err.line(), err.column())
}

/// A syntax error as a problem, placed at `line`, `column` (where the error is in the whole
/// document when `err` came from reading a part of it).
pub(crate) fn syntax_problem_at(err: &serde_json::Error, line: usize, column: usize) -> Problem {
    let full = err.to_string();
    let suffix = format!(" at line {} column {}", err.line(), err.column());
    let what = full.strip_suffix(&suffix).unwrap_or(&full);
    Problem {
        path: String::new(),
        message: format!("invalid JSON at line {line}, column {column}: {what}"),
    }
}

/// The keys leading to the value being parsed (indices are irrelevant for duplicates of
/// interest and are shown as `[i]`).
pub(crate) enum Trail<'a> {
    Root,
    Key(&'a Trail<'a>, &'a str),
    Index(&'a Trail<'a>, usize),
}

impl Trail<'_> {
    pub(crate) fn segments(&self) -> Vec<String> {
        let mut out = Vec::new();
        let mut at = self;
        loop {
            match at {
                Trail::Root => break,
                Trail::Key(parent, key) => {
                    out.push((*key).to_owned());
                    at = parent;
                }
                Trail::Index(parent, index) => {
                    out.push(format!("[{index}]"));
                    at = parent;
                }
            }
        }
        out.reverse();
        out
    }
}

pub(crate) struct Seed<'a> {
    pub(crate) trail: &'a Trail<'a>,
    pub(crate) duplicates: &'a RefCell<Vec<DuplicateKey>>,
}

impl<'de> DeserializeSeed<'de> for Seed<'_> {
    type Value = Json;

    fn deserialize<D: de::Deserializer<'de>>(self, deserializer: D) -> Result<Json, D::Error> {
        deserializer.deserialize_any(self)
    }
}

impl<'de> Visitor<'de> for Seed<'_> {
    type Value = Json;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("any JSON value")
    }

    fn visit_bool<E>(self, v: bool) -> Result<Json, E> {
        Ok(Json::Bool(v))
    }

    fn visit_i64<E>(self, v: i64) -> Result<Json, E> {
        Ok(Json::from(v))
    }

    fn visit_u64<E>(self, v: u64) -> Result<Json, E> {
        Ok(Json::from(v))
    }

    fn visit_f64<E>(self, v: f64) -> Result<Json, E> {
        Ok(serde_json::Number::from_f64(v).map_or(Json::Null, Json::Number))
    }

    fn visit_str<E>(self, v: &str) -> Result<Json, E> {
        Ok(Json::String(v.to_owned()))
    }

    fn visit_string<E>(self, v: String) -> Result<Json, E> {
        Ok(Json::String(v))
    }

    fn visit_unit<E>(self) -> Result<Json, E> {
        Ok(Json::Null)
    }

    fn visit_none<E>(self) -> Result<Json, E> {
        Ok(Json::Null)
    }

    fn visit_some<D: de::Deserializer<'de>>(self, deserializer: D) -> Result<Json, D::Error> {
        self.deserialize(deserializer)
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Json, A::Error> {
        let mut items = Vec::new();
        loop {
            let trail = Trail::Index(self.trail, items.len());
            let seed = Seed {
                trail: &trail,
                duplicates: self.duplicates,
            };
            match seq.next_element_seed(seed)? {
                Some(item) => items.push(item),
                None => break,
            }
        }
        Ok(Json::Array(items))
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Json, A::Error> {
        let mut object = serde_json::Map::new();
        while let Some(key) = map.next_key::<String>()? {
            let trail = Trail::Key(self.trail, &key);
            let seed = Seed {
                trail: &trail,
                duplicates: self.duplicates,
            };
            let value = map.next_value_seed(seed)?;
            if object.contains_key(&key) {
                self.duplicates.borrow_mut().push(DuplicateKey {
                    object: self.trail.segments(),
                    key: key.clone(),
                });
            }
            object.insert(key, value);
        }
        Ok(Json::Object(object))
    }
}
