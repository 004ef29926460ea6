//! The layer: which gate, how to refuse, where the client's address is.

use std::sync::Arc;

use keygate::Keygate;
use keygate::adapter::RouteCosts;
use tower_layer::Layer;

use crate::{ClientAddr, GrpcRefusal, JsonRefusal, KeygateService, SocketAddrExtension};

/// Reads the route a request matched, for [`RouteCosts`]: the pattern, not the path, where the
/// router records it (axum's `MatchedPath`). `None` when it is not known: the request then
/// costs [`RouteCosts::cost_unmatched`], the most its method costs anywhere.
pub type RouteOf = for<'a> fn(&'a http::Extensions, &'a http::Uri) -> Option<&'a str>;

/// The request's path: the route of a service without a router (a gRPC method's path).
pub fn uri_path<'a>(_: &'a http::Extensions, uri: &'a http::Uri) -> Option<&'a str> {
    Some(uri.path())
}

/// What a layer hands every service it makes.
#[derive(Debug, Clone)]
pub(crate) struct Settings {
    pub(crate) tls: bool,
    pub(crate) costs: Arc<RouteCosts>,
    pub(crate) route_of: RouteOf,
}

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
    settings: Settings,
    refuse: R,
    client_addr: A,
}

impl KeygateLayer {
    /// A layer authenticating with `gate`, refusing in the preset's JSON, reading the client's
    /// address from a `SocketAddr` extension.
    pub fn new(gate: Keygate) -> Self {
        let settings =
            Settings { tls: false, costs: Arc::new(RouteCosts::new()), route_of: uri_path };
        KeygateLayer { gate, settings, refuse: JsonRefusal, client_addr: SocketAddrExtension }
    }
}

impl<R, A> KeygateLayer<R, A> {
    /// Tells keygate every connection of this server is TLS it terminates itself, for
    /// [`require_https`](keygate::KeygateBuilder::require_https). A server with both plain and
    /// TLS listeners marks the TLS requests with
    /// [`TlsConnection`](keygate::adapter::TlsConnection) instead.
    pub fn tls(mut self, tls: bool) -> Self {
        self.settings.tls = tls;
        self
    }

    /// What each route costs against the key's rate-limit windows and credits
    /// ([`Keygate::authenticate_weighted`]); every route costs 1 unless told. The route is
    /// what `route_of` reads ([`uri_path`] by default: for gRPC, `/package.Service/Method`).
    ///
    /// ```
    /// use keygate::{Keygate, adapter::RouteCosts, preset::Preset};
    /// use keygate_tower::{KeygateLayer, uri_path};
    ///
    /// # fn main() -> Result<(), Box<dyn std::error::Error>> {
    /// let gate = Keygate::builder(Preset::livetest()).random_pepper().build()?;
    /// let costs = RouteCosts::new().route("POST", "/tasks.v1.Tasks/Export", 10);
    /// let layer = KeygateLayer::new(gate).grpc().costs(costs, uri_path);
    /// # let _ = layer;
    /// # Ok(())
    /// # }
    /// ```
    pub fn costs(mut self, costs: RouteCosts, route_of: RouteOf) -> Self {
        self.settings.costs = Arc::new(costs);
        self.settings.route_of = route_of;
        self
    }

    /// Refuses with gRPC statuses ([`GrpcRefusal`]).
    pub fn grpc(self) -> KeygateLayer<GrpcRefusal, A> {
        self.refusal(GrpcRefusal)
    }

    /// Refuses with `refuse`.
    pub fn refusal<R2>(self, refuse: R2) -> KeygateLayer<R2, A> {
        let KeygateLayer { gate, settings, client_addr, .. } = self;
        KeygateLayer { gate, settings, refuse, client_addr }
    }

    /// Reads the client's address with `reader`.
    pub fn client_addr<A2: ClientAddr>(self, reader: A2) -> KeygateLayer<R, A2> {
        let KeygateLayer { gate, settings, refuse, .. } = self;
        KeygateLayer { gate, settings, refuse, client_addr: reader }
    }
}

impl<S, R: Clone, A: Clone> Layer<S> for KeygateLayer<R, A> {
    type Service = KeygateService<S, R, A>;

    fn layer(&self, inner: S) -> Self::Service {
        KeygateService::new(
            inner,
            self.gate.clone(),
            self.settings.clone(),
            self.refuse.clone(),
            self.client_addr.clone(),
        )
    }
}
