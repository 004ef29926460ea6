//! What is shown of a key: never the key, never its hash.

use std::sync::Arc;

use serde::Serialize;

use crate::clock::Timestamp;
use crate::format::{Environment, KeyId};
use crate::scope::ScopeSet;
use crate::secret::Secret;
use crate::store::{Cursor, KeyKind, KeyRecord};

/// A freshly minted key: the full key, shown once, and its record.
#[derive(Debug)]
pub struct MintedKey {
    /// The full key. Hand it to its owner once; it cannot be recovered later.
    pub key: Secret,
    /// The stored record.
    pub record: Arc<KeyRecord>,
}

/// What a listing or a lookup shows of a key: never the key, never its hash.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct KeyInfo {
    /// The key id, `key_…`.
    pub id: KeyId,
    /// The prefix and the first 4 characters after it.
    pub prefix: String,
    /// Its name.
    pub name: String,
    /// Its description.
    pub description: Option<String>,
    /// Its workspace.
    pub workspace_id: String,
    /// Its user, if any.
    pub user_id: Option<String>,
    /// `user` or `service`.
    pub kind: KeyKind,
    /// `live` or `test`.
    pub environment: Environment,
    /// Its scopes.
    pub scopes: ScopeSet,
    /// Whether it works now: not revoked, disabled or expired.
    pub is_active: bool,
    /// Turned off by its owner.
    pub disabled: bool,
    /// When it was minted.
    pub created_at: Timestamp,
    /// When it expires, if ever.
    pub expires_at: Option<Timestamp>,
    /// When it was (or will be, after a rotation) revoked.
    pub revoked_at: Option<Timestamp>,
    /// Its last request, counting requests not yet flushed.
    pub last_used: Option<Timestamp>,
    /// Its own rate plan, if not the default.
    pub rate_plan: Option<String>,
    /// Its request counts, counting requests not yet flushed.
    pub usage: UsageInfo,
}

/// Request counts of a key (the live/test key API's `usage`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct UsageInfo {
    /// Requests on the current UTC day.
    pub requests_today: u64,
    /// Requests in the current UTC month.
    pub requests_this_month: u64,
}

/// A page of [`KeyInfo`]s.
#[derive(Debug, Clone)]
pub struct KeyPage {
    /// The keys, oldest first.
    pub keys: Vec<KeyInfo>,
    /// Pass it back to get the next page; `None` on the last page.
    pub next: Option<Cursor>,
}
