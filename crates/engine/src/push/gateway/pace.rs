//! The client-side rate limiter: keeps the requests to a gateway under its limits (the seed's
//! account limits unless the remote's `limits=` says otherwise), so a push waits instead of
//! drawing 429s. Hits are persisted under `push:<folder>` in `rate_hits`, so a restart keeps
//! counting.
//!
//! A request counts from the moment it is sent, and is recorded at the moment it is answered:
//! the server counts it somewhere in between, so by then the server has counted it no later
//! than we do, and our windows never end before the server's.

use std::sync::{Condvar, Mutex};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use crate::events::lock;
use crate::ratelimit::{Limiter, MAX_WINDOW, Rule};
use crate::store::{Store, StoreError};

/// How long to wait at most before looking again when only requests in flight block us.
const IN_FLIGHT_POLL: Duration = Duration::from_millis(500);

pub fn now_ms() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| u64::try_from(d.as_millis()).unwrap_or(u64::MAX))
}

/// The store key of a folder's client-side hits.
pub fn key(folder: &str) -> String {
    format!("push:{folder}")
}

pub struct Pacer<'a> {
    store: &'a Store,
    key: String,
    rules: Vec<Rule>,
    state: Mutex<State>,
    freed: Condvar,
}

struct State {
    /// Answered requests, at the time of their answer.
    done: Limiter,
    in_flight: u32,
}

/// One request allowed to go; recorded as a hit when dropped.
pub struct Permit<'p, 'a> {
    pacer: &'p Pacer<'a>,
}

impl Drop for Permit<'_, '_> {
    fn drop(&mut self) {
        self.pacer.finish();
    }
}

impl<'a> Pacer<'a> {
    /// A pacer for `folder` that starts from the hits persisted within the longest window.
    pub fn new(store: &'a Store, folder: &str, rules: Vec<Rule>) -> Result<Pacer<'a>, StoreError> {
        let key = key(folder);
        let mut done = Limiter::new();
        let since = now_ms().saturating_sub(u64::try_from(MAX_WINDOW.as_millis()).unwrap_or(0));
        for (k, at) in store.rate_hits_since(since)? {
            if k == key {
                done.record(&key, at);
            }
        }
        Ok(Pacer {
            store,
            key,
            rules,
            state: Mutex::new(State { done, in_flight: 0 }),
            freed: Condvar::new(),
        })
    }

    /// Blocks until one more request keeps every rule, counting the requests in flight.
    /// `on_wait(until_ms)` is told before each wait a rule imposes (not before waiting for
    /// a request in flight to be answered).
    pub fn acquire(&self, on_wait: &dyn Fn(u64)) -> Permit<'_, 'a> {
        let mut st = lock(&self.state);
        loop {
            let now = now_ms();
            match wait_for(&st, &self.key, &self.rules, now) {
                Wait::Go => {
                    st.in_flight += 1;
                    return Permit { pacer: self };
                }
                Wait::Answer => {
                    st = self
                        .freed
                        .wait_timeout(st, IN_FLIGHT_POLL)
                        .map(|(g, _)| g)
                        .unwrap_or_else(|p| p.into_inner().0);
                }
                Wait::Until(until) => {
                    drop(st);
                    on_wait(until);
                    // In slices, so an answer arriving meanwhile is counted before we go.
                    let slice =
                        Duration::from_millis(until.saturating_sub(now)).min(IN_FLIGHT_POLL);
                    std::thread::sleep(slice);
                    st = lock(&self.state);
                }
            }
        }
    }

    fn finish(&self) {
        let at = now_ms();
        {
            let mut st = lock(&self.state);
            st.in_flight = st.in_flight.saturating_sub(1);
            st.done.record(&self.key, at);
            st.done.prune(at, MAX_WINDOW);
        }
        self.freed.notify_all();
        // Counting survives a restart only if the hit is stored; losing one is not worth
        // failing the push for.
        if let Err(e) = self.store.record_rate_hit(&self.key, at) {
            tracing::warn!("cannot record a gateway request against the rate limits: {e}");
        }
    }
}

enum Wait {
    Go,
    /// Until this time (ms) at least.
    Until(u64),
    /// Until a request in flight is answered.
    Answer,
}

/// Whether one more request may go now: answered hits plus those in flight plus this one
/// must fit every rule.
fn wait_for(st: &State, key: &str, rules: &[Rule], now: u64) -> Wait {
    let mut until = 0;
    for r in rules {
        let Some(room) = r.max.checked_sub(st.in_flight).filter(|&m| m > 0) else {
            return Wait::Answer;
        };
        let reduced = [Rule {
            max: room,
            window: r.window,
        }];
        if let Err(ms) = st.done.check(key, &reduced, now) {
            until = until.max(now.saturating_add(ms));
        }
    }
    if until == 0 {
        Wait::Go
    } else {
        Wait::Until(until)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rule(max: u32, secs: u64) -> Rule {
        Rule {
            max,
            window: Duration::from_secs(secs),
        }
    }

    #[test]
    fn requests_in_flight_count_against_the_limits() {
        let mut st = State {
            done: Limiter::new(),
            in_flight: 0,
        };
        let rules = [rule(3, 2)];
        assert!(matches!(wait_for(&st, "k", &rules, 1000), Wait::Go));
        st.in_flight = 2;
        assert!(matches!(wait_for(&st, "k", &rules, 1000), Wait::Go));
        st.in_flight = 3;
        assert!(matches!(wait_for(&st, "k", &rules, 1000), Wait::Answer));
        st.in_flight = 1;
        st.done.record("k", 1000);
        st.done.record("k", 1100);
        // Two answered and one in flight fill 3/2s: wait for the answer at 1000 to age out.
        match wait_for(&st, "k", &rules, 1200) {
            Wait::Until(t) => assert_eq!(t, 3000),
            _ => panic!("expected a wait"),
        }
        st.in_flight = 0;
        assert!(matches!(wait_for(&st, "k", &rules, 1200), Wait::Go));
        assert!(matches!(wait_for(&st, "other", &rules, 1200), Wait::Go));
    }
}
