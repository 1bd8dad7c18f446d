//! The benchmark scenario (`bench/src/lib.rs`), end to end, in one run: compile, load, decide
//! (interpreter and JIT on the same requests, decisions compared), the peers on the common
//! subset (decisions cross-checked against Ward's), and scaling at N = 1, 4, 16. Prints a
//! Markdown report and writes it to `docs/benchmarks.md`.
//!
//! `cargo bench -p ward-bench --bench scenario` (full: 1,000,000 requests), or with
//! `-- --quick` for a smoke run (50,000 requests, N = 1 only; the report goes to
//! `target/benchmarks-quick.md` so the committed figures stay those of a full run). With
//! `-- --compile-only` it prints just the Compile table (a minute, nothing written).

use std::fmt::Write as _;
use std::hint::black_box;
use std::time::{Duration, Instant};

use ward_bench::estate::Estate;
use ward_bench::hand::{HandWritten, Req};
use ward_bench::measure::{self, Percentiles, nanos, rate, thousands};
use ward_bench::peers::rego::Closures;
use ward_bench::peers::{self, Outcome, Peer};
use ward_bench::requests::{self, RequestSpec};
use ward_bench::{policy, scenario, timing};
use ward_runtime::engine::{Engine, EngineKind};
use ward_runtime::request::Request;

const ESTATE_SEED: u64 = 0x5EED_0001;
const REQUEST_SEED: u64 = 0x5EED_0002;
const PEER_SEED: u64 = 0x5EED_0003;
/// Requests are parsed (untimed) and decided in chunks of this size to bound memory; each
/// timed pass over a chunk gets a fresh snapshot (a load of the estate, untimed).
const CHUNK: usize = 250_000;
/// The measuring protocol, as the report states it.
const PROTOCOL: &str = "Memo state: every timed pass runs on a fresh snapshot (the estate loaded again, untimed); a row's throughput is its fastest pass, and the rows take turns pass by pass (a slow spell of the machine slows one pass of every row, not every pass of one). `(warm)`: before the pass, 100,000 requests of a *different* stream of the same generator (another seed) were decided on it, untimed, filling the JIT's memo of request-independent conditions for the entities they named; the measured requests then find some entities memoized and compute the rest. (The closures the program takes were computed for every entity by the load itself, as every load does: its time is in the Scaling section's load rows.) `(precomputed)`: before that, `Engine::precompute` computed every per-entity memo of the JIT for every entity of the snapshot (what `ward serve` does on a thread of its own after every load; its time is in the Scaling section), so the measured requests compute none of them: the JIT's counterpart of the hand-written baseline's facts computed at setup. `(cold)`: nothing was decided on the snapshot before the pass, so the JIT's memo starts empty (it fills during the pass, as in a process that just loaded its estate). Ward's timed loops decide into one decision they keep (`Engine::decide_request_into`, as a service deciding request after request would): each decision replaces the last, in the same room.";
/// Instruction counts measured with callgrind outside this run (instructions do not depend on
/// the machine's load), with the commands reproducing them.
const CALLGRIND_NOTE: &str = "Measured with `valgrind --tool=callgrind --toggle-collect='*count_decisions*' <this benchmark's release binary> --callgrind WHICH 100000` (the binary is `target/release/deps/scenario-*`, built by `cargo bench -p ward-bench --bench scenario --no-run`), separately from this run: the JIT at N = 1 under the warm protocol (100,000 requests of another seed decided first, untimed and uncounted), then 100,000 requests of the measured stream counted; `Ir` divided by 100,000. Before = commit 7eb12d5 (main before the work on the fair protocol, the same `--callgrind` function added to its benchmark); then commits f5548a0, ac6eb60, 7513dd4 (measured on 53ba1fd with the same decision code), 43f6ac9, 02b2f98, 12265a4, 595a1d3 and fd047c9 (the previous reports' `now`), 47a7c62, f4163c4 (the previous report's `now`; 3114c5d decides alike); now = this report's commit. `subset-cold` and `full-cold` skip the warming stream, as `jit (cold)` does (the counted requests fill the memos); `subset-precomputed` and `full-precomputed` run `Engine::precompute` before the warming stream, as `jit (precomputed)` does.\n\n\
| WHICH | what | before | f5548a0 | ac6eb60 | 7513dd4 | 43f6ac9 | 02b2f98 | 12265a4 | 595a1d3 | 47a7c62 | fd047c9 | f4163c4 | now |\n\
|---|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|\n\
| `subset-precomputed` | JIT (precomputed), common subset | - | - | - | - | - | - | 1,256 | 1,256 | 1,259 | 1,210 | 1,190 | 1,064 |\n\
| `subset` | JIT (warm), common subset | 3,838 | 2,605 | 2,589 | 2,296 | 2,076 | 1,677 | 1,672 | 1,625 | 1,640 | 1,592 | 1,354 | 1,229 |\n\
| `full-precomputed` | JIT (precomputed), 63-rule scenario | - | - | - | - | - | - | 2,194 | 2,197 | 2,203 | 2,040 | 2,020 | 1,828 |\n\
| `full` | JIT (warm), 63-rule scenario | 7,042 | 4,916 | 4,757 | 4,343 | 3,967 | 3,123 | 3,098 | 3,016 | 3,087 | 3,024 | 2,756 | 2,565 |\n\
| `subset-cold` | JIT (cold), common subset | - | - | - | 4,572 | 4,179 | 3,320 | 3,304 | 2,932 | 2,980 | 2,956 | 1,789 | 1,664 |\n\
| `full-cold` | JIT (cold), 63-rule scenario | - | - | - | - | 7,376 | 5,397 | 5,377 | 4,922 | 5,057 | 5,094 | 3,826 | 3,637 |\n\
| `hand` | hand-written Rust, common subset | - | 58 | 58 | 58 | 58 | 58 | 58 | 58 | 58 | 58 | 58 | 58 |\n\
| `hand-messages` | hand-written Rust rendering its messages | - | 1,519 | 1,519 | 1,519 | 1,519 | 1,519 | 1,519 | 1,519 | 1,519 | 1,519 | 1,519 | 1,519 |\n\n\
Since f4163c4 (the previous report's `now`): when no rule failed and every rule that fired shows only holes read directly and literal approvers, what the decision shows apart from the holes' values (outcome, fired rules, each one's approvers, the decision's approvers sorted and distinct, where each message's holes go) is worked out once per set of fired rules of an action and kept in each thread's copy of the rule table; later decisions with the same set copy it and read their holes (`docs/decisions.md`, entry 99): subset 1,354 → 1,229, subset-precomputed 1,190 → 1,064, full 2,756 → 2,565, full-precomputed 2,020 → 1,828, subset-cold 1,789 → 1,664, full-cold 3,826 → 3,637.\n\
Since fd047c9 (an earlier report's `now`): the closures the program takes are computed for every entity when an estate is loaded, bottom-up over the condensed graph, before its snapshot is put in place (`docs/decisions.md`, entry 98), so no decision computes one: subset 1,592 → 1,389, subset-cold 2,956 → 1,822, full 3,024 → 2,806, full-cold 5,094 → 3,871 (the fill costs 22–31 ms of the N = 1 load and 430–500 ms at N = 16, and 2 MB and 64 MB); deciding into a kept decision tests the unused explanation inline instead of dropping it, and the context clears only the buffers a decision used (subset → 1,374, subset-precomputed 1,225 → 1,210); literal approvers are kept as approver ids and one is pushed, not extended through an iterator (subset → 1,354, subset-precomputed → 1,190). With `--callgrind full-precomputed 20000 --scale 16` and the 32 MiB simulated cache: 2,046 instructions and 5.45 simulated last-level misses per decision (2,067 and 5.45 at fd047c9) (the fill changes what warm and cold decisions compute, not what a precomputed one reads).\n\n\
Since 47a7c62: equality of strings or sets that depends on one entity only (`target.department != \"Finance\"`) is memoized per entity as the other helper calls are, so a decision reads it from the entity's row instead of comparing the values in the store (`docs/decisions.md`, entry 97): subset 1,640 → 1,592, full 3,087 → 3,024, subset-precomputed 1,259 → 1,210, full-precomputed 2,203 → 2,040, subset-cold 2,980 → 2,956, full-cold 5,057 → 5,094 (the first comparison for an entity now also stores it). With `--callgrind full-precomputed 20000 --scale 16`: 2,230 → 2,067 instructions and 5.65 → 5.45 simulated last-level misses per decision (113,011 → 108,992): the comparisons' misses are gone (15,754), the compiled code's grow (71,600 → 83,300), its rows being longer.\n\
Since 595a1d3 (the previous report's `now`): a snapshot's memo entries and the attribute columns native code reads are kept in one row per entity of each type (a power of two up to 64 bytes, the table aligned to 64 bytes) instead of a table per memo and per column, so a decision reads one cache line, or a few, per entity it looks at (`docs/decisions.md`, entry 96). The price is a load of the row's size and a multiplication per read, and a longer path when a memo is stored (subset 1,625 → 1,640, full 3,016 → 3,087, subset-cold 2,932 → 2,980, full-cold 4,922 → 5,057, the precomputed runs 1,256 → 1,259 and 2,197 → 2,203). With `--callgrind full-precomputed 20000 --scale 16` and the 32 MiB simulated cache: 6.36 → 5.65 simulated last-level misses per decision (127,104 → 113,011 in the 20,000 decisions), those of the compiled code 4.3 → 3.6; the rest are string comparisons of attributes (`h_eq`, 0.8) and entity ids copied into decisions (1.1). The compiled code's misses that remain are reads of other entities of each request (a target, its manager, an agent, hosts and services), one or more lines each.\n\
Since 12265a4: a closure walk sets the nodes it meets in one bit set the thread keeps and reads them out in order, instead of gathering them, keeping a second set of the components met and sorting (the set of nodes is the set of components met: a component's nodes go in together), and over a relation without cycles reads each component's one node directly (subset-cold 3,304 → 2,932, full-cold 5,377 → 4,922, subset 1,672 → 1,625, full 3,098 → 3,016; the precomputed decisions compute no closure). In the cold subset run the 38,883 closures computed (29,558 of `~depends_on`, mean 26 nodes, and 9,325 of `reports_to`, at most 6) cost 1,173 instructions per decision, 1,547 before.\n\n\
Since 02b2f98: the steps formula, `Ctx::value` and the literal approvers are each written once (abf1b9a: subset 1,672, full 3,098, subset-cold 3,304, full-cold 5,377), and `Engine::precompute` computes every per-entity memo for every entity before the pass: the warm decisions then compute no closure and no memoized condition (subset 1,672 → 1,256, full 3,098 → 2,194). With `--callgrind full-precomputed 20000 --scale N` and the 32 MiB simulated cache: N = 1 2,199 and N = 16 2,222 instructions per decision, 1.7 and 6.3 simulated last-level misses per decision (warm, without precomputing: 5,599 and 10,974 instructions, 5.5 and 64.9 misses).\n\
\n\
Since 43f6ac9: a decision in which no rule failed and whose fired rules show only holes read directly (a request field or its attribute) and literal approvers is combined without the general path, which is kept for the rest (`decision::combine_settled`; the holes that read directly are found once per rule when the program is prepared), the request's slots are filled by two plain loops, and `==`, `intersects`, `is_subset` resolve each operand once (subset 2,076 → 1,769, full 3,967 → 3,508); a closure walk pushes one-node components instead of copying them, keeps its stack per thread and reads its bit set eight words at a time (subset-cold 3,865 → 3,572); a loop over a set of entities held as indices reads them in place instead of calling a helper per element (subset 1,686, subset-cold 3,372); `in` with a string element searches for it without a copy (subset-cold 3,320); counting a closure that is memoized reads its length (full 3,339 → 3,123). With `--callgrind full 20000 --scale N` and `--cache-sim=yes --LL=33554432,16,64` (this machine's 32 MiB last-level cache): N = 1 5,599 and N = 16 10,974 instructions per decision (15,816 at N = 16 before), and 5.5 against 64.9 simulated last-level misses per decision (the 22.6 of the previous report came from the cache valgrind chose itself and is not comparable).\n\
\n\
Since 7513dd4: the timed and counted loops decide into one decision they keep (`Engine::decide_request_into`: no decision built, copied out and dropped per request; subset 2,296 → 2,111, cold 4,572 → 4,225, full 4,343 → 4,000); a long closure is put in order by a bit set the thread keeps instead of sorted, and gathered in a buffer the thread keeps (cold 4,572 → 4,367 with the list below); a walk lists 4 components, not 32, before its bit set (cold → 4,217, full → 3,984); one approval rule's own approvers are the decision's, and a decision decided into again keeps its table (subset → 2,078); rule shapes compile the 10,000-rule set in one function per shape (no scenario rule is in a shape: subset 2,076, full 3,967). Of the 2,076, the closures computed for entities the warming stream did not name are about 280; in the cold runs closures are 1,780 of 4,179. At N = 16 (`--callgrind full 20000 --scale 16`, with `--cache-sim=yes`): 15,816 instructions and 22.6 simulated last-level misses per decision against 7,817 and none at N = 1; closures and closure counts are 61% of the instructions (46% at N = 1) and 36% of the misses, the set lookups of `Value::cmp` 10%, copies 9%, the compiled code reading memo tables and columns most of the rest: the N = 16 decisions are slower because the warming stream names a smaller share of a 16× estate, so more closures are computed, over data that no longer fits in the cache.\n\
\n\
Since ac6eb60: a decision is built where its caller keeps it (returned by value through the engine's layers, its ~300 bytes were copied five times per decision), only the request-buffer words a decision uses are zeroed (a 1 KiB `memset` each), direct message holes are read in one pass (subset 2,589 → 2,407); a closure walk keeps its first 32 components and its stack in place instead of growing vectors (→ 2,323; full 4,565 → 4,317); the JIT's memo misses run out-of-line functions and its chunks share failure exits (no change per decision); the relation indexes are built by our own Tarjan (full 4,317 → 4,343: the same walks over another numbering of the components). With `--callgrind full 20000 --scale N`: N = 1 8,465 and N = 4 13,062 instructions per decision (9,371 and 14,148 at ac6eb60).\n\n\
Since f5548a0: a closure walk's bit set is kept per thread and cleared word by word (a fresh zeroed one per walk cost O(estate)). On the subset, the steps before were: messages kept as hole values and rendered when read, no lock and no shared reference count per decision (3,838 → 3,091); the decision built in place and one stack buffer for the request's slots, outcomes and memos (→ 2,954); closure walks without hashing (→ 2,799); one thread-local per decision (→ 2,605). Of the 2,296 at 7513dd4, about 370 are closures computed for entities the warming stream did not name (with the measured stream itself as the warming stream, every memo hits: 2,033 at 7b7be71), and about 1,500 set up, combine and drop the decision: the fired rules, the holes' values, the approvers; the compiled rules and their helpers are the rest.";
/// How many requests of another seed fill a warm snapshot's memos.
const WARM_REQUESTS: usize = 100_000;
/// The seed of the warming stream is the measured stream's with this mixed in.
const WARM_SEED: u64 = 0x5EED_00FF;

struct Config {
    quick: bool,
    requests: usize,
    scaling_requests: usize,
    peer_requests: usize,
    scales: Vec<usize>,
}

impl Config {
    fn from_args() -> Config {
        let quick = std::env::args().any(|a| a == "--quick");
        if quick {
            Config {
                quick,
                requests: 50_000,
                scaling_requests: 50_000,
                peer_requests: 20_000,
                scales: vec![1],
            }
        } else {
            Config {
                quick,
                requests: 1_000_000,
                scaling_requests: 200_000,
                peer_requests: 100_000,
                scales: vec![1, 4, 16],
            }
        }
    }
}

fn ms(d: Duration) -> String {
    format!("{:.1} ms", d.as_secs_f64() * 1e3)
}

fn mib(kib: u64) -> String {
    format!("{:.0} MiB", kib as f64 / 1024.0)
}

fn engine(program: &ward_ir::Program, kind: EngineKind) -> Result<(Engine, Duration), String> {
    let program = program.clone();
    let start = Instant::now();
    let engine =
        scenario::engine(program, kind).map_err(|e| format!("{} engine: {e}", kind.as_str()))?;
    Ok((engine, start.elapsed()))
}

/// Timed loops per measurement; the fastest counts (the least disturbed on a shared machine).
const LOOPS: usize = 3;

/// The fastest of [`LOOPS`] runs of `f`.
fn best_of(mut f: impl FnMut()) -> Duration {
    (0..LOOPS)
        .map(|_| {
            let start = Instant::now();
            f();
            start.elapsed()
        })
        .min()
        .unwrap_or_default()
}

/// Decides every request of `parsed` on `engine` into `out`, kept from one to the next: the
/// loop every timed pass of the JIT alone runs.
fn decide_pass(engine: &Engine, parsed: &[Request], out: &mut ward::Decision) {
    for r in parsed {
        engine.decide_request_into(black_box(r), out);
        black_box(&*out);
    }
}

/// The engines to compare: the interpreter always, the JIT when it builds.
fn engines(
    program: &ward_ir::Program,
    notes: &mut Vec<String>,
) -> Vec<(EngineKind, Engine, Duration)> {
    let mut out = Vec::new();
    for kind in [EngineKind::Interp, EngineKind::Jit] {
        match engine(program, kind) {
            Ok((e, t)) => out.push((kind, e, t)),
            Err(e) => notes.push(format!("{} not measured: {e}", kind.as_str())),
        }
    }
    out
}

struct Load {
    time: Duration,
    retained_kib: Option<u64>,
    peak_kib: Option<u64>,
}

fn load(engine: &Engine, text: &str) -> Load {
    let before = measure::status_kib("VmRSS");
    let peak_reset = measure::reset_peak();
    let start = Instant::now();
    engine
        .load_entities_str(text)
        .unwrap_or_else(|e| panic!("the generated estate does not load: {e}"));
    let time = start.elapsed();
    let after = measure::status_kib("VmRSS");
    let peak = measure::status_kib("VmHWM");
    Load {
        time,
        retained_kib: before.zip(after).map(|(b, a)| a.saturating_sub(b)),
        peak_kib: if peak_reset {
            before.zip(peak).map(|(b, p)| p.saturating_sub(b))
        } else {
            None
        },
    }
}

/// What one engine measured on a request stream.
#[derive(Default)]
struct Run {
    decisions: usize,
    elapsed: Duration,
    latency_ns: Vec<u32>,
    disagreements: usize,
    first_disagreement: Option<String>,
    counts: [usize; 3],
}

impl Run {
    fn per_second(&self) -> f64 {
        self.decisions as f64 / self.elapsed.as_secs_f64().max(1e-12)
    }
    fn mean_ns(&self) -> f64 {
        self.elapsed.as_secs_f64() * 1e9 / self.decisions.max(1) as f64
    }
}

fn parse_all(engine: &Engine, estate: &Estate, specs: &[RequestSpec]) -> Vec<Request> {
    specs
        .iter()
        .map(|s| {
            engine
                .parse_request(&s.to_json(estate))
                .unwrap_or_else(|e| panic!("generated request does not validate: {e}"))
        })
        .collect()
}

/// The memo state a Ward row is timed in. Both the store's closure memo and the JIT's
/// per-snapshot memo of request-independent conditions fill as requests are decided, so a row
/// timed after deciding its own requests would never compute a closure, a regex or a set scan.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Memo {
    /// A fresh snapshot whose per-entity memos `Engine::precompute` filled (as `ward serve`
    /// does after every load), then as [`Memo::Warm`].
    Precomputed,
    /// A fresh snapshot whose memos a *different* request stream of the same generator (another
    /// seed) filled, untimed; then the measured stream.
    Warm,
    /// A fresh snapshot with empty memos for every timed pass.
    Cold,
}

/// A Ward row: which engine, in which memo state, and whether every fired rule's message is
/// read (rendered) after each decision.
struct Row {
    label: String,
    engine: usize,
    memo: Memo,
    read_messages: bool,
}

/// The rows for `engines`: the interpreter warm, the JIT precomputed, warm and (when `cold`)
/// cold.
fn rows_for(engines: &[(EngineKind, Engine, Duration)], cold: bool) -> Vec<Row> {
    let mut rows = Vec::new();
    for (k, (kind, _, _)) in engines.iter().enumerate() {
        if *kind == EngineKind::Jit {
            rows.push(Row {
                label: format!("{} (precomputed)", kind.as_str()),
                engine: k,
                memo: Memo::Precomputed,
                read_messages: false,
            });
        }
        rows.push(Row {
            label: format!("{} (warm)", kind.as_str()),
            engine: k,
            memo: Memo::Warm,
            read_messages: false,
        });
        if cold && *kind == EngineKind::Jit {
            rows.push(Row {
                label: format!("{} (cold)", kind.as_str()),
                engine: k,
                memo: Memo::Cold,
                read_messages: false,
            });
        }
    }
    rows
}

/// A fresh snapshot of `engine`'s program and estate (`text` loaded again: the same estate
/// gets the same entity indices, so requests parsed on `engine` stay valid, which the
/// decisions' comparison checks), with its memos as `memo` says.
fn twin(engine: &Engine, text: &str, memo: Memo, warm: &[Request]) -> Engine {
    let twin = engine.with_shared_store(engine.store());
    twin.load_entities_str(text)
        .unwrap_or_else(|e| panic!("the generated estate does not load: {e}"));
    if memo == Memo::Precomputed {
        black_box(twin.precompute());
    }
    if memo != Memo::Cold {
        for r in warm {
            black_box(twin.decide_request(r));
        }
    }
    twin
}

/// Decides `r` into `out` as the row says: the decision alone, or with every fired message
/// rendered. A timed loop decides into one decision (`Engine::decide_request_into`), as a
/// service deciding request after request would.
#[inline]
fn decide_row(engine: &Engine, r: &Request, read_messages: bool, out: &mut ward::Decision) {
    engine.decide_request_into(r, out);
    if read_messages {
        for f in out.fired().iter() {
            black_box(f.message());
        }
    }
}

/// Decides `specs` with every row: per chunk, the requests are parsed (untimed), each row
/// decides them once on a twin of its own (decisions compared with the first row's), then
/// [`LOOPS`] timed passes of every row for throughput (the rows taking turns) and one pass per
/// row timing each decision for latency, each on a fresh twin in the row's memo state
/// (`warm_specs` fill a warm twin's memos).
fn decide_all(
    engines: &[(EngineKind, Engine, Duration)],
    rows: &[Row],
    estate: &Estate,
    text: &str,
    specs: &[RequestSpec],
    warm_specs: &[RequestSpec],
    chunk: usize,
) -> Vec<Run> {
    let mut runs: Vec<Run> = rows.iter().map(|_| Run::default()).collect();
    // Parsed once, on the first engine (all engines run the same program on the same estate).
    let parser = &engines[0].1;
    let warm = parse_all(parser, estate, warm_specs);
    for chunk in specs.chunks(chunk) {
        let parsed = parse_all(parser, estate, chunk);
        let mut reference: Vec<ward::Decision> = Vec::new();
        for (k, row) in rows.iter().enumerate() {
            let run = &mut runs[k];
            let engine = twin(&engines[row.engine].1, text, row.memo, &warm);
            let decisions: Vec<ward::Decision> =
                parsed.iter().map(|r| engine.decide_request(r)).collect();
            for d in &decisions {
                let slot = match d.decision.as_str() {
                    "allow" => 0,
                    "deny" => 1,
                    _ => 2,
                };
                run.counts[slot] += 1;
            }
            if k == 0 {
                reference = decisions;
            } else {
                for (i, (a, b)) in reference.iter().zip(&decisions).enumerate() {
                    if a != b {
                        run.disagreements += 1;
                        if run.first_disagreement.is_none() {
                            run.first_disagreement = Some(format!(
                                "{}: {} {a:?} vs {b:?}",
                                chunk[i].to_json(estate),
                                rows[0].label
                            ));
                        }
                    }
                }
            }
        }
        // The rows take turns, pass by pass (each row's fastest pass counts): a slow spell of
        // the machine then slows one pass of every row rather than every pass of one.
        let mut fastest = vec![Duration::MAX; rows.len()];
        for _ in 0..LOOPS {
            for (k, row) in rows.iter().enumerate() {
                let engine = twin(&engines[row.engine].1, text, row.memo, &warm);
                let mut out = ward::Decision::rejected("not decided yet");
                let start = Instant::now();
                for r in &parsed {
                    decide_row(&engine, black_box(r), row.read_messages, &mut out);
                    black_box(&out);
                }
                fastest[k] = fastest[k].min(start.elapsed());
            }
        }
        for (k, row) in rows.iter().enumerate() {
            let run = &mut runs[k];
            let base = &engines[row.engine].1;
            let requests = &parsed;
            run.elapsed += fastest[k];
            run.decisions += requests.len();
            let engine = twin(base, text, row.memo, &warm);
            let mut out = ward::Decision::rejected("not decided yet");
            for r in requests {
                let t = Instant::now();
                decide_row(&engine, black_box(r), row.read_messages, &mut out);
                let ns = t.elapsed().as_nanos();
                black_box(&out);
                run.latency_ns.push(ns.min(u128::from(u32::MAX)) as u32);
            }
        }
    }
    runs
}

/// Times each evaluation of a peer (after one untimed pass that also checks its outcomes
/// against Ward's).
fn peer_run<P: Peer>(peer: &mut P, ward: &[Outcome]) -> (Run, Option<String>) {
    let mut run = Run::default();
    let mut error = None;
    for (i, want) in ward.iter().enumerate().take(peer.len()) {
        let raw = peer.eval(i);
        match peer.outcome(i, raw) {
            Ok(got) if &got == want => {}
            Ok(got) => {
                run.disagreements += 1;
                if run.first_disagreement.is_none() {
                    run.first_disagreement =
                        Some(format!("request {i}: ward {want:?}, peer {got:?}"));
                }
            }
            Err(e) => {
                run.disagreements += 1;
                error.get_or_insert(e);
            }
        }
    }
    run.elapsed = best_of(|| {
        for i in 0..peer.len() {
            black_box(peer.eval(black_box(i)));
        }
    });
    run.decisions = peer.len();
    for i in 0..peer.len() {
        let t = Instant::now();
        let raw = peer.eval(black_box(i));
        let ns = t.elapsed().as_nanos();
        black_box(raw);
        run.latency_ns.push(ns.min(u128::from(u32::MAX)) as u32);
    }
    (run, error)
}

/// Loads the estate of scale `n` into an interpreter engine in a fresh process (this binary
/// with `--load-child N`), so resident-memory deltas are not blurred by memory this process
/// freed earlier; prints `WARD-LOAD <ns> <retained KiB> <peak KiB>`.
fn load_child(n: usize) {
    let program = scenario::compile(&scenario::files()).unwrap_or_else(|e| panic!("{e}"));
    let estate = Estate::generate(n, ESTATE_SEED);
    let text = estate.to_json();
    let (first, _) = engine(&program, EngineKind::Interp).unwrap_or_else(|e| panic!("{e}"));
    let l = load(&first, &text);
    // glibc keeps the freed transient memory of the first load resident; a second load reuses it
    // for its own transient memory, so its RSS growth is the store alone.
    let (second, _) = engine(&program, EngineKind::Interp).unwrap_or_else(|e| panic!("{e}"));
    let again = load(&second, &text);
    println!(
        "WARD-LOAD {} {} {}",
        l.time.as_nanos(),
        again.retained_kib.map_or(-1, |k| k as i64),
        l.peak_kib.map_or(-1, |k| k as i64)
    );
    black_box((&estate, &first, &second));
}

/// Runs [`load_child`] for scale `n` `runs` times and keeps the run of median load time.
fn load_in_child(n: usize, runs: usize) -> Result<Load, String> {
    let mut all = (0..runs.max(1))
        .map(|_| load_in_child_once(n))
        .collect::<Result<Vec<_>, _>>()?;
    all.sort_by_key(|l| l.time);
    Ok(all.swap_remove(all.len() / 2))
}

/// Runs [`load_child`] for scale `n` once and reads its figures.
fn load_in_child_once(n: usize) -> Result<Load, String> {
    let exe = std::env::current_exe().map_err(|e| format!("current exe: {e}"))?;
    let out = std::process::Command::new(exe)
        .args(["--load-child", &n.to_string()])
        .output()
        .map_err(|e| format!("load child: {e}"))?;
    let stdout = String::from_utf8_lossy(&out.stdout);
    let line = stdout
        .lines()
        .find_map(|l| l.strip_prefix("WARD-LOAD "))
        .ok_or_else(|| {
            format!(
                "load child failed: {}",
                String::from_utf8_lossy(&out.stderr)
            )
        })?;
    let nums: Vec<i64> = line
        .split_whitespace()
        .filter_map(|x| x.parse().ok())
        .collect();
    let [ns, retained, peak] = nums[..] else {
        return Err(format!("load child printed `{line}`"));
    };
    let kib = |v: i64| u64::try_from(v).ok();
    Ok(Load {
        time: Duration::from_nanos(u64::try_from(ns).unwrap_or(0)),
        retained_kib: kib(retained),
        peak_kib: kib(peak),
    })
}

/// For the single-purpose modes: `files` compiled, the estate of scale `scale` generated and
/// its JSON text loaded into an engine of `kind`.
fn loaded(files: &[(String, String)], scale: usize, kind: EngineKind) -> (Estate, String, Engine) {
    let program = scenario::compile(files).unwrap_or_else(|e| panic!("{e}"));
    let estate = Estate::generate(scale, ESTATE_SEED);
    let text = estate.to_json();
    let (engine, _) = engine(&program, kind).unwrap_or_else(|e| panic!("{e}"));
    engine
        .load_entities_str(&text)
        .unwrap_or_else(|e| panic!("{e}"));
    (estate, text, engine)
}

/// Only decides (N = 1, 200,000 requests, 5 passes) with one engine: a target for a profiler
/// (`perf record … --decide-only jit`).
fn decide_only(kind: EngineKind) {
    let (estate, _, engine) = loaded(&scenario::files(), 1, kind);
    let specs = requests::generate(&estate, 200_000, REQUEST_SEED);
    let parsed = parse_all(&engine, &estate, &specs);
    let mut out = ward::Decision::rejected("not decided yet");
    let start = Instant::now();
    for _ in 0..5 {
        decide_pass(&engine, &parsed, &mut out);
    }
    let per = start.elapsed().as_secs_f64() * 1e9 / (5 * parsed.len()) as f64;
    println!("{}: {} per decision", kind.as_str(), nanos(per));
}

/// `--scale-ratio`: the JIT precomputed on the 63-rule scenario at N = 1 and N = 16 (200,000
/// requests each, the fastest of 7 passes, the two scales taking turns pass by pass), and the
/// ratio of the means: the Scaling section's `jit (precomputed)` figure alone, in under a
/// minute, for trying out changes to what a decision reads.
fn scale_ratio() {
    let setups: Vec<(usize, Engine, Vec<Request>)> = [1, 16]
        .into_iter()
        .map(|n| {
            let (estate, _, engine) = loaded(&scenario::files(), n, EngineKind::Jit);
            engine.precompute();
            let specs = requests::generate(&estate, 200_000, REQUEST_SEED ^ n as u64);
            let parsed = parse_all(&engine, &estate, &specs);
            (n, engine, parsed)
        })
        .collect();
    let mut best = vec![f64::INFINITY; setups.len()];
    for _ in 0..7 {
        for ((_, engine, parsed), best) in setups.iter().zip(best.iter_mut()) {
            let mut out = ward::Decision::rejected("not decided yet");
            let start = Instant::now();
            decide_pass(engine, parsed, &mut out);
            let per = start.elapsed().as_secs_f64() * 1e9 / parsed.len() as f64;
            *best = best.min(per);
        }
    }
    for ((n, _, _), per) in setups.iter().zip(&best) {
        println!("jit (precomputed), N = {n}: {} per decision", nanos(*per));
    }
    if let [one, sixteen] = best[..] {
        println!("N = 16 ÷ N = 1: {:.2}×", sixteen / one);
    }
}

/// Decisions/s of the JIT (warm protocol) with one thread and with two threads deciding at
/// once on one snapshot, each pass on a fresh twin: (one thread, two threads), the fastest of
/// [`LOOPS`] passes each.
struct Threads {
    one: f64,
    two: f64,
    requests: usize,
}

impl Threads {
    fn ratio(&self) -> f64 {
        self.two / self.one.max(1e-12)
    }
}

/// Times `parsed` on one thread, then split between two threads deciding at once (the first
/// half on one, the second on the other: the same decisions, so the same memo misses), each
/// pass on a fresh twin of `engine` whose memos `warm` filled.
fn threads(engine: &Engine, text: &str, warm: &[Request], parsed: &[Request]) -> Threads {
    let one = (0..LOOPS)
        .map(|_| {
            let twin = twin(engine, text, Memo::Warm, warm);
            let mut out = ward::Decision::rejected("not decided yet");
            let start = Instant::now();
            decide_pass(&twin, parsed, &mut out);
            start.elapsed()
        })
        .min()
        .unwrap_or_default();
    let half = parsed.len() / 2;
    let two = (0..LOOPS)
        .map(|_| {
            let twin = twin(engine, text, Memo::Warm, warm);
            let barrier = std::sync::Barrier::new(3);
            std::thread::scope(|scope| {
                for t in 0..2 {
                    let (twin, barrier) = (&twin, &barrier);
                    scope.spawn(move || {
                        // The thread's view of the snapshot, made before the clock starts.
                        black_box(twin.decide_request(&parsed[0]));
                        barrier.wait();
                        let (first, second) = parsed.split_at(half);
                        let mut out = ward::Decision::rejected("not decided yet");
                        decide_pass(twin, if t == 0 { first } else { second }, &mut out);
                        barrier.wait();
                    });
                }
                barrier.wait();
                let start = Instant::now();
                barrier.wait();
                start.elapsed()
            })
        })
        .min()
        .unwrap_or_default();
    let n = parsed.len() as f64;
    Threads {
        one: n / one.as_secs_f64().max(1e-12),
        two: n / two.as_secs_f64().max(1e-12),
        requests: parsed.len(),
    }
}

/// `--threads`: only the two-thread measurement (N = 1, 250,000 requests), printed.
fn threads_only() {
    let (estate, text, engine) = loaded(&scenario::files(), 1, EngineKind::Jit);
    let specs = requests::generate(&estate, CHUNK, REQUEST_SEED);
    let warm_specs = requests::generate(&estate, WARM_REQUESTS, REQUEST_SEED ^ WARM_SEED);
    let parsed = parse_all(&engine, &estate, &specs);
    let warm = parse_all(&engine, &estate, &warm_specs);
    let t = threads(&engine, &text, &warm, &parsed);
    println!(
        "jit (warm), {} requests: one thread {}, two threads {}: {:.2}×",
        thousands(t.requests),
        rate(t.one),
        rate(t.two),
        t.ratio()
    );
}

/// The decisions a callgrind run counts (`--callgrind`): kept out of line so that
/// `valgrind --tool=callgrind --toggle-collect=*count_decisions*` sees only them.
#[inline(never)]
fn count_decisions(engine: &Engine, parsed: &[Request]) -> usize {
    let (mut fired, mut out) = (0, ward::Decision::rejected("not decided yet"));
    for r in parsed {
        engine.decide_request_into(black_box(r), &mut out);
        fired += black_box(&out).decision as usize;
    }
    fired
}

/// The hand-written baseline's decisions a callgrind run counts (`--callgrind hand|hand-messages`),
/// out of line as [`count_decisions`] (`--toggle-collect=*count_decisions*` sees them too).
#[inline(never)]
fn count_decisions_hand(hand: &HandWritten, requests: &[Req], messages: bool) -> usize {
    let mut fired = 0;
    for r in requests {
        fired += if messages {
            black_box(hand.decide_with_messages(black_box(r)))
                .messages
                .len()
        } else {
            black_box(hand.decide(black_box(r))).fired as usize
        };
    }
    fired
}

/// `--callgrind subset|full|hand|hand-messages N`: the JIT on the common subset (or the full
/// scenario) at N = 1, its memos warmed by another request stream (seed
/// `PEER_SEED ^ WARM_SEED`; `subset-cold` and `full-cold`: not warmed, as `jit (cold)`;
/// `subset-precomputed` and `full-precomputed`: `Engine::precompute` first, as
/// `jit (precomputed)`), then `N` decisions of the measured stream in [`count_decisions`]
/// (or the hand-written baseline on the subset's stream, without or with its messages), for
/// instruction counts per decision.
fn callgrind(which: &str, n: usize, scale: usize) {
    if which.starts_with("hand") {
        let estate = Estate::generate(1, ESTATE_SEED);
        let hand = HandWritten::new(&estate);
        let requests: Vec<Req> = requests::generate(&estate, n * 4, PEER_SEED)
            .iter()
            .filter(|r| scenario::SUBSET_ACTIONS.contains(&r.action.name()))
            .take(n)
            .map(Req::of)
            .collect();
        let x = count_decisions_hand(&hand, &requests, which == "hand-messages");
        println!("decided {} requests ({x})", requests.len());
        return;
    }
    let (which, memo) = match (
        which.strip_suffix("-cold"),
        which.strip_suffix("-precomputed"),
    ) {
        (Some(w), _) => (w, Memo::Cold),
        (_, Some(w)) => (w, Memo::Precomputed),
        _ => (which, Memo::Warm),
    };
    let files = if which == "full" {
        scenario::files()
    } else {
        scenario::subset_files()
    };
    let (estate, _, engine) = loaded(&files, scale, EngineKind::Jit);
    let stream = |seed: u64| -> Vec<RequestSpec> {
        requests::generate(&estate, n * 4, seed)
            .into_iter()
            .filter(|r| which == "full" || scenario::SUBSET_ACTIONS.contains(&r.action.name()))
            .take(n)
            .collect()
    };
    if memo == Memo::Precomputed {
        black_box(engine.precompute());
    }
    if memo != Memo::Cold {
        for r in &parse_all(&engine, &estate, &stream(PEER_SEED ^ WARM_SEED)) {
            black_box(engine.decide_request(r));
        }
    }
    let parsed = parse_all(&engine, &estate, &stream(PEER_SEED));
    let x = count_decisions(&engine, &parsed);
    println!("decided {} requests ({x})", parsed.len());
}

/// The Compile section of the report: check + lower, engine builds and the JIT's compile time,
/// for the scenario and for a generated 10,000-rule set. Returns the scenario's program.
fn compile_section(out: &mut String, notes: &mut Vec<String>) -> ward_ir::Program {
    let files = scenario::files();
    let (check_time, program) = timing::median(5, || scenario::compile(&files));
    let program = program.unwrap_or_else(|e| panic!("the scenario does not check: {e}"));
    let mut compile_rows = Vec::new();
    for kind in [EngineKind::Interp, EngineKind::Jit] {
        let (t, built) = timing::median(5, || engine(&program, kind).map(|_| ()));
        match built {
            Ok(()) => compile_rows.push((kind, t)),
            Err(e) => notes.push(format!("engine build: {e}")),
        }
    }
    let _ = writeln!(out, "## Compile\n");
    let _ = writeln!(
        out,
        "| policy set | rules | check + lower | engine build (verify, regexes, windows) | JIT compile (included in the JIT build) |"
    );
    let _ = writeln!(out, "|---|---:|---:|---:|---:|");
    let build = |rows: &[(EngineKind, Duration)], kind| {
        rows.iter().find(|(k, _)| *k == kind).map(|(_, t)| *t)
    };
    let interp_build = build(&compile_rows, EngineKind::Interp);
    let jit_build = build(&compile_rows, EngineKind::Jit);
    let _ = writeln!(
        out,
        "| scenario (`bench/scenario/`) | {} | {} | {} | {} |",
        program.rules.len(),
        ms(check_time),
        interp_build.map_or("-".into(), ms),
        match (jit_build, interp_build) {
            (Some(j), Some(i)) => format!("{} (JIT build {})", ms(j.saturating_sub(i)), ms(j)),
            _ => "not available".into(),
        }
    );
    let big_rules = 10_000;
    let big = vec![("generated.ward".to_owned(), policy::generate(big_rules))];
    let (big_check, big_program) = timing::median(3, || scenario::compile(&big));
    let big_program =
        big_program.unwrap_or_else(|e| panic!("the generated set does not check: {e}"));
    let (big_interp, _) =
        timing::median(3, || engine(&big_program, EngineKind::Interp).map(|_| ()));
    let (big_jit, big_jit_ok) =
        timing::median(1, || engine(&big_program, EngineKind::Jit).map(|_| ()));
    let _ = writeln!(
        out,
        "| generated, {} KiB | {} | {} ({:.1} ms per 1,000 rules) | {} | {} |",
        big[0].1.len() / 1024,
        big_program.rules.len(),
        ms(big_check),
        big_check.as_secs_f64() * 1e3 * 1000.0 / big_rules as f64,
        ms(big_interp),
        if big_jit_ok.is_ok() {
            format!(
                "{} ({:.1} ms per 1,000 rules)",
                ms(big_jit.saturating_sub(big_interp)),
                big_jit.saturating_sub(big_interp).as_secs_f64() * 1e6 / big_rules as f64
            )
        } else {
            "not available".into()
        }
    );
    let _ = writeln!(
        out,
        "\nMedians of 5 runs (3 for the generated set, 1 for its JIT build).\n"
    );
    program
}

fn main() {
    let args: Vec<String> = std::env::args().collect();
    if let Some(i) = args.iter().position(|a| a == "--callgrind") {
        let which = args.get(i + 1).map_or("subset", String::as_str);
        let n = args
            .get(i + 2)
            .and_then(|n| n.parse().ok())
            .unwrap_or(100_000);
        // `--scale N`: the estate of scale N (the Scale section's), for cache simulation.
        let scale = args
            .iter()
            .position(|a| a == "--scale")
            .and_then(|j| args.get(j + 1))
            .and_then(|n| n.parse().ok())
            .unwrap_or(1);
        callgrind(which, n, scale);
        return;
    }
    if let Some(i) = args.iter().position(|a| a == "--load-child") {
        let n = args.get(i + 1).and_then(|n| n.parse().ok()).unwrap_or(1);
        load_child(n);
        return;
    }
    if args.iter().any(|a| a == "--threads") {
        threads_only();
        return;
    }
    if args.iter().any(|a| a == "--compile-only") {
        let (mut out, mut notes) = (String::new(), Vec::new());
        compile_section(&mut out, &mut notes);
        print!("{out}");
        for note in notes {
            println!("- {note}");
        }
        return;
    }
    if args.iter().any(|a| a == "--scale-ratio") {
        scale_ratio();
        return;
    }
    if let Some(i) = args.iter().position(|a| a == "--decide-only") {
        let kind = args
            .get(i + 1)
            .and_then(|k| EngineKind::parse(k))
            .unwrap_or(EngineKind::Jit);
        decide_only(kind);
        return;
    }
    let config = Config::from_args();
    let overhead = measure::timer_overhead_ns();
    let mut notes: Vec<String> = Vec::new();
    let mut out = String::new();
    let started = Instant::now();

    let _ = writeln!(out, "# Ward benchmarks\n");
    let _ = writeln!(
        out,
        "Generated by `cargo bench -p ward-bench --bench scenario{}` (scenario: `bench/src/lib.rs`). Do not edit by hand.\n",
        if config.quick { " -- --quick" } else { "" }
    );
    let _ = writeln!(out, "- machine: {}", measure::machine());
    let _ = writeln!(
        out,
        "- date: {}",
        jiff::Timestamp::now().strftime("%Y-%m-%d %H:%M UTC")
    );
    let _ = writeln!(out, "- commit: {}", measure::commit());
    let _ = writeln!(
        out,
        "- single-threaded; release profile; requests pre-parsed into `Request`s (only evaluation timed); clock read: {overhead:.0} ns per `Instant::now()` pair, subtracted from each timed decision"
    );
    let _ = writeln!(
        out,
        "- the machine is shared (2 cores, other builds running): compare figures within this run, not across runs\n"
    );

    // ---------------------------------------------------------------- compile
    let program = compile_section(&mut out, &mut notes);
    eprintln!("compile done ({:.0?})", started.elapsed());

    // ---------------------------------------------------------------- N = 1: load + decide
    let estate = Estate::generate(1, ESTATE_SEED);
    let text = estate.to_json();
    let mut engines1 = engines(&program, &mut notes);
    let mut loads = Vec::new();
    for (_, e, _) in &engines1 {
        loads.push(load(e, &text));
    }
    let fresh = load_in_child(1, 3).unwrap_or_else(|e| {
        notes.push(format!("load measured in-process: {e}"));
        Load {
            time: loads[0].time,
            retained_kib: loads[0].retained_kib,
            peak_kib: loads[0].peak_kib,
        }
    });
    let _ = writeln!(out, "## Load (N = 1)\n");
    write_load_header(&mut out);
    write_load_row(&mut out, &estate, &text, &fresh);
    let _ = writeln!(
        out,
        "\nLoad = parse the JSON text + validate against the schema + intern + build the relation indexes (`Engine::load_entities_str`). Measured in a fresh process (this binary with `--load-child N`; median of 3 processes at every scale: one process at N = 16 was at the mercy of one slow spell of the shared machine) holding the generated estate and its JSON text. Peak = VmHWM (reset through `/proc/self/clear_refs` just before) above the RSS before the first load: the store plus what loading holds while it runs (the entity ids and the slices of text of its first pass, the edge lists; the text is read straight into the store, never into a parsed `serde_json` document). Retained = growth of VmRSS across a second load of the same text into a second engine (the allocator reuses the first load's freed transient memory, so this is the store alone: columns, interned strings, id maps, relation indexes).\n"
    );
    eprintln!("load done ({:.0?})", started.elapsed());

    let specs = requests::generate(&estate, config.requests, REQUEST_SEED);
    let warm_specs = requests::generate(&estate, WARM_REQUESTS, REQUEST_SEED ^ WARM_SEED);
    let rows1 = rows_for(&engines1, true);
    let runs = decide_all(
        &engines1,
        &rows1,
        &estate,
        &text,
        &specs,
        &warm_specs,
        CHUNK,
    );
    let _ = writeln!(
        out,
        "## Decide (N = 1, {} requests, {}-rule scenario, 8 actions)\n",
        thousands(config.requests),
        program.rules.len()
    );
    let _ = writeln!(
        out,
        "| engine (memo state) | decisions/s | mean | p50 | p99 | allow / deny / approval | disagreements with {} |",
        rows1[0].label
    );
    let _ = writeln!(out, "|---|---:|---:|---:|---:|---|---:|");
    let by_action = per_action(&rows1, &runs, &specs, overhead);
    for (k, (row, mut run)) in rows1.iter().zip(runs).enumerate() {
        let p = Percentiles::of(&mut run.latency_ns, overhead);
        let _ = writeln!(
            out,
            "| {} | {} | {} | {} | {} | {} / {} / {} | {} |",
            row.label,
            rate(run.per_second()),
            nanos(run.mean_ns()),
            nanos(p.p50),
            nanos(p.p99),
            thousands(run.counts[0]),
            thousands(run.counts[1]),
            thousands(run.counts[2]),
            if k == 0 {
                "(reference)".to_owned()
            } else {
                run.disagreements.to_string()
            }
        );
        if let Some(d) = run.first_disagreement {
            notes.push(format!("first {} disagreement: {d}", row.label));
        }
    }
    let _ = writeln!(
        out,
        "\ndecisions/s and mean: a timed loop over all requests (per chunk of {}, the fastest of {LOOPS} loops). p50/p99: every decision timed on its own with `Instant` (clock cost subtracted). {PROTOCOL} Each row also decides every request once, untimed, on a twin of its own: the decisions compared.\n",
        thousands(CHUNK)
    );
    out.push_str(&by_action);
    eprintln!("decide done ({:.0?})", started.elapsed());
    if let Some((_, jit, _)) = engines1.iter().find(|(k, _, _)| *k == EngineKind::Jit) {
        let parsed = parse_all(jit, &estate, &specs[..specs.len().min(CHUNK)]);
        let warm = parse_all(jit, &estate, &warm_specs);
        let t = threads(jit, &text, &warm, &parsed);
        let _ = writeln!(
            out,
            "## Threads (N = 1, jit (warm))\n\n| threads | decisions/s | vs one thread |\n|---:|---:|---:|\n| 1 | {} | 1.00× |\n| 2 | {} | {:.2}× |\n\n{} requests of the measured stream; two threads decide them at once on one snapshot, half each (the same decisions as one thread, so the same memo misses), each pass on a fresh twin in the warm state, the fastest of {LOOPS} passes. Target: two threads ≥ 1.8× one. On this 2-core machine the ratio also counts whatever else runs on it.\n",
            rate(t.one),
            rate(t.two),
            t.ratio(),
            thousands(t.requests)
        );
        eprintln!(
            "threads done ({:.0?}): {:.2}×",
            started.elapsed(),
            t.ratio()
        );
    }

    // ---------------------------------------------------------------- peers
    let subset =
        scenario::compile(&scenario::subset_files()).unwrap_or_else(|e| panic!("subset: {e}"));
    let subset_stream = |seed: u64| -> Vec<RequestSpec> {
        requests::generate(&estate, config.peer_requests * 4, seed)
            .into_iter()
            .filter(|r| scenario::SUBSET_ACTIONS.contains(&r.action.name()))
            .take(config.peer_requests)
            .collect()
    };
    let subset_specs = subset_stream(PEER_SEED);
    let subset_warm = subset_stream(PEER_SEED ^ WARM_SEED);
    let subset_engines = engines(&subset, &mut notes);
    if let Some((_, e, _)) = subset_engines.first() {
        e.load_entities_str(&text).unwrap_or_else(|e| panic!("{e}"));
    }
    let mut subset_rows = rows_for(&subset_engines, true);
    if let Some(k) = subset_engines
        .iter()
        .position(|(kind, _, _)| *kind == EngineKind::Jit)
    {
        for (label, memo) in [
            ("jit (precomputed), every message read", Memo::Precomputed),
            ("jit (warm), every message read", Memo::Warm),
        ] {
            subset_rows.push(Row {
                label: label.to_owned(),
                engine: k,
                memo,
                read_messages: true,
            });
        }
    }
    let subset_runs = decide_all(
        &subset_engines,
        &subset_rows,
        &estate,
        &text,
        &subset_specs,
        &subset_warm,
        subset_specs.len(),
    );
    // The reference decisions (interpreter, fresh snapshot): the peers' and the hand-written
    // baseline's outcomes are compared with them.
    let (reference, parsed_subset): (Vec<ward::Decision>, Vec<Request>) = {
        let base = &subset_engines[0].1;
        let parsed = parse_all(base, &estate, &subset_specs);
        let fresh = twin(base, &text, Memo::Cold, &[]);
        (
            parsed.iter().map(|r| fresh.decide_request(r)).collect(),
            parsed,
        )
    };
    drop(parsed_subset);
    let ward_outcomes: Vec<Outcome> = reference.iter().map(peers::ward_outcome).collect();
    let mut rows: Vec<(String, Run, String)> = Vec::new();
    for (k, (row, mut run)) in subset_rows.iter().zip(subset_runs).enumerate() {
        if let Some(d) = run.first_disagreement.take() {
            notes.push(format!("first disagreement of Ward {}: {d}", row.label));
        }
        let note = if k == 0 {
            "(reference)".to_owned()
        } else {
            String::new()
        };
        rows.push((format!("Ward {}", row.label), run, note));
    }
    eprintln!("ward subset done ({:.0?})", started.elapsed());
    // ---------------------------------------------------------------- hand-written
    let t = Instant::now();
    let hand = HandWritten::new(&estate);
    let mut setup_notes = vec![format!(
        "hand-written setup (per-entity facts) {}",
        ms(t.elapsed())
    )];
    let hand_requests: Vec<Req> = subset_specs.iter().map(Req::of).collect();
    for with_messages in [false, true] {
        let mut run = Run::default();
        for (i, (r, want)) in hand_requests.iter().zip(&reference).enumerate() {
            let mine = hand.decide_with_messages(r);
            let problem = if mine.decided != hand.decide(r) {
                Some("decide and decide_with_messages differ".to_owned())
            } else {
                hand.check(&mine, want)
            };
            if let Some(p) = problem {
                run.disagreements += 1;
                run.first_disagreement
                    .get_or_insert_with(|| format!("request {i}: {p}"));
            }
        }
        run.elapsed = best_of(|| {
            for r in &hand_requests {
                if with_messages {
                    black_box(hand.decide_with_messages(black_box(r)));
                } else {
                    black_box(hand.decide(black_box(r)));
                }
            }
        });
        run.decisions = hand_requests.len();
        for r in &hand_requests {
            let t = Instant::now();
            if with_messages {
                black_box(hand.decide_with_messages(black_box(r)));
            } else {
                black_box(hand.decide(black_box(r)));
            }
            let ns = t.elapsed().as_nanos();
            run.latency_ns.push(ns.min(u128::from(u32::MAX)) as u32);
        }
        let label = if with_messages {
            "hand-written Rust, messages rendered"
        } else {
            "hand-written Rust"
        };
        if let Some(d) = run.first_disagreement.take() {
            notes.push(format!("first disagreement of {label}: {d}"));
        }
        rows.push((label.to_owned(), run, String::new()));
    }
    eprintln!("hand-written done ({:.0?})", started.elapsed());
    let t = Instant::now();
    match peers::cedar::CedarPeer::new(&estate, &subset_specs) {
        Ok(mut p) => {
            setup_notes.push(format!(
                "Cedar setup (entities with transitive closure, {} requests) {}",
                p.len(),
                ms(t.elapsed())
            ));
            let (run, err) = peer_run(&mut p, &ward_outcomes);
            if let Some(e) = err {
                notes.push(format!("cedar: {e}"));
            }
            rows.push((p.describe(), run, String::new()));
        }
        Err(e) => notes.push(format!("cedar not measured: {e}")),
    }
    eprintln!("cedar done ({:.0?})", started.elapsed());
    for closures in [Closures::Walked, Closures::Precomputed] {
        let t = Instant::now();
        match peers::rego::RegoPeer::new(&estate, &subset_specs, closures) {
            Ok(mut p) => {
                setup_notes.push(format!(
                    "Rego setup ({}data document, RVM compile, {} inputs) {}",
                    if closures == Closures::Precomputed {
                        "closures precomputed, "
                    } else {
                        ""
                    },
                    p.len(),
                    ms(t.elapsed())
                ));
                let (run, err) = peer_run(&mut p, &ward_outcomes);
                if let Some(e) = err {
                    notes.push(format!("rego: {e}"));
                }
                rows.push((p.describe(), run, String::new()));
            }
            Err(e) => notes.push(format!("rego not measured: {e}")),
        }
    }
    eprintln!("rego done ({:.0?})", started.elapsed());
    let t = Instant::now();
    match peers::cel::CelPeer::new(&estate, &subset_specs) {
        Ok(mut p) => {
            setup_notes.push(format!(
                "CEL setup (closures precomputed, {} contexts) {}",
                p.len(),
                ms(t.elapsed())
            ));
            let (run, err) = peer_run(&mut p, &ward_outcomes);
            if let Some(e) = err {
                notes.push(format!("cel: {e}"));
            }
            rows.push((p.describe(), run, String::new()));
        }
        Err(e) => notes.push(format!("cel not measured: {e}")),
    }
    eprintln!("cel done ({:.0?})", started.elapsed());
    let _ = writeln!(
        out,
        "## Peers on the common subset (N = 1, {} requests)\n",
        thousands(subset_specs.len())
    );
    let _ = writeln!(
        out,
        "Common subset: the 12 rules of `bench/scenario/common.ward` over `disable_account`, `patch_host` and `rotate_secret` (attribute comparisons, executive titles, closure over `reports_to` — the CFO's organisation —, closure over `~depends_on` — revenue-critical blast radius —, the year-end freeze, hour of day, duration comparison, set intersection; literal approvers).\n"
    );
    // Per row: mean (loop) and p50 (individually timed), for the ratios against Ward.
    let stats: Vec<(f64, Percentiles)> = rows
        .iter_mut()
        .map(|(_, run, _)| {
            let mean = run.mean_ns();
            (mean, Percentiles::of(&mut run.latency_ns, overhead))
        })
        .collect();
    // The speed-ups are against the two JIT rows of the protocol.
    let find = |label: &str| {
        rows.iter()
            .zip(&stats)
            .find(|((n, _, _), _)| n == label)
            .map(|(_, (mean, p))| (*mean, p.p50))
    };
    let wards: Vec<(&str, (f64, f64))> = [
        "Ward jit (precomputed)",
        "Ward jit (warm)",
        "Ward jit (cold)",
    ]
    .into_iter()
    .filter_map(|n| find(n).map(|m| (n, m)))
    .collect();
    let _ = write!(
        out,
        "| engine | decisions/s | mean | p50 | p99 | disagreements with Ward interp |"
    );
    for (n, _) in &wards {
        let n = n.trim_start_matches("Ward ");
        let _ = write!(out, " ÷ {n} (mean) | ÷ {n} (p50) |");
    }
    let _ = writeln!(out);
    let _ = write!(out, "|---|---:|---:|---:|---:|---:|");
    for _ in &wards {
        let _ = write!(out, "---:|---:|");
    }
    let _ = writeln!(out);
    for ((name, run, note), (mean, p)) in rows.iter().zip(&stats) {
        let _ = write!(
            out,
            "| {name} | {} | {} | {} | {} | {} |",
            rate(run.per_second()),
            nanos(*mean),
            nanos(p.p50),
            nanos(p.p99),
            if note.is_empty() {
                run.disagreements.to_string()
            } else {
                note.clone()
            },
        );
        for (_, (w_mean, w_p50)) in &wards {
            let _ = write!(
                out,
                " {:.1}× | {:.1}× |",
                mean / w_mean.max(1e-9),
                p.p50 / w_p50.max(1e-9)
            );
        }
        let _ = writeln!(out);
        if let Some(d) = &run.first_disagreement {
            notes.push(format!("first disagreement of {name}: {d}"));
        }
    }
    let _ = writeln!(
        out,
        "\n`÷ X` = the row's time per decision / X's (> 1: X is faster), from the loop's means and from the medians of the individually timed decisions. Ward rows: {PROTOCOL} `every message read`: after each decision every fired rule's message is rendered (a decision keeps the fired rules and the values of the messages' holes; its text is rendered when read or serialized). The hand-written rows decide every request of the stream and are compared with Ward's interpreter on each: decision, approvers, fired rules and every message. Peers' paths: Cedar through `Authorizer::is_authorized` with prebuilt `Request`s, identities and assets as entities, `reports_to` and the reversed `depends_on` as entity parents and `Tag::\"revenue-critical\"` as a parent of tagged assets, time as `datetime`/`duration` context attributes; Rego compiled to regorus' RVM (`RegoVM::execute`, data loaded once, prebuilt inputs, time as Unix seconds); CEL with one compiled `Program` per action and a prebuilt `Context` per request. Every peer outcome (decision + approvers) is compared with Ward's interpreter on the same request.\n"
    );
    let _ = writeln!(
        out,
        "What each engine precomputes (untimed) and pays per request (timed):\n\n\
- **Ward** (both engines): at load, the store (columns, interned strings, relation indexes in CSR form); the closures the program takes (`reports_to`, `~depends_on`) for every entity, bottom-up over the condensed graph (timed in the load rows; a closure only counted is not computed: its size needs none). The JIT also memoizes, per snapshot and entity, conditions that do not depend on the request (the executive-title test, the tag intersection, closure membership, string comparisons of attributes); for `jit (precomputed)`, `Engine::precompute` computed them for every entity before the pass (untimed here; its time is in the Scaling section). Per request: the rules of the action on the prebuilt `Request`, the combination, the fired rules and the holes' values (messages rendered only when read).\n\
- **hand-written Rust**: at setup, per identity whether it is a finance executive, in the CFO's organisation, a privileged admin, an automation agent; per asset whether it is a crown jewel, holds regulated data, and whether its blast radius (or itself) is revenue-critical — every closure and every string test is precomputed. Per request: a few boolean tests, the freeze and hour tests, combining with approvers as a bit set; the rendering variant writes each fired rule's message into a `String` (`write!`).\n\
- **Cedar**: at setup, the entities with their transitive closure (`Entities` computes it). Per request: `is_authorized` over all policies of the prebuilt request (the closure is a lookup).\n\
- **regorus**: at setup, the data document and the RVM program. Per request: the input is set and the program executed; without precomputation `graph.reachable` walks the manager chain and the blast radius per request; with closures precomputed in `data`, an identity's manager chain and an asset's blast-radius tags are lists in `data`.\n\
- **CEL**: at setup, one program per action and a context per request with both closures precomputed (manager chain, blast-radius tags). Per request: `execute` of the action's program on its prebuilt context.\n"
    );
    // The targets of the issue, as measured in this run (means of the loops).
    let mean_of = |label: &str| find(label).map(|(m, _)| m);
    let ratio = |a: &str, b: &str| mean_of(a).zip(mean_of(b)).map(|(a, b)| a / b.max(1e-9));
    let targets: [(&str, &str, &str, bool, f64); 11] = [
        (
            "Ward jit (precomputed)",
            "hand-written Rust",
            "≤",
            true,
            2.0,
        ),
        (
            "Ward jit (precomputed), every message read",
            "hand-written Rust, messages rendered",
            "≤",
            true,
            1.5,
        ),
        ("Cedar", "Ward jit (precomputed)", "≥", false, 40.0),
        ("cel", "Ward jit (precomputed)", "≥", false, 10.0),
        ("Ward jit (warm)", "hand-written Rust", "≤", true, 2.0),
        (
            "Ward jit (warm), every message read",
            "hand-written Rust, messages rendered",
            "≤",
            true,
            1.5,
        ),
        ("Ward jit (cold)", "hand-written Rust", "≤", true, 10.0),
        ("Cedar", "Ward jit (warm)", "≥", false, 40.0),
        ("cel", "Ward jit (warm)", "≥", false, 10.0),
        ("Cedar", "Ward jit (cold)", "≥", false, 10.0),
        ("cel", "Ward jit (cold)", "≥", false, 2.0),
    ];
    let _ = writeln!(
        out,
        "Targets (ratios of the loops' means in this run):\n\n| ratio | measured | target | met |\n|---|---:|---:|---|"
    );
    for (a, b, op, at_most, want) in targets {
        // Peers are named by the start of their row.
        let full = |n: &str| {
            rows.iter()
                .map(|(name, _, _)| name.as_str())
                .find(|name| *name == n || name.starts_with(n))
                .map(str::to_owned)
        };
        let (Some(fa), Some(fb)) = (full(a), full(b)) else {
            continue;
        };
        let Some(r) = ratio(&fa, &fb) else { continue };
        let met = if at_most { r <= want } else { r >= want };
        let _ = writeln!(
            out,
            "| {a} ÷ {b} | {r:.2}× | {op} {want}× | {} |",
            if met { "yes" } else { "no" }
        );
    }
    let _ = writeln!(out);
    for s in setup_notes {
        let _ = writeln!(out, "- {s}");
    }
    let _ = writeln!(out);
    drop(subset_engines);
    engines1.clear();
    drop(text);

    // ---------------------------------------------------------------- scaling
    let _ = writeln!(
        out,
        "## Scaling ({} requests per scale)\n",
        thousands(config.scaling_requests)
    );
    let _ = writeln!(
        out,
        "The {}-request run is the N = 1 Decide section above; scaling uses {} requests per scale so the whole run stays at a few minutes (N = 16 holds 800,000 assets and loads for several seconds per snapshot). Precomputed and warm rows, with the protocol of the Decide section (a fresh snapshot per timed pass, its memos filled by another seed's stream, and for `(precomputed)` by `Engine::precompute` first). `precompute` = the time of `Engine::precompute` on a fresh JIT snapshot of the scale, on one thread (in `ward serve` it runs on a thread of its own after each load while requests are decided).\n",
        thousands(config.requests),
        thousands(config.scaling_requests)
    );
    let _ = writeln!(
        out,
        "| N | identities | assets | edges | JSON | load | retained | peak | precompute | engine | decisions/s | mean | p50 | p99 | mean vs N = 1 | disagreements |"
    );
    let _ = writeln!(
        out,
        "|---:|---:|---:|---:|---:|---:|---:|---:|---:|---|---:|---:|---:|---:|---:|---:|"
    );
    let mut base: Vec<(String, f64)> = Vec::new();
    for &n in &config.scales {
        let estate = if n == 1 {
            estate.clone()
        } else {
            Estate::generate(n, ESTATE_SEED)
        };
        let text = estate.to_json();
        let engines_n = engines(&program, &mut Vec::new());
        // Only the first engine holds the estate (requests are parsed on it); every timed
        // pass gets a fresh snapshot of its own.
        if let Some((_, e, _)) = engines_n.first() {
            load(e, &text);
        }
        let fresh = load_in_child(n, 3);
        let precompute_time = engines_n
            .iter()
            .find(|(kind, _, _)| *kind == EngineKind::Jit)
            .map(|(_, e, _)| twin(e, &text, Memo::Cold, &[]).precompute().elapsed);
        if let Err(e) = &fresh {
            notes.push(format!("scale {n}: {e}"));
        }
        let specs = requests::generate(&estate, config.scaling_requests, REQUEST_SEED ^ n as u64);
        let warm_specs = requests::generate(&estate, WARM_REQUESTS, REQUEST_SEED ^ WARM_SEED);
        let rows_n = rows_for(&engines_n, false);
        let runs = decide_all(
            &engines_n,
            &rows_n,
            &estate,
            &text,
            &specs,
            &warm_specs,
            config.scaling_requests,
        );
        for (row, mut run) in rows_n.iter().zip(runs) {
            let kind = &engines_n[row.engine].0;
            let mean = run.mean_ns();
            if n == config.scales[0] {
                base.push((row.label.clone(), mean));
            }
            let rel = base
                .iter()
                .find(|(b, _)| *b == row.label)
                .map_or(1.0, |(_, b)| mean / b);
            let p = Percentiles::of(&mut run.latency_ns, overhead);
            let l = fresh.as_ref().ok();
            let _ = writeln!(
                out,
                "| {n} | {} | {} | {} | {} MiB | {} | {} | {} | {} | {} | {} | {} | {} | {} | {rel:.2}× | {} |",
                thousands(estate.identities.len()),
                thousands(estate.assets.len()),
                thousands(estate.edge_count()),
                text.len() / (1 << 20),
                l.map_or("?".into(), |l| ms(l.time)),
                l.and_then(|l| l.retained_kib).map_or("?".into(), mib),
                l.and_then(|l| l.peak_kib).map_or("?".into(), mib),
                precompute_time.map_or("?".into(), ms),
                row.label,
                rate(run.per_second()),
                nanos(mean),
                nanos(p.p50),
                nanos(p.p99),
                if *kind == EngineKind::Interp {
                    "(reference)".into()
                } else {
                    run.disagreements.to_string()
                },
            );
        }
        eprintln!("scale {n} done ({:.0?})", started.elapsed());
    }
    let _ = writeln!(
        out,
        "\nThe assets of scale N are N regions of 50,000 with the same shape, so the requests' blast radii are distributed alike at every N; load time and memory are one interpreter engine's, measured in a fresh process (see Load); each engine decides against its own snapshot.\n"
    );

    if !notes.is_empty() {
        let _ = writeln!(out, "## Notes\n");
        for n in &notes {
            let _ = writeln!(out, "- {n}");
        }
        let _ = writeln!(out);
    }
    let _ = writeln!(
        out,
        "## Instructions per decision (callgrind)\n\n{CALLGRIND_NOTE}\n"
    );
    let _ = writeln!(
        out,
        "Total benchmark wall time: {:.0} s; peak resident memory during the last scale {}.",
        started.elapsed().as_secs_f64(),
        measure::status_kib("VmHWM").map_or("?".into(), mib)
    );

    println!("{out}");
    let path = if config.quick {
        concat!(env!("CARGO_MANIFEST_DIR"), "/../target/benchmarks-quick.md")
    } else {
        concat!(env!("CARGO_MANIFEST_DIR"), "/../docs/benchmarks.md")
    };
    match std::fs::write(path, &out) {
        Ok(()) => eprintln!("wrote {path}"),
        Err(e) => eprintln!("could not write {path}: {e}"),
    }
}

/// Per action: how many requests, and each engine's mean, p50 and p99 of the individually
/// timed decisions (`latency_ns` is in the order of `specs`).
fn per_action(rows: &[Row], runs: &[Run], specs: &[RequestSpec], overhead: f64) -> String {
    let mut out = String::new();
    let _ = write!(out, "| action | requests |");
    for row in rows {
        let _ = write!(out, " {k} mean | {k} p50 | {k} p99 |", k = row.label);
    }
    let _ = writeln!(out);
    let _ = write!(out, "|---|---:|");
    for _ in rows {
        let _ = write!(out, "---:|---:|---:|");
    }
    let _ = writeln!(out);
    for action in requests::Action::ALL {
        let idx: Vec<usize> = (0..specs.len())
            .filter(|&i| specs[i].action == action)
            .collect();
        let _ = write!(out, "| `{}` | {} |", action.name(), thousands(idx.len()));
        for run in runs {
            let mut lat: Vec<u32> = idx
                .iter()
                .filter_map(|&i| run.latency_ns.get(i).copied())
                .collect();
            let p = Percentiles::of(&mut lat, overhead);
            let _ = write!(
                out,
                " {} | {} | {} |",
                nanos(p.mean),
                nanos(p.p50),
                nanos(p.p99)
            );
        }
        let _ = writeln!(out);
    }
    let _ = writeln!(
        out,
        "\nPer action, from the individually timed decisions (clock cost subtracted; their mean is a little above the loop's).\n"
    );
    out
}

fn write_load_header(out: &mut String) {
    let _ = writeln!(
        out,
        "| identities | assets | depends_on edges | JSON | load time | retained memory | peak during load |"
    );
    let _ = writeln!(out, "|---:|---:|---:|---:|---:|---:|---:|");
}

fn write_load_row(out: &mut String, estate: &Estate, text: &str, l: &Load) {
    let _ = writeln!(
        out,
        "| {} | {} | {} | {:.1} MiB | {} | {} | {} |",
        thousands(estate.identities.len()),
        thousands(estate.assets.len()),
        thousands(estate.edge_count()),
        text.len() as f64 / (1 << 20) as f64,
        ms(l.time),
        l.retained_kib.map_or("?".into(), mib),
        l.peak_kib.map_or("?".into(), mib),
    );
}
