use axum::response::{IntoResponse, Response};

/// A refused request: the rendered keygate error, sent as it is.
///
/// Its status, headers (`WWW-Authenticate`, `Retry-After`, `X-RateLimit-*`, `X-Request-Id`) and
/// JSON body are exactly those of [`keygate::response::Renderer::render`].
#[derive(Debug)]
pub struct Rejection(pub(crate) Response);

impl Rejection {
    /// The HTTP status.
    pub fn status(&self) -> axum::http::StatusCode {
        self.0.status()
    }

    /// A 500 for a server set up wrong (an extractor used without [`KeygateLayer`](crate::KeygateLayer)).
    pub(crate) fn misconfigured(what: &'static str) -> Self {
        tracing::error!("{what}");
        let mut response = Response::new(axum::body::Body::from(what));
        *response.status_mut() = axum::http::StatusCode::INTERNAL_SERVER_ERROR;
        Rejection(response)
    }
}

impl IntoResponse for Rejection {
    fn into_response(self) -> Response {
        tracing::trace!(status = %self.0.status(), "request rejected by keygate");
        self.0
    }
}
