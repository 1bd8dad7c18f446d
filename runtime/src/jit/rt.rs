//! The runtime side of compiled code: the per-decision context native code receives, the value
//! handles it passes around, and the `extern "C"` helpers it calls for what is not inlined
//! (attributes, strings, sets, relations, windows, regexes, local time, error reporting).
//!
//! Native code keeps scalars (bools, ints, durations, timestamps, enum variants, entity indices)
//! in registers; strings and sets are `i64` handles that only these helpers resolve, always
//! through bounds-checked lookups, so a wrong handle is an evaluation error, never a wild read.
//! Helpers never panic and never unwind: a failure stores an [`EvalError`] in the context and
//! sets its `err` flag, which native code checks after every fallible call; a panic (a bug) is
//! caught by the wrapper every helper runs in ([`with`]) and becomes such an error. Helpers also
//! spend the decision's budget of steps (`crate::budget`) for the work they do. This module knows the
//! store, windows, values and requests; it does not know Cranelift or how decisions combine.

use std::borrow::Cow;
use std::collections::HashMap;
use std::sync::Arc;
use std::sync::atomic::{AtomicPtr, AtomicU64, Ordering};

use ward_ir::{EntityTypeId, Program, RelationId, TimePart, WindowId};

use crate::budget::{Budget, result_steps, size_steps};
use crate::interp::{EvalError, quote};
use crate::prepared::Compiled;
use crate::request::Request;
use crate::store::Store;
use crate::{EntityRef, Value, time};

/// Scalar kinds of a type code (the low 8 bits); an entity code carries its type above them.
pub(crate) const K_BOOL: i64 = 0;
pub(crate) const K_INT: i64 = 1;
pub(crate) const K_ENUM: i64 = 2;
pub(crate) const K_ENTITY: i64 = 3;
/// A string or a set: the payload is a handle.
pub(crate) const K_HANDLE: i64 = 4;

/// Handle spaces (bits 56..63 of a handle).
const SPACE_SHIFT: u32 = 56;
const S_ARENA: i64 = 1;
const S_CONST: i64 = 2;
const S_SLOT: i64 = 3;
const S_ATTR: i64 = 4;
/// Attribute handles pack `ty` (12 bits), `attr` (12 bits) and the entity index (32 bits).
pub(crate) const MAX_PACKED: usize = 1 << 12;

pub(crate) fn const_handle(k: usize) -> i64 {
    (S_CONST << SPACE_SHIFT) | k as i64
}

pub(crate) fn slot_handle(slot: usize) -> i64 {
    (S_SLOT << SPACE_SHIFT) | slot as i64
}

/// The attribute handle of attribute `attr` of type `ty` for entity index 0 (native code adds
/// the index).
pub(crate) fn attr_handle_base(ty: u32, attr: u32) -> i64 {
    attr_handle(ty, attr, 0)
}

fn attr_handle(ty: u32, attr: u32, idx: u32) -> i64 {
    (S_ATTR << SPACE_SHIFT) | (i64::from(ty) << 44) | (i64::from(attr) << 32) | i64::from(idx)
}

/// The code `h_raise` takes for an exhausted budget (its message names the budget).
pub(crate) const RAISE_BUDGET: i64 = 6;

/// Errors native code raises itself (`h_raise`), by code (and [`RAISE_BUDGET`]).
pub(crate) const RAISE_MESSAGES: [&str; 6] = [
    "integer overflow in `+`",
    "integer overflow in `-`",
    "integer overflow in `*`",
    "timestamp arithmetic `+` leaves the supported range (years 0001 to 9999)",
    "timestamp arithmetic `-` leaves the supported range (years 0001 to 9999)",
    "timestamp arithmetic `*` leaves the supported range (years 0001 to 9999)",
];

/// Program-level data the helpers need besides the compiled program: constants, entity
/// literals and time zones, all indexed by numbers baked into the native code.
#[derive(Debug, Default)]
pub(crate) struct Tables {
    /// String and constant-set literals.
    pub(crate) consts: Vec<Value>,
    /// Entity literals, deduplicated by (type, id); literal `k` is `-(k + 1)` when unknown.
    pub(crate) literals: Vec<(EntityTypeId, Arc<str>)>,
    pub(crate) literal_index: HashMap<(EntityTypeId, Arc<str>), usize>,
    pub(crate) timezones: Vec<time::ZoneOffsets>,
    /// The memoized sub-expressions (see [`SnapshotTables`]), by memo number.
    pub(crate) memos: Vec<MemoSpec>,
    /// The message holes whose rendered text is memoized, by number: the type of entity the
    /// hole depends on, and the hole's type (how its value renders).
    pub(crate) text_memos: Vec<(EntityTypeId, ward_ir::Type)>,
    /// How many values are computed once per decision (`[known, value]` each at
    /// `Ctx::request_memos`).
    pub(crate) request_memos: usize,
    /// The attributes native code reads from columns (see [`SnapshotTables`]), by number.
    pub(crate) columns: Vec<ColumnSpec>,
}

/// An attribute native code reads directly: attribute `attr` of entity type `ty`, of type code
/// `code` (scalars are copied into an `i64` column; strings and sets only need presence).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub(crate) struct ColumnSpec {
    pub(crate) ty: EntityTypeId,
    pub(crate) attr: u32,
    pub(crate) code: i64,
}

/// One attribute's values as native code reads them (an `i64` and a presence byte per entity),
/// before they go into the rows of [`SnapshotTables`]. A column that is not kept has a header
/// of zeros, and native code then calls `h_attr`.
#[derive(Debug)]
struct Column {
    values: Box<[i64]>,
    present: Box<[u8]>,
}

impl Column {
    /// The column of `spec` in `store`; `None` when a value has no native form (an entity the
    /// store does not hold), so that reads go through `h_attr`, which reports it.
    fn build(spec: &ColumnSpec, store: &Store) -> Option<Column> {
        let n = store.entity_count(spec.ty);
        let mut values = Vec::new();
        if spec.code & 0xff != K_HANDLE {
            values.reserve_exact(n);
        }
        let mut present = Vec::with_capacity(n);
        for idx in 0..n {
            let v = store.attr(spec.ty, u32::try_from(idx).ok()?, spec.attr)?;
            present.push(u8::from(*v != Value::Absent));
            if spec.code & 0xff == K_HANDLE {
                continue;
            }
            values.push(match v {
                Value::Absent => 0,
                Value::Bool(b) => i64::from(*b),
                Value::Int(n) => *n,
                Value::Enum(e) => i64::from(*e),
                Value::Entity(EntityRef::Known { idx, .. }) => i64::from(*idx),
                _ => return None,
            });
        }
        Some(Column {
            values: values.into_boxed_slice(),
            present: present.into_boxed_slice(),
        })
    }
}

/// Words per entity of a wide memo (`[known, value, cost, _]`, 32 bytes) and of a narrow one
/// (`[value + 1, cost]`, 16 bytes).
pub(crate) const WIDE_WORDS: usize = 4;
pub(crate) const NARROW_WORDS: usize = 2;

/// Words of a memo's header (`[address, entities, stride, _]`) and of a column's (`[values,
/// present, entities, stride]`), as native code reads them: `address` (`values`, `present`) is
/// entity 0's entry, entity `i`'s is `i * stride` bytes further.
pub(crate) const MEMO_HEADER_WORDS: usize = 4;
pub(crate) const COLUMN_HEADER_WORDS: usize = 4;

/// A sub-expression whose value depends only on one entity (and the snapshot): its value is
/// kept per entity of type `ty` once computed.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct MemoSpec {
    pub(crate) ty: EntityTypeId,
    /// An `Int` (two words per entity: known flag, value); else a `Bool` or enum variant (one
    /// word: `value + 1`, 0 while unknown).
    pub(crate) wide: bool,
}

/// The memo tables of one snapshot: for each [`MemoSpec`], one entry per entity of its type,
/// filled in by native code (through [`h_memo_put`]) the first time the value is computed and
/// read directly by native code afterwards. Entries are atomics: concurrent decisions may
/// compute the same value twice and store it twice, which is harmless (it is the same value).
/// Errors are never stored: an expression that fails is evaluated again next time.
///
/// The entries of one entity sit together with the attribute columns native code reads of it:
/// per entity type, one row per entity (its memos' entries, its columns' values, then a byte per
/// column for presence), rows of a power of two up to 64 bytes, the table aligned to 64 bytes. A
/// decision about an entity then reads one cache line, or a few, for all of them, where a table
/// per memo and per column cost a line each (at 16 times the estate, the cache misses were
/// mostly these).
///
/// The rendered text of memoized message holes is kept the same way, one pointer per entity
/// (null while unknown), set once with a compare-and-swap and freed with the tables.
#[derive(Debug)]
pub(crate) struct SnapshotTables {
    /// The rows of the entity types with memos or columns.
    rows: Vec<Rows>,
    /// Per memo: its rows (index into `rows`) and the word its entry starts at in a row.
    memo_at: Vec<(usize, usize)>,
    /// `MEMO_HEADER_WORDS` per memo, as native code reads them (`entities` is 0 for a table
    /// that is not kept).
    headers: Box<[i64]>,
    /// Per text memo, per entity: a leaked `Box<(text, steps it cost)>`, or null.
    texts: Vec<Box<[AtomicPtr<Memoized>]>>,
    /// How many text memos the program has (`texts` is empty for unused tables).
    n_texts: usize,
    /// `COLUMN_HEADER_WORDS` per column (`entities` is 0 for a column that is not kept).
    column_headers: Box<[i64]>,
}

/// How a type's row is being laid out: the words of its memos and values so far, and how many
/// presence bytes follow them.
struct RowLayout {
    ty: EntityTypeId,
    words: usize,
    bytes: usize,
}

impl RowLayout {
    /// The index of `ty`'s row in `layouts` (added when it is not there).
    fn index(layouts: &mut Vec<RowLayout>, ty: EntityTypeId) -> usize {
        layouts.iter().position(|l| l.ty == ty).unwrap_or_else(|| {
            layouts.push(RowLayout {
                ty,
                words: 0,
                bytes: 0,
            });
            layouts.len() - 1
        })
    }
}

/// One row per entity of a type: `stride` words each, entity 0's at word `start` (the first
/// word of `words` at a 64-byte boundary).
#[derive(Debug)]
struct Rows {
    words: Box<[AtomicU64]>,
    start: usize,
    stride: usize,
    entities: usize,
}

impl Rows {
    /// Rows of `stride` words (rounded up to a power of two when it is at most 8) for
    /// `entities` entities, zeroed.
    fn new(stride: usize, entities: usize) -> Rows {
        let stride = if stride <= 8 {
            stride.next_power_of_two()
        } else {
            stride
        };
        let words = zeroed_u64(stride.saturating_mul(entities).saturating_add(7));
        let misaligned = (words.as_ptr() as usize / 8) % 8;
        Rows {
            words,
            start: (8 - misaligned) % 8,
            stride,
            entities,
        }
    }

    /// Word `offset` of entity `idx`'s row.
    fn word(&self, idx: usize, offset: usize) -> Option<&AtomicU64> {
        if idx >= self.entities || offset >= self.stride {
            return None;
        }
        self.words.get(self.start + idx * self.stride + offset)
    }

    /// The address of word `offset` of entity 0's row, plus `byte` bytes.
    fn address(&self, offset: usize, byte: usize) -> i64 {
        (self.words.as_ptr() as usize + 8 * (self.start + offset) + byte) as i64
    }

    /// The row's size in bytes, as native code steps from one entity to the next.
    fn stride_bytes(&self) -> i64 {
        8 * self.stride as i64
    }
}

/// `n` zeroed atomics. The memory comes from the allocator already zeroed, so the pages of a
/// large table are only touched (and resident) where entries are filled in.
fn zeroed_u64(n: usize) -> Box<[AtomicU64]> {
    // SAFETY: an `AtomicU64` has the in-memory representation of a `u64`, for which all-zero
    // bytes are a valid value (0).
    unsafe { Box::<[AtomicU64]>::new_zeroed_slice(n).assume_init() }
}

/// A memoized message hole: its rendered text and the steps computing it cost.
type Memoized = (Arc<str>, i64);

fn zeroed_ptrs(n: usize) -> Box<[AtomicPtr<Memoized>]> {
    // SAFETY: an `AtomicPtr` has the in-memory representation of a raw pointer, for which
    // all-zero bytes are a valid value (null).
    unsafe { Box::<[AtomicPtr<Memoized>]>::new_zeroed_slice(n).assume_init() }
}

impl Drop for SnapshotTables {
    fn drop(&mut self) {
        for table in &self.texts {
            for slot in table.iter() {
                let p = slot.swap(std::ptr::null_mut(), Ordering::Acquire);
                if !p.is_null() {
                    // SAFETY: every non-null pointer in a text table comes from
                    // `Box::into_raw` in `put_text` and is owned by the table (it was swapped
                    // out, so it is freed once).
                    drop(unsafe { Box::from_raw(p) });
                }
            }
        }
    }
}

impl SnapshotTables {
    /// Empty tables for `tables`' memos: every lookup misses and nothing is stored.
    pub(crate) fn unused(tables: &Tables) -> SnapshotTables {
        SnapshotTables {
            rows: Vec::new(),
            memo_at: Vec::new(),
            headers: vec![0; MEMO_HEADER_WORDS * tables.memos.len()].into_boxed_slice(),
            texts: Vec::new(),
            n_texts: tables.text_memos.len(),
            column_headers: vec![0; COLUMN_HEADER_WORDS * tables.columns.len()].into_boxed_slice(),
        }
    }

    /// Whether these are tables for `tables`' memos and columns.
    pub(crate) fn fits(&self, tables: &Tables) -> bool {
        self.headers.len() == MEMO_HEADER_WORDS * tables.memos.len()
            && self.n_texts == tables.text_memos.len()
            && self.column_headers.len() == COLUMN_HEADER_WORDS * tables.columns.len()
    }

    /// The column headers native code reads (`Ctx::columns`).
    pub(crate) fn columns_ptr(&self) -> *const i64 {
        self.column_headers.as_ptr()
    }

    /// The memoized text of hole memo `m` for entity `idx`, with the steps it cost, if known.
    fn text(&self, m: usize, idx: usize) -> Option<Memoized> {
        let p = self.texts.get(m)?.get(idx)?.load(Ordering::Acquire);
        // SAFETY: a non-null pointer in a text table points to a `Box<Memoized>` the table
        // owns until it is dropped, which cannot happen while `self` is borrowed; it is never
        // mutated after it was published.
        unsafe { p.as_ref() }.cloned()
    }

    /// Keeps `text` (which cost `cost` steps) as hole memo `m`'s for entity `idx` (the first
    /// stored text wins).
    fn put_text(&self, m: usize, idx: usize, text: &Arc<str>, cost: i64) {
        let Some(slot) = self.texts.get(m).and_then(|t| t.get(idx)) else {
            return;
        };
        let p = Box::into_raw(Box::new((Arc::clone(text), cost)));
        if slot
            .compare_exchange(std::ptr::null_mut(), p, Ordering::AcqRel, Ordering::Acquire)
            .is_err()
        {
            // SAFETY: `p` was not published (the exchange failed), so it is still ours.
            drop(unsafe { Box::from_raw(p) });
        }
    }

    /// How many entities memo `memo`'s table holds (0 when it is not kept).
    pub(crate) fn entities(&self, memo: usize) -> usize {
        self.headers
            .get(MEMO_HEADER_WORDS * memo + 1)
            .map_or(0, |&n| usize::try_from(n).unwrap_or(0))
    }

    /// Whether memo `memo` holds a value for entity `idx`.
    pub(crate) fn known(&self, memo: usize, idx: usize) -> bool {
        self.entry(memo, idx, 0)
            .is_some_and(|w| w.load(Ordering::Acquire) != 0)
    }

    /// Word `k` of memo `memo`'s entry for entity `idx`.
    fn entry(&self, memo: usize, idx: usize, k: usize) -> Option<&AtomicU64> {
        let &(rows, offset) = self.memo_at.get(memo)?;
        self.rows.get(rows)?.word(idx, offset + k)
    }

    /// The headers native code reads (`Ctx::memos`).
    pub(crate) fn as_ptr(&self) -> *const i64 {
        self.headers.as_ptr()
    }

    /// Stores the value of memo `memo` for entity `idx` and the steps computing it cost: a
    /// wide entry is `[known, value, cost, _]`, a narrow one `[value + 1, cost]`; the word
    /// native code tests first is stored last.
    fn put(&self, memo: usize, idx: usize, wide: bool, value: i64, cost: i64) {
        if wide {
            if let (Some(flag), Some(slot), Some(steps)) = (
                self.entry(memo, idx, 0),
                self.entry(memo, idx, 1),
                self.entry(memo, idx, 2),
            ) {
                slot.store(value as u64, Ordering::Relaxed);
                steps.store(cost as u64, Ordering::Relaxed);
                flag.store(1, Ordering::Release);
            }
        } else if let (Some(slot), Some(steps)) =
            (self.entry(memo, idx, 0), self.entry(memo, idx, 1))
        {
            steps.store(cost as u64, Ordering::Relaxed);
            slot.store((value as u64).wrapping_add(1), Ordering::Release);
        }
    }
}

impl Tables {
    /// Each literal resolved against a snapshot: its index when the store has it, else its
    /// unknown-entity code.
    pub(crate) fn resolve_literals(&self, store: &Store) -> Arc<[i64]> {
        self.literals
            .iter()
            .enumerate()
            .map(|(k, (ty, id))| match store.lookup(*ty, id) {
                Some(idx) => i64::from(idx),
                None => unknown_code(k),
            })
            .collect()
    }

    /// Empty memo tables sized for a snapshot, with the columns native code reads, laid out
    /// in rows per entity (see [`SnapshotTables`]).
    pub(crate) fn snapshot_tables(&self, store: &Store) -> SnapshotTables {
        let built: Vec<Option<Column>> = self
            .columns
            .iter()
            .map(|spec| Column::build(spec, store))
            .collect();
        // Each type's row: its memos' entries, its kept columns' values (strings and sets
        // need none), then a presence byte per kept column.
        let mut layouts: Vec<RowLayout> = Vec::new();
        let mut memo_at = Vec::with_capacity(self.memos.len());
        for spec in &self.memos {
            let r = RowLayout::index(&mut layouts, spec.ty);
            // (A row that is not there leaves the memo's header zeroed: never kept.)
            let Some(layout) = layouts.get_mut(r) else {
                memo_at.push((usize::MAX, 0));
                continue;
            };
            memo_at.push((r, layout.words));
            layout.words += if spec.wide { WIDE_WORDS } else { NARROW_WORDS };
        }
        // Per kept column: its rows, the word of its values (if any) and its presence byte.
        let mut column_at: Vec<Option<(usize, Option<usize>, usize)>> =
            Vec::with_capacity(self.columns.len());
        for (spec, column) in self.columns.iter().zip(&built) {
            if column.is_none() {
                column_at.push(None);
                continue;
            }
            let r = RowLayout::index(&mut layouts, spec.ty);
            let Some(layout) = layouts.get_mut(r) else {
                column_at.push(None);
                continue;
            };
            let value = (spec.code & 0xff != K_HANDLE).then(|| {
                layout.words += 1;
                layout.words - 1
            });
            column_at.push(Some((r, value, layout.bytes)));
            layout.bytes += 1;
        }
        let rows: Vec<Rows> = layouts
            .iter()
            .map(|l| Rows::new(l.words + l.bytes.div_ceil(8), store.entity_count(l.ty)))
            .collect();
        let mut headers = Vec::with_capacity(MEMO_HEADER_WORDS * self.memos.len());
        for &(r, offset) in &memo_at {
            let Some(row) = rows.get(r) else {
                headers.extend([0; MEMO_HEADER_WORDS]);
                continue;
            };
            headers.extend([
                row.address(offset, 0),
                row.entities as i64,
                row.stride_bytes(),
                0,
            ]);
        }
        let mut column_headers = Vec::with_capacity(COLUMN_HEADER_WORDS * self.columns.len());
        for (at, column) in column_at.iter().zip(built) {
            let (Some((r, value, byte)), Some(column)) = (*at, column) else {
                column_headers.extend([0; COLUMN_HEADER_WORDS]);
                continue;
            };
            let (Some(row), Some(layout)) = (rows.get(r), layouts.get(r)) else {
                column_headers.extend([0; COLUMN_HEADER_WORDS]);
                continue;
            };
            let presence = layout.words + byte / 8;
            for idx in 0..row.entities {
                if let (Some(v), Some(w)) = (value, column.values.get(idx))
                    && let Some(word) = row.word(idx, v)
                {
                    word.store(*w as u64, Ordering::Relaxed);
                }
                if column.present.get(idx) == Some(&1)
                    && let Some(word) = row.word(idx, presence)
                {
                    let mut flags = word.load(Ordering::Relaxed).to_ne_bytes();
                    if let Some(flag) = flags.get_mut(byte % 8) {
                        *flag = 1;
                    }
                    word.store(u64::from_ne_bytes(flags), Ordering::Relaxed);
                }
            }
            column_headers.extend([
                value.map_or(0, |v| row.address(v, 0)),
                row.address(presence, byte % 8),
                row.entities as i64,
                row.stride_bytes(),
            ]);
        }
        let texts = self
            .text_memos
            .iter()
            .map(|(ty, _)| zeroed_ptrs(store.entity_count(*ty)))
            .collect();
        SnapshotTables {
            rows,
            memo_at,
            headers: headers.into_boxed_slice(),
            texts,
            n_texts: self.text_memos.len(),
            column_headers: column_headers.into_boxed_slice(),
        }
    }
}

fn unknown_code(k: usize) -> i64 {
    -(k as i64) - 1
}

/// A value produced during one decision.
#[derive(Debug)]
pub(crate) enum Item {
    Val(Value),
    /// The entities of type `ty` related to entity `idx` by `rel` (against the edges when
    /// `inverse`): the store's sorted indices, looked up whenever the item is read.
    Rel {
        ty: EntityTypeId,
        rel: RelationId,
        inverse: bool,
        idx: u32,
    },
    /// A closure: the store's sorted indices of entities of type `ty`.
    Closure {
        ty: EntityTypeId,
        set: Arc<[u32]>,
    },
}

/// What a handle stands for.
enum Res<'v> {
    Val(&'v Value),
    Idx(EntityTypeId, &'v [u32]),
}

impl<'v> Res<'v> {
    /// What the value adds to an operation's steps (see [`Ctx::size`]).
    fn size(&self) -> usize {
        match self {
            Res::Val(Value::Str(s)) => s.len(),
            Res::Val(Value::Set(items)) => items.len(),
            Res::Idx(_, items) => items.len(),
            Res::Val(_) => 0,
        }
    }

    /// The value (sets of indices materialized).
    fn value(&self) -> Cow<'v, Value> {
        match *self {
            Res::Val(v) => Cow::Borrowed(v),
            Res::Idx(ty, items) => Cow::Owned(entity_set(ty, items)),
        }
    }
}

/// The steps of an operation on values of these sizes: 1 + each size / 64 (see
/// `crate::budget`).
fn operation_steps(sizes: impl IntoIterator<Item = usize>) -> i64 {
    sizes
        .into_iter()
        .fold(1i64, |n, size| n.saturating_add(size_steps(size)))
}

/// The context of one decision. Native code reads the first fields at fixed offsets
/// (`repr(C)`); the rest is only seen by helpers.
#[repr(C)]
pub(crate) struct Ctx<'a> {
    /// Offset 0: non-zero when `error` holds an error native code has not handled yet.
    pub(crate) err: i64,
    /// Offset 8: `[present, payload]` per context field, then per action field.
    pub(crate) slots: *const i64,
    /// Offset 16: one outcome per rule of the action.
    pub(crate) outcomes: *mut i64,
    /// Offset 24: the entity literals resolved against this decision's snapshot.
    pub(crate) literals: *const i64,
    /// Offset 32: second result of `h_attr` (whether the attribute is present).
    pub(crate) aux: i64,
    /// Offset 40: the request's time.
    pub(crate) now: i64,
    /// Offset 48: the memo tables' headers (`[address, entities, stride, _]` per memo).
    pub(crate) memos: *const i64,
    /// Offset 56: the attribute columns' headers (`[values, present, entities, stride]` per
    /// column).
    pub(crate) columns: *const i64,
    /// Offset 64: `[known, value, cost]` per value computed once per decision (zeroed for
    /// each).
    pub(crate) request_memos: *mut i64,
    /// Offset 72: the steps this decision has left (negative once exhausted).
    pub(crate) budget: i64,
    /// The decision's budget, for the message when it runs out.
    limit: Budget,
    memo_tables: Option<&'a SnapshotTables>,
    pub(crate) compiled: &'a Compiled,
    /// How many of the slots are context fields (the action's fields follow).
    n_context: usize,
    pub(crate) tables: &'a Tables,
    pub(crate) store: &'a Store,
    pub(crate) request: &'a Request,
    pub(crate) arena: &'a mut Vec<Item>,
    pub(crate) builders: &'a mut Vec<Vec<Value>>,
    pub(crate) error: Option<EvalError>,
    /// Errors of rules, by position in the action's plan.
    pub(crate) rule_errors: &'a mut Vec<(usize, EvalError)>,
    /// Values of message holes and approvers, in evaluation order.
    pub(crate) emitted: &'a mut Vec<Value>,
    /// Unknown entities met at run time that are not literals of the program.
    extra_unknown: Vec<(EntityTypeId, Arc<str>)>,
}

pub(crate) const OFF_ERR: i32 = 0;
pub(crate) const OFF_SLOTS: i32 = 8;
pub(crate) const OFF_OUTCOMES: i32 = 16;
pub(crate) const OFF_LITERALS: i32 = 24;
pub(crate) const OFF_AUX: i32 = 32;
pub(crate) const OFF_NOW: i32 = 40;
pub(crate) const OFF_MEMOS: i32 = 48;
pub(crate) const OFF_COLUMNS: i32 = 56;
pub(crate) const OFF_REQUEST_MEMOS: i32 = 64;
pub(crate) const OFF_BUDGET: i32 = 72;

/// The helpers' buffers go back to the thread's scratch empty (values dropped, capacity kept).
impl Drop for Ctx<'_> {
    #[inline]
    fn drop(&mut self) {
        // Most decisions leave them empty: a test each costs less than clearing.
        if !self.arena.is_empty() {
            self.arena.clear();
        }
        if !self.builders.is_empty() {
            self.builders.clear();
        }
        if !self.emitted.is_empty() {
            self.emitted.clear();
        }
        if !self.rule_errors.is_empty() {
            self.rule_errors.clear();
        }
    }
}

impl<'a> Ctx<'a> {
    #[allow(clippy::too_many_arguments)]
    pub(crate) fn new(
        compiled: &'a Compiled,
        tables: &'a Tables,
        store: &'a Store,
        request: &'a Request,
        literals: &'a [i64],
        n_context: usize,
        budget: Budget,
        scratch: &'a mut super::decide::Scratch,
    ) -> Ctx<'a> {
        let super::decide::Scratch {
            arena,
            builders,
            emitted,
            rule_errors,
        } = scratch;
        Ctx {
            err: 0,
            slots: std::ptr::null(),
            outcomes: std::ptr::null_mut(),
            literals: literals.as_ptr(),
            aux: 0,
            now: request.at,
            memos: std::ptr::null(),
            columns: std::ptr::null(),
            request_memos: std::ptr::null_mut(),
            budget: budget.start(),
            limit: budget,
            memo_tables: None,
            compiled,
            tables,
            n_context,
            store,
            request,
            arena,
            builders,
            error: None,
            rule_errors,
            emitted,
            extra_unknown: Vec::new(),
        }
    }

    /// Uses `memos` (tables for this context's program) for memoized sub-expressions.
    pub(crate) fn set_memos(&mut self, memos: &'a SnapshotTables) {
        self.memos = memos.as_ptr();
        self.columns = memos.columns_ptr();
        self.memo_tables = Some(memos);
    }

    fn program(&self) -> &'a Program {
        &self.compiled.program
    }

    fn fail(&mut self, e: EvalError) -> i64 {
        if self.error.is_none() {
            self.error = Some(e);
        }
        self.err = 1;
        0
    }

    /// Spends `n` steps: `false` (and the budget's error pending) once it is exhausted.
    fn charge(&mut self, n: i64) -> bool {
        self.budget = self.budget.saturating_sub(n);
        if self.budget < 0 {
            self.fail(self.limit.exhausted());
            return false;
        }
        true
    }

    /// The size a handle's value adds to an operation's steps (see `crate::budget`).
    fn size(&self, h: i64) -> usize {
        self.resolve(h).map_or(0, |r| r.size())
    }

    /// Spends the steps of an operation on the values of `handles`.
    fn charge_sizes(&mut self, handles: &[i64]) -> bool {
        let steps = operation_steps(handles.iter().map(|&h| self.size(h)));
        self.charge(steps)
    }

    fn internal(&mut self, what: &str) -> i64 {
        self.fail(EvalError::new(format!(
            "internal error: {what} (the program did not verify?)"
        )))
    }

    /// Takes the pending error (set by a helper), clearing the flag.
    pub(crate) fn take_error(&mut self) -> EvalError {
        self.err = 0;
        self.error
            .take()
            .unwrap_or_else(|| EvalError::new("internal error: a failure without an error"))
    }

    fn resolve(&self, h: i64) -> Option<Res<'_>> {
        let space = h >> SPACE_SHIFT;
        let low = (h & ((1 << SPACE_SHIFT) - 1)) as usize;
        match space {
            S_ARENA => match self.arena.get(low)? {
                Item::Val(v) => Some(Res::Val(v)),
                Item::Rel {
                    ty,
                    rel,
                    inverse,
                    idx,
                } => Some(Res::Idx(*ty, self.store.related(*rel, *inverse, *idx))),
                Item::Closure { ty, set } => Some(Res::Idx(*ty, set)),
            },
            S_CONST => self.tables.consts.get(low).map(Res::Val),
            S_SLOT => match low.checked_sub(self.n_context) {
                None => self.request.context.get(low).map(Res::Val),
                Some(arg) => self.request.args.get(arg).map(Res::Val),
            },
            S_ATTR => {
                let ty = ((h >> 44) & 0xfff) as u32;
                let attr = ((h >> 32) & 0xfff) as u32;
                let idx = (h & 0xffff_ffff) as u32;
                self.store.attr(EntityTypeId(ty), idx, attr).map(Res::Val)
            }
            _ => None,
        }
    }

    /// The value a handle stands for (sets of indices are materialized).
    fn value(&self, h: i64) -> Option<Cow<'_, Value>> {
        self.resolve(h).map(|r| r.value())
    }

    fn push(&mut self, item: Item) -> i64 {
        self.arena.push(item);
        (S_ARENA << SPACE_SHIFT) | (self.arena.len() - 1) as i64
    }

    /// A request value as the payload of slot `k`; `None` when absent.
    pub(crate) fn unbox_slot(&mut self, k: usize, v: &Value) -> Option<i64> {
        match v {
            Value::Absent => None,
            Value::Bool(b) => Some(i64::from(*b)),
            Value::Int(n) => Some(*n),
            Value::Enum(e) => Some(i64::from(*e)),
            Value::Entity(EntityRef::Known { idx, .. }) => Some(i64::from(*idx)),
            Value::Entity(EntityRef::Unknown { ty, .. }) => {
                self.unboxed(K_ENTITY | (i64::from(ty.0) << 8), v)
            }
            Value::Str(_) | Value::Set(_) => Some(slot_handle(k)),
        }
    }

    /// A native scalar (or handle) as a value, by type code.
    fn boxed(&self, code: i64, x: i64) -> Option<Value> {
        match code & 0xff {
            K_BOOL => Some(Value::Bool(x != 0)),
            K_INT => Some(Value::Int(x)),
            K_ENUM => Some(Value::Enum(u32::try_from(x).ok()?)),
            K_ENTITY => {
                let ty = EntityTypeId(u32::try_from(code >> 8).ok()?);
                if x >= 0 {
                    return Some(Value::Entity(EntityRef::Known {
                        ty,
                        idx: u32::try_from(x).ok()?,
                    }));
                }
                let k = usize::try_from(-(x + 1)).ok()?;
                let n = self.tables.literals.len();
                let (ty, id) = match k.checked_sub(n) {
                    None => self.tables.literals.get(k)?,
                    Some(extra) => self.extra_unknown.get(extra)?,
                };
                Some(Value::Entity(EntityRef::Unknown {
                    ty: *ty,
                    id: id.clone(),
                }))
            }
            K_HANDLE => self.value(x).map(Cow::into_owned),
            _ => None,
        }
    }

    /// A value as a native scalar of type code `code`; strings and sets become arena handles.
    /// `None` for a value of the wrong shape.
    fn unboxed(&mut self, code: i64, v: &Value) -> Option<i64> {
        match (code & 0xff, v) {
            (K_BOOL, Value::Bool(b)) => Some(i64::from(*b)),
            (K_INT, Value::Int(n)) => Some(*n),
            (K_ENUM, Value::Enum(e)) => Some(i64::from(*e)),
            (K_ENTITY, Value::Entity(EntityRef::Known { idx, .. })) => Some(i64::from(*idx)),
            (K_ENTITY, Value::Entity(EntityRef::Unknown { ty, id })) => {
                let key = (*ty, id.clone());
                if let Some(k) = self.tables.literal_index.get(&key) {
                    return Some(unknown_code(*k));
                }
                let n = self.tables.literals.len();
                let extra = match self.extra_unknown.iter().position(|x| *x == key) {
                    Some(i) => i,
                    None => {
                        self.extra_unknown.push(key);
                        self.extra_unknown.len() - 1
                    }
                };
                Some(unknown_code(n + extra))
            }
            (K_HANDLE, Value::Str(_) | Value::Set(_)) => Some(self.push(Item::Val(v.clone()))),
            _ => None,
        }
    }
}

/// Store indices (sorted) as a canonical set of entities of type `ty`.
fn entity_set(ty: EntityTypeId, indices: &[u32]) -> Value {
    Value::Set(
        indices
            .iter()
            .map(|&idx| Value::Entity(EntityRef::Known { ty, idx }))
            .collect(),
    )
}

/// Runs `f` on the context behind the pointer native code passes to every helper.
///
/// No panic leaves a helper: unwinding out of an `extern "C"` function would abort the
/// process (and unwinding through native code is not something Cranelift's frames support).
/// A panic inside `f` (a bug of Ward) is caught here and becomes an evaluation error of the
/// rule being evaluated, which fails closed like any other; the helper returns `default`.
fn with<R>(p: *mut u8, default: R, f: impl FnOnce(&mut Ctx<'_>) -> R) -> R {
    // SAFETY: native code only ever passes the pointer it received as its first argument, which
    // `Code::run_*` derives from a `&mut Ctx` that outlives the call and is not otherwise used
    // while native code runs; `as_mut` turns a null pointer into `None`.
    let Some(ctx) = (unsafe { p.cast::<Ctx<'_>>().as_mut() }) else {
        return default;
    };
    match std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| f(&mut *ctx))) {
        Ok(result) => result,
        Err(payload) => {
            let what = payload
                .downcast_ref::<&str>()
                .map(|s| (*s).to_string())
                .or_else(|| payload.downcast_ref::<String>().cloned())
                .unwrap_or_else(|| "no message".into());
            ctx.fail(EvalError::new(format!(
                "internal error: the runtime failed while evaluating ({what})"
            )));
            default
        }
    }
}

/// A helper that panics, for the test that no panic crosses into native code.
#[cfg(test)]
pub(crate) extern "C" fn h_test_panic(p: *mut u8, _h: i64) -> i64 {
    with(p, 0, |_| panic!("a test helper panics on purpose"))
}

fn flag(b: bool) -> i64 {
    i64::from(b)
}

/// `attr` of entity `ent` (type `ty`) as a native value: the payload is returned, whether it
/// is present goes to `aux`. Strings and sets become attribute handles (no copy).
pub(crate) extern "C" fn h_attr(p: *mut u8, ty: i64, ent: i64, attr: i64, code: i64) -> i64 {
    with(p, 0, |ctx| {
        let (Ok(tyu), Ok(attru)) = (u32::try_from(ty), u32::try_from(attr)) else {
            return ctx.internal("attribute out of range");
        };
        let ty_id = EntityTypeId(tyu);
        let Ok(idx) = u32::try_from(ent) else {
            let name = ctx
                .program()
                .schema
                .entities
                .get(ty_id.index())
                .map_or("?", |t| t.name.as_str());
            let id = match ctx.boxed(K_ENTITY | (ty << 8), ent) {
                Some(Value::Entity(EntityRef::Unknown { id, .. })) => quote(&id),
                _ => "?".to_string(),
            };
            return ctx.fail(EvalError::new(format!(
                "entity `{name}::{id}` is not in the entities"
            )));
        };
        let store = ctx.store;
        let Some(v) = store.attr(ty_id, idx, attru) else {
            return ctx.internal("attribute out of range");
        };
        if *v == Value::Absent {
            ctx.aux = 0;
            return 0;
        }
        ctx.aux = 1;
        if code & 0xff == K_HANDLE {
            return attr_handle(tyu, attru, idx);
        }
        match ctx.unboxed(code, v) {
            Some(x) => x,
            None => ctx.internal("attribute of an unexpected type"),
        }
    })
}

pub(crate) extern "C" fn h_set_new(p: *mut u8) -> i64 {
    with(p, 0, |ctx| {
        ctx.builders.push(Vec::new());
        (ctx.builders.len() - 1) as i64
    })
}

pub(crate) extern "C" fn h_set_push(p: *mut u8, b: i64, code: i64, x: i64) -> i64 {
    with(p, 0, |ctx| {
        let Some(v) = ctx.boxed(code, x) else {
            return ctx.internal("set element of an unexpected type");
        };
        match usize::try_from(b)
            .ok()
            .and_then(|b| ctx.builders.get_mut(b))
        {
            Some(items) => {
                items.push(v);
                0
            }
            None => ctx.internal("set builder out of range"),
        }
    })
}

/// Keeps element `i` of set `h` in builder `b` (filters).
pub(crate) extern "C" fn h_filter_push(p: *mut u8, b: i64, h: i64, i: i64) -> i64 {
    with(p, 0, |ctx| {
        let v = match (ctx.resolve(h), usize::try_from(i)) {
            (Some(Res::Val(Value::Set(items))), Ok(i)) => items.get(i).cloned(),
            (Some(Res::Idx(ty, items)), Ok(i)) => items
                .get(i)
                .map(|&idx| Value::Entity(EntityRef::Known { ty, idx })),
            _ => None,
        };
        let Some(v) = v else {
            return ctx.internal("set element out of range");
        };
        match usize::try_from(b)
            .ok()
            .and_then(|b| ctx.builders.get_mut(b))
        {
            Some(items) => {
                items.push(v);
                0
            }
            None => ctx.internal("set builder out of range"),
        }
    })
}

pub(crate) extern "C" fn h_set_finish(p: *mut u8, b: i64) -> i64 {
    with(p, 0, |ctx| {
        let items = match usize::try_from(b)
            .ok()
            .and_then(|b| ctx.builders.get_mut(b))
        {
            Some(items) => std::mem::take(items),
            None => return ctx.internal("set builder out of range"),
        };
        ctx.push(Item::Val(Value::set(items)))
    })
}

/// Equality of two strings or sets.
pub(crate) extern "C" fn h_eq(p: *mut u8, a: i64, b: i64) -> i64 {
    with(p, 0, |ctx| {
        // Each handle resolved once, for its size and its value; two sets of indices are
        // compared as indices (equal sets of entities of one type are equal index lists, and
        // two empty sets are equal whatever their types).
        let (steps, equal) = match (ctx.resolve(a), ctx.resolve(b)) {
            (Some(x), Some(y)) => {
                let steps = operation_steps([x.size(), y.size()]);
                let equal = match (x, y) {
                    (Res::Val(x), Res::Val(y)) => x == y,
                    (Res::Idx(t, s), Res::Idx(u, v)) => s == v && (t == u || s.is_empty()),
                    (x, y) => x.value() == y.value(),
                };
                (steps, Some(equal))
            }
            _ => (1, None),
        };
        if !ctx.charge(steps) {
            return 0;
        }
        match equal {
            Some(equal) => flag(equal),
            None => ctx.internal("handle out of range"),
        }
    })
}

/// `x in h`, `x` a native value of type code `code`.
pub(crate) extern "C" fn h_contains(p: *mut u8, h: i64, code: i64, x: i64) -> i64 {
    with(p, 0, |ctx| {
        if code & 0xff == K_HANDLE {
            // A string (or set) element: resolved once, for its size and to be searched for,
            // without a copy.
            let (steps, found) = match (ctx.resolve(x), ctx.resolve(h)) {
                (Some(elem), set) => {
                    let steps = operation_steps([elem.size()]);
                    let elem = elem.value();
                    let found = match set {
                        Some(Res::Val(Value::Set(items))) => Ok(items.binary_search(&elem).is_ok()),
                        // A set of entities holds no string.
                        Some(Res::Idx(..)) => Ok(false),
                        _ => Err("expected a set"),
                    };
                    (steps, found)
                }
                (None, _) => (1, Err("set element of an unexpected type")),
            };
            if !ctx.charge(steps) {
                return 0;
            }
            return match found {
                Ok(found) => flag(found),
                Err(what) => ctx.internal(what),
            };
        }
        if !ctx.charge(1) {
            return 0;
        }
        if code & 0xff == K_ENTITY
            && let Some(Res::Idx(_, items)) = ctx.resolve(h)
        {
            return flag(u32::try_from(x).is_ok_and(|x| items.binary_search(&x).is_ok()));
        }
        let Some(elem) = ctx.boxed(code, x) else {
            return ctx.internal("set element of an unexpected type");
        };
        match ctx.resolve(h) {
            Some(Res::Val(Value::Set(items))) => flag(items.binary_search(&elem).is_ok()),
            Some(Res::Idx(ty, items)) => flag(match elem {
                Value::Entity(EntityRef::Known { ty: t, idx }) => {
                    t == ty && items.binary_search(&idx).is_ok()
                }
                _ => false,
            }),
            _ => ctx.internal("expected a set"),
        }
    })
}

/// The number of elements of a set.
pub(crate) extern "C" fn h_len(p: *mut u8, h: i64) -> i64 {
    with(p, 0, |ctx| match ctx.resolve(h) {
        Some(Res::Val(Value::Set(items))) => items.len() as i64,
        Some(Res::Idx(_, items)) => items.len() as i64,
        _ => ctx.internal("expected a set"),
    })
}

/// Element `i` of set `h` as a native value of type code `code`.
pub(crate) extern "C" fn h_get(p: *mut u8, h: i64, i: i64, code: i64) -> i64 {
    with(p, 0, |ctx| {
        let Ok(i) = usize::try_from(i) else {
            return ctx.internal("set element out of range");
        };
        let v = match ctx.resolve(h) {
            Some(Res::Idx(_, items)) => match items.get(i) {
                Some(&idx) => return i64::from(idx),
                None => None,
            },
            Some(Res::Val(Value::Set(items))) => items.get(i).cloned(),
            _ => None,
        };
        match v.and_then(|v| ctx.unboxed(code, &v)) {
            Some(x) => x,
            None => ctx.internal("set element out of range"),
        }
    })
}

/// Where the indices of a set of entities held as indices (a relation's result, a closure)
/// lie, for native code to read them in place, or 0 for a set of values (read with [`h_get`]).
/// The indices outlive the decision's native code: they are the store's, or a closure the
/// context's arena holds, and the arena is only emptied when the context is dropped.
pub(crate) extern "C" fn h_items(p: *mut u8, h: i64) -> i64 {
    with(p, 0, |ctx| match ctx.resolve(h) {
        Some(Res::Idx(_, items)) => items.as_ptr() as i64,
        _ => 0,
    })
}

fn set_items(v: &Value) -> Option<&[Value]> {
    v.as_set()
}

pub(crate) extern "C" fn h_intersects(p: *mut u8, a: i64, b: i64) -> i64 {
    set_test(p, a, b, |s, t| s.iter().any(|v| t.binary_search(v).is_ok()))
}

pub(crate) extern "C" fn h_subset(p: *mut u8, a: i64, b: i64) -> i64 {
    set_test(p, a, b, |s, t| s.iter().all(|v| t.binary_search(v).is_ok()))
}

/// A test of two sets: spends 1 + each set's size / 64 steps, then `test`s their elements.
/// Each handle is resolved once, for its size and its elements.
fn set_test(p: *mut u8, a: i64, b: i64, test: impl Fn(&[Value], &[Value]) -> bool) -> i64 {
    with(p, 0, |ctx| {
        let (steps, result) = match (ctx.resolve(a), ctx.resolve(b)) {
            (Some(x), Some(y)) => {
                let steps = operation_steps([x.size(), y.size()]);
                let (x, y) = (x.value(), y.value());
                match (set_items(&x), set_items(&y)) {
                    (Some(s), Some(t)) => (steps, Ok(test(s, t))),
                    _ => (steps, Err("expected a set")),
                }
            }
            _ => (1, Err("handle out of range")),
        };
        if !ctx.charge(steps) {
            return 0;
        }
        match result {
            Ok(holds) => flag(holds),
            Err(what) => ctx.internal(what),
        }
    })
}

/// `starts_with` (0), `ends_with` (1), `contains` (2) on strings.
pub(crate) extern "C" fn h_str_test(p: *mut u8, op: i64, a: i64, b: i64) -> i64 {
    with(p, 0, |ctx| {
        if ctx.charge_sizes(&[a, b]) {
            str_test(ctx, op, a, b)
        } else {
            0
        }
    })
}

fn str_test(ctx: &mut Ctx<'_>, op: i64, a: i64, b: i64) -> i64 {
    match (ctx.resolve(a), ctx.resolve(b)) {
        (Some(Res::Val(Value::Str(s))), Some(Res::Val(Value::Str(t)))) => flag(match op {
            0 => s.starts_with(&**t),
            1 => s.ends_with(&**t),
            _ => s.contains(&**t),
        }),
        _ => ctx.internal("expected a string"),
    }
}

pub(crate) extern "C" fn h_lower(p: *mut u8, h: i64) -> i64 {
    with(p, 0, |ctx| {
        if !ctx.charge_sizes(&[h]) {
            return 0;
        }
        let lowered = match ctx.resolve(h) {
            Some(Res::Val(Value::Str(s))) => s.to_lowercase(),
            _ => return ctx.internal("expected a string"),
        };
        ctx.push(Item::Val(Value::Str(Arc::from(lowered))))
    })
}

pub(crate) extern "C" fn h_strlen(p: *mut u8, h: i64) -> i64 {
    with(p, 0, |ctx| {
        if !ctx.charge_sizes(&[h]) {
            return 0;
        }
        match ctx.resolve(h) {
            Some(Res::Val(Value::Str(s))) => s.chars().count() as i64,
            _ => ctx.internal("expected a string"),
        }
    })
}

pub(crate) extern "C" fn h_matches(p: *mut u8, re: i64, h: i64) -> i64 {
    with(p, 0, |ctx| {
        let size = ctx.size(h);
        if !ctx.charge(1i64.saturating_add(size_steps(size))) {
            return 0;
        }
        let regex = usize::try_from(re)
            .ok()
            .and_then(|re| ctx.compiled.regexes.get(re));
        match (regex, ctx.resolve(h)) {
            (Some(regex), Some(Res::Val(Value::Str(s)))) => flag(regex.is_match(s)),
            (None, _) => ctx.internal("regex out of range"),
            _ => ctx.internal("`matches` on a non-string"),
        }
    })
}

/// `x.r`, `x.~r` (flags bit 0: inverse), `closure(x, r)` (bit 1: transitive) as a handle to the
/// store's sorted indices; an entity the store does not hold has no edges.
pub(crate) extern "C" fn h_related(p: *mut u8, rel: i64, flags: i64, ent: i64, ty: i64) -> i64 {
    with(p, 0, |ctx| {
        let (Ok(rel), Ok(ty)) = (u32::try_from(rel), u32::try_from(ty)) else {
            return ctx.internal("relation out of range");
        };
        let (ty, rel, inverse) = (EntityTypeId(ty), RelationId(rel), flags & 1 != 0);
        // An entity the store does not hold has no edges.
        let Ok(idx) = u32::try_from(ent) else {
            if !ctx.charge(1) {
                return 0;
            }
            return ctx.push(Item::Closure {
                ty,
                set: Arc::from([]),
            });
        };
        if flags & 2 != 0 {
            let set = ctx.store.closure(rel, inverse, idx);
            if !ctx.charge(result_steps(set.len())) {
                return 0;
            }
            ctx.push(Item::Closure { ty, set })
        } else {
            let n = ctx.store.related(rel, inverse, idx).len();
            if !ctx.charge(result_steps(n)) {
                return 0;
            }
            ctx.push(Item::Rel {
                ty,
                rel,
                inverse,
                idx,
            })
        }
    })
}

/// `count(closure(x, r))` (`inverse` for `~r`) without the closure.
pub(crate) extern "C" fn h_closure_count(p: *mut u8, rel: i64, inverse: i64, ent: i64) -> i64 {
    with(p, 0, |ctx| {
        let Ok(rel) = u32::try_from(rel) else {
            return ctx.internal("relation out of range");
        };
        let Ok(idx) = u32::try_from(ent) else {
            // An entity the store does not hold has no edges.
            ctx.charge(1);
            return 0;
        };
        let size = ctx.store.closure_count(RelationId(rel), inverse != 0, idx);
        let steps = if size.direct {
            1
        } else {
            result_steps(size.count)
        };
        if !ctx.charge(steps) {
            return 0;
        }
        i64::try_from(size.count).unwrap_or(i64::MAX)
    })
}

pub(crate) extern "C" fn h_path(p: *mut u8, rel: i64, inverse: i64, a: i64, b: i64) -> i64 {
    with(p, 0, |ctx| {
        match (u32::try_from(rel), u32::try_from(a), u32::try_from(b)) {
            (Ok(rel), Ok(a), Ok(b)) => {
                let rel = RelationId(rel);
                let size = ctx.store.closure_count(rel, inverse != 0, a).count;
                if !ctx.charge(result_steps(size)) {
                    return 0;
                }
                flag(ctx.store.reaches(rel, inverse != 0, a, b))
            }
            _ => {
                ctx.charge(1);
                0
            }
        }
    })
}

fn window(w: i64) -> WindowId {
    WindowId(u32::try_from(w).unwrap_or(u32::MAX))
}

pub(crate) extern "C" fn h_in_window(p: *mut u8, w: i64, t: i64) -> i64 {
    with(p, 0, |ctx| {
        flag(ctx.compiled.windows.contains(window(w), t))
    })
}

pub(crate) extern "C" fn h_remaining(p: *mut u8, w: i64, t: i64) -> i64 {
    with(p, 0, |ctx| ctx.compiled.windows.remaining(window(w), t))
}

pub(crate) extern "C" fn h_fits(p: *mut u8, w: i64, t: i64, d: i64) -> i64 {
    with(p, 0, |ctx| flag(ctx.compiled.windows.fits(window(w), t, d)))
}

pub(crate) extern "C" fn h_next_open(p: *mut u8, w: i64, t: i64) -> i64 {
    with(p, 0, |ctx| {
        match ctx.compiled.windows.next_open(window(w), t) {
            Some(open) => open,
            None => {
                let name = ctx
                    .program()
                    .windows
                    .get(window(w).index())
                    .map_or("?", |w| w.name.as_str());
                let message = format!(
                    "window `{name}` does not open within 366 days after {}",
                    time::format_timestamp(t)
                );
                ctx.fail(EvalError::new(message))
            }
        }
    })
}

/// `hour` (part 0) or `weekday` (part 1) of `t` in time zone `tz` (an index of the tables).
pub(crate) extern "C" fn h_local_time(p: *mut u8, tz: i64, part: i64, t: i64) -> i64 {
    with(p, 0, |ctx| {
        let zone = usize::try_from(tz)
            .ok()
            .and_then(|tz| ctx.tables.timezones.get(tz));
        match zone {
            Some(zone) if part == 0 => zone.local_hour(t),
            Some(zone) => zone.local_weekday(t),
            None => ctx.internal("time zone out of range"),
        }
    })
}

/// The part of a `LocalTime` node as the code `h_local_time` takes.
pub(crate) fn time_part(part: TimePart) -> i64 {
    match part {
        TimePart::Hour => 0,
        TimePart::Weekday => 1,
    }
}

/// Raises one of [`RAISE_MESSAGES`].
pub(crate) extern "C" fn h_raise(p: *mut u8, code: i64) -> i64 {
    with(p, 0, |ctx| {
        if code == RAISE_BUDGET {
            return ctx.fail(ctx.limit.exhausted());
        }
        let message = usize::try_from(code)
            .ok()
            .and_then(|c| RAISE_MESSAGES.get(c))
            .copied()
            .unwrap_or("internal error: unknown error code");
        ctx.fail(EvalError::new(message))
    })
}

/// Records the pending error as rule `r`'s (position in the action's plan).
pub(crate) extern "C" fn h_rule_error(p: *mut u8, r: i64) -> i64 {
    with(p, 0, |ctx| {
        let e = ctx.take_error();
        ctx.rule_errors
            .push((usize::try_from(r).unwrap_or(usize::MAX), e));
        0
    })
}

/// Emits the value of a message hole or of approvers; absent when `present` is 0.
pub(crate) extern "C" fn h_emit(p: *mut u8, code: i64, present: i64, x: i64) -> i64 {
    with(p, 0, |ctx| {
        if present == 0 {
            ctx.emitted.push(Value::Absent);
            return 0;
        }
        match ctx.boxed(code, x) {
            Some(v) => {
                ctx.emitted.push(v);
                0
            }
            None => ctx.internal("emitted value of an unexpected type"),
        }
    })
}

/// Stores the value of memo `m` for entity `idx`, which cost `cost` steps (nothing for an
/// index out of range, such as an entity the store does not hold).
pub(crate) extern "C" fn h_memo_put(p: *mut u8, m: i64, idx: i64, value: i64, cost: i64) -> i64 {
    with(p, 0, |ctx| {
        let (Ok(m), Ok(idx)) = (usize::try_from(m), usize::try_from(idx)) else {
            return 0;
        };
        if let (Some(tables), Some(spec)) = (ctx.memo_tables, ctx.tables.memos.get(m)) {
            tables.put(m, idx, spec.wide, value, cost);
        }
        0
    })
}

/// Emits the memoized text of message hole memo `m` for entity `idx`, spending the steps it
/// cost: 1 when it was known (and emitted), 0 when the hole must be evaluated.
pub(crate) extern "C" fn h_text_get(p: *mut u8, m: i64, idx: i64) -> i64 {
    with(p, 0, |ctx| {
        let (Ok(m), Ok(idx), Some(tables)) =
            (usize::try_from(m), usize::try_from(idx), ctx.memo_tables)
        else {
            return 0;
        };
        match tables.text(m, idx) {
            Some((text, cost)) => {
                if cost > 0 && !ctx.charge(cost) {
                    return 0;
                }
                ctx.emitted.push(Value::Str(text));
                1
            }
            None => 0,
        }
    })
}

/// Renders the value of message hole memo `m` (absent when `present` is 0), which cost `cost`
/// steps, keeps the text for entity `idx` and emits it (a string renders as itself).
pub(crate) extern "C" fn h_text_put(
    p: *mut u8,
    m: i64,
    idx: i64,
    code: i64,
    present: i64,
    x: i64,
    cost: i64,
) -> i64 {
    with(p, 0, |ctx| {
        let Some((_, ty)) = usize::try_from(m)
            .ok()
            .and_then(|m| ctx.tables.text_memos.get(m))
        else {
            return ctx.internal("text memo out of range");
        };
        let value = if present == 0 {
            Some(Value::Absent)
        } else {
            ctx.boxed(code, x)
        };
        let Some(value) = value else {
            return ctx.internal("emitted value of an unexpected type");
        };
        let mut text = String::new();
        crate::render::render_value(
            &mut text,
            &value,
            ty,
            &ctx.compiled.program.schema,
            ctx.store,
        );
        let text: Arc<str> = Arc::from(text);
        if let (Ok(m), Ok(idx), Some(tables)) =
            (usize::try_from(m), usize::try_from(idx), ctx.memo_tables)
        {
            tables.put_text(m, idx, &text, cost);
        }
        ctx.emitted.push(Value::Str(text));
        0
    })
}
