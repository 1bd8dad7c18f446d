//! `ward-mcp`: Ward in an agent's tool-call path. `ward mcp-guard` sits between an MCP client
//! (the agent) and an MCP server (the tools) on stdio and decides every `tools/call` with a
//! policy set before the tool sees it; every other message passes through unchanged, in both
//! directions. `ward mcp-schema` turns a server's `tools/list` into `action` declarations and
//! the tool mapping (docs/mcp.md).
//!
//! The parts, in the order a call meets them: [`frame`] (bounded newline framing),
//! [`jsonrpc`] (what a line is; strict parsing), [`session`] (the state machine over lines:
//! requests in flight, what goes where), [`guard`] (one call: mapping, deciding, the log, the
//! approval service), [`mapping`] (`tools.toml`), [`approvals`] (the HTTP client for
//! `ward serve`), [`proxy`] (the child process and the two pumps). [`schema`] is the schema
//! tool; [`policy`] loads and hashes what the guard decides with.
//!
//! This crate talks to `ward serve` only over HTTP: it must not know the service's code or its
//! approvals store, and it decides through `ward-embed` alone.

pub mod approvals;
pub mod frame;
pub mod guard;
pub use ward_log::ids;
pub mod jsonrpc;
pub mod live;
pub mod mapping;
pub mod policy;
pub mod proxy;
pub mod schema;
pub mod session;
