//! `ward plan` against brute force: for every request of the conformance corpus
//! (`corpus/eval`) and of generated programs (the differential generator), the plans made
//! with the interpreter and with the JIT are identical, and the engine itself, asked at many
//! instants of the horizon, confirms them:
//!
//! - at `allow_at` the decision is `allow`, one second earlier it is not (unless `allow_at`
//!   is the request's own `at`), and no sampled instant before it is `allow`; the same for
//!   `approval_at`, whose approvers are the decision's there;
//! - `blocked_by` lists the rules denying at `at` (allowed later) or at every instant
//!   (never allowed);
//! - the whole timeline is right: at each instant where the planner says the fired rules
//!   change, the engine fires exactly those rules, one second before it fires the previous
//!   ones, and every sampled instant in between agrees with the change before it;
//! - the planner never had to fall back to asking at every second.

use serde_json::Value as Json;
use ward_ir::{EffectKind, Program, TestEntities};
use ward_runtime::decision::Decision;
use ward_runtime::engine::{Engine, EngineConfig, EngineKind};
use ward_runtime::plan::{DEFAULT_RULE, Plan, PlanOptions, Planner};
use ward_runtime::request::Request;
use ward_tests::differential::generate;
use ward_tests::{crate_dir, entries, render_diagnostics};

const HOUR: i64 = 3_600;
const DAY: i64 = 86_400;

/// What a brute-force check looked at.
#[derive(Default)]
struct Tally {
    requests: usize,
    instants: usize,
    changes: usize,
    allowed_later: usize,
    approval_later: usize,
}

fn engine(program: &Program, kind: EngineKind, entities: Option<&Json>) -> Result<Engine, String> {
    let engine = Engine::with_config(program.clone(), EngineConfig { engine: kind })
        .map_err(|e| format!("{} engine: {e}", kind.as_str()))?;
    if let Some(doc) = entities {
        engine
            .load_entities_json(doc)
            .map_err(|e| format!("entities: {e}"))?;
    }
    Ok(engine)
}

fn fired(d: &Decision) -> Vec<String> {
    d.fired().iter().map(|f| f.rule().to_string()).collect()
}

fn ts(t: i64) -> String {
    ward_ir::literal::format_timestamp(t)
}

/// Both engines for a program and its estate.
fn both(program: &Program, entities: Option<&Json>) -> Result<(Engine, Engine), String> {
    Ok((
        engine(program, EngineKind::Interp, entities)?,
        engine(program, EngineKind::Jit, entities)?,
    ))
}

/// Plans `request` with both engines and checks the plan against the interpreter's decisions
/// at run starts, one second before them and at sampled instants.
fn check(
    label: &str,
    (interp, jit): &(Engine, Engine),
    request: &Json,
    horizon: i64,
    step: i64,
    tally: &mut Tally,
) -> Result<(), String> {
    let options = PlanOptions::with_horizon(horizon).map_err(|e| e.to_string())?;
    let mut pi = Planner::new(interp, options).map_err(|e| e.to_string())?;
    let mut pj = Planner::new(jit, options).map_err(|e| e.to_string())?;
    let (a, b) = (pi.plan(request), pj.plan(request));
    let (plan, other): (Plan, Plan) = match (a, b) {
        (Ok(a), Ok(b)) => (a, b),
        (Err(a), Err(b)) if a.to_string() == b.to_string() => {
            // Not a valid request: it is an error, never a plan (and the engine denies it).
            if interp.decide(request).decision != EffectKind::Deny {
                return Err(format!("{label}: an invalid request is not denied"));
            }
            return Ok(());
        }
        (a, b) => return Err(format!("{label}: the engines disagree: {a:?} / {b:?}")),
    };
    let json = |p: &Plan| serde_json::to_string(p).unwrap_or_default();
    if plan != other {
        return Err(format!(
            "{label}: the plans differ\ninterp: {}\njit:    {}",
            json(&plan),
            json(&other)
        ));
    }
    if plan.exhaustive || pi.stats().exhaustive > 0 || pj.stats().exhaustive > 0 {
        return Err(format!("{label}: the planner fell back to every second"));
    }
    let req: Request = interp.parse_request(request).map_err(|e| e.to_string())?;
    let (at, until) = (plan.at, plan.until);
    if at != req.at || until != at + horizon.min(ward_runtime::time::MAX_TIMESTAMP + 1 - at) {
        return Err(format!("{label}: wrong span [{}, {})", ts(at), ts(until)));
    }
    let store = interp.store();
    let decide = |t: i64| {
        let mut r = req.clone();
        r.at = t;
        interp.decide_request_with(&store, &r)
    };
    let say = |what: String| format!("{label}: {what}\nplan: {}", json(&plan));

    // The timeline, with both engines.
    let timeline = pi.timeline(&req);
    let timeline_jit = pj.timeline(&jit.parse_request(request).map_err(|e| e.to_string())?);
    let summary = |tl: &[(i64, Decision)]| -> Vec<(i64, EffectKind, Vec<String>)> {
        tl.iter().map(|(t, d)| (*t, d.decision, fired(d))).collect()
    };
    if summary(&timeline) != summary(&timeline_jit) {
        return Err(say("the engines' timelines differ".into()));
    }
    match timeline.first() {
        Some((t, d)) if *t == at && *d == plan.now => {}
        _ => {
            return Err(say(
                "the timeline does not start with the decision at `at`".into()
            ));
        }
    }
    let run_at = |t: i64| -> &(i64, Decision) {
        let i = timeline.partition_point(|(s, _)| *s <= t);
        &timeline[i - 1]
    };
    for (i, (t, d)) in timeline.iter().enumerate() {
        tally.instants += 1;
        if *t >= until || (i > 0 && *t <= timeline[i - 1].0) {
            return Err(say(format!("timeline instant {} out of order", ts(*t))));
        }
        let got = decide(*t);
        if got != *d {
            return Err(say(format!("at {} the engine decides {got:?}", ts(*t))));
        }
        if i > 0 {
            tally.changes += 1;
            let before = decide(t - 1);
            let prev = &timeline[i - 1].1;
            if fired(&before) != fired(prev) || before.decision != prev.decision {
                return Err(say(format!(
                    "one second before the change at {} the engine fires {:?}, the planner says {:?}",
                    ts(*t),
                    fired(&before),
                    fired(prev)
                )));
            }
        }
    }

    // Sampled instants: a regular grid, every whole hour and the second before it, and a
    // few pseudo-random seconds.
    let mut samples: Vec<i64> = (0..)
        .map(|i| at + i * step)
        .take_while(|&t| t < until)
        .collect();
    let mut q = (at / HOUR + 1) * HOUR;
    while q < until {
        samples.extend([q - 1, q]);
        q += HOUR;
    }
    let mut seed = (at as u64) ^ 0x9e37_79b9_7f4a_7c15;
    for _ in 0..40 {
        seed = seed.wrapping_mul(6_364_136_223_846_793_005).wrapping_add(1);
        samples.push(at + ((seed >> 33) as i64).rem_euclid(until - at));
    }
    samples.retain(|&t| t >= at && t < until);
    samples.sort_unstable();
    samples.dedup();
    let mut denying_everywhere: Option<Vec<String>> = None;
    let denying = |d: &Decision| -> Vec<String> {
        if d.fired().is_empty() && d.decision == EffectKind::Deny {
            vec![DEFAULT_RULE.to_owned()]
        } else {
            d.fired()
                .iter()
                .filter(|f| f.effect() == EffectKind::Deny)
                .map(|f| f.rule().to_string())
                .collect()
        }
    };
    for &s in &samples {
        tally.instants += 1;
        let got = decide(s);
        let (_, want) = run_at(s);
        if got.decision != want.decision || fired(&got) != fired(want) {
            return Err(say(format!(
                "at {} the engine decides {} firing {:?}; the timeline says {} firing {:?}",
                ts(s),
                got.decision.as_str(),
                fired(&got),
                want.decision.as_str(),
                fired(want)
            )));
        }
        if plan.allow_at.is_none_or(|a| s < a) && got.decision == EffectKind::Allow {
            return Err(say(format!("allowed at {} before `allow_at`", ts(s))));
        }
        if plan.approval_at.is_none_or(|a| s < a) && got.decision == EffectKind::RequireApproval {
            return Err(say(format!("approval at {} before `approval_at`", ts(s))));
        }
        let d = denying(&got);
        match &mut denying_everywhere {
            None => denying_everywhere = Some(d),
            Some(all) => all.retain(|r| d.contains(r)),
        }
    }

    // The first instants themselves.
    for (first, kind) in [
        (plan.allow_at, EffectKind::Allow),
        (plan.approval_at, EffectKind::RequireApproval),
    ] {
        let Some(t) = first else {
            if timeline.iter().any(|(_, d)| d.decision == kind) {
                return Err(say(format!(
                    "the timeline has {} but the plan has none",
                    kind.as_str()
                )));
            }
            continue;
        };
        let got = decide(t);
        if got.decision != kind {
            return Err(say(format!(
                "at {} the decision is {}",
                ts(t),
                got.decision.as_str()
            )));
        }
        if kind == EffectKind::RequireApproval && got.approvers() != plan.approvers {
            return Err(say(format!(
                "approvers at {} are {:?}",
                ts(t),
                got.approvers()
            )));
        }
        if t > at {
            if decide(t - 1).decision == kind {
                return Err(say(format!(
                    "already {} one second before {}",
                    kind.as_str(),
                    ts(t)
                )));
            }
            match kind {
                EffectKind::Allow => tally.allowed_later += 1,
                _ => tally.approval_later += 1,
            }
        }
    }
    let now = decide(at);
    if now != plan.now {
        return Err(say("`now` is not the decision at `at`".into()));
    }
    let want_blocked = if plan.allow_at.is_some() {
        denying(&now)
    } else {
        let mut all = denying(&now);
        for (t, d) in &timeline {
            let _ = t;
            let d = denying(d);
            all.retain(|r| d.contains(r));
        }
        // Every sampled instant agrees.
        if let Some(everywhere) = &denying_everywhere
            && all.iter().any(|r| !everywhere.contains(r))
        {
            return Err(say(
                "a rule in `blocked_by` does not deny at every sample".into()
            ));
        }
        all
    };
    if plan.blocked_by != want_blocked {
        return Err(say(format!("`blocked_by` should be {want_blocked:?}")));
    }
    tally.requests += 1;
    Ok(())
}

/// Every request of every `test` block of the conformance corpus, over 3 days.
#[test]
fn plans_of_the_conformance_corpus_match_brute_force() {
    let dir = crate_dir().join("corpus/eval");
    let mut tally = Tally::default();
    let mut failures = Vec::new();
    for case in entries(&dir, "ward") {
        if case.is_dir() {
            continue;
        }
        let files = ward::load_policy_set(&case).expect("readable corpus file");
        let compiled = ward::compile(&files);
        let Some(program) = compiled.program.as_ref() else {
            panic!("{}:\n{}", case.display(), render_diagnostics(&compiled));
        };
        for test in &program.tests {
            let entities = match &test.entities {
                TestEntities::None => None,
                TestEntities::Inline(doc) => Some(doc.clone()),
                TestEntities::File { resolved, .. } => {
                    let text = std::fs::read_to_string(resolved).expect("readable entities");
                    Some(serde_json::from_str(&text).expect("entities are JSON"))
                }
            };
            let engines = both(program, entities.as_ref()).expect("the test's estate loads");
            for (i, c) in test.cases.iter().enumerate() {
                let label = format!("{} `{}` case {}", case.display(), test.name, i + 1);
                if let Err(why) = check(&label, &engines, &c.request, 3 * DAY, 401, &mut tally) {
                    failures.push(why);
                }
            }
        }
    }
    assert!(
        failures.is_empty(),
        "{} failures:\n{}",
        failures.len(),
        failures.join("\n\n")
    );
    assert!(
        tally.requests >= 200,
        "only {} requests planned",
        tally.requests
    );
    // The corpus exercises plans that change within the horizon, not only constant ones.
    assert!(tally.changes >= 100, "only {} changes", tally.changes);
    assert!(
        tally.allowed_later >= 10,
        "{} allowed later",
        tally.allowed_later
    );
    eprintln!(
        "{} requests, {} instants checked, {} changes, {} allowed later, {} approval later",
        tally.requests, tally.instants, tally.changes, tally.allowed_later, tally.approval_later
    );
}

/// Seeds of the differential generator planned here.
const SEEDS: u64 = 160;

/// Random programs (every IR construct, with `now` in arithmetic, comparisons, windows,
/// `hour`, `weekday` and functions), over 2 days.
#[test]
fn plans_of_generated_programs_match_brute_force() {
    let mut tally = Tally::default();
    let mut failures = Vec::new();
    for seed in 0..SEEDS {
        let case = generate::case(seed);
        let engines = both(&case.program, Some(&case.entities)).expect("the estate loads");
        for (i, request) in case.requests.iter().enumerate() {
            let label = format!("seed {seed} request {i}");
            if let Err(why) = check(&label, &engines, request, 2 * DAY, 599, &mut tally) {
                failures.push(format!(
                    "{why}\nprogram:\n{}",
                    ward_ir::print(&case.program)
                ));
            }
        }
    }
    assert!(
        failures.is_empty(),
        "{} failures:\n{}",
        failures.len(),
        failures
            .iter()
            .take(3)
            .cloned()
            .collect::<Vec<_>>()
            .join("\n\n")
    );
    assert!(tally.requests >= SEEDS as usize * 3);
    assert!(tally.changes >= 50, "only {} changes", tally.changes);
    eprintln!(
        "{} requests, {} instants checked, {} changes, {} allowed later, {} approval later",
        tally.requests, tally.instants, tally.changes, tally.allowed_later, tally.approval_later
    );
}

/// A generator of programs about time only, so that plans change often: windows in zones
/// with daylight-saving time (including Lord Howe's half-hour shift and a window that opens
/// inside New York's spring-forward gap), `except`, `between`, lines crossing midnight and the
/// week's end; conditions mixing `in`, `fits`, `remaining`, `next_open`, `hour`, `weekday`,
/// comparisons and arithmetic on `now` (with slopes other than 1, overflow and the timestamp
/// range), a function of a timestamp, a quantifier, and `allow` messages that can fail; request
/// times just before the transitions of 2026.
mod timely {
    use ward_ir::*;
    use ward_tests::differential::generate::Rng;

    const D: Type = Type::Duration;
    const T: Type = Type::Timestamp;
    const B: Type = Type::Bool;
    const I: Type = Type::Int;
    const ZONES: [&str; 5] = [
        "America/New_York",
        "Europe/London",
        "Australia/Sydney",
        "Australia/Lord_Howe",
        "UTC",
    ];
    /// Daylight-saving transitions of 2026 (UTC): New York, London, Sydney, Lord Howe.
    const TRANSITIONS: [i64; 7] = [
        1_772_953_200, // 2026-03-08T07:00:00Z New York springs forward
        1_774_746_000, // 2026-03-29T01:00:00Z London springs forward
        1_775_404_800, // 2026-04-05T16:00:00Z Sydney falls back
        1_775_401_200, // 2026-04-05T15:00:00Z Lord Howe falls back (30 min)
        1_791_129_600, // 2026-10-04T16:00:00Z Sydney springs forward
        1_792_371_600, // 2026-10-25T01:00:00Z London falls back
        1_793_512_800, // 2026-11-01T06:00:00Z New York falls back
    ];

    fn ex(ty: Type, kind: ExprKind) -> Expr {
        Expr { ty, kind }
    }
    fn bx(e: Expr) -> Box<Expr> {
        Box::new(e)
    }
    fn bin(ty: Type, op: BinOp, a: Expr, b: Expr) -> Expr {
        ex(
            ty,
            ExprKind::Binary {
                op,
                lhs: bx(a),
                rhs: bx(b),
            },
        )
    }
    fn int(ty: Type, n: i64) -> Expr {
        ex(ty, ExprKind::Int(n))
    }

    fn windows(base: i64) -> Vec<Window> {
        let w = |name: &str, tz: &str, lines, except| Window {
            name: name.into(),
            timezone: tz.into(),
            lines,
            except,
        };
        vec![
            w(
                "ny_changes",
                "America/New_York",
                vec![
                    WindowLine::Weekly {
                        start_day: 6,
                        start: 120,
                        end_day: 6,
                        end: 360,
                    },
                    WindowLine::Weekly {
                        start_day: 3,
                        start: 1320,
                        end_day: 4,
                        end: 60,
                    },
                    WindowLine::Daily {
                        start: 150,
                        end: 210,
                        days: 0b111_1111,
                    },
                ],
                vec![WindowId(3)],
            ),
            w(
                "london_hours",
                "Europe/London",
                vec![WindowLine::Daily {
                    start: 540,
                    end: 1050,
                    days: 0b001_1111,
                }],
                vec![],
            ),
            w(
                "sydney_nights",
                "Australia/Sydney",
                vec![
                    WindowLine::Daily {
                        start: 1320,
                        end: 120,
                        days: 0b111_1111,
                    },
                    WindowLine::Weekly {
                        start_day: 7,
                        start: 1380,
                        end_day: 1,
                        end: 180,
                    },
                ],
                vec![],
            ),
            w(
                "freeze",
                "UTC",
                vec![WindowLine::Between {
                    from: base + 20 * 3_600 + 17,
                    to: base + 41 * 3_600,
                }],
                vec![],
            ),
            w(
                "lord_howe",
                "Australia/Lord_Howe",
                vec![WindowLine::Daily {
                    start: 90,
                    end: 180,
                    days: 0b101_0101,
                }],
                vec![],
            ),
        ]
    }

    struct Gen<'r> {
        rng: &'r mut Rng,
        base: i64,
        /// Locals in scope: (slot, type).
        locals: Vec<(u32, Type)>,
        n_locals: u32,
        /// Inside a function body (no calls, no rule arguments).
        in_fn: bool,
    }

    impl Gen<'_> {
        fn window(&mut self) -> WindowId {
            WindowId(self.rng.below(5) as u32)
        }

        fn timestamp(&mut self, depth: u32) -> Expr {
            let now = ex(T, ExprKind::Now);
            if depth == 0 {
                return if self.rng.chance(80) {
                    self.local(&T).unwrap_or(now)
                } else {
                    let off = self.rng.below(3 * 86_400) as i64 - 3_600;
                    int(T, self.base + off)
                };
            }
            let d = depth - 1;
            match self.rng.below(7) {
                0 | 1 => {
                    let op = *self.rng.pick(&[BinOp::Add, BinOp::Sub]);
                    let (t, du) = (self.timestamp(d), self.duration(d));
                    bin(T, op, t, du)
                }
                2 => {
                    let (w, t) = (self.window(), self.timestamp(d));
                    ex(
                        T,
                        ExprKind::NextOpen {
                            window: w,
                            at: bx(t),
                        },
                    )
                }
                3 => {
                    // The idiom `t + remaining(w, t)`: the close of the current interval.
                    let w = self.window();
                    let t = self.timestamp(d);
                    let r = ex(
                        D,
                        ExprKind::Remaining {
                            window: w,
                            at: bx(t.clone()),
                        },
                    );
                    bin(T, BinOp::Add, t, r)
                }
                4 => {
                    let c = self.boolean(d);
                    let (a, b) = (self.timestamp(d), self.timestamp(d));
                    ex(
                        T,
                        ExprKind::If {
                            cond: bx(c),
                            then: bx(a),
                            otherwise: bx(b),
                        },
                    )
                }
                _ => self.timestamp(0),
            }
        }

        fn duration(&mut self, depth: u32) -> Expr {
            if depth == 0 {
                return match self.rng.below(3) {
                    0 if !self.in_fn => ex(D, ExprKind::Arg(0)),
                    _ => int(
                        D,
                        *self
                            .rng
                            .pick(&[0, 1, 59, 60, 900, 3_600, 5_400, 14_400, 86_400, -1_800]),
                    ),
                };
            }
            let d = depth - 1;
            match self.rng.below(7) {
                0 => {
                    let (a, b) = (self.timestamp(d), self.timestamp(d));
                    bin(D, BinOp::Sub, a, b)
                }
                1 => {
                    let (w, t) = (self.window(), self.timestamp(d));
                    ex(
                        D,
                        ExprKind::Remaining {
                            window: w,
                            at: bx(t),
                        },
                    )
                }
                2 => {
                    let a = self.duration(d);
                    let k = *self.rng.pick(&[2i64, -1, 3, 1_000_000_000_000_000]);
                    bin(D, BinOp::Mul, a, int(I, k))
                }
                3 => {
                    let op = *self.rng.pick(&[BinOp::Add, BinOp::Sub]);
                    let (a, b) = (self.duration(d), self.duration(d));
                    bin(D, op, a, b)
                }
                4 => ex(D, ExprKind::Neg(bx(self.duration(d)))),
                _ => self.duration(0),
            }
        }

        fn local(&mut self, ty: &Type) -> Option<Expr> {
            let slots: Vec<u32> = self
                .locals
                .iter()
                .filter(|(_, t)| t == ty)
                .map(|(s, _)| *s)
                .collect();
            if slots.is_empty() {
                return None;
            }
            let s = *self.rng.pick(&slots);
            Some(ex(ty.clone(), ExprKind::Local(LocalId(s))))
        }

        fn local_int(&mut self, part: TimePart, depth: u32) -> Expr {
            let t = self.timestamp(depth);
            let tz = (*self.rng.pick(&ZONES)).to_owned();
            ex(
                I,
                ExprKind::LocalTime {
                    part,
                    at: bx(t),
                    timezone: tz,
                },
            )
        }

        fn boolean(&mut self, depth: u32) -> Expr {
            let cmp = *self.rng.pick(&[
                BinOp::Lt,
                BinOp::Le,
                BinOp::Gt,
                BinOp::Ge,
                BinOp::Eq,
                BinOp::Ne,
            ]);
            let d = depth.saturating_sub(1);
            match self.rng.below(if depth == 0 { 3 } else { 13 }) {
                0 => {
                    let (w, t) = (self.window(), self.timestamp(d));
                    ex(
                        B,
                        ExprKind::InWindow {
                            window: w,
                            at: bx(t),
                        },
                    )
                }
                1 => {
                    let (w, t, du) = (self.window(), self.timestamp(d), self.duration(d));
                    ex(
                        B,
                        ExprKind::Fits {
                            window: w,
                            at: bx(t),
                            duration: bx(du),
                        },
                    )
                }
                2 => {
                    let h = self.local_int(TimePart::Hour, d);
                    bin(B, cmp, h, int(I, self.rng.below(24) as i64))
                }
                3 => {
                    let w = self.local_int(TimePart::Weekday, d);
                    bin(B, cmp, w, int(I, 1 + self.rng.below(7) as i64))
                }
                4 => {
                    let (a, b) = (self.duration(d), self.duration(d));
                    bin(B, cmp, a, b)
                }
                5 => {
                    let (a, b) = (self.timestamp(d), self.timestamp(d));
                    bin(B, cmp, a, b)
                }
                6 | 7 => {
                    let op = *self.rng.pick(&[BinOp::And, BinOp::Or]);
                    let (a, b) = (self.boolean(d), self.boolean(d));
                    bin(B, op, a, b)
                }
                8 => ex(B, ExprKind::Not(bx(self.boolean(d)))),
                9 if !self.in_fn => {
                    let t = self.timestamp(d);
                    ex(
                        B,
                        ExprKind::Call {
                            func: FnId(0),
                            args: vec![t],
                        },
                    )
                }
                10 => {
                    // `any h in [a, b, c]: hour(t, z) == h` (or `all`).
                    let slot = self.n_locals;
                    self.n_locals += 1;
                    let items = (0..1 + self.rng.below(3))
                        .map(|_| int(I, self.rng.below(24) as i64))
                        .collect();
                    let set = ex(Type::Set(Box::new(I)), ExprKind::Set(items));
                    let h = self.local_int(TimePart::Hour, d);
                    let body = bin(B, BinOp::Eq, h, ex(I, ExprKind::Local(LocalId(slot))));
                    ex(
                        B,
                        ExprKind::Quantifier {
                            all: self.rng.chance(30),
                            var: LocalId(slot),
                            set: bx(set),
                            body: bx(body),
                        },
                    )
                }
                _ => {
                    let (w, t) = (self.window(), self.timestamp(d));
                    ex(
                        B,
                        ExprKind::InWindow {
                            window: w,
                            at: bx(t),
                        },
                    )
                }
            }
        }
    }

    fn loc(line: u32) -> Location {
        Location {
            file: "timely.ward".into(),
            line,
            column: 1,
        }
    }

    /// Program, and the `at` and `d` of its requests.
    pub fn case(seed: u64) -> (Program, Vec<serde_json::Value>) {
        let mut rng = Rng::new(seed);
        let base = TRANSITIONS[rng.below(TRANSITIONS.len() as u64) as usize] - 2 * 86_400;
        let mut g = Gen {
            rng: &mut rng,
            base,
            locals: vec![(0, T)],
            n_locals: 1,
            in_fn: true,
        };
        let body = g.boolean(2);
        let f = Function {
            name: "f".into(),
            params: vec![T],
            ret: B,
            n_locals: g.n_locals,
            body,
        };
        let n_rules = 1 + g.rng.below(4);
        let mut rules = Vec::new();
        for r in 0..n_rules {
            let mut g = Gen {
                rng: &mut rng,
                base,
                locals: vec![],
                n_locals: 0,
                in_fn: false,
            };
            let conditions = (0..1 + g.rng.below(2))
                .map(|i| Condition {
                    source: format!("c{i}"),
                    location: loc(r as u32 + 1),
                    expr: g.boolean(2),
                })
                .collect();
            let kind = *g.rng.pick(&[
                EffectKind::Allow,
                EffectKind::Allow,
                EffectKind::Deny,
                EffectKind::RequireApproval,
            ]);
            let approvers = (kind == EffectKind::RequireApproval)
                .then(|| ex(Type::String, ExprKind::Str(format!("team-{r}"))));
            // An `allow` whose message fails does not fire: `next_open` of the freeze fails
            // once it has passed, overflow fails for large durations.
            let message = (kind == EffectKind::Allow && g.rng.chance(50)).then(|| {
                let e = if g.rng.chance(50) {
                    ex(
                        T,
                        ExprKind::NextOpen {
                            window: WindowId(3),
                            at: bx(g.timestamp(1)),
                        },
                    )
                } else {
                    g.timestamp(2)
                };
                Message {
                    parts: vec![MessagePart::Text("at ".into()), MessagePart::Expr(e)],
                }
            });
            rules.push(Rule {
                name: format!("r{r}"),
                location: loc(r as u32 + 1),
                actions: vec![ActionId(0)],
                args: vec![Field {
                    name: "d".into(),
                    ty: D,
                }],
                conditions,
                effect: Effect { kind, approvers },
                message,
                n_locals: g.n_locals,
            });
        }
        let default = *rng.pick(&[
            EffectKind::Deny,
            EffectKind::Allow,
            EffectKind::RequireApproval,
        ]);
        let program = Program {
            schema: Schema {
                actions: vec![Action {
                    name: "work".into(),
                    fields: vec![Field {
                        name: "d".into(),
                        ty: D,
                    }],
                }],
                ..Schema::default()
            },
            windows: windows(base),
            functions: vec![f],
            rules,
            default: Effect {
                kind: default,
                approvers: None,
            },
            regexes: vec![],
            tests: vec![],
        };
        let requests = (0..2)
            .map(|_| {
                let at = base + rng.below(2 * 86_400) as i64;
                let d = *rng.pick(&["0s", "30m", "1h", "3h", "2d"]);
                serde_json::json!({"action": "work", "at": literal::format_timestamp(at),
                                   "args": {"d": d}, "context": {}})
            })
            .collect();
        (program, requests)
    }
}

/// Seeds of the time-focused generator.
const TIMELY_SEEDS: u64 = 150;

#[test]
fn plans_of_time_heavy_programs_match_brute_force() {
    let mut tally = Tally::default();
    let mut failures = Vec::new();
    for seed in 0..TIMELY_SEEDS {
        let (program, requests) = timely::case(seed);
        if let Err(errors) = ward_ir::verify(&program) {
            panic!(
                "seed {seed}: the program does not verify: {errors:?}\n{}",
                ward_ir::print(&program)
            );
        }
        let engines = both(&program, None).expect("no estate to load");
        for (i, request) in requests.iter().enumerate() {
            let label = format!("timely seed {seed} request {i}");
            if let Err(why) = check(&label, &engines, request, 3 * DAY, 307, &mut tally) {
                failures.push(format!("{why}\nprogram:\n{}", ward_ir::print(&program)));
            }
        }
    }
    assert!(
        failures.is_empty(),
        "{} failures:\n{}",
        failures.len(),
        failures
            .iter()
            .take(3)
            .cloned()
            .collect::<Vec<_>>()
            .join("\n\n")
    );
    assert!(tally.changes >= 1_000, "only {} changes", tally.changes);
    assert!(
        tally.allowed_later >= 30,
        "only {} allowed later",
        tally.allowed_later
    );
    eprintln!(
        "{} requests, {} instants checked, {} changes, {} allowed later, {} approval later",
        tally.requests, tally.instants, tally.changes, tally.allowed_later, tally.approval_later
    );
}
