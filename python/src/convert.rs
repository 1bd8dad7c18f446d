//! Python values to request and entity JSON, strictly, and JSON back to Python values.
//!
//! What Python hands over becomes the JSON documents of `docs/language.md` §9 before the
//! runtime validates it, so a dict is read exactly as the same JSON text would be. Conversion
//! never guesses: a key that is not a string, a float that is not finite, a naive `datetime`,
//! a `timedelta` with fractions of a second, a value of a type JSON has no form for, or
//! nesting deeper than [`MAX_DEPTH`] is a problem with its path (`args.tags[2]`). Every
//! problem is collected, so a request is denied with all of them at once. A `bool` stays a
//! JSON boolean and a `float` a JSON number with a fraction, so the runtime's type check
//! rejects either where an `Int` is expected.
//!
//! It knows Python's value types and JSON, not the schema.

use pyo3::prelude::*;
use pyo3::sync::PyOnceLock;
use pyo3::types::{
    PyBool, PyDict, PyFloat, PyFrozenSet, PyInt, PyList, PySet, PyString, PyTuple, PyType,
};
use serde_json::{Map, Number, Value as Json};

use crate::backend;

/// How deep containers may nest (JSON parsers stop at the same depth).
pub const MAX_DEPTH: usize = 128;

/// The most problems listed; the rest are counted.
const MAX_PROBLEMS: usize = 20;

/// A JSON path built on the stack while walking a value, rendered only for a message.
#[derive(Clone, Copy)]
pub enum Path<'a> {
    Root,
    Key(&'a Path<'a>, &'a str),
    Index(&'a Path<'a>, usize),
}

impl<'a> Path<'a> {
    pub fn key<'b>(&'b self, key: &'b str) -> Path<'b> {
        Path::Key(self, key)
    }

    fn index(&'a self, index: usize) -> Path<'a> {
        Path::Index(self, index)
    }

    fn depth(&self) -> usize {
        match self {
            Path::Root => 0,
            Path::Key(parent, _) | Path::Index(parent, _) => parent.depth() + 1,
        }
    }

    /// `args.tags[2]`.
    fn render(&self) -> String {
        match self {
            Path::Root => String::new(),
            Path::Key(parent, key) => {
                let mut out = parent.render();
                if !out.is_empty() {
                    out.push('.');
                }
                out.push_str(key);
                out
            }
            Path::Index(parent, index) => format!("{}[{index}]", parent.render()),
        }
    }
}

/// The problems found while converting, in the order met.
#[derive(Default)]
pub struct Problems {
    list: Vec<String>,
    omitted: usize,
}

impl Problems {
    pub fn push(&mut self, path: &Path<'_>, message: impl Into<String>) {
        if self.list.len() >= MAX_PROBLEMS {
            self.omitted += 1;
            return;
        }
        let path = path.render();
        let message = message.into();
        self.list.push(if path.is_empty() {
            message
        } else {
            format!("{path}: {message}")
        });
    }

    pub fn is_empty(&self) -> bool {
        self.list.is_empty() && self.omitted == 0
    }

    pub fn messages(&self) -> &[String] {
        &self.list
    }

    /// On one line, as the runtime writes validation errors: problems joined by `; `.
    pub fn joined(&self) -> String {
        let mut out = self.list.join("; ");
        if self.omitted > 0 {
            let s = if self.omitted == 1 { "" } else { "s" };
            out.push_str(&format!("; … and {} more problem{s}", self.omitted));
        }
        out
    }
}

/// Converts a Python value to JSON; problems are recorded and the value becomes `null`.
pub fn to_json(value: &Bound<'_, PyAny>, path: &Path<'_>, problems: &mut Problems) -> Json {
    // The common types first, by exact type where that is cheaper.
    if let Ok(s) = value.cast::<PyString>() {
        return match s.to_cow() {
            Ok(s) => Json::String(s.into_owned()),
            Err(_) => {
                problems.push(
                    path,
                    "the string is not valid Unicode (it holds a lone surrogate)",
                );
                Json::Null
            }
        };
    }
    if let Ok(b) = value.cast::<PyBool>() {
        return Json::Bool(b.is_true());
    }
    if value.is_none() {
        return Json::Null;
    }
    if let Ok(i) = value.cast::<PyInt>() {
        if let Ok(n) = i.extract::<i64>() {
            return Json::Number(n.into());
        }
        if let Ok(n) = i.extract::<u64>() {
            return Json::Number(n.into());
        }
        // Beyond 64 bits: carried as JSON text would carry it (a float), so the runtime judges
        // it exactly as it judges the same request read by `ward eval`.
        if let Some(n) = i.extract::<f64>().ok().and_then(Number::from_f64) {
            return Json::Number(n);
        }
        problems.push(
            path,
            "the integer is out of range for Int (-9223372036854775808 to 9223372036854775807)"
                .to_owned(),
        );
        return Json::Null;
    }
    if let Ok(f) = value.cast::<PyFloat>() {
        let x = f.value();
        return match Number::from_f64(x) {
            Some(n) => Json::Number(n),
            None => {
                problems.push(
                    path,
                    format!("`{}` is not a number JSON can carry", short_repr(value)),
                );
                Json::Null
            }
        };
    }
    if path.depth() >= MAX_DEPTH {
        problems.push(
            path,
            format!("the value nests deeper than {MAX_DEPTH} levels (is it cyclic?)"),
        );
        return Json::Null;
    }
    if let Ok(dict) = value.cast::<PyDict>() {
        return Json::Object(dict_to_json(dict, path, problems));
    }
    if let Ok(list) = value.cast::<PyList>() {
        let items = list
            .iter()
            .enumerate()
            .map(|(i, item)| to_json(&item, &path.index(i), problems))
            .collect();
        return Json::Array(items);
    }
    if let Ok(tuple) = value.cast::<PyTuple>() {
        let items = tuple
            .iter()
            .enumerate()
            .map(|(i, item)| to_json(&item, &path.index(i), problems))
            .collect();
        return Json::Array(items);
    }
    if value.is_instance_of::<PySet>() || value.is_instance_of::<PyFrozenSet>() {
        return set_to_json(value, path, problems);
    }
    if let Some(text) = time_to_json(value, path, problems) {
        return text;
    }
    problems.push(
        path,
        format!(
            "a value of type `{}` has no JSON form (expected str, int, bool, list, tuple, set, \
             dict, an aware datetime or a timedelta)",
            type_name(value)
        ),
    );
    Json::Null
}

/// A dict whose keys must all be strings.
pub fn dict_to_json(
    dict: &Bound<'_, PyDict>,
    path: &Path<'_>,
    problems: &mut Problems,
) -> Map<String, Json> {
    let mut map = Map::new();
    for (key, item) in dict.iter() {
        let Ok(key) = key.cast::<PyString>() else {
            problems.push(
                path,
                format!(
                    "the key {} is not a string (its type is `{}`)",
                    short_repr(&key),
                    type_name(&key)
                ),
            );
            continue;
        };
        let Ok(key) = key.to_cow() else {
            problems.push(
                path,
                "a key is not valid Unicode (it holds a lone surrogate)",
            );
            continue;
        };
        let converted = to_json(&item, &path.key(&key), problems);
        // Two keys equal as text can coexist in a dict only through a `str` subclass with
        // its own `__eq__` or `__hash__`; JSON text with that key twice is rejected, so is this.
        if map.insert(key.clone().into_owned(), converted).is_some() {
            problems.push(path, format!("duplicate key `{key}`"));
        }
    }
    map
}

fn set_to_json(value: &Bound<'_, PyAny>, path: &Path<'_>, problems: &mut Problems) -> Json {
    let mut items = Vec::new();
    match value.try_iter() {
        Ok(iter) => {
            for (i, item) in iter.enumerate() {
                match item {
                    Ok(item) => items.push(to_json(&item, &path.index(i), problems)),
                    Err(e) => {
                        problems.push(path, format!("cannot iterate over the set: {e}"));
                        break;
                    }
                }
            }
        }
        Err(e) => problems.push(path, format!("cannot iterate over the set: {e}")),
    }
    Json::Array(items)
}

static DATETIME: PyOnceLock<Py<PyType>> = PyOnceLock::new();
static DATE: PyOnceLock<Py<PyType>> = PyOnceLock::new();
static TIMEDELTA: PyOnceLock<Py<PyType>> = PyOnceLock::new();
static EPOCH: PyOnceLock<Py<PyAny>> = PyOnceLock::new();

/// `datetime` and `timedelta` values as Ward's timestamp and duration strings; `None` when
/// the value is neither (a problem may have been recorded when it is, but is unusable).
fn time_to_json(
    value: &Bound<'_, PyAny>,
    path: &Path<'_>,
    problems: &mut Problems,
) -> Option<Json> {
    let py = value.py();
    let datetime = DATETIME.import(py, "datetime", "datetime").ok()?;
    if value.is_instance(datetime).unwrap_or(false) {
        return Some(match timestamp_of(value) {
            Ok(secs) => Json::String(backend::format_timestamp(secs)),
            Err(message) => {
                problems.push(path, message);
                Json::Null
            }
        });
    }
    let timedelta = TIMEDELTA.import(py, "datetime", "timedelta").ok()?;
    if value.is_instance(timedelta).unwrap_or(false) {
        return Some(match duration_of(value) {
            Ok(secs) => Json::String(backend::format_duration(secs)),
            Err(message) => {
                problems.push(path, message);
                Json::Null
            }
        });
    }
    let date = DATE.import(py, "datetime", "date").ok()?;
    if value.is_instance(date).unwrap_or(false) {
        problems.push(
            path,
            "a `date` is not an instant: give an aware `datetime` (or an RFC 3339 string)",
        );
        return Some(Json::Null);
    }
    None
}

/// Whether `value` is a `datetime` (any kind: the caller then uses [`timestamp_of`]).
pub fn is_datetime(value: &Bound<'_, PyAny>) -> bool {
    DATETIME
        .import(value.py(), "datetime", "datetime")
        .is_ok_and(|dt| value.is_instance(dt).unwrap_or(false))
}

/// Seconds since the Unix epoch of an aware `datetime`, rounded down to the second (Ward's
/// timestamps have one-second precision, and every instant a policy compares with is a whole
/// second, so rounding down never changes a comparison).
pub fn timestamp_of(value: &Bound<'_, PyAny>) -> Result<i64, String> {
    let py = value.py();
    let offset = value
        .call_method0("utcoffset")
        .map_err(|e| format!("cannot read the time zone of the datetime: {e}"))?;
    if offset.is_none() {
        return Err(format!(
            "the datetime `{}` is naive (it has no time zone), so it names no instant; give it \
             a `tzinfo`, e.g. `datetime.now(timezone.utc)`",
            short_str(value)
        ));
    }
    let epoch = EPOCH
        .get_or_try_init(py, || -> PyResult<Py<PyAny>> {
            let datetime = py.import("datetime")?;
            let utc = datetime.getattr("timezone")?.getattr("utc")?;
            let epoch = datetime
                .getattr("datetime")?
                .call1((1970, 1, 1, 0, 0, 0, 0, utc))?;
            Ok(epoch.unbind())
        })
        .map_err(|e| format!("cannot read the datetime: {e}"))?;
    let delta = value
        .call_method1("__sub__", (epoch.bind(py),))
        .map_err(|e| format!("cannot read the datetime: {e}"))?;
    whole_seconds(&delta).map(|(secs, _)| secs)
}

/// Whole seconds of a `timedelta`; fractions of a second are a problem (a duration that is
/// compared with `1h` must not be rounded).
fn duration_of(value: &Bound<'_, PyAny>) -> Result<i64, String> {
    let (secs, micros) = whole_seconds(value)?;
    if micros != 0 {
        return Err(format!(
            "the timedelta `{}` has a fraction of a second; Ward durations are whole seconds",
            short_str(value)
        ));
    }
    Ok(secs)
}

/// `(days * 86400 + seconds, microseconds)` of a `timedelta` (Python keeps the seconds and
/// microseconds non-negative, so this rounds down).
fn whole_seconds(delta: &Bound<'_, PyAny>) -> Result<(i64, i64), String> {
    let read = |name: &str| -> Result<i64, String> {
        delta
            .getattr(name)
            .and_then(|v| v.extract::<i64>())
            .map_err(|e| format!("cannot read the time: {e}"))
    };
    let days = read("days")?;
    let seconds = read("seconds")?;
    let micros = read("microseconds")?;
    let secs = days
        .checked_mul(86_400)
        .and_then(|d| d.checked_add(seconds))
        .ok_or_else(|| "the time is out of range".to_owned())?;
    Ok((secs, micros))
}

/// JSON to the Python values `json.loads` would give.
pub fn to_python<'py>(py: Python<'py>, value: &Json) -> PyResult<Bound<'py, PyAny>> {
    Ok(match value {
        Json::Null => py.None().into_bound(py),
        Json::Bool(b) => PyBool::new(py, *b).to_owned().into_any(),
        Json::Number(n) => {
            if let Some(i) = n.as_i64() {
                i.into_pyobject(py)?.into_any()
            } else if let Some(u) = n.as_u64() {
                u.into_pyobject(py)?.into_any()
            } else {
                n.as_f64().unwrap_or(f64::NAN).into_pyobject(py)?.into_any()
            }
        }
        Json::String(s) => PyString::new(py, s).into_any(),
        Json::Array(items) => {
            let list = PyList::empty(py);
            for item in items {
                list.append(to_python(py, item)?)?;
            }
            list.into_any()
        }
        Json::Object(map) => {
            let dict = PyDict::new(py);
            for (k, v) in map {
                dict.set_item(k, to_python(py, v)?)?;
            }
            dict.into_any()
        }
    })
}

/// The name of a value's type, for messages.
pub fn type_name(value: &Bound<'_, PyAny>) -> String {
    value
        .get_type()
        .name()
        .map(|n| n.to_string())
        .unwrap_or_else(|_| "object".to_owned())
}

/// `repr(value)`, clipped for a message.
pub fn short_repr(value: &Bound<'_, PyAny>) -> String {
    clip(value.repr().map(|r| r.to_string()).unwrap_or_default())
}

/// `str(value)`, clipped for a message.
fn short_str(value: &Bound<'_, PyAny>) -> String {
    clip(value.str().map(|r| r.to_string()).unwrap_or_default())
}

fn clip(s: String) -> String {
    const MAX: usize = 60;
    if s.chars().count() <= MAX {
        return s;
    }
    let mut out: String = s.chars().take(MAX).collect();
    out.push('…');
    out
}
