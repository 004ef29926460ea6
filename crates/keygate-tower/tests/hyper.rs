//! The layer in a plain hyper server (hyper-util's tokio glue, no web framework) guarding a
//! service of its own, over a real socket: refusals in the preset's JSON or as gRPC statuses,
//! the principal handed to the service, the client address for the throttle, and the TLS mark.

#![allow(clippy::unwrap_used, missing_docs)]

use std::convert::Infallible;
use std::net::SocketAddr;

use http::{Request, Response};
use hyper_util::rt::TokioIo;
use hyper_util::service::TowerToHyperService;
use keygate::adapter::{TlsConnection, Verified};
use keygate::manage::NewKey;
use keygate::preset::Preset;
use keygate::store::Owner;
use keygate::{AuthError, Keygate};
use keygate_tower::{KeygateLayer, Refuse};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use tower::{Layer, ServiceExt, service_fn};

/// The response body: built from a `String` (JSON refusals) or empty (gRPC refusals).
type Body = http_body_util::Full<hyper::body::Bytes>;

/// The guarded service: answers with the workspace of the key the layer verified.
async fn whoami(req: Request<hyper::body::Incoming>) -> Result<Response<Body>, Infallible> {
    let who = req.extensions().get::<Verified>().map(|v| v.principal().workspace_id().to_owned());
    Ok(Response::new(Body::from(format!("hello {}", who.unwrap_or_default()))))
}

/// Serves `layer` around [`whoami`] on a free port, one hyper HTTP/1 connection per accept; every
/// request gets the peer's `SocketAddr` (and [`TlsConnection`] when `tls`) in its extensions, as
/// a real accept loop would put them.
async fn serve<R>(layer: KeygateLayer<R>, tls: bool) -> SocketAddr
where
    R: Refuse<Body>,
{
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let guarded = layer.layer(service_fn(whoami));
    tokio::spawn(async move {
        loop {
            let Ok((stream, peer)) = listener.accept().await else { return };
            let guarded = guarded.clone();
            let service = service_fn(move |mut req: Request<hyper::body::Incoming>| {
                req.extensions_mut().insert(peer);
                if tls {
                    req.extensions_mut().insert(TlsConnection);
                }
                guarded.clone().oneshot(req)
            });
            tokio::spawn(async move {
                let io = TokioIo::new(stream);
                let service = TowerToHyperService::new(service);
                let _ =
                    hyper::server::conn::http1::Builder::new().serve_connection(io, service).await;
            });
        }
    });
    addr
}

/// One `GET /` with `headers`; the whole raw answer.
async fn get(addr: SocketAddr, headers: &[(&str, &str)]) -> String {
    let mut stream = TcpStream::connect(addr).await.unwrap();
    let mut request = format!("GET / HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\n");
    for (name, value) in headers {
        request.push_str(&format!("{name}: {value}\r\n"));
    }
    request.push_str("\r\n");
    stream.write_all(request.as_bytes()).await.unwrap();
    let mut reply = String::new();
    stream.read_to_string(&mut reply).await.unwrap();
    reply
}

fn header<'a>(reply: &'a str, name: &str) -> Option<&'a str> {
    let head = reply.split("\r\n\r\n").next().unwrap();
    head.lines().skip(1).find_map(|line| {
        let (n, v) = line.split_once(':')?;
        n.eq_ignore_ascii_case(name).then(|| v.trim())
    })
}

fn body(reply: &str) -> &str {
    reply.split_once("\r\n\r\n").unwrap().1
}

async fn minted(gate: &Keygate) -> String {
    let key = gate.mint(NewKey::new(Owner::workspace("wks_hyper"), "ci")).await.unwrap().key;
    format!("Bearer {}", key.expose_secret())
}

#[tokio::test]
async fn a_plain_hyper_service_is_guarded_and_refusals_are_the_presets_json() {
    let gate = Keygate::builder(Preset::livetest()).random_pepper().build().unwrap();
    let addr = serve(KeygateLayer::new(gate.clone()), false).await;

    let reply = get(addr, &[("X-Request-Id", "h-1")]).await;
    assert!(reply.starts_with("HTTP/1.1 401 "), "{reply}");
    let expected = gate.render(&AuthError::Missing, Some("h-1"));
    assert_eq!(body(&reply), expected.body, "byte for byte the preset's body");
    assert_eq!(header(&reply, "content-type"), Some("application/json"));
    assert_eq!(header(&reply, "www-authenticate"), expected.header("www-authenticate"));
    assert_eq!(header(&reply, "x-request-id"), Some("h-1"));

    let bearer = minted(&gate).await;
    let reply = get(addr, &[("Authorization", &bearer), ("X-Request-Id", "h-2")]).await;
    assert!(reply.starts_with("HTTP/1.1 200 "), "{reply}");
    assert_eq!(body(&reply), "hello wks_hyper");
    assert!(header(&reply, "x-ratelimit-limit").is_some(), "{reply}");
    assert_eq!(header(&reply, "x-request-id"), Some("h-2"));
}

#[tokio::test]
async fn the_grpc_refusal_is_http_200_with_a_grpc_status() {
    let gate = Keygate::builder(Preset::livetest()).random_pepper().build().unwrap();
    let addr = serve(KeygateLayer::new(gate.clone()).grpc(), false).await;

    let reply = get(addr, &[("content-type", "application/grpc")]).await;
    assert!(reply.starts_with("HTTP/1.1 200 "), "{reply}");
    assert_eq!(header(&reply, "content-type"), Some("application/grpc"));
    assert_eq!(header(&reply, "grpc-status"), Some("16"));
    assert_eq!(
        header(&reply, "grpc-message"),
        Some("Missing or malformed `Authorization` header.")
    );
    assert_eq!(body(&reply), "");

    let key = gate.mint(NewKey::new(Owner::workspace("w"), "r").scopes(["tasks:read"]).unwrap());
    let bearer = format!("Bearer {}", key.await.unwrap().key.expose_secret());
    let reply = get(addr, &[("authorization", &bearer)]).await;
    assert!(reply.starts_with("HTTP/1.1 200 ") && body(&reply) == "hello w", "{reply}");
}

#[tokio::test]
async fn the_client_address_from_the_connection_feeds_the_failed_auth_throttle() {
    let gate = Keygate::builder(Preset::livetest()).random_pepper().build().unwrap();
    let addr = serve(KeygateLayer::new(gate.clone()), false).await;
    let guess = [("Authorization", "Bearer sk_live_guess")];
    for i in 0..keygate::DEFAULT_FAILURE_BUDGET.limit() {
        let reply = get(addr, &guess).await;
        assert!(reply.starts_with("HTTP/1.1 401 "), "guess {i}: {reply}");
    }
    let reply = get(addr, &guess).await;
    assert!(reply.starts_with("HTTP/1.1 429 "), "past the budget: {reply}");
    assert!(header(&reply, "retry-after").is_some());
}

#[tokio::test]
async fn a_request_marked_as_tls_passes_the_https_rule() {
    let gate = Keygate::builder(Preset::livetest()).random_pepper().require_https(false).build();
    let gate = gate.unwrap();
    let bearer = minted(&gate).await;
    let plain = serve(KeygateLayer::new(gate.clone()), false).await;
    let marked = serve(KeygateLayer::new(gate.clone()), true).await;
    let told = serve(KeygateLayer::new(gate.clone()).tls(true), false).await;

    let reply = get(plain, &[("Authorization", &bearer)]).await;
    assert!(reply.starts_with("HTTP/1.1 403 "), "{reply}");
    assert!(body(&reply).contains("Requests must use HTTPS."), "{reply}");
    for addr in [marked, told] {
        let reply = get(addr, &[("Authorization", &bearer)]).await;
        assert!(reply.starts_with("HTTP/1.1 200 "), "{reply}");
    }
}
