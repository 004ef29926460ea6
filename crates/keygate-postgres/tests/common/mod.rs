//! What every PostgreSQL test needs: the server, a schema of its own, and its removal.
//!
//! The server is named by `KEYGATE_TEST_POSTGRES_URL`; a test that runs without it, or with a
//! server that does not answer, fails with a message saying so.

#![allow(clippy::unwrap_used)]

use keygate::format::{Environment, KeyFormat};
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
