//! A [`KeyStore`](keygate::store::KeyStore) over PostgreSQL, for services that run on several
//! replicas.
//!
//! - **sqlx**, not tokio-postgres: it brings the connection pool, embedded migrations and
//!   `LISTEN` with reconnection that this crate needs, where tokio-postgres would need
//!   deadpool and a migration tool beside it. Queries are checked at run time, so building
//!   needs no database.
//! - **One round trip per verify** ([`find`](keygate::store::KeyStore::find) is one `SELECT`
//!   by primary key), **one transaction per rotation**, and usage flushes as one
//!   `UPDATE … FROM UNNEST(…)`.
//! - **Change notifications**: every change that can alter a verify's answer sends
//!   `NOTIFY keygate_<schema>, '<key id>'` in its transaction. [`cached`] puts a
//!   [`CachedStore`](keygate::store::CachedStore) in front of the store and keeps it current
//!   from those notifications, so hot keys verify from memory while a revocation on one
//!   replica reaches every other within the time a notification takes. A lost notification is
//!   bounded by the cache's TTL; while the listening connection is down, the cache is bypassed.
//!
//! ```no_run
//! use keygate::store::CacheConfig;
//! use keygate_postgres::PgStore;
//!
//! # async fn run() -> Result<(), Box<dyn std::error::Error>> {
//! let store = PgStore::builder("postgres://postgres@127.0.0.1/app").connect().await?;
//! let store = keygate_postgres::cached(store, CacheConfig::default());
//! // Keygate::builder(preset).store(store) ...
//! # Ok(())
//! # }
//! ```

#![forbid(unsafe_code)]

mod builder;
mod errors;
mod listener;
mod rows;
mod store;

pub use builder::{ConnectError, PgStoreBuilder};
pub use listener::cached;
pub use store::PgStore;
