//! The [`KeyStore`] trait, the stored [`KeyRecord`] and the in-memory store.
//!
//! A store keeps key records, never secrets. Its seam is small and atomic so that it can be
//! implemented over memory, PostgreSQL or anything else: [`find`](KeyStore::find) (one round
//! trip per verify), [`insert`](KeyStore::insert), [`update`](KeyStore::update),
//! [`rotate`](KeyStore::rotate) (one atomic step) and a paged [`list`](KeyStore::list).
//! [`peek`](KeyStore::peek) lets a store that holds records in memory answer a verify without
//! an `await`, so the hot path allocates nothing.
//!
//! Every store must pass the shared suite in `keygate::store::suite` (feature `store-suite`).
//!
//! ```
//! use std::sync::Arc;
//! use keygate::store::{KeyStore, MemoryStore};
//!
//! let store: Arc<dyn KeyStore> = Arc::new(MemoryStore::new());
//! # let _ = store;
//! ```

mod cache;
mod memory;
#[cfg(feature = "store-suite")]
pub mod suite;

use std::fmt;
use std::sync::Arc;

use serde::{Deserialize, Serialize};

pub use cache::{CacheConfig, CachedStore};
pub use memory::MemoryStore;

use crate::clock::Timestamp;
use crate::format::{Environment, KeyId};
use crate::hash::{KeyHash, PepperVersion};
use crate::scope::ScopeSet;

/// What a key is for (Plane): a user's key or a workspace's service token.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, Default)]
#[serde(rename_all = "lowercase")]
pub enum KeyKind {
    /// A key acting for one user.
    #[default]
    User,
    /// A workspace-level token for services.
    Service,
}

impl KeyKind {
    /// `"user"` or `"service"`.
    pub fn as_str(self) -> &'static str {
        match self {
            KeyKind::User => "user",
            KeyKind::Service => "service",
        }
    }
}

impl std::str::FromStr for KeyKind {
    type Err = UnknownKind;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s {
            "user" => Ok(KeyKind::User),
            "service" => Ok(KeyKind::Service),
            _ => Err(UnknownKind),
        }
    }
}

/// The text is neither `user` nor `service`.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("kind must be `user` or `service`")]
pub struct UnknownKind;

/// Who a key belongs to: a workspace, and optionally a user in it.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct Owner {
    /// The workspace (tenant) the key acts in.
    pub workspace_id: String,
    /// The user the key acts for, if it is a user's key.
    pub user_id: Option<String>,
}

impl Owner {
    /// A workspace with no user.
    pub fn workspace(workspace_id: impl Into<String>) -> Self {
        Owner { workspace_id: workspace_id.into(), user_id: None }
    }

    /// A user in a workspace.
    pub fn user(workspace_id: impl Into<String>, user_id: impl Into<String>) -> Self {
        Owner { workspace_id: workspace_id.into(), user_id: Some(user_id.into()) }
    }
}

/// Everything stored about a key. Never the secret: only its keyed hash.
#[derive(Clone, PartialEq, Eq)]
pub struct KeyRecord {
    /// The key id (also inside the key).
    pub id: KeyId,
    /// `HMAC-SHA256(pepper, secret)`.
    pub hash: KeyHash,
    /// Which pepper made [`hash`](Self::hash).
    pub pepper_version: PepperVersion,
    /// The prefix and first 4 characters after it: what listings show.
    pub preview: String,
    /// Who the key belongs to.
    pub owner: Owner,
    /// User key or service token.
    pub kind: KeyKind,
    /// Live or test.
    pub environment: Environment,
    /// The scopes granted.
    pub scopes: ScopeSet,
    /// A name for people (at most 200 characters through the management API).
    pub name: String,
    /// A longer note for people.
    pub description: Option<String>,
    /// When it was minted.
    pub created_at: Timestamp,
    /// When it stops working, if ever.
    pub expires_at: Option<Timestamp>,
    /// When it was revoked, or will be when a rotation's grace period ends.
    pub revoked_at: Option<Timestamp>,
    /// Turned off by its owner; can be turned back on.
    pub disabled: bool,
    /// When it last verified, as of the last usage flush.
    pub last_used: Option<Timestamp>,
    /// The name of its rate plan, if not the default for its kind: the per-key override.
    pub rate_plan: Option<String>,
    /// Request counters, as of the last usage flush.
    pub usage: Usage,
}

/// Request counts of one key for the current UTC day and month.
///
/// A counter belongs to the day (or month) it names: read it through
/// [`requests_today`](Self::requests_today) and [`requests_this_month`](Self::requests_this_month),
/// which answer 0 once that day or month is over.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Usage {
    /// Days since the Unix epoch (UTC) that [`today`](Self::today) counts.
    pub day: i64,
    /// Requests on [`day`](Self::day).
    pub today: u64,
    /// Months since year 0 (`year * 12 + month - 1`, UTC) that [`this_month`](Self::this_month) counts.
    pub month: i64,
    /// Requests in [`month`](Self::month).
    pub this_month: u64,
}

impl Usage {
    /// The UTC day number of `t`.
    pub fn day_of(t: Timestamp) -> i64 {
        t.unix_seconds().div_euclid(86_400)
    }

    /// The UTC month number of `t` (`year * 12 + month - 1`).
    pub fn month_of(t: Timestamp) -> i64 {
        let secs = t.unix_seconds();
        match time::OffsetDateTime::from_unix_timestamp(secs) {
            Ok(dt) => i64::from(dt.year()) * 12 + i64::from(u8::from(dt.month())) - 1,
            // Outside the calendar `time` supports: count by 30-day blocks rather than fail.
            Err(_) => secs.div_euclid(86_400 * 30),
        }
    }

    /// Requests on the UTC day of `now`.
    pub fn requests_today(&self, now: Timestamp) -> u64 {
        if self.day == Self::day_of(now) { self.today } else { 0 }
    }

    /// Requests in the UTC month of `now`.
    pub fn requests_this_month(&self, now: Timestamp) -> u64 {
        if self.month == Self::month_of(now) { self.this_month } else { 0 }
    }

    /// Adds `count` requests made at `at`, starting a new day or month where `at` is in one.
    pub fn add(&mut self, count: u64, at: Timestamp) {
        let (day, month) = (Self::day_of(at), Self::month_of(at));
        if day > self.day {
            self.day = day;
            self.today = 0;
        }
        if day == self.day {
            self.today = self.today.saturating_add(count);
        }
        if month > self.month {
            self.month = month;
            self.this_month = 0;
        }
        if month == self.month {
            self.this_month = self.this_month.saturating_add(count);
        }
    }
}

/// Requests of one key since the last flush, recorded write-behind.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct UsageDelta {
    /// The key.
    pub id: KeyId,
    /// How many requests it verified.
    pub count: u64,
    /// When the last of them was made.
    pub last_used: Timestamp,
}

impl UsageDelta {
    /// Applies the delta to `record`: the one definition every store follows. `last_used` only
    /// moves forward; counts land on the day and month of `last_used`.
    pub fn apply(&self, record: &mut KeyRecord) {
        record.last_used = Some(record.last_used.map_or(self.last_used, |t| t.max(self.last_used)));
        record.usage.add(self.count, self.last_used);
    }
}

impl fmt::Debug for KeyRecord {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("KeyRecord")
            .field("id", &self.id)
            .field("preview", &self.preview)
            .field("owner", &self.owner)
            .field("kind", &self.kind)
            .field("environment", &self.environment)
            .field("scopes", &self.scopes)
            .field("name", &self.name)
            .field("created_at", &self.created_at)
            .field("expires_at", &self.expires_at)
            .field("revoked_at", &self.revoked_at)
            .field("disabled", &self.disabled)
            .field("last_used", &self.last_used)
            .field("rate_plan", &self.rate_plan)
            .field("usage", &self.usage)
            .finish_non_exhaustive()
    }
}

impl KeyRecord {
    /// Whether the key is revoked at `now` (a rotation's grace period counts as not yet).
    pub fn is_revoked_at(&self, now: Timestamp) -> bool {
        self.revoked_at.is_some_and(|t| t <= now)
    }

    /// Whether the key has expired at `now`.
    pub fn is_expired_at(&self, now: Timestamp) -> bool {
        self.expires_at.is_some_and(|t| t <= now)
    }

    /// Whether the key counts against its workspace's cap at `now`: neither revoked nor
    /// expired (a disabled key still counts; it can be turned back on).
    pub fn is_in_force_at(&self, now: Timestamp) -> bool {
        !self.is_revoked_at(now) && !self.is_expired_at(now)
    }
}

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

/// Where a listing resumes: after the record with this creation time and id.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub struct Cursor {
    /// Creation time of the last record seen.
    pub created_at: Timestamp,
    /// Id of the last record seen.
    pub id: KeyId,
}

impl Cursor {
    /// The cursor that resumes after `record`.
    pub fn after(record: &KeyRecord) -> Self {
        Cursor { created_at: record.created_at, id: record.id }
    }
}

/// Which records to list: one workspace (optionally one user), oldest first, a page at a time.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ListQuery {
    /// The workspace.
    pub workspace_id: String,
    /// Only this user's keys, if set.
    pub user_id: Option<String>,
    /// Only keys of this environment, if set.
    pub environment: Option<Environment>,
    /// Resume after this record.
    pub after: Option<Cursor>,
    /// At most this many records (a store may cap it at [`MAX_PAGE`]).
    pub limit: usize,
}

/// Largest page a store returns.
pub const MAX_PAGE: usize = 1000;

/// One page of records, ordered by creation time then id.
#[derive(Debug, Clone)]
pub struct Page {
    /// The records.
    pub records: Vec<Arc<KeyRecord>>,
    /// Where the next page starts, if there may be one.
    pub next: Option<Cursor>,
}

/// A store could not do what was asked.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum StoreError {
    /// A record with this id already exists.
    #[error("a key with id {0} already exists")]
    Conflict(KeyId),
    /// No record has this id (or, for a rotation, it is already revoked or rotated).
    #[error("no usable key with id {0}")]
    NotFound(KeyId),
    /// The key is expired: it accepts no change but a revocation, and cannot be rotated.
    #[error("key {0} is expired")]
    Expired(KeyId),
    /// The key is disabled: it cannot be rotated.
    #[error("key {0} is disabled")]
    Disabled(KeyId),
    /// The key changed since it was read (a rotation's [`Rotation::expect_scopes`]).
    #[error("key {0} changed meanwhile")]
    Changed(KeyId),
    /// The workspace already holds as many keys in force as it may.
    #[error("workspace already holds {limit} keys")]
    LimitReached {
        /// The cap.
        limit: u64,
    },
    /// The store could not be reached or did not answer in time.
    #[error("key store unreachable")]
    Unavailable(#[source] Box<dyn std::error::Error + Send + Sync>),
    /// Any other failure of the store.
    #[error("key store failed")]
    Other(#[source] Box<dyn std::error::Error + Send + Sync>),
}

/// The answer of [`KeyStore::peek`].
#[derive(Debug, Clone)]
pub enum Peek {
    /// The record, from memory.
    Found(Arc<KeyRecord>),
    /// Known from memory not to exist.
    Absent,
    /// Not known without I/O: call [`KeyStore::find`].
    Unknown,
}

/// Where key records live. Object safe: use it as `Arc<dyn KeyStore>`.
#[async_trait::async_trait]
pub trait KeyStore: Send + Sync + 'static {
    /// Answers a lookup from memory when the store can, without I/O or allocation. The default
    /// says [`Peek::Unknown`], sending every verify to [`find`](Self::find).
    fn peek(&self, id: &KeyId) -> Peek {
        let _ = id;
        Peek::Unknown
    }

    /// The record with `id`, in one round trip.
    ///
    /// # Errors
    /// [`StoreError::Unavailable`] when the store cannot answer.
    async fn find(&self, id: &KeyId) -> Result<Option<Arc<KeyRecord>>, StoreError>;

    /// Adds a new record.
    ///
    /// # Errors
    /// [`StoreError::Conflict`] when its id is taken.
    async fn insert(&self, record: KeyRecord) -> Result<(), StoreError>;

    /// Adds a new record unless its workspace already holds `limit` keys in force at its
    /// `created_at` (of either environment, neither revoked nor expired by then), in one atomic
    /// step: concurrent inserts never take a workspace past `limit`.
    ///
    /// # Errors
    /// [`StoreError::LimitReached`] at the cap; [`StoreError::Conflict`] when its id is taken.
    async fn insert_within(&self, record: KeyRecord, limit: u64) -> Result<(), StoreError>;

    /// Changes a record atomically ([`KeyUpdate::apply`]) and returns it as changed.
    ///
    /// # Errors
    /// [`StoreError::NotFound`] when no record has `id`; what [`KeyUpdate::apply`] refuses.
    /// Nothing changes on error.
    async fn update(&self, id: &KeyId, update: &KeyUpdate) -> Result<Arc<KeyRecord>, StoreError>;

    /// In one atomic step: reads key `old`, builds its successor with [`Rotation::apply`]
    /// (which copies its settings and sets its `revoked_at` to the end of the grace period) and
    /// stores both. At no moment does neither key work, and the old key can be rotated only
    /// once.
    ///
    /// # Errors
    /// [`StoreError::NotFound`] when `old` does not exist; what [`Rotation::apply`] refuses;
    /// [`StoreError::Conflict`] when the new id is taken. Nothing changes on error.
    async fn rotate(&self, old: &KeyId, rotation: &Rotation) -> Result<Rotated, StoreError>;

    /// A page of a workspace's records, oldest first, of one user and one environment where
    /// the query says so.
    ///
    /// # Errors
    /// [`StoreError::Unavailable`] when the store cannot answer.
    async fn list(&self, query: &ListQuery) -> Result<Page, StoreError>;

    /// Sets `revoked_at` to `at` (or keeps an earlier one) on every key of a workspace, or of
    /// one user in it, and returns how many records it changed.
    ///
    /// # Errors
    /// [`StoreError::Unavailable`] when the store cannot answer.
    async fn revoke_all(
        &self,
        workspace_id: &str,
        user_id: Option<&str>,
        at: Timestamp,
    ) -> Result<u64, StoreError>;

    /// Up to `limit` keys, of any workspace, that expire in `(after, until]` and are not
    /// revoked by `after`, soonest first.
    ///
    /// # Errors
    /// [`StoreError::Unavailable`] when the store cannot answer.
    async fn expiring(
        &self,
        after: Timestamp,
        until: Timestamp,
        limit: usize,
    ) -> Result<Vec<Arc<KeyRecord>>, StoreError>;

    /// Adds a batch of usage ([`UsageDelta::apply`]) in as few round trips as the store can.
    /// Deltas for keys that no longer exist are dropped.
    ///
    /// # Errors
    /// [`StoreError::Unavailable`] when the store cannot answer; the caller keeps the batch
    /// and tries again at the next flush.
    async fn record_usage(&self, batch: &[UsageDelta]) -> Result<(), StoreError>;
}
