use std::future::{Ready, ready};
use std::rc::Rc;
use std::sync::Arc;

use actix_web::body::{EitherBody, MessageBody};
use actix_web::dev::{Service, ServiceRequest, ServiceResponse, Transform, forward_ready};
use actix_web::http::header::{HeaderName, HeaderValue};
use actix_web::{Error, HttpMessage};
use futures_util::future::LocalBoxFuture;
use keygate::adapter::RouteCosts;
use keygate::{Keygate, Peer};

use crate::{ActixHeaders, into_response, is_tls};

/// Middleware that authenticates every request with [`Keygate::authenticate`].
///
/// A request that passes reaches the service with its authentication in its extensions, for
/// the [`Auth`](crate::Auth), [`Scoped`](crate::Scoped) and [`RequestId`](crate::RequestId)
/// extractors and the management routes; its response gets the `X-RateLimit-*` headers, and
/// `X-Request-Id` when the caller sent one. A request that fails is answered by
/// keygate's rendered error, in the preset's style.
///
/// ```
/// use actix_web::{App, web};
/// use keygate_actix::{Auth, KeygateTransform, keygate::{Keygate, preset::Preset}};
///
/// # fn app() -> Result<(), Box<dyn std::error::Error>> {
/// let gate = Keygate::builder(Preset::livetest()).random_pepper().build()?;
/// let app = App::new().service(
///     web::resource("/v1/ping")
///         .wrap(KeygateTransform::new(gate))
///         .route(web::get().to(|Auth(_principal): Auth| async { "pong" })),
/// );
/// # let _ = app;
/// # Ok(())
/// # }
/// ```
#[derive(Debug, Clone)]
pub struct KeygateTransform {
    gate: Keygate,
    tls: bool,
    costs: Arc<RouteCosts>,
}

impl KeygateTransform {
    /// Middleware authenticating with `gate`.
    pub fn new(gate: Keygate) -> Self {
        KeygateTransform { gate, tls: false, costs: Arc::new(RouteCosts::new()) }
    }

    /// Tells keygate the server terminates TLS itself on every connection, for
    /// [`require_https`](keygate::KeygateBuilder::require_https). A server with plain and TLS
    /// listeners marks TLS connections instead, with
    /// [`TlsConnection`](keygate::adapter::TlsConnection) in `HttpServer::on_connect`; the
    /// management routes read that mark too.
    pub fn tls(mut self, tls: bool) -> Self {
        self.tls = tls;
        self
    }

    /// What each route costs against the key's rate-limit windows and credits (every route
    /// costs 1 unless named): a route is its method and its resource's pattern, as written in
    /// `web::resource` (with the prefixes of its scopes). Wrap the resources themselves, as
    /// below: where the pattern cannot be known, a request costs the most its method costs on
    /// any route.
    ///
    /// ```
    /// use actix_web::{App, web};
    /// use keygate_actix::{KeygateTransform, keygate::{Keygate, adapter::RouteCosts, preset::Preset}};
    ///
    /// # fn app() -> Result<(), Box<dyn std::error::Error>> {
    /// let gate = Keygate::builder(Preset::livetest()).random_pepper().build()?;
    /// let costs = RouteCosts::new().route("POST", "/v1/tasks", 2);
    /// let app = App::new().service(
    ///     web::resource("/v1/tasks")
    ///         .wrap(KeygateTransform::new(gate).costs(costs))
    ///         .route(web::get().to(|| async { "[]" }))
    ///         .route(web::post().to(|| async { "{}" })),
    /// );
    /// # let _ = app;
    /// # Ok(())
    /// # }
    /// ```
    pub fn costs(mut self, costs: RouteCosts) -> Self {
        self.costs = Arc::new(costs);
        self
    }
}

impl<S, B> Transform<S, ServiceRequest> for KeygateTransform
where
    S: Service<ServiceRequest, Response = ServiceResponse<B>, Error = Error> + 'static,
    B: MessageBody + 'static,
{
    type Response = ServiceResponse<EitherBody<B>>;
    type Error = Error;
    type Transform = KeygateMiddleware<S>;
    type InitError = ();
    type Future = Ready<Result<Self::Transform, Self::InitError>>;

    fn new_transform(&self, service: S) -> Self::Future {
        ready(Ok(KeygateMiddleware {
            service: Rc::new(service),
            gate: self.gate.clone(),
            tls: self.tls,
            costs: self.costs.clone(),
        }))
    }
}

/// The service of [`KeygateTransform`].
#[derive(Debug)]
pub struct KeygateMiddleware<S> {
    service: Rc<S>,
    gate: Keygate,
    tls: bool,
    costs: Arc<RouteCosts>,
}

impl<S, B> Service<ServiceRequest> for KeygateMiddleware<S>
where
    S: Service<ServiceRequest, Response = ServiceResponse<B>, Error = Error> + 'static,
    B: MessageBody + 'static,
{
    type Response = ServiceResponse<EitherBody<B>>;
    type Error = Error;
    type Future = LocalBoxFuture<'static, Result<Self::Response, Self::Error>>;

    forward_ready!(service);

    fn call(&self, req: ServiceRequest) -> Self::Future {
        let service = self.service.clone();
        let gate = self.gate.clone();
        let tls = self.tls;
        // Before routing (the transform wraps the App or a scope) the pattern may not be known:
        // then the request costs the most its method costs on any route.
        let cost = self.costs.cost_with(req.method().as_str(), || req.match_pattern());
        Box::pin(async move {
            let peer =
                Peer { ip: req.peer_addr().map(|a| a.ip()), tls: is_tls(req.request(), tls) };
            let headers = ActixHeaders(req.headers());
            let outcome =
                keygate::adapter::Verified::authenticate_weighted(&gate, &headers, peer, cost)
                    .await;
            match outcome {
                Ok(verified) => {
                    let extra = verified.response_headers();
                    req.extensions_mut().insert(verified);
                    let mut response = service.call(req).await?;
                    let headers = response.headers_mut();
                    for (name, value) in &extra {
                        if let Ok(value) = HeaderValue::from_str(value) {
                            headers.insert(HeaderName::from_static(name), value);
                        }
                    }
                    Ok(response.map_into_left_body())
                }
                Err(refusal) => {
                    let response = into_response(refusal.response());
                    Ok(req.into_response(response).map_into_right_body())
                }
            }
        })
    }
}
