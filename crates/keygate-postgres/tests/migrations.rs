//! keygate's migrations beside a host application's own sqlx migrations in one schema, and the
//! upgrade of a schema whose keygate migrations an earlier version recorded in
//! `_sqlx_migrations`. Needs `KEYGATE_TEST_POSTGRES_URL`; each test works in a schema of its
//! own and drops it.

#![allow(clippy::unwrap_used)]

use keygate::store::KeyStore;
use keygate_postgres::PgStore;
use sqlx::migrate::Migrator;
use sqlx::postgres::{PgConnectOptions, PgPool, PgPoolOptions};

mod common;

use common::{connect, drop_schema, record, unique_schema, url};

/// The host application's migrations: two versions of its own.
static HOST: Migrator = sqlx::migrate!("tests/host_migrations");
const HOST_VERSIONS: [i64; 2] = [20240101000000, 20240102000000];
/// keygate's migrations as earlier versions ran them, with sqlx's own bookkeeping.
static EARLIER_KEYGATE: Migrator = sqlx::migrate!("./migrations");
const KEYGATE_VERSIONS: [i64; 4] = [20261101000000, 20261201000000, 20261202000000, 20261203000000];

/// The host application's pool: its tables in `schema`, which is created if missing.
async fn host_pool(url: &str, schema: &str) -> PgPool {
    let admin = PgPool::connect(url).await.unwrap_or_else(|e| {
        panic!("the PostgreSQL server of KEYGATE_TEST_POSTGRES_URL does not answer: {e}")
    });
    sqlx::query(&format!(r#"CREATE SCHEMA IF NOT EXISTS "{schema}""#))
        .execute(&admin)
        .await
        .unwrap();
    admin.close().await;
    let options = url.parse::<PgConnectOptions>().unwrap().options([("search_path", schema)]);
    PgPoolOptions::new().max_connections(2).connect_with(options).await.unwrap()
}

async fn versions(pool: &PgPool, table: &str) -> Vec<i64> {
    sqlx::query_scalar(&format!("SELECT version FROM {table} ORDER BY version"))
        .fetch_all(pool)
        .await
        .unwrap()
}

/// Each side's record holds its own migrations only, and both sides' tables work.
async fn check(host: &PgPool, store: &PgStore) {
    assert_eq!(versions(host, "_sqlx_migrations").await, HOST_VERSIONS, "the host's, only");
    assert_eq!(versions(host, "keygate_migrations").await, KEYGATE_VERSIONS, "keygate's, only");
    sqlx::query("INSERT INTO orders (total, note) VALUES (42, 'both work')")
        .execute(host)
        .await
        .unwrap();
    let r = record("wks_host");
    store.insert(r.clone()).await.unwrap();
    assert_eq!(*store.find(&r.id).await.unwrap().unwrap(), r);
}

async fn orders(host: &PgPool) -> i64 {
    sqlx::query_scalar("SELECT count(*) FROM orders").fetch_one(host).await.unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "needs KEYGATE_TEST_POSTGRES_URL"]
async fn host_migrations_first_then_keygate_then_both_again() {
    let url = url();
    let schema = unique_schema("hostfirst");
    let host = host_pool(&url, &schema).await;
    HOST.run(&host).await.unwrap();
    let store = connect(&url, &schema).await;
    check(&host, &store).await;
    store.pool().close().await;

    // Again, each in turn: nothing to do, and the data stays.
    HOST.run(&host).await.unwrap();
    let store = connect(&url, &schema).await;
    check(&host, &store).await;
    assert_eq!(orders(&host).await, 2);
    store.pool().close().await;
    host.close().await;
    drop_schema(&url, &schema).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "needs KEYGATE_TEST_POSTGRES_URL"]
async fn keygate_first_then_host_migrations_then_both_again() {
    let url = url();
    let schema = unique_schema("kgfirst");
    let store = connect(&url, &schema).await;
    let host = host_pool(&url, &schema).await;
    HOST.run(&host).await.unwrap();
    check(&host, &store).await;
    store.pool().close().await;

    let store = connect(&url, &schema).await;
    HOST.run(&host).await.unwrap();
    check(&host, &store).await;
    assert_eq!(orders(&host).await, 2);
    store.pool().close().await;
    host.close().await;
    drop_schema(&url, &schema).await;
}

/// A schema migrated by an earlier keygate, which recorded its migrations in
/// `_sqlx_migrations`: the upgrade adopts that record instead of running the migrations
/// again, keeps the keys, and leaves `_sqlx_migrations` free for the host's own migrations.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "needs KEYGATE_TEST_POSTGRES_URL"]
async fn an_earlier_keygate_schema_is_adopted_without_running_its_migrations_again() {
    let url = url();
    let schema = unique_schema("upgrade");
    let host = host_pool(&url, &schema).await;
    EARLIER_KEYGATE.run(&host).await.unwrap();
    assert_eq!(versions(&host, "_sqlx_migrations").await, KEYGATE_VERSIONS);
    let installed_on: String = sqlx::query_scalar(
        "SELECT installed_on::text FROM _sqlx_migrations WHERE version = 20261101000000",
    )
    .fetch_one(&host)
    .await
    .unwrap();
    // A key stored by the earlier version.
    let before = record("wks_upgrade");
    sqlx::query(
        "INSERT INTO keygate_keys (id, hash, pepper_version, preview, workspace_id, kind, \
         environment, scopes, name, created_at) VALUES ($1, $2, 1, $3, $4, 'user', 'live', \
         ARRAY['tasks:read'], 'pg', $5)",
    )
    .bind(before.id.as_str())
    .bind(before.hash.as_bytes().to_vec())
    .bind(&before.preview)
    .bind(&before.owner.workspace_id)
    .bind(before.created_at.unix_millis())
    .execute(&host)
    .await
    .unwrap();

    let store = connect(&url, &schema).await;
    assert_eq!(*store.find(&before.id).await.unwrap().unwrap(), before, "the key is kept");
    assert_eq!(versions(&host, "_sqlx_migrations").await, Vec::<i64>::new(), "moved out");
    assert_eq!(versions(&host, "keygate_migrations").await, KEYGATE_VERSIONS, "moved in");
    let applied_at: String = sqlx::query_scalar(
        "SELECT applied_at::text FROM keygate_migrations WHERE version = 20261101000000",
    )
    .fetch_one(&host)
    .await
    .unwrap();
    assert_eq!(applied_at, installed_on, "adopted, not run again");

    // Now the host's own migrations run, and both again change nothing.
    HOST.run(&host).await.unwrap();
    check(&host, &store).await;
    store.pool().close().await;
    let store = connect(&url, &schema).await;
    HOST.run(&host).await.unwrap();
    check(&host, &store).await;
    assert!(store.find(&before.id).await.unwrap().is_some());
    store.pool().close().await;
    host.close().await;
    drop_schema(&url, &schema).await;
}

/// Replicas starting together on a new schema take turns: every one opens, and the migration
/// runs once.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "needs KEYGATE_TEST_POSTGRES_URL"]
async fn replicas_starting_together_migrate_once() {
    let url = url();
    let schema = unique_schema("together");
    let host = host_pool(&url, &schema).await;
    let opening: Vec<_> = (0..4)
        .map(|_| {
            let (url, schema) = (url.clone(), schema.clone());
            tokio::spawn(async move { PgStore::builder(url).schema(schema).connect().await })
        })
        .collect();
    for task in opening {
        task.await.unwrap().unwrap().pool().close().await;
    }
    assert_eq!(versions(&host, "keygate_migrations").await, KEYGATE_VERSIONS);
    host.close().await;
    drop_schema(&url, &schema).await;
}
