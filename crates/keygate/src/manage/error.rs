//! Why a key could not be minted or changed.

use crate::format::{Environment, KeyId, RandomError};
use crate::scope::{Scope, ScopeError};
use crate::store::StoreError;

/// A key could not be minted or changed.
///
/// ```
/// use keygate::{Keygate, manage::{ManageError, NewKey}, preset::Preset, store::Owner};
///
/// # #[tokio::main(flavor = "current_thread")]
/// # async fn main() -> Result<(), Box<dyn std::error::Error>> {
/// let gate = Keygate::builder(Preset::livetest()).random_pepper().build()?;
/// let empty = gate.mint(NewKey::new(Owner::workspace("wks_1"), "")).await;
/// assert!(matches!(empty, Err(ManageError::Name)));
/// let unknown = gate.mint(NewKey::new(Owner::workspace("wks_1"), "k").scopes(["billing:read"])?).await;
/// assert!(matches!(unknown, Err(ManageError::Scope(_))));
/// # Ok(())
/// # }
/// ```
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ManageError {
    /// A scope is malformed or unknown to the preset.
    #[error(transparent)]
    Scope(#[from] ScopeError),
    /// The name is empty or longer than [`MAX_NAME_LEN`](super::MAX_NAME_LEN) characters.
    #[error("name must be 1 to 200 characters")]
    Name,
    /// A name or description holds a control character (C0, C1, DEL) or a bidirectional
    /// control, which could hide or reorder text where people read it.
    #[error("{0} must not hold control or bidirectional formatting characters")]
    ControlCharacter(&'static str),
    /// The description is longer than [`MAX_DESCRIPTION_LEN`](super::MAX_DESCRIPTION_LEN) characters.
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
    /// No key has this id, or none the caller may see, or it is revoked (a revoked key is
    /// final; a rotated key cannot be rotated again).
    #[error("no such key: {0}")]
    NotFound(KeyId),
    /// The key is expired: it cannot be changed (only revoked) or rotated.
    #[error("key {0} is expired")]
    KeyExpired(KeyId),
    /// The key is disabled: it cannot be rotated.
    #[error("key {0} is disabled")]
    KeyDisabled(KeyId),
    /// The caller asked for scopes it does not hold itself.
    #[error("scopes not held by the caller: {}", list(.0))]
    ScopeNotHeld(Vec<Scope>),
    /// A caller whose own key has credits asked for an unlimited key, a larger balance than
    /// its own, or a refill its own key does not have (the field at fault: `remaining` or
    /// `refill`).
    #[error("the caller cannot grant these credits ({0})")]
    CreditsNotHeld(&'static str),
    /// A test caller asked for a live key.
    #[error("a test key cannot mint or manage live keys")]
    EnvironmentNotAllowed,
    /// The caller set a field that only the operator may set (`rate_plan`), or one its kind of
    /// key may not (`kind` from a user's key).
    #[error("the field `{0}` cannot be set by this caller")]
    FieldNotAllowed(&'static str),
    /// The workspace holds as many keys in force as the deployment allows.
    #[error("the workspace already holds {0} keys in force")]
    KeyLimitReached(u64),
    /// The OS random number generator failed.
    #[error(transparent)]
    Random(#[from] RandomError),
    /// The store failed.
    #[error(transparent)]
    Store(StoreError),
}

impl From<StoreError> for ManageError {
    fn from(e: StoreError) -> Self {
        match e {
            StoreError::NotFound(id) => ManageError::NotFound(id),
            StoreError::Expired(id) => ManageError::KeyExpired(id),
            StoreError::Disabled(id) => ManageError::KeyDisabled(id),
            StoreError::LimitReached { limit } => ManageError::KeyLimitReached(limit),
            other => ManageError::Store(other),
        }
    }
}

fn list(scopes: &[Scope]) -> String {
    scopes.iter().map(Scope::as_str).collect::<Vec<_>>().join(", ")
}
