//! Rendering of values as a message shows them (docs/language.md §6): entities as their ids,
//! enum values as variant names, durations and timestamps in literal syntax, sets sorted in
//! brackets, an absent optional as `none`. The interpreter and the JIT render through the same
//! functions, so their messages agree by construction. The fast writers of numbers and times
//! append to a buffer without going through `format!`.
//!
//! It knows values, types, the schema and the store's entity ids; nothing about evaluation.

use ward_ir::{Schema, Type};

use crate::store::Store;
use crate::{EntityRef, Value, time};

/// Renders a value of static type `ty` as a message shows it (`docs/language.md` §6).
pub fn render_value(out: &mut String, value: &Value, ty: &Type, schema: &Schema, store: &Store) {
    let ty = ty.strip_optional();
    match value {
        Value::Absent => out.push_str("none"),
        Value::Bool(b) => out.push_str(if *b { "true" } else { "false" }),
        Value::Int(n) => match ty {
            Type::Duration => push_duration(out, *n),
            Type::Timestamp => push_timestamp(out, *n),
            _ => push_int(out, *n),
        },
        Value::Str(s) => out.push_str(s),
        Value::Entity(e) => out.push_str(entity_id(e, store)),
        Value::Enum(v) => {
            let name = match ty {
                Type::Enum(id) => schema
                    .enums
                    .get(id.index())
                    .and_then(|e| e.variants.get(*v as usize)),
                _ => None,
            };
            match name {
                Some(name) => out.push_str(name),
                None => push_int(out, i64::from(*v)),
            }
        }
        Value::Set(items) => {
            let elem = match ty {
                Type::Set(inner) => inner.as_ref(),
                other => other,
            };
            // Every element rendered into one buffer, then the pieces sorted: numbers, durations,
            // timestamps and booleans by value (the set's own order), everything else (strings,
            // entity ids, enum names) as text.
            let by_value = matches!(
                elem,
                Type::Int | Type::Duration | Type::Timestamp | Type::Bool
            );
            let mut buffer = String::new();
            let mut pieces = Vec::with_capacity(items.len());
            for item in items.iter() {
                let start = buffer.len();
                render_value(&mut buffer, item, elem, schema, store);
                pieces.push(start..buffer.len());
            }
            let text = |r: &std::ops::Range<usize>| buffer.get(r.clone()).unwrap_or("");
            if !by_value {
                pieces.sort_unstable_by(|a, b| text(a).cmp(text(b)));
            }
            out.push('[');
            for (i, piece) in pieces.iter().enumerate() {
                if i > 0 {
                    out.push_str(", ");
                }
                out.push_str(text(piece));
            }
            out.push(']');
        }
    }
}

/// Appends `secs` as `time::format_timestamp` writes it (RFC 3339 in UTC), directly for the
/// years 0001 to 9999.
pub(crate) fn push_timestamp(out: &mut String, secs: i64) {
    const DAY: i64 = 86_400;
    let days = secs.div_euclid(DAY);
    let of_day = secs.rem_euclid(DAY);
    let (year, month, day) = ward_ir::literal::civil_from_days(days);
    if !(1..=9999).contains(&year) {
        out.push_str(&time::format_timestamp(secs));
        return;
    }
    let (h, m, s) = (of_day / 3_600, of_day / 60 % 60, of_day % 60);
    // `YYYY-MM-DDTHH:MM:SSZ`, written into a fixed buffer and appended at once.
    let mut text = *b"0000-00-00T00:00:00Z";
    for (value, end) in [(year, 4), (month, 7), (day, 10), (h, 13), (m, 16), (s, 19)] {
        let width = if end == 4 { 4 } else { 2 };
        let mut v = value;
        for i in (end - width..end).rev() {
            if let Some(b) = text.get_mut(i) {
                *b = b'0' + (v % 10) as u8;
            }
            v /= 10;
        }
    }
    // Only ASCII digits and separators were written.
    out.push_str(std::str::from_utf8(&text).unwrap_or_default());
}

/// Appends `secs` as `time::format_duration` writes it (`1h30m`, `0s`, `-1h`).
pub(crate) fn push_duration(out: &mut String, secs: i64) {
    if secs == 0 {
        out.push_str("0s");
        return;
    }
    if secs < 0 {
        out.push('-');
    }
    let mut rest = secs.unsigned_abs();
    for (unit, len) in [('d', 86_400u64), ('h', 3_600), ('m', 60), ('s', 1)] {
        let n = rest / len;
        if n > 0 {
            push_u64(out, n);
            out.push(unit);
            rest %= len;
        }
    }
}

/// Appends the decimal form of `n` without going through the formatting machinery.
pub(crate) fn push_int(out: &mut String, n: i64) {
    if n < 0 {
        out.push('-');
    }
    push_u64(out, n.unsigned_abs());
}

fn push_u64(out: &mut String, n: u64) {
    let mut digits = [0u8; 20];
    let mut i = digits.len();
    let mut m = n;
    loop {
        i -= 1;
        if let Some(d) = digits.get_mut(i) {
            *d = b'0' + (m % 10) as u8;
        }
        m /= 10;
        if m == 0 || i == 0 {
            break;
        }
    }
    for &d in digits.get(i..).unwrap_or(&[]) {
        out.push(char::from(d));
    }
}

/// The id of an entity (empty for an index the store does not have).
pub(crate) fn entity_id<'s>(e: &'s EntityRef, store: &'s Store) -> &'s str {
    match e {
        EntityRef::Known { ty, idx } => store.entity_id(*ty, *idx).map_or("", |id| &**id),
        EntityRef::Unknown { id, .. } => id,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The fast timestamp rendering agrees with `time::format_timestamp` (which it stands in
    /// for), inside and at the edges of the years it handles, and falls back outside them.
    #[test]
    fn push_timestamp_matches_format_timestamp() {
        let cases = [
            0,
            -1,
            1,
            59,
            86_399,
            86_400,
            951_782_400,   // 2000-02-29
            1_767_225_599, // 2025-12-31T23:59:59Z
            1_767_225_600,
            -62_135_596_800, // 0001-01-01
            253_402_300_799, // 9999-12-31T23:59:59Z
            253_402_300_800, // year 10000: the slow path
            -62_135_596_801, // year 0: the slow path
        ];
        let steps = (0..2_000).map(|i: i64| i * 7_919_993 - 5_000_000_000);
        for secs in cases.into_iter().chain(steps) {
            let mut out = String::from(">");
            push_timestamp(&mut out, secs);
            assert_eq!(out, format!(">{}", time::format_timestamp(secs)), "{secs}");
        }
    }
}
