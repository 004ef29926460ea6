//! Write-behind usage: `last_used` and request counters without a store write per request.
//!
//! Each verified request adds one to an in-memory counter of its key (an atomic add; the first
//! request of a key since start-up allocates its counter). [`Keygate::flush_usage`](crate::Keygate::flush_usage)
//! sends what has piled up to the store in one batch; call it on an interval and at shutdown
//! ([`Keygate::run_maintenance`](crate::Keygate::run_maintenance) does both with the `tokio`
//! feature).
//!
//! **What a crash can lose:** the counts and `last_used` of the requests since the last
//! successful flush, so at most one flush interval of them. A flush that fails keeps its batch
//! and sends it with the next one. Counts are added to the day and month of the last request
//! in the batch, so a batch spanning midnight UTC lands on the later day.

use std::sync::Arc;
use std::sync::atomic::{AtomicI64, AtomicU64, Ordering};

use crate::clock::Timestamp;
use crate::format::KeyId;
use crate::store::UsageDelta;

#[derive(Debug, Default)]
struct Pending {
    count: AtomicU64,
    last_used: AtomicI64,
}

type Map = crate::map::Map<KeyId, Arc<Pending>>;

/// Requests counted in memory and not yet flushed to the store.
///
/// Holds one small counter per key that has verified since start-up.
pub(crate) struct UsageRecorder {
    pending: Map,
}

impl std::fmt::Debug for UsageRecorder {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("UsageRecorder").field("keys", &self.pending.len()).finish()
    }
}

impl Default for UsageRecorder {
    fn default() -> Self {
        Self::new()
    }
}

impl UsageRecorder {
    /// An empty recorder.
    pub(crate) fn new() -> Self {
        UsageRecorder { pending: crate::map::new_map() }
    }

    /// Counts `count` requests of `id` at `at`.
    #[inline]
    pub(crate) fn record(&self, id: KeyId, count: u64, at: Timestamp) {
        let pending = self.pending.pin();
        let p = match pending.get(&id) {
            Some(p) => p,
            None => pending.get_or_insert_with(id, Default::default),
        };
        p.last_used.fetch_max(at.unix_millis(), Ordering::Relaxed);
        p.count.fetch_add(count, Ordering::Release);
    }

    /// What is pending for `id`: (requests, last request).
    pub(crate) fn pending(&self, id: &KeyId) -> Option<(u64, Timestamp)> {
        let pending = self.pending.pin();
        let p = pending.get(id)?;
        let count = p.count.load(Ordering::Acquire);
        (count > 0)
            .then(|| (count, Timestamp::from_unix_millis(p.last_used.load(Ordering::Relaxed))))
    }

    /// Takes everything pending, leaving the counters at zero.
    pub(crate) fn drain(&self) -> Vec<UsageDelta> {
        let pending = self.pending.pin();
        pending
            .iter()
            .filter_map(|(id, p)| {
                let count = p.count.swap(0, Ordering::AcqRel);
                (count > 0).then(|| UsageDelta {
                    id: *id,
                    count,
                    last_used: Timestamp::from_unix_millis(p.last_used.load(Ordering::Relaxed)),
                })
            })
            .collect()
    }

    /// Puts a batch back after a failed flush, so it goes out with the next one.
    pub(crate) fn restore(&self, batch: &[UsageDelta]) {
        for d in batch {
            self.record(d.id, d.count, d.last_used);
        }
    }
}
