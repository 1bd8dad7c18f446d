//! `ward`: the `ward` command line, and the lean library (`ward-embed`) re-exported.
//!
//! An embedding — a service, a Python extension, an MCP guard — should depend on `ward-embed`,
//! which has the same API without the command-line and terminal crates. This crate adds what
//! only the CLI needs: terminal rendering of diagnostics ([`render`], the one place that draws
//! on a terminal) and running a policy set's `test` blocks ([`testing`]).
//!
//! ```
//! let policy = r#"
//!     entity Identity { title: String }
//!     context { agent: Identity }
//!     action disable_account { target: Identity }
//!     rule executives {
//!       on disable_account
//!       when target.title matches "^(VP|Chief)"
//!       require approval from "security-oncall"
//!       because "{target} is an executive"
//!     }
//!     rule routine { on disable_account allow }
//! "#;
//! let compiled = ward::compile(&[("guardrails.ward".to_owned(), policy.to_owned())]);
//! let Some(program) = compiled.program.clone() else {
//!     panic!("{}", ward::diagnostics::render_all_text(&compiled));
//! };
//! let engine = ward::Engine::new(program)?;
//! engine.load_entities_str(
//!     r#"{"entities": {"Identity": {"alice": {"title": "VP Finance"}, "bot": {"title": "agent"}}}}"#,
//! )?;
//! let decision = engine.decide_str(
//!     r#"{"action": "disable_account", "at": "2026-11-28T10:00:00Z",
//!         "args": {"target": "alice"}, "context": {"agent": "bot"}}"#,
//! );
//! assert_eq!(decision.decision.as_str(), "require_approval");
//! assert_eq!(decision.approvers(), ["security-oncall"]);
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```

pub mod render;
pub mod testing;

pub use ward_embed::*;

/// The README's code blocks are compiled and run as doc tests (from the repository root, so
/// the embedding snippet reads `examples/` as a reader's program would).
#[cfg(doctest)]
#[doc = include_str!("../README.md")]
struct ReadmeDoctests;
