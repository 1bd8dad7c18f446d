//! `ward.Engine`: a compiled policy set and its current estate, deciding requests.
//!
//! The engine is shared freely between threads: it holds the Rust engine behind an `Arc`,
//! whose estate is swapped atomically, and every decision and estate load runs with the GIL
//! released. Only turning Python values into JSON (and back) holds the GIL.
//!
//! It knows Python and the items of [`crate::backend`], not how the Rust crates are built.

use std::path::PathBuf;
use std::sync::Arc;
use std::time::{SystemTime, UNIX_EPOCH};

use pyo3::prelude::*;
use pyo3::types::{PyBytes, PyDict, PyList, PyString};
use serde_json::{Map, Value as Json};

use crate::backend::{self, EngineConfig, EngineKind};
use crate::convert::{self, Path, Problems};
use crate::decision::{Decision, Evaluated};
use crate::errors;

/// A compiled policy set and its current estate. Thread-safe; decisions release the GIL.
#[pyclass(module = "ward", frozen)]
#[derive(Debug)]
pub struct Engine {
    pub(crate) inner: Arc<backend::Engine>,
    warnings: Vec<Json>,
}

#[pymethods]
impl Engine {
    /// Compiles the policy set at `policy_path` (a `.ward` file or a directory of them) and
    /// loads `entities` (a path to an entities JSON file, or a dict of the same shape).
    #[staticmethod]
    #[pyo3(signature = (policy_path, entities = None, engine = "jit"))]
    fn load(
        py: Python<'_>,
        policy_path: &Bound<'_, PyAny>,
        entities: Option<&Bound<'_, PyAny>>,
        engine: &str,
    ) -> PyResult<Engine> {
        let kind = engine_kind(engine)?;
        let path = fs_path(policy_path, "policy_path")?;
        let shown = path.display().to_string();
        let set = py
            .detach(|| backend::read_policy_set(&path))
            .map_err(|message| errors::policy_error(py, &message, Vec::new()))?;
        Engine::build(py, &set.files, set.skipped, &shown, kind, entities)
    }

    /// Compiles a policy set given as source text (one file named `filename`).
    #[staticmethod]
    #[pyo3(signature = (source, entities = None, engine = "jit", filename = "policy.ward"))]
    fn from_source(
        py: Python<'_>,
        source: &str,
        entities: Option<&Bound<'_, PyAny>>,
        engine: &str,
        filename: &str,
    ) -> PyResult<Engine> {
        let kind = engine_kind(engine)?;
        let files = vec![(filename.to_owned(), source.to_owned())];
        Engine::build(py, &files, Vec::new(), filename, kind, entities)
    }

    /// Decides one request. Never raises for a bad request: it is decided `deny` with the
    /// errors that make it bad. `id` is the caller's own id for the request (a str), echoed as
    /// the decision's `request_id`.
    #[pyo3(signature = (action, args = None, context = None, at = None, id = None))]
    fn decide(
        &self,
        py: Python<'_>,
        action: &Bound<'_, PyAny>,
        args: Option<&Bound<'_, PyAny>>,
        context: Option<&Bound<'_, PyAny>>,
        at: Option<&Bound<'_, PyAny>>,
        id: Option<&Bound<'_, PyAny>>,
    ) -> Decision {
        let mut problems = Problems::default();
        let doc = request_document(action, args, context, at, id, &mut problems);
        if !problems.is_empty() {
            return Decision::rejected(problems.joined());
        }
        let engine = Arc::clone(&self.inner);
        py.detach(move || Decision::evaluated(evaluate(engine, &doc)))
    }

    /// Decides a request given as JSON text (str or bytes) in the format of `ward eval`:
    /// `{"action": …, "at": …, "args": {…}, "context": {…}}`. Duplicate keys anywhere are
    /// errors, so the request is denied. Never raises for a bad request.
    fn decide_json(&self, py: Python<'_>, request: &Bound<'_, PyAny>) -> Decision {
        let text: Result<String, String> = if let Ok(s) = request.cast::<PyString>() {
            s.to_cow()
                .map(|s| s.into_owned())
                .map_err(|_| "the request text is not valid Unicode".to_owned())
        } else if let Ok(b) = request.cast::<PyBytes>() {
            String::from_utf8(b.as_bytes().to_vec()).map_err(|e| {
                format!(
                    "the document is not valid UTF-8 (bad byte at offset {})",
                    e.utf8_error().valid_up_to()
                )
            })
        } else {
            Err(format!(
                "expected the request as JSON text (str or bytes), found a `{}`",
                convert::type_name(request)
            ))
        };
        let text = match text {
            Ok(text) => text,
            Err(message) => return Decision::rejected(message),
        };
        let engine = Arc::clone(&self.inner);
        py.detach(move || match backend::parse_strict(&text) {
            Ok(doc) => Decision::evaluated(evaluate(engine, &doc)),
            Err(e) => Decision::rejected(e.to_string()),
        })
    }

    /// Replaces the estate with `entities` (a path or a dict), atomically: decisions in
    /// progress finish on the old estate, later ones see the new one. On error the old estate
    /// stays and `ward.EntitiesError` lists every problem.
    fn load_entities(&self, py: Python<'_>, entities: &Bound<'_, PyAny>) -> PyResult<()> {
        load_entities(py, &self.inner, entities)
    }

    /// Computes, for every entity of the current estate, each value the compiled policy keeps
    /// per entity (walks of closures, their counts), so that no decision pays for computing
    /// one; decisions on other threads go on meanwhile with the same results. Stops early when
    /// the estate is replaced. Returns what it did: `memos`, `computed`, `known`, `failed`,
    /// `stopped` and `seconds`. The GIL is released while it runs.
    fn precompute<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyDict>> {
        let engine = Arc::clone(&self.inner);
        let done = py.detach(move || engine.precompute());
        let out = PyDict::new(py);
        out.set_item("memos", done.memos)?;
        out.set_item("computed", done.computed)?;
        out.set_item("known", done.known)?;
        out.set_item("failed", done.failed)?;
        out.set_item("stopped", done.stopped)?;
        out.set_item("seconds", done.elapsed.as_secs_f64())?;
        Ok(out)
    }

    /// `"jit"` or `"interp"`: which engine decides.
    #[getter]
    fn kind(&self) -> &'static str {
        self.inner.kind().as_str()
    }

    /// The names of the actions the policy set declares, in declaration order.
    #[getter]
    fn actions(&self) -> Vec<String> {
        self.inner
            .program()
            .schema
            .actions
            .iter()
            .map(|a| a.name.clone())
            .collect()
    }

    /// The fields of `action` as `{name: type}` (types as the policy writes them).
    fn fields<'py>(&self, py: Python<'py>, action: &str) -> PyResult<Bound<'py, PyDict>> {
        let program = self.inner.program();
        let Some(found) = program.schema.actions.iter().find(|a| a.name == action) else {
            return Err(pyo3::exceptions::PyKeyError::new_err(format!(
                "no action `{action}` in the policy set"
            )));
        };
        let dict = PyDict::new(py);
        for field in &found.fields {
            dict.set_item(&field.name, backend::type_text(&program.schema, &field.ty))?;
        }
        Ok(dict)
    }

    /// The warnings the policy set compiled with, as dicts like `PolicyError.diagnostics`.
    #[getter]
    fn warnings<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyList>> {
        let list = PyList::empty(py);
        for w in &self.warnings {
            list.append(convert::to_python(py, w)?)?;
        }
        Ok(list)
    }

    fn __repr__(&self) -> String {
        let program = self.inner.program();
        format!(
            "<ward.Engine {} rules, {} actions, engine={}>",
            program.rules.len(),
            program.schema.actions.len(),
            self.inner.kind().as_str()
        )
    }
}

impl Engine {
    fn build(
        py: Python<'_>,
        files: &[(String, String)],
        skipped: Vec<Json>,
        shown: &str,
        kind: EngineKind,
        entities: Option<&Bound<'_, PyAny>>,
    ) -> PyResult<Engine> {
        let compiled = py.detach(|| backend::compile(files));
        let diagnostics = backend::diagnostics(&compiled, shown, files.len());
        let program = match compiled.program {
            Some(program) if diagnostics.errors == 0 => program,
            _ => {
                return Err(errors::policy_error(
                    py,
                    &diagnostics.rendered,
                    diagnostics.json,
                ));
            }
        };
        let inner = py
            .detach(|| backend::Engine::with_config(program, EngineConfig { engine: kind }))
            .map_err(|e| {
                errors::policy_error(
                    py,
                    &format!("the compiled policy set is not executable: {e}"),
                    Vec::new(),
                )
            })?;
        let inner = Arc::new(inner);
        if let Some(entities) = entities.filter(|e| !e.is_none()) {
            load_entities(py, &inner, entities)?;
        }
        let mut warnings = skipped;
        warnings.extend(diagnostics.json);
        Ok(Engine { inner, warnings })
    }
}

/// Decides a request document against the engine's current estate, keeping the estate and
/// the validated request so that the decision can be explained later.
pub(crate) fn evaluate(engine: Arc<backend::Engine>, doc: &Json) -> Evaluated {
    let store = engine.store();
    match backend::parse_request(&engine.program().schema, &store, doc) {
        Ok(request) => {
            let decision = engine.decide_request_with(&store, &request);
            Evaluated::Decided {
                decision,
                engine,
                store,
                request,
            }
        }
        Err(e) => Evaluated::Rejected(e.to_string(), backend::readable_id(doc)),
    }
}

/// The request document `{"action", "at", "args", "context"}` from `decide`'s arguments.
fn request_document(
    action: &Bound<'_, PyAny>,
    args: Option<&Bound<'_, PyAny>>,
    context: Option<&Bound<'_, PyAny>>,
    at: Option<&Bound<'_, PyAny>>,
    id: Option<&Bound<'_, PyAny>>,
    problems: &mut Problems,
) -> Json {
    let root = Path::Root;
    let mut doc = Map::with_capacity(5);
    // The caller's own id, echoed as `request_id`; the runtime validates it.
    if let Some(id) = id.filter(|id| !id.is_none()) {
        doc.insert(
            "id".to_owned(),
            convert::to_json(id, &root.key("id"), problems),
        );
    }
    let action = match action.cast::<PyString>() {
        Ok(s) => convert::to_json(s.as_any(), &root.key("action"), problems),
        Err(_) => {
            problems.push(
                &root.key("action"),
                format!(
                    "expected the action's name (a str), found a `{}`",
                    convert::type_name(action)
                ),
            );
            Json::Null
        }
    };
    doc.insert("action".to_owned(), action);
    doc.insert("at".to_owned(), at_json(at, &root.key("at"), problems));
    doc.insert(
        "args".to_owned(),
        fields_json(args, &root.key("args"), problems),
    );
    doc.insert(
        "context".to_owned(),
        fields_json(context, &root.key("context"), problems),
    );
    Json::Object(doc)
}

/// `args` or `context`: a dict with string keys; `None` is an empty one.
fn fields_json(value: Option<&Bound<'_, PyAny>>, path: &Path<'_>, problems: &mut Problems) -> Json {
    match value {
        None => Json::Object(Map::new()),
        Some(v) if v.is_none() => Json::Object(Map::new()),
        Some(v) => match v.cast::<PyDict>() {
            Ok(dict) => Json::Object(convert::dict_to_json(dict, path, problems)),
            Err(_) => {
                problems.push(
                    path,
                    format!(
                        "expected a dict of fields, found a `{}`",
                        convert::type_name(v)
                    ),
                );
                Json::Null
            }
        },
    }
}

/// The request's time: an aware `datetime`, an RFC 3339 string (checked by the runtime), or
/// now when absent.
fn at_json(at: Option<&Bound<'_, PyAny>>, path: &Path<'_>, problems: &mut Problems) -> Json {
    let Some(at) = at.filter(|a| !a.is_none()) else {
        return Json::String(backend::format_timestamp(now()));
    };
    if let Ok(s) = at.cast::<PyString>() {
        return convert::to_json(s.as_any(), path, problems);
    }
    if convert::is_datetime(at) {
        return match convert::timestamp_of(at) {
            Ok(secs) => Json::String(backend::format_timestamp(secs)),
            Err(message) => {
                problems.push(path, message);
                Json::Null
            }
        };
    }
    problems.push(
        path,
        format!(
            "expected an aware datetime or an RFC 3339 string, found a `{}`",
            convert::type_name(at)
        ),
    );
    Json::Null
}

/// Seconds since the Unix epoch, from the system clock.
fn now() -> i64 {
    match SystemTime::now().duration_since(UNIX_EPOCH) {
        Ok(d) => i64::try_from(d.as_secs()).unwrap_or(i64::MAX),
        Err(e) => -i64::try_from(e.duration().as_secs()).unwrap_or(i64::MAX),
    }
}

fn load_entities(
    py: Python<'_>,
    engine: &backend::Engine,
    entities: &Bound<'_, PyAny>,
) -> PyResult<()> {
    if let Ok(dict) = entities.cast::<PyDict>() {
        let mut problems = Problems::default();
        let doc = Json::Object(convert::dict_to_json(dict, &Path::Root, &mut problems));
        if !problems.is_empty() {
            let listed: Vec<(String, String)> = problems
                .messages()
                .iter()
                .map(|m| (String::new(), m.clone()))
                .collect();
            return Err(errors::entities_error(
                py,
                &format!(
                    "the entities are not valid:\n{}",
                    problems.messages().join("\n")
                ),
                listed,
                0,
            ));
        }
        return py
            .detach(|| engine.load_entities_json(&doc))
            .map_err(|e| load_error(py, "the entities are not valid", &e));
    }
    let path = fs_path(entities, "entities")?;
    let shown = path.display().to_string();
    let result = py.detach(|| match std::fs::read(&path) {
        Err(e) => Err(Err(format!("cannot read `{shown}`: {e}"))),
        Ok(bytes) => match String::from_utf8(bytes) {
            Err(e) => Err(Err(format!(
                "`{shown}` is not valid UTF-8 (bad byte at offset {})",
                e.utf8_error().valid_up_to()
            ))),
            Ok(text) => engine.load_entities_str(&text).map_err(Ok),
        },
    });
    match result {
        Ok(()) => Ok(()),
        Err(Err(message)) => Err(errors::entities_error(py, &message, Vec::new(), 0)),
        Err(Ok(e)) => Err(load_error(
            py,
            &format!("the entities in `{shown}` are not valid"),
            &e,
        )),
    }
}

fn load_error(py: Python<'_>, headline: &str, e: &backend::LoadError) -> PyErr {
    let problems = e
        .problems()
        .iter()
        .map(|p| (p.path.clone(), p.message.clone()))
        .collect();
    errors::entities_error(py, &format!("{headline}:\n{e}"), problems, e.omitted())
}

fn engine_kind(name: &str) -> PyResult<EngineKind> {
    EngineKind::parse(name).ok_or_else(|| {
        pyo3::exceptions::PyValueError::new_err(format!(
            "unknown engine `{name}` (expected `jit` or `interp`)"
        ))
    })
}

/// A `str` or `os.PathLike` as a path.
fn fs_path(value: &Bound<'_, PyAny>, what: &str) -> PyResult<PathBuf> {
    value.extract::<PathBuf>().map_err(|_| {
        pyo3::exceptions::PyTypeError::new_err(format!(
            "`{what}` must be a path (str or os.PathLike){}, found a `{}`",
            if what == "entities" { " or a dict" } else { "" },
            convert::type_name(value)
        ))
    })
}
