//! `cargo run --release -p ward-lsp --example lsp_speed`: how fast the language server answers
//! on a 5,000-line policy set (ten files), measured through the protocol as an editor sees it
//! (an in-memory connection, the server on its own thread):
//!
//! - diagnostics after an edit: from sending `didChange` (one character changed inside one
//!   rule) to receiving the `publishDiagnostics` of that file (target: under 50 ms);
//! - completion: from sending `textDocument/completion` after `host.` in a rule being typed
//!   (the file does not parse) to receiving the items (target: under 20 ms).
//!
//! Prints the median and the worst of each over a fixed number of rounds. Not a test: the
//! figures depend on the machine (`docs/editors.md` records them).

use std::time::{Duration, Instant};

use lsp_server::{Connection, Message, Notification, Request, RequestId};
use serde_json::{Value, json};

const FILES: usize = 10;
const RULES_PER_FILE: usize = 100;
const ROUNDS: usize = 30;

fn schema() -> String {
    let mut s = String::from(
        "/// A person.\nentity Identity {\n  name: String\n  title: String\n  privileged: Bool\n  manager: Identity?\n  groups: Set<String>\n}\n\n\
         enum Tier { crown_jewel, critical, standard }\n\n\
         entity Asset {\n  tier: Tier\n  tags: Set<String>\n  owner: Identity\n}\n\n\
         relation depends_on: Asset -> Asset\n\ncontext {\n  agent: Identity\n  ticket: String?\n}\n\n",
    );
    for a in 0..20 {
        s.push_str(&format!(
            "action act{a} {{ target: Identity, host: Asset }}\n"
        ));
    }
    s
}

fn rules(file: usize) -> String {
    let mut s = String::new();
    for r in 0..RULES_PER_FILE {
        let n = file * RULES_PER_FILE + r;
        s.push_str(&format!(
            "rule r{n} {{\n  on act{}, act{}\n  when host.tier == Tier::critical and \"ops{n}\" in target.groups\n  when count(closure(host, ~depends_on)) > {n}\n  deny because \"{{target}} may not touch {{host}}\"\n}}\n\n",
            n % 20,
            (n + 1) % 20
        ));
    }
    s
}

struct Client {
    conn: Connection,
    next: i32,
}

impl Client {
    fn notify(&self, method: &str, params: Value) {
        self.conn
            .sender
            .send(Notification::new(method.into(), params).into())
            .unwrap();
    }

    fn request(&mut self, method: &str, params: Value) -> Value {
        self.next += 1;
        let id = RequestId::from(self.next);
        self.conn
            .sender
            .send(Request::new(id.clone(), method.into(), params).into())
            .unwrap();
        loop {
            if let Message::Response(r) = self.conn.receiver.recv().unwrap()
                && r.id == id
            {
                return r.response_result.unwrap();
            }
        }
    }

    fn diagnostics_for(&self, uri: &str) -> Value {
        loop {
            if let Message::Notification(n) = self.conn.receiver.recv().unwrap()
                && n.method == "textDocument/publishDiagnostics"
                && n.params["uri"] == json!(uri)
            {
                return n.params;
            }
        }
    }
}

fn report(what: &str, mut times: Vec<Duration>, target_ms: f64) {
    times.sort();
    let ms = |d: Duration| d.as_secs_f64() * 1000.0;
    let median = ms(times[times.len() / 2]);
    let worst = ms(times[times.len() - 1]);
    println!(
        "{what}: median {median:.1} ms, worst {worst:.1} ms over {} rounds (target {target_ms} ms: {})",
        times.len(),
        if median < target_ms { "met" } else { "missed" }
    );
}

fn main() {
    let (server_side, conn) = Connection::memory();
    let server = std::thread::spawn(move || ward_lsp::serve(&server_side));
    let mut c = Client { conn, next: 0 };
    c.request("initialize", json!({ "capabilities": {} }));
    c.notify("initialized", json!({}));
    let uri = |i: usize| format!("file:///bench/policy{i:02}.ward");
    let mut texts: Vec<String> = (0..FILES).map(rules).collect();
    texts[0] = schema() + &texts[0];
    let lines: usize = texts.iter().map(|t| t.lines().count()).sum();
    for (i, text) in texts.iter().enumerate() {
        c.notify(
            "textDocument/didOpen",
            json!({ "textDocument": {
            "uri": uri(i), "languageId": "ward", "version": 1, "text": text } }),
        );
    }
    for i in 0..FILES {
        let d = c.diagnostics_for(&uri(i));
        assert_eq!(
            d["diagnostics"],
            json!([]),
            "the generated set checks clean"
        );
    }
    println!(
        "{lines} lines in {FILES} files, {} rules",
        FILES * RULES_PER_FILE
    );

    // Edit inside one rule of file 5: the number in `> N` changes.
    let target = 5;
    let line = texts[target]
        .lines()
        .position(|l| l.contains("> 5"))
        .unwrap() as u32;
    let mut times = Vec::new();
    for round in 0..ROUNDS {
        let digit = (round % 10).to_string();
        let start = Instant::now();
        c.notify("textDocument/didChange", json!({
            "textDocument": { "uri": uri(target), "version": round + 2 },
            "contentChanges": [{ "range": { "start": { "line": line, "character": 40 }, "end": { "line": line, "character": 41 } }, "text": digit }] }));
        let d = c.diagnostics_for(&uri(target));
        times.push(start.elapsed());
        assert_eq!(d["diagnostics"], json!([]), "{d}");
        // The other files' diagnostics of the same round.
        for i in (0..FILES).filter(|&i| i != target) {
            c.diagnostics_for(&uri(i));
        }
    }
    report("diagnostics after an edit", times, 50.0);

    // Completion after `host.` in a rule being typed (the file no longer parses there).
    let typing = format!(
        "{}rule typing {{\n  on act1, act2\n  when host.\n",
        texts[target]
    );
    c.notify(
        "textDocument/didChange",
        json!({
        "textDocument": { "uri": uri(target), "version": 1000 },
        "contentChanges": [{ "text": typing }] }),
    );
    c.diagnostics_for(&uri(target));
    let at = typing.lines().count() as u32 - 1;
    let mut times = Vec::new();
    for _ in 0..ROUNDS {
        let start = Instant::now();
        let items = c.request(
            "textDocument/completion",
            json!({
            "textDocument": { "uri": uri(target) },
            "position": { "line": at, "character": 12 } }),
        );
        times.push(start.elapsed());
        let labels: Vec<&str> = items
            .as_array()
            .unwrap()
            .iter()
            .filter_map(|i| i["label"].as_str())
            .collect();
        assert!(
            labels.contains(&"tier") && labels.contains(&"depends_on"),
            "{labels:?}"
        );
    }
    report("completion", times, 20.0);

    c.request("shutdown", Value::Null);
    c.notify("exit", Value::Null);
    server.join().unwrap().unwrap();
}
