//! The language features of issue 13 in-process: symbols at every declaration and use,
//! contextual completion on broken text, hover on keywords, rename, outline, workspace
//! symbols, semantic tokens, signature help, code actions and definitions in the stdlib.

use std::time::Duration;

use lsp_server::{Connection, Message, Notification, Request, RequestId, Response};
use serde_json::{Value, json};

const URI: &str = "file:///nowhere/features.ward";

const POLICY: &str = r#"use std.time

/// How much the business depends on an asset.
enum Tier {
  /// Never touch.
  crown_jewel,
  standard
}

entity Identity {
  /// Display name.
  name: String
  manager: Identity?
}

entity Asset {
  tier: Tier
  owner: Identity
}

relation depends_on: Asset -> Asset

context {
  /// Who proposes the action.
  agent: Identity
}

action reboot_host { host: Asset }
action patch_host { host: Asset, reason: String }

rule shared {
  on reboot_host, patch_host
  when host.tier == Tier::crown_jewel and time.is_weekend_utc(now)
  deny
}

rule only_patch { on patch_host when host.owner == agent deny }

test "crown jewels wait" {
  entities {
    Identity::"alice" { name: "Alice" }
    Asset::"db" { tier: Tier::crown_jewel, owner: Identity::"alice" }
  }
  request reboot_host { host: Asset::"db" } with { agent: Identity::"alice" } at 2026-11-28T10:00:00Z
  expect deny by shared
}
"#;

struct Client {
    conn: Connection,
    server: std::thread::JoinHandle<Result<(), ward_lsp::Error>>,
    next_id: i32,
}

impl Client {
    fn start() -> Client {
        let (server_side, conn) = Connection::memory();
        let server = std::thread::spawn(move || ward_lsp::serve(&server_side));
        let mut client = Client {
            conn,
            server,
            next_id: 0,
        };
        client
            .request("initialize", json!({ "capabilities": {} }))
            .unwrap();
        client.notify("initialized", json!({}));
        client
    }

    fn notify(&self, method: &str, params: Value) {
        self.conn
            .sender
            .send(Notification::new(method.to_string(), params).into())
            .unwrap();
    }

    fn request(&mut self, method: &str, params: Value) -> Result<Value, lsp_server::ResponseError> {
        self.next_id += 1;
        let id = RequestId::from(self.next_id);
        self.conn
            .sender
            .send(Request::new(id.clone(), method.to_string(), params).into())
            .unwrap();
        loop {
            let m = self
                .conn
                .receiver
                .recv_timeout(Duration::from_secs(20))
                .expect("an answer");
            if let Message::Response(Response {
                id: got,
                response_result,
            }) = m
            {
                assert_eq!(got, id);
                return response_result;
            }
        }
    }

    fn open(&self, text: &str) {
        self.notify(
            "textDocument/didOpen",
            json!({ "textDocument": {
            "uri": URI, "languageId": "ward", "version": 1, "text": text } }),
        );
    }

    fn change(&self, version: i32, text: &str) {
        self.notify(
            "textDocument/didChange",
            json!({
            "textDocument": { "uri": URI, "version": version },
            "contentChanges": [{ "text": text }] }),
        );
    }

    fn at(&mut self, method: &str, (line, character): (u32, u32), extra: Value) -> Value {
        let mut params = json!({
            "textDocument": { "uri": URI },
            "position": { "line": line, "character": character },
            "context": { "includeDeclaration": true },
        });
        if let (Value::Object(p), Value::Object(e)) = (&mut params, extra) {
            p.extend(e);
        }
        self.request(method, params).unwrap()
    }

    fn stop(mut self) {
        self.request("shutdown", Value::Null).unwrap();
        self.notify("exit", Value::Null);
        self.server.join().unwrap().unwrap();
    }
}

/// Line and UTF-16 column of the `nth` (0-based) occurrence of `needle` in `text`, plus `shift`.
fn pos(text: &str, needle: &str, nth: usize, shift: u32) -> (u32, u32) {
    let at = text
        .match_indices(needle)
        .nth(nth)
        .unwrap_or_else(|| panic!("{needle} #{nth}"))
        .0;
    let line = text[..at].matches('\n').count() as u32;
    let col = text[..at]
        .rsplit('\n')
        .next()
        .unwrap()
        .encode_utf16()
        .count() as u32;
    (line, col + shift)
}

fn lines(locations: &Value) -> Vec<u32> {
    let mut out: Vec<u32> = locations
        .as_array()
        .unwrap()
        .iter()
        .map(|l| l["range"]["start"]["line"].as_u64().unwrap() as u32)
        .collect();
    out.sort_unstable();
    out
}

fn labels(items: &Value) -> Vec<String> {
    items
        .as_array()
        .unwrap()
        .iter()
        .map(|i| i["label"].as_str().unwrap().to_string())
        .collect()
}

#[test]
fn every_declaration_is_a_symbol() {
    let mut c = Client::start();
    c.open(POLICY);
    // An attribute at its declaration: hover, and references with every use (test included).
    let hover = c.at(
        "textDocument/hover",
        pos(POLICY, "tier: Tier", 0, 1),
        json!({}),
    );
    assert!(
        hover["contents"]["value"]
            .as_str()
            .unwrap()
            .contains("Asset.tier: Tier"),
        "{hover}"
    );
    let refs = c.at(
        "textDocument/references",
        pos(POLICY, "tier: Tier", 0, 1),
        json!({}),
    );
    let want = [
        pos(POLICY, "tier: Tier", 0, 0).0,
        pos(POLICY, "host.tier", 0, 0).0,
        pos(POLICY, "tier: Tier::", 0, 0).0,
    ];
    assert_eq!(lines(&refs), want, "{refs:#}");
    // A variant: declaration, use in a rule and in a test value.
    let refs = c.at(
        "textDocument/references",
        pos(POLICY, "crown_jewel", 0, 1),
        json!({}),
    );
    let want = [
        pos(POLICY, "crown_jewel", 0, 0).0,
        pos(POLICY, "crown_jewel", 1, 0).0,
        pos(POLICY, "crown_jewel", 2, 0).0,
    ];
    assert_eq!(lines(&refs), want, "{refs:#}");
    let hover = c.at(
        "textDocument/hover",
        pos(POLICY, "crown_jewel", 0, 1),
        json!({}),
    );
    assert!(
        hover["contents"]["value"]
            .as_str()
            .unwrap()
            .contains("Never touch."),
        "{hover}"
    );
    // A context field: declaration, rule use, test `with` key.
    let refs = c.at(
        "textDocument/references",
        pos(POLICY, "agent: Identity", 0, 1),
        json!({}),
    );
    let want = [
        pos(POLICY, "agent: Identity", 0, 0).0,
        pos(POLICY, "== agent", 0, 0).0,
        pos(POLICY, "agent: Identity::", 0, 0).0,
    ];
    assert_eq!(lines(&refs), want, "{refs:#}");
    // A field shared by `on reboot_host, patch_host` refers to both actions' fields.
    let refs = c.at(
        "textDocument/references",
        pos(POLICY, "host.tier", 0, 1),
        json!({}),
    );
    // Both declarations, the use in `shared`, and (through patch_host's field) `only_patch`;
    // the test's `host:` key belongs to reboot_host.
    let mut want = vec![
        pos(POLICY, "host: Asset }", 0, 0).0,
        pos(POLICY, "host: Asset,", 0, 0).0,
        pos(POLICY, "host.tier", 0, 0).0,
        pos(POLICY, "host.owner", 0, 0).0,
        pos(POLICY, "host: Asset::", 0, 0).0,
    ];
    want.sort_unstable();
    assert_eq!(lines(&refs), want, "{refs:#}");
    let refs = c.at(
        "textDocument/references",
        pos(POLICY, "host: Asset,", 0, 1),
        json!({}),
    );
    let want = [
        pos(POLICY, "host: Asset,", 0, 0).0,
        pos(POLICY, "host.tier", 0, 0).0,
        pos(POLICY, "host.owner", 0, 0).0,
    ];
    assert_eq!(lines(&refs), want, "{refs:#}");
    // A test entity reference goes to its declaration in the test.
    let def = c.at(
        "textDocument/definition",
        pos(POLICY, "Identity::\"alice\"", 1, 11),
        json!({}),
    );
    let (line, character) = pos(POLICY, "Identity::\"alice\"", 0, 10);
    assert_eq!(
        def["range"]["start"],
        json!({ "line": line, "character": character }),
        "{def}"
    );
    // Keywords, `now` and `use std.…` explain themselves.
    let hover = c.at("textDocument/hover", pos(POLICY, "now)", 0, 1), json!({}));
    assert!(
        hover["contents"]["value"]
            .as_str()
            .unwrap()
            .contains("time of the request"),
        "{hover}"
    );
    let hover = c.at("textDocument/hover", pos(POLICY, "deny", 0, 1), json!({}));
    assert!(
        hover["contents"]["value"]
            .as_str()
            .unwrap()
            .contains("effect"),
        "{hover}"
    );
    let hover = c.at("textDocument/hover", pos(POLICY, "time", 0, 1), json!({}));
    let value = hover["contents"]["value"].as_str().unwrap();
    assert!(
        value.contains("module std.time") && value.contains("is_weekend_utc"),
        "{value}"
    );
    // Into the stdlib: a read-only copy of the module.
    let def = c.at(
        "textDocument/definition",
        pos(POLICY, "is_weekend_utc", 0, 1),
        json!({}),
    );
    let uri = def["uri"].as_str().unwrap();
    assert!(
        uri.starts_with("file://") && uri.ends_with("/time.ward"),
        "{def}"
    );
    let path = uri.strip_prefix("file://").unwrap();
    let copy = std::fs::read_to_string(path).unwrap();
    assert!(copy.contains("fn is_weekend_utc"));
    assert!(std::fs::metadata(path).unwrap().permissions().readonly());
    c.stop();
}

#[test]
fn completion_follows_the_context_even_in_broken_text() {
    let mut c = Client::start();
    c.open(POLICY);
    let cases: [(&str, &[&str], &[&str]); 8] = [
        (
            "  when host.",
            &["tier", "owner", "depends_on"],
            &["name", "rule"],
        ),
        ("  when host.owner?.", &["name", "manager"], &["tier"]),
        (
            "  when host.tier == Tier::",
            &["crown_jewel", "standard"],
            &["tier"],
        ),
        (
            "  when closure(host, ",
            &["depends_on", "~depends_on"],
            &["tier"],
        ),
        ("  when time.", &["is_weekend_utc", "hours"], &["tier"]),
        ("  when ", &["host", "agent", "count", "Tier"], &["reason"]),
        (
            "  on reboot_host, ",
            &["patch_host", "reboot_host"],
            &["host"],
        ),
        ("  when host.owner == Identity::\"", &["alice"], &["db"]),
    ];
    for (version, (line, want, not)) in cases.iter().enumerate() {
        let broken = POLICY.replace(
            "rule only_patch",
            &format!("rule typing {{\n  on reboot_host, patch_host\n{line}\n\nrule only_patch"),
        );
        c.change(version as i32 + 2, &broken);
        let line_no = pos(&broken, line, 0, 0).0;
        let items = c.at(
            "textDocument/completion",
            (line_no, line.encode_utf16().count() as u32),
            json!({}),
        );
        let got = labels(&items);
        for w in *want {
            assert!(
                got.contains(&w.to_string()),
                "{line:?}: {w} missing from {got:?}"
            );
        }
        for n in *not {
            assert!(
                !got.contains(&n.to_string()),
                "{line:?}: {n} offered in {got:?}"
            );
        }
    }
    // Items carry their type and doc.
    let broken = POLICY.replace(
        "rule only_patch",
        "rule typing {\n  on reboot_host\n  when host.owner.\n\nrule only_patch",
    );
    c.change(20, &broken);
    let items = c.at(
        "textDocument/completion",
        pos(&broken, "host.owner.", 0, 11),
        json!({}),
    );
    let name = items
        .as_array()
        .unwrap()
        .iter()
        .find(|i| i["label"] == "name")
        .unwrap();
    assert_eq!(name["detail"], json!("name: String"));
    assert_eq!(name["documentation"]["value"], json!("Display name."));
    c.stop();
}

#[test]
fn outline_symbols_rename_tokens_signatures_and_fixes() {
    let mut c = Client::start();
    c.open(POLICY);
    let outline = c
        .request(
            "textDocument/documentSymbol",
            json!({ "textDocument": { "uri": URI } }),
        )
        .unwrap();
    let names: Vec<&str> = outline
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s["name"].as_str().unwrap())
        .collect();
    assert_eq!(
        names,
        [
            "use std.time",
            "Tier",
            "Identity",
            "Asset",
            "depends_on",
            "context",
            "reboot_host",
            "patch_host",
            "shared",
            "only_patch",
            "crown jewels wait"
        ]
    );
    assert_eq!(outline[2]["children"][0]["name"], json!("name"));
    let found = c
        .request("workspace/symbol", json!({ "query": "HOST" }))
        .unwrap();
    assert_eq!(found.as_array().unwrap().len(), 2, "{found:#}");

    // Rename an attribute: declaration, rule and test edits.
    let edit = c.at(
        "textDocument/rename",
        pos(POLICY, "tier: Tier", 0, 1),
        json!({ "newName": "level" }),
    );
    assert_eq!(
        edit["changes"][URI].as_array().unwrap().len(),
        3,
        "{edit:#}"
    );
    // Refused: a keyword, a name taken, not a name.
    for bad in ["deny", "owner", "9lives"] {
        let err = c.request("textDocument/rename", json!({
            "textDocument": { "uri": URI }, "position": { "line": 16, "character": 3 }, "newName": bad,
        })).unwrap_err();
        assert!(err.message.contains(&format!("`{bad}`")), "{}", err.message);
    }
    // Renaming an entity type, across its uses.
    let edit = c.at(
        "textDocument/rename",
        pos(POLICY, "Identity", 0, 1),
        json!({ "newName": "Person" }),
    );
    assert!(
        edit["changes"][URI].as_array().unwrap().len() >= 6,
        "{edit:#}"
    );

    // Semantic tokens: full, then a delta after an edit.
    let full = c
        .request(
            "textDocument/semanticTokens/full",
            json!({ "textDocument": { "uri": URI } }),
        )
        .unwrap();
    assert_eq!(full["data"].as_array().unwrap().len() % 5, 0);
    assert!(full["data"].as_array().unwrap().len() > 100);
    c.change(2, &POLICY.replace("only_patch", "only_patching"));
    let delta = c
        .request(
            "textDocument/semanticTokens/full/delta",
            json!({
        "textDocument": { "uri": URI }, "previousResultId": full["resultId"] }),
        )
        .unwrap();
    assert_eq!(delta["edits"].as_array().unwrap().len(), 1, "{delta}");
    c.change(3, POLICY);

    // Signature help inside a builtin and a stdlib function.
    let help = c.at(
        "textDocument/signatureHelp",
        pos(POLICY, "now)", 0, 0),
        json!({}),
    );
    assert_eq!(
        help["signatures"][0]["label"],
        json!("is_weekend_utc(t: Timestamp) -> Bool"),
        "{help}"
    );
    let text = POLICY.replace(
        "rule only_patch { on patch_host when",
        "rule only_patch { on patch_host when closure(host, ",
    );
    c.change(4, &text);
    let help = c.at(
        "textDocument/signatureHelp",
        pos(&text, "closure(host, ", 0, 14),
        json!({}),
    );
    assert!(
        help["signatures"][0]["label"]
            .as_str()
            .unwrap()
            .starts_with("closure("),
        "{help}"
    );
    assert_eq!(help["activeParameter"], json!(1));

    // A quick fix for a "did you mean".
    let typo = POLICY.replace("host.owner == agent", "host.ownr == agent");
    c.change(5, &typo);
    let (line, ch) = pos(&typo, "ownr", 0, 0);
    let actions = c.request("textDocument/codeAction", json!({
        "textDocument": { "uri": URI },
        "range": { "start": { "line": line, "character": ch }, "end": { "line": line, "character": ch } },
        "context": { "diagnostics": [] } })).unwrap();
    assert_eq!(
        actions[0]["title"],
        json!("replace with `owner`"),
        "{actions:#}"
    );
    assert_eq!(
        actions[0]["edit"]["changes"][URI][0]["newText"],
        json!("owner")
    );
    c.stop();
}

#[test]
fn rename_edits_every_file_and_refuses_a_collision_in_another() {
    let mut c = Client::start();
    c.open(POLICY);
    // A second file of the set, using `Identity` and declaring `Person`.
    let other = "file:///work/other.ward";
    let text = "const boss = Identity::\"alice\"\nenum Person { a }\n";
    c.notify(
        "textDocument/didOpen",
        json!({ "textDocument": {
        "uri": other, "languageId": "ward", "version": 1, "text": text } }),
    );
    // Taken in the other file.
    let err = c
        .request("textDocument/rename", json!({
            "textDocument": { "uri": URI },
            "position": { "line": pos(POLICY, "Identity", 0, 1).0, "character": pos(POLICY, "Identity", 0, 1).1 },
            "newName": "Person",
        }))
        .unwrap_err();
    assert!(err.message.contains("`Person`"), "{}", err.message);
    // Free: edits in both files.
    let edit = c.at(
        "textDocument/rename",
        pos(POLICY, "Identity", 0, 1),
        json!({ "newName": "Human" }),
    );
    let changes = edit["changes"].as_object().unwrap();
    assert_eq!(changes.len(), 2, "{edit:#}");
    assert_eq!(changes[other].as_array().unwrap().len(), 1, "{edit:#}");
    assert_eq!(
        changes[other][0]["range"],
        json!({ "start": { "line": 0, "character": 13 }, "end": { "line": 0, "character": 21 } })
    );
    c.stop();
}
