//! Opening a [`PgStore`]: settings, the schema, the embedded migrations.

use std::time::Duration;

use sqlx::postgres::{PgConnectOptions, PgPoolOptions};

use crate::PgStore;

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
    /// The defaults for a store at `url`.
    pub(crate) fn new(url: String) -> Self {
        PgStoreBuilder {
            url,
            schema: None,
            max_connections: 8,
            acquire_timeout: Duration::from_secs(2),
        }
    }

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
        Ok(PgStore::new(pool, channel))
    }
}
