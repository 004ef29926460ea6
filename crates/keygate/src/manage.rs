//! Key lifecycle: minting keys.
//!
//! [`Keygate::mint`] makes a key from the OS CSPRNG, stores its record (with the keyed hash of
//! its secret, never the secret) and returns the full key exactly once.
//!
//! ```
//! use keygate::{Keygate, manage::NewKey, preset::Preset, store::Owner, format::Environment};
//!
//! # #[tokio::main(flavor = "current_thread")]
//! # async fn main() -> Result<(), Box<dyn std::error::Error>> {
//! let gate = Keygate::builder(Preset::livetest()).random_pepper().build()?;
//! let minted = gate
//!     .mint(
//!         NewKey::new(Owner::workspace("wks_1"), "CI pipeline")
//!             .scopes(["tasks:read", "tasks:write"])?
//!             .environment(Environment::Test),
//!     )
//!     .await?;
//! assert!(minted.key.expose_secret().starts_with("sk_test_"));
//! assert_eq!(minted.record.preview.len(), "sk_test_".len() + 4);
//! # Ok(())
//! # }
//! ```

use std::sync::Arc;

use crate::clock::Timestamp;
use crate::format::{Environment, RandomError};
use crate::gate::Keygate;
use crate::scope::{ScopeError, ScopeSet};
use crate::secret::Secret;
use crate::store::{KeyKind, KeyRecord, Owner, StoreError, Usage};

/// Longest key name.
pub const MAX_NAME_LEN: usize = 200;

/// Longest key description.
pub const MAX_DESCRIPTION_LEN: usize = 2000;

/// What to mint: owner, name and settings.
#[derive(Debug, Clone)]
pub struct NewKey {
    owner: Owner,
    name: String,
    description: Option<String>,
    scopes: ScopeSet,
    kind: KeyKind,
    environment: Environment,
    expires_at: Option<Timestamp>,
    rate_plan: Option<String>,
}

impl NewKey {
    /// A live user key for `owner` called `name`, with no scopes, no expiry and the default plan.
    pub fn new(owner: Owner, name: impl Into<String>) -> Self {
        NewKey {
            owner,
            name: name.into(),
            description: None,
            scopes: ScopeSet::new(),
            kind: KeyKind::User,
            environment: Environment::Live,
            expires_at: None,
            rate_plan: None,
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

    /// Live (default) or test.
    pub fn environment(mut self, environment: Environment) -> Self {
        self.environment = environment;
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
}

/// A freshly minted key: the full key, shown once, and its record.
#[derive(Debug)]
pub struct MintedKey {
    /// The full key. Hand it to its owner once; it cannot be recovered later.
    pub key: Secret,
    /// The stored record.
    pub record: Arc<KeyRecord>,
}

/// A key could not be minted or changed.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ManageError {
    /// A scope is malformed or unknown to the preset.
    #[error(transparent)]
    Scope(#[from] ScopeError),
    /// The name is empty or longer than [`MAX_NAME_LEN`] characters.
    #[error("name must be 1 to 200 characters")]
    Name,
    /// The description is longer than [`MAX_DESCRIPTION_LEN`] characters.
    #[error("description must be at most 2000 characters")]
    Description,
    /// `expires_at` is not in the future.
    #[error("expires_at must be in the future")]
    ExpiryInPast,
    /// The rate plan is not one of the preset's.
    #[error("unknown rate plan `{0}`")]
    UnknownPlan(String),
    /// The key format has no prefix for this environment.
    #[error("this key format has no {0} keys")]
    Environment(Environment),
    /// The OS random number generator failed.
    #[error(transparent)]
    Random(#[from] RandomError),
    /// The store failed.
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// How many fresh ids to try when one collides (71 random bits: practically never).
const MINT_ATTEMPTS: usize = 3;

impl Keygate {
    /// Mints a key: checks the settings, stores the record and returns the full key once.
    ///
    /// # Errors
    /// A [`ManageError`] naming the setting that is wrong, or the store's failure.
    pub async fn mint(&self, new: NewKey) -> Result<MintedKey, ManageError> {
        let preset = &self.inner.preset;
        let now = self.inner.clock.now();
        check_name(&new.name)?;
        if new
            .description
            .as_ref()
            .is_some_and(|d| d.chars().count() > MAX_DESCRIPTION_LEN)
        {
            return Err(ManageError::Description);
        }
        preset.policy.validate(&new.scopes)?;
        if new.expires_at.is_some_and(|t| t <= now) {
            return Err(ManageError::ExpiryInPast);
        }
        if let Some(plan) = &new.rate_plan
            && preset.plans.get(plan).is_none()
        {
            return Err(ManageError::UnknownPlan(plan.clone()));
        }
        if new.environment == Environment::Test && !preset.format.has_environments() {
            return Err(ManageError::Environment(Environment::Test));
        }
        let mut attempt = 0;
        loop {
            attempt += 1;
            let key = preset.format.generate(new.environment)?;
            let parsed = match preset.format.parse(key.expose_secret()) {
                Ok(p) => p,
                Err(e) => unreachable!("a generated key parses: {e}"),
            };
            let (pepper_version, hash) = self.inner.hasher.hash(parsed.secret());
            let record = KeyRecord {
                id: parsed.id(),
                hash,
                pepper_version,
                preview: preset.format.preview_of(new.environment, &parsed.id()),
                owner: new.owner.clone(),
                kind: new.kind,
                environment: new.environment,
                scopes: new.scopes.clone(),
                name: new.name.clone(),
                description: new.description.clone(),
                created_at: now,
                expires_at: new.expires_at,
                revoked_at: None,
                disabled: false,
                last_used: None,
                rate_plan: new.rate_plan.clone(),
                usage: Usage::default(),
            };
            match self.inner.store.insert(record.clone()).await {
                Ok(()) => {
                    tracing::info!(key_id = %record.id, workspace_id = %record.owner.workspace_id, "key minted");
                    return Ok(MintedKey {
                        key,
                        record: Arc::new(record),
                    });
                }
                Err(StoreError::Conflict(_)) if attempt < MINT_ATTEMPTS => continue,
                Err(e) => return Err(e.into()),
            }
        }
    }
}

fn check_name(name: &str) -> Result<(), ManageError> {
    let len = name.chars().count();
    if len == 0 || len > MAX_NAME_LEN || name.trim().is_empty() {
        return Err(ManageError::Name);
    }
    Ok(())
}
