//! Counters and histograms, rendered in the Prometheus text format for `GET /metrics`.
//!
//! The hot path only touches atomics (and a read lock to find an action's counters); labels
//! are the schema's action names, the three outcomes, reload results and shadow transitions,
//! so the number of series is bounded. This module knows nothing of HTTP.

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::sync::RwLock;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

/// Bucket bounds of the latency histograms, in seconds.
const BUCKETS: [f64; 14] = [
    0.000_1, 0.000_25, 0.000_5, 0.001, 0.002_5, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5,
];

/// A cumulative histogram of durations.
#[derive(Debug, Default)]
pub struct Histogram {
    buckets: [AtomicU64; BUCKETS.len()],
    count: AtomicU64,
    /// Sum in nanoseconds.
    sum_ns: AtomicU64,
}

impl Histogram {
    pub fn observe(&self, d: Duration) {
        let secs = d.as_secs_f64();
        if let Some(i) = BUCKETS.iter().position(|b| secs <= *b)
            && let Some(bucket) = self.buckets.get(i)
        {
            bucket.fetch_add(1, Ordering::Relaxed);
        }
        self.count.fetch_add(1, Ordering::Relaxed);
        self.sum_ns.fetch_add(
            u64::try_from(d.as_nanos()).unwrap_or(u64::MAX),
            Ordering::Relaxed,
        );
    }

    fn render(&self, out: &mut String, name: &str, help: &str) {
        let _ = writeln!(out, "# HELP {name} {help}");
        let _ = writeln!(out, "# TYPE {name} histogram");
        let mut cumulative = 0;
        for (bound, bucket) in BUCKETS.iter().zip(&self.buckets) {
            cumulative += bucket.load(Ordering::Relaxed);
            let _ = writeln!(out, "{name}_bucket{{le=\"{bound}\"}} {cumulative}");
        }
        let count = self.count.load(Ordering::Relaxed);
        let _ = writeln!(out, "{name}_bucket{{le=\"+Inf\"}} {count}");
        let sum = self.sum_ns.load(Ordering::Relaxed) as f64 / 1e9;
        let _ = writeln!(out, "{name}_sum {sum}");
        let _ = writeln!(out, "{name}_count {count}");
    }
}

/// The three outcomes, in the order of the counters.
pub const OUTCOMES: [&str; 3] = ["allow", "deny", "require_approval"];

/// The label value for a request whose action is not known (it did not validate).
pub const NO_ACTION: &str = "(none)";

/// Every metric the server exports.
#[derive(Debug, Default)]
pub struct Metrics {
    decisions: RwLock<BTreeMap<String, [AtomicU64; 3]>>,
    pub decision_latency: Histogram,
    pub log_write_latency: Histogram,
    pub log_lines: AtomicU64,
    pub log_failures: AtomicU64,
    pub reloads_ok: AtomicU64,
    pub reloads_failed: AtomicU64,
    /// 1 while the last reload failed (the old version is serving).
    pub reload_failing: AtomicU64,
    pub last_reload_success_ms: AtomicU64,
    shadow_flips: RwLock<BTreeMap<(&'static str, &'static str), AtomicU64>>,
    pub shadow_failures: AtomicU64,
    pub connections_open: AtomicU64,
    pub connections_rejected: AtomicU64,
    pub requests_rejected: RwLock<BTreeMap<u16, AtomicU64>>,
}

fn outcome_index(outcome: &str) -> usize {
    OUTCOMES.iter().position(|o| *o == outcome).unwrap_or(1)
}

impl Metrics {
    /// Counts one decision of `action` (or [`NO_ACTION`]) with `outcome`.
    pub fn decision(&self, action: &str, outcome: &str) {
        let idx = outcome_index(outcome);
        if let Ok(map) = self.decisions.read()
            && let Some(counters) = map.get(action)
        {
            if let Some(c) = counters.get(idx) {
                c.fetch_add(1, Ordering::Relaxed);
            }
            return;
        }
        if let Ok(mut map) = self.decisions.write() {
            let counters = map.entry(action.to_owned()).or_default();
            if let Some(c) = counters.get(idx) {
                c.fetch_add(1, Ordering::Relaxed);
            }
        }
    }

    /// Totals per outcome, over all actions.
    pub fn decisions_by_outcome(&self) -> [u64; 3] {
        let mut out = [0; 3];
        if let Ok(map) = self.decisions.read() {
            for counters in map.values() {
                for (total, c) in out.iter_mut().zip(counters) {
                    *total += c.load(Ordering::Relaxed);
                }
            }
        }
        out
    }

    /// Counts a request whose shadow decision differs from the real one.
    pub fn shadow_flip(&self, from: &'static str, to: &'static str) {
        if let Ok(map) = self.shadow_flips.read()
            && let Some(c) = map.get(&(from, to))
        {
            c.fetch_add(1, Ordering::Relaxed);
            return;
        }
        if let Ok(mut map) = self.shadow_flips.write() {
            map.entry((from, to))
                .or_default()
                .fetch_add(1, Ordering::Relaxed);
        }
    }

    /// Counts a request refused before deciding, by HTTP status.
    pub fn rejected(&self, status: u16) {
        if let Ok(map) = self.requests_rejected.read()
            && let Some(c) = map.get(&status)
        {
            c.fetch_add(1, Ordering::Relaxed);
            return;
        }
        if let Ok(mut map) = self.requests_rejected.write() {
            map.entry(status)
                .or_default()
                .fetch_add(1, Ordering::Relaxed);
        }
    }

    /// The Prometheus text exposition.
    pub fn render(&self, approvals_by_status: &[(&str, u64)], log: &ward_log::LogStats) -> String {
        let mut out = String::with_capacity(4096);
        let counter = |out: &mut String, name: &str, help: &str| {
            let _ = writeln!(out, "# HELP {name} {help}");
            let _ = writeln!(out, "# TYPE {name} counter");
        };
        let gauge = |out: &mut String, name: &str, help: &str| {
            let _ = writeln!(out, "# HELP {name} {help}");
            let _ = writeln!(out, "# TYPE {name} gauge");
        };

        counter(
            &mut out,
            "ward_decisions_total",
            "Decisions made, by action and outcome.",
        );
        if let Ok(map) = self.decisions.read() {
            for (action, counters) in map.iter() {
                for (outcome, c) in OUTCOMES.iter().zip(counters) {
                    let _ = writeln!(
                        out,
                        "ward_decisions_total{{action=\"{}\",decision=\"{outcome}\"}} {}",
                        escape(action),
                        c.load(Ordering::Relaxed)
                    );
                }
            }
        }
        self.decision_latency.render(
            &mut out,
            "ward_decision_duration_seconds",
            "Time from receiving a decision request to sending its response.",
        );

        counter(
            &mut out,
            "ward_requests_rejected_total",
            "Requests refused before deciding, by HTTP status.",
        );
        if let Ok(map) = self.requests_rejected.read() {
            for (status, c) in map.iter() {
                let _ = writeln!(
                    out,
                    "ward_requests_rejected_total{{status=\"{status}\"}} {}",
                    c.load(Ordering::Relaxed)
                );
            }
        }

        counter(
            &mut out,
            "ward_reloads_total",
            "Loads of the policy and estate after start-up, by result.",
        );
        let _ = writeln!(
            out,
            "ward_reloads_total{{result=\"ok\"}} {}",
            self.reloads_ok.load(Ordering::Relaxed)
        );
        let _ = writeln!(
            out,
            "ward_reloads_total{{result=\"failed\"}} {}",
            self.reloads_failed.load(Ordering::Relaxed)
        );
        gauge(
            &mut out,
            "ward_reload_failing",
            "1 while the last reload failed and the previous version is serving.",
        );
        let _ = writeln!(
            out,
            "ward_reload_failing {}",
            self.reload_failing.load(Ordering::Relaxed)
        );
        gauge(
            &mut out,
            "ward_reload_last_success_timestamp_seconds",
            "When the serving version was loaded.",
        );
        let _ = writeln!(
            out,
            "ward_reload_last_success_timestamp_seconds {}",
            self.last_reload_success_ms.load(Ordering::Relaxed) as f64 / 1000.0
        );

        gauge(&mut out, "ward_approvals", "Approvals by status.");
        for (status, n) in approvals_by_status {
            let _ = writeln!(out, "ward_approvals{{status=\"{status}\"}} {n}");
        }

        counter(
            &mut out,
            "ward_shadow_flips_total",
            "Requests the shadow policy decided differently, by transition.",
        );
        if let Ok(map) = self.shadow_flips.read() {
            for ((from, to), c) in map.iter() {
                let _ = writeln!(
                    out,
                    "ward_shadow_flips_total{{from=\"{from}\",to=\"{to}\"}} {}",
                    c.load(Ordering::Relaxed)
                );
            }
        }

        self.log_write_latency.render(
            &mut out,
            "ward_log_write_duration_seconds",
            "Time from queueing a decision log line until it is durable.",
        );
        counter(
            &mut out,
            "ward_log_lines_total",
            "Lines written to the decision log.",
        );
        let _ = writeln!(
            out,
            "ward_log_lines_total {}",
            self.log_lines.load(Ordering::Relaxed)
        );
        counter(
            &mut out,
            "ward_log_failures_total",
            "Log lines that could not be written (their requests were denied).",
        );
        let _ = writeln!(
            out,
            "ward_log_failures_total {}",
            self.log_failures.load(Ordering::Relaxed)
        );

        counter(
            &mut out,
            "ward_log_groups_total",
            "Groups of lines the log's writers took from the queue at once (one write and, when durable, one fdatasync each).",
        );
        let _ = writeln!(out, "ward_log_groups_total {}", log.groups);
        let _ = writeln!(
            out,
            "# HELP ward_log_fdatasync_duration_seconds How long each fdatasync of the decision log took."
        );
        let _ = writeln!(out, "# TYPE ward_log_fdatasync_duration_seconds histogram");
        let mut below = 0u64;
        for (bound_ms, n) in ward_log::SYNC_BUCKETS_MS.iter().zip(&log.syncs_by_ms) {
            below += n;
            let _ = writeln!(
                out,
                "ward_log_fdatasync_duration_seconds_bucket{{le=\"{}\"}} {below}",
                *bound_ms as f64 / 1000.0
            );
        }
        let count: u64 = log.syncs_by_ms.iter().sum();
        let _ = writeln!(
            out,
            "ward_log_fdatasync_duration_seconds_bucket{{le=\"+Inf\"}} {count}"
        );
        let _ = writeln!(
            out,
            "ward_log_fdatasync_duration_seconds_sum {}",
            log.sync_ns as f64 / 1e9
        );
        let _ = writeln!(out, "ward_log_fdatasync_duration_seconds_count {count}");

        gauge(&mut out, "ward_connections_open", "Open HTTP connections.");
        let _ = writeln!(
            out,
            "ward_connections_open {}",
            self.connections_open.load(Ordering::Relaxed)
        );
        counter(
            &mut out,
            "ward_connections_rejected_total",
            "Connections refused at the connection limit.",
        );
        let _ = writeln!(
            out,
            "ward_connections_rejected_total {}",
            self.connections_rejected.load(Ordering::Relaxed)
        );
        out
    }
}

fn escape(label: &str) -> String {
    label
        .replace('\\', "\\\\")
        .replace('"', "\\\"")
        .replace('\n', "\\n")
}
