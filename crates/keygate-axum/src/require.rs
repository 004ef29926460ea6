use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};

use axum::body::Body;
use axum::http::Request;
use axum::response::Response;
use keygate::scope::Requirement;

use tower_layer::Layer;
use tower_service::Service;

/// A per-route layer that lets through only requests whose key holds `requirement`; put it
/// inside [`KeygateLayer`](crate::KeygateLayer) with `route_layer`.
///
/// ```
/// use axum::{Router, routing::get};
/// use keygate_axum::{KeygateLayer, RequireScopesLayer, keygate::{Keygate, preset::Preset, scope::Requirement}};
///
/// # fn app() -> Result<Router, Box<dyn std::error::Error>> {
/// let gate = Keygate::builder(Preset::livetest()).random_pepper().build()?;
/// let app = Router::new()
///     .route("/v1/tasks", get(|| async { "[]" }))
///     .route_layer(RequireScopesLayer::new(Requirement::all_of(["tasks:read"])?))
///     .layer(KeygateLayer::new(gate));
/// # Ok(app)
/// # }
/// ```
#[derive(Debug, Clone)]
pub struct RequireScopesLayer {
    requirement: Arc<Requirement>,
}

impl RequireScopesLayer {
    /// A layer requiring `requirement`.
    pub fn new(requirement: Requirement) -> Self {
        RequireScopesLayer { requirement: Arc::new(requirement) }
    }
}

impl<S> Layer<S> for RequireScopesLayer {
    type Service = RequireScopes<S>;

    fn layer(&self, inner: S) -> Self::Service {
        RequireScopes { inner, requirement: self.requirement.clone() }
    }
}

/// The service of [`RequireScopesLayer`].
#[derive(Debug, Clone)]
pub struct RequireScopes<S> {
    inner: S,
    requirement: Arc<Requirement>,
}

impl<S> Service<Request<Body>> for RequireScopes<S>
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

    fn call(&mut self, req: Request<Body>) -> Self::Future {
        let clone = self.inner.clone();
        let mut inner = std::mem::replace(&mut self.inner, clone);
        let Some(verified) = req.extensions().get::<keygate::adapter::Verified>() else {
            let what = "keygate: RequireScopesLayer used without KeygateLayer";
            tracing::error!("{what}");
            let mut response = Response::new(Body::from(what));
            *response.status_mut() = axum::http::StatusCode::INTERNAL_SERVER_ERROR;
            return Box::pin(async move { Ok(response) });
        };
        if let Err(refusal) = verified.require(&self.requirement) {
            let response = refusal.into_http();
            return Box::pin(async move { Ok(response) });
        }
        Box::pin(async move { inner.call(req).await })
    }
}
