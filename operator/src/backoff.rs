//! Per-object exponential back-off of failed reconciles: the first failure
//! retries after `base`, each further one waits `factor` times longer up to
//! `cap`, with random jitter so objects that failed together do not retry
//! together; a successful reconcile resets the object's count.
//!
//! [`Policy::delay`] is the pure part; [`Tracker`] keeps the failure counts.

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::Duration;

use rand::Rng;

/// How failed reconciles are retried.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Policy {
    /// Delay after the first failure.
    pub base: Duration,
    /// Growth of the delay per further failure (at least 1).
    pub factor: f64,
    /// Longest delay.
    pub cap: Duration,
    /// Fraction (0..=1) by which a delay is randomly shortened or lengthened.
    pub jitter: f64,
}

impl Default for Policy {
    fn default() -> Self {
        Policy {
            base: Duration::from_millis(500),
            factor: 2.0,
            cap: Duration::from_secs(300),
            jitter: 0.2,
        }
    }
}

impl Policy {
    /// Delay before retrying after `failures` consecutive failures (1 for the
    /// first), with `spread` in `[-1, 1]` choosing where in the jitter band it
    /// falls (0 = no jitter). Never above `cap`, never below zero.
    pub fn delay(&self, failures: u32, spread: f64) -> Duration {
        let exponent = failures.saturating_sub(1).min(64) as i32;
        let nominal = self.base.as_secs_f64() * self.factor.max(1.0).powi(exponent);
        let cap = self.cap.as_secs_f64();
        let jittered =
            nominal.min(cap) * (1.0 + self.jitter.clamp(0.0, 1.0) * spread.clamp(-1.0, 1.0));
        Duration::from_secs_f64(jittered.clamp(0.0, cap))
    }
}

/// Consecutive failures per object, keyed by kind, namespace and name.
#[derive(Debug, Default)]
pub struct Tracker {
    policy: Policy,
    failures: Mutex<HashMap<String, u32>>,
}

impl Tracker {
    /// A tracker following `policy`.
    pub fn new(policy: Policy) -> Self {
        Tracker {
            policy,
            failures: Mutex::new(HashMap::new()),
        }
    }

    /// Counts a failure of `key` and returns how long to wait before retrying.
    pub fn failed(&self, key: &str) -> Duration {
        let failures = {
            let mut map = self.failures.lock().unwrap_or_else(|e| e.into_inner());
            let n = map.entry(key.to_string()).or_insert(0);
            *n = n.saturating_add(1);
            *n
        };
        self.policy
            .delay(failures, rand::thread_rng().gen_range(-1.0..=1.0))
    }

    /// Forgets the failures of `key` after a successful reconcile.
    pub fn succeeded(&self, key: &str) {
        self.failures
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .remove(key);
    }

    /// Consecutive failures of `key` so far.
    pub fn failures(&self, key: &str) -> u32 {
        self.failures
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .get(key)
            .copied()
            .unwrap_or(0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn policy() -> Policy {
        Policy {
            base: Duration::from_secs(1),
            factor: 2.0,
            cap: Duration::from_secs(60),
            jitter: 0.25,
        }
    }

    #[test]
    fn delays_grow_by_the_factor_up_to_the_cap() {
        let p = policy();
        let delays: Vec<u64> = (1..=8).map(|n| p.delay(n, 0.0).as_secs()).collect();
        assert_eq!(delays, vec![1, 2, 4, 8, 16, 32, 60, 60]);
        assert_eq!(p.delay(u32::MAX, 0.0), Duration::from_secs(60));
    }

    #[test]
    fn jitter_stays_in_its_band_and_under_the_cap() {
        let p = policy();
        assert_eq!(p.delay(3, -1.0), Duration::from_secs(3));
        assert_eq!(p.delay(3, 1.0), Duration::from_secs(5));
        assert_eq!(p.delay(3, 7.0), Duration::from_secs(5), "spread is clamped");
        assert_eq!(p.delay(10, 1.0), Duration::from_secs(60), "never above cap");
        assert_eq!(p.delay(10, -1.0), Duration::from_secs(45));
    }

    #[test]
    fn a_factor_below_one_does_not_shrink_delays() {
        let p = Policy {
            factor: 0.5,
            ..policy()
        };
        assert_eq!(p.delay(5, 0.0), Duration::from_secs(1));
    }

    #[test]
    fn tracker_counts_per_object_and_resets_on_success() {
        let t = Tracker::new(Policy {
            jitter: 0.0,
            ..policy()
        });
        assert_eq!(t.failed("MediaCluster/a/x"), Duration::from_secs(1));
        assert_eq!(t.failed("MediaCluster/a/x"), Duration::from_secs(2));
        assert_eq!(t.failed("MediaCluster/a/y"), Duration::from_secs(1));
        assert_eq!(t.failed("MediaCluster/a/x"), Duration::from_secs(4));
        assert_eq!(t.failures("MediaCluster/a/x"), 3);
        t.succeeded("MediaCluster/a/x");
        assert_eq!(t.failures("MediaCluster/a/x"), 0);
        assert_eq!(t.failed("MediaCluster/a/x"), Duration::from_secs(1));
        assert_eq!(t.failures("MediaCluster/a/y"), 1);
    }
}
