//! The language server driven in-process over `Connection::memory()`: the handshake, the
//! diagnostics it publishes, hover, definition, references, formatting, completion, malformed
//! and unknown messages, and shutdown.

use std::thread::JoinHandle;
use std::time::Duration;

use lsp_server::{Connection, ErrorCode, Message, Notification, Request, RequestId, Response};
use serde_json::{Value, json};

/// A client talking to a server running on its own thread.
struct Client {
    conn: Connection,
    server: Option<JoinHandle<Result<(), ward_lsp::Error>>>,
    next_id: i32,
}

const URI: &str = "file:///nowhere/r%C3%A8gles.ward";

/// Line 9 holds `é` (one UTF-16 unit, two bytes) before the error, so a byte-based column
/// would be off by one.
const POLICY: &str = "\
/// A person.
entity Identity {
  /// Display name.
  name: String
}

action disable_account { target: Identity }

rule r { on disable_account when \"é\" == target.nmae deny }
";

impl Client {
    fn start(root: Option<&str>) -> Client {
        let (server_side, client_side) = Connection::memory();
        let server = std::thread::spawn(move || ward_lsp::serve(&server_side));
        let mut client = Client {
            conn: client_side,
            server: Some(server),
            next_id: 0,
        };
        let root_uri = root.map_or(Value::Null, |r| json!(format!("file://{r}")));
        let result = client.request(
            "initialize",
            json!({ "capabilities": {}, "rootUri": root_uri }),
        );
        let caps = &result.expect("initialize succeeds")["capabilities"];
        assert_eq!(caps["hoverProvider"], json!(true));
        assert_eq!(caps["definitionProvider"], json!(true));
        assert_eq!(caps["referencesProvider"], json!(true));
        assert_eq!(caps["documentFormattingProvider"], json!(true));
        assert_eq!(caps["textDocumentSync"]["change"], json!(2));
        client.notify("initialized", json!({}));
        client
    }

    fn notify(&self, method: &str, params: Value) {
        self.conn
            .sender
            .send(Notification::new(method.to_string(), params).into())
            .unwrap();
    }

    fn recv(&self) -> Message {
        self.conn
            .receiver
            .recv_timeout(Duration::from_secs(20))
            .expect("the server answers")
    }

    /// Send a request and wait for its response (notifications on the way are dropped).
    fn request(&mut self, method: &str, params: Value) -> Result<Value, lsp_server::ResponseError> {
        self.next_id += 1;
        let id = RequestId::from(self.next_id);
        self.conn
            .sender
            .send(Request::new(id.clone(), method.to_string(), params).into())
            .unwrap();
        loop {
            if let Message::Response(Response {
                id: got,
                response_result,
            }) = self.recv()
            {
                assert_eq!(got, id);
                return response_result;
            }
        }
    }

    /// The next `publishDiagnostics` for `uri`.
    fn diagnostics_for(&self, uri: &str) -> Value {
        loop {
            if let Message::Notification(n) = self.recv()
                && n.method == "textDocument/publishDiagnostics"
                && n.params["uri"] == json!(uri)
            {
                return n.params;
            }
        }
    }

    fn open(&self, uri: &str, text: &str) -> Value {
        self.notify(
            "textDocument/didOpen",
            json!({ "textDocument": { "uri": uri, "languageId": "ward", "version": 1, "text": text } }),
        );
        self.diagnostics_for(uri)
    }

    fn at(&mut self, method: &str, line: u32, character: u32) -> Value {
        self.request(
            method,
            json!({
                "textDocument": { "uri": URI },
                "position": { "line": line, "character": character },
                "context": { "includeDeclaration": true },
            }),
        )
        .expect("the request succeeds")
    }

    fn shutdown(mut self) -> Result<(), ward_lsp::Error> {
        assert_eq!(self.request("shutdown", Value::Null).unwrap(), Value::Null);
        self.notify("exit", Value::Null);
        self.server.take().unwrap().join().unwrap()
    }
}

fn range(l1: u32, c1: u32, l2: u32, c2: u32) -> Value {
    json!({ "start": { "line": l1, "character": c1 }, "end": { "line": l2, "character": c2 } })
}

#[test]
fn open_publishes_diagnostics_with_utf16_ranges() {
    let client = Client::start(None);
    let published = client.open(URI, POLICY);
    let diags = published["diagnostics"].as_array().unwrap();
    assert_eq!(diags.len(), 1, "{diags:#?}");
    let d = &diags[0];
    assert_eq!(d["code"], json!("E0103"));
    assert_eq!(d["severity"], json!(1));
    assert_eq!(d["source"], json!("ward"));
    // `rule r { on disable_account when "é" == target.` is 47 UTF-16 units.
    assert_eq!(d["range"], range(8, 47, 8, 51), "{d:#}");
    assert!(
        d["message"].as_str().unwrap().contains("`nmae`"),
        "{}",
        d["message"]
    );
    assert!(
        d["message"].as_str().unwrap().contains("help: "),
        "{}",
        d["message"]
    );
    assert_eq!(published["version"], json!(1));

    // Fixing the file clears the diagnostic.
    client.notify(
        "textDocument/didChange",
        json!({
            "textDocument": { "uri": URI, "version": 2 },
            "contentChanges": [{ "text": POLICY.replace("nmae", "name") }],
        }),
    );
    let published = client.diagnostics_for(URI);
    assert_eq!(published["diagnostics"], json!([]));
    assert_eq!(published["version"], json!(2));
    client.shutdown().unwrap();
}

#[test]
fn hover_definition_and_references() {
    let mut client = Client::start(None);
    let fixed = POLICY.replace("nmae", "name");
    client.open(URI, &fixed);

    // Hover on `name` in `target.name` (line 8, after `"é" == target.`).
    let hover = client.at("textDocument/hover", 8, 48);
    let value = hover["contents"]["value"].as_str().unwrap();
    assert!(value.contains("name: String"), "{value}");
    assert!(value.contains("Display name."), "{value}");
    assert_eq!(hover["range"], range(8, 47, 8, 51));

    // Definition of `Identity` in the action declaration goes to the entity.
    let def = client.at("textDocument/definition", 6, 35);
    assert_eq!(def["uri"], json!(URI));
    assert_eq!(def["range"], range(1, 7, 1, 15));

    // References of `Identity`: its declaration and its use in the action.
    let refs = client.at("textDocument/references", 1, 9);
    let mut ranges: Vec<Value> = refs
        .as_array()
        .unwrap()
        .iter()
        .map(|l| l["range"].clone())
        .collect();
    ranges.sort_by_key(|r| r["start"]["line"].as_u64());
    assert_eq!(ranges, vec![range(1, 7, 1, 15), range(6, 33, 6, 41)]);

    // Nothing to hover in whitespace.
    assert_eq!(client.at("textDocument/hover", 5, 0), Value::Null);
    client.shutdown().unwrap();
}

#[test]
fn formatting_replaces_the_document_unless_it_has_syntax_errors() {
    let mut client = Client::start(None);
    let messy = "const   limit =   3\n";
    client.open(URI, messy);
    let edits = client
        .request(
            "textDocument/formatting",
            json!({
                "textDocument": { "uri": URI },
                "options": { "tabSize": 2, "insertSpaces": true },
            }),
        )
        .unwrap();
    let edits = edits.as_array().unwrap();
    assert_eq!(edits.len(), 1);
    assert_eq!(
        edits[0]["newText"],
        json!(ward_syntax::format(messy).unwrap())
    );
    assert_eq!(edits[0]["range"], range(0, 0, 1, 0));

    client.notify(
        "textDocument/didChange",
        json!({
            "textDocument": { "uri": URI, "version": 2 },
            "contentChanges": [{ "text": "const   limit =  \n" }],
        }),
    );
    let edits = client
        .request(
            "textDocument/formatting",
            json!({
                "textDocument": { "uri": URI },
                "options": { "tabSize": 2, "insertSpaces": true },
            }),
        )
        .unwrap();
    assert_eq!(edits, json!([]));
    client.shutdown().unwrap();
}

#[test]
fn completion_offers_keywords_and_top_level_names() {
    let mut client = Client::start(None);
    client.open(URI, POLICY);
    let items = client
        .request(
            "textDocument/completion",
            json!({ "textDocument": { "uri": URI }, "position": { "line": 8, "character": 0 } }),
        )
        .unwrap();
    let labels: Vec<&str> = items
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|i| i["label"].as_str())
        .collect();
    for want in ["rule", "when", "Identity", "disable_account"] {
        assert!(labels.contains(&want), "{want} missing from {labels:?}");
    }
    client.shutdown().unwrap();
}

#[test]
fn malformed_and_unknown_messages_get_errors_not_crashes() {
    let mut client = Client::start(None);
    let err = client
        .request("textDocument/hover", json!({ "textDocument": 3 }))
        .unwrap_err();
    assert_eq!(err.code, ErrorCode::InvalidParams as i32);
    assert!(
        err.message.contains("textDocument/hover"),
        "{}",
        err.message
    );

    let err = client.request("ward/nonsense", json!({})).unwrap_err();
    assert_eq!(err.code, ErrorCode::MethodNotFound as i32);
    assert!(err.message.contains("`ward/nonsense`"), "{}", err.message);

    // Unknown or malformed notifications are ignored; the server still answers.
    client.notify("ward/whatever", json!([1, 2]));
    client.notify("textDocument/didOpen", json!({ "nope": true }));
    // A document the server does not know: no hover, no edits.
    assert_eq!(client.at("textDocument/hover", 0, 0), Value::Null);
    client.shutdown().unwrap();
}

#[test]
fn requests_after_shutdown_are_refused_and_exit_without_shutdown_is_an_error() {
    let mut client = Client::start(None);
    assert_eq!(
        client.request("shutdown", Value::Null).unwrap(),
        Value::Null
    );
    let err = client.request("textDocument/hover", json!({})).unwrap_err();
    assert_eq!(err.code, ErrorCode::InvalidRequest as i32);
    client.notify("exit", Value::Null);
    client.server.take().unwrap().join().unwrap().unwrap();

    let mut client = Client::start(None);
    client.notify("exit", Value::Null);
    let result = client.server.take().unwrap().join().unwrap();
    assert!(result.is_err());
}

#[test]
fn the_whole_workspace_is_checked_and_other_files_get_diagnostics() {
    let root = std::env::temp_dir().join(format!("ward-lsp-test-{}", std::process::id()));
    std::fs::create_dir_all(&root).unwrap();
    // `b.ward` uses `Identity`, declared only in the document the editor opens.
    std::fs::write(
        root.join("b.ward"),
        "action disable_account { target: Identity }\n",
    )
    .unwrap();
    let root_str = root.to_str().unwrap().to_string();
    let client = Client::start(Some(&root_str));
    let a_uri = format!("file://{root_str}/a.ward");
    let b_uri = format!("file://{root_str}/b.ward");

    // Opening `a.ward` without the entity: `b.ward` gets an unknown type error.
    client.notify(
        "textDocument/didOpen",
        json!({ "textDocument": { "uri": a_uri, "languageId": "ward", "version": 1, "text": "" } }),
    );
    let b = client.diagnostics_for(&b_uri);
    assert_eq!(b["diagnostics"][0]["code"], json!("E0101"), "{b:#}");

    // Declaring it in `a.ward` clears `b.ward`.
    client.notify(
        "textDocument/didChange",
        json!({
            "textDocument": { "uri": a_uri, "version": 2 },
            "contentChanges": [{ "text": "entity Identity { name: String }\n" }],
        }),
    );
    let b = client.diagnostics_for(&b_uri);
    assert_eq!(b["diagnostics"], json!([]), "{b:#}");

    // A duplicate declaration points into the other file.
    client.notify(
        "textDocument/didChange",
        json!({
            "textDocument": { "uri": a_uri, "version": 3 },
            "contentChanges": [{ "text": "entity Identity { name: String }\naction disable_account {}\n" }],
        }),
    );
    let a = client.diagnostics_for(&a_uri);
    let b = client.diagnostics_for(&b_uri);
    let (here, there) = if a["diagnostics"] == json!([]) {
        (b, &a_uri)
    } else {
        (a, &b_uri)
    };
    let related = &here["diagnostics"][0]["relatedInformation"][0];
    assert_eq!(related["location"]["uri"], json!(there), "{here:#}");

    // A file created on disk joins the policy set; deleted, its diagnostics are cleared.
    let c_path = root.join("c.ward");
    let c_uri = format!("file://{root_str}/c.ward");
    std::fs::write(&c_path, "const x = nope\n").unwrap();
    let watched = |kind: u32| json!({ "changes": [{ "uri": c_uri, "type": kind }] });
    client.notify("workspace/didChangeWatchedFiles", watched(1));
    let c = client.diagnostics_for(&c_uri);
    assert_eq!(c["diagnostics"][0]["code"], json!("E0100"), "{c:#}");
    std::fs::remove_file(&c_path).unwrap();
    client.notify("workspace/didChangeWatchedFiles", watched(3));
    let c = client.diagnostics_for(&c_uri);
    assert_eq!(c["diagnostics"], json!([]), "{c:#}");
    client.shutdown().unwrap();
    std::fs::remove_dir_all(&root).unwrap();
}
