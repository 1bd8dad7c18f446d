//! `ward-embed`: Ward for programs that embed it — a decision service, a Python extension, an
//! MCP guard. Read a policy set ([`load_policy_set`]), [`compile`] it (diagnostics and the
//! typed program), build an [`Engine`], load the estate, and decide requests given as JSON
//! text ([`Engine::decide_str`], strict: a duplicate key is a deny naming it). When the policy
//! set does not check, [`diagnostics`] shows why, as plain text or JSON. A service reads a
//! policy folder and an entities file from disk with [`sources`], which also hashes them the
//! way decision logs name a version.
//!
//! This crate is the lean API: it must not know about clap, miette, terminals or the language
//! server, so that an embedder pulls in none of them (a fence test in `tests/tests/fences.rs`
//! holds it to that). It adds no behaviour of its own besides the diagnostics renderer and
//! the reading of sources; the `ward` crate (the CLI) is built on it.
//!
//! ```
//! use ward_embed::{Engine, compile, diagnostics};
//!
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
//! let compiled = compile(&[("guardrails.ward".to_owned(), policy.to_owned())]);
//! let Some(program) = compiled.program.clone() else {
//!     // `error[E0103]: …`, `--> guardrails.ward:7:12`, the line, a caret and the help.
//!     panic!("{}", diagnostics::render_all_text(&compiled));
//! };
//! let engine = Engine::new(program)?;
//! engine.load_entities_str(
//!     r#"{"entities": {"Identity": {"alice": {"title": "VP Finance"}, "bot": {"title": "agent"}}}}"#,
//! )?;
//! let decision = engine.decide_str(
//!     r#"{"action": "disable_account", "at": "2026-11-28T10:00:00Z",
//!         "args": {"target": "alice"}, "context": {"agent": "bot"}}"#,
//! );
//! assert_eq!(decision.decision.as_str(), "require_approval");
//! assert_eq!(decision.approvers(), ["security-oncall"]);
//!
//! // A policy that does not check: no program, and diagnostics to show.
//! let broken = compile(&[("broken.ward".to_owned(), "rule r { on nothing deny }".to_owned())]);
//! assert!(broken.program.is_none());
//! let text = diagnostics::render_all_text(&broken);
//! assert!(text.starts_with("error[E0"), "{text}");
//! assert!(text.contains("--> broken.ward:1:"), "{text}");
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```

pub mod diagnostics;
pub mod sources;

pub use ward_check::{Compiled, FileDiagnostic, compile};
pub use ward_files::{
    FileKind, LoadWarning, LoadedPolicySet, PolicyLoadError, SkipReason, load_policy_set,
    load_policy_set_with_warnings,
};
pub use ward_ir::{EffectKind, Program};
pub use ward_runtime::decision::{
    ConditionTrace, Decision, DecisionError, Explanation, Fired, FiredRules, Names, RuleTrace,
};
pub use ward_runtime::engine::{Engine, EngineConfig, EngineError, EngineKind};
/// Strict JSON for text that enters from outside: a duplicate key is an error, never "the
/// last one wins" ([`json::parse_strict`], [`json::parse_strict_bytes`]).
pub use ward_runtime::json;
/// An entities document that does not match the schema ([`Engine::load_entities_str`]).
pub use ward_runtime::store::LoadError;
pub use ward_syntax::{Diagnostic, Severity};
