//! Changes to a record, and rotations: each applied by one definition that every store follows.

use std::sync::Arc;

use ipnet::IpNet;

use crate::clock::Timestamp;
use crate::format::{Environment, KeyId};
use crate::hash::{KeyHash, PepperVersion};
use crate::scope::ScopeSet;

use super::{Credits, KeyRecord, Metadata, Refill, StoreError, Usage};

/// A change to a record; `None` fields are left as they are. Build it with
/// `KeyUpdate { disabled: Some(true), ..Default::default() }`.
///
/// ```
/// # use keygate::{clock::Timestamp, format::Environment, hash::KeyHash, store::{KeyRecord, Owner}};
/// # fn record(id: &str, at: i64) -> KeyRecord {
/// #     let id = id.parse().unwrap();
/// #     let owner = Owner::workspace("wks_1");
/// #     let created = Timestamp::from_unix_seconds(at);
/// #     KeyRecord::new(id, KeyHash::from_bytes([0; 32]), 1, "sk_live_Ab".into(), owner, Environment::Live, created)
/// # }
/// use keygate::store::{KeyUpdate, StoreError};
///
/// let mut key = record("key_AbCdEfGh1234", 1_800_000_000);
/// let rename = KeyUpdate { name: Some("deploy".into()), disabled: Some(true), ..Default::default() };
/// rename.apply(&mut key)?;
/// assert_eq!((key.name.as_str(), key.disabled), ("deploy", true));
/// // A revoked key accepts no change.
/// key.revoked_at = Some(Timestamp::from_unix_seconds(1_800_000_100));
/// let later = KeyUpdate { at: Some(Timestamp::from_unix_seconds(1_800_000_200)), ..rename };
/// assert!(matches!(later.apply(&mut key), Err(StoreError::NotFound(_))));
/// # Ok::<(), StoreError>(())
/// ```
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct KeyUpdate {
    /// New name.
    pub name: Option<String>,
    /// New description (`Some(None)` clears it).
    pub description: Option<Option<String>>,
    /// New scopes.
    pub scopes: Option<ScopeSet>,
    /// New expiry (`Some(None)` removes it).
    pub expires_at: Option<Option<Timestamp>>,
    /// Disable or re-enable.
    pub disabled: Option<bool>,
    /// Revoke at this time. A store keeps the earlier of this and an existing `revoked_at`, so
    /// a revocation is never undone or postponed.
    pub revoke_at: Option<Timestamp>,
    /// New rate plan (`Some(None)` returns to the default).
    pub rate_plan: Option<Option<String>>,
    /// New windows of the key's own (`Some(None)` returns it to its plan's).
    pub rate_limits: Option<Option<crate::limit::RatePlan>>,
    /// New metadata (`Some(None)` removes it).
    pub metadata: Option<Option<Metadata>>,
    /// New networks the key may be used from (empty for anywhere).
    pub allowed_ips: Option<Vec<IpNet>>,
    /// A new balance of credits (`Some(None)` makes the key unlimited, dropping its refill).
    pub remaining: Option<Option<u64>>,
    /// A new refill (`Some(None)` removes it). Its first refill is the first refill time after
    /// [`at`](Self::at) (else after the key's creation). A refill given to an unlimited key
    /// without [`remaining`](Self::remaining) starts it at the refill's amount.
    pub refill: Option<Option<Refill>>,
    /// The time of the change, for the lifecycle rules: when set, a record revoked by then is
    /// refused as [`StoreError::NotFound`] (a revoked key is final), and a record expired by
    /// then accepts nothing but a revocation ([`StoreError::Expired`]: it cannot be brought
    /// back). `None` applies the change whatever the record's state.
    pub at: Option<Timestamp>,
}

impl KeyUpdate {
    /// Checks the lifecycle rules against `record` and applies the change: the one definition
    /// every store follows, inside the same atomic step that reads the record.
    ///
    /// # Errors
    /// [`StoreError::NotFound`] for a record revoked at [`at`](Self::at);
    /// [`StoreError::Expired`] for a change other than a revocation to a record expired at
    /// [`at`](Self::at). `record` is left as it was.
    pub fn apply(&self, record: &mut KeyRecord) -> Result<(), StoreError> {
        if let Some(now) = self.at {
            if record.is_revoked_at(now) {
                return Err(StoreError::NotFound(record.id));
            }
            if record.is_expired_at(now) && !self.only_revokes() {
                return Err(StoreError::Expired(record.id));
            }
        }
        if let Some(name) = &self.name {
            record.name.clone_from(name);
        }
        if let Some(d) = &self.description {
            record.description.clone_from(d);
        }
        if let Some(s) = &self.scopes {
            record.scopes.clone_from(s);
        }
        if let Some(e) = self.expires_at {
            record.expires_at = e;
        }
        if let Some(d) = self.disabled {
            record.disabled = d;
        }
        if let Some(at) = self.revoke_at {
            record.revoked_at = Some(record.revoked_at.map_or(at, |t| t.min(at)));
        }
        if let Some(p) = &self.rate_plan {
            record.rate_plan.clone_from(p);
        }
        if let Some(l) = &self.rate_limits {
            record.rate_limits.clone_from(l);
        }
        if let Some(m) = &self.metadata {
            record.metadata.clone_from(m);
        }
        if let Some(nets) = &self.allowed_ips {
            record.allowed_ips.clone_from(nets);
        }
        match self.remaining {
            Some(None) => record.credits = None,
            Some(Some(n)) => {
                let kept = record.credits.unwrap_or(Credits::new(n));
                record.credits = Some(Credits { remaining: n, ..kept });
            }
            None => {}
        }
        match self.refill {
            Some(None) => {
                if let Some(c) = &mut record.credits {
                    c.refill = None;
                    c.refills_at = None;
                }
            }
            Some(Some(refill)) if self.remaining != Some(None) => {
                let from = self.at.unwrap_or(record.created_at);
                let credits = record.credits.unwrap_or(Credits::new(refill.amount));
                record.credits = Some(credits.refill(refill, from));
            }
            _ => {}
        }
        Ok(())
    }

    fn only_revokes(&self) -> bool {
        *self == KeyUpdate { revoke_at: self.revoke_at, at: self.at, ..KeyUpdate::default() }
    }
}

/// A rotation: the new key's secret-derived fields, and when the old key stops working. The
/// store copies every setting of the old key onto the new one inside the same atomic step
/// that retires the old key ([`Rotation::apply`]), so a change committed just before is never
/// lost on the new key.
///
/// ```
/// # use keygate::{clock::Timestamp, format::Environment, hash::KeyHash, store::{KeyRecord, Owner}};
/// # fn record(id: &str, at: i64) -> KeyRecord {
/// #     let id = id.parse().unwrap();
/// #     let owner = Owner::workspace("wks_1");
/// #     let created = Timestamp::from_unix_seconds(at);
/// #     KeyRecord::new(id, KeyHash::from_bytes([0; 32]), 1, "sk_live_Ab".into(), owner, Environment::Live, created)
/// # }
/// use keygate::store::Rotation;
///
/// let mut old = record("key_AbCdEfGh1234", 1_800_000_000);
/// old.name = "ci".into();
/// let rotation = Rotation {
///     id: "key_NewNewNew5678".parse()?,
///     hash: KeyHash::from_bytes([1; 32]),
///     pepper_version: 1,
///     preview: "sk_live_Ne".into(),
///     environment: Environment::Live,
///     at: Timestamp::from_unix_seconds(1_800_000_000),
///     old_revoke_at: Timestamp::from_unix_seconds(1_800_003_600),
///     expect_scopes: None,
///     cap: None,
/// };
/// let new = rotation.apply(&mut old)?;
/// assert_eq!(new.name, "ci"); // settings carry over
/// assert_eq!(old.revoked_at, Some(rotation.old_revoke_at)); // works for an hour more
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Rotation {
    /// The new key's id.
    pub id: KeyId,
    /// `HMAC-SHA256(pepper, new secret)`.
    pub hash: KeyHash,
    /// Which pepper made [`hash`](Self::hash).
    pub pepper_version: PepperVersion,
    /// The new key's preview.
    pub preview: String,
    /// The environment the new key was made for: the old key's, which never changes.
    pub environment: Environment,
    /// When the rotation happens: the new key's `created_at`, and the time of the checks.
    pub at: Timestamp,
    /// When the old key stops working (the end of the grace period).
    pub old_revoke_at: Timestamp,
    /// When set, the old key's scopes must still be exactly these (what the caller was
    /// authorized to receive); otherwise the rotation is refused with
    /// [`StoreError::Changed`] and nothing changes.
    pub expect_scopes: Option<ScopeSet>,
    /// When set and the old key keeps working after [`at`](Self::at) (a grace period), the
    /// rotation is refused with [`StoreError::LimitReached`] if the workspace already holds this
    /// many keys in force: for a while it holds one more. The store counts in the same atomic
    /// step.
    pub cap: Option<u64>,
}

/// The two records of a rotation, as stored.
///
/// ```
/// # use keygate::{clock::Timestamp, format::Environment, hash::KeyHash, store::{KeyRecord, Owner}};
/// # fn record(id: &str, at: i64) -> KeyRecord {
/// #     let id = id.parse().unwrap();
/// #     let owner = Owner::workspace("wks_1");
/// #     let created = Timestamp::from_unix_seconds(at);
/// #     KeyRecord::new(id, KeyHash::from_bytes([0; 32]), 1, "sk_live_Ab".into(), owner, Environment::Live, created)
/// # }
/// use keygate::store::{KeyStore, MemoryStore, Rotated, Rotation};
///
/// # #[tokio::main(flavor = "current_thread")]
/// # async fn main() -> Result<(), Box<dyn std::error::Error>> {
/// # let rotation = Rotation {
/// #     id: "key_NewNewNew5678".parse()?,
/// #     hash: KeyHash::from_bytes([1; 32]),
/// #     pepper_version: 1,
/// #     preview: "sk_live_Ne".into(),
/// #     environment: Environment::Live,
/// #     at: Timestamp::from_unix_seconds(1_800_000_000),
/// #     old_revoke_at: Timestamp::from_unix_seconds(1_800_003_600),
/// #     expect_scopes: None,
/// #     cap: None,
/// # };
/// let store = MemoryStore::new();
/// store.insert(record("key_AbCdEfGh1234", 1_700_000_000)).await?;
/// let Rotated { old, new } = store.rotate(&"key_AbCdEfGh1234".parse()?, &rotation).await?;
/// assert_eq!(old.revoked_at, Some(rotation.old_revoke_at));
/// assert_eq!((new.id, new.created_at), (rotation.id, rotation.at));
/// # Ok(())
/// # }
/// ```
#[derive(Debug, Clone)]
pub struct Rotated {
    /// The old key, with its `revoked_at` set to the end of the grace period.
    pub old: Arc<KeyRecord>,
    /// The new key.
    pub new: Arc<KeyRecord>,
}

impl Rotation {
    /// The cap to check, when this rotation leaves the old key in force for a grace period.
    pub fn cap_to_check(&self) -> Option<u64> {
        self.cap.filter(|_| self.old_revoke_at > self.at)
    }

    /// Checks `old` and returns its successor, marking `old` as rotated: the one definition
    /// every store follows, inside the atomic step that reads `old`. A metered key's credits
    /// (balance and refill) move to the successor; `old` keeps a balance of 0.
    ///
    /// # Errors
    /// [`StoreError::NotFound`] when `old` is revoked or already rotated (or of another
    /// environment); [`StoreError::Disabled`] or [`StoreError::Expired`] when it is disabled
    /// or expired; [`StoreError::Changed`] when its scopes are not
    /// [`expect_scopes`](Self::expect_scopes). `old` is left as it was.
    pub fn apply(&self, old: &mut KeyRecord) -> Result<KeyRecord, StoreError> {
        if old.revoked_at.is_some() || old.environment != self.environment {
            return Err(StoreError::NotFound(old.id));
        }
        if old.disabled {
            return Err(StoreError::Disabled(old.id));
        }
        if old.is_expired_at(self.at) {
            return Err(StoreError::Expired(old.id));
        }
        if self.expect_scopes.as_ref().is_some_and(|s| *s != old.scopes) {
            return Err(StoreError::Changed(old.id));
        }
        let new = KeyRecord {
            id: self.id,
            hash: self.hash,
            pepper_version: self.pepper_version,
            preview: self.preview.clone(),
            created_at: self.at,
            revoked_at: None,
            last_used: None,
            usage: Usage::default(),
            ..old.clone()
        };
        old.revoked_at = Some(self.old_revoke_at);
        // The balance moves to the new key: the two keys of a grace period never hold it twice.
        if old.credits.is_some() {
            old.credits = Some(Credits::new(0));
        }
        Ok(new)
    }
}
