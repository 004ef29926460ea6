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

use std::net::IpAddr;
use std::sync::atomic::{AtomicI64, AtomicU64, Ordering};
use std::sync::{Arc, Mutex, PoisonError};

use ipnet::IpNet;

use crate::clock::Timestamp;
use crate::format::KeyId;
use crate::store::{NetworkSighting, UsageDelta, network_of};

#[derive(Debug, Default)]
struct Pending {
    count: AtomicU64,
    last_used: AtomicI64,
    /// The network of the key's last request ([`code`]), 0 before any: a request from the same
    /// network as the one before it touches nothing else.
    last_network: AtomicU64,
    /// The networks seen since the last flush, each with the time it was last switched to.
    networks: Mutex<Vec<(IpNet, i64)>>,
}

impl Pending {
    /// Notes `network` at `millis` (milliseconds), keeping the later time of a known one.
    fn saw(&self, network: IpNet, millis: i64) {
        let mut seen = self.networks.lock().unwrap_or_else(PoisonError::into_inner);
        match seen.iter_mut().find(|(n, _)| *n == network) {
            Some((_, t)) => *t = (*t).max(millis),
            None => seen.push((network, millis)),
        }
    }
}

/// A network as one nonzero word: the tag in the top bits, the prefix below.
fn code(net: &IpNet) -> u64 {
    match net {
        IpNet::V4(v4) => (1 << 62) | u64::from(u32::from(v4.network()) >> 8),
        IpNet::V6(v6) => (2 << 62) | (u128::from(v6.network()) >> 80) as u64,
    }
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

    /// Counts a request of `id` at `at`, and the network of `client` (when the adapter gave
    /// the client's address) among the key's recent networks.
    #[inline]
    pub(crate) fn record_from(&self, id: KeyId, at: Timestamp, client: Option<IpAddr>) {
        let pending = self.pending.pin();
        let p = match pending.get(&id) {
            Some(p) => p,
            None => pending.get_or_insert_with(id, Default::default),
        };
        let millis = at.unix_millis();
        p.last_used.fetch_max(millis, Ordering::Relaxed);
        if let Some(ip) = client {
            let net = network_of(ip);
            let code = code(&net);
            if p.last_network.swap(code, Ordering::Relaxed) != code {
                p.saw(net, millis);
            }
        }
        p.count.fetch_add(1, Ordering::Release);
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

    /// Takes the networks seen since the last call. The network of a key's latest request
    /// is seen at that request's time.
    pub(crate) fn drain_networks(&self) -> Vec<NetworkSighting> {
        let pending = self.pending.pin();
        let mut sightings = Vec::new();
        for (id, p) in pending.iter() {
            let mut seen = p.networks.lock().unwrap_or_else(PoisonError::into_inner);
            if seen.is_empty() {
                continue;
            }
            let last = p.last_network.swap(0, Ordering::Relaxed);
            let last_used = p.last_used.load(Ordering::Relaxed);
            for (network, at) in seen.drain(..) {
                let at = if code(&network) == last { at.max(last_used) } else { at };
                sightings.push(NetworkSighting {
                    id: *id,
                    network,
                    seen_at: Timestamp::from_unix_millis(at),
                });
            }
        }
        sightings
    }

    /// Puts sightings back after a failed flush, so they go out with the next one.
    pub(crate) fn restore_networks(&self, batch: &[NetworkSighting]) {
        let pending = self.pending.pin();
        for s in batch {
            let p = match pending.get(&s.id) {
                Some(p) => p,
                None => pending.get_or_insert_with(s.id, Default::default),
            };
            p.saw(s.network, s.seen_at.unix_millis());
        }
    }

    /// Puts a batch back after a failed flush, so it goes out with the next one.
    pub(crate) fn restore(&self, batch: &[UsageDelta]) {
        for d in batch {
            self.record(d.id, d.count, d.last_used);
        }
    }
}
