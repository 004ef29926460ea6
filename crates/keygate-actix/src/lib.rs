#![doc = include_str!("../README.md")]
#![forbid(unsafe_code)]

mod extract;
mod management;
mod middleware;

pub use extract::{Auth, Planned, Rejection, RequestId, Scoped};
pub use keygate;
pub use keygate::plan::RequirePlan;
pub use keygate::scope::ScopeRequirement;
pub use keygate::{plan_requirement, requirement};
pub use management::{management_config, management_services};
pub use middleware::{KeygateMiddleware, KeygateTransform};

use actix_web::http::StatusCode;
use actix_web::http::header::HeaderMap;
use actix_web::{HttpMessage, HttpRequest, HttpResponse};
use keygate::adapter::TlsConnection;

/// keygate's view of actix-web's header map.
struct ActixHeaders<'a>(&'a HeaderMap);

impl keygate::credential::Headers for ActixHeaders<'_> {
    fn get_all<'a>(&'a self, name: &str) -> impl Iterator<Item = &'a [u8]> {
        self.0.get_all(name).map(|v| v.as_bytes())
    }
}

/// A keygate response (an error, or a management-API answer) as an actix-web response, headers
/// and body as they are. A response with an empty body gets no `Content-Type`.
pub fn into_response(response: &keygate::response::Response) -> HttpResponse {
    let status = StatusCode::from_u16(response.status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
    let mut builder = HttpResponse::build(status);
    for (name, value) in &response.headers {
        builder.append_header((*name, value.as_str()));
    }
    if response.body.is_empty() {
        return builder.finish();
    }
    builder.content_type(response.content_type).body(response.body.clone())
}

/// Whether the request came over TLS the server terminated: `tls` as configured, or
/// [`TlsConnection`] in the connection's `on_connect` data or the request's extensions.
fn is_tls(req: &HttpRequest, tls: bool) -> bool {
    tls || req.conn_data::<TlsConnection>().is_some()
        || req.extensions().get::<TlsConnection>().is_some()
}
