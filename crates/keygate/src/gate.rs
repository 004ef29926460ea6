//! [`Keygate`]: the handle a service keeps, built once from a preset, a store and a pepper.
//!
//! ```
//! use std::sync::Arc;
//! use keygate::{Keygate, hash::Pepper, preset::Preset, store::MemoryStore};
//!
//! let gate = Keygate::builder(Preset::livetest())
//!     .store(Arc::new(MemoryStore::new()))
//!     .pepper(1, Pepper::generate()?)
//!     .build()?;
//! assert_eq!(gate.preset().name, "livetest");
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```

use std::fmt;
use std::sync::{Arc, Mutex, OnceLock};
use std::time::Duration;

use ipnet::IpNet;

use crate::clock::{Clock, SystemClock};
use crate::decoy::Decoys;
use crate::event::{Event, EventSink};
use crate::format::{Environment, KeyId};
use crate::forwarded::ForwardedHeader;
use crate::hash::{KeyHasher, Pepper, PepperVersion};
use crate::limit::{
    ClientGrouping, DEFAULT_MAX_CLIENTS, FailureThrottle, InProcessLimiter, RateLimiter, RatePlan,
    Window,
};
use crate::preset::Preset;
use crate::store::{KeyRecord, KeyStore, MemoryStore, StoreError};
use crate::usage::UsageRecorder;

/// The failed-authentication budget per client address unless told otherwise: 100 a minute.
pub const DEFAULT_FAILURE_BUDGET: Window = Window::new(100, Duration::from_secs(60));

/// How many keys in force (neither revoked nor expired) a workspace may hold unless told
/// otherwise, when tenants mint them: 1,000.
pub const DEFAULT_MAX_KEYS: u64 = 1_000;

/// The keygate handle: verifies requests and manages keys. Cloning is cheap (one `Arc`).
///
/// ```
/// use keygate::{Keygate, manage::NewKey, preset::Preset, store::Owner};
///
/// # #[tokio::main(flavor = "current_thread")]
/// # async fn main() -> Result<(), Box<dyn std::error::Error>> {
/// let gate = Keygate::builder(Preset::livetest()).random_pepper().build()?;
/// let minted = gate.mint(NewKey::new(Owner::workspace("wks_1"), "ci")).await?;
/// // A clone shares the store, the pepper and the limits.
/// let principal = gate.clone().verify(minted.key.expose_secret()).await?;
/// assert_eq!(principal.key_id(), minted.record.id);
/// # Ok(())
/// # }
/// ```
#[derive(Clone)]
pub struct Keygate {
    inner: Arc<Inner>,
}

struct Inner {
    preset: Preset,
    store: Arc<dyn KeyStore>,
    hasher: KeyHasher,
    clock: Arc<dyn Clock>,
    environment: Option<Environment>,
    limiter: Arc<dyn RateLimiter>,
    /// The same limiter when it is the in-process one, for sweeping.
    local_limiter: Option<Arc<InProcessLimiter>>,
    throttle: Option<FailureThrottle>,
    events: Option<Arc<dyn EventSink>>,
    usage: UsageRecorder,
    https: Option<HttpsPolicy>,
    limiter_failure: LimiterFailure,
    max_keys: u64,
    tenant_rate_plans: bool,
    trusted_proxies: Vec<IpNet>,
    forwarded_header: ForwardedHeader,
    /// Pepper versions already reported as missing.
    reported_peppers: Mutex<Vec<PepperVersion>>,
    /// What a key naming no usable record is checked against; made at the first such key.
    decoys: OnceLock<Decoys>,
}

/// When the deployment requires HTTPS ([`KeygateBuilder::require_https`]).
///
/// ```
/// use keygate::{AuthError, HttpsPolicy, Keygate, Peer, preset::Preset};
///
/// # #[tokio::main(flavor = "current_thread")]
/// # async fn main() -> Result<(), Box<dyn std::error::Error>> {
/// let policy = HttpsPolicy { trust_forwarded_proto: true };
/// let gate = Keygate::builder(Preset::livetest())
///     .random_pepper()
///     .require_https(policy.trust_forwarded_proto)
///     .build()?;
/// // Behind a proxy that says the client used HTTPS, the request gets as far as its key.
/// let headers = [("X-Forwarded-Proto", "https")];
/// assert!(matches!(gate.authenticate(&headers, Peer::default()).await, Err(AuthError::Missing)));
/// # Ok(())
/// # }
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct HttpsPolicy {
    /// Whether `X-Forwarded-Proto: https` from a proxy in front counts as HTTPS.
    pub trust_forwarded_proto: bool,
}

/// What to do with a request when the rate limiter cannot decide (its backend is down).
/// Authentication itself never fails open; this is only about the limit.
///
/// ```
/// use keygate::{Keygate, LimiterFailure, preset::Preset};
///
/// assert_eq!(LimiterFailure::default(), LimiterFailure::Closed);
/// let gate = Keygate::builder(Preset::livetest())
///     .random_pepper()
///     .limiter_failure(LimiterFailure::Open)
///     .build()?;
/// # let _ = gate;
/// # Ok::<(), keygate::BuildError>(())
/// ```
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum LimiterFailure {
    /// Refuse the request with 503 `unavailable` (the default).
    #[default]
    Closed,
    /// Let the request through without a limit, and emit [`Event::LimiterUnavailable`].
    Open,
}

impl fmt::Debug for Keygate {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Keygate")
            .field("preset", &self.inner.preset.name)
            .field("hasher", &self.inner.hasher)
            .field("environment", &self.inner.environment)
            .finish_non_exhaustive()
    }
}

/// A [`Keygate`] could not be built.
///
/// ```
/// use keygate::{BuildError, Keygate, preset::Preset};
///
/// // Replicas must share a pepper, so none is made up unless asked for.
/// let err = Keygate::builder(Preset::plane()).build().unwrap_err();
/// assert!(matches!(err, BuildError::NoPepper));
/// assert!(Keygate::builder(Preset::plane()).random_pepper().build().is_ok());
/// ```
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum BuildError {
    /// No pepper was given. Replicas sharing a store must share a pepper, so keygate does not
    /// make one up unless told to ([`KeygateBuilder::random_pepper`]).
    #[error("no pepper: call `pepper` (or `random_pepper` for a store that lives in memory)")]
    NoPepper,
    /// The OS random number generator failed while making a pepper.
    #[error(transparent)]
    Random(#[from] crate::format::RandomError),
}

/// Builds a [`Keygate`].
///
/// ```
/// use std::sync::Arc;
/// use keygate::clock::{ManualClock, Timestamp};
/// use keygate::{Keygate, format::Environment, hash::Pepper, preset::Preset};
///
/// let clock = Arc::new(ManualClock::new(Timestamp::from_unix_seconds(1_791_936_000)));
/// let gate = Keygate::builder(Preset::workspace())
///     .pepper(2, Pepper::new(vec![7; 32])?)
///     .clock(clock)
///     .environment(Environment::Live)
///     .failure_budget(None)
///     .build()?;
/// assert_eq!(gate.clock().now().to_rfc3339(), "2026-10-14T00:00:00Z");
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
pub struct KeygateBuilder {
    preset: Preset,
    store: Option<Arc<dyn KeyStore>>,
    pepper: Option<(PepperVersion, Pepper)>,
    retired: Vec<(PepperVersion, Pepper)>,
    random_pepper: bool,
    clock: Arc<dyn Clock>,
    environment: Option<Environment>,
    limiter: Option<Arc<dyn RateLimiter>>,
    failure_budget: Option<Window>,
    events: Option<Arc<dyn EventSink>>,
    https: Option<HttpsPolicy>,
    limiter_failure: LimiterFailure,
    max_keys: u64,
    tenant_rate_plans: bool,
    grouping: ClientGrouping,
    max_clients: usize,
    trusted_proxies: Vec<IpNet>,
    forwarded_header: ForwardedHeader,
}

impl fmt::Debug for KeygateBuilder {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("KeygateBuilder").field("preset", &self.preset.name).finish_non_exhaustive()
    }
}

impl KeygateBuilder {
    /// The key store (default: a new [`MemoryStore`]).
    pub fn store(mut self, store: Arc<dyn KeyStore>) -> Self {
        self.store = Some(store);
        self
    }

    /// The current pepper and its version: new keys are hashed with it.
    pub fn pepper(mut self, version: PepperVersion, pepper: Pepper) -> Self {
        self.pepper = Some((version, pepper));
        self
    }

    /// Keeps an older pepper so that keys hashed with it still verify.
    pub fn retired_pepper(mut self, version: PepperVersion, pepper: Pepper) -> Self {
        self.retired.push((version, pepper));
        self
    }

    /// Makes a random pepper at build time if none was given: only for a store that lives and
    /// dies with this process, since its keys cannot verify anywhere else.
    pub fn random_pepper(mut self) -> Self {
        self.random_pepper = true;
        self
    }

    /// The clock (default: the system clock). Tests pass a [`ManualClock`](crate::clock::ManualClock).
    pub fn clock(mut self, clock: Arc<dyn Clock>) -> Self {
        self.clock = clock;
        self
    }

    /// Accepts only keys of `environment`; keys of the other get 403 `forbidden` (a test key on
    /// a live deployment). By default both are accepted.
    pub fn environment(mut self, environment: Environment) -> Self {
        self.environment = Some(environment);
        self
    }

    /// The rate limiter (default: an [`InProcessLimiter`]). Replicas share one, such as Redis.
    pub fn limiter(mut self, limiter: Arc<dyn RateLimiter>) -> Self {
        self.limiter = Some(limiter);
        self
    }

    /// The failed-authentication budget per client address (default
    /// [`DEFAULT_FAILURE_BUDGET`], 100 a minute); `None` turns the throttle off.
    pub fn failure_budget(mut self, budget: Option<Window>) -> Self {
        self.failure_budget = budget;
        self
    }

    /// How client addresses are grouped for the failed-auth budget (default: each IPv4 address,
    /// each IPv6 /64), and how many groups are tracked at most (default
    /// [`DEFAULT_MAX_CLIENTS`](crate::limit::DEFAULT_MAX_CLIENTS); past it, the group that
    /// failed longest ago makes room).
    pub fn failure_clients(mut self, grouping: ClientGrouping, max_clients: usize) -> Self {
        self.grouping = grouping;
        self.max_clients = max_clients;
        self
    }

    /// The proxies in front of the service (load balancers, reverse proxies). A request whose
    /// socket peer is inside one of these ranges is counted against the address the proxies
    /// forwarded: in the header [`forwarded_header`](Self::forwarded_header) names
    /// (`X-Forwarded-For` by default), read from the right, the first address that is not
    /// itself a trusted proxy. What a client wrote to the left of that is never believed, and a
    /// peer outside these ranges is counted as itself, so a client cannot pick its address.
    /// With proxies set, `X-Forwarded-Proto` (see [`require_https`](Self::require_https)) is
    /// believed only from them.
    ///
    /// ```
    /// use keygate::{Keygate, preset::Preset};
    ///
    /// let gate = Keygate::builder(Preset::livetest())
    ///     .random_pepper()
    ///     .trusted_proxies(["10.0.0.0/8".parse()?, "fd00::/8".parse()?])
    ///     .build()?;
    /// # let _ = gate;
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn trusted_proxies(mut self, ranges: impl IntoIterator<Item = IpNet>) -> Self {
        self.trusted_proxies = ranges.into_iter().collect();
        self
    }

    /// The header the trusted proxies write the client's address into (default
    /// `X-Forwarded-For`). Only that header is read.
    pub fn forwarded_header(mut self, header: ForwardedHeader) -> Self {
        self.forwarded_header = header;
        self
    }

    /// Where to send [`Event`]s.
    pub fn events(mut self, sink: Arc<dyn EventSink>) -> Self {
        self.events = Some(sink);
        self
    }

    /// What to do when the rate limiter cannot decide (default: [`LimiterFailure::Closed`]).
    pub fn limiter_failure(mut self, policy: LimiterFailure) -> Self {
        self.limiter_failure = policy;
        self
    }

    /// How many keys in force (of either environment, neither revoked nor expired) one
    /// workspace may hold when a tenant mints ([`Keygate::acting_for`]); past it, a mint is
    /// refused with 409 `key_limit_reached`. The operator's [`Keygate::mint`] is not capped.
    /// Default [`DEFAULT_MAX_KEYS`].
    pub fn max_keys_per_workspace(mut self, max: u64) -> Self {
        self.max_keys = max;
        self
    }

    /// Lets tenants set a key's rate plan (`rate_plan` in management requests). Off by default:
    /// the plan is the operator's to set, and a tenant that sends it gets 403
    /// `field_not_allowed`.
    pub fn tenant_rate_plans(mut self, allowed: bool) -> Self {
        self.tenant_rate_plans = allowed;
        self
    }

    /// Refuses requests that did not come over HTTPS with 403 `forbidden` (the workspace API: plain
    /// HTTP requests are rejected). With `trust_forwarded_proto`, `X-Forwarded-Proto: https`
    /// set by a proxy in front counts as HTTPS; set it only behind a proxy that overwrites it.
    pub fn require_https(mut self, trust_forwarded_proto: bool) -> Self {
        self.https = Some(HttpsPolicy { trust_forwarded_proto });
        self
    }

    /// Builds the handle.
    ///
    /// # Errors
    /// [`BuildError::NoPepper`] without a pepper; [`BuildError::Random`] if making one failed.
    pub fn build(self) -> Result<Keygate, BuildError> {
        let mut hasher = match (self.pepper, self.random_pepper) {
            (Some((version, pepper)), _) => KeyHasher::new(version, pepper),
            (None, true) => KeyHasher::new(1, Pepper::generate()?),
            (None, false) => return Err(BuildError::NoPepper),
        };
        for (version, pepper) in self.retired {
            hasher = hasher.with_retired(version, pepper);
        }
        let mut preset = self.preset;
        preset.renderer = preset.renderer.credential_label(preset.sources.label());
        let (limiter, local_limiter): (Arc<dyn RateLimiter>, _) = match self.limiter {
            Some(limiter) => (limiter, None),
            None => {
                let local = Arc::new(InProcessLimiter::new());
                (local.clone(), Some(local))
            }
        };
        Ok(Keygate {
            inner: Arc::new(Inner {
                preset,
                store: self.store.unwrap_or_else(|| Arc::new(MemoryStore::new())),
                hasher,
                clock: self.clock,
                environment: self.environment,
                limiter,
                local_limiter,
                throttle: self
                    .failure_budget
                    .map(|b| FailureThrottle::new(b, self.grouping, self.max_clients)),
                events: self.events,
                usage: UsageRecorder::new(),
                https: self.https,
                limiter_failure: self.limiter_failure,
                max_keys: self.max_keys,
                tenant_rate_plans: self.tenant_rate_plans,
                trusted_proxies: self.trusted_proxies,
                forwarded_header: self.forwarded_header,
                reported_peppers: Mutex::new(Vec::new()),
                decoys: OnceLock::new(),
            }),
        })
    }
}

impl Keygate {
    /// Starts a handle for `preset`.
    pub fn builder(preset: Preset) -> KeygateBuilder {
        KeygateBuilder {
            preset,
            store: None,
            pepper: None,
            retired: Vec::new(),
            random_pepper: false,
            clock: Arc::new(SystemClock),
            environment: None,
            limiter: None,
            failure_budget: Some(DEFAULT_FAILURE_BUDGET),
            events: None,
            https: None,
            limiter_failure: LimiterFailure::Closed,
            max_keys: DEFAULT_MAX_KEYS,
            tenant_rate_plans: false,
            grouping: ClientGrouping::default(),
            max_clients: DEFAULT_MAX_CLIENTS,
            trusted_proxies: Vec::new(),
            forwarded_header: ForwardedHeader::default(),
        }
    }

    /// The time now, by the gate's clock.
    #[inline]
    pub(crate) fn now(&self) -> crate::clock::Timestamp {
        self.inner.clock.now()
    }

    #[inline]
    pub(crate) fn hasher(&self) -> &KeyHasher {
        &self.inner.hasher
    }

    #[inline]
    pub(crate) fn limiter(&self) -> &Arc<dyn RateLimiter> {
        &self.inner.limiter
    }

    #[inline]
    pub(crate) fn usage(&self) -> &UsageRecorder {
        &self.inner.usage
    }

    #[inline]
    pub(crate) fn throttle(&self) -> Option<&FailureThrottle> {
        self.inner.throttle.as_ref()
    }

    #[inline]
    pub(crate) fn https(&self) -> Option<HttpsPolicy> {
        self.inner.https
    }

    /// The only environment this deployment accepts keys of, if it is set.
    #[inline]
    pub(crate) fn environment(&self) -> Option<Environment> {
        self.inner.environment
    }

    #[inline]
    pub(crate) fn limiter_failure(&self) -> LimiterFailure {
        self.inner.limiter_failure
    }

    /// The cap on keys in force per workspace, for tenants' mints.
    pub(crate) fn max_keys(&self) -> u64 {
        self.inner.max_keys
    }

    /// The proxies whose forwarding headers are believed.
    pub(crate) fn trusted_proxies(&self) -> &[IpNet] {
        &self.inner.trusted_proxies
    }

    /// The header they write the client's address into.
    pub(crate) fn forwarded_header(&self) -> ForwardedHeader {
        self.inner.forwarded_header
    }

    /// Whether this is the first time `version` is found missing (then it is remembered).
    /// The record a key whose id names no usable record is checked against, so that its
    /// refusal does a found key's work ([`Decoys`]).
    #[inline]
    pub(crate) fn decoy(&self, id: &KeyId) -> Arc<KeyRecord> {
        self.inner.decoys.get_or_init(|| Decoys::new(&self.inner.hasher)).for_id(id)
    }

    pub(crate) fn first_report_of_pepper(&self, version: PepperVersion) -> bool {
        let mut reported =
            self.inner.reported_peppers.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
        if reported.contains(&version) {
            return false;
        }
        reported.push(version);
        true
    }

    /// Whether tenants may set a key's rate plan.
    pub(crate) fn tenant_rate_plans(&self) -> bool {
        self.inner.tenant_rate_plans
    }

    /// The preset in force.
    pub fn preset(&self) -> &Preset {
        &self.inner.preset
    }

    /// The key store.
    pub fn store(&self) -> &Arc<dyn KeyStore> {
        &self.inner.store
    }

    /// The clock.
    pub fn clock(&self) -> &Arc<dyn Clock> {
        &self.inner.clock
    }

    /// Renders `err` in the preset's style (see [`Renderer::render`](crate::response::Renderer::render)).
    pub fn render(
        &self,
        err: &crate::AuthError,
        request_id: Option<&str>,
    ) -> crate::response::Response {
        self.inner.preset.renderer.render(err, request_id)
    }

    /// The rate plan of a key: its own, else the default for its kind. A key naming a plan the
    /// preset no longer has gets the default for its kind.
    pub fn plan_for(&self, record: &KeyRecord) -> Option<&RatePlan> {
        let plans = &self.inner.preset.plans;
        record
            .rate_plan
            .as_deref()
            .and_then(|name| plans.get(name))
            .or_else(|| plans.default_plan(record.kind))
    }

    /// The windows that limit a key: its own ([`KeyRecord::rate_limits`]) if it has them, else
    /// its plan's ([`plan_for`](Self::plan_for)).
    pub fn limits_for<'a>(&'a self, record: &'a KeyRecord) -> Option<&'a RatePlan> {
        record.rate_limits.as_ref().or_else(|| self.plan_for(record))
    }

    /// Whether an [`EventSink`] listens.
    #[inline]
    pub(crate) fn has_events(&self) -> bool {
        self.inner.events.is_some()
    }

    pub(crate) fn emit(&self, event: Event<'_>) {
        if let Some(sink) = &self.inner.events {
            sink.on_event(&event);
        }
    }

    /// Sends the usage counted in memory to the store in one batch, and the networks keys were
    /// used from (reporting those new to a key as [`Event::NewNetwork`]). A batch the store
    /// refuses is kept for the next flush. Returns how many keys' usage it sent.
    ///
    /// # Errors
    /// The store's error; nothing is lost.
    pub async fn flush_usage(&self) -> Result<usize, StoreError> {
        let networks = self.flush_networks().await;
        let batch = self.inner.usage.drain();
        if batch.is_empty() {
            return networks.map(|()| 0);
        }
        match self.inner.store.record_usage(&batch).await {
            Ok(()) => {
                tracing::debug!(keys = batch.len(), "usage flushed");
                networks.map(|()| batch.len())
            }
            Err(e) => {
                tracing::warn!(error = %e, keys = batch.len(), "usage flush failed; keeping it for the next one");
                self.inner.usage.restore(&batch);
                Err(e)
            }
        }
    }

    /// Sends the networks keys were used from to the store, and reports those it had not seen
    /// for their keys as [`Event::NewNetwork`].
    async fn flush_networks(&self) -> Result<(), StoreError> {
        let seen = self.inner.usage.drain_networks();
        if seen.is_empty() {
            return Ok(());
        }
        match self.inner.store.record_networks(&seen).await {
            Ok(new) => {
                for s in new {
                    tracing::info!(key_id = %s.id, network = %s.network, "key used from a new network");
                    self.emit(Event::NewNetwork {
                        key_id: s.id,
                        network: s.network,
                        seen_at: s.seen_at,
                    });
                }
                Ok(())
            }
            Err(e) => {
                tracing::warn!(error = %e, sightings = seen.len(), "network flush failed; keeping it for the next one");
                self.inner.usage.restore_networks(&seen);
                Err(e)
            }
        }
    }

    /// Periodic upkeep: flushes usage and drops rate-limit and throttle counters whose windows
    /// have ended.
    ///
    /// # Errors
    /// The store's error from the usage flush; the sweeps happen regardless.
    pub async fn maintain(&self) -> Result<(), StoreError> {
        let now = self.inner.clock.now();
        if let Some(local) = &self.inner.local_limiter {
            local.sweep(now);
        }
        if let Some(throttle) = &self.inner.throttle {
            throttle.sweep(now);
        }
        self.flush_usage().await.map(drop)
    }

    /// Runs [`maintain`](Self::maintain) every `interval` until `shutdown` completes, then
    /// flushes usage one last time. Spawn it once per process:
    /// `tokio::spawn(gate.clone().run_maintenance(Duration::from_secs(5), shutdown))`.
    #[cfg(feature = "tokio")]
    pub async fn run_maintenance(
        self,
        interval: Duration,
        shutdown: impl std::future::Future<Output = ()>,
    ) {
        let mut ticks = tokio::time::interval(interval);
        ticks.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        tokio::pin!(shutdown);
        loop {
            tokio::select! {
                _ = ticks.tick() => {
                    let _ = self.maintain().await;
                }
                () = &mut shutdown => break,
            }
        }
        if let Err(e) = self.flush_usage().await {
            tracing::error!(error = %e, "final usage flush failed; the pending usage is lost");
        }
    }
}
