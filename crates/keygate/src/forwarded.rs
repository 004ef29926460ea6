//! The client's address behind trusted proxies, from the one forwarding header the deployment
//! names: `X-Forwarded-For` (default) or `Forwarded` (RFC 7239).

use std::net::IpAddr;

use ipnet::IpNet;

use crate::credential::Headers;

/// Most forwarded hops read, from the right; hops further left are not looked at.
const MAX_HOPS: usize = 64;

/// The header a trusted proxy writes the client's address into. Only that header is read: a
/// client may send the other one, and a proxy passes it through untouched.
///
/// ```
/// use keygate::{ForwardedHeader, Keygate, preset::Preset};
///
/// let gate = Keygate::builder(Preset::livetest())
///     .random_pepper()
///     .trusted_proxies(["10.0.0.0/8".parse()?])
///     .forwarded_header(ForwardedHeader::Forwarded)
///     .build()?;
/// # let _ = gate;
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum ForwardedHeader {
    /// `X-Forwarded-For: client, proxy1, proxy2`, as most proxies write it.
    #[default]
    XForwardedFor,
    /// `Forwarded: for=client, for=proxy1` (RFC 7239).
    Forwarded,
}

/// The address to count a request against: the socket `peer`, unless it is a trusted proxy;
/// then, reading the forwarding header from the right, the first address that is not itself a
/// trusted proxy (the leftmost when all are). Only what the trusted proxies appended is
/// believed: anything unreadable before that point, or no header, gives the peer.
pub(crate) fn client_ip<H: Headers + ?Sized>(
    headers: &H,
    peer: Option<IpAddr>,
    trusted: &[IpNet],
    header: ForwardedHeader,
) -> Option<IpAddr> {
    let peer_ip = peer?;
    let is_trusted = |ip: &IpAddr| trusted.iter().any(|net| net.contains(ip));
    if !is_trusted(&peer_ip) {
        return peer;
    }
    let (name, node): (&str, fn(&str) -> Option<IpAddr>) = match header {
        ForwardedHeader::XForwardedFor => ("x-forwarded-for", |hop| hop.trim().parse().ok()),
        ForwardedHeader::Forwarded => ("forwarded", forwarded_node),
    };
    // Every hop of every header line, in order; read from the right.
    let lines: Vec<&[u8]> = headers.get_all(name).collect();
    let mut leftmost = None;
    for line in lines.iter().rev() {
        let Ok(text) = std::str::from_utf8(line) else { return leftmost.or(peer) };
        for (read, hop) in text.rsplit(',').enumerate() {
            if read >= MAX_HOPS {
                return leftmost.or(peer);
            }
            match node(hop) {
                Some(ip) if is_trusted(&ip) => leftmost = Some(ip),
                Some(ip) => return Some(ip),
                None => return leftmost.or(peer),
            }
        }
    }
    leftmost.or(peer)
}

/// The address of a `Forwarded` element's `for=` node: `192.0.2.1`, `192.0.2.1:80`,
/// `"[2001:db8::1]:4711"`.
fn forwarded_node(element: &str) -> Option<IpAddr> {
    let node = element.split(';').find_map(|pair| {
        let (name, value) = pair.trim().split_once('=')?;
        name.trim().eq_ignore_ascii_case("for").then_some(value.trim())
    })?;
    let node = node.strip_prefix('"').and_then(|n| n.strip_suffix('"')).unwrap_or(node);
    if let Some(rest) = node.strip_prefix('[') {
        return rest.split_once(']')?.0.parse().ok();
    }
    let host = node.split_once(':').map_or(node, |(host, _port)| host);
    host.parse().ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ip(s: &str) -> Option<IpAddr> {
        Some(s.parse().unwrap())
    }

    fn trusted() -> Vec<IpNet> {
        vec!["10.0.0.0/8".parse().unwrap(), "fd00::/8".parse().unwrap()]
    }

    fn xff(headers: &[(&str, &str)], peer: Option<IpAddr>) -> Option<IpAddr> {
        client_ip(headers, peer, &trusted(), ForwardedHeader::XForwardedFor)
    }

    #[test]
    fn a_trusted_proxy_forwards_the_client() {
        let proxy = ip("10.0.0.2");
        assert_eq!(
            xff(&[("X-Forwarded-For", "198.51.100.7, 10.0.0.9")], proxy),
            ip("198.51.100.7")
        );
        // The client cannot pick its address by prepending one: the rightmost untrusted hop wins.
        assert_eq!(xff(&[("X-Forwarded-For", "1.2.3.4, 198.51.100.7")], proxy), ip("198.51.100.7"));
        // Nor with garbage or a long chain of its own: what the proxy appended still counts.
        assert_eq!(xff(&[("X-Forwarded-For", "garbage, 198.51.100.7")], proxy), ip("198.51.100.7"));
        let long = format!("{}, 198.51.100.7", vec!["192.0.2.1"; 500].join(","));
        assert_eq!(xff(&[("X-Forwarded-For", long.as_str())], proxy), ip("198.51.100.7"));
        // Several header lines are one list, in order.
        let lines = [("X-Forwarded-For", "192.0.2.9"), ("X-Forwarded-For", "198.51.100.8")];
        assert_eq!(xff(&lines, proxy), ip("198.51.100.8"));
        assert_eq!(xff(&[("X-Forwarded-For", "10.1.1.1, 10.2.2.2")], proxy), ip("10.1.1.1"));
        // The other header is not read: a client may send it, and proxies pass it through.
        let both = [("Forwarded", "for=192.0.2.1"), ("X-Forwarded-For", "198.51.100.2")];
        assert_eq!(xff(&both, proxy), ip("198.51.100.2"));
        let fwd =
            |h: &str| client_ip(&[("Forwarded", h)], proxy, &trusted(), ForwardedHeader::Forwarded);
        assert_eq!(
            fwd(r#"for=192.0.2.60;proto=http, for="[2001:db8::1]:4711""#),
            ip("2001:db8::1")
        );
        assert_eq!(fwd("for=192.0.2.60:8080"), ip("192.0.2.60"));
        assert_eq!(fwd("for=unknown, for=192.0.2.61"), ip("192.0.2.61"));
    }

    #[test]
    fn an_untrusted_peer_or_an_unreadable_last_hop_counts_as_the_peer() {
        let header = [("X-Forwarded-For", "198.51.100.7")];
        assert_eq!(xff(&header, ip("203.0.113.5")), ip("203.0.113.5"));
        assert_eq!(
            client_ip(&header, ip("10.0.0.2"), &[], ForwardedHeader::XForwardedFor),
            ip("10.0.0.2")
        );
        assert_eq!(xff(&header, None), None);
        let proxy = ip("10.0.0.2");
        for bad in ["not-an-ip", "198.51.100.7,,", "", "198.51.100.7, 10.0.0.3, junk"] {
            assert_eq!(xff(&[("X-Forwarded-For", bad)], proxy), proxy, "{bad:?}");
        }
        assert_eq!(xff(&[("Accept", "*/*")], proxy), proxy, "no header");
        let bytes: [(&str, &[u8]); 1] = [("X-Forwarded-For", b"\xff\xfe")];
        assert_eq!(client_ip(&bytes, proxy, &trusted(), ForwardedHeader::XForwardedFor), proxy);
        for bad in ["for=unknown", "by=10.0.0.1", r#"for="[2001:db8::1""#] {
            let got =
                client_ip(&[("Forwarded", bad)], proxy, &trusted(), ForwardedHeader::Forwarded);
            assert_eq!(got, proxy, "{bad:?}");
        }
        // A trusted hop then garbage: the last trusted hop is as far as the chain is believed.
        assert_eq!(xff(&[("X-Forwarded-For", "junk, 10.0.0.5")], proxy), ip("10.0.0.5"));
    }
}
