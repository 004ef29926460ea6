//! Key management on behalf of a caller: no caller ever grants more than it holds.
//!
//! The lifecycle methods of [`Keygate`] ([`mint`](Keygate::mint),
//! [`update_key`](Keygate::update_key), …) are the operator's: they act on any key. A tenant
//! (an API key holding the admin scope, or a user the host has logged in) acts through
//! [`Keygate::acting_for`], which applies these rules, the same for every adapter and preset:
//!
//! | rule | what it means | refusal |
//! | --- | --- | --- |
//! | subset | the scopes a caller mints, sets, or receives by rotation are covered by its own (after implications; a wildcard only from a covering wildcard) | [`ManageError::ScopeNotHeld`] (403 `scope_not_held`) |
//! | environment | a test caller sees and manages test keys only, and mints test keys; a live caller manages both | live keys are [`ManageError::NotFound`]; asking for live is [`ManageError::EnvironmentNotAllowed`] (403) |
//! | owner | a caller with a user manages that user's keys only and mints user keys for that user; a caller without one manages its whole workspace; another workspace is never visible | [`ManageError::NotFound`] (404); [`ManageError::FieldNotAllowed`] (403) for `kind` |
//! | credits | a caller whose own key has credits mints only keys with credits, with a balance no larger than its own and a refill only as often and as large as its own; it cannot lift a key's credits or raise them past its own balance | [`ManageError::CreditsNotHeld`] (403 `credits_not_held`) |
//! | plan | a key's rate plan is the operator's to set, unless [`tenant_rate_plans`](crate::KeygateBuilder::tenant_rate_plans) lets tenants choose among the operator's plans; a key's own rate-limit windows are always the operator's; a workspace holds at most [`max_keys_per_workspace`](crate::KeygateBuilder::max_keys_per_workspace) keys in force | [`ManageError::FieldNotAllowed`] (403); [`ManageError::KeyLimitReached`] (409) |
//!
//! A refused request creates and changes nothing.
//!
//! ```
//! use keygate::{Keygate, caller::Caller, format::Environment, manage::NewKey, preset::Preset};
//! use keygate::manage::ManageError;
//! use keygate::scope::ScopeSet;
//! use keygate::store::Owner;
//!
//! # #[tokio::main(flavor = "current_thread")]
//! # async fn main() -> Result<(), Box<dyn std::error::Error>> {
//! let gate = Keygate::builder(Preset::livetest()).random_pepper().build()?;
//! let caller = Caller::new("wks_1", Environment::Test, ScopeSet::parse(["admin:*"])?);
//! let keys = gate.acting_for(&caller);
//!
//! // A test caller mints test keys by default...
//! let minted = keys.mint(NewKey::new(Owner::workspace("wks_1"), "CI").scopes(["tasks:read"])?).await?;
//! assert!(minted.key.expose_secret().starts_with("sk_test_"));
//! // ...and may not ask for live ones.
//! let live = NewKey::new(Owner::workspace("wks_1"), "prod").environment(Environment::Live);
//! assert!(matches!(keys.mint(live).await, Err(ManageError::EnvironmentNotAllowed)));
//! # Ok(())
//! # }
//! ```

use std::time::Duration;

use crate::format::{Environment, KeyId};
use crate::gate::Keygate;
use crate::manage::{KeyInfo, KeyPage, ManageError, MintedKey, NewKey};
use crate::scope::ScopeSet;
use crate::store::{
    Cursor, DayCount, KeyKind, KeyRecord, KeyUpdate, ListQuery, Refill, RefillInterval,
};
use crate::verify::Principal;

/// Who a management request acts for: a workspace, optionally a user in it, an environment and
/// the scopes the caller holds.
///
/// ```
/// use keygate::{caller::Caller, format::Environment, scope::ScopeSet};
///
/// let caller = Caller::new("wks_1", Environment::Live, ScopeSet::parse(["admin:*"])?).user("usr_7");
/// assert_eq!(caller.workspace_id(), "wks_1");
/// assert_eq!(caller.user_id(), Some("usr_7"));
/// assert_eq!(caller.environment(), Environment::Live);
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Caller {
    workspace_id: String,
    user_id: Option<String>,
    environment: Environment,
    scopes: ScopeSet,
    /// The caller's own balance and refill, when its key has credits.
    credits: Option<(u64, Option<Refill>)>,
}

impl Caller {
    /// A caller for a whole workspace (no user), in `environment`, holding `scopes`.
    pub fn new(
        workspace_id: impl Into<String>,
        environment: Environment,
        scopes: ScopeSet,
    ) -> Self {
        Caller {
            workspace_id: workspace_id.into(),
            user_id: None,
            environment,
            scopes,
            credits: None,
        }
    }

    /// The same caller, holding `remaining` credits refilled by `refill`: it can then grant
    /// no more than that (see [`crate::caller`]).
    ///
    /// ```
    /// use keygate::{Keygate, caller::Caller, format::Environment, preset::Preset};
    /// use keygate::{manage::{ManageError, NewKey}, scope::ScopeSet, store::Owner};
    ///
    /// # #[tokio::main(flavor = "current_thread")]
    /// # async fn main() -> Result<(), Box<dyn std::error::Error>> {
    /// let gate = Keygate::builder(Preset::livetest()).random_pepper().build()?;
    /// let caller = Caller::new("wks_1", Environment::Live, ScopeSet::parse(["admin:*"])?).credits(10, None);
    /// let keys = gate.acting_for(&caller);
    /// let new = || NewKey::new(Owner::workspace("wks_1"), "sub");
    /// assert!(matches!(keys.mint(new()).await, Err(ManageError::CreditsNotHeld("remaining"))));
    /// assert!(matches!(keys.mint(new().remaining(11)).await, Err(ManageError::CreditsNotHeld("remaining"))));
    /// keys.mint(new().remaining(10)).await?;
    /// # Ok(())
    /// # }
    /// ```
    pub fn credits(mut self, remaining: u64, refill: Option<Refill>) -> Self {
        self.credits = Some((remaining, refill));
        self
    }

    /// The same caller, acting for one user of the workspace.
    pub fn user(mut self, user_id: impl Into<String>) -> Self {
        self.user_id = Some(user_id.into());
        self
    }

    /// The caller a verified key acts as: its workspace, user, environment and scopes.
    pub fn of(principal: &Principal) -> Self {
        Caller {
            workspace_id: principal.workspace_id().to_owned(),
            user_id: principal.user_id().map(str::to_owned),
            environment: principal.environment(),
            scopes: principal.scopes().clone(),
            credits: principal
                .record()
                .credits
                .map(|c| (principal.remaining().unwrap_or(c.remaining), c.refill)),
        }
    }

    /// The caller a key's stored record acts as, as [`of`](Self::of) for the key verified:
    /// for a session that outlives the request it was opened with, read again from the store
    /// so that a key's changed scopes or spent credits count at once.
    pub fn of_record(record: &KeyRecord) -> Self {
        Caller {
            workspace_id: record.owner.workspace_id.clone(),
            user_id: record.owner.user_id.clone(),
            environment: record.environment,
            scopes: record.scopes.clone(),
            credits: record.credits.map(|c| (c.remaining, c.refill)),
        }
    }

    /// Its workspace.
    pub fn workspace_id(&self) -> &str {
        &self.workspace_id
    }

    /// Its user, if it acts for one.
    pub fn user_id(&self) -> Option<&str> {
        self.user_id.as_deref()
    }

    /// Its environment.
    pub fn environment(&self) -> Environment {
        self.environment
    }

    /// The scopes it holds.
    pub fn scopes(&self) -> &ScopeSet {
        &self.scopes
    }

    /// Whether the caller may see and manage `record`.
    fn sees(&self, record: &KeyRecord) -> bool {
        record.owner.workspace_id == self.workspace_id
            && (self.environment == Environment::Live || record.environment == self.environment)
            && (self.user_id.is_none() || record.owner.user_id == self.user_id)
    }
}

/// Key management for one [`Caller`], from [`Keygate::acting_for`].
///
/// ```
/// use keygate::{Keygate, caller::Caller, format::Environment, manage::NewKey, preset::Preset};
/// use keygate::{manage::ManageError, scope::ScopeSet, store::Owner};
///
/// # #[tokio::main(flavor = "current_thread")]
/// # async fn main() -> Result<(), Box<dyn std::error::Error>> {
/// let gate = Keygate::builder(Preset::livetest()).random_pepper().build()?;
/// let caller = Caller::new("wks_1", Environment::Live, ScopeSet::parse(["admin:*"])?);
/// let keys = gate.acting_for(&caller);
/// // A caller cannot mint a key for another workspace.
/// let other = NewKey::new(Owner::workspace("wks_2"), "theirs");
/// assert!(matches!(keys.mint(other).await, Err(ManageError::FieldNotAllowed("owner"))));
/// # Ok(())
/// # }
/// ```
#[derive(Debug, Clone, Copy)]
pub struct CallerKeys<'a> {
    gate: &'a Keygate,
    caller: &'a Caller,
}

impl Keygate {
    /// Key management acting for `caller`, under the rules of [`crate::caller`].
    pub fn acting_for<'a>(&'a self, caller: &'a Caller) -> CallerKeys<'a> {
        CallerKeys { gate: self, caller }
    }
}

impl CallerKeys<'_> {
    /// Mints a key for the caller. Its owner must be the caller's workspace (and the caller's
    /// user, if it has one); its environment defaults to the caller's.
    ///
    /// # Errors
    /// As [`Keygate::mint`], and the refusals of the rules.
    pub async fn mint(&self, new: NewKey) -> Result<MintedKey, ManageError> {
        let caller = self.caller;
        let owner = new.owner();
        if owner.workspace_id != caller.workspace_id
            || (caller.user_id.is_some() && owner.user_id != caller.user_id)
        {
            return Err(ManageError::FieldNotAllowed("owner"));
        }
        if caller.user_id.is_some() && new.key_kind() != KeyKind::User {
            return Err(ManageError::FieldNotAllowed("kind"));
        }
        if new.has_rate_plan() && !self.gate.tenant_rate_plans() {
            return Err(ManageError::FieldNotAllowed("rate_plan"));
        }
        // A tenant may at most choose among the operator's plans: never write its own windows.
        if new.has_rate_limits() {
            return Err(ManageError::FieldNotAllowed("rate_limits"));
        }
        self.gate.preset().policy.validate(new.scope_list())?;
        let new = new.with_environment_default(caller.environment);
        if caller.environment == Environment::Test
            && new.environment_or(caller.environment) != Environment::Test
        {
            return Err(ManageError::EnvironmentNotAllowed);
        }
        self.held(new.scope_list())?;
        match new.credits_asked() {
            None => self.credits_held(Some(None), None)?,
            Some((remaining, refill)) => {
                let start = remaining.or(refill.map(|r| r.amount)).unwrap_or(0);
                self.credits_held(Some(Some(start)), refill.map(Some))?;
            }
        }
        self.gate.mint_within(new, Some(self.gate.max_keys())).await
    }

    /// A page of the keys the caller sees, oldest first.
    ///
    /// # Errors
    /// The store's failure.
    pub async fn list(&self, after: Option<Cursor>, limit: usize) -> Result<KeyPage, ManageError> {
        let caller = self.caller;
        let query = ListQuery {
            workspace_id: caller.workspace_id.clone(),
            user_id: caller.user_id.clone(),
            environment: (caller.environment == Environment::Test).then_some(Environment::Test),
            after,
            limit,
        };
        self.gate.list_page(&query).await
    }

    /// One key the caller sees, with its usage.
    ///
    /// # Errors
    /// [`ManageError::NotFound`] for a key the caller does not see; the store's failure.
    pub async fn get(&self, id: &KeyId) -> Result<KeyInfo, ManageError> {
        let record = self.visible(id).await?;
        let mut info = self.gate.info(&record, self.gate.now());
        info.recent_networks = Some(self.gate.store().recent_networks(id).await?);
        Ok(info)
    }

    /// Changes a key the caller sees. New scopes must be held by the caller, and so must the
    /// key's scopes to turn it back on or change its expiry; the plan only where the deployment
    /// lets tenants set it.
    ///
    /// # Errors
    /// As [`Keygate::update_key`], and the refusals of the rules.
    pub async fn update(&self, id: &KeyId, changes: KeyUpdate) -> Result<KeyInfo, ManageError> {
        if changes.rate_plan.is_some() && !self.gate.tenant_rate_plans() {
            return Err(ManageError::FieldNotAllowed("rate_plan"));
        }
        if changes.rate_limits.is_some() {
            return Err(ManageError::FieldNotAllowed("rate_limits"));
        }
        if let Some(scopes) = &changes.scopes {
            self.gate.preset().policy.validate(scopes)?;
            self.held(scopes)?;
        }
        self.credits_held(changes.remaining, changes.refill)?;
        let record = self.visible(id).await?;
        // Turning a key back on or moving its expiry gives it back power: only to a caller
        // that holds what the key holds, as for a rotation.
        if changes.disabled == Some(false) || changes.expires_at.is_some() {
            self.held(&record.scopes)?;
        }
        self.gate.update_key(id, changes).await
    }

    /// Revokes a key the caller sees.
    ///
    /// # Errors
    /// As [`Keygate::revoke_key`]; [`ManageError::NotFound`] for a key the caller does not see.
    pub async fn revoke(&self, id: &KeyId) -> Result<KeyInfo, ManageError> {
        self.visible(id).await?;
        self.gate.revoke_key(id).await
    }

    /// Rotates a key the caller sees and whose scopes it holds (it receives the new key). With a
    /// grace period both keys are in force for a while: refused at the workspace's cap.
    ///
    /// # Errors
    /// As [`Keygate::rotate_key`], and the refusals of the rules.
    pub async fn rotate(&self, id: &KeyId, grace: Duration) -> Result<MintedKey, ManageError> {
        self.gate
            .rotate_checked(id, grace, Some(self.gate.max_keys()), |record| {
                if !self.caller.sees(record) {
                    return Err(ManageError::NotFound(*id));
                }
                self.held(&record.scopes)
            })
            .await
    }

    /// The requests of a key the caller sees, per UTC day, for the `days` days up to today
    /// (the gate's clock): one entry per day, oldest first, days without requests as 0. What
    /// the usage flush has written: requests since the last flush are not in it yet.
    ///
    /// # Errors
    /// [`ManageError::NotFound`] for a key the caller does not see; the store's error.
    pub async fn usage(&self, id: &KeyId, days: u16) -> Result<Vec<DayCount>, ManageError> {
        self.visible(id).await?;
        let today = crate::store::Usage::day_of(self.gate.now());
        let first = today - i64::from(days.max(1)) + 1;
        let counted = self.gate.store().usage_days(id, first, today).await?;
        let mut counted = counted.into_iter().peekable();
        Ok((first..=today)
            .map(|day| {
                let count = counted.next_if(|c| c.day == day).map_or(0, |c| c.count);
                DayCount { day, count }
            })
            .collect())
    }

    async fn visible(&self, id: &KeyId) -> Result<std::sync::Arc<KeyRecord>, ManageError> {
        match self.gate.store().find(id).await? {
            Some(record) if self.caller.sees(&record) => Ok(record),
            _ => Err(ManageError::NotFound(*id)),
        }
    }

    /// The subset rule for credits: a caller with credits grants no unlimited key, no larger
    /// balance than its own and no refill more often or larger than its own.
    fn credits_held(
        &self,
        remaining: Option<Option<u64>>,
        refill: Option<Option<Refill>>,
    ) -> Result<(), ManageError> {
        let Some((own, own_refill)) = self.caller.credits else { return Ok(()) };
        if remaining.is_some_and(|r| r.is_none_or(|n| n > own)) {
            return Err(ManageError::CreditsNotHeld("remaining"));
        }
        if let Some(Some(asked)) = refill {
            let covered = own_refill.is_some_and(|mine| {
                asked.amount <= mine.amount
                    && !(asked.interval == RefillInterval::Daily
                        && mine.interval != RefillInterval::Daily)
            });
            if !covered {
                return Err(ManageError::CreditsNotHeld("refill"));
            }
        }
        Ok(())
    }

    fn held(&self, scopes: &ScopeSet) -> Result<(), ManageError> {
        let not_held = self.gate.preset().policy.not_held(&self.caller.scopes, scopes);
        if not_held.is_empty() { Ok(()) } else { Err(ManageError::ScopeNotHeld(not_held)) }
    }
}
