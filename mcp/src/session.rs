//! One guarded MCP session as a state machine over lines: a line from the client becomes a
//! line to the tool server or an answer to the client; a line from the server is passed on or
//! held back; the server's end answers every request still waiting. No I/O happens here, so
//! recorded exchanges can drive it line by line (`tests/exchanges/`); `proxy` does the pipes.
//!
//! Requests in flight are tracked by id, in both senses the guard needs: a client request is
//! refused when its id is already waiting for the server (its answer could not be told apart
//! from the other's), and a server response is passed on only for an id the client is waiting
//! for (a server cannot answer a call the guard denied, or answer twice). Cancelling a request
//! (`notifications/cancelled`) stops waiting for it.

use std::collections::HashSet;
use std::sync::Mutex;

use crate::guard::{Guard, Verdict};
use crate::jsonrpc::{self, ClientLine, INVALID_REQUEST, IdKey, SERVER_GONE, ServerLine};

/// The most requests in flight at once; a client with more is refused until some end.
pub const MAX_IN_FLIGHT: usize = 10_000;

/// Where a line goes.
#[derive(Debug, PartialEq, Eq)]
pub enum Out {
    /// The client's line, unchanged, to the tool server.
    Server,
    /// This line to the client.
    Client(String),
    /// Nothing.
    Nothing,
}

/// What to do with a line of the tool server.
#[derive(Debug, PartialEq, Eq)]
pub enum FromServer {
    /// Pass it on to the client, unchanged.
    Forward,
    /// Hold it back, and say why on the guard's stderr.
    Drop(String),
    /// Ignore it (a blank line).
    Skip,
}

/// A guarded session.
#[derive(Debug)]
pub struct Session {
    guard: Guard,
    state: Mutex<State>,
    max_message: usize,
}

#[derive(Debug, Default)]
struct State {
    in_flight: HashSet<IdKey>,
    /// Why the tool server cannot be reached any more.
    gone: Option<String>,
}

impl Session {
    /// A session deciding with `guard`; `max_message` is the line limit, for messages.
    pub fn new(guard: Guard, max_message: usize) -> Session {
        Session {
            guard,
            state: Mutex::new(State::default()),
            max_message,
        }
    }

    pub fn guard(&self) -> &Guard {
        &self.guard
    }

    fn state(&self) -> std::sync::MutexGuard<'_, State> {
        match self.state.lock() {
            Ok(state) => state,
            Err(poisoned) => poisoned.into_inner(),
        }
    }

    /// A line from the client (without its `\n`).
    pub fn client_line(&self, line: &[u8]) -> Out {
        match jsonrpc::classify_client(line) {
            ClientLine::Blank => Out::Nothing,
            ClientLine::Other { cancels } => {
                if let Some(key) = cancels {
                    self.state().in_flight.remove(&key);
                }
                if self.state().gone.is_some() {
                    Out::Nothing
                } else {
                    Out::Server
                }
            }
            ClientLine::Request { key } => match self.admit(&key) {
                Ok(()) => Out::Server,
                Err(answer) => Out::Client(answer),
            },
            ClientLine::ToolCall { id, key, params } => {
                if let Err(answer) = self.check(&key) {
                    let call = jsonrpc::RefusedCall {
                        id: Some(id.clone()),
                        tool: params
                            .as_ref()
                            .and_then(|p| p.get("name"))
                            .and_then(|n| n.as_str())
                            .map(str::to_owned),
                        reason: reason_of(&answer),
                    };
                    let _ = self.guard.refused_call(&call, None);
                    return Out::Client(answer);
                }
                match self.guard.decide_call(&id, params.as_ref()) {
                    Verdict::Answer(answer) => Out::Client(answer),
                    Verdict::Forward => match self.admit(&key) {
                        Ok(()) => Out::Server,
                        Err(answer) => Out::Client(answer),
                    },
                }
            }
            ClientLine::Refused(refusal) => {
                let mut denial = None;
                for call in &refusal.tool_calls {
                    denial = self.guard.refused_call(call, refusal.deny_call.as_deref());
                }
                match denial.or(refusal.answer) {
                    Some(answer) => Out::Client(answer),
                    None => Out::Nothing,
                }
            }
        }
    }

    /// A client line longer than the limit, of which `bytes` were seen: never read, never
    /// passed on.
    pub fn client_too_long(&self, bytes: u64) -> String {
        jsonrpc::error_response(
            "null",
            INVALID_REQUEST,
            &format!(
                "a message of more than {} bytes (the guard's limit, `--max-message`) was not read and not passed on ({bytes} bytes so far)",
                self.max_message
            ),
        )
    }

    /// Whether a request with `key` may go to the server now; the error answer if not.
    fn check(&self, key: &IdKey) -> Result<(), String> {
        let state = self.state();
        if let Some(why) = &state.gone {
            return Err(jsonrpc::error_response(&key.display(), SERVER_GONE, why));
        }
        if state.in_flight.contains(key) {
            // Answered with a null id: the id belongs to the request already waiting.
            return Err(jsonrpc::error_response(
                "null",
                INVALID_REQUEST,
                &format!(
                    "request id {} is already used by a request waiting for the tool server, so this one was not passed on: use a new id",
                    key.display()
                ),
            ));
        }
        if state.in_flight.len() >= MAX_IN_FLIGHT {
            return Err(jsonrpc::error_response(
                &key.display(),
                INVALID_REQUEST,
                &format!(
                    "more than {MAX_IN_FLIGHT} requests are waiting for the tool server: wait for some to end"
                ),
            ));
        }
        Ok(())
    }

    /// [`Session::check`], then record the request as in flight.
    fn admit(&self, key: &IdKey) -> Result<(), String> {
        self.check(key)?;
        self.state().in_flight.insert(key.clone());
        Ok(())
    }

    /// The line for `key` could not be written to the server: it is no longer in flight.
    pub fn not_sent(&self, line: &[u8]) -> Option<String> {
        let key = match jsonrpc::classify_client(line) {
            ClientLine::Request { key } | ClientLine::ToolCall { key, .. } => key,
            _ => return None,
        };
        let mut state = self.state();
        state.in_flight.remove(&key);
        let why = state
            .gone
            .clone()
            .unwrap_or_else(|| "the tool server stopped reading its input".into());
        Some(jsonrpc::error_response(&key.display(), SERVER_GONE, &why))
    }

    /// A line from the tool server (without its `\n`).
    pub fn server_line(&self, line: &[u8]) -> FromServer {
        match jsonrpc::classify_server(line) {
            ServerLine::Blank => FromServer::Skip,
            ServerLine::Message => FromServer::Forward,
            ServerLine::Response(key) => {
                if self.state().in_flight.remove(&key) {
                    FromServer::Forward
                } else {
                    FromServer::Drop(format!(
                        "the tool server answered request id {}, which no request in flight has (never sent, already answered, cancelled or denied by the guard): not passed on",
                        key.display()
                    ))
                }
            }
            ServerLine::Batch(keys) => {
                let mut state = self.state();
                if let Some(stray) = keys.iter().find(|k| !state.in_flight.contains(k)) {
                    return FromServer::Drop(format!(
                        "the tool server sent a batch answering request id {}, which no request in flight has: the batch was not passed on",
                        stray.display()
                    ));
                }
                for key in &keys {
                    state.in_flight.remove(key);
                }
                FromServer::Forward
            }
            ServerLine::Malformed(why) => FromServer::Drop(format!(
                "the tool server wrote a line that is not a JSON-RPC message ({why}): not passed on; {}",
                preview(line)
            )),
        }
    }

    /// The tool server can no longer answer (`why`): every request still waiting gets an
    /// error with its id, and later requests are refused.
    pub fn server_gone(&self, why: &str) -> Vec<String> {
        let mut state = self.state();
        if state.gone.is_none() {
            state.gone = Some(why.to_owned());
        }
        let mut keys: Vec<IdKey> = state.in_flight.drain().collect();
        keys.sort();
        keys.iter()
            .map(|key| jsonrpc::error_response(&key.display(), SERVER_GONE, why))
            .collect()
    }
}

fn reason_of(answer: &str) -> String {
    serde_json::from_str::<serde_json::Value>(answer)
        .ok()
        .and_then(|v| v.pointer("/error/message")?.as_str().map(str::to_owned))
        .unwrap_or_default()
}

/// The start of a line, for a message.
fn preview(line: &[u8]) -> String {
    let text = String::from_utf8_lossy(line.get(..line.len().min(120)).unwrap_or_default());
    let dots = if line.len() > 120 { "…" } else { "" };
    format!("it began `{}{dots}`", text.escape_debug())
}
