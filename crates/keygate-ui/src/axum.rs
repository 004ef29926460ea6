//! The page as an axum router.

use axum::Router;
use axum::body::Bytes;
use std::net::SocketAddr;

use axum::extract::{ConnectInfo, Request, State};
use axum::http::{HeaderMap, Method, Uri};
use axum::response::{IntoResponse, Response};
use axum::routing::any;
use keygate::Peer;
use keygate::adapter::{MAX_BODY_LEN, TlsConnection};

use crate::{KeysPage, PageRequest, RequestHead};

/// The routes of `page` at its mount path (the path itself, and everything under it), to
/// merge into the host's router. Requests are marked TLS by [`TlsConnection`] in their
/// extensions, as the adapters read it; the client's address comes from `ConnectInfo`
/// (`into_make_service_with_connect_info::<SocketAddr>()`), for the keys' `allowed_ips`.
///
/// ```
/// use std::sync::Arc;
/// use axum::{Router, routing::get};
/// use keygate::{Keygate, preset::Preset};
/// use keygate_ui::{KeyLogin, KeysPage};
///
/// # fn main() -> Result<(), keygate::BuildError> {
/// let gate = Keygate::builder(Preset::livetest()).random_pepper().build()?;
/// let page = KeysPage::new(gate.clone(), "/ui", Arc::new(KeyLogin::new(gate)));
/// let app: Router = Router::new()
///     .route("/healthz", get(|| async { "ok" }))
///     .merge(keygate_ui::axum::router(page));
/// # let _ = app;
/// # Ok(())
/// # }
/// ```
pub fn router<S: Clone + Send + Sync + 'static>(page: KeysPage) -> Router<S> {
    let mount = page.mount().to_owned();
    let root = if mount.is_empty() { "/".to_owned() } else { mount.clone() };
    let mut router = Router::new().route(&format!("{mount}/{{*rest}}"), any(handle));
    router = router.route(&root, any(handle));
    if !mount.is_empty() {
        router = router.route(&format!("{mount}/"), any(handle));
    }
    router.with_state(page)
}

async fn handle(State(page): State<KeysPage>, request: Request) -> Response {
    let (parts, body) = request.into_parts();
    let tls = TlsConnection::is_set(&parts.extensions);
    let ip = parts.extensions.get::<ConnectInfo<SocketAddr>>().map(|ConnectInfo(a)| a.ip());
    let Ok(body) = axum::body::to_bytes(body, MAX_BODY_LEN + 1).await else {
        return (axum::http::StatusCode::PAYLOAD_TOO_LARGE, "The body is too large.")
            .into_response();
    };
    answer(&page, &parts.method, &parts.uri, &parts.headers, &body, Peer { ip, tls }).await
}

async fn answer(
    page: &KeysPage,
    method: &Method,
    uri: &Uri,
    headers: &HeaderMap,
    body: &Bytes,
    peer: Peer,
) -> Response {
    let head = RequestHead::from_request(
        headers.iter().map(|(n, v)| (n.as_str(), v.to_str().ok())),
        uri.authority().map(|a| a.as_str()),
        peer,
    );
    let request = PageRequest {
        method: method.as_str(),
        path: uri.path(),
        query: uri.query(),
        head,
        body,
        tls: peer.tls,
    };
    match page.handle(request).await {
        Some(response) => response.into_http::<axum::body::Body>(),
        None => axum::http::StatusCode::NOT_FOUND.into_response(),
    }
}
