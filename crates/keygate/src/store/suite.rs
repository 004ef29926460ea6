//! The behaviour every [`KeyStore`] must show, as one async function a store crate calls from
//! its own tests: `keygate::store::suite::run(Arc::new(MyStore::new(..))).await`.
//!
//! Each run works in a workspace of its own, with fresh random key ids, so that runs against
//! a shared database never see each other's records. It panics, like any test, on the first
//! behaviour that differs.

use std::sync::Arc;
use std::time::Duration;

use crate::clock::Timestamp;
use crate::format::{Environment, KeyFormat, KeyId};
use crate::hash::{KeyHasher, Pepper};
use crate::scope::ScopeSet;
use crate::store::{
    KeyKind, KeyRecord, KeyStore, KeyUpdate, ListQuery, Owner, Peek, StoreError, Usage, UsageDelta,
};

/// Runs every check against `store`.
///
/// # Panics
/// On the first check the store fails, with a message naming it.
pub async fn run(store: Arc<dyn KeyStore>) {
    let kit = Kit::new();
    insert_and_find(&*store, &kit).await;
    insert_conflict(&*store, &kit).await;
    update(&*store, &kit).await;
    rotate(&*store, &kit).await;
    list(&*store, &kit).await;
    usage(&*store, &kit).await;
    expiring(&*store, &kit).await;
    revoke_all(&*store).await;
    concurrent_insert(store.clone(), &kit).await;
    concurrent_rotate(store, &kit).await;
}

struct Kit {
    format: KeyFormat,
    hasher: KeyHasher,
    workspace: String,
}

impl Kit {
    fn new() -> Self {
        let format = KeyFormat::builder("suite").build().expect("format");
        let hasher = KeyHasher::new(1, Pepper::new([7u8; 32]).expect("pepper"));
        let tag = format.generate(Environment::Live).expect("random");
        let workspace = format!("wks_suite_{}", &tag.expose_secret()["suite_".len()..][..12]);
        Kit { format, hasher, workspace }
    }

    fn record(&self, user: Option<&str>, created_at: Timestamp) -> KeyRecord {
        let key = self.format.generate(Environment::Live).expect("random");
        let parsed = self.format.parse(key.expose_secret()).expect("parse");
        let (pepper_version, hash) = self.hasher.hash(parsed.secret());
        KeyRecord {
            id: parsed.id(),
            hash,
            pepper_version,
            preview: self.format.preview_of(Environment::Live, &parsed.id()),
            owner: Owner { workspace_id: self.workspace.clone(), user_id: user.map(str::to_owned) },
            kind: KeyKind::User,
            environment: Environment::Live,
            scopes: ScopeSet::parse(["tasks:read", "tasks:write"]).expect("scopes"),
            name: "suite key".into(),
            description: Some("made by the store suite".into()),
            created_at,
            expires_at: Some(created_at.saturating_add(Duration::from_secs(86_400))),
            revoked_at: None,
            disabled: false,
            last_used: None,
            rate_plan: None,
            usage: Usage::default(),
        }
    }
}

fn t(secs: i64) -> Timestamp {
    Timestamp::from_unix_seconds(1_800_000_000 + secs)
}

async fn found(store: &dyn KeyStore, id: &KeyId) -> Arc<KeyRecord> {
    let from_find = store.find(id).await.expect("find").unwrap_or_else(|| panic!("{id} not found"));
    if let Peek::Found(peeked) = store.peek(id) {
        assert_eq!(*peeked, *from_find, "peek and find disagree on {id}");
    }
    from_find
}

async fn insert_and_find(store: &dyn KeyStore, kit: &Kit) {
    let record = kit.record(Some("usr_1"), t(0));
    store.insert(record.clone()).await.expect("insert");
    let back = found(store, &record.id).await;
    assert_eq!(*back, record, "a record reads back as it was written");
    let missing = kit.record(None, t(0)).id;
    assert!(store.find(&missing).await.expect("find").is_none(), "unknown id finds nothing");
    assert!(!matches!(store.peek(&missing), Peek::Found(_)), "peek of an unknown id finds nothing");
}

async fn insert_conflict(store: &dyn KeyStore, kit: &Kit) {
    let record = kit.record(None, t(1));
    store.insert(record.clone()).await.expect("insert");
    let mut twin = kit.record(None, t(2));
    twin.id = record.id;
    match store.insert(twin).await {
        Err(StoreError::Conflict(id)) => assert_eq!(id, record.id),
        other => panic!("inserting a taken id must be a Conflict, got {other:?}"),
    }
    assert_eq!(*found(store, &record.id).await, record, "a conflict changes nothing");
}

async fn update(store: &dyn KeyStore, kit: &Kit) {
    let record = kit.record(None, t(3));
    store.insert(record.clone()).await.expect("insert");
    let change = KeyUpdate {
        name: Some("renamed".into()),
        description: Some(None),
        scopes: Some(ScopeSet::parse(["tasks:read"]).expect("scopes")),
        expires_at: Some(None),
        disabled: Some(true),
        rate_plan: Some(Some("pro".into())),
        ..KeyUpdate::default()
    };
    let changed = store.update(&record.id, &change).await.expect("update");
    let mut expected = record.clone();
    change.apply(&mut expected);
    assert_eq!(*changed, expected, "update returns the changed record");
    assert_eq!(*found(store, &record.id).await, expected, "update is stored");
    assert_eq!(changed.name, "renamed");
    assert!(changed.description.is_none() && changed.expires_at.is_none() && changed.disabled);

    // A revocation is never postponed.
    let revoke = |at| KeyUpdate { revoke_at: Some(at), ..KeyUpdate::default() };
    store.update(&record.id, &revoke(t(100))).await.expect("revoke");
    let later = store.update(&record.id, &revoke(t(200))).await.expect("revoke again");
    assert_eq!(later.revoked_at, Some(t(100)), "the earlier revocation wins");
    let sooner = store.update(&record.id, &revoke(t(50))).await.expect("revoke sooner");
    assert_eq!(sooner.revoked_at, Some(t(50)));

    let missing = kit.record(None, t(0)).id;
    assert!(
        matches!(store.update(&missing, &change).await, Err(StoreError::NotFound(id)) if id == missing),
        "updating an unknown id is NotFound"
    );
}

async fn rotate(store: &dyn KeyStore, kit: &Kit) {
    let old = kit.record(None, t(4));
    store.insert(old.clone()).await.expect("insert");
    let new = kit.record(None, t(5));
    let changed = store.rotate(&old.id, t(65), new.clone()).await.expect("rotate");
    assert_eq!(changed.revoked_at, Some(t(65)), "the old key is revoked at the end of grace");
    assert_eq!(*found(store, &new.id).await, new, "the new key is stored");
    assert_eq!(found(store, &old.id).await.revoked_at, Some(t(65)));

    let third = kit.record(None, t(6));
    assert!(
        matches!(store.rotate(&old.id, t(70), third.clone()).await, Err(StoreError::NotFound(_))),
        "a rotated key cannot be rotated again"
    );
    assert!(store.find(&third.id).await.expect("find").is_none(), "a failed rotate adds nothing");

    // A taken id for the new key: nothing changes.
    let other = kit.record(None, t(7));
    store.insert(other.clone()).await.expect("insert");
    let mut clash = kit.record(None, t(8));
    clash.id = new.id;
    assert!(
        matches!(store.rotate(&other.id, t(70), clash).await, Err(StoreError::Conflict(_))),
        "rotating onto a taken id is a Conflict"
    );
    assert_eq!(found(store, &other.id).await.revoked_at, None, "a failed rotate revokes nothing");

    let missing = kit.record(None, t(0));
    assert!(
        matches!(
            store.rotate(&missing.id, t(70), kit.record(None, t(9))).await,
            Err(StoreError::NotFound(_))
        ),
        "rotating an unknown id is NotFound"
    );
}

async fn list(store: &dyn KeyStore, kit: &Kit) {
    // Everything this run inserted so far, plus a user's keys, then read it back in pages.
    let mine: Vec<KeyRecord> = (0..5).map(|i| kit.record(Some("usr_list"), t(1000 + i))).collect();
    for r in &mine {
        store.insert(r.clone()).await.expect("insert");
    }
    let mut all = Vec::new();
    let mut after = None;
    loop {
        let page = store
            .list(&ListQuery {
                workspace_id: kit.workspace.clone(),
                user_id: None,
                after,
                limit: 3,
            })
            .await
            .expect("list");
        assert!(page.records.len() <= 3, "a page holds at most `limit` records");
        all.extend(page.records);
        match page.next {
            Some(next) => after = Some(next),
            None => break,
        }
    }
    let order: Vec<_> = all.iter().map(|r| (r.created_at, r.id)).collect();
    let mut sorted = order.clone();
    sorted.sort();
    sorted.dedup();
    assert_eq!(order, sorted, "listing is by creation time then id, without repeats");
    assert!(all.iter().all(|r| r.owner.workspace_id == kit.workspace), "only this workspace");
    for r in &mine {
        assert!(all.iter().any(|x| x.id == r.id), "listing misses {}", r.id);
    }

    let users = store
        .list(&ListQuery {
            workspace_id: kit.workspace.clone(),
            user_id: Some("usr_list".into()),
            after: None,
            limit: 100,
        })
        .await
        .expect("list");
    let ids: Vec<_> = users.records.iter().map(|r| r.id).collect();
    assert_eq!(ids, mine.iter().map(|r| r.id).collect::<Vec<_>>(), "the user's keys, in order");
    assert!(users.next.is_none());

    let nobody = store
        .list(&ListQuery {
            workspace_id: format!("{}_other", kit.workspace),
            user_id: None,
            after: None,
            limit: 100,
        })
        .await
        .expect("list");
    assert!(nobody.records.is_empty(), "another workspace sees nothing");
}

async fn concurrent_insert(store: Arc<dyn KeyStore>, kit: &Kit) {
    let base = kit.record(None, t(2000));
    let tasks: Vec<_> = (0..16)
        .map(|i| {
            let store = store.clone();
            let mut r = base.clone();
            r.name = format!("racer {i}");
            tokio::spawn(async move { store.insert(r).await })
        })
        .collect();
    let mut ok = 0;
    for task in tasks {
        match task.await.expect("task") {
            Ok(()) => ok += 1,
            Err(StoreError::Conflict(_)) => {}
            Err(e) => panic!("concurrent insert failed: {e:?}"),
        }
    }
    assert_eq!(ok, 1, "of 16 concurrent inserts of one id, exactly one succeeds");
}

async fn concurrent_rotate(store: Arc<dyn KeyStore>, kit: &Kit) {
    let old = kit.record(None, t(3000));
    store.insert(old.clone()).await.expect("insert");
    let tasks: Vec<_> = (0..8)
        .map(|i| {
            let store = store.clone();
            let new = kit.record(None, t(3001 + i));
            let id = new.id;
            tokio::spawn(async move { (id, store.rotate(&old.id, t(3100), new).await) })
        })
        .collect();
    let mut winners = Vec::new();
    let mut losers = Vec::new();
    for task in tasks {
        match task.await.expect("task") {
            (id, Ok(_)) => winners.push(id),
            (id, Err(StoreError::NotFound(_))) => losers.push(id),
            (_, Err(e)) => panic!("concurrent rotate failed: {e:?}"),
        }
    }
    assert_eq!(winners.len(), 1, "of 8 concurrent rotations of one key, exactly one succeeds");
    for id in losers {
        assert!(store.find(&id).await.expect("find").is_none(), "a losing rotation adds no key");
    }
}

async fn usage(store: &dyn KeyStore, kit: &Kit) {
    let record = kit.record(None, t(4000));
    store.insert(record.clone()).await.expect("insert");
    let day = 86_400;
    let delta = |count, at| UsageDelta { id: record.id, count, last_used: at };
    store.record_usage(&[delta(3, t(day)), delta(2, t(day + 10))]).await.expect("usage");
    let r = found(store, &record.id).await;
    assert_eq!(r.last_used, Some(t(day + 10)), "last_used is the latest request");
    assert_eq!(r.usage.requests_today(t(day + 20)), 5, "counts add up within a day");
    // An older delta does not move last_used back.
    store.record_usage(&[delta(1, t(day + 5))]).await.expect("usage");
    let r = found(store, &record.id).await;
    assert_eq!(r.last_used, Some(t(day + 10)));
    assert_eq!(r.usage.requests_today(t(day + 20)), 6);
    // The next day starts again; the month keeps counting.
    store.record_usage(&[delta(4, t(2 * day))]).await.expect("usage");
    let r = found(store, &record.id).await;
    let now = t(2 * day + 1);
    assert_eq!(r.usage.requests_today(now), 4, "a new day starts at zero");
    if Usage::month_of(t(day)) == Usage::month_of(now) {
        assert_eq!(r.usage.requests_this_month(now), 10, "the month keeps counting");
    }
    // Deltas for unknown keys are dropped without error.
    let ghost = UsageDelta { id: kit.record(None, t(0)).id, count: 1, last_used: t(day) };
    store.record_usage(&[ghost]).await.expect("unknown ids are dropped");
    assert!(store.find(&ghost.id).await.expect("find").is_none(), "usage creates no record");
}

async fn expiring(store: &dyn KeyStore, kit: &Kit) {
    // Other runs may share the store: look only at this run's workspace.
    let base = 5_000_000;
    let mut soon = kit.record(None, t(base));
    soon.expires_at = Some(t(base + 100));
    let mut sooner = kit.record(None, t(base));
    sooner.expires_at = Some(t(base + 50));
    let mut later = kit.record(None, t(base));
    later.expires_at = Some(t(base + 1000));
    let mut revoked = kit.record(None, t(base));
    revoked.expires_at = Some(t(base + 60));
    revoked.revoked_at = Some(t(base));
    for r in [&soon, &sooner, &later, &revoked] {
        store.insert(r.clone()).await.expect("insert");
    }
    let found: Vec<_> = store
        .expiring(t(base), t(base + 100), 1000)
        .await
        .expect("expiring")
        .into_iter()
        .filter(|r| r.owner.workspace_id == kit.workspace)
        .map(|r| r.id)
        .collect();
    assert_eq!(found, vec![sooner.id, soon.id], "soonest first, within the window, not revoked");
}

async fn revoke_all(store: &dyn KeyStore) {
    let kit = Kit::new();
    let a = kit.record(Some("usr_a"), t(6000));
    let b = kit.record(Some("usr_b"), t(6001));
    let c = kit.record(Some("usr_a"), t(6002));
    let other = Kit::new().record(None, t(6003));
    for r in [&a, &b, &c, &other] {
        store.insert(r.clone()).await.expect("insert");
    }
    let n = store.revoke_all(&kit.workspace, Some("usr_a"), t(7000)).await.expect("revoke_all");
    assert_eq!(n, 2, "a user's keys only");
    assert_eq!(found(store, &a.id).await.revoked_at, Some(t(7000)));
    assert_eq!(found(store, &b.id).await.revoked_at, None);
    let n = store.revoke_all(&kit.workspace, None, t(8000)).await.expect("revoke_all");
    assert_eq!(n, 1, "already revoked keys are left as they are");
    assert_eq!(found(store, &a.id).await.revoked_at, Some(t(7000)), "never postponed");
    assert_eq!(found(store, &b.id).await.revoked_at, Some(t(8000)));
    assert_eq!(found(store, &other.id).await.revoked_at, None, "another workspace is untouched");
}

/// A store that forwards to another and can be taken down: while down, every call fails with
/// [`StoreError::Unavailable`], as a database outage would. For testing how a service behaves
/// when its store is unreachable.
pub struct Switchable<S> {
    inner: S,
    down: std::sync::atomic::AtomicBool,
}

impl<S: KeyStore> Switchable<S> {
    /// `inner`, up.
    pub fn new(inner: S) -> Self {
        Switchable { inner, down: std::sync::atomic::AtomicBool::new(false) }
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
        self.check()?;
        self.inner.find(id).await
    }
    async fn insert(&self, record: KeyRecord) -> Result<(), StoreError> {
        self.check()?;
        self.inner.insert(record).await
    }
    async fn update(&self, id: &KeyId, update: &KeyUpdate) -> Result<Arc<KeyRecord>, StoreError> {
        self.check()?;
        self.inner.update(id, update).await
    }
    async fn rotate(
        &self,
        old: &KeyId,
        old_revoke_at: Timestamp,
        new: KeyRecord,
    ) -> Result<Arc<KeyRecord>, StoreError> {
        self.check()?;
        self.inner.rotate(old, old_revoke_at, new).await
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
    async fn record_usage(&self, batch: &[UsageDelta]) -> Result<(), StoreError> {
        self.check()?;
        self.inner.record_usage(batch).await
    }
}
