//! Opening the store `--store` names.

use std::sync::Arc;

use keygate::store::KeyStore;

use crate::cli::Global;
use crate::output::Failure;

/// The store of `--store` / `KEYGATE_STORE`, migrated. Only `init` creates a missing SQLite
/// file: a typo in another command's path is an error, not a new empty store.
pub(crate) async fn open(global: &Global, create: bool) -> Result<Arc<dyn KeyStore>, Failure> {
    let url = global.store.as_deref().ok_or_else(|| {
        Failure::msg("no store: pass --store sqlite://PATH or postgres://…, or set KEYGATE_STORE")
    })?;
    if url.starts_with("sqlite:") {
        if global.schema.is_some() {
            return Err(Failure::msg("--schema applies to postgres:// stores only"));
        }
        let store = keygate_sqlite::SqliteStore::builder(url)
            .create_if_missing(create)
            .open()
            .await
            .map_err(|e| {
                let hint = if create { "" } else { " (keygate init creates a store)" };
                Failure::msg(format!("{e}{hint}"))
            })?;
        Ok(Arc::new(store))
    } else if url.starts_with("postgres://") || url.starts_with("postgresql://") {
        let mut builder = keygate_postgres::PgStore::builder(url).max_connections(2);
        if let Some(schema) = &global.schema {
            builder = builder.schema(schema);
        }
        let store = builder.connect().await.map_err(|e| Failure::msg(e.to_string()))?;
        Ok(Arc::new(store))
    } else {
        Err(Failure::msg("--store must be a sqlite:// or postgres:// URL"))
    }
}
