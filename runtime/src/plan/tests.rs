//! Unit tests of the planner on small hand-written programs; the brute-force comparisons on
//! the conformance corpus and generated programs live in `tests/tests/plan.rs`.
