//! The management API, framework-neutral: `/v1/api-keys`, `/v1/me` and `/v1/rate-limit`.
//!
//! An adapter hands [`Keygate::handle_api`](crate::Keygate::handle_api) the method, path, headers
//! and body of a request and sends back the [`Response`](crate::response::Response) it gets, so
//! every framework answers byte for byte the same.
//!
//! | route | scope | answer |
//! | --- | --- | --- |
//! | `GET /v1/me` | any valid key | `{"workspace_id","api_key_id","scopes",…}` |
//! | `GET /v1/rate-limit` | any valid key | `{"limit","remaining","reset","reset_at"}` |
//! | `POST /v1/api-keys` | admin | 201, the new key (shown once) and its details |
//! | `GET /v1/api-keys` | admin | `{"data":[…],"next":…}`, previews only |
//! | `GET /v1/api-keys/{id}` | admin | details with `usage` |
//! | `PATCH /v1/api-keys/{id}` | admin | details |
//! | `DELETE /v1/api-keys/{id}` | admin | details of the revoked key |
//! | `POST /v1/api-keys/{id}/rotate` | admin | 201, the new key; the old one works for `grace_period_seconds` |
//! | `GET /v1/api-keys/{id}/usage?days=N` | admin | `{"data":[{"date","count"},…]}`: requests per UTC day, up to 90 days |
//!
//! The caller is the admin key itself ([`Caller::of`](crate::caller::Caller::of)), or one the
//! host names from its own session ([`Keygate::handle_api_as`](crate::Keygate::handle_api_as)),
//! under the rules of [`crate::caller`]:
//! it mints and sets only scopes it holds (403 `scope_not_held`), a test key manages test keys
//! only (403 `environment_not_allowed`; a live key is 404 to it), a user's key manages that
//! user's keys only, another workspace's key id is 404, `rate_plan` is the operator's
//! (403 `field_not_allowed`), a workspace holds a capped number of keys (409
//! `key_limit_reached`), a revoked key is 404, an expired key cannot be changed (409
//! `key_expired`) and a disabled one cannot be rotated (409 `key_disabled`).
//!
//! Bodies are JSON objects read by serde types: a malformed body, a value of the wrong type,
//! an unknown or repeated field, an unknown scope, an `expires_at` in the past, a name over 200
//! characters or a control character in a name or description is a 400 in the preset's error
//! style, naming the field. Answers that carry a full key have `Cache-Control: no-store`.
//!
//! ```
//! use keygate::{Keygate, adapter::ApiRequest, preset::Preset};
//!
//! # #[tokio::main(flavor = "current_thread")]
//! # async fn main() -> Result<(), Box<dyn std::error::Error>> {
//! let gate = Keygate::builder(Preset::livetest()).random_pepper().build()?;
//! let headers: [(&str, &str); 0] = [];
//! let request = ApiRequest::new("GET", "/v1/me", &headers);
//! let response = gate.handle_api(request, None).await;
//! assert_eq!(response.status, 401);
//! # Ok(())
//! # }
//! ```

mod bodies;
mod handlers;
#[cfg(feature = "openapi")]
mod openapi;
mod routes;

#[cfg(feature = "openapi")]
#[cfg_attr(docsrs, doc(cfg(feature = "openapi")))]
pub use openapi::openapi;

use std::time::Duration;

pub use routes::{ROUTES, is_api_path};

/// Longest rotation grace period: 30 days.
pub const MAX_GRACE: Duration = Duration::from_secs(30 * 86_400);

/// Default and largest page of `GET /v1/api-keys`.
pub const MAX_LIST_LIMIT: usize = 100;
