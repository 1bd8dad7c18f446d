//! The pest parser generated from `grammar/ward.pest`.
//!
//! Kept in its own private module because the derive creates an `enum Rule` that would clash
//! with the AST's rule type. Nothing outside this crate sees pest: the builder turns pairs into
//! [`crate::ast`] nodes and pest errors into [`crate::Diagnostic`]s.

use pest_derive::Parser;

#[derive(Parser, Debug)]
#[grammar = "../../../grammar/ward.pest"]
pub(crate) struct WardParser;
