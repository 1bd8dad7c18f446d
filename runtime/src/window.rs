//! Time windows (`docs/language.md` §4): compiles the program's [`ward_ir::Window`]s once into
//! [`Windows`], which answers `t in w`, `remaining`, `fits` and `next_open` per request.
//!
//! A window is a set of half-open intervals `[start, end)` of absolute time (seconds since the
//! Unix epoch): the union of its lines minus the sets of the windows it excepts (recursively;
//! each with its own time zone). This module knows windows and time zones only: nothing about
//! requests, values or the evaluator.
//!
//! # Algorithm
//!
//! *Compile.* Every `weekly` and `daily` line becomes intervals of local wall-clock seconds
//! within a week, `[ls, le)` with `0 <= ls < WEEK` measured from a local Monday 00:00 and
//! `ls < le <= ls + WEEK` (an end not after the start wraps to the next day or week; a weekly
//! line with equal days and an end not after its start is empty). `between` lines stay
//! absolute. Zones without transitions (UTC, fixed offsets) become a plain offset. Except
//! edges are checked for cycles, so the walks below terminate; they use explicit stacks and
//! decide each window reachable through `except` once per query, so neither a long `except`
//! chain nor one window excepted along many paths costs stack or repeated work.
//!
//! *Local to absolute.* The occurrence of `[ls, le)` in local week `k` is
//! `[A(ls + kW), A(le + kW))`, where `A` maps a local time to an instant: `x - o` with the
//! offset `o` in force; in a gap (spring forward) the offset before the gap (the time moves
//! forward by the gap's length), in a fold (fall back) also the offset before it (the earlier
//! instant). With transitions `T_i` (offset `o_{i-1}` before, `o_i` after) that is
//! `A(x) = x - o_k` where `k` counts the transitions whose *switch point*
//! `S_i = T_i + max(o_{i-1}, o_i)` is `<= x`. A query builds a `LocalMap` for a bounded
//! instant range: the offset at its start plus the few transitions inside, after which `A` is
//! arithmetic. The transitions come from a table of the zone's transitions from 1900 to 2200,
//! read from jiff once at compile time (a binary search per query), and from jiff directly
//! outside it. Zones with a fixed offset need no lookup at all; a range with too many
//! transitions (never in the real tz database) falls back to jiff per point.
//! An occurrence whose converted end is not after its converted start is empty.
//!
//! *Queries.* Since `|o| < 26h`, only occurrences whose local span lies within 26 h of the
//! queried range can matter, so a query looks at a bounded neighborhood only.
//! - `contains(t)` is a point query without allocation: some line occurrence contains `t`
//!   and no excepted window contains `t`.
//! - `remaining` and `next_open` (which first ask `contains`) compute the window's exact set clipped to a range of time
//!   (occurrences of every line, sorted and merged, then each except window's clipped set,
//!   computed the same way, subtracted), starting at `t` with a range of a week and moving
//!   forward with doubling ranges until the interval containing `t` ends (or the next one
//!   starts), within the 366-day horizon (decisions.md #18). Clipping to a range is exact:
//!   an interval ending at the range's end continues if the next range starts with one.
//!
//! *Cache.* Between [`CACHE_FROM`] (1970) and [`CACHE_TO`] (early 2100) the public queries do
//! not run the above per request: the exact set of each window is computed once per chunk of
//! four weeks of absolute time (with `collect`, so merged and with the except windows
//! subtracted), lazily on the first query that needs it, and kept in a lock-free table
//! (`OnceLock` per chunk). `contains` is then a binary search, `remaining` and `next_open`
//! walk a few intervals, continuing into the next chunk when an interval ends exactly at a
//! chunk's end. Queries whose range leaves the cached span use the direct computation, which
//! stays the reference the cache is tested against.
//!
//! Time is limited to [`MIN_TIMESTAMP`]`..=`[`MAX_TIMESTAMP`] (decisions.md #19): outside,
//! no window contains anything, and intervals are cut at the end of that range.

use std::collections::HashMap;
use std::sync::OnceLock;

use jiff::Timestamp;
use jiff::tz::{Offset, TimeZone};
use ward_ir::{Window, WindowId, WindowLine};

use crate::time::{DAY, MAX_TIMESTAMP, MIN_TIMESTAMP, offset_at, timezone};

/// Seconds in a week.
const WEEK: i64 = 7 * DAY;
/// Local Monday 00:00 of the week containing the epoch, in local seconds (1969-12-29).
const WEEK_BASE: i64 = -3 * DAY;
/// A bound on the absolute value of any UTC offset (jiff's limit is 25:59:59).
const MAX_OFFSET: i64 = 26 * 3_600;
/// How far `remaining` and `next_open` look ahead (`docs/language.md` §4, decisions.md #18).
pub const HORIZON: i64 = 366 * DAY;
/// The end of time for windows: just after [`MAX_TIMESTAMP`].
const END_OF_TIME: i64 = MAX_TIMESTAMP + 1;
/// The first range `remaining` and `next_open` compute, and the largest they grow to.
const FIRST_RANGE: i64 = WEEK;
const LARGEST_RANGE: i64 = 8 * WEEK;

/// A window program that cannot be compiled.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum WindowError {
    #[error("unknown time zone `{timezone}` in window `{window}`")]
    UnknownTimezone { window: String, timezone: String },
    #[error("window `{window}` excepts itself through a cycle of `except`")]
    ExceptCycle { window: String },
    #[error("window `{window}` excepts window number {index}, which does not exist")]
    UnknownExcept { window: String, index: u32 },
    #[error("window `{window}` has an invalid line: {reason}")]
    InvalidLine { window: String, reason: String },
}

/// An interval `[start, end)` of absolute time.
type Interval = (i64, i64);

/// The first instant of the cache of window sets: 1970-01-01T00:00:00Z.
const CACHE_FROM: i64 = 0;
/// The span of one cached chunk.
const CHUNK: i64 = 4 * WEEK;
/// The number of chunks of a window's cache (up to 2100-01-07).
const CACHE_CHUNKS: usize = 1_696;
/// The end of the cached span (exclusive).
const CACHE_TO: i64 = CACHE_FROM + CACHE_CHUNKS as i64 * CHUNK;

/// All windows of a program, compiled once; immutable and shareable between threads (the
/// lazily filled caches are lock-free).
#[derive(Debug, Clone)]
pub struct Windows {
    windows: Vec<Compiled>,
    /// Per window (same indices), its exact set per chunk of [`CHUNK`] seconds.
    caches: Vec<Cache>,
}

/// The chunks of a cache block: blocks are allocated on first use, so a window queried
/// around one date holds one block.
const BLOCK: usize = 32;

/// A lazily filled chunk: the window's exact set within it.
type Chunk = OnceLock<Box<[Interval]>>;

/// The cached sets of one window: [`CACHE_CHUNKS`] chunks in blocks of [`BLOCK`], each block
/// allocated on the first query in it, each chunk filled on the first query that needs it.
#[derive(Clone)]
struct Cache {
    blocks: Box<[OnceLock<Box<[Chunk]>>]>,
}

impl Cache {
    fn new() -> Cache {
        Cache {
            blocks: (0..CACHE_CHUNKS.div_ceil(BLOCK))
                .map(|_| OnceLock::new())
                .collect(),
        }
    }

    /// The slot of chunk `i` (`None` beyond the cached span).
    fn slot(&self, i: usize) -> Option<&Chunk> {
        if i >= CACHE_CHUNKS {
            return None;
        }
        let block = self
            .blocks
            .get(i / BLOCK)?
            .get_or_init(|| (0..BLOCK).map(|_| OnceLock::new()).collect());
        block.get(i % BLOCK)
    }
}

impl std::fmt::Debug for Cache {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let filled = self
            .blocks
            .iter()
            .filter_map(OnceLock::get)
            .flat_map(|b| b.iter())
            .filter(|c| c.get().is_some())
            .count();
        write!(f, "Cache({filled} chunks)")
    }
}

/// The index of the chunk containing `t`, which must lie in `CACHE_FROM..CACHE_TO`.
fn chunk_index(t: i64) -> usize {
    usize::try_from((t - CACHE_FROM).div_euclid(CHUNK)).unwrap_or(usize::MAX)
}

/// The first instant of chunk `i`.
fn chunk_start(i: usize) -> i64 {
    CACHE_FROM.saturating_add((i as i64).saturating_mul(CHUNK))
}

#[derive(Debug, Clone)]
struct Compiled {
    zone: Zone,
    /// Local intervals within a week, `[ls, le)` from local Monday 00:00, sorted.
    periodic: Vec<Interval>,
    /// The longest periodic interval (0 when there is none).
    max_len: i64,
    /// Absolute intervals of the `between` lines, non-empty.
    between: Vec<Interval>,
    /// Indices of the excepted windows.
    except: Vec<usize>,
}

#[derive(Debug, Clone)]
enum Zone {
    /// A zone that never changes its offset (seconds east of UTC).
    Fixed(i64),
    Tz(Transitions),
}

/// A zone with transitions, with its transitions between [`TABLE_FROM`] and [`TABLE_TO`]
/// read once from jiff, so that most queries need no tz lookup.
#[derive(Debug, Clone)]
struct Transitions {
    tz: TimeZone,
    /// The offset in force at `TABLE_FROM`.
    first_offset: i64,
    /// `(instant, offset from then on)` of every transition in `(TABLE_FROM, TABLE_TO]`.
    table: Vec<(i64, i64)>,
}

/// The range of the transition tables: 1900-01-01 to 2200-01-01 (UTC).
const TABLE_FROM: i64 = -2_208_988_800;
const TABLE_TO: i64 = 7_258_118_400;

impl Transitions {
    fn new(tz: TimeZone) -> Transitions {
        let first_offset = offset_at(TABLE_FROM, &tz);
        let table = match Timestamp::from_second(TABLE_FROM) {
            Ok(from) => tz
                .following(from)
                .map(|t| (t.timestamp().as_second(), i64::from(t.offset().seconds())))
                .take_while(|&(at, _)| at <= TABLE_TO)
                .collect(),
            Err(_) => Vec::new(),
        };
        Transitions {
            tz,
            first_offset,
            table,
        }
    }

    /// The offset in force at `from` and the transitions in `(from, to]`, `None` when the
    /// range leaves the table.
    fn range(&self, from: i64, to: i64) -> Option<(i64, impl Iterator<Item = (i64, i64)>)> {
        if from < TABLE_FROM || to > TABLE_TO {
            return None;
        }
        let index = self.table.partition_point(|&(at, _)| at <= from);
        let base = match index.checked_sub(1) {
            Some(i) => self.table.get(i).map_or(self.first_offset, |&(_, o)| o),
            None => self.first_offset,
        };
        let rest = self.table.get(index..).unwrap_or_default();
        Some((
            base,
            rest.iter().copied().take_while(move |&(at, _)| at <= to),
        ))
    }
}

impl Windows {
    /// Compiles every window of a program. Fails on an unknown time zone, a line with
    /// out-of-range days or times, an `except` of a window that does not exist, or a cycle
    /// of `except` (the compiler rejects all of these before).
    pub fn compile(windows: &[Window]) -> Result<Windows, WindowError> {
        let compiled = windows
            .iter()
            .map(|w| compile_one(w, windows.len()))
            .collect::<Result<Vec<_>, _>>()?;
        check_acyclic(windows, &compiled)?;
        let caches = compiled.iter().map(|_| Cache::new()).collect();
        Ok(Windows {
            windows: compiled,
            caches,
        })
    }

    /// The number of compiled windows.
    pub fn len(&self) -> usize {
        self.windows.len()
    }

    /// Whether there are no windows.
    pub fn is_empty(&self) -> bool {
        self.windows.is_empty()
    }

    /// `t in w`: whether `t` lies in an interval of `w`.
    pub fn contains(&self, w: WindowId, t: i64) -> bool {
        if (CACHE_FROM..CACHE_TO).contains(&t) {
            return self.cached_contains(w.index(), t);
        }
        self.contains_direct(w, t)
    }

    /// `remaining(w, t)`: seconds from `t` until the merged interval of `w` containing `t`
    /// closes, at most [`HORIZON`]; `0` when `t` is outside `w`.
    pub fn remaining(&self, w: WindowId, t: i64) -> i64 {
        self.remaining_at(w.index(), t, HORIZON)
    }

    /// `fits(w, t, d)`: `t in w` and `remaining(w, t) >= d`.
    pub fn fits(&self, w: WindowId, t: i64, d: i64) -> bool {
        if d <= 0 {
            return self.contains(w, t);
        }
        d <= HORIZON && self.remaining_at(w.index(), t, d) >= d
    }

    /// `next_open(w, t)`: `t` when `t in w`, else the start of the next interval of `w`
    /// within [`HORIZON`] of `t`; `None` when `w` does not open in that time.
    pub fn next_open(&self, w: WindowId, t: i64) -> Option<i64> {
        if cacheable(t, HORIZON + 1) {
            return self.cached_next_open(w.index(), t);
        }
        self.next_open_direct(w, t)
    }

    /// `remaining` looking at most `cap` (`<= HORIZON`) seconds ahead.
    fn remaining_at(&self, w: usize, t: i64, cap: i64) -> i64 {
        if cacheable(t, cap) {
            return self.cached_remaining(w, t, cap);
        }
        self.remaining_capped(w, t, cap)
    }

    /// The exact set of window `w` within chunk `i` (`< CACHE_CHUNKS`), computed on first use.
    fn chunk(&self, w: usize, i: usize) -> &[Interval] {
        let Some(slot) = self.caches.get(w).and_then(|c| c.slot(i)) else {
            return &[];
        };
        slot.get_or_init(|| {
            let lo = chunk_start(i);
            let mut set = Vec::new();
            self.collect(w, lo, lo + CHUNK, &mut set, &mut Scratch::default(), 1);
            set.into_boxed_slice()
        })
    }

    /// `contains` from the cache, for `t` in `CACHE_FROM..CACHE_TO`.
    fn cached_contains(&self, w: usize, t: i64) -> bool {
        let set = self.chunk(w, chunk_index(t));
        let k = set.partition_point(|&(_, end)| end <= t);
        set.get(k).is_some_and(|&(start, _)| start <= t)
    }

    /// `remaining_capped` from the cache, for `t` and `t + cap` within the cached span.
    fn cached_remaining(&self, w: usize, t: i64, cap: i64) -> i64 {
        let limit = t.saturating_add(cap).min(END_OF_TIME);
        let mut i = chunk_index(t);
        let set = self.chunk(w, i);
        let k = set.partition_point(|&(_, end)| end <= t);
        let mut end = match set.get(k) {
            Some(&(start, end)) if start <= t => end,
            _ => return 0,
        };
        // An interval ending at its chunk's end may continue in the next chunk.
        while end < limit && end == chunk_start(i + 1) {
            i += 1;
            match self.chunk(w, i).first() {
                Some(&(start, next_end)) if start == end => end = next_end,
                _ => break,
            }
        }
        end.min(limit) - t
    }

    /// `next_open` from the cache, for `t` and `t + HORIZON + 1` within the cached span.
    fn cached_next_open(&self, w: usize, t: i64) -> Option<i64> {
        let limit = t.saturating_add(HORIZON).saturating_add(1).min(END_OF_TIME);
        let mut i = chunk_index(t);
        let set = self.chunk(w, i);
        let k = set.partition_point(|&(_, end)| end <= t);
        let mut next = match set.get(k) {
            Some(&(start, _)) if start <= t => return Some(t),
            found => found.map(|&(start, _)| start),
        };
        // Not inside: the first interval starting after `t`, maybe in a later chunk.
        while next.is_none() {
            i += 1;
            if chunk_start(i) >= limit {
                return None;
            }
            next = self.chunk(w, i).first().map(|&(start, _)| start);
        }
        next.filter(|&start| start < limit)
    }

    /// `contains` computed directly (the reference for the cache): whether `t` lies in an interval of `w`.
    pub(crate) fn contains_direct(&self, w: WindowId, t: i64) -> bool {
        (MIN_TIMESTAMP..=MAX_TIMESTAMP).contains(&t) && self.contains_at(w.index(), t)
    }

    /// `remaining` computed directly (the reference for the cache): seconds from `t` until the merged interval of `w` containing `t`
    /// closes, at most [`HORIZON`]; `0` when `t` is outside `w`.
    #[cfg(test)]
    pub(crate) fn remaining_direct(&self, w: WindowId, t: i64) -> i64 {
        self.remaining_capped(w.index(), t, HORIZON)
    }

    /// `next_open` computed directly (the reference for the cache): `t` when `t in w`, else the start of the next interval of `w`
    /// within [`HORIZON`] of `t`; `None` when `w` does not open in that time.
    pub(crate) fn next_open_direct(&self, w: WindowId, t: i64) -> Option<i64> {
        if !(MIN_TIMESTAMP..=MAX_TIMESTAMP).contains(&t) {
            return None;
        }
        let w = w.index();
        self.windows.get(w)?;
        if self.contains_at(w, t) {
            return Some(t);
        }
        let limit = t.saturating_add(HORIZON).saturating_add(1).min(END_OF_TIME);
        let mut scratch = Scratch::default();
        let mut lo = t;
        let mut size = FIRST_RANGE;
        while lo < limit {
            let hi = lo.saturating_add(size).min(limit);
            let mut set = scratch.take(0);
            self.collect(w, lo, hi, &mut set, &mut scratch, 1);
            if let Some(&(start, _)) = set.first() {
                return Some(start);
            }
            scratch.give(0, set);
            lo = hi;
            size = (size * 2).min(LARGEST_RANGE);
        }
        None
    }

    /// `remaining` looking at most `cap` seconds ahead.
    fn remaining_capped(&self, w: usize, t: i64, cap: i64) -> i64 {
        if !(MIN_TIMESTAMP..=MAX_TIMESTAMP).contains(&t) || !self.contains_at(w, t) {
            return 0;
        }
        let limit = t.saturating_add(cap).min(END_OF_TIME);
        let mut scratch = Scratch::default();
        let mut lo = t;
        let mut size = FIRST_RANGE;
        while lo < limit {
            let hi = lo.saturating_add(size).min(limit);
            let mut set = scratch.take(0);
            self.collect(w, lo, hi, &mut set, &mut scratch, 1);
            match set.first() {
                Some(&(start, end)) if start == lo => {
                    if end < hi {
                        return end - t;
                    }
                }
                // The interval containing `t` ended exactly at `lo`.
                _ => return lo - t,
            }
            scratch.give(0, set);
            lo = hi;
            size = (size * 2).min(LARGEST_RANGE);
        }
        limit - t
    }

    /// Whether the lines of `win` (not its excepts) contain `t`: a point query that allocates
    /// nothing.
    fn in_lines(&self, win: &Compiled, t: i64) -> bool {
        win.between.iter().any(|&(from, to)| from <= t && t < to)
            || (!win.periodic.is_empty() && {
                let map = LocalMap::new(
                    &win.zone,
                    t.saturating_sub(win.max_len),
                    t.saturating_add(win.max_len),
                );
                occurrences(win, &map, t, t + 1).any(|(start, end)| start <= t && t < end)
            })
    }

    /// Whether window `w` contains `t` (in range). A window without excepts allocates
    /// nothing; otherwise every window reachable through `except` is decided once (children
    /// first, with an explicit stack: an `except` chain as long as a verified program allows
    /// costs no stack, and a window excepted along many paths is not decided again).
    fn contains_at(&self, w: usize, t: i64) -> bool {
        let Some(win) = self.windows.get(w) else {
            return false;
        };
        if !self.in_lines(win, t) {
            return false;
        }
        if win.except.is_empty() {
            return true;
        }
        let mut known: HashMap<usize, bool> = HashMap::new();
        // (window whose lines contain `t`, next except to look at)
        let mut stack = vec![(w, 0usize)];
        while let Some(top) = stack.last_mut() {
            let (v, i) = *top;
            let next = self.windows.get(v).and_then(|c| c.except.get(i)).copied();
            let Some(e) = next else {
                // No excepted window contains `t`.
                known.insert(v, true);
                stack.pop();
                continue;
            };
            match known.get(&e) {
                Some(true) => {
                    known.insert(v, false);
                    stack.pop();
                }
                Some(false) => top.1 += 1,
                None => match self.windows.get(e) {
                    // `compile` rejected cycles; the bound is only a guard.
                    Some(ew) if self.in_lines(ew, t) && stack.len() <= self.windows.len() => {
                        stack.push((e, 0));
                    }
                    _ => {
                        known.insert(e, false);
                    }
                },
            }
        }
        known.get(&w).copied().unwrap_or(false)
    }

    /// The lines of window `w` intersected with `[lo, hi)`, into `out`: sorted, disjoint,
    /// non-adjacent intervals.
    fn lines_within(&self, win: &Compiled, lo: i64, hi: i64, out: &mut Vec<Interval>) {
        out.clear();
        let clip = |(start, end): Interval| {
            let (start, end) = (start.max(lo), end.min(hi));
            (start < end).then_some((start, end))
        };
        out.extend(win.between.iter().copied().filter_map(clip));
        if !win.periodic.is_empty() {
            let map = LocalMap::new(
                &win.zone,
                lo.saturating_sub(win.max_len),
                hi.saturating_add(win.max_len),
            );
            out.extend(occurrences(win, &map, lo, hi).filter_map(clip));
        }
        normalize(out);
    }

    /// Replaces `out` with the set of window `w` intersected with `[lo, hi)`: sorted,
    /// disjoint, non-adjacent intervals. The windows reachable through `except` are computed
    /// once each, children first, with an explicit stack (as in [`Windows::contains_at`]);
    /// `scratch` lends the buffers.
    fn collect(
        &self,
        w: usize,
        lo: i64,
        hi: i64,
        out: &mut Vec<Interval>,
        scratch: &mut Scratch,
        depth: usize,
    ) {
        out.clear();
        let Some(win) = self.windows.get(w) else {
            return;
        };
        self.lines_within(win, lo, hi, out);
        if win.except.is_empty() || out.is_empty() {
            return;
        }
        let mut done: HashMap<usize, Vec<Interval>> = HashMap::new();
        // (window, next except to subtract, its set so far)
        let mut stack = vec![(w, 0usize, std::mem::take(out))];
        let mut result = scratch.take(depth);
        while let Some(top) = stack.last_mut() {
            let (v, i) = (top.0, top.1);
            let next = self.windows.get(v).and_then(|c| c.except.get(i)).copied();
            let finished = top.2.is_empty() || next.is_none();
            if finished {
                if let Some((v, _, set)) = stack.pop() {
                    done.insert(v, set);
                }
                continue;
            }
            let Some(e) = next else {
                continue;
            };
            match done.get(&e) {
                Some(minus) => {
                    subtract(&top.2, minus, &mut result);
                    std::mem::swap(&mut top.2, &mut result);
                    top.1 += 1;
                }
                None => {
                    let mut set = Vec::new();
                    match self.windows.get(e) {
                        // `compile` rejected cycles; the bound is only a guard.
                        Some(ew) if stack.len() <= self.windows.len() => {
                            self.lines_within(ew, lo, hi, &mut set);
                            stack.push((e, 0, set));
                        }
                        _ => {
                            done.insert(e, set);
                        }
                    }
                }
            }
        }
        scratch.give(depth, result);
        if let Some(set) = done.remove(&w) {
            *out = set;
        }
    }
}

/// Whether the queries at `t` looking `ahead` seconds stay within the cached span.
fn cacheable(t: i64, ahead: i64) -> bool {
    t >= CACHE_FROM && t.saturating_add(ahead) <= CACHE_TO
}

/// The absolute occurrences of the periodic intervals of `win` that may overlap `[lo, hi)`
/// (a superset: callers test or clip), possibly empty or unordered. `map` must cover
/// `[lo - win.max_len, hi + win.max_len]`.
fn occurrences<'a>(
    win: &'a Compiled,
    map: &'a LocalMap<'a>,
    lo: i64,
    hi: i64,
) -> impl Iterator<Item = Interval> + 'a {
    win.periodic.iter().flat_map(move |&(ls, le)| {
        // An occurrence `[A(s), A(e))` with `s = ls + WEEK_BASE + k WEEK` can meet `[lo, hi)`
        // only when `s < hi + MAX_OFFSET` and `e > lo - MAX_OFFSET`, as `|A(x) - x| < MAX_OFFSET`.
        let first = (lo - MAX_OFFSET - le - WEEK_BASE).div_euclid(WEEK) + 1;
        let last = (hi + MAX_OFFSET - ls - WEEK_BASE - 1).div_euclid(WEEK);
        (first..=last).filter_map(move |k| {
            let shift = WEEK_BASE + k * WEEK;
            let (start, end) = (map.to_instant(ls + shift), map.to_instant(le + shift));
            (start < end).then_some((start, end))
        })
    })
}

/// Sorts intervals and merges overlapping and adjacent ones.
fn normalize(v: &mut Vec<Interval>) {
    if v.len() < 2 {
        return;
    }
    v.sort_unstable();
    let mut merged = 0;
    for i in 1..v.len() {
        let (Some(&next), Some(&cur)) = (v.get(i), v.get(merged)) else {
            continue;
        };
        if next.0 <= cur.1 {
            if let Some(cur) = v.get_mut(merged) {
                cur.1 = cur.1.max(next.1);
            }
        } else {
            merged += 1;
            if let Some(slot) = v.get_mut(merged) {
                *slot = next;
            }
        }
    }
    v.truncate(merged + 1);
}

/// `out = a \ b` for normalized `a` and `b`; `out` is normalized.
fn subtract(a: &[Interval], b: &[Interval], out: &mut Vec<Interval>) {
    out.clear();
    let mut rest = b.iter().peekable();
    for &(mut start, end) in a {
        // Skip the subtracted intervals that end before this one starts.
        while rest.next_if(|&&(_, e)| e <= start).is_some() {}
        let mut cuts = rest.clone();
        while let Some(&(cs, ce)) = cuts.next_if(|&&(s, _)| s < end) {
            if cs > start {
                out.push((start, cs));
            }
            start = start.max(ce);
            if start >= end {
                break;
            }
        }
        if start < end {
            out.push((start, end));
        }
    }
}

/// Reusable interval buffers, one per recursion slot, so repeated ranges do not reallocate.
#[derive(Debug, Default)]
struct Scratch {
    bufs: Vec<Vec<Interval>>,
}

impl Scratch {
    fn take(&mut self, slot: usize) -> Vec<Interval> {
        self.bufs
            .get_mut(slot)
            .map(std::mem::take)
            .unwrap_or_default()
    }

    fn give(&mut self, slot: usize, mut buf: Vec<Interval>) {
        buf.clear();
        if self.bufs.len() <= slot {
            self.bufs.resize_with(slot + 1, Vec::new);
        }
        if let Some(b) = self.bufs.get_mut(slot) {
            *b = buf;
        }
    }
}

/// The most transitions a [`LocalMap`] holds before falling back to jiff per point.
const MAP_CAPACITY: usize = 8;

/// Converts local wall-clock seconds to instants (the map `A` of the module doc) for local
/// times whose instants lie in a bounded range.
#[derive(Debug)]
struct LocalMap<'a> {
    /// The offset before the first switch point.
    base: i64,
    /// `(S_i, o_i)`: from local time `S_i` on, the offset `o_i` applies.
    switches: [(i64, i64); MAP_CAPACITY],
    len: usize,
    /// Set when the range has more transitions than fit: convert each point with jiff.
    exact: Option<&'a TimeZone>,
}

impl<'a> LocalMap<'a> {
    /// A map valid for local times in `[lo - MAX_OFFSET, hi + MAX_OFFSET]`.
    fn new(zone: &'a Zone, lo: i64, hi: i64) -> LocalMap<'a> {
        let mut map = LocalMap {
            base: 0,
            switches: [(0, 0); MAP_CAPACITY],
            len: 0,
            exact: None,
        };
        let zone = match zone {
            Zone::Fixed(offset) => {
                map.base = *offset;
                return map;
            }
            Zone::Tz(zone) => zone,
        };
        // Every instant a local time in range can map to lies in [from, to].
        let from = lo.saturating_sub(2 * MAX_OFFSET);
        let to = hi.saturating_add(2 * MAX_OFFSET);
        match zone.range(from, to) {
            Some((base, transitions)) => map.fill(base, transitions, &zone.tz),
            None => {
                let tz = &zone.tz;
                match Timestamp::from_second(clamp_jiff(from)) {
                    Ok(start) => {
                        let transitions = tz
                            .following(start)
                            .map(|t| (t.timestamp().as_second(), i64::from(t.offset().seconds())))
                            .take_while(|&(at, _)| at <= to);
                        map.fill(offset_at(from, tz), transitions, tz);
                    }
                    Err(_) => map.exact = Some(tz),
                }
            }
        }
        map
    }

    /// Records the switch points of `transitions` after the offset `base`; falls back to
    /// exact conversion with `tz` when they do not fit or are not increasing.
    fn fill(&mut self, base: i64, transitions: impl Iterator<Item = (i64, i64)>, tz: &'a TimeZone) {
        self.base = base;
        let mut prev = base;
        let mut last_switch = i64::MIN;
        for (at, offset) in transitions {
            if offset == prev {
                continue;
            }
            let switch = at.saturating_add(prev.max(offset));
            match self.switches.get_mut(self.len) {
                Some(slot) if switch > last_switch => *slot = (switch, offset),
                _ => {
                    self.exact = Some(tz);
                    return;
                }
            }
            self.len += 1;
            last_switch = switch;
            prev = offset;
        }
    }

    /// The instant of local time `x`: gaps move forward, folds take the earlier instant.
    fn to_instant(&self, x: i64) -> i64 {
        if let Some(tz) = self.exact {
            return exact_instant(tz, x);
        }
        let mut offset = self.base;
        for &(switch, o) in self.switches.get(..self.len).unwrap_or_default() {
            if x < switch {
                break;
            }
            offset = o;
        }
        x.saturating_sub(offset)
    }
}

/// Clamps seconds into the range of a jiff `Timestamp`.
fn clamp_jiff(secs: i64) -> i64 {
    secs.clamp(Timestamp::MIN.as_second(), Timestamp::MAX.as_second())
}

/// The instant of local time `x` in `tz` computed by jiff (`compatible` disambiguation: a
/// gap moves forward, a fold takes the earlier instant). Beyond jiff's range, the offset at
/// the nearest representable instant applies.
fn exact_instant(tz: &TimeZone, x: i64) -> i64 {
    let converted = Timestamp::from_second(x)
        .ok()
        .map(|ts| Offset::UTC.to_datetime(ts))
        .and_then(|dt| tz.to_ambiguous_timestamp(dt).compatible().ok());
    match converted {
        Some(ts) => ts.as_second(),
        None => x.saturating_sub(offset_at(x, tz)),
    }
}

fn compile_one(w: &Window, count: usize) -> Result<Compiled, WindowError> {
    let tz = timezone(&w.timezone).ok_or_else(|| WindowError::UnknownTimezone {
        window: w.name.clone(),
        timezone: w.timezone.clone(),
    })?;
    let zone = match tz.to_fixed_offset() {
        Ok(offset) => Zone::Fixed(i64::from(offset.seconds())),
        Err(_) if tz.following(Timestamp::MIN).next().is_none() => Zone::Fixed(offset_at(0, &tz)),
        Err(_) => Zone::Tz(Transitions::new(tz)),
    };
    let invalid = |reason: String| WindowError::InvalidLine {
        window: w.name.clone(),
        reason,
    };
    let day = |d: u8| {
        if (1..=7).contains(&d) {
            Ok(i64::from(d - 1) * DAY)
        } else {
            Err(invalid(format!("day {d} is not between 1 and 7")))
        }
    };
    let minute = |m: u16| {
        if m < 1440 {
            Ok(i64::from(m) * 60)
        } else {
            Err(invalid(format!(
                "time {m} is not between 0 and 1439 minutes"
            )))
        }
    };
    let mut periodic = Vec::new();
    let mut between = Vec::new();
    for line in &w.lines {
        match *line {
            WindowLine::Weekly {
                start_day,
                start,
                end_day,
                end,
            } => {
                let ls = day(start_day)? + minute(start)?;
                let mut le = day(end_day)? + minute(end)?;
                if le <= ls && start_day != end_day {
                    le += WEEK;
                }
                if ls < le {
                    periodic.push((ls, le));
                }
            }
            WindowLine::Daily { start, end, days } => {
                if days > 0x7f {
                    return Err(invalid(format!("day set {days:#b} has more than 7 days")));
                }
                let (s, mut e) = (minute(start)?, minute(end)?);
                if e <= s {
                    e += DAY;
                }
                for d in 0..7u8 {
                    if days & (1 << d) != 0 {
                        let base = i64::from(d) * DAY;
                        periodic.push((base + s, base + e));
                    }
                }
            }
            WindowLine::Between { from, to } => {
                let (from, to) = (from.max(MIN_TIMESTAMP), to.min(END_OF_TIME));
                if from < to {
                    between.push((from, to));
                }
            }
        }
    }
    periodic.sort_unstable();
    periodic.dedup();
    normalize(&mut between);
    let max_len = periodic.iter().map(|&(s, e)| e - s).max().unwrap_or(0);
    let except = w
        .except
        .iter()
        .map(|id| {
            let i = id.index();
            if i < count {
                Ok(i)
            } else {
                Err(WindowError::UnknownExcept {
                    window: w.name.clone(),
                    index: id.0,
                })
            }
        })
        .collect::<Result<Vec<_>, _>>()?;
    Ok(Compiled {
        zone,
        periodic,
        max_len,
        between,
        except,
    })
}

/// Rejects a cycle of `except` edges (iterative depth-first search with three colors).
fn check_acyclic(windows: &[Window], compiled: &[Compiled]) -> Result<(), WindowError> {
    #[derive(Clone, Copy, PartialEq)]
    enum Mark {
        New,
        Active,
        Done,
    }
    let mut marks = vec![Mark::New; compiled.len()];
    for root in 0..compiled.len() {
        if marks.get(root) != Some(&Mark::New) {
            continue;
        }
        // (window, next except edge to follow)
        let mut stack = vec![(root, 0usize)];
        if let Some(m) = marks.get_mut(root) {
            *m = Mark::Active;
        }
        while let Some(top) = stack.last_mut() {
            let (node, edge) = *top;
            top.1 += 1;
            let next = compiled.get(node).and_then(|c| c.except.get(edge)).copied();
            match next {
                Some(child) => match marks.get(child) {
                    Some(Mark::New) => {
                        if let Some(m) = marks.get_mut(child) {
                            *m = Mark::Active;
                        }
                        stack.push((child, 0));
                    }
                    Some(Mark::Active) => {
                        let window = windows
                            .get(child)
                            .map(|w| w.name.clone())
                            .unwrap_or_default();
                        return Err(WindowError::ExceptCycle { window });
                    }
                    _ => {}
                },
                None => {
                    if let Some(m) = marks.get_mut(node) {
                        *m = Mark::Done;
                    }
                    stack.pop();
                }
            }
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests;
