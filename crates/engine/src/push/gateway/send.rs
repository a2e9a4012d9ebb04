//! Getting one request through: the client-side limiter first, then the attempt; a 429
//! waits as long as the gateway says and asks again (never giving up: the push queues), a
//! 5xx or a connection failure is retried with exponential backoff a bounded number of times.
//! Also the concurrent runner of a wave of requests.

use std::sync::Mutex;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use time::OffsetDateTime;
use time::macros::format_description;

use super::GatewayPushError;
use super::client::Failed;
use super::pace::{Pacer, now_ms};
use crate::events::{Reporter, lock};
use crate::model::LogLevel;
use crate::remote::{RetryPolicy, human, unit_random};

/// How one request ended when it was not acknowledged.
#[derive(Debug)]
pub enum Gave {
    /// The gateway refused it for good; the others go on.
    Refused { status: u16, message: String },
    /// The local file cannot be read; the others go on.
    Local(String),
    /// The local file is gone since the scan.
    Vanished,
    /// Nothing else can succeed: stop the push.
    Fatal(GatewayPushError),
    /// The push is stopping (another request failed fatally).
    Stopped,
}

/// A 429 without `Retry-After` waits this long the first time, doubling up to
/// [`MAX_429_WAIT`].
const FIRST_429_WAIT: Duration = Duration::from_secs(5);
const MAX_429_WAIT: Duration = Duration::from_secs(600);
/// Sleeps are cut in slices this long, to notice a stop and keep the progress fresh.
const SLICE: Duration = Duration::from_millis(250);

pub struct Sender<'a> {
    pub host: String,
    pub folder: String,
    pub pacer: Option<&'a Pacer<'a>>,
    pub reporter: &'a Reporter,
    pub policy: RetryPolicy,
    pub stop: &'a AtomicBool,
    /// The resume time last logged, so concurrent requests waiting together log it once.
    logged_until: Mutex<u64>,
}

impl<'a> Sender<'a> {
    pub fn new(
        host: &str,
        folder: &str,
        pacer: Option<&'a Pacer<'a>>,
        reporter: &'a Reporter,
        stop: &'a AtomicBool,
    ) -> Sender<'a> {
        Sender {
            host: host.to_owned(),
            folder: folder.to_owned(),
            pacer,
            reporter,
            policy: RetryPolicy::default(),
            stop,
            logged_until: Mutex::new(0),
        }
    }

    /// Runs `attempt` (one request about `what`, a path for messages) until it is
    /// acknowledged or fails for good.
    pub fn run<T>(&self, what: &str, attempt: impl Fn() -> Result<T, Failed>) -> Result<T, Gave> {
        let max = self.policy.max_attempts.max(1);
        let mut failures = 0u32;
        let mut limited = 0u32;
        loop {
            if self.stop.load(Ordering::Relaxed) {
                return Err(Gave::Stopped);
            }
            let outcome = {
                let _permit = self
                    .pacer
                    .map(|p| p.acquire(&|until| self.rate_limited(until, None)));
                attempt()
            };
            match outcome {
                Ok(v) => return Ok(v),
                Err(Failed::RateLimited(after)) => {
                    limited += 1;
                    let wait = after.unwrap_or_else(|| {
                        FIRST_429_WAIT
                            .saturating_mul(1 << (limited - 1).min(10))
                            .min(MAX_429_WAIT)
                    });
                    let until = now_ms().saturating_add(wait.as_millis() as u64);
                    self.reporter.retry(&format!(
                        "HTTP 429 on {what}: the gateway's rate limit is reached; {}",
                        resuming(until)
                    ));
                    self.rate_limited(until, Some(what));
                    self.sleep(wait, Some(until));
                }
                Err(Failed::Transient(why)) => {
                    failures += 1;
                    if failures >= max {
                        return Err(Gave::Fatal(GatewayPushError::GaveUp {
                            host: self.host.clone(),
                            path: what.to_owned(),
                            reason: why,
                            attempts: failures,
                        }));
                    }
                    let delay = self.policy.delay(failures, None, unit_random());
                    self.reporter.retry(&format!(
                        "{why} on {what}, retrying in {} (attempt {} of {max})",
                        human(delay),
                        failures + 1
                    ));
                    self.sleep(delay, None);
                }
                Err(Failed::Unauthorized(message)) => {
                    return Err(Gave::Fatal(GatewayPushError::Unauthorized {
                        host: self.host.clone(),
                        folder: self.folder.clone(),
                        message,
                    }));
                }
                Err(Failed::Tls(reason)) => {
                    return Err(Gave::Fatal(GatewayPushError::Tls {
                        host: self.host.clone(),
                        reason,
                    }));
                }
                Err(Failed::Refused { status, message }) => {
                    return Err(Gave::Refused { status, message });
                }
                Err(Failed::Local(why)) => return Err(Gave::Local(why)),
                Err(Failed::Vanished) => return Err(Gave::Vanished),
            }
        }
    }

    /// Says the push waits for the rate limit: in the progress (kept fresh while waiting)
    /// and, once per resume time, in the job's log.
    fn rate_limited(&self, until: u64, what: Option<&str>) {
        let msg = resuming(until);
        self.reporter.advance(0, 0, Some(&msg));
        let mut logged = lock(&self.logged_until);
        if until.abs_diff(*logged) >= 1000 {
            *logged = until;
            drop(logged);
            let line = match what {
                Some(w) => format!("{msg} (the gateway answered 429 to {w})"),
                None => format!("{msg} (client-side limits of {})", self.host),
            };
            self.reporter.log(LogLevel::Info, &line);
        }
    }

    /// Sleeps `d` in slices, returning early when the push stops.
    fn sleep(&self, d: Duration, rate_limited_until: Option<u64>) {
        let end = Instant::now() + d;
        loop {
            let now = Instant::now();
            if now >= end || self.stop.load(Ordering::Relaxed) {
                return;
            }
            std::thread::sleep((end - now).min(SLICE));
            if let Some(until) = rate_limited_until {
                self.reporter.advance(0, 0, Some(&resuming(until)));
            }
        }
    }
}

/// "rate-limited, resuming at 14:03:07 UTC".
pub fn resuming(until_ms: u64) -> String {
    let t = OffsetDateTime::from_unix_timestamp((until_ms / 1000) as i64)
        .unwrap_or(OffsetDateTime::UNIX_EPOCH);
    let hms = t
        .format(format_description!("[hour]:[minute]:[second]"))
        .unwrap_or_default();
    format!("rate-limited, resuming at {hms} UTC")
}

/// Runs `f` on every item with up to `workers` at once; returns when all are done. Items
/// not started yet are skipped once `stop` is set.
pub fn run_wave<T: Sync>(items: &[T], workers: usize, stop: &AtomicBool, f: impl Fn(&T) + Sync) {
    let next = AtomicUsize::new(0);
    let work = || {
        loop {
            if stop.load(Ordering::Relaxed) {
                return;
            }
            let i = next.fetch_add(1, Ordering::Relaxed);
            let Some(item) = items.get(i) else {
                return;
            };
            f(item);
        }
    };
    let workers = workers.clamp(1, items.len().max(1));
    std::thread::scope(|s| {
        let mut started = 0;
        for n in 1..workers {
            match std::thread::Builder::new()
                .name(format!("gateway-push-{n}"))
                .spawn_scoped(s, work)
            {
                Ok(_) => started += 1,
                Err(e) => {
                    tracing::warn!("pushing with {started} extra threads only: {e}");
                    break;
                }
            }
        }
        // This thread works too, so a push goes on even when no thread can start.
        work();
    });
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn resume_times_read_as_clock_times() {
        assert_eq!(
            resuming(1_566_656_122_123),
            "rate-limited, resuming at 14:15:22 UTC"
        );
    }

    #[test]
    fn a_wave_runs_every_item_once_with_the_workers_given() {
        let stop = AtomicBool::new(false);
        let seen = Mutex::new(Vec::new());
        let busy = AtomicUsize::new(0);
        let peak = AtomicUsize::new(0);
        let items: Vec<u32> = (0..40).collect();
        run_wave(&items, 4, &stop, |i| {
            let now = busy.fetch_add(1, Ordering::SeqCst) + 1;
            peak.fetch_max(now, Ordering::SeqCst);
            // Lets the other workers run while this one counts as busy.
            std::thread::yield_now();
            lock(&seen).push(*i);
            busy.fetch_sub(1, Ordering::SeqCst);
        });
        let mut seen = lock(&seen).clone();
        seen.sort();
        assert_eq!(seen, items);
        assert!(peak.load(Ordering::SeqCst) <= 4);

        stop.store(true, Ordering::SeqCst);
        let count = AtomicUsize::new(0);
        run_wave(&items, 4, &stop, |_| {
            count.fetch_add(1, Ordering::SeqCst);
        });
        assert_eq!(count.load(Ordering::SeqCst), 0);
    }
}
