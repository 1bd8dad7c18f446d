//! The literal syntax of durations and timestamps, as Ward writes them back: in messages
//! (`docs/language.md` §6), in decisions and test documents (§9), and in the IR printer. One
//! implementation, so every place renders a value the same way.

use std::fmt::Write;

const DAY: i64 = 86_400;

/// A duration in literal syntax, largest units first: `5400` is `1h30m`, `187200` is `2d4h`,
/// `0` is `0s`, `-3600` is `-1h`.
pub fn format_duration(secs: i64) -> String {
    if secs == 0 {
        return "0s".to_owned();
    }
    let mut out = String::new();
    if secs < 0 {
        out.push('-');
    }
    let mut rest = secs.unsigned_abs();
    for (unit, len) in [('d', 86_400u64), ('h', 3_600), ('m', 60), ('s', 1)] {
        let n = rest / len;
        if n > 0 {
            let _ = write!(out, "{n}{unit}");
            rest %= len;
        }
    }
    out
}

/// Seconds since the Unix epoch as RFC 3339 in UTC (`2026-11-28T05:00:00Z`), on the proleptic
/// Gregorian calendar. Years outside 0001–9999 (which Ward's arithmetic never produces) are
/// written with a sign and six digits, so the function is total.
pub fn format_timestamp(secs: i64) -> String {
    let days = secs.div_euclid(DAY);
    let of_day = secs.rem_euclid(DAY);
    let (year, month, day) = civil_from_days(days);
    let (h, m, s) = (of_day / 3_600, of_day / 60 % 60, of_day % 60);
    if (1..=9999).contains(&year) {
        format!("{year:04}-{month:02}-{day:02}T{h:02}:{m:02}:{s:02}Z")
    } else {
        let sign = if year < 0 { '-' } else { '+' };
        let year = year.unsigned_abs();
        format!("{sign}{year:06}-{month:02}-{day:02}T{h:02}:{m:02}:{s:02}Z")
    }
}

/// The proleptic Gregorian date of a day counted from 1970-01-01 (H. Hinnant's
/// `civil_from_days`) as `(year, month, day)`, total over every day count that seconds can
/// produce.
pub fn civil_from_days(days: i64) -> (i64, i64, i64) {
    let z = i128::from(days) + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1_460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = doy - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    let year = yoe + era * 400 + i128::from(month <= 2);
    let year = i64::try_from(year).unwrap_or(i64::MAX);
    (year, month as i64, day as i64)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durations_render_largest_units_first() {
        for (secs, text) in [
            (0, "0s"),
            (90, "1m30s"),
            (5400, "1h30m"),
            (187_200, "2d4h"),
            (-3600, "-1h"),
            (i64::MIN, "-106751991167300d15h30m8s"),
        ] {
            assert_eq!(format_duration(secs), text);
        }
    }

    #[test]
    fn timestamps_render_in_utc() {
        assert_eq!(format_timestamp(0), "1970-01-01T00:00:00Z");
        assert_eq!(format_timestamp(1_795_842_000), "2026-11-28T05:00:00Z");
        assert_eq!(format_timestamp(951_782_400), "2000-02-29T00:00:00Z");
        assert_eq!(format_timestamp(-62_135_596_800), "0001-01-01T00:00:00Z");
        assert_eq!(format_timestamp(253_402_300_799), "9999-12-31T23:59:59Z");
        let _ = format_timestamp(i64::MIN);
        let _ = format_timestamp(i64::MAX);
    }
}
