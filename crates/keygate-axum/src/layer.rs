use axum::extract::MatchedPath;
use keygate::Keygate;
use keygate::adapter::RouteCosts;
use keygate_tower::JsonRefusal;
use tower_layer::Layer;

use crate::ConnectInfoAddr;

/// A tower layer that authenticates every request with [`Keygate::authenticate`]: the
/// [`keygate_tower::KeygateLayer`] set up for axum.
///
/// A request that passes reaches the inner service with its authentication in its extensions,
/// for the [`Auth`](crate::Auth), [`Scoped`](crate::Scoped) and [`RequestId`](crate::RequestId)
/// extractors and the management router; its response gets the `X-RateLimit-*` headers, and
/// `X-Request-Id` when the caller sent one. A request that fails is
/// answered by keygate's rendered error, in the preset's style.
///
/// The client address used by the failed-auth throttle comes from `ConnectInfo<SocketAddr>`:
/// serve with `into_make_service_with_connect_info::<SocketAddr>()`.
///
/// ```
/// use axum::{Router, routing::get};
/// use keygate_axum::{Auth, KeygateLayer, keygate::{Keygate, preset::Preset}};
///
/// # fn app() -> Result<Router, Box<dyn std::error::Error>> {
/// let gate = Keygate::builder(Preset::livetest()).random_pepper().build()?;
/// let app = Router::new()
///     .route("/v1/ping", get(|Auth(principal): Auth| async move { principal.workspace_id().to_owned() }))
///     .layer(KeygateLayer::new(gate.clone()))
///     .with_state(gate);
/// # Ok(app)
/// # }
/// ```
#[derive(Debug, Clone)]
pub struct KeygateLayer {
    inner: keygate_tower::KeygateLayer<JsonRefusal, ConnectInfoAddr>,
}

/// The service of [`KeygateLayer`].
pub type KeygateService<S> = keygate_tower::KeygateService<S, JsonRefusal, ConnectInfoAddr>;

impl KeygateLayer {
    /// A layer authenticating with `gate`.
    pub fn new(gate: Keygate) -> Self {
        KeygateLayer { inner: keygate_tower::KeygateLayer::new(gate).client_addr(ConnectInfoAddr) }
    }

    /// Tells keygate the server terminates TLS itself on every connection, for
    /// [`require_https`](keygate::KeygateBuilder::require_https). A server with plain and TLS
    /// listeners marks the TLS requests with [`TlsConnection`](keygate::adapter::TlsConnection)
    /// instead, which the management router reads too.
    pub fn tls(mut self, tls: bool) -> Self {
        self.inner = self.inner.tls(tls);
        self
    }

    /// What each route costs against the key's rate-limit windows and credits (every route
    /// costs 1 unless named): a route is its method and the pattern axum matched, as its
    /// `MatchedPath` says (the whole pattern, with the prefixes of nested routers:
    /// `/v1/tasks/{id}`). Add the layer with `Router::layer`, which runs after routing, so that
    /// the pattern is known; a request whose pattern is not known (the layer wraps the router
    /// from outside) costs the most its method costs on any route.
    ///
    /// ```
    /// use axum::{Router, routing::get};
    /// use keygate_axum::{KeygateLayer, keygate::{Keygate, adapter::RouteCosts, preset::Preset}};
    ///
    /// # fn app() -> Result<Router, Box<dyn std::error::Error>> {
    /// let gate = Keygate::builder(Preset::livetest()).random_pepper().build()?;
    /// let costs = RouteCosts::new().route("POST", "/v1/tasks", 2).route("GET", "/v1/tasks/{id}/export", 10);
    /// let app = Router::new()
    ///     .route("/v1/tasks", get(|| async { "[]" }).post(|| async { "{}" }))
    ///     .route("/v1/tasks/{id}/export", get(|| async { "[]" }))
    ///     .layer(KeygateLayer::new(gate).costs(costs));
    /// # Ok(app)
    /// # }
    /// ```
    pub fn costs(mut self, costs: RouteCosts) -> Self {
        self.inner = self.inner.costs(costs, matched_path);
        self
    }
}

impl<S> Layer<S> for KeygateLayer {
    type Service = KeygateService<S>;

    fn layer(&self, inner: S) -> Self::Service {
        self.inner.layer(inner)
    }
}

/// The pattern axum matched, if routing has happened.
fn matched_path<'a>(
    extensions: &'a axum::http::Extensions,
    _: &'a axum::http::Uri,
) -> Option<&'a str> {
    extensions.get::<MatchedPath>().map(MatchedPath::as_str)
}
