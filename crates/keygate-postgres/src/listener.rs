//! Keeping a [`CachedStore`] current from PostgreSQL's change notifications.

use std::sync::Arc;
use std::time::Duration;

use keygate::format::KeyId;
use keygate::store::{CacheConfig, CachedStore};
use sqlx::postgres::PgListener;

use crate::PgStore;

/// `store` behind a [`CachedStore`] that a spawned task keeps current from PostgreSQL's change
/// notifications. Call it inside a tokio runtime.
///
/// ```no_run
/// use keygate::store::CacheConfig;
/// use keygate_postgres::PgStore;
///
/// # async fn run() -> Result<(), Box<dyn std::error::Error>> {
/// let store = PgStore::builder("postgres://postgres@127.0.0.1/app").connect().await?;
/// let store = keygate_postgres::cached(store, CacheConfig::default());
/// // Keygate::builder(preset).store(store) ...
/// # let _ = store;
/// # Ok(())
/// # }
/// ```
pub fn cached(store: PgStore, config: CacheConfig) -> Arc<CachedStore<PgStore>> {
    let cache = Arc::new(CachedStore::new(store.clone(), config));
    // Until the listener is up, changes could be missed: read the database.
    cache.set_bypass(true);
    tokio::spawn(store.listen(cache.clone()));
    cache
}

impl PgStore {
    /// Listens for change notifications and applies them to `cache` until the pool closes:
    /// each key id named is invalidated; `*` (or a lost connection) invalidates everything, and
    /// the cache is bypassed until the listener is back. [`cached`] spawns this.
    pub async fn listen(self, cache: Arc<CachedStore<PgStore>>) {
        loop {
            if self.pool().is_closed() {
                return;
            }
            let mut listener = match PgListener::connect_with(self.pool()).await {
                Ok(l) => l,
                Err(e) => {
                    cache.set_bypass(true);
                    tracing::warn!(error = %e, "cannot listen for key changes; verifying from the database");
                    tokio::time::sleep(Duration::from_millis(500)).await;
                    continue;
                }
            };
            if let Err(e) = listener.listen(self.channel()).await {
                cache.set_bypass(true);
                tracing::warn!(error = %e, "cannot listen for key changes; verifying from the database");
                tokio::time::sleep(Duration::from_millis(500)).await;
                continue;
            }
            // Changes made while nobody listened are unknown: start afresh.
            cache.invalidate_all();
            cache.set_bypass(false);
            tracing::debug!(channel = %self.channel(), "listening for key changes");
            loop {
                match listener.try_recv().await {
                    Ok(Some(n)) => match n.payload() {
                        "*" => cache.invalidate_all(),
                        id => match KeyId::from_raw(id) {
                            Ok(id) => cache.invalidate(&id),
                            Err(_) => cache.invalidate_all(),
                        },
                    },
                    Ok(None) | Err(_) => {
                        cache.set_bypass(true);
                        tracing::warn!(
                            "lost the key-change listener; verifying from the database until it is back"
                        );
                        break;
                    }
                }
            }
            tokio::time::sleep(Duration::from_millis(200)).await;
        }
    }
}
