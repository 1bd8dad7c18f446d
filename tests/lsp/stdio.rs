//! The `ward lsp` binary over stdio, as an editor drives it: the handshake, a broken document,
//! hover, completion on the broken text, bad frames (not JSON, an array, a huge
//! `Content-Length`), a second `initialize`, shutdown and exit. The whole exchange is an insta
//! snapshot; the process must exit 0.

use std::io::{Read, Write};
use std::process::{Command, Stdio};

use serde_json::{Value, json};

use super::{BROKEN, ward};

fn frame(body: &str) -> Vec<u8> {
    format!("Content-Length: {}\r\n\r\n{body}", body.len()).into_bytes()
}

fn message(v: Value) -> Vec<u8> {
    frame(&v.to_string())
}

#[test]
fn a_scripted_editor_session_over_stdio() {
    let uri = "file:///nowhere/broken.ward";
    let mut input = Vec::new();
    input.extend(message(
        json!({"jsonrpc": "2.0", "id": 1, "method": "initialize",
        "params": {"processId": null, "rootUri": null, "capabilities": {}}}),
    ));
    input.extend(message(
        json!({"jsonrpc": "2.0", "method": "initialized", "params": {}}),
    ));
    input.extend(message(
        json!({"jsonrpc": "2.0", "method": "textDocument/didOpen", "params":
        {"textDocument": {"uri": uri, "languageId": "ward", "version": 1, "text": BROKEN}}}),
    ));
    input.extend(message(
        json!({"jsonrpc": "2.0", "id": 2, "method": "textDocument/hover", "params":
        {"textDocument": {"uri": uri}, "position": {"line": 3, "character": 3}}}),
    ));
    input.extend(message(
        json!({"jsonrpc": "2.0", "id": 3, "method": "textDocument/completion", "params":
        {"textDocument": {"uri": uri}, "position": {"line": 13, "character": 14},
         "context": {"triggerKind": 2, "triggerCharacter": "."}}}),
    ));
    input.extend(frame("{not json"));
    input.extend(frame("[]"));
    input.extend(b"Content-Length: 18446744073709551615\r\n\r\n");
    input.extend(message(
        json!({"jsonrpc": "2.0", "id": 4, "method": "initialize", "params": {"capabilities": {}}}),
    ));
    input.extend(message(
        json!({"jsonrpc": "2.0", "id": 5, "method": "shutdown"}),
    ));
    input.extend(message(json!({"jsonrpc": "2.0", "method": "exit"})));

    let mut child = Command::new(ward())
        .arg("lsp")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    child.stdin.take().unwrap().write_all(&input).unwrap();
    let mut out = Vec::new();
    child.stdout.take().unwrap().read_to_end(&mut out).unwrap();
    let mut err = String::new();
    child
        .stderr
        .take()
        .unwrap()
        .read_to_string(&mut err)
        .unwrap();
    let status = child.wait().unwrap();
    assert!(
        status.success(),
        "ward lsp exited with {status}; stderr:\n{err}"
    );

    let mut messages = Vec::new();
    let mut rest = &out[..];
    while !rest.is_empty() {
        let text = std::str::from_utf8(rest).unwrap();
        let end = text.find("\r\n\r\n").unwrap();
        let length: usize = text[..end]
            .strip_prefix("Content-Length: ")
            .unwrap()
            .parse()
            .unwrap();
        let mut m: Value = serde_json::from_slice(&rest[end + 4..end + 4 + length]).unwrap();
        if let Some(info) = m.pointer_mut("/result/serverInfo/version") {
            *info = json!("[version]");
        }
        messages.push(m);
        rest = &rest[end + 4 + length..];
    }
    insta::assert_json_snapshot!("stdio_session", messages);
    insta::assert_snapshot!("stdio_session_log", err);
}
