//! Differential testing of the JIT against the reference interpreter: a generator of random
//! well-typed programs with matching estates and requests ([`generate`]), and a comparison of
//! the two engines' whole decisions and explanations ([`diff`]). Used by
//! `tests/tests/differential.rs` (bounded) and by `fuzz/` (open-ended).

pub mod diff;
pub mod generate;
