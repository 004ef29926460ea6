//! The failure taxonomy: every way a request can fail authentication or authorization.
//!
//! Each [`AuthError`] variant is one row of keygate's error catalog; the
//! [`response`](crate::response) module renders it in the deployment's error style. The
//! reasons that only a key's holder should learn (expired, disabled) are produced only after the
//! secret matched, and an unknown id, a wrong secret and a revoked key share one variant,
//! [`AuthError::Invalid`], whose rendering does not tell them apart.
//!
//! ```
//! use keygate::{AuthError, error::InvalidKey};
//!
//! let err = AuthError::Invalid(InvalidKey::Revoked);
//! assert_eq!(err.code(), "unauthenticated");
//! assert_eq!(err.to_string(), "key revoked or unknown");
//! assert!(err.credential_sent());
//! ```

use crate::format::ParseError;
use crate::limit::RateLimitInfo;
use crate::scope::ScopeDenied;
use crate::store::StoreError;

/// Why a request was refused.
///
/// ```
/// use keygate::AuthError;
/// use keygate::response::{ErrorStyle, Renderer};
///
/// let err = AuthError::Expired;
/// assert_eq!((err.code(), err.reason()), ("unauthenticated", "expired"));
/// assert!(err.is_failed_authentication());
/// assert_eq!(Renderer::new(ErrorStyle::Envelope).status(&err), 401);
/// ```
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum AuthError {
    /// No credential was sent. 401 `unauthenticated`.
    #[error("no credential was sent")]
    Missing,
    /// A credential was sent but is not a key: wrong scheme, bad characters, wrong length, bad
    /// checksum, unknown prefix. 401 `unauthenticated`.
    #[error("malformed credential: {0}")]
    Malformed(#[from] Malformed),
    /// The key is unknown, its secret is wrong, or it was revoked: one answer for all three.
    /// 401 `unauthenticated`.
    #[error("key revoked or unknown")]
    Invalid(InvalidKey),
    /// The key expired. Reported only after its secret matched. 401 `unauthenticated`.
    #[error("key expired")]
    Expired,
    /// The key is disabled. Reported only after its secret matched. 401 `unauthenticated`.
    #[error("key disabled")]
    Disabled,
    /// The key has a retired version prefix such as `pl_v1_`. 410 or 401, as the deployment
    /// chooses; `unsupported_key_version`.
    #[error("keys starting with `{prefix}` are no longer supported")]
    UnsupportedVersion {
        /// The retired prefix.
        prefix: std::sync::Arc<str>,
    },
    /// The key is valid but lacks a scope. 403 `scope_required`.
    #[error("missing scope")]
    InsufficientScope(ScopeDenied),
    /// The key is valid but refused for another reason. 403 `forbidden`.
    #[error("forbidden: {0}")]
    Forbidden(Forbidden),
    /// The request is ambiguous: two credentials, or a credential header sent twice.
    /// 400 `invalid_request`.
    #[error("invalid request: {0}")]
    InvalidRequest(InvalidRequest),
    /// The key, or the client's failed attempts, went over a rate limit. 429 `rate_limited`.
    #[error("rate limited")]
    RateLimited(RateLimitInfo),
    /// The key's credits do not cover the request: nothing was spent. 429 `usage_exceeded`,
    /// with `Retry-After` when a refill is due.
    #[error("usage exceeded")]
    UsageExceeded {
        /// How long until the key's credits are refilled, if they ever are.
        retry_after: Option<std::time::Duration>,
    },
    /// The key store could not answer. 503 `unavailable`; never treated as success.
    #[error("key store unavailable")]
    Unavailable(#[source] StoreError),
}

/// What was wrong with a credential that is not a key.
///
/// ```
/// use keygate::{AuthError, credential::CredentialSources, error::Malformed};
///
/// let sources = CredentialSources::bearer();
/// let err = sources.extract(&[("Authorization", "Basic dXNlcjpwYXNz")]).unwrap_err();
/// assert!(matches!(err, AuthError::Malformed(Malformed::Scheme)));
/// assert_eq!(err.reason(), "malformed");
/// ```
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum Malformed {
    /// The `Authorization` header uses another scheme (`Basic`, `Token`) or no separator.
    #[error("the Authorization header does not use the Bearer scheme")]
    Scheme,
    /// The header holds a scheme and nothing after it.
    #[error("the credential is empty")]
    Empty,
    /// The header value is longer than any key.
    #[error("the credential is too long")]
    TooLong,
    /// The header value holds something other than visible ASCII and spaces (a tab, a control
    /// character, a non-ASCII byte).
    #[error("the credential holds a character that is not visible ASCII")]
    InvalidCharacter,
    /// The text is not a key of the deployment's format.
    #[error(transparent)]
    Key(ParseError),
}

/// Which of the indistinguishable failures happened: for logs and events, never for the client.
///
/// ```
/// use keygate::{AuthError, error::InvalidKey};
///
/// let unknown = AuthError::Invalid(InvalidKey::UnknownId);
/// let wrong = AuthError::Invalid(InvalidKey::WrongSecret);
/// // Logs tell them apart; the client is told the same thing.
/// assert_eq!((unknown.reason(), wrong.reason()), ("unknown_id", "wrong_secret"));
/// assert_eq!(unknown.to_string(), wrong.to_string());
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum InvalidKey {
    /// No key has this id.
    UnknownId,
    /// The id exists but the secret does not match.
    WrongSecret,
    /// The key was revoked (or its rotation grace period ended).
    Revoked,
}

impl InvalidKey {
    /// A short name for logs: `unknown_id`, `wrong_secret`, `revoked`.
    pub fn as_str(self) -> &'static str {
        match self {
            InvalidKey::UnknownId => "unknown_id",
            InvalidKey::WrongSecret => "wrong_secret",
            InvalidKey::Revoked => "revoked",
        }
    }
}

/// Why a valid key was refused.
///
/// ```
/// use keygate::{AuthError, Keygate, Peer, error::Forbidden, preset::Preset};
///
/// # #[tokio::main(flavor = "current_thread")]
/// # async fn main() -> Result<(), Box<dyn std::error::Error>> {
/// let gate = Keygate::builder(Preset::livetest()).random_pepper().require_https(false).build()?;
/// let plain_http = Peer { ip: None, tls: false };
/// let err = gate.authenticate(&[("Authorization", "Bearer sk_live_x")], plain_http).await.unwrap_err();
/// assert!(matches!(err, AuthError::Forbidden(Forbidden::HttpsRequired)));
/// assert_eq!(gate.render(&err, None).status, 403);
/// # Ok(())
/// # }
/// ```
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum Forbidden {
    /// A test key on a live deployment, or a live key on a test one.
    #[error("{0} keys cannot be used here")]
    WrongEnvironment(crate::format::Environment),
    /// The request came over plain HTTP and the deployment requires HTTPS.
    #[error("HTTPS is required")]
    HttpsRequired,
    /// The route requires another plan than the key's ([`Keygate::authorize_plan`](crate::Keygate::authorize_plan)).
    #[error("the endpoint requires the {0} plan")]
    Plan(crate::plan::PlanDenied),
    /// The key names the networks it may be used from, and the client is outside them.
    #[error("the key cannot be used from this address")]
    Network,
}

/// Why a request is ambiguous.
///
/// ```
/// use keygate::{AuthError, credential::CredentialSources, error::InvalidRequest};
///
/// let twice = [("Authorization", "Bearer sk_live_a"), ("Authorization", "Bearer sk_live_b")];
/// let err = CredentialSources::bearer().extract(&twice).unwrap_err();
/// assert!(matches!(err, AuthError::InvalidRequest(InvalidRequest::RepeatedHeader(_))));
/// assert_eq!(err.code(), "invalid_request");
/// ```
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum InvalidRequest {
    /// Credentials were sent in two places (say `Authorization` and `X-Api-Key`).
    #[error("more than one credential was sent")]
    MultipleCredentials,
    /// A credential header was sent more than once.
    #[error("the {0} header was sent more than once")]
    RepeatedHeader(std::sync::Arc<str>),
}

impl AuthError {
    /// The envelope `code` of this failure (the error catalog).
    pub fn code(&self) -> &'static str {
        match self {
            AuthError::Missing
            | AuthError::Malformed(_)
            | AuthError::Invalid(_)
            | AuthError::Expired
            | AuthError::Disabled => "unauthenticated",
            AuthError::UnsupportedVersion { .. } => "unsupported_key_version",
            AuthError::InsufficientScope(_) => "scope_required",
            AuthError::Forbidden(_) => "forbidden",
            AuthError::InvalidRequest(_) => "invalid_request",
            AuthError::RateLimited(_) => "rate_limited",
            AuthError::UsageExceeded { .. } => "usage_exceeded",
            AuthError::Unavailable(_) => "unavailable",
        }
    }

    /// The seconds until a refused request could pass, when that is known: a rate limit's
    /// wait, or the time until a key's credits are refilled (rounded up).
    pub fn retry_after_secs(&self) -> Option<u64> {
        match self {
            AuthError::RateLimited(info) => info.retry_after_secs(),
            AuthError::UsageExceeded { retry_after } => {
                retry_after.map(|d| d.as_millis().div_ceil(1000) as u64)
            }
            _ => None,
        }
    }

    /// Whether the request carried a credential (RFC 6750 adds `error="invalid_token"` then).
    pub fn credential_sent(&self) -> bool {
        !matches!(self, AuthError::Missing)
    }

    /// A short, stable name for logs and events: `missing`, `malformed`, `unknown_id`,
    /// `wrong_secret`, `revoked`, `expired`, `disabled`, `unsupported_version`,
    /// `insufficient_scope`, `forbidden`, `invalid_request`, `rate_limited`, `usage_exceeded`,
    /// `unavailable`.
    pub fn reason(&self) -> &'static str {
        match self {
            AuthError::Missing => "missing",
            AuthError::Malformed(_) => "malformed",
            AuthError::Invalid(why) => why.as_str(),
            AuthError::Expired => "expired",
            AuthError::Disabled => "disabled",
            AuthError::UnsupportedVersion { .. } => "unsupported_version",
            AuthError::InsufficientScope(_) => "insufficient_scope",
            AuthError::Forbidden(_) => "forbidden",
            AuthError::InvalidRequest(_) => "invalid_request",
            AuthError::RateLimited(_) => "rate_limited",
            AuthError::UsageExceeded { .. } => "usage_exceeded",
            AuthError::Unavailable(_) => "unavailable",
        }
    }

    /// Whether this failure is a failed authentication (counted by the failed-auth throttle).
    pub fn is_failed_authentication(&self) -> bool {
        matches!(
            self,
            AuthError::Malformed(_)
                | AuthError::Invalid(_)
                | AuthError::Expired
                | AuthError::Disabled
                | AuthError::UnsupportedVersion { .. }
        )
    }
}

impl From<ParseError> for AuthError {
    fn from(e: ParseError) -> Self {
        match e {
            ParseError::RetiredVersion { prefix } => AuthError::UnsupportedVersion { prefix },
            other => AuthError::Malformed(Malformed::Key(other)),
        }
    }
}
