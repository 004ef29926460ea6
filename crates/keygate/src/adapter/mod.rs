//! For adapter authors: the plumbing that moves a request between a web framework and the
//! core, so that every adapter answers byte for byte the same. A service that uses one of the
//! adapters (keygate-axum, keygate-actix, keygate-warp, keygate-tower) does not need this module.
//!
//! Breaking change: [`Verified::authenticate`], [`Verified::require`] and
//! [`Verified::require_plan`] return a [`Refusal`] (the error and the rendered answer) instead
//! of the bare [`Response`](crate::response::Response); `refusal.into_response()` (or
//! `into_http()`) is what they returned before.
//!
//! | piece | what it does |
//! | --- | --- |
//! | [`Verified::authenticate`] | authenticates a request once; keep the [`Verified`] with the request |
//! | [`Verified::require`], [`Verified::require_plan`] | a route's scope and plan checks, refusals rendered |
//! | [`Verified::response_headers`] | `X-RateLimit-*` and `X-Request-Id` for a successful answer |
//! | [`Refusal`] | a refused request: its [`AuthError`](crate::AuthError) and its rendered answer |
//! | [`TlsConnection`] | the mark a host's TLS acceptor puts on requests of a TLS connection |
//! | [`ApiRequest`], [`CappedBody`] | the input of [`Keygate::handle_api`](crate::Keygate::handle_api), the management API |
//! | [`request_id`], [`sent_request_id`], [`new_request_id`] | request ids for error bodies |
//! | `insert_headers`, `Response::into_http` (feature `http`) | glue for frameworks built on the `http` crate |
//!
//! ```
//! use keygate::{Keygate, Peer, adapter::Verified, preset::Preset};
//!
//! # #[tokio::main(flavor = "current_thread")]
//! # async fn main() -> Result<(), Box<dyn std::error::Error>> {
//! let gate = Keygate::builder(Preset::livetest()).random_pepper().build()?;
//! let refused = Verified::authenticate(&gate, &[("X-Request-Id", "req-1")], Peer::default()).await;
//! let refusal = refused.unwrap_err();
//! assert_eq!(refusal.status(), 401);
//! assert_eq!(refusal.response().header("x-request-id"), Some("req-1"));
//! # Ok(())
//! # }
//! ```

mod api_request;
mod body;
mod costs;
#[cfg(feature = "http")]
mod http;
mod refusal;
mod request;
mod request_id;
mod tls;

pub use api_request::ApiRequest;
pub use body::{CappedBody, MAX_BODY_LEN};
pub use costs::RouteCosts;
#[cfg(feature = "http")]
pub use http::insert_headers;
pub use refusal::Refusal;
pub use request::Verified;
pub use request_id::{MAX_REQUEST_ID_LEN, new_request_id, request_id, sent_request_id};
pub use tls::TlsConnection;
