#![doc = include_str!("../README.md")]
#![forbid(unsafe_code)]

mod extract;
mod management;
mod middleware;

pub use extract::{Auth, Rejection, RequestId, Scoped};
pub use keygate;
pub use keygate::requirement;
pub use keygate::scope::ScopeRequirement;
pub use management::management_services;
pub use middleware::{KeygateMiddleware, KeygateTransform};

use actix_web::HttpResponse;
use actix_web::http::StatusCode;
use actix_web::http::header::HeaderMap;

/// What [`KeygateTransform`] leaves in a request's extensions for the extractors: one value.
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

/// keygate's view of actix-web's header map.
struct ActixHeaders<'a>(&'a HeaderMap);

impl keygate::credential::Headers for ActixHeaders<'_> {
    fn get_all<'a>(&'a self, name: &str) -> impl Iterator<Item = &'a [u8]> {
        self.0.get_all(name).map(|v| v.as_bytes())
    }
}

/// A keygate response as an actix-web one, with `X-Request-Id`.
fn into_actix(response: &keygate::response::Response, request_id: &str) -> HttpResponse {
    let status = StatusCode::from_u16(response.status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
    let mut builder = HttpResponse::build(status);
    builder.insert_header(("content-type", response.content_type));
    for (name, value) in response.headers.iter().filter(|(n, _)| *n != "x-request-id") {
        builder.append_header((*name, value.as_str()));
    }
    builder.insert_header(("x-request-id", request_id));
    builder.body(response.body.clone())
}
