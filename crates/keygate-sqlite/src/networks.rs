//! The networks keys were used from, in `keygate_key_networks`: a few rows per key, changed
//! by the usage flush with the core's one definition ([`NetworkSighting::apply`]).

use keygate::clock::Timestamp;
use keygate::format::KeyId;
use keygate::store::{NetworkSighting, SeenNetwork, StoreError};
use sqlx::{Sqlite, Transaction};

use crate::errors::store_error;

/// Adds `batch` to its keys' lists inside `tx` (a write transaction) and returns the sightings
/// whose network was new to its key.
pub(crate) async fn record(
    tx: &mut Transaction<'_, Sqlite>,
    batch: &[NetworkSighting],
) -> Result<Vec<NetworkSighting>, StoreError> {
    let mut new = Vec::new();
    let mut ids: Vec<KeyId> = batch.iter().map(|s| s.id).collect();
    ids.sort_unstable_by(|a, b| a.as_str().cmp(b.as_str()));
    ids.dedup();
    for id in ids {
        let exists: Option<i64> = sqlx::query_scalar("SELECT 1 FROM keygate_keys WHERE id = ?1")
            .bind(id.as_str())
            .fetch_optional(&mut **tx)
            .await
            .map_err(store_error)?;
        if exists.is_none() {
            continue;
        }
        let mut list = recent(&mut **tx, &id).await?;
        for seen in batch.iter().filter(|s| s.id == id) {
            if seen.apply(&mut list) {
                new.push(*seen);
            }
        }
        sqlx::query("DELETE FROM keygate_key_networks WHERE key_id = ?1")
            .bind(id.as_str())
            .execute(&mut **tx)
            .await
            .map_err(store_error)?;
        for n in &list {
            sqlx::query(
                "INSERT INTO keygate_key_networks (key_id, network, last_seen) VALUES (?1, ?2, ?3)",
            )
            .bind(id.as_str())
            .bind(n.network.to_string())
            .bind(n.last_seen.unix_millis())
            .execute(&mut **tx)
            .await
            .map_err(store_error)?;
        }
    }
    Ok(new)
}

/// Key `id`'s list, most recent first.
pub(crate) async fn recent<'e>(
    executor: impl sqlx::SqliteExecutor<'e>,
    id: &KeyId,
) -> Result<Vec<SeenNetwork>, StoreError> {
    let rows: Vec<(String, i64)> = sqlx::query_as(
        "SELECT network, last_seen FROM keygate_key_networks WHERE key_id = ?1 \
         ORDER BY last_seen DESC, network",
    )
    .bind(id.as_str())
    .fetch_all(executor)
    .await
    .map_err(store_error)?;
    rows.into_iter()
        .map(|(network, at)| {
            let network = network.parse().map_err(|_| {
                StoreError::Other(format!("a stored network of key {id} is not a CIDR").into())
            })?;
            Ok(SeenNetwork { network, last_seen: Timestamp::from_unix_millis(at) })
        })
        .collect()
}
