//! Compile speed: check (parse, resolve, type-check, lower) generated policy sets of growing
//! size. Run with `cargo bench -p ward-bench --bench compile`.

use ward_bench::{policy, timing};

fn main() {
    println!("| rules | source size | check + lower (median of 5) | per 1,000 rules |");
    println!("|---:|---:|---:|---:|");
    for n in [1_000usize, 10_000] {
        let text = policy::generate(n);
        let files = vec![("generated.ward".to_owned(), text.clone())];
        let (time, compiled) = timing::median(5, || ward::compile(&files));
        let errors: Vec<_> = compiled
            .diagnostics
            .iter()
            .filter(|d| d.diagnostic.is_error())
            .collect();
        assert!(
            errors.is_empty(),
            "the generated policy set does not check: {:?}",
            errors.first()
        );
        let program = compiled.program.expect("program");
        assert!(program.rules.len() >= n);
        println!(
            "| {n} | {} KiB | {:.1} ms | {:.1} ms |",
            text.len() / 1024,
            time.as_secs_f64() * 1e3,
            time.as_secs_f64() * 1e6 / n as f64
        );
    }
}
