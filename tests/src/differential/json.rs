//! Fuzzing of the two JSON inputs of the runtime: entity documents and request documents.
//!
//! A generated case ([`super::generate`]) gives a program, a valid estate and valid requests;
//! their JSON text is then damaged the way hostile or broken input is: values replaced by
//! values of other types, integers beyond `i64`, floats, unknown ids and variants, long and
//! control-character strings, keys dropped, misspelt or duplicated, nesting beyond the
//! parser's limit, a byte order mark, bytes that are not UTF-8, truncation. Each damaged text
//! goes through the public API of the runtime on both engines, which must never panic and must
//! agree: the same load result, the same decisions and explanations. Text that still parses
//! strictly must give what its parsed value gives (the text and value paths agree).
//!
//! Used by `tests/tests/json_fuzz.rs` (a bounded seeded run) and by `fuzz/` (open-ended:
//! `cargo fuzz run fuzz_entities` / `fuzz_requests`, or the stable `json` binary).

use std::fmt::{Display, Write as _};

use serde_json::Value as Json;
use ward_runtime::engine::{Engine, EngineConfig, EngineKind};
use ward_runtime::store::Store;

use super::generate::{self, Case, Rng};

/// Entity documents tried per case.
const ENTITY_VARIANTS: usize = 6;
/// Damaged copies of each request tried per case.
const REQUEST_VARIANTS: usize = 3;

/// How many documents a run tried, and how many of them were accepted (loaded, or decided
/// without a validation error).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Tally {
    pub tried: usize,
    pub accepted: usize,
}

/// Damages and loads the case's estate several times, then decides its requests on both
/// engines after each load (or failed load).
pub fn run_entities(label: impl Display, case: &Case, rng: &mut Rng) -> Result<Tally, String> {
    let (interp, jit) = engines(&label, case)?;
    let schema = &case.program.schema;
    let mut tally = Tally::default();
    for variant in 0..ENTITY_VARIANTS {
        let text = damage(&case.entities, rng);
        let a = interp.load_entities_bytes(&text).map_err(|e| e.to_string());
        let b = jit.load_entities_bytes(&text).map_err(|e| e.to_string());
        tally.tried += 1;
        tally.accepted += usize::from(a.is_ok());
        if a != b {
            return Err(format!(
                "{label}: the engines load {} differently:\ninterp: {a:?}\njit:    {b:?}",
                show(&text)
            ));
        }
        // Text that parses strictly loads as its value does.
        if let Ok(value) = ward_runtime::json::parse_strict_bytes(&text) {
            let from_value = Store::from_json(schema, &value)
                .map(|_| ())
                .map_err(|e| e.to_string());
            if from_value != a {
                return Err(format!(
                    "{label}: {} loads as text with {a:?} but as a value with {from_value:?}",
                    show(&text)
                ));
            }
        }
        for request in &case.requests {
            let request = request.to_string();
            let (x, y) = (interp.decide_str(&request), jit.decide_str(&request));
            if x != y {
                return Err(format!(
                    "{label}: after loading variant {variant} ({}), the engines disagree on \
                     {request}:\ninterp: {x:?}\njit:    {y:?}",
                    show(&text)
                ));
            }
        }
    }
    Ok(tally)
}

/// Loads the case's estate and decides damaged copies of its requests (text and bytes) on both
/// engines.
pub fn run_requests(label: impl Display, case: &Case, rng: &mut Rng) -> Result<Tally, String> {
    let (interp, jit) = engines(&label, case)?;
    for engine in [&interp, &jit] {
        engine
            .load_entities_json(&case.entities)
            .map_err(|e| format!("{label}: the generated estate does not load: {e}"))?;
    }
    let mut tally = Tally::default();
    for request in &case.requests {
        for _ in 0..REQUEST_VARIANTS {
            let text = damage(request, rng);
            let a = interp.decide_bytes(&text);
            let valid = ward_runtime::json::parse_strict_bytes(&text)
                .ok()
                .is_some_and(|v| interp.parse_request(&v).is_ok());
            tally.tried += 1;
            tally.accepted += usize::from(valid);
            let b = jit.decide_bytes(&text);
            if a != b {
                return Err(format!(
                    "{label}: the engines disagree on {}:\ninterp: {a:?}\njit:    {b:?}",
                    show(&text)
                ));
            }
            let (ea, xa) = interp.explain_bytes(&text);
            let (eb, xb) = jit.explain_bytes(&text);
            if (&ea, &xa) != (&eb, &xb) || ea != a {
                return Err(format!(
                    "{label}: the explanations of {} disagree",
                    show(&text)
                ));
            }
            // A rejected request fires nothing and is denied, with one error.
            let rejected = a.decision.as_str() == "deny"
                && a.fired().is_empty()
                && a.errors.len() == 1
                && a.errors.iter().all(|e| e.rule.is_none());
            if !valid && !rejected {
                return Err(format!("{label}: {} was rejected but {a:?}", show(&text)));
            }
            // Text that parses strictly is decided as its value is.
            if let Ok(value) = ward_runtime::json::parse_strict_bytes(&text)
                && interp.decide(&value) != a
            {
                return Err(format!(
                    "{label}: {} is decided differently as text and as a value",
                    show(&text)
                ));
            }
        }
    }
    Ok(tally)
}

fn engines(label: &impl Display, case: &Case) -> Result<(Engine, Engine), String> {
    let build = |kind| {
        Engine::with_config(case.program.clone(), EngineConfig { engine: kind })
            .map_err(|e| format!("{label}: {} engine: {e}", kind.as_str()))
    };
    Ok((build(EngineKind::Interp)?, build(EngineKind::Jit)?))
}

/// A seeded case for [`run_entities`] and [`run_requests`]: the generated case of the seed and
/// a stream of damage choices.
pub fn seeded(seed: u64) -> (Case, Rng) {
    (
        generate::case(seed),
        Rng::new(seed.wrapping_mul(31).wrapping_add(7)),
    )
}

/// A case from a fuzzer's input: the first half shapes the program, the rest the damage.
pub fn from_bytes(data: &[u8]) -> (Case, Rng) {
    let (shape, damage) = data.split_at(data.len() / 2);
    (generate::case_from_bytes(shape), Rng::from_bytes(damage))
}

/// At most 300 characters of a document, for messages.
fn show(text: &[u8]) -> String {
    let s = String::from_utf8_lossy(text);
    let cut: String = s.chars().take(300).collect();
    if cut.len() < s.len() {
        format!("`{cut}…`")
    } else {
        format!("`{cut}`")
    }
}

/// `doc` written as JSON text with damage: values replaced, keys dropped, misspelt or
/// duplicated while writing, then (sometimes) bytes changed.
pub fn damage(doc: &Json, rng: &mut Rng) -> Vec<u8> {
    let mut value = doc.clone();
    for _ in 0..rng.below(3) {
        mutate(&mut value, rng);
    }
    let mut out = String::new();
    // Now and then one key (the n-th written) appears twice.
    let mut duplicate = rng.chance(20).then(|| rng.below(40) as usize);
    write(&value, rng, &mut duplicate, &mut out);
    let mut bytes = out.into_bytes();
    if rng.chance(25) {
        damage_bytes(&mut bytes, rng);
    }
    bytes
}

/// Replaces one value somewhere in `doc` (at a random depth), or drops, misspells or adds a
/// key.
fn mutate(at: &mut Json, rng: &mut Rng) {
    if rng.chance(70) {
        match at {
            Json::Object(map) if !map.is_empty() => {
                let i = rng.below(map.len() as u64) as usize;
                if let Some(next) = map.values_mut().nth(i) {
                    return mutate(next, rng);
                }
            }
            Json::Array(items) if !items.is_empty() => {
                let i = rng.below(items.len() as u64) as usize;
                if let Some(next) = items.get_mut(i) {
                    return mutate(next, rng);
                }
            }
            _ => {}
        }
    }
    match at {
        Json::Object(map) if rng.chance(40) => {
            let keys: Vec<String> = map.keys().cloned().collect();
            match keys.get(rng.below(keys.len().max(1) as u64) as usize) {
                Some(key) if rng.chance(50) => {
                    let value = map.remove(key).unwrap_or(Json::Null);
                    // Misspelt, or gone.
                    if rng.chance(60) {
                        map.insert(misspell(key, rng), value);
                    }
                }
                Some(key) => {
                    map.insert(format!("{key}_extra"), odd_value(rng));
                }
                None => {
                    map.insert("unexpected".into(), odd_value(rng));
                }
            }
        }
        other => *other = odd_value(rng),
    }
}

fn misspell(key: &str, rng: &mut Rng) -> String {
    let mut chars: Vec<char> = key.chars().collect();
    match rng.below(3) {
        0 if chars.len() > 1 => {
            let i = rng.below(chars.len() as u64 - 1) as usize;
            chars.swap(i, i + 1);
        }
        1 => chars.push('s'),
        _ => {
            chars.pop();
        }
    }
    chars.into_iter().collect()
}

/// A value of a random kind, chosen to be wrong or at an edge.
fn odd_value(rng: &mut Rng) -> Json {
    let big: &[&str] = &[
        "9223372036854775807",
        "9223372036854775808",
        "-9223372036854775808",
        "-9223372036854775809",
        "18446744073709551616",
        "1e19",
        "-1e300",
        "0.5",
        "-0",
        "1E2",
    ];
    match rng.below(14) {
        0 => Json::Null,
        1 => Json::Bool(rng.chance(50)),
        2 => {
            let text: &&str = rng.pick(big);
            serde_json::from_str(text).unwrap_or(Json::Null)
        }
        3 => Json::from(rng.next_u64() as i64),
        4 => Json::String(String::new()),
        5 => Json::String("x".repeat(rng.below(5_000) as usize)),
        6 => Json::String("tab\there\u{0}nul\u{7f}\u{feff}é🙂".into()),
        7 => Json::String(
            [
                "2026-02-30T00:00:00Z",
                "9999-12-31T23:59:60Z",
                "1h60m",
                "-5s",
                "0001-01-01T00:00:00Z",
            ][rng.below(5) as usize]
                .into(),
        ),
        8 => Json::String(format!("h{}", rng.below(20))),
        9 => Json::Array(Vec::new()),
        10 => Json::Array((0..rng.below(4)).map(|_| odd_value(rng)).collect()),
        11 => {
            // Nested deeper than the parser allows, some of the time.
            let depth = rng.below(300) as usize;
            let mut v = Json::from(1);
            for _ in 0..depth {
                v = Json::Array(vec![v]);
            }
            v
        }
        12 => serde_json::json!({"a": 1}),
        _ => Json::String(
            ["critical", "crown_jewel", "nope", "u1", "db-1"][rng.below(5) as usize].into(),
        ),
    }
}

/// JSON text for `v` with random whitespace; when `duplicate` counts down to zero at a key,
/// that key is written twice (the second time with another value).
fn write(v: &Json, rng: &mut Rng, duplicate: &mut Option<usize>, out: &mut String) {
    match v {
        Json::Object(map) => {
            out.push('{');
            let mut first = true;
            for (key, value) in map {
                if !first {
                    out.push(',');
                }
                first = false;
                if rng.chance(3) {
                    out.push_str("\n ");
                }
                let _ = write!(out, "{}:", Json::String(key.clone()));
                write(value, rng, duplicate, out);
                match duplicate {
                    Some(0) => {
                        *duplicate = None;
                        let _ = write!(out, ",{}:", Json::String(key.clone()));
                        write(&odd_value(rng), rng, duplicate, out);
                    }
                    Some(n) => *n -= 1,
                    None => {}
                }
            }
            out.push('}');
        }
        Json::Array(items) => {
            out.push('[');
            for (i, item) in items.iter().enumerate() {
                if i > 0 {
                    out.push(',');
                }
                write(item, rng, duplicate, out);
            }
            out.push(']');
        }
        other => out.push_str(&other.to_string()),
    }
}

/// Byte-level damage: a byte order mark, a byte that is not UTF-8, a truncation, a flipped or
/// inserted byte.
fn damage_bytes(bytes: &mut Vec<u8>, rng: &mut Rng) {
    let at = |rng: &mut Rng, len: usize| rng.below(len as u64 + 1) as usize;
    match rng.below(6) {
        0 => {
            bytes.splice(0..0, [0xef, 0xbb, 0xbf]);
        }
        1 => {
            let i = at(rng, bytes.len());
            bytes.insert(i, [0xff, 0xc3, 0x80][rng.below(3) as usize]);
        }
        2 => {
            let i = at(rng, bytes.len());
            bytes.truncate(i);
        }
        3 => {
            let i = at(rng, bytes.len());
            if let Some(b) = bytes.get_mut(i) {
                *b ^= 1 << rng.below(8);
            }
        }
        4 => {
            let i = at(rng, bytes.len());
            bytes.insert(i, rng.below(256) as u8);
        }
        _ => bytes.extend_from_slice(b" trailing"),
    }
}
