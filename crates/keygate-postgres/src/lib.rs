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
//! - **Migrations** are embedded and recorded in keygate's own table, `keygate_migrations`, in
//!   the store's schema, not in sqlx's `_sqlx_migrations`: an application that runs its own
//!   sqlx migrations on the same database, even in the same schema, and keygate never stop
//!   each other, whichever runs first. They run in one transaction under an advisory lock, so
//!   replicas starting together take turns.
//!
//! # Upgrading a schema migrated by an earlier keygate
//!
//! Earlier versions recorded keygate's migrations in `_sqlx_migrations`. The first start of
//! this version moves those rows (matched by version and checksum) into `keygate_migrations`,
//! in the same transaction and without running any migration again; the application's rows,
//! and the table, stay. From then on a process of an earlier version cannot start on that
//! schema (its migrator would create `keygate_keys` again and fails); processes already
//! running are not affected. Upgrade every replica, as with any change of schema.
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
mod migrate;
mod networks;
mod rows;
mod store;

pub use builder::{ConnectError, PgStoreBuilder};
pub use listener::cached;
pub use store::PgStore;
