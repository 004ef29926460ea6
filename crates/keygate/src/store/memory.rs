use std::sync::{Arc, Mutex, MutexGuard};

use crate::clock::Timestamp;
use crate::format::KeyId;

use super::credit_cell::{CreditCell, Held};
use super::{
    Credits, Cursor, DayCount, KeyRecord, KeyStore, KeyUpdate, ListQuery, MAX_PAGE,
    NetworkSighting, Page, Peek, Rotated, Rotation, SeenNetwork, Spend, StoreError, Usage,
    UsageDelta,
};

type Map = crate::map::Map<KeyId, Arc<KeyRecord>>;
/// The balance of every key with credits, each in a cell of its own.
type Balances = crate::map::Map<KeyId, Arc<CreditCell>>;

/// A [`KeyStore`] in process memory: for one process, tests and benches.
///
/// Reads take no lock (a lock-free map with a fast, seeded hasher); writes are serialized by a
/// mutex so that [`rotate`](KeyStore::rotate) is atomic. A key's credits are spent with one
/// compare-and-swap, without a lock, I/O or allocation; [`peek`](KeyStore::peek) may show an older
/// balance than [`find`](KeyStore::find). Everything is lost when the process exits.
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
    balances: Balances,
    writes: Mutex<()>,
    /// Each key's requests per UTC day, kept by the usage flush.
    days: Mutex<std::collections::HashMap<KeyId, std::collections::BTreeMap<i64, u64>>>,
    /// Each key's recent networks; only the write-behind flush and a key's details touch it.
    networks: Mutex<std::collections::HashMap<KeyId, Vec<SeenNetwork>>>,
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
        MemoryStore {
            map: crate::map::new_map(),
            balances: crate::map::new_map(),
            writes: Mutex::new(()),
            days: Mutex::new(std::collections::HashMap::new()),
            networks: Mutex::new(std::collections::HashMap::new()),
        }
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
        self.map.pin().get(id).map(|r| self.current(r))
    }

    /// `record` with its balance as it is now.
    fn current(&self, record: &Arc<KeyRecord>) -> Arc<KeyRecord> {
        if record.credits.is_none() {
            return record.clone();
        }
        let balance = self.balances.pin().get(&record.id).map(|cell| cell.get());
        if balance.is_none() || balance == record.credits {
            return record.clone();
        }
        let mut now = KeyRecord::clone(record);
        now.credits = balance;
        Arc::new(now)
    }

    /// The cell of a key's balance, if it has credits. Held under the write lock only.
    fn balance_cell(&self, id: &KeyId) -> Option<Arc<CreditCell>> {
        self.balances.pin().get(id).cloned()
    }

    /// Sets the balance of `id` to `credits` (under the write lock), in the cell `held`, when
    /// there is one: before the record is written, so that a record with credits always has a
    /// balance.
    /// Returns what was spent from `held` since it was read (spends take no lock).
    fn set_balance(&self, id: KeyId, credits: Option<Credits>, held: Option<Held<'_>>) -> u64 {
        match (credits, held) {
            (Some(c), Some(held)) => held.set(c),
            (Some(c), None) => {
                self.balances.pin().insert(id, Arc::new(CreditCell::new(c)));
                0
            }
            (None, held) => {
                // Spends still arriving find no cell: the key is unlimited from now on.
                let spent = held.map_or(0, |h| h.set(Credits::new(0)));
                self.balances.pin().remove(&id);
                spent
            }
        }
    }

    /// Inserts a new record and its balance.
    fn put_new(&self, record: KeyRecord) {
        let _ = self.set_balance(record.id, record.credits, None);
        self.map.pin().insert(record.id, Arc::new(record));
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
        self.put_new(record);
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
        self.put_new(record);
        Ok(())
    }

    async fn update(&self, id: &KeyId, update: &KeyUpdate) -> Result<Arc<KeyRecord>, StoreError> {
        let _w = self.write_lock();
        let map = self.map.pin();
        let mut record = KeyRecord::clone(map.get(id).ok_or(StoreError::NotFound(*id))?);
        // The balance is held from its read to its write: no refill or change comes between,
        // and a spend that does is taken off what is written.
        let cell = self.balance_cell(id);
        let held = cell.as_deref().map(CreditCell::hold);
        if let Some(held) = &held {
            record.credits = Some(held.read());
        }
        update.apply(&mut record)?;
        self.set_balance(*id, record.credits, held);
        let record = Arc::new(record);
        map.insert(*id, record.clone());
        Ok(record)
    }

    async fn rotate(&self, old: &KeyId, rotation: &Rotation) -> Result<Rotated, StoreError> {
        let _w = self.write_lock();
        let map = self.map.pin();
        let mut changed = KeyRecord::clone(map.get(old).ok_or(StoreError::NotFound(*old))?);
        let cell = self.balance_cell(old);
        let held = cell.as_deref().map(CreditCell::hold);
        if let Some(held) = &held {
            changed.credits = Some(held.read());
        }
        let new = rotation.apply(&mut changed)?;
        if let Some(limit) = rotation.cap_to_check()
            && self.in_force(&changed.owner.workspace_id, rotation.at) >= limit
        {
            return Err(StoreError::LimitReached { limit });
        }
        if map.contains_key(&new.id) {
            return Err(StoreError::Conflict(new.id));
        }
        // The old key's balance moves first, so that what it spent while held is taken off the
        // new key's, never granted twice.
        let spent = self.set_balance(*old, changed.credits, held);
        let mut new = new;
        if let Some(c) = &mut new.credits {
            c.remaining = c.remaining.saturating_sub(spent);
        }
        let (old_record, new_record) = (Arc::new(changed), Arc::new(new));
        // The new key first: a reader between the two writes sees both keys working, never none.
        self.set_balance(new_record.id, new_record.credits, None);
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
            .map(|r| self.current(r))
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
            .map(|r| self.current(r))
            .collect();
        soon.sort_by_key(|r| (r.expires_at, r.id));
        soon.truncate(limit);
        Ok(soon)
    }

    #[inline]
    fn spend_now(
        &self,
        id: &KeyId,
        cost: u64,
        now: Timestamp,
    ) -> Option<Result<Spend, StoreError>> {
        let balances = self.balances.pin();
        Some(match balances.get(id) {
            Some(cell) => Ok(cell.spend(cost, now)),
            None if self.map.pin().contains_key(id) => Ok(Spend::Unlimited),
            None => Err(StoreError::NotFound(*id)),
        })
    }

    async fn spend(&self, id: &KeyId, cost: u64, now: Timestamp) -> Result<Spend, StoreError> {
        self.spend_now(id, cost, now).unwrap_or(Ok(Spend::Unlimited))
    }

    async fn record_usage(&self, batch: &[UsageDelta]) -> Result<(), StoreError> {
        let _w = self.write_lock();
        let map = self.map.pin();
        let mut days = self.days.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
        for delta in batch {
            if let Some(record) = map.get(&delta.id) {
                let mut changed = KeyRecord::clone(record);
                delta.apply(&mut changed);
                map.insert(delta.id, Arc::new(changed));
                let day = Usage::day_of(delta.last_used);
                let count = days.entry(delta.id).or_default().entry(day).or_default();
                *count = count.saturating_add(delta.count);
            }
        }
        Ok(())
    }

    async fn record_networks(
        &self,
        batch: &[NetworkSighting],
    ) -> Result<Vec<NetworkSighting>, StoreError> {
        let map = self.map.pin();
        // A map of plain lists: a panic elsewhere cannot have left one inconsistent.
        let mut networks = self.networks.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
        let mut new = Vec::new();
        for seen in batch.iter().filter(|s| map.contains_key(&s.id)) {
            if seen.apply(networks.entry(seen.id).or_default()) {
                new.push(*seen);
            }
        }
        Ok(new)
    }

    async fn recent_networks(&self, id: &KeyId) -> Result<Vec<SeenNetwork>, StoreError> {
        let networks = self.networks.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
        Ok(networks.get(id).cloned().unwrap_or_default())
    }

    async fn usage_days(
        &self,
        id: &KeyId,
        first: i64,
        last: i64,
    ) -> Result<Vec<DayCount>, StoreError> {
        let days = self.days.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
        let Some(counts) = days.get(id).filter(|_| first <= last) else { return Ok(Vec::new()) };
        Ok(counts.range(first..=last).map(|(&day, &count)| DayCount { day, count }).collect())
    }
}
