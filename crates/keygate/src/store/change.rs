//! Changes to a record, and rotations: each applied by one definition that every store follows.

use std::sync::Arc;

use crate::clock::Timestamp;
use crate::format::{Environment, KeyId};
use crate::hash::{KeyHash, PepperVersion};
use crate::scope::ScopeSet;

use super::{KeyRecord, StoreError, Usage};

/// A change to a record; `None` fields are left as they are. Build it with
/// `KeyUpdate { disabled: Some(true), ..Default::default() }`.
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
}

/// The two records of a rotation, as stored.
#[derive(Debug, Clone)]
pub struct Rotated {
    /// The old key, with its `revoked_at` set to the end of the grace period.
    pub old: Arc<KeyRecord>,
    /// The new key.
    pub new: Arc<KeyRecord>,
}

impl Rotation {
    /// Checks `old` and returns its successor, marking `old` as rotated: the one definition
    /// every store follows, inside the atomic step that reads `old`.
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
        Ok(new)
    }
}
