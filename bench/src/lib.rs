//! `ward-bench`: generators for the benchmark scenario of `spec/BENCH.md` (policy sets and
//! estates of a given scale, deterministic), the scenario itself, the peer translations and
//! small measurement helpers. Not built by `cargo test` (outside `default-members`).

pub mod estate;
pub mod measure;
pub mod peers;
pub mod policy;
pub mod requests;
pub mod rng;
pub mod scenario;
pub mod timing;
