//! The keys page's rules, framework-neutral: signing in, the session cookie, CSRF and origin
//! checks, and a session that ends with its key. The browser test (`tests/browser`, run by the
//! demo's `keys_page` test) drives the same page in Chromium.

#![allow(clippy::unwrap_used)]

use std::sync::Arc;

use keygate::Keygate;
use keygate::manage::{MintedKey, NewKey};
use keygate::preset::Preset;
use keygate::response::Response;
use keygate::store::Owner;

use keygate_ui::{KeyLogin, KeysPage, PageRequest, RequestHead};

struct Fixture {
    gate: Keygate,
    page: KeysPage,
    admin: MintedKey,
}

async fn fixture() -> Fixture {
    let gate = Keygate::builder(Preset::livetest()).random_pepper().build().unwrap();
    let admin = NewKey::new(Owner::workspace("wks_1"), "admin").scopes(["admin:*"]).unwrap();
    let admin = gate.mint(admin).await.unwrap();
    let page = KeysPage::new(gate.clone(), "/ui/", Arc::new(KeyLogin::new(gate.clone())));
    Fixture { gate, page, admin }
}

fn head(headers: &[(&str, &str)]) -> RequestHead {
    RequestHead::new(headers.iter().map(|(n, v)| ((*n).to_owned(), (*v).to_owned())).collect())
}

async fn send(
    page: &KeysPage,
    method: &str,
    path: &str,
    headers: &[(&str, &str)],
    body: &str,
    tls: bool,
) -> Response {
    let (path, query) = path.split_once('?').map_or((path, None), |(p, q)| (p, Some(q)));
    let request =
        PageRequest { method, path, query, head: head(headers), body: body.as_bytes(), tls };
    page.handle(request).await.unwrap()
}

/// Signs in; returns the cookie header and the CSRF token.
async fn sign_in(f: &Fixture) -> (String, String) {
    let body = format!(r#"{{"key":"{}"}}"#, f.admin.key.expose_secret());
    let r =
        send(&f.page, "POST", "/ui/login", &[("origin", "http://h"), ("host", "h")], &body, false)
            .await;
    assert_eq!(r.status, 200, "{}", r.body);
    let set = r.header("set-cookie").unwrap();
    let cookie = set.split(';').next().unwrap().to_owned();
    let session = send(&f.page, "GET", "/ui/session", &[("cookie", &cookie)], "", false).await;
    let json: serde_json::Value = serde_json::from_str(&session.body).unwrap();
    assert_eq!(json["signed_in"], true);
    (cookie, json["csrf_token"].as_str().unwrap().to_owned())
}

#[tokio::test]
async fn the_page_and_its_files_are_served_with_a_strict_policy() {
    let f = fixture().await;
    let r = send(&f.page, "GET", "/ui", &[], "", false).await;
    assert_eq!((r.status, r.header("location")), (308, Some("/ui/")));
    for (path, kind) in
        [("/ui/", "text/html"), ("/ui/app.js", "text/javascript"), ("/ui/app.css", "text/css")]
    {
        let r = send(&f.page, "GET", path, &[], "", false).await;
        assert_eq!(r.status, 200, "{path}");
        assert!(r.content_type.starts_with(kind), "{path}: {}", r.content_type);
        let csp = r.header("content-security-policy").unwrap();
        assert!(csp.contains("script-src 'self'") && !csp.contains("unsafe-inline"), "{csp}");
        assert_eq!(r.header("x-content-type-options"), Some("nosniff"));
        assert_eq!(r.header("x-frame-options"), Some("DENY"));
    }
    let html = send(&f.page, "GET", "/ui/", &[], "", false).await.body;
    assert!(!html.contains("<script>"), "no inline script");
    let handler = html.split(" on").skip(1).find(|rest| {
        let name: String = rest.chars().take_while(char::is_ascii_lowercase).collect();
        !name.is_empty() && rest[name.len()..].starts_with('=')
    });
    assert_eq!(handler, None, "no inline event handler");
    assert_eq!(send(&f.page, "GET", "/ui/nothing", &[], "", false).await.status, 404);
    let other = PageRequest {
        method: "GET",
        path: "/uixyz",
        query: None,
        head: RequestHead::default(),
        body: b"",
        tls: false,
    };
    assert!(f.page.handle(other).await.is_none(), "not the page's path");
}

#[tokio::test]
async fn only_a_key_with_the_admin_scope_signs_in_and_only_from_the_page() {
    let f = fixture().await;
    let reader = NewKey::new(Owner::workspace("wks_1"), "r").scopes(["tasks:read"]).unwrap();
    let reader = f.gate.mint(reader).await.unwrap();
    for key in ["sk_live_nope", reader.key.expose_secret()] {
        let body = format!(r#"{{"key":"{key}"}}"#);
        let r = send(&f.page, "POST", "/ui/login", &[], &body, false).await;
        assert_eq!(r.status, 401, "{}", r.body);
        assert!(r.header("set-cookie").is_none(), "no cookie");
        assert!(!r.body.contains(key), "the key is not echoed");
    }
    // From another origin, or said by the browser to come from another site: refused.
    let body = format!(r#"{{"key":"{}"}}"#, f.admin.key.expose_secret());
    for headers in [
        vec![("origin", "http://evil.example"), ("host", "h")],
        vec![("sec-fetch-site", "cross-site")],
        vec![("sec-fetch-site", "same-site")],
    ] {
        let r = send(&f.page, "POST", "/ui/login", &headers, &body, false).await;
        assert_eq!(r.status, 403, "{headers:?}: {}", r.body);
        assert!(r.header("set-cookie").is_none());
    }
    // The cookie: the page's path, HttpOnly, SameSite=Strict, Secure over TLS only.
    let r = send(&f.page, "POST", "/ui/login", &[], &body, false).await;
    let cookie = r.header("set-cookie").unwrap();
    assert!(cookie.contains("; Path=/ui; HttpOnly; SameSite=Strict"), "{cookie}");
    assert!(!cookie.contains("Secure"), "{cookie}");
    let r = send(&f.page, "POST", "/ui/login", &[], &body, true).await;
    assert!(r.header("set-cookie").unwrap().ends_with("; Secure"), "over TLS");
}

#[tokio::test]
async fn a_change_needs_the_sessions_csrf_token_and_the_pages_origin() {
    let f = fixture().await;
    let (cookie, csrf) = sign_in(&f).await;
    let mint = r#"{"name":"k","permissions":["tasks:read"]}"#;
    let path = "/ui/api/v1/api-keys";
    let refused = [
        vec![("cookie", cookie.as_str())],
        vec![("cookie", cookie.as_str()), ("x-csrf-token", "0000")],
        vec![("cookie", cookie.as_str()), ("x-csrf-token", &csrf[..csrf.len() - 1])],
        vec![
            ("cookie", cookie.as_str()),
            ("x-csrf-token", &csrf),
            ("sec-fetch-site", "cross-site"),
        ],
        vec![
            ("cookie", cookie.as_str()),
            ("x-csrf-token", &csrf),
            ("origin", "http://evil.example"),
            ("host", "h"),
        ],
    ];
    for headers in refused {
        let r = send(&f.page, "POST", path, &headers, mint, false).await;
        assert_eq!(r.status, 403, "{headers:?}: {}", r.body);
    }
    let listed = send(&f.page, "GET", path, &[("cookie", &cookie)], "", false).await;
    assert_eq!(listed.status, 200, "a read needs no token: {}", listed.body);
    let ok =
        [("cookie", cookie.as_str()), ("x-csrf-token", &csrf), ("sec-fetch-site", "same-origin")];
    let r = send(&f.page, "POST", path, &ok, mint, false).await;
    assert_eq!(r.status, 201, "{}", r.body);
    assert_eq!(r.header("cache-control"), Some("no-store"), "a full key is never cached");
    // The caller's rules hold: a scope it does not know is refused.
    let r =
        send(&f.page, "POST", path, &ok, r#"{"name":"k","permissions":["nope:x"]}"#, false).await;
    assert_eq!(r.status, 400, "{}", r.body);
    // Not signed in: 401 for the API, and the session says so.
    let r = send(&f.page, "GET", path, &[], "", false).await;
    assert_eq!(r.status, 401);
}

#[tokio::test]
async fn a_session_ends_at_sign_out_and_when_its_key_is_revoked() {
    let f = fixture().await;
    let (cookie, csrf) = sign_in(&f).await;
    let path = "/ui/api/v1/api-keys";
    let r = send(&f.page, "POST", "/ui/logout", &[("cookie", &cookie)], "{}", false).await;
    assert_eq!(r.status, 403, "sign-out needs the token too");
    let headers = [("cookie", cookie.as_str()), ("x-csrf-token", csrf.as_str())];
    let r = send(&f.page, "POST", "/ui/logout", &headers, "{}", false).await;
    assert_eq!(r.status, 200);
    assert!(r.header("set-cookie").unwrap().contains("Max-Age=0"));
    assert_eq!(send(&f.page, "GET", path, &[("cookie", &cookie)], "", false).await.status, 401);

    let (cookie, _) = sign_in(&f).await;
    assert_eq!(send(&f.page, "GET", path, &[("cookie", &cookie)], "", false).await.status, 200);
    f.gate.revoke_key(&f.admin.record.id).await.unwrap();
    assert_eq!(
        send(&f.page, "GET", path, &[("cookie", &cookie)], "", false).await.status,
        401,
        "the session ends with its key"
    );
}

#[tokio::test]
async fn a_session_acts_as_its_key_does_now() {
    let f = fixture().await;
    // A key bound to other networks signs in from none of this client's.
    let bound = NewKey::new(Owner::workspace("wks_1"), "bound")
        .scopes(["admin:*"])
        .unwrap()
        .allowed_ips(["203.0.113.0/24".parse().unwrap()]);
    let bound = f.gate.mint(bound).await.unwrap();
    let from = |ip: &str| {
        RequestHead::default()
            .with_peer(keygate::Peer::from(ip.parse::<std::net::IpAddr>().unwrap()))
    };
    let body = format!(r#"{{"key":"{}"}}"#, bound.key.expose_secret());
    let login = |head: RequestHead| {
        let (page, body) = (&f.page, &body);
        async move {
            let request = PageRequest {
                method: "POST",
                path: "/ui/login",
                query: None,
                head,
                body: body.as_bytes(),
                tls: false,
            };
            page.handle(request).await.unwrap()
        }
    };
    assert_eq!(login(from("127.0.0.1")).await.status, 401, "outside its networks");
    let r = login(from("203.0.113.7")).await;
    assert_eq!(r.status, 200, "{}", r.body);
    let cookie = r.header("set-cookie").unwrap().split(';').next().unwrap().to_owned();
    let with = |ip: &str| {
        RequestHead::new(vec![("cookie".into(), cookie.clone())])
            .with_peer(keygate::Peer::from(ip.parse::<std::net::IpAddr>().unwrap()))
    };
    let list = |head: RequestHead| {
        let page = &f.page;
        async move {
            let request = PageRequest {
                method: "GET",
                path: "/ui/api/v1/api-keys",
                query: None,
                head,
                body: b"",
                tls: false,
            };
            page.handle(request).await.unwrap().status
        }
    };
    assert_eq!(list(with("203.0.113.7")).await, 200);
    assert_eq!(list(with("127.0.0.1")).await, 401, "the session too, from elsewhere");

    // The key loses the admin scope: its session ends.
    let demote = keygate::store::KeyUpdate {
        scopes: Some(keygate::scope::ScopeSet::parse(["tasks:read"]).unwrap()),
        ..Default::default()
    };
    f.gate.update_key(&bound.record.id, demote).await.unwrap();
    assert_eq!(list(with("203.0.113.7")).await, 401, "demoted: the session ends");

    // Two session cookies: neither is trusted.
    let (cookie, _) = sign_in(&f).await;
    let twice = format!("{cookie}; {cookie}");
    let r = send(&f.page, "GET", "/ui/api/v1/api-keys", &[("cookie", &twice)], "", false).await;
    assert_eq!(r.status, 401);
}

#[tokio::test]
async fn a_capped_key_signs_in_with_its_credits_and_its_session_grants_no_more() {
    let f = fixture().await;
    let capped = NewKey::new(Owner::workspace("wks_1"), "capped").scopes(["admin:*"]).unwrap();
    let capped = f.gate.mint(capped.remaining(3)).await.unwrap();
    let body = format!(r#"{{"key":"{}"}}"#, capped.key.expose_secret());
    let r = send(&f.page, "POST", "/ui/login", &[], &body, false).await;
    assert_eq!(r.status, 200, "signing in spends one of 3: {}", r.body);
    let cookie = r.header("set-cookie").unwrap().split(';').next().unwrap().to_owned();
    let session = send(&f.page, "GET", "/ui/session", &[("cookie", &cookie)], "", false).await;
    let csrf: serde_json::Value = serde_json::from_str(&session.body).unwrap();
    let csrf = csrf["csrf_token"].as_str().unwrap().to_owned();
    let headers = [("cookie", cookie.as_str()), ("x-csrf-token", csrf.as_str())];
    let mint = |n: u64| format!(r#"{{"name":"sub","permissions":[],"remaining":{n}}}"#);
    let r = send(&f.page, "POST", "/ui/api/v1/api-keys", &headers, &mint(3), false).await;
    assert_eq!(r.status, 403, "more than the 2 left: {}", r.body);
    let r = send(&f.page, "POST", "/ui/api/v1/api-keys", &headers, &mint(2), false).await;
    assert_eq!(r.status, 201, "{}", r.body);
}

#[tokio::test]
async fn an_origin_is_compared_without_regard_to_case_and_needs_a_host() {
    let f = fixture().await;
    let body = format!(r#"{{"key":"{}"}}"#, f.admin.key.expose_secret());
    let r = send(
        &f.page,
        "POST",
        "/ui/login",
        &[("origin", "HTTP://Example.COM"), ("host", "example.com")],
        &body,
        false,
    )
    .await;
    assert_eq!(r.status, 200, "{}", r.body);
    let r =
        send(&f.page, "POST", "/ui/login", &[("origin", "http://example.com")], &body, false).await;
    assert_eq!(r.status, 403, "an origin with no host to compare it with");
    let big = "x".repeat(keygate::adapter::MAX_BODY_LEN + 1);
    assert_eq!(send(&f.page, "POST", "/ui/login", &[], &big, false).await.status, 413);
}

#[test]
fn debug_shows_no_key_cookie_or_token() {
    let key = "sk_live_AbCdEfGhIjKlMnOpQrStUvWxYz0123456789abcdefghijklmnopq";
    let head = head(&[("cookie", "keygate_session=0123456789abcdef"), ("x-csrf-token", "fedcba")]);
    let body = format!(r#"{{"key":"{key}"}}"#);
    let request = PageRequest {
        method: "POST",
        path: "/ui/login",
        query: None,
        head,
        body: body.as_bytes(),
        tls: false,
    };
    let shown = format!("{request:?}");
    for secret in [key, "0123456789abcdef", "fedcba"] {
        assert!(!shown.contains(secret), "{shown}");
    }
    assert!(shown.contains("cookie") && shown.contains("/ui/login"), "{shown}");
    let session = keygate_ui::Session {
        caller: keygate::caller::Caller::new(
            "wks_1",
            keygate::format::Environment::Live,
            keygate::scope::ScopeSet::new(),
        ),
        csrf_token: "csrf-secret-value".into(),
    };
    assert!(!format!("{session:?}").contains("csrf-secret-value"));
}
