use std::future::Future;
use std::pin::Pin;
use std::task::{Context, Poll};

use axum::body::Body;
use axum::http::Request;
use axum::response::Response;
use keygate::Keygate;
use keygate::request_id::{new_request_id, sent_request_id};
use tower_layer::Layer;
use tower_service::Service;

use crate::{AuthContext, into_axum, peer_of};

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
            // An id is made only for a response that needs one: an error body. A request that
            // passes keeps the caller's id, if it sent one.
            let sent = sent_request_id(req.headers());
            let peer = peer_of(req.extensions(), tls);
            match gate.authenticate(req.headers(), peer).await {
                Ok(auth) => {
                    let rate = auth.rate_limit.map(|info| info.headers());
                    let context = AuthContext { auth, gate, request_id: sent.clone() };
                    req.extensions_mut().insert(context);
                    let mut response = inner.call(req).await?;
                    let headers = response.headers_mut();
                    let rate = rate.iter().flatten().map(|(n, v)| (*n, v.as_str()));
                    let echo = sent.iter().map(|id| ("x-request-id", id.as_str()));
                    keygate::http::insert_headers(headers, rate.chain(echo));
                    Ok(response)
                }
                Err(err) => {
                    let id = sent.unwrap_or_else(new_request_id);
                    Ok(into_axum(gate.render(&err, Some(&id)), &id))
                }
            }
        })
    }
}
