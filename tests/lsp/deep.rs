//! `ward lsp` on policies past the depth budget (`ward_ir::MAX_DEPTH`), in the shapes that used
//! to kill it on open, ten times past the old crash points: it publishes the diagnostic
//! (`E0020` from the parser, `E0178` from the checker), answers the next request and exits 0.

use std::io::{Read, Write};
use std::process::{Command, Stdio};

use serde_json::{Value, json};

use super::ward;

fn message(v: Value) -> Vec<u8> {
    let body = v.to_string();
    format!("Content-Length: {}\r\n\r\n{body}", body.len()).into_bytes()
}

/// The messages the server wrote, in order.
fn messages(out: &[u8]) -> Vec<Value> {
    let mut messages = Vec::new();
    let mut rest = out;
    while !rest.is_empty() {
        let text = String::from_utf8_lossy(rest);
        let end = text.find("\r\n\r\n").expect("a header");
        let length: usize = text[..end]
            .strip_prefix("Content-Length: ")
            .expect("a Content-Length")
            .parse()
            .expect("a length");
        messages.push(serde_json::from_slice(&rest[end + 4..end + 4 + length]).expect("JSON"));
        rest = &rest[end + 4 + length..];
    }
    messages
}

fn session(text: &str) -> Vec<Value> {
    let uri = "file:///nowhere/deep.ward";
    let mut input = Vec::new();
    for m in [
        json!({"jsonrpc": "2.0", "id": 1, "method": "initialize", "params": {"capabilities": {}}}),
        json!({"jsonrpc": "2.0", "method": "initialized", "params": {}}),
        json!({"jsonrpc": "2.0", "method": "textDocument/didOpen", "params":
            {"textDocument": {"uri": uri, "languageId": "ward", "version": 1, "text": text}}}),
        json!({"jsonrpc": "2.0", "id": 2, "method": "textDocument/documentSymbol", "params":
            {"textDocument": {"uri": uri}}}),
        json!({"jsonrpc": "2.0", "id": 3, "method": "shutdown"}),
        json!({"jsonrpc": "2.0", "method": "exit"}),
    ] {
        input.extend(message(m));
    }
    let mut child = Command::new(ward())
        .arg("lsp")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("ward lsp starts");
    let mut stdin = child.stdin.take().expect("stdin");
    let writer = std::thread::spawn(move || stdin.write_all(&input));
    let mut out = Vec::new();
    child
        .stdout
        .take()
        .expect("stdout")
        .read_to_end(&mut out)
        .expect("the server's output");
    let mut err = String::new();
    let _ = child
        .stderr
        .take()
        .expect("stderr")
        .read_to_string(&mut err);
    let status = child.wait().expect("ward lsp ends");
    let _ = writer.join();
    assert!(
        status.success(),
        "ward lsp exited with {status}; stderr:\n{err}"
    );
    messages(&out)
}

#[test]
fn deep_policies_get_a_diagnostic_and_the_session_goes_on() {
    let n = 26_000;
    let mut fns = String::from("action a {}\n");
    for i in (1..=n).rev() {
        fns += &format!("fn f{i}(x: Int) -> Int = f{}(x)\n", i - 1);
    }
    fns += &format!("fn f0(x: Int) -> Int = x\nrule r {{ on a when f{n}(1) > 0 deny }}\n");
    let cases = [
        (
            "57,000 stacked `not`",
            format!(
                "action a {{}}\nrule r {{ on a when {}true deny }}\n",
                "not ".repeat(57_000)
            ),
            "E0020",
        ),
        ("26,000 chained functions", fns, "E0178"),
    ];
    for (what, text, code) in cases {
        let got = session(&text);
        let codes: Vec<&str> = got
            .iter()
            .filter(|m| m["method"] == "textDocument/publishDiagnostics")
            .flat_map(|m| m["params"]["diagnostics"].as_array().into_iter().flatten())
            .filter_map(|d| d["code"].as_str())
            .collect();
        assert!(codes.contains(&code), "{what}: {codes:?}");
        let symbols = got
            .iter()
            .find(|m| m["id"] == 2)
            .expect("an answer to documentSymbol");
        assert!(symbols.get("result").is_some(), "{what}: {symbols}");
    }
}
