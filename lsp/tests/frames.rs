//! The base protocol over a byte stream (`ward_lsp::serve_streams`, what `ward lsp` runs on
//! stdio): bad frames get JSON-RPC errors or are skipped with a log line, and the server keeps
//! serving; huge `Content-Length`s are refused without being allocated; a second `initialize`
//! is refused; URIs come back as the client spelled them; incremental sync is advertised.

use serde_json::{Value, json};

fn frame(body: &str) -> Vec<u8> {
    format!("Content-Length: {}\r\n\r\n{body}", body.len()).into_bytes()
}

fn message(value: Value) -> Vec<u8> {
    frame(&value.to_string())
}

fn initialize() -> Vec<u8> {
    message(
        json!({"jsonrpc": "2.0", "id": 1, "method": "initialize", "params": {"capabilities": {}}}),
    )
}

fn request(id: i64, method: &str, params: Value) -> Vec<u8> {
    message(json!({"jsonrpc": "2.0", "id": id, "method": method, "params": params}))
}

fn notify(method: &str, params: Value) -> Vec<u8> {
    message(json!({"jsonrpc": "2.0", "method": method, "params": params}))
}

fn shutdown_and_exit(id: i64) -> Vec<u8> {
    let mut out = request(id, "shutdown", Value::Null);
    out.extend(notify("exit", Value::Null));
    out
}

/// Run the server on `input`; the messages it wrote, its log, and how it ended.
fn run(input: Vec<u8>) -> (Vec<Value>, String, bool) {
    let mut output = Vec::new();
    let mut log = Vec::new();
    let ended = ward_lsp::serve_streams(std::io::Cursor::new(input), &mut output, &mut log);
    (
        parse_output(&output),
        String::from_utf8(log).unwrap(),
        ended.is_ok(),
    )
}

/// Split what the server wrote into its messages, checking every frame's length.
fn parse_output(mut bytes: &[u8]) -> Vec<Value> {
    let mut out = Vec::new();
    while !bytes.is_empty() {
        let text = std::str::from_utf8(bytes).unwrap();
        let header_end = text.find("\r\n\r\n").expect("a header");
        let length: usize = text[..header_end]
            .strip_prefix("Content-Length: ")
            .expect("only a Content-Length header")
            .parse()
            .unwrap();
        let body = &bytes[header_end + 4..header_end + 4 + length];
        out.push(serde_json::from_slice(body).expect("the body is JSON"));
        bytes = &bytes[header_end + 4 + length..];
    }
    out
}

fn response(out: &[Value], id: Value) -> &Value {
    out.iter()
        .find(|m| m.get("id") == Some(&id) && m.get("method").is_none())
        .unwrap_or_else(|| panic!("no response to {id} in {out:#?}"))
}

fn errors_with_null_id(out: &[Value]) -> Vec<(i64, String)> {
    out.iter()
        .filter(|m| m.get("id") == Some(&Value::Null))
        .map(|m| {
            (
                m["error"]["code"].as_i64().unwrap(),
                m["error"]["message"].as_str().unwrap().to_string(),
            )
        })
        .collect()
}

#[test]
fn bad_frames_get_errors_and_the_server_keeps_serving() {
    let mut input = initialize();
    input.extend(frame("this is not json"));
    input.extend(request(2, "textDocument/hover", json!({"nope": 1})));
    input.extend(frame("[1, 2, 3]"));
    input.extend(request(3, "ward/nonsense", json!({})));
    // A header block without `Content-Length`, then its body: skipped.
    input.extend(b"Content-Type: application/vscode-jsonrpc; charset=utf-8\r\n\r\n{\"id\": 99}");
    input.extend(request(4, "ward/nonsense", json!({})));
    // A length that is not a number.
    input.extend(b"Content-Length: lots\r\n\r\n{}");
    input.extend(request(5, "ward/nonsense", json!({})));
    // A length too large for the body: the JSON value ends first and is taken.
    let body = json!({"jsonrpc": "2.0", "id": 6, "method": "ward/nonsense"}).to_string();
    input.extend(format!("Content-Length: {}\r\n\r\n{body}", body.len() + 40).into_bytes());
    // A length too small: the JSON is cut short (-32700), the rest is skipped.
    let body = json!({"jsonrpc": "2.0", "id": 7, "method": "ward/nonsense"}).to_string();
    input.extend(format!("Content-Length: 10\r\n\r\n{body}\r\n").into_bytes());
    input.extend(request(8, "ward/nonsense", json!({})));
    // Garbage between messages.
    input.extend(b"\x00\xff garbage line\r\n");
    input.extend(request(9, "ward/nonsense", json!({})));
    // An id that is neither a string nor a 32-bit integer.
    input.extend(message(json!({"jsonrpc": "2.0", "id": 1.5, "method": "x"})));
    input.extend(shutdown_and_exit(10));
    let (out, log, clean) = run(input);
    assert!(clean, "{log}");

    let codes: Vec<i64> = errors_with_null_id(&out).iter().map(|e| e.0).collect();
    assert_eq!(
        codes,
        [-32700, -32600, -32600, -32600, -32700, -32600],
        "{out:#?}"
    );
    for id in [3, 4, 5, 6, 8, 9] {
        assert_eq!(response(&out, json!(id))["error"]["code"], json!(-32601));
    }
    assert_eq!(response(&out, json!(2))["error"]["code"], json!(-32602));
    assert_eq!(response(&out, json!(10))["result"], Value::Null);
    // Nothing answered request 7 (its frame was cut), and every problem was logged.
    assert!(out.iter().all(|m| m.get("id") != Some(&json!(7))));
    for needle in [
        "not JSON",
        "is an array",
        "no `Content-Length`",
        "`Content-Length: lots`",
        "not a message header",
    ] {
        assert!(
            log.contains(needle),
            "{needle:?} missing from the log:\n{log}"
        );
    }
}

#[test]
fn huge_content_lengths_are_refused_without_allocating() {
    for huge in [
        "18446744073709551615",
        "4000000000",
        "99999999999999999999999",
    ] {
        let mut input = initialize();
        input.extend(
            format!("Content-Length: {huge}\r\n\r\n{{\"jsonrpc\":\"2.0\"}}\r\n").into_bytes(),
        );
        input.extend(request(2, "ward/nonsense", json!({})));
        input.extend(shutdown_and_exit(3));
        let (out, log, clean) = run(input);
        assert!(clean, "{log}");
        let errors = errors_with_null_id(&out);
        assert_eq!(errors.len(), 1, "{out:#?}");
        assert_eq!(errors[0].0, -32600);
        assert!(errors[0].1.contains("exceeds the limit"), "{}", errors[0].1);
        assert!(errors[0].1.contains("64 MiB"), "{}", errors[0].1);
        assert_eq!(response(&out, json!(2))["error"]["code"], json!(-32601));
    }
    // At the limit exactly, a body of that size is read (here: the stream ends first).
    let mut input = initialize();
    input.extend(
        format!(
            "Content-Length: {}\r\n\r\nnot json",
            ward_lsp::transport::MAX_MESSAGE
        )
        .into_bytes(),
    );
    let (out, _, clean) = run(input);
    assert!(!clean);
    assert_eq!(errors_with_null_id(&out)[0].0, -32700);
}

#[test]
fn a_second_initialize_and_requests_before_initialize_are_refused() {
    let mut input = request(1, "textDocument/hover", json!({}));
    input.extend(request(2, "initialize", json!({"capabilities": {}})));
    input.extend(request(3, "initialize", json!({"capabilities": {}})));
    input.extend(shutdown_and_exit(4));
    let (out, log, clean) = run(input);
    assert!(clean, "{log}");
    assert_eq!(response(&out, json!(1))["error"]["code"], json!(-32002));
    let caps = &response(&out, json!(2))["result"]["capabilities"];
    // Incremental sync.
    assert_eq!(caps["textDocumentSync"]["change"], json!(2));
    let second = &response(&out, json!(3))["error"];
    assert_eq!(second["code"], json!(-32600));
    assert!(second["message"].as_str().unwrap().contains("only once"));
}

#[test]
fn uris_come_back_as_the_client_spelled_them_and_incremental_changes_apply() {
    // Lower-case hex and an encoded `:` that our own encoding would spell differently.
    let uri = "file:///nowhere/my%3apolicies/r%c3%a8gles.ward";
    let mut input = initialize();
    input.extend(notify(
        "textDocument/didOpen",
        json!({"textDocument": {"uri": uri, "languageId": "ward", "version": 1,
               "text": "const x = 1\nconst y = nope\n"}}),
    ));
    // Replace `nope` with `x` (line 1, characters 10 to 14).
    input.extend(notify(
        "textDocument/didChange",
        json!({"textDocument": {"uri": uri, "version": 2}, "contentChanges": [
            {"range": {"start": {"line": 1, "character": 10}, "end": {"line": 1, "character": 14}}, "text": "x"}
        ]}),
    ));
    input.extend(request(
        2,
        "textDocument/definition",
        json!({"textDocument": {"uri": uri}, "position": {"line": 1, "character": 10}}),
    ));
    input.extend(shutdown_and_exit(3));
    let (out, log, clean) = run(input);
    assert!(clean, "{log}");
    let published: Vec<&Value> = out
        .iter()
        .filter(|m| m["method"] == json!("textDocument/publishDiagnostics"))
        .collect();
    assert_eq!(published.len(), 2, "{out:#?}");
    for p in &published {
        assert_eq!(p["params"]["uri"], json!(uri));
    }
    assert_eq!(
        published[0]["params"]["diagnostics"][0]["code"],
        json!("E0100")
    );
    assert_eq!(published[1]["params"]["diagnostics"], json!([]));
    let def = &response(&out, json!(2))["result"];
    assert_eq!(def["uri"], json!(uri));
    assert_eq!(def["range"]["start"], json!({"line": 0, "character": 6}));
}
