//! `ward-runtime`: applies a compiled Ward program to the actions an agent proposes.
//!
//! It loads the estate (entities and relations, validated against the program's schema),
//! evaluates time windows, validates requests, and decides with native code compiled by the
//! Cranelift JIT (`jit`) or with the reference interpreter (`interp`).
//! It must not know about pest, salsa, miette or the LSP: its input is a `ward_ir::Program`.
//! Nothing here panics on input; everything that can be wrong is an error value: `unwrap`,
//! `expect`, `panic!` and slice indexing are denied in `Cargo.toml` (`[lints.clippy]`), for
//! everything but test code.

#![cfg_attr(
    test,
    allow(
        clippy::unwrap_used,
        clippy::expect_used,
        clippy::panic,
        clippy::indexing_slicing
    )
)]

pub mod budget;
pub mod decision;
pub mod engine;
pub mod interp;
#[allow(
    unsafe_code,
    reason = "calling Cranelift-compiled code and freeing its memory; every block has a SAFETY comment"
)]
pub mod jit;
pub mod json;
pub mod plan;
mod prepared;
pub mod render;
pub mod request;
pub mod store;
pub mod time;
pub mod value;
pub mod window;

pub use value::{EntityRef, Value};
