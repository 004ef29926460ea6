use actix_web::{HttpMessage, HttpRequest, HttpResponse, Resource, web};
use futures_util::StreamExt;
use keygate::adapter::{ApiRequest, CappedBody};
use keygate::{Keygate, Peer};

use crate::{ActixHeaders, into_response};

/// The key-management API (`/v1/api-keys`, `/v1/me`, `/v1/rate-limit`) as resources to register
/// on an `App` or a scope. They authenticate requests themselves, or use what a
/// [`KeygateTransform`](crate::KeygateTransform) around them found. Every answer is
/// [`Keygate::handle_api`]'s, byte for byte.
///
/// ```
/// use actix_web::{App, web};
/// use keygate_actix::{management_services, keygate::{Keygate, preset::Preset}};
///
/// # fn app() -> Result<(), Box<dyn std::error::Error>> {
/// let gate = Keygate::builder(Preset::livetest()).random_pepper().build()?;
/// let app = App::new().service(web::scope("/admin").service(management_services(gate)));
/// # let _ = app;
/// # Ok(())
/// # }
/// ```
pub fn management_services(gate: Keygate) -> Vec<Resource> {
    ["/v1/me", "/v1/rate-limit", "/v1/api-keys", "/v1/api-keys/{id}", "/v1/api-keys/{id}/rotate"]
        .into_iter()
        .map(|pattern| {
            let gate = gate.clone();
            web::resource(pattern).app_data(web::Data::new(gate)).to(handle)
        })
        .collect()
}

/// The request's path relative to the management API, from the route it matched.
fn api_path(req: &HttpRequest) -> String {
    let pattern = req.match_pattern().unwrap_or_default();
    let tail = pattern.rsplit_once("/v1/").map_or("", |(_, t)| t);
    let id = req.match_info().get("id").unwrap_or_default();
    format!("/v1/{}", tail.replace("{id}", id))
}

async fn handle(
    req: HttpRequest,
    gate: web::Data<Keygate>,
    mut payload: web::Payload,
) -> HttpResponse {
    let mut body = CappedBody::new();
    while let Some(Ok(chunk)) = payload.next().await {
        if !body.push(&chunk) {
            break;
        }
    }
    let authenticated =
        req.extensions().get::<keygate::adapter::Verified>().map(|v| v.principal().clone());
    let path = api_path(&req);
    let headers = ActixHeaders(req.headers());
    let request = ApiRequest::new(req.method().as_str(), &path, &headers)
        .query(Some(req.query_string()).filter(|q| !q.is_empty()))
        .body(body.as_bytes())
        .peer(Peer { ip: req.peer_addr().map(|a| a.ip()), tls: false });
    into_response(&gate.handle_api(request, authenticated).await)
}
