//! One request to the management API, as an adapter received it.

use crate::verify::Peer;

/// One request to the management API, as the adapter received it. Its `Debug` shows neither
/// the headers (they carry the credential) nor the body (it may carry anything).
///
/// ```
/// use keygate::{Keygate, adapter::ApiRequest, preset::Preset};
///
/// # #[tokio::main(flavor = "current_thread")]
/// # async fn main() -> Result<(), Box<dyn std::error::Error>> {
/// let gate = Keygate::builder(Preset::livetest()).random_pepper().build()?;
/// let headers = [("Authorization", "Bearer sk_live_not_a_key")];
/// let request = ApiRequest::new("GET", "/v1/api-keys", &headers).query(Some("limit=10"));
/// assert!(!format!("{request:?}").contains("sk_live_"));
/// let response = gate.handle_api(request, None).await;
/// assert_eq!(response.status, 401);
/// # Ok(())
/// # }
/// ```
#[derive(Clone, Copy)]
pub struct ApiRequest<'a, H: ?Sized> {
    /// `GET`, `POST`, `PATCH`, `DELETE`…
    pub method: &'a str,
    /// The path from the API's mount point, such as `/v1/api-keys/key_abc/rotate`.
    pub path: &'a str,
    /// The query string, without `?`.
    pub query: Option<&'a str>,
    /// The request headers.
    pub headers: &'a H,
    /// The body (at most [`MAX_BODY_LEN`](super::MAX_BODY_LEN) bytes are read).
    pub body: &'a [u8],
    /// The connection.
    pub peer: Peer,
}

impl<H: ?Sized> std::fmt::Debug for ApiRequest<'_, H> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ApiRequest")
            .field("method", &self.method)
            .field("path", &self.path)
            .field("query", &self.query)
            .field("headers", &format_args!("[REDACTED]"))
            .field("body", &format_args!("[{} bytes]", self.body.len()))
            .field("peer", &self.peer)
            .finish()
    }
}

impl<'a, H: ?Sized> ApiRequest<'a, H> {
    /// A request with no query, no body and an unknown peer.
    pub fn new(method: &'a str, path: &'a str, headers: &'a H) -> Self {
        ApiRequest { method, path, query: None, headers, body: &[], peer: Peer::default() }
    }

    /// With this body.
    pub fn body(mut self, body: &'a [u8]) -> Self {
        self.body = body;
        self
    }

    /// With this query string (without `?`).
    pub fn query(mut self, query: Option<&'a str>) -> Self {
        self.query = query;
        self
    }

    /// With this peer.
    pub fn peer(mut self, peer: Peer) -> Self {
        self.peer = peer;
        self
    }
}
