//! The networks keys were used from, in `keygate_key_networks`: a few rows per key, changed
//! by the usage flush with the core's one definition ([`NetworkSighting::apply`]).

use std::collections::BTreeMap;

use keygate::clock::Timestamp;
use keygate::format::KeyId;
use keygate::store::{NetworkSighting, SeenNetwork, StoreError};
use sqlx::{PgPool, Postgres, Transaction};

use crate::errors::store_error;

/// Adds `batch` to its keys' lists in one transaction and returns the sightings whose network
/// was new to its key. The keys' rows are locked first (in id order, so that two flushes never
/// wait on each other in a cycle): replicas flushing the same key take turns, and a network new
/// to a key is reported by one of them.
pub(crate) async fn record(
    pool: &PgPool,
    batch: &[NetworkSighting],
) -> Result<Vec<NetworkSighting>, StoreError> {
    let mut ids: Vec<&str> = batch.iter().map(|s| s.id.as_str()).collect();
    ids.sort_unstable();
    ids.dedup();
    let mut tx = pool.begin().await.map_err(store_error)?;
    let found: Vec<String> = sqlx::query_scalar(
        "SELECT id FROM keygate_keys WHERE id = ANY($1) ORDER BY id FOR NO KEY UPDATE",
    )
    .bind(&ids)
    .fetch_all(&mut *tx)
    .await
    .map_err(store_error)?;
    let mut lists: BTreeMap<String, Vec<SeenNetwork>> =
        found.into_iter().map(|id| (id, Vec::new())).collect();
    let rows: Vec<(String, String, i64)> = sqlx::query_as(
        "SELECT key_id, network, last_seen FROM keygate_key_networks WHERE key_id = ANY($1)",
    )
    .bind(&ids)
    .fetch_all(&mut *tx)
    .await
    .map_err(store_error)?;
    for (id, network, at) in rows {
        let seen = seen_network(&id, &network, at)?;
        if let Some(list) = lists.get_mut(&id) {
            list.push(seen);
        }
    }
    let mut new = Vec::new();
    for seen in batch {
        if let Some(list) = lists.get_mut(seen.id.as_str())
            && seen.apply(list)
        {
            new.push(*seen);
        }
    }
    let keys: Vec<&str> = lists.keys().map(String::as_str).collect();
    write(&mut tx, &keys, &lists).await?;
    tx.commit().await.map_err(store_error)?;
    Ok(new)
}

async fn write(
    tx: &mut Transaction<'_, Postgres>,
    keys: &[&str],
    lists: &BTreeMap<String, Vec<SeenNetwork>>,
) -> Result<(), StoreError> {
    sqlx::query("DELETE FROM keygate_key_networks WHERE key_id = ANY($1)")
        .bind(keys)
        .execute(&mut **tx)
        .await
        .map_err(store_error)?;
    let (mut ids, mut networks, mut times) = (Vec::new(), Vec::new(), Vec::new());
    for (id, list) in lists {
        for n in list {
            ids.push(id.as_str());
            networks.push(n.network.to_string());
            times.push(n.last_seen.unix_millis());
        }
    }
    sqlx::query(
        "INSERT INTO keygate_key_networks (key_id, network, last_seen) \
         SELECT * FROM UNNEST($1::text[], $2::text[], $3::bigint[])",
    )
    .bind(&ids)
    .bind(&networks)
    .bind(&times)
    .execute(&mut **tx)
    .await
    .map_err(store_error)?;
    Ok(())
}

/// Key `id`'s list, most recent first.
pub(crate) async fn recent(pool: &PgPool, id: &KeyId) -> Result<Vec<SeenNetwork>, StoreError> {
    let rows: Vec<(String, i64)> = sqlx::query_as(
        "SELECT network, last_seen FROM keygate_key_networks WHERE key_id = $1 \
         ORDER BY last_seen DESC, network",
    )
    .bind(id.as_str())
    .fetch_all(pool)
    .await
    .map_err(store_error)?;
    rows.into_iter().map(|(network, at)| seen_network(id.as_str(), &network, at)).collect()
}

fn seen_network(id: &str, network: &str, at: i64) -> Result<SeenNetwork, StoreError> {
    let network = network.parse().map_err(|_| {
        StoreError::Other(format!("a stored network of key {id} is not a CIDR").into())
    })?;
    Ok(SeenNetwork { network, last_seen: Timestamp::from_unix_millis(at) })
}
