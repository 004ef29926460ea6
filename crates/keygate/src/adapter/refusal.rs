//! A refused request: why, and the answer rendered in the preset's style.

use crate::error::AuthError;
use crate::response::Response;

/// A request keygate refused: the [`AuthError`] (for code that wants to know why, or to answer
/// in another protocol such as gRPC) and the response rendered in the preset's style, with its
/// `X-Request-Id` and, for an authenticated request, its `X-RateLimit-*` headers.
///
/// ```
/// use keygate::{AuthError, Keygate, Peer, adapter::Verified, preset::Preset};
///
/// # #[tokio::main(flavor = "current_thread")]
/// # async fn main() -> Result<(), Box<dyn std::error::Error>> {
/// let gate = Keygate::builder(Preset::livetest()).random_pepper().build()?;
/// let refusal = Verified::authenticate(&gate, &[("Accept", "*/*")], Peer::default()).await.unwrap_err();
/// assert!(matches!(refusal.error(), AuthError::Missing));
/// assert_eq!(refusal.status(), 401);
/// assert!(refusal.response().body.contains("unauthenticated"));
/// # Ok(())
/// # }
/// ```
#[derive(Debug)]
pub struct Refusal(Box<Parts>);

/// Boxed, so that a `Result<_, Refusal>` stays small.
#[derive(Debug)]
struct Parts {
    error: AuthError,
    response: Response,
}

impl Refusal {
    /// A refusal for `error`, answered by `response`.
    pub fn new(error: AuthError, response: Response) -> Self {
        Refusal(Box::new(Parts { error, response }))
    }

    /// Why the request was refused.
    pub fn error(&self) -> &AuthError {
        &self.0.error
    }

    /// The HTTP status of the rendered answer.
    pub fn status(&self) -> u16 {
        self.0.response.status
    }

    /// The rendered answer.
    pub fn response(&self) -> &Response {
        &self.0.response
    }

    /// The rendered answer, to send.
    pub fn into_response(self) -> Response {
        self.0.response
    }

    /// The error and the rendered answer.
    pub fn into_parts(self) -> (AuthError, Response) {
        (self.0.error, self.0.response)
    }

    /// The rendered answer as an `http::Response` (feature `http`).
    #[cfg(feature = "http")]
    pub fn into_http<B: From<String>>(self) -> http::Response<B> {
        self.0.response.into_http()
    }
}

impl std::fmt::Display for Refusal {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "request refused ({}): {}", self.0.response.status, self.0.error)
    }
}

impl std::error::Error for Refusal {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        Some(&self.0.error)
    }
}
