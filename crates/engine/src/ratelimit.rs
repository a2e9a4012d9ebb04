//! Rate limits of the gateway (seed 003), shared by ingress (the server refuses) and egress
//! (the client waits): rules like `2000/10m` ("at most 2000 calls in any 10 minutes") and a
//! pure sliding-window log of the hits per key.
//!
//! The limiter knows no clock and no storage: callers pass the time in milliseconds and
//! persist hits themselves (table `rate_hits`), so limits survive restarts and tests need no
//! sleeping.

use std::collections::{HashMap, VecDeque};
use std::fmt;
use std::time::Duration;

/// At most `max` hits in any `window`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Rule {
    pub max: u32,
    pub window: Duration,
}

const MINUTE: u64 = 60;
const HOUR: u64 = 60 * MINUTE;
const DAY: u64 = 24 * HOUR;

const fn rule(max: u32, window_secs: u64) -> Rule {
    Rule {
        max,
        window: Duration::from_secs(window_secs),
    }
}

/// Seed 003, basic sync: per account 2000 calls in 10 minutes, 5000 in an hour, 25000 a day.
pub const ACCOUNT_RULES: &[Rule] = &[rule(2000, 10 * MINUTE), rule(5000, HOUR), rule(25000, DAY)];
/// Seed 003, public sync (`sync_3rd`): a logged-in account, 5 calls in 10 minutes.
pub const PUBLIC_ACCOUNT_RULES: &[Rule] = &[rule(5, 10 * MINUTE)];
/// Seed 003, public sync: an anonymous caller, 2 calls per IP in 10 minutes.
pub const PUBLIC_IP_RULES: &[Rule] = &[rule(2, 10 * MINUTE)];
/// Seed 003, public sync: 300 calls per site in 10 minutes.
pub const PUBLIC_SITE_RULES: &[Rule] = &[rule(300, 10 * MINUTE)];

/// Longest window a rule may have: hits are kept (and persisted) for at most this long.
pub const MAX_WINDOW: Duration = Duration::from_secs(DAY);

impl fmt::Display for Rule {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let secs = self.window.as_secs();
        // The largest unit that states the window exactly.
        let (n, unit) = [(DAY, "d"), (HOUR, "h"), (MINUTE, "m")]
            .into_iter()
            .find(|&(u, _)| secs != 0 && secs.is_multiple_of(u))
            .map_or((secs, "s"), |(u, name)| (secs / u, name));
        write!(f, "{}/{n}{unit}", self.max)
    }
}

/// Parses `MAX/WINDOW[,MAX/WINDOW…]`, WINDOW an integer and a unit `s`, `m`, `h` or `d`
/// (`2000/10m,5000/1h,25000/1d`). Spaces around items are allowed; empty text means no rules.
pub fn parse_rules(text: &str) -> Result<Vec<Rule>, String> {
    let text = text.trim();
    if text.is_empty() {
        return Ok(Vec::new());
    }
    text.split(',')
        .map(|item| parse_rule(item.trim()))
        .collect()
}

fn parse_rule(item: &str) -> Result<Rule, String> {
    let example =
        "write limits as MAX/WINDOW, e.g. 2000/10m (units s, m, h, d), separated by commas";
    let Some((max, window)) = item.split_once('/') else {
        return Err(format!("{item:?} is not a limit: {example}"));
    };
    let max: u32 = match max.trim().parse() {
        Ok(0) => return Err(format!("{item:?}: the number of calls must be at least 1")),
        Ok(n) => n,
        Err(_) => {
            return Err(format!(
                "{item:?}: {:?} is not a number of calls: {example}",
                max.trim()
            ));
        }
    };
    let window = window.trim();
    let unit_at = window.char_indices().last().map_or(0, |(i, _)| i);
    let (count, unit) = window.split_at(unit_at);
    let per = match unit {
        "s" => 1,
        "m" => MINUTE,
        "h" => HOUR,
        "d" => DAY,
        _ => return Err(format!("{item:?}: the window needs a unit: {example}")),
    };
    let count: u64 = count
        .parse()
        .map_err(|_| format!("{item:?}: {count:?} is not a whole number: {example}"))?;
    let secs = count.saturating_mul(per);
    if secs == 0 {
        return Err(format!("{item:?}: the window must be longer than 0"));
    }
    if secs > MAX_WINDOW.as_secs() {
        return Err(format!("{item:?}: the window can be at most 1d"));
    }
    Ok(Rule {
        max,
        window: Duration::from_secs(secs),
    })
}

/// The text form [`parse_rules`] reads back: `2000/10m,5000/1h,25000/1d`.
pub fn format_rules(rules: &[Rule]) -> String {
    rules
        .iter()
        .map(Rule::to_string)
        .collect::<Vec<_>>()
        .join(",")
}

/// Rules written as their text in JSON (`"2000/10m,5000/1h"`), for settings shown to people.
pub mod text {
    use serde::{Deserialize, Deserializer, Serializer};

    use super::Rule;

    pub fn serialize<S: Serializer>(rules: &[Rule], s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&super::format_rules(rules))
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Vec<Rule>, D::Error> {
        let text = String::deserialize(d)?;
        super::parse_rules(&text).map_err(serde::de::Error::custom)
    }
}

/// Hit times (ms) per key, oldest first.
#[derive(Debug, Default, Clone)]
pub struct Limiter {
    hits: HashMap<String, VecDeque<u64>>,
}

impl Limiter {
    pub fn new() -> Limiter {
        Limiter::default()
    }

    /// `Ok` if one more hit for `key` at `now_ms` keeps every rule; else how many ms to wait
    /// until it would (the longest wait over the rules broken).
    ///
    /// A hit at `t` counts while `now_ms - t < window`. When a rule is full, the wait is until
    /// enough of the oldest hits in its window leave it: for exactly `max` hits, the oldest.
    pub fn check(&self, key: &str, rules: &[Rule], now_ms: u64) -> Result<(), u64> {
        let Some(hits) = self.hits.get(key) else {
            return if rules.iter().any(|r| r.max == 0) {
                Err(u64::MAX)
            } else {
                Ok(())
            };
        };
        let mut wait = 0u64;
        for r in rules {
            let window = window_ms(r.window);
            // First hit still inside the window: t > now - window (all of them early on).
            let first = match now_ms.checked_sub(window) {
                Some(since) => hits.partition_point(|&t| t <= since),
                None => 0,
            };
            // Hits recorded "in the future" (a clock that went back) count too.
            let inside = hits.len() - first;
            let max = r.max as usize;
            if inside < max {
                continue;
            }
            if max == 0 {
                return Err(u64::MAX);
            }
            // This many must leave; the last of them leaves at its time + window.
            let leaving = inside - max;
            let t = hits[first + leaving];
            wait = wait.max((t + window).saturating_sub(now_ms).max(1));
        }
        if wait == 0 { Ok(()) } else { Err(wait) }
    }

    /// Counts a hit for `key` at `now_ms`.
    pub fn record(&mut self, key: &str, now_ms: u64) {
        let hits = match self.hits.get_mut(key) {
            Some(h) => h,
            None => self.hits.entry(key.to_owned()).or_default(),
        };
        // Kept sorted: hits normally arrive in order; a clock that steps back does not.
        let at = hits.partition_point(|&t| t <= now_ms);
        hits.insert(at, now_ms);
    }

    /// Forgets hits older than `max_window` (the longest window of any rule in use) and keys
    /// left without hits.
    pub fn prune(&mut self, now_ms: u64, max_window: Duration) {
        let since = now_ms.saturating_sub(window_ms(max_window));
        self.hits.retain(|_, hits| {
            let old = hits.partition_point(|&t| t <= since);
            hits.drain(..old);
            !hits.is_empty()
        });
    }

    /// Hits of `key` currently remembered.
    pub fn count(&self, key: &str) -> usize {
        self.hits.get(key).map_or(0, VecDeque::len)
    }
}

fn window_ms(window: Duration) -> u64 {
    u64::try_from(window.as_millis()).unwrap_or(u64::MAX)
}

#[cfg(test)]
mod tests {
    use super::*;

    const MIN_MS: u64 = 60_000;

    #[test]
    fn rules_parse_and_format_round_trip() {
        let rules = parse_rules("2000/10m,5000/1h,25000/1d").unwrap();
        assert_eq!(rules, ACCOUNT_RULES);
        assert_eq!(format_rules(&rules), "2000/10m,5000/1h,25000/1d");
        assert_eq!(format_rules(PUBLIC_ACCOUNT_RULES), "5/10m");
        assert_eq!(format_rules(PUBLIC_IP_RULES), "2/10m");
        assert_eq!(format_rules(PUBLIC_SITE_RULES), "300/10m");
        assert_eq!(
            parse_rules(" 5 / 90s , 7/60m,1/24h ").unwrap(),
            vec![rule(5, 90), rule(7, HOUR), rule(1, DAY)]
        );
        assert_eq!(
            format_rules(&parse_rules("7/60m,1/24h,3/90s").unwrap()),
            "7/1h,1/1d,3/90s"
        );
        assert_eq!(parse_rules("").unwrap(), vec![]);
        assert_eq!(parse_rules("  ").unwrap(), vec![]);
        for n in [1u64, 59, 60, 61, 3599, 3600, 7200, 86_400] {
            let r = vec![rule(3, n)];
            assert_eq!(parse_rules(&format_rules(&r)).unwrap(), r, "{n}s");
        }
    }

    #[test]
    fn bad_rules_say_what_is_wrong() {
        for (text, says) in [
            ("2000", "MAX/WINDOW"),
            ("x/10m", "not a number"),
            ("-1/10m", "not a number"),
            ("0/10m", "at least 1"),
            ("5/10", "unit"),
            ("5/10w", "unit"),
            ("5/m", "whole number"),
            ("5/0s", "longer than 0"),
            ("5/2d", "at most 1d"),
            ("5/99999999999999999999d", "whole number"),
            ("5/10m,", "MAX/WINDOW"),
            ("5/é", "unit"),
        ] {
            let err = parse_rules(text).unwrap_err();
            assert!(err.contains(says), "{text:?}: {err}");
        }
    }

    #[test]
    fn rules_serialize_as_text() {
        #[derive(serde::Serialize, serde::Deserialize, PartialEq, Debug)]
        struct S {
            #[serde(with = "text")]
            limits: Vec<Rule>,
        }
        let s = S {
            limits: ACCOUNT_RULES.to_vec(),
        };
        let json = serde_json::to_string(&s).unwrap();
        assert_eq!(json, r#"{"limits":"2000/10m,5000/1h,25000/1d"}"#);
        assert_eq!(serde_json::from_str::<S>(&json).unwrap(), s);
        assert!(serde_json::from_str::<S>(r#"{"limits":"2000"}"#).is_err());
    }

    #[test]
    fn the_maximum_is_allowed_and_one_more_is_refused() {
        let rules = [rule(3, 10 * MINUTE)];
        let mut l = Limiter::new();
        for i in 0..3 {
            assert_eq!(l.check("k", &rules, 1000 + i), Ok(()));
            l.record("k", 1000 + i);
        }
        // Full: the oldest hit (t=1000) leaves the window at 1000 + 10 min.
        assert_eq!(l.check("k", &rules, 1003), Err(10 * MIN_MS - 3));
        // Other keys are not affected.
        assert_eq!(l.check("other", &rules, 1003), Ok(()));
        // A refused hit is not recorded: waiting exactly as told is enough.
        let at = 1003 + 10 * MIN_MS - 3;
        assert_eq!(l.check("k", &rules, at - 1), Err(1));
        assert_eq!(l.check("k", &rules, at), Ok(()));
    }

    #[test]
    fn the_window_slides() {
        let rules = [rule(2, 60)];
        let mut l = Limiter::new();
        l.record("k", 0);
        l.record("k", 30_000);
        assert_eq!(l.check("k", &rules, 59_999), Err(1));
        assert_eq!(l.check("k", &rules, 60_000), Ok(()));
        l.record("k", 60_000);
        // Now 30 000 and 60 000 are inside: wait for 30 000 to leave.
        assert_eq!(l.check("k", &rules, 60_001), Err(29_999));
        assert_eq!(l.check("k", &rules, 90_000), Ok(()));
    }

    #[test]
    fn the_longest_wait_over_all_rules_is_reported() {
        let rules = [rule(2, 60), rule(3, HOUR)];
        let mut l = Limiter::new();
        for t in [0, 1_000, 120_000] {
            l.record("k", t);
        }
        // The minute rule has room (one hit inside), the hour rule is full since t=0.
        assert_eq!(l.check("k", &rules, 120_001), Err(HOUR * 1000 - 120_001));
        // Recorded although refused by the hour rule (as a store reload may): now both rules
        // are full; the hour rule needs two hits out, the second (1 000) being the later.
        l.record("k", 120_500);
        assert_eq!(
            l.check("k", &rules, 120_600),
            Err(HOUR * 1000 + 1_000 - 120_600)
        );
    }

    #[test]
    fn more_hits_than_the_maximum_wait_for_enough_to_leave() {
        // Loaded from storage with a larger limit than today's: 5 hits, max 2.
        let rules = [rule(2, 100)];
        let mut l = Limiter::new();
        for t in [10_000, 20_000, 30_000, 40_000, 50_000] {
            l.record("k", t);
        }
        // Room for one more means 1 left inside: 4 must leave, the fourth (40 000) at 140 000.
        assert_eq!(l.check("k", &rules, 60_000), Err(80_000));
        assert_eq!(l.check("k", &rules, 139_999), Err(1));
        assert_eq!(l.check("k", &rules, 140_000), Ok(()));
    }

    #[test]
    fn hits_out_of_order_and_pruning() {
        let mut l = Limiter::new();
        l.record("k", 5_000);
        l.record("k", 1_000);
        l.record("k", 3_000);
        assert_eq!(l.check("k", &[rule(3, 10)], 9_000), Err(2_000));
        l.prune(12_000, Duration::from_secs(10));
        assert_eq!(l.count("k"), 2, "the hit at 1 000 is 11 s old");
        l.prune(100_000, Duration::from_secs(10));
        assert_eq!(l.count("k"), 0);
        assert!(l.hits.is_empty(), "keys without hits are dropped");
    }

    #[test]
    fn no_rules_never_limit() {
        let mut l = Limiter::new();
        for t in 0..1000 {
            l.record("k", t);
        }
        assert_eq!(l.check("k", &[], 1000), Ok(()));
    }

    /// Against a brute-force model: random hit sequences, every answer the same.
    #[test]
    fn agrees_with_counting_every_hit() {
        use proptest::prelude::*;
        let rules_s = proptest::collection::vec((1u32..5, 1u64..20), 1..3);
        let steps_s = proptest::collection::vec(0u64..4_000, 1..60);
        proptest!(|(rules in rules_s, steps in steps_s)| {
            let rules: Vec<Rule> = rules.iter().map(|&(m, s)| rule(m, s)).collect();
            let mut l = Limiter::new();
            let mut model: Vec<u64> = Vec::new();
            let mut now = 0u64;
            for step in steps {
                now += step;
                let fits = |at: u64, hits: &[u64]| rules.iter().all(|r| {
                    let w = r.window.as_millis() as u64;
                    hits.iter().filter(|&&t| at - t < w).count() < r.max as usize
                });
                let expect = fits(now, &model);
                match l.check("k", &rules, now) {
                    Ok(()) => {
                        prop_assert!(expect);
                        l.record("k", now);
                        model.push(now);
                    }
                    Err(wait) => {
                        prop_assert!(!expect);
                        // Waiting exactly that long is enough, and one ms less is not.
                        prop_assert!(fits(now + wait, &model));
                        prop_assert!(wait == 1 || !fits(now + wait - 1, &model));
                    }
                }
            }
        });
    }
}
