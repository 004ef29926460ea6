//! Glue for adapters built on the `http` crate (axum, warp, hyper, tonic): feature `http`.
//!
//! ```
//! use keygate::credential::Headers;
//!
//! let mut map = http::HeaderMap::new();
//! map.insert("x-api-key", http::HeaderValue::from_static("pk_abc"));
//! assert_eq!(Headers::get_all(&map, "x-api-key").next(), Some(&b"pk_abc"[..]));
//! ```

use crate::credential::Headers;
use crate::response::Response;

impl Headers for http::HeaderMap {
    fn get_all<'a>(&'a self, name: &str) -> impl Iterator<Item = &'a [u8]> {
        http::HeaderMap::get_all(self, name).iter().map(http::HeaderValue::as_bytes)
    }
}

impl Response {
    /// The response as an `http::Response` with a body made from its text. A header whose value
    /// is not a valid header value (never the case for keygate's own) is left out.
    pub fn into_http<B: From<String>>(self) -> http::Response<B> {
        let mut response = http::Response::new(B::from(self.body));
        *response.status_mut() = http::StatusCode::from_u16(self.status)
            .unwrap_or(http::StatusCode::INTERNAL_SERVER_ERROR);
        let headers = response.headers_mut();
        headers
            .insert(http::header::CONTENT_TYPE, http::HeaderValue::from_static(self.content_type));
        for (name, value) in self.headers {
            if let Ok(value) = http::HeaderValue::from_str(&value) {
                headers.append(name, value);
            }
        }
        response
    }
}

/// Sets each `(name, value)` on `headers`, replacing what was there: for the `X-RateLimit-*`
/// and `X-Request-Id` headers of a successful response. An invalid value is left out.
pub fn insert_headers<'a>(
    headers: &mut http::HeaderMap,
    extra: impl IntoIterator<Item = (&'static str, &'a str)>,
) {
    for (name, value) in extra {
        if let Ok(value) = http::HeaderValue::from_str(value) {
            headers.insert(name, value);
        }
    }
}
