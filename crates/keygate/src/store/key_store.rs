//! The [`KeyStore`] trait and its errors.

use std::sync::Arc;

use crate::clock::Timestamp;
use crate::format::KeyId;

use super::{
    KeyRecord, KeyUpdate, ListQuery, NetworkSighting, Page, Rotated, Rotation, SeenNetwork, Spend,
    UsageDelta,
};

/// A store could not do what was asked.
///
/// ```
/// # use keygate::{clock::Timestamp, format::Environment, hash::KeyHash, store::{KeyRecord, Owner}};
/// # fn record(id: &str, at: i64) -> KeyRecord {
/// #     let id = id.parse().unwrap();
/// #     let owner = Owner::workspace("wks_1");
/// #     let created = Timestamp::from_unix_seconds(at);
/// #     KeyRecord::new(id, KeyHash::from_bytes([0; 32]), 1, "sk_live_Ab".into(), owner, Environment::Live, created)
/// # }
/// use keygate::store::{KeyStore, MemoryStore, StoreError};
///
/// # #[tokio::main(flavor = "current_thread")]
/// # async fn main() -> Result<(), Box<dyn std::error::Error>> {
/// let store = MemoryStore::new();
/// store.insert(record("key_AbCdEfGh1234", 1_800_000_000)).await?;
/// let again = store.insert(record("key_AbCdEfGh1234", 1_800_000_000)).await;
/// assert!(matches!(again, Err(StoreError::Conflict(id)) if id.as_str() == "AbCdEfGh1234"));
/// # Ok(())
/// # }
/// ```
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
///
/// ```
/// # use keygate::{clock::Timestamp, format::Environment, hash::KeyHash, store::{KeyRecord, Owner}};
/// # fn record(id: &str, at: i64) -> KeyRecord {
/// #     let id = id.parse().unwrap();
/// #     let owner = Owner::workspace("wks_1");
/// #     let created = Timestamp::from_unix_seconds(at);
/// #     KeyRecord::new(id, KeyHash::from_bytes([0; 32]), 1, "sk_live_Ab".into(), owner, Environment::Live, created)
/// # }
/// use keygate::store::{KeyStore, MemoryStore, Peek};
///
/// # #[tokio::main(flavor = "current_thread")]
/// # async fn main() -> Result<(), Box<dyn std::error::Error>> {
/// let store = MemoryStore::new();
/// store.insert(record("key_AbCdEfGh1234", 1_800_000_000)).await?;
/// assert!(matches!(store.peek(&"key_AbCdEfGh1234".parse()?), Peek::Found(r) if r.owner.workspace_id == "wks_1"));
/// // A store in memory knows an id is unknown without I/O.
/// assert!(matches!(store.peek(&"key_Unknown00000".parse()?), Peek::Absent));
/// # Ok(())
/// # }
/// ```
#[derive(Debug, Clone)]
pub enum Peek {
    /// The record, from memory. Its credit balance may be older than the store's: credits are
    /// spent through [`KeyStore::spend`] and read through [`KeyStore::find`].
    Found(Arc<KeyRecord>),
    /// Known from memory not to exist.
    Absent,
    /// Not known without I/O: call [`KeyStore::find`].
    Unknown,
}

/// Where key records live. Object safe: use it as `Arc<dyn KeyStore>`.
///
/// A new store is checked with the shared conformance suite, `keygate::store::suite::run`
/// (feature `store-suite`).
///
/// ```
/// # use keygate::{clock::Timestamp, format::Environment, hash::KeyHash, store::{KeyRecord, Owner}};
/// # fn record(id: &str, at: i64) -> KeyRecord {
/// #     let id = id.parse().unwrap();
/// #     let owner = Owner::workspace("wks_1");
/// #     let created = Timestamp::from_unix_seconds(at);
/// #     KeyRecord::new(id, KeyHash::from_bytes([0; 32]), 1, "sk_live_Ab".into(), owner, Environment::Live, created)
/// # }
/// use std::sync::Arc;
/// use keygate::store::{KeyStore, KeyUpdate, MemoryStore};
///
/// # #[tokio::main(flavor = "current_thread")]
/// # async fn main() -> Result<(), Box<dyn std::error::Error>> {
/// let store: Arc<dyn KeyStore> = Arc::new(MemoryStore::new());
/// let id = "key_AbCdEfGh1234".parse()?;
/// store.insert(record("key_AbCdEfGh1234", 1_800_000_000)).await?;
/// let changed = store.update(&id, &KeyUpdate { name: Some("deploy".into()), ..Default::default() }).await?;
/// assert_eq!(changed.name, "deploy");
/// assert_eq!(store.find(&id).await?.unwrap().name, "deploy");
/// # Ok(())
/// # }
/// ```
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

    /// Spends credits without I/O when the store can, as [`spend`](Self::spend) does (a store
    /// in memory always can). The default says `None`, sending every spend to
    /// [`spend`](Self::spend).
    fn spend_now(
        &self,
        id: &KeyId,
        cost: u64,
        now: Timestamp,
    ) -> Option<Result<Spend, StoreError>> {
        let _ = (id, cost, now);
        None
    }

    /// Spends `cost` credits of key `id` at `now` in one atomic step ([`Credits::spend`]: a
    /// refill that is due first, then the spend if the balance covers it), so that concurrent
    /// spends, from this process or any other sharing the store, never spend more than the
    /// balance. A key without credits answers [`Spend::Unlimited`] and changes nothing.
    ///
    /// The default refuses with [`StoreError::Other`]: a store that keeps credits must
    /// implement it (a key with credits is then refused rather than served unmetered).
    ///
    /// [`Credits::spend`]: super::Credits::spend
    ///
    /// # Errors
    /// [`StoreError::NotFound`] when no record has `id`; [`StoreError::Unavailable`] when the
    /// store cannot answer. Nothing is spent on error.
    async fn spend(&self, id: &KeyId, cost: u64, now: Timestamp) -> Result<Spend, StoreError> {
        let _ = (id, cost, now);
        Err(StoreError::Other("this store does not keep credits".into()))
    }

    /// Adds a batch of usage ([`UsageDelta::apply`]) in as few round trips as the store can.
    /// Deltas for keys that no longer exist are dropped.
    ///
    /// # Errors
    /// [`StoreError::Unavailable`] when the store cannot answer; the caller keeps the batch
    /// and tries again at the next flush.
    async fn record_usage(&self, batch: &[UsageDelta]) -> Result<(), StoreError>;

    /// Adds a batch of sightings to their keys' lists of recent networks
    /// ([`NetworkSighting::apply`]), in one atomic step, and returns the sightings whose network
    /// was not in its key's list. Sightings of keys that no longer exist are dropped.
    ///
    /// # Errors
    /// [`StoreError::Unavailable`] when the store cannot answer; nothing is written, and the
    /// caller keeps the batch and tries again at the next flush.
    async fn record_networks(
        &self,
        batch: &[NetworkSighting],
    ) -> Result<Vec<NetworkSighting>, StoreError>;

    /// The networks key `id` was used from, most recent first (at most
    /// [`RECENT_NETWORKS`](super::RECENT_NETWORKS)); empty for an unknown key.
    ///
    /// # Errors
    /// [`StoreError::Unavailable`] when the store cannot answer.
    async fn recent_networks(&self, id: &KeyId) -> Result<Vec<SeenNetwork>, StoreError>;

    /// The requests of key `id` per UTC day, for the days `first..=last` (day numbers,
    /// [`Usage::day_of`](super::Usage::day_of)): the days with any, oldest first. Kept by
    /// [`record_usage`](Self::record_usage), each delta on the day of its `last_used`, for at
    /// least 90 days; empty for an unknown key.
    ///
    /// # Errors
    /// [`StoreError::Unavailable`] when the store cannot answer.
    async fn usage_days(
        &self,
        id: &KeyId,
        first: i64,
        last: i64,
    ) -> Result<Vec<super::DayCount>, StoreError>;
}
