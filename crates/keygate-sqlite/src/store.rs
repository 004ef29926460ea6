//! [`SqliteStore`] and its [`KeyStore`] implementation: one statement, or one `BEGIN IMMEDIATE`
//! transaction, per call.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use keygate::clock::Timestamp;
use keygate::format::{Environment, KeyId};
use keygate::store::DayCount;
use keygate::store::{
    Cursor, KeyRecord, KeyStore, KeyUpdate, ListQuery, MAX_PAGE, NetworkSighting, Page, Rotated,
    Rotation, SeenNetwork, Spend, StoreError, Usage, UsageDelta,
};
use sqlx::sqlite::SqlitePool;
use sqlx::{Sqlite, Transaction};

use crate::builder::{OpenError, SqliteStoreBuilder};
use crate::errors::{conflict_or, store_error};
use crate::rows::{COLUMNS, KeyRow, count_from_db, count_to_db, credits_from_db};

/// Key records in one SQLite file.
///
/// Made by [`SqliteStore::open`] or [`SqliteStore::builder`]; cheap to clone (clones share one
/// connection pool).
///
/// ```no_run
/// use std::sync::Arc;
/// use keygate::store::KeyStore;
/// use keygate_sqlite::SqliteStore;
///
/// # async fn run() -> Result<(), Box<dyn std::error::Error>> {
/// let store = SqliteStore::open("sqlite://keys.db").await?;
/// println!("keys are kept in {}", store.path().display());
/// let store: Arc<dyn KeyStore> = Arc::new(store);
/// # let _ = store;
/// # Ok(())
/// # }
/// ```
#[derive(Debug, Clone)]
pub struct SqliteStore {
    pool: SqlitePool,
    path: Arc<PathBuf>,
}

impl SqliteStore {
    /// Settings for a store at `location`: `sqlite://PATH` or `sqlite:PATH` (sqlx's SQLite
    /// URL: percent-encoded, with `?mode=ro|rw|rwc`), or a plain file path taken as it is.
    /// A relative path is relative to the working directory.
    pub fn builder(location: impl Into<String>) -> SqliteStoreBuilder {
        SqliteStoreBuilder::new(location.into())
    }

    /// Opens the store at `location` with the default settings, creating the file if it is
    /// missing: `SqliteStore::builder(location).open()`.
    ///
    /// # Errors
    /// See [`SqliteStoreBuilder::open`].
    pub async fn open(location: impl Into<String>) -> Result<SqliteStore, OpenError> {
        Self::builder(location).open().await
    }

    /// A store over `pool`, whose main database is the file at `path`.
    pub(crate) fn new(pool: SqlitePool, path: PathBuf) -> SqliteStore {
        SqliteStore { pool, path: Arc::new(path) }
    }

    /// The connection pool.
    pub fn pool(&self) -> &SqlitePool {
        &self.pool
    }

    /// The database file, as SQLite resolved it.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Closes the pool: waits for queries in flight, then closes every connection, which
    /// checkpoints the write-ahead log into the database file. Calls after it fail with
    /// [`StoreError::Unavailable`].
    pub async fn close(&self) {
        self.pool.close().await;
    }

    /// A write transaction that holds SQLite's write lock from its first statement, so that
    /// it never has to upgrade a read lock (which fails at once with `SQLITE_BUSY` when
    /// another writer came first) and two writers take turns through the busy timeout.
    async fn begin_write(&self) -> Result<Transaction<'static, Sqlite>, StoreError> {
        self.pool.begin_with("BEGIN IMMEDIATE").await.map_err(store_error)
    }

    /// How many keys of `workspace` are in force at `at`. Inside a write transaction, no other
    /// writer can change the count before it ends.
    async fn in_force(
        tx: &mut Transaction<'_, Sqlite>,
        workspace: &str,
        at: Timestamp,
    ) -> Result<u64, StoreError> {
        let in_force: i64 = sqlx::query_scalar(
            "SELECT count(*) FROM keygate_keys WHERE workspace_id = ?1 \
             AND (revoked_at IS NULL OR revoked_at > ?2) AND (expires_at IS NULL OR expires_at > ?2)",
        )
        .bind(workspace)
        .bind(at.unix_millis())
        .fetch_one(&mut **tx)
        .await
        .map_err(store_error)?;
        Ok(u64::try_from(in_force).unwrap_or(0))
    }

    async fn write(
        tx: &mut Transaction<'_, Sqlite>,
        r: &KeyRecord,
        insert: bool,
    ) -> Result<(), StoreError> {
        let sql = if insert { insert_sql() } else { UPDATE_SQL.to_owned() };
        KeyRow::of(r)
            .bind(sqlx::query(&sql))
            .execute(&mut **tx)
            .await
            .map_err(|e| conflict_or(e, r.id))?;
        Ok(())
    }

    async fn read(
        tx: &mut Transaction<'_, Sqlite>,
        id: &KeyId,
    ) -> Result<Option<KeyRecord>, StoreError> {
        let row = sqlx::query_as::<_, KeyRow>(&format!(
            "SELECT {COLUMNS} FROM keygate_keys WHERE id = ?1"
        ))
        .bind(id.as_str())
        .fetch_optional(&mut **tx)
        .await
        .map_err(store_error)?;
        row.map(KeyRow::into_record).transpose()
    }
}

fn insert_sql() -> String {
    format!(
        "INSERT INTO keygate_keys ({COLUMNS}) VALUES \
         (?1,?2,?3,?4,?5,?6,?7,?8,?9,?10,?11,?12,?13,?14,?15,?16,?17,?18,?19,?20,?21,?22,?23,?24,?25,?26,?27)"
    )
}

const UPDATE_SQL: &str = "UPDATE keygate_keys SET hash=?2, pepper_version=?3, preview=?4, \
    workspace_id=?5, user_id=?6, kind=?7, environment=?8, scopes=?9, name=?10, description=?11, \
    created_at=?12, expires_at=?13, revoked_at=?14, disabled=?15, last_used=?16, rate_plan=?17, \
    usage_day=?18, usage_today=?19, usage_month=?20, usage_this_month=?21, metadata=?22, allowed_ips=?23, \
    credits_remaining=?24, credits_refill=?25, credits_refills_at=?26, rate_limits=?27 WHERE id=?1";

/// Adds `?1` to a count, stopping at `i64::MAX` (SQLite would turn an overflowing sum into a
/// floating-point value, which a STRICT column refuses).
macro_rules! saturating_add {
    ($column:literal) => {
        concat!(
            "CASE WHEN ",
            $column,
            " > 9223372036854775807 - ?1 THEN 9223372036854775807 ELSE ",
            $column,
            " + ?1 END"
        )
    };
}

/// Adds `?1` requests of key `?2` to its day `?3`, for a key the table holds.
const USAGE_DAY_SQL: &str = concat!(
    "INSERT INTO keygate_key_usage_days (key_id, day, count) \
     SELECT ?2, ?3, ?1 WHERE EXISTS (SELECT 1 FROM keygate_keys WHERE id = ?2) \
     ON CONFLICT (key_id, day) DO UPDATE SET count = ",
    saturating_add!("count"),
);

/// One usage delta: `?1` count, `?2` last used, `?3` id, `?4` day, `?5` month. The same
/// arithmetic as [`UsageDelta::apply`]; every right-hand side reads the row as it was.
const USAGE_SQL: &str = concat!(
    "UPDATE keygate_keys SET ",
    "last_used = max(coalesce(last_used, ?2), ?2), ",
    "usage_today = CASE WHEN ?4 > usage_day THEN ?1 WHEN ?4 = usage_day THEN ",
    saturating_add!("usage_today"),
    " ELSE usage_today END, ",
    "usage_day = max(usage_day, ?4), ",
    "usage_this_month = CASE WHEN ?5 > usage_month THEN ?1 WHEN ?5 = usage_month THEN ",
    saturating_add!("usage_this_month"),
    " ELSE usage_this_month END, ",
    "usage_month = max(usage_month, ?5) ",
    "WHERE id = ?3"
);

#[async_trait::async_trait]
impl KeyStore for SqliteStore {
    async fn find(&self, id: &KeyId) -> Result<Option<Arc<KeyRecord>>, StoreError> {
        let row = sqlx::query_as::<_, KeyRow>(&format!(
            "SELECT {COLUMNS} FROM keygate_keys WHERE id = ?1"
        ))
        .bind(id.as_str())
        .fetch_optional(&self.pool)
        .await
        .map_err(store_error)?;
        Ok(row.map(KeyRow::into_record).transpose()?.map(Arc::new))
    }

    async fn insert(&self, record: KeyRecord) -> Result<(), StoreError> {
        KeyRow::of(&record)
            .bind(sqlx::query(&insert_sql()))
            .execute(&self.pool)
            .await
            .map_err(|e| conflict_or(e, record.id))?;
        Ok(())
    }

    async fn insert_within(&self, record: KeyRecord, limit: u64) -> Result<(), StoreError> {
        let mut tx = self.begin_write().await?;
        if Self::in_force(&mut tx, &record.owner.workspace_id, record.created_at).await? >= limit {
            return Err(StoreError::LimitReached { limit });
        }
        Self::write(&mut tx, &record, true).await?;
        tx.commit().await.map_err(store_error)
    }

    async fn update(&self, id: &KeyId, update: &KeyUpdate) -> Result<Arc<KeyRecord>, StoreError> {
        let mut tx = self.begin_write().await?;
        let mut record = Self::read(&mut tx, id).await?.ok_or(StoreError::NotFound(*id))?;
        update.apply(&mut record)?;
        Self::write(&mut tx, &record, false).await?;
        tx.commit().await.map_err(store_error)?;
        Ok(Arc::new(record))
    }

    async fn rotate(&self, old: &KeyId, rotation: &Rotation) -> Result<Rotated, StoreError> {
        let mut tx = self.begin_write().await?;
        let mut current = Self::read(&mut tx, old).await?.ok_or(StoreError::NotFound(*old))?;
        // The settings are copied from the row as read under the write lock: a change
        // committed before is kept.
        let new = rotation.apply(&mut current)?;
        if let Some(limit) = rotation.cap_to_check()
            && Self::in_force(&mut tx, &current.owner.workspace_id, rotation.at).await? >= limit
        {
            return Err(StoreError::LimitReached { limit });
        }
        // Dropping `tx` on an error rolls everything back.
        Self::write(&mut tx, &new, true).await?;
        Self::write(&mut tx, &current, false).await?;
        tx.commit().await.map_err(store_error)?;
        Ok(Rotated { old: Arc::new(current), new: Arc::new(new) })
    }

    async fn list(&self, query: &ListQuery) -> Result<Page, StoreError> {
        let limit = query.limit.clamp(1, MAX_PAGE);
        let rows = sqlx::query_as::<_, KeyRow>(&format!(
            "SELECT {COLUMNS} FROM keygate_keys WHERE workspace_id = ?1 \
             AND (?2 IS NULL OR user_id = ?2) \
             AND (?3 IS NULL OR (created_at, id) > (?3, ?4)) \
             AND (?6 IS NULL OR environment = ?6) \
             ORDER BY created_at, id LIMIT ?5"
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
        let done = sqlx::query(
            "UPDATE keygate_keys SET revoked_at = ?3 WHERE workspace_id = ?1 \
             AND (?2 IS NULL OR user_id = ?2) AND (revoked_at IS NULL OR revoked_at > ?3)",
        )
        .bind(workspace_id)
        .bind(user_id)
        .bind(at.unix_millis())
        .execute(&self.pool)
        .await
        .map_err(store_error)?;
        Ok(done.rows_affected())
    }

    async fn expiring(
        &self,
        after: Timestamp,
        until: Timestamp,
        limit: usize,
    ) -> Result<Vec<Arc<KeyRecord>>, StoreError> {
        let rows = sqlx::query_as::<_, KeyRow>(&format!(
            "SELECT {COLUMNS} FROM keygate_keys WHERE expires_at > ?1 AND expires_at <= ?2 \
             AND (revoked_at IS NULL OR revoked_at > ?1) ORDER BY expires_at, id LIMIT ?3"
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
        // Read and written under SQLite's write lock: no other spend comes between.
        let mut tx = self.begin_write().await?;
        let row: Option<(Option<i64>, Option<String>, Option<i64>)> = sqlx::query_as(
            "SELECT credits_remaining, credits_refill, credits_refills_at FROM keygate_keys \
             WHERE id = ?1",
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
                "UPDATE keygate_keys SET credits_remaining = ?2, credits_refills_at = ?3 WHERE id = ?1",
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
        // One statement per delta, in order, all in one transaction: a batch that fails is
        // kept and sent again whole, so none of it may have been written. In-process
        // statements cost no round trip.
        let mut tx = self.begin_write().await?;
        for d in batch {
            sqlx::query(USAGE_SQL)
                .bind(count_to_db(d.count))
                .bind(d.last_used.unix_millis())
                .bind(d.id.as_str())
                .bind(Usage::day_of(d.last_used))
                .bind(Usage::month_of(d.last_used))
                .execute(&mut *tx)
                .await
                .map_err(store_error)?;
            sqlx::query(USAGE_DAY_SQL)
                .bind(count_to_db(d.count))
                .bind(d.id.as_str())
                .bind(Usage::day_of(d.last_used))
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
        // One write transaction: replicas' flushes take turns, so a new network is new once.
        let mut tx = self.begin_write().await?;
        let new = crate::networks::record(&mut tx, batch).await?;
        tx.commit().await.map_err(store_error)?;
        Ok(new)
    }

    async fn recent_networks(&self, id: &KeyId) -> Result<Vec<SeenNetwork>, StoreError> {
        crate::networks::recent(&self.pool, id).await
    }

    async fn usage_days(
        &self,
        id: &KeyId,
        first: i64,
        last: i64,
    ) -> Result<Vec<DayCount>, StoreError> {
        let rows: Vec<(i64, i64)> = sqlx::query_as(
            "SELECT day, count FROM keygate_key_usage_days \
             WHERE key_id = ?1 AND day BETWEEN ?2 AND ?3 ORDER BY day",
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
}
