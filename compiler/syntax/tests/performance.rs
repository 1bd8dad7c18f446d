//! A large generated policy parses in linear time. In release builds the 10,000-rule file
//! (about 1.1 MB) is timed; the bound asserted is loose (the machine is shared) but catches
//! quadratic work. Debug builds check a smaller file for correctness only.

use std::time::Instant;

fn policy(n_rules: usize) -> String {
    let mut text = String::from("context { agent: Identity }\n");
    for i in 0..n_rules {
        text.push_str(&format!(
            "rule r{i} {{\n  on patch_host\n  when host.tier == Tier::critical and \"t{i}\" in host.tags\n  deny because \"no {{host}}\"\n}}\n"
        ));
    }
    text
}

#[test]
fn a_large_file_parses_quickly() {
    let n_rules = if cfg!(debug_assertions) { 500 } else { 10_000 };
    let text = policy(n_rules);
    let started = Instant::now();
    let (file, diags) = ward_syntax::parse(&text);
    let elapsed = started.elapsed();
    assert!(diags.is_empty(), "{:?}", diags.first());
    assert_eq!(file.items.len(), n_rules + 1);
    eprintln!(
        "parsed {n_rules} rules ({} bytes) in {elapsed:?}",
        text.len()
    );
    if !cfg!(debug_assertions) {
        assert!(elapsed.as_secs_f64() < 1.5, "took {elapsed:?}");
    }
}
