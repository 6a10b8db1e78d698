//! Small helpers every layer may use: a poisoned-lock-tolerant `lock`, the wall clock in JS
//! milliseconds, streaming UTF-8 decoding. Nothing here imports anything else of the crate,
//! so a low module (the process core) never has to reach up for them.

pub mod utf8;

use std::sync::{Mutex, MutexGuard};
use std::time::{SystemTime, UNIX_EPOCH};

/// Locks `m`, recovering the data if a panicking thread poisoned it (the data is plain state
/// that stays consistent between statements).
pub fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(std::sync::PoisonError::into_inner)
}

/// Milliseconds since the Unix epoch, as JS `Date.now()`.
pub fn now_ms() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| u64::try_from(d.as_millis()).unwrap_or(u64::MAX))
}
