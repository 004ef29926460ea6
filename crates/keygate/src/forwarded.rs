//! The client's address behind trusted proxies, from `Forwarded` (RFC 7239) or
//! `X-Forwarded-For`.

use std::net::IpAddr;

use ipnet::IpNet;

use crate::credential::Headers;

/// Most forwarded hops read; a longer chain is not believed.
const MAX_HOPS: usize = 64;

/// The address to count a request against: the socket `peer`, unless it is a trusted proxy;
/// then the rightmost forwarded address that is not itself a trusted proxy (the leftmost when
/// all are). A malformed or missing header, or an overlong chain, gives the peer.
pub(crate) fn client_ip<H: Headers + ?Sized>(
    headers: &H,
    peer: Option<IpAddr>,
    trusted: &[IpNet],
) -> Option<IpAddr> {
    let peer_ip = peer?;
    let is_trusted = |ip: &IpAddr| trusted.iter().any(|net| net.contains(ip));
    if !is_trusted(&peer_ip) {
        return peer;
    }
    let hops = forwarded_for(headers).unwrap_or_else(|| x_forwarded_for(headers));
    if hops.is_empty() {
        return peer;
    }
    hops.iter().rev().find(|ip| !is_trusted(ip)).or(hops.first()).copied()
}

/// The `for=` addresses of every `Forwarded` header, in order; `None` when there is no such
/// header, `Some(empty)` when one is malformed.
fn forwarded_for<H: Headers + ?Sized>(headers: &H) -> Option<Vec<IpAddr>> {
    let mut values = headers.get_all("forwarded").peekable();
    values.peek()?;
    let mut hops = Vec::new();
    for value in values {
        let Ok(text) = std::str::from_utf8(value) else { return Some(Vec::new()) };
        for element in text.split(',') {
            let node = element.split(';').find_map(|pair| {
                let (name, value) = pair.trim().split_once('=')?;
                name.trim().eq_ignore_ascii_case("for").then_some(value.trim())
            });
            match node.and_then(node_ip) {
                Some(ip) if hops.len() < MAX_HOPS => hops.push(ip),
                _ => return Some(Vec::new()),
            }
        }
    }
    Some(hops)
}

/// A `Forwarded` node: `192.0.2.1`, `192.0.2.1:80`, `"[2001:db8::1]:4711"`.
fn node_ip(node: &str) -> Option<IpAddr> {
    let node = node.strip_prefix('"').and_then(|n| n.strip_suffix('"')).unwrap_or(node);
    if let Some(rest) = node.strip_prefix('[') {
        return rest.split_once(']')?.0.parse().ok();
    }
    let host = node.split_once(':').map_or(node, |(host, _port)| host);
    host.parse().ok()
}

/// The addresses of every `X-Forwarded-For` header, in order; empty when there is none or one
/// is malformed.
fn x_forwarded_for<H: Headers + ?Sized>(headers: &H) -> Vec<IpAddr> {
    let mut hops = Vec::new();
    for value in headers.get_all("x-forwarded-for") {
        let Ok(text) = std::str::from_utf8(value) else { return Vec::new() };
        for hop in text.split(',') {
            match hop.trim().parse() {
                Ok(ip) if hops.len() < MAX_HOPS => hops.push(ip),
                _ => return Vec::new(),
            }
        }
    }
    hops
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

    #[test]
    fn a_trusted_proxy_forwards_the_client() {
        let proxy = ip("10.0.0.2");
        let xff = [("X-Forwarded-For", "198.51.100.7, 10.0.0.9")];
        assert_eq!(client_ip(&xff, proxy, &trusted()), ip("198.51.100.7"));
        // The client cannot pick its address by prepending one: the rightmost untrusted hop wins.
        let spoofed = [("X-Forwarded-For", "1.2.3.4, 198.51.100.7")];
        assert_eq!(client_ip(&spoofed, proxy, &trusted()), ip("198.51.100.7"));
        let fwd = [("Forwarded", r#"for=192.0.2.60;proto=http, for="[2001:db8::1]:4711""#)];
        assert_eq!(client_ip(&fwd, proxy, &trusted()), ip("2001:db8::1"));
        let port = [("Forwarded", "for=192.0.2.60:8080")];
        assert_eq!(client_ip(&port, proxy, &trusted()), ip("192.0.2.60"));
        // Forwarded is preferred to X-Forwarded-For.
        let both = [("Forwarded", "for=192.0.2.1"), ("X-Forwarded-For", "192.0.2.2")];
        assert_eq!(client_ip(&both, proxy, &trusted()), ip("192.0.2.1"));
        let all_trusted = [("X-Forwarded-For", "10.1.1.1, 10.2.2.2")];
        assert_eq!(client_ip(&all_trusted, proxy, &trusted()), ip("10.1.1.1"));
    }

    #[test]
    fn an_untrusted_peer_or_a_bad_header_counts_as_the_peer() {
        let xff = [("X-Forwarded-For", "198.51.100.7")];
        assert_eq!(client_ip(&xff, ip("203.0.113.5"), &trusted()), ip("203.0.113.5"));
        assert_eq!(client_ip(&xff, ip("10.0.0.2"), &[]), ip("10.0.0.2"));
        assert_eq!(client_ip(&xff, None, &trusted()), None);
        let proxy = ip("10.0.0.2");
        for bad in [
            ("X-Forwarded-For", "not-an-ip"),
            ("X-Forwarded-For", "198.51.100.7,,"),
            ("X-Forwarded-For", ""),
            ("Forwarded", "for=unknown"),
            ("Forwarded", "by=10.0.0.1"),
            ("Forwarded", r#"for="[2001:db8::1""#),
        ] {
            assert_eq!(client_ip(&[bad], proxy, &trusted()), proxy, "{bad:?}");
        }
        assert_eq!(client_ip(&[("Accept", "*/*")], proxy, &trusted()), proxy, "no header");
        let long = vec!["198.51.100.7"; MAX_HOPS + 1].join(",");
        assert_eq!(client_ip(&[("X-Forwarded-For", long.as_str())], proxy, &trusted()), proxy);
        let bytes: [(&str, &[u8]); 1] = [("X-Forwarded-For", b"\xff\xfe")];
        assert_eq!(client_ip(&bytes, proxy, &trusted()), proxy);
    }
}
