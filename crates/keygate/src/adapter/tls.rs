//! The TLS fact of a connection, as the host that accepted it tells the adapters.

/// Marks a request that came over a TLS connection the service terminated itself (not a
/// proxy's): for [`require_https`](crate::KeygateBuilder::require_https).
///
/// The host's TLS acceptor puts it where its framework keeps per-connection or per-request
/// data: a request extension for axum, tower, hyper and tonic stacks; `on_connect` data (or a
/// request extension) for actix-web; a request extension for warp. Every keygate adapter,
/// management routes included, then treats the request as HTTPS. Never put it on requests of a
/// plain-HTTP listener: a request that is not HTTPS would pass the rule.
///
/// ```
/// use keygate::adapter::TlsConnection;
///
/// let mut extensions = http::Extensions::new();
/// extensions.insert(TlsConnection);
/// assert!(TlsConnection::is_set(&extensions));
/// assert!(!TlsConnection::is_set(&http::Extensions::new()));
/// ```
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash)]
pub struct TlsConnection;

#[cfg(feature = "http")]
impl TlsConnection {
    /// Whether `extensions` (of a request) carry the mark.
    pub fn is_set(extensions: &http::Extensions) -> bool {
        extensions.get::<TlsConnection>().is_some()
    }
}
