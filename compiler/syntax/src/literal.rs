//! Reading literal tokens the grammar accepted leniently: strings and their escapes, integers,
//! durations, timestamps, times of day and day names. Each function returns the value or the
//! words of what is wrong; the builder turns those into diagnostics. Nothing here knows pest.

/// A problem inside a literal: `start..end` are byte offsets into the literal's text.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct LiteralError {
    pub start: usize,
    pub end: usize,
    pub message: String,
    pub help: Option<String>,
}

impl LiteralError {
    fn whole(text: &str, message: impl Into<String>) -> LiteralError {
        LiteralError {
            start: 0,
            end: text.len(),
            message: message.into(),
            help: None,
        }
    }

    fn help(mut self, help: impl Into<String>) -> LiteralError {
        self.help = Some(help.into());
        self
    }
}

/// Decode the escape at the start of `rest` (which begins with a backslash): the character and
/// the number of bytes it takes.
pub(crate) fn escape(rest: &str) -> Result<(char, usize), LiteralError> {
    let mut chars = rest.char_indices().skip(1);
    let Some((_, c)) = chars.next() else {
        return Err(
            LiteralError::whole("\\", "a backslash at the end of a string")
                .help("write `\\\\` for a backslash"),
        );
    };
    let simple = match c {
        '"' => Some('"'),
        '\\' => Some('\\'),
        'n' => Some('\n'),
        't' => Some('\t'),
        _ => None,
    };
    if let Some(decoded) = simple {
        return Ok((decoded, 2));
    }
    if c == 'u' {
        let bad = |len: usize| LiteralError {
            start: 0,
            end: len,
            message: format!("invalid unicode escape `{}`", &rest[..len]),
            help: Some(
                "write `\\u{…}` with 1 to 6 hex digits naming a unicode scalar value".into(),
            ),
        };
        if !rest[2..].starts_with('{') {
            return Err(bad(2));
        }
        let Some(close) = rest[3..].find(['}', '"', '\n']) else {
            return Err(bad(3));
        };
        let len = 3 + close + usize::from(rest[3 + close..].starts_with('}'));
        let digits = &rest[3..3 + close];
        if !rest[3 + close..].starts_with('}')
            || digits.is_empty()
            || digits.len() > 6
            || !digits.bytes().all(|b| b.is_ascii_hexdigit())
        {
            return Err(bad(len));
        }
        return u32::from_str_radix(digits, 16)
            .ok()
            .and_then(char::from_u32)
            .map(|ch| (ch, len))
            .ok_or_else(|| bad(len));
    }
    let len = 1 + c.len_utf8();
    Err(LiteralError {
        start: 0,
        end: len,
        message: format!("unknown escape `{}` in string", &rest[..len]),
        help: Some("the escapes are `\\\"`, `\\\\`, `\\n`, `\\t` and `\\u{…}`".into()),
    })
}

/// Decode the body of a string literal (without its quotes).
pub(crate) fn string_body(body: &str) -> (String, Vec<LiteralError>) {
    let mut out = String::with_capacity(body.len());
    let mut errors = Vec::new();
    let mut i = 0;
    while let Some(rel) = body[i..].find('\\') {
        out.push_str(&body[i..i + rel]);
        let at = i + rel;
        match escape(&body[at..]) {
            Ok((c, len)) => {
                out.push(c);
                i = at + len;
            }
            Err(mut e) => {
                let len = e.end.max(1);
                e.start += at;
                e.end += at;
                errors.push(e);
                i = (at + len).min(body.len());
                while !body.is_char_boundary(i) {
                    i += 1;
                }
            }
        }
    }
    out.push_str(&body[i..]);
    (out, errors)
}

pub(crate) fn int(text: &str) -> Result<i64, LiteralError> {
    text.parse::<i64>().map_err(|_| {
        LiteralError::whole(
            text,
            format!("integer literal `{text}` is out of range for Int"),
        )
        .help("an Int is from -9223372036854775808 to 9223372036854775807")
    })
}

/// `1h30m` → 5400. Units `d h m s`, in that order, each at most once.
pub(crate) fn duration(text: &str) -> Result<i64, LiteralError> {
    const UNITS: [(u8, i64); 4] = [(b'd', 86_400), (b'h', 3_600), (b'm', 60), (b's', 1)];
    let order_help = "write the units largest first, each at most once: `2d4h`, `1h30m`, `90s`";
    let mut total: i64 = 0;
    let mut next_unit = 0;
    let mut start = 0;
    let bytes = text.as_bytes();
    while start < bytes.len() {
        let digits_end = start
            + bytes[start..]
                .iter()
                .take_while(|b| b.is_ascii_digit())
                .count();
        let unit = bytes.get(digits_end).copied().unwrap_or(b's');
        let Some(pos) = UNITS.iter().position(|(u, _)| *u == unit) else {
            return Err(
                LiteralError::whole(text, format!("invalid duration `{text}`")).help(order_help),
            );
        };
        if pos < next_unit {
            return Err(LiteralError {
                start,
                end: digits_end + 1,
                message: format!("the units of duration `{text}` are out of order or repeated"),
                help: Some(order_help.into()),
            });
        }
        next_unit = pos + 1;
        let too_long = || {
            LiteralError::whole(text, format!("duration `{text}` is too long"))
                .help("a duration must fit in 64-bit seconds")
        };
        let n: i64 = text[start..digits_end].parse().map_err(|_| too_long())?;
        total = n
            .checked_mul(UNITS[pos].1)
            .and_then(|s| total.checked_add(s))
            .ok_or_else(too_long)?;
        start = digits_end + 1;
    }
    Ok(total)
}

/// An RFC 3339 timestamp with a UTC offset and whole seconds, years 0001 to 9999, read by the
/// same function that reads the timestamps of requests ([`ward_ir::literal::parse_timestamp`]).
pub(crate) fn timestamp(text: &str) -> Result<i64, LiteralError> {
    use ward_ir::literal::TimestampError as E;
    let example =
        "write an RFC 3339 timestamp such as `2026-11-29T10:00:00Z` or `2026-11-29T10:00:00+01:00`";
    let range = "timestamps range over the years 0001 to 9999 (in UTC)";
    ward_ir::literal::parse_timestamp(text).map_err(|e| match e {
        E::NoTime => LiteralError::whole(text, format!("timestamp `{text}` has no time of day"))
            .help(example),
        E::NoSeconds => {
            LiteralError::whole(text, format!("timestamp `{text}` has no seconds")).help(example)
        }
        E::FractionalSeconds => {
            LiteralError::whole(text, format!("timestamp `{text}` has fractional seconds"))
                .help("timestamps have a precision of one second: remove the fraction")
        }
        E::NoOffset => LiteralError::whole(text, format!("timestamp `{text}` has no UTC offset"))
            .help("add `Z` for UTC or an offset such as `+01:00`"),
        E::LeapSecond => LiteralError::whole(text, format!("timestamp `{text}` is a leap second"))
            .help("Ward's time has no leap seconds: write the second before (`:59`) or after it"),
        E::BeforeYearOne => {
            LiteralError::whole(text, format!("timestamp `{text}` is before year 1")).help(range)
        }
        E::AfterYear9999 => {
            LiteralError::whole(text, format!("timestamp `{text}` is after year 9999")).help(range)
        }
        E::InvalidDate | E::Malformed => {
            LiteralError::whole(text, format!("`{text}` is not a valid timestamp")).help(example)
        }
    })
}

/// `HH:MM` → minutes since midnight.
pub(crate) fn time_of_day(text: &str) -> Result<u16, LiteralError> {
    let (h, m) = text.split_once(':').unwrap_or((text, ""));
    match (h.parse::<u16>(), m.parse::<u16>()) {
        (Ok(h), Ok(m)) if h < 24 && m < 60 && m_digits_ok(text) => Ok(h * 60 + m),
        _ => Err(
            LiteralError::whole(text, format!("`{text}` is not a time of day"))
                .help("write a 24-hour time from `00:00` to `23:59`"),
        ),
    }
}

fn m_digits_ok(text: &str) -> bool {
    text.rsplit(':').next().is_some_and(|m| m.len() == 2)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durations() {
        for (text, secs) in [
            ("90s", 90),
            ("30m", 1800),
            ("4h", 14_400),
            ("2d", 172_800),
            ("1h30m", 5400),
            ("1d2h3m4s", 93_784),
            ("0s", 0),
        ] {
            assert_eq!(duration(text), Ok(secs), "{text}");
        }
        for text in [
            "1m1h",
            "1h1h",
            "1s1d",
            "99999999999999999999d",
            "9999999999999999d",
        ] {
            assert!(duration(text).is_err(), "{text}");
        }
    }

    #[test]
    fn timestamps() {
        assert_eq!(timestamp("1970-01-01T00:00:00Z"), Ok(0));
        assert_eq!(timestamp("1970-01-01T01:00:00+01:00"), Ok(0));
        assert_eq!(timestamp("2026-11-29T10:00:00Z"), Ok(1_795_946_400));
        let msg = |t: &str| timestamp(t).unwrap_err().message;
        assert_eq!(
            msg("2026-11-29T10:00:00.5Z"),
            "timestamp `2026-11-29T10:00:00.5Z` has fractional seconds"
        );
        assert_eq!(
            msg("2026-11-29T10:00:00"),
            "timestamp `2026-11-29T10:00:00` has no UTC offset"
        );
        assert_eq!(
            msg("2026-11-29"),
            "timestamp `2026-11-29` has no time of day"
        );
        assert_eq!(
            msg("2026-02-30T10:00:00Z"),
            "`2026-02-30T10:00:00Z` is not a valid timestamp"
        );
        assert_eq!(
            msg("0000-01-01T00:00:00Z"),
            "timestamp `0000-01-01T00:00:00Z` is before year 1"
        );
        // The documented rules (decisions #27): no leap seconds, every instant of years 0001 to
        // 9999 in UTC, nothing outside, as in requests.
        assert_eq!(
            msg("2026-12-31T23:59:60Z"),
            "timestamp `2026-12-31T23:59:60Z` is a leap second"
        );
        assert_eq!(timestamp("9999-12-31T00:00:00Z"), Ok(253_402_214_400));
        assert_eq!(timestamp("9999-12-31T23:59:59Z"), Ok(253_402_300_799));
        assert_eq!(
            msg("0001-01-01T00:30:00+01:00"),
            "timestamp `0001-01-01T00:30:00+01:00` is before year 1"
        );
        assert_eq!(
            msg("9999-12-31T23:00:00-01:00"),
            "timestamp `9999-12-31T23:00:00-01:00` is after year 9999"
        );
    }

    #[test]
    fn strings() {
        assert_eq!(
            string_body(r#"a\"b\\c\nd\te\u{1F600}"#),
            ("a\"b\\c\nd\te\u{1F600}".to_string(), vec![])
        );
        let (_, errors) = string_body(r"x\qy\u{110000}\u{}");
        let messages: Vec<_> = errors
            .iter()
            .map(|e| (e.start, e.end, e.message.as_str()))
            .collect();
        assert_eq!(
            messages,
            vec![
                (1, 3, "unknown escape `\\q` in string"),
                (4, 14, "invalid unicode escape `\\u{110000}`"),
                (14, 18, "invalid unicode escape `\\u{}`"),
            ]
        );
    }

    #[test]
    fn ints_and_times() {
        assert_eq!(int("9223372036854775807"), Ok(i64::MAX));
        assert!(int("9223372036854775808").is_err());
        assert_eq!(time_of_day("09:30"), Ok(570));
        assert_eq!(time_of_day("23:59"), Ok(1439));
        assert!(time_of_day("24:00").is_err());
        assert!(time_of_day("10:60").is_err());
    }
}
