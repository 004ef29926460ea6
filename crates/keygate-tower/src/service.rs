//! The service: authenticate, then call the inner service or answer the refusal.

use std::future::Future;
use std::pin::Pin;
use std::task::{Context, Poll};

use http::{Request, Response};
use keygate::adapter::{TlsConnection, Verified};
use keygate::{Keygate, Peer};
use tower_service::Service;

use crate::layer::Settings;
use crate::{ClientAddr, Refuse};

/// The future of [`KeygateService`].
pub type ResponseFuture<B, E> = Pin<Box<dyn Future<Output = Result<Response<B>, E>> + Send>>;

/// The service of [`KeygateLayer`](crate::KeygateLayer).
#[derive(Debug, Clone)]
pub struct KeygateService<S, R, A> {
    inner: S,
    gate: Keygate,
    settings: Settings,
    refuse: R,
    client_addr: A,
}

impl<S, R, A> KeygateService<S, R, A> {
    pub(crate) fn new(
        inner: S,
        gate: Keygate,
        settings: Settings,
        refuse: R,
        client_addr: A,
    ) -> Self {
        KeygateService { inner, gate, settings, refuse, client_addr }
    }
}

impl<S, R, A, ReqBody, ResBody> Service<Request<ReqBody>> for KeygateService<S, R, A>
where
    S: Service<Request<ReqBody>, Response = Response<ResBody>> + Clone + Send + 'static,
    S::Future: Send + 'static,
    ReqBody: Send + 'static,
    R: Refuse<ResBody>,
    A: ClientAddr,
{
    type Response = Response<ResBody>;
    type Error = S::Error;
    type Future = ResponseFuture<ResBody, S::Error>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, mut req: Request<ReqBody>) -> Self::Future {
        // The clone that was polled ready is the one to call.
        let clone = self.inner.clone();
        let mut inner = std::mem::replace(&mut self.inner, clone);
        let gate = self.gate.clone();
        let refuse = self.refuse.clone();
        let peer = Peer {
            ip: self.client_addr.client_ip(req.extensions()),
            tls: self.settings.tls || TlsConnection::is_set(req.extensions()),
        };
        let route_of = self.settings.route_of;
        let cost = self
            .settings
            .costs
            .cost_with(req.method().as_str(), || route_of(req.extensions(), req.uri()));
        Box::pin(async move {
            match Verified::authenticate_weighted(&gate, req.headers(), peer, cost).await {
                Ok(verified) => {
                    let headers = verified.response_headers();
                    req.extensions_mut().insert(verified);
                    let mut response = inner.call(req).await?;
                    let extra = headers.iter().map(|(n, v)| (*n, v.as_str()));
                    keygate::adapter::insert_headers(response.headers_mut(), extra);
                    Ok(response)
                }
                Err(refusal) => Ok(refuse.refuse(&gate, refusal)),
            }
        })
    }
}
