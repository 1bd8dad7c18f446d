//! `ward.Decision` and its parts, `ward.Fired` and `ward.ErrorDetail`.
//!
//! A decision keeps the Rust decision as it is and builds Python values only when they are
//! read, so deciding costs no more than the attributes a caller looks at. A decision that was
//! evaluated also keeps the estate snapshot and the validated request it was made with, so
//! that `explain()` traces exactly that decision, even after the estate was swapped.
//!
//! It knows Python and the items of [`crate::backend`].

use std::sync::Arc;

use pyo3::exceptions::{PyTypeError, PyValueError};
use pyo3::prelude::*;
use pyo3::types::{PyDict, PyString};

use crate::backend::{self, EffectKind, Explanation};
use crate::convert;

/// What deciding a request produced, before it becomes a Python object. (Built once and moved
/// straight into that object: the size of a decision kept inline costs nothing here.)
#[allow(clippy::large_enum_variant)]
pub(crate) enum Evaluated {
    Decided {
        decision: backend::Decision,
        engine: Arc<backend::Engine>,
        store: Arc<backend::Store>,
        request: backend::Request,
    },
    /// The request did not validate: `deny` with this error (and the caller's id, when it
    /// was readable).
    Rejected(String, Option<String>),
}

/// What a decision was made with, to explain it.
#[derive(Debug)]
struct Trace {
    engine: Arc<backend::Engine>,
    store: Arc<backend::Store>,
    request: backend::Request,
}

/// The decision for one request: `allow`, `deny` or `require_approval`, with the rules that
/// fired, the approvers and any errors.
#[pyclass(module = "ward", frozen)]
#[derive(Debug)]
pub struct Decision {
    inner: backend::Decision,
    trace: Option<Trace>,
    /// Rebuilt from its JSON (unpickled): the estate and request it was made with stayed
    /// where it was decided, so it cannot be explained.
    restored: bool,
}

impl Decision {
    pub(crate) fn evaluated(evaluated: Evaluated) -> Decision {
        match evaluated {
            Evaluated::Decided {
                decision,
                engine,
                store,
                request,
            } => Decision {
                inner: decision,
                trace: Some(Trace {
                    engine,
                    store,
                    request,
                }),
                restored: false,
            },
            Evaluated::Rejected(message, request_id) => Decision {
                inner: backend::Decision::rejected(message).with_request_id(request_id),
                trace: None,
                restored: false,
            },
        }
    }

    /// `deny` with one error and no rule fired: a request that could not be decided.
    pub(crate) fn rejected(message: String) -> Decision {
        Decision {
            inner: backend::Decision::rejected(message),
            trace: None,
            restored: false,
        }
    }

    fn json(&self) -> serde_json::Value {
        serde_json::to_value(&self.inner).unwrap_or_else(|e| {
            // A decision is plain data; this cannot fail, and if it did, say so as a deny.
            serde_json::json!({"decision": "deny", "fired": [], "approvers": [],
                               "errors": [{"rule": null, "message": e.to_string()}]})
        })
    }
}

#[pymethods]
impl Decision {
    /// `"allow"`, `"deny"` or `"require_approval"`.
    #[getter]
    fn decision<'py>(&self, py: Python<'py>) -> Bound<'py, PyString> {
        match self.inner.decision {
            EffectKind::Allow => pyo3::intern!(py, "allow").clone(),
            EffectKind::Deny => pyo3::intern!(py, "deny").clone(),
            EffectKind::RequireApproval => pyo3::intern!(py, "require_approval").clone(),
        }
    }

    /// True only for `allow`.
    /// The caller's own id for the request, when it gave one.
    #[getter]
    fn request_id(&self) -> Option<String> {
        self.inner.request_id.clone()
    }

    #[getter]
    fn allowed(&self) -> bool {
        self.inner.decision == EffectKind::Allow
    }

    /// Every rule that fired, in policy order.
    #[getter]
    fn fired(&self) -> Vec<Fired> {
        self.inner.fired().iter().map(|f| Fired::of(&f)).collect()
    }

    /// Who may approve (sorted, deduplicated); empty unless the decision is
    /// `require_approval`.
    #[getter]
    fn approvers(&self) -> Vec<String> {
        self.inner.approvers().to_vec()
    }

    /// Evaluation and validation errors; a request that did not validate has one, with
    /// `rule` `None`.
    #[getter]
    fn errors(&self) -> Vec<ErrorDetail> {
        self.inner
            .errors
            .iter()
            .map(|e| ErrorDetail {
                rule: e.rule.clone(),
                message: e.message.clone(),
            })
            .collect()
    }

    /// The decision as `ward eval` prints it: `{"decision", "fired", "approvers", "errors"}`.
    fn to_dict<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyAny>> {
        convert::to_python(py, &self.json())
    }

    /// The decision as JSON text, as `ward eval --requests` prints it.
    fn to_json(&self) -> String {
        self.json().to_string()
    }

    /// The readable trace `ward eval --explain` prints: every rule of the action, whether it
    /// fired, and for those that did not, the condition that was false (or the error).
    fn explain(&self, py: Python<'_>) -> PyResult<String> {
        let (decision, explanation) = self.trace_of(py)?;
        Ok(backend::render_explanation(&decision, &explanation))
    }

    /// The same trace as a dict (`ward eval --explain --format json` prints it).
    fn explanation<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyAny>> {
        let (_, explanation) = self.trace_of(py)?;
        let json =
            serde_json::to_value(&explanation).map_err(|e| PyTypeError::new_err(e.to_string()))?;
        convert::to_python(py, &json)
    }

    /// Pickling: a decision travels as its JSON (verdict, fired rules with their messages,
    /// approvers, errors, the request's id) and comes back equal to the original. It cannot
    /// be explained after (the estate and the request it was made with stay behind).
    fn __reduce__<'py>(slf: &Bound<'py, Self>) -> PyResult<(Bound<'py, PyAny>, (String,))> {
        let rebuild = slf.get_type().getattr("_from_json")?;
        Ok((rebuild, (slf.get().json().to_string(),)))
    }

    /// A decision from the JSON [`Decision::to_json`] writes (what unpickling calls).
    #[staticmethod]
    fn _from_json(text: &str) -> PyResult<Decision> {
        let inner: backend::Decision = backend::parse_strict(text)
            .map_err(|e| e.to_string())
            .and_then(|doc| serde_json::from_value(doc).map_err(|e| e.to_string()))
            .map_err(|e| PyValueError::new_err(format!("not a ward decision: {e}")))?;
        Ok(Decision {
            inner,
            trace: None,
            restored: true,
        })
    }

    /// A decision is not a truth value: test `decision.allowed`.
    fn __bool__(&self) -> PyResult<bool> {
        Err(PyTypeError::new_err(
            "a `Decision` has no truth value: test `decision.allowed` (or compare \
             `decision.decision`)",
        ))
    }

    fn __eq__(&self, other: &Bound<'_, PyAny>) -> PyResult<Py<PyAny>> {
        let py = other.py();
        match other.cast::<Decision>() {
            Ok(other) => Ok(
                pyo3::types::PyBool::new(py, self.inner == other.get().inner)
                    .to_owned()
                    .into_any()
                    .unbind(),
            ),
            Err(_) => Ok(py.NotImplemented()),
        }
    }

    fn __repr__(&self) -> String {
        let fired: Vec<&str> = self.inner.fired().iter().map(|f| f.rule()).collect();
        let mut out = format!(
            "<ward.Decision {} fired={fired:?}",
            self.inner.decision.as_str()
        );
        if !self.inner.approvers().is_empty() {
            out.push_str(&format!(" approvers={:?}", self.inner.approvers()));
        }
        if !self.inner.errors.is_empty() {
            out.push_str(&format!(" errors={}", self.inner.errors.len()));
        }
        out.push('>');
        out
    }
}

impl Decision {
    fn trace_of(&self, py: Python<'_>) -> PyResult<(backend::Decision, Explanation)> {
        if self.restored {
            return Err(PyValueError::new_err(
                "this decision was unpickled: the estate and the request it was made with \
                 stayed where it was decided, so it cannot be explained here (explain it there, \
                 or keep `decision.explanation()` with it)",
            ));
        }
        Ok(match &self.trace {
            Some(t) => py.detach(|| t.engine.explain_request_with(&t.store, &t.request)),
            None => (
                self.inner.clone(),
                Explanation {
                    action: None,
                    at: None,
                    rules: Vec::new(),
                    not_applicable: 0,
                    default_applied: false,
                },
            ),
        })
    }
}

/// A rule that fired.
#[pyclass(module = "ward", frozen, get_all, eq)]
#[derive(Clone, Debug, PartialEq)]
pub struct Fired {
    /// The rule's name.
    rule: String,
    /// `"allow"`, `"deny"` or `"require_approval"`.
    effect: String,
    /// The rendered `because` message; `None` when the rule has none.
    message: Option<String>,
    /// `path:line:col` of the rule.
    location: String,
    /// Who may approve, for a `require_approval` rule.
    approvers: Vec<String>,
}

impl Fired {
    fn of(fired: &backend::Fired<'_>) -> Fired {
        Fired {
            rule: fired.rule().to_owned(),
            effect: fired.effect().as_str().to_owned(),
            message: fired.message().map(|m| m.into_owned()),
            location: fired.location().to_owned(),
            approvers: backend::fired_approvers(fired),
        }
    }
}

#[pymethods]
impl Fired {
    #[new]
    #[pyo3(signature = (rule, effect, message, location, approvers = Vec::new()))]
    fn new(
        rule: String,
        effect: String,
        message: Option<String>,
        location: String,
        approvers: Vec<String>,
    ) -> Fired {
        Fired {
            rule,
            effect,
            message,
            location,
            approvers,
        }
    }

    /// `{"rule", "effect", "message", "location", "approvers"}`.
    fn to_dict<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyDict>> {
        let dict = PyDict::new(py);
        dict.set_item("rule", &self.rule)?;
        dict.set_item("effect", &self.effect)?;
        dict.set_item("message", &self.message)?;
        dict.set_item("location", &self.location)?;
        dict.set_item("approvers", &self.approvers)?;
        Ok(dict)
    }

    fn __repr__(&self) -> String {
        format!(
            "Fired(rule={:?}, effect={:?}, message={}, location={:?}, approvers={:?})",
            self.rule,
            self.effect,
            self.message
                .as_ref()
                .map_or_else(|| "None".to_owned(), |m| format!("{m:?}")),
            self.location,
            self.approvers
        )
    }
}

/// An error of a decision: an evaluation error of a rule, or (with `rule` `None`) why the
/// request could not be decided.
#[pyclass(module = "ward", frozen, get_all, eq)]
#[derive(Clone, Debug, PartialEq)]
pub struct ErrorDetail {
    /// The rule whose evaluation failed; `None` for a request that did not validate.
    rule: Option<String>,
    message: String,
}

#[pymethods]
impl ErrorDetail {
    #[new]
    #[pyo3(signature = (rule, message))]
    fn new(rule: Option<String>, message: String) -> ErrorDetail {
        ErrorDetail { rule, message }
    }

    /// `{"rule", "message"}`.
    fn to_dict<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyDict>> {
        let dict = PyDict::new(py);
        dict.set_item("rule", &self.rule)?;
        dict.set_item("message", &self.message)?;
        Ok(dict)
    }

    fn __repr__(&self) -> String {
        format!(
            "ErrorDetail(rule={}, message={:?})",
            self.rule
                .as_ref()
                .map_or_else(|| "None".to_owned(), |r| format!("{r:?}")),
            self.message
        )
    }
}
