//! Version vectors: device id → counter. One per path version; merging is a per-path join.

use std::cmp::Ordering;
use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(transparent)]
pub struct VersionVector(pub BTreeMap<String, u64>);

/// How two versions relate.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Causality {
    Equal,
    /// The left one descends from the right one.
    Dominates,
    /// The right one descends from the left one.
    DominatedBy,
    Concurrent,
}

impl VersionVector {
    pub fn new() -> Self {
        Self::default()
    }

    pub fn get(&self, device: &str) -> u64 {
        self.0.get(device).copied().unwrap_or(0)
    }

    /// This vector with `device` advanced to `counter` (never moved backwards).
    pub fn bumped(&self, device: &str, counter: u64) -> Self {
        let mut out = self.clone();
        let slot = out.0.entry(device.to_owned()).or_insert(0);
        *slot = (*slot).max(counter);
        out
    }

    /// The least vector dominating both.
    pub fn join(&self, other: &Self) -> Self {
        let mut out = self.clone();
        for (device, &counter) in &other.0 {
            let slot = out.0.entry(device.clone()).or_insert(0);
            *slot = (*slot).max(counter);
        }
        out
    }

    pub fn compare(&self, other: &Self) -> Causality {
        let mut greater = false;
        let mut less = false;
        for device in self.0.keys().chain(other.0.keys()) {
            match self.get(device).cmp(&other.get(device)) {
                Ordering::Greater => greater = true,
                Ordering::Less => less = true,
                Ordering::Equal => {}
            }
        }
        match (greater, less) {
            (false, false) => Causality::Equal,
            (true, false) => Causality::Dominates,
            (false, true) => Causality::DominatedBy,
            (true, true) => Causality::Concurrent,
        }
    }

    /// `self` descends from or equals `other`.
    pub fn covers(&self, other: &Self) -> bool {
        matches!(self.compare(other), Causality::Equal | Causality::Dominates)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn vv(pairs: &[(&str, u64)]) -> VersionVector {
        VersionVector(pairs.iter().map(|(d, c)| (d.to_string(), *c)).collect())
    }

    #[test]
    fn compare_cases() {
        assert_eq!(vv(&[("a", 1)]).compare(&vv(&[("a", 1)])), Causality::Equal);
        assert_eq!(
            vv(&[("a", 2)]).compare(&vv(&[("a", 1)])),
            Causality::Dominates
        );
        assert_eq!(
            vv(&[("a", 1)]).compare(&vv(&[("a", 1), ("b", 1)])),
            Causality::DominatedBy
        );
        assert_eq!(
            vv(&[("a", 2)]).compare(&vv(&[("b", 1)])),
            Causality::Concurrent
        );
        assert_eq!(vv(&[]).compare(&vv(&[("a", 0)])), Causality::Equal);
    }

    fn arb_vv() -> impl Strategy<Value = VersionVector> {
        proptest::collection::btree_map("[abc]", 0u64..4, 0..3).prop_map(VersionVector)
    }

    proptest! {
        #[test]
        fn join_is_the_least_upper_bound(a in arb_vv(), b in arb_vv(), c in arb_vv()) {
            let j = a.join(&b);
            prop_assert!(j.covers(&a) && j.covers(&b));
            prop_assert_eq!(a.join(&b).compare(&b.join(&a)), Causality::Equal);
            prop_assert_eq!(a.join(&b).join(&c).compare(&a.join(&b.join(&c))), Causality::Equal);
            if c.covers(&a) && c.covers(&b) { prop_assert!(c.covers(&j)); }
        }
    }
}
