//! Bandwidth limits: a token bucket per direction and remote, shared by all its requests.

use std::sync::Mutex;
use std::time::{Duration, Instant};

/// Bytes move through in slices of at most this size, so a limit is smooth rather than one
/// long sleep per object, and concurrent requests share the bandwidth.
pub const SLICE: usize = 64 * 1024;

/// The bucket's arithmetic, without clocks or sleeping (unit-tested on its own).
///
/// The bucket holds up to one second of tokens (at least one slice), so an idle remote may
/// burst that much. Taking more than the bucket holds goes into debt: the caller waits until
/// the debt is paid back, and later callers wait behind it, so the average rate holds.
#[derive(Debug, Clone)]
pub struct Bucket {
    rate: f64,
    capacity: f64,
    tokens: f64,
    last: Instant,
}

impl Bucket {
    pub fn new(bytes_per_sec: u64, now: Instant) -> Bucket {
        let rate = bytes_per_sec.max(1) as f64;
        let capacity = rate.max(SLICE as f64);
        Bucket {
            rate,
            capacity,
            tokens: capacity,
            last: now,
        }
    }

    /// Takes `n` tokens at `now`; returns how long the caller must wait before using them.
    pub fn reserve(&mut self, now: Instant, n: u64) -> Duration {
        let elapsed = now.saturating_duration_since(self.last).as_secs_f64();
        self.last = self.last.max(now);
        self.tokens = (self.tokens + elapsed * self.rate).min(self.capacity);
        self.tokens -= n as f64;
        if self.tokens >= 0.0 {
            Duration::ZERO
        } else {
            Duration::from_secs_f64(-self.tokens / self.rate)
        }
    }
}

/// A bucket shared by concurrent requests.
#[derive(Debug)]
pub struct TokenBucket {
    bucket: Mutex<Bucket>,
}

impl TokenBucket {
    pub fn new(bytes_per_sec: u64) -> TokenBucket {
        TokenBucket {
            bucket: Mutex::new(Bucket::new(bytes_per_sec, Instant::now())),
        }
    }

    /// Waits until `n` bytes may move.
    pub async fn take(&self, n: usize) {
        let wait = {
            // A poisoned lock only means another request panicked mid-arithmetic; the
            // numbers are still usable.
            let mut b = self.bucket.lock().unwrap_or_else(|e| e.into_inner());
            b.reserve(Instant::now(), n as u64)
        };
        if !wait.is_zero() {
            tokio::time::sleep(wait).await;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn full_bucket_lets_a_burst_through() {
        let t0 = Instant::now();
        let mut b = Bucket::new(1_000_000, t0);
        assert_eq!(b.reserve(t0, 600_000), Duration::ZERO);
        assert_eq!(b.reserve(t0, 400_000), Duration::ZERO);
        // Empty now: the next 500 kB wait half a second.
        assert_eq!(b.reserve(t0, 500_000), Duration::from_millis(500));
    }

    #[test]
    fn tokens_refill_at_the_rate_up_to_capacity() {
        let t0 = Instant::now();
        let mut b = Bucket::new(50_000, t0);
        // Capacity is one slice when the rate is below it.
        assert_eq!(b.reserve(t0, SLICE as u64), Duration::ZERO);
        assert_eq!(b.reserve(t0, 25_000), Duration::from_millis(500));
        // Half a second later the debt is paid and nothing is left.
        let t1 = t0 + Duration::from_millis(500);
        assert_eq!(b.reserve(t1, 5_000), Duration::from_millis(100));
        // A long idle time refills only to capacity.
        let later = t0 + Duration::from_secs(3600);
        assert_eq!(b.reserve(later, SLICE as u64), Duration::ZERO);
        assert!(b.reserve(later, 1) > Duration::ZERO);
    }

    #[test]
    fn the_average_rate_holds_over_many_slices() {
        let t0 = Instant::now();
        let mut b = Bucket::new(256 * 1024, t0);
        let mut now = t0;
        let total = 10 * 1024 * 1024u64;
        let mut sent = 0;
        while sent < total {
            now += b.reserve(now, SLICE as u64);
            sent += SLICE as u64;
        }
        let secs = now.duration_since(t0).as_secs_f64();
        // 10 MiB at 256 KiB/s is 40 s, less the initial burst of one bucket (1 s).
        assert!((38.9..=40.1).contains(&secs), "{secs}");
    }

    #[test]
    fn debt_makes_concurrent_takers_queue() {
        let t0 = Instant::now();
        let mut b = Bucket::new(SLICE as u64, t0);
        assert_eq!(b.reserve(t0, SLICE as u64), Duration::ZERO);
        assert_eq!(b.reserve(t0, SLICE as u64), Duration::from_secs(1));
        assert_eq!(b.reserve(t0, SLICE as u64), Duration::from_secs(2));
    }

    #[test]
    fn clock_going_backwards_is_harmless() {
        let t0 = Instant::now() + Duration::from_secs(10);
        let mut b = Bucket::new(1000, t0);
        assert_eq!(b.reserve(t0 - Duration::from_secs(5), 1000), Duration::ZERO);
    }
}
