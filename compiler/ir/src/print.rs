//! A readable text form of a [`Program`], for `ward check --emit-ir` and for tests.

use crate::Program;

/// Render the program as text.
pub fn print(program: &Program) -> String {
    format!("{program:#?}")
}
