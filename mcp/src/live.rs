//! Asking a live MCP server for its tools (`ward mcp-schema -- COMMAND`): start it, say
//! `initialize` and `notifications/initialized`, page through `tools/list`, close its stdin.
//! Requests the server makes meanwhile are answered "method not found"; its notifications are
//! ignored. Everything is bounded by one deadline, so a server that never answers is an error,
//! not a hang.
//!
//! This module knows processes and the three messages; what the tools mean is `schema`'s.

use std::io::{BufReader, Write};
use std::sync::mpsc::{RecvTimeoutError, channel};
use std::time::{Duration, Instant};

use serde_json::Value as Json;

use crate::frame::{Frame, LineReader};
use crate::proxy::MAX_SERVER_MESSAGE;

/// The protocol revision offered; the server may answer with another it speaks.
pub const PROTOCOL_VERSION: &str = "2025-11-25";

/// Most pages of `tools/list` followed.
const MAX_PAGES: usize = 1000;

/// Runs `command`, asks for its tools and returns `{"tools": […]}` with every page's tools.
pub fn tools_list(command: &[String], timeout: Duration) -> Result<Json, String> {
    let (mut child, mut input, output) = crate::proxy::start_tool_server(command)?;
    let (lines_tx, lines) = channel::<Result<Vec<u8>, String>>();
    std::thread::spawn(move || {
        let mut reader = LineReader::new(BufReader::new(output), MAX_SERVER_MESSAGE);
        loop {
            let item = match reader.next_frame(|| {}) {
                Ok(Frame::Line(line)) => Ok(line),
                Ok(Frame::TooLong { bytes, .. }) => {
                    Err(format!("the server wrote a line of {bytes} bytes"))
                }
                Ok(Frame::Eof) => Err("the server closed its output".into()),
                Err(e) => Err(e.to_string()),
            };
            let stop = item.is_err();
            if lines_tx.send(item).is_err() || stop {
                return;
            }
        }
    });
    let deadline = Instant::now() + timeout;
    let result = (|| {
        let mut send = |msg: Json| -> Result<(), String> {
            let mut line = msg.to_string();
            line.push('\n');
            input
                .write_all(line.as_bytes())
                .and_then(|()| input.flush())
                .map_err(|e| format!("cannot write to the server: {e}"))
        };
        send(
            serde_json::json!({"jsonrpc": "2.0", "id": 1, "method": "initialize", "params": {
            "protocolVersion": PROTOCOL_VERSION, "capabilities": {},
            "clientInfo": {"name": "ward-mcp-schema", "version": env!("CARGO_PKG_VERSION")}}}),
        )?;
        let init = wait_for(&lines, 1, deadline, &mut send)?;
        if let Some(err) = init.get("error") {
            return Err(format!("the server refused `initialize`: {err}"));
        }
        send(serde_json::json!({"jsonrpc": "2.0", "method": "notifications/initialized"}))?;
        let mut tools = Vec::new();
        let mut cursor: Option<String> = None;
        for page in 0..MAX_PAGES {
            let id = 2 + page as i64;
            let params = match &cursor {
                Some(c) => serde_json::json!({"cursor": c}),
                None => serde_json::json!({}),
            };
            send(
                serde_json::json!({"jsonrpc": "2.0", "id": id, "method": "tools/list", "params": params}),
            )?;
            let answer = wait_for(&lines, id, deadline, &mut send)?;
            if let Some(err) = answer.get("error") {
                return Err(format!("the server refused `tools/list`: {err}"));
            }
            let result = answer.get("result").cloned().unwrap_or(Json::Null);
            let page_tools = crate::schema::tools_of(&result)?;
            tools.extend(page_tools.iter().cloned());
            cursor = result
                .get("nextCursor")
                .and_then(Json::as_str)
                .map(str::to_owned);
            if cursor.is_none() {
                return Ok(serde_json::json!({"tools": tools}));
            }
        }
        Err(format!(
            "the server's `tools/list` has more than {MAX_PAGES} pages"
        ))
    })();
    drop(input);
    // The server's stdin is closed: give it a moment, then stop it.
    let stop_by = Instant::now() + Duration::from_secs(2);
    loop {
        match child.try_wait() {
            Ok(Some(_)) => break,
            Ok(None) if Instant::now() < stop_by => std::thread::sleep(Duration::from_millis(10)),
            _ => {
                let _ = child.kill();
                let _ = child.wait();
                break;
            }
        }
    }
    result
}

/// Reads lines until the response with `id`; answers the server's requests meanwhile.
fn wait_for(
    lines: &std::sync::mpsc::Receiver<Result<Vec<u8>, String>>,
    id: i64,
    deadline: Instant,
    send: &mut impl FnMut(Json) -> Result<(), String>,
) -> Result<Json, String> {
    loop {
        let left = deadline.saturating_duration_since(Instant::now());
        let line = match lines.recv_timeout(left) {
            Ok(Ok(line)) => line,
            Ok(Err(e)) => return Err(format!("no answer from the server: {e}")),
            Err(RecvTimeoutError::Timeout) => {
                return Err("the server did not answer in time (`--timeout`)".into());
            }
            Err(RecvTimeoutError::Disconnected) => {
                return Err("the server closed its output".into());
            }
        };
        if line.iter().all(u8::is_ascii_whitespace) {
            continue;
        }
        let msg = ward_embed::json::parse_strict_bytes(&line).map_err(|e| {
            format!(
                "the server wrote a line that is not JSON ({e}): `{}`",
                String::from_utf8_lossy(line.get(..line.len().min(120)).unwrap_or_default())
            )
        })?;
        let msg_id = msg.get("id");
        match msg.get("method") {
            Some(_) => {
                if let Some(req_id) = msg_id {
                    send(serde_json::json!({"jsonrpc": "2.0", "id": req_id,
                        "error": {"code": -32601, "message": "ward mcp-schema only lists tools"}}))?;
                }
            }
            None if msg_id == Some(&Json::from(id)) => return Ok(msg),
            None => {}
        }
    }
}
