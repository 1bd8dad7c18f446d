//! `ward-bench`: generators for the benchmark scenario (policy sets and estates of a given
//! scale, deterministic), the scenario itself, the peer translations and small measurement
//! helpers. Not built by `cargo test` (outside `default-members`).
//!
//! **The scenario.** At scale `N` (default 1): `10_000 × N` identities in a manager tree about
//! six levels deep (`reports_to`), `50_000 × N` assets in a layered dependency graph
//! (`depends_on`, about three edges per asset, about 2 % tagged `revenue-critical`), a
//! guardrail set of about 60 rules over eight actions (attribute comparisons, `matches`, set
//! membership, `closure` over both relations, weekly windows with a time zone and a freeze,
//! durations, functions), and 1,000,000 requests spread over a month. `cargo bench -p
//! ward-bench --bench scenario` reports, in one run and as ratios: compile time (and per 1,000
//! rules on a generated large set), estate load time and peak memory, decisions per second and
//! p50/p99 on the JIT and the interpreter (decisions compared), the peers — Cedar, Rego
//! (`regorus`), CEL — on the common subset each can express (every decision cross-checked with
//! Ward's), and throughput at `N = 1, 4, 16`. The results are `docs/benchmarks.md`.

pub mod estate;
pub mod hand;
pub mod measure;
pub mod peers;
pub mod policy;
pub mod requests;
pub mod rng;
pub mod scenario;
pub mod timing;
