//! `cargo run -p ward-check --example stack_need [SHAPE:SIZE:PASS …]`: the smallest thread stack
//! on which a compiler pass succeeds on a policy of a given shape and size, found by running
//! the pass in child processes (a stack overflow aborts the process) on threads of bisected
//! sizes. Without arguments it measures every pass at the depth budget. Build profile matters:
//! the numbers in `ARCHITECTURE.md` are for the default debug build.
//!
//! Shapes: `not` (`not … ok`), `chain` (`x.lower().lower()…`), `or` (`x == "0" or …`),
//! `const` (constants each one level deeper, declared last first), `parens` (nested brackets).
//! Passes: `parse`, `format`, `format_verify`, `compile`, `verify`, `print`.

use std::process::{Command, ExitCode, Stdio};

fn policy(shape: &str, n: usize) -> String {
    let head = "entity Host { name: String }\naction restart { host: Host, ok: Bool }\n";
    match shape {
        "not" => format!(
            "{head}rule r {{ on restart when {}ok deny }}\n",
            "not ".repeat(n)
        ),
        "chain" => format!(
            "{head}rule r {{ on restart when host.name{} == \"x\" deny }}\n",
            ".lower()".repeat(n)
        ),
        "or" => {
            let alternatives: Vec<String> =
                (0..n).map(|i| format!("host.name == \"{i}\"")).collect();
            format!(
                "{head}rule r {{ on restart when {} deny }}\n",
                alternatives.join(" or ")
            )
        }
        "const" => {
            let mut out = String::from(head);
            for i in (1..n).rev() {
                out += &format!("const c{i} = c{} + len(\"x\")\n", i - 1);
            }
            out += "const c0 = len(\"x\")\n";
            out + &format!("rule r {{ on restart when c{} > 0 deny }}\n", n - 1)
        }
        "parens" => format!(
            "{head}rule r {{ on restart when {}ok{} deny }}\n",
            "(".repeat(n),
            ")".repeat(n)
        ),
        other => panic!("unknown shape `{other}`"),
    }
}

/// Run `pass` on the policy, on a thread with `stack` bytes; panics (exit 101) when it fails.
fn child(shape: &str, n: usize, pass: &str, stack: usize) {
    let text = policy(shape, n);
    let files = vec![("p.ward".to_owned(), text.clone())];
    // The program the IR passes need, built on a big thread.
    let program = std::thread::Builder::new()
        .stack_size(256 << 20)
        .spawn({
            let files = files.clone();
            move || ward_check::compile(&files).program
        })
        .expect("a thread")
        .join()
        .expect("compiles");
    let pass = pass.to_owned();
    let worker = std::thread::Builder::new()
        .stack_size(stack)
        .spawn(move || {
            let ok = match pass.as_str() {
                "parse" => ward_syntax::parse(&text).1.is_empty(),
                "format" => ward_syntax::format(&text).is_ok(),
                "format_verify" => ward_syntax::format(&text)
                    .is_ok_and(|f| ward_syntax::format::verify(&text, &f).is_ok()),
                "compile" => ward_check::compile(&files).program.is_some(),
                "verify" => program.as_ref().is_some_and(|p| ward_ir::verify(p).is_ok()),
                "print" => program
                    .as_ref()
                    .is_some_and(|p| !ward_ir::print(p).is_empty()),
                other => panic!("unknown pass `{other}`"),
            };
            // Leak what was built: only the pass is measured, not the drop of its result.
            std::mem::forget(program);
            assert!(ok, "the pass did not succeed");
        });
    worker.expect("a thread").join().expect("the pass succeeds");
}

fn succeeds(spec: &str, stack: usize) -> bool {
    let exe = std::env::current_exe().expect("the example's path");
    Command::new(exe)
        .args(["--child", spec, &stack.to_string()])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .is_ok_and(|s| s.success())
}

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    if let [flag, spec, stack] = args.as_slice()
        && flag == "--child"
    {
        let parts: Vec<&str> = spec.split(':').collect();
        let (Some(shape), Some(n), Some(pass)) = (parts.first(), parts.get(1), parts.get(2)) else {
            return ExitCode::FAILURE;
        };
        child(
            shape,
            n.parse().expect("SIZE is a number"),
            pass,
            stack.parse().expect("a stack size"),
        );
        return ExitCode::SUCCESS;
    }
    let specs: Vec<String> = if args.is_empty() {
        [
            "not:999:parse",
            "not:999:format",
            "not:999:format_verify",
            "not:999:compile",
            "not:999:verify",
            "not:999:print",
            "chain:498:compile",
            "or:998:compile",
            "const:998:compile",
            "parens:63:parse",
        ]
        .map(str::to_owned)
        .to_vec()
    } else {
        args
    };
    for spec in specs {
        let (mut low, mut high) = (16usize << 10, 256usize << 20);
        if !succeeds(&spec, high) {
            println!("{spec}: fails even with {} MiB", high >> 20);
            continue;
        }
        while high - low > 16 << 10 {
            let mid = (low + high) / 2;
            if succeeds(&spec, mid) {
                high = mid;
            } else {
                low = mid;
            }
        }
        println!("{spec}: {} KiB", high >> 10);
    }
    ExitCode::SUCCESS
}
