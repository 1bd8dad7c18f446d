//! Times `ward_check` on a generated policy set with many rules:
//! `cargo run --release -p ward-check --example check_speed -- 10000 [RUNS]`.
//!
//! It writes long rules (~330 bytes each) with a distinct regular expression per rule: the
//! stress case for the parser and the checker. The realistic mix is the `compile` benchmark of
//! `ward-bench` (`cargo bench -p ward-bench --bench compile`).
//! Prints the median of RUNS (default 3) fresh-database runs: parse, then check + lower; and
//! the median time of [`ward_check::compile`] as a whole (what the `compile` benchmark times).

use std::fmt::Write;
use std::time::{Duration, Instant};

fn main() {
    let mut args = std::env::args().skip(1);
    let n: usize = args.next().and_then(|a| a.parse().ok()).unwrap_or(10_000);
    let runs: usize = args.next().and_then(|a| a.parse().ok()).unwrap_or(3);
    let src = heavy(n);
    let files = vec![("gen.ward".to_string(), src)];
    let mut parse_times = Vec::new();
    let mut check_times = Vec::new();
    let mut summary = String::new();
    for _ in 0..runs.max(1) {
        let db = ward_check::Database::default();
        let set = db.policy_set(&files);
        let start = Instant::now();
        let parsed = ward_check::parse(&db, set.files(&db)[0]);
        parse_times.push(start.elapsed());
        assert!(parsed.diagnostics.is_empty(), "{:#?}", parsed.diagnostics);
        let start = Instant::now();
        let program = ward_check::lower(&db, set);
        check_times.push(start.elapsed());
        let program = program.as_ref().expect("the generated set checks clean");
        summary = format!(
            "{} rules, {} regexes",
            program.rules.len(),
            program.regexes.len()
        );
    }
    // What the `compile` benchmark measures: `compile` from a fresh database to the end.
    let mut compile_times = Vec::new();
    for _ in 0..runs.max(1) {
        let start = Instant::now();
        let compiled = ward_check::compile(&files);
        compile_times.push(start.elapsed());
        assert!(compiled.program.is_some());
    }
    let compile = median(&mut compile_times);
    let parse = median(&mut parse_times);
    let check = median(&mut check_times);
    println!(
        "{n} heavy rules ({} KiB): parse {:.1} ms, check + lower {:.1} ms, total {:.1} ms; \
         `compile` {:.1} ms ({summary})",
        files[0].1.len() / 1024,
        parse.as_secs_f64() * 1e3,
        check.as_secs_f64() * 1e3,
        (parse + check).as_secs_f64() * 1e3,
        compile.as_secs_f64() * 1e3,
    );
}

fn median(times: &mut [Duration]) -> Duration {
    times.sort();
    times[times.len() / 2]
}

fn heavy(n: usize) -> String {
    let mut src = String::from(
        "enum Tier { crown_jewel, critical, standard }\n\
         entity Identity { name: String, title: String, manager: Identity?, groups: Set<String> }\n\
         entity Asset { tier: Tier, tags: Set<String>, owner: Identity }\n\
         relation depends_on: Asset -> Asset\n\
         context { agent: Identity, ticket: String? }\n\
         action patch_host { host: Asset, reboot: Bool, duration: Duration }\n\
         action disable_account { target: Identity, reason: String }\n\
         window prod { timezone \"America/New_York\" weekly Sat 02:00 - Sat 06:00 }\n\
         fn is_exec(i: Identity) -> Bool = i.title matches \"^(VP|Chief)\"\n\
         const revenue = [\"revenue-critical\", \"payments\"]\n",
    );
    for i in 0..n {
        let _ = writeln!(
            src,
            "rule r{i} {{ on patch_host when reboot and not fits(prod, now, duration) and host.tier == Tier::critical \
             and any a in closure(host, ~depends_on): a.tags.intersects(revenue) and is_exec(host.owner) \
             and host.owner.manager?.title ?? \"none\" != \"t{i}\" and host.owner.title matches \"^svc-{i}\" \
             require approval from host.owner because \"{{host}} needs {{duration}} ({i})\" }}"
        );
    }
    src
}
