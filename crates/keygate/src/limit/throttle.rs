use std::net::IpAddr;
use std::sync::{Arc, Mutex, PoisonError};

use crate::clock::Timestamp;

use super::window::Counters;
use super::{RateLimitInfo, Window};

type Map = crate::map::Map<IpAddr, Arc<Mutex<Counters>>>;

/// Most client addresses tracked at once by default.
pub const DEFAULT_MAX_CLIENTS: usize = 100_000;

/// Counts failed authentications per client address and says when one is over its budget.
///
/// A client over budget gets 429 instead of 401 for its further *failing* requests; a request
/// with a valid key is never blocked by it. IPv6 clients are counted by their /64 network,
/// since one host usually holds a whole /64.
///
/// Memory is bounded: at most `max_clients` addresses are tracked. When full, counters whose
/// window has ended are dropped; if it is still full, new addresses are not counted until room
/// frees up (their requests are still verified and refused as usual).
pub(crate) struct FailureThrottle {
    budget: [Window; 1],
    max_clients: usize,
    clients: Map,
}

impl std::fmt::Debug for FailureThrottle {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("FailureThrottle")
            .field("budget", &self.budget[0])
            .field("clients", &self.clients.len())
            .finish()
    }
}

fn client_key(ip: IpAddr) -> IpAddr {
    match ip {
        IpAddr::V4(_) => ip,
        IpAddr::V6(v6) => match v6.to_ipv4_mapped() {
            Some(v4) => IpAddr::V4(v4),
            None => {
                let net = u128::from(v6) & !((1u128 << 64) - 1);
                IpAddr::V6(net.into())
            }
        },
    }
}

impl FailureThrottle {
    /// Allows `budget.limit()` failures per client in each window of `budget.period()`.
    pub(crate) fn new(budget: Window) -> Self {
        FailureThrottle {
            budget: [budget],
            max_clients: DEFAULT_MAX_CLIENTS,
            clients: crate::map::new_map(),
        }
    }

    /// Tracks at most `max` client addresses.
    #[cfg(test)]
    fn max_clients(mut self, max: usize) -> Self {
        self.max_clients = max;
        self
    }

    /// Counts a failed authentication from `ip` at `now`. Returns the figures to answer 429 with
    /// when the client was already over its budget, `None` when the failure may be answered as
    /// usual.
    pub(crate) fn record_failure(&self, ip: IpAddr, now: Timestamp) -> Option<RateLimitInfo> {
        let key = client_key(ip);
        let clients = self.clients.pin();
        let counters = match clients.get(&key) {
            Some(c) => c,
            None => {
                if clients.len() >= self.max_clients {
                    clients.retain(|_, c| {
                        !c.lock().unwrap_or_else(PoisonError::into_inner).is_stale(now)
                    });
                    if clients.len() >= self.max_clients {
                        tracing::warn!("failed-auth throttle is full; not counting a new client");
                        return None;
                    }
                }
                clients.get_or_insert_with(key, Default::default)
            }
        };
        let mut counters = counters.lock().unwrap_or_else(PoisonError::into_inner);
        let decision = counters.decide(&self.budget, now, true)?;
        (!decision.allowed).then_some(decision.info)
    }

    /// Drops the counters of clients whose window has ended.
    pub(crate) fn sweep(&self, now: Timestamp) {
        self.clients
            .pin()
            .retain(|_, c| !c.lock().unwrap_or_else(PoisonError::into_inner).is_stale(now));
    }

    /// How many clients are tracked.
    #[cfg(test)]
    fn len(&self) -> usize {
        self.clients.len()
    }
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use super::*;

    #[test]
    fn over_budget_clients_are_told_to_wait() {
        let t = FailureThrottle::new(Window::new(3, Duration::from_secs(60)));
        let ip: IpAddr = "203.0.113.7".parse().unwrap();
        let now = Timestamp::from_unix_seconds(600);
        for _ in 0..3 {
            assert_eq!(t.record_failure(ip, now), None);
        }
        let info = t.record_failure(ip, now).unwrap();
        assert_eq!(info.retry_after_secs(), Some(60));
        assert_eq!(t.record_failure("203.0.113.8".parse().unwrap(), now), None, "per client");
        assert_eq!(t.record_failure(ip, Timestamp::from_unix_seconds(660)), None, "next window");
    }

    #[test]
    fn ipv6_counts_per_64_and_memory_is_bounded() {
        let t = FailureThrottle::new(Window::new(1, Duration::from_secs(60))).max_clients(2);
        let now = Timestamp::from_unix_seconds(0);
        assert_eq!(t.record_failure("2001:db8::1".parse().unwrap(), now), None);
        assert!(t.record_failure("2001:db8::2".parse().unwrap(), now).is_some(), "same /64");
        assert_eq!(t.record_failure("10.0.0.1".parse().unwrap(), now), None);
        assert_eq!(t.len(), 2);
        assert_eq!(t.record_failure("10.0.0.2".parse().unwrap(), now), None);
        assert_eq!(t.len(), 2, "full: a new client is not tracked");
        let later = Timestamp::from_unix_seconds(61);
        assert_eq!(t.record_failure("10.0.0.2".parse().unwrap(), later), None);
        assert_eq!(t.len(), 1, "stale clients were dropped to make room");
    }
}
