//! `ward serve` under load, on the benchmark scenario (docs/benchmarks.md): the generated
//! estate (N = 1), the 63-rule guardrails and 20,000 generated requests, sent over loopback
//! HTTP/1.1 keep-alive connections by a load generator in this process (one thread, async) to
//! a server in this process (two worker threads), on the same 2-core machine.
//!
//! Measured, with the durable log (`fsync` before each answer, group commit) and without it
//! (`buffered`): decisions/s with 32 connections sending as fast as answers come back, and
//! latency percentiles at a fixed 5,000 requests/s (open loop: latency counts from when a
//! request was due, so a stall is not hidden); beside the in-process `Engine::decide_str` of
//! the same request texts (strict parse + validation + decision), single-threaded.
//!
//! `cargo bench -p ward-bench --bench serve` writes `docs/benchmarks-serve.md`.

use std::fmt::Write as _;
use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;
use ward_bench::estate::Estate;
use ward_bench::{measure, requests, scenario};
use ward_server::{Config, Durability, Server};

const ESTATE_SEED: u64 = 0x5EED_0001;
const REQUEST_SEED: u64 = 0x5EED_0002;
const N_REQUESTS: usize = 20_000;
const CONNECTIONS: usize = 32;
const RUN: Duration = Duration::from_secs(6);
const WARMUP: Duration = Duration::from_secs(1);
const RATE: f64 = 5_000.0;

struct Load {
    decisions_per_s: f64,
    p50: Duration,
    p99: Duration,
    max: Duration,
    errors: usize,
    /// CPU time of this process (server and load generator) per decision.
    cpu_per_decision: Duration,
}

struct ServerSide {
    /// Mean time from receiving a decision request to sending its response.
    decision_mean: Duration,
    /// Mean wait for the log line to be durable.
    log_wait_mean: Duration,
    /// The log writer over the closed-loop run.
    log: ward_server::LogStats,
    /// The log writer over the open-loop run.
    log_fixed: ward_server::LogStats,
}

fn main() {
    let quick = std::env::args().any(|a| a == "--quick");
    let load_at_start = load_average();
    let run = if quick { Duration::from_secs(2) } else { RUN };
    let dir = tempfile_dir();
    let estate = Estate::generate(1, ESTATE_SEED);
    let policy_dir = dir.join("scenario");
    std::fs::create_dir_all(&policy_dir).unwrap();
    for (path, text) in scenario::files() {
        std::fs::write(dir.join(&path), text).unwrap();
    }
    let entities = dir.join("estate.json");
    std::fs::write(&entities, estate.to_json()).unwrap();
    let specs = requests::generate(&estate, N_REQUESTS, REQUEST_SEED);
    let bodies: Vec<String> = specs
        .iter()
        .map(|s| s.to_json(&estate).to_string())
        .collect();
    let bodies = Arc::new(bodies);

    // In-process: the same texts through `Engine::decide_str`.
    let program = scenario::compile(&scenario::files()).unwrap();
    let engine = scenario::engine(program, ward_runtime::engine::EngineKind::Jit).unwrap();
    engine.load_entities_str(&estate.to_json()).unwrap();
    for b in bodies.iter() {
        std::hint::black_box(engine.decide_str(b));
    }
    let mut per_decision = Vec::with_capacity(bodies.len());
    let started = Instant::now();
    for _ in 0..3 {
        for b in bodies.iter() {
            let t = Instant::now();
            std::hint::black_box(engine.decide_str(b));
            per_decision.push(t.elapsed());
        }
    }
    let in_process_rate = per_decision.len() as f64 / started.elapsed().as_secs_f64();
    per_decision.sort();
    let in_p50 = per_decision[per_decision.len() / 2];
    let in_p99 = per_decision[per_decision.len() * 99 / 100];
    eprintln!(
        "in-process: {:.0}/s, p50 {in_p50:?}, p99 {in_p99:?}",
        in_process_rate
    );

    // The ceiling: the same load generator against axum/hyper on 2 worker threads with a
    // handler that answers a fixed decision document (no parsing, no deciding, no log).
    let ceiling = {
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .enable_all()
            .build()
            .unwrap();
        let listener = runtime
            .block_on(tokio::net::TcpListener::bind("127.0.0.1:0"))
            .unwrap();
        let addr = listener.local_addr().unwrap();
        let app = axum::Router::new().route(
            "/v1/decide",
            axum::routing::post(|body: String| async move {
                std::hint::black_box(body);
                (
                    [("content-type", "application/json")],
                    r#"{"id":"dec_0","decision":"allow","fired":[],"approvers":[],"errors":[]}"#,
                )
            }),
        );
        runtime.spawn(async move { axum::serve(listener, app).await });
        let generator = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap();
        generator.block_on(closed_loop(addr, Arc::clone(&bodies), WARMUP));
        let closed = generator.block_on(closed_loop(addr, Arc::clone(&bodies), run));
        let fixed = generator.block_on(fixed_rate(addr, Arc::clone(&bodies), run, RATE));
        eprintln!(
            "ceiling: closed {:.0}/s p50 {:?} p99 {:?} cpu {:?}/decision; fixed p99 {:?}",
            closed.decisions_per_s, closed.p50, closed.p99, closed.cpu_per_decision, fixed.p99
        );
        runtime.shutdown_background();
        (closed, fixed)
    };

    let mut rows = Vec::new();
    let mut disk: Option<DiskAlone> = None;
    for durability in [Durability::Fsync, Durability::Buffered] {
        let state = dir.join(format!("state-{durability:?}"));
        let mut config = Config::new(&policy_dir, &entities);
        config.listen = "127.0.0.1:0".parse().unwrap();
        config.state = state;
        config.watch = false;
        config.worker_threads = Some(2);
        config.log.durability = durability;
        config.max_skew = Duration::from_secs(3650 * 86_400);
        let server = Server::start(config).unwrap();
        let addr = server.local_addr();
        let generator = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap();
        generator.block_on(closed_loop(addr, Arc::clone(&bodies), WARMUP));
        let before = server_side(&server);
        let log_before = server.state().log.stats();
        let closed = generator.block_on(closed_loop(addr, Arc::clone(&bodies), run));
        let after = server_side(&server);
        let log_after = server.state().log.stats();
        let fixed = generator.block_on(fixed_rate(addr, Arc::clone(&bodies), run, RATE));
        let log_fixed = stats_between(&log_after, &server.state().log.stats());
        if durability == Durability::Fsync {
            disk = Some(disk_alone(&dir, run, RATE));
        }
        let side = ServerSide {
            decision_mean: mean_between(&before.0, &after.0),
            log_wait_mean: mean_between(&before.1, &after.1),
            log: stats_between(&log_before, &log_after),
            log_fixed,
        };
        eprintln!(
            "{durability:?}: closed {:.0}/s p50 {:?} p99 {:?}; fixed {:.0}/s p50 {:?} p99 {:?}; server mean {:?}, log wait {:?}; log: {} lines in {} groups ({:.1}/group), queued {:.3} ms/line, write {:.3} ms/group, sync {:.3} ms/group, {} extends, {:.1} ms each",
            closed.decisions_per_s,
            closed.p50,
            closed.p99,
            fixed.decisions_per_s,
            fixed.p50,
            fixed.p99,
            side.decision_mean,
            side.log_wait_mean,
            side.log.lines,
            side.log.groups,
            per(side.log.lines as f64, side.log.groups),
            per(side.log.queued_ns as f64 / 1e6, side.log.lines),
            per(side.log.write_ns as f64 / 1e6, side.log.groups),
            per(side.log.sync_ns as f64 / 1e6, side.log.groups),
            side.log.extends,
            per(side.log.extend_ns as f64 / 1e6, side.log.extends),
        );
        server.shutdown();
        rows.push((durability, closed, fixed, side));
    }

    let mut out = String::new();
    let _ = writeln!(out, "# `ward serve` benchmarks\n");
    let _ = writeln!(
        out,
        "Generated by `cargo bench -p ward-bench --bench serve`. Do not edit by hand.\n"
    );
    let _ = writeln!(out, "- machine: {}", measure::machine());
    let _ = writeln!(
        out,
        "- load average (1 min) of the machine when the run started: {load_at_start}, when it ended: {}",
        load_average()
    );
    let _ = writeln!(out, "- commit: {}", measure::commit());
    let _ = writeln!(
        out,
        "- scenario of docs/benchmarks.md: N = 1 estate ({} identities, {} assets), 63 rules, {} distinct generated requests (JSON texts of {}–{} bytes), cycled",
        measure::thousands(estate.identities.len()),
        measure::thousands(estate.assets.len()),
        measure::thousands(N_REQUESTS),
        bodies.iter().map(String::len).min().unwrap_or(0),
        bodies.iter().map(String::len).max().unwrap_or(0)
    );
    let _ = writeln!(
        out,
        "- server: in this process, 2 worker threads, JIT engine, HTTP/1.1 keep-alive over loopback; load generator: in this process, one thread (tokio, current-thread), on the same 2 cores, plus, at a fixed rate, a pacer thread that releases each request when it is due (an OS sleep, tens of microseconds late at most; tokio's millisecond timer would add up to a millisecond to every latency); release profile"
    );
    let _ = writeln!(
        out,
        "- every response is checked (status 200, a `decision`); runs of {} s after a 1 s warm-up; the machine is shared: compare figures within this run\n",
        run.as_secs()
    );
    let _ = writeln!(
        out,
        "| setup | decisions/s (32 connections, closed loop) | p50 | p99 | p99 at 5,000 req/s (open loop) | p50 at 5,000 req/s | max at 5,000 req/s | server time per decision (mean) | log wait (mean) | errors |"
    );
    let _ = writeln!(out, "|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|");
    for (durability, closed, fixed, side) in &rows {
        let name = match durability {
            Durability::Fsync => "HTTP, durable log (fdatasync, group commit)",
            Durability::Buffered => "HTTP, log written but not synced",
        };
        let _ = writeln!(
            out,
            "| {name} | {} | {} | {} | {} | {} | {} | {} | {} | {} |",
            measure::rate(closed.decisions_per_s),
            ms(closed.p50),
            ms(closed.p99),
            ms(fixed.p99),
            ms(fixed.p50),
            ms(fixed.max),
            ms(side.decision_mean),
            ms(side.log_wait_mean),
            closed.errors + fixed.errors
        );
    }
    let _ = writeln!(
        out,
        "| HTTP, a handler that answers a fixed document (the ceiling of this load generator and HTTP stack) | {} | {} | {} | {} | {} | {} | | | {} |",
        measure::rate(ceiling.0.decisions_per_s),
        ms(ceiling.0.p50),
        ms(ceiling.0.p99),
        ms(ceiling.1.p99),
        ms(ceiling.1.p50),
        ms(ceiling.1.max),
        ceiling.0.errors + ceiling.1.errors
    );
    if let Some(disk) = &disk {
        let _ = writeln!(
            out,
            "| the log's disk alone: {DISK_LINE} B lines due at 5,000/s, written and synced with an ideal group commit (no HTTP, no deciding; latency from due to synced) | | | | {} | {} | {} | | | |",
            ms(disk.p99),
            ms(disk.p50),
            ms(disk.max),
        );
    }
    let _ = writeln!(
        out,
        "| in-process `Engine::decide_str`, one thread | {} | {} | {} | | | | | | |",
        measure::rate(in_process_rate),
        ms(in_p50),
        ms(in_p99)
    );
    let _ = writeln!(
        out,
        "\nServer time per decision: `ward_decision_duration_seconds` (from reading the request to sending the response, log wait included) over the closed-loop run; log wait: `ward_log_write_duration_seconds` (queued → durable)."
    );
    let _ = writeln!(
        out,
        "\nThe log writer over the closed-loop runs (one group: the lines taken from the queue at once, written with one `write` and, when durable, synced with one `fdatasync`):\n"
    );
    let _ = writeln!(
        out,
        "| setup | lines | groups | lines per group | wait in the queue per line | `write` per group | `fdatasync` per group | file extensions (zeros written ahead) | time per extension |"
    );
    let _ = writeln!(out, "|---|---:|---:|---:|---:|---:|---:|---:|---:|");
    for (durability, _, _, side) in &rows {
        let name = match durability {
            Durability::Fsync => "durable log",
            Durability::Buffered => "log written but not synced",
        };
        let log = &side.log;
        let _ = writeln!(
            out,
            "| {name} | {} | {} | {:.1} | {:.3} ms | {:.3} ms | {:.3} ms | {} | {:.1} ms |",
            measure::thousands(log.lines as usize),
            measure::thousands(log.groups as usize),
            per(log.lines as f64, log.groups),
            per(log.queued_ns as f64 / 1e6, log.lines),
            per(log.write_ns as f64 / 1e6, log.groups),
            per(log.sync_ns as f64 / 1e6, log.groups),
            log.extends,
            per(log.extend_ns as f64 / 1e6, log.extends),
        );
    }
    let _ = writeln!(out, "\n## Where the time goes\n");
    let us = |d: Duration| format!("{:.0} µs", d.as_secs_f64() * 1e6);
    let _ = writeln!(
        out,
        "- CPU of this process (server and load generator) per request, closed loop: {} against the handler that does nothing, {} deciding with the durable log, {} with the log not synced; so deciding, logging and their HTTP cost the server about {} of CPU beyond the bare HTTP exchange (on 2 cores, at that CPU per request: at most {} with nothing else running).",
        us(ceiling.0.cpu_per_decision),
        rows.first()
            .map_or_else(String::new, |r| us(r.1.cpu_per_decision)),
        rows.get(1)
            .map_or_else(String::new, |r| us(r.1.cpu_per_decision)),
        rows.get(1).map_or_else(String::new, |r| us(r
            .1
            .cpu_per_decision
            .saturating_sub(ceiling.0.cpu_per_decision))),
        rows.get(1).map_or_else(String::new, |r| measure::rate(
            2.0 / r.1.cpu_per_decision.as_secs_f64().max(1e-9)
        )),
    );
    let _ = writeln!(
        out,
        "- Deciding itself: {} per request in process (`Engine::decide_str`, parse and validation included).",
        us(Duration::from_secs_f64(1.0 / in_process_rate))
    );
    for (durability, _, _, side) in &rows {
        let log = &side.log;
        let name = match durability {
            Durability::Fsync => "durable log",
            Durability::Buffered => "log not synced",
        };
        let queued = per(log.queued_ns as f64 / 1e6, log.lines);
        let _ = writeln!(
            out,
            "- {name}: a decision spent {} in the server, {} of it waiting for its log line: {queued:.3} ms in the queue (until a writer thread took it: a free thread, its wake-up) and the rest in its group's write and sync ({:.3} ms `write`, {:.3} ms `fdatasync` per group, {:.1} lines per group, {:.2} syncs running at once on average).",
            ms(side.decision_mean),
            ms(side.log_wait_mean),
            per(log.write_ns as f64 / 1e6, log.groups),
            per(log.sync_ns as f64 / 1e6, log.groups),
            per(log.lines as f64, log.groups),
            log.sync_ns as f64 / 1e9 / run.as_secs_f64(),
        );
    }
    if let Some((_, _, fixed, side)) = rows.first() {
        let syncs = &side.log_fixed.syncs_by_ms;
        let total: u64 = syncs.iter().sum();
        let over = |ms: u64| -> u64 {
            let from = ward_server::SYNC_BUCKETS_MS
                .iter()
                .position(|b| *b >= ms)
                .map_or(syncs.len(), |i| i + 1);
            syncs.iter().skip(from).sum()
        };
        let longest = syncs.iter().rposition(|c| *c > 0).map_or_else(
            || "none".to_owned(),
            |i| match (
                i.checked_sub(1)
                    .and_then(|j| ward_server::SYNC_BUCKETS_MS.get(j)),
                ward_server::SYNC_BUCKETS_MS.get(i),
            ) {
                (Some(lo), Some(hi)) => format!("between {lo} and {hi} ms"),
                (None, Some(hi)) => format!("at most {hi} ms"),
                (Some(lo), None) => format!("over {lo} ms"),
                (None, None) => "unknown".to_owned(),
            },
        );
        let _ = writeln!(
            out,
            "- durable log at 5,000 requests/s (open loop): p99 {}, from {} `fdatasync`s of which {} took over 5 ms and {} over 50 ms; the longest took {longest}. A request due while a sync stalls waits for it, and so does every request behind it on its connection: the p99 follows the disk's slowest syncs (the disk is shared with the rest of the machine, whose writes a sync's cache flush also waits for).",
            ms(fixed.p99),
            measure::thousands(total as usize),
            over(5),
            over(50),
        );
        if let Some(disk) = &disk {
            let _ = writeln!(
                out,
                "- the disk alone, right after that run (one thread writing {DISK_LINE}-byte lines as they fall due at 5,000/s, all lines due by then in one `write` and one `fdatasync`, into a file written ahead with zeros as the log's): p99 {} from due to synced, max {}, over {} syncs. No design that answers only after its line is synced can be faster than this; when the disk's p99 is over 5 ms, so is the server's.",
                ms(disk.p99),
                ms(disk.max),
                measure::thousands(disk.syncs),
            );
        }
    }
    let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../docs/benchmarks-serve.md");
    std::fs::write(&path, &out).unwrap();
    print!("{out}");
    let _ = std::fs::remove_dir_all(&dir);
}

/// `total / n`, 0 for none.
fn per(total: f64, n: u64) -> f64 {
    if n == 0 { 0.0 } else { total / n as f64 }
}

fn stats_between(
    before: &ward_server::LogStats,
    after: &ward_server::LogStats,
) -> ward_server::LogStats {
    ward_server::LogStats {
        lines: after.lines - before.lines,
        queued_ns: after.queued_ns - before.queued_ns,
        groups: after.groups - before.groups,
        write_ns: after.write_ns - before.write_ns,
        sync_ns: after.sync_ns - before.sync_ns,
        syncs_by_ms: std::array::from_fn(|i| after.syncs_by_ms[i] - before.syncs_by_ms[i]),
        extends: after.extends - before.extends,
        extend_ns: after.extend_ns - before.extend_ns,
    }
}

fn ms(d: Duration) -> String {
    format!("{:.3} ms", d.as_secs_f64() * 1e3)
}

fn tempfile_dir() -> std::path::PathBuf {
    let dir = std::env::temp_dir().join(format!("ward-bench-serve-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

/// (count, sum in seconds) of a histogram in the metrics text.
fn histogram(text: &str, name: &str) -> (f64, f64) {
    let value = |suffix: &str| {
        text.lines()
            .find_map(|l| l.strip_prefix(&format!("{name}_{suffix} ")))
            .and_then(|v| v.trim().parse::<f64>().ok())
            .unwrap_or(0.0)
    };
    (value("count"), value("sum"))
}

fn server_side(server: &Server) -> ((f64, f64), (f64, f64)) {
    let text = server
        .state()
        .metrics
        .render(&[], &server.state().log.stats());
    (
        histogram(&text, "ward_decision_duration_seconds"),
        histogram(&text, "ward_log_write_duration_seconds"),
    )
}

fn mean_between(before: &(f64, f64), after: &(f64, f64)) -> Duration {
    let n = after.0 - before.0;
    if n <= 0.0 {
        return Duration::ZERO;
    }
    Duration::from_secs_f64((after.1 - before.1) / n)
}

/// One request on a keep-alive connection; returns whether it was a 200 with a decision.
async fn exchange(
    stream: &mut TcpStream,
    buf: &mut Vec<u8>,
    message: &[u8],
) -> std::io::Result<bool> {
    stream.write_all(message).await?;
    buf.clear();
    let mut chunk = [0u8; 8192];
    loop {
        let n = stream.read(&mut chunk).await?;
        if n == 0 {
            return Err(std::io::Error::other("closed"));
        }
        buf.extend_from_slice(&chunk[..n]);
        if let Some(end) = find(buf, b"\r\n\r\n") {
            let head = std::str::from_utf8(&buf[..end]).unwrap_or("");
            let status_ok = head.starts_with("HTTP/1.1 200");
            let length: usize = head
                .lines()
                .find_map(|l| {
                    let (k, v) = l.split_once(':')?;
                    k.eq_ignore_ascii_case("content-length")
                        .then(|| v.trim().parse().ok())?
                })
                .unwrap_or(0);
            while buf.len() < end + 4 + length {
                let n = stream.read(&mut chunk).await?;
                if n == 0 {
                    return Err(std::io::Error::other("closed"));
                }
                buf.extend_from_slice(&chunk[..n]);
            }
            let ok = status_ok && find(&buf[end..], b"\"decision\":\"").is_some();
            return Ok(ok);
        }
    }
}

fn find(haystack: &[u8], needle: &[u8]) -> Option<usize> {
    haystack.windows(needle.len()).position(|w| w == needle)
}

fn message(addr: SocketAddr, body: &str) -> Vec<u8> {
    format!(
        "POST /v1/decide HTTP/1.1\r\nhost: {addr}\r\ncontent-type: application/json\r\ncontent-length: {}\r\n\r\n{body}",
        body.len()
    )
    .into_bytes()
}

/// CPU time (user and system) of this process so far, from `/proc/self/stat` (0 elsewhere).
fn cpu_time() -> Duration {
    let Ok(stat) = std::fs::read_to_string("/proc/self/stat") else {
        return Duration::ZERO;
    };
    // After the command name in parentheses: state is field 3, utime 14, stime 15.
    let fields: Vec<&str> = stat
        .rsplit_once(')')
        .map(|(_, rest)| rest.split_whitespace().collect())
        .unwrap_or_default();
    let ticks = |i: usize| {
        fields
            .get(i)
            .and_then(|f| f.parse::<u64>().ok())
            .unwrap_or(0)
    };
    // Clock ticks of 1/100 s (USER_HZ on Linux).
    Duration::from_millis((ticks(11) + ticks(12)) * 10)
}

/// The load average of the machine over the last minute, from `/proc/loadavg`.
fn load_average() -> String {
    std::fs::read_to_string("/proc/loadavg")
        .ok()
        .and_then(|l| l.split_whitespace().next().map(str::to_owned))
        .unwrap_or_else(|| "unknown".into())
}

fn summarize(
    mut latencies: Vec<Duration>,
    elapsed: Duration,
    errors: usize,
    cpu: Duration,
) -> Load {
    latencies.sort();
    let at = |q: f64| {
        latencies
            .get(((latencies.len() as f64 * q) as usize).min(latencies.len().saturating_sub(1)))
            .copied()
            .unwrap_or_default()
    };
    Load {
        decisions_per_s: latencies.len() as f64 / elapsed.as_secs_f64(),
        p50: at(0.5),
        p99: at(0.99),
        max: latencies.last().copied().unwrap_or_default(),
        errors,
        cpu_per_decision: if latencies.is_empty() {
            Duration::ZERO
        } else {
            cpu / latencies.len() as u32
        },
    }
}

/// 32 connections, each sending its next request as soon as the answer is back.
async fn closed_loop(addr: SocketAddr, bodies: Arc<Vec<String>>, run: Duration) -> Load {
    let next = Arc::new(AtomicUsize::new(0));
    let stop = Arc::new(AtomicBool::new(false));
    let cpu = cpu_time();
    let started = Instant::now();
    let mut tasks = Vec::new();
    for _ in 0..CONNECTIONS {
        let (next, stop, bodies) = (Arc::clone(&next), Arc::clone(&stop), Arc::clone(&bodies));
        tasks.push(tokio::spawn(async move {
            let mut stream = TcpStream::connect(addr).await.unwrap();
            stream.set_nodelay(true).unwrap();
            let mut buf = Vec::new();
            let mut latencies = Vec::new();
            let mut errors = 0;
            while !stop.load(Ordering::Relaxed) {
                let i = next.fetch_add(1, Ordering::Relaxed) % bodies.len();
                let msg = message(addr, &bodies[i]);
                let t = Instant::now();
                match exchange(&mut stream, &mut buf, &msg).await {
                    Ok(true) => latencies.push(t.elapsed()),
                    Ok(false) => errors += 1,
                    Err(_) => {
                        errors += 1;
                        stream = TcpStream::connect(addr).await.unwrap();
                    }
                }
            }
            (latencies, errors)
        }));
    }
    tokio::time::sleep(run).await;
    stop.store(true, Ordering::Relaxed);
    let mut all = Vec::new();
    let mut errors = 0;
    for t in tasks {
        let (l, e) = t.await.unwrap();
        all.extend(l);
        errors += e;
    }
    summarize(
        all,
        started.elapsed(),
        errors,
        cpu_time().saturating_sub(cpu),
    )
}

/// Requests due at a fixed rate, spread over 32 connections; latency from when each was due.
///
/// The due times come from a pacer thread that sleeps with the OS's `nanosleep` (tens of
/// microseconds late at most) rather than tokio's timer, whose millisecond wheel would make
/// every request up to a millisecond late and count that lateness as the server's latency.
/// A request whose connection is still busy waits for it, its latency still counted from
/// when it was due (no coordinated omission).
async fn fixed_rate(addr: SocketAddr, bodies: Arc<Vec<String>>, run: Duration, rate: f64) -> Load {
    let per_connection = rate / CONNECTIONS as f64;
    let interval = Duration::from_secs_f64(1.0 / per_connection);
    let started = Instant::now() + Duration::from_millis(20);
    let mut senders = Vec::new();
    let mut tasks = Vec::new();
    for c in 0..CONNECTIONS {
        let bodies = Arc::clone(&bodies);
        let (tx, mut rx) = tokio::sync::mpsc::unbounded_channel::<(u32, Instant)>();
        senders.push(tx);
        tasks.push(tokio::spawn(async move {
            let mut stream = TcpStream::connect(addr).await.unwrap();
            stream.set_nodelay(true).unwrap();
            let mut buf = Vec::new();
            let mut latencies = Vec::new();
            let mut errors = 0;
            while let Some((k, due)) = rx.recv().await {
                let msg = message(addr, &bodies[(c + k as usize * CONNECTIONS) % bodies.len()]);
                match exchange(&mut stream, &mut buf, &msg).await {
                    Ok(true) => latencies.push(due.elapsed()),
                    Ok(false) => errors += 1,
                    Err(_) => {
                        errors += 1;
                        stream = TcpStream::connect(addr).await.unwrap();
                    }
                }
            }
            (latencies, errors)
        }));
    }
    // Connection c's k-th request is due at started + (k + c / 32) intervals: in time order,
    // k-major and c-minor.
    let pacer = std::thread::spawn(move || {
        let mut k = 0u32;
        'schedule: loop {
            for (c, tx) in senders.iter().enumerate() {
                let due = started + interval.mul_f64(k as f64 + c as f64 / CONNECTIONS as f64);
                if due > started + run {
                    break 'schedule;
                }
                let now = Instant::now();
                if due > now {
                    std::thread::sleep(due - now);
                }
                let _ = tx.send((k, due));
            }
            k += 1;
        }
    });
    let mut all = Vec::new();
    let mut errors = 0;
    for t in tasks {
        let (l, e) = t.await.unwrap();
        all.extend(l);
        errors += e;
    }
    pacer.join().unwrap();
    summarize(all, started.elapsed(), errors, Duration::ZERO)
}

/// Bytes per line in [`disk_alone`]: about a decision's log line on this scenario.
const DISK_LINE: usize = 1024;

/// The disk under the log alone: lines of [`DISK_LINE`] bytes due at `rate`, written (all
/// that are due, in one `write`) and synced (one `fdatasync`) by one thread as soon as they
/// are due, into a file written ahead with zeros; latency from due to synced. The floor of
/// any log that answers after the sync.
fn disk_alone(dir: &std::path::Path, run: Duration, rate: f64) -> DiskAlone {
    use std::os::unix::fs::FileExt;
    let path = dir.join("disk-alone.bin");
    let file = std::fs::OpenOptions::new()
        .create(true)
        .truncate(true)
        .read(true)
        .write(true)
        .open(&path)
        .unwrap();
    let n_lines = (rate * run.as_secs_f64()) as usize + 1;
    let zeros = vec![0u8; 1 << 20];
    let mut at = 0u64;
    while at < (n_lines * DISK_LINE) as u64 {
        file.write_all_at(&zeros, at).unwrap();
        at += zeros.len() as u64;
    }
    file.sync_all().unwrap();
    let line = vec![b'x'; DISK_LINE];
    let interval = Duration::from_secs_f64(1.0 / rate);
    let started = Instant::now();
    let mut latencies = Vec::with_capacity(n_lines);
    let mut next = 0usize;
    let mut offset = 0u64;
    let mut syncs = 0usize;
    let mut buf = Vec::new();
    while next < n_lines {
        let due = started + interval * next as u32;
        let now = Instant::now();
        if due > now {
            std::thread::sleep(due - now);
        }
        // Every line due by now, as one group.
        let now = Instant::now();
        let first = next;
        while next < n_lines && started + interval * next as u32 <= now {
            next += 1;
        }
        buf.clear();
        for _ in first..next {
            buf.extend_from_slice(&line);
        }
        file.write_all_at(&buf, offset).unwrap();
        offset += buf.len() as u64;
        file.sync_data().unwrap();
        syncs += 1;
        for k in first..next {
            latencies.push((started + interval * k as u32).elapsed());
        }
    }
    let elapsed = started.elapsed();
    drop(file);
    let _ = std::fs::remove_file(&path);
    let load = summarize(latencies, elapsed, 0, Duration::ZERO);
    DiskAlone {
        p50: load.p50,
        p99: load.p99,
        max: load.max,
        syncs,
    }
}

/// What [`disk_alone`] measured.
struct DiskAlone {
    p50: Duration,
    p99: Duration,
    max: Duration,
    syncs: usize,
}
