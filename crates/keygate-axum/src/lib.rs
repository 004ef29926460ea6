#![doc = include_str!("../README.md")]
#![forbid(unsafe_code)]

mod extract;
mod layer;
mod management;
mod rejection;
mod require;

pub use extract::{Auth, RequestId, Scoped};
pub use keygate;
pub use keygate::requirement;
pub use keygate::scope::ScopeRequirement;
pub use layer::{KeygateLayer, KeygateService};
pub use management::management_router;
pub use rejection::Rejection;
pub use require::{RequireScopes, RequireScopesLayer};

use std::net::SocketAddr;

/// What [`KeygateLayer`] leaves in a request's extensions for the extractors: one value, so
/// that a request that passes costs one extension.
#[derive(Debug, Clone)]
struct AuthContext {
    auth: keygate::Authenticated,
    gate: keygate::Keygate,
    /// The caller's `X-Request-Id`, if it sent a sane one.
    request_id: Option<String>,
}

impl AuthContext {
    /// The caller's request id, or a new one.
    fn request_id(&self) -> String {
        self.request_id.clone().unwrap_or_else(keygate::request_id::new_request_id)
    }
}

use axum::extract::ConnectInfo;
use keygate::Peer;

/// The peer of a request: its address when the server was started with
/// `into_make_service_with_connect_info::<SocketAddr>()`, and `tls` as configured.
fn peer_of(extensions: &axum::http::Extensions, tls: bool) -> Peer {
    let ip = extensions.get::<ConnectInfo<SocketAddr>>().map(|ConnectInfo(addr)| addr.ip());
    Peer { ip, tls }
}

/// Turns a keygate response into an axum one, adding `X-Request-Id`.
fn into_axum(
    mut response: keygate::response::Response,
    request_id: &str,
) -> axum::response::Response {
    response.headers.retain(|(name, _)| *name != "x-request-id");
    response.headers.push(("x-request-id", request_id.to_owned()));
    response.into_http()
}
