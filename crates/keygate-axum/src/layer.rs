use std::future::Future;
use std::pin::Pin;
use std::task::{Context, Poll};

use axum::body::Body;
use axum::http::Request;
use axum::response::Response;
use keygate::Keygate;
use tower_layer::Layer;
use tower_service::Service;

use crate::peer_of;

/// A tower layer that authenticates every request with [`Keygate::authenticate`].
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
///     .layer(KeygateLayer::new(gate));
/// # Ok(app)
/// # }
/// ```
#[derive(Debug, Clone)]
pub struct KeygateLayer {
    gate: Keygate,
    tls: bool,
}

impl KeygateLayer {
    /// A layer authenticating with `gate`.
    pub fn new(gate: Keygate) -> Self {
        KeygateLayer { gate, tls: false }
    }

    /// Tells keygate the server terminates TLS itself, for
    /// [`require_https`](keygate::KeygateBuilder::require_https).
    pub fn tls(mut self, tls: bool) -> Self {
        self.tls = tls;
        self
    }
}

impl<S> Layer<S> for KeygateLayer {
    type Service = KeygateService<S>;

    fn layer(&self, inner: S) -> Self::Service {
        KeygateService { inner, gate: self.gate.clone(), tls: self.tls }
    }
}

/// The service of [`KeygateLayer`].
#[derive(Debug, Clone)]
pub struct KeygateService<S> {
    inner: S,
    gate: Keygate,
    tls: bool,
}

impl<S> Service<Request<Body>> for KeygateService<S>
where
    S: Service<Request<Body>, Response = Response> + Clone + Send + 'static,
    S::Future: Send + 'static,
{
    type Response = Response;
    type Error = S::Error;
    type Future = Pin<Box<dyn Future<Output = Result<Response, S::Error>> + Send>>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, mut req: Request<Body>) -> Self::Future {
        // The clone that was polled ready is the one to call.
        let clone = self.inner.clone();
        let mut inner = std::mem::replace(&mut self.inner, clone);
        let gate = self.gate.clone();
        let tls = self.tls;
        Box::pin(async move {
            let peer = peer_of(req.extensions(), tls);
            match keygate::adapter::Verified::authenticate(&gate, req.headers(), peer).await {
                Ok(verified) => {
                    let headers = verified.response_headers();
                    req.extensions_mut().insert(verified);
                    let mut response = inner.call(req).await?;
                    let extra = headers.iter().map(|(n, v)| (*n, v.as_str()));
                    keygate::adapter::insert_headers(response.headers_mut(), extra);
                    Ok(response)
                }
                Err(refusal) => Ok(refusal.into_http()),
            }
        })
    }
}
