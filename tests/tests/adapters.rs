//! What each framework adapter hands keygate about the connection, checked over real HTTP: the
//! HTTPS rule (with and without trusting `X-Forwarded-Proto`, and the adapters' `tls` setting)
//! and the failed-authentication throttle, which needs the client's address.

#![allow(clippy::unwrap_used)]

use std::time::Duration;

use keygate::HttpsPolicy;
use keygate_conformance::expect::{Expected, malformed, plain};
use keygate_conformance::{FRAMEWORKS, Request, Server, ServerOptions};

fn https_required(trust_forwarded_proto: bool, tls: bool) -> ServerOptions {
    ServerOptions {
        require_https: Some(HttpsPolicy { trust_forwarded_proto }),
        tls,
        ..Default::default()
    }
}

/// A ping and a scoped route with the admin key, and `X-Forwarded-Proto` as given.
async fn statuses(s: &Server, forwarded: Option<&str>) -> [u16; 2] {
    let mut out = [0; 2];
    for (i, path) in ["/v1/ping", "/v1/tasks"].into_iter().enumerate() {
        let mut req = s.with_key(Request::get(path).header("X-Request-Id", "h-1"), &s.admin_key);
        if let Some(value) = forwarded {
            req = req.header("X-Forwarded-Proto", value);
        }
        let r = s.send(req).await;
        if r.status == 403 {
            plain(403, "forbidden", "Requests must use HTTPS.", "").check(
                &r,
                &s.preset,
                "h-1",
                &format!("{}: {path} with {forwarded:?}", s.name()),
            );
        }
        out[i] = r.status;
    }
    out
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_https_rule_over_http_in_every_adapter() {
    for &framework in FRAMEWORKS {
        // Behind a proxy that sets X-Forwarded-Proto: its first value decides.
        let s = Server::start_with(framework, "livetest", https_required(true, false)).await;
        let name = s.name();
        let cases = [
            (None, 403),
            (Some("https"), 200),
            (Some("HTTPS"), 200),
            (Some("http"), 403),
            (Some("http, https"), 403),
            (Some("https, http"), 200),
            (Some(" https ,http"), 200),
            (Some(""), 403),
        ];
        for (forwarded, status) in cases {
            assert_eq!(statuses(&s, forwarded).await, [status; 2], "{name}: {forwarded:?}");
        }
        s.stop().await;

        // Not behind such a proxy: the header proves nothing.
        let s = Server::start_with(framework, "livetest", https_required(false, false)).await;
        for forwarded in [None, Some("https")] {
            assert_eq!(statuses(&s, forwarded).await, [403; 2], "{name}: untrusted {forwarded:?}");
        }
        s.stop().await;

        // A server that terminates TLS itself tells its adapter so (axum's and actix-web's
        // `tls(true)`, warp's `authenticated_with`/`scoped_with`): its requests are HTTPS.
        let s = Server::start_with(framework, "livetest", https_required(false, true)).await;
        for forwarded in [None, Some("http")] {
            assert_eq!(statuses(&s, forwarded).await, [200; 2], "{name}: TLS {forwarded:?}");
        }
        s.stop().await;
    }
}

/// Past the failed-authentication budget (100 a minute per client address), a client gets 429
/// on every adapter: an adapter that lost the client's address would let it go on guessing.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_failed_auth_throttle_over_http_in_every_adapter() {
    let budget = keygate::DEFAULT_FAILURE_BUDGET.limit();
    for &framework in FRAMEWORKS {
        let s = Server::start(framework, "livetest").await;
        let name = s.name();
        let guess = |rid: &str| {
            s.with_key(Request::get("/v1/ping").header("X-Request-Id", rid), "sk_live_guess")
        };
        for i in 0..budget {
            let r = s.send(guess("t-1")).await;
            malformed(s.key_header()).check(&r, &s.preset, "t-1", &format!("{name}: guess {i}"));
        }
        let r = s.send(guess("t-2")).await;
        // The throttle's minute started at the server's start, on a whole hour.
        let expected = Expected {
            status: 429,
            code: "rate_limited",
            message: "Rate limit exceeded. Retry in 60 seconds.".into(),
            detail: "Request was throttled. Expected available in 60 seconds.".into(),
            details: r#""retry_after":60"#.into(),
        };
        expected.check(&r, &s.preset, "t-2", &format!("{name}: past the budget"));
        assert_eq!(r.header("retry-after"), Some("60"), "{name}");

        // Only failures are throttled: a good key from the same address still passes.
        let r = s.send(s.with_key(Request::get("/v1/ping"), &s.admin_key)).await;
        assert_eq!(r.status, 200, "{name}: a good key past the budget");
        // And the budget comes back with the next minute.
        s.advance(Duration::from_secs(60));
        let r = s.send(guess("t-3")).await;
        malformed(s.key_header()).check(&r, &s.preset, "t-3", &format!("{name}: next minute"));
        s.stop().await;
    }
}

/// The management routes see the connection's TLS too: a server that terminates TLS itself
/// (marking its connections, as its acceptor would: a request extension on axum, `on_connect`
/// data on actix-web, `management_with` on warp) can require HTTPS and still manage keys.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_management_routes_see_the_connections_tls_in_every_adapter() {
    for &framework in FRAMEWORKS {
        for (tls, expected) in [(true, 200), (false, 403)] {
            let s = Server::start_with(framework, "livetest", https_required(false, tls)).await;
            let name = s.name();
            for path in ["/v1/me", "/v1/api-keys", "/v1/rate-limit"] {
                let req = Request::get(path).header("X-Request-Id", "m-1");
                let r = s.send(s.with_key(req, &s.admin_key)).await;
                assert_eq!(r.status, expected, "{name}: {path} with TLS {tls}: {}", r.body);
                if expected == 403 {
                    plain(403, "forbidden", "Requests must use HTTPS.", "").check(
                        &r,
                        &s.preset,
                        "m-1",
                        &format!("{name}: {path} over plain HTTP"),
                    );
                }
            }
            s.stop().await;
        }
    }
}
