//! Damaged language-server sessions (issue 7.10, LSP frames): an editor's session — the
//! handshake, documents opened and edited, requests at random positions — framed as on stdio,
//! then damaged as a broken or hostile client would: bytes flipped, bodies cut, lengths wrong
//! or huge, headers dropped, garbage between frames, arrays and scalars for bodies, deep JSON.
//! [`run`] feeds it to `ward_lsp::serve_streams` on a thread with a small stack and checks that
//! the server never panics, always ends, writes only well-framed JSON, answers only ids it was
//! sent (or `null` for a frame it could not read), and — when no damage could have swallowed
//! it — still answers the clean `shutdown` at the end and, if `initialize` got through, exits by
//! the protocol.

use std::sync::mpsc;
use std::time::Duration;

use serde_json::{Value, json};

use crate::differential::generate::Rng;

/// Policies the sessions open: a clean one, a broken one, one with non-ASCII text.
const POLICIES: [&str; 3] = [
    "entity Identity { name: String, manager: Identity? }\n\
     action disable_account { target: Identity }\n\
     rule r { on disable_account when target.name == \"x\" deny because \"{target}\" }\n",
    "entity Asset { tags: Set<String> }\nrelation depends_on: Asset -> Asset\n\
     rule broken { on * when closure(host, \n",
    "/// Ünïcødé 𝔸\nconst café = [\"é\", \"𝔸\"]\nfn f(x: String) -> Bool = x in café\n",
];

const METHODS: [&str; 8] = [
    "textDocument/hover",
    "textDocument/definition",
    "textDocument/references",
    "textDocument/completion",
    "textDocument/formatting",
    "textDocument/documentSymbol",
    "textDocument/semanticTokens/full",
    "workspace/symbol",
];

/// One generated session: its frames and how each was damaged.
#[derive(Debug)]
pub struct Case {
    pub input: Vec<u8>,
    /// The ids of the requests sent, intact or not.
    pub ids: Vec<i64>,
    /// Whether some damage could make the reader take the final `shutdown` as part of a body
    /// (a length made larger than a body that is not one JSON object).
    pub may_swallow: bool,
    pub damage: Vec<&'static str>,
}

/// What a run saw.
#[derive(Debug, Default, Clone, Copy)]
pub struct Tally {
    pub frames: usize,
    pub replies: usize,
    pub errors_without_id: usize,
}

pub fn seeded(seed: u64) -> Case {
    generate(&mut Rng::new(seed))
}

pub fn from_bytes(data: &[u8]) -> Case {
    generate(&mut Rng::from_bytes(data))
}

fn generate(rng: &mut Rng) -> Case {
    let uri = if rng.chance(50) {
        "file:///nowhere/a.ward"
    } else {
        "file:///nowhere/d%c3%a9j%C3%A0%3a.ward"
    };
    let mut bodies: Vec<Value> = vec![json!({"jsonrpc": "2.0", "id": 1, "method": "initialize",
        "params": {"capabilities": {}, "rootUri": null}})];
    bodies.push(json!({"jsonrpc": "2.0", "method": "initialized", "params": {}}));
    let text = *rng.pick(&POLICIES);
    bodies.push(
        json!({"jsonrpc": "2.0", "method": "textDocument/didOpen", "params":
        {"textDocument": {"uri": uri, "languageId": "ward", "version": 1, "text": text}}}),
    );
    let mut id = 1;
    for version in 2..2 + rng.below(8) as i64 {
        if rng.chance(40) {
            let (line, ch) = (rng.below(5), rng.below(40));
            bodies.push(json!({"jsonrpc": "2.0", "method": "textDocument/didChange", "params": {
                "textDocument": {"uri": uri, "version": version},
                "contentChanges": [{"range": {"start": {"line": line, "character": ch},
                    "end": {"line": line + rng.below(2), "character": rng.below(60)}},
                    "text": *rng.pick(&["x", "", ".", "target.", "\n", "é", "Tier::", "closure(x, "])}]}}));
        } else {
            id += 1;
            let method = *rng.pick(&METHODS);
            let position = json!({"line": rng.below(6), "character": rng.below(80)});
            bodies.push(
                json!({"jsonrpc": "2.0", "id": id, "method": method, "params": {
                "textDocument": {"uri": uri}, "position": position, "query": "r",
                "context": {"includeDeclaration": true},
                "options": {"tabSize": 2, "insertSpaces": true}}}),
            );
        }
    }
    let mut case = Case {
        input: Vec::new(),
        ids: (1..=id).collect(),
        may_swallow: false,
        damage: Vec::new(),
    };
    for body in bodies {
        let text = body.to_string().into_bytes();
        damage_frame(rng, text, &mut case);
    }
    // A clean ending, after a line break so that a damaged header before it cannot glue to it.
    id += 1;
    case.ids.push(id);
    case.input.extend(b"\r\n");
    for body in [
        json!({"jsonrpc": "2.0", "id": id, "method": "shutdown"}),
        json!({"jsonrpc": "2.0", "method": "exit"}),
    ] {
        let text = body.to_string();
        case.input
            .extend(format!("Content-Length: {}\r\n\r\n{text}", text.len()).into_bytes());
    }
    case
}

/// Frame `body`, damaging it or its header sometimes.
fn damage_frame(rng: &mut Rng, mut body: Vec<u8>, case: &mut Case) {
    let mut length = body.len() as u64;
    let mut header = true;
    if rng.chance(35) {
        let kind = *rng.pick(&[
            "flip",
            "cut",
            "longer",
            "shorter",
            "huge",
            "no header",
            "garbage",
            "array",
            "scalar",
            "deep",
            "not utf-8",
            "duplicate",
        ]);
        case.damage.push(kind);
        match kind {
            "flip" => {
                for _ in 0..1 + rng.below(4) {
                    let i = rng.below(body.len() as u64) as usize;
                    body[i] ^= 1 << rng.below(8);
                }
                // A flipped first byte makes the body not start an object.
                case.may_swallow |= body.first() != Some(&b'{');
                length = body.len() as u64;
            }
            "cut" => {
                body.truncate(rng.below(body.len() as u64) as usize);
                length = body.len() as u64;
            }
            "longer" => {
                length += 1 + rng.below(100);
            }
            "shorter" => {
                length = rng.below(length);
            }
            "huge" => {
                length = *rng.pick(&[u64::MAX, 4_000_000_000, (64 << 20) + 1, 1 << 40]);
            }
            "no header" => header = false,
            "garbage" => {
                let n = rng.below(40) as usize;
                let garbage: Vec<u8> = (0..n).map(|_| rng.below(256) as u8).collect();
                case.input.extend(garbage);
                // Garbage ending in a `Content-Length: N` header of its own could promise more.
                case.may_swallow = true;
            }
            "array" => {
                body = format!("[{}]", String::from_utf8_lossy(&body)).into_bytes();
                length = body.len() as u64;
            }
            "scalar" => {
                body = b"12345".to_vec();
                length = 5;
            }
            "deep" => {
                let depth = 1 + rng.below(100_000) as usize;
                body = [vec![b'['; depth], vec![b']'; depth]].concat();
                length = body.len() as u64;
            }
            "not utf-8" => {
                body.push(0xff);
                length = body.len() as u64;
            }
            "duplicate" => {
                case.input
                    .extend(format!("Content-Length: {length}\r\n\r\n").into_bytes());
                case.input.extend(&body);
            }
            _ => {}
        }
    }
    if header {
        case.input
            .extend(format!("Content-Length: {length}\r\n\r\n").into_bytes());
    }
    case.input.extend(body);
}

/// Run the server on the case; `Err` says what went wrong.
pub fn run(label: impl std::fmt::Display, case: &Case) -> Result<Tally, String> {
    let input = case.input.clone();
    let (tx, rx) = mpsc::channel();
    let server = std::thread::Builder::new()
        .stack_size(2 << 20)
        .spawn(move || {
            let mut output = Vec::new();
            let mut log = Vec::new();
            let result = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
                ward_lsp::serve_streams(std::io::Cursor::new(input), &mut output, &mut log)
            }));
            let _ = tx.send((result.map(|r| r.is_ok()), output, log));
        })
        .map_err(|e| format!("{label}: cannot start the server thread: {e}"))?;
    let (result, output, log) = rx.recv_timeout(Duration::from_secs(60)).map_err(|_| {
        format!(
            "{label}: the server did not end within 60 s ({:?})",
            case.damage
        )
    })?;
    server
        .join()
        .map_err(|_| format!("{label}: the server thread failed"))?;
    let clean_exit = result.map_err(|_| {
        format!(
            "{label}: the server panicked ({:?}); log:\n{}",
            case.damage,
            String::from_utf8_lossy(&log)
        )
    })?;
    let messages = frames(&output).map_err(|why| format!("{label}: {why}"))?;
    let mut tally = Tally {
        frames: messages.len(),
        ..Tally::default()
    };
    let mut answered_last = false;
    let mut initialized = false;
    let last = case.ids.last().copied();
    for m in &messages {
        initialized |= m.get("id") == Some(&json!(1)) && m.get("result").is_some();
        if m.get("method").is_some() {
            continue;
        }
        match m.get("id") {
            Some(Value::Null) => tally.errors_without_id += 1,
            Some(id) => {
                let id = id.as_i64();
                if !id.is_some_and(|id| case.ids.contains(&id)) {
                    return Err(format!("{label}: an answer to an id never sent: {m}"));
                }
                answered_last |= id == last;
                tally.replies += 1;
            }
            None => {
                return Err(format!(
                    "{label}: a message that is neither answer nor notification: {m}"
                ));
            }
        }
    }
    // Without `initialize`, `shutdown` is refused and `exit` ends the session as an error.
    if !case.may_swallow && !(answered_last && (clean_exit || !initialized)) {
        return Err(format!(
            "{label}: the server stopped serving ({:?}): the final `shutdown` was {}answered, \
             exit {}; log:\n{}",
            case.damage,
            if answered_last { "" } else { "not " },
            if clean_exit { "clean" } else { "not clean" },
            String::from_utf8_lossy(&log)
        ));
    }
    Ok(tally)
}

/// The messages of the server's output, each checked to be a well-framed JSON object.
fn frames(mut bytes: &[u8]) -> Result<Vec<Value>, String> {
    let mut out = Vec::new();
    while !bytes.is_empty() {
        let text = String::from_utf8_lossy(bytes);
        let end = text.find("\r\n\r\n").ok_or("output without a header end")?;
        let length: usize = text[..end]
            .strip_prefix("Content-Length: ")
            .and_then(|n| n.parse().ok())
            .ok_or_else(|| format!("bad output header {:?}", &text[..end]))?;
        let body = bytes
            .get(end + 4..end + 4 + length)
            .ok_or("output shorter than its Content-Length")?;
        let value: Value =
            serde_json::from_slice(body).map_err(|e| format!("output body is not JSON: {e}"))?;
        if !value.is_object() {
            return Err(format!("output body is not an object: {value}"));
        }
        out.push(value);
        bytes = &bytes[end + 4 + length..];
    }
    Ok(out)
}
