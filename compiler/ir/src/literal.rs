//! The literal syntax of durations and timestamps: how Ward writes them back (in messages, in
//! decisions and test documents, in the IR printer) and how it reads a timestamp, both in a
//! policy (`2026-11-29T10:00:00Z` as a literal) and in a request or entity document. One
//! implementation each, so every place renders and accepts a value the same way.

use std::fmt::Write;

const DAY: i64 = 86_400;

/// `0001-01-01T00:00:00Z`, the earliest supported timestamp (years 0001 to 9999).
pub const MIN_TIMESTAMP: i64 = -62_135_596_800;

/// `9999-12-31T23:59:59Z`, the latest supported timestamp.
pub const MAX_TIMESTAMP: i64 = 253_402_300_799;

/// Why a text is not a timestamp Ward accepts, most specific first.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum TimestampError {
    /// A date without `T` and a time of day (`2026-11-29`).
    NoTime,
    /// A time without seconds (`2026-11-29T10:00Z`).
    NoSeconds,
    /// Seconds with a fraction (`…T10:00:00.5Z`): the precision is one second.
    FractionalSeconds,
    /// No `Z` or `±HH:MM` after the time.
    NoOffset,
    /// A leap second (`…T23:59:60Z`): Ward's time has none.
    LeapSecond,
    /// A month, day, hour, minute or offset out of range (`2026-02-30`, `T24:00:00`, `+24:00`).
    InvalidDate,
    /// Not in the shape `YYYY-MM-DDTHH:MM:SS` and an offset.
    Malformed,
    /// An instant before `0001-01-01T00:00:00Z`.
    BeforeYearOne,
    /// An instant after `9999-12-31T23:59:59Z`.
    AfterYear9999,
}

impl std::fmt::Display for TimestampError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            TimestampError::NoTime => "it has no time of day",
            TimestampError::NoSeconds => "it has no seconds",
            TimestampError::FractionalSeconds => "it has fractional seconds",
            TimestampError::NoOffset => "it has no UTC offset",
            TimestampError::LeapSecond => "it is a leap second",
            TimestampError::InvalidDate => "it is not a valid date and time",
            TimestampError::Malformed => "it is not an RFC 3339 timestamp",
            TimestampError::BeforeYearOne => "it is before year 1",
            TimestampError::AfterYear9999 => "it is after year 9999",
        })
    }
}

impl std::error::Error for TimestampError {}

/// Read an RFC 3339 timestamp (`2026-11-29T10:00:00Z`, `2026-11-29T10:00:00+01:00`) as
/// seconds since the Unix epoch: the one reader of policy literals and of request and entity
/// documents.
///
/// Exactly `YYYY-MM-DDTHH:MM:SS` followed by `Z` or `±HH:MM` (`t` and `z` may be lower case, as
/// RFC 3339 allows; `-00:00` means UTC), on the proleptic Gregorian calendar, for instants from
/// [`MIN_TIMESTAMP`] to [`MAX_TIMESTAMP`] (years 0001 to 9999 in UTC, whatever the offset).
/// Fractional seconds, leap seconds (`:60`), impossible dates and anything else are errors.
pub fn parse_timestamp(s: &str) -> Result<i64, TimestampError> {
    use TimestampError as E;
    let b = s.as_bytes();
    let num = |from: usize, len: usize| -> Option<i64> {
        let digits = b.get(from..from.checked_add(len)?)?;
        digits.iter().try_fold(0i64, |acc, &d| {
            d.is_ascii_digit()
                .then(|| acc * 10 + i64::from(d.wrapping_sub(b'0')))
        })
    };
    let at = |i: usize, allowed: &[u8]| b.get(i).is_some_and(|c| allowed.contains(c));
    let (Some(year), true, Some(month), true, Some(day)) =
        (num(0, 4), at(4, b"-"), num(5, 2), at(7, b"-"), num(8, 2))
    else {
        return Err(E::Malformed);
    };
    if b.len() == 10 {
        return Err(E::NoTime);
    }
    let (true, Some(hour), true, Some(minute)) =
        (at(10, b"Tt"), num(11, 2), at(13, b":"), num(14, 2))
    else {
        return Err(E::Malformed);
    };
    if !at(16, b":") {
        return Err(if b.len() == 16 || at(16, b"Zz+-") {
            E::NoSeconds
        } else {
            E::Malformed
        });
    }
    let Some(second) = num(17, 2) else {
        return Err(E::Malformed);
    };
    let offset = match b.get(19..).unwrap_or_default() {
        [] => return Err(E::NoOffset),
        [b'.', ..] => return Err(E::FractionalSeconds),
        [b'Z' | b'z'] => Some(0),
        [sign @ (b'+' | b'-'), _, _, b':', _, _] => match (num(20, 2), num(23, 2)) {
            (Some(oh), Some(om)) if oh <= 23 && om <= 59 => {
                let off = oh * 3_600 + om * 60;
                Some(if *sign == b'-' { -off } else { off })
            }
            (Some(_), Some(_)) => None,
            _ => return Err(E::Malformed),
        },
        _ => return Err(E::Malformed),
    };
    if !(1..=12).contains(&month)
        || day < 1
        || day > days_in_month(year, month)
        || hour > 23
        || minute > 59
        || second > 60
    {
        return Err(E::InvalidDate);
    }
    let Some(offset) = offset else {
        return Err(E::InvalidDate);
    };
    if second == 60 {
        return Err(E::LeapSecond);
    }
    let local = days_from_civil(year, month, day) * DAY + hour * 3_600 + minute * 60 + second;
    match local - offset {
        secs if secs < MIN_TIMESTAMP => Err(E::BeforeYearOne),
        secs if secs > MAX_TIMESTAMP => Err(E::AfterYear9999),
        secs => Ok(secs),
    }
}

fn is_leap(year: i64) -> bool {
    year % 4 == 0 && (year % 100 != 0 || year % 400 == 0)
}

fn days_in_month(year: i64, month: i64) -> i64 {
    match month {
        2 if is_leap(year) => 29,
        2 => 28,
        4 | 6 | 9 | 11 => 30,
        _ => 31,
    }
}

/// Days from 1970-01-01 to a proleptic Gregorian date (H. Hinnant's `days_from_civil`), for
/// the years [`parse_timestamp`] reads (0000 to 9999), where nothing overflows.
fn days_from_civil(year: i64, month: i64, day: i64) -> i64 {
    let y = if month <= 2 { year - 1 } else { year };
    let era = y.div_euclid(400);
    let yoe = y.rem_euclid(400);
    let mp = (month + 9) % 12;
    let doy = (153 * mp + 2) / 5 + day - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

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
    fn timestamps_parse_strictly() {
        use TimestampError as E;
        let cases: &[(&str, Result<i64, E>)] = &[
            ("1970-01-01T00:00:00Z", Ok(0)),
            ("2026-11-29T10:00:00Z", Ok(1_795_946_400)),
            ("2026-11-29T10:00:00+01:00", Ok(1_795_942_800)),
            ("2026-11-29T10:00:00-05:30", Ok(1_795_966_200)),
            ("2026-11-29t10:00:00z", Ok(1_795_946_400)),
            ("2026-11-29T10:00:00-00:00", Ok(1_795_946_400)),
            ("2024-02-29T00:00:00Z", Ok(1_709_164_800)),
            ("0001-01-01T00:00:00Z", Ok(MIN_TIMESTAMP)),
            ("9999-12-31T23:59:59Z", Ok(MAX_TIMESTAMP)),
            ("9999-12-31T00:00:00Z", Ok(MAX_TIMESTAMP - 86_399)),
            ("0001-01-01T00:00:00+00:01", Err(E::BeforeYearOne)),
            ("0000-06-01T00:00:00Z", Err(E::BeforeYearOne)),
            ("9999-12-31T23:59:59-00:01", Err(E::AfterYear9999)),
            ("2026-12-31T23:59:60Z", Err(E::LeapSecond)),
            ("2026-11-29T10:00:61Z", Err(E::InvalidDate)),
            ("2023-02-29T00:00:00Z", Err(E::InvalidDate)),
            ("2100-02-29T00:00:00Z", Err(E::InvalidDate)),
            ("2026-13-01T00:00:00Z", Err(E::InvalidDate)),
            ("2026-04-31T00:00:00Z", Err(E::InvalidDate)),
            ("2026-11-29T24:00:00Z", Err(E::InvalidDate)),
            ("2026-11-29T10:60:00Z", Err(E::InvalidDate)),
            ("2026-11-29T10:00:00+24:00", Err(E::InvalidDate)),
            ("2026-11-29T10:00:00.5Z", Err(E::FractionalSeconds)),
            ("2026-11-29T10:00:00", Err(E::NoOffset)),
            ("2026-11-29T10:00Z", Err(E::NoSeconds)),
            ("2026-11-29T10:00", Err(E::NoSeconds)),
            ("2026-11-29", Err(E::NoTime)),
            ("2026-11-29 10:00:00Z", Err(E::Malformed)),
            ("2026-11-29T10:00:00+0100", Err(E::Malformed)),
            ("2026-11-29T10:00:00Z ", Err(E::Malformed)),
            ("2026-1-29T10:00:00Z", Err(E::Malformed)),
            ("+2026-11-29T10:00:00Z", Err(E::Malformed)),
            ("", Err(E::Malformed)),
            ("2026-11-29T10:0\u{e9}:00Z", Err(E::Malformed)),
        ];
        for (text, want) in cases {
            assert_eq!(parse_timestamp(text), *want, "{text:?}");
        }
    }

    #[test]
    fn timestamps_round_trip() {
        let mut secs = MIN_TIMESTAMP;
        while secs <= MAX_TIMESTAMP {
            assert_eq!(parse_timestamp(&format_timestamp(secs)), Ok(secs), "{secs}");
            secs += 7_777_777_777 / 7 + 12_345;
        }
        assert_eq!(
            parse_timestamp(&format_timestamp(MAX_TIMESTAMP)),
            Ok(MAX_TIMESTAMP)
        );
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
