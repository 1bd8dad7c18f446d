//! Checks a policy set and prints its diagnostics and IR:
//! `cargo run -p ward-check --example check_dir -- PATH`.

fn main() {
    let path = std::env::args().nth(1).unwrap_or_else(|| ".".to_string());
    let files = match ward_files::load_policy_set(std::path::Path::new(&path)) {
        Ok(files) => files,
        Err(err) => {
            eprintln!("error: {err}");
            std::process::exit(2);
        }
    };
    let out = ward_check::compile(&files);
    for d in &out.diagnostics {
        let text = out
            .files
            .iter()
            .find(|(p, _)| *p == d.file)
            .map_or("", |(_, t)| t.as_str());
        let (line, col) = ward_syntax::line_col(text, d.diagnostic.span().start);
        let snippet = text.get(d.diagnostic.span().range()).unwrap_or("");
        println!(
            "{}:{line}:{col}: {} {}  [{snippet}]",
            d.file, d.diagnostic.code, d.diagnostic.message
        );
        if let Some(help) = &d.diagnostic.help {
            println!("    help: {help}");
        }
    }
    match &out.program {
        Some(program) => {
            if let Err(errors) = ward_ir::verify(program) {
                println!("verifier: {errors:#?}");
            }
            if std::env::args().any(|a| a == "--ir") {
                println!("{}", ward_ir::print(program));
            }
            println!(
                "ok: {} rules, {} tests",
                program.rules.len(),
                program.tests.len()
            );
        }
        None => std::process::exit(1),
    }
}
