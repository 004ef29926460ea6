//! The networks a key was used from: a short list per key, most recent first, kept by the same
//! write-behind flush as usage.

use std::net::IpAddr;

use ipnet::{IpNet, Ipv4Net, Ipv6Net};
use serde::Serialize;

use crate::clock::Timestamp;
use crate::format::KeyId;

/// How many networks a key remembers: the most recently seen ones.
pub const RECENT_NETWORKS: usize = 8;

/// The network an address belongs to, as a key remembers it: its /24 for IPv4 (also an
/// IPv4-mapped IPv6 address), its /48 for IPv6.
///
/// ```
/// use keygate::store::network_of;
///
/// assert_eq!(network_of("203.0.113.77".parse()?).to_string(), "203.0.113.0/24");
/// assert_eq!(network_of("::ffff:203.0.113.77".parse()?).to_string(), "203.0.113.0/24");
/// assert_eq!(network_of("2001:db8:1:2::9".parse()?).to_string(), "2001:db8:1::/48");
/// # Ok::<(), std::net::AddrParseError>(())
/// ```
pub fn network_of(ip: IpAddr) -> IpNet {
    match ip.to_canonical() {
        IpAddr::V4(v4) => IpNet::V4(Ipv4Net::new_assert(v4, 24).trunc()),
        IpAddr::V6(v6) => IpNet::V6(Ipv6Net::new_assert(v6, 48).trunc()),
    }
}

/// A network a key was used from, and when last.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct SeenNetwork {
    /// The /24 or /48 ([`network_of`]), such as `203.0.113.0/24`.
    #[serde(serialize_with = "as_text")]
    #[cfg_attr(feature = "openapi", schema(value_type = String))]
    pub network: IpNet,
    /// The last request from it that was flushed.
    #[cfg_attr(feature = "openapi", schema(value_type = String, format = DateTime))]
    pub last_seen: Timestamp,
}

fn as_text<S: serde::Serializer>(net: &IpNet, s: S) -> Result<S::Ok, S::Error> {
    s.collect_str(net)
}

/// Requests of one key from one network since the last flush, recorded write-behind.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct NetworkSighting {
    /// The key.
    pub id: KeyId,
    /// The /24 or /48 ([`network_of`]).
    pub network: IpNet,
    /// The last request from it.
    pub seen_at: Timestamp,
}

impl NetworkSighting {
    /// Adds the sighting to a key's list: the one definition every store follows. The network's
    /// `last_seen` only moves forward; the list keeps the [`RECENT_NETWORKS`] most recently
    /// seen, most recent first (ties by network). Returns whether the network was not in the
    /// list, which is when [`Event::NewNetwork`](crate::event::Event::NewNetwork) fires.
    ///
    /// ```
    /// use keygate::{clock::Timestamp, store::{NetworkSighting, SeenNetwork}};
    ///
    /// let mut list: Vec<SeenNetwork> = Vec::new();
    /// let at = Timestamp::from_unix_seconds(1_800_000_000);
    /// let seen = NetworkSighting {
    ///     id: "key_AbCdEfGh1234".parse()?,
    ///     network: "203.0.113.0/24".parse()?,
    ///     seen_at: at,
    /// };
    /// assert!(seen.apply(&mut list));
    /// assert!(!seen.apply(&mut list), "known from now on");
    /// assert_eq!(list, [SeenNetwork { network: seen.network, last_seen: at }]);
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn apply(&self, list: &mut Vec<SeenNetwork>) -> bool {
        let new = match list.iter_mut().find(|n| n.network == self.network) {
            Some(known) => {
                known.last_seen = known.last_seen.max(self.seen_at);
                false
            }
            None => {
                list.push(SeenNetwork { network: self.network, last_seen: self.seen_at });
                true
            }
        };
        list.sort_by(|a, b| b.last_seen.cmp(&a.last_seen).then_with(|| a.network.cmp(&b.network)));
        list.truncate(RECENT_NETWORKS);
        new
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sighting(net: &str, at: i64) -> NetworkSighting {
        NetworkSighting {
            id: "key_AbCdEfGh1234".parse().unwrap(),
            network: net.parse().unwrap(),
            seen_at: Timestamp::from_unix_seconds(at),
        }
    }

    #[test]
    fn the_list_keeps_the_most_recent_networks_and_forgets_the_oldest() {
        let mut list = Vec::new();
        for i in 0..10 {
            assert!(sighting(&format!("10.0.{i}.0/24"), 100 + i).apply(&mut list));
        }
        assert_eq!(list.len(), RECENT_NETWORKS);
        assert_eq!(list[0].network.to_string(), "10.0.9.0/24");
        assert!(list.iter().all(|n| n.network.to_string() != "10.0.0.0/24"));
        // An older sighting of a known network does not move it back.
        assert!(!sighting("10.0.9.0/24", 50).apply(&mut list));
        assert_eq!(list[0].last_seen, Timestamp::from_unix_seconds(109));
        // A forgotten network is new again.
        assert!(sighting("10.0.0.0/24", 200).apply(&mut list));
        assert_eq!(list[0].network.to_string(), "10.0.0.0/24");
    }

    #[test]
    fn addresses_group_by_24_and_48() {
        let a = network_of("198.51.100.1".parse().unwrap());
        let b = network_of("198.51.100.254".parse().unwrap());
        let c = network_of("198.51.101.1".parse().unwrap());
        assert_eq!(a, b);
        assert_ne!(a, c);
        let v6 = network_of("2001:db8:aa:ffff::1".parse().unwrap());
        assert_eq!(v6, network_of("2001:db8:aa::2".parse().unwrap()));
        assert_ne!(v6, network_of("2001:db8:ab::2".parse().unwrap()));
    }
}
