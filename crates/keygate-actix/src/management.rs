use actix_web::{HttpMessage, HttpRequest, HttpResponse, Resource, web};
use futures_util::StreamExt;
use keygate::adapter::{ApiRequest, CappedBody};
use keygate::{Keygate, Peer};

use crate::{ActixHeaders, into_response, is_tls};

/// The key-management API (`/v1/api-keys`, `/v1/me`, `/v1/rate-limit`) as resources to register
/// on an `App` or a scope. They authenticate requests themselves, or use what a
/// [`KeygateTransform`](crate::KeygateTransform) around them found. Every answer is
/// [`Keygate::handle_api`]'s, byte for byte.
///
/// A request is HTTPS, for [`require_https`](keygate::KeygateBuilder::require_https), when its
/// connection or the request carries [`TlsConnection`](keygate::adapter::TlsConnection) (see
/// [`management_config`]).
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
    keygate::management::ROUTES
        .into_iter()
        .map(|pattern| {
            let gate = gate.clone();
            web::resource(pattern).app_data(web::Data::new(gate)).to(handle)
        })
        .collect()
}

/// The management API as an `App::configure` (or `Scope::configure`) entry point: the resources
/// of [`management_services`], registered on the app or scope it configures.
///
/// A server that terminates TLS itself marks its TLS connections, so that
/// [`require_https`](keygate::KeygateBuilder::require_https) lets their requests through:
/// `HttpServer::on_connect` is where its acceptor's connections are seen.
///
/// ```
/// use actix_web::{App, HttpServer, web};
/// use keygate_actix::{management_config, keygate::{Keygate, adapter::TlsConnection, preset::Preset}};
///
/// # fn app() -> Result<(), Box<dyn std::error::Error>> {
/// let gate = Keygate::builder(Preset::livetest()).random_pepper().require_https(false).build()?;
/// let server = HttpServer::new(move || {
///     App::new().service(web::scope("/admin").configure(management_config(gate.clone())))
/// })
/// // Every connection of this server is TLS (say, a rustls listener): mark it.
/// .on_connect(|_connection, data| {
///     data.insert(TlsConnection);
/// });
/// # let _ = server;
/// # Ok(())
/// # }
/// ```
pub fn management_config(gate: Keygate) -> impl FnOnce(&mut web::ServiceConfig) {
    move |config| {
        for resource in management_services(gate) {
            config.service(resource);
        }
    }
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
        .peer(Peer { ip: req.peer_addr().map(|a| a.ip()), tls: is_tls(&req, false) });
    into_response(&gate.handle_api(request, authenticated).await)
}
