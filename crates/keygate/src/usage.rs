//! Write-behind usage: `last_used` and request counters without a store write per request.
//!
//! Each verified request adds one to an in-memory counter of its key (an add under one of a few
//! locks, shared by a group of keys; the first request of a key since start-up adds its entry). [`Keygate::flush_usage`](crate::Keygate::flush_usage)
//! sends what has piled up to the store in one batch; call it on an interval and at shutdown
//! ([`Keygate::run_maintenance`](crate::Keygate::run_maintenance) does both with the `tokio`
//! feature).
//!
//! **What a crash can lose:** the counts and `last_used` of the requests since the last
//! successful flush, so at most one flush interval of them. A flush that fails keeps its batch
//! and sends it with the next one. Counts are added to the day and month of the last request
//! in the batch, so a batch spanning midnight UTC lands on the later day.

use std::net::IpAddr;

use ipnet::IpNet;

use crate::clock::Timestamp;
use crate::format::KeyId;
use crate::store::{NetworkSighting, UsageDelta, network_of};

/// One key's requests since the last flush.
#[derive(Debug, Default)]
struct Pending {
    count: u64,
    last_used: i64,
    /// The network of the key's last request ([`code`]), 0 before any: a request from the same
    /// network as the one before it touches nothing else.
    last_network: u64,
    /// The networks seen since the last flush, each with the time it was last switched to.
    networks: Vec<(IpNet, i64)>,
}

impl Pending {
    /// Notes `network` at `millis` (milliseconds), keeping the later time of a known one.
    fn saw(&mut self, network: IpNet, millis: i64) {
        match self.networks.iter_mut().find(|(n, _)| *n == network) {
            Some((_, t)) => *t = (*t).max(millis),
            None => self.networks.push((network, millis)),
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

/// Requests counted in memory and not yet flushed to the store.
///
/// Holds one small entry per key that has verified since start-up, in a map spread over a few
/// locks: counting a request is one uncontended lock and an add.
pub(crate) struct UsageRecorder {
    pending: crate::map::Sharded<KeyId, Pending>,
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
        UsageRecorder { pending: crate::map::Sharded::new() }
    }

    /// Counts `count` requests of `id` at `at`.
    #[inline]
    pub(crate) fn record(&self, id: KeyId, count: u64, at: Timestamp) {
        let mut pending = self.pending.lock(&id);
        let p = pending.entry(id).or_default();
        p.last_used = p.last_used.max(at.unix_millis());
        p.count = p.count.saturating_add(count);
    }

    /// Counts a request of `id` at `at`, and the network of `client` (when the adapter gave
    /// the client's address) among the key's recent networks.
    #[inline]
    pub(crate) fn record_from(&self, id: KeyId, at: Timestamp, client: Option<IpAddr>) {
        let mut pending = self.pending.lock(&id);
        let p = match pending.get_mut(&id) {
            Some(p) => p,
            None => pending.entry(id).or_default(),
        };
        let millis = at.unix_millis();
        p.last_used = p.last_used.max(millis);
        if let Some(ip) = client {
            let net = network_of(ip);
            let code = code(&net);
            if std::mem::replace(&mut p.last_network, code) != code {
                p.saw(net, millis);
            }
        }
        p.count = p.count.saturating_add(1);
    }

    /// What is pending for `id`: (requests, last request).
    pub(crate) fn pending(&self, id: &KeyId) -> Option<(u64, Timestamp)> {
        let pending = self.pending.lock(id);
        let p = pending.get(id)?;
        (p.count > 0).then(|| (p.count, Timestamp::from_unix_millis(p.last_used)))
    }

    /// Takes everything pending, leaving the counters at zero.
    pub(crate) fn drain(&self) -> Vec<UsageDelta> {
        let mut batch = Vec::new();
        self.pending.for_each(|table| {
            for (id, p) in table.iter_mut() {
                let count = std::mem::take(&mut p.count);
                if count > 0 {
                    let last_used = Timestamp::from_unix_millis(p.last_used);
                    batch.push(UsageDelta { id: *id, count, last_used });
                }
            }
        });
        batch
    }

    /// Takes the networks seen since the last call. The network of a key's latest request
    /// is seen at that request's time.
    pub(crate) fn drain_networks(&self) -> Vec<NetworkSighting> {
        let mut sightings = Vec::new();
        self.pending.for_each(|table| {
            for (id, p) in table.iter_mut() {
                if p.networks.is_empty() {
                    continue;
                }
                let last = std::mem::take(&mut p.last_network);
                for (network, at) in p.networks.drain(..) {
                    let at = if code(&network) == last { at.max(p.last_used) } else { at };
                    sightings.push(NetworkSighting {
                        id: *id,
                        network,
                        seen_at: Timestamp::from_unix_millis(at),
                    });
                }
            }
        });
        sightings
    }

    /// Puts sightings back after a failed flush, so they go out with the next one.
    pub(crate) fn restore_networks(&self, batch: &[NetworkSighting]) {
        for s in batch {
            self.pending
                .lock(&s.id)
                .entry(s.id)
                .or_default()
                .saw(s.network, s.seen_at.unix_millis());
        }
    }

    /// Puts a batch back after a failed flush, so it goes out with the next one.
    pub(crate) fn restore(&self, batch: &[UsageDelta]) {
        for d in batch {
            self.record(d.id, d.count, d.last_used);
        }
    }
}
