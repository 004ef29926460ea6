//! Where the client's address comes from: the connection info a server puts on each request.

use std::net::{IpAddr, SocketAddr};

/// Reads the client's address from a request's extensions, for the failed-auth throttle and
/// events. Servers keep it in different types (axum's `ConnectInfo<SocketAddr>`, tonic's
/// `TcpConnectInfo`, a plain `SocketAddr` a hyper accept loop inserts), so the reader is
/// pluggable; any `Fn(&http::Extensions) -> Option<IpAddr>` is one.
///
/// ```
/// use std::net::{IpAddr, SocketAddr};
/// use keygate_tower::{ClientAddr, SocketAddrExtension};
///
/// let mut extensions = http::Extensions::new();
/// extensions.insert(SocketAddr::from(([203, 0, 113, 9], 4242)));
/// let ip = IpAddr::from([203, 0, 113, 9]);
/// assert_eq!(SocketAddrExtension.client_ip(&extensions), Some(ip));
///
/// // A reader of one's own: here, a wrapper type a server inserts.
/// #[derive(Clone)]
/// struct Remote(SocketAddr);
/// let reader = |ext: &http::Extensions| ext.get::<Remote>().map(|r| r.0.ip());
/// extensions.insert(Remote(SocketAddr::from(([198, 51, 100, 1], 1))));
/// assert_eq!(reader.client_ip(&extensions), Some(IpAddr::from([198, 51, 100, 1])));
/// ```
pub trait ClientAddr: Clone + Send + Sync + 'static {
    /// The client's address, if the server recorded it.
    fn client_ip(&self, extensions: &http::Extensions) -> Option<IpAddr>;
}

impl<F> ClientAddr for F
where
    F: Fn(&http::Extensions) -> Option<IpAddr> + Clone + Send + Sync + 'static,
{
    fn client_ip(&self, extensions: &http::Extensions) -> Option<IpAddr> {
        self(extensions)
    }
}

/// The default reader: a [`SocketAddr`] in the request's extensions, as a hyper accept loop
/// inserts it (`req.extensions_mut().insert(remote)`).
#[derive(Debug, Clone, Copy, Default)]
pub struct SocketAddrExtension;

impl ClientAddr for SocketAddrExtension {
    fn client_ip(&self, extensions: &http::Extensions) -> Option<IpAddr> {
        extensions.get::<SocketAddr>().map(SocketAddr::ip)
    }
}
