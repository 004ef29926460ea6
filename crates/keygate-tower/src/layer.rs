//! The layer: which gate, how to refuse, where the client's address is.

use keygate::Keygate;
use tower_layer::Layer;

use crate::{ClientAddr, GrpcRefusal, JsonRefusal, KeygateService, SocketAddrExtension};

/// A tower layer that authenticates every request with [`Keygate::authenticate`], for any
/// `http::Request<B>`: axum routers, tonic gRPC servers, plain hyper services.
///
/// A request that passes reaches the inner service with its
/// [`Verified`](keygate::adapter::Verified) authentication in its extensions; its response gets
/// the `X-RateLimit-*` headers, and `X-Request-Id` when the caller sent one. A request that
/// fails is answered by the refusal `R`: the preset's JSON ([`JsonRefusal`], the default) or a
/// gRPC status ([`GrpcRefusal`], via [`grpc`](Self::grpc)). The key is read where the preset
/// reads it (`authorization: Bearer …`, `x-api-key`): gRPC metadata are such headers.
///
/// The client's address, for the failed-auth throttle, comes from the reader `A`
/// ([`SocketAddrExtension`] by default: see [`client_addr`](Self::client_addr)). The request is
/// taken as HTTPS when the layer is told so ([`tls`](Self::tls)) or when it carries
/// [`TlsConnection`](keygate::adapter::TlsConnection).
///
/// ```
/// use std::net::IpAddr;
/// use keygate::{Keygate, preset::Preset};
/// use keygate_tower::KeygateLayer;
///
/// # fn main() -> Result<(), Box<dyn std::error::Error>> {
/// let gate = Keygate::builder(Preset::livetest()).random_pepper().build()?;
/// // For a tonic server: gRPC statuses, and the address tonic records for each request.
/// # #[derive(Clone)] struct TcpConnectInfo; impl TcpConnectInfo { fn remote_addr(&self) -> Option<std::net::SocketAddr> { None } }
/// let layer = KeygateLayer::new(gate).grpc().client_addr(|ext: &http::Extensions| {
///     ext.get::<TcpConnectInfo>().and_then(|info| info.remote_addr()).map(|addr| addr.ip())
/// });
/// # let _ = layer;
/// # Ok(())
/// # }
/// ```
#[derive(Debug, Clone)]
pub struct KeygateLayer<R = JsonRefusal, A = SocketAddrExtension> {
    gate: Keygate,
    tls: bool,
    refuse: R,
    client_addr: A,
}

impl KeygateLayer {
    /// A layer authenticating with `gate`, refusing in the preset's JSON, reading the client's
    /// address from a `SocketAddr` extension.
    pub fn new(gate: Keygate) -> Self {
        KeygateLayer { gate, tls: false, refuse: JsonRefusal, client_addr: SocketAddrExtension }
    }
}

impl<R, A> KeygateLayer<R, A> {
    /// Tells keygate every connection of this server is TLS it terminates itself, for
    /// [`require_https`](keygate::KeygateBuilder::require_https). A server with both plain and
    /// TLS listeners marks the TLS requests with
    /// [`TlsConnection`](keygate::adapter::TlsConnection) instead.
    pub fn tls(mut self, tls: bool) -> Self {
        self.tls = tls;
        self
    }

    /// Refuses with gRPC statuses ([`GrpcRefusal`]).
    pub fn grpc(self) -> KeygateLayer<GrpcRefusal, A> {
        self.refusal(GrpcRefusal)
    }

    /// Refuses with `refuse`.
    pub fn refusal<R2>(self, refuse: R2) -> KeygateLayer<R2, A> {
        let KeygateLayer { gate, tls, client_addr, .. } = self;
        KeygateLayer { gate, tls, refuse, client_addr }
    }

    /// Reads the client's address with `reader`.
    pub fn client_addr<A2: ClientAddr>(self, reader: A2) -> KeygateLayer<R, A2> {
        let KeygateLayer { gate, tls, refuse, .. } = self;
        KeygateLayer { gate, tls, refuse, client_addr: reader }
    }
}

impl<S, R: Clone, A: Clone> Layer<S> for KeygateLayer<R, A> {
    type Service = KeygateService<S, R, A>;

    fn layer(&self, inner: S) -> Self::Service {
        KeygateService::new(
            inner,
            self.gate.clone(),
            self.tls,
            self.refuse.clone(),
            self.client_addr.clone(),
        )
    }
}
