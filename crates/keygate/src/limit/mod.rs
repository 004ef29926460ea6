//! Rate plans, rate limiters and the failed-authentication throttle.
//!
//! A [`RatePlan`] holds one or more windows that all apply at once (the live/test key API: 100 a minute and
//! 1,000 an hour). [`RatePlans`] names the plans of a deployment and which one each kind of key
//! gets by default (Plane: 60 a minute for user keys, 300 for service tokens); a key can
//! name its own plan instead.
//!
//! Windows are fixed and aligned to the epoch: a per-minute window runs from one minute to the
//! next, as `X-RateLimit-Reset` says. A [`RateLimiter`] decides; the [`InProcessLimiter`] does so
//! in memory for one process, and a shared one (such as Redis) can replace it for replicas. The
//! failed-authentication throttle counts failed authentications per client address
//! ([`KeygateBuilder::failure_budget`](crate::KeygateBuilder::failure_budget)).
//!
//! A key can also carry windows of its own instead of its plan's
//! ([`NewKey::rate_limits`](crate::manage::NewKey::rate_limits)).
//!
//! ```
//! use std::time::Duration;
//! use keygate::limit::RatePlan;
//!
//! let free = RatePlan::new("free").per_minute(100).per_hour(1_000);
//! assert_eq!(free.windows().len(), 2);
//! assert_eq!(free.windows()[1].period(), Duration::from_secs(3600));
//! ```

mod memory;
mod throttle;
mod window;

use std::sync::Arc;
use std::time::Duration;

pub use memory::InProcessLimiter;
pub(crate) use throttle::FailureThrottle;
pub use throttle::{ClientGrouping, DEFAULT_MAX_CLIENTS};
pub use window::{Counters, Decision};

use crate::clock::Timestamp;
use crate::format::KeyId;
use crate::store::KeyKind;

/// A limiter could not decide.
///
/// ```
/// use keygate::limit::LimiterError;
///
/// // What a limiter backed by Redis returns when Redis does not answer.
/// let err = LimiterError::Unavailable("connection refused".into());
/// assert_eq!(err.to_string(), "rate limiter unreachable");
/// assert_eq!(std::error::Error::source(&err).unwrap().to_string(), "connection refused");
/// ```
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum LimiterError {
    /// The limiter's backend could not be reached or did not answer in time.
    #[error("rate limiter unreachable")]
    Unavailable(#[source] Box<dyn std::error::Error + Send + Sync>),
}

/// Decides whether a key may make a request. Object safe: use it as `Arc<dyn RateLimiter>`.
///
/// A check for a plan with no windows answers `Ok(None)`: nothing to limit.
///
/// ```
/// use std::sync::Arc;
/// use keygate::{AuthError, Keygate, Peer, clock::Timestamp, format::KeyId};
/// use keygate::limit::{Decision, LimiterError, RateLimiter, RatePlan};
/// use keygate::{manage::NewKey, preset::Preset, store::Owner};
///
/// /// A shared limiter whose backend is down.
/// struct Down;
///
/// #[async_trait::async_trait]
/// impl RateLimiter for Down {
///     async fn check(&self, _: &KeyId, _: &RatePlan, _: u64, _: Timestamp) -> Result<Option<Decision>, LimiterError> {
///         Err(LimiterError::Unavailable("connection refused".into()))
///     }
///     async fn status(&self, _: &KeyId, _: &RatePlan, _: Timestamp) -> Result<Option<Decision>, LimiterError> {
///         Err(LimiterError::Unavailable("connection refused".into()))
///     }
/// }
///
/// # #[tokio::main(flavor = "current_thread")]
/// # async fn main() -> Result<(), Box<dyn std::error::Error>> {
/// let gate = Keygate::builder(Preset::livetest()).random_pepper().limiter(Arc::new(Down)).build()?;
/// let minted = gate.mint(NewKey::new(Owner::workspace("wks_1"), "ci")).await?;
/// let bearer = format!("Bearer {}", minted.key.expose_secret());
/// let refused = gate.authenticate(&[("Authorization", bearer.as_str())], Peer::default()).await;
/// // Refused, under the default `LimiterFailure::Closed`.
/// assert!(matches!(refused, Err(AuthError::Unavailable(_))));
/// # Ok(())
/// # }
/// ```
#[async_trait::async_trait]
pub trait RateLimiter: Send + Sync + 'static {
    /// Decides without I/O when the limiter can (an in-process limiter always can). The
    /// default says `None`, sending every check to [`check`](Self::check).
    fn check_now(
        &self,
        key: &KeyId,
        plan: &RatePlan,
        cost: u64,
        now: Timestamp,
    ) -> Option<Result<Option<Decision>, LimiterError>> {
        let _ = (key, plan, cost, now);
        None
    }

    /// Decides a request of `key` under `plan` that counts `cost` times (1 for most routes; see
    /// [`Counters::decide_weighted`]), counting it if it passes.
    ///
    /// # Errors
    /// [`LimiterError::Unavailable`] when the limiter cannot decide.
    async fn check(
        &self,
        key: &KeyId,
        plan: &RatePlan,
        cost: u64,
        now: Timestamp,
    ) -> Result<Option<Decision>, LimiterError>;

    /// What [`check`](Self::check) would answer, without counting anything.
    ///
    /// # Errors
    /// [`LimiterError::Unavailable`] when the limiter cannot decide.
    async fn status(
        &self,
        key: &KeyId,
        plan: &RatePlan,
        now: Timestamp,
    ) -> Result<Option<Decision>, LimiterError>;
}

/// One limit: at most [`limit`](Self::limit) requests in each [`period`](Self::period).
///
/// ```
/// use std::time::Duration;
/// use keygate::{DEFAULT_FAILURE_BUDGET, limit::Window};
///
/// let per_minute = Window::new(100, Duration::from_secs(60));
/// assert_eq!((per_minute.limit(), per_minute.period_ms()), (100, 60_000));
/// assert_eq!(DEFAULT_FAILURE_BUDGET, per_minute);
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Window {
    limit: u64,
    period: Duration,
    /// The period in whole milliseconds, at least 1: worked out once, not on every check.
    period_ms: i64,
}

impl Window {
    /// At most `limit` requests every `period`.
    pub const fn new(limit: u64, period: Duration) -> Self {
        let ms = period.as_millis();
        let period_ms = if ms == 0 {
            1
        } else if ms > i64::MAX as u128 {
            i64::MAX
        } else {
            ms as i64
        };
        Window { limit, period, period_ms }
    }

    /// The period in whole milliseconds, at least 1.
    pub const fn period_ms(&self) -> i64 {
        self.period_ms
    }

    /// Requests allowed in one period.
    pub const fn limit(&self) -> u64 {
        self.limit
    }

    /// Length of the window.
    pub const fn period(&self) -> Duration {
        self.period
    }
}

impl std::fmt::Display for Window {
    /// `limit/period`: `10/1s`, `1000/3600s`, `5/500ms`, the form [`FromStr`](std::str::FromStr)
    /// reads back.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        if self.period_ms % 1000 == 0 {
            write!(f, "{}/{}s", self.limit, self.period_ms / 1000)
        } else {
            write!(f, "{}/{}ms", self.limit, self.period_ms)
        }
    }
}

/// As its text form, `"10/1s"`.
impl serde::Serialize for Window {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.collect_str(self)
    }
}

/// A window written as text could not be read.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("a window is `LIMIT/PERIOD`, such as 10/s, 1000/h, 100/30s or 5/500ms")]
pub struct InvalidWindow;

impl std::str::FromStr for Window {
    type Err = InvalidWindow;

    /// `LIMIT/PERIOD`: a period is a unit (`ms`, `s`, `min`, `h`, `d`; also `m` for minutes)
    /// with an optional whole count before it (`30s`), and is never zero.
    ///
    /// ```
    /// use std::time::Duration;
    /// use keygate::limit::Window;
    ///
    /// let w: Window = "1000/h".parse()?;
    /// assert_eq!((w.limit(), w.period()), (1000, Duration::from_secs(3600)));
    /// assert_eq!("10/30s".parse::<Window>()?.to_string(), "10/30s");
    /// assert!("10/0s".parse::<Window>().is_err() && "ten/s".parse::<Window>().is_err());
    /// # Ok::<(), keygate::limit::InvalidWindow>(())
    /// ```
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let (limit, period) = s.trim().split_once('/').ok_or(InvalidWindow)?;
        let limit: u64 = limit.parse().map_err(|_| InvalidWindow)?;
        let digits = period.find(|c: char| !c.is_ascii_digit()).ok_or(InvalidWindow)?;
        let (count, unit) = period.split_at(digits);
        let count: u64 =
            if count.is_empty() { 1 } else { count.parse().map_err(|_| InvalidWindow)? };
        let unit_ms: u64 = match unit {
            "ms" => 1,
            "s" | "sec" | "second" => 1_000,
            "m" | "min" | "minute" => 60_000,
            "h" | "hour" => 3_600_000,
            "d" | "day" => 86_400_000,
            _ => return Err(InvalidWindow),
        };
        let ms = count.checked_mul(unit_ms).filter(|&ms| ms > 0).ok_or(InvalidWindow)?;
        Ok(Window::new(limit, Duration::from_millis(ms)))
    }
}

/// Windows as one line of text, `10/1s,1000/3600s`: how a store keeps a key's own windows.
///
/// ```
/// use keygate::limit::{windows_from_text, windows_to_text, Window};
///
/// let windows: Vec<Window> = windows_from_text("10/s, 1000/h")?;
/// assert_eq!(windows_to_text(&windows), "10/1s,1000/3600s");
/// assert_eq!(windows_from_text(&windows_to_text(&windows))?, windows);
/// assert!(windows_from_text("")?.is_empty());
/// # Ok::<(), keygate::limit::InvalidWindow>(())
/// ```
pub fn windows_to_text(windows: &[Window]) -> String {
    windows.iter().map(ToString::to_string).collect::<Vec<_>>().join(",")
}

/// Reads what [`windows_to_text`] wrote (and the friendlier forms, `10/s`).
///
/// # Errors
/// [`InvalidWindow`] for any part that is not a window.
pub fn windows_from_text(text: &str) -> Result<Vec<Window>, InvalidWindow> {
    if text.trim().is_empty() {
        return Ok(Vec::new());
    }
    text.split(',').map(str::parse).collect()
}

/// The name of a key's own limits ([`RatePlan::of_key`]).
const KEY_PLAN: &str = "key";

/// A named set of windows that all apply to a key at once.
///
/// ```
/// use std::time::Duration;
/// use keygate::limit::RatePlan;
///
/// let burst = RatePlan::new("burst").window(10, Duration::from_secs(1)).per_minute(300);
/// assert_eq!(burst.name(), "burst");
/// let limits: Vec<u64> = burst.windows().iter().map(|w| w.limit()).collect();
/// assert_eq!(limits, [10, 300]);
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RatePlan {
    name: Arc<str>,
    windows: Vec<Window>,
}

impl RatePlan {
    /// A plan with no windows yet (it limits nothing until one is added).
    ///
    /// Windows shorter than a millisecond count as one millisecond.
    pub fn new(name: impl Into<Arc<str>>) -> Self {
        RatePlan { name: name.into(), windows: Vec::new() }
    }

    /// Adds a window of `limit` requests every `period`.
    pub fn window(mut self, limit: u64, period: Duration) -> Self {
        self.windows.push(Window::new(limit, period));
        self
    }

    /// Adds a window of `limit` requests a minute.
    pub fn per_minute(self, limit: u64) -> Self {
        self.window(limit, Duration::from_secs(60))
    }

    /// Adds a window of `limit` requests an hour.
    pub fn per_hour(self, limit: u64) -> Self {
        self.window(limit, Duration::from_secs(3600))
    }

    /// A plan of `windows` that only one key carries: its own limits
    /// ([`KeyRecord::rate_limits`](crate::store::KeyRecord::rate_limits)), named `key`.
    pub fn of_key(windows: impl IntoIterator<Item = Window>) -> Self {
        RatePlan { name: Arc::from(KEY_PLAN), windows: windows.into_iter().collect() }
    }

    /// The plan's name.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// Its windows.
    pub fn windows(&self) -> &[Window] {
        &self.windows
    }
}

/// The plans of a deployment, and the default plan for each kind of key.
///
/// ```
/// use keygate::{limit::{RatePlan, RatePlans}, store::KeyKind};
///
/// let plans = RatePlans::new()
///     .default_for(KeyKind::User, RatePlan::new("api_key").per_minute(60))
///     .plan(RatePlan::new("partner").per_minute(1_000));
/// assert_eq!(plans.default_plan(KeyKind::User).map(|p| p.name()), Some("api_key"));
/// assert!(plans.default_plan(KeyKind::Service).is_none()); // service tokens are not limited
/// assert!(plans.get("partner").is_some());
/// ```
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct RatePlans {
    plans: Vec<RatePlan>,
    user_default: Option<Arc<str>>,
    service_default: Option<Arc<str>>,
}

impl RatePlans {
    /// No plans: nothing is rate limited unless a key is given a plan.
    pub fn new() -> Self {
        Self::default()
    }

    /// Adds a plan a key can be given by name.
    pub fn plan(mut self, plan: RatePlan) -> Self {
        self.plans.retain(|p| p.name != plan.name);
        self.plans.push(plan);
        self
    }

    /// Adds `plan` and makes it the default for keys of `kind`.
    pub fn default_for(mut self, kind: KeyKind, plan: RatePlan) -> Self {
        let name = plan.name.clone();
        self = self.plan(plan);
        match kind {
            KeyKind::User => self.user_default = Some(name),
            KeyKind::Service => self.service_default = Some(name),
        }
        self
    }

    /// The plan called `name`.
    pub fn get(&self, name: &str) -> Option<&RatePlan> {
        self.plans.iter().find(|p| &*p.name == name)
    }

    /// The plan a key of `kind` gets when it names none.
    pub fn default_plan(&self, kind: KeyKind) -> Option<&RatePlan> {
        let name = match kind {
            KeyKind::User => self.user_default.as_deref(),
            KeyKind::Service => self.service_default.as_deref(),
        };
        name.and_then(|n| self.get(n))
    }

    /// Every plan.
    pub fn plans(&self) -> &[RatePlan] {
        &self.plans
    }
}

/// What a rate-limit decision reports: the figures of the `X-RateLimit-*` headers, and of the
/// IETF `RateLimit-Policy` / `RateLimit` fields.
///
/// ```
/// use std::time::Duration;
/// use keygate::{clock::Timestamp, limit::RateLimitInfo};
///
/// let info = RateLimitInfo {
///     limit: 100,
///     remaining: 0,
///     reset: Timestamp::from_unix_millis(1_800_000_060_500),
///     retry_after: Some(Duration::from_millis(2_100)),
///     window: Duration::from_secs(60),
/// };
/// assert_eq!(info.retry_after_secs(), Some(3)); // rounded up, never early
/// assert_eq!(info.headers()[2], ("x-ratelimit-reset", "1800000061".to_string()));
/// let now = Timestamp::from_unix_seconds(1_800_000_058);
/// assert_eq!(
///     info.standard_headers(now),
///     [
///         ("ratelimit-policy", r#""60s";q=100;w=60"#.to_string()),
///         ("ratelimit", r#""60s";r=0;t=3"#.to_string()),
///     ]
/// );
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RateLimitInfo {
    /// Requests allowed in the window that binds (`X-RateLimit-Limit`).
    pub limit: u64,
    /// Requests left in that window (`X-RateLimit-Remaining`).
    pub remaining: u64,
    /// When that window has room again (`X-RateLimit-Reset`, epoch seconds).
    pub reset: Timestamp,
    /// For a refused request, how long until one would pass (`Retry-After`, rounded up).
    pub retry_after: Option<Duration>,
    /// The length of the window that binds (the `w` of `RateLimit-Policy`).
    pub window: Duration,
}

impl RateLimitInfo {
    /// `Retry-After` in whole seconds, rounded up so it is never early; at least 1.
    pub fn retry_after_secs(&self) -> Option<u64> {
        self.retry_after.map(|d| d.as_millis().div_ceil(1000).max(1) as u64)
    }

    /// The reset time in epoch seconds, rounded up.
    pub fn reset_secs(&self) -> i64 {
        self.reset.unix_seconds_ceil()
    }

    /// The three `X-RateLimit-*` headers, in that order.
    pub fn headers(&self) -> [(&'static str, String); 3] {
        [
            ("x-ratelimit-limit", self.limit.to_string()),
            ("x-ratelimit-remaining", self.remaining.to_string()),
            ("x-ratelimit-reset", self.reset_secs().to_string()),
        ]
    }

    /// The name of the policy the binding window is reported under: its length, `"60s"`,
    /// `"3600s"`, so that a plan's minute and hour windows are told apart.
    pub fn policy_name(&self) -> String {
        format!("{}s", self.window.as_secs())
    }

    /// The IETF rate-limit fields (the HTTPAPI working group's `RateLimit header fields for
    /// HTTP`): `RateLimit-Policy: "60s";q=100;w=60` (quota and window in seconds) and
    /// `RateLimit: "60s";r=42;t=17` (remaining, and seconds from `now` until the window has
    /// room again, rounded up).
    pub fn standard_headers(&self, now: Timestamp) -> [(&'static str, String); 2] {
        let until = self.reset.duration_since(now);
        let t = until.as_millis().div_ceil(1000) as u64;
        self.standard_headers_with(t)
    }

    /// [`standard_headers`](Self::standard_headers) with `t` given.
    pub(crate) fn standard_headers_with(&self, t: u64) -> [(&'static str, String); 2] {
        let name = self.policy_name();
        [
            (
                "ratelimit-policy",
                format!("\"{name}\";q={};w={}", self.limit, self.window.as_secs()),
            ),
            ("ratelimit", format!("\"{name}\";r={};t={t}", self.remaining)),
        ]
    }
}
