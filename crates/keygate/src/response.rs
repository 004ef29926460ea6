//! Framework-neutral error responses: status, headers and a JSON body in one of three styles.
//!
//! | style | body | used by |
//! | --- | --- | --- |
//! | [`ErrorStyle::Envelope`] | `{"error":{"code","message","details","request_id"}}` | Productlane |
//! | [`ErrorStyle::Detail`] | `{"detail":"..."}` | Plane |
//! | [`ErrorStyle::Problem`] | RFC 9457 `application/problem+json`, with `code` as an extension member | the workspace preset |
//!
//! Every 401 carries a `WWW-Authenticate: Bearer realm="…"` challenge (RFC 6750 §3), with
//! `error="invalid_token"` when a credential was sent; a 403 for a missing scope carries
//! `error="insufficient_scope", scope="…"`; a 429 for a key out of credits
//! (`usage_exceeded`) carries `Retry-After` when a refill is due; a 429 for a rate limit carries
//! `Retry-After` and the rate-limit headers: `X-RateLimit-*`, the IETF `RateLimit-Policy` / `RateLimit` fields, or both, as
//! [`Renderer::rate_limit_fields`] says. An adapter copies the [`Response`] into its framework's
//! response, byte for byte.
//!
//! ```
//! use keygate::AuthError;
//! use keygate::response::{ErrorStyle, Renderer};
//!
//! let renderer = Renderer::new(ErrorStyle::Detail);
//! let response = renderer.render(&AuthError::Missing, None);
//! assert_eq!(response.status, 401);
//! assert_eq!(response.body, r#"{"detail":"Authentication credentials were not provided."}"#);
//! assert_eq!(response.header("www-authenticate"), Some(r#"Bearer realm="api""#));
//! ```

use std::sync::Arc;

use serde::Serialize;

use crate::clock::Timestamp;
use crate::error::{AuthError, Forbidden, InvalidRequest};
use crate::limit::RateLimitInfo;
use crate::scope::Scope;

/// How error bodies are written.
///
/// ```
/// use keygate::{AuthError, response::{ErrorStyle, Renderer}};
///
/// let problem = Renderer::new(ErrorStyle::Problem).render(&AuthError::Missing, Some("req-1"));
/// assert_eq!(problem.content_type, "application/problem+json");
/// let envelope = Renderer::new(ErrorStyle::Envelope).render(&AuthError::Missing, Some("req-1"));
/// assert!(envelope.body.starts_with(r#"{"error":{"code":"unauthenticated""#));
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum ErrorStyle {
    /// `{"error":{"code","message","details","request_id"}}` (Productlane v2).
    Envelope,
    /// `{"detail":"..."}` (Plane).
    Detail,
    /// RFC 9457 problem details, `application/problem+json`.
    Problem,
}

/// Which rate-limit headers responses carry.
///
/// ```
/// use std::time::Duration;
/// use keygate::{AuthError, clock::Timestamp, limit::RateLimitInfo};
/// use keygate::response::{ErrorStyle, RateLimitFields, Renderer};
///
/// let renderer = Renderer::new(ErrorStyle::Envelope).rate_limit_fields(RateLimitFields::Both);
/// let info = RateLimitInfo {
///     limit: 100,
///     remaining: 0,
///     reset: Timestamp::from_unix_seconds(1_800_000_060),
///     retry_after: Some(Duration::from_secs(17)),
///     window: Duration::from_secs(60),
/// };
/// let response = renderer.render(&AuthError::RateLimited(info), None);
/// assert_eq!(response.header("x-ratelimit-limit"), Some("100"));
/// assert_eq!(response.header("ratelimit-policy"), Some(r#""60s";q=100;w=60"#));
/// assert_eq!(response.header("ratelimit"), Some(r#""60s";r=0;t=17"#));
/// ```
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
#[non_exhaustive]
pub enum RateLimitFields {
    /// `X-RateLimit-Limit`, `X-RateLimit-Remaining` and `X-RateLimit-Reset` (epoch seconds), as
    /// most APIs send them (the default).
    #[default]
    XRateLimit,
    /// The IETF `RateLimit-Policy` and `RateLimit` fields only.
    Standard,
    /// Both sets.
    Both,
}

impl RateLimitFields {
    /// Reads `x-ratelimit`, `standard` or `both`.
    pub fn from_name(name: &str) -> Option<Self> {
        match name {
            "x-ratelimit" => Some(Self::XRateLimit),
            "standard" => Some(Self::Standard),
            "both" => Some(Self::Both),
            _ => None,
        }
    }

    /// The headers of `info` this choice sends; `t` is the seconds until the window has room.
    fn headers(self, info: &RateLimitInfo, t: u64) -> Vec<(&'static str, String)> {
        let mut headers = Vec::with_capacity(5);
        if self != Self::Standard {
            headers.extend(info.headers());
        }
        if self != Self::XRateLimit {
            headers.extend(info.standard_headers_with(t));
        }
        headers
    }
}

/// A rendered answer: what the adapter sends. Its `Debug` hides the body of an answer marked
/// `Cache-Control: no-store` (one that carries a full key).
///
/// ```
/// use keygate::{AuthError, response::{ErrorStyle, Renderer}};
///
/// let response = Renderer::new(ErrorStyle::Envelope).render(&AuthError::Expired, None);
/// assert_eq!((response.status, response.content_type), (401, "application/json"));
/// assert_eq!(
///     response.header("www-authenticate"),
///     Some(r#"Bearer realm="api", error="invalid_token""#)
/// );
/// ```
#[derive(Clone, PartialEq, Eq)]
pub struct Response {
    /// HTTP status code.
    pub status: u16,
    /// The `Content-Type` of [`body`](Self::body).
    pub content_type: &'static str,
    /// Headers to add, names in lower case.
    pub headers: Vec<(&'static str, String)>,
    /// The JSON body.
    pub body: String,
}

impl std::fmt::Debug for Response {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let mut d = f.debug_struct("Response");
        d.field("status", &self.status)
            .field("content_type", &self.content_type)
            .field("headers", &self.headers);
        if self.header("cache-control").is_some_and(|v| v.contains("no-store")) {
            d.field("body", &format_args!("[REDACTED]"));
        } else {
            d.field("body", &self.body);
        }
        d.finish()
    }
}

impl Response {
    /// Adds the rate-limit headers of `info` that `renderer` sends (at `now`), unless the
    /// response has them already: every response to an authenticated request carries them,
    /// refusals included.
    pub fn add_rate_limit_headers(
        &mut self,
        renderer: &Renderer,
        info: &RateLimitInfo,
        now: Timestamp,
    ) {
        if self.header("x-ratelimit-limit").is_none() && self.header("ratelimit").is_none() {
            self.headers.extend(renderer.rate_limit_headers(info, now));
        }
    }

    /// The first value of header `name` (lower case), if any.
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers.iter().find(|(n, _)| *n == name).map(|(_, v)| v.as_str())
    }
}

/// The realm is not a valid quoted-string for a `WWW-Authenticate` challenge.
///
/// ```
/// use keygate::response::{ErrorStyle, InvalidRealm, Renderer};
///
/// let err = Renderer::new(ErrorStyle::Detail).realm(r#"my "api""#).unwrap_err();
/// assert_eq!(err, InvalidRealm);
/// ```
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("a realm must be printable ASCII without `\"` or `\\`")]
pub struct InvalidRealm;

/// Renders [`AuthError`]s in one style. Cloning is cheap.
///
/// ```
/// use keygate::{AuthError, response::{ErrorStyle, Renderer}};
///
/// let renderer = Renderer::new(ErrorStyle::Envelope).realm("productlane")?.unsupported_version_status(410);
/// let err = AuthError::UnsupportedVersion { prefix: "pl_v1_".into() };
/// let response = renderer.render(&err, None);
/// assert_eq!(response.status, 410);
/// assert!(response.body.contains("unsupported_key_version"));
/// # Ok::<(), keygate::response::InvalidRealm>(())
/// ```
#[derive(Debug, Clone)]
pub struct Renderer {
    style: ErrorStyle,
    realm: Arc<str>,
    unsupported_version_status: u16,
    credential_label: Arc<str>,
    rate_limit_fields: RateLimitFields,
}

impl Renderer {
    /// A renderer for `style`, realm `api`, retired key versions answered 401, and messages that
    /// name the `Authorization` header.
    pub fn new(style: ErrorStyle) -> Self {
        Renderer {
            style,
            realm: "api".into(),
            unsupported_version_status: 401,
            credential_label: "Authorization".into(),
            rate_limit_fields: RateLimitFields::XRateLimit,
        }
    }

    /// The realm of the `WWW-Authenticate` challenge.
    ///
    /// # Errors
    /// [`InvalidRealm`] when `realm` holds `"`, `\` or anything but printable ASCII.
    pub fn realm(mut self, realm: &str) -> Result<Self, InvalidRealm> {
        if !realm.bytes().all(|b| (0x20..0x7f).contains(&b) && b != b'"' && b != b'\\') {
            return Err(InvalidRealm);
        }
        self.realm = realm.into();
        Ok(self)
    }

    /// The status for a retired key version: 410 Gone (Productlane v2) or 401.
    pub fn unsupported_version_status(mut self, status: u16) -> Self {
        self.unsupported_version_status = status;
        self
    }

    /// The header messages name when the credential is missing (`Authorization`, `X-Api-Key`).
    pub fn credential_label(mut self, label: &str) -> Self {
        self.credential_label = label.into();
        self
    }

    /// Which rate-limit headers responses carry (default [`RateLimitFields::XRateLimit`]).
    pub fn rate_limit_fields(mut self, fields: RateLimitFields) -> Self {
        self.rate_limit_fields = fields;
        self
    }

    /// The rate-limit headers chosen by [`rate_limit_fields`](Self::rate_limit_fields).
    pub fn rate_limit_fields_in_use(&self) -> RateLimitFields {
        self.rate_limit_fields
    }

    /// The rate-limit headers of `info` at `now`, as [`rate_limit_fields`](Self::rate_limit_fields)
    /// chooses.
    pub fn rate_limit_headers(
        &self,
        info: &RateLimitInfo,
        now: Timestamp,
    ) -> Vec<(&'static str, String)> {
        let t = info.reset.duration_since(now).as_millis().div_ceil(1000) as u64;
        self.rate_limit_fields.headers(info, t)
    }

    /// The style.
    pub fn style(&self) -> ErrorStyle {
        self.style
    }

    /// The HTTP status for `err`.
    pub fn status(&self, err: &AuthError) -> u16 {
        match err {
            AuthError::Missing
            | AuthError::Malformed(_)
            | AuthError::Invalid(_)
            | AuthError::Expired
            | AuthError::Disabled => 401,
            AuthError::UnsupportedVersion { .. } => self.unsupported_version_status,
            AuthError::InsufficientScope(_) | AuthError::Forbidden(_) => 403,
            AuthError::InvalidRequest(_) => 400,
            AuthError::RateLimited(_) | AuthError::UsageExceeded { .. } => 429,
            AuthError::Unavailable(_) => 503,
        }
    }

    /// Renders `err`; `request_id` appears in envelope and problem bodies.
    pub fn render(&self, err: &AuthError, request_id: Option<&str>) -> Response {
        let status = self.status(err);
        let mut headers = Vec::new();
        if let Some(challenge) = self.challenge(err, status) {
            headers.push(("www-authenticate", challenge));
        }
        if let AuthError::RateLimited(info) = err {
            let retry_after = info.retry_after_secs().unwrap_or(1);
            headers.push(("retry-after", retry_after.to_string()));
            // A refusal's window has room again when a request would pass.
            headers.extend(self.rate_limit_fields.headers(info, retry_after));
        }
        if let (AuthError::UsageExceeded { .. }, Some(secs)) = (err, err.retry_after_secs()) {
            headers.push(("retry-after", secs.to_string()));
        }
        let parts = Parts {
            status,
            code: err.code(),
            message: self.message(err),
            detail: self.detail_message(err),
            details: Details::of(err),
        };
        self.finish(parts, headers, request_id)
    }

    /// Renders a failure of a request that is not about its credential (a management-API
    /// validation error, an unknown key id, a body too large) in the same style.
    pub fn render_problem(&self, problem: &RequestProblem, request_id: Option<&str>) -> Response {
        let details = Details {
            field: problem.field.as_deref(),
            not_held: (!problem.not_held.is_empty()).then_some(problem.not_held.as_slice()),
            ..Details::default()
        };
        let parts = Parts {
            status: problem.status,
            code: problem.code,
            message: problem.message.clone(),
            detail: problem.message.clone(),
            details,
        };
        self.finish(parts, Vec::new(), request_id)
    }

    fn finish(
        &self,
        parts: Parts<'_>,
        headers: Vec<(&'static str, String)>,
        request_id: Option<&str>,
    ) -> Response {
        let status = parts.status;
        let (content_type, body) = match self.style {
            ErrorStyle::Envelope => ("application/json", envelope(parts, request_id)),
            ErrorStyle::Detail => ("application/json", detail(parts)),
            ErrorStyle::Problem => ("application/problem+json", problem(parts, request_id)),
        };
        Response { status, content_type, headers, body }
    }

    fn challenge(&self, err: &AuthError, status: u16) -> Option<String> {
        let realm = &self.realm;
        match err {
            AuthError::InsufficientScope(denied) => Some(format!(
                r#"Bearer realm="{realm}", error="insufficient_scope", scope="{}""#,
                join(denied.required(), " ")
            )),
            AuthError::InvalidRequest(_) => {
                Some(format!(r#"Bearer realm="{realm}", error="invalid_request""#))
            }
            AuthError::Missing => Some(format!(r#"Bearer realm="{realm}""#)),
            _ if status == 401 => Some(format!(r#"Bearer realm="{realm}", error="invalid_token""#)),
            _ => None,
        }
    }

    /// The human-readable message of the envelope and problem styles.
    pub fn message(&self, err: &AuthError) -> String {
        match err {
            AuthError::Missing | AuthError::Malformed(_) => {
                format!("Missing or malformed `{}` header.", self.credential_label)
            }
            AuthError::Invalid(_) => "Key revoked or unknown.".into(),
            AuthError::Expired => "Key expired.".into(),
            AuthError::Disabled => "Key disabled.".into(),
            AuthError::UnsupportedVersion { prefix } => {
                format!("Keys starting with `{prefix}` are no longer supported. Mint a new key.")
            }
            AuthError::InsufficientScope(denied) => {
                let list = denied.required().iter().map(|s| format!("`{s}`")).collect::<Vec<_>>();
                match (denied.is_any_of(), list.as_slice()) {
                    (_, [one]) => format!("This endpoint requires the {one} scope."),
                    (true, many) => {
                        format!("This endpoint requires one of the {} scopes.", many.join(", "))
                    }
                    (false, many) => {
                        format!("This endpoint requires the {} scopes.", many.join(", "))
                    }
                }
            }
            AuthError::Forbidden(reason) => match reason {
                Forbidden::WrongEnvironment(env) => {
                    format!("{} keys cannot be used on this deployment.", capitalize(env.as_str()))
                }
                Forbidden::HttpsRequired => "Requests must use HTTPS.".into(),
                Forbidden::Plan(denied) => format!("This endpoint requires the {denied} plan."),
                Forbidden::Network => "This key cannot be used from this address.".into(),
            },
            AuthError::InvalidRequest(InvalidRequest::MultipleCredentials) => {
                "Send exactly one credential per request.".into()
            }
            AuthError::InvalidRequest(InvalidRequest::RepeatedHeader(h)) => {
                format!("The `{h}` header was sent more than once.")
            }
            AuthError::RateLimited(info) => format!(
                "Rate limit exceeded. Retry in {} seconds.",
                info.retry_after_secs().unwrap_or(1)
            ),
            AuthError::UsageExceeded { .. } => match err.retry_after_secs() {
                Some(secs) => {
                    format!(
                        "The key has used all its credits. They are refilled in {secs} seconds."
                    )
                }
                None => "The key has used all its credits.".into(),
            },
            AuthError::Unavailable(_) => {
                "Authentication is temporarily unavailable. Retry shortly.".into()
            }
        }
    }

    /// The text of the `detail` style: Plane's exact strings where it gives them.
    fn detail_message(&self, err: &AuthError) -> String {
        match err {
            // The exact strings of Plane (and of Django REST framework, which it uses).
            AuthError::Missing => "Authentication credentials were not provided.".into(),
            AuthError::Malformed(_)
            | AuthError::Invalid(_)
            | AuthError::Expired
            | AuthError::Disabled => "Given API token is not valid".into(),
            AuthError::InsufficientScope(_) => {
                "You do not have permission to perform this action.".into()
            }
            AuthError::RateLimited(info) => format!(
                "Request was throttled. Expected available in {} seconds.",
                info.retry_after_secs().unwrap_or(1)
            ),
            other => self.message(other),
        }
    }
}

/// A failure of a request that is not about its credential, for [`Renderer::render_problem`].
///
/// ```
/// use keygate::response::{ErrorStyle, Renderer, RequestProblem};
///
/// let problem = RequestProblem::invalid("name", "The name is too long.");
/// let response = Renderer::new(ErrorStyle::Detail).render_problem(&problem, None);
/// assert_eq!(response.status, 400);
/// assert_eq!(response.body, r#"{"detail":"The name is too long."}"#);
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RequestProblem {
    /// HTTP status: 400, 404, 405, 413…
    pub status: u16,
    /// Machine-readable code: `invalid_request`, `not_found`, `method_not_allowed`…
    pub code: &'static str,
    /// Human-readable message.
    pub message: String,
    /// The request field at fault, if one is.
    pub field: Option<String>,
    /// The scopes a management request asked for that its caller does not hold
    /// (`scope_not_held`); shown as `details.not_held` when not empty.
    pub not_held: Vec<Scope>,
}

impl RequestProblem {
    /// A problem with this status, code and message, about no field in particular.
    pub fn new(status: u16, code: &'static str, message: impl Into<String>) -> Self {
        RequestProblem { status, code, message: message.into(), field: None, not_held: Vec::new() }
    }

    /// 400 `invalid_request` about `field`.
    pub fn invalid(field: &str, message: impl Into<String>) -> Self {
        RequestProblem {
            field: Some(field.to_owned()),
            ..Self::new(400, "invalid_request", message)
        }
    }

    /// 400 `invalid_request` about the body as a whole.
    pub fn bad_body(message: impl Into<String>) -> Self {
        Self::new(400, "invalid_request", message)
    }

    /// 404 `not_found`.
    pub fn not_found(message: impl Into<String>) -> Self {
        Self::new(404, "not_found", message)
    }
}

/// What every style writes, worked out once.
struct Parts<'a> {
    status: u16,
    code: &'static str,
    message: String,
    /// The text of the `detail` style.
    detail: String,
    details: Details<'a>,
}

/// The envelope style's body.
#[derive(Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema), schema(as = Error))]
pub(crate) struct EnvelopeBody<'a> {
    error: EnvelopeInner<'a>,
}

/// The envelope style's `error` member.
#[derive(Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema), schema(as = ErrorDetail))]
pub(crate) struct EnvelopeInner<'a> {
    /// Machine-readable: `unauthenticated`, `scope_required`, `rate_limited`, `not_found`…
    code: &'static str,
    message: String,
    details: Details<'a>,
    /// The request's `X-Request-Id`.
    request_id: Option<&'a str>,
}

/// The `detail` style's body.
#[derive(Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema), schema(as = Error))]
pub(crate) struct DetailBody {
    detail: String,
}

/// An RFC 9457 problem, with `code` and the details as extension members.
#[derive(Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema), schema(as = Problem))]
pub(crate) struct ProblemBody<'a> {
    r#type: &'static str,
    title: &'static str,
    status: u16,
    detail: String,
    /// Machine-readable: `unauthenticated`, `scope_required`, `rate_limited`, `not_found`…
    code: &'static str,
    #[serde(flatten)]
    details: Details<'a>,
    /// The request's `X-Request-Id`.
    #[serde(skip_serializing_if = "Option::is_none")]
    request_id: Option<&'a str>,
}

fn envelope(parts: Parts<'_>, request_id: Option<&str>) -> String {
    let body = EnvelopeBody {
        error: EnvelopeInner {
            code: parts.code,
            message: parts.message,
            details: parts.details,
            request_id,
        },
    };
    to_json(&body)
}

fn detail(parts: Parts<'_>) -> String {
    to_json(&DetailBody { detail: parts.detail })
}

fn problem(parts: Parts<'_>, request_id: Option<&str>) -> String {
    let body = ProblemBody {
        r#type: "about:blank",
        title: reason_phrase(parts.status),
        status: parts.status,
        detail: parts.message,
        code: parts.code,
        details: parts.details,
        request_id,
    };
    to_json(&body)
}

/// Machine-readable details: the scopes of a scope failure, the wait of a rate limit, the
/// field of a validation error.
#[derive(Serialize, Default)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema), schema(as = ErrorDetails))]
pub(crate) struct Details<'a> {
    /// The scopes a refused request needed.
    #[serde(skip_serializing_if = "Option::is_none")]
    #[cfg_attr(feature = "openapi", schema(value_type = Option<Vec<String>>))]
    required: Option<&'a [Scope]>,
    /// The scopes its key holds.
    #[serde(skip_serializing_if = "Option::is_none")]
    #[cfg_attr(feature = "openapi", schema(value_type = Option<Vec<String>>))]
    granted: Option<&'a [Scope]>,
    /// Seconds until a rate-limited request would pass, or until a key's credits are refilled.
    #[serde(skip_serializing_if = "Option::is_none")]
    retry_after: Option<u64>,
    /// The request field at fault.
    #[serde(skip_serializing_if = "Option::is_none")]
    field: Option<&'a str>,
    /// The scopes a management request asked for that its caller does not hold.
    #[serde(skip_serializing_if = "Option::is_none")]
    #[cfg_attr(feature = "openapi", schema(value_type = Option<Vec<String>>))]
    not_held: Option<&'a [Scope]>,
}

impl<'a> Details<'a> {
    fn of(err: &'a AuthError) -> Self {
        let mut d = Details::default();
        match err {
            AuthError::InsufficientScope(denied) => {
                d.required = Some(denied.required());
                d.granted = Some(denied.granted());
            }
            AuthError::RateLimited(info) => d.retry_after = info.retry_after_secs(),
            AuthError::UsageExceeded { .. } => d.retry_after = err.retry_after_secs(),
            _ => {}
        }
        d
    }
}

fn to_json<T: Serialize>(value: &T) -> String {
    // Serializing these plain structs cannot fail; an empty object is a safe fallback.
    serde_json::to_string(value).unwrap_or_else(|_| "{}".to_owned())
}

fn join(scopes: &[Scope], sep: &str) -> String {
    scopes.iter().map(Scope::as_str).collect::<Vec<_>>().join(sep)
}

fn capitalize(s: &str) -> String {
    let mut c = s.chars();
    c.next().map(|f| f.to_uppercase().chain(c).collect()).unwrap_or_default()
}

/// The reason phrase of the statuses keygate sends.
pub fn reason_phrase(status: u16) -> &'static str {
    match status {
        400 => "Bad Request",
        401 => "Unauthorized",
        403 => "Forbidden",
        404 => "Not Found",
        405 => "Method Not Allowed",
        413 => "Content Too Large",
        415 => "Unsupported Media Type",
        410 => "Gone",
        429 => "Too Many Requests",
        503 => "Service Unavailable",
        _ => "Error",
    }
}
