//! `ward-bench`: generators for the benchmark scenario of `spec/BENCH.md` (policy sets and
//! estates of a given scale, deterministic) and small timing helpers. Not built by `cargo test`.

pub mod policy;
pub mod timing;
