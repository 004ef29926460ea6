#![doc = include_str!("../README.md")]
#![forbid(unsafe_code)]

use std::net::SocketAddr;

use bytes::Buf;
use futures_util::StreamExt;
use keygate::adapter::{ApiRequest, CappedBody, TlsConnection};
use keygate::plan::RequirePlan;
use keygate::scope::ScopeRequirement;
use keygate::{Keygate, Peer};
use warp::http::HeaderMap;
use warp::reply::Response;
use warp::{Filter, Rejection, Reply};

pub use keygate;
pub use keygate::adapter::Verified;
pub use keygate::{plan_requirement, requirement};

/// A request keygate refused: why, and its rendered response. [`recover`] sends it.
#[derive(Debug)]
pub struct KeygateRejection(keygate::adapter::Refusal);

impl KeygateRejection {
    /// Why the request was refused, and the rendered answer.
    pub fn refusal(&self) -> &keygate::adapter::Refusal {
        &self.0
    }
}

impl warp::reject::Reject for KeygateRejection {}

/// `reply` with the headers every response to `verified` carries (`X-RateLimit-*`, and the
/// caller's `X-Request-Id`): warp's header filters cannot add them, so routes pass their reply
/// through here.
pub fn reply(verified: &Verified, reply: impl Reply) -> Response {
    let mut response = reply.into_response();
    let headers = verified.response_headers();
    keygate::adapter::insert_headers(
        response.headers_mut(),
        headers.iter().map(|(n, v)| (*n, v.as_str())),
    );
    response
}

fn reject(refusal: keygate::adapter::Refusal) -> Rejection {
    warp::reject::custom(KeygateRejection(refusal))
}

/// The client address and TLS flag of the request: TLS when `tls` is set or the request carries
/// [`TlsConnection`].
fn peer(addr: Option<SocketAddr>, tls: bool, marked: Option<TlsConnection>) -> Peer {
    Peer { ip: addr.map(|a| a.ip()), tls: tls || marked.is_some() }
}

/// A filter that authenticates the request with [`Verified::authenticate`] and extracts
/// the [`Verified`] request, or rejects with a [`KeygateRejection`] that [`recover`] answers.
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
///     .map(|v: keygate_warp::Verified| keygate_warp::reply(&v, "pong"));
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
/// [`require_https`](keygate::KeygateBuilder::require_https). (Every filter of this crate also
/// takes a request that carries [`TlsConnection`] in its extensions as HTTPS.)
pub fn authenticated_with(
    gate: Keygate,
    tls: bool,
) -> impl Filter<Extract = (Verified,), Error = Rejection> + Clone {
    authenticated_weighted(gate, tls, keygate::DEFAULT_COST)
}

/// [`authenticated_with`] for a route that costs `cost` against the key's rate-limit windows
/// and credits ([`Keygate::authenticate_weighted`]); other routes cost 1.
///
/// ```
/// use warp::Filter;
/// use keygate_warp::{authenticated_weighted, keygate::{Keygate, preset::Preset}};
///
/// # fn app() -> Result<(), Box<dyn std::error::Error>> {
/// let gate = Keygate::builder(Preset::livetest()).random_pepper().build()?;
/// let export = warp::path!("v1" / "export")
///     .and(authenticated_weighted(gate, false, 10))
///     .map(|v: keygate_warp::Verified| keygate_warp::reply(&v, "[]"));
/// # let _ = export;
/// # Ok(())
/// # }
/// ```
pub fn authenticated_weighted(
    gate: Keygate,
    tls: bool,
    cost: u64,
) -> impl Filter<Extract = (Verified,), Error = Rejection> + Clone {
    warp::header::headers_cloned()
        .and(warp::addr::remote())
        .and(warp::ext::optional::<TlsConnection>())
        .and_then(move |headers: HeaderMap, addr, marked| {
            let gate = gate.clone();
            async move {
                let peer = peer(addr, tls, marked);
                Verified::authenticate_weighted(&gate, &headers, peer, cost).await.map_err(reject)
            }
        })
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
///     .map(|id: String, v: keygate_warp::Verified| keygate_warp::reply(&v, format!("deleted {id}")));
/// # let _ = delete;
/// # Ok(())
/// # }
/// ```
pub fn scoped<R: ScopeRequirement>(
    gate: Keygate,
) -> impl Filter<Extract = (Verified,), Error = Rejection> + Clone {
    scoped_with::<R>(gate, false)
}

/// [`scoped`] for a server that terminates TLS itself, as [`authenticated_with`].
pub fn scoped_with<R: ScopeRequirement>(
    gate: Keygate,
    tls: bool,
) -> impl Filter<Extract = (Verified,), Error = Rejection> + Clone {
    scoped_weighted::<R>(gate, tls, keygate::DEFAULT_COST)
}

/// [`scoped_with`] for a route that costs `cost`, as [`authenticated_weighted`].
pub fn scoped_weighted<R: ScopeRequirement>(
    gate: Keygate,
    tls: bool,
    cost: u64,
) -> impl Filter<Extract = (Verified,), Error = Rejection> + Clone {
    authenticated_weighted(gate, tls, cost).and_then(|verified: Verified| async move {
        verified.require(R::requirement()).map(|()| verified).map_err(reject)
    })
}

/// Lets through only a request whose key is on a plan `P` allows (declare `P` with
/// [`plan_requirement!`]), rejecting with 403 `forbidden` in the preset's style. Chain it after
/// [`authenticated`] or [`scoped`] with `and_then`.
///
/// ```
/// use warp::Filter;
/// use keygate_warp::{require_plan, scoped, keygate::{Keygate, preset::Preset}};
///
/// keygate_warp::requirement!(TasksRead = all_of["tasks:read"]);
/// keygate_warp::plan_requirement!(Professional = ["professional"]);
///
/// # fn app() -> Result<(), Box<dyn std::error::Error>> {
/// let gate = Keygate::builder(Preset::livetest()).random_pepper().build()?;
/// let reports = warp::path!("v1" / "reports")
///     .and(scoped::<TasksRead>(gate))
///     .and_then(require_plan::<Professional>)
///     .map(|v: keygate_warp::Verified| keygate_warp::reply(&v, "[]"));
/// # let _ = reports;
/// # Ok(())
/// # }
/// ```
///
/// # Errors
/// The [`KeygateRejection`] that [`recover`] answers.
pub async fn require_plan<P: RequirePlan>(verified: Verified) -> Result<Verified, Rejection> {
    verified.require_plan(P::requirement()).map(|()| verified).map_err(reject)
}

/// Answers a [`KeygateRejection`] with keygate's response (status, `WWW-Authenticate`,
/// `Retry-After`, `X-RateLimit-*`, `X-Request-Id`, JSON body); passes any other rejection on.
///
/// # Errors
/// The rejection itself, when it is not keygate's.
pub async fn recover(rejection: Rejection) -> Result<Response, Rejection> {
    match rejection.find::<KeygateRejection>() {
        Some(KeygateRejection(refusal)) => Ok(refusal.response().clone().into_http()),
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
    management_with(gate, false)
}

/// [`management`] for a server that terminates TLS itself, for
/// [`require_https`](keygate::KeygateBuilder::require_https), as [`authenticated_with`].
pub fn management_with(
    gate: Keygate,
    tls: bool,
) -> impl Filter<Extract = (Response,), Error = Rejection> + Clone {
    warp::path::tail()
        .and_then(|tail: warp::path::Tail| async move {
            let path = format!("/{}", tail.as_str());
            if keygate::management::is_api_path(&path) {
                Ok(path)
            } else {
                Err(warp::reject::not_found())
            }
        })
        .and(request_parts(tls))
        .then(move |path: String, parts: RequestParts| {
            let gate = gate.clone();
            async move {
                let request = ApiRequest::new(parts.method.as_str(), &path, &parts.headers)
                    .query(parts.query.as_deref())
                    .body(parts.body.as_bytes())
                    .peer(parts.peer);
                gate.handle_api(request, None).await.into_http()
            }
        })
}

/// What a handler that answers a whole request reads of it: method, query, headers, the
/// connection's peer and the body, read up to [`CappedBody`]'s cap. No `Debug`: the headers
/// and body may hold a key.
pub struct RequestParts {
    /// The request method.
    pub method: warp::http::Method,
    /// The raw query string, `None` when there is none or it is empty.
    pub query: Option<String>,
    /// Every header.
    pub headers: HeaderMap,
    /// The client's address and whether the request came over TLS (the `tls` given to
    /// [`request_parts`], or [`TlsConnection`] in the request's extensions).
    pub peer: Peer,
    /// The body, capped.
    pub body: CappedBody,
}

/// A filter that extracts the [`RequestParts`] of a request: what the management API and
/// other keygate pages answer from. Put it after the path filters of a route, so that no other
/// route's body is read.
pub fn request_parts(
    tls: bool,
) -> impl Filter<Extract = (RequestParts,), Error = Rejection> + Clone {
    warp::method()
        .and(warp::query::raw().or(warp::any().map(String::new)).unify())
        .and(warp::header::headers_cloned())
        .and(warp::addr::remote())
        .and(warp::ext::optional::<TlsConnection>())
        .and(warp::body::stream())
        .then(move |method, query: String, headers, addr, marked, body| async move {
            RequestParts {
                method,
                query: (!query.is_empty()).then_some(query),
                headers,
                peer: peer(addr, tls, marked),
                body: read_capped(body).await,
            }
        })
}

/// Reads the body of `warp::body::stream()`, or as much of it as [`CappedBody`] keeps (one
/// byte past [`MAX_BODY_LEN`](keygate::adapter::MAX_BODY_LEN), so that a body over the cap is
/// told apart), with or without a `Content-Length`.
///
/// # Errors
/// None: a stream that fails ends the body there.
pub async fn read_capped<S, B>(mut body: S) -> CappedBody
where
    S: futures_util::Stream<Item = Result<B, warp::Error>> + Unpin,
    B: Buf,
{
    let mut capped = CappedBody::new();
    while let Some(Ok(mut chunk)) = body.next().await {
        while chunk.has_remaining() {
            let piece = chunk.chunk();
            let (len, open) = (piece.len(), capped.push(piece));
            if !open {
                return capped;
            }
            chunk.advance(len);
        }
    }
    capped
}
