//! `cargo run --release -p ward-lsp --example lsp_speed`: how fast the language server answers
//! on a 5,000-line policy set (ten files, 700 rules), measured through the protocol as an editor sees it
//! (an in-memory connection, the server on its own thread):
//!
//! - diagnostics after an edit: from sending `didChange` (one character changed inside one
//!   rule) to receiving the `publishDiagnostics` of that file (target: under 50 ms);
//! - the same after typing: a character inserted in (then deleted from) a rule in the middle
//!   of a file, so that the rules after it move;
//! - completion: from sending `textDocument/completion` after `host.` in a rule being typed
//!   (the file does not parse) to receiving the items (target: under 20 ms).
//!
//! Prints the median and the worst of each over a fixed number of rounds. Not a test: the
//! figures depend on the machine (`docs/editors.md` records them).

use std::time::{Duration, Instant};

use lsp_server::{Connection, Message, Notification, Request, RequestId};
use serde_json::{Value, json};

const FILES: usize = 10;
const RULES_PER_FILE: usize = 70;
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

/// How long the benchmark waits for any one message before it fails (the server answers in
/// milliseconds: a wait this long means a message was lost).
const PATIENCE: Duration = Duration::from_secs(30);

struct Client {
    conn: Connection,
    next: i32,
}

impl Client {
    fn notify(&self, method: &str, params: Value) {
        self.conn
            .sender
            .send(Notification::new(method.into(), params).into())
            .expect("the server stopped");
    }

    /// The next message from the server, or a failure naming what was awaited.
    fn recv(&self, awaiting: &str) -> Message {
        match self.conn.receiver.recv_timeout(PATIENCE) {
            Ok(m) => m,
            Err(e) => {
                panic!("no message from the server in {PATIENCE:?} while awaiting {awaiting}: {e}")
            }
        }
    }

    fn request(&mut self, method: &str, params: Value) -> Value {
        self.next += 1;
        let id = RequestId::from(self.next);
        self.conn
            .sender
            .send(Request::new(id.clone(), method.into(), params).into())
            .expect("the server stopped");
        let awaiting = format!("the answer to `{method}`");
        loop {
            if let Message::Response(r) = self.recv(&awaiting)
                && r.id == id
            {
                return r
                    .response_result
                    .unwrap_or_else(|e| panic!("`{method}` failed: {e:?}"));
            }
        }
    }

    /// The diagnostics the server publishes after one change: one notification for each of
    /// `uris` (the server publishes every open document after every change), read until all
    /// came, so that none is left for the next round. Each with the time it arrived.
    fn diagnostics_of(&self, uris: &[String]) -> Vec<(Instant, Value)> {
        let mut got: Vec<Option<(Instant, Value)>> = vec![None; uris.len()];
        while got.iter().any(Option::is_none) {
            let missing: Vec<&str> = uris
                .iter()
                .zip(&got)
                .filter(|(_, g)| g.is_none())
                .map(|(u, _)| u.as_str())
                .collect();
            let awaiting = format!("the diagnostics of {missing:?}");
            if let Message::Notification(n) = self.recv(&awaiting)
                && n.method == "textDocument/publishDiagnostics"
            {
                let at = Instant::now();
                match uris.iter().position(|u| n.params["uri"] == json!(u)) {
                    Some(i) if got[i].is_none() => got[i] = Some((at, n.params)),
                    _ => panic!(
                        "unexpected diagnostics while awaiting {awaiting}: {}",
                        n.params
                    ),
                }
            }
        }
        got.into_iter().flatten().collect()
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
    let uris: Vec<String> = (0..FILES).map(uri).collect();
    // Each `didOpen` publishes every document open so far.
    for (i, text) in texts.iter().enumerate() {
        c.notify(
            "textDocument/didOpen",
            json!({ "textDocument": {
            "uri": uris[i], "languageId": "ward", "version": 1, "text": text } }),
        );
        for (_, d) in c.diagnostics_of(&uris[..=i]) {
            assert_eq!(
                d["diagnostics"],
                json!([]),
                "the generated set checks clean: {d}"
            );
        }
    }
    println!(
        "{lines} lines in {FILES} files, {} rules",
        FILES * RULES_PER_FILE
    );

    // Edit inside one rule of file 5: the number in `> N` changes.
    let target = 5;
    let (line, last) = texts[target]
        .lines()
        .enumerate()
        .find(|(_, l)| l.contains(") > "))
        .map(|(i, l)| (i as u32, l.len() as u32 - 1))
        .unwrap();
    let mut times = Vec::new();
    for round in 0..ROUNDS {
        let digit = (round % 10).to_string();
        let start = Instant::now();
        c.notify("textDocument/didChange", json!({
            "textDocument": { "uri": uri(target), "version": round + 2 },
            "contentChanges": [{ "range": { "start": { "line": line, "character": last }, "end": { "line": line, "character": last + 1 } }, "text": digit }] }));
        let published = c.diagnostics_of(&uris);
        let (at, d) = &published[target];
        times.push(at.duration_since(start));
        assert_eq!(d["diagnostics"], json!([]), "{d}");
    }
    report("diagnostics after an edit", times, 50.0);

    // Typing inside a rule in the middle of file 5: a character inserted in a string, then
    // deleted; what follows in the file moves each time.
    let (line, col) = texts[target]
        .lines()
        .enumerate()
        .filter_map(|(i, l)| l.find("\"ops").map(|c| (i as u32, c as u32 + 4)))
        .nth(RULES_PER_FILE / 2)
        .unwrap();
    let mut times = Vec::new();
    for round in 0..ROUNDS {
        let (end, text) = if round % 2 == 0 {
            (col, "z")
        } else {
            (col + 1, "")
        };
        let start = Instant::now();
        c.notify("textDocument/didChange", json!({
            "textDocument": { "uri": uri(target), "version": ROUNDS + round + 2 },
            "contentChanges": [{ "range": { "start": { "line": line, "character": col }, "end": { "line": line, "character": end } }, "text": text }] }));
        let published = c.diagnostics_of(&uris);
        let (at, d) = &published[target];
        times.push(at.duration_since(start));
        assert_eq!(d["diagnostics"], json!([]), "{d}");
    }
    report("diagnostics after typing (what follows moves)", times, 50.0);

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
    c.diagnostics_of(&uris);
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
