//! Management-API requests with arbitrary methods, paths, queries and bodies through
//! `Keygate::handle_api`, on a memory store, authenticated with an admin key in the preset's
//! credential header. Every answer must be a 2xx or a 4xx whose body is JSON in the preset's
//! error style; never a 5xx, never a panic.
//!
//! Each input is a short sequence of requests on a fresh gate, so that a mint can be followed by
//! an update or a revocation: a first byte choosing the preset (`0` to `3`), then requests
//! separated by `\n---\n`, each `METHOD PATH[?QUERY]`, optional `x-request-id: ID` and
//! `advance: SECONDS` lines, a blank line and the body. In a path, `{id}` stands for the id of a
//! key minted beforehand and `{admin}` for the admin key's own id.

#![no_main]

use std::sync::{Arc, OnceLock};
use std::time::Duration;

use keygate::Keygate;
use keygate::adapter::ApiRequest;
use keygate::clock::{ManualClock, Timestamp};
use keygate::manage::NewKey;
use keygate::preset::Preset;
use keygate::response::{ErrorStyle, Response};
use keygate::store::Owner;
use libfuzzer_sys::fuzz_target;
use serde_json::Value;

const METHODS: [&str; 7] = ["GET", "POST", "PATCH", "DELETE", "PUT", "get", ""];

/// One request: `METHOD PATH[?QUERY]`, then optional `x-request-id: ID` and `advance: SECONDS`
/// lines, a blank line, and the body.
struct Request<'a> {
    method: &'static str,
    target: String,
    request_id: Option<String>,
    advance: u64,
    body: &'a [u8],
}

fn split_once<'a>(data: &'a [u8], sep: &[u8]) -> (&'a [u8], Option<&'a [u8]>) {
    match data.windows(sep.len()).position(|w| w == sep) {
        Some(i) => (&data[..i], Some(&data[i + sep.len()..])),
        None => (data, None),
    }
}

fn request(data: &[u8]) -> Request<'_> {
    let (head, body) = split_once(data, b"\n\n");
    let head = String::from_utf8_lossy(head);
    let mut lines = head.split('\n');
    let first = lines.next().unwrap_or_default();
    let (method, target) = first.split_once(' ').unwrap_or((first, ""));
    // A method from a small set: the known ones as written, anything else by its length.
    let method = METHODS
        .iter()
        .find(|m| **m == method)
        .copied()
        .unwrap_or(METHODS[method.len() % METHODS.len()]);
    let mut request =
        Request { method, target: target.to_owned(), request_id: None, advance: 0, body: &[] };
    for line in lines {
        if let Some(id) = line.strip_prefix("x-request-id: ") {
            request.request_id = Some(id.to_owned());
        } else if let Some(secs) = line.strip_prefix("advance: ") {
            request.advance = secs.parse().unwrap_or(0);
        }
    }
    request.body = body.unwrap_or_default();
    request
}

fn runtime() -> &'static tokio::runtime::Runtime {
    static RUNTIME: OnceLock<tokio::runtime::Runtime> = OnceLock::new();
    RUNTIME.get_or_init(|| {
        tokio::runtime::Builder::new_current_thread().enable_all().build().expect("a runtime")
    })
}

fn preset(n: u8) -> Preset {
    match n % 4 {
        0 => Preset::productlane(),
        1 => Preset::plane(),
        2 => Preset::livetest(),
        _ => Preset::workspace(),
    }
}

fn check(style: ErrorStyle, response: &Response) {
    let status = response.status;
    assert!((200..500).contains(&status), "status {status}: {}", response.body);
    let body: Value = serde_json::from_str(&response.body)
        .unwrap_or_else(|e| panic!("status {status}, body not JSON ({e}): {}", response.body));
    if status < 400 {
        assert!(body.is_object(), "status {status}: {}", response.body);
        return;
    }
    match style {
        ErrorStyle::Envelope => {
            let error = &body["error"];
            assert!(error.is_object(), "{}", response.body);
            assert!(error["code"].is_string(), "{}", response.body);
            assert!(error["message"].is_string(), "{}", response.body);
        }
        ErrorStyle::Detail => assert!(body["detail"].is_string(), "{}", response.body),
        ErrorStyle::Problem => {
            assert!(body["type"].is_string(), "{}", response.body);
            assert!(body["title"].is_string(), "{}", response.body);
            assert_eq!(body["status"].as_u64(), Some(u64::from(status)), "{}", response.body);
        }
        _ => assert!(body.is_object(), "{}", response.body),
    }
}

async fn run(data: &[u8]) {
    let Some((&which, data)) = data.split_first() else { return };
    let preset = preset(which);
    let style = preset.renderer.style();
    let admin_scope = preset.admin_scope.as_str().to_owned();
    let label = preset.sources.label().to_ascii_lowercase();
    let clock = ManualClock::new(Timestamp::parse_rfc3339("2026-10-14T12:00:00Z").expect("a time"));
    let gate = Keygate::builder(preset)
        .random_pepper()
        .clock(Arc::new(clock.clone()))
        .build()
        .expect("a gate");
    let admin = NewKey::new(Owner::workspace("wks_1"), "admin").scopes([admin_scope]);
    let admin = gate.mint(admin.expect("admin scope")).await.expect("an admin key");
    let other = NewKey::new(Owner::workspace("wks_1"), "other");
    let other = gate.mint(other).await.expect("a key");
    let admin_id = admin.record.id.to_string();
    let other_id = other.record.id.to_string();
    let credential = if label == "authorization" {
        format!("Bearer {}", admin.key.expose_secret())
    } else {
        admin.key.expose_secret().to_owned()
    };

    let mut rest = Some(data);
    for _ in 0..16 {
        let Some(data) = rest else { break };
        let (this, next) = split_once(data, b"\n---\n");
        rest = next;
        let request = request(this);
        clock.advance(Duration::from_secs(request.advance.min(10 * 365 * 86_400)));
        let target = request.target.replace("{id}", &other_id).replace("{admin}", &admin_id);
        let (path, query) = match target.split_once('?') {
            Some((path, query)) => (path, Some(query)),
            None => (target.as_str(), None),
        };
        let method = request.method;
        let mut headers = vec![(label.as_str(), credential.as_str())];
        if let Some(id) = &request.request_id {
            headers.push(("x-request-id", id));
        }
        let api = ApiRequest::new(method, &path, &headers[..]).query(query).body(request.body);
        let response = gate.handle_api(api, None).await;
        check(style, &response);
    }
}

fuzz_target!(|data: &[u8]| {
    runtime().block_on(run(data));
});
