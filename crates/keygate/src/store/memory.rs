use std::sync::{Arc, Mutex, MutexGuard};

use crate::clock::Timestamp;
use crate::format::KeyId;

use super::{
    Cursor, KeyRecord, KeyStore, KeyUpdate, ListQuery, MAX_PAGE, Page, Peek, Rotated, Rotation,
    Spend, StoreError, UsageDelta,
};

type Map = crate::map::Map<KeyId, Arc<KeyRecord>>;

/// A [`KeyStore`] in process memory: for one process, tests and benches.
///
/// Reads take no lock (a lock-free map with a fast, seeded hasher); writes are serialized by a
/// mutex so that [`rotate`](KeyStore::rotate) is atomic. Everything is lost when the process
/// exits.
///
/// ```
/// use std::sync::Arc;
/// use keygate::{Keygate, manage::NewKey, preset::Preset, store::{MemoryStore, Owner}};
///
/// # #[tokio::main(flavor = "current_thread")]
/// # async fn main() -> Result<(), Box<dyn std::error::Error>> {
/// let store = Arc::new(MemoryStore::new());
/// let gate = Keygate::builder(Preset::plane()).store(store.clone()).random_pepper().build()?;
/// gate.mint(NewKey::new(Owner::workspace("wks_1"), "ci")).await?;
/// assert_eq!(store.len(), 1);
/// # Ok(())
/// # }
/// ```
pub struct MemoryStore {
    map: Map,
    writes: Mutex<()>,
}

impl std::fmt::Debug for MemoryStore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("MemoryStore").field("keys", &self.map.len()).finish()
    }
}

impl Default for MemoryStore {
    fn default() -> Self {
        Self::new()
    }
}

impl MemoryStore {
    /// An empty store.
    pub fn new() -> Self {
        MemoryStore { map: crate::map::new_map(), writes: Mutex::new(()) }
    }

    /// How many records it holds.
    pub fn len(&self) -> usize {
        self.map.len()
    }

    /// Whether it holds no record.
    pub fn is_empty(&self) -> bool {
        self.map.is_empty()
    }

    fn write_lock(&self) -> MutexGuard<'_, ()> {
        // The guarded data is `()`: a panic elsewhere cannot have left it inconsistent.
        self.writes.lock().unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    /// How many keys of `workspace` are in force at `at` (a scan: minted by tenants only).
    fn in_force(&self, workspace: &str, at: Timestamp) -> u64 {
        let map = self.map.pin();
        map.values().filter(|r| r.owner.workspace_id == workspace && r.is_in_force_at(at)).count()
            as u64
    }

    fn get(&self, id: &KeyId) -> Option<Arc<KeyRecord>> {
        self.map.pin().get(id).cloned()
    }
}

#[async_trait::async_trait]
impl KeyStore for MemoryStore {
    #[inline]
    fn peek(&self, id: &KeyId) -> Peek {
        match self.map.pin().get(id) {
            Some(r) => Peek::Found(r.clone()),
            None => Peek::Absent,
        }
    }

    async fn find(&self, id: &KeyId) -> Result<Option<Arc<KeyRecord>>, StoreError> {
        Ok(self.get(id))
    }

    async fn insert(&self, record: KeyRecord) -> Result<(), StoreError> {
        let _w = self.write_lock();
        let map = self.map.pin();
        if map.contains_key(&record.id) {
            return Err(StoreError::Conflict(record.id));
        }
        map.insert(record.id, Arc::new(record));
        Ok(())
    }

    async fn insert_within(&self, record: KeyRecord, limit: u64) -> Result<(), StoreError> {
        let _w = self.write_lock();
        let map = self.map.pin();
        if map.contains_key(&record.id) {
            return Err(StoreError::Conflict(record.id));
        }
        if self.in_force(&record.owner.workspace_id, record.created_at) >= limit {
            return Err(StoreError::LimitReached { limit });
        }
        map.insert(record.id, Arc::new(record));
        Ok(())
    }

    async fn update(&self, id: &KeyId, update: &KeyUpdate) -> Result<Arc<KeyRecord>, StoreError> {
        let _w = self.write_lock();
        let map = self.map.pin();
        let mut record = KeyRecord::clone(map.get(id).ok_or(StoreError::NotFound(*id))?);
        update.apply(&mut record)?;
        let record = Arc::new(record);
        map.insert(*id, record.clone());
        Ok(record)
    }

    async fn rotate(&self, old: &KeyId, rotation: &Rotation) -> Result<Rotated, StoreError> {
        let _w = self.write_lock();
        let map = self.map.pin();
        let mut changed = KeyRecord::clone(map.get(old).ok_or(StoreError::NotFound(*old))?);
        let new = rotation.apply(&mut changed)?;
        if let Some(limit) = rotation.cap_to_check()
            && self.in_force(&changed.owner.workspace_id, rotation.at) >= limit
        {
            return Err(StoreError::LimitReached { limit });
        }
        if map.contains_key(&new.id) {
            return Err(StoreError::Conflict(new.id));
        }
        let (old_record, new_record) = (Arc::new(changed), Arc::new(new));
        // The new key first: a reader between the two writes sees both keys working, never none.
        map.insert(new_record.id, new_record.clone());
        map.insert(*old, old_record.clone());
        Ok(Rotated { old: old_record, new: new_record })
    }

    async fn list(&self, query: &ListQuery) -> Result<Page, StoreError> {
        let limit = query.limit.clamp(1, MAX_PAGE);
        let mut records: Vec<Arc<KeyRecord>> = self
            .map
            .pin()
            .values()
            .filter(|r| r.owner.workspace_id == query.workspace_id)
            .filter(|r| query.user_id.is_none() || r.owner.user_id == query.user_id)
            .filter(|r| query.environment.is_none_or(|env| r.environment == env))
            .filter(|r| query.after.is_none_or(|after| Cursor::after(r) > after))
            .cloned()
            .collect();
        records.sort_by_key(|r| Cursor::after(r));
        let next = (records.len() > limit).then(|| Cursor::after(&records[limit - 1]));
        records.truncate(limit);
        Ok(Page { records, next })
    }

    async fn revoke_all(
        &self,
        workspace_id: &str,
        user_id: Option<&str>,
        at: Timestamp,
    ) -> Result<u64, StoreError> {
        let _w = self.write_lock();
        let map = self.map.pin();
        let mut revoked = 0;
        for (id, record) in map.iter() {
            let owner = &record.owner;
            if owner.workspace_id != workspace_id
                || user_id.is_some_and(|u| owner.user_id.as_deref() != Some(u))
            {
                continue;
            }
            if record.revoked_at.is_none_or(|t| t > at) {
                revoked += 1;
                let mut changed = KeyRecord::clone(record);
                changed.revoked_at = Some(at);
                map.insert(*id, Arc::new(changed));
            }
        }
        Ok(revoked)
    }

    async fn expiring(
        &self,
        after: Timestamp,
        until: Timestamp,
        limit: usize,
    ) -> Result<Vec<Arc<KeyRecord>>, StoreError> {
        let mut soon: Vec<Arc<KeyRecord>> = self
            .map
            .pin()
            .values()
            .filter(|r| r.expires_at.is_some_and(|t| after < t && t <= until))
            .filter(|r| !r.is_revoked_at(after))
            .cloned()
            .collect();
        soon.sort_by_key(|r| (r.expires_at, r.id));
        soon.truncate(limit);
        Ok(soon)
    }

    async fn spend(&self, id: &KeyId, cost: u64, now: Timestamp) -> Result<Spend, StoreError> {
        let _w = self.write_lock();
        let map = self.map.pin();
        let record = map.get(id).ok_or(StoreError::NotFound(*id))?;
        let Some(mut credits) = record.credits else { return Ok(Spend::Unlimited) };
        let spend = credits.spend(cost, now);
        if Some(credits) != record.credits {
            let mut changed = KeyRecord::clone(record);
            changed.credits = Some(credits);
            map.insert(*id, Arc::new(changed));
        }
        Ok(spend)
    }

    async fn record_usage(&self, batch: &[UsageDelta]) -> Result<(), StoreError> {
        let _w = self.write_lock();
        let map = self.map.pin();
        for delta in batch {
            if let Some(record) = map.get(&delta.id) {
                let mut changed = KeyRecord::clone(record);
                delta.apply(&mut changed);
                map.insert(delta.id, Arc::new(changed));
            }
        }
        Ok(())
    }
}
