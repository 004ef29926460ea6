//! Answering a management request: authentication, the admin scope, the operation, and the
//! answer in the preset's field names and error style.

use serde::Serialize;
use serde::ser::SerializeMap;
use tracing::Instrument;

use crate::adapter::{ApiRequest, MAX_BODY_LEN, request_id};
use crate::caller::{Caller, CallerKeys};
use crate::clock::Timestamp;
use crate::credential::Headers;
use crate::format::{Environment, KeyId};
use crate::gate::Keygate;
use crate::manage::{KeyInfo, ManageError, MintedKey, UsageInfo};
use crate::response::{RequestProblem, Response};
use crate::scope::{Requirement, ScopeSet};
use crate::store::{KeyKind, Metadata, Refill, SeenNetwork};
use crate::verify::Principal;

use super::MAX_LIST_LIMIT;
use super::bodies::{self, body, body_or_empty, grace_from, parse_cursor};
use super::routes::{KeyIdText, Route, route};

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

/// The response of an outcome: its JSON (with `Cache-Control: no-store` when it carries a
/// full key), or the problem rendered.
fn answer(outcome: Outcome, problem: impl Fn(RequestProblem) -> Response) -> Response {
    match outcome {
        Ok(Answer { status, body, carries_key }) => {
            let mut headers = Vec::new();
            if carries_key {
                headers.push(("cache-control", "no-store".to_owned()));
            }
            Response { status, content_type: "application/json", headers, body }
        }
        Err(p) => problem(p),
    }
}

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
        let span = tracing::info_span!(
            "keygate.management",
            method = req.method,
            route = route(req.path).map_or("unknown", Route::template),
            key_id = tracing::field::Empty,
            status = tracing::field::Empty,
        );
        let mut response =
            self.api_response(&req, authenticated, &id).instrument(span.clone()).await;
        span.record("status", response.status);
        response.headers.push(("x-request-id", id));
        response
    }

    /// Answers one management-API request for `caller`, a caller the host names from its own
    /// session (a login cookie, OAuth, …) instead of an API key: the key routes
    /// (`/v1/api-keys…`) under the same rules as for a key ([`crate::caller`]), the admin scope
    /// included. `/v1/me` and `/v1/rate-limit` are about a key, so they are 404 here. No key is
    /// read from the request, and no rate limit applies: the host's session is the
    /// credential.
    ///
    /// ```
    /// use keygate::{Keygate, adapter::ApiRequest, caller::Caller, format::Environment, preset::Preset};
    /// use keygate::scope::ScopeSet;
    ///
    /// # #[tokio::main(flavor = "current_thread")]
    /// # async fn main() -> Result<(), Box<dyn std::error::Error>> {
    /// let gate = Keygate::builder(Preset::livetest()).random_pepper().build()?;
    /// // The host's session says: a user of workspace wks_1, allowed to manage keys.
    /// let caller = Caller::new("wks_1", Environment::Live, ScopeSet::parse(["admin:*"])?).user("usr_7");
    /// let headers = [("content-type", "application/json")];
    /// let body = br#"{"name":"ci","permissions":["tasks:read"]}"#;
    /// let request = ApiRequest::new("POST", "/v1/api-keys", &headers).body(body);
    /// let minted = gate.handle_api_as(request, &caller).await;
    /// assert_eq!(minted.status, 201);
    /// // Without the admin scope, the same rules as for a key: 403.
    /// let reader = Caller::new("wks_1", Environment::Live, ScopeSet::parse(["tasks:read"])?);
    /// let listed = gate.handle_api_as(ApiRequest::new("GET", "/v1/api-keys", &headers), &reader).await;
    /// assert_eq!(listed.status, 403);
    /// # Ok(())
    /// # }
    /// ```
    pub async fn handle_api_as<H: Headers + ?Sized>(
        &self,
        req: ApiRequest<'_, H>,
        caller: &Caller,
    ) -> Response {
        let id = request_id(req.headers);
        let span = tracing::info_span!(
            "keygate.management",
            method = req.method,
            route = route(req.path).map_or("unknown", Route::template),
            workspace_id = caller.workspace_id(),
            status = tracing::field::Empty,
        );
        let mut response = self.api_response_as(&req, caller, &id).instrument(span.clone()).await;
        span.record("status", response.status);
        response.headers.push(("x-request-id", id));
        response
    }

    async fn api_response_as<H: Headers + ?Sized>(
        &self,
        req: &ApiRequest<'_, H>,
        caller: &Caller,
        request_id: &str,
    ) -> Response {
        let renderer = &self.preset().renderer;
        let problem = |p: RequestProblem| renderer.render_problem(&p, Some(request_id));
        let route = match self.route_for(req, request_id) {
            Ok(route) => route,
            Err(refused) => return refused,
        };
        if matches!(route, Route::Me | Route::RateLimit) {
            return problem(RequestProblem::not_found("No such route."));
        }
        match self.admin_route(route, req, caller, request_id).await {
            Ok(outcome) => answer(outcome, problem),
            Err(refused) => refused,
        }
    }

    /// A key route for `caller`: the admin scope, then the operation. `Err` is the refusal for
    /// a caller without the admin scope, rendered.
    async fn admin_route<H: Headers + ?Sized>(
        &self,
        route: Route,
        req: &ApiRequest<'_, H>,
        caller: &Caller,
        request_id: &str,
    ) -> Result<Outcome, Response> {
        let admin = Requirement::all_of([self.preset().admin_scope.as_str()]);
        match admin.map(|r| self.preset().policy.check(caller.scopes(), &r)) {
            Ok(Ok(())) => Ok(self.keys_route(route, req, caller).await),
            Ok(Err(denied)) => {
                let err = crate::AuthError::InsufficientScope(denied);
                Err(self.preset().renderer.render(&err, Some(request_id)))
            }
            Err(e) => Ok(Err(RequestProblem::bad_body(e.to_string()))),
        }
    }

    /// The route of `req`, or the refusal: 404 for no route, 405 for a method it does not
    /// take.
    fn route_for<H: Headers + ?Sized>(
        &self,
        req: &ApiRequest<'_, H>,
        request_id: &str,
    ) -> Result<Route, Response> {
        let renderer = &self.preset().renderer;
        let problem = |p: RequestProblem| renderer.render_problem(&p, Some(request_id));
        let Some(route) = route(req.path) else {
            return Err(problem(RequestProblem::not_found("No such route.")));
        };
        if !route.allows().contains(&req.method) {
            let mut response = problem(RequestProblem::new(
                405,
                "method_not_allowed",
                format!("Use {}.", route.allows().join(", ")),
            ));
            response.headers.push(("allow", route.allows().join(", ")));
            return Err(response);
        }
        Ok(route)
    }

    async fn api_response<H: Headers + ?Sized>(
        &self,
        req: &ApiRequest<'_, H>,
        authenticated: Option<Principal>,
        request_id: &str,
    ) -> Response {
        let renderer = &self.preset().renderer;
        let problem = |p: RequestProblem| renderer.render_problem(&p, Some(request_id));
        let route = match self.route_for(req, request_id) {
            Ok(route) => route,
            Err(refused) => return refused,
        };
        let auth = match authenticated {
            Some(a) => a,
            None => match self.authenticate(req.headers, req.peer).await {
                Ok(a) => a,
                Err(e) => return renderer.render(&e, Some(request_id)),
            },
        };
        tracing::Span::current().record("key_id", tracing::field::display(auth.key_id()));
        let rate = auth.rate_limit().copied();
        let outcome = match route {
            Route::Me => Ok(Answer::ok(self.me(&auth))),
            Route::RateLimit => Ok(Answer::ok(rate_limit_body(&auth))),
            _ => match self.admin_route(route, req, &Caller::of(&auth), request_id).await {
                Ok(outcome) => outcome,
                Err(refused) => return self.with_rate(refused, rate),
            },
        };
        self.with_rate(answer(outcome, problem), rate)
    }

    fn with_rate(
        &self,
        mut response: Response,
        rate: Option<crate::limit::RateLimitInfo>,
    ) -> Response {
        if let Some(info) = &rate {
            response.add_rate_limit_headers(&self.preset().renderer, info, self.now());
        }
        response
    }

    async fn keys_route<H: Headers + ?Sized>(
        &self,
        route: Route,
        req: &ApiRequest<'_, H>,
        caller: &Caller,
    ) -> Outcome {
        if req.body.len() > MAX_BODY_LEN {
            return Err(RequestProblem::new(
                413,
                "payload_too_large",
                format!("The body is over {MAX_BODY_LEN} bytes."),
            ));
        }
        let keys = self.acting_for(caller);
        let fail = |e| self.problem_of(e);
        match (route, req.method) {
            (Route::Keys, "GET") => self.list_route(keys, req.query).await,
            (Route::Keys, _) => {
                let new = bodies::new_key(
                    body(req.body, self.scopes_field())?,
                    caller,
                    self.scopes_field(),
                )?;
                let minted = keys.mint(new).await.map_err(fail)?;
                Ok(Answer::key(self.minted_json(&minted, None)))
            }
            (Route::Usage(KeyIdText(id)), _) => {
                let id = id.ok_or_else(|| RequestProblem::not_found("No such key."))?;
                let days = usage_days_query(req.query)?;
                let days = keys.usage(&id, days).await.map_err(fail)?;
                Ok(Answer::ok(to_json(&UsageDays::of(&days))))
            }
            (Route::Key(KeyIdText(id)) | Route::Rotate(KeyIdText(id)), method) => {
                let id = id.ok_or_else(|| RequestProblem::not_found("No such key."))?;
                match (route, method) {
                    (Route::Key(_), "GET") => {
                        let info = keys.get(&id).await.map_err(fail)?;
                        Ok(Answer::ok(to_json(&self.key_json(&info))))
                    }
                    (Route::Key(_), "PATCH") => {
                        let changes = bodies::changes(
                            body(req.body, self.scopes_field())?,
                            self.scopes_field(),
                        )?;
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
        self.preset().scopes_field
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
        let page = keys.list(after, limit).await.map_err(|e| self.problem_of(e))?;
        let next = page.next.map(|c| format!("{}.{}", c.created_at.unix_millis(), c.id));
        let list = List { data: page.keys.iter().map(|k| self.key_json(k)).collect(), next };
        Ok(Answer::ok(to_json(&list)))
    }

    fn me(&self, auth: &Principal) -> String {
        let p = auth;
        to_json(&Me {
            workspace_id: p.workspace_id(),
            api_key_id: p.key_id(),
            scopes: p.scopes(),
            user_id: p.user_id(),
            kind: p.kind(),
            environment: p.environment(),
            name: p.name(),
            metadata: p.metadata(),
            allowed_ips: p.record().allowed_ips.iter().map(ToString::to_string).collect(),
            remaining: p.remaining(),
            refill: p.record().credits.and_then(|c| c.refill),
        })
    }

    fn key_json<'a>(&self, k: &'a KeyInfo) -> KeyJson<'a> {
        KeyJson {
            id: k.id,
            key: None,
            name: &k.name,
            prefix: &k.prefix,
            scopes: ScopesField(self.preset().scopes_field, &k.scopes),
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
            rate_limits: &k.rate_limits,
            metadata: k.metadata.as_ref(),
            allowed_ips: k.allowed_ips.iter().map(ToString::to_string).collect(),
            remaining: k.remaining,
            refill: k.refill,
            refills_at: k.refills_at,
            usage: k.usage,
            recent_networks: k.recent_networks.as_deref(),
            rotated_from: None,
        }
    }

    fn minted_json(&self, minted: &MintedKey, rotated_from: Option<KeyId>) -> String {
        let info = self.info(&minted.record, self.now());
        let mut json = self.key_json(&info);
        json.key = Some(minted.key.expose_secret());
        json.rotated_from = rotated_from;
        to_json(&json)
    }
}

/// A key in management-API bodies: the live/test key API's fields first. Its scope list is
/// named as the preset says (`scopes` or `permissions`).
#[derive(Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema), schema(as = ApiKey))]
pub(super) struct KeyJson<'a> {
    /// The key id, `key_…`.
    #[cfg_attr(feature = "openapi", schema(value_type = String))]
    id: KeyId,
    /// The full key: only in the answer that mints it (mint, rotate), never again.
    #[serde(skip_serializing_if = "Option::is_none")]
    #[cfg_attr(feature = "openapi", schema(value_type = Option<String>))]
    key: Option<&'a str>,
    name: &'a str,
    /// The key's prefix and the first characters after it.
    prefix: &'a str,
    #[serde(flatten)]
    #[cfg_attr(feature = "openapi", schema(ignore))]
    scopes: ScopesField<'a>,
    #[cfg_attr(feature = "openapi", schema(value_type = String, format = DateTime))]
    created_at: Timestamp,
    #[cfg_attr(feature = "openapi", schema(value_type = Option<String>, format = DateTime))]
    last_used: Option<Timestamp>,
    #[cfg_attr(feature = "openapi", schema(value_type = Option<String>, format = DateTime))]
    expires_at: Option<Timestamp>,
    #[cfg_attr(feature = "openapi", schema(value_type = Option<String>, format = DateTime))]
    revoked_at: Option<Timestamp>,
    is_active: bool,
    disabled: bool,
    kind: KeyKind,
    environment: Environment,
    description: Option<&'a str>,
    user_id: Option<&'a str>,
    rate_plan: Option<&'a str>,
    /// Windows of the key's own (`10/1s`, `1000/3600s`), which limit it instead of its plan's;
    /// empty: its plan's.
    #[cfg_attr(feature = "openapi", schema(value_type = Vec<String>))]
    rate_limits: &'a [crate::limit::Window],
    /// The key's own JSON object, set at mint or by `PATCH`.
    #[cfg_attr(feature = "openapi", schema(value_type = Option<Object>))]
    metadata: Option<&'a Metadata>,
    /// The networks (CIDRs) the key may be used from; empty: any.
    allowed_ips: Vec<String>,
    /// The key's balance of credits; `null` for unlimited.
    remaining: Option<u64>,
    /// How its credits are refilled, if they are.
    #[cfg_attr(feature = "openapi", schema(value_type = Option<super::bodies::RefillBody>))]
    refill: Option<Refill>,
    /// When its credits are next refilled.
    #[cfg_attr(feature = "openapi", schema(value_type = Option<String>, format = DateTime))]
    refills_at: Option<Timestamp>,
    usage: UsageInfo,
    /// The networks (/24 or /48) the key was used from, most recent first, with when: only in
    /// one key's details.
    #[serde(skip_serializing_if = "Option::is_none")]
    #[cfg_attr(feature = "openapi", schema(value_type = Option<Vec<SeenNetwork>>))]
    recent_networks: Option<&'a [SeenNetwork]>,
    /// The key a rotation replaced: only in the answer to a rotation.
    #[serde(skip_serializing_if = "Option::is_none")]
    #[cfg_attr(feature = "openapi", schema(value_type = Option<String>))]
    rotated_from: Option<KeyId>,
}

/// `GET /v1/api-keys`: a page of keys, and the cursor of the next page.
#[derive(Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema), schema(as = ApiKeyList))]
pub(super) struct List<'a> {
    data: Vec<KeyJson<'a>>,
    /// Pass it as `after` for the next page; `null` on the last page.
    next: Option<String>,
}

/// `GET /v1/me`: the key making the request.
#[derive(Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub(super) struct Me<'a> {
    workspace_id: &'a str,
    #[cfg_attr(feature = "openapi", schema(value_type = String))]
    api_key_id: KeyId,
    #[cfg_attr(feature = "openapi", schema(value_type = Vec<String>))]
    scopes: &'a ScopeSet,
    user_id: Option<&'a str>,
    kind: KeyKind,
    environment: Environment,
    name: &'a str,
    /// The key's own JSON object, set at mint or by `PATCH`.
    #[cfg_attr(feature = "openapi", schema(value_type = Option<Object>))]
    metadata: Option<&'a Metadata>,
    /// The networks (CIDRs) the key may be used from; empty: any.
    allowed_ips: Vec<String>,
    /// The key's balance of credits after this request; `null` for unlimited.
    remaining: Option<u64>,
    /// How its credits are refilled, if they are.
    #[cfg_attr(feature = "openapi", schema(value_type = Option<super::bodies::RefillBody>))]
    refill: Option<Refill>,
}

/// `GET /v1/rate-limit`: the key's figures, all `null` when its plan has no windows.
#[derive(Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub(super) struct RateLimit {
    limit: Option<u64>,
    remaining: Option<u64>,
    /// Epoch seconds.
    reset: Option<i64>,
    #[cfg_attr(feature = "openapi", schema(value_type = Option<String>, format = DateTime))]
    reset_at: Option<Timestamp>,
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

fn rate_limit_body(auth: &Principal) -> String {
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
        ManageError::CreditsNotHeld(field) => {
            let mut p = RequestProblem::new(
                403,
                "credits_not_held",
                "A key with credits can only grant credits it holds itself: a balance no larger than its own, and a refill no larger than its own.",
            );
            p.field = Some(field.to_owned());
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
        if matches!(e, ManageError::Store(_)) {
            self.emit(crate::event::Event::StoreUnavailable { operation: "manage" });
        }
        problem_in(e, self.preset().scopes_field)
    }
}

/// An error's text as a sentence: capitalized, with a full stop.
pub(super) fn sentence(e: &dyn std::fmt::Display) -> String {
    let text = e.to_string();
    let mut chars = text.chars();
    let first = chars.next().map(|c| c.to_uppercase().collect::<String>()).unwrap_or_default();
    format!("{first}{}.", chars.as_str())
}

/// Default and largest `days` of `GET /v1/api-keys/{id}/usage`.
pub(super) const USAGE_DAYS: (u16, u16) = (30, 90);

/// `days=N` of the usage route: 1 to 90, 30 when absent.
fn usage_days_query(query: Option<&str>) -> Result<u16, RequestProblem> {
    let mut days = USAGE_DAYS.0;
    for pair in query.unwrap_or_default().split('&').filter(|p| !p.is_empty()) {
        if let ("days", value) = pair.split_once('=').unwrap_or((pair, "")) {
            days =
                value.parse().ok().filter(|n| (1..=USAGE_DAYS.1).contains(n)).ok_or_else(|| {
                    RequestProblem::invalid("days", "days must be a whole number from 1 to 90.")
                })?;
        }
    }
    Ok(days)
}

/// `GET /v1/api-keys/{id}/usage`: requests per UTC day, oldest first.
#[derive(Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema), schema(as = ApiKeyUsage))]
pub(super) struct UsageDays {
    /// One entry per day, up to today (UTC), days without requests as 0.
    data: Vec<UsageDay>,
}

/// The requests of one key on one UTC day.
#[derive(Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub(super) struct UsageDay {
    /// `YYYY-MM-DD`.
    #[cfg_attr(feature = "openapi", schema(format = Date))]
    date: String,
    count: u64,
}

impl UsageDays {
    fn of(days: &[crate::store::DayCount]) -> Self {
        let date = |day: i64| {
            let midnight = Timestamp::from_unix_seconds(day.saturating_mul(86_400));
            midnight.to_rfc3339().chars().take(10).collect()
        };
        UsageDays {
            data: days.iter().map(|d| UsageDay { date: date(d.day), count: d.count }).collect(),
        }
    }
}
