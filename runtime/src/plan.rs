//! Planning: for a request that is not allowed now, when it will be — the earliest instant,
//! to the second, within a horizon, at which the engine decides `allow`, the earliest at which
//! it decides `require_approval` (and who approves then), and the rules that block it.
//!
//! A decision is a pure function of the request's time, piecewise constant: it can only
//! change where a window opens or closes (shifted by the durations of `fits`, `remaining` and
//! arithmetic on `now`), where a local hour or day begins in a zone that `hour` or `weekday`
//! reads, where a comparison involving `now` flips, or where checked arithmetic on `now`
//! starts or stops overflowing. [`sense`] finds, for each rule of the request's action
//! evaluated at an instant, the first later instant at which any of these could change its
//! outcome; the planner walks from the request's `at` to the end of the horizon from one such
//! instant to the next, re-examining only the rules whose outcome may have changed, and asks
//! the engine for a decision wherever the set of rules that fire changes. Every decision of a
//! plan is the engine's own (JIT or interpreter); the walk only says where to ask.
//!
//! Exactness does not rest on the walk alone: at every instant the engine decides, the rules
//! it fired are compared with the rules the walk predicted. Should they ever differ (a bug,
//! or an engine feature the walk does not model), the plan falls back to asking the engine
//! at every second for the rest of the horizon — slow, still exact — and says so
//! ([`Plan::exhaustive`]). Parts of a program the walk cannot bound (a set literal whose
//! elements depend on `now`, a product of two durations that both depend on `now`) make it
//! re-examine that rule one second later, which is exact too ([`Plan::stepped`]).
//!
//! This module knows the IR, the engine's public API, windows and zones; nothing about the
//! CLI, JSON Lines or the service.

mod bounds;
mod sense;

use std::fmt;
use std::sync::Arc;

use regex::Regex;
use serde::Serialize;
use serde::ser::SerializeMap;
use serde_json::Value as Json;
use ward_ir::EffectKind;

use crate::decision::Decision;
use crate::engine::{Engine, EngineError};
use crate::json::StrictJsonError;
use crate::request::{Request, RequestError};
use crate::store::Store;
use crate::time::{self, DAY};
use crate::window::Windows;
use bounds::{Bounds, END_OF_TIME};
use sense::{Sense, Tables};

/// How far a plan looks ahead.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct PlanOptions {
    /// Seconds after the request's `at`; the plan covers `[at, at + horizon)`.
    pub horizon: i64,
}

impl PlanOptions {
    /// The default horizon: 14 days.
    pub const DEFAULT_HORIZON: i64 = 14 * DAY;
    /// The longest horizon: 366 days (as far as `next_open` looks).
    pub const MAX_HORIZON: i64 = 366 * DAY;

    /// Options with a horizon of `horizon` seconds, between one second and 366 days.
    pub fn with_horizon(horizon: i64) -> Result<PlanOptions, PlanError> {
        if (1..=Self::MAX_HORIZON).contains(&horizon) {
            Ok(PlanOptions { horizon })
        } else {
            Err(PlanError::Horizon(horizon))
        }
    }
}

impl Default for PlanOptions {
    fn default() -> PlanOptions {
        PlanOptions {
            horizon: Self::DEFAULT_HORIZON,
        }
    }
}

/// Why a request could not be planned.
#[derive(Debug, thiserror::Error)]
pub enum PlanError {
    /// The request text is not JSON, or repeats a key.
    #[error("{0}")]
    Json(StrictJsonError),
    /// The request does not match the schema or the estate.
    #[error("{0}")]
    Request(RequestError),
    /// The horizon is not between one second and 366 days.
    #[error("the horizon must be between 1s and 366d, got {}", time::format_duration(*.0))]
    Horizon(i64),
    /// The engine's program cannot be prepared for planning.
    #[error("{0}")]
    Program(EngineError),
}

/// When a request can run.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Plan {
    /// The request's time (`now` of its first decision).
    pub at: i64,
    /// The end of the horizon (exclusive).
    pub until: i64,
    /// The decision at `at`.
    pub now: Decision,
    /// The earliest instant in `[at, until)` at which the decision is `allow`.
    pub allow_at: Option<i64>,
    /// The earliest instant in `[at, until)` at which the decision is `require_approval`.
    pub approval_at: Option<i64>,
    /// The approvers of the decision at `approval_at` (empty when there is none).
    pub approvers: Vec<String>,
    /// When the request is allowed at some point: the rules that deny it at `at`. When it is
    /// never allowed within the horizon: the rules that deny it at every instant of it. The
    /// policy set's default counts as a rule named `default` where it decides `deny`.
    pub blocked_by: Vec<String>,
    /// Whether the plan had to ask the engine at every second (see the module doc).
    pub exhaustive: bool,
    /// Whether the program used `now` in a way the walk cannot bound (see the module doc),
    /// so that a rule was re-examined second by second for a while: exact, but slower.
    pub stepped: bool,
}

/// `{"at", "until", "now", "allow_at", "approval_at", "approvers", "blocked_by"}`, instants
/// in RFC 3339 (UTC) or `null`.
impl Serialize for Plan {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let ts = |t: Option<i64>| t.map(time::format_timestamp);
        let mut map = serializer.serialize_map(Some(7))?;
        map.serialize_entry("at", &time::format_timestamp(self.at))?;
        map.serialize_entry("until", &time::format_timestamp(self.until))?;
        map.serialize_entry("now", self.now.decision.as_str())?;
        map.serialize_entry("allow_at", &ts(self.allow_at))?;
        map.serialize_entry("approval_at", &ts(self.approval_at))?;
        map.serialize_entry("approvers", &self.approvers)?;
        map.serialize_entry("blocked_by", &self.blocked_by)?;
        map.end()
    }
}

/// What a planner did, for benchmarks and tests.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct PlanStats {
    /// Requests planned.
    pub requests: usize,
    /// Rule outcomes the walk computed (one per rule per instant it was re-examined).
    pub walks: usize,
    /// Decisions the engine made.
    pub decisions: usize,
    /// Plans that fell back to a decision per second.
    pub exhaustive: usize,
}

/// The rule that stands for the policy set's default in [`Plan::blocked_by`].
pub const DEFAULT_RULE: &str = "default";

/// Plans many requests against one engine and one estate snapshot, sharing what it learns
/// about windows between them. Not `Sync`: give each thread its own planner.
pub struct Planner<'e> {
    engine: &'e Engine,
    store: Arc<Store>,
    tables: Tables,
    /// Per action (by `ActionId`), its rules in policy order: index and argument table.
    actions: Vec<Vec<ActionRule>>,
    bounds: Bounds,
    options: PlanOptions,
    stats: PlanStats,
}

struct ActionRule {
    rule: usize,
    args: Vec<u32>,
    name: Arc<str>,
}

impl fmt::Debug for Planner<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Planner")
            .field("options", &self.options)
            .field("stats", &self.stats)
            .finish_non_exhaustive()
    }
}

impl Engine {
    /// Plans one request document (see [`Planner`]; for many requests, build one planner and
    /// reuse it). As for [`Engine::decide`], the caller owns the duplicate-key check:
    /// [`Engine::plan_str`] does it.
    ///
    /// ```
    /// use ward_ir::*;
    /// use ward_runtime::engine::Engine;
    /// use ward_runtime::plan::PlanOptions;
    ///
    /// // `window changes { daily 02:00 - 06:00 }`, `action reboot {}`, default allow and
    /// // `rule outside_window { on reboot when not (now in changes) deny }`.
    /// let now = Expr { ty: Type::Timestamp, kind: ExprKind::Now };
    /// let in_window = Expr {
    ///     ty: Type::Bool,
    ///     kind: ExprKind::InWindow { window: WindowId(0), at: Box::new(now) },
    /// };
    /// let mut program = Program::default();
    /// program.windows.push(Window {
    ///     name: "changes".into(),
    ///     timezone: "UTC".into(),
    ///     lines: vec![WindowLine::Daily { start: 2 * 60, end: 6 * 60, days: 0b111_1111 }],
    ///     except: vec![],
    /// });
    /// program.schema.actions.push(Action { name: "reboot".into(), fields: vec![] });
    /// program.default = Effect { kind: EffectKind::Allow, approvers: None };
    /// program.rules.push(Rule {
    ///     name: "outside_window".into(),
    ///     location: Location { file: "policy.ward".into(), line: 1, column: 1 },
    ///     actions: vec![ActionId(0)],
    ///     args: vec![],
    ///     conditions: vec![Condition {
    ///         source: "not (now in changes)".into(),
    ///         location: Location { file: "policy.ward".into(), line: 3, column: 8 },
    ///         expr: Expr { ty: Type::Bool, kind: ExprKind::Not(Box::new(in_window)) },
    ///     }],
    ///     effect: Effect { kind: EffectKind::Deny, approvers: None },
    ///     message: None,
    ///     n_locals: 0,
    /// });
    /// let engine = Engine::new(program)?;
    ///
    /// let plan = engine.plan_str(
    ///     r#"{"action": "reboot", "at": "2026-11-28T10:00:00Z", "args": {}, "context": {}}"#,
    ///     PlanOptions::default(),
    /// )?;
    /// assert_eq!(plan.now.decision, EffectKind::Deny);
    /// assert_eq!(plan.blocked_by, ["outside_window"]);
    /// assert_eq!(
    ///     serde_json::to_value(&plan)?,
    ///     serde_json::json!({
    ///         "at": "2026-11-28T10:00:00Z", "until": "2026-12-12T10:00:00Z", "now": "deny",
    ///         "allow_at": "2026-11-29T02:00:00Z", "approval_at": null,
    ///         "approvers": [], "blocked_by": ["outside_window"]
    ///     })
    /// );
    ///
    /// // A request that does not validate is an error, never a plan.
    /// assert!(engine.plan_str(r#"{"action": "shutdown"}"#, PlanOptions::default()).is_err());
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn plan(&self, request: &Json, options: PlanOptions) -> Result<Plan, PlanError> {
        self.planner(options)
            .map_err(PlanError::Program)?
            .plan(request)
    }

    /// Plans a request given as JSON text, parsed strictly (a duplicate key is an error).
    pub fn plan_str(&self, text: &str, options: PlanOptions) -> Result<Plan, PlanError> {
        self.planner(options)
            .map_err(PlanError::Program)?
            .plan_str(text)
    }

    /// A planner over the current estate snapshot.
    pub fn planner(&self, options: PlanOptions) -> Result<Planner<'_>, EngineError> {
        Planner::new(self, options)
    }
}

impl<'e> Planner<'e> {
    /// Prepares planning with `engine` over its current estate snapshot (a later
    /// `set_store` on the engine does not affect this planner).
    pub fn new(engine: &'e Engine, options: PlanOptions) -> Result<Planner<'e>, EngineError> {
        let program = engine.program();
        let windows = Windows::compile(&program.windows).map_err(EngineError::Window)?;
        let regexes = program
            .regexes
            .iter()
            .map(|pattern| {
                Regex::new(pattern).map_err(|e| EngineError::Regex {
                    pattern: pattern.clone(),
                    message: e.to_string(),
                })
            })
            .collect::<Result<Vec<_>, _>>()?;
        let actions = program
            .schema
            .actions
            .iter()
            .enumerate()
            .map(|(a, action)| {
                program
                    .rules
                    .iter()
                    .enumerate()
                    .filter(|(_, rule)| rule.actions.iter().any(|id| id.index() == a))
                    .map(|(i, rule)| ActionRule {
                        rule: i,
                        // The verifier guarantees every argument is a field of the action.
                        args: rule
                            .args
                            .iter()
                            .map(|arg| {
                                action
                                    .fields
                                    .iter()
                                    .position(|f| f.name == arg.name)
                                    .unwrap_or(0) as u32
                            })
                            .collect(),
                        name: Arc::from(rule.name.as_str()),
                    })
                    .collect()
            })
            .collect();
        Ok(Planner {
            engine,
            store: engine.store(),
            tables: Tables { windows, regexes },
            actions,
            bounds: Bounds::default(),
            options,
            stats: PlanStats::default(),
        })
    }

    /// What this planner did so far.
    pub fn stats(&self) -> PlanStats {
        self.stats
    }

    /// The options plans are made with.
    pub fn options(&self) -> PlanOptions {
        self.options
    }

    /// Plans a request given as JSON text, parsed strictly.
    pub fn plan_str(&mut self, text: &str) -> Result<Plan, PlanError> {
        let doc = crate::json::parse_strict(text).map_err(PlanError::Json)?;
        self.plan(&doc)
    }

    /// Plans a request document (the caller owns the duplicate-key check).
    pub fn plan(&mut self, doc: &Json) -> Result<Plan, PlanError> {
        let request =
            crate::request::parse_request(&self.engine.program().schema, &self.store, doc)
                .map_err(PlanError::Request)?;
        Ok(self.plan_request(&request))
    }

    /// Plans a request validated against this planner's snapshot ([`Planner::store`]).
    pub fn plan_request(&mut self, request: &Request) -> Plan {
        self.stats.requests += 1;
        let until = self.horizon_end(request.at);
        let mut record = Record::new(request.at, until);
        let end = self.walk(request, until, &mut |t, decision| {
            record.observe(t, decision);
            record.done()
        });
        record.exhaustive = end.exhaustive;
        record.stepped = end.stepped;
        record.finish()
    }

    /// Every change of the decision of `request` within the horizon: the instants where the
    /// set of fired rules changes, each with the engine's decision there (which holds until
    /// the next one). Starts with the decision at `at`. For tests and tools that draw a
    /// schedule; [`Planner::plan_request`] stops as soon as its answer is known.
    pub fn timeline(&mut self, request: &Request) -> Vec<(i64, Decision)> {
        let until = self.horizon_end(request.at);
        let mut out = Vec::new();
        self.walk(request, until, &mut |t, decision| {
            out.push((t, decision.clone()));
            false
        });
        out
    }

    fn horizon_end(&self, at: i64) -> i64 {
        at.saturating_add(self.options.horizon)
            .min(END_OF_TIME)
            .max(at.saturating_add(1))
    }

    /// Walks `[request.at, until)`, calling `visit` with the engine's decision at the first
    /// instant and wherever the fired rules change, until it returns `true`.
    fn walk(
        &mut self,
        request: &Request,
        until: i64,
        visit: &mut dyn FnMut(i64, &Decision) -> bool,
    ) -> WalkEnd {
        let at = request.at;
        let mut probe = request.clone();
        let engine = self.engine;
        let store = &*self.store;
        let stats = &mut self.stats;
        let mut decide = |t: i64, stats: &mut PlanStats| {
            probe.at = t;
            stats.decisions += 1;
            engine.decide_request_with(store, &probe)
        };
        let rules = self
            .actions
            .get(request.action.index())
            .map_or(&[][..], Vec::as_slice);
        let program = engine.program();
        let mut sense = Sense::new(
            program,
            store,
            &self.tables,
            &mut self.bounds,
            &request.args,
            &request.context,
            at,
            until,
        );
        // Per rule: whether it fires, and until when that is known.
        let mut states: Vec<(bool, i64)> = vec![(false, at); rules.len()];
        let mut last: Option<Vec<bool>> = None;
        let mut t = at;
        while t < until {
            let mut next = until;
            for (state, ar) in states.iter_mut().zip(rules) {
                if state.1 <= t
                    && let Some(rule) = program.rules.get(ar.rule)
                {
                    sense.now = t;
                    *state = sense.rule(rule, &ar.args);
                    stats.walks += 1;
                }
                next = next.min(state.1);
            }
            let changed = last
                .as_ref()
                .is_none_or(|l| l.iter().zip(&states).any(|(a, b)| *a != b.0));
            if changed {
                let decision = decide(t, stats);
                let predicted = rules
                    .iter()
                    .zip(&states)
                    .filter(|(_, s)| s.0)
                    .map(|(r, _)| &*r.name);
                let agrees = predicted.eq(decision.fired().iter().map(|f| f.rule()));
                if visit(t, &decision) {
                    return WalkEnd {
                        exhaustive: false,
                        stepped: sense.stepped,
                    };
                }
                if !agrees {
                    // Exact fallback: the engine at every second from here on.
                    stats.exhaustive += 1;
                    let mut s = t.saturating_add(1);
                    while s < until {
                        let decision = decide(s, stats);
                        if visit(s, &decision) {
                            break;
                        }
                        s += 1;
                    }
                    return WalkEnd {
                        exhaustive: true,
                        stepped: sense.stepped,
                    };
                }
                last = Some(states.iter().map(|s| s.0).collect());
            }
            t = next.max(t.saturating_add(1));
        }
        WalkEnd {
            exhaustive: false,
            stepped: sense.stepped,
        }
    }

    /// The estate snapshot this planner plans against.
    pub fn store(&self) -> &Arc<Store> {
        &self.store
    }
}

/// How a walk ended.
struct WalkEnd {
    exhaustive: bool,
    stepped: bool,
}

/// What the decisions of one plan add up to.
struct Record {
    at: i64,
    until: i64,
    now: Option<Decision>,
    allow_at: Option<i64>,
    approval_at: Option<i64>,
    approvers: Vec<String>,
    /// The rules denying at `at`.
    blocked_now: Vec<String>,
    /// The rules denying at every instant so far.
    throughout: Vec<String>,
    exhaustive: bool,
    stepped: bool,
}

impl Record {
    fn new(at: i64, until: i64) -> Record {
        Record {
            at,
            until,
            now: None,
            allow_at: None,
            approval_at: None,
            approvers: Vec::new(),
            blocked_now: Vec::new(),
            throughout: Vec::new(),
            exhaustive: false,
            stepped: false,
        }
    }

    /// The decision at `t`, which holds until the next observed instant.
    fn observe(&mut self, t: i64, decision: &Decision) {
        let denying: Vec<String> = if decision.fired().is_empty() {
            if decision.decision == EffectKind::Deny {
                vec![DEFAULT_RULE.to_owned()]
            } else {
                Vec::new()
            }
        } else {
            decision
                .fired()
                .iter()
                .filter(|f| f.effect() == EffectKind::Deny)
                .map(|f| f.rule().to_string())
                .collect()
        };
        if self.now.is_none() {
            self.now = Some(decision.clone());
            self.blocked_now = denying.clone();
            self.throughout = denying;
        } else {
            self.throughout.retain(|r| denying.contains(r));
        }
        match decision.decision {
            EffectKind::Allow => {
                self.allow_at.get_or_insert(t);
            }
            EffectKind::RequireApproval if self.approval_at.is_none() => {
                self.approval_at = Some(t);
                self.approvers = decision.approvers().to_vec();
            }
            _ => {}
        }
    }

    /// Nothing later can change the plan.
    fn done(&self) -> bool {
        self.allow_at.is_some() && self.approval_at.is_some()
    }

    fn finish(self) -> Plan {
        let blocked_by = if self.allow_at.is_some() {
            self.blocked_now
        } else {
            self.throughout
        };
        Plan {
            at: self.at,
            until: self.until,
            now: self
                .now
                .unwrap_or_else(|| Decision::rejected("the request was not decided")),
            allow_at: self.allow_at,
            approval_at: self.approval_at,
            approvers: self.approvers,
            blocked_by,
            exhaustive: self.exhaustive,
            stepped: self.stepped,
        }
    }
}

#[cfg(test)]
mod tests;
