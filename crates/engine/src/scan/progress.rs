//! Rate-limited progress reporting shared by the walk and hashing threads.

use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Instant;

use super::ScanProgress;

/// Minimum time between two progress callbacks, so a fast scan does not flood the UI.
const INTERVAL_MS: u64 = 50;

pub(crate) struct Ticker<'a> {
    start: Instant,
    /// Milliseconds since `start` of the last callback.
    last_ms: AtomicU64,
    files: AtomicU64,
    bytes: AtomicU64,
    callback: &'a (dyn Fn(ScanProgress) + Sync),
}

impl<'a> Ticker<'a> {
    pub(crate) fn new(callback: &'a (dyn Fn(ScanProgress) + Sync)) -> Self {
        Ticker {
            start: Instant::now(),
            last_ms: AtomicU64::new(0),
            files: AtomicU64::new(0),
            bytes: AtomicU64::new(0),
            callback,
        }
    }

    pub(crate) fn add_file(&self) {
        self.files.fetch_add(1, Ordering::Relaxed);
        self.maybe_emit();
    }

    pub(crate) fn add_bytes(&self, n: u64) {
        self.bytes.fetch_add(n, Ordering::Relaxed);
        self.maybe_emit();
    }

    pub(crate) fn bytes(&self) -> u64 {
        self.bytes.load(Ordering::Relaxed)
    }

    /// Calls back if the interval has passed; the compare-exchange lets exactly one
    /// thread win each interval, so concurrent threads never double-report.
    fn maybe_emit(&self) {
        let now = self.start.elapsed().as_millis() as u64;
        let last = self.last_ms.load(Ordering::Relaxed);
        if now < last + INTERVAL_MS {
            return;
        }
        if self
            .last_ms
            .compare_exchange(last, now, Ordering::Relaxed, Ordering::Relaxed)
            .is_ok()
        {
            self.emit();
        }
    }

    /// Unconditional report (the final one, so callers always see the totals).
    pub(crate) fn emit(&self) {
        (self.callback)(ScanProgress {
            files: self.files.load(Ordering::Relaxed),
            bytes_hashed: self.bytes.load(Ordering::Relaxed),
        });
    }
}
