//! A store that can be taken down or held: what an outage or a slow read looks like.

use std::sync::Arc;

use crate::clock::Timestamp;
use crate::format::KeyId;
use crate::store::{
    KeyRecord, KeyStore, KeyUpdate, ListQuery, NetworkSighting, Peek, Rotated, Rotation,
    SeenNetwork, StoreError, UsageDelta,
};

/// A store that forwards to another and can be taken down: while down, every call fails with
/// [`StoreError::Unavailable`], as a database outage would. For testing how a service behaves
/// when its store is unreachable, and (with [`hold_finds`](Self::hold_finds)) what happens to a
/// read that is in flight while something changes.
///
/// ```
/// use std::sync::Arc;
/// use keygate::{AuthError, Keygate, manage::NewKey, preset::Preset};
/// use keygate::store::{MemoryStore, Owner, suite::Switchable};
///
/// # #[tokio::main(flavor = "current_thread")]
/// # async fn main() -> Result<(), Box<dyn std::error::Error>> {
/// let store = Arc::new(Switchable::new(MemoryStore::new()));
/// let gate = Keygate::builder(Preset::livetest()).store(store.clone()).random_pepper().build()?;
/// let minted = gate.mint(NewKey::new(Owner::workspace("wks_1"), "ci")).await?;
/// store.set_down(true);
/// // An unreachable store never lets a key through: 503, not 200.
/// let err = gate.verify(minted.key.expose_secret()).await.unwrap_err();
/// assert!(matches!(err, AuthError::Unavailable(_)));
/// # Ok(())
/// # }
/// ```
pub struct Switchable<S> {
    inner: S,
    down: std::sync::atomic::AtomicBool,
    finds: tokio::sync::RwLock<()>,
    finds_started: std::sync::atomic::AtomicUsize,
}

impl<S: KeyStore> Switchable<S> {
    /// `inner`, up.
    pub fn new(inner: S) -> Self {
        Switchable {
            inner,
            down: std::sync::atomic::AtomicBool::new(false),
            finds: tokio::sync::RwLock::new(()),
            finds_started: std::sync::atomic::AtomicUsize::new(0),
        }
    }

    /// Holds every [`find`](KeyStore::find) that starts from now until the guard is dropped.
    pub async fn hold_finds(&self) -> tokio::sync::RwLockWriteGuard<'_, ()> {
        self.finds.write().await
    }

    /// How many [`find`](KeyStore::find)s have started, held or not.
    pub fn finds_started(&self) -> usize {
        self.finds_started.load(std::sync::atomic::Ordering::SeqCst)
    }

    /// Takes the store down (`true`) or brings it back.
    pub fn set_down(&self, down: bool) {
        self.down.store(down, std::sync::atomic::Ordering::SeqCst);
    }

    fn check(&self) -> Result<(), StoreError> {
        if self.down.load(std::sync::atomic::Ordering::SeqCst) {
            return Err(StoreError::Unavailable("the store is down".into()));
        }
        Ok(())
    }
}

impl<S: Default + KeyStore> Default for Switchable<S> {
    fn default() -> Self {
        Self::new(S::default())
    }
}

#[async_trait::async_trait]
impl<S: KeyStore> KeyStore for Switchable<S> {
    fn peek(&self, id: &KeyId) -> Peek {
        if self.down.load(std::sync::atomic::Ordering::SeqCst) {
            Peek::Unknown
        } else {
            self.inner.peek(id)
        }
    }
    async fn find(&self, id: &KeyId) -> Result<Option<Arc<KeyRecord>>, StoreError> {
        self.finds_started.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
        let _released = self.finds.read().await;
        self.check()?;
        self.inner.find(id).await
    }
    async fn insert(&self, record: KeyRecord) -> Result<(), StoreError> {
        self.check()?;
        self.inner.insert(record).await
    }
    async fn insert_within(&self, record: KeyRecord, limit: u64) -> Result<(), StoreError> {
        self.check()?;
        self.inner.insert_within(record, limit).await
    }
    async fn update(&self, id: &KeyId, update: &KeyUpdate) -> Result<Arc<KeyRecord>, StoreError> {
        self.check()?;
        self.inner.update(id, update).await
    }
    async fn rotate(&self, old: &KeyId, rotation: &Rotation) -> Result<Rotated, StoreError> {
        self.check()?;
        self.inner.rotate(old, rotation).await
    }
    async fn list(&self, query: &ListQuery) -> Result<crate::store::Page, StoreError> {
        self.check()?;
        self.inner.list(query).await
    }
    async fn revoke_all(
        &self,
        workspace_id: &str,
        user_id: Option<&str>,
        at: Timestamp,
    ) -> Result<u64, StoreError> {
        self.check()?;
        self.inner.revoke_all(workspace_id, user_id, at).await
    }
    async fn expiring(
        &self,
        after: Timestamp,
        until: Timestamp,
        limit: usize,
    ) -> Result<Vec<Arc<KeyRecord>>, StoreError> {
        self.check()?;
        self.inner.expiring(after, until, limit).await
    }
    async fn spend(
        &self,
        id: &KeyId,
        cost: u64,
        now: Timestamp,
    ) -> Result<crate::store::Spend, StoreError> {
        self.check()?;
        self.inner.spend(id, cost, now).await
    }
    async fn record_usage(&self, batch: &[UsageDelta]) -> Result<(), StoreError> {
        self.check()?;
        self.inner.record_usage(batch).await
    }
    async fn record_networks(
        &self,
        batch: &[NetworkSighting],
    ) -> Result<Vec<NetworkSighting>, StoreError> {
        self.check()?;
        self.inner.record_networks(batch).await
    }
    async fn recent_networks(&self, id: &KeyId) -> Result<Vec<SeenNetwork>, StoreError> {
        self.check()?;
        self.inner.recent_networks(id).await
    }
    async fn usage_days(
        &self,
        id: &KeyId,
        first: i64,
        last: i64,
    ) -> Result<Vec<crate::store::DayCount>, StoreError> {
        self.check()?;
        self.inner.usage_days(id, first, last).await
    }
}
