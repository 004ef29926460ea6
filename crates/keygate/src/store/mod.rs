//! The [`KeyStore`] trait, the stored [`KeyRecord`] and the in-memory store.
//!
//! A store keeps key records, never secrets. Its seam is small and atomic so that it can be
//! implemented over memory, PostgreSQL or anything else: [`find`](KeyStore::find) (one round
//! trip per verify), [`insert`](KeyStore::insert), [`update`](KeyStore::update),
//! [`rotate`](KeyStore::rotate) (one atomic step) and a paged [`list`](KeyStore::list).
//! [`peek`](KeyStore::peek) lets a store that holds records in memory answer a verify without
//! an `await`, so the hot path allocates nothing.
//!
//! Every store must pass the shared suite in `keygate::store::suite` (feature `store-suite`).
//!
//! ```
//! use std::sync::Arc;
//! use keygate::store::{KeyStore, MemoryStore};
//!
//! let store: Arc<dyn KeyStore> = Arc::new(MemoryStore::new());
//! # let _ = store;
//! ```

mod cache;
mod change;
mod credit_cell;
mod credits;
mod key_store;
mod memory;
mod metadata;
mod networks;
mod query;
mod record;
#[cfg(feature = "store-suite")]
pub mod suite;
mod usage;

pub use cache::{CacheConfig, CachedStore};
pub use change::{KeyUpdate, Rotated, Rotation};
pub use credits::{Credits, MAX_REFILL_DAY, Refill, RefillError, RefillInterval, Spend};
pub use key_store::{KeyStore, Peek, StoreError};
pub use memory::MemoryStore;
pub use metadata::{MAX_METADATA_LEN, Metadata, MetadataError};
pub use networks::{NetworkSighting, RECENT_NETWORKS, SeenNetwork, network_of};
pub use query::{Cursor, ListQuery, MAX_PAGE, Page};
pub use record::{KeyKind, KeyRecord, Owner, UnknownKind};
pub use usage::{DayCount, Usage, UsageDelta};
