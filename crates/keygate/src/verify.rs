//! The verification pipeline and the [`Principal`] it yields.
//!
//! extract the credential → parse and checksum (no I/O) → look the id up → HMAC the secret →
//! constant-time compare (against a decoy record for an unknown id) → state checks →
//! [`Principal`].
//! Scopes are checked per route with [`Keygate::authorize`].
//!
//! [`Keygate::verify`] is the check alone. [`Keygate::authenticate`] is what a request goes
//! through: verify, the failed-auth throttle for failures, the key's rate limit, write-behind
//! usage and events. Adapters call `authenticate`.
//!
//! ```
//! use keygate::{Keygate, Peer, manage::NewKey, preset::Preset, store::Owner};
//!
//! # #[tokio::main(flavor = "current_thread")]
//! # async fn main() -> Result<(), Box<dyn std::error::Error>> {
//! let gate = Keygate::builder(Preset::productlane()).random_pepper().build()?;
//! let minted = gate.mint(NewKey::new(Owner::workspace("wks_abc123"), "ci").scopes(["threads:read"])?).await?;
//!
//! let principal = gate.verify(minted.key.expose_secret()).await?;
//! assert_eq!(principal.workspace_id(), "wks_abc123");
//!
//! // A request: its headers and its connection.
//! let header = format!("Bearer {}", minted.key.expose_secret());
//! let principal = gate.authenticate(&[("Authorization", header.as_str())], Peer::default()).await?;
//! assert_eq!(principal.workspace_id(), "wks_abc123");
//!
//! let err = gate.verify("pl_v1_old").await.unwrap_err();
//! assert_eq!(gate.render(&err, None).status, 410);
//! # Ok(())
//! # }
//! ```

use std::fmt;
use std::net::IpAddr;
use std::sync::Arc;

use tracing::Instrument;

use crate::credential::Headers;
use crate::error::{AuthError, Forbidden, InvalidKey};
use crate::event::Event;
use crate::format::{Environment, KeyId, ParsedKey};
use crate::gate::Keygate;
use crate::limit::{Decision, LimiterError, RateLimitInfo};
use crate::plan::PlanRequirement;
use crate::scope::{Requirement, ScopeSet};
use crate::store::{KeyKind, KeyRecord, Metadata, Peek, Spend};

/// What one request counts against the key's rate-limit windows and spends of its credits,
/// unless its route says otherwise ([`Keygate::authenticate_weighted`]).
pub const DEFAULT_COST: u64 = 1;

/// Who a verified request acts for: the key's id, owner, kind, environment, scopes and name.
///
/// Cheap to clone: it shares the record the store returned.
///
/// ```
/// use keygate::{Keygate, Principal, manage::NewKey, preset::Preset, store::{KeyKind, Owner}};
///
/// # #[tokio::main(flavor = "current_thread")]
/// # async fn main() -> Result<(), Box<dyn std::error::Error>> {
/// let gate = Keygate::builder(Preset::productlane()).random_pepper().build()?;
/// let new = NewKey::new(Owner::user("wks_1", "usr_7"), "laptop").scopes(["threads:read"])?;
/// let minted = gate.mint(new).await?;
/// let principal: Principal = gate.verify(minted.key.expose_secret()).await?;
/// assert_eq!((principal.workspace_id(), principal.user_id()), ("wks_1", Some("usr_7")));
/// assert_eq!((principal.kind(), principal.name()), (KeyKind::User, "laptop"));
/// # Ok(())
/// # }
/// ```
#[derive(Clone)]
pub struct Principal {
    record: Arc<KeyRecord>,
    rate_limit: Option<RateLimitInfo>,
    /// The balance after this request's spend, when [`Keygate::authenticate`] spent.
    spent: Option<u64>,
}

impl Principal {
    /// The key's id.
    pub fn key_id(&self) -> KeyId {
        self.record.id
    }

    /// The workspace the key acts in.
    pub fn workspace_id(&self) -> &str {
        &self.record.owner.workspace_id
    }

    /// The user the key acts for, if any.
    pub fn user_id(&self) -> Option<&str> {
        self.record.owner.user_id.as_deref()
    }

    /// User key or service token.
    pub fn kind(&self) -> KeyKind {
        self.record.kind
    }

    /// Live or test.
    pub fn environment(&self) -> Environment {
        self.record.environment
    }

    /// The scopes the key holds.
    pub fn scopes(&self) -> &ScopeSet {
        &self.record.scopes
    }

    /// The key's name.
    pub fn name(&self) -> &str {
        &self.record.name
    }

    /// The key's metadata, if it carries any: read with the key, no further I/O.
    ///
    /// ```
    /// use keygate::{Keygate, manage::NewKey, preset::Preset, store::{Metadata, Owner}};
    ///
    /// # #[tokio::main(flavor = "current_thread")]
    /// # async fn main() -> Result<(), Box<dyn std::error::Error>> {
    /// let gate = Keygate::builder(Preset::livetest()).random_pepper().build()?;
    /// let terms = Metadata::parse(r#"{"customer": "cus_42"}"#)?;
    /// let minted = gate.mint(NewKey::new(Owner::workspace("wks_1"), "ci").metadata(terms)).await?;
    /// let principal = gate.verify(minted.key.expose_secret()).await?;
    /// let customer = principal.metadata().and_then(|m| m.get("customer")).and_then(|v| v.as_str());
    /// assert_eq!(customer, Some("cus_42"));
    /// # Ok(())
    /// # }
    /// ```
    pub fn metadata(&self) -> Option<&Metadata> {
        self.record.metadata.as_ref()
    }

    /// The key's rate-limit figures at this request, when [`Keygate::authenticate`] checked a
    /// plan with windows: what the `X-RateLimit-*` headers of the response say. `None` after
    /// [`Keygate::verify`] alone.
    pub fn rate_limit(&self) -> Option<&RateLimitInfo> {
        self.rate_limit.as_ref()
    }

    /// The key's balance of credits: after this request's spend when
    /// [`Keygate::authenticate`] spent it, else as of the record's read. `None` for an unlimited
    /// key.
    pub fn remaining(&self) -> Option<u64> {
        self.spent.or_else(|| self.record.credits.map(|c| c.remaining))
    }

    /// The whole record, as of this verification.
    pub fn record(&self) -> &Arc<KeyRecord> {
        &self.record
    }
}

impl fmt::Debug for Principal {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Principal")
            .field("key_id", &self.record.id)
            .field("workspace_id", &self.record.owner.workspace_id)
            .field("user_id", &self.record.owner.user_id)
            .field("kind", &self.record.kind)
            .field("environment", &self.record.environment)
            .field("scopes", &self.record.scopes)
            .finish()
    }
}

/// What an adapter knows of the connection a request came over.
///
/// ```
/// use std::net::{IpAddr, Ipv4Addr};
/// use keygate::Peer;
///
/// let ip = IpAddr::V4(Ipv4Addr::new(203, 0, 113, 9));
/// let peer = Peer::from(ip);
/// assert_eq!((peer.ip, peer.tls), (Some(ip), false));
/// let over_tls = Peer { tls: true, ..peer };
/// assert!(over_tls.tls);
/// ```
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Peer {
    /// The client's address (after any trusted proxy), for the failed-auth throttle and events.
    pub ip: Option<IpAddr>,
    /// Whether the connection itself is TLS.
    pub tls: bool,
}

impl From<Option<IpAddr>> for Peer {
    fn from(ip: Option<IpAddr>) -> Self {
        Peer { ip, tls: false }
    }
}

impl From<IpAddr> for Peer {
    fn from(ip: IpAddr) -> Self {
        Peer { ip: Some(ip), tls: false }
    }
}

/// Whether the first `X-Forwarded-Proto` value is `https`.
fn forwarded_https<H: Headers + ?Sized>(headers: &H) -> bool {
    headers.get_all("x-forwarded-proto").next().is_some_and(|v| {
        let first = v.split(|&b| b == b',').next().unwrap_or_default();
        first.trim_ascii().eq_ignore_ascii_case(b"https")
    })
}

impl Keygate {
    /// Authenticates a request: verifies its credential, counts a failure against the client's
    /// failed-auth budget (answering 429 past it), checks the key's rate limit, records usage
    /// write-behind and emits events.
    ///
    /// # Errors
    /// Every failure of the error catalog but scopes; [`AuthError::RateLimited`] from the
    /// key's plan or from the failed-auth throttle; [`AuthError::Unavailable`] when the store or
    /// the limiter cannot answer.
    pub async fn authenticate<H: Headers + ?Sized>(
        &self,
        headers: &H,
        peer: impl Into<Peer>,
    ) -> Result<Principal, AuthError> {
        self.authenticate_weighted(headers, peer, DEFAULT_COST).await
    }

    /// [`authenticate`](Self::authenticate) for a request that costs `cost` (a weighted route:
    /// an export that costs 10, a write that costs 2). It passes the key's rate-limit windows
    /// only if each has room for the whole cost, and spends the whole cost of the key's credits
    /// at once. A request refused by its windows counts nothing and spends nothing; the windows
    /// are checked first, so one refused for its credits has been counted in them. A cost of 0
    /// (a free route) is never refused for its limits or its credits, and a cost above a
    /// window's limit is always refused. The scopes a route requires are checked after this
    /// (by the adapters' extractors): a request refused for them has been counted and charged.
    ///
    /// ```
    /// use keygate::{AuthError, Keygate, Peer, manage::NewKey, preset::Preset, store::Owner};
    ///
    /// # #[tokio::main(flavor = "current_thread")]
    /// # async fn main() -> Result<(), Box<dyn std::error::Error>> {
    /// let gate = Keygate::builder(Preset::livetest()).random_pepper().build()?;
    /// let new = NewKey::new(Owner::workspace("wks_1"), "trial").remaining(3);
    /// let minted = gate.mint(new).await?;
    /// let bearer = format!("Bearer {}", minted.key.expose_secret());
    /// let headers = [("Authorization", bearer.as_str())];
    /// let passed = gate.authenticate_weighted(&headers, Peer::default(), 2).await?;
    /// assert_eq!(passed.remaining(), Some(1));
    /// // One credit left: a request of cost 2 is refused and spends nothing; one of cost 1 passes.
    /// let refused = gate.authenticate_weighted(&headers, Peer::default(), 2).await;
    /// assert!(matches!(refused, Err(AuthError::UsageExceeded { .. })));
    /// assert_eq!(gate.authenticate(&headers, Peer::default()).await?.remaining(), Some(0));
    /// # Ok(())
    /// # }
    /// ```
    ///
    /// # Errors
    /// As [`authenticate`](Self::authenticate).
    pub async fn authenticate_weighted<H: Headers + ?Sized>(
        &self,
        headers: &H,
        peer: impl Into<Peer>,
        cost: u64,
    ) -> Result<Principal, AuthError> {
        let peer = peer.into();
        let client_ip = crate::forwarded::client_ip(
            headers,
            peer.ip,
            self.trusted_proxies(),
            self.forwarded_header(),
        );
        // A span per request is a cost in the hot path: it is at `debug`, and a request whose
        // span no subscriber wants runs without one (not even a disabled one: making that still
        // costs more than a hundred instructions).
        let span = if tracing::level_enabled!(tracing::Level::DEBUG) {
            tracing::debug_span!(
                "keygate.authenticate",
                preset = self.preset().name,
                client_ip = client_ip.map(tracing::field::display),
                key_id = tracing::field::Empty,
                outcome = tracing::field::Empty,
            )
        } else {
            tracing::Span::none()
        };
        if span.is_disabled() {
            return self.authenticate_in_span(headers, peer, client_ip, cost, &span).await;
        }
        // Boxed: a request traced at debug pays an allocation, and every other request a future
        // no larger than the untraced one.
        let result = Box::pin(
            self.authenticate_in_span(headers, peer, client_ip, cost, &span)
                .instrument(span.clone()),
        )
        .await;
        match &result {
            Ok(principal) => {
                span.record("key_id", tracing::field::display(principal.key_id()));
                span.record("outcome", "verified");
            }
            Err(e) => {
                span.record("outcome", e.reason());
            }
        }
        result
    }

    async fn authenticate_in_span<H: Headers + ?Sized>(
        &self,
        headers: &H,
        peer: Peer,
        client_ip: Option<IpAddr>,
        cost: u64,
        // This request's own span (disabled when none is made): a refused key's id is recorded
        // there, never in a span of the caller's.
        span: &tracing::Span,
    ) -> Result<Principal, AuthError> {
        let trusted = self.trusted_proxies();
        // With trusted proxies set, only they may say the request came over HTTPS.
        let proxied = trusted.is_empty()
            || peer.ip.is_some_and(|ip| trusted.iter().any(|net| net.contains(&ip)));
        if let Some(https) = self.https()
            && !peer.tls
            && !(https.trust_forwarded_proto && proxied && forwarded_https(headers))
        {
            // Not a failed authentication (the throttle does not count it), but a refusal the
            // sinks hear of.
            return Err(self.failed(
                AuthError::Forbidden(Forbidden::HttpsRequired),
                None,
                client_ip,
            ));
        }
        let verified = match self.preset().sources.extract(headers) {
            Ok(key) => {
                let started = self.has_events().then(std::time::Instant::now);
                let verified = match self.verify_now(key, client_ip) {
                    Now::Done(verified) => verified,
                    Now::ReadStore(parsed) => Box::pin(self.verify_from_store(parsed)).await,
                };
                if let Some(started) = started {
                    let elapsed = started.elapsed();
                    self.emit(Event::Checked { elapsed, verified: verified.is_ok() });
                }
                if let Err((_, Some(id))) = &verified {
                    span.record("key_id", tracing::field::display(id));
                }
                verified
            }
            Err(e) => Err((e, None)),
        };
        let principal = match verified {
            Ok(p) => p,
            Err((err, key_id)) => return Err(self.failed(err, key_id, client_ip)),
        };
        // Only the key's holder learns of its networks: checked after the secret matched.
        if !principal.record().allows_client(client_ip) {
            tracing::debug!(key_id = %principal.key_id(), reason = "network", "key refused");
            let err = AuthError::Forbidden(Forbidden::Network);
            return Err(self.failed(err, Some(principal.key_id()), client_ip));
        }
        let now = self.now();
        let rate_limit = match self.limits_for(principal.record()) {
            None => None,
            Some(plan) => {
                let id = principal.key_id();
                let decision = match self.limiter().check_now(&id, plan, cost, now) {
                    Some(d) => d,
                    None => self.limiter().check(&id, plan, cost, now).await,
                };
                match decision {
                    Ok(Some(Decision { allowed: true, info })) => Some(info),
                    Ok(Some(Decision { allowed: false, info })) => {
                        tracing::debug!(key_id = %id, limit = info.limit, "rate limited");
                        self.emit(Event::RateLimited { key_id: Some(id), client_ip, info });
                        return Err(AuthError::RateLimited(info));
                    }
                    Ok(None) => None,
                    Err(e) => {
                        let open = self.limiter_failure() == crate::gate::LimiterFailure::Open;
                        self.emit(Event::LimiterUnavailable { key_id: id, failed_open: open });
                        if !open {
                            return Err(self.limiter_down(e));
                        }
                        tracing::warn!(error = %e, key_id = %id, "rate limiter unavailable; letting the request through");
                        None
                    }
                }
            }
        };
        // Credits last: a request refused for any other reason spends nothing. An unlimited
        // key pays one branch.
        let spent = match principal.record().credits {
            None => None,
            Some(_) => {
                let id = principal.key_id();
                let spent = match self.store().spend_now(&id, cost, now) {
                    Some(spent) => spent,
                    None => self.store().spend(&id, cost, now).await,
                };
                self.spent(id, spent, now, client_ip)?
            }
        };
        self.usage().record_from(principal.key_id(), now, client_ip);
        self.emit(Event::Verified {
            key_id: principal.key_id(),
            workspace_id: principal.workspace_id(),
        });
        Ok(Principal { rate_limit, spent, ..principal })
    }

    /// The answer to a spend of the key's credits in the store (never from a cache: the
    /// balance is shared by every replica): refuses with [`AuthError::UsageExceeded`] when the
    /// balance did not cover it, and fails closed when the store could not answer.
    fn spent(
        &self,
        id: KeyId,
        spent: Result<Spend, crate::store::StoreError>,
        now: crate::clock::Timestamp,
        client_ip: Option<IpAddr>,
    ) -> Result<Option<u64>, AuthError> {
        match spent {
            Ok(Spend::Spent { remaining }) => Ok(Some(remaining)),
            Ok(Spend::Unlimited) => Ok(None),
            Ok(Spend::Exhausted { refills_at, .. }) => {
                tracing::debug!(key_id = %id, "credits exhausted");
                let retry_after = refills_at.map(|at| at.duration_since(now));
                let err = AuthError::UsageExceeded { retry_after };
                Err(self.failed(err, Some(id), client_ip))
            }
            Err(e) => {
                tracing::warn!(key_id = %id, error = %e, "key store unavailable for credits; refusing");
                self.emit(Event::StoreUnavailable { operation: "spend" });
                Err(AuthError::Unavailable(e))
            }
        }
    }

    /// The client's address of a request: the connection's peer, or, behind the
    /// [`trusted_proxies`](crate::KeygateBuilder::trusted_proxies), the address they forwarded;
    /// what [`authenticate`](Self::authenticate) checks a key's `allowed_ips` against.
    pub fn client_ip<H: Headers + ?Sized>(&self, headers: &H, peer: Peer) -> Option<IpAddr> {
        crate::forwarded::client_ip(
            headers,
            peer.ip,
            self.trusted_proxies(),
            self.forwarded_header(),
        )
    }

    /// The key's rate-limit figures without counting a request: what `/v1/rate-limit` shows.
    /// `None` when its plan has no windows.
    ///
    /// # Errors
    /// [`AuthError::Unavailable`] when the limiter cannot answer.
    pub async fn rate_limit_status(
        &self,
        principal: &Principal,
    ) -> Result<Option<RateLimitInfo>, AuthError> {
        let Some(plan) = self.limits_for(principal.record()) else { return Ok(None) };
        let now = self.now();
        match self.limiter().status(&principal.key_id(), plan, now).await {
            Ok(d) => Ok(d.map(|d| d.info)),
            Err(e) => Err(self.limiter_down(e)),
        }
    }

    fn limiter_down(&self, e: LimiterError) -> AuthError {
        tracing::warn!(error = %e, "rate limiter unavailable; refusing");
        AuthError::Unavailable(crate::store::StoreError::Unavailable(Box::new(e)))
    }

    /// Whether `client` is over its failed-auth budget now.
    fn over_budget(&self, client: Option<IpAddr>) -> bool {
        match (client, self.throttle()) {
            (Some(ip), Some(throttle)) => throttle.is_over_budget(ip, self.now()),
            _ => false,
        }
    }

    /// Throttle and report a failed request.
    fn failed(
        &self,
        err: AuthError,
        key_id: Option<KeyId>,
        client_ip: Option<IpAddr>,
    ) -> AuthError {
        if err.is_failed_authentication()
            && let (Some(ip), Some(throttle)) = (client_ip, &self.throttle())
            && let Some(info) = throttle.record_failure(ip, self.now())
        {
            tracing::debug!(client_ip = %ip, "failed-auth throttle: too many failures");
            self.emit(Event::RateLimited { key_id: None, client_ip, info });
            return AuthError::RateLimited(info);
        }
        self.emit(Event::Failed { reason: err.reason(), key_id, client_ip });
        err
    }

    /// Verifies a key given as text: parse, checksum, lookup, constant-time compare, state.
    /// No throttle, rate limit or usage: that is [`authenticate`](Self::authenticate).
    ///
    /// # Errors
    /// An [`AuthError`] for every failure of the error catalog about a key (see
    /// [`authorize`](Self::authorize) for scopes).
    pub async fn verify(&self, key: &str) -> Result<Principal, AuthError> {
        let verified = match self.verify_now(key, None) {
            Now::Done(verified) => verified,
            Now::ReadStore(parsed) => Box::pin(self.verify_from_store(parsed)).await,
        };
        verified.map_err(|(e, _)| e)
    }

    /// Verifies `key` from memory, or says that its record must be read from the store, with the
    /// key id a failure concerns when it is known. A key whose record is not in memory is taken
    /// as unknown when `client` is over its failure budget, so that a flood of forged keys
    /// (their checksum is public) costs the store nothing while a cached valid key still passes.
    ///
    /// What memory answers is answered synchronously; only a read of the store is a future of
    /// its own (boxed, [`verify_from_store`](Self::verify_from_store)), so that the futures of
    /// `verify` and `authenticate` stay small to build and move.
    #[inline]
    fn verify_now<'k>(&self, key: &'k str, client: Option<IpAddr>) -> Now<'k> {
        let parsed = match self.preset().format.parse(key) {
            Ok(parsed) => parsed,
            Err(e) => return Now::Done(Err((e.into(), None))),
        };
        let record = match self.store().peek(&parsed.id()) {
            Peek::Found(record) => Some(record),
            Peek::Absent => None,
            Peek::Unknown if self.over_budget(client) => None,
            Peek::Unknown => return Now::ReadStore(parsed),
        };
        Now::Done(self.check_record(parsed, record))
    }

    /// Verifies `parsed` against its record read from the store.
    async fn verify_from_store(
        &self,
        parsed: ParsedKey<'_>,
    ) -> Result<Principal, (AuthError, Option<KeyId>)> {
        let id = parsed.id();
        let record = self.store().find(&id).await.map_err(|e| {
            tracing::warn!(key_id = %id, error = %e, "key store unavailable; refusing");
            self.emit(Event::StoreUnavailable { operation: "find" });
            (AuthError::Unavailable(e), Some(id))
        })?;
        self.check_record(parsed, record)
    }

    /// The secret, environment and state checks of `parsed` against its record (`None`: no
    /// key has its id).
    fn check_record(
        &self,
        parsed: ParsedKey<'_>,
        record: Option<Arc<KeyRecord>>,
    ) -> Result<Principal, (AuthError, Option<KeyId>)> {
        let id = parsed.id();
        let err = |e| (e, Some(id));
        // A key whose pepper this deployment lacks is refused exactly like an unknown id, so an
        // outsider cannot tell that the id exists; the operator hears of it once.
        let record = record.filter(|record| {
            let usable = self.hasher().has_version(record.pepper_version);
            if !usable && self.first_report_of_pepper(record.pepper_version) {
                tracing::error!(key_id = %id, version = record.pepper_version, "a key names a pepper version this deployment lacks");
                self.emit(Event::UnknownPepperVersion { key_id: id, version: record.pepper_version });
            }
            usable
        });
        // An id with no usable record is checked against a decoy: the same lookup, HMAC,
        // comparison, state reads and clock read as a wrong secret on a real key, so that the
        // time a refusal takes does not tell whether the id exists.
        let known = record.is_some();
        let record = record.unwrap_or_else(|| self.decoy(&id));
        let matched =
            self.hasher().verify(parsed.secret(), record.pepper_version, &record.hash) == Ok(true);
        // A key whose prefix names another environment than its record is not that key: its
        // checksum is public, so the prefix alone could otherwise be swapped.
        let wrong = !(matched & known) | (parsed.environment() != record.environment);
        // Read the clock for a key that can lapse (most never do), and for every refusal: a
        // wrong secret and a revoked key's right one then do the same work, and take as long.
        let lapses = record.revoked_at.is_some() | record.expires_at.is_some();
        let now = (wrong | lapses).then(|| self.now());
        // Whether the record is revoked is read for every refusal too, so that the right secret
        // of a revoked key takes the same path as a wrong one.
        let revoked = now.is_some_and(|now| record.is_revoked_at(now));
        if wrong | revoked {
            let reason = match (wrong, known) {
                (false, _) => InvalidKey::Revoked,
                (true, true) => InvalidKey::WrongSecret,
                (true, false) => InvalidKey::UnknownId,
            };
            return Err(err(fail(id, reason)));
        }
        if record.disabled {
            tracing::debug!(key_id = %id, reason = "disabled", "key refused");
            return Err(err(AuthError::Disabled));
        }
        if now.is_some_and(|now| record.is_expired_at(now)) {
            tracing::debug!(key_id = %id, reason = "expired", "key refused");
            return Err(err(AuthError::Expired));
        }
        if self.environment().is_some_and(|env| env != record.environment) {
            let e = AuthError::Forbidden(Forbidden::WrongEnvironment(record.environment));
            return Err(err(e));
        }
        tracing::trace!(key_id = %id, "key verified");
        Ok(Principal { record, rate_limit: None, spent: None })
    }

    /// Checks that `principal` holds what `requirement` asks, under the preset's scope policy.
    ///
    /// # Errors
    /// [`AuthError::InsufficientScope`] with the scopes to add and the scopes held.
    pub fn authorize(
        &self,
        principal: &Principal,
        requirement: &Requirement,
    ) -> Result<(), AuthError> {
        self.preset()
            .policy
            .check(principal.scopes(), requirement)
            .map_err(AuthError::InsufficientScope)
    }
}

impl Keygate {
    /// Checks that `principal`'s plan (its own, else the default for its kind) is one that
    /// `requirement` allows.
    ///
    /// # Errors
    /// [`AuthError::Forbidden`] with [`Forbidden::Plan`], naming the plans allowed.
    pub fn authorize_plan(
        &self,
        principal: &Principal,
        requirement: &PlanRequirement,
    ) -> Result<(), AuthError> {
        let plan = self.plan_for(principal.record()).map(|p| p.name());
        requirement.check(plan).map_err(|denied| AuthError::Forbidden(Forbidden::Plan(denied)))
    }
}

/// How far [`Keygate::verify_now`] got.
enum Now<'k> {
    /// Verified or refused from memory.
    Done(Result<Principal, (AuthError, Option<KeyId>)>),
    /// The record must be read from the store.
    ReadStore(ParsedKey<'k>),
}

fn fail(id: KeyId, reason: InvalidKey) -> AuthError {
    tracing::debug!(key_id = %id, reason = reason.as_str(), "key refused");
    AuthError::Invalid(reason)
}
