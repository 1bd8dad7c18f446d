//! The ids of one entity type, numbered densely, and the index from an id to its number: an
//! open-addressing table (linear probing) whose slots hold the first 16 bytes of the id and its
//! length next to the number. Looking up an id of at most 16 bytes reads its slot and nothing
//! else; a longer id is compared with the id's own string once the slot's head matches. A
//! table of `Arc<str>` keys reads the key's heap string on every lookup, which in a large estate
//! is a cache miss per reference resolved (a fifth of the load's time at 800,000 assets).
//!
//! The hash is seeded per table (foldhash, from address-space randomization), so data cannot
//! be shaped to collide. This module knows nothing of JSON or of the schema: only strings and
//! `u32` numbers.

use std::hash::BuildHasher;
use std::sync::Arc;

use smallvec::SmallVec;

/// The batch size [`Ids::get_many`] keeps its first reads on the stack for.
pub(crate) const BATCH: usize = 64;

/// The slots [`Ids::new`] fills as one group (48 KiB): few enough groups that sorting the
/// filled slots into them writes to few pages at a time, small enough that filling one stays in
/// the cache.
const RUN: usize = 2048;

/// How many bytes of an id a slot holds.
const HEAD: usize = 16;

/// The number of a free slot (no id has it: numbers are below the count of ids, which fits in a
/// `u32`).
const FREE: u32 = u32::MAX;

/// One slot of the table: 24 bytes.
#[derive(Clone, Copy)]
struct Slot {
    /// The first [`HEAD`] bytes of the id, zero-padded.
    head: [u64; 2],
    /// The id's length (saturated: a longer id is compared in full anyway).
    len: u32,
    /// The id's number, or [`FREE`].
    idx: u32,
}

const EMPTY: Slot = Slot {
    head: [0, 0],
    len: 0,
    idx: FREE,
};

/// An id as the table compares it.
struct Key {
    head: [u64; 2],
    len: u32,
}

impl Key {
    fn of(id: &str) -> Key {
        let bytes = id.as_bytes();
        let mut head = [0u8; HEAD];
        let n = bytes.len().min(HEAD);
        if let (Some(dst), Some(src)) = (head.get_mut(..n), bytes.get(..n)) {
            dst.copy_from_slice(src);
        }
        let (lo, hi) = head.split_at(HEAD / 2);
        let word = |half: &[u8]| u64::from_le_bytes(half.try_into().unwrap_or_default());
        Key {
            head: [word(lo), word(hi)],
            len: u32::try_from(bytes.len()).unwrap_or(u32::MAX),
        }
    }
}

/// The ids of one entity type in number order, and the index from id to number.
#[derive(Default)]
pub(crate) struct Ids {
    ids: Vec<Arc<str>>,
    /// More slots than ids (at most two thirds are taken), so a probe always ends at a free one.
    slots: Box<[Slot]>,
    hasher: foldhash::fast::RandomState,
}

/// Numbers ids one at a time, reading each id once: the slot of an id and the slot where its
/// probe starts are taken as it is added (its text at hand), so [`IdsBuilder::finish`] fills
/// the table without reading the ids again (in a large estate, a cache miss per id and pass).
pub(crate) struct IdsBuilder {
    table: Ids,
    /// Each id's first slot and its filled slot, in number order.
    filled: Vec<(usize, Slot)>,
}

impl IdsBuilder {
    /// A builder for `n` ids (more may be added: the table is then built again).
    pub(crate) fn with_capacity(n: usize) -> IdsBuilder {
        IdsBuilder {
            table: Ids {
                slots: vec![EMPTY; slots_for(n)].into_boxed_slice(),
                ids: Vec::with_capacity(n),
                hasher: foldhash::fast::RandomState::default(),
            },
            filled: Vec::with_capacity(n),
        }
    }

    /// Numbers `id` next; the ids added must be distinct.
    pub(crate) fn push(&mut self, id: &str) {
        self.push_shared(Arc::from(id));
    }

    fn push_shared(&mut self, id: Arc<str>) {
        let key = Key::of(&id);
        let home = self.table.home(&key, &id);
        let idx = u32::try_from(self.table.ids.len()).unwrap_or(FREE);
        self.filled.push((
            home,
            Slot {
                head: key.head,
                len: key.len,
                idx,
            },
        ));
        self.table.ids.push(id);
    }

    /// The table of the ids added, numbered in the order they were.
    pub(crate) fn finish(self) -> Ids {
        let IdsBuilder { mut table, filled } = self;
        let n = filled.len();
        if table.slots.len() < slots_for(n) {
            // More ids than the table was sized for: at most two thirds of its slots may be
            // taken, so it is sized again.
            let mut again = IdsBuilder::with_capacity(n);
            for id in table.ids {
                again.push_shared(id);
            }
            return again.finish();
        }
        // Inserted in the order of their first slots, grouped by runs of [`RUN`] slots (a
        // counting sort of the filled slots, each next to its home), so the writes sweep the
        // table instead of landing at random. The order may change which of two colliding ids
        // sits first on a probe, never whether a lookup finds an id: linear probing finds each
        // id on the run of taken slots from its home.
        let mut starts = vec![0usize; table.slots.len() / RUN + 2];
        for (home, _) in &filled {
            if let Some(count) = starts.get_mut(home / RUN + 1) {
                *count += 1;
            }
        }
        for i in 1..starts.len() {
            let prev = starts.get(i - 1).copied().unwrap_or(0);
            if let Some(cur) = starts.get_mut(i) {
                *cur += prev;
            }
        }
        let mut placed = vec![(0usize, EMPTY); n];
        for (home, slot) in filled {
            if let Some(next) = starts.get_mut(home / RUN)
                && let Some(place) = placed.get_mut(*next)
            {
                *place = (home, slot);
                *next += 1;
            }
        }
        drop(starts);
        for (home, filled) in placed {
            let mut pos = home;
            // Distinct ids: the first free slot is this one's.
            while let Some(slot) = table.slots.get_mut(pos) {
                if slot.idx == FREE {
                    *slot = filled;
                    break;
                }
                pos = table.next(pos);
            }
        }
        table
    }
}

/// The slots of a table of `n` ids: more than the ids (at most two thirds are taken), so a
/// probe always ends at a free one.
fn slots_for(n: usize) -> usize {
    n + n / 2 + 1
}

impl Ids {
    /// Numbers `ids` in the order given; they must be distinct.
    #[cfg(test)]
    pub(crate) fn new(ids: Vec<Arc<str>>) -> Ids {
        let mut builder = IdsBuilder::with_capacity(ids.len());
        for id in ids {
            builder.push_shared(id);
        }
        builder.finish()
    }

    /// The slot where the probe for `key` (the key of `id`) starts.
    fn home(&self, key: &Key, id: &str) -> usize {
        let hash = if id.len() <= HEAD {
            self.hasher.hash_one((key.head, key.len))
        } else {
            self.hasher.hash_one(id)
        };
        // The hash's high bits scaled to the table's size (no power of two needed).
        ((u128::from(hash) * self.slots.len() as u128) >> 64) as usize
    }

    fn next(&self, pos: usize) -> usize {
        if pos + 1 < self.slots.len() {
            pos + 1
        } else {
            0
        }
    }

    /// Whether the taken `slot` is `id`'s (`key` is `id`'s key): its head and length match,
    /// and for an id longer than a head, the whole id does.
    fn holds(&self, slot: &Slot, key: &Key, id: &str) -> bool {
        slot.head == key.head
            && slot.len == key.len
            && (id.len() <= HEAD || self.ids.get(slot.idx as usize).is_some_and(|s| **s == *id))
    }

    /// The number of `id`.
    pub(crate) fn get(&self, id: &str) -> Option<u32> {
        if self.slots.is_empty() {
            return None;
        }
        let key = Key::of(id);
        self.probe(self.home(&key, id), &key, id)
    }

    /// The number of `id` (whose key is `key`), probing from slot `pos`.
    fn probe(&self, mut pos: usize, key: &Key, id: &str) -> Option<u32> {
        loop {
            let slot = self.slots.get(pos)?;
            if slot.idx == FREE {
                return None;
            }
            if self.holds(slot, key, id) {
                return Some(slot.idx);
            }
            pos = self.next(pos);
        }
    }

    /// The numbers of `ids`, in order, into `out` (cleared first): what [`Ids::get`] answers
    /// for each. The homes of a batch are computed first, then their slots read in a loop that
    /// does nothing else, so the reads (each a likely cache miss in a large table) overlap
    /// instead of waiting on each other; an id repeating the one before it is looked up once.
    pub(crate) fn get_many<'a>(
        &self,
        ids: impl Iterator<Item = &'a str> + Clone,
        out: &mut Vec<Option<u32>>,
    ) {
        out.clear();
        if self.slots.is_empty() {
            out.extend(ids.map(|_| None));
            return;
        }
        let homes: SmallVec<[usize; BATCH]> =
            ids.clone().map(|id| self.home(&Key::of(id), id)).collect();
        let first: SmallVec<[Slot; BATCH]> = homes
            .iter()
            .map(|&pos| self.slots.get(pos).copied().unwrap_or(EMPTY))
            .collect();
        let mut prev: Option<(&str, Option<u32>)> = None;
        for ((id, slot), &home) in ids.zip(first).zip(&homes) {
            let found = match prev {
                Some((before, found)) if before == id => found,
                _ => {
                    let key = Key::of(id);
                    if slot.idx == FREE {
                        None
                    } else if self.holds(&slot, &key, id) {
                        Some(slot.idx)
                    } else {
                        self.probe(self.next(home), &key, id)
                    }
                }
            };
            prev = Some((id, found));
            out.push(found);
        }
    }

    /// The id numbered `idx`.
    pub(crate) fn id(&self, idx: u32) -> Option<&Arc<str>> {
        self.ids.get(idx as usize)
    }

    pub(crate) fn len(&self) -> usize {
        self.ids.len()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ids(list: &[&str]) -> Ids {
        Ids::new(list.iter().map(|s| Arc::from(*s)).collect())
    }

    #[test]
    fn every_id_is_found_and_nothing_else() {
        let long = "an-id-well-past-sixteen-bytes-0001";
        let names = [
            "",
            "a",
            "a\0",
            "ab",
            "fe-0-1",
            "fe-0-10",
            "sixteen-bytes-ok",
            "sixteen-bytes-ok!",
            long,
            "é",
            "\0",
        ];
        let table = ids(&names);
        for (i, name) in names.iter().enumerate() {
            assert_eq!(table.get(name), Some(i as u32), "{name:?}");
            assert_eq!(table.id(i as u32).map(|s| &**s), Some(*name));
        }
        assert_eq!(table.len(), names.len());
        for absent in [
            "b",
            "a\0\0",
            "fe-0-2",
            "sixteen-bytes-o",
            "sixteen-bytes-ok?",
            "an-id-well-past-sixteen-bytes-0002",
            "an-id-well-past-sixteen-bytes-000",
        ] {
            assert_eq!(table.get(absent), None, "{absent:?}");
        }
        assert_eq!(table.id(names.len() as u32), None);
    }

    #[test]
    fn batches_answer_as_single_lookups() {
        let names: Vec<String> = (0..3_000)
            .map(|i| format!("id-{i}"))
            .chain((0..300).map(|i| format!("a-shared-prefix-of-sixteen/{i}")))
            .collect();
        let table = Ids::new(names.iter().map(|s| Arc::from(s.as_str())).collect());
        let queries: Vec<String> = (0..4_000)
            .map(|i| format!("id-{}", i * 7 % 3_500))
            .chain((250..350).map(|i| format!("a-shared-prefix-of-sixteen/{i}")))
            .collect();
        let mut out = Vec::new();
        let (mut hits, mut misses) = (0, 0);
        for batch in queries.chunks(BATCH + 7) {
            table.get_many(batch.iter().map(String::as_str), &mut out);
            let single: Vec<Option<u32>> = batch.iter().map(|q| table.get(q)).collect();
            assert_eq!(out, single);
            hits += out.iter().filter(|o| o.is_some()).count();
            misses += out.iter().filter(|o| o.is_none()).count();
        }
        // The multiples of 7 from `id-3003` to `id-3493` (71, asked 8 times each) and the last
        // 50 shared-prefix ids are absent.
        assert_eq!((hits, misses), (3_432 + 50, 568 + 50));
        Ids::default().get_many(["a", "b"].into_iter(), &mut out);
        assert_eq!(out, [None, None]);
    }

    #[test]
    fn a_builder_given_more_ids_than_its_capacity_finds_every_id() {
        let names: Vec<String> = (0..500).map(|i| format!("id-{i}")).collect();
        let mut builder = IdsBuilder::with_capacity(3);
        for name in &names {
            builder.push(name);
        }
        let table = builder.finish();
        for (i, name) in names.iter().enumerate() {
            assert_eq!(table.get(name), Some(i as u32), "{name}");
        }
        assert_eq!(table.get("id-500"), None);
        assert_eq!(IdsBuilder::with_capacity(10).finish().get("a"), None);
    }

    #[test]
    fn empty_tables_find_nothing() {
        assert_eq!(Ids::default().get("a"), None);
        assert_eq!(Ids::default().get(""), None);
        assert_eq!(ids(&[]).get("a"), None);
        assert_eq!(Ids::default().len(), 0);
    }

    #[test]
    fn a_large_table_finds_every_id() {
        // Long ids share their first 16 bytes, so they are told apart by the full comparison.
        let names: Vec<String> = (0..50_000)
            .map(|i| format!("asset-{i}"))
            .chain((0..5_000).map(|i| format!("a-shared-prefix-of-sixteen/{i}")))
            .collect();
        let table = Ids::new(names.iter().map(|s| Arc::from(s.as_str())).collect());
        for (i, name) in names.iter().enumerate() {
            assert_eq!(table.get(name), Some(i as u32), "{name}");
        }
        assert_eq!(table.get("asset-50000"), None);
        assert_eq!(table.get("a-shared-prefix-of-sixteen/5000"), None);
        assert_eq!(table.get("a-shared-prefix-of-sixteen"), None);
    }
}
