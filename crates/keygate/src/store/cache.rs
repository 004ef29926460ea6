//! A verification cache in front of any [`KeyStore`]: hot records answered from memory.

use std::num::NonZeroUsize;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::time::{Duration, Instant};

use crate::clock::Timestamp;
use crate::format::KeyId;
use lru::LruCache;

use crate::map::{Map, new_map};

use super::{
    KeyRecord, KeyStore, KeyUpdate, ListQuery, NetworkSighting, Page, Peek, Rotated, Rotation,
    SeenNetwork, Spend, StoreError, UsageDelta,
};

/// How long cached answers live, and how many unknown ids are remembered.
///
/// ```
/// use std::time::Duration;
/// use keygate::store::{CacheConfig, CachedStore, MemoryStore};
///
/// // A revoked key may keep working on another replica for at most `ttl`.
/// let config = CacheConfig { ttl: Duration::from_secs(2), ..CacheConfig::default() };
/// assert_eq!(config.negative_ttl, Duration::from_secs(2));
/// let store = CachedStore::new(MemoryStore::new(), config);
/// assert!(store.is_empty());
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct CacheConfig {
    /// How long a record is served from memory before it is read again: the longest a lost
    /// invalidation can keep a revoked key alive (default 10 s).
    pub ttl: Duration,
    /// How long an unknown id is remembered as unknown (default 2 s).
    pub negative_ttl: Duration,
    /// Most unknown ids remembered at once, so that guessing ids cannot fill memory
    /// (default 100,000; past it, the id looked up longest ago makes room).
    pub max_negative: usize,
}

impl Default for CacheConfig {
    fn default() -> Self {
        CacheConfig {
            ttl: Duration::from_secs(10),
            negative_ttl: Duration::from_secs(2),
            max_negative: 100_000,
        }
    }
}

/// A [`KeyStore`] that serves [`peek`](KeyStore::peek) from memory and sends everything else
/// to the store it wraps.
///
/// Records read by [`find`](KeyStore::find) are kept for [`CacheConfig::ttl`]; unknown ids for
/// [`CacheConfig::negative_ttl`], at most [`CacheConfig::max_negative`] of them. Writes through
/// the cache drop what they change. Changes made elsewhere (another replica) reach the cache
/// through [`invalidate`](Self::invalidate), which a change feed calls (keygate-postgres
/// listens for PostgreSQL notifications); while that feed is down, call
/// [`set_bypass`](Self::set_bypass) so every verify reads the store. [`find`](KeyStore::find)
/// always reads the store, so management reads are fresh.
///
/// ```
/// use std::sync::Arc;
/// use keygate::{Keygate, manage::NewKey, preset::Preset};
/// use keygate::store::{CacheConfig, CachedStore, KeyStore, MemoryStore, Owner, Peek};
///
/// # #[tokio::main(flavor = "current_thread")]
/// # async fn main() -> Result<(), Box<dyn std::error::Error>> {
/// let store = Arc::new(CachedStore::new(MemoryStore::new(), CacheConfig::default()));
/// let gate = Keygate::builder(Preset::livetest()).store(store.clone()).random_pepper().build()?;
/// let minted = gate.mint(NewKey::new(Owner::workspace("wks_1"), "ci")).await?;
/// gate.verify(minted.key.expose_secret()).await?; // read from the store, then kept
/// assert!(matches!(store.peek(&minted.record.id), Peek::Found(_)));
/// store.invalidate(&minted.record.id); // what a change feed calls
/// assert!(matches!(store.peek(&minted.record.id), Peek::Unknown));
/// # Ok(())
/// # }
/// ```
pub struct CachedStore<S> {
    inner: S,
    config: CacheConfig,
    records: Map<KeyId, (Arc<KeyRecord>, Instant)>,
    /// Unknown ids and when they were found unknown: bounded, least recently used first out,
    /// and an entry past its TTL is dropped when read.
    unknown: Mutex<LruCache<KeyId, Instant>>,
    /// Bumped by every invalidation, so that a read that raced one is not cached.
    generation: AtomicU64,
    bypass: AtomicBool,
}

impl<S> std::fmt::Debug for CachedStore<S> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("CachedStore")
            .field("config", &self.config)
            .field("records", &self.records.len())
            .field("unknown", &self.unknown.lock().map_or(0, |u| u.len()))
            .finish_non_exhaustive()
    }
}

impl<S: KeyStore> CachedStore<S> {
    /// A cache in front of `inner`.
    pub fn new(inner: S, config: CacheConfig) -> Self {
        CachedStore {
            inner,
            config,
            records: new_map(),
            unknown: Mutex::new(LruCache::new(
                NonZeroUsize::new(config.max_negative).unwrap_or(NonZeroUsize::MIN),
            )),
            generation: AtomicU64::new(0),
            bypass: AtomicBool::new(false),
        }
    }

    /// The store behind the cache.
    pub fn inner(&self) -> &S {
        &self.inner
    }

    /// Forgets what is cached about `id`.
    pub fn invalidate(&self, id: &KeyId) {
        self.generation.fetch_add(1, Ordering::SeqCst);
        self.records.pin().remove(id);
        self.unknown().pop(id);
    }

    /// Forgets everything: after a change feed reconnects, since changes may have been missed.
    pub fn invalidate_all(&self) {
        self.generation.fetch_add(1, Ordering::SeqCst);
        self.records.pin().clear();
        self.unknown().clear();
    }

    /// While `true`, [`peek`](KeyStore::peek) answers nothing from memory: for when the change
    /// feed is down and invalidations could be missed.
    pub fn set_bypass(&self, bypass: bool) {
        self.bypass.store(bypass, Ordering::SeqCst);
        if bypass {
            self.invalidate_all();
        }
    }

    fn unknown(&self) -> MutexGuard<'_, LruCache<KeyId, Instant>> {
        // Plain timestamps: a panic elsewhere cannot leave them inconsistent.
        self.unknown.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// How many records and unknown ids are cached.
    pub fn len(&self) -> (usize, usize) {
        (self.records.len(), self.unknown().len())
    }

    /// Whether nothing is cached.
    pub fn is_empty(&self) -> bool {
        self.records.is_empty() && self.unknown().is_empty()
    }
}

#[async_trait::async_trait]
impl<S: KeyStore> KeyStore for CachedStore<S> {
    #[inline]
    fn peek(&self, id: &KeyId) -> Peek {
        if self.bypass.load(Ordering::Relaxed) {
            return Peek::Unknown;
        }
        if let Some((record, at)) = self.records.pin().get(id) {
            return if at.elapsed() < self.config.ttl {
                Peek::Found(record.clone())
            } else {
                Peek::Unknown
            };
        }
        let mut unknown = self.unknown();
        match unknown.get(id) {
            Some(at) if at.elapsed() < self.config.negative_ttl => Peek::Absent,
            Some(_) => {
                unknown.pop(id);
                Peek::Unknown
            }
            None => Peek::Unknown,
        }
    }

    async fn find(&self, id: &KeyId) -> Result<Option<Arc<KeyRecord>>, StoreError> {
        let generation = self.generation.load(Ordering::SeqCst);
        let found = self.inner.find(id).await?;
        if self.generation.load(Ordering::SeqCst) == generation
            && !self.bypass.load(Ordering::Relaxed)
        {
            match &found {
                Some(record) => {
                    self.records.pin().insert(*id, (record.clone(), Instant::now()));
                    self.unknown().pop(id);
                }
                None => {
                    self.unknown().put(*id, Instant::now());
                }
            }
        }
        Ok(found)
    }

    async fn insert(&self, record: KeyRecord) -> Result<(), StoreError> {
        let id = record.id;
        let result = self.inner.insert(record).await;
        self.invalidate(&id);
        result
    }

    async fn insert_within(&self, record: KeyRecord, limit: u64) -> Result<(), StoreError> {
        let id = record.id;
        let result = self.inner.insert_within(record, limit).await;
        self.invalidate(&id);
        result
    }

    async fn update(&self, id: &KeyId, update: &KeyUpdate) -> Result<Arc<KeyRecord>, StoreError> {
        let result = self.inner.update(id, update).await;
        self.invalidate(id);
        result
    }

    async fn rotate(&self, old: &KeyId, rotation: &Rotation) -> Result<Rotated, StoreError> {
        let result = self.inner.rotate(old, rotation).await;
        self.invalidate(old);
        self.invalidate(&rotation.id);
        result
    }

    async fn list(&self, query: &ListQuery) -> Result<Page, StoreError> {
        self.inner.list(query).await
    }

    async fn revoke_all(
        &self,
        workspace_id: &str,
        user_id: Option<&str>,
        at: Timestamp,
    ) -> Result<u64, StoreError> {
        let result = self.inner.revoke_all(workspace_id, user_id, at).await;
        self.invalidate_all();
        result
    }

    async fn expiring(
        &self,
        after: Timestamp,
        until: Timestamp,
        limit: usize,
    ) -> Result<Vec<Arc<KeyRecord>>, StoreError> {
        self.inner.expiring(after, until, limit).await
    }

    fn spend_now(
        &self,
        id: &KeyId,
        cost: u64,
        now: Timestamp,
    ) -> Option<Result<Spend, StoreError>> {
        self.inner.spend_now(id, cost, now)
    }

    async fn spend(&self, id: &KeyId, cost: u64, now: Timestamp) -> Result<Spend, StoreError> {
        // Always the store's balance, never a cached one: it is shared with other replicas. The
        // cached record keeps its old balance, which no decision reads.
        self.inner.spend(id, cost, now).await
    }

    async fn record_usage(&self, batch: &[UsageDelta]) -> Result<(), StoreError> {
        // Usage does not change a verify's answer: the cached records may keep their old counts.
        self.inner.record_usage(batch).await
    }

    async fn record_networks(
        &self,
        batch: &[NetworkSighting],
    ) -> Result<Vec<NetworkSighting>, StoreError> {
        // Kept by the store alone: which network is new is decided where every replica writes.
        self.inner.record_networks(batch).await
    }

    async fn recent_networks(&self, id: &KeyId) -> Result<Vec<SeenNetwork>, StoreError> {
        self.inner.recent_networks(id).await
    }

    async fn usage_days(
        &self,
        id: &KeyId,
        first: i64,
        last: i64,
    ) -> Result<Vec<super::DayCount>, StoreError> {
        self.inner.usage_days(id, first, last).await
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::MemoryStore;

    fn record(id: &str) -> KeyRecord {
        let hasher = crate::hash::KeyHasher::new(1, crate::hash::Pepper::new([1u8; 32]).unwrap());
        let mut record = KeyRecord::new(
            KeyId::from_raw(id).unwrap(),
            hasher.hash("s").1,
            1,
            "kg_abcd".into(),
            crate::store::Owner::workspace("w"),
            crate::format::Environment::Live,
            Timestamp::UNIX_EPOCH,
        );
        record.name = "n".into();
        record
    }

    #[tokio::test]
    async fn hits_misses_invalidation_and_ttl() {
        let config = CacheConfig { ttl: Duration::from_millis(50), ..CacheConfig::default() };
        let cache = CachedStore::new(MemoryStore::new(), config);
        let r = record("abcdefgh1234");
        // Written behind the cache's back, as another replica would.
        cache.inner().insert(r.clone()).await.unwrap();
        assert!(matches!(cache.peek(&r.id), Peek::Unknown), "not read yet");
        cache.find(&r.id).await.unwrap();
        assert!(matches!(cache.peek(&r.id), Peek::Found(_)), "read once, served from memory");
        let revoke = KeyUpdate { revoke_at: Some(Timestamp::UNIX_EPOCH), ..KeyUpdate::default() };
        cache.inner().update(&r.id, &revoke).await.unwrap();
        assert!(
            matches!(cache.peek(&r.id), Peek::Found(ref c) if c.revoked_at.is_none()),
            "stale until told"
        );
        cache.invalidate(&r.id);
        assert!(matches!(cache.peek(&r.id), Peek::Unknown));
        cache.find(&r.id).await.unwrap();
        assert!(matches!(cache.peek(&r.id), Peek::Found(ref c) if c.revoked_at.is_some()));
        std::thread::sleep(Duration::from_millis(60));
        assert!(matches!(cache.peek(&r.id), Peek::Unknown), "the TTL is a backstop");
        cache.set_bypass(true);
        cache.find(&r.id).await.unwrap();
        assert!(matches!(cache.peek(&r.id), Peek::Unknown), "bypassed while the feed is down");
    }

    #[tokio::test]
    async fn unknown_ids_are_bounded() {
        let config = CacheConfig { max_negative: 3, ..CacheConfig::default() };
        let cache = CachedStore::new(MemoryStore::new(), config);
        for i in 0..10 {
            let id = KeyId::from_raw(&format!("unknownid{i:03}")).unwrap();
            assert!(cache.find(&id).await.unwrap().is_none());
        }
        assert_eq!(cache.len(), (0, 3), "bounded");
        // The ids looked up longest ago made room: the newest are remembered, to the last.
        let first = KeyId::from_raw("unknownid000").unwrap();
        assert!(matches!(cache.peek(&first), Peek::Unknown));
        let last = KeyId::from_raw("unknownid009").unwrap();
        assert!(matches!(cache.peek(&last), Peek::Absent), "never stops remembering");
    }

    #[tokio::test]
    async fn unknown_ids_are_forgotten_after_the_negative_ttl() {
        let config =
            CacheConfig { negative_ttl: Duration::from_millis(30), ..CacheConfig::default() };
        let cache = CachedStore::new(MemoryStore::new(), config);
        let r = record("bornlater001");
        assert!(cache.find(&r.id).await.unwrap().is_none());
        assert!(matches!(cache.peek(&r.id), Peek::Absent), "remembered as unknown");
        // Minted by another replica meanwhile: found once the negative entry has lapsed.
        cache.inner().insert(r.clone()).await.unwrap();
        std::thread::sleep(Duration::from_millis(40));
        assert!(matches!(cache.peek(&r.id), Peek::Unknown), "the negative entry lapsed");
        assert_eq!(cache.len().1, 0, "and was dropped");
        assert!(cache.find(&r.id).await.unwrap().is_some());
        assert!(matches!(cache.peek(&r.id), Peek::Found(_)));
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn a_read_that_raced_an_invalidation_is_not_cached() {
        use crate::store::suite::Switchable;
        let cache =
            Arc::new(CachedStore::new(Switchable::new(MemoryStore::new()), CacheConfig::default()));
        let r = record("racedread001");
        cache.inner().insert(r.clone()).await.unwrap();
        let hold = cache.inner().hold_finds().await;
        let reader = {
            let (cache, id) = (cache.clone(), r.id);
            tokio::spawn(async move { cache.find(&id).await })
        };
        while cache.inner().finds_started() == 0 {
            tokio::task::yield_now().await;
        }
        // A change lands while the read is in flight: what the read returns may be stale.
        cache.invalidate(&r.id);
        drop(hold);
        assert!(reader.await.unwrap().unwrap().is_some());
        assert!(matches!(cache.peek(&r.id), Peek::Unknown), "the raced read is not cached");
        cache.find(&r.id).await.unwrap();
        assert!(matches!(cache.peek(&r.id), Peek::Found(_)), "a read that raced nothing is");
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 4)]
    async fn memory_behind_a_cache_passes_the_suite() {
        crate::store::suite::run(Arc::new(CachedStore::new(
            MemoryStore::new(),
            CacheConfig::default(),
        )))
        .await;
    }
}
