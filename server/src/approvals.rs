//! The interface approvals will be kept behind (one implementation per database: SQLite in
//! `--state`, PostgreSQL for several replicas). This server does not create approvals yet:
//! their endpoints answer `501`, and a request that presents one is decided without it.
//!
//! The shapes follow the approval document of docs/server.md: an approval is bound to one
//! requester and the digest of one exact request, lists what each fired rule needs, and only
//! moves forward (`pending` → `approved` | `rejected` | `expired`, `approved` → `used`). Every
//! change is also a `kind: "approval"` line in the decision log, written by the caller of the
//! store. This module knows no HTTP and no database.

use serde::{Deserialize, Serialize};

/// Where an approval stands. `approved`, `rejected`, `expired` and `used` are final for
/// approving; only `approved` can become `used`, once.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Status {
    Pending,
    Approved,
    Rejected,
    Expired,
    Used,
}

/// What one fired `require approval` rule needs.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Need {
    pub rule: String,
    pub message: Option<String>,
    /// Names or groups, one of which must approve.
    pub approvers: Vec<String>,
    pub approved_by: Option<String>,
}

/// One action on an approval.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct HistoryEntry {
    pub at: String,
    pub by: String,
    /// `create`, `approve`, `reject`, `expire`, `use`.
    pub action: String,
    pub comment: Option<String>,
}

/// An approval, as stored and as `GET /v1/approvals/{id}` will show it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Approval {
    pub id: String,
    pub status: Status,
    pub created: String,
    pub expires: String,
    pub requested_by: String,
    /// `sha256:` of the canonical JSON of the request's `action`, `args` and `context`.
    pub digest: String,
    pub policy: String,
    pub request: serde_json::Value,
    pub needs: Vec<Need>,
    pub history: Vec<HistoryEntry>,
}

/// Why a store refused a change.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum StoreError {
    #[error("there is no approval `{0}`")]
    Unknown(String),
    /// The approval is final: nothing changed.
    #[error("approval `{id}` is already {status:?}")]
    Final { id: String, status: Status },
    #[error("the approvals store failed: {0}")]
    Backend(String),
}

/// The approvals store. Each method is one transaction: of two concurrent `mark_used` calls
/// on one approval, exactly one succeeds.
pub trait ApprovalStore: Send + Sync + std::fmt::Debug {
    /// The pending approval of `requested_by` for `digest`, or `approval` stored as new.
    fn create_or_get(&self, approval: Approval) -> Result<Approval, StoreError>;
    fn get(&self, id: &str) -> Result<Option<Approval>, StoreError>;
    /// Approvals with `status` (all when `None`), oldest first.
    fn list(&self, status: Option<Status>) -> Result<Vec<Approval>, StoreError>;
    /// Records an approve or reject of a pending approval and returns it updated.
    fn act(
        &self,
        id: &str,
        entry: HistoryEntry,
        needs: Vec<Need>,
        status: Status,
    ) -> Result<Approval, StoreError>;
    /// `approved` → `used`, atomically; `Err(Final)` if it was not `approved`.
    fn mark_used(&self, id: &str, entry: HistoryEntry) -> Result<Approval, StoreError>;
}
