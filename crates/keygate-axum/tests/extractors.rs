//! The extractors over real HTTP, with and without the layer: from the router's state alone they
//! authenticate the request themselves (once, however many ask), and their rejection tells its
//! status, body and error.

#![allow(clippy::unwrap_used, missing_docs)]

use std::net::SocketAddr;

use axum::Router;
use axum::extract::FromRef;
use axum::routing::get;
use keygate_axum::keygate::manage::NewKey;
use keygate_axum::keygate::preset::Preset;
use keygate_axum::keygate::store::Owner;
use keygate_axum::keygate::{AuthError, Keygate};
use keygate_axum::{Auth, KeygateLayer, Rejection, Scoped};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};

keygate_axum::requirement!(TasksRead = all_of["tasks:read"]);
keygate_axum::requirement!(TasksDelete = all_of["tasks:delete"]);

#[derive(Clone)]
struct AppState {
    gate: Keygate,
}

impl FromRef<AppState> for Keygate {
    fn from_ref(state: &AppState) -> Keygate {
        state.gate.clone()
    }
}

async fn me(Auth(principal): Auth) -> String {
    principal.workspace_id().to_owned()
}

/// Two extractors on one request: one authentication, one request counted.
async fn both(Auth(_): Auth, Scoped { principal, .. }: Scoped<TasksRead>) -> String {
    principal.key_id().to_string()
}

async fn delete(Scoped { principal, .. }: Scoped<TasksDelete>) -> String {
    principal.key_id().to_string()
}

/// A handler that looks at the rejection instead of sending it.
async fn inspect(auth: Result<Auth, Rejection>) -> String {
    match auth {
        Ok(Auth(p)) => format!("ok {}", p.workspace_id()),
        Err(rejection) => {
            let missing = matches!(rejection.error(), AuthError::Missing);
            format!("{} {missing} {}", rejection.status().as_u16(), rejection.body_text())
        }
    }
}

fn routes() -> Router<AppState> {
    Router::new()
        .route("/me", get(me))
        .route("/both", get(both))
        .route("/delete", get(delete))
        .route("/inspect", get(inspect))
}

async fn serve(app: Router) -> SocketAddr {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let service = app.into_make_service_with_connect_info::<SocketAddr>();
    tokio::spawn(async move { axum::serve(listener, service).await });
    addr
}

async fn get_raw(addr: SocketAddr, path: &str, bearer: Option<&str>) -> String {
    let mut stream = TcpStream::connect(addr).await.unwrap();
    let auth = bearer.map(|b| format!("Authorization: Bearer {b}\r\n")).unwrap_or_default();
    let request = format!(
        "GET {path} HTTP/1.1\r\nHost: x\r\nConnection: close\r\nX-Request-Id: r-1\r\n{auth}\r\n"
    );
    stream.write_all(request.as_bytes()).await.unwrap();
    let mut reply = String::new();
    stream.read_to_string(&mut reply).await.unwrap();
    reply
}

fn body(reply: &str) -> &str {
    reply.split_once("\r\n\r\n").unwrap().1
}

fn has_header(reply: &str, name: &str) -> bool {
    let head = reply.split("\r\n\r\n").next().unwrap().to_ascii_lowercase();
    head.lines().any(|l| l.starts_with(&format!("{name}:")))
}

struct Setup {
    gate: Keygate,
    reader: String,
}

async fn setup() -> Setup {
    let gate = Keygate::builder(Preset::livetest()).random_pepper().build().unwrap();
    let new = NewKey::new(Owner::workspace("wks_x"), "reader").scopes(["tasks:read"]).unwrap();
    let reader = gate.mint(new).await.unwrap().key.expose_secret().to_owned();
    Setup { gate, reader }
}

/// How many requests the key has left in its window, without counting one.
async fn remaining(gate: &Keygate, key: &str) -> u64 {
    let principal = gate.verify(key).await.unwrap();
    gate.rate_limit_status(&principal).await.unwrap().unwrap().remaining
}

#[tokio::test]
async fn without_the_layer_the_extractors_authenticate_from_the_state() {
    let Setup { gate, reader } = setup().await;
    let addr = serve(routes().with_state(AppState { gate: gate.clone() })).await;

    let reply = get_raw(addr, "/me", None).await;
    assert!(reply.starts_with("HTTP/1.1 401 "), "{reply}");
    let expected = gate.render(&AuthError::Missing, Some("r-1"));
    assert_eq!(body(&reply), expected.body, "the preset's body, byte for byte");

    let reply = get_raw(addr, "/me", Some(&reader)).await;
    assert!(reply.starts_with("HTTP/1.1 200 ") && body(&reply) == "wks_x", "{reply}");

    let reply = get_raw(addr, "/delete", Some(&reader)).await;
    assert!(reply.starts_with("HTTP/1.1 403 "), "{reply}");
    assert!(body(&reply).contains("scope_required"), "{reply}");
    // A refusal of an authenticated request carries its rate-limit headers.
    assert!(has_header(&reply, "x-ratelimit-limit"), "{reply}");

    // Two extractors, one request counted.
    let before = remaining(&gate, &reader).await;
    let reply = get_raw(addr, "/both", Some(&reader)).await;
    assert!(reply.starts_with("HTTP/1.1 200 "), "{reply}");
    assert_eq!(remaining(&gate, &reader).await, before - 1);
}

#[tokio::test]
async fn with_the_layer_the_extractors_use_what_it_found() {
    let Setup { gate, reader } = setup().await;
    let app =
        routes().layer(KeygateLayer::new(gate.clone())).with_state(AppState { gate: gate.clone() });
    let addr = serve(app).await;

    let before = remaining(&gate, &reader).await;
    let reply = get_raw(addr, "/both", Some(&reader)).await;
    assert!(reply.starts_with("HTTP/1.1 200 "), "{reply}");
    assert!(has_header(&reply, "x-ratelimit-limit"), "the layer adds them: {reply}");
    assert_eq!(remaining(&gate, &reader).await, before - 1, "counted once, by the layer");
}

#[tokio::test]
async fn the_rejection_tells_its_status_body_and_error() {
    let Setup { gate, reader } = setup().await;
    let addr = serve(routes().with_state(AppState { gate: gate.clone() })).await;

    let reply = get_raw(addr, "/inspect", None).await;
    let expected = gate.render(&AuthError::Missing, Some("r-1"));
    assert_eq!(body(&reply), format!("401 true {}", expected.body));
    let reply = get_raw(addr, "/inspect", Some(&reader)).await;
    assert_eq!(body(&reply), "ok wks_x");
}

#[tokio::test]
async fn a_rejection_is_an_error_with_its_cause() {
    let Setup { gate, .. } = setup().await;
    let (mut parts, ()) = axum::http::Request::new(()).into_parts();
    use axum::extract::FromRequestParts;
    let rejection = Auth::from_request_parts(&mut parts, &gate).await.unwrap_err();
    let error: &dyn std::error::Error = &rejection;
    assert_eq!(error.source().unwrap().to_string(), "no credential was sent");
    assert_eq!(rejection.to_string(), "request refused (401): no credential was sent");
    let response = axum::response::IntoResponse::into_response(rejection);
    assert_eq!(response.status(), 401);
}
