//! Differential testing of the JIT against the reference interpreter: a generator of random
//! well-typed programs with matching estates and requests ([`generate`]), a comparison of
//! the two engines' whole decisions and explanations ([`diff`]), and damaged entity and
//! request JSON for both ([`json`]). Used by `tests/tests/differential.rs` and
//! `tests/tests/json_fuzz.rs` (bounded) and by `fuzz/` (open-ended).

pub mod diff;
pub mod generate;
pub mod json;
