//! The shared store suite against a real SQLite file, bare and behind the verification cache.
//! SQLite needs no server: these tests always run, each on a file of its own.

#![allow(clippy::unwrap_used)]

use std::sync::Arc;

use keygate::store::{CacheConfig, CachedStore};
use keygate_sqlite::SqliteStore;

mod common;

use common::TempDir;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sqlite_passes_the_store_suite() {
    let dir = TempDir::new("suite");
    let store = SqliteStore::open(dir.url("keys.db")).await.unwrap();
    keygate::store::suite::run(Arc::new(store.clone())).await;
    store.close().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sqlite_behind_the_cache_passes_the_store_suite() {
    let dir = TempDir::new("suite-cached");
    let store = SqliteStore::open(dir.url("keys.db")).await.unwrap();
    keygate::store::suite::run(Arc::new(CachedStore::new(store.clone(), CacheConfig::default())))
        .await;
    store.close().await;
}
