use std::sync::{Arc, Mutex, PoisonError};

use crate::clock::Timestamp;
use crate::format::KeyId;

use super::window::{Counters, Decision};
use super::{LimiterError, RateLimiter, RatePlan};

type Map = crate::map::Map<KeyId, Arc<Mutex<Counters>>>;

/// A [`RateLimiter`] in process memory: exact for one process, decided without I/O.
///
/// Each key has its own small mutex (no lock shared between keys), so checking a limit costs a
/// map lookup and an uncontended lock. Call [`sweep`](Self::sweep) now and then to drop the
/// counters of keys whose windows have all ended ([`Keygate::maintain`](crate::Keygate::maintain)
/// does).
pub struct InProcessLimiter {
    keys: Map,
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
        InProcessLimiter { keys: crate::map::new_map() }
    }

    /// Decides without I/O: what [`RateLimiter::check_now`] returns.
    pub fn decide(
        &self,
        key: &KeyId,
        plan: &RatePlan,
        now: Timestamp,
        consume: bool,
    ) -> Option<Decision> {
        let keys = self.keys.pin();
        let counters = match keys.get(key) {
            Some(c) => c,
            None if !consume => return Counters::default().decide(plan.windows(), now, false),
            None => keys.get_or_insert_with(*key, Default::default),
        };
        let mut counters = counters.lock().unwrap_or_else(PoisonError::into_inner);
        counters.decide(plan.windows(), now, consume)
    }

    /// Drops the counters of keys whose windows have all ended by `now`.
    pub fn sweep(&self, now: Timestamp) {
        self.keys
            .pin()
            .retain(|_, c| !c.lock().unwrap_or_else(PoisonError::into_inner).is_stale(now));
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
        now: Timestamp,
    ) -> Option<Result<Option<Decision>, LimiterError>> {
        Some(Ok(self.decide(key, plan, now, true)))
    }

    async fn check(
        &self,
        key: &KeyId,
        plan: &RatePlan,
        now: Timestamp,
    ) -> Result<Option<Decision>, LimiterError> {
        Ok(self.decide(key, plan, now, true))
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
