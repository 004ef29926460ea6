//! A [`KeyStore`](keygate::store::KeyStore) over SQLite: the embedded, persistent store for a
//! service on one machine. Keys survive restarts in one file, with no server to run.
//!
//! ```
//! use std::sync::Arc;
//! use keygate::{Keygate, manage::NewKey, preset::Preset, store::Owner};
//! use keygate_sqlite::SqliteStore;
//!
//! # #[tokio::main(flavor = "current_thread")]
//! # async fn main() -> Result<(), Box<dyn std::error::Error>> {
//! # let dir = std::env::temp_dir().join(format!("keygate-sqlite-doc-{}", std::process::id()));
//! # std::fs::create_dir_all(&dir)?;
//! # let path = dir.join("keys.db");
//! # let path = path.to_str().unwrap();
//! let store = SqliteStore::open(format!("sqlite://{path}")).await?;
//! let gate = Keygate::builder(Preset::livetest())
//!     .store(Arc::new(store.clone()))
//!     .random_pepper() // a real service reads its pepper from its settings
//!     .build()?;
//! let minted = gate.mint(NewKey::new(Owner::workspace("wks_1"), "CI")).await?;
//! gate.verify(minted.key.expose_secret()).await?;
//! store.close().await;
//! # std::fs::remove_dir_all(&dir)?;
//! # Ok(())
//! # }
//! ```
//!
//! - **The file.** [`SqliteStore::open`] takes `sqlite://PATH`, `sqlite:PATH` or a plain path,
//!   and creates the file unless told not to
//!   ([`create_if_missing`](SqliteStoreBuilder::create_if_missing)). `:memory:` is refused:
//!   an in-memory SQLite database belongs to one connection, so a pool of several would be
//!   several databases, and it is gone with them; keep keys in memory with
//!   [`MemoryStore`](keygate::store::MemoryStore).
//! - **Every connection** runs in WAL mode with `synchronous = FULL` (a call that returns has
//!   its change on disk), foreign keys on, and a busy timeout (default 5 s). The pool is
//!   bounded (default 4 connections).
//! - **Atomic steps.** A capped insert, a change, a rotation and a usage flush each run in one
//!   `BEGIN IMMEDIATE` transaction, which takes the database's write lock at its start: two
//!   writers take turns (the second waits up to the busy timeout) instead of one failing
//!   half-way with `SQLITE_BUSY`. A rotation reads and copies the old key inside that
//!   transaction. A write that waits past the busy timeout, or a file that cannot be read,
//!   is [`StoreError::Unavailable`](keygate::store::StoreError::Unavailable); a row that no
//!   record can hold (edited behind the store's back) is
//!   [`StoreError::Other`](keygate::store::StoreError::Other), never a panic.
//! - **Storage.** Times are integer milliseconds since the Unix epoch (read back exactly),
//!   scopes a JSON array, the key's HMAC a 32-byte blob; never the secret. Tables are `STRICT`.
//! - **Migrations** are embedded, and recorded in keygate's own table, `keygate_migrations`,
//!   not in sqlx's `_sqlx_migrations`: an application can keep its own sqlx migrations in the
//!   same file. They run in one `BEGIN IMMEDIATE` transaction, so two processes opening a new
//!   file at once take turns.
//!
//! # Two processes on one file
//!
//! Several processes on one machine (a service and the `keygate` command line, or two
//! services) can open one file at once:
//!
//! - Readers never wait: verification and listing read a consistent snapshot, however many
//!   processes read, while another writes.
//! - One writer at a time, across all processes: a write waits for the other process's write
//!   transaction to end, up to the busy timeout, then fails with
//!   [`StoreError::Unavailable`](keygate::store::StoreError::Unavailable). Caps and rotations
//!   stay exact across processes, since their count and their write share one transaction
//!   under the lock.
//! - There are no change notifications. A bare [`SqliteStore`] reads the file on every
//!   lookup, so another process's change (a revocation by the command line) holds from the
//!   next request. A [`CachedStore`](keygate::store::CachedStore) in front of it hears only
//!   of changes made through itself: another process's change to a key it holds reaches it
//!   when the entry's [`ttl`](keygate::store::CacheConfig::ttl) ends (10 s by default), so a
//!   key revoked elsewhere can keep verifying there that long; an id it found unknown stays
//!   unknown for [`negative_ttl`](keygate::store::CacheConfig::negative_ttl).
//! - WAL shares memory between processes through the `-shm` file beside the database: every
//!   process must run on the same machine, and the file must not be on a network file
//!   system. The `-wal` and `-shm` files are part of the database while it is open; back up
//!   with SQLite's `.backup` or `VACUUM INTO`, not by copying the file alone.

#![forbid(unsafe_code)]

mod builder;
mod errors;
mod migrate;
mod networks;
mod rows;
mod store;

pub use builder::{OpenError, SqliteStoreBuilder};
pub use store::SqliteStore;
