//! The verification pipeline and the [`Principal`] it yields.
//!
//! extract the credential → parse and checksum (no I/O) → look the id up → HMAC the secret →
//! constant-time compare (against a dummy for an unknown id) → state checks → [`Principal`].
//! Scopes are checked per route with [`Keygate::authorize`].
//!
//! ```
//! use keygate::{Keygate, AuthError, manage::NewKey, preset::Preset, store::Owner};
//!
//! # #[tokio::main(flavor = "current_thread")]
//! # async fn main() -> Result<(), Box<dyn std::error::Error>> {
//! let gate = Keygate::builder(Preset::productlane()).random_pepper().build()?;
//! let minted = gate.mint(NewKey::new(Owner::workspace("wks_abc123"), "ci").scopes(["threads:read"])?).await?;
//!
//! let header = format!("Bearer {}", minted.key.expose_secret());
//! let principal = gate.verify(&[("Authorization", header.as_str())]).await?;
//! assert_eq!(principal.workspace_id(), "wks_abc123");
//!
//! let err = gate.verify(&[("Authorization", "Bearer pl_v1_old")]).await.unwrap_err();
//! assert_eq!(gate.render(&err, None).status, 410);
//! # Ok(())
//! # }
//! ```

use std::fmt;
use std::sync::Arc;

use crate::credential::Headers;
use crate::error::{AuthError, Forbidden, InvalidKey};
use crate::format::{Environment, KeyId};
use crate::gate::Keygate;
use crate::scope::{Requirement, ScopeSet};
use crate::store::{KeyKind, KeyRecord, Peek};

/// Who a verified request acts for: the key's id, owner, kind, environment, scopes and name.
///
/// Cheap to clone: it shares the record the store returned.
#[derive(Clone)]
pub struct Principal {
    record: Arc<KeyRecord>,
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

impl Keygate {
    /// Verifies the credential in a request's headers.
    ///
    /// # Errors
    /// An [`AuthError`] for every failure of the error catalog but scopes (see
    /// [`authorize`](Self::authorize)).
    pub async fn verify<H: Headers + ?Sized>(&self, headers: &H) -> Result<Principal, AuthError> {
        let key = self.inner.preset.sources.extract(headers)?;
        self.verify_key(key).await
    }

    /// Verifies a key given as text.
    ///
    /// # Errors
    /// As [`verify`](Self::verify), less the errors about headers.
    pub async fn verify_key(&self, key: &str) -> Result<Principal, AuthError> {
        let inner = &*self.inner;
        let parsed = inner.preset.format.parse(key)?;
        let id = parsed.id();
        let record = match inner.store.peek(&id) {
            Peek::Found(record) => Some(record),
            Peek::Absent => None,
            Peek::Unknown => inner.store.find(&id).await.map_err(|e| {
                tracing::warn!(key_id = %id, error = %e, "key store unavailable; refusing");
                AuthError::Unavailable(e)
            })?,
        };
        let Some(record) = record else {
            inner.hasher.verify_dummy(parsed.secret());
            return Err(fail(id, InvalidKey::UnknownId));
        };
        let matched = inner
            .hasher
            .verify(parsed.secret(), record.pepper_version, &record.hash)
            .map_err(|e| {
                tracing::error!(key_id = %id, error = %e, "cannot check key");
                AuthError::Unavailable(crate::store::StoreError::Other(Box::new(e)))
            })?;
        // A key whose prefix names another environment than its record is not that key: its
        // checksum is public, so the prefix alone could otherwise be swapped.
        if !matched || parsed.environment() != record.environment {
            return Err(fail(id, InvalidKey::WrongSecret));
        }
        let now = inner.clock.now();
        if record.is_revoked_at(now) {
            return Err(fail(id, InvalidKey::Revoked));
        }
        if record.disabled {
            tracing::debug!(key_id = %id, reason = "disabled", "key refused");
            return Err(AuthError::Disabled);
        }
        if record.is_expired_at(now) {
            tracing::debug!(key_id = %id, reason = "expired", "key refused");
            return Err(AuthError::Expired);
        }
        if inner
            .environment
            .is_some_and(|env| env != record.environment)
        {
            return Err(AuthError::Forbidden(Forbidden::WrongEnvironment(
                record.environment,
            )));
        }
        tracing::trace!(key_id = %id, "key verified");
        Ok(Principal { record })
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
        self.inner
            .preset
            .policy
            .check(principal.scopes(), requirement)
            .map_err(AuthError::InsufficientScope)
    }
}

fn fail(id: KeyId, reason: InvalidKey) -> AuthError {
    tracing::debug!(key_id = %id, reason = reason.as_str(), "key refused");
    AuthError::Invalid(reason)
}
