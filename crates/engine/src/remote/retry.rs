//! When and how long to wait before trying a request again.
//!
//! Every request to a remote can be repeated safely: objects are immutable and
//! content-addressed except a device's own head, which only that device writes, and every
//! request body is kept in memory until the request succeeds.

use std::sync::Arc;
use std::time::{Duration, SystemTime};

/// One retry about to happen, for progress reporting (`syncRetry` events).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RetryNotice {
    /// The attempt that just failed, from 1; attempt `attempt + 1` follows after `delay`.
    pub attempt: u32,
    pub max_attempts: u32,
    pub delay: Duration,
    /// For people: "HTTP 503 on PUT main/packs/ab/…, retrying in 1.2 s (attempt 2 of 6)".
    pub reason: String,
}

/// Called before every retry, from the remote's I/O threads: keep it quick.
pub type RetryObserver = Arc<dyn Fn(&RetryNotice) + Send + Sync>;

/// Exponential backoff with full jitter: the n-th retry waits a random time in
/// `[0, min(cap, base * 2^(n-1))]`, so clients that failed together do not retry together.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RetryPolicy {
    /// Attempts in all, the first one included.
    pub max_attempts: u32,
    pub base: Duration,
    pub cap: Duration,
    /// The longest `Retry-After` we honour. S3 signatures expire after 15 minutes and every
    /// retry resends the signed request, so the waits together must stay well below that.
    pub max_retry_after: Duration,
}

impl Default for RetryPolicy {
    fn default() -> Self {
        RetryPolicy {
            max_attempts: 6,
            base: Duration::from_millis(200),
            cap: Duration::from_secs(30),
            max_retry_after: Duration::from_secs(120),
        }
    }
}

impl RetryPolicy {
    /// The longest wait before retry number `retry` (1 for the first retry).
    pub fn ceiling(&self, retry: u32) -> Duration {
        let factor = 1u32
            .checked_shl(retry.saturating_sub(1))
            .unwrap_or(u32::MAX);
        self.base.saturating_mul(factor).min(self.cap)
    }

    /// The wait before retry number `retry`, `unit` a uniform random number in [0, 1).
    /// A server's `Retry-After` replaces the backoff (capped), since it knows best.
    pub fn delay(&self, retry: u32, retry_after: Option<Duration>, unit: f64) -> Duration {
        match retry_after {
            Some(d) => d.min(self.max_retry_after),
            None => self.ceiling(retry).mul_f64(unit.clamp(0.0, 1.0)),
        }
    }
}

/// A uniform random number in [0, 1) for jitter; the OS generator failing only costs the
/// jitter, so it falls back to the middle.
pub fn unit_random() -> f64 {
    match crate::random::u64() {
        // 53 random bits make every f64 in [0, 1) with the same spacing.
        Ok(r) => (r >> 11) as f64 / (1u64 << 53) as f64,
        Err(_) => 0.5,
    }
}

/// A `Retry-After` header: delay seconds or an HTTP date (RFC 9110 §10.2.3). A date in the
/// past means now; anything unreadable is ignored.
pub fn parse_retry_after(value: &str, now: SystemTime) -> Option<Duration> {
    let value = value.trim();
    if let Ok(secs) = value.parse::<u64>() {
        return Some(Duration::from_secs(secs));
    }
    let at = httpdate::parse_http_date(value).ok()?;
    Some(at.duration_since(now).unwrap_or(Duration::ZERO))
}

/// "1.2 s", "250 ms".
pub fn human(d: Duration) -> String {
    if d < Duration::from_secs(1) {
        format!("{} ms", d.as_millis())
    } else {
        format!("{:.1} s", d.as_secs_f64())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backoff_grows_then_caps() {
        let p = RetryPolicy::default();
        assert_eq!(p.ceiling(1), Duration::from_millis(200));
        assert_eq!(p.ceiling(2), Duration::from_millis(400));
        assert_eq!(p.ceiling(5), Duration::from_millis(3200));
        assert_eq!(p.ceiling(9), Duration::from_secs(30));
        assert_eq!(p.ceiling(200), Duration::from_secs(30));
    }

    #[test]
    fn jitter_stays_within_bounds() {
        let p = RetryPolicy::default();
        for retry in 1..10 {
            assert_eq!(p.delay(retry, None, 0.0), Duration::ZERO);
            assert!(p.delay(retry, None, 0.999_999) <= p.ceiling(retry));
            assert!(p.delay(retry, None, 7.0) <= p.ceiling(retry));
            for _ in 0..100 {
                let d = p.delay(retry, None, unit_random());
                assert!(d <= p.ceiling(retry), "{d:?} > {:?}", p.ceiling(retry));
            }
        }
        let samples: Vec<f64> = (0..1000).map(|_| unit_random()).collect();
        assert!(samples.iter().all(|u| (0.0..1.0).contains(u)));
        let mean = samples.iter().sum::<f64>() / samples.len() as f64;
        assert!((0.4..0.6).contains(&mean), "mean {mean}");
    }

    #[test]
    fn retry_after_wins_but_is_capped() {
        let p = RetryPolicy::default();
        assert_eq!(
            p.delay(1, Some(Duration::from_secs(3)), 0.5),
            Duration::from_secs(3)
        );
        assert_eq!(
            p.delay(1, Some(Duration::from_secs(86_400)), 0.5),
            Duration::from_secs(120)
        );
    }

    #[test]
    fn retry_after_parsing() {
        let now = httpdate::parse_http_date("Sun, 06 Nov 1994 08:49:37 GMT").unwrap();
        assert_eq!(parse_retry_after("2", now), Some(Duration::from_secs(2)));
        assert_eq!(
            parse_retry_after(" 120 ", now),
            Some(Duration::from_secs(120))
        );
        assert_eq!(
            parse_retry_after("Sun, 06 Nov 1994 08:50:07 GMT", now),
            Some(Duration::from_secs(30))
        );
        assert_eq!(
            parse_retry_after("Sun, 06 Nov 1994 08:00:00 GMT", now),
            Some(Duration::ZERO)
        );
        assert_eq!(parse_retry_after("soon", now), None);
        assert_eq!(parse_retry_after("-3", now), None);
        assert_eq!(parse_retry_after("1.5", now), None);
    }

    #[test]
    fn human_durations() {
        assert_eq!(human(Duration::from_millis(250)), "250 ms");
        assert_eq!(human(Duration::from_millis(1234)), "1.2 s");
    }
}
