//! Measurement helpers for the benchmark report: process memory from `/proc/self/status`
//! (current and peak resident set, with the peak reset through `/proc/self/clear_refs`), the
//! cost of reading the clock, latency percentiles, and a description of the machine.
//! Linux-specific where it reads `/proc`; elsewhere the figures are reported as unknown.

use std::hint::black_box;
use std::time::Instant;

/// A field of `/proc/self/status` in KiB (`VmRSS`, `VmHWM`).
pub fn status_kib(field: &str) -> Option<u64> {
    let text = std::fs::read_to_string("/proc/self/status").ok()?;
    text.lines().find_map(|line| {
        let rest = line.strip_prefix(field)?.strip_prefix(':')?;
        rest.split_whitespace().next()?.parse().ok()
    })
}

/// Resets the peak resident set (`VmHWM`) to the current one; `false` if the kernel refused.
pub fn reset_peak() -> bool {
    std::fs::write("/proc/self/clear_refs", "5").is_ok()
}

/// Nanoseconds one `Instant::now()` pair costs, as the median of many.
pub fn timer_overhead_ns() -> f64 {
    let mut samples: Vec<u64> = (0..10_001)
        .map(|_| {
            let a = Instant::now();
            let b = black_box(Instant::now());
            b.duration_since(a).as_nanos() as u64
        })
        .collect();
    samples.sort_unstable();
    samples[samples.len() / 2] as f64
}

/// Latency percentiles of individually timed calls, in nanoseconds, timer cost subtracted.
#[derive(Clone, Copy, Debug, Default, PartialEq)]
pub struct Percentiles {
    pub p50: f64,
    pub p99: f64,
    pub mean: f64,
}

impl Percentiles {
    /// `samples` are raw nanoseconds per call (sorted in place); `overhead` is subtracted,
    /// clamped at zero.
    pub fn of(samples: &mut [u32], overhead: f64) -> Percentiles {
        if samples.is_empty() {
            return Percentiles::default();
        }
        samples.sort_unstable();
        let at = |q: f64| {
            let i = ((samples.len() as f64 - 1.0) * q).round() as usize;
            (f64::from(samples[i]) - overhead).max(0.0)
        };
        let mean = samples.iter().map(|&s| f64::from(s)).sum::<f64>() / samples.len() as f64;
        Percentiles {
            p50: at(0.50),
            p99: at(0.99),
            mean: (mean - overhead).max(0.0),
        }
    }
}

/// CPU model, core count and kernel, for the report's header.
pub fn machine() -> String {
    let cpu = std::fs::read_to_string("/proc/cpuinfo")
        .ok()
        .and_then(|t| {
            t.lines()
                .find(|l| l.starts_with("model name"))
                .and_then(|l| l.split(':').nth(1))
                .map(|s| s.trim().to_owned())
        })
        .unwrap_or_else(|| "unknown CPU".to_owned());
    let cores = std::thread::available_parallelism().map_or(0, |n| n.get());
    let kernel = std::fs::read_to_string("/proc/sys/kernel/osrelease")
        .map(|s| s.trim().to_owned())
        .unwrap_or_else(|_| "unknown".to_owned());
    let mem = std::fs::read_to_string("/proc/meminfo")
        .ok()
        .and_then(|t| {
            t.lines()
                .find(|l| l.starts_with("MemTotal"))
                .and_then(|l| l.split_whitespace().nth(1))
                .and_then(|kib| kib.parse::<u64>().ok())
        })
        .map_or_else(
            || "?".to_owned(),
            |kib| format!("{} GiB", kib / 1024 / 1024),
        );
    format!("{cpu}, {cores} cores visible, {mem} RAM, Linux {kernel}")
}

/// `git rev-parse --short HEAD` of the repository, plus `+dirty` when the tree has changes.
pub fn commit() -> String {
    let run = |args: &[&str]| {
        std::process::Command::new("git")
            .args(args)
            .current_dir(env!("CARGO_MANIFEST_DIR"))
            .output()
            .ok()
            .filter(|o| o.status.success())
            .map(|o| String::from_utf8_lossy(&o.stdout).trim().to_owned())
    };
    let head = run(&["rev-parse", "--short", "HEAD"]).unwrap_or_else(|| "unknown".to_owned());
    let dirty = run(&["status", "--porcelain"]).is_some_and(|s| !s.is_empty());
    if dirty { format!("{head}+dirty") } else { head }
}

/// Formats a rate as `1.23 M/s` or `456 k/s`.
pub fn rate(per_second: f64) -> String {
    if per_second >= 1e6 {
        format!("{:.2} M/s", per_second / 1e6)
    } else {
        format!("{:.0} k/s", per_second / 1e3)
    }
}

/// Formats nanoseconds as `850 ns` or `12.3 µs` or `4.5 ms`.
pub fn nanos(ns: f64) -> String {
    if ns < 1_000.0 {
        format!("{ns:.0} ns")
    } else if ns < 1_000_000.0 {
        format!("{:.2} µs", ns / 1e3)
    } else {
        format!("{:.2} ms", ns / 1e6)
    }
}

/// `1234567` as `1,234,567`.
pub fn thousands(n: usize) -> String {
    let digits = n.to_string();
    let mut out = String::with_capacity(digits.len() + digits.len() / 3);
    for (i, c) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i).is_multiple_of(3) {
            out.push(',');
        }
        out.push(c);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn percentiles_subtract_overhead_and_pick_ranks() {
        let mut samples: Vec<u32> = (1..=100).collect();
        let p = Percentiles::of(&mut samples, 10.0);
        assert_eq!(p.p50, 41.0);
        assert_eq!(p.p99, 89.0);
        assert!((p.mean - 40.5).abs() < 1e-9);
        assert_eq!(Percentiles::of(&mut [], 0.0), Percentiles::default());
        assert_eq!(Percentiles::of(&mut [3], 10.0).p50, 0.0);
    }

    #[test]
    fn proc_status_is_read_on_linux() {
        if cfg!(target_os = "linux") {
            assert!(status_kib("VmRSS").is_some_and(|k| k > 0));
            assert!(status_kib("NoSuchField").is_none());
        }
    }

    #[test]
    fn formatting() {
        assert_eq!(nanos(850.0), "850 ns");
        assert_eq!(nanos(12_300.0), "12.30 µs");
        assert_eq!(rate(2_500_000.0), "2.50 M/s");
        assert_eq!(rate(456_000.0), "456 k/s");
        for (n, want) in [
            (0, "0"),
            (999, "999"),
            (1_000, "1,000"),
            (1_234_567, "1,234,567"),
        ] {
            assert_eq!(thousands(n), want);
        }
    }
}
