//! Times `ward_check` on a generated policy set with many rules:
//! `cargo run --release -p ward-check --example check_speed -- 10000 [heavy|bench] [RUNS]`.
//!
//! `heavy` (the default) writes long rules (~330 bytes each) with a distinct regular expression
//! per rule; `bench` writes the mix of `bench/src/policy.rs` over `bench/scenario/schema.ward`
//! (the `compile` benchmark's input, repeated here because that crate pulls in the runtime).
//! Prints the median of RUNS (default 3) fresh-database runs: parse, then check + lower; and
//! the median time of [`ward_check::compile`] as a whole (what the `compile` benchmark times).

use std::fmt::Write;
use std::time::{Duration, Instant};

fn main() {
    let mut args = std::env::args().skip(1);
    let n: usize = args.next().and_then(|a| a.parse().ok()).unwrap_or(10_000);
    let mix = args.next().unwrap_or_else(|| "heavy".to_string());
    let runs: usize = args.next().and_then(|a| a.parse().ok()).unwrap_or(3);
    let src = match mix.as_str() {
        "heavy" => heavy(n),
        "bench" => bench(n),
        other => {
            eprintln!("unknown mix `{other}` (use `heavy` or `bench`)");
            std::process::exit(2);
        }
    };
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
        let checked = ward_check::check(&db, set);
        check_times.push(start.elapsed());
        assert!(
            !checked.diagnostics.iter().any(|d| d.diagnostic.is_error()),
            "{:#?}",
            &checked.diagnostics[..checked.diagnostics.len().min(3)]
        );
        let program = checked.program.as_ref().expect("program");
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
        "{n} {mix} rules ({} KiB): parse {:.1} ms, check + lower {:.1} ms, total {:.1} ms; \
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

/// The same text as `ward_bench::policy::generate(n)`.
fn bench(n: usize) -> String {
    let mut out = String::from(include_str!("../../../bench/scenario/schema.ward"));
    out.push_str("\ndefault deny\n");
    for i in 0..n {
        let dept = ["Finance", "Sales", "Engineering", "Legal", "SecOps"][i % 5];
        let rule = match i % 8 {
            0 => format!(
                "rule r{i} {{\n  on disable_account, revoke_sessions\n  when target.department == \"{dept}\" and is_exec(target)\n  require approval from \"security-oncall\"\n  because \"{{target.name}} is an executive in {dept}\"\n}}"
            ),
            1 => format!(
                "rule r{i} {{\n  on patch_host\n  when reboot and not fits(prod_changes, now, duration + {}m)\n  deny because \"reboot of {{host}} ({{duration}}) would not finish inside the change window\"\n}}",
                i % 60
            ),
            2 => format!(
                "rule r{i} {{\n  on patch_host, reboot_host\n  when host.tier == Tier::crown_jewel and revenue_impact(host)\n  require approval from host.owner\n  because \"{{host}} is a crown jewel with revenue impact\"\n}}"
            ),
            3 => format!(
                "rule r{i} {{\n  on reset_mfa\n  when target.privileged and \"admins-{}\" in target.groups\n  deny because \"{{target}} is a privileged admin\"\n}}",
                i % 17
            ),
            4 => format!(
                "rule r{i} {{\n  on disable_account\n  when in_cfo_org(target) and target.manager?.department == \"{dept}\"\n  require approval from [\"finance-security\", \"cfo-office\"]\n  because \"{{target}} is in the CFO's organisation\"\n}}"
            ),
            5 => format!(
                "rule r{i} {{\n  on rotate_secret\n  when count(closure(secret, ~depends_on)) > {} and now in year_end_freeze\n  deny because \"{{secret}} has a blast radius during the freeze\"\n}}",
                i % 100
            ),
            6 => format!(
                "rule r{i} {{\n  on change_firewall\n  when hour(now, \"Europe/Berlin\") < 6 or duration > {}h\n  require approval from \"netops\"\n  because \"firewall change of {{duration}} on {{host}}\"\n}}",
                1 + i % 6
            ),
            _ => format!(
                "rule r{i} {{\n  on quarantine_host, patch_host\n  when host.tier != Tier::sandbox and not (now in business_hours)\n  allow because \"routine work on {{host}} outside business hours\"\n}}"
            ),
        };
        let _ = writeln!(out, "{rule}");
    }
    out
}
