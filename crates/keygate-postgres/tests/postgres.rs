//! The store suite and change notifications against a real PostgreSQL
//! (`KEYGATE_TEST_POSTGRES_URL`). Each test works in a schema of its own and drops it.
//!
//! Without a server these tests are ignored; `cargo test -- --include-ignored` runs them, and
//! then a missing variable or a server that does not answer fails them.

#![allow(clippy::unwrap_used)]

use std::sync::Arc;
use std::time::{Duration, Instant};

use keygate::clock::Timestamp;
use keygate::store::{CacheConfig, KeyStore, KeyUpdate, Peek, UsageDelta};
use keygate_postgres::PgStore;

mod common;

use common::{connect, drop_schema, record, unique_schema, url};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "needs KEYGATE_TEST_POSTGRES_URL"]
async fn postgres_passes_the_store_suite() {
    let url = url();
    let schema = unique_schema("suite");
    let store = connect(&url, &schema).await;
    keygate::store::suite::run(Arc::new(store.clone())).await;
    // Behind its cache, too.
    keygate::store::suite::run(keygate_postgres::cached(store.clone(), CacheConfig::default()))
        .await;
    store.pool().close().await;
    drop_schema(&url, &schema).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "needs KEYGATE_TEST_POSTGRES_URL"]
async fn a_change_on_one_replica_reaches_the_other_cache() {
    let url = url();
    let schema = unique_schema("notify");
    let a = connect(&url, &schema).await;
    let b = connect(&url, &schema).await;
    let cache_b = keygate_postgres::cached(
        b.clone(),
        CacheConfig { ttl: Duration::from_secs(3600), ..CacheConfig::default() },
    );

    let r = record("wks_notify");
    a.insert(r.clone()).await.unwrap();
    // Wait for B's listener, then warm its cache.
    let start = Instant::now();
    loop {
        cache_b.find(&r.id).await.unwrap();
        if matches!(cache_b.peek(&r.id), Peek::Found(_)) {
            break;
        }
        assert!(start.elapsed() < Duration::from_secs(10), "B's listener never came up");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }

    let revoked_at = Instant::now();
    a.update(&r.id, &KeyUpdate { revoke_at: Some(Timestamp::UNIX_EPOCH), ..Default::default() })
        .await
        .unwrap();
    loop {
        match cache_b.peek(&r.id) {
            Peek::Found(c) if c.revoked_at.is_none() => {}
            _ => break,
        }
        assert!(
            revoked_at.elapsed() < Duration::from_secs(1),
            "B still serves the unrevoked record"
        );
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    println!("revocation reached the other replica's cache in {:?}", revoked_at.elapsed());
    let fresh = cache_b.find(&r.id).await.unwrap().unwrap();
    assert!(fresh.revoked_at.is_some());

    a.pool().close().await;
    b.pool().close().await;
    drop_schema(&url, &schema).await;
}

/// A batch naming a key twice is written in two rounds. When the second round fails, the store
/// reports an error and the caller sends the whole batch again (as `flush_usage` does): the
/// first round must not have stayed written, or its counts land twice.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "needs KEYGATE_TEST_POSTGRES_URL"]
async fn a_usage_batch_that_fails_midway_writes_nothing_and_its_retry_counts_once() {
    let url = url();
    let schema = unique_schema("usage");
    let store = connect(&url, &schema).await;
    let (twice, once) = (record("wks_usage"), record("wks_usage"));
    store.insert(twice.clone()).await.unwrap();
    store.insert(once.clone()).await.unwrap();

    // A real failure in the second round: a trigger that refuses to update `twice` once it has
    // been counted, which only the second round does.
    sqlx::query(&format!(
        r#"CREATE FUNCTION "{schema}".refuse_second_count() RETURNS trigger LANGUAGE plpgsql AS $$
           BEGIN
             IF OLD.usage_today > 0 THEN RAISE EXCEPTION 'refused by the test'; END IF;
             RETURN NEW;
           END $$"#
    ))
    .execute(store.pool())
    .await
    .unwrap();
    sqlx::query(&format!(
        r#"CREATE TRIGGER refuse_second_count BEFORE UPDATE ON "{schema}".keygate_keys
           FOR EACH ROW WHEN (OLD.id = '{}') EXECUTE FUNCTION "{schema}".refuse_second_count()"#,
        twice.id.as_str()
    ))
    .execute(store.pool())
    .await
    .unwrap();

    let at = Timestamp::from_unix_seconds(1_800_000_100);
    let batch = [
        UsageDelta { id: twice.id, count: 1, last_used: at },
        UsageDelta { id: once.id, count: 1, last_used: at },
        UsageDelta { id: twice.id, count: 1, last_used: at },
    ];
    assert!(store.record_usage(&batch).await.is_err(), "the second round is refused");
    for r in [&twice, &once] {
        let stored = store.find(&r.id).await.unwrap().unwrap();
        assert_eq!(stored.usage.today, 0, "a failed batch writes nothing");
        assert_eq!(stored.last_used, None, "a failed batch writes nothing");
    }

    sqlx::query(&format!(r#"DROP TRIGGER refuse_second_count ON "{schema}".keygate_keys"#))
        .execute(store.pool())
        .await
        .unwrap();
    store.record_usage(&batch).await.unwrap();
    let counted = |id| {
        let store = store.clone();
        async move {
            let r = store.find(&id).await.unwrap().unwrap();
            (r.usage.today, r.usage.this_month, r.last_used)
        }
    };
    assert_eq!(counted(twice.id).await, (2, 2, Some(at)), "counted once per request");
    assert_eq!(counted(once.id).await, (1, 1, Some(at)), "counted once per request");

    store.pool().close().await;
    drop_schema(&url, &schema).await;
}

/// A schema name goes into the connection's options as well as into SQL: anything but a plain
/// identifier is refused before connecting, with an error naming the rule.
#[tokio::test]
async fn a_schema_name_that_is_not_an_identifier_is_refused_before_connecting() {
    // Nothing listens on port 1: reaching the server would be a different error.
    let url = "postgres://nobody@127.0.0.1:1/none";
    for schema in ["", "1kg", "kg-test", "kg test", "kg -c log_statement=all", r#"kg"x"#] {
        let err = PgStore::builder(url).schema(schema).connect().await.unwrap_err();
        assert_eq!(
            err.to_string(),
            format!(
                "cannot open the PostgreSQL key store: the schema name {schema:?} is not an \
                 identifier (a letter or `_`, then letters, digits or `_`, at most 63 bytes)"
            )
        );
        assert!(std::error::Error::source(&err).is_none());
    }
    let long = "s".repeat(64);
    let err = PgStore::builder(url).schema(long.as_str()).connect().await.unwrap_err();
    assert!(err.to_string().contains("is not an identifier"), "{err}");
}

/// A name with capitals is the same schema in `CREATE SCHEMA` and in the connection's
/// `search_path`: the tables land in it.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "needs KEYGATE_TEST_POSTGRES_URL"]
async fn a_schema_name_with_capitals_holds_the_tables() {
    let url = url();
    let schema = unique_schema("Mixed");
    let store = connect(&url, &schema).await;
    assert_eq!(store.channel(), format!("keygate_{schema}"));
    let r = record("wks_mixed");
    store.insert(r.clone()).await.unwrap();
    let in_schema: i64 =
        sqlx::query_scalar(&format!(r#"SELECT count(*) FROM "{schema}".keygate_keys"#))
            .fetch_one(store.pool())
            .await
            .unwrap();
    assert_eq!(in_schema, 1);
    assert!(store.find(&r.id).await.unwrap().is_some());
    store.pool().close().await;
    drop_schema(&url, &schema).await;
}
