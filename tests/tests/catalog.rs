//! Every row of the error catalog, in every preset, on every framework: status, headers
//! and the exact body.

#![allow(clippy::unwrap_used)]

use std::time::Duration;

use keygate::format::{Environment, checksum};
use keygate_conformance::expect::{self, invalid, malformed, missing, plain, scope_required};
use keygate_conformance::{FRAMEWORKS, PRESETS, Request, Server, ServerOptions};

fn with_rid(req: Request, rid: &str) -> Request {
    req.header("X-Request-Id", rid)
}

/// `key` with its last secret character changed and the checksum made valid again.
fn wrong_secret(key: &str) -> String {
    let cut = key.len() - 7;
    let swapped = if &key[cut..cut + 1] == "a" { "b" } else { "a" };
    let body = format!("{}{}", &key[..cut], swapped);
    format!("{body}{}", checksum(&body))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn error_catalog_in_every_preset() {
    for &framework in FRAMEWORKS {
        for preset in PRESETS {
            catalog(Server::start(framework, preset).await).await;
        }
    }
}

async fn catalog(s: Server) {
    let name = s.name();
    let label = s.key_header();
    let realm = r#"Bearer realm="api""#;
    let invalid_token = r#"Bearer realm="api", error="invalid_token""#;
    let ping = |rid: &str| with_rid(Request::get("/v1/ping"), rid);

    let r = s.send(Request::get("/healthz")).await;
    assert_eq!((r.status, r.body.as_str()), (200, "ok"), "{name}: healthz");

    let r = s.send(s.with_key(ping("ok-1"), &s.admin_key)).await;
    assert_eq!((r.status, r.body.as_str()), (200, "pong"), "{name}: ping");
    assert_eq!(r.header("x-request-id"), Some("ok-1"));
    let limited = s.preset.plans.default_plan(keygate::store::KeyKind::Service).is_some();
    assert_eq!(r.header("x-ratelimit-limit").is_some(), limited, "{name}: rate-limit headers");
    if limited {
        assert!(
            r.header("x-ratelimit-remaining").is_some() && r.header("x-ratelimit-reset").is_some()
        );
    }

    let case = format!("{name}: no credential");
    let r = s.send(ping("c-1")).await;
    missing(label).check(&r, &s.preset, "c-1", &case);
    assert_eq!(r.header("www-authenticate"), Some(realm), "{case}");

    // Without an X-Request-Id, keygate makes one, and the header and the body agree on it.
    let r = s.send(Request::get("/v1/ping")).await;
    let made = r.header("x-request-id").unwrap_or_default().to_owned();
    assert!(made.starts_with("req_") && made.len() == 24, "{name}: made id {made:?}");
    missing(label).check(&r, &s.preset, &made, &format!("{name}: no credential, no request id"));

    let case = format!("{name}: malformed");
    let r = s.send(s.with_key(ping("c-2"), "not-a-key")).await;
    malformed(label).check(&r, &s.preset, "c-2", &case);
    assert_eq!(r.header("www-authenticate"), Some(invalid_token), "{case}");

    let case = format!("{name}: bad checksum");
    let mut bad = s.admin_key.clone();
    let last = bad.pop().unwrap();
    bad.push(if last == 'A' { 'B' } else { 'A' });
    let r = s.send(s.with_key(ping("c-3"), &bad)).await;
    malformed(label).check(&r, &s.preset, "c-3", &case);

    let unknown = s.preset.format.generate(Environment::Live).unwrap();
    let r = s.send(s.with_key(ping("c-4"), unknown.expose_secret())).await;
    invalid("Key revoked or unknown.").check(&r, &s.preset, "c-4", &format!("{name}: unknown key"));
    assert_eq!(r.header("www-authenticate"), Some(invalid_token));

    let r = s.send(s.with_key(ping("c-5"), &wrong_secret(&s.admin_key))).await;
    invalid("Key revoked or unknown.").check(
        &r,
        &s.preset,
        "c-5",
        &format!("{name}: wrong secret"),
    );

    let (id, key) = s.mint(&["tasks:read"], "").await;
    let r = s.admin(Request::new("DELETE", &format!("/v1/api-keys/{id}"))).await;
    assert_eq!(r.status, 200, "{name}: revoke: {}", r.body);
    let r = s.send(s.with_key(ping("c-6"), &key)).await;
    invalid("Key revoked or unknown.").check(&r, &s.preset, "c-6", &format!("{name}: revoked"));

    let (id, key) = s.mint(&["tasks:read"], "").await;
    let r = s
        .admin(Request::new("PATCH", &format!("/v1/api-keys/{id}")).json(r#"{"disabled":true}"#))
        .await;
    assert_eq!(r.status, 200, "{name}: disable: {}", r.body);
    let r = s.send(s.with_key(ping("c-7"), &key)).await;
    invalid("Key disabled.").check(&r, &s.preset, "c-7", &format!("{name}: disabled"));

    let case = format!("{name}: retired version");
    let r = s.send(s.with_key(ping("c-8"), "pl_v1_abc")).await;
    if s.preset.name == "productlane" {
        let message = "Keys starting with `pl_v1_` are no longer supported. Mint a new key.";
        plain(410, "unsupported_key_version", message, "").check(&r, &s.preset, "c-8", &case);
    } else {
        malformed(label).check(&r, &s.preset, "c-8", &case);
    }

    let case = format!("{name}: missing scope");
    let (_, reader) = s.mint(&["tasks:read"], "").await;
    let create = with_rid(Request::new("POST", "/v1/tasks").json(r#"{"title":"x"}"#), "c-9");
    let r = s.send(s.with_key(create, &reader)).await;
    scope_required("tasks:write", &["tasks:read"]).check(&r, &s.preset, "c-9", &case);
    assert_eq!(
        r.header("www-authenticate"),
        Some(r#"Bearer realm="api", error="insufficient_scope", scope="tasks:write""#),
        "{case}"
    );
    let user_plan = s.preset.plans.default_plan(keygate::store::KeyKind::User).is_some();
    assert_eq!(
        r.header("x-ratelimit-limit").is_some(),
        user_plan,
        "{case}: rate-limit headers on a 403"
    );
    let r = s.send(s.with_key(Request::get("/v1/tasks"), &reader)).await;
    assert_eq!((r.status, r.body.as_str()), (200, r#"{"data":[]}"#), "{name}: the scope it has");

    let case = format!("{name}: repeated header");
    let value = s.key_value(&s.admin_key);
    let r = s.send(ping("c-10").header(label, &value).header(label, &value)).await;
    let message = format!("The `{label}` header was sent more than once.");
    plain(400, "invalid_request", &message, "").check(&r, &s.preset, "c-10", &case);
    assert_eq!(
        r.header("www-authenticate"),
        Some(r#"Bearer realm="api", error="invalid_request""#)
    );

    if s.preset.plans.default_plan(keygate::store::KeyKind::User).is_some() {
        rate_limited(&s).await;
    }

    let case = format!("{name}: store unavailable");
    s.store.set_down(true);
    let (_, fresh) = (0, s.preset.format.generate(Environment::Live).unwrap());
    for (rid, key) in [("c-12", s.admin_key.as_str()), ("c-13", fresh.expose_secret())] {
        let r = s.send(s.with_key(ping(rid), key)).await;
        let message = "Authentication is temporarily unavailable. Retry shortly.";
        plain(503, "unavailable", message, "").check(&r, &s.preset, rid, &case);
    }
    s.store.set_down(false);
    let r = s.send(s.with_key(ping("ok-2"), &s.admin_key)).await;
    assert_eq!(r.status, 200, "{name}: recovers when the store is back");

    let case = format!("{name}: expired");
    let expires =
        keygate_conformance::server::start_time().saturating_add(Duration::from_secs(3600));
    let (_, key) = s.mint(&["tasks:read"], &format!(r#""expires_at":"{expires}""#)).await;
    assert_eq!(s.send(s.with_key(ping("ok-3"), &key)).await.status, 200);
    s.advance(Duration::from_secs(3600));
    let r = s.send(s.with_key(ping("c-14"), &key)).await;
    invalid("Key expired.").check(&r, &s.preset, "c-14", &case);

    s.stop().await;
}

async fn rate_limited(s: &Server) {
    let name = s.name();
    let plan = s.preset.plans.default_plan(keygate::store::KeyKind::User).unwrap();
    let limit = plan.windows()[0].limit();
    let (_, key) = s.mint(&["tasks:read"], "").await;
    s.advance(Duration::from_secs(20));
    for i in 0..limit {
        let r = s.send(s.with_key(Request::get("/v1/ping"), &key)).await;
        assert_eq!(r.status, 200, "{name}: request {i} of {limit}");
        assert_eq!(r.header("x-ratelimit-remaining"), Some((limit - i - 1).to_string().as_str()));
    }
    let r = s.send(s.with_key(with_rid(Request::get("/v1/ping"), "c-11"), &key)).await;
    // 20 s into the minute: the window frees up in 40 s.
    let wait = 40;
    let expected = keygate_conformance::expect::Expected {
        status: 429,
        code: "rate_limited",
        message: format!("Rate limit exceeded. Retry in {wait} seconds."),
        detail: format!("Request was throttled. Expected available in {wait} seconds."),
        details: format!(r#""retry_after":{wait}"#),
    };
    expected.check(&r, &s.preset, "c-11", &format!("{name}: rate limited"));
    assert_eq!(r.header("retry-after"), Some("40"));
    assert_eq!(r.header("x-ratelimit-limit"), Some(limit.to_string().as_str()));
    assert_eq!(r.header("x-ratelimit-remaining"), Some("0"));
    let reset = keygate_conformance::server::start_time().unix_seconds() + 60;
    assert_eq!(r.header("x-ratelimit-reset"), Some(reset.to_string().as_str()));
    s.advance(Duration::from_secs(40));
    let r = s.send(s.with_key(Request::get("/v1/ping"), &key)).await;
    assert_eq!(r.status, 200, "{name}: passes once Retry-After has passed");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_test_key_on_a_live_deployment_is_forbidden() {
    for &framework in FRAMEWORKS {
        let opts = ServerOptions { environment: Some(Environment::Live), ..Default::default() };
        let s = Server::start_with(framework, "livetest", opts).await;
        let (_, test_key) = s.mint(&["tasks:read"], r#""environment":"test""#).await;
        assert!(test_key.starts_with("sk_test_"));
        let r = s.send(s.with_key(with_rid(Request::get("/v1/ping"), "f-1"), &test_key)).await;
        let message = "Test keys cannot be used on this deployment.";
        plain(403, "forbidden", message, "").check(&r, &s.preset, "f-1", &s.name());
        assert_eq!(r.header("www-authenticate"), None);
        s.stop().await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn plain_http_is_forbidden_where_https_is_required() {
    for &framework in FRAMEWORKS {
        for preset in PRESETS {
            let https = keygate::HttpsPolicy { trust_forwarded_proto: true };
            let opts = ServerOptions { require_https: Some(https), ..Default::default() };
            let s = Server::start_with(framework, preset, opts).await;
            let ping = s.with_key(with_rid(Request::get("/v1/ping"), "h-1"), &s.admin_key);
            let r = s.send(ping.clone()).await;
            plain(403, "forbidden", "Requests must use HTTPS.", "").check(
                &r,
                &s.preset,
                "h-1",
                &s.name(),
            );
            let r = s.send(ping.header("X-Forwarded-Proto", "https")).await;
            assert_eq!(r.status, 200, "{}: behind a TLS proxy", s.name());
            s.stop().await;
        }
    }
}

/// The style the harness expects of each preset is the one its server sends: read from the
/// server's reply (content type and top-level members), not from the harness's table.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn styles_follow_the_presets() {
    for preset in PRESETS {
        let s = Server::start(keygate_demo::Framework::Axum, preset).await;
        let r = s.send(Request::get("/v1/ping")).await;
        assert_eq!(r.status, 401, "{preset}");
        let body = r.json();
        let members: Vec<&str> = body.as_object().unwrap().keys().map(String::as_str).collect();
        let sent = match (r.header("content-type"), members.as_slice()) {
            (Some("application/json"), ["error"]) => expect::Style::Envelope,
            (Some("application/json"), ["detail"]) => expect::Style::Detail,
            (Some("application/problem+json"), m)
                if ["type", "title", "status", "detail"].iter().all(|k| m.contains(k)) =>
            {
                expect::Style::Problem
            }
            other => panic!("{preset}: no known style: {other:?}"),
        };
        assert_eq!(expect::style(&s.preset), sent, "{preset}");
        s.stop().await;
    }
    let styles: Vec<_> = PRESETS
        .iter()
        .map(|p| expect::style(&keygate::preset::Preset::by_name(p).unwrap()))
        .collect();
    assert!(
        [expect::Style::Envelope, expect::Style::Detail, expect::Style::Problem]
            .iter()
            .all(|style| styles.contains(style)),
        "the presets cover every style"
    );
}
