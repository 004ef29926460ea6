//! [`PgStore`] and its [`KeyStore`] implementation: one statement or one transaction per call,
//! and a notification in the transaction of every change that can alter a verify's answer.

use std::sync::Arc;

use keygate::clock::Timestamp;
use keygate::format::{Environment, KeyId};
use keygate::store::DayCount;
use keygate::store::{
    Cursor, KeyRecord, KeyStore, KeyUpdate, ListQuery, MAX_PAGE, NetworkSighting, Page, Rotated,
    Rotation, SeenNetwork, Spend, StoreError, Usage, UsageDelta,
};
use sqlx::postgres::PgPool;
use sqlx::{Postgres, Transaction};

use crate::builder::PgStoreBuilder;
use crate::errors::{conflict_or, store_error};
use crate::rows::{COLUMNS, KeyRow, count_from_db, count_to_db, credits_from_db};

/// Most ids named one by one in the notifications of a bulk revocation; past it, one `*`
/// tells listeners to forget everything.
const MAX_NOTIFIED_IDS: usize = 100;

/// Key records in PostgreSQL.
///
/// Made by [`PgStore::builder`]; cheap to clone (clones share one connection pool). Put it
/// behind [`cached`](crate::cached) to verify hot keys from memory.
///
/// ```no_run
/// use std::sync::Arc;
/// use keygate::store::KeyStore;
/// use keygate_postgres::PgStore;
///
/// # async fn run() -> Result<(), Box<dyn std::error::Error>> {
/// let store = PgStore::builder("postgres://postgres@127.0.0.1/app").connect().await?;
/// println!("changes are announced on {}", store.channel());
/// let store: Arc<dyn KeyStore> = Arc::new(store);
/// # let _ = store;
/// # Ok(())
/// # }
/// ```
#[derive(Debug, Clone)]
pub struct PgStore {
    pool: PgPool,
    channel: String,
}

impl PgStore {
    /// Settings for a store at `url` (`postgres://user@host/db`; `?options[search_path]=s`
    /// picks a schema).
    pub fn builder(url: impl Into<String>) -> PgStoreBuilder {
        PgStoreBuilder::new(url.into())
    }

    /// A store over `pool`, announcing changes on `channel`.
    pub(crate) fn new(pool: PgPool, channel: String) -> PgStore {
        PgStore { pool, channel }
    }

    /// The connection pool.
    pub fn pool(&self) -> &PgPool {
        &self.pool
    }

    /// The channel change notifications are sent on.
    pub fn channel(&self) -> &str {
        &self.channel
    }

    /// How many keys of `workspace` are in force at `at`, counted under a lock on the
    /// workspace that the transaction holds to its end: capped inserts and rotations of one
    /// workspace take turns.
    async fn in_force(
        &self,
        tx: &mut Transaction<'_, Postgres>,
        workspace: &str,
        at: Timestamp,
    ) -> Result<u64, StoreError> {
        sqlx::query("SELECT pg_advisory_xact_lock(hashtextextended($1 || ':' || $2, 0))")
            .bind(&self.channel)
            .bind(workspace)
            .execute(&mut **tx)
            .await
            .map_err(store_error)?;
        let in_force: i64 = sqlx::query_scalar(
            "SELECT count(*) FROM keygate_keys WHERE workspace_id = $1 \
             AND (revoked_at IS NULL OR revoked_at > $2) AND (expires_at IS NULL OR expires_at > $2)",
        )
        .bind(workspace)
        .bind(at.unix_millis())
        .fetch_one(&mut **tx)
        .await
        .map_err(store_error)?;
        Ok(u64::try_from(in_force).unwrap_or(0))
    }

    async fn notify(
        &self,
        tx: &mut Transaction<'_, Postgres>,
        payload: &str,
    ) -> Result<(), StoreError> {
        sqlx::query("SELECT pg_notify($1, $2)")
            .bind(&self.channel)
            .bind(payload)
            .execute(&mut **tx)
            .await
            .map_err(store_error)?;
        Ok(())
    }

    async fn write(
        &self,
        tx: &mut Transaction<'_, Postgres>,
        r: &KeyRecord,
        insert: bool,
    ) -> Result<(), StoreError> {
        let sql = if insert {
            format!(
                "INSERT INTO keygate_keys ({COLUMNS}) VALUES \
                 ($1,$2,$3,$4,$5,$6,$7,$8,$9,$10,$11,$12,$13,$14,$15,$16,$17,$18,$19,$20,$21,$22,$23,$24,$25,$26,$27)"
            )
        } else {
            "UPDATE keygate_keys SET hash=$2, pepper_version=$3, preview=$4, workspace_id=$5, user_id=$6, \
             kind=$7, environment=$8, scopes=$9, name=$10, description=$11, created_at=$12, expires_at=$13, \
             revoked_at=$14, disabled=$15, last_used=$16, rate_plan=$17, usage_day=$18, usage_today=$19, \
             usage_month=$20, usage_this_month=$21, metadata=$22, allowed_ips=$23, credits_remaining=$24, \
             credits_refill=$25, credits_refills_at=$26, rate_limits=$27 WHERE id=$1"
                .to_owned()
        };
        KeyRow::of(r)
            .bind(sqlx::query(&sql))
            .execute(&mut **tx)
            .await
            .map_err(|e| conflict_or(e, r.id))?;
        Ok(())
    }

    async fn locked(
        &self,
        tx: &mut Transaction<'_, Postgres>,
        id: &KeyId,
    ) -> Result<Option<KeyRecord>, StoreError> {
        let row = sqlx::query_as::<_, KeyRow>(&format!(
            "SELECT {COLUMNS} FROM keygate_keys WHERE id = $1 FOR UPDATE"
        ))
        .bind(id.as_str())
        .fetch_optional(&mut **tx)
        .await
        .map_err(store_error)?;
        row.map(KeyRow::into_record).transpose()
    }
}

#[async_trait::async_trait]
impl KeyStore for PgStore {
    async fn find(&self, id: &KeyId) -> Result<Option<Arc<KeyRecord>>, StoreError> {
        let row = sqlx::query_as::<_, KeyRow>(&format!(
            "SELECT {COLUMNS} FROM keygate_keys WHERE id = $1"
        ))
        .bind(id.as_str())
        .fetch_optional(&self.pool)
        .await
        .map_err(store_error)?;
        Ok(row.map(KeyRow::into_record).transpose()?.map(Arc::new))
    }

    async fn insert(&self, record: KeyRecord) -> Result<(), StoreError> {
        let mut tx = self.pool.begin().await.map_err(store_error)?;
        self.write(&mut tx, &record, true).await?;
        self.notify(&mut tx, record.id.as_str()).await?;
        tx.commit().await.map_err(store_error)
    }

    async fn insert_within(&self, record: KeyRecord, limit: u64) -> Result<(), StoreError> {
        let mut tx = self.pool.begin().await.map_err(store_error)?;
        if self.in_force(&mut tx, &record.owner.workspace_id, record.created_at).await? >= limit {
            return Err(StoreError::LimitReached { limit });
        }
        self.write(&mut tx, &record, true).await?;
        self.notify(&mut tx, record.id.as_str()).await?;
        tx.commit().await.map_err(store_error)
    }

    async fn update(&self, id: &KeyId, update: &KeyUpdate) -> Result<Arc<KeyRecord>, StoreError> {
        let mut tx = self.pool.begin().await.map_err(store_error)?;
        let mut record = self.locked(&mut tx, id).await?.ok_or(StoreError::NotFound(*id))?;
        update.apply(&mut record)?;
        self.write(&mut tx, &record, false).await?;
        self.notify(&mut tx, id.as_str()).await?;
        tx.commit().await.map_err(store_error)?;
        Ok(Arc::new(record))
    }

    async fn rotate(&self, old: &KeyId, rotation: &Rotation) -> Result<Rotated, StoreError> {
        let mut tx = self.pool.begin().await.map_err(store_error)?;
        let mut current = self.locked(&mut tx, old).await?.ok_or(StoreError::NotFound(*old))?;
        // The settings are copied from the row as locked: a change committed before is kept.
        let new = rotation.apply(&mut current)?;
        if let Some(limit) = rotation.cap_to_check()
            && self.in_force(&mut tx, &current.owner.workspace_id, rotation.at).await? >= limit
        {
            return Err(StoreError::LimitReached { limit });
        }
        // Dropping `tx` on an error rolls everything back.
        self.write(&mut tx, &new, true).await?;
        self.write(&mut tx, &current, false).await?;
        self.notify(&mut tx, old.as_str()).await?;
        self.notify(&mut tx, new.id.as_str()).await?;
        tx.commit().await.map_err(store_error)?;
        Ok(Rotated { old: Arc::new(current), new: Arc::new(new) })
    }

    async fn list(&self, query: &ListQuery) -> Result<Page, StoreError> {
        let limit = query.limit.clamp(1, MAX_PAGE);
        let rows = sqlx::query_as::<_, KeyRow>(&format!(
            "SELECT {COLUMNS} FROM keygate_keys WHERE workspace_id = $1 \
             AND ($2::text IS NULL OR user_id = $2) \
             AND ($3::bigint IS NULL OR (created_at, id) > ($3, $4)) \
             AND ($6::text IS NULL OR environment = $6) \
             ORDER BY created_at, id LIMIT $5"
        ))
        .bind(&query.workspace_id)
        .bind(&query.user_id)
        .bind(query.after.map(|c| c.created_at.unix_millis()))
        .bind(query.after.map(|c| c.id.as_str().to_owned()).unwrap_or_default())
        .bind(i64::try_from(limit + 1).unwrap_or(i64::MAX))
        .bind(query.environment.map(Environment::as_str))
        .fetch_all(&self.pool)
        .await
        .map_err(store_error)?;
        let mut records =
            rows.into_iter().map(KeyRow::into_record).collect::<Result<Vec<_>, _>>()?;
        let next = (records.len() > limit).then(|| Cursor::after(&records[limit - 1]));
        records.truncate(limit);
        Ok(Page { records: records.into_iter().map(Arc::new).collect(), next })
    }

    async fn revoke_all(
        &self,
        workspace_id: &str,
        user_id: Option<&str>,
        at: Timestamp,
    ) -> Result<u64, StoreError> {
        let mut tx = self.pool.begin().await.map_err(store_error)?;
        let ids: Vec<String> = sqlx::query_scalar(
            "UPDATE keygate_keys SET revoked_at = $3 WHERE workspace_id = $1 \
             AND ($2::text IS NULL OR user_id = $2) AND (revoked_at IS NULL OR revoked_at > $3) \
             RETURNING id",
        )
        .bind(workspace_id)
        .bind(user_id)
        .bind(at.unix_millis())
        .fetch_all(&mut *tx)
        .await
        .map_err(store_error)?;
        if ids.len() > MAX_NOTIFIED_IDS {
            self.notify(&mut tx, "*").await?;
        } else {
            for id in &ids {
                self.notify(&mut tx, id).await?;
            }
        }
        tx.commit().await.map_err(store_error)?;
        Ok(ids.len() as u64)
    }

    async fn expiring(
        &self,
        after: Timestamp,
        until: Timestamp,
        limit: usize,
    ) -> Result<Vec<Arc<KeyRecord>>, StoreError> {
        let rows = sqlx::query_as::<_, KeyRow>(&format!(
            "SELECT {COLUMNS} FROM keygate_keys WHERE expires_at > $1 AND expires_at <= $2 \
             AND (revoked_at IS NULL OR revoked_at > $1) ORDER BY expires_at, id LIMIT $3"
        ))
        .bind(after.unix_millis())
        .bind(until.unix_millis())
        .bind(i64::try_from(limit).unwrap_or(i64::MAX))
        .fetch_all(&self.pool)
        .await
        .map_err(store_error)?;
        rows.into_iter().map(|r| r.into_record().map(Arc::new)).collect()
    }

    async fn spend(&self, id: &KeyId, cost: u64, now: Timestamp) -> Result<Spend, StoreError> {
        // The common case in one conditional statement: the balance covers the cost and no
        // refill is due. PostgreSQL re-checks the condition on the row as committed when
        // another spend changed it first, so concurrent spends never go below zero.
        let cost_db = count_to_db(cost);
        let spent: Option<i64> = sqlx::query_scalar(
            "UPDATE keygate_keys SET credits_remaining = credits_remaining - $2 \
             WHERE id = $1 AND credits_remaining >= $2 \
             AND (credits_refills_at IS NULL OR credits_refills_at > $3) \
             RETURNING credits_remaining",
        )
        .bind(id.as_str())
        .bind(cost_db)
        .bind(now.unix_millis())
        .fetch_optional(&self.pool)
        .await
        .map_err(store_error)?;
        if let Some(left) = spent {
            return Ok(Spend::Spent { remaining: u64::try_from(left).unwrap_or(0) });
        }
        // Otherwise (a refill is due, the balance is short, the key is unlimited or unknown):
        // the row is locked, and the one definition applied.
        let mut tx = self.pool.begin().await.map_err(store_error)?;
        let row: Option<(Option<i64>, Option<String>, Option<i64>)> = sqlx::query_as(
            "SELECT credits_remaining, credits_refill, credits_refills_at FROM keygate_keys \
             WHERE id = $1 FOR UPDATE",
        )
        .bind(id.as_str())
        .fetch_optional(&mut *tx)
        .await
        .map_err(store_error)?;
        let (remaining, refill, refills_at) = row.ok_or(StoreError::NotFound(*id))?;
        let Some(before) = credits_from_db(remaining, refill.as_deref(), refills_at)? else {
            return Ok(Spend::Unlimited);
        };
        let mut after = before;
        let spend = after.spend(cost, now);
        if after != before {
            sqlx::query(
                "UPDATE keygate_keys SET credits_remaining = $2, credits_refills_at = $3 WHERE id = $1",
            )
            .bind(id.as_str())
            .bind(count_to_db(after.remaining))
            .bind(after.refills_at.map(Timestamp::unix_millis))
            .execute(&mut *tx)
            .await
            .map_err(store_error)?;
            tx.commit().await.map_err(store_error)?;
        }
        Ok(spend)
    }

    async fn record_usage(&self, batch: &[UsageDelta]) -> Result<(), StoreError> {
        // One statement per round; a round holds at most one delta per key, since an UPDATE
        // changes each row once. All rounds share one transaction: a batch that fails is kept
        // and sent again whole, so none of it may have been written.
        let mut rounds: Vec<Vec<&UsageDelta>> = Vec::new();
        for delta in batch {
            match rounds.iter_mut().find(|r| r.iter().all(|d| d.id != delta.id)) {
                Some(round) => round.push(delta),
                None => rounds.push(vec![delta]),
            }
        }
        let mut tx = self.pool.begin().await.map_err(store_error)?;
        for round in rounds {
            let ids: Vec<&str> = round.iter().map(|d| d.id.as_str()).collect();
            let counts: Vec<i64> = round.iter().map(|d| count_to_db(d.count)).collect();
            let last: Vec<i64> = round.iter().map(|d| d.last_used.unix_millis()).collect();
            let days: Vec<i64> = round.iter().map(|d| Usage::day_of(d.last_used)).collect();
            let months: Vec<i64> = round.iter().map(|d| Usage::month_of(d.last_used)).collect();
            sqlx::query(
                "UPDATE keygate_keys AS k SET \
                 last_used = GREATEST(COALESCE(k.last_used, d.last_used), d.last_used), \
                 usage_today = CASE WHEN d.day > k.usage_day THEN d.count \
                     WHEN d.day = k.usage_day THEN k.usage_today + d.count ELSE k.usage_today END, \
                 usage_day = GREATEST(k.usage_day, d.day), \
                 usage_this_month = CASE WHEN d.month > k.usage_month THEN d.count \
                     WHEN d.month = k.usage_month THEN k.usage_this_month + d.count ELSE k.usage_this_month END, \
                 usage_month = GREATEST(k.usage_month, d.month) \
                 FROM UNNEST($1::text[], $2::bigint[], $3::bigint[], $4::bigint[], $5::bigint[]) \
                     AS d(id, count, last_used, day, month) \
                 WHERE k.id = d.id",
            )
            .bind(&ids)
            .bind(&counts)
            .bind(&last)
            .bind(&days)
            .bind(&months)
            .execute(&mut *tx)
            .await
            .map_err(store_error)?;
            // Each key's day, for the keys the table holds (a round names each key once).
            sqlx::query(
                "INSERT INTO keygate_key_usage_days (key_id, day, count) \
                 SELECT d.id, d.day, d.count \
                 FROM UNNEST($1::text[], $2::bigint[], $3::bigint[]) AS d(id, count, day) \
                 JOIN keygate_keys AS k ON k.id = d.id \
                 ON CONFLICT (key_id, day) DO UPDATE SET count = \
                 LEAST(keygate_key_usage_days.count::numeric + EXCLUDED.count, 9223372036854775807)::bigint",
            )
            .bind(&ids)
            .bind(&counts)
            .bind(&days)
            .execute(&mut *tx)
            .await
            .map_err(store_error)?;
        }
        tx.commit().await.map_err(store_error)
    }

    async fn record_networks(
        &self,
        batch: &[NetworkSighting],
    ) -> Result<Vec<NetworkSighting>, StoreError> {
        crate::networks::record(&self.pool, batch).await
    }

    async fn usage_days(
        &self,
        id: &KeyId,
        first: i64,
        last: i64,
    ) -> Result<Vec<DayCount>, StoreError> {
        let rows: Vec<(i64, i64)> = sqlx::query_as(
            "SELECT day, count FROM keygate_key_usage_days \
             WHERE key_id = $1 AND day BETWEEN $2 AND $3 ORDER BY day",
        )
        .bind(id.as_str())
        .bind(first)
        .bind(last)
        .fetch_all(&self.pool)
        .await
        .map_err(store_error)?;
        Ok(rows
            .into_iter()
            .map(|(day, count)| DayCount { day, count: count_from_db(count) })
            .collect())
    }

    async fn recent_networks(&self, id: &KeyId) -> Result<Vec<SeenNetwork>, StoreError> {
        crate::networks::recent(&self.pool, id).await
    }
}
