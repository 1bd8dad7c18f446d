//! The depth budget end to end (`ward_ir::MAX_DEPTH`): policies generated in the shapes that
//! used to overflow the stack, ten times past the old crash points, get one diagnostic
//! (`E0020` from the parser, `E0178` from the checker) and never a crash, in `compile` and in
//! the formatter; the same shapes just within the budget compile, verify, print, format and
//! decide on both engines. Everything runs on threads of 2 MiB (what the test harness gives a
//! test by default) in whatever profile the suite is built in, debug included.

use serde_json::json;
use ward::Engine;
use ward_ir::MAX_DEPTH;
use ward_runtime::engine::{EngineConfig, EngineKind};

/// Run `f` on a thread with a 2 MiB stack, whatever `RUST_MIN_STACK` says.
fn on_2mib_thread<R: Send + 'static>(f: impl FnOnce() -> R + Send + 'static) -> R {
    on_thread(2 << 20, f)
}

fn on_thread<R: Send + 'static>(stack: usize, f: impl FnOnce() -> R + Send + 'static) -> R {
    std::thread::Builder::new()
        .stack_size(stack)
        .spawn(f)
        .expect("a thread starts")
        .join()
        .expect("the thread does not panic")
}

/// The stack the engines are given here: the test harness's default, as for the compiler.
/// Both sides of the budget hold on it — the compiler's passes, and the runtime's (the
/// interpreter and the JIT's lowering grow their stack through `stacker` where frames are big).
const ENGINE_STACK: usize = 2 << 20;

const HEAD: &str = "entity Host { name: String }\n\
    action restart { host: Host, n: Int, ok: Bool }\n\
    default allow\n";

/// A policy of one shape and size, and the decision it gives for [`request`].
fn policy(shape: &str, n: usize) -> String {
    let mut out = String::from(HEAD);
    match shape {
        // `not not … ok`, `n` times.
        "not" => out += &format!("rule r {{ on restart when {}ok deny }}\n", "not ".repeat(n)),
        // `host.name.lower().lower()… == "x"`, `n` calls.
        "chain" => {
            out += &format!(
                "rule r {{ on restart when host.name{} == \"x\" deny }}\n",
                ".lower()".repeat(n)
            );
        }
        // `const c0 = len("x")`, `const c1 = c0 + 1`, …: each constant one level deeper (not
        // folded: `len` is not arithmetic on constants).
        "const" => {
            out += "const c0 = len(\"x\")\n";
            for i in 1..n {
                out += &format!("const c{i} = c{} + 1\n", i - 1);
            }
            out += &format!("rule r {{ on restart when c{} > n deny }}\n", n - 1);
        }
        // `fn f1(x: Int) -> Int = f0(x)`, …, declared last first: each call one level deeper.
        "fn" => {
            for i in (1..n).rev() {
                out += &format!("fn f{i}(x: Int) -> Int = f{}(x)\n", i - 1);
            }
            out += "fn f0(x: Int) -> Int = x\n";
            out += &format!("rule r {{ on restart when f{}(n) > 0 deny }}\n", n - 1);
        }
        // The same, each function adding an operator as well: two levels a function.
        "fn_plus" => {
            for i in (1..n).rev() {
                out += &format!("fn f{i}(x: Int) -> Int = f{}(x) + 1\n", i - 1);
            }
            out += "fn f0(x: Int) -> Int = x\n";
            out += &format!("rule r {{ on restart when f{}(n) > 0 deny }}\n", n - 1);
        }
        // `window w1 { daily 09:00 - 17:00 except w0 }`, …: open when the index is even.
        "except" => {
            out += "window w0 { daily 09:00 - 17:00 }\n";
            for i in 1..n {
                out += &format!("window w{i} {{ daily 09:00 - 17:00 except w{} }}\n", i - 1);
            }
            out += &format!("rule r {{ on restart when now in w{} deny }}\n", n - 1);
        }
        other => panic!("unknown shape {other}"),
    }
    out
}

fn compile(text: &str) -> ward::Compiled {
    ward::compile(&[("deep.ward".to_owned(), text.to_owned())])
}

fn codes(compiled: &ward::Compiled) -> Vec<&'static str> {
    compiled
        .diagnostics
        .iter()
        .map(|d| d.diagnostic.code)
        .collect()
}

/// Ten times the sizes that overflowed the stack before the budget: 5,700 `not`s, a
/// 2,700-long method chain, 1,400 constants, 2,600 functions and 10,000 `except`s.
#[test]
fn ten_times_past_the_old_crash_points_is_one_diagnostic() {
    let cases = [
        ("not", 57_000, "E0020"),
        ("chain", 27_000, "E0020"),
        ("const", 14_000, "E0178"),
        ("fn", 26_000, "E0178"),
        ("except", 100_000, "E0178"),
    ];
    let mut threads = Vec::new();
    for (shape, n, code) in cases {
        threads.push(std::thread::spawn(move || {
            on_2mib_thread(move || {
                let text = policy(shape, n);
                let compiled = compile(&text);
                assert_eq!(codes(&compiled), [code], "{shape} × {n}");
                assert!(compiled.program.is_none());
                match ward_syntax::format(&text) {
                    Ok(formatted) => {
                        assert_ne!(code, "E0020", "{shape}: the formatter accepted it");
                        assert!(formatted.len() >= text.len() / 2);
                    }
                    Err(errors) => {
                        let codes: Vec<&str> = errors.iter().map(|d| d.code).collect();
                        assert_eq!(codes, [code], "{shape}: the formatter's errors");
                    }
                }
            });
        }));
    }
    for t in threads {
        t.join().expect("no shape panics");
    }
}

/// The largest policy of each shape within the budget (its size), the effective depth of its
/// condition (`ward_ir::limits::depth`, through constants, calls and windows: `MAX_DEPTH`, or
/// as close as the shape allows) and the decision it gives for [`request`].
fn just_within(shape: &str) -> (usize, usize, &'static str) {
    match shape {
        // `not`s over `ok`: 999 + 1 levels.
        "not" => (MAX_DEPTH - 1, MAX_DEPTH, "allow"),
        // The syntax tree counts each `.lower()` twice (field and call), plus the `==`, the
        // `.name` and `host`: 2 × 498 + 3 = 999 (the IR, once per call: 501).
        "chain" => (498, 501, "deny"),
        // c997 is 999 levels (`len("x")` is two), under the `>` of the rule: 1000.
        "const" => (MAX_DEPTH - 2, MAX_DEPTH, "deny"),
        // f(i) is i + 1 levels, under the call and the `>`: f997 makes 1000.
        "fn" => (MAX_DEPTH - 2, MAX_DEPTH, "deny"),
        // f(i) is 2i + 1 levels, under the call and the `>`: f498 makes 999.
        "fn_plus" => (499, MAX_DEPTH - 1, "deny"),
        // w(i) is i + 1 windows, under `in`: w998 makes 1000; it is open at 10:00.
        "except" => (MAX_DEPTH - 1, MAX_DEPTH, "deny"),
        other => panic!("unknown shape {other}"),
    }
}

fn request() -> serde_json::Value {
    json!({
        "action": "restart",
        "at": "2026-11-30T10:00:00Z",
        "args": {"host": "web-1", "n": 5, "ok": true},
        "context": {}
    })
}

#[test]
fn just_within_the_budget_compiles_and_decides_on_both_engines() {
    let mut threads = Vec::new();
    for shape in ["not", "chain", "const", "fn", "fn_plus", "except"] {
        threads.push(std::thread::spawn(move || {
            on_2mib_thread(move || {
                let (n, depth, expected) = just_within(shape);
                let text = policy(shape, n);
                let compiled = compile(&text);
                assert_eq!(codes(&compiled), Vec::<&str>::new(), "{shape} × {n}");
                let program = compiled.program.expect("a program");
                assert_eq!(ward_ir::verify(&program), Ok(()), "{shape}");
                let depths = ward_ir::Depths::of(&program);
                let deepest = program.rules[0]
                    .conditions
                    .iter()
                    .map(|c| depths.of_expr(&c.expr))
                    .max();
                assert_eq!(deepest, Some(depth), "{shape}: not at the budget");
                assert!(!ward_ir::print(&program).is_empty());
                let formatted = ward_syntax::format(&text).expect("it formats");
                assert_eq!(ward_syntax::format::verify(&text, &formatted), Ok(()));
                let decided = on_thread(ENGINE_STACK, move || {
                    [EngineKind::Interp, EngineKind::Jit].map(|engine| {
                        let engine = Engine::with_config(program.clone(), EngineConfig { engine })
                            .expect("the engine accepts a verified program");
                        engine
                            .load_entities_str(
                                r#"{"entities": {"Host": {"web-1": {"name": "X"}}}}"#,
                            )
                            .expect("the estate loads");
                        engine.decide(&request()).decision.as_str().to_owned()
                    })
                });
                assert_eq!(decided, [expected; 2], "{shape}: interpreter and JIT");
                // One more level is refused.
                let text = policy(shape, n + 1);
                let compiled = compile(&text);
                assert_eq!(codes(&compiled).len(), 1, "{shape} × {}", n + 1);
                assert!(compiled.program.is_none());
            });
        }));
    }
    for t in threads {
        t.join().expect("no shape panics");
    }
}
