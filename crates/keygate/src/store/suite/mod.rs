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
use crate::limit::{RatePlan, Window};
use crate::scope::ScopeSet;
use crate::store::{
    Credits, Cursor, DayCount, KeyKind, KeyRecord, KeyStore, KeyUpdate, ListQuery, Metadata,
    NetworkSighting, Owner, Page, Peek, RECENT_NETWORKS, Refill, Rotated, Rotation, Spend,
    StoreError, Usage, UsageDelta,
};

mod switchable;

pub use switchable::Switchable;

/// Runs every check against `store`. Call it on a multi-thread tokio runtime
/// (`#[tokio::test(flavor = "multi_thread")]`): the concurrency checks race real threads.
///
/// # Panics
/// On the first check the store fails, with a message naming it; at once on a current-thread
/// runtime.
pub async fn run(store: Arc<dyn KeyStore>) {
    assert_eq!(
        tokio::runtime::Handle::current().runtime_flavor(),
        tokio::runtime::RuntimeFlavor::MultiThread,
        "run the store suite on a multi-thread runtime, so that its races are real"
    );
    let kit = Kit::new();
    insert_and_find(&*store, &kit).await;
    insert_conflict(&*store, &kit).await;
    update(&*store, &kit).await;
    lifecycle(&*store, &kit).await;
    rotate(&*store, &kit).await;
    rotation_checks(&*store, &kit).await;
    list(&*store, &kit).await;
    list_pages(&*store).await;
    round_trip(&*store).await;
    list_environment(&*store).await;
    insert_within(&*store).await;
    usage(&*store, &kit).await;
    networks(&*store, &kit).await;
    expiring(&*store, &kit).await;
    expiring_bounds(&*store).await;
    revoke_all(&*store).await;
    concurrent_insert(store.clone(), &kit).await;
    concurrent_insert_within(store.clone()).await;
    concurrent_rotate(store.clone(), &kit).await;
    concurrent_networks(store.clone(), &kit).await;
    concurrent_rotate_and_update(store.clone(), &kit).await;
    spend(&*store, &kit).await;
    refill(&*store, &kit).await;
    credits_changes(&*store, &kit).await;
    concurrent_spend(store, &kit).await;
}

struct Kit {
    format: KeyFormat,
    hasher: KeyHasher,
    workspace: String,
    /// A time range of this kit's own (seconds from [`t`]), for queries that span workspaces.
    epoch: i64,
}

impl Kit {
    fn new() -> Self {
        let format = KeyFormat::builder("suite").build().expect("format");
        let hasher = KeyHasher::new(1, Pepper::new([7u8; 32]).expect("pepper"));
        let tag = format.generate(Environment::Live).expect("random");
        let id = &tag.expose_secret()["suite_".len()..][..12];
        let workspace = format!("wks_suite_{id}");
        let epoch =
            10_000_000 + id.bytes().fold(0i64, |n, b| (n * 61 + i64::from(b)) % 1_000_000) * 1000;
        Kit { format, hasher, workspace, epoch }
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
            rate_limits: Some(RatePlan::of_key([
                Window::new(10, Duration::from_secs(1)),
                Window::new(1_000, Duration::from_secs(3_600)),
                Window::new(5, Duration::from_millis(500)),
            ])),
            usage: Usage::default(),
            metadata: Some(
                Metadata::parse(r#"{"customer":"cus_42","flags":["beta"],"tier":{"seats":3}}"#)
                    .expect("metadata"),
            ),
            allowed_ips: vec![
                "203.0.113.0/24".parse().expect("v4 network"),
                "2001:db8:7::/48".parse().expect("v6 network"),
            ],
            credits: None,
        }
    }

    /// A rotation onto a fresh live key at `at`, the old key working until `old_revoke_at`.
    fn rotation(&self, at: Timestamp, old_revoke_at: Timestamp) -> Rotation {
        let fresh = self.record(None, at);
        Rotation {
            id: fresh.id,
            hash: fresh.hash,
            pepper_version: fresh.pepper_version,
            preview: fresh.preview,
            environment: Environment::Live,
            at,
            old_revoke_at,
            expect_scopes: None,
            cap: None,
        }
    }
}

fn t(secs: i64) -> Timestamp {
    Timestamp::from_unix_seconds(1_800_000_000 + secs)
}

async fn found(store: &dyn KeyStore, id: &KeyId) -> Arc<KeyRecord> {
    let from_find = store.find(id).await.expect("find").unwrap_or_else(|| panic!("{id} not found"));
    if let Peek::Found(peeked) = store.peek(id) {
        // A balance read from memory may be older than the store's.
        let peeked = KeyRecord { credits: from_find.credits, ..KeyRecord::clone(&peeked) };
        assert_eq!(peeked, *from_find, "peek and find disagree on {id}");
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
        rate_limits: Some(Some(RatePlan::of_key([Window::new(2, Duration::from_secs(86_400))]))),
        metadata: Some(Some(Metadata::parse(r#"{"tier":"pro","é":"ü"}"#).expect("metadata"))),
        allowed_ips: Some(vec!["10.0.0.0/8".parse().expect("network")]),
        ..KeyUpdate::default()
    };
    let changed = store.update(&record.id, &change).await.expect("update");
    let mut expected = record.clone();
    change.apply(&mut expected).expect("apply");
    assert_eq!(*changed, expected, "update returns the changed record");
    assert_eq!(*found(store, &record.id).await, expected, "update is stored");
    assert_eq!(changed.name, "renamed");
    assert!(changed.description.is_none() && changed.expires_at.is_none() && changed.disabled);
    let cleared =
        KeyUpdate { metadata: Some(None), rate_limits: Some(None), ..KeyUpdate::default() };
    let changed = store.update(&record.id, &cleared).await.expect("clear metadata");
    assert_eq!(changed.metadata, None, "metadata can be removed");
    assert_eq!(changed.rate_limits, None, "a key's own windows can be removed");
    let stored = found(store, &record.id).await;
    assert_eq!((&stored.metadata, &stored.rate_limits), (&None, &None), "their removal is stored");

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

async fn lifecycle(store: &dyn KeyStore, kit: &Kit) {
    let rename =
        |at| KeyUpdate { name: Some("renamed".into()), at: Some(at), ..KeyUpdate::default() };
    let revoke = |at| KeyUpdate { revoke_at: Some(at), at: Some(at), ..KeyUpdate::default() };

    // A revoked key is final: no change, not even another revocation.
    let revoked = kit.record(None, t(10));
    store.insert(revoked.clone()).await.expect("insert");
    store.update(&revoked.id, &revoke(t(11))).await.expect("revoke");
    let before = found(store, &revoked.id).await;
    for change in [rename(t(12)), revoke(t(12))] {
        assert!(
            matches!(store.update(&revoked.id, &change).await, Err(StoreError::NotFound(_))),
            "a change to a revoked key is NotFound: {change:?}"
        );
    }
    assert_eq!(found(store, &revoked.id).await, before, "a refused change changes nothing");

    // A key in a rotation's grace period still takes changes, and an earlier revocation.
    let grace = kit.record(None, t(10));
    store.insert(grace.clone()).await.expect("insert");
    store.rotate(&grace.id, &kit.rotation(t(11), t(100))).await.expect("rotate");
    store.update(&grace.id, &rename(t(12))).await.expect("a key in its grace period changes");
    let sooner = store.update(&grace.id, &revoke(t(13))).await.expect("revoke in grace");
    assert_eq!(sooner.revoked_at, Some(t(13)), "a revocation shortens the grace period");

    // An expired key cannot be brought back, but can be revoked.
    let expired = kit.record(None, t(10));
    store.insert(expired.clone()).await.expect("insert");
    let after_expiry = t(10 + 86_400);
    let revive =
        KeyUpdate { expires_at: Some(None), at: Some(after_expiry), ..KeyUpdate::default() };
    for change in [revive, rename(after_expiry)] {
        assert!(
            matches!(store.update(&expired.id, &change).await, Err(StoreError::Expired(id)) if id == expired.id),
            "a change to an expired key is Expired: {change:?}"
        );
    }
    assert_eq!(*found(store, &expired.id).await, expired, "a refused change changes nothing");
    let gone = store.update(&expired.id, &revoke(after_expiry)).await.expect("revoke expired");
    assert_eq!(gone.revoked_at, Some(after_expiry));

    // Without a time, a change is applied whatever the state (the operator's repair tool).
    let mut forced = KeyUpdate { name: Some("forced".into()), ..KeyUpdate::default() };
    assert_eq!(store.update(&revoked.id, &forced).await.expect("forced").name, "forced");
    forced.at = Some(after_expiry);
    assert!(store.update(&revoked.id, &forced).await.is_err());
}

async fn rotate(store: &dyn KeyStore, kit: &Kit) {
    let old = kit.record(None, t(4));
    store.insert(old.clone()).await.expect("insert");
    let rotation = kit.rotation(t(5), t(65));
    let Rotated { old: changed, new } = store.rotate(&old.id, &rotation).await.expect("rotate");
    assert_eq!(changed.revoked_at, Some(t(65)), "the old key is revoked at the end of grace");
    let mut expected = old.clone();
    let successor = rotation.apply(&mut expected).expect("apply");
    assert_eq!(*changed, expected, "rotate returns the old record as changed");
    assert_eq!(*new, successor, "rotate returns the new record");
    assert_eq!(new.id, rotation.id);
    assert_eq!((new.hash, new.created_at), (rotation.hash, t(5)));
    assert_eq!(
        (&new.owner, new.kind, new.environment, &new.scopes, &new.name, &new.description),
        (&old.owner, old.kind, old.environment, &old.scopes, &old.name, &old.description),
        "the new key has the old key's settings"
    );
    assert_eq!(new.metadata, old.metadata, "the new key has the old key's metadata");
    assert_eq!((new.expires_at, new.revoked_at, new.disabled), (old.expires_at, None, false));
    assert_eq!(*found(store, &new.id).await, *new, "the new key is stored");
    assert_eq!(found(store, &old.id).await.revoked_at, Some(t(65)));

    let third = kit.rotation(t(6), t(70));
    assert!(
        matches!(store.rotate(&old.id, &third).await, Err(StoreError::NotFound(_))),
        "a rotated key cannot be rotated again"
    );
    assert!(store.find(&third.id).await.expect("find").is_none(), "a failed rotate adds nothing");

    // A taken id for the new key: nothing changes.
    let other = kit.record(None, t(7));
    store.insert(other.clone()).await.expect("insert");
    let mut clash = kit.rotation(t(8), t(70));
    clash.id = new.id;
    assert!(
        matches!(store.rotate(&other.id, &clash).await, Err(StoreError::Conflict(_))),
        "rotating onto a taken id is a Conflict"
    );
    assert_eq!(*found(store, &other.id).await, other, "a failed rotate changes nothing");

    let missing = kit.record(None, t(0));
    assert!(
        matches!(
            store.rotate(&missing.id, &kit.rotation(t(9), t(70))).await,
            Err(StoreError::NotFound(_))
        ),
        "rotating an unknown id is NotFound"
    );
}

/// Rotation reads the old key inside its atomic step: a change made just before is copied, and
/// a disabled, expired or changed key is refused.
async fn rotation_checks(store: &dyn KeyStore, kit: &Kit) {
    let key = kit.record(None, t(20));
    store.insert(key.clone()).await.expect("insert");
    let narrow = ScopeSet::parse(["tasks:read"]).expect("scopes");
    let change = KeyUpdate {
        name: Some("patched".into()),
        scopes: Some(narrow.clone()),
        rate_plan: Some(Some("pro".into())),
        ..KeyUpdate::default()
    };
    store.update(&key.id, &change).await.expect("update");
    let rotated = store.rotate(&key.id, &kit.rotation(t(21), t(21))).await.expect("rotate");
    assert_eq!(
        (rotated.new.name.as_str(), &rotated.new.scopes, rotated.new.rate_plan.as_deref()),
        ("patched", &narrow, Some("pro")),
        "the new key has the settings as they are when it is rotated"
    );

    let disabled = kit.record(None, t(20));
    store.insert(disabled.clone()).await.expect("insert");
    store
        .update(&disabled.id, &KeyUpdate { disabled: Some(true), ..KeyUpdate::default() })
        .await
        .expect("disable");
    let r = kit.rotation(t(21), t(21));
    assert!(
        matches!(store.rotate(&disabled.id, &r).await, Err(StoreError::Disabled(id)) if id == disabled.id),
        "a disabled key cannot be rotated"
    );
    assert!(store.find(&r.id).await.expect("find").is_none());
    assert_eq!(found(store, &disabled.id).await.revoked_at, None);

    let expired = kit.record(None, t(20));
    store.insert(expired.clone()).await.expect("insert");
    let r = kit.rotation(t(20 + 86_400), t(20 + 86_400));
    assert!(
        matches!(store.rotate(&expired.id, &r).await, Err(StoreError::Expired(_))),
        "an expired key cannot be rotated"
    );
    assert_eq!(*found(store, &expired.id).await, expired);

    let changed = kit.record(None, t(20));
    store.insert(changed.clone()).await.expect("insert");
    let mut r = kit.rotation(t(21), t(21));
    r.expect_scopes = Some(narrow.clone());
    assert!(
        matches!(store.rotate(&changed.id, &r).await, Err(StoreError::Changed(_))),
        "scopes other than the expected ones refuse the rotation"
    );
    assert_eq!(*found(store, &changed.id).await, changed);
    r.expect_scopes = Some(changed.scopes.clone());
    store.rotate(&changed.id, &r).await.expect("the expected scopes rotate");
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
                environment: None,
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
            environment: None,
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
            environment: None,
            after: None,
            limit: 100,
        })
        .await
        .expect("list");
    assert!(nobody.records.is_empty(), "another workspace sees nothing");
}

fn ms(secs: i64, millis: i64) -> Timestamp {
    Timestamp::from_unix_millis(t(secs).unix_millis() + millis)
}

async fn page(store: &dyn KeyStore, kit: &Kit, after: Option<Cursor>, limit: usize) -> Page {
    let query = ListQuery {
        workspace_id: kit.workspace.clone(),
        user_id: None,
        environment: None,
        after,
        limit,
    };
    store.list(&query).await.expect("list")
}

/// Paging is exact: full pages, ties on `created_at` broken by id, a cursor that holds while
/// keys are added, and a clamped limit.
async fn list_pages(store: &dyn KeyStore) {
    let kit = Kit::new();
    // Three keys minted in the same millisecond, and others a millisecond apart.
    let mut records: Vec<KeyRecord> = (0..3).map(|_| kit.record(None, ms(1500, 7))).collect();
    records.extend((0..4).map(|i| kit.record(None, ms(1500, 8 + i))));
    for r in &records {
        store.insert(r.clone()).await.expect("insert");
    }
    let mut expected: Vec<_> = records.iter().map(|r| (r.created_at, r.id)).collect();
    expected.sort();

    let first = page(store, &kit, None, 3).await;
    let ids = |p: &Page| p.records.iter().map(|r| (r.created_at, r.id)).collect::<Vec<_>>();
    assert_eq!(ids(&first), expected[..3], "a full first page, ties broken by id");
    let cursor = first.next.expect("more pages");
    assert_eq!(cursor, Cursor::after(&first.records[2]), "the cursor is the last record");

    // Added between pages: one older than the cursor (never shown), one newer (shown once).
    let older = kit.record(None, ms(1500, 0));
    let newer = kit.record(None, ms(1600, 0));
    for r in [&older, &newer] {
        store.insert(r.clone()).await.expect("insert");
    }
    expected.push((newer.created_at, newer.id));
    let second = page(store, &kit, Some(cursor), 3).await;
    assert_eq!(ids(&second), expected[3..6], "a full second page");
    let third = page(store, &kit, second.next, 3).await;
    assert_eq!(ids(&third), expected[6..], "the rest, the newer key once");
    assert!(third.next.is_none(), "the last page says so");

    let one = page(store, &kit, None, 0).await;
    assert_eq!(one.records.len(), 1, "a limit of 0 is read as 1");
    assert!(one.next.is_some());
    let all = page(store, &kit, None, usize::MAX).await;
    assert_eq!(all.records.len(), 9, "a huge limit is capped, not an error");
    assert!(all.next.is_none());
}

/// Every field reads back as written: a test service token with no user, millisecond times, a
/// plan, usage and a grace period.
async fn round_trip(store: &dyn KeyStore) {
    let kit = Kit::new();
    let mut r = kit.record(None, ms(1700, 123));
    r.kind = KeyKind::Service;
    r.environment = Environment::Test;
    r.preview = kit.format.preview_of(Environment::Test, &r.id);
    r.description = None;
    r.expires_at = Some(ms(90_000, 999));
    r.revoked_at = Some(ms(80_000, 1));
    r.disabled = true;
    r.last_used = Some(ms(1750, 5));
    r.rate_plan = Some("professional".into());
    r.usage = Usage {
        day: Usage::day_of(ms(1750, 5)),
        today: 3,
        month: Usage::month_of(ms(1750, 5)),
        this_month: 9,
    };
    r.scopes = ScopeSet::parse(["*", "tasks:*", "admin"]).expect("scopes");
    let refill: Refill = "monthly@15:100".parse().expect("refill");
    r.credits = Some(Credits::new(7).refill(refill, ms(1700, 123)));
    store.insert(r.clone()).await.expect("insert");
    assert_eq!(*found(store, &r.id).await, r, "find");
    let listed = page(store, &kit, None, 10).await;
    assert_eq!(listed.records.len(), 1);
    assert_eq!(*listed.records[0], r, "list");
}

/// `expiring` takes `(after, until]`, leaves out keys revoked by `after`, orders ties by id and
/// stops at `limit`.
async fn expiring_bounds(store: &dyn KeyStore) {
    let kit = Kit::new();
    let base = kit.epoch;
    let at = |expires: i64, revoked: Option<i64>| {
        let mut r = kit.record(None, t(base - 10));
        r.expires_at = Some(t(base + expires));
        r.revoked_at = revoked.map(|v| t(base + v));
        r
    };
    let at_after = at(0, None);
    let at_until = at(100, None);
    let past_until = at(101, None);
    let revoked_at_after = at(50, Some(0));
    let revoked_later = at(50, Some(1));
    let ties: Vec<KeyRecord> = (0..3).map(|_| at(10, None)).collect();
    for r in [&at_after, &at_until, &past_until, &revoked_at_after, &revoked_later]
        .into_iter()
        .chain(&ties)
    {
        store.insert(r.clone()).await.expect("insert");
    }
    let ids = |records: Vec<Arc<KeyRecord>>| records.iter().map(|r| r.id).collect::<Vec<_>>();
    let mut tie_ids: Vec<KeyId> = ties.iter().map(|r| r.id).collect();
    tie_ids.sort();
    let mut expected = tie_ids.clone();
    expected.extend([revoked_later.id, at_until.id]);
    let all = store.expiring(t(base), t(base + 100), 100).await.expect("expiring");
    assert_eq!(ids(all), expected, "(after, until], ties by id, not revoked by `after`");
    let two = store.expiring(t(base), t(base + 100), 2).await.expect("expiring");
    assert_eq!(ids(two), tie_ids[..2], "at most `limit`, soonest first");
}

async fn list_environment(store: &dyn KeyStore) {
    let kit = Kit::new();
    let live = kit.record(None, t(1100));
    let mut test = kit.record(Some("usr_t"), t(1101));
    test.environment = Environment::Test;
    test.kind = KeyKind::Service;
    for r in [&live, &test] {
        store.insert(r.clone()).await.expect("insert");
    }
    assert_eq!(*found(store, &test.id).await, test, "test and service keys read back as written");
    let query = |environment| ListQuery {
        workspace_id: kit.workspace.clone(),
        user_id: None,
        environment,
        after: None,
        limit: 10,
    };
    let ids = |page: crate::store::Page| page.records.iter().map(|r| r.id).collect::<Vec<_>>();
    let tests = store.list(&query(Some(Environment::Test))).await.expect("list");
    assert_eq!(ids(tests), vec![test.id], "only test keys");
    let lives = store.list(&query(Some(Environment::Live))).await.expect("list");
    assert_eq!(ids(lives), vec![live.id], "only live keys");
    let all = store.list(&query(None)).await.expect("list");
    assert_eq!(ids(all), vec![live.id, test.id], "both");
}

async fn insert_within(store: &dyn KeyStore) {
    let kit = Kit::new();
    let now = t(1200);
    let mut revoked = kit.record(None, t(1190));
    revoked.revoked_at = Some(t(1195));
    let mut expired = kit.record(None, t(1190));
    expired.expires_at = Some(t(1199));
    let mut in_grace = kit.record(None, t(1190));
    in_grace.revoked_at = Some(t(1300));
    let mut test = kit.record(None, t(1190));
    test.environment = Environment::Test;
    for r in [&revoked, &expired, &in_grace, &test] {
        store.insert(r.clone()).await.expect("insert");
    }
    // Another workspace's keys do not count.
    let other = Kit::new();
    store.insert(other.record(None, now)).await.expect("insert");

    // In force: `in_grace` and `test`. A cap of 3 takes one more, then refuses.
    let third = kit.record(None, now);
    store.insert_within(third.clone(), 3).await.expect("under the cap");
    assert_eq!(*found(store, &third.id).await, third);
    let fourth = kit.record(None, now);
    assert!(
        matches!(
            store.insert_within(fourth.clone(), 3).await,
            Err(StoreError::LimitReached { limit: 3 })
        ),
        "at the cap, an insert is refused"
    );
    assert!(store.find(&fourth.id).await.expect("find").is_none(), "a refused insert adds nothing");
    let mut twin = kit.record(None, now);
    twin.id = third.id;
    assert!(
        matches!(store.insert_within(twin, 10).await, Err(StoreError::Conflict(_))),
        "a taken id is a Conflict"
    );
    // A rotation with a grace period holds one more key for a while: capped like a mint;
    // without one, the count does not change.
    let mut with_grace = kit.rotation(now, t(1250));
    with_grace.cap = Some(3);
    assert!(
        matches!(
            store.rotate(&third.id, &with_grace).await,
            Err(StoreError::LimitReached { limit: 3 })
        ),
        "a rotation with a grace period at the cap is refused"
    );
    assert_eq!(*found(store, &third.id).await, third, "and changes nothing");
    let mut at_once = kit.rotation(now, now);
    at_once.cap = Some(3);
    store.rotate(&third.id, &at_once).await.expect("a rotation without grace is not capped");
    // Once a key's grace period is over, it no longer counts.
    let mut later = kit.record(None, t(1301));
    later.name = "after the grace period".into();
    store.insert_within(later, 3).await.expect("the rotated key no longer counts");
}

async fn concurrent_insert(store: Arc<dyn KeyStore>, kit: &Kit) {
    let base = kit.record(None, t(2000));
    let barrier = Arc::new(tokio::sync::Barrier::new(16));
    let tasks: Vec<_> = (0..16)
        .map(|i| {
            let (store, barrier) = (store.clone(), barrier.clone());
            let mut r = base.clone();
            r.name = format!("racer {i}");
            tokio::spawn(async move {
                barrier.wait().await;
                store.insert(r).await
            })
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
    let barrier = Arc::new(tokio::sync::Barrier::new(8));
    let tasks: Vec<_> = (0..8)
        .map(|i| {
            let (store, barrier) = (store.clone(), barrier.clone());
            let rotation = kit.rotation(t(3001 + i), t(3100));
            let id = rotation.id;
            tokio::spawn(async move {
                barrier.wait().await;
                (id, store.rotate(&old.id, &rotation).await)
            })
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

async fn concurrent_insert_within(store: Arc<dyn KeyStore>) {
    let kit = Kit::new();
    let barrier = Arc::new(tokio::sync::Barrier::new(16));
    let tasks: Vec<_> = (0..16)
        .map(|_| {
            let (store, barrier, record) =
                (store.clone(), barrier.clone(), kit.record(None, t(2500)));
            tokio::spawn(async move {
                barrier.wait().await;
                store.insert_within(record, 5).await
            })
        })
        .collect();
    let mut ok = 0;
    for task in tasks {
        match task.await.expect("task") {
            Ok(()) => ok += 1,
            Err(StoreError::LimitReached { limit: 5 }) => {}
            Err(e) => panic!("concurrent capped insert failed: {e:?}"),
        }
    }
    assert_eq!(ok, 5, "16 concurrent inserts under a cap of 5: exactly 5 succeed");
}

/// A rotation and a change racing: the new key never has settings older than a change that
/// committed first. With no grace period, a change that loses the race finds the old key
/// revoked, so the outcome of the change says which came first.
async fn concurrent_rotate_and_update(store: Arc<dyn KeyStore>, kit: &Kit) {
    let narrow = ScopeSet::parse(["tasks:read"]).expect("scopes");
    let (mut patch_first, mut rotate_first) = (0, 0);
    for i in 0..40 {
        let at = t(9000 + i);
        let key = kit.record(None, at);
        store.insert(key.clone()).await.expect("insert");
        let barrier = Arc::new(tokio::sync::Barrier::new(2));
        let change = KeyUpdate {
            name: Some("patched".into()),
            scopes: Some(narrow.clone()),
            at: Some(at),
            ..KeyUpdate::default()
        };
        let patch = {
            let (store, barrier) = (store.clone(), barrier.clone());
            tokio::spawn(async move {
                barrier.wait().await;
                store.update(&key.id, &change).await
            })
        };
        let rotation = kit.rotation(at, at);
        let rotate = {
            let store = store.clone();
            tokio::spawn(async move {
                barrier.wait().await;
                store.rotate(&key.id, &rotation).await
            })
        };
        let patched = patch.await.expect("task");
        let rotated = rotate.await.expect("task").expect("the rotation succeeds either way");
        match patched {
            Ok(_) => {
                patch_first += 1;
                assert_eq!(
                    (rotated.new.name.as_str(), &rotated.new.scopes),
                    ("patched", &narrow),
                    "the change committed first, so the new key has it"
                );
            }
            Err(StoreError::NotFound(_)) => {
                rotate_first += 1;
                assert_eq!(
                    (rotated.new.name.as_str(), &rotated.new.scopes),
                    (key.name.as_str(), &key.scopes),
                    "the rotation committed first: the change was refused and the new key is as the old was"
                );
            }
            Err(e) => panic!("concurrent update failed: {e:?}"),
        }
    }
    assert_eq!(patch_first + rotate_first, 40);
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

    // The same requests, per UTC day.
    let mut expected = std::collections::BTreeMap::new();
    for (count, at) in [(3, day), (2, day + 10), (1, day + 5), (4, 2 * day)] {
        *expected.entry(Usage::day_of(t(at))).or_insert(0) += count;
    }
    let expected: Vec<DayCount> =
        expected.into_iter().map(|(day, count)| DayCount { day, count }).collect();
    let (first, last) = (expected[0].day, expected[expected.len() - 1].day);
    let days = store.usage_days(&record.id, first - 90, last + 1).await.expect("days");
    assert_eq!(days, expected, "requests per day, oldest first");
    let one = store.usage_days(&record.id, last, last).await.expect("days");
    assert_eq!(one, expected[expected.len() - 1..], "a range of one day");
    assert!(store.usage_days(&record.id, last + 1, last + 90).await.expect("days").is_empty());
    assert!(store.usage_days(&record.id, last, first - 1).await.expect("days").is_empty());
    assert!(store.usage_days(&ghost.id, first, last).await.expect("days").is_empty());
}

async fn networks(store: &dyn KeyStore, kit: &Kit) {
    let record = kit.record(None, t(4000));
    store.insert(record.clone()).await.expect("insert");
    let seen = |net: &str, at| NetworkSighting {
        id: record.id,
        network: net.parse().expect("network"),
        seen_at: t(at),
    };
    assert_eq!(store.recent_networks(&record.id).await.expect("networks"), []);
    let (a, b) = (seen("203.0.113.0/24", 100), seen("2001:db8:1::/48", 200));
    let new = store.record_networks(&[a, b]).await.expect("record");
    assert_eq!(new, [a, b], "both networks are new to the key");
    // Seen again, later: not new, and the time moves forward (never back).
    let new = store.record_networks(&[seen("203.0.113.0/24", 300)]).await.expect("record");
    assert_eq!(new, [], "a known network is not new");
    store.record_networks(&[seen("2001:db8:1::/48", 150)]).await.expect("record");
    let list = store.recent_networks(&record.id).await.expect("networks");
    let shown: Vec<(String, Timestamp)> =
        list.iter().map(|n| (n.network.to_string(), n.last_seen)).collect();
    assert_eq!(
        shown,
        [("203.0.113.0/24".to_owned(), t(300)), ("2001:db8:1::/48".to_owned(), t(200))],
        "most recent first"
    );
    // The list is bounded: the least recently seen networks are forgotten, and new again.
    let many: Vec<_> =
        (0..RECENT_NETWORKS as i64).map(|i| seen(&format!("198.51.{i}.0/24"), 400 + i)).collect();
    let new = store.record_networks(&many).await.expect("record");
    assert_eq!(new.len(), RECENT_NETWORKS);
    let list = store.recent_networks(&record.id).await.expect("networks");
    assert_eq!(list.len(), RECENT_NETWORKS);
    assert!(list.iter().all(|n| n.network.to_string().starts_with("198.51.")), "{list:?}");
    assert_eq!(list[0].last_seen, t(400 + RECENT_NETWORKS as i64 - 1));
    let again = seen("203.0.113.0/24", 1000);
    assert_eq!(store.record_networks(&[again]).await.expect("record"), [again]);
    // Sightings of unknown keys are dropped without error.
    let ghost = NetworkSighting { id: kit.record(None, t(0)).id, ..a };
    assert_eq!(store.record_networks(&[ghost]).await.expect("unknown ids are dropped"), []);
    assert_eq!(store.recent_networks(&ghost.id).await.expect("networks"), []);
}

async fn concurrent_networks(store: Arc<dyn KeyStore>, kit: &Kit) {
    let record = kit.record(None, t(4000));
    store.insert(record.clone()).await.expect("insert");
    let barrier = Arc::new(tokio::sync::Barrier::new(8));
    let tasks: Vec<_> = (0..8)
        .map(|i| {
            let (store, barrier) = (store.clone(), barrier.clone());
            let seen = NetworkSighting {
                id: record.id,
                network: "192.0.2.0/24".parse().expect("network"),
                seen_at: t(100 + i),
            };
            tokio::spawn(async move {
                barrier.wait().await;
                store.record_networks(&[seen]).await
            })
        })
        .collect();
    let mut new = 0;
    for task in tasks {
        new += task.await.expect("task").expect("record").len();
    }
    assert_eq!(new, 1, "of 8 replicas flushing one new network at once, one reports it");
    let list = store.recent_networks(&record.id).await.expect("networks");
    assert_eq!(list.len(), 1);
    assert_eq!(list[0].last_seen, t(107), "the latest sighting wins");
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

    // A key in a rotation's grace period stops at the revocation, not at the end of its grace.
    let kit = Kit::new();
    let mut in_grace = kit.record(None, t(6000));
    in_grace.revoked_at = Some(t(9000));
    store.insert(in_grace.clone()).await.expect("insert");
    let n = store.revoke_all(&kit.workspace, None, t(8000)).await.expect("revoke_all");
    assert_eq!(n, 1, "a grace period is shortened");
    assert_eq!(found(store, &in_grace.id).await.revoked_at, Some(t(8000)));
}

/// Spending: down to zero, then refused without spending; an unlimited key is not metered.
async fn spend(store: &dyn KeyStore, kit: &Kit) {
    let mut metered = kit.record(None, t(12_000));
    metered.credits = Some(Credits::new(2));
    store.insert(metered.clone()).await.expect("insert");
    let at = t(12_001);
    assert_eq!(
        store.spend(&metered.id, 1, at).await.expect("spend"),
        Spend::Spent { remaining: 1 }
    );
    let too_much = store.spend(&metered.id, 2, at).await.expect("spend");
    assert_eq!(
        too_much,
        Spend::Exhausted { remaining: 1, refills_at: None },
        "a cost over the balance"
    );
    assert_eq!(
        store.spend(&metered.id, 1, at).await.expect("spend"),
        Spend::Spent { remaining: 0 }
    );
    let refused = store.spend(&metered.id, 1, at).await.expect("spend");
    assert_eq!(refused, Spend::Exhausted { remaining: 0, refills_at: None }, "an empty balance");
    let stored = found(store, &metered.id).await;
    assert_eq!(stored.credits, Some(Credits::new(0)), "the balance is stored");
    assert_eq!(
        KeyRecord { credits: metered.credits, ..KeyRecord::clone(&stored) },
        metered,
        "spending changes nothing else"
    );

    let unlimited = kit.record(None, t(12_002));
    store.insert(unlimited.clone()).await.expect("insert");
    assert_eq!(store.spend(&unlimited.id, 1, at).await.expect("spend"), Spend::Unlimited);
    assert_eq!(*found(store, &unlimited.id).await, unlimited, "an unlimited key is unchanged");

    let missing = kit.record(None, t(12_003)).id;
    assert!(matches!(store.spend(&missing, 1, at).await, Err(StoreError::NotFound(_))));
}

/// A refill sets the balance to its amount at the first spend at or after its time.
async fn refill(store: &dyn KeyStore, kit: &Kit) {
    let minted = Timestamp::parse_rfc3339("2027-01-31T23:00:00Z").expect("time");
    let midnight = Timestamp::parse_rfc3339("2027-02-01T00:00:00Z").expect("time");
    let mut key = kit.record(None, minted);
    key.expires_at = None;
    let daily: Refill = "daily:5".parse().expect("refill");
    key.credits = Some(Credits::new(1).refill(daily, minted));
    store.insert(key.clone()).await.expect("insert");
    let just_before = midnight.saturating_sub(Duration::from_millis(1));
    assert_eq!(
        store.spend(&key.id, 1, minted).await.expect("spend"),
        Spend::Spent { remaining: 0 }
    );
    let refused = store.spend(&key.id, 1, just_before).await.expect("spend");
    assert_eq!(refused, Spend::Exhausted { remaining: 0, refills_at: Some(midnight) });
    // At the boundary: set to 5 (not added), then spent.
    assert_eq!(
        store.spend(&key.id, 2, midnight).await.expect("spend"),
        Spend::Spent { remaining: 3 }
    );
    let next = Timestamp::parse_rfc3339("2027-02-02T00:00:00Z").expect("time");
    let stored = found(store, &key.id).await.credits.expect("credits");
    assert_eq!(stored, Credits { remaining: 3, refill: Some(daily), refills_at: Some(next) });
    // Days without requests: one refill, to the amount, at the next spend.
    let later = Timestamp::parse_rfc3339("2027-02-09T10:00:00Z").expect("time");
    assert_eq!(store.spend(&key.id, 1, later).await.expect("spend"), Spend::Spent { remaining: 4 });
}

/// Changes to credits through `update`, and a rotation moving them to the new key.
async fn credits_changes(store: &dyn KeyStore, kit: &Kit) {
    let key = kit.record(None, t(13_000));
    store.insert(key.clone()).await.expect("insert");
    let at = t(13_001);
    let cap = KeyUpdate { remaining: Some(Some(3)), at: Some(at), ..KeyUpdate::default() };
    let capped = store.update(&key.id, &cap).await.expect("update");
    assert_eq!(capped.credits, Some(Credits::new(3)));
    let monthly: Refill = "monthly:10".parse().expect("refill");
    let refill = KeyUpdate { refill: Some(Some(monthly)), at: Some(at), ..KeyUpdate::default() };
    let refilled = store.update(&key.id, &refill).await.expect("update");
    assert_eq!(refilled.credits, Some(Credits::new(3).refill(monthly, at)));
    assert_eq!(found(store, &key.id).await.credits, refilled.credits);

    let rotated = store.rotate(&key.id, &kit.rotation(t(13_002), t(13_100))).await.expect("rotate");
    assert_eq!(rotated.new.credits, refilled.credits, "the new key takes the balance and refill");
    assert_eq!(rotated.old.credits, Some(Credits::new(0)), "the old key keeps none");
    assert_eq!(found(store, &key.id).await.credits, Some(Credits::new(0)));

    let lift = KeyUpdate { remaining: Some(None), at: Some(t(13_003)), ..KeyUpdate::default() };
    let unlimited = store.update(&rotated.new.id, &lift).await.expect("update");
    assert_eq!(unlimited.credits, None, "`remaining: None` makes the key unlimited");
}

/// Concurrent spends never take more than the balance: 40 racers on 10 credits.
async fn concurrent_spend(store: Arc<dyn KeyStore>, kit: &Kit) {
    let mut key = kit.record(None, t(14_000));
    key.credits = Some(Credits::new(10));
    store.insert(key.clone()).await.expect("insert");
    let barrier = Arc::new(tokio::sync::Barrier::new(40));
    let tasks: Vec<_> = (0..40)
        .map(|_| {
            let (store, barrier) = (store.clone(), barrier.clone());
            tokio::spawn(async move {
                barrier.wait().await;
                store.spend(&key.id, 1, t(14_001)).await
            })
        })
        .collect();
    let mut spent = Vec::new();
    for task in tasks {
        match task.await.expect("task") {
            Ok(Spend::Spent { remaining }) => spent.push(remaining),
            Ok(Spend::Exhausted { remaining: 0, .. }) => {}
            other => panic!("concurrent spend: {other:?}"),
        }
    }
    spent.sort_unstable();
    assert_eq!(
        spent,
        (0..10).collect::<Vec<_>>(),
        "exactly 10 of 40 spends succeed, each balance once"
    );
    assert_eq!(found(&*store, &key.id).await.credits, Some(Credits::new(0)));
}
