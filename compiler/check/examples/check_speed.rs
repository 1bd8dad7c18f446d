//! Times `ward_check::compile` on a generated policy set with many rules:
//! `cargo run --release -p ward-check --example check_speed -- 10000`.

use std::fmt::Write;
use std::time::Instant;

fn main() {
    let n: usize = std::env::args()
        .nth(1)
        .and_then(|a| a.parse().ok())
        .unwrap_or(10_000);
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
    let files = vec![("gen.ward".to_string(), src)];
    let db = ward_check::Database::default();
    let set = db.policy_set(&files);
    let start = Instant::now();
    let parsed = ward_check::parse(&db, set.files(&db)[0]);
    let parse_time = start.elapsed();
    assert!(parsed.diagnostics.is_empty());
    let start = Instant::now();
    let checked = ward_check::check(&db, set);
    let check_time = start.elapsed();
    assert!(
        checked.diagnostics.is_empty(),
        "{:#?}",
        &checked.diagnostics[..checked.diagnostics.len().min(3)]
    );
    let program = checked.program.as_ref().expect("program");
    println!(
        "{n} rules: parse {parse_time:?}, check + lower {check_time:?} ({} rules, {} regexes)",
        program.rules.len(),
        program.regexes.len()
    );
}
