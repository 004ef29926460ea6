use std::net::IpAddr;
use std::num::NonZeroUsize;
use std::sync::{Mutex, MutexGuard, PoisonError};

use lru::LruCache;

use crate::clock::Timestamp;

use super::window::Counters;
use super::{RateLimitInfo, Window};

/// Most client addresses tracked at once by default.
pub const DEFAULT_MAX_CLIENTS: usize = 100_000;

/// How client addresses are grouped for the failed-auth throttle: by network prefix, since one
/// host usually holds a whole IPv6 /64 (and a NAT may share one IPv4 address).
///
/// ```
/// use keygate::limit::ClientGrouping;
///
/// let default = ClientGrouping::default();
/// assert_eq!((default.v4_prefix, default.v6_prefix), (32, 64));
/// let coarse = ClientGrouping { v4_prefix: 24, v6_prefix: 48 };
/// assert_eq!(coarse.group("203.0.113.77".parse()?), "203.0.113.0".parse::<std::net::IpAddr>()?);
/// # Ok::<(), std::net::AddrParseError>(())
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ClientGrouping {
    /// Bits of an IPv4 address that name a client (default 32: each address).
    pub v4_prefix: u8,
    /// Bits of an IPv6 address that name a client (default 64: each /64).
    pub v6_prefix: u8,
}

impl Default for ClientGrouping {
    fn default() -> Self {
        ClientGrouping { v4_prefix: 32, v6_prefix: 64 }
    }
}

impl ClientGrouping {
    /// The network `ip` is counted as: its first `v4_prefix` / `v6_prefix` bits (an IPv4 address
    /// mapped into IPv6 counts as IPv4).
    pub fn group(&self, ip: IpAddr) -> IpAddr {
        let mask32 = |bits: u8| u32::MAX.checked_shl(32 - u32::from(bits.min(32))).unwrap_or(0);
        let mask128 = |bits: u8| u128::MAX.checked_shl(128 - u32::from(bits.min(128))).unwrap_or(0);
        match ip {
            IpAddr::V4(v4) => IpAddr::V4((u32::from(v4) & mask32(self.v4_prefix)).into()),
            IpAddr::V6(v6) => match v6.to_ipv4_mapped() {
                Some(v4) => self.group(IpAddr::V4(v4)),
                None => IpAddr::V6((u128::from(v6) & mask128(self.v6_prefix)).into()),
            },
        }
    }
}

/// Counts failed authentications per client network and says when one is over its budget.
///
/// A client over budget gets 429 instead of 401 for its further *failing* requests, and its
/// keys are looked up in memory only: a valid key in the verification cache (with a memory
/// store, every key) still passes; one that would need a store lookup gets 429 until the
/// window ends.
///
/// Memory is bounded: at most `max_clients` networks are tracked, in least-recently-failed
/// order. A new network at capacity takes the place of the one that failed longest ago, in
/// O(1): the throttle never stops counting and never scans.
pub(crate) struct FailureThrottle {
    budget: [Window; 1],
    grouping: ClientGrouping,
    clients: Mutex<LruCache<IpAddr, Counters>>,
}

impl std::fmt::Debug for FailureThrottle {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("FailureThrottle")
            .field("budget", &self.budget[0])
            .field("grouping", &self.grouping)
            .finish_non_exhaustive()
    }
}

impl FailureThrottle {
    /// A throttle allowing `budget` failures per client network, tracking at most
    /// `max_clients` networks.
    pub(crate) fn new(budget: Window, grouping: ClientGrouping, max_clients: usize) -> Self {
        let capacity = NonZeroUsize::new(max_clients).unwrap_or(NonZeroUsize::MIN);
        FailureThrottle { budget: [budget], grouping, clients: Mutex::new(LruCache::new(capacity)) }
    }

    fn clients(&self) -> MutexGuard<'_, LruCache<IpAddr, Counters>> {
        // Counters are plain numbers: a panic elsewhere cannot leave them inconsistent.
        self.clients.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Counts a failed authentication from `ip` at `now`. Returns the figures to answer 429 with
    /// when the client was already over its budget, `None` when the failure may be answered as
    /// usual.
    pub(crate) fn record_failure(&self, ip: IpAddr, now: Timestamp) -> Option<RateLimitInfo> {
        let key = self.grouping.group(ip);
        let mut clients = self.clients();
        let counters = clients.get_or_insert_mut(key, Counters::default);
        let decision = counters.decide(&self.budget, now, true)?;
        (!decision.allowed).then_some(decision.info)
    }

    /// Whether `ip` is over its budget at `now`, without counting anything.
    pub(crate) fn is_over_budget(&self, ip: IpAddr, now: Timestamp) -> bool {
        let key = self.grouping.group(ip);
        let clients = self.clients();
        clients
            .peek(&key)
            .and_then(|c| c.clone().decide(&self.budget, now, false))
            .is_some_and(|d| !d.allowed)
    }

    /// Drops the counters of clients whose window has ended.
    pub(crate) fn sweep(&self, now: Timestamp) {
        let mut clients = self.clients();
        let stale: Vec<IpAddr> =
            clients.iter().filter(|(_, c)| c.is_stale(now)).map(|(ip, _)| *ip).collect();
        for ip in stale {
            clients.pop(&ip);
        }
    }

    /// How many client networks are tracked.
    #[cfg(test)]
    fn len(&self) -> usize {
        self.clients().len()
    }
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use super::*;

    fn throttle(limit: u64, max_clients: usize) -> FailureThrottle {
        let budget = Window::new(limit, Duration::from_secs(60));
        FailureThrottle::new(budget, ClientGrouping::default(), max_clients)
    }

    #[test]
    fn over_budget_clients_are_told_to_wait() {
        let t = throttle(3, 10);
        let ip: IpAddr = "203.0.113.7".parse().unwrap();
        let now = Timestamp::from_unix_seconds(600);
        for _ in 0..3 {
            assert!(!t.is_over_budget(ip, now));
            assert_eq!(t.record_failure(ip, now), None);
        }
        assert!(t.is_over_budget(ip, now), "the budget is spent");
        let info = t.record_failure(ip, now).unwrap();
        assert_eq!(info.retry_after_secs(), Some(60));
        assert_eq!(t.record_failure("203.0.113.8".parse().unwrap(), now), None, "per client");
        let next = Timestamp::from_unix_seconds(660);
        assert!(!t.is_over_budget(ip, next));
        assert_eq!(t.record_failure(ip, next), None, "next window");
    }

    #[test]
    fn at_capacity_the_client_that_failed_longest_ago_makes_room() {
        let t = throttle(1, 2);
        let now = Timestamp::from_unix_seconds(0);
        let (a, b, c): (IpAddr, IpAddr, IpAddr) =
            ("10.0.0.1".parse().unwrap(), "10.0.0.2".parse().unwrap(), "10.0.0.3".parse().unwrap());
        t.record_failure(a, now);
        t.record_failure(b, now);
        t.record_failure(a, now);
        // Full: c is counted, in place of b (a failed more recently).
        assert_eq!(t.record_failure(c, now), None);
        assert_eq!(t.len(), 2);
        assert!(t.record_failure(c, now).is_some(), "c is counted, never let through uncounted");
        assert!(t.is_over_budget(a, now), "a is still tracked");
        assert!(!t.is_over_budget(b, now), "b made room");
    }

    #[test]
    fn networks_are_grouped_by_the_configured_prefixes() {
        let t = throttle(1, 10);
        let now = Timestamp::from_unix_seconds(0);
        assert_eq!(t.record_failure("2001:db8::1".parse().unwrap(), now), None);
        assert!(t.record_failure("2001:db8::2".parse().unwrap(), now).is_some(), "same /64");
        assert!(t.record_failure("::ffff:10.0.0.1".parse().unwrap(), now).is_none());
        assert!(t.record_failure("10.0.0.1".parse().unwrap(), now).is_some(), "mapped = IPv4");

        let coarse = ClientGrouping { v4_prefix: 24, v6_prefix: 48 };
        let t = FailureThrottle::new(Window::new(1, Duration::from_secs(60)), coarse, 10);
        assert_eq!(t.record_failure("198.51.100.1".parse().unwrap(), now), None);
        assert!(t.record_failure("198.51.100.200".parse().unwrap(), now).is_some(), "same /24");
        assert_eq!(t.record_failure("2001:db8:1:2::1".parse().unwrap(), now), None);
        assert!(t.record_failure("2001:db8:1:ffff::1".parse().unwrap(), now).is_some(), "same /48");
        let zero = ClientGrouping { v4_prefix: 0, v6_prefix: 0 };
        assert_eq!(zero.group("192.0.2.1".parse().unwrap()), "0.0.0.0".parse::<IpAddr>().unwrap());
        let wide = ClientGrouping { v4_prefix: 40, v6_prefix: 200 };
        assert_eq!(
            wide.group("192.0.2.1".parse().unwrap()),
            "192.0.2.1".parse::<IpAddr>().unwrap()
        );
    }

    #[test]
    fn stale_clients_are_swept() {
        let t = throttle(1, 10);
        t.record_failure("10.0.0.1".parse().unwrap(), Timestamp::from_unix_seconds(0));
        t.record_failure("10.0.0.2".parse().unwrap(), Timestamp::from_unix_seconds(65));
        t.sweep(Timestamp::from_unix_seconds(70));
        assert_eq!(t.len(), 1);
    }
}
