//! What every PostgreSQL test needs: the server, a schema of its own, and its removal.
//!
//! The server is named by `KEYGATE_TEST_POSTGRES_URL`; a test that runs without it, or with a
//! server that does not answer, fails with a message saying so.

#![allow(clippy::unwrap_used)]
#![allow(dead_code, reason = "each test file uses some of these")]

use keygate::clock::Timestamp;
use keygate::format::{Environment, KeyFormat};
use keygate::hash::{KeyHasher, Pepper};
use keygate::scope::ScopeSet;
use keygate::store::{KeyRecord, Owner};
use keygate_postgres::PgStore;

/// The server to test against; a run that asked for these tests fails without one.
pub(crate) fn url() -> String {
    std::env::var("KEYGATE_TEST_POSTGRES_URL").expect(
        "KEYGATE_TEST_POSTGRES_URL names the PostgreSQL server these tests need \
         (e.g. postgres://postgres@127.0.0.1/test)",
    )
}

/// A schema name no other test uses: `kg_<name>_<12 random characters>`.
pub(crate) fn unique_schema(name: &str) -> String {
    let tag = KeyFormat::builder("t").build().unwrap().generate(Environment::Live).unwrap();
    format!("kg_{name}_{}", tag.expose_secret()[2..14].to_ascii_lowercase())
}

/// A store at `url` with its tables in `schema`.
pub(crate) async fn connect(url: &str, schema: &str) -> PgStore {
    PgStore::builder(url).schema(schema).connect().await.unwrap_or_else(|e| {
        panic!("the PostgreSQL server of KEYGATE_TEST_POSTGRES_URL does not answer: {e}")
    })
}

/// Drops `schema` and everything in it.
pub(crate) async fn drop_schema(url: &str, schema: &str) {
    let pool = sqlx::PgPool::connect(url).await.unwrap();
    sqlx::query(&format!(r#"DROP SCHEMA IF EXISTS "{schema}" CASCADE"#))
        .execute(&pool)
        .await
        .unwrap();
    pool.close().await;
}

/// A live key record of `workspace` with one scope, created at 1,800,000,000 s.
pub(crate) fn record(workspace: &str) -> KeyRecord {
    let format = KeyFormat::builder("t").build().unwrap();
    let key = format.generate(Environment::Live).unwrap();
    let parsed = format.parse(key.expose_secret()).unwrap();
    let (pepper_version, hash) =
        KeyHasher::new(1, Pepper::new([3u8; 32]).unwrap()).hash(parsed.secret());
    let mut record = KeyRecord::new(
        parsed.id(),
        hash,
        pepper_version,
        format.preview_of(Environment::Live, &parsed.id()),
        Owner::workspace(workspace),
        Environment::Live,
        Timestamp::from_unix_seconds(1_800_000_000),
    );
    record.scopes = ScopeSet::parse(["tasks:read"]).unwrap();
    record.name = "pg".into();
    record
}
