//! Admission against the seed's rate limits: every key a request counts against is checked
//! first, and only if all have room is the hit counted, in memory and in the database (so a
//! restart does not hand out a fresh allowance).

use std::sync::Mutex;
use std::time::Duration;

use super::{GatewayError, now_ms};
use crate::engine::Engine;
use crate::events::lock;
use crate::ratelimit::{Limiter, MAX_WINDOW, Rule};

/// Old hits are forgotten (in memory and stored) at most this often.
const PRUNE_EVERY: Duration = Duration::from_secs(600);

#[derive(Debug, Default)]
pub(super) struct LimitState {
    /// Loaded from the database at first use.
    limiter: Mutex<Option<Loaded>>,
}

#[derive(Debug)]
struct Loaded {
    limiter: Limiter,
    last_prune_ms: u64,
}

impl Engine {
    /// Counts one request against every `(key, rules)`, or refuses it with the longest wait
    /// (in whole seconds, rounded up) when any key is over a limit. A refused request is not
    /// counted.
    pub fn gateway_admit(&self, keys: &[(String, Vec<Rule>)]) -> Result<(), GatewayError> {
        let now = u64::try_from(now_ms()).unwrap_or(0);
        let max_window = u64::try_from(MAX_WINDOW.as_millis()).unwrap_or(u64::MAX);
        let mut prune = false;
        {
            let mut state = lock(&self.gateway.limits.limiter);
            if state.is_none() {
                let mut limiter = Limiter::new();
                for (key, at) in self
                    .store()
                    .rate_hits_since(now.saturating_sub(max_window))?
                {
                    limiter.record(&key, at);
                }
                *state = Some(Loaded {
                    limiter,
                    last_prune_ms: now,
                });
            }
            let Some(loaded) = state.as_mut() else {
                // Set just above.
                return Ok(());
            };
            let wait = keys
                .iter()
                .filter_map(|(key, rules)| loaded.limiter.check(key, rules, now).err())
                .max();
            if let Some(ms) = wait {
                return Err(GatewayError::RateLimited {
                    retry_after_secs: ms.div_ceil(1000).max(1),
                });
            }
            for (key, _) in keys {
                loaded.limiter.record(key, now);
            }
            if now.saturating_sub(loaded.last_prune_ms) >= PRUNE_EVERY.as_millis() as u64 {
                loaded.limiter.prune(now, MAX_WINDOW);
                loaded.last_prune_ms = now;
                prune = true;
            }
        }
        // Outside the lock: other requests need not wait for the database.
        let hits: Vec<(&str, u64)> = keys.iter().map(|(k, _)| (k.as_str(), now)).collect();
        if !hits.is_empty() {
            self.store().record_rate_hits(&hits)?;
        }
        if prune {
            self.store()
                .prune_rate_hits(now.saturating_sub(max_window))?;
        }
        Ok(())
    }
}
