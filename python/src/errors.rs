//! Raising the package's exceptions from Rust. The classes are written in Python
//! (`ward/_errors.py`, with their docstrings and attributes); this module builds instances.
//!
//! It knows Python, not the engine.

use pyo3::exceptions::PyRuntimeError;
use pyo3::prelude::*;
use pyo3::sync::PyOnceLock;
use pyo3::types::{PyDict, PyList, PyType};
use serde_json::Value as Json;

use crate::convert;

static POLICY_ERROR: PyOnceLock<Py<PyType>> = PyOnceLock::new();
static ENTITIES_ERROR: PyOnceLock<Py<PyType>> = PyOnceLock::new();

/// `ward.PolicyError(message, diagnostics)`.
pub fn policy_error(py: Python<'_>, message: &str, diagnostics: Vec<Json>) -> PyErr {
    let build = || -> PyResult<PyErr> {
        let class = POLICY_ERROR.import(py, "ward._errors", "PolicyError")?;
        let list = PyList::empty(py);
        for d in &diagnostics {
            list.append(convert::to_python(py, d)?)?;
        }
        Ok(PyErr::from_value(class.call1((message, list))?))
    };
    build().unwrap_or_else(|e| fallback(py, message, e))
}

/// `ward.EntitiesError(message, problems, omitted)`; each problem is `(path, message)`.
pub fn entities_error(
    py: Python<'_>,
    message: &str,
    problems: Vec<(String, String)>,
    omitted: usize,
) -> PyErr {
    let build = || -> PyResult<PyErr> {
        let class = ENTITIES_ERROR.import(py, "ward._errors", "EntitiesError")?;
        let list = PyList::empty(py);
        for (path, text) in &problems {
            let d = PyDict::new(py);
            d.set_item("path", path)?;
            d.set_item("message", text)?;
            list.append(d)?;
        }
        Ok(PyErr::from_value(class.call1((message, list, omitted))?))
    };
    build().unwrap_or_else(|e| fallback(py, message, e))
}

/// The package's own module could not be imported: still an error, never silence.
fn fallback(py: Python<'_>, message: &str, cause: PyErr) -> PyErr {
    let err = PyRuntimeError::new_err(message.to_owned());
    err.set_cause(py, Some(cause));
    err
}
