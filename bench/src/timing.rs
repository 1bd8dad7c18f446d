//! Wall-clock timing with repetitions: the median of several runs, so one noisy run on a
//! shared machine does not decide the figure.

use std::time::{Duration, Instant};

/// Run `f` `runs` times (at least once) and return the median duration and the last result.
pub fn median<T>(runs: usize, mut f: impl FnMut() -> T) -> (Duration, T) {
    let mut times = Vec::with_capacity(runs.max(1));
    let mut last = None;
    for _ in 0..runs.max(1) {
        let start = Instant::now();
        let out = f();
        times.push(start.elapsed());
        last = Some(out);
    }
    times.sort();
    let mid = times[times.len() / 2];
    (mid, last.expect("ran at least once"))
}
