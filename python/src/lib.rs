//! `ward-python`: the native part of the `ward` Python package (`ward._ward`), built by
//! maturin as a CPython extension on the stable ABI (abi3, CPython 3.9 and later).
//!
//! It exposes the in-process engine: `Engine` (compile a policy set, load an estate, decide),
//! `Decision`, `Fired` and `ErrorDetail`. The rest of the package (the exceptions, the tool
//! guard, the client for `ward serve`) is Python, in `ward/`. Deciding releases the GIL.
//! This crate must not know the CLI, the service or any agent framework; it reaches the
//! compiler and the runtime only through [`backend`].

mod backend;
mod convert;
mod decision;
mod engine;
mod errors;

use pyo3::prelude::*;

/// The native module `ward._ward`; `import ward` re-exports what it holds.
#[pymodule]
mod _ward {
    #[pymodule_export]
    use crate::decision::{Decision, ErrorDetail, Fired};
    #[pymodule_export]
    use crate::engine::Engine;

    use pyo3::prelude::*;

    /// Converts a Python value to JSON text exactly as `Engine.decide` reads its arguments:
    /// raises `ValueError` listing every problem (non-string keys, NaN, naive datetimes, …).
    #[pyfunction]
    fn to_json(value: &Bound<'_, PyAny>) -> PyResult<String> {
        let mut problems = crate::convert::Problems::default();
        let json = crate::convert::to_json(value, &crate::convert::Path::Root, &mut problems);
        if problems.is_empty() {
            Ok(json.to_string())
        } else {
            Err(pyo3::exceptions::PyValueError::new_err(problems.joined()))
        }
    }

    /// The `test` blocks of the policy set at `policy_path` as JSON text, so that the
    /// package's own tests can decide the same requests as `ward test` (not part of the API).
    #[pyfunction]
    fn _compiled_tests(py: Python<'_>, policy_path: std::path::PathBuf) -> PyResult<String> {
        let shown = policy_path.display().to_string();
        let set = crate::backend::read_policy_set(&policy_path)
            .map_err(|message| crate::errors::policy_error(py, &message, Vec::new()))?;
        let compiled = crate::backend::compile(&set.files);
        let diagnostics = crate::backend::diagnostics(&compiled, &shown, set.files.len());
        match compiled.program {
            Some(program) if diagnostics.errors == 0 => {
                Ok(crate::backend::tests_json(&program).to_string())
            }
            _ => Err(crate::errors::policy_error(
                py,
                &diagnostics.rendered,
                diagnostics.json,
            )),
        }
    }

    /// Renders a decision and its explanation, both as JSON text (as `ward serve` sends them
    /// with `?explain=true`), as `Decision.explain()` does.
    #[pyfunction]
    fn _render_explanation(decision: &str, explanation: &str) -> PyResult<String> {
        fn read<T: serde::de::DeserializeOwned>(what: &str, text: &str) -> PyResult<T> {
            let bad = |e: String| {
                pyo3::exceptions::PyValueError::new_err(format!("the {what} is malformed: {e}"))
            };
            let doc = crate::backend::parse_strict(text).map_err(|e| bad(e.to_string()))?;
            serde_json::from_value(doc).map_err(|e| bad(e.to_string()))
        }
        let decision: crate::backend::Decision = read("decision", decision)?;
        let explanation: crate::backend::Explanation = read("explanation", explanation)?;
        Ok(crate::backend::render_explanation(&decision, &explanation))
    }

    #[pymodule_init]
    fn init(m: &Bound<'_, PyModule>) -> PyResult<()> {
        m.add("MAX_DEPTH", crate::convert::MAX_DEPTH)?;
        Ok(())
    }
}
