//! The server's clock, passed in: production reads the system time, tests set it.
//!
//! Time is the server's (docs/server.md): a request's `now` is this clock when the request
//! arrives. This module knows nothing of requests.

use std::fmt::Debug;
use std::sync::atomic::{AtomicI64, Ordering};

pub use ward_log::clock::{Clock, SystemClock};

/// A clock that only moves when told to (tests).
#[derive(Debug, Default)]
pub struct ManualClock(AtomicI64);

impl ManualClock {
    pub fn new(ms: i64) -> ManualClock {
        ManualClock(AtomicI64::new(ms))
    }

    pub fn set(&self, ms: i64) {
        self.0.store(ms, Ordering::SeqCst);
    }

    pub fn advance(&self, ms: i64) {
        self.0.fetch_add(ms, Ordering::SeqCst);
    }
}

impl Clock for ManualClock {
    fn now_ms(&self) -> i64 {
        self.0.load(Ordering::SeqCst)
    }
}
