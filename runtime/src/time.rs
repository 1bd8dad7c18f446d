//! Durations, timestamps and time zones: the literal syntax of `Duration` and `Timestamp`
//! (`docs/language.md` §2), their canonical printing, the supported timestamp range (decisions.md #19)
//! and the time-zone queries behind `hour` and `weekday`.
//!
//! Durations and timestamps are plain `i64` seconds (timestamps since the Unix epoch, UTC);
//! precision is one second. Time zones come from the tz database bundled into jiff, so results
//! never depend on the host. This module knows nothing about windows, requests or the IR.
//! Every function is total: bad input gives `None`, never a panic.

use jiff::Timestamp;
use jiff::tz::TimeZone;

/// Durations and timestamps are written back as the literal syntax of `ward-ir`.
pub use ward_ir::literal::{format_duration, format_timestamp};

/// Seconds in a day.
pub const DAY: i64 = 86_400;

/// `0001-01-01T00:00:00Z`, the earliest supported timestamp (decisions.md #19).
pub const MIN_TIMESTAMP: i64 = -62_135_596_800;

/// `9999-12-31T23:59:59Z`, the latest supported timestamp (decisions.md #19).
pub const MAX_TIMESTAMP: i64 = 253_402_300_799;

/// Whether `secs` lies in the supported range `MIN_TIMESTAMP ..= MAX_TIMESTAMP`.
pub fn in_range(secs: i64) -> bool {
    (MIN_TIMESTAMP..=MAX_TIMESTAMP).contains(&secs)
}

/// The units of a duration literal, largest first, with their length in seconds.
const UNITS: [(u8, i64); 4] = [(b'd', DAY), (b'h', 3_600), (b'm', 60), (b's', 1)];

/// Parses a duration literal (`90s`, `30m`, `4h`, `2d`, `1h30m`, `0s`) into seconds.
///
/// Units are `d`, `h`, `m`, `s`, each at most once and in decreasing order, each preceded by
/// at least one decimal digit. `None` for anything else, including overflow of `i64`.
pub fn parse_duration(s: &str) -> Option<i64> {
    let bytes = s.as_bytes();
    let mut pos = 0;
    let mut total: i64 = 0;
    // Index into `UNITS` of the next unit allowed: units must strictly decrease.
    let mut next_unit = 0;
    if bytes.is_empty() {
        return None;
    }
    while pos < bytes.len() {
        let mut value: i64 = 0;
        let digits_start = pos;
        while let Some(&b) = bytes.get(pos) {
            if !b.is_ascii_digit() {
                break;
            }
            value = value
                .checked_mul(10)?
                .checked_add(i64::from(b.wrapping_sub(b'0')))?;
            pos += 1;
        }
        if pos == digits_start {
            return None;
        }
        let unit = *bytes.get(pos)?;
        pos += 1;
        let offset = UNITS
            .get(next_unit..)?
            .iter()
            .position(|(u, _)| *u == unit)?;
        let index = next_unit + offset;
        let (_, len) = *UNITS.get(index)?;
        total = total.checked_add(value.checked_mul(len)?)?;
        next_unit = index + 1;
    }
    Some(total)
}

/// Parses an RFC 3339 timestamp (`2026-11-29T10:00:00Z`, `2026-11-29T10:00:00+01:00`) into
/// seconds since the Unix epoch, with the reader policy literals use
/// ([`ward_ir::literal::parse_timestamp`]), so a policy and a request accept the same texts.
///
/// Exactly `YYYY-MM-DDTHH:MM:SS` followed by `Z` or `±HH:MM` (`t` and `z` are accepted in
/// lower case, as RFC 3339 allows). Fractional seconds, leap seconds (`:60`), invalid dates
/// and instants outside [`MIN_TIMESTAMP`]`..=`[`MAX_TIMESTAMP`] give `None`.
pub fn parse_timestamp(s: &str) -> Option<i64> {
    ward_ir::literal::parse_timestamp(s).ok()
}

/// Looks a time zone up by IANA name (`Europe/Berlin`, `UTC`) in the bundled tz database.
pub fn timezone(name: &str) -> Option<TimeZone> {
    TimeZone::get(name).ok()
}

/// The UTC offset of `tz` in seconds at the instant `secs`. Instants beyond what jiff
/// represents use the offset at jiff's nearest representable instant.
pub fn offset_at(secs: i64, tz: &TimeZone) -> i64 {
    let clamped = secs.clamp(Timestamp::MIN.as_second(), Timestamp::MAX.as_second());
    match Timestamp::from_second(clamped) {
        Ok(ts) => i64::from(tz.to_offset(ts).seconds()),
        Err(_) => 0,
    }
}

/// The local wall-clock hour (0 ..= 23) at the instant `secs` in `tz`.
pub fn local_hour(secs: i64, tz: &TimeZone) -> i64 {
    secs.saturating_add(offset_at(secs, tz)).rem_euclid(DAY) / 3_600
}

/// The local ISO weekday (1 = Monday ..= 7 = Sunday) at the instant `secs` in `tz`.
pub fn local_weekday(secs: i64, tz: &TimeZone) -> i64 {
    weekday_of_days(secs.saturating_add(offset_at(secs, tz)).div_euclid(DAY))
}

/// The first instant [`ZoneOffsets`] precomputes: 1970-01-01T00:00:00Z.
const OFFSETS_FROM: i64 = 0;
/// The end of the span [`ZoneOffsets`] precomputes (exclusive): 2100-01-01T00:00:00Z.
const OFFSETS_TO: i64 = 4_102_444_800;

/// A time zone with its UTC offsets from 1970 to 2100 read from jiff once, so that `hour` and
/// `weekday` need a binary search only (jiff answers outside that span).
#[derive(Debug, Clone)]
pub struct ZoneOffsets {
    tz: TimeZone,
    /// The offset in force at `OFFSETS_FROM`.
    first: i64,
    /// `(instant, offset from then on)` of every transition in `(OFFSETS_FROM, OFFSETS_TO)`.
    table: Vec<(i64, i64)>,
}

impl ZoneOffsets {
    /// Reads the transitions of `tz` in the precomputed span.
    pub fn new(tz: TimeZone) -> ZoneOffsets {
        let first = offset_at(OFFSETS_FROM, &tz);
        let table = match Timestamp::from_second(OFFSETS_FROM) {
            Ok(from) => tz
                .following(from)
                .map(|t| (t.timestamp().as_second(), i64::from(t.offset().seconds())))
                .take_while(|&(at, _)| at < OFFSETS_TO)
                .collect(),
            Err(_) => Vec::new(),
        };
        ZoneOffsets { tz, first, table }
    }

    /// The UTC offset in seconds at the instant `secs` (as [`offset_at`]).
    pub fn offset_at(&self, secs: i64) -> i64 {
        if !(OFFSETS_FROM..OFFSETS_TO).contains(&secs) {
            return offset_at(secs, &self.tz);
        }
        let index = self.table.partition_point(|&(at, _)| at <= secs);
        match index.checked_sub(1).and_then(|i| self.table.get(i)) {
            Some(&(_, offset)) => offset,
            None => self.first,
        }
    }

    /// The local wall-clock hour (0 ..= 23) at the instant `secs` (as [`local_hour`]).
    pub fn local_hour(&self, secs: i64) -> i64 {
        secs.saturating_add(self.offset_at(secs)).rem_euclid(DAY) / 3_600
    }

    /// The local ISO weekday (1 = Monday ..= 7 = Sunday) at `secs` (as [`local_weekday`]).
    pub fn local_weekday(&self, secs: i64) -> i64 {
        weekday_of_days(secs.saturating_add(self.offset_at(secs)).div_euclid(DAY))
    }
}

/// The ISO weekday (1 = Monday ..= 7 = Sunday) of a day counted from 1970-01-01 (a Thursday).
pub fn weekday_of_days(days: i64) -> i64 {
    days.rem_euclid(7).wrapping_add(3) % 7 + 1
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durations_parse() {
        let cases: &[(&str, Option<i64>)] = &[
            ("0s", Some(0)),
            ("90s", Some(90)),
            ("30m", Some(1_800)),
            ("4h", Some(14_400)),
            ("2d", Some(172_800)),
            ("1h30m", Some(5_400)),
            ("1d2h3m4s", Some(93_784)),
            ("2d4h", Some(187_200)),
            ("007m", Some(420)),
            ("", None),
            ("h", None),
            ("1", None),
            ("1x", None),
            ("30m1h", None),
            ("1h1h", None),
            ("1h 30m", None),
            ("-1h", None),
            ("+1h", None),
            ("1H", None),
            ("1.5h", None),
            ("9223372036854775807s", Some(i64::MAX)),
            ("9223372036854775808s", None),
            ("106751991167301d", None),
            ("106751991167300d", Some(106_751_991_167_300 * DAY)),
        ];
        for (text, want) in cases {
            assert_eq!(parse_duration(text), *want, "{text:?}");
        }
    }

    #[test]
    fn durations_format() {
        let cases: &[(i64, &str)] = &[
            (0, "0s"),
            (1, "1s"),
            (90, "1m30s"),
            (5_400, "1h30m"),
            (187_200, "2d4h"),
            (172_800, "2d"),
            (93_784, "1d2h3m4s"),
            (-3_600, "-1h"),
            (-5_400, "-1h30m"),
            (i64::MIN, "-106751991167300d15h30m8s"),
        ];
        for (secs, want) in cases {
            assert_eq!(format_duration(*secs), *want, "{secs}");
        }
    }

    #[test]
    fn durations_round_trip() {
        for secs in [
            0,
            1,
            59,
            60,
            61,
            3_599,
            3_600,
            86_399,
            86_400,
            987_654_321,
            i64::MAX,
        ] {
            assert_eq!(parse_duration(&format_duration(secs)), Some(secs), "{secs}");
        }
    }

    #[test]
    fn timestamps_parse() {
        let cases: &[(&str, Option<i64>)] = &[
            ("1970-01-01T00:00:00Z", Some(0)),
            ("2026-11-29T10:00:00Z", Some(1_795_946_400)),
            ("2026-11-29T10:00:00+01:00", Some(1_795_942_800)),
            ("2026-11-29T10:00:00-05:30", Some(1_795_966_200)),
            ("2026-11-29t10:00:00z", Some(1_795_946_400)),
            ("2026-11-29T10:00:00-00:00", Some(1_795_946_400)),
            ("2024-02-29T00:00:00Z", Some(1_709_164_800)),
            ("0001-01-01T00:00:00Z", Some(MIN_TIMESTAMP)),
            ("9999-12-31T23:59:59Z", Some(MAX_TIMESTAMP)),
            ("0001-01-01T00:00:00+00:01", None),
            ("9999-12-31T23:59:59-00:01", None),
            ("0000-06-01T00:00:00Z", None),
            ("2023-02-29T00:00:00Z", None),
            ("2100-02-29T00:00:00Z", None),
            ("2026-13-01T00:00:00Z", None),
            ("2026-04-31T00:00:00Z", None),
            ("2026-11-29T24:00:00Z", None),
            ("2026-11-29T10:60:00Z", None),
            ("2026-11-29T10:00:60Z", None),
            ("2026-11-29T10:00:00.5Z", None),
            ("2026-11-29T10:00:00", None),
            ("2026-11-29 10:00:00Z", None),
            ("2026-11-29T10:00Z", None),
            ("2026-11-29T10:00:00+0100", None),
            ("2026-11-29T10:00:00+24:00", None),
            ("2026-11-29T10:00:00Z ", None),
            ("2026-1-29T10:00:00Z", None),
            ("+2026-11-29T10:00:00Z", None),
            ("", None),
        ];
        for (text, want) in cases {
            assert_eq!(parse_timestamp(text), *want, "{text:?}");
        }
    }

    #[test]
    fn timestamps_format() {
        let cases: &[(i64, &str)] = &[
            (0, "1970-01-01T00:00:00Z"),
            (1_795_237_200, "2026-11-21T05:00:00Z"),
            (-1, "1969-12-31T23:59:59Z"),
            (MIN_TIMESTAMP, "0001-01-01T00:00:00Z"),
            (MAX_TIMESTAMP, "9999-12-31T23:59:59Z"),
            (MAX_TIMESTAMP + 1, "+010000-01-01T00:00:00Z"),
            (MIN_TIMESTAMP - 1, "+000000-12-31T23:59:59Z"),
        ];
        for (secs, want) in cases {
            assert_eq!(format_timestamp(*secs), *want, "{secs}");
        }
        // Total on every input.
        let _ = format_timestamp(i64::MIN);
        let _ = format_timestamp(i64::MAX);
    }

    #[test]
    fn timestamps_round_trip_and_agree_with_jiff() {
        let mut secs = MIN_TIMESTAMP;
        while secs <= MAX_TIMESTAMP {
            let text = format_timestamp(secs);
            assert_eq!(parse_timestamp(&text), Some(secs), "{text}");
            let jiff = Timestamp::from_second(secs).map(|t| t.to_string());
            if let Ok(jiff) = jiff {
                assert_eq!(text, jiff);
            }
            secs += 7_777_777_777 / 7 + 12_345;
        }
    }

    #[test]
    fn zones() {
        assert!(timezone("UTC").is_some());
        assert!(timezone("Europe/Berlin").is_some());
        assert!(timezone("America/New_York").is_some());
        assert!(timezone("Mars/Olympus_Mons").is_none());
        assert!(timezone("").is_none());
    }

    #[test]
    fn hour_and_weekday() {
        let at = |s: &str| parse_timestamp(s).unwrap();
        let cases: &[(&str, &str, i64, i64)] = &[
            ("2026-11-29T10:00:00Z", "UTC", 10, 7),
            ("2026-11-29T10:00:00Z", "Europe/Berlin", 11, 7),
            ("2026-11-29T23:30:00Z", "Europe/Berlin", 0, 1),
            ("2026-11-30T03:00:00Z", "America/New_York", 22, 7),
            ("2026-07-01T03:00:00Z", "America/New_York", 23, 2),
            ("2026-07-01T12:00:00Z", "Europe/London", 13, 3),
            ("2026-01-01T12:00:00Z", "Europe/London", 12, 4),
            ("2026-07-01T12:00:00Z", "Asia/Kolkata", 17, 3),
            ("1970-01-01T00:00:00Z", "UTC", 0, 4),
            ("1969-12-31T23:59:59Z", "UTC", 23, 3),
            ("0001-01-01T00:00:00Z", "UTC", 0, 1),
            ("9999-12-31T23:59:59Z", "UTC", 23, 5),
        ];
        for (t, zone, hour, weekday) in cases {
            let tz = timezone(zone).unwrap();
            assert_eq!(local_hour(at(t), &tz), *hour, "{t} {zone}");
            assert_eq!(local_weekday(at(t), &tz), *weekday, "{t} {zone}");
        }
        let tz = timezone("Europe/Berlin").unwrap();
        for secs in [i64::MIN, i64::MAX, 0] {
            assert!((0..24).contains(&local_hour(secs, &tz)));
            assert!((1..=7).contains(&local_weekday(secs, &tz)));
        }
    }

    /// `ZoneOffsets` agrees with jiff at random instants over (and beyond) its span and
    /// around every transition of several zones.
    #[test]
    fn zone_offsets_agree_with_jiff() {
        for zone in [
            "UTC",
            "Europe/Berlin",
            "America/New_York",
            "Australia/Lord_Howe",
            "Pacific/Apia",
        ] {
            let tz = timezone(zone).unwrap();
            let offsets = ZoneOffsets::new(tz.clone());
            let mut instants = vec![
                OFFSETS_FROM - 1,
                OFFSETS_FROM,
                OFFSETS_TO - 1,
                OFFSETS_TO,
                i64::MIN,
                i64::MAX,
            ];
            for &(at, _) in offsets.table.iter().step_by(3) {
                instants.extend([at - 1, at, at + 1]);
            }
            let mut seed: i64 = 42;
            for _ in 0..300 {
                seed = (seed * 1_103_515_245 + 12_345).rem_euclid(1 << 31);
                instants.push(OFFSETS_FROM - DAY * 400 + (seed * 9_973).rem_euclid(5_000_000_000));
            }
            for t in instants {
                assert_eq!(offsets.offset_at(t), offset_at(t, &tz), "{zone} at {t}");
                assert_eq!(offsets.local_hour(t), local_hour(t, &tz), "{zone} at {t}");
                assert_eq!(
                    offsets.local_weekday(t),
                    local_weekday(t, &tz),
                    "{zone} at {t}"
                );
            }
            if zone == "Europe/Berlin" {
                assert!(offsets.table.len() > 200, "{}", offsets.table.len());
            }
        }
    }
}
