//! The SQLite file as a service uses it: kept across reopening, refused when it is no file,
//! shared by two stores, and never a panic on rows edited behind the store's back.

#![allow(clippy::unwrap_used)]

use std::sync::Arc;

use keygate::clock::Timestamp;
use keygate::store::{KeyStore, KeyUpdate, ListQuery, StoreError, UsageDelta};
use keygate_sqlite::SqliteStore;

mod common;

use common::{TempDir, record};

fn ms(millis: i64) -> Timestamp {
    Timestamp::from_unix_millis(millis)
}

#[tokio::test]
async fn records_survive_closing_and_reopening_the_file() {
    let dir = TempDir::new("reopen");
    let store = SqliteStore::open(dir.url("keys.db")).await.unwrap();
    assert_eq!(store.path(), dir.path().join("keys.db"));
    let mut r = record("wks_reopen", ms(1_800_000_000_123));
    r.expires_at = Some(ms(1_900_000_000_999));
    r.last_used = Some(ms(1_800_000_001_001));
    store.insert(r.clone()).await.unwrap();
    store.close().await;
    assert!(
        matches!(store.find(&r.id).await, Err(StoreError::Unavailable(_))),
        "a closed store is unavailable"
    );

    // A plain path names the same file as the URL.
    let path = dir.path().join("keys.db");
    let again = SqliteStore::open(path.to_str().unwrap()).await.unwrap();
    assert_eq!(*again.find(&r.id).await.unwrap().unwrap(), r, "every field, to the millisecond");
    let migrations: i64 = sqlx::query_scalar("SELECT count(*) FROM keygate_migrations")
        .fetch_one(again.pool())
        .await
        .unwrap();
    assert_eq!(migrations, 4, "reopening runs no migration twice");
    again.close().await;
}

#[tokio::test]
async fn a_location_that_names_no_file_is_refused() {
    for location in
        [":memory:", "sqlite::memory:", "sqlite://:memory:", "sqlite://?mode=memory", ""]
    {
        let err = SqliteStore::open(location).await.unwrap_err();
        assert_eq!(
            err.to_string(),
            format!(
                "cannot open the SQLite key store at {location}: it names no database file. An \
                 in-memory SQLite database lives in one connection (a pool of several \
                 connections would be several databases) and is gone with it: keep keys in \
                 memory with keygate::store::MemoryStore"
            )
        );
        assert!(std::error::Error::source(&err).is_none());
    }
    let dir = TempDir::new("directory");
    let err = SqliteStore::open(dir.path().to_str().unwrap()).await.unwrap_err();
    assert!(err.to_string().ends_with("unable to open database file"), "{err}");
}

#[tokio::test]
async fn a_missing_file_is_created_unless_told_not_to() {
    let dir = TempDir::new("missing");
    let path = dir.path().join("absent.db");
    let err = SqliteStore::builder(dir.url("absent.db"))
        .create_if_missing(false)
        .open()
        .await
        .unwrap_err();
    assert!(err.to_string().contains("unable to open database file"), "{err}");
    assert!(!path.exists(), "nothing is created");
    let store = SqliteStore::open(dir.url("absent.db")).await.unwrap();
    assert!(path.exists());
    let journal: String =
        sqlx::query_scalar("PRAGMA journal_mode").fetch_one(store.pool()).await.unwrap();
    assert_eq!(journal, "wal");
    let foreign_keys: i64 =
        sqlx::query_scalar("PRAGMA foreign_keys").fetch_one(store.pool()).await.unwrap();
    assert_eq!(foreign_keys, 1);
    store.close().await;
}

#[tokio::test]
async fn a_file_that_is_not_a_database_is_an_error() {
    let dir = TempDir::new("garbage");
    std::fs::write(dir.path().join("keys.db"), vec![0x5a; 8192]).unwrap();
    let err = SqliteStore::open(dir.url("keys.db")).await.unwrap_err();
    assert!(err.to_string().contains("file is not a database"), "{err}");
}

/// Rows edited behind the store's back: each bad value is an error naming its column, never
/// a panic and never the value; the other rows still read.
#[tokio::test]
async fn corrupt_rows_are_store_errors() {
    let dir = TempDir::new("corrupt");
    let store = SqliteStore::open(dir.url("keys.db")).await.unwrap();
    let good = record("wks_good", ms(1_800_000_000_000));
    store.insert(good.clone()).await.unwrap();
    let cases = [
        ("hash", "X'0102'", "hash"),
        ("environment", "'staging'", "environment"),
        ("kind", "'robot'", "kind"),
        ("scopes", "'tasks:read'", "scope list"),
        ("scopes", "'[\"NOT A SCOPE !\"]'", "scope"),
        ("scopes", "'[1,2]'", "scope list"),
        ("pepper_version", "70000", "pepper version"),
        ("id", "'not an id'", "id"),
    ];
    for (column, value, named) in cases {
        let r = record("wks_corrupt", ms(1_800_000_000_000));
        store.insert(r.clone()).await.unwrap();
        sqlx::query(&format!("UPDATE keygate_keys SET {column} = {value} WHERE id = ?1"))
            .bind(r.id.as_str())
            .execute(store.pool())
            .await
            .unwrap();
        let message = |e: StoreError| {
            let StoreError::Other(source) = e else { panic!("{column}: {e:?}") };
            source.to_string()
        };
        if column != "id" {
            let err = store.find(&r.id).await.unwrap_err();
            assert_eq!(message(err), format!("a key row has an invalid {named}"), "{column}");
        }
        let err = store.list(&ListQuery::new("wks_corrupt")).await.unwrap_err();
        assert_eq!(message(err), format!("a key row has an invalid {named}"), "{column}");
        sqlx::query("DELETE FROM keygate_keys WHERE workspace_id = 'wks_corrupt'")
            .execute(store.pool())
            .await
            .unwrap();
    }
    // STRICT: a value of the wrong type cannot even be written.
    let refused = sqlx::query("UPDATE keygate_keys SET created_at = 'yesterday' WHERE id = ?1")
        .bind(good.id.as_str())
        .execute(store.pool())
        .await;
    assert!(refused.is_err());
    assert_eq!(*store.find(&good.id).await.unwrap().unwrap(), good, "other rows still read");
    store.close().await;
}

/// Two stores on one file, as two processes would have: a change through one holds for the
/// other at its next read, and a cap is exact across both.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_stores_on_one_file_see_each_other_and_take_turns_writing() {
    let dir = TempDir::new("two");
    let a = SqliteStore::open(dir.url("keys.db")).await.unwrap();
    // Opened in a task of its own: the future is `Send`, as a service spawning it needs.
    let b = tokio::spawn(SqliteStore::open(dir.url("keys.db"))).await.unwrap().unwrap();

    let r = record("wks_two", ms(1_800_000_000_000));
    a.insert(r.clone()).await.unwrap();
    assert!(b.find(&r.id).await.unwrap().is_some(), "B reads what A wrote");
    let revoke = KeyUpdate { revoke_at: Some(ms(1_800_000_000_500)), ..Default::default() };
    a.update(&r.id, &revoke).await.unwrap();
    assert_eq!(b.find(&r.id).await.unwrap().unwrap().revoked_at, Some(ms(1_800_000_000_500)));

    let stores: [Arc<dyn KeyStore>; 2] = [Arc::new(a.clone()), Arc::new(b.clone())];
    let barrier = Arc::new(tokio::sync::Barrier::new(16));
    let tasks: Vec<_> = (0..16)
        .map(|i| {
            let (store, barrier) = (stores[i % 2].clone(), barrier.clone());
            let r = record("wks_cap", ms(1_800_000_000_000));
            tokio::spawn(async move {
                barrier.wait().await;
                store.insert_within(r, 5).await
            })
        })
        .collect();
    let mut ok = 0;
    for task in tasks {
        match task.await.unwrap() {
            Ok(()) => ok += 1,
            Err(StoreError::LimitReached { limit: 5 }) => {}
            Err(e) => panic!("a capped insert failed: {e:?}"),
        }
    }
    assert_eq!(ok, 5, "16 capped inserts through two stores: exactly 5 succeed");
    a.close().await;
    b.close().await;
}

/// SQLite turns an overflowing integer sum into a floating-point value, which the STRICT
/// table refuses: a count at the top stays there instead, and the flush succeeds.
#[tokio::test]
async fn usage_counts_stop_at_the_largest_integer() {
    let dir = TempDir::new("usage");
    let store = SqliteStore::open(dir.url("keys.db")).await.unwrap();
    let r = record("wks_usage", ms(1_800_000_000_000));
    store.insert(r.clone()).await.unwrap();
    let at = ms(1_800_000_100_000);
    let huge = UsageDelta { id: r.id, count: u64::MAX, last_used: at };
    store.record_usage(&[huge, huge]).await.unwrap();
    store.record_usage(&[UsageDelta { count: 1, ..huge }]).await.unwrap();
    let usage = store.find(&r.id).await.unwrap().unwrap().usage;
    assert_eq!((usage.today, usage.this_month), (i64::MAX as u64, i64::MAX as u64));
    store.close().await;
}
