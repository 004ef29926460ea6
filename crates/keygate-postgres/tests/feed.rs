//! What reaches another replica's cache through PostgreSQL's notifications, and what a corrupt
//! row does to a verify (it fails closed, never panics).

#![allow(clippy::unwrap_used)]

use std::sync::Arc;
use std::time::{Duration, Instant};

use keygate::format::KeyId;
use keygate::manage::NewKey;
use keygate::preset::Preset;
use keygate::store::{CacheConfig, CachedStore, KeyStore, ListQuery, Owner, Peek, StoreError};
use keygate::{AuthError, Keygate};
use keygate_postgres::PgStore;

mod common;

use common::{connect, drop_schema, unique_schema, url};

fn gate(store: Arc<dyn KeyStore>) -> Keygate {
    Keygate::builder(Preset::livetest()).random_pepper().store(store).build().unwrap()
}

async fn mint(gate: &Keygate, workspace: &str) -> KeyId {
    gate.mint(NewKey::new(Owner::workspace(workspace), "k")).await.unwrap().record.id
}

/// Waits (at most 10 s, far less than the cache's TTL) until `done` holds.
async fn eventually(what: &str, done: impl Fn() -> bool) {
    let deadline = Instant::now() + Duration::from_secs(10);
    while !done() {
        assert!(Instant::now() < deadline, "{what}: not within 10 s");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

fn cached(cache: &CachedStore<PgStore>, id: &KeyId) -> bool {
    matches!(cache.peek(id), Peek::Found(_))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "needs KEYGATE_TEST_POSTGRES_URL"]
async fn bulk_revocations_reach_another_replicas_cache_by_id_or_all_at_once() {
    let url = url();
    let schema = unique_schema("feed");
    let here = connect(&url, &schema).await;
    let there = connect(&url, &schema).await;
    let elsewhere = gate(Arc::new(there.clone()));
    // Minted before anyone listens, so that no notification of its own can drop it later: only
    // the one this test sends below does.
    let keep = mint(&elsewhere, "wks_keep").await;
    // Only a notification can drop a cached record within the test: the TTL is an hour.
    let config = CacheConfig { ttl: Duration::from_secs(3600), ..CacheConfig::default() };
    let cache = keygate_postgres::cached(here.clone(), config);
    // The listener is up once a read is cached.
    let probe = cache.clone();
    let listening = async {
        loop {
            probe.find(&keep).await.unwrap();
            if cached(&probe, &keep) {
                break;
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    };
    tokio::time::timeout(Duration::from_secs(10), listening).await.expect("listening");

    let small = [mint(&elsewhere, "wks_small").await, mint(&elsewhere, "wks_small").await];
    let mut big = Vec::new();
    for _ in 0..101 {
        big.push(mint(&elsewhere, "wks_big").await);
    }
    // The mints' notifications may still be on their way, and each one drops what is cached
    // under its id. They arrive in the order of their commits, so once a notification sent now
    // has dropped `keep`, none of them is left.
    sqlx::query("SELECT pg_notify($1, $2)")
        .bind(there.channel())
        .bind(keep.as_str())
        .execute(there.pool())
        .await
        .unwrap();
    eventually("the mints' notifications are in", || !cached(&cache, &keep)).await;
    for id in [keep, small[0], small[1], big[0], big[100]] {
        cache.find(&id).await.unwrap();
        assert!(cached(&cache, &id));
    }

    // Two keys: each named in its own notification; the rest of the cache stays.
    assert_eq!(
        there.revoke_all("wks_small", None, keygate::clock::Timestamp::UNIX_EPOCH).await.unwrap(),
        2
    );
    eventually("both ids invalidated", || small.iter().all(|id| !cached(&cache, id))).await;
    assert!(cached(&cache, &keep) && cached(&cache, &big[0]), "only the named ids are dropped");

    // 101 keys: more than are named one by one, so one `*` drops everything.
    let n = there.revoke_all("wks_big", None, keygate::clock::Timestamp::UNIX_EPOCH).await.unwrap();
    assert_eq!(n, 101);
    eventually("everything invalidated", || {
        !cached(&cache, &big[0]) && !cached(&cache, &big[100]) && !cached(&cache, &keep)
    })
    .await;
    let revoked = cache.find(&big[100]).await.unwrap().unwrap();
    assert!(revoked.revoked_at.is_some(), "read afresh");

    here.pool().close().await;
    there.pool().close().await;
    drop_schema(&url, &schema).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "needs KEYGATE_TEST_POSTGRES_URL"]
async fn a_corrupt_row_fails_closed_and_names_no_secret() {
    let url = url();
    let schema = unique_schema("corrupt");
    let store = connect(&url, &schema).await;
    let gate = gate(Arc::new(store.clone()));
    let corruptions = [
        "kind = 'robot'",
        "environment = 'staging'",
        "scopes = ARRAY['not a scope']",
        "hash = '\\x00'::bytea",
        "pepper_version = -1",
        "id = 'not an id'",
    ];
    for corruption in corruptions {
        let minted = gate
            .mint(NewKey::new(Owner::workspace("wks_c"), "k").scopes(["tasks:read"]).unwrap())
            .await
            .unwrap();
        let id = minted.record.id;
        let key = minted.key.expose_secret();
        assert!(gate.verify(key).await.is_ok());
        sqlx::query(&format!("UPDATE keygate_keys SET {corruption} WHERE id = $1"))
            .bind(id.as_str())
            .execute(store.pool())
            .await
            .unwrap();
        let verified = gate.verify(key).await;
        if corruption.starts_with("id =") {
            // The row no longer answers to the key's id: the key is unknown.
            assert!(matches!(verified, Err(AuthError::Invalid(_))), "{corruption}: {verified:?}");
        } else {
            assert!(
                matches!(verified, Err(AuthError::Unavailable(_))),
                "{corruption}: {verified:?}"
            );
            match store.find(&id).await {
                Err(e @ StoreError::Other(_)) => {
                    let text = format!("{e} {e:?}");
                    assert!(!text.contains(&key[8..]), "{corruption}: {text}");
                }
                other => panic!("{corruption}: a corrupt row must be an error, got {other:?}"),
            }
        }
        let query = ListQuery::new("wks_c");
        assert!(
            matches!(store.list(&query).await, Err(StoreError::Other(_))),
            "{corruption}: a listing holding a corrupt row fails"
        );
        sqlx::query("DELETE FROM keygate_keys WHERE workspace_id = 'wks_c'")
            .execute(store.pool())
            .await
            .unwrap();
    }
    store.pool().close().await;
    drop_schema(&url, &schema).await;
}
