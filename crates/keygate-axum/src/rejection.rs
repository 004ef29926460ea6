use axum::response::{IntoResponse, Response};
use keygate::AuthError;
use keygate::adapter::Refusal;

/// A refused request: why ([`error`](Self::error)), and keygate's rendered answer, sent as it is
/// by [`IntoResponse`].
///
/// Its status, headers (`WWW-Authenticate`, `Retry-After`, `X-RateLimit-*`, `X-Request-Id`) and
/// JSON body are exactly those of [`keygate::response::Renderer::render`].
///
/// ```
/// use axum::extract::FromRequestParts;
/// use axum::http::{Request, StatusCode};
/// use keygate_axum::{Auth, keygate::{AuthError, Keygate, preset::Preset}};
///
/// # #[tokio::main(flavor = "current_thread")]
/// # async fn main() -> Result<(), Box<dyn std::error::Error>> {
/// let gate = Keygate::builder(Preset::livetest()).random_pepper().build()?;
/// let (mut parts, ()) = Request::new(()).into_parts();
/// let rejection = Auth::from_request_parts(&mut parts, &gate).await.unwrap_err();
/// assert_eq!(rejection.status(), StatusCode::UNAUTHORIZED);
/// assert!(matches!(rejection.error(), AuthError::Missing));
/// assert!(rejection.body_text().contains(r#""code":"unauthenticated""#));
/// # Ok(())
/// # }
/// ```
#[derive(Debug)]
pub struct Rejection {
    refusal: Refusal,
}

impl Rejection {
    /// The HTTP status.
    pub fn status(&self) -> axum::http::StatusCode {
        axum::http::StatusCode::from_u16(self.refusal.status())
            .unwrap_or(axum::http::StatusCode::INTERNAL_SERVER_ERROR)
    }

    /// The body: the preset's JSON error.
    pub fn body_text(&self) -> &str {
        &self.refusal.response().body
    }

    /// Why the request was refused.
    pub fn error(&self) -> &AuthError {
        self.refusal.error()
    }

    /// The refusal: the error and the rendered answer (with its headers).
    pub fn refusal(&self) -> &Refusal {
        &self.refusal
    }

    /// The refusal, to take apart.
    pub fn into_refusal(self) -> Refusal {
        self.refusal
    }
}

impl From<Refusal> for Rejection {
    fn from(refusal: Refusal) -> Self {
        Rejection { refusal }
    }
}

impl std::fmt::Display for Rejection {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        std::fmt::Display::fmt(&self.refusal, f)
    }
}

impl std::error::Error for Rejection {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        Some(self.refusal.error())
    }
}

impl IntoResponse for Rejection {
    fn into_response(self) -> Response {
        tracing::trace!(status = self.refusal.status(), "request rejected by keygate");
        self.refusal.into_http()
    }
}
