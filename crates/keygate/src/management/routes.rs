//! The routes of the management API.

use crate::format::KeyId;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Route {
    Me,
    RateLimit,
    Keys,
    Key(KeyIdText),
    Rotate(KeyIdText),
    Usage(KeyIdText),
}

/// A key id as it appeared in the path: parsed later, so that a malformed one is a 404.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) struct KeyIdText(pub(super) Option<KeyId>);

pub(super) fn route(path: &str) -> Option<Route> {
    let path = path.strip_suffix('/').unwrap_or(path);
    let mut parts = path.strip_prefix('/')?.split('/');
    let route = match (parts.next()?, parts.next()?, parts.next(), parts.next(), parts.next()) {
        ("v1", "me", None, ..) => Route::Me,
        ("v1", "rate-limit", None, ..) => Route::RateLimit,
        ("v1", "api-keys", None, ..) => Route::Keys,
        ("v1", "api-keys", Some(id), None, _) => Route::Key(KeyIdText(id.parse().ok())),
        ("v1", "api-keys", Some(id), Some("rotate"), None) => {
            Route::Rotate(KeyIdText(id.parse().ok()))
        }
        ("v1", "api-keys", Some(id), Some("usage"), None) => {
            Route::Usage(KeyIdText(id.parse().ok()))
        }
        _ => return None,
    };
    Some(route)
}

impl Route {
    /// The route's path template, for spans and logs: never the raw path.
    pub(super) fn template(self) -> &'static str {
        match self {
            Route::Me => "/v1/me",
            Route::RateLimit => "/v1/rate-limit",
            Route::Keys => "/v1/api-keys",
            Route::Key(_) => "/v1/api-keys/{id}",
            Route::Rotate(_) => "/v1/api-keys/{id}/rotate",
            Route::Usage(_) => "/v1/api-keys/{id}/usage",
        }
    }

    pub(super) fn allows(self) -> &'static [&'static str] {
        match self {
            Route::Me | Route::RateLimit | Route::Usage(_) => &["GET"],
            Route::Keys => &["GET", "POST"],
            Route::Key(_) => &["GET", "PATCH", "DELETE"],
            Route::Rotate(_) => &["POST"],
        }
    }
}

/// The routes of the management API, as templates (`{id}` for a key id): what an adapter
/// registers with its router.
///
/// ```
/// use keygate::management::{ROUTES, is_api_path};
///
/// assert!(ROUTES.iter().all(|r| is_api_path(&r.replace("{id}", "key_AbCdEfGh1234"))));
/// ```
pub const ROUTES: [&str; 6] = [
    "/v1/me",
    "/v1/rate-limit",
    "/v1/api-keys",
    "/v1/api-keys/{id}",
    "/v1/api-keys/{id}/rotate",
    "/v1/api-keys/{id}/usage",
];

/// Whether `path` is one of the management API's routes.
pub fn is_api_path(path: &str) -> bool {
    route(path).is_some()
}
