//! What to mint.

use ipnet::IpNet;

use crate::clock::Timestamp;
use crate::format::Environment;
use crate::limit::{RatePlan, Window};
use crate::scope::{ScopeError, ScopeSet};
use crate::store::{KeyKind, Metadata, Owner, Refill};

/// What to mint: owner, name and settings.
///
/// ```
/// use keygate::format::Environment;
/// use keygate::manage::NewKey;
/// use keygate::store::{KeyKind, Owner};
///
/// let new = NewKey::new(Owner::workspace("wks_1"), "deploy bot")
///     .scopes(["tasks:read", "tasks:write"])?
///     .kind(KeyKind::Service)
///     .environment(Environment::Test)
///     .description("runs the nightly deploy");
/// # let _ = new;
/// assert!(NewKey::new(Owner::workspace("wks_1"), "k").scopes(["not a scope"]).is_err());
/// # Ok::<(), keygate::scope::ScopeError>(())
/// ```
#[derive(Debug, Clone)]
pub struct NewKey {
    pub(super) owner: Owner,
    pub(super) name: String,
    pub(super) description: Option<String>,
    pub(super) scopes: ScopeSet,
    pub(super) kind: KeyKind,
    pub(super) environment: Option<Environment>,
    pub(super) expires_at: Option<Timestamp>,
    pub(super) rate_plan: Option<String>,
    pub(super) rate_limits: Option<RatePlan>,
    pub(super) metadata: Option<Metadata>,
    pub(super) allowed_ips: Vec<IpNet>,
    pub(super) remaining: Option<u64>,
    pub(super) refill: Option<Refill>,
}

impl NewKey {
    /// A user key for `owner` called `name`, with no scopes, no expiry and the default plan; live
    /// when the operator mints it, in the caller's environment when a caller does.
    pub fn new(owner: Owner, name: impl Into<String>) -> Self {
        NewKey {
            owner,
            name: name.into(),
            description: None,
            scopes: ScopeSet::new(),
            kind: KeyKind::User,
            environment: None,
            expires_at: None,
            rate_plan: None,
            rate_limits: None,
            metadata: None,
            allowed_ips: Vec::new(),
            remaining: None,
            refill: None,
        }
    }

    /// The scopes to grant.
    ///
    /// # Errors
    /// [`ScopeError::Invalid`] for a text that is not a scope.
    pub fn scopes<I, S>(mut self, scopes: I) -> Result<Self, ScopeError>
    where
        I: IntoIterator<Item = S>,
        S: AsRef<str>,
    {
        self.scopes = ScopeSet::parse(scopes)?;
        Ok(self)
    }

    /// The scopes to grant, already read.
    pub fn scope_set(mut self, scopes: ScopeSet) -> Self {
        self.scopes = scopes;
        self
    }

    /// A description for people.
    pub fn description(mut self, description: impl Into<String>) -> Self {
        self.description = Some(description.into());
        self
    }

    /// User key (default) or service token.
    pub fn kind(mut self, kind: KeyKind) -> Self {
        self.kind = kind;
        self
    }

    /// Live or test.
    pub fn environment(mut self, environment: Environment) -> Self {
        self.environment = Some(environment);
        self
    }

    /// When the key stops working.
    pub fn expires_at(mut self, at: Timestamp) -> Self {
        self.expires_at = Some(at);
        self
    }

    /// A rate plan by name, instead of the default for the key's kind.
    pub fn rate_plan(mut self, plan: impl Into<String>) -> Self {
        self.rate_plan = Some(plan.into());
        self
    }

    /// Rate-limit windows of the key's own, which limit it instead of its plan's (10 a second
    /// and 1,000 an hour); none given leaves it on its plan's.
    ///
    /// ```
    /// use std::sync::Arc;
    /// use keygate::clock::{ManualClock, Timestamp};
    /// use keygate::{AuthError, Keygate, Peer, limit::Window, manage::NewKey, preset::Preset, store::Owner};
    ///
    /// # #[tokio::main(flavor = "current_thread")]
    /// # async fn main() -> Result<(), Box<dyn std::error::Error>> {
    /// let clock = Arc::new(ManualClock::new(Timestamp::from_unix_seconds(1_800_000_000)));
    /// let gate = Keygate::builder(Preset::livetest()).random_pepper().clock(clock).build()?;
    /// let windows: [Window; 2] = ["2/s".parse()?, "1000/h".parse()?];
    /// let minted = gate.mint(NewKey::new(Owner::workspace("wks_1"), "bot").rate_limits(windows)).await?;
    /// let auth = format!("Bearer {}", minted.key.expose_secret());
    /// let headers = [("authorization", auth.as_str())];
    /// let first = gate.authenticate(&headers, Peer::default()).await?;
    /// assert_eq!(first.rate_limit().map(|r| (r.limit, r.remaining)), Some((2, 1)));
    /// gate.authenticate(&headers, Peer::default()).await?;
    /// let third = gate.authenticate(&headers, Peer::default()).await;
    /// assert!(matches!(third, Err(AuthError::RateLimited(_))));
    /// # Ok(())
    /// # }
    /// ```
    pub fn rate_limits(mut self, windows: impl IntoIterator<Item = Window>) -> Self {
        let plan = RatePlan::of_key(windows);
        self.rate_limits = (!plan.windows().is_empty()).then_some(plan);
        self
    }

    /// A JSON object the service reads on every request
    /// ([`Principal::metadata`](crate::Principal::metadata)).
    pub fn metadata(mut self, metadata: Metadata) -> Self {
        self.metadata = Some(metadata);
        self
    }

    /// The networks the key may be used from (CIDRs); from anywhere when none are given.
    pub fn allowed_ips(mut self, networks: impl IntoIterator<Item = IpNet>) -> Self {
        self.allowed_ips = networks.into_iter().map(|n| n.trunc()).collect();
        self
    }

    /// Credits: every authenticated request spends one, and a request the balance does not
    /// cover is refused with 429 `usage_exceeded`. Without credits (the default) a key is
    /// unlimited.
    ///
    /// ```
    /// use keygate::{AuthError, Keygate, manage::NewKey, preset::Preset, store::Owner};
    ///
    /// # #[tokio::main(flavor = "current_thread")]
    /// # async fn main() -> Result<(), Box<dyn std::error::Error>> {
    /// let gate = Keygate::builder(Preset::livetest()).random_pepper().build()?;
    /// let minted = gate.mint(NewKey::new(Owner::workspace("wks_1"), "trial").remaining(2)).await?;
    /// let auth = format!("Bearer {}", minted.key.expose_secret());
    /// for left in [1, 0] {
    ///     let principal = gate.authenticate(&[("authorization", auth.as_str())], None).await?;
    ///     assert_eq!(principal.remaining(), Some(left));
    /// }
    /// let refused = gate.authenticate(&[("authorization", auth.as_str())], None).await;
    /// assert!(matches!(refused, Err(AuthError::UsageExceeded { .. })));
    /// # Ok(())
    /// # }
    /// ```
    pub fn remaining(mut self, credits: u64) -> Self {
        self.remaining = Some(credits);
        self
    }

    /// A refill of the key's credits: the balance is set to its amount at every refill time.
    /// Without [`remaining`](Self::remaining), the key starts with the refill's amount.
    pub fn refill(mut self, refill: Refill) -> Self {
        self.refill = Some(refill);
        self
    }

    /// The credits the key starts with, if it is metered.
    pub(crate) fn credits_asked(&self) -> Option<(Option<u64>, Option<Refill>)> {
        (self.remaining.is_some() || self.refill.is_some()).then_some((self.remaining, self.refill))
    }

    pub(crate) fn owner(&self) -> &Owner {
        &self.owner
    }

    pub(crate) fn scope_list(&self) -> &ScopeSet {
        &self.scopes
    }

    pub(crate) fn key_kind(&self) -> KeyKind {
        self.kind
    }

    pub(crate) fn environment_or(&self, default: Environment) -> Environment {
        self.environment.unwrap_or(default)
    }

    pub(crate) fn has_rate_plan(&self) -> bool {
        self.rate_plan.is_some()
    }

    pub(crate) fn has_rate_limits(&self) -> bool {
        self.rate_limits.is_some()
    }

    pub(crate) fn with_environment_default(mut self, default: Environment) -> Self {
        self.environment.get_or_insert(default);
        self
    }
}
