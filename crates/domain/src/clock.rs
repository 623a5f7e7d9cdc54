//! The server's clock, shared by everything that stamps or expires a value.

use std::{
    sync::{
        Arc,
        atomic::{AtomicI64, Ordering},
    },
    time::{Duration, SystemTime, UNIX_EPOCH},
};

/// Wall-clock time with an adjustable offset, so tests can move time forward
/// (OTP and session expiry) without sleeping.
#[derive(Clone, Default, Debug)]
pub struct Clock {
    offset_micros: Arc<AtomicI64>,
}

impl Clock {
    pub fn now_micros(&self) -> i64 {
        let real = SystemTime::now().duration_since(UNIX_EPOCH).unwrap_or_default().as_micros() as i64;
        real + self.offset_micros.load(Ordering::Relaxed)
    }

    pub fn now_secs(&self) -> i64 {
        self.now_micros().div_euclid(1_000_000)
    }

    pub fn advance(&self, by: Duration) {
        self.offset_micros.fetch_add(by.as_micros() as i64, Ordering::Relaxed);
    }
}
