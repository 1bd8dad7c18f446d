//! `ward`: the guardrail compiler and runtime as one library, and the `ward` command line.
//!
//! The façade an embedding needs: [`compile`] a policy set (the checker's diagnostics and the
//! typed program), build an [`Engine`] from the program, load the estate, and `decide`.
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
//! let program = compiled.program.expect("the policy set checks");
//! let engine = ward::Engine::new(program).expect("the program is valid");
//! engine
//!     .load_entities_str(r#"{"entities": {"Identity": {
//!         "alice": {"title": "VP Finance"}, "bot": {"title": "agent"}}}}"#)
//!     .expect("the estate matches the schema");
//! let decision = engine.decide(&serde_json::json!({
//!     "action": "disable_account", "at": "2026-11-28T10:00:00Z",
//!     "args": {"target": "alice"}, "context": {"agent": "bot"}
//! }));
//! assert_eq!(decision.decision.as_str(), "require_approval");
//! assert_eq!(decision.approvers, ["security-oncall"]);
//! ```

pub mod render;
pub mod testing;

pub use ward_check::{Compiled, FileDiagnostic, compile, load_policy_set};
pub use ward_runtime::decision::Decision;
pub use ward_runtime::engine::Engine;
