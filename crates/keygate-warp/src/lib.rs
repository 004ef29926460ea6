#![doc = include_str!("../README.md")]
#![forbid(unsafe_code)]

use std::net::SocketAddr;

use bytes::Buf;
use futures_util::StreamExt;
use keygate::api::{ApiRequest, MAX_BODY_LEN};
use keygate::request_id::{new_request_id, sent_request_id};
use keygate::scope::ScopeRequirement;
use keygate::{Authenticated, Keygate, Peer, Principal};
use warp::http::HeaderMap;
use warp::reply::Response;
use warp::{Filter, Rejection, Reply};

pub use keygate;
pub use keygate::requirement;

/// A request keygate refused: its rendered response. [`recover`] sends it.
#[derive(Debug)]
pub struct KeygateRejection(keygate::response::Response);

impl warp::reject::Reject for KeygateRejection {}

/// A request keygate let through: who it acts for, its rate-limit figures and the caller's
/// request id.
#[derive(Debug, Clone)]
pub struct Verified {
    /// The authentication result.
    pub auth: Authenticated,
    /// The caller's `X-Request-Id`, if it sent a sane one.
    pub sent_request_id: Option<String>,
    gate: Keygate,
}

impl Verified {
    /// The request id for an error body: the caller's, or a new one (a new one on each call
    /// when the caller sent none).
    pub fn request_id(&self) -> String {
        self.sent_request_id.clone().unwrap_or_else(new_request_id)
    }

    /// Who the request acts for.
    pub fn principal(&self) -> &Principal {
        &self.auth.principal
    }

    /// `reply` with the `X-RateLimit-*` and `X-Request-Id` headers of this request: warp's
    /// header filters cannot add them, so routes pass their reply through here.
    pub fn reply(&self, reply: impl Reply) -> Response {
        let mut response = reply.into_response();
        let headers = response.headers_mut();
        if let Some(info) = self.auth.rate_limit {
            let rate = info.headers();
            keygate::http::insert_headers(headers, rate.iter().map(|(n, v)| (*n, v.as_str())));
        }
        if let Some(id) = &self.sent_request_id {
            keygate::http::insert_headers(headers, [("x-request-id", id.as_str())]);
        }
        response
    }
}

fn reject(
    gate: &Keygate,
    err: &keygate::AuthError,
    id: &str,
    rate: Option<&keygate::limit::RateLimitInfo>,
) -> Rejection {
    let mut response = gate.render(err, Some(id));
    if let Some(info) = rate {
        response.add_rate_limit_headers(info);
    }
    response.headers.push(("x-request-id", id.to_owned()));
    warp::reject::custom(KeygateRejection(response))
}

/// The client address and TLS flag of the request.
fn peer(addr: Option<SocketAddr>, tls: bool) -> Peer {
    Peer { ip: addr.map(|a| a.ip()), tls }
}

/// A filter that authenticates the request with [`Keygate::authenticate`] and extracts the
/// [`Verified`] request, or rejects with a [`KeygateRejection`] that [`recover`] answers.
///
/// Put it after the path filters of a route, so that only requests for that route are
/// authenticated.
///
/// ```
/// use warp::Filter;
/// use keygate_warp::{authenticated, recover, keygate::{Keygate, preset::Preset}};
///
/// # fn app() -> Result<(), Box<dyn std::error::Error>> {
/// let gate = Keygate::builder(Preset::livetest()).random_pepper().build()?;
/// let ping = warp::path!("v1" / "ping")
///     .and(authenticated(gate))
///     .map(|v: keygate_warp::Verified| v.reply("pong"));
/// let routes = ping.recover(recover);
/// # let _ = routes;
/// # Ok(())
/// # }
/// ```
pub fn authenticated(
    gate: Keygate,
) -> impl Filter<Extract = (Verified,), Error = Rejection> + Clone {
    authenticated_with(gate, false)
}

/// [`authenticated`] for a server that terminates TLS itself, for
/// [`require_https`](keygate::KeygateBuilder::require_https).
pub fn authenticated_with(
    gate: Keygate,
    tls: bool,
) -> impl Filter<Extract = (Verified,), Error = Rejection> + Clone {
    warp::header::headers_cloned().and(warp::addr::remote()).and_then(
        move |headers: HeaderMap, addr| {
            let gate = gate.clone();
            async move {
                let sent = sent_request_id(&headers);
                match gate.authenticate(&headers, peer(addr, tls)).await {
                    Ok(auth) => Ok(Verified { auth, sent_request_id: sent, gate }),
                    Err(err) => {
                        let id = sent.unwrap_or_else(new_request_id);
                        Err(reject(&gate, &err, &id, None))
                    }
                }
            }
        },
    )
}

/// A filter like [`authenticated`] that also requires the scopes `R` (declare `R` with
/// [`requirement!`]), rejecting with 403 `scope_required` in the preset's style.
///
/// ```
/// use warp::Filter;
/// use keygate_warp::{scoped, keygate::{Keygate, preset::Preset}};
///
/// keygate_warp::requirement!(TasksDelete = all_of["tasks:delete"]);
///
/// # fn app() -> Result<(), Box<dyn std::error::Error>> {
/// let gate = Keygate::builder(Preset::livetest()).random_pepper().build()?;
/// let delete = warp::path!("v1" / "tasks" / String)
///     .and(warp::delete())
///     .and(scoped::<TasksDelete>(gate))
///     .map(|id: String, v: keygate_warp::Verified| v.reply(format!("deleted {id}")));
/// # let _ = delete;
/// # Ok(())
/// # }
/// ```
pub fn scoped<R: ScopeRequirement>(
    gate: Keygate,
) -> impl Filter<Extract = (Verified,), Error = Rejection> + Clone {
    authenticated(gate).and_then(|verified: Verified| async move {
        match verified.gate.authorize(verified.principal(), R::requirement()) {
            Ok(()) => Ok(verified),
            Err(err) => {
                let rate = verified.auth.rate_limit.as_ref();
                Err(reject(&verified.gate, &err, &verified.request_id(), rate))
            }
        }
    })
}

/// Answers a [`KeygateRejection`] with keygate's response (status, `WWW-Authenticate`,
/// `Retry-After`, `X-RateLimit-*`, `X-Request-Id`, JSON body); passes any other rejection on.
///
/// # Errors
/// The rejection itself, when it is not keygate's.
pub async fn recover(rejection: Rejection) -> Result<Response, Rejection> {
    match rejection.find::<KeygateRejection>() {
        Some(KeygateRejection(response)) => Ok(response.clone().into_http()),
        None => Err(rejection),
    }
}

/// The key-management API (`/v1/api-keys`, `/v1/me`, `/v1/rate-limit`) as a filter. It matches
/// only those paths (relative to where it is mounted), authenticates requests itself, and
/// answers with [`Keygate::handle_api`]'s response, byte for byte.
///
/// ```
/// use warp::Filter;
/// use keygate_warp::{management, keygate::{Keygate, preset::Preset}};
///
/// # fn app() -> Result<(), Box<dyn std::error::Error>> {
/// let gate = Keygate::builder(Preset::livetest()).random_pepper().build()?;
/// let admin = warp::path("admin").and(management(gate));
/// # let _ = admin;
/// # Ok(())
/// # }
/// ```
pub fn management(gate: Keygate) -> impl Filter<Extract = (Response,), Error = Rejection> + Clone {
    warp::path::tail()
        .and_then(|tail: warp::path::Tail| async move {
            let path = format!("/{}", tail.as_str());
            if keygate::api::is_api_path(&path) { Ok(path) } else { Err(warp::reject::not_found()) }
        })
        .and(warp::method())
        .and(warp::query::raw().or(warp::any().map(String::new)).unify())
        .and(warp::header::headers_cloned())
        .and(warp::addr::remote())
        .and(warp::body::stream())
        .then(
            move |path: String,
                  method: warp::http::Method,
                  query: String,
                  headers: HeaderMap,
                  addr,
                  body| {
                let gate = gate.clone();
                async move {
                    let body = read_capped(body).await;
                    let request = ApiRequest::new(method.as_str(), &path, &headers)
                        .query(Some(query.as_str()).filter(|q| !q.is_empty()))
                        .body(&body)
                        .peer(peer(addr, false));
                    gate.handle_api(request, None).await.into_http()
                }
            },
        )
}

/// The body, or its first `MAX_BODY_LEN + 1` bytes (enough for keygate to answer 413).
async fn read_capped<S, B>(mut body: S) -> Vec<u8>
where
    S: futures_util::Stream<Item = Result<B, warp::Error>> + Unpin,
    B: Buf,
{
    let mut out = Vec::new();
    while let Some(Ok(mut chunk)) = body.next().await {
        while chunk.has_remaining() && out.len() <= MAX_BODY_LEN {
            let piece = chunk.chunk();
            let take = piece.len().min(MAX_BODY_LEN + 1 - out.len());
            out.extend_from_slice(&piece[..take]);
            chunk.advance(take);
        }
        if out.len() > MAX_BODY_LEN {
            break;
        }
    }
    out
}
