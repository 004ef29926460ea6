//! [`KeysPage`]: the page's routes, framework-neutral.

use std::sync::Arc;

use keygate::Keygate;
use keygate::adapter::{ApiRequest, MAX_BODY_LEN};
use keygate::format::Environment;
use keygate::response::Response;
use serde::Deserialize;
use subtle::ConstantTimeEq;

use crate::assets;
use crate::key_login::SESSION_COOKIE;
use crate::session::{LoginRefused, RequestHead, Session, Sessions};

/// The header the page sends its session's CSRF token in.
pub const CSRF_HEADER: &str = "x-csrf-token";

/// The `Content-Security-Policy` of every answer of the page: its own script and style only,
/// no inline code, nothing framed.
pub const CONTENT_SECURITY_POLICY: &str = "default-src 'none'; script-src 'self'; \
    style-src 'self'; img-src 'self'; connect-src 'self'; form-action 'self'; \
    frame-ancestors 'none'; base-uri 'none'";

/// A request for the page, as an adapter hands it over. Its `Debug` shows neither the body
/// (a pasted key) nor header values (session cookies).
#[derive(Clone)]
pub struct PageRequest<'a> {
    /// `GET`, `POST`, …
    pub method: &'a str,
    /// The whole path, the page's mount path included.
    pub path: &'a str,
    /// The query string, without `?`.
    pub query: Option<&'a str>,
    /// The headers, names in lower case.
    pub head: RequestHead,
    /// The body (the adapter caps it at [`MAX_BODY_LEN`]).
    pub body: &'a [u8],
    /// Whether the request came over TLS (the session cookie is then `Secure`).
    pub tls: bool,
}

impl std::fmt::Debug for PageRequest<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PageRequest")
            .field("method", &self.method)
            .field("path", &self.path)
            .field("head", &self.head)
            .field("body_len", &self.body.len())
            .field("tls", &self.tls)
            .finish_non_exhaustive()
    }
}

/// The keys page of a service: its assets, the session of its visitor, and the management API
/// acting for that session's caller. Mount it at a path of the host's choosing with the
/// adapter of its framework (`keygate_ui::axum::router`, `keygate_ui::actix::config`,
/// `keygate_ui::warp::filter`), or hand it requests with [`handle`](Self::handle).
///
/// ```
/// use std::sync::Arc;
/// use keygate::Keygate;
/// use keygate::preset::Preset;
/// use keygate_ui::{KeyLogin, KeysPage, PageRequest, RequestHead};
///
/// # #[tokio::main(flavor = "current_thread")]
/// # async fn main() -> Result<(), Box<dyn std::error::Error>> {
/// let gate = Keygate::builder(Preset::livetest()).random_pepper().build()?;
/// let page = KeysPage::new(gate.clone(), "/settings/keys", Arc::new(KeyLogin::new(gate)));
/// let request = PageRequest {
///     method: "GET",
///     path: "/settings/keys/",
///     query: None,
///     head: RequestHead::default(),
///     body: b"",
///     tls: false,
/// };
/// let page_html = page.handle(request).await.expect("the page's own path");
/// assert_eq!(page_html.status, 200);
/// assert!(page_html.header("content-security-policy").is_some_and(|csp| csp.contains("script-src 'self'")));
/// # Ok(())
/// # }
/// ```
#[derive(Clone)]
pub struct KeysPage {
    inner: Arc<Inner>,
}

#[derive(Clone)]
struct Inner {
    gate: Keygate,
    mount: String,
    sessions: Arc<dyn Sessions>,
    secure_cookies: bool,
}

impl std::fmt::Debug for KeysPage {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("KeysPage").field("mount", &self.inner.mount).finish_non_exhaustive()
    }
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct LoginBody {
    key: String,
}

impl KeysPage {
    /// The page of `gate`'s keys at `mount` (such as `/ui`; a trailing `/` is ignored), for
    /// the callers `sessions` names.
    pub fn new(gate: Keygate, mount: &str, sessions: Arc<dyn Sessions>) -> Self {
        let mount = format!("/{}", mount.trim_matches('/'));
        let mount = if mount == "/" { String::new() } else { mount };
        KeysPage { inner: Arc::new(Inner { gate, mount, sessions, secure_cookies: false }) }
    }

    /// Marks the session cookie `Secure` on every answer, for a page served over HTTPS by a
    /// proxy in front (without it, only requests the adapter knows came over TLS get it).
    pub fn secure_cookies(mut self, always: bool) -> Self {
        Arc::make_mut(&mut self.inner).secure_cookies = always;
        self
    }

    /// Whether `path` is the page's: its mount path or under it. Adapters check it before
    /// reading a body, so that other routes keep theirs.
    pub fn owns(&self, path: &str) -> bool {
        path.strip_prefix(self.inner.mount.as_str())
            .is_some_and(|rest| rest.is_empty() || rest.starts_with('/'))
    }

    /// The path the page is mounted at (`/ui`; empty at the root).
    pub fn mount(&self) -> &str {
        &self.inner.mount
    }

    /// Answers a request for the page, or `None` when its path is not the page's.
    pub async fn handle(&self, req: PageRequest<'_>) -> Option<Response> {
        if !self.owns(req.path) {
            return None;
        }
        let rest = &req.path[self.inner.mount.len()..];
        let mut response = match (req.method, rest) {
            _ if req.body.len() > MAX_BODY_LEN => {
                json(413, r#"{"error":"The body is too large."}"#.into())
            }
            ("GET" | "HEAD", "") => redirect(&format!("{}/", self.inner.mount)),
            ("GET" | "HEAD", "/") => asset("text/html; charset=utf-8", assets::INDEX_HTML),
            ("GET" | "HEAD", "/app.js") => asset("text/javascript; charset=utf-8", assets::APP_JS),
            ("GET" | "HEAD", "/app.css") => asset("text/css; charset=utf-8", assets::APP_CSS),
            ("GET", "/session") => self.session_info(&req).await,
            ("POST", "/login") => self.log_in(&req).await,
            ("POST", "/logout") => self.log_out(&req).await,
            (_, api) if api.starts_with("/api/v1/") => self.api(&req, &api[4..]).await,
            _ => json(404, r#"{"error":"No such page."}"#.into()),
        };
        for (name, value) in [
            ("content-security-policy", CONTENT_SECURITY_POLICY),
            ("x-content-type-options", "nosniff"),
            ("referrer-policy", "no-referrer"),
            ("x-frame-options", "DENY"),
            ("cross-origin-opener-policy", "same-origin"),
            ("cache-control", "no-store"),
        ] {
            if response.header(name).is_none() {
                response.headers.push((name, value.to_owned()));
            }
        }
        Some(response)
    }

    /// Whether a state-changing request comes from the page itself: a browser says where a
    /// request comes from (`Sec-Fetch-Site`, `Origin`), and a request that says another site
    /// or origin is refused. A client that says nothing (not a browser) is not a CSRF risk.
    fn same_origin(req: &PageRequest<'_>) -> bool {
        if req.head.header("sec-fetch-site").is_some_and(|s| s != "same-origin") {
            return false;
        }
        // HTTP/2 names the host in `:authority`; adapters pass it on as `host`.
        match (req.head.header("origin"), req.head.header("host")) {
            (None, _) => true,
            (Some(origin), Some(host)) => {
                let origin = origin.to_ascii_lowercase();
                let host = host.to_ascii_lowercase();
                ["http://", "https://"]
                    .iter()
                    .any(|s| origin.strip_prefix(s) == Some(host.as_str()))
            }
            (Some(_), None) => false,
        }
    }

    /// The session of `req` when its CSRF token is the session's.
    fn csrf_ok(req: &PageRequest<'_>, session: &Session) -> bool {
        let sent = req.head.header(CSRF_HEADER).unwrap_or_default();
        Self::same_origin(req)
            && !session.csrf_token.is_empty()
            && bool::from(sent.as_bytes().ct_eq(session.csrf_token.as_bytes()))
    }

    async fn session_info(&self, req: &PageRequest<'_>) -> Response {
        let gate = &self.inner.gate;
        let Some(session) = self.inner.sessions.session(&req.head).await else {
            let body = serde_json::json!({
                "signed_in": false,
                "login_url": self.inner.sessions.login_url(),
            });
            return json(200, body.to_string());
        };
        let caller = &session.caller;
        let known: Vec<&str> = match gate.preset().policy.known() {
            Some(known) => known.iter().map(|s| s.as_str()).collect(),
            None => caller.scopes().iter().map(|s| s.as_str()).collect(),
        };
        let environments: &[&str] = match caller.environment() {
            Environment::Test => &["test"],
            Environment::Live if gate.preset().format.has_environments() => &["live", "test"],
            Environment::Live => &["live"],
        };
        let body = serde_json::json!({
            "signed_in": true,
            "workspace_id": caller.workspace_id(),
            "user_id": caller.user_id(),
            "scopes_field": gate.preset().scopes_field,
            "known_scopes": known,
            "environments": environments,
            "csrf_token": session.csrf_token,
            "sign_out": self.inner.sessions.login_url().is_none(),
        });
        json(200, body.to_string())
    }

    async fn log_in(&self, req: &PageRequest<'_>) -> Response {
        if !Self::same_origin(req) {
            return json(403, r#"{"error":"Sign in from the page itself."}"#.into());
        }
        let Ok(LoginBody { key }) = serde_json::from_slice::<LoginBody>(req.body) else {
            return json(400, r#"{"error":"Paste a key."}"#.into());
        };
        match self.inner.sessions.log_in(&key, &req.head).await {
            Ok(token) => {
                let mut response = json(200, r#"{"signed_in":true}"#.into());
                response.headers.push(("set-cookie", self.cookie(&token, req.tls, false)));
                response
            }
            Err(LoginRefused::Unavailable) => {
                json(503, r#"{"error":"Signing in is not possible right now."}"#.into())
            }
            Err(LoginRefused::NotOffered) => {
                json(404, r#"{"error":"This page signs in elsewhere."}"#.into())
            }
            Err(_) => json(
                401,
                r#"{"error":"That key cannot sign in: it is not a valid key with the admin scope."}"#
                    .into(),
            ),
        }
    }

    async fn log_out(&self, req: &PageRequest<'_>) -> Response {
        let Some(session) = self.inner.sessions.session(&req.head).await else {
            return json(401, r#"{"error":"Not signed in."}"#.into());
        };
        if !Self::csrf_ok(req, &session) {
            return json(403, r#"{"error":"Missing or wrong CSRF token."}"#.into());
        }
        self.inner.sessions.log_out(&req.head).await;
        let mut response = json(200, r#"{"signed_in":false}"#.into());
        response.headers.push(("set-cookie", self.cookie("", req.tls, true)));
        response
    }

    /// The management API at `path` (`/v1/…`), acting for the session's caller.
    async fn api(&self, req: &PageRequest<'_>, path: &str) -> Response {
        let Some(session) = self.inner.sessions.session(&req.head).await else {
            return json(401, r#"{"error":"Not signed in."}"#.into());
        };
        if !matches!(req.method, "GET" | "HEAD") && !Self::csrf_ok(req, &session) {
            return json(403, r#"{"error":"Missing or wrong CSRF token."}"#.into());
        }
        let headers: Vec<(&str, &str)> = req
            .head
            .headers()
            .iter()
            .filter(|(n, _)| n.eq_ignore_ascii_case("x-request-id"))
            .map(|(n, v)| (n.as_str(), v.as_str()))
            .collect();
        let api = ApiRequest::new(req.method, path, &headers).query(req.query).body(req.body);
        self.inner.gate.handle_api_as(api, &session.caller).await
    }

    /// The session cookie: the page's path only, never readable by scripts, never sent by
    /// another site, `Secure` over TLS.
    fn cookie(&self, token: &str, tls: bool, expire: bool) -> String {
        let path = if self.inner.mount.is_empty() { "/" } else { self.inner.mount.as_str() };
        let mut cookie =
            format!("{SESSION_COOKIE}={token}; Path={path}; HttpOnly; SameSite=Strict");
        if tls || self.inner.secure_cookies {
            cookie.push_str("; Secure");
        }
        if expire {
            cookie.push_str("; Max-Age=0");
        }
        cookie
    }
}

fn json(status: u16, body: String) -> Response {
    Response { status, content_type: "application/json", headers: Vec::new(), body }
}

fn asset(content_type: &'static str, body: &str) -> Response {
    Response { status: 200, content_type, headers: Vec::new(), body: body.to_owned() }
}

fn redirect(to: &str) -> Response {
    Response {
        status: 308,
        content_type: "text/plain; charset=utf-8",
        headers: vec![("location", to.to_owned())],
        body: String::new(),
    }
}
