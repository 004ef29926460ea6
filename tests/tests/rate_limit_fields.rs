//! The IETF `RateLimit-Policy` / `RateLimit` fields, instead of or beside `X-RateLimit-*`, on
//! every framework: on passing requests, on the 429, and on the management API.

#![allow(clippy::unwrap_used)]

use std::time::Duration;

use keygate_conformance::{FRAMEWORKS, Request, Server, ServerOptions};

async fn start(framework: keygate_demo::Framework, fields: &'static str) -> Server {
    let opts = ServerOptions { rate_limit_headers: Some(fields), ..Default::default() };
    Server::start_with(framework, "plane", opts).await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn standard_fields_replace_the_x_ratelimit_headers() {
    for &framework in FRAMEWORKS {
        let s = start(framework, "standard").await;
        let name = s.name();
        // Plane's user keys: 60 a minute. 20 s into the minute, the window resets in 40 s.
        let (_, key) = s.mint(&["tasks:read"], "").await;
        s.advance(Duration::from_secs(20));
        for i in 0..60u64 {
            let r = s.send(s.with_key(Request::get("/v1/ping"), &key)).await;
            assert_eq!(r.status, 200, "{name}: request {i}");
            assert_eq!(r.header("ratelimit-policy"), Some(r#""60s";q=60;w=60"#), "{name}");
            let remaining = format!(r#""60s";r={};t=40"#, 59 - i);
            assert_eq!(r.header("ratelimit"), Some(remaining.as_str()), "{name}");
            assert_eq!(r.header("x-ratelimit-limit"), None, "{name}: only the standard fields");
        }
        s.advance(Duration::from_millis(10_500));
        let r = s.send(s.with_key(Request::get("/v1/ping"), &key)).await;
        assert_eq!(r.status, 429, "{name}");
        assert_eq!(r.header("retry-after"), Some("30"), "{name}");
        assert_eq!(r.header("ratelimit-policy"), Some(r#""60s";q=60;w=60"#), "{name}");
        assert_eq!(r.header("ratelimit"), Some(r#""60s";r=0;t=30"#), "{name}");
        assert_eq!(r.header("x-ratelimit-remaining"), None, "{name}");
        s.stop().await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn both_sets_on_routes_and_the_management_api() {
    for &framework in FRAMEWORKS {
        let s = start(framework, "both").await;
        let name = s.name();
        let (_, key) = s.mint(&["tasks:read"], "").await;
        let r = s.send(s.with_key(Request::get("/v1/tasks"), &key)).await;
        assert_eq!(r.status, 200, "{name}: {}", r.body);
        assert_eq!(r.header("x-ratelimit-remaining"), Some("59"), "{name}");
        assert_eq!(r.header("ratelimit"), Some(r#""60s";r=59;t=60"#), "{name}");
        let r = s.send(s.with_key(Request::get("/v1/rate-limit"), &key)).await;
        assert_eq!(r.status, 200, "{name}: {}", r.body);
        assert_eq!(r.json()["remaining"], 58, "{name}");
        assert_eq!(r.header("x-ratelimit-limit"), Some("60"), "{name}");
        assert_eq!(r.header("ratelimit-policy"), Some(r#""60s";q=60;w=60"#), "{name}");
        assert_eq!(r.header("ratelimit"), Some(r#""60s";r=58;t=60"#), "{name}");
        // A refusal for a missing scope carries them too; the demo's create costs 2, counted
        // before the scope is checked.
        let r = s.send(s.with_key(Request::new("POST", "/v1/tasks").json("{}"), &key)).await;
        assert_eq!(r.status, 403, "{name}");
        assert_eq!(r.header("ratelimit"), Some(r#""60s";r=56;t=60"#), "{name}");
        assert_eq!(r.header("x-ratelimit-remaining"), Some("56"), "{name}");
        s.stop().await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn x_ratelimit_headers_alone_by_default() {
    for &framework in FRAMEWORKS {
        let s = Server::start(framework, "plane").await;
        let (_, key) = s.mint(&["tasks:read"], "").await;
        let r = s.send(s.with_key(Request::get("/v1/ping"), &key)).await;
        assert_eq!(r.header("x-ratelimit-limit"), Some("60"), "{}", s.name());
        assert_eq!(r.header("ratelimit"), None, "{}", s.name());
        assert_eq!(r.header("ratelimit-policy"), None, "{}", s.name());
        s.stop().await;
    }
}
