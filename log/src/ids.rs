//! The ids of the log's records, as `ward serve` and `ward mcp-guard` issue them: ULIDs with a
//! kind prefix (`dec_01JD…`, `rld_…`, `apr_…`), unique and ordered by time within one process
//! (monotonic inside a millisecond, even when the clock steps back), random otherwise, so that
//! an id says when it was made and the ids of one log sort in its order.
//!
//! An id is a name, not a credential: nothing trusts an id because a caller presents it.

use std::sync::Mutex;

/// Issues time-ordered ids.
#[derive(Debug)]
pub struct Ids {
    last: Mutex<(u64, u128)>,
    random: bool,
}

/// 80 bits of ULID randomness.
const RANDOM_MASK: u128 = (1 << 80) - 1;

impl Ids {
    /// Ids with random low bits (production).
    pub fn new() -> Ids {
        Ids {
            last: Mutex::new((0, 0)),
            random: true,
        }
    }

    /// Ids whose low bits count from 0 (recorded exchanges in tests compare them exactly).
    pub fn sequential() -> Ids {
        Ids {
            last: Mutex::new((0, 0)),
            random: false,
        }
    }

    /// A new id `prefix_<ULID>` at `now_ms`, later than every id issued before.
    pub fn next(&self, prefix: &str, now_ms: i64) -> String {
        let now = u64::try_from(now_ms).unwrap_or(0);
        let fresh = || if self.random { fresh_random() } else { 0 };
        let (ms, random) = {
            let mut last = match self.last.lock() {
                Ok(last) => last,
                Err(poisoned) => poisoned.into_inner(),
            };
            let next = if now > last.0 {
                (now, fresh())
            } else if last.1 < RANDOM_MASK {
                (last.0, last.1 + 1)
            } else {
                (last.0 + 1, fresh())
            };
            *last = next;
            next
        };
        format!("{prefix}_{}", ulid::Ulid::from_parts(ms, random))
    }
}

impl Default for Ids {
    fn default() -> Ids {
        Ids::new()
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
    fn ids_increase_within_a_millisecond_and_when_the_clock_steps_back() {
        for ids in [Ids::new(), Ids::sequential()] {
            let a = ids.next("dec", 1_000);
            let b = ids.next("dec", 1_000);
            let c = ids.next("dec", 999);
            assert!(a < b && b < c, "{a} {b} {c}");
            assert!(a.starts_with("dec_") && a.len() == 30);
        }
        assert_eq!(
            Ids::sequential().next("dec", 1),
            "dec_00000000010000000000000000"
        );
    }
}
