use crate::clock::Timestamp;
use crate::format::KeyId;

use super::window::{Counters, Decision};
use super::{LimiterError, RateLimiter, RatePlan};

/// A [`RateLimiter`] in process memory: exact for one process, decided without I/O.
///
/// Keys are spread over 64 locks, each guarding the counters of its keys in place, so checking
/// a limit costs one uncontended lock and a lookup in a small table. Call [`sweep`](Self::sweep) now and then to drop the
/// counters of keys whose windows have all ended ([`Keygate::maintain`](crate::Keygate::maintain)
/// does).
///
/// ```
/// use keygate::{clock::Timestamp, format::KeyId, limit::{InProcessLimiter, RatePlan}};
///
/// let limiter = InProcessLimiter::new();
/// let plan = RatePlan::new("tiny").per_minute(2);
/// let (key, now): (KeyId, _) = ("key_AbCdEfGh1234".parse()?, Timestamp::from_unix_seconds(1_800_000_000));
/// let passed: Vec<bool> = (0..3).map(|_| limiter.decide(&key, &plan, now, true).unwrap().allowed).collect();
/// assert_eq!(passed, [true, true, false]);
/// # Ok::<(), keygate::format::InvalidKeyId>(())
/// ```
pub struct InProcessLimiter {
    keys: crate::map::Sharded<KeyId, Counters>,
}

impl std::fmt::Debug for InProcessLimiter {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("InProcessLimiter").field("keys", &self.keys.len()).finish()
    }
}

impl Default for InProcessLimiter {
    fn default() -> Self {
        Self::new()
    }
}

impl InProcessLimiter {
    /// An empty limiter.
    pub fn new() -> Self {
        InProcessLimiter { keys: crate::map::Sharded::new() }
    }

    /// Decides without I/O: what [`RateLimiter::check_now`] returns.
    pub fn decide(
        &self,
        key: &KeyId,
        plan: &RatePlan,
        now: Timestamp,
        consume: bool,
    ) -> Option<Decision> {
        self.decide_weighted(key, plan, now, 1, consume)
    }

    /// [`decide`](Self::decide) for a request that counts `cost` times
    /// ([`Counters::decide_weighted`]).
    pub fn decide_weighted(
        &self,
        key: &KeyId,
        plan: &RatePlan,
        now: Timestamp,
        cost: u64,
        consume: bool,
    ) -> Option<Decision> {
        let mut keys = self.keys.lock(key);
        match keys.get_mut(key) {
            Some(counters) => counters.decide_weighted(plan.windows(), now, cost, consume),
            None if !consume => {
                Counters::default().decide_weighted(plan.windows(), now, cost, false)
            }
            None => keys.entry(*key).or_default().decide_weighted(plan.windows(), now, cost, true),
        }
    }

    /// Drops the counters of keys whose windows have all ended by `now`.
    pub fn sweep(&self, now: Timestamp) {
        self.keys.for_each(|table| table.retain(|_, counters| !counters.is_stale(now)));
    }

    /// How many keys have counters.
    pub fn len(&self) -> usize {
        self.keys.len()
    }

    /// Whether no key has counters.
    pub fn is_empty(&self) -> bool {
        self.keys.is_empty()
    }
}

#[async_trait::async_trait]
impl RateLimiter for InProcessLimiter {
    #[inline]
    fn check_now(
        &self,
        key: &KeyId,
        plan: &RatePlan,
        cost: u64,
        now: Timestamp,
    ) -> Option<Result<Option<Decision>, LimiterError>> {
        Some(Ok(self.decide_weighted(key, plan, now, cost, true)))
    }

    async fn check(
        &self,
        key: &KeyId,
        plan: &RatePlan,
        cost: u64,
        now: Timestamp,
    ) -> Result<Option<Decision>, LimiterError> {
        Ok(self.decide_weighted(key, plan, now, cost, true))
    }

    async fn status(
        &self,
        key: &KeyId,
        plan: &RatePlan,
        now: Timestamp,
    ) -> Result<Option<Decision>, LimiterError> {
        Ok(self.decide(key, plan, now, false))
    }
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;
    use std::sync::atomic::{AtomicU64, Ordering};
    use std::time::Duration;

    use super::*;

    /// Requests racing a sweep at the start of a new window never pass more than the limit: a
    /// request that found the old counters just before they were swept counts in the new ones.
    #[test]
    fn a_sweep_racing_requests_loses_no_count() {
        let limiter = Arc::new(InProcessLimiter::new());
        let plan = RatePlan::new("p").window(4, Duration::from_secs(1));
        let key = KeyId::from_raw("sweeprace000").unwrap();
        for round in 1..=2000_i64 {
            let now = Timestamp::from_unix_millis(round * 1000);
            // The previous window's counters, stale at `now`.
            limiter.decide(&key, &plan, Timestamp::from_unix_millis(round * 1000 - 1), true);
            let allowed = Arc::new(AtomicU64::new(0));
            let barrier = Arc::new(std::sync::Barrier::new(4));
            let threads: Vec<_> = (0..4)
                .map(|i| {
                    let (limiter, plan, allowed, barrier) =
                        (limiter.clone(), plan.clone(), allowed.clone(), barrier.clone());
                    std::thread::spawn(move || {
                        barrier.wait();
                        for _ in 0..3 {
                            if i == 0 {
                                limiter.sweep(now);
                            }
                            if limiter.decide(&key, &plan, now, true).is_some_and(|d| d.allowed) {
                                allowed.fetch_add(1, Ordering::SeqCst);
                            }
                        }
                    })
                })
                .collect();
            for t in threads {
                t.join().unwrap();
            }
            assert!(
                allowed.load(Ordering::SeqCst) <= 4,
                "round {round}: {} requests passed a limit of 4",
                allowed.load(Ordering::SeqCst)
            );
        }
    }
}
