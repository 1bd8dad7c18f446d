//! Identifiers the server issues: ULIDs with a kind prefix (`dec_01JD…`, `rld_…`), unique and
//! ordered by time within one process (monotonic inside a millisecond), random otherwise.
//!
//! An id is a name, not a credential: nothing the server does trusts an id because a caller
//! presents it.

use std::sync::Mutex;

/// Issues time-ordered ids.
#[derive(Debug, Default)]
pub struct Ids {
    last: Mutex<(u64, u128)>,
}

/// 80 bits of ULID randomness.
const RANDOM_MASK: u128 = (1 << 80) - 1;

impl Ids {
    pub fn new() -> Ids {
        Ids::default()
    }

    /// A new id `prefix_<ULID>` at `now_ms`; later than every id issued before, even when the
    /// clock stands still or steps back.
    pub fn next(&self, prefix: &str, now_ms: i64) -> String {
        let now = u64::try_from(now_ms).unwrap_or(0);
        let (ms, random) = {
            let mut last = match self.last.lock() {
                Ok(last) => last,
                Err(poisoned) => poisoned.into_inner(),
            };
            let next = if now > last.0 {
                (now, fresh_random())
            } else if last.1 < RANDOM_MASK {
                (last.0, last.1 + 1)
            } else {
                (last.0 + 1, fresh_random())
            };
            *last = next;
            next
        };
        format!("{prefix}_{}", ulid::Ulid::from_parts(ms, random))
    }
}

fn fresh_random() -> u128 {
    let mut bytes = [0u8; 16];
    // Without the OS's randomness the id is still unique (monotonic within the process).
    let _ = getrandom::fill(&mut bytes[..10]);
    // Leave headroom for increments inside one millisecond.
    (u128::from_le_bytes(bytes) & RANDOM_MASK) >> 1
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_increase_even_within_one_millisecond_and_backwards() {
        let ids = Ids::new();
        let a = ids.next("dec", 1_796_119_200_000);
        let b = ids.next("dec", 1_796_119_200_000);
        let c = ids.next("dec", 1_796_119_199_000);
        let d = ids.next("dec", 1_796_119_200_001);
        assert!(a < b && b < c && c < d, "{a} {b} {c} {d}");
        assert!(a.starts_with("dec_01"), "{a}");
        assert_eq!(a.len(), 4 + 26);
    }
}
