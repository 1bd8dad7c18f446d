//! JSON-RPC 2.0 as the guard sees it: what a client line is (a `tools/call` to decide,
//! another request, a notification or a response to pass on, or something to refuse), request
//! ids as keys, and the answers the guard writes itself.
//!
//! Every client line is parsed strictly (`ward_embed::json`): a duplicate key anywhere refuses
//! the whole line, so the tool server never reads a value the guard did not read. A line the
//! guard refuses never reaches the server. This module knows the JSON-RPC envelope and the MCP
//! method `tools/call`; it does not know policies, mappings or processes.

use serde::Deserialize;
use serde::de::{IgnoredAny, MapAccess, Visitor};
use serde_json::Value as Json;
use serde_json::value::RawValue;

/// `Parse error`: the line is not JSON (or not UTF-8).
pub const PARSE_ERROR: i64 = -32700;
/// `Invalid Request`: JSON, but not a message the guard passes on.
pub const INVALID_REQUEST: i64 = -32600;
/// `Invalid params`: a `tools/call` whose `params` are not `{"name": …, "arguments": {…}}`.
pub const INVALID_PARAMS: i64 = -32602;
/// A server error (JSON-RPC leaves -32000 to -32099 to implementations): the tool server
/// exited or stopped answering before it answered this request.
pub const SERVER_GONE: i64 = -32000;

/// The method the guard decides.
pub const TOOLS_CALL: &str = "tools/call";
/// The notification that cancels a request in flight.
pub const CANCELLED: &str = "notifications/cancelled";

/// A request id as a key: JSON-RPC ids are strings or numbers (`null` is allowed but
/// discouraged). `1` and `1.0` are one key; `1` and `"1"` are two.
#[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum IdKey {
    Null,
    Number(String),
    String(String),
}

impl IdKey {
    /// The key of an id value; `None` for a value that cannot be an id (an object, an array,
    /// a boolean).
    pub fn of(id: &Json) -> Option<IdKey> {
        match id {
            Json::Null => Some(IdKey::Null),
            Json::String(s) => Some(IdKey::String(s.clone())),
            Json::Number(n) => Some(IdKey::Number(canonical_number(n))),
            _ => None,
        }
    }

    /// How a message names it: `5`, `"abc"`, `null`.
    pub fn display(&self) -> String {
        match self {
            IdKey::Null => "null".into(),
            IdKey::Number(n) => n.clone(),
            IdKey::String(s) => Json::String(s.clone()).to_string(),
        }
    }
}

fn canonical_number(n: &serde_json::Number) -> String {
    if let Some(i) = n.as_i64() {
        return i.to_string();
    }
    if let Some(u) = n.as_u64() {
        return u.to_string();
    }
    match n.as_f64() {
        Some(f) if f.fract() == 0.0 && f.abs() < 9.0e15 => format!("{}", f as i64),
        Some(f) => format!("{f}"),
        None => n.to_string(),
    }
}

/// What a client line is.
#[derive(Debug)]
pub enum ClientLine {
    /// Only white space: ignored.
    Blank,
    /// A `tools/call` request, to be decided. `id` is the id's JSON text as the client wrote
    /// it (answers echo it byte for byte); `params` the parsed `params`.
    ToolCall {
        id: String,
        key: IdKey,
        params: Option<Json>,
    },
    /// Another request: passed on, and its answer expected from the server.
    Request { key: IdKey },
    /// A notification or a response to a request of the server: passed on. `cancels` is the
    /// request a `notifications/cancelled` names.
    Other { cancels: Option<IdKey> },
    /// Not passed on: the guard answers it (`answer` is `None` for nothing to answer with).
    Refused(Refusal),
}

/// A line the guard refuses, and why.
#[derive(Debug)]
pub struct Refusal {
    /// The answer to write to the client, if any.
    pub answer: Option<String>,
    /// For the log: each `tools/call` (or what could have been one) the line held, with the
    /// reason it was refused.
    pub tool_calls: Vec<RefusedCall>,
    /// The reason, for the guard's own stderr when there is no answer.
    pub reason: String,
    /// When set, the line is a `tools/call` with this id (JSON text) that the guard denies as
    /// a tool call (a result with `isError: true` naming the reason) instead of `answer`.
    pub deny_call: Option<String>,
}

/// A `tools/call` refused before it could be decided.
#[derive(Debug)]
pub struct RefusedCall {
    /// The id's JSON text, when it can be read unambiguously.
    pub id: Option<String>,
    /// The tool's name, when it can be read unambiguously.
    pub tool: Option<String>,
    pub reason: String,
}

/// Classifies one line from the client.
pub fn classify_client(line: &[u8]) -> ClientLine {
    let Ok(text) = std::str::from_utf8(line) else {
        let reason = "the message is not UTF-8 text".to_owned();
        return refuse(None, PARSE_ERROR, &reason, Vec::new());
    };
    let trimmed = text.trim_matches([' ', '\t', '\r']);
    if trimmed.is_empty() {
        return ClientLine::Blank;
    }
    if trimmed.starts_with('[') {
        return refuse_batch(trimmed);
    }
    let doc = match ward_embed::json::parse_strict(text) {
        Ok(doc) => doc,
        Err(err) => return refuse_unreadable(text, &err),
    };
    let Json::Object(obj) = &doc else {
        return refuse(
            None,
            INVALID_REQUEST,
            "a JSON-RPC message is a JSON object",
            Vec::new(),
        );
    };
    // The id as written, for answers: only needed when it is valid.
    let id_key = match obj.get("id") {
        None => None,
        Some(id) => match IdKey::of(id) {
            Some(key) => Some(key),
            None => {
                return refuse(
                    None,
                    INVALID_REQUEST,
                    "`id` must be a string or a number",
                    Vec::new(),
                );
            }
        },
    };
    let raw_id = || raw_id_text(text).unwrap_or_else(|| "null".to_owned());
    let method = match obj.get("method") {
        None => None,
        Some(Json::String(m)) => Some(m.as_str()),
        Some(_) => {
            let id = id_key.as_ref().map(|_| raw_id());
            let calls = Vec::new();
            return refuse(id, INVALID_REQUEST, "`method` must be a string", calls);
        }
    };
    let is_call = method == Some(TOOLS_CALL);
    if obj.get("jsonrpc") != Some(&Json::String("2.0".into())) {
        let reason = "the message must have `\"jsonrpc\": \"2.0\"`";
        let id = id_key.as_ref().map(|_| raw_id());
        let calls = call_stub(is_call, id.clone(), obj.get("params"), reason);
        return refuse(id, INVALID_REQUEST, reason, calls);
    }
    match method {
        Some(TOOLS_CALL) => match id_key {
            Some(key) => ClientLine::ToolCall {
                id: raw_id(),
                key,
                params: obj.get("params").cloned(),
            },
            None => {
                let reason = "`tools/call` must be a request with an `id`: a notification cannot be answered, so it is not passed on";
                let calls = call_stub(true, None, obj.get("params"), reason);
                refuse(Some("null".into()), INVALID_REQUEST, reason, calls)
            }
        },
        Some(m) if looks_like_tools_call(m) => {
            let reason = format!(
                "method `{m}` is not `tools/call`, but too close to it to pass on: write `tools/call`"
            );
            let id = id_key.as_ref().map(|_| raw_id());
            let calls = call_stub(true, id.clone(), obj.get("params"), &reason);
            refuse(id, INVALID_REQUEST, &reason, calls)
        }
        Some(m) => match id_key {
            Some(key) => ClientLine::Request { key },
            None => ClientLine::Other {
                cancels: (m == CANCELLED)
                    .then(|| obj.get("params")?.get("requestId").and_then(IdKey::of))
                    .flatten(),
            },
        },
        None => {
            let has_result = obj.contains_key("result");
            let has_error = obj.contains_key("error");
            if id_key.is_some() && has_result != has_error {
                ClientLine::Other { cancels: None }
            } else {
                let id = id_key.as_ref().map(|_| raw_id());
                refuse(
                    id,
                    INVALID_REQUEST,
                    "a message without `method` must be a response: an `id` and either `result` or `error`",
                    Vec::new(),
                )
            }
        }
    }
}

/// `tools/call` written with other case or white space: a lenient server might run it.
fn looks_like_tools_call(method: &str) -> bool {
    method != TOOLS_CALL && method.trim().eq_ignore_ascii_case(TOOLS_CALL)
}

fn call_stub(
    is_call: bool,
    id: Option<String>,
    params: Option<&Json>,
    reason: &str,
) -> Vec<RefusedCall> {
    if !is_call {
        return Vec::new();
    }
    let tool = params
        .and_then(|p| p.get("name"))
        .and_then(Json::as_str)
        .map(str::to_owned);
    vec![RefusedCall {
        id,
        tool,
        reason: reason.to_owned(),
    }]
}

fn refuse(id: Option<String>, code: i64, reason: &str, tool_calls: Vec<RefusedCall>) -> ClientLine {
    let answer = error_response(id.as_deref().unwrap_or("null"), code, reason);
    ClientLine::Refused(Refusal {
        answer: Some(answer),
        tool_calls,
        reason: reason.to_owned(),
        deny_call: None,
    })
}

/// A line that does not parse strictly: not JSON (-32700), or JSON with duplicate keys. A
/// `tools/call` with a duplicate key is denied as a tool call, naming the key; anything else
/// with one is an invalid request. Which it is, and its id, are read leniently from the top
/// level, and only where no top-level key is repeated.
fn refuse_unreadable(text: &str, err: &ward_embed::json::StrictJsonError) -> ClientLine {
    let Ok(top) = serde_json::from_str::<TopLevel<'_>>(text) else {
        let reason = format!("parse error: {err}");
        return refuse(None, PARSE_ERROR, &reason, Vec::new());
    };
    let reason = format!("the message has a duplicate key, so it is not passed on: {err}");
    let single = |key: &str| {
        let mut found = top.entries.iter().filter(|(k, _)| k == key);
        match (found.next(), found.next()) {
            (Some((_, v)), None) => Some(*v),
            _ => None,
        }
    };
    let id = single("id")
        .filter(|raw| {
            serde_json::from_str::<Json>(raw.get())
                .ok()
                .and_then(|v| IdKey::of(&v))
                .is_some()
        })
        .map(|raw| raw.get().to_owned());
    let methods: Vec<String> = top
        .entries
        .iter()
        .filter(|(k, _)| k == "method")
        .filter_map(|(_, v)| serde_json::from_str::<String>(v.get()).ok())
        .collect();
    let is_call = methods
        .iter()
        .any(|m| m == TOOLS_CALL || looks_like_tools_call(m));
    if !is_call {
        return refuse(id, INVALID_REQUEST, &reason, Vec::new());
    }
    let tool = single("params")
        .and_then(|raw| serde_json::from_str::<NameOnly>(raw.get()).ok())
        .and_then(|p| p.name);
    let call = RefusedCall {
        id: id.clone(),
        tool,
        reason: reason.clone(),
    };
    let answer = error_response(id.as_deref().unwrap_or("null"), INVALID_REQUEST, &reason);
    ClientLine::Refused(Refusal {
        answer: Some(answer),
        tool_calls: vec![call],
        reason,
        deny_call: id,
    })
}

/// Batches are refused whole (MCP removed JSON-RPC batching in its 2025-06-18 revision): each
/// request in it gets an error with its id, so that no caller waits forever; a batch of
/// notifications only gets one error with a `null` id. Nothing of it is passed on.
fn refuse_batch(text: &str) -> ClientLine {
    let reason = "JSON-RPC batches are not passed on by the guard (MCP removed batching in its 2025-06-18 revision): send each message on its own line";
    let Ok(items) = serde_json::from_str::<Vec<&RawValue>>(text) else {
        return refuse(
            None,
            PARSE_ERROR,
            "parse error: the line starts like a batch (`[`) but is not a JSON array",
            Vec::new(),
        );
    };
    let mut answers = Vec::new();
    let mut calls = Vec::new();
    for item in items {
        let Ok(top) = serde_json::from_str::<TopLevel<'_>>(item.get()) else {
            continue;
        };
        let get = |key: &str| top.entries.iter().find(|(k, _)| k == key).map(|(_, v)| *v);
        let id = get("id").map(|raw| raw.get().to_owned());
        let method = get("method").and_then(|raw| serde_json::from_str::<String>(raw.get()).ok());
        if method
            .as_deref()
            .is_some_and(|m| m == TOOLS_CALL || looks_like_tools_call(m))
        {
            let tool = get("params")
                .and_then(|raw| serde_json::from_str::<NameOnly>(raw.get()).ok())
                .and_then(|p| p.name);
            calls.push(RefusedCall {
                id: id.clone(),
                tool,
                reason: reason.to_owned(),
            });
        }
        if let (Some(id), Some(_)) = (id, method) {
            answers.push(error_response(&id, INVALID_REQUEST, reason));
        }
    }
    let answer = if answers.is_empty() {
        error_response("null", INVALID_REQUEST, reason)
    } else {
        format!("[{}]", answers.join(","))
    };
    ClientLine::Refused(Refusal {
        answer: Some(answer),
        tool_calls: calls,
        reason: reason.to_owned(),
        deny_call: None,
    })
}

/// The top-level keys of an object in order, repeats included, with their values unparsed.
struct TopLevel<'a> {
    entries: Vec<(String, &'a RawValue)>,
}

impl<'de: 'a, 'a> Deserialize<'de> for TopLevel<'a> {
    fn deserialize<D: serde::Deserializer<'de>>(de: D) -> Result<Self, D::Error> {
        struct V<'a>(std::marker::PhantomData<&'a ()>);
        impl<'de: 'a, 'a> Visitor<'de> for V<'a> {
            type Value = TopLevel<'a>;
            fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str("a JSON object")
            }
            fn visit_map<M: MapAccess<'de>>(self, mut map: M) -> Result<TopLevel<'a>, M::Error> {
                let mut entries = Vec::new();
                while let Some(key) = map.next_key::<String>()? {
                    let value: &'de RawValue = map.next_value()?;
                    entries.push((key, value));
                }
                Ok(TopLevel { entries })
            }
        }
        de.deserialize_map(V(std::marker::PhantomData))
    }
}

#[derive(Deserialize)]
struct NameOnly {
    name: Option<String>,
}

/// The id of a message as its JSON text, when the message is an object with one `id`.
fn raw_id_text(text: &str) -> Option<String> {
    #[derive(Deserialize)]
    struct IdOnly<'a> {
        #[serde(borrow)]
        id: Option<&'a RawValue>,
    }
    serde_json::from_str::<IdOnly<'_>>(text)
        .ok()
        .and_then(|m| m.id)
        .map(|raw| raw.get().to_owned())
}

/// What a line from the tool server is, for the guard's bookkeeping. The server's lines are
/// passed on byte for byte; only their ids are read.
#[derive(Debug, PartialEq, Eq)]
pub enum ServerLine {
    Blank,
    /// A response to a client request with this id.
    Response(IdKey),
    /// A request or notification of the server's own.
    Message,
    /// A batch (an array): the ids of the responses in it.
    Batch(Vec<IdKey>),
    /// Not JSON, or not a JSON-RPC message: not passed on.
    Malformed(String),
}

#[derive(Deserialize)]
struct ServerEnvelope {
    id: Option<Json>,
    method: Option<IgnoredAny>,
}

/// Classifies one line from the tool server.
pub fn classify_server(line: &[u8]) -> ServerLine {
    let Ok(text) = std::str::from_utf8(line) else {
        return ServerLine::Malformed("not UTF-8 text".into());
    };
    let trimmed = text.trim_matches([' ', '\t', '\r']);
    if trimmed.is_empty() {
        return ServerLine::Blank;
    }
    if trimmed.starts_with('[') {
        return match serde_json::from_str::<Vec<ServerEnvelope>>(text) {
            Ok(items) => ServerLine::Batch(
                items
                    .iter()
                    .filter(|m| m.method.is_none())
                    .filter_map(|m| m.id.as_ref().and_then(IdKey::of))
                    .collect(),
            ),
            Err(e) => ServerLine::Malformed(format!("a batch that is not one of messages: {e}")),
        };
    }
    match serde_json::from_str::<ServerEnvelope>(text) {
        Ok(ServerEnvelope {
            id: Some(id),
            method: None,
        }) => match IdKey::of(&id) {
            Some(key) => ServerLine::Response(key),
            None => ServerLine::Malformed("its `id` is neither a string nor a number".into()),
        },
        Ok(_) => ServerLine::Message,
        Err(e) => ServerLine::Malformed(e.to_string()),
    }
}

/// `{"jsonrpc":"2.0","id":ID,"error":{"code":CODE,"message":MESSAGE}}`; `id` is JSON text.
pub fn error_response(id: &str, code: i64, message: &str) -> String {
    let error = serde_json::json!({"code": code, "message": message});
    format!("{{\"jsonrpc\":\"2.0\",\"id\":{id},\"error\":{error}}}")
}

/// A `tools/call` result the guard gives instead of the server: `isError: true`, `text` as
/// its one text content, and the decision under `_meta` (`ward/decision`) for programs.
pub fn tool_error_result(id: &str, text: &str, decision: &Json) -> String {
    let result = serde_json::json!({
        "content": [{"type": "text", "text": text}],
        "isError": true,
        "_meta": {"ward/decision": decision},
    });
    format!("{{\"jsonrpc\":\"2.0\",\"id\":{id},\"result\":{result}}}")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn answer(line: &str) -> String {
        match classify_client(line.as_bytes()) {
            ClientLine::Refused(r) => r.answer.unwrap_or_default(),
            other => panic!("not refused: {other:?}"),
        }
    }

    #[test]
    fn kinds_of_client_lines() {
        assert!(matches!(classify_client(b"  \r"), ClientLine::Blank));
        let call = classify_client(
            br#"{"jsonrpc":"2.0","id":7,"method":"tools/call","params":{"name":"x"}}"#,
        );
        assert!(
            matches!(call, ClientLine::ToolCall { ref id, .. } if id == "7"),
            "{call:?}"
        );
        assert!(matches!(
            classify_client(br#"{"jsonrpc":"2.0","id":"a","method":"ping"}"#),
            ClientLine::Request { key: IdKey::String(ref s) } if s == "a"
        ));
        assert!(matches!(
            classify_client(br#"{"jsonrpc":"2.0","method":"notifications/cancelled","params":{"requestId":1}}"#),
            ClientLine::Other { cancels: Some(IdKey::Number(ref n)) } if n == "1"
        ));
        assert!(matches!(
            classify_client(br#"{"jsonrpc":"2.0","id":0,"result":{}}"#),
            ClientLine::Other { cancels: None }
        ));
    }

    #[test]
    fn ids_are_echoed_as_written() {
        let line = r#"{"jsonrpc":"2.0","id":1.50,"method":"tools/call","params":{}}"#;
        let ClientLine::ToolCall { id, key, .. } = classify_client(line.as_bytes()) else {
            panic!()
        };
        assert_eq!(id, "1.50");
        assert_eq!(key, IdKey::Number("1.5".into()));
        assert_eq!(
            IdKey::of(&serde_json::json!(3.0)),
            IdKey::of(&serde_json::json!(3))
        );
    }

    #[test]
    fn refusals() {
        assert_eq!(
            answer("{nope"),
            r#"{"jsonrpc":"2.0","id":null,"error":{"code":-32700,"message":"parse error: invalid JSON at line 1, column 2: key must be a string"}}"#
        );
        assert!(answer(r#"{"id":3,"method":"ping"}"#).contains(r#""id":3,"#));
        assert!(answer(r#"{"jsonrpc":"2.0","id":{},"method":"ping"}"#).contains("-32600"));
        assert!(answer(r#"{"jsonrpc":"2.0","id":1,"method":"Tools/Call "}"#).contains("too close"));
        let dup = classify_client(
            br#"{"jsonrpc":"2.0","id":9,"method":"tools/call","params":{"name":"t","arguments":{"host":"a","host":"b"}}}"#,
        );
        let ClientLine::Refused(dup) = dup else {
            panic!()
        };
        assert_eq!(dup.deny_call.as_deref(), Some("9"));
        assert!(
            dup.reason
                .contains("params.arguments: duplicate key `host`"),
            "{}",
            dup.reason
        );
        // An ambiguous id is not echoed.
        assert!(
            answer(r#"{"jsonrpc":"2.0","id":1,"id":2,"method":"ping"}"#).contains(r#""id":null"#)
        );
        let batch =
            answer(r#"[{"jsonrpc":"2.0","id":1,"method":"ping"},{"jsonrpc":"2.0","method":"x"}]"#);
        assert!(
            batch.starts_with('[') && batch.contains(r#""id":1,"#),
            "{batch}"
        );
    }

    #[test]
    fn a_tools_call_hidden_behind_a_duplicate_method_is_a_refused_call() {
        let line = r#"{"jsonrpc":"2.0","id":4,"method":"ping","method":"tools/call","params":{"name":"reboot"}}"#;
        let ClientLine::Refused(r) = classify_client(line.as_bytes()) else {
            panic!()
        };
        assert_eq!(r.tool_calls.len(), 1);
        assert_eq!(r.tool_calls[0].tool.as_deref(), Some("reboot"));
        assert_eq!(r.tool_calls[0].id.as_deref(), Some("4"));
    }

    #[test]
    fn server_lines() {
        assert_eq!(
            classify_server(br#"{"jsonrpc":"2.0","id":2,"result":{}}"#),
            ServerLine::Response(IdKey::Number("2".into()))
        );
        assert_eq!(
            classify_server(br#"{"jsonrpc":"2.0","id":2,"method":"roots/list"}"#),
            ServerLine::Message
        );
        assert!(matches!(
            classify_server(b"Server started"),
            ServerLine::Malformed(_)
        ));
        assert_eq!(
            classify_server(br#"[{"id":1,"result":{}},{"id":"x","error":{}}]"#),
            ServerLine::Batch(vec![IdKey::Number("1".into()), IdKey::String("x".into())])
        );
    }
}
