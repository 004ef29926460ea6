//! keygate's migrations beside a host application's own sqlx migrations in one SQLite file:
//! each keeps its own bookkeeping, in either order, and running again changes nothing.

#![allow(clippy::unwrap_used)]

use keygate::clock::Timestamp;
use keygate::store::KeyStore;
use keygate_sqlite::SqliteStore;
use sqlx::migrate::Migrator;
use sqlx::sqlite::{SqliteConnectOptions, SqlitePool};

mod common;

use common::{TempDir, record};

/// The host application's migrations: two versions of its own.
static HOST: Migrator = sqlx::migrate!("tests/host_migrations");
const HOST_VERSIONS: [i64; 2] = [20240101000000, 20240102000000];
const KEYGATE_VERSIONS: [i64; 4] = [20261101000000, 20261201000000, 20261202000000, 20261203000000];

async fn host_pool(dir: &TempDir) -> SqlitePool {
    let options =
        SqliteConnectOptions::new().filename(dir.path().join("app.db")).create_if_missing(true);
    SqlitePool::connect_with(options).await.unwrap()
}

async fn versions(pool: &SqlitePool, table: &str) -> Vec<i64> {
    sqlx::query_scalar(&format!("SELECT version FROM {table} ORDER BY version"))
        .fetch_all(pool)
        .await
        .unwrap()
}

async fn check(pool: &SqlitePool, store: &SqliteStore) {
    assert_eq!(versions(pool, "_sqlx_migrations").await, HOST_VERSIONS, "the host's, only");
    assert_eq!(versions(pool, "keygate_migrations").await, KEYGATE_VERSIONS, "keygate's, only");
    sqlx::query("INSERT INTO orders (total, note) VALUES (42, 'both schemas work')")
        .execute(pool)
        .await
        .unwrap();
    let r = record("wks_host", Timestamp::from_unix_seconds(1_800_000_000));
    store.insert(r.clone()).await.unwrap();
    assert_eq!(*store.find(&r.id).await.unwrap().unwrap(), r);
}

#[tokio::test]
async fn host_migrations_first_then_keygate_then_both_again() {
    let dir = TempDir::new("host-first");
    let pool = host_pool(&dir).await;
    HOST.run(&pool).await.unwrap();
    let store = SqliteStore::open(dir.url("app.db")).await.unwrap();
    check(&pool, &store).await;
    store.close().await;

    // Again: nothing to do on either side, and the data stays.
    HOST.run(&pool).await.unwrap();
    let store = SqliteStore::open(dir.url("app.db")).await.unwrap();
    check(&pool, &store).await;
    let orders: i64 =
        sqlx::query_scalar("SELECT count(*) FROM orders").fetch_one(&pool).await.unwrap();
    assert_eq!(orders, 2);
    store.close().await;
    pool.close().await;
}

#[tokio::test]
async fn keygate_first_then_host_migrations_then_both_again() {
    let dir = TempDir::new("keygate-first");
    let store = SqliteStore::open(dir.url("app.db")).await.unwrap();
    let pool = host_pool(&dir).await;
    HOST.run(&pool).await.unwrap();
    check(&pool, &store).await;
    store.close().await;

    let store = SqliteStore::open(dir.url("app.db")).await.unwrap();
    HOST.run(&pool).await.unwrap();
    check(&pool, &store).await;
    store.close().await;
    pool.close().await;
}

/// A database migrated by a newer keygate, or by a changed migration, is refused: nothing is
/// run over it.
#[tokio::test]
async fn a_keygate_migration_this_build_does_not_know_is_refused() {
    let dir = TempDir::new("unknown");
    let store = SqliteStore::open(dir.url("keys.db")).await.unwrap();
    sqlx::query(
        "INSERT INTO keygate_migrations (version, description, checksum, applied_at) \
         VALUES (29990101000000, 'from a newer keygate', X'00', 0)",
    )
    .execute(store.pool())
    .await
    .unwrap();
    store.close().await;
    let err = SqliteStore::open(dir.url("keys.db")).await.unwrap_err();
    assert!(
        err.to_string().ends_with(
            "migration 29990101000000 was previously applied but is missing in the resolved \
             migrations"
        ),
        "{err}"
    );

    let pool = SqlitePool::connect(&dir.url("keys.db")).await.unwrap();
    sqlx::query("DELETE FROM keygate_migrations WHERE version = 29990101000000")
        .execute(&pool)
        .await
        .unwrap();
    sqlx::query("UPDATE keygate_migrations SET checksum = X'00'").execute(&pool).await.unwrap();
    pool.close().await;
    let err = SqliteStore::open(dir.url("keys.db")).await.unwrap_err();
    assert!(
        err.to_string()
            .ends_with("migration 20261101000000 was previously applied but has been modified"),
        "{err}"
    );
}
