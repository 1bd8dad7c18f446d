//! Loading what the guard decides with: the policy set and the estate, read from disk,
//! compiled and hashed by `ward_embed::sources` exactly as `ward serve` loads them
//! (docs/decisions.md #52), so that a line of the guard's log and a line of the service's log
//! name the same version the same way, and a bad file is reported in the same words.
//!
//! This module knows files, the compiler and the engine; it does not know MCP.

use std::path::Path;

use ward_embed::EngineKind;
pub use ward_embed::sources::{Built as Loaded, LoadFailure};

/// Reads, compiles and hashes the policy set at `policy` and the estate at `entities`.
pub fn load(policy: &Path, entities: &Path, kind: EngineKind) -> Result<Loaded, LoadFailure> {
    ward_embed::sources::load(policy, entities, kind)
}
