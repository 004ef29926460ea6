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
//! The caller is the admin key itself ([`Caller::of`]), under the rules of [`crate::caller`]:
//! it mints and sets only scopes it holds (403 `scope_not_held`), a test key manages test keys
//! only (403 `environment_not_allowed`; a live key is 404 to it), a user's key manages that
//! user's keys only, another workspace's key id is 404, `rate_plan` is the operator's
//! (403 `field_not_allowed`), a workspace holds a capped number of keys (409
//! `key_limit_reached`), a revoked key is 404, an expired key cannot be changed (409
//! `key_expired`) and a disabled one cannot be rotated (409 `key_disabled`).
//!
//! Bodies are JSON objects read by serde types: a malformed body, a value of the wrong type,
//! an unknown or repeated field, an unknown scope, an `expires_at` in the past, a name over 200
//! characters or a control character in a name or description is a 400 in the preset's error
//! style, naming the field. Answers that carry a full key have `Cache-Control: no-store`.
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

use serde::ser::SerializeMap;
use serde::{Deserialize, Deserializer, Serialize};

use crate::caller::{Caller, CallerKeys};
use crate::clock::Timestamp;
use crate::credential::Headers;
use crate::format::{Environment, KeyId};
use crate::gate::Keygate;
use crate::manage::{KeyInfo, ManageError, MintedKey, NewKey, UsageInfo};
use crate::request_id::request_id;
use crate::response::{RequestProblem, Response};
use crate::scope::{Requirement, ScopeSet};
use crate::store::{Cursor, KeyKind, KeyUpdate, Owner};
use crate::verify::{Peer, Principal};

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

/// One request to the management API, as the adapter received it. Its `Debug` shows neither
/// the headers (they carry the credential) nor the body (it may carry anything).
#[derive(Clone, Copy)]
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

impl<H: ?Sized> std::fmt::Debug for ApiRequest<'_, H> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ApiRequest")
            .field("method", &self.method)
            .field("path", &self.path)
            .field("query", &self.query)
            .field("headers", &format_args!("[REDACTED]"))
            .field("body", &format_args!("[{} bytes]", self.body.len()))
            .field("peer", &self.peer)
            .finish()
    }
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

/// A successful answer: status, JSON body, and whether the body carries a full key.
struct Answer {
    status: u16,
    body: String,
    carries_key: bool,
}

impl Answer {
    fn ok(body: String) -> Self {
        Answer { status: 200, body, carries_key: false }
    }

    fn key(body: String) -> Self {
        Answer { status: 201, body, carries_key: true }
    }
}

type Outcome = Result<Answer, RequestProblem>;

impl Keygate {
    /// Answers one management-API request: routing, authentication (unless `authenticated`
    /// says the adapter already did it), the admin scope, body validation and the operation.
    ///
    /// The response carries `X-Request-Id`, and the `X-RateLimit-*` headers when the key's plan
    /// has windows. Never panics on any input.
    pub async fn handle_api<H: Headers + ?Sized>(
        &self,
        req: ApiRequest<'_, H>,
        authenticated: Option<Principal>,
    ) -> Response {
        let id = request_id(req.headers);
        let mut response = self.api_response(&req, authenticated, &id).await;
        response.headers.push(("x-request-id", id));
        response
    }

    async fn api_response<H: Headers + ?Sized>(
        &self,
        req: &ApiRequest<'_, H>,
        authenticated: Option<Principal>,
        request_id: &str,
    ) -> Response {
        let renderer = &self.inner.preset.renderer;
        let problem = |p: RequestProblem| renderer.render_problem(&p, Some(request_id));
        let Some(route) = route(req.path) else {
            return problem(RequestProblem::not_found("No such route."));
        };
        if !route.allows().contains(&req.method) {
            let mut response = problem(RequestProblem::new(
                405,
                "method_not_allowed",
                format!("Use {}.", route.allows().join(", ")),
            ));
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
        let rate = auth.rate_limit().copied();
        let outcome = match route {
            Route::Me => Ok(Answer::ok(self.me(&auth))),
            Route::RateLimit => Ok(Answer::ok(rate_limit_body(&auth))),
            _ => {
                let admin = Requirement::all_of([self.inner.preset.admin_scope.as_str()]);
                match admin.map(|r| self.authorize(&auth, &r)) {
                    Ok(Ok(())) => self.keys_route(route, req, &auth).await,
                    Ok(Err(e)) => return with(renderer.render(&e, Some(request_id)), rate),
                    Err(e) => Err(RequestProblem::bad_body(e.to_string())),
                }
            }
        };
        let response = match outcome {
            Ok(Answer { status, body, carries_key }) => {
                let mut headers = Vec::new();
                if carries_key {
                    headers.push(("cache-control", "no-store".to_owned()));
                }
                Response { status, content_type: "application/json", headers, body }
            }
            Err(p) => problem(p),
        };
        with(response, rate)
    }

    async fn keys_route<H: Headers + ?Sized>(
        &self,
        route: Route,
        req: &ApiRequest<'_, H>,
        auth: &Principal,
    ) -> Outcome {
        if req.body.len() > MAX_BODY_LEN {
            return Err(RequestProblem::new(
                413,
                "payload_too_large",
                format!("The body is over {MAX_BODY_LEN} bytes."),
            ));
        }
        let caller = Caller::of(auth);
        let keys = self.acting_for(&caller);
        let fail = |e| self.problem_of(e);
        match (route, req.method) {
            (Route::Keys, "GET") => self.list_route(keys, req.query).await,
            (Route::Keys, _) => {
                let new = self.new_key_from(body(req.body, self.scopes_field())?, &caller)?;
                let minted = keys.mint(new).await.map_err(fail)?;
                Ok(Answer::key(self.minted_json(&minted, None)))
            }
            (Route::Key(KeyIdText(id)) | Route::Rotate(KeyIdText(id)), method) => {
                let id = id.ok_or_else(|| RequestProblem::not_found("No such key."))?;
                match (route, method) {
                    (Route::Key(_), "GET") => {
                        let info = keys.get(&id).await.map_err(fail)?;
                        Ok(Answer::ok(to_json(&self.key_json(&info))))
                    }
                    (Route::Key(_), "PATCH") => {
                        let changes = self.changes_from(body(req.body, self.scopes_field())?)?;
                        let info = keys.update(&id, changes).await.map_err(fail)?;
                        Ok(Answer::ok(to_json(&self.key_json(&info))))
                    }
                    (Route::Key(_), _) => {
                        let info = keys.revoke(&id).await.map_err(fail)?;
                        Ok(Answer::ok(to_json(&self.key_json(&info))))
                    }
                    _ => {
                        let grace = grace_from(body_or_empty(req.body, self.scopes_field())?)?;
                        let minted = keys.rotate(&id, grace).await.map_err(fail)?;
                        Ok(Answer::key(self.minted_json(&minted, Some(id))))
                    }
                }
            }
            _ => Err(RequestProblem::not_found("No such route.")),
        }
    }

    fn scopes_field(&self) -> &'static str {
        self.inner.preset.scopes_field
    }

    async fn list_route(&self, keys: CallerKeys<'_>, query: Option<&str>) -> Outcome {
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
        let page = keys.list(after, limit).await.map_err(|e| self.problem_of(e))?;
        let next = page.next.map(|c| format!("{}.{}", c.created_at.unix_millis(), c.id));
        let list = List { data: page.keys.iter().map(|k| self.key_json(k)).collect(), next };
        Ok(Answer::ok(to_json(&list)))
    }

    fn me(&self, auth: &Principal) -> String {
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
        let p = auth;
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

    fn new_key_from(&self, body: MintBody, caller: &Caller) -> Result<NewKey, RequestProblem> {
        let field = self.scopes_field();
        let name = body.name.ok_or_else(|| RequestProblem::invalid("name", "name is required."))?;
        let scopes = body.scopes.map(|s| scope_set(field, &s)).transpose()?.unwrap_or_default();
        let owner = Owner {
            workspace_id: caller.workspace_id().to_owned(),
            user_id: caller.user_id().map(str::to_owned),
        };
        let mut new = NewKey::new(owner, name).scope_set(scopes);
        if let Some(d) = body.description {
            new = new.description(d);
        }
        if let Some(t) = body.expires_at.as_deref().map(|t| time_field("expires_at", t)) {
            new = new.expires_at(t?);
        }
        if let Some(env) = body.environment {
            new = new.environment(parsed(
                "environment",
                &env,
                "environment must be `live` or `test`.",
            )?);
        }
        if let Some(kind) = body.kind {
            new = new.kind(parsed("kind", &kind, "kind must be `user` or `service`.")?);
        }
        if let Some(plan) = body.rate_plan {
            new = new.rate_plan(plan);
        }
        Ok(new)
    }

    fn changes_from(&self, body: PatchBody) -> Result<KeyUpdate, RequestProblem> {
        let field = self.scopes_field();
        let name = body
            .name
            .map(|n| n.ok_or_else(|| RequestProblem::invalid("name", "name must be a string.")))
            .transpose()?;
        let expires_at = body
            .expires_at
            .map(|t| t.map(|t| time_field("expires_at", &t)).transpose())
            .transpose()?;
        let disabled = body
            .disabled
            .map(|d| {
                d.ok_or_else(|| {
                    RequestProblem::invalid("disabled", "disabled must be true or false.")
                })
            })
            .transpose()?;
        Ok(KeyUpdate {
            name,
            description: body.description,
            scopes: body.scopes.map(|s| scope_set(field, &s)).transpose()?,
            expires_at,
            disabled,
            rate_plan: body.rate_plan,
            ..KeyUpdate::default()
        })
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

/// A key in management-API bodies: the live/test key API's fields first.
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

fn rate_limit_body(auth: &Principal) -> String {
    #[derive(Serialize)]
    struct RateLimit {
        limit: Option<u64>,
        remaining: Option<u64>,
        reset: Option<i64>,
        reset_at: Option<Timestamp>,
    }
    let info = auth.rate_limit().copied();
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
        ManageError::ControlCharacter(field) => RequestProblem::invalid(
            field,
            format!("{field} must not contain control or bidirectional formatting characters."),
        ),
        ManageError::ExpiryInPast => {
            RequestProblem::invalid("expires_at", "expires_at must be in the future.")
        }
        ManageError::UnknownPlan(plan) => {
            RequestProblem::invalid("rate_plan", format!("Unknown rate plan `{plan}`."))
        }
        ManageError::Environment(env) => {
            RequestProblem::invalid("environment", format!("This deployment has no {env} keys."))
        }
        ManageError::ScopeNotHeld(not_held) => {
            let list = not_held.iter().map(|s| format!("`{s}`")).collect::<Vec<_>>().join(", ");
            let mut p = RequestProblem::new(
                403,
                "scope_not_held",
                format!("A key can only grant scopes it holds itself; it does not hold {list}."),
            );
            p.not_held = not_held;
            p
        }
        ManageError::EnvironmentNotAllowed => RequestProblem::new(
            403,
            "environment_not_allowed",
            "A test key can only mint and manage test keys.",
        ),
        ManageError::FieldNotAllowed(field) => {
            let message = match field {
                "kind" => "A user's key can only mint user keys.".to_owned(),
                _ => format!("`{field}` can only be set by the operator."),
            };
            let mut p = RequestProblem::new(403, "field_not_allowed", message);
            p.field = Some(field.to_owned());
            p
        }
        ManageError::KeyLimitReached(limit) => RequestProblem::new(
            409,
            "key_limit_reached",
            format!("This workspace already holds {limit} keys. Revoke one to mint another."),
        ),
        ManageError::KeyExpired(_) => RequestProblem::new(
            409,
            "key_expired",
            "The key has expired and cannot be changed or rotated. Mint a new key.",
        ),
        ManageError::KeyDisabled(_) => RequestProblem::new(
            409,
            "key_disabled",
            "The key is disabled. Enable it before rotating it.",
        ),
        other => {
            tracing::warn!(error = %other, "management request failed");
            RequestProblem::new(
                503,
                "unavailable",
                "The key store is temporarily unavailable. Retry shortly.",
            )
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

/// `POST /v1/api-keys`.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct MintBody {
    name: Option<String>,
    #[serde(alias = "permissions")]
    scopes: Option<Vec<String>>,
    description: Option<String>,
    expires_at: Option<String>,
    environment: Option<String>,
    kind: Option<String>,
    rate_plan: Option<String>,
}

/// `PATCH /v1/api-keys/{id}`: an absent field is left as it is, `null` clears it.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct PatchBody {
    #[serde(default, deserialize_with = "present")]
    name: Option<Option<String>>,
    #[serde(default, deserialize_with = "present")]
    description: Option<Option<String>>,
    #[serde(alias = "permissions")]
    scopes: Option<Vec<String>>,
    #[serde(default, deserialize_with = "present")]
    expires_at: Option<Option<String>>,
    #[serde(default, deserialize_with = "present")]
    disabled: Option<Option<bool>>,
    #[serde(default, deserialize_with = "present")]
    rate_plan: Option<Option<String>>,
}

/// `POST /v1/api-keys/{id}/rotate`.
#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields)]
struct RotateBody {
    grace_period_seconds: Option<u64>,
}

/// A field that is present, `null` or not: `Some(None)` for `null`.
fn present<'de, D, T>(d: D) -> Result<Option<Option<T>>, D::Error>
where
    D: Deserializer<'de>,
    T: Deserialize<'de>,
{
    Option::<T>::deserialize(d).map(Some)
}

/// What a field of the wrong type is told.
fn expected(field: &str, scopes_field: &str) -> String {
    match field {
        "scopes" | "permissions" => format!("{field} must be a list of strings."),
        "disabled" => "disabled must be true or false.".into(),
        "grace_period_seconds" => GRACE_RANGE.into(),
        "expires_at" => EXPIRES_AT_FORMAT.into(),
        f if f == scopes_field => format!("{f} must be a list of strings."),
        f => format!("{f} must be a string."),
    }
}

const GRACE_RANGE: &str =
    "grace_period_seconds must be a whole number from 0 to 2592000 (30 days).";
const EXPIRES_AT_FORMAT: &str = "expires_at must be an RFC 3339 time such as 2026-10-14T00:00:00Z.";

/// The body read as `T`; a 400 naming the field at fault otherwise.
fn body<'de, T: Deserialize<'de>>(
    bytes: &'de [u8],
    scopes_field: &str,
) -> Result<T, RequestProblem> {
    if bytes.iter().all(u8::is_ascii_whitespace) {
        return Err(RequestProblem::bad_body("The body must be a JSON object."));
    }
    let not_json = |e: serde_json::Error| {
        RequestProblem::bad_body(format!("The body is not valid JSON: {e}."))
    };
    let mut json = serde_json::Deserializer::from_slice(bytes);
    let value: Result<T, _> = serde_path_to_error::deserialize(&mut json);
    if value.is_ok() {
        json.end().map_err(not_json)?;
    }
    value.map_err(|e| {
        let field = match e.path().iter().next() {
            Some(serde_path_to_error::Segment::Map { key }) => Some(key.clone()),
            _ => None,
        };
        let inner = e.into_inner();
        if !inner.is_data() {
            return not_json(inner);
        }
        let text = inner.to_string();
        // serde's own wording: "unknown field `x`, expected …", "duplicate field `x`".
        let quoted = text.split('`').nth(1).map(|f| f.chars().take(64).collect::<String>());
        if text.starts_with("unknown field")
            && let Some(f) = quoted
        {
            return RequestProblem::invalid(&f, format!("Unknown field `{f}`."));
        }
        if text.starts_with("duplicate field")
            && let Some(f) = quoted
        {
            let f = if f == "scopes" { scopes_field.to_owned() } else { f };
            return RequestProblem::invalid(&f, format!("The field `{f}` appears more than once."));
        }
        match field {
            Some(f) => {
                let f: String = f.chars().take(64).collect();
                let message = expected(&f, scopes_field);
                RequestProblem::invalid(&f, message)
            }
            None => RequestProblem::bad_body("The body must be a JSON object."),
        }
    })
}

/// [`body`], with an empty body read as `{}`.
fn body_or_empty<'de, T: Deserialize<'de> + Default>(
    bytes: &'de [u8],
    scopes_field: &str,
) -> Result<T, RequestProblem> {
    if bytes.iter().all(u8::is_ascii_whitespace) {
        return Ok(T::default());
    }
    body(bytes, scopes_field)
}

fn time_field(field: &str, text: &str) -> Result<Timestamp, RequestProblem> {
    Timestamp::parse_rfc3339(text).map_err(|_| RequestProblem::invalid(field, EXPIRES_AT_FORMAT))
}

fn parsed<T: std::str::FromStr>(
    field: &str,
    text: &str,
    message: &str,
) -> Result<T, RequestProblem> {
    text.parse().map_err(|_| RequestProblem::invalid(field, message))
}

fn scope_set(field: &str, texts: &[String]) -> Result<ScopeSet, RequestProblem> {
    ScopeSet::parse(texts).map_err(|e| RequestProblem::invalid(field, sentence(&e)))
}

fn grace_from(body: RotateBody) -> Result<Duration, RequestProblem> {
    let grace = Duration::from_secs(body.grace_period_seconds.unwrap_or(0));
    if grace > MAX_GRACE {
        return Err(RequestProblem::invalid("grace_period_seconds", GRACE_RANGE));
    }
    Ok(grace)
}

fn parse_cursor(text: &str) -> Option<Cursor> {
    let (ms, id) = text.split_once('.')?;
    Some(Cursor { created_at: Timestamp::from_unix_millis(ms.parse().ok()?), id: id.parse().ok()? })
}
