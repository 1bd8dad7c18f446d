//! Where time-dependent values can change: the boundaries of windows and of local hours and
//! days in a time zone.
//!
//! A window's boundaries are the instants where `t in w` flips: the starts and ends of its
//! merged intervals. They are found with the window module's own public queries (`contains`,
//! `remaining`, `next_open`), walking interval by interval through one week of absolute time
//! at a time, and kept per week, so a backlog whose requests share a period computes each week
//! once. A zone's pieces are the spans of constant UTC offset (between two transitions of the
//! bundled tz database) cut at every local hour or local midnight.
//!
//! This module knows windows and time zones only; it does not evaluate expressions.

use std::collections::HashMap;

use jiff::Timestamp;
use jiff::tz::TimeZone;
use ward_ir::WindowId;

use crate::time::{DAY, MAX_TIMESTAMP, MIN_TIMESTAMP, offset_at};
use crate::window::{HORIZON, Windows};

/// Just after the last supported instant: windows are cut there.
pub(super) const END_OF_TIME: i64 = MAX_TIMESTAMP + 1;
/// The span of absolute time whose boundaries are computed together.
const CHUNK: i64 = 7 * DAY;
/// The most chunks one search walks before it answers "nothing up to here" (a conservative
/// answer: the caller re-examines from there). Enough for the 366-day lookahead of
/// `next_open` plus a long planning horizon.
const MAX_CHUNKS: i64 = 2 * (HORIZON / CHUNK) + 8;

/// The first boundary after an instant.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) enum Next {
    At(i64),
    /// None before the end of time: the window stays as it is.
    Never,
    /// None up to (excluding) this instant, where the search stopped.
    Beyond(i64),
}

/// The last boundary at or before an instant.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) enum Prev {
    At(i64),
    /// None since the start of time.
    Never,
    /// None from this instant on, where the search stopped.
    Before(i64),
}

/// Window boundaries, computed lazily per week of absolute time, and the zones of `hour` and
/// `weekday`, looked up on first use.
#[derive(Debug, Default)]
pub(super) struct Bounds {
    chunks: HashMap<(usize, i64), Box<[i64]>>,
    zones: HashMap<String, Option<Zone>>,
}

impl Bounds {
    /// The zone named `name` (`None` for a name the tz database does not have, which a
    /// program the engine accepted never uses).
    pub(super) fn zone(&mut self, name: &str) -> Option<&Zone> {
        if !self.zones.contains_key(name) {
            let zone = crate::time::timezone(name).map(Zone::new);
            self.zones.insert(name.to_owned(), zone);
        }
        self.zones.get(name).and_then(Option::as_ref)
    }

    /// The boundaries of window `w` within chunk `c`, sorted.
    fn chunk(&mut self, windows: &Windows, w: WindowId, c: i64) -> &[i64] {
        self.chunks
            .entry((w.index(), c))
            .or_insert_with(|| boundaries(windows, w, c.saturating_mul(CHUNK), CHUNK))
    }

    /// The first boundary of `w` strictly after `x`, searching up to about `limit`.
    pub(super) fn next(&mut self, windows: &Windows, w: WindowId, x: i64, limit: i64) -> Next {
        let mut c = x.div_euclid(CHUNK);
        for _ in 0..MAX_CHUNKS {
            let lo = c.saturating_mul(CHUNK);
            if lo >= END_OF_TIME {
                return Next::Never;
            }
            let list = self.chunk(windows, w, c);
            let i = list.partition_point(|&b| b <= x);
            if let Some(&b) = list.get(i) {
                return Next::At(b);
            }
            let hi = lo.saturating_add(CHUNK);
            if hi > END_OF_TIME {
                return Next::Never;
            }
            if hi > limit {
                return Next::Beyond(hi);
            }
            c += 1;
        }
        Next::Beyond(c.saturating_mul(CHUNK))
    }

    /// The last boundary of `w` at or before `x`, searching down to about `limit`.
    pub(super) fn prev(&mut self, windows: &Windows, w: WindowId, x: i64, limit: i64) -> Prev {
        let mut c = x.div_euclid(CHUNK);
        for _ in 0..MAX_CHUNKS {
            let lo = c.saturating_mul(CHUNK);
            if lo.saturating_add(CHUNK) <= MIN_TIMESTAMP {
                return Prev::Never;
            }
            let list = self.chunk(windows, w, c);
            let i = list.partition_point(|&b| b <= x);
            if let Some(&b) = i.checked_sub(1).and_then(|i| list.get(i)) {
                return Prev::At(b);
            }
            if lo <= MIN_TIMESTAMP {
                return Prev::Never;
            }
            if lo < limit {
                return Prev::Before(lo);
            }
            c -= 1;
        }
        Prev::Before(c.saturating_add(1).saturating_mul(CHUNK))
    }
}

/// Every instant in `[lo, lo + len)` where `t in w` changes, sorted: found by walking the
/// window's merged intervals with its public queries.
fn boundaries(windows: &Windows, w: WindowId, lo: i64, len: i64) -> Box<[i64]> {
    let hi = lo.saturating_add(len).min(END_OF_TIME.saturating_add(1));
    let lo = lo.max(MIN_TIMESTAMP);
    let mut out = Vec::new();
    if lo >= hi {
        return out.into_boxed_slice();
    }
    let mut x = lo;
    let mut inside = windows.contains(w, x);
    if inside != windows.contains(w, x.saturating_sub(1)) {
        out.push(x);
    }
    loop {
        if inside {
            // The merged interval containing `x` ends at `x + remaining`, unless it reaches
            // past the query's cap (which is longer than a chunk).
            let r = windows.remaining(w, x);
            if r <= 0 || r >= HORIZON {
                break;
            }
            let end = x.saturating_add(r);
            if end >= hi {
                break;
            }
            out.push(end);
            x = end;
            inside = false;
        } else {
            match windows.next_open(w, x) {
                Some(start) if start > x && start < hi => {
                    out.push(start);
                    x = start;
                    inside = true;
                }
                _ => break,
            }
        }
    }
    out.into_boxed_slice()
}

/// A time zone of `hour` / `weekday` with its transitions, for finding where local hours and
/// days begin.
#[derive(Debug, Clone)]
pub(super) struct Zone {
    pub(super) tz: TimeZone,
    /// Instants of the zone's transitions from 1900 to 2200, sorted (outside: asked from jiff).
    table: Vec<i64>,
}

/// The span of the transition tables: 1900-01-01 to 2200-01-01 (UTC).
const TABLE_FROM: i64 = -2_208_988_800;
const TABLE_TO: i64 = 7_258_118_400;

impl Zone {
    pub(super) fn new(tz: TimeZone) -> Zone {
        let table = match Timestamp::from_second(TABLE_FROM) {
            Ok(from) => tz
                .following(from)
                .map(|t| t.timestamp().as_second())
                .take_while(|&at| at <= TABLE_TO)
                .collect(),
            Err(_) => Vec::new(),
        };
        Zone { tz, table }
    }

    /// The first transition strictly after `x`.
    fn next_transition(&self, x: i64) -> Option<i64> {
        if (TABLE_FROM..TABLE_TO).contains(&x) {
            let i = self.table.partition_point(|&at| at <= x);
            if let Some(&at) = self.table.get(i) {
                return Some(at);
            }
        }
        let ts = Timestamp::from_second(x).ok()?;
        self.tz
            .following(ts)
            .next()
            .map(|t| t.timestamp().as_second())
    }

    /// The last transition at or before `x`.
    fn prev_transition(&self, x: i64) -> Option<i64> {
        if (TABLE_FROM..=TABLE_TO).contains(&x) {
            let i = self.table.partition_point(|&at| at <= x);
            if let Some(&at) = i.checked_sub(1).and_then(|i| self.table.get(i)) {
                return Some(at);
            }
            // No transition between the table's start and `x`: jiff looks before it.
        }
        let ts = Timestamp::from_second(x.saturating_add(1)).ok()?;
        self.tz
            .preceding(ts)
            .next()
            .map(|t| t.timestamp().as_second())
    }

    /// The span `[lo, hi)` around `x` in which the local value of unit `unit` (an hour or a
    /// day, in seconds) does not change: the offset is constant and no local hour (or
    /// midnight) starts inside.
    pub(super) fn piece(&self, x: i64, unit: i64) -> (i64, i64) {
        let offset = offset_at(x, &self.tz);
        let into = x.saturating_add(offset).rem_euclid(unit);
        let mut lo = x.saturating_sub(into);
        let mut hi = lo.saturating_add(unit);
        if let Some(t) = self.prev_transition(x) {
            lo = lo.max(t);
        }
        if let Some(t) = self.next_transition(x) {
            hi = hi.min(t);
        }
        (lo, hi)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::time::{local_hour, local_weekday, parse_timestamp, timezone};

    fn windows() -> Windows {
        let program: Vec<ward_ir::Window> = vec![ward_ir::Window {
            name: "w".into(),
            timezone: "America/New_York".into(),
            lines: vec![
                ward_ir::WindowLine::Daily {
                    start: 9 * 60,
                    end: 17 * 60,
                    days: 0b001_1111,
                },
                ward_ir::WindowLine::Weekly {
                    start_day: 6,
                    start: 23 * 60,
                    end_day: 7,
                    end: 60,
                },
            ],
            except: vec![],
        }];
        Windows::compile(&program).unwrap()
    }

    /// The boundaries found are exactly the instants where `contains` flips, over a month
    /// that contains a daylight-saving change.
    #[test]
    fn window_boundaries_are_the_flips_of_contains() {
        let w = windows();
        let id = WindowId(0);
        let mut bounds = Bounds::default();
        let from = parse_timestamp("2026-10-25T00:00:00Z").unwrap();
        let to = from + 21 * DAY;
        let mut want = Vec::new();
        let mut t = from + 1;
        while t < to {
            if w.contains(id, t) != w.contains(id, t - 60) {
                // Windows open and close on whole minutes: find the second.
                let mut s = t - 60 + 1;
                while w.contains(id, s) == w.contains(id, s - 1) {
                    s += 1;
                }
                want.push(s);
            }
            t += 60;
        }
        let mut got = Vec::new();
        let mut x = from;
        while let Next::At(b) = bounds.next(&w, id, x, to) {
            if b >= to {
                break;
            }
            got.push(b);
            x = b;
        }
        assert_eq!(got, want);
        assert!(got.len() > 30);
        // And backwards.
        for &b in &got {
            assert_eq!(bounds.prev(&w, id, b, from), Prev::At(b));
            assert!(matches!(bounds.prev(&w, id, b + 1, from), Prev::At(p) if p == b));
        }
    }

    #[test]
    fn zone_pieces_hold_one_local_hour_or_day() {
        for name in [
            "UTC",
            "Europe/Berlin",
            "America/New_York",
            "Asia/Kolkata",
            "Australia/Lord_Howe",
        ] {
            let tz = timezone(name).unwrap();
            let zone = Zone::new(tz.clone());
            let mut t = parse_timestamp("2026-03-01T00:00:00Z").unwrap();
            let stop = t + 70 * DAY;
            while t < stop {
                for (unit, f) in [
                    (3_600, local_hour as fn(i64, &TimeZone) -> i64),
                    (DAY, local_weekday),
                ] {
                    let (lo, hi) = zone.piece(t, unit);
                    assert!(lo <= t && t < hi, "{name} {t}: [{lo}, {hi})");
                    assert_eq!(f(lo, &tz), f(t, &tz), "{name} {t}");
                    assert_eq!(f(hi - 1, &tz), f(t, &tz), "{name} {t}");
                }
                t += 1_777;
            }
        }
    }
}
