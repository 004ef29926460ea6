//! The management API, framework-neutral: `/v1/api-keys`, `/v1/me` and `/v1/rate-limit`.
//!
//! An adapter hands [`Keygate::handle_api`] the method, path, headers and body of a request and
//! sends back the [`Response`] it gets, so every framework answers byte for byte the same.
//!
//! | route | scope | answer |
//! | --- | --- | --- |
//! | `GET /v1/me` | any valid key | `{"workspace_id","api_key_id","scopes",…}` |
//! | `GET /v1/rate-limit` | any valid key | `{"limit","remaining","reset","reset_at"}` |
//! | `POST /v1/api-keys` | admin | 201, the new key (shown once) and its details |
//! | `GET /v1/api-keys` | admin | `{"data":[…],"next":…}`, previews only |
//! | `GET /v1/api-keys/{id}` | admin | details with `usage` |
//! | `PATCH /v1/api-keys/{id}` | admin | details |
//! | `DELETE /v1/api-keys/{id}` | admin | details of the revoked key |
//! | `POST /v1/api-keys/{id}/rotate` | admin | 201, the new key; the old one works for `grace_period_seconds` |
//!
//! An admin key manages the keys of its own workspace only: another workspace's key id is
//! answered 404. Bodies are JSON objects; a malformed body, a value of the wrong type, an
//! unknown field or scope, an `expires_at` in the past or a name over 200 characters is a 400
//! in the preset's error style, naming the field.
//!
//! ```
//! use keygate::{Keygate, Peer, api::ApiRequest, preset::Preset};
//!
//! # #[tokio::main(flavor = "current_thread")]
//! # async fn main() -> Result<(), Box<dyn std::error::Error>> {
//! let gate = Keygate::builder(Preset::livetest()).random_pepper().build()?;
//! let headers: [(&str, &str); 0] = [];
//! let request = ApiRequest::new("GET", "/v1/me", &headers);
//! let response = gate.handle_api(request, None).await;
//! assert_eq!(response.status, 401);
//! # Ok(())
//! # }
//! ```

use std::time::Duration;

use serde::Serialize;
use serde::ser::SerializeMap;
use serde_json::{Map, Value};

use crate::clock::Timestamp;
use crate::credential::Headers;
use crate::format::{Environment, KeyId};
use crate::gate::Keygate;
use crate::manage::{KeyChanges, KeyInfo, ManageError, MintedKey, NewKey, UsageInfo};
use crate::request_id::request_id;
use crate::response::{RequestProblem, Response};
use crate::scope::{Requirement, ScopeSet};
use crate::store::{Cursor, KeyKind, Owner};
use crate::verify::{Authenticated, Peer};

/// Largest request body the management API reads.
pub const MAX_BODY_LEN: usize = 64 * 1024;

/// Longest rotation grace period: 30 days.
pub const MAX_GRACE: Duration = Duration::from_secs(30 * 86_400);

/// Default and largest page of `GET /v1/api-keys`.
pub const MAX_LIST_LIMIT: usize = 100;

/// A request body read up to one byte past [`MAX_BODY_LEN`]: enough for
/// [`Keygate::handle_api`] to answer 413, without reading a huge body to the end. Adapters feed
/// it the chunks their framework yields until [`push`](Self::push) says it is full.
#[derive(Debug, Default)]
pub struct CappedBody(Vec<u8>);

impl CappedBody {
    /// An empty body.
    pub fn new() -> Self {
        Self::default()
    }

    /// Appends what fits of `chunk`; returns `false` once the body is over the cap and
    /// reading can stop.
    pub fn push(&mut self, chunk: &[u8]) -> bool {
        let room = (MAX_BODY_LEN + 1).saturating_sub(self.0.len());
        self.0.extend_from_slice(&chunk[..chunk.len().min(room)]);
        self.0.len() <= MAX_BODY_LEN
    }

    /// The bytes read.
    pub fn as_bytes(&self) -> &[u8] {
        &self.0
    }
}

/// One request to the management API, as the adapter received it.
#[derive(Debug, Clone, Copy)]
pub struct ApiRequest<'a, H: ?Sized> {
    /// `GET`, `POST`, `PATCH`, `DELETE`…
    pub method: &'a str,
    /// The path from the API's mount point, such as `/v1/api-keys/key_abc/rotate`.
    pub path: &'a str,
    /// The query string, without `?`.
    pub query: Option<&'a str>,
    /// The request headers.
    pub headers: &'a H,
    /// The body (at most [`MAX_BODY_LEN`] bytes are read).
    pub body: &'a [u8],
    /// The connection.
    pub peer: Peer,
}

impl<'a, H: ?Sized> ApiRequest<'a, H> {
    /// A request with no query, no body and an unknown peer.
    pub fn new(method: &'a str, path: &'a str, headers: &'a H) -> Self {
        ApiRequest { method, path, query: None, headers, body: &[], peer: Peer::default() }
    }

    /// With this body.
    pub fn body(mut self, body: &'a [u8]) -> Self {
        self.body = body;
        self
    }

    /// With this query string (without `?`).
    pub fn query(mut self, query: Option<&'a str>) -> Self {
        self.query = query;
        self
    }

    /// With this peer.
    pub fn peer(mut self, peer: Peer) -> Self {
        self.peer = peer;
        self
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Route {
    Me,
    RateLimit,
    Keys,
    Key(KeyIdText),
    Rotate(KeyIdText),
}

/// A key id as it appeared in the path: parsed later, so that a malformed one is a 404.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct KeyIdText(Option<KeyId>);

fn route(path: &str) -> Option<Route> {
    let path = path.strip_suffix('/').unwrap_or(path);
    let mut parts = path.strip_prefix('/')?.split('/');
    let route = match (parts.next()?, parts.next()?, parts.next(), parts.next(), parts.next()) {
        ("v1", "me", None, ..) => Route::Me,
        ("v1", "rate-limit", None, ..) => Route::RateLimit,
        ("v1", "api-keys", None, ..) => Route::Keys,
        ("v1", "api-keys", Some(id), None, _) => Route::Key(KeyIdText(id.parse().ok())),
        ("v1", "api-keys", Some(id), Some("rotate"), None) => {
            Route::Rotate(KeyIdText(id.parse().ok()))
        }
        _ => return None,
    };
    Some(route)
}

impl Route {
    fn allows(self) -> &'static [&'static str] {
        match self {
            Route::Me | Route::RateLimit => &["GET"],
            Route::Keys => &["GET", "POST"],
            Route::Key(_) => &["GET", "PATCH", "DELETE"],
            Route::Rotate(_) => &["POST"],
        }
    }
}

/// Whether `path` is one of the management API's routes.
pub fn is_api_path(path: &str) -> bool {
    route(path).is_some()
}

type Outcome = Result<(u16, String), RequestProblem>;

impl Keygate {
    /// Answers one management-API request: routing, authentication (unless `authenticated`
    /// says the adapter already did it), the admin scope, body validation and the operation.
    ///
    /// The response carries `X-Request-Id`, and the `X-RateLimit-*` headers when the key's plan
    /// has windows. Never panics on any input.
    pub async fn handle_api<H: Headers + ?Sized>(
        &self,
        req: ApiRequest<'_, H>,
        authenticated: Option<Authenticated>,
    ) -> Response {
        let id = request_id(req.headers);
        let mut response = self.api_response(&req, authenticated, &id).await;
        response.headers.push(("x-request-id", id));
        response
    }

    async fn api_response<H: Headers + ?Sized>(
        &self,
        req: &ApiRequest<'_, H>,
        authenticated: Option<Authenticated>,
        request_id: &str,
    ) -> Response {
        let renderer = &self.inner.preset.renderer;
        let problem = |p: RequestProblem| renderer.render_problem(&p, Some(request_id));
        let Some(route) = route(req.path) else {
            return problem(RequestProblem::not_found("No such route."));
        };
        if !route.allows().contains(&req.method) {
            let mut response = problem(RequestProblem {
                status: 405,
                code: "method_not_allowed",
                message: format!("Use {}.", route.allows().join(", ")),
                field: None,
            });
            response.headers.push(("allow", route.allows().join(", ")));
            return response;
        }
        let auth = match authenticated {
            Some(a) => a,
            None => match self.authenticate(req.headers, req.peer).await {
                Ok(a) => a,
                Err(e) => return renderer.render(&e, Some(request_id)),
            },
        };
        let rate = auth.rate_limit;
        let outcome = match route {
            Route::Me => Ok((200, self.me(&auth))),
            Route::RateLimit => Ok((200, rate_limit_body(&auth))),
            _ => {
                let admin = Requirement::all_of([self.inner.preset.admin_scope.as_str()]);
                match admin.map(|r| self.authorize(&auth.principal, &r)) {
                    Ok(Ok(())) => self.keys_route(route, req, &auth).await,
                    Ok(Err(e)) => return with(renderer.render(&e, Some(request_id)), rate),
                    Err(e) => Err(RequestProblem::bad_body(e.to_string())),
                }
            }
        };
        let response = match outcome {
            Ok((status, body)) => {
                Response { status, content_type: "application/json", headers: Vec::new(), body }
            }
            Err(p) => problem(p),
        };
        with(response, rate)
    }

    async fn keys_route<H: Headers + ?Sized>(
        &self,
        route: Route,
        req: &ApiRequest<'_, H>,
        auth: &Authenticated,
    ) -> Outcome {
        if req.body.len() > MAX_BODY_LEN {
            return Err(RequestProblem {
                status: 413,
                code: "payload_too_large",
                message: format!("The body is over {MAX_BODY_LEN} bytes."),
                field: None,
            });
        }
        let workspace = auth.principal.workspace_id();
        match (route, req.method) {
            (Route::Keys, "GET") => self.list_route(workspace, req.query).await,
            (Route::Keys, _) => {
                let new = self.new_key_from(object(req.body, false)?, auth)?;
                let minted = self.mint(new).await.map_err(|e| self.problem_of(e))?;
                Ok((201, self.minted_json(&minted, None)))
            }
            (Route::Key(id) | Route::Rotate(id), method) => {
                let info = self.own_key(id, workspace).await?;
                let id = info.id;
                match (route, method) {
                    (Route::Key(_), "GET") => Ok((200, to_json(&self.key_json(&info)))),
                    (Route::Key(_), "PATCH") => {
                        let changes = self.changes_from(object(req.body, false)?)?;
                        let info =
                            self.update_key(&id, changes).await.map_err(|e| self.problem_of(e))?;
                        Ok((200, to_json(&self.key_json(&info))))
                    }
                    (Route::Key(_), _) => {
                        let info = self.revoke_key(&id).await.map_err(|e| self.problem_of(e))?;
                        Ok((200, to_json(&self.key_json(&info))))
                    }
                    _ => {
                        let grace = grace_from(object(req.body, true)?)?;
                        let minted =
                            self.rotate_key(&id, grace).await.map_err(|e| self.problem_of(e))?;
                        Ok((201, self.minted_json(&minted, Some(id))))
                    }
                }
            }
            _ => Err(RequestProblem::not_found("No such route.")),
        }
    }

    /// The key the path names, if it is one of `workspace`'s; 404 otherwise.
    async fn own_key(&self, id: KeyIdText, workspace: &str) -> Result<KeyInfo, RequestProblem> {
        let not_found = || RequestProblem::not_found("No such key.");
        let id = id.0.ok_or_else(not_found)?;
        match self.get_key(&id).await {
            Ok(info) if info.workspace_id == workspace => Ok(info),
            Ok(_) | Err(ManageError::NotFound(_)) => Err(not_found()),
            Err(e) => Err(self.problem_of(e)),
        }
    }

    async fn list_route(&self, workspace: &str, query: Option<&str>) -> Outcome {
        let mut limit = MAX_LIST_LIMIT;
        let mut after = None;
        for pair in query.unwrap_or_default().split('&').filter(|p| !p.is_empty()) {
            let (name, value) = pair.split_once('=').unwrap_or((pair, ""));
            match name {
                "limit" => {
                    limit = value
                        .parse()
                        .ok()
                        .filter(|n| (1..=MAX_LIST_LIMIT).contains(n))
                        .ok_or_else(|| {
                            RequestProblem::invalid(
                                "limit",
                                "limit must be a whole number from 1 to 100.",
                            )
                        })?;
                }
                "after" => {
                    after = Some(parse_cursor(value).ok_or_else(|| {
                        RequestProblem::invalid(
                            "after",
                            "after must be a cursor from a previous page.",
                        )
                    })?)
                }
                _ => {}
            }
        }
        #[derive(Serialize)]
        struct List<'a> {
            data: Vec<KeyJson<'a>>,
            next: Option<String>,
        }
        let page =
            self.list_keys(workspace, None, after, limit).await.map_err(|e| self.problem_of(e))?;
        let next = page.next.map(|c| format!("{}.{}", c.created_at.unix_millis(), c.id));
        let list = List { data: page.keys.iter().map(|k| self.key_json(k)).collect(), next };
        Ok((200, to_json(&list)))
    }

    fn me(&self, auth: &Authenticated) -> String {
        #[derive(Serialize)]
        struct Me<'a> {
            workspace_id: &'a str,
            api_key_id: KeyId,
            scopes: &'a ScopeSet,
            user_id: Option<&'a str>,
            kind: KeyKind,
            environment: Environment,
            name: &'a str,
        }
        let p = &auth.principal;
        to_json(&Me {
            workspace_id: p.workspace_id(),
            api_key_id: p.key_id(),
            scopes: p.scopes(),
            user_id: p.user_id(),
            kind: p.kind(),
            environment: p.environment(),
            name: p.name(),
        })
    }

    fn new_key_from(
        &self,
        mut body: Map<String, Value>,
        auth: &Authenticated,
    ) -> Result<NewKey, RequestProblem> {
        let scopes_field = self.inner.preset.scopes_field;
        let name = take_string(&mut body, "name")?
            .ok_or_else(|| RequestProblem::invalid("name", "name is required."))?;
        let scopes = take_scopes(&mut body, scopes_field)?.unwrap_or_default();
        let description = take_string(&mut body, "description")?;
        let expires_at = take_time(&mut body, "expires_at")?;
        let environment = take_parsed::<Environment>(
            &mut body,
            "environment",
            "environment must be `live` or `test`.",
        )?;
        let kind = take_parsed::<KeyKind>(&mut body, "kind", "kind must be `user` or `service`.")?;
        let rate_plan = take_string(&mut body, "rate_plan")?;
        no_more(body)?;
        let p = &auth.principal;
        let owner = Owner {
            workspace_id: p.workspace_id().to_owned(),
            user_id: p.user_id().map(str::to_owned),
        };
        let mut new = NewKey::new(owner, name).scope_set(scopes);
        if let Some(d) = description {
            new = new.description(d);
        }
        if let Some(t) = expires_at {
            new = new.expires_at(t);
        }
        if let Some(env) = environment {
            new = new.environment(env);
        }
        if let Some(kind) = kind {
            new = new.kind(kind);
        }
        if let Some(plan) = rate_plan {
            new = new.rate_plan(plan);
        }
        Ok(new)
    }

    fn changes_from(&self, mut body: Map<String, Value>) -> Result<KeyChanges, RequestProblem> {
        let mut changes = KeyChanges::default();
        if body.contains_key("name") {
            changes.name = Some(
                take_string(&mut body, "name")?
                    .ok_or_else(|| RequestProblem::invalid("name", "name must be a string."))?,
            );
        }
        if body.contains_key("description") {
            changes.description = Some(take_string(&mut body, "description")?);
        }
        changes.scopes = take_scopes(&mut body, self.inner.preset.scopes_field)?;
        if body.contains_key("expires_at") {
            changes.expires_at = Some(take_time(&mut body, "expires_at")?);
        }
        if let Some(v) = body.remove("disabled") {
            changes.disabled = Some(v.as_bool().ok_or_else(|| {
                RequestProblem::invalid("disabled", "disabled must be true or false.")
            })?);
        }
        if body.contains_key("rate_plan") {
            changes.rate_plan = Some(take_string(&mut body, "rate_plan")?);
        }
        no_more(body)?;
        Ok(changes)
    }

    fn key_json<'a>(&self, k: &'a KeyInfo) -> KeyJson<'a> {
        KeyJson {
            id: k.id,
            key: None,
            name: &k.name,
            prefix: &k.prefix,
            scopes: ScopesField(self.inner.preset.scopes_field, &k.scopes),
            created_at: k.created_at,
            last_used: k.last_used,
            expires_at: k.expires_at,
            revoked_at: k.revoked_at,
            is_active: k.is_active,
            disabled: k.disabled,
            kind: k.kind,
            environment: k.environment,
            description: k.description.as_deref(),
            user_id: k.user_id.as_deref(),
            rate_plan: k.rate_plan.as_deref(),
            usage: k.usage,
            rotated_from: None,
        }
    }

    fn minted_json(&self, minted: &MintedKey, rotated_from: Option<KeyId>) -> String {
        let info = self.info(&minted.record, self.inner.clock.now());
        let mut json = self.key_json(&info);
        json.key = Some(minted.key.expose_secret());
        json.rotated_from = rotated_from;
        to_json(&json)
    }
}

/// A key in management-API bodies: seed 002's fields first.
#[derive(Serialize)]
struct KeyJson<'a> {
    id: KeyId,
    #[serde(skip_serializing_if = "Option::is_none")]
    key: Option<&'a str>,
    name: &'a str,
    prefix: &'a str,
    #[serde(flatten)]
    scopes: ScopesField<'a>,
    created_at: Timestamp,
    last_used: Option<Timestamp>,
    expires_at: Option<Timestamp>,
    revoked_at: Option<Timestamp>,
    is_active: bool,
    disabled: bool,
    kind: KeyKind,
    environment: Environment,
    description: Option<&'a str>,
    user_id: Option<&'a str>,
    rate_plan: Option<&'a str>,
    usage: UsageInfo,
    #[serde(skip_serializing_if = "Option::is_none")]
    rotated_from: Option<KeyId>,
}

/// The scope list under the preset's name for it (`scopes` or `permissions`).
struct ScopesField<'a>(&'static str, &'a ScopeSet);

impl Serialize for ScopesField<'_> {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let mut map = s.serialize_map(Some(1))?;
        map.serialize_entry(self.0, self.1)?;
        map.end()
    }
}

fn to_json<T: Serialize>(value: &T) -> String {
    serde_json::to_string(value).unwrap_or_else(|_| "{}".to_owned())
}

fn with(mut response: Response, rate: Option<crate::limit::RateLimitInfo>) -> Response {
    if let Some(info) = &rate {
        response.add_rate_limit_headers(info);
    }
    response
}

fn rate_limit_body(auth: &Authenticated) -> String {
    #[derive(Serialize)]
    struct RateLimit {
        limit: Option<u64>,
        remaining: Option<u64>,
        reset: Option<i64>,
        reset_at: Option<Timestamp>,
    }
    let info = auth.rate_limit;
    to_json(&RateLimit {
        limit: info.map(|i| i.limit),
        remaining: info.map(|i| i.remaining),
        reset: info.map(|i| i.reset_secs()),
        reset_at: info.map(|i| Timestamp::from_unix_seconds(i.reset_secs())),
    })
}

fn problem_in(e: ManageError, scopes_field: &str) -> RequestProblem {
    match e {
        ManageError::NotFound(_) => RequestProblem::not_found("No such key."),
        ManageError::Scope(e) => RequestProblem::invalid(scopes_field, sentence(&e)),
        ManageError::Name => RequestProblem::invalid("name", "name must be 1 to 200 characters."),
        ManageError::Description => {
            RequestProblem::invalid("description", "description must be at most 2000 characters.")
        }
        ManageError::ExpiryInPast => {
            RequestProblem::invalid("expires_at", "expires_at must be in the future.")
        }
        ManageError::UnknownPlan(plan) => {
            RequestProblem::invalid("rate_plan", format!("Unknown rate plan `{plan}`."))
        }
        ManageError::Environment(env) => {
            RequestProblem::invalid("environment", format!("This deployment has no {env} keys."))
        }
        other => {
            tracing::warn!(error = %other, "management request failed");
            RequestProblem {
                status: 503,
                code: "unavailable",
                message: "The key store is temporarily unavailable. Retry shortly.".into(),
                field: None,
            }
        }
    }
}

impl Keygate {
    fn problem_of(&self, e: ManageError) -> RequestProblem {
        problem_in(e, self.inner.preset.scopes_field)
    }
}

/// An error's text as a sentence: capitalized, with a full stop.
fn sentence(e: &dyn std::fmt::Display) -> String {
    let text = e.to_string();
    let mut chars = text.chars();
    let first = chars.next().map(|c| c.to_uppercase().collect::<String>()).unwrap_or_default();
    format!("{first}{}.", chars.as_str())
}

/// The body as a JSON object; an empty body is `{}` where `empty_ok`.
fn object(body: &[u8], empty_ok: bool) -> Result<Map<String, Value>, RequestProblem> {
    if body.iter().all(u8::is_ascii_whitespace) {
        return if empty_ok {
            Ok(Map::new())
        } else {
            Err(RequestProblem::bad_body("The body must be a JSON object."))
        };
    }
    match serde_json::from_slice::<Value>(body) {
        Ok(Value::Object(map)) => Ok(map),
        Ok(_) => Err(RequestProblem::bad_body("The body must be a JSON object.")),
        Err(e) => Err(RequestProblem::bad_body(format!("The body is not valid JSON: {e}."))),
    }
}

fn no_more(body: Map<String, Value>) -> Result<(), RequestProblem> {
    match body.keys().next() {
        None => Ok(()),
        Some(k) => {
            let shown: String = k.chars().take(64).collect();
            Err(RequestProblem::invalid(&shown, format!("Unknown field `{shown}`.")))
        }
    }
}

/// A string field, `None` when absent or null.
fn take_string(
    body: &mut Map<String, Value>,
    field: &str,
) -> Result<Option<String>, RequestProblem> {
    match body.remove(field) {
        None | Some(Value::Null) => Ok(None),
        Some(Value::String(s)) => Ok(Some(s)),
        Some(_) => Err(RequestProblem::invalid(field, format!("{field} must be a string."))),
    }
}

fn take_time(
    body: &mut Map<String, Value>,
    field: &str,
) -> Result<Option<Timestamp>, RequestProblem> {
    take_string(body, field)?
        .map(|s| {
            Timestamp::parse_rfc3339(&s).map_err(|_| {
                RequestProblem::invalid(
                    field,
                    format!("{field} must be an RFC 3339 time such as 2026-10-14T00:00:00Z."),
                )
            })
        })
        .transpose()
}

fn take_parsed<T: std::str::FromStr>(
    body: &mut Map<String, Value>,
    field: &str,
    message: &str,
) -> Result<Option<T>, RequestProblem> {
    take_string(body, field)?
        .map(|s| s.parse().map_err(|_| RequestProblem::invalid(field, message)))
        .transpose()
}

/// The scope list, under `scopes` or `permissions` (not both).
fn take_scopes(
    body: &mut Map<String, Value>,
    preferred: &str,
) -> Result<Option<ScopeSet>, RequestProblem> {
    let (scopes, permissions) = (body.remove("scopes"), body.remove("permissions"));
    let (field, value) = match (scopes, permissions) {
        (Some(_), Some(_)) => {
            return Err(RequestProblem::invalid(
                preferred,
                "Send `scopes` or `permissions`, not both.",
            ));
        }
        (Some(v), None) => ("scopes", v),
        (None, Some(v)) => ("permissions", v),
        (None, None) => return Ok(None),
    };
    let wrong = || RequestProblem::invalid(field, format!("{field} must be a list of strings."));
    let Value::Array(items) = value else { return Err(wrong()) };
    let texts =
        items.iter().map(|v| v.as_str().ok_or_else(wrong)).collect::<Result<Vec<_>, _>>()?;
    ScopeSet::parse(texts).map(Some).map_err(|e| RequestProblem::invalid(field, sentence(&e)))
}

fn grace_from(mut body: Map<String, Value>) -> Result<Duration, RequestProblem> {
    let field = "grace_period_seconds";
    let grace = match body.remove(field) {
        None | Some(Value::Null) => Duration::ZERO,
        Some(v) => {
            v.as_u64().map(Duration::from_secs).filter(|g| *g <= MAX_GRACE).ok_or_else(|| {
                RequestProblem::invalid(
                    field,
                    "grace_period_seconds must be a whole number from 0 to 2592000 (30 days).",
                )
            })?
        }
    };
    no_more(body)?;
    Ok(grace)
}

fn parse_cursor(text: &str) -> Option<Cursor> {
    let (ms, id) = text.split_once('.')?;
    Some(Cursor { created_at: Timestamp::from_unix_millis(ms.parse().ok()?), id: id.parse().ok()? })
}
