//! What the guard adds to a tool call: `cargo bench -p ward-mcp --bench guard`.
//!
//! A client sends `tools/call` requests one at a time and waits for each answer, over pipes,
//! to a minimal MCP tool server (this same binary, started with `WARD_MCP_BENCH_SERVER=1`,
//! which answers every call at once). Measured: the server directly; the server behind the
//! guard (the proxy in this process, the bundled guardrails and `examples/tools.toml`, an
//! allowed `rotate_secret`), with the decision log synced (`fsync`, the default) and
//! `buffered`; and a denied call, which the guard answers without the server. Each figure is
//! the median and the 99th percentile of the round trips of one run; the difference between
//! the first two medians is what the guard adds to a call.

use std::io::{BufRead, BufReader, Write};
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use ward_mcp::guard::{Guard, GuardConfig, SystemClock};
use ward_mcp::ids::Ids;
use ward_mcp::mapping::Mapping;
use ward_mcp::proxy::{self, ProxyConfig};
use ward_mcp::session::Session;

const CALLS: usize = 3000;
const WARMUP: usize = 200;
const ALLOWED: &str = r#"{"name":"rotate_secret","arguments":{"secret_name":"ci-deploy-token"}}"#;
const DENIED: &str = r#"{"name":"disable_account","arguments":{"account":"warden","reason":"suspected token theft on this agent"}}"#;

fn main() {
    if std::env::var_os("WARD_MCP_BENCH_SERVER").is_some() {
        serve();
        return;
    }
    let exe = std::env::current_exe().expect("the benchmark's own path");
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("..");
    println!(
        "tool call round trips, {CALLS} calls each (after {WARMUP} to warm up), one at a time:"
    );
    println!("{:<44} {:>10} {:>10}", "", "median", "p99");
    let direct = direct(&exe, ALLOWED);
    report("direct to the tool server", &direct);
    let state = tempfile::tempdir().expect("a temporary folder");
    for (name, durability) in [
        (
            "through the guard, allowed (log: fsync)",
            ward_log::Durability::Fsync,
        ),
        (
            "through the guard, allowed (log: buffered)",
            ward_log::Durability::Buffered,
        ),
    ] {
        let times = guarded(
            &exe,
            &root,
            &state.path().join(name.len().to_string()),
            durability,
            ALLOWED,
        );
        report(name, &times);
        if durability == ward_log::Durability::Fsync {
            let added = median(&times).saturating_sub(median(&direct));
            println!("{:<44} {:>10}", "  the guard adds (median)", us(added));
        }
    }
    let denied = guarded(
        &exe,
        &root,
        &state.path().join("denied"),
        ward_log::Durability::Fsync,
        DENIED,
    );
    report("denied by the guard (log: fsync)", &denied);
}

/// The tool server: answers `initialize` and every `tools/call` at once.
fn serve() {
    let stdin = std::io::stdin();
    let mut out = std::io::stdout().lock();
    for line in stdin.lock().lines() {
        let Ok(line) = line else { return };
        let Ok(msg) = serde_json::from_str::<serde_json::Value>(&line) else {
            continue;
        };
        let Some(id) = msg.get("id") else { continue };
        let answer = serde_json::json!({"jsonrpc": "2.0", "id": id,
            "result": {"content": [{"type": "text", "text": "done"}], "isError": false}});
        let _ = writeln!(out, "{answer}");
        let _ = out.flush();
    }
}

fn calls(mut to: impl Write, from: &mut impl BufRead, params: &str) -> Vec<Duration> {
    let mut times = Vec::with_capacity(CALLS);
    let mut line = String::new();
    for n in 0..WARMUP + CALLS {
        let request =
            format!(r#"{{"jsonrpc":"2.0","id":{n},"method":"tools/call","params":{params}}}"#);
        let start = Instant::now();
        to.write_all(request.as_bytes())
            .and_then(|()| to.write_all(b"\n"))
            .and_then(|()| to.flush())
            .expect("write a call");
        line.clear();
        from.read_line(&mut line).expect("read an answer");
        assert!(
            line.contains(&format!(r#""id":{n},"#)),
            "unexpected answer: {line}"
        );
        if n >= WARMUP {
            times.push(start.elapsed());
        }
    }
    times
}

fn direct(exe: &Path, params: &str) -> Vec<Duration> {
    let mut child = Command::new(exe)
        .env("WARD_MCP_BENCH_SERVER", "1")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
        .expect("start the tool server");
    let to = child.stdin.take().expect("stdin");
    let mut from = BufReader::new(child.stdout.take().expect("stdout"));
    let times = calls(to, &mut from, params);
    let _ = child.kill();
    let _ = child.wait();
    times
}

fn guarded(
    exe: &Path,
    root: &Path,
    state: &Path,
    durability: ward_log::Durability,
    params: &str,
) -> Vec<Duration> {
    let examples = root.join("examples");
    let loaded = ward_mcp::policy::load(
        &examples.join("guardrails"),
        &examples.join("estate.json"),
        ward_embed::EngineKind::Jit,
    )
    .unwrap_or_else(|e| panic!("{e}"));
    let mapping = Mapping::load(&examples.join("tools.toml"), loaded.engine.program())
        .unwrap_or_else(|e| panic!("{e}"));
    let mut log = ward_log::LogConfig::new(state.join("log"));
    log.durability = durability;
    let log = ward_log::Log::open(log).expect("open the log").log;
    let config = GuardConfig {
        mapping,
        agent: Some("warden".into()),
        approvals: None,
        clock: Box::new(SystemClock),
        ids: Ids::new(),
    };
    let command = vec![
        "env".to_owned(),
        "WARD_MCP_BENCH_SERVER=1".to_owned(),
        exe.display().to_string(),
    ];
    let guard = Guard::start(loaded, config, log, &command).expect("start the guard");
    let session = Session::new(guard, 4 << 20);
    let (client_read, to_guard) = std::io::pipe().expect("a pipe");
    let (from_guard, client_write) = std::io::pipe().expect("a pipe");
    let proxy_config = ProxyConfig {
        command,
        max_message: 4 << 20,
        grace: Duration::from_secs(2),
    };
    let proxy =
        std::thread::spawn(move || proxy::run(session, &proxy_config, client_read, client_write));
    let mut from = BufReader::new(from_guard);
    let times = calls(&to_guard, &mut from, params);
    drop(to_guard);
    let ended = proxy.join().expect("the proxy thread").expect("the proxy");
    assert_eq!(ended.code, 0, "{:?}", ended.message);
    times
}

fn median(times: &[Duration]) -> Duration {
    percentile(times, 50.0)
}

fn percentile(times: &[Duration], p: f64) -> Duration {
    let mut sorted = times.to_vec();
    sorted.sort();
    let idx = ((p / 100.0) * (sorted.len() - 1) as f64).round() as usize;
    sorted[idx.min(sorted.len() - 1)]
}

fn us(d: Duration) -> String {
    format!("{:.1} µs", d.as_secs_f64() * 1e6)
}

fn report(name: &str, times: &[Duration]) {
    println!(
        "{name:<44} {:>10} {:>10}",
        us(median(times)),
        us(percentile(times, 99.0))
    );
}
