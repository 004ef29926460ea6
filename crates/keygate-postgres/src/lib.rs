//! A [`KeyStore`] over PostgreSQL, for services that run on several replicas.
//!
//! - **sqlx**, not tokio-postgres: it brings the connection pool, embedded migrations and
//!   `LISTEN` with reconnection that this crate needs, where tokio-postgres would need
//!   deadpool and a migration tool beside it. Queries are checked at run time, so building
//!   needs no database.
//! - **One round trip per verify** ([`find`](KeyStore::find) is one `SELECT` by primary key),
//!   **one transaction per rotation**, and usage flushes as one `UPDATE … FROM UNNEST(…)`.
//! - **Change notifications**: every change that can alter a verify's answer sends
//!   `NOTIFY keygate_<schema>, '<key id>'` in its transaction. [`cached`] puts a
//!   [`CachedStore`] in front of the store and keeps it current from those notifications, so
//!   hot keys verify from memory while a revocation on one replica reaches every other within
//!   the time a notification takes. A lost notification is bounded by the cache's TTL; while
//!   the listening connection is down, the cache is bypassed.
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

use std::sync::Arc;
use std::time::Duration;

use keygate::clock::Timestamp;
use keygate::format::{Environment, KeyId};
use keygate::hash::KeyHash;
use keygate::scope::ScopeSet;
use keygate::store::{
    CacheConfig, CachedStore, Cursor, KeyKind, KeyRecord, KeyStore, KeyUpdate, ListQuery, MAX_PAGE,
    Owner, Page, Rotated, Rotation, StoreError, Usage, UsageDelta,
};
use sqlx::postgres::{PgConnectOptions, PgListener, PgPool, PgPoolOptions, PgRow};
use sqlx::{Postgres, Row, Transaction};

/// The columns of a record, in the order [`record`] reads them.
const COLUMNS: &str = "id, hash, pepper_version, preview, workspace_id, user_id, kind, environment, \
    scopes, name, description, created_at, expires_at, revoked_at, disabled, last_used, rate_plan, \
    usage_day, usage_today, usage_month, usage_this_month";

/// Most ids named one by one in the notifications of a bulk revocation; past it, one `*`
/// tells listeners to forget everything.
const MAX_NOTIFIED_IDS: usize = 100;

/// A PostgreSQL store could not be opened.
#[derive(Debug)]
pub struct ConnectError(sqlx::Error);

impl std::fmt::Display for ConnectError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "cannot open the PostgreSQL key store: {}", self.0)
    }
}

impl std::error::Error for ConnectError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        Some(&self.0)
    }
}

/// Settings for [`PgStore`].
#[derive(Debug, Clone)]
pub struct PgStoreBuilder {
    url: String,
    schema: Option<String>,
    max_connections: u32,
    acquire_timeout: Duration,
}

impl PgStoreBuilder {
    /// Keeps the tables in `schema` (created if missing) instead of the connection's
    /// `search_path`.
    pub fn schema(mut self, schema: impl Into<String>) -> Self {
        self.schema = Some(schema.into());
        self
    }

    /// Most pooled connections (default 8).
    pub fn max_connections(mut self, n: u32) -> Self {
        self.max_connections = n;
        self
    }

    /// How long a query waits for a connection before the store reports itself unavailable
    /// (default 2 s): how quickly an outage turns into 503s instead of hanging requests.
    pub fn acquire_timeout(mut self, timeout: Duration) -> Self {
        self.acquire_timeout = timeout;
        self
    }

    /// Connects, creates the schema if asked, and runs the embedded migrations.
    ///
    /// # Errors
    /// [`ConnectError`] when the URL is invalid, the server cannot be reached or a migration
    /// fails.
    pub async fn connect(self) -> Result<PgStore, ConnectError> {
        let mut options: PgConnectOptions = self.url.parse().map_err(ConnectError)?;
        if let Some(schema) = &self.schema {
            let admin = PgPoolOptions::new()
                .max_connections(1)
                .acquire_timeout(self.acquire_timeout)
                .connect_with(options.clone())
                .await
                .map_err(ConnectError)?;
            sqlx::query(&format!(
                r#"CREATE SCHEMA IF NOT EXISTS "{}""#,
                schema.replace('"', "\"\"")
            ))
            .execute(&admin)
            .await
            .map_err(ConnectError)?;
            admin.close().await;
            options = options.options([("search_path", schema.as_str())]);
        }
        let pool = PgPoolOptions::new()
            .max_connections(self.max_connections)
            .acquire_timeout(self.acquire_timeout)
            .connect_with(options)
            .await
            .map_err(ConnectError)?;
        sqlx::migrate!("./migrations")
            .run(&pool)
            .await
            .map_err(|e| ConnectError(sqlx::Error::Migrate(Box::new(e))))?;
        let schema: String = sqlx::query_scalar("SELECT current_schema()")
            .fetch_one(&pool)
            .await
            .map_err(ConnectError)?;
        let channel: String = format!("keygate_{schema}").chars().take(63).collect();
        Ok(PgStore { pool, channel })
    }
}

/// Key records in PostgreSQL.
#[derive(Debug, Clone)]
pub struct PgStore {
    pool: PgPool,
    channel: String,
}

impl PgStore {
    /// Settings for a store at `url` (`postgres://user@host/db`; `?options[search_path]=s`
    /// picks a schema).
    pub fn builder(url: impl Into<String>) -> PgStoreBuilder {
        PgStoreBuilder {
            url: url.into(),
            schema: None,
            max_connections: 8,
            acquire_timeout: Duration::from_secs(2),
        }
    }

    /// The connection pool.
    pub fn pool(&self) -> &PgPool {
        &self.pool
    }

    /// The channel change notifications are sent on.
    pub fn channel(&self) -> &str {
        &self.channel
    }

    /// Listens for change notifications and applies them to `cache` until the pool closes:
    /// each key id named is invalidated; `*` (or a lost connection) invalidates everything, and
    /// the cache is bypassed until the listener is back. [`cached`] spawns this.
    pub async fn listen(self, cache: Arc<CachedStore<PgStore>>) {
        loop {
            if self.pool.is_closed() {
                return;
            }
            let mut listener = match PgListener::connect_with(&self.pool).await {
                Ok(l) => l,
                Err(e) => {
                    cache.set_bypass(true);
                    tracing::warn!(error = %e, "cannot listen for key changes; verifying from the database");
                    tokio::time::sleep(Duration::from_millis(500)).await;
                    continue;
                }
            };
            if let Err(e) = listener.listen(&self.channel).await {
                cache.set_bypass(true);
                tracing::warn!(error = %e, "cannot listen for key changes; verifying from the database");
                tokio::time::sleep(Duration::from_millis(500)).await;
                continue;
            }
            // Changes made while nobody listened are unknown: start afresh.
            cache.invalidate_all();
            cache.set_bypass(false);
            tracing::debug!(channel = %self.channel, "listening for key changes");
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
                 ($1,$2,$3,$4,$5,$6,$7,$8,$9,$10,$11,$12,$13,$14,$15,$16,$17,$18,$19,$20,$21)"
            )
        } else {
            "UPDATE keygate_keys SET hash=$2, pepper_version=$3, preview=$4, workspace_id=$5, user_id=$6, \
             kind=$7, environment=$8, scopes=$9, name=$10, description=$11, created_at=$12, expires_at=$13, \
             revoked_at=$14, disabled=$15, last_used=$16, rate_plan=$17, usage_day=$18, usage_today=$19, \
             usage_month=$20, usage_this_month=$21 WHERE id=$1"
                .to_owned()
        };
        let scopes: Vec<&str> = r.scopes.iter().map(|s| s.as_str()).collect();
        sqlx::query(&sql)
            .bind(r.id.as_str())
            .bind(&r.hash.as_bytes()[..])
            .bind(i32::from(r.pepper_version))
            .bind(&r.preview)
            .bind(&r.owner.workspace_id)
            .bind(&r.owner.user_id)
            .bind(r.kind.as_str())
            .bind(r.environment.as_str())
            .bind(&scopes)
            .bind(&r.name)
            .bind(&r.description)
            .bind(r.created_at.unix_millis())
            .bind(r.expires_at.map(Timestamp::unix_millis))
            .bind(r.revoked_at.map(Timestamp::unix_millis))
            .bind(r.disabled)
            .bind(r.last_used.map(Timestamp::unix_millis))
            .bind(&r.rate_plan)
            .bind(r.usage.day)
            .bind(count_to_db(r.usage.today))
            .bind(r.usage.month)
            .bind(count_to_db(r.usage.this_month))
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
        let row =
            sqlx::query(&format!("SELECT {COLUMNS} FROM keygate_keys WHERE id = $1 FOR UPDATE"))
                .bind(id.as_str())
                .fetch_optional(&mut **tx)
                .await
                .map_err(store_error)?;
        row.as_ref().map(record).transpose()
    }
}

/// `store` behind a [`CachedStore`] that a spawned task keeps current from PostgreSQL's change
/// notifications. Call it inside a tokio runtime.
pub fn cached(store: PgStore, config: CacheConfig) -> Arc<CachedStore<PgStore>> {
    let cache = Arc::new(CachedStore::new(store.clone(), config));
    // Until the listener is up, changes could be missed: read the database.
    cache.set_bypass(true);
    tokio::spawn(store.listen(cache.clone()));
    cache
}

fn count_to_db(n: u64) -> i64 {
    i64::try_from(n).unwrap_or(i64::MAX)
}

fn count_from_db(n: i64) -> u64 {
    u64::try_from(n).unwrap_or(0)
}

fn corrupt(what: &str) -> StoreError {
    StoreError::Other(format!("a key row has an invalid {what}").into())
}

/// A record from a row of [`COLUMNS`].
fn record(row: &PgRow) -> Result<KeyRecord, StoreError> {
    let get_err = |e: sqlx::Error| StoreError::Other(Box::new(e));
    let id: String = row.try_get("id").map_err(get_err)?;
    let hash: Vec<u8> = row.try_get("hash").map_err(get_err)?;
    let hash: [u8; 32] = hash.try_into().map_err(|_| corrupt("hash"))?;
    let pepper_version: i32 = row.try_get("pepper_version").map_err(get_err)?;
    let kind: String = row.try_get("kind").map_err(get_err)?;
    let environment: String = row.try_get("environment").map_err(get_err)?;
    let scopes: Vec<String> = row.try_get("scopes").map_err(get_err)?;
    let time = |col: &str| -> Result<Option<Timestamp>, StoreError> {
        Ok(row.try_get::<Option<i64>, _>(col).map_err(get_err)?.map(Timestamp::from_unix_millis))
    };
    let mut record = KeyRecord::new(
        KeyId::from_raw(&id).map_err(|_| corrupt("id"))?,
        KeyHash::from_bytes(hash),
        u16::try_from(pepper_version).map_err(|_| corrupt("pepper version"))?,
        row.try_get("preview").map_err(get_err)?,
        Owner {
            workspace_id: row.try_get("workspace_id").map_err(get_err)?,
            user_id: row.try_get("user_id").map_err(get_err)?,
        },
        environment.parse::<Environment>().map_err(|_| corrupt("environment"))?,
        time("created_at")?.ok_or_else(|| corrupt("created_at"))?,
    );
    record.kind = kind.parse::<KeyKind>().map_err(|_| corrupt("kind"))?;
    record.scopes = ScopeSet::parse(scopes).map_err(|_| corrupt("scope"))?;
    record.name = row.try_get("name").map_err(get_err)?;
    record.description = row.try_get("description").map_err(get_err)?;
    record.expires_at = time("expires_at")?;
    record.revoked_at = time("revoked_at")?;
    record.disabled = row.try_get("disabled").map_err(get_err)?;
    record.last_used = time("last_used")?;
    record.rate_plan = row.try_get("rate_plan").map_err(get_err)?;
    record.usage = Usage {
        day: row.try_get("usage_day").map_err(get_err)?,
        today: count_from_db(row.try_get("usage_today").map_err(get_err)?),
        month: row.try_get("usage_month").map_err(get_err)?,
        this_month: count_from_db(row.try_get("usage_this_month").map_err(get_err)?),
    };
    Ok(record)
}

/// An sqlx error as a store error: connection trouble is [`StoreError::Unavailable`].
fn store_error(e: sqlx::Error) -> StoreError {
    let unavailable = match &e {
        sqlx::Error::Io(_)
        | sqlx::Error::Tls(_)
        | sqlx::Error::PoolTimedOut
        | sqlx::Error::PoolClosed
        | sqlx::Error::WorkerCrashed
        | sqlx::Error::Protocol(_) => true,
        // Class 08: connection exception; 57P: the server is shutting down or restarting.
        sqlx::Error::Database(db) => {
            db.code().is_some_and(|c| c.starts_with("08") || c.starts_with("57P"))
        }
        _ => false,
    };
    if unavailable { StoreError::Unavailable(Box::new(e)) } else { StoreError::Other(Box::new(e)) }
}

fn conflict_or(e: sqlx::Error, id: KeyId) -> StoreError {
    match &e {
        sqlx::Error::Database(db) if db.is_unique_violation() => StoreError::Conflict(id),
        _ => store_error(e),
    }
}

#[async_trait::async_trait]
impl KeyStore for PgStore {
    async fn find(&self, id: &KeyId) -> Result<Option<Arc<KeyRecord>>, StoreError> {
        let row = sqlx::query(&format!("SELECT {COLUMNS} FROM keygate_keys WHERE id = $1"))
            .bind(id.as_str())
            .fetch_optional(&self.pool)
            .await
            .map_err(store_error)?;
        Ok(row.as_ref().map(record).transpose()?.map(Arc::new))
    }

    async fn insert(&self, record: KeyRecord) -> Result<(), StoreError> {
        let mut tx = self.pool.begin().await.map_err(store_error)?;
        self.write(&mut tx, &record, true).await?;
        self.notify(&mut tx, record.id.as_str()).await?;
        tx.commit().await.map_err(store_error)
    }

    async fn insert_within(&self, record: KeyRecord, limit: u64) -> Result<(), StoreError> {
        let mut tx = self.pool.begin().await.map_err(store_error)?;
        // One workspace's capped inserts take turns; the lock ends with the transaction.
        sqlx::query("SELECT pg_advisory_xact_lock(hashtextextended($1 || ':' || $2, 0))")
            .bind(&self.channel)
            .bind(&record.owner.workspace_id)
            .execute(&mut *tx)
            .await
            .map_err(store_error)?;
        let in_force: i64 = sqlx::query_scalar(
            "SELECT count(*) FROM keygate_keys WHERE workspace_id = $1 \
             AND (revoked_at IS NULL OR revoked_at > $2) AND (expires_at IS NULL OR expires_at > $2)",
        )
        .bind(&record.owner.workspace_id)
        .bind(record.created_at.unix_millis())
        .fetch_one(&mut *tx)
        .await
        .map_err(store_error)?;
        if u64::try_from(in_force).unwrap_or(0) >= limit {
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
        let rows = sqlx::query(&format!(
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
        let mut records = rows.iter().map(record).collect::<Result<Vec<_>, _>>()?;
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
        let rows = sqlx::query(&format!(
            "SELECT {COLUMNS} FROM keygate_keys WHERE expires_at > $1 AND expires_at <= $2 \
             AND (revoked_at IS NULL OR revoked_at > $1) ORDER BY expires_at, id LIMIT $3"
        ))
        .bind(after.unix_millis())
        .bind(until.unix_millis())
        .bind(i64::try_from(limit).unwrap_or(i64::MAX))
        .fetch_all(&self.pool)
        .await
        .map_err(store_error)?;
        rows.iter().map(|r| record(r).map(Arc::new)).collect()
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
        }
        tx.commit().await.map_err(store_error)
    }
}
