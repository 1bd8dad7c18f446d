//! Runtime values of the reference interpreter and the store.
//!
//! Ints, durations and timestamps are all `Int` (seconds for the latter two); the static type
//! says which. Strings are shared `Arc<str>` (the store interns them at load, so equal strings
//! from the estate share one allocation). Sets are sorted and deduplicated by [`Value`]'s total
//! order, so set equality is slice equality.

use std::cmp::Ordering;
use std::sync::Arc;

use ward_ir::EntityTypeId;

/// An entity as the runtime sees it.
#[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum EntityRef {
    /// An entity present in the store: its type and dense index within that type.
    Known { ty: EntityTypeId, idx: u32 },
    /// An entity literal of the policy whose id the store does not have. It equals no stored
    /// entity, has no attributes (reading one is an evaluation error) and no edges.
    Unknown { ty: EntityTypeId, id: Arc<str> },
}

impl EntityRef {
    pub fn ty(&self) -> EntityTypeId {
        match self {
            EntityRef::Known { ty, .. } | EntityRef::Unknown { ty, .. } => *ty,
        }
    }
}

#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub enum Value {
    Bool(bool),
    /// Ints, durations (seconds) and timestamps (seconds since the Unix epoch).
    Int(i64),
    Str(Arc<str>),
    Entity(EntityRef),
    /// A variant index of the static enum type.
    Enum(u32),
    /// Sorted and deduplicated.
    Set(Arc<[Value]>),
    /// An absent optional.
    Absent,
}

impl Value {
    /// Build a set value: sorts and removes duplicates.
    pub fn set(mut items: Vec<Value>) -> Value {
        items.sort();
        items.dedup();
        Value::Set(items.into())
    }

    pub fn empty_set() -> Value {
        Value::Set(Arc::from([]))
    }

    pub fn str(s: &str) -> Value {
        Value::Str(Arc::from(s))
    }

    pub fn as_bool(&self) -> Option<bool> {
        match self {
            Value::Bool(b) => Some(*b),
            _ => None,
        }
    }

    pub fn as_int(&self) -> Option<i64> {
        match self {
            Value::Int(n) => Some(*n),
            _ => None,
        }
    }

    pub fn as_set(&self) -> Option<&[Value]> {
        match self {
            Value::Set(items) => Some(items),
            _ => None,
        }
    }

    fn rank(&self) -> u8 {
        match self {
            Value::Absent => 0,
            Value::Bool(_) => 1,
            Value::Int(_) => 2,
            Value::Str(_) => 3,
            Value::Entity(_) => 4,
            Value::Enum(_) => 5,
            Value::Set(_) => 6,
        }
    }
}

impl PartialOrd for Value {
    fn partial_cmp(&self, other: &Value) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}

/// A total order used to keep sets canonical. Values of one static type compare by content.
impl Ord for Value {
    fn cmp(&self, other: &Value) -> Ordering {
        match (self, other) {
            (Value::Bool(a), Value::Bool(b)) => a.cmp(b),
            (Value::Int(a), Value::Int(b)) => a.cmp(b),
            (Value::Str(a), Value::Str(b)) => a.cmp(b),
            (Value::Entity(a), Value::Entity(b)) => a.cmp(b),
            (Value::Enum(a), Value::Enum(b)) => a.cmp(b),
            (Value::Set(a), Value::Set(b)) => a.iter().cmp(b.iter()),
            _ => self.rank().cmp(&other.rank()),
        }
    }
}
