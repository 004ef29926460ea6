#![doc = include_str!("../README.md")]
#![forbid(unsafe_code)]

mod extract;
mod layer;
mod management;
mod rejection;
mod require;

pub use extract::{Auth, Planned, RequestId, Scoped};
pub use keygate;
pub use keygate::plan::RequirePlan;
pub use keygate::scope::ScopeRequirement;
pub use keygate::{plan_requirement, requirement};
pub use layer::{KeygateLayer, KeygateService};
pub use management::management_router;
pub use rejection::Rejection;
pub use require::{RequireScopes, RequireScopesLayer};

use std::net::{IpAddr, SocketAddr};

use axum::extract::ConnectInfo;
use keygate::Peer;
use keygate::adapter::TlsConnection;

/// Reads the client's address from axum's `ConnectInfo<SocketAddr>`, which
/// `into_make_service_with_connect_info::<SocketAddr>()` puts on every request: the
/// [`keygate_tower::ClientAddr`] of [`KeygateLayer`].
#[derive(Debug, Clone, Copy, Default)]
pub struct ConnectInfoAddr;

impl keygate_tower::ClientAddr for ConnectInfoAddr {
    fn client_ip(&self, extensions: &axum::http::Extensions) -> Option<IpAddr> {
        extensions.get::<ConnectInfo<SocketAddr>>().map(|ConnectInfo(addr)| addr.ip())
    }
}

/// The peer of a request: its address when the server was started with
/// `into_make_service_with_connect_info::<SocketAddr>()`, and TLS when `tls` is set or the
/// request carries [`TlsConnection`].
fn peer_of(extensions: &axum::http::Extensions, tls: bool) -> Peer {
    let ip = extensions.get::<ConnectInfo<SocketAddr>>().map(|ConnectInfo(addr)| addr.ip());
    Peer { ip, tls: tls || TlsConnection::is_set(extensions) }
}
