use axum::Router;
use axum::body::Body;
use axum::extract::Request;
use axum::response::Response;
use axum::routing::any;
use http_body_util::BodyExt;
use keygate::Keygate;
use keygate::adapter::{ApiRequest, CappedBody};

use crate::peer_of;

/// The key-management API (`/v1/api-keys`, `/v1/me`, `/v1/rate-limit`) as a router to merge or
/// nest anywhere. It authenticates requests itself, or uses what a [`KeygateLayer`](crate::KeygateLayer)
/// around it found. Every answer is [`Keygate::handle_api`]'s, byte for byte.
///
/// A request is HTTPS, for [`require_https`](keygate::KeygateBuilder::require_https), when it
/// carries [`TlsConnection`](keygate::adapter::TlsConnection): a server that terminates TLS
/// itself adds it (`.layer(Extension(TlsConnection))` on a TLS-only router, or per connection
/// in its TLS accept loop).
///
/// ```
/// use axum::Router;
/// use keygate_axum::{management_router, keygate::{Keygate, preset::Preset}};
///
/// # fn app() -> Result<Router, Box<dyn std::error::Error>> {
/// let gate = Keygate::builder(Preset::livetest()).random_pepper().build()?;
/// let app: Router = Router::new().nest("/admin", management_router(gate));
/// # Ok(app)
/// # }
/// ```
pub fn management_router<S: Clone + Send + Sync + 'static>(gate: Keygate) -> Router<S> {
    let handler = move |req: Request| {
        let gate = gate.clone();
        async move { handle(gate, req).await }
    };
    keygate::management::ROUTES
        .into_iter()
        .fold(Router::new(), |router, route| router.route(route, any(handler.clone())))
}

async fn handle(gate: Keygate, req: Request) -> Response {
    let (parts, body) = req.into_parts();
    let body = read_capped(body).await;
    let authenticated =
        parts.extensions.get::<keygate::adapter::Verified>().map(|v| v.principal().clone());
    let request = ApiRequest::new(parts.method.as_str(), parts.uri.path(), &parts.headers)
        .query(parts.uri.query())
        .body(body.as_bytes())
        .peer(peer_of(&parts.extensions, false));
    gate.handle_api(request, authenticated).await.into_http()
}

/// The body, or as much of it as [`CappedBody`] keeps. A body that fails mid-way reads as what
/// arrived.
async fn read_capped(mut body: Body) -> CappedBody {
    let mut capped = CappedBody::new();
    while let Some(Ok(frame)) = body.frame().await {
        if let Ok(data) = frame.into_data()
            && !capped.push(&data)
        {
            break;
        }
    }
    capped
}
