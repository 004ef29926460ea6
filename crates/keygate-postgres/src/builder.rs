//! Opening a [`PgStore`]: settings, the schema, the embedded migrations.

use std::fmt;
use std::time::Duration;

use sqlx::postgres::{PgConnectOptions, PgPoolOptions};

use crate::PgStore;

/// The longest identifier PostgreSQL keeps whole (`NAMEDATALEN - 1` bytes).
const MAX_IDENTIFIER: usize = 63;

/// A PostgreSQL store could not be opened.
///
/// ```no_run
/// use keygate_postgres::{ConnectError, PgStore};
///
/// # async fn run() {
/// let opened: Result<PgStore, ConnectError> =
///     PgStore::builder("postgres://postgres@127.0.0.1/app").connect().await;
/// if let Err(e) = opened {
///     eprintln!("{e}"); // cannot open the PostgreSQL key store: ...
/// }
/// # }
/// ```
pub struct ConnectError(Reason);

#[derive(Debug)]
enum Reason {
    /// The URL, the server, the schema's creation or a migration.
    Sqlx(sqlx::Error),
    /// A schema name that is not an identifier.
    Schema(String),
}

impl fmt::Debug for ConnectError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // As `ConnectError(<the sqlx error>)` when there is one.
        match &self.0 {
            Reason::Sqlx(e) => f.debug_tuple("ConnectError").field(e).finish(),
            reason @ Reason::Schema(_) => f.debug_tuple("ConnectError").field(reason).finish(),
        }
    }
}

impl fmt::Display for ConnectError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.0 {
            Reason::Sqlx(e) => write!(f, "cannot open the PostgreSQL key store: {e}"),
            Reason::Schema(s) => write!(
                f,
                "cannot open the PostgreSQL key store: the schema name {s:?} is not an identifier \
                 (a letter or `_`, then letters, digits or `_`, at most {MAX_IDENTIFIER} bytes)"
            ),
        }
    }
}

impl std::error::Error for ConnectError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match &self.0 {
            Reason::Sqlx(e) => Some(e),
            Reason::Schema(_) => None,
        }
    }
}

impl From<sqlx::Error> for Reason {
    fn from(e: sqlx::Error) -> Self {
        Reason::Sqlx(e)
    }
}

/// Settings for [`PgStore`], made by [`PgStore::builder`].
///
/// ```no_run
/// use std::time::Duration;
/// use keygate_postgres::PgStore;
///
/// # async fn run() -> Result<(), keygate_postgres::ConnectError> {
/// let store = PgStore::builder("postgres://postgres@127.0.0.1/app")
///     .schema("keygate")
///     .max_connections(16)
///     .acquire_timeout(Duration::from_secs(1))
///     .connect()
///     .await?;
/// # let _ = store;
/// # Ok(())
/// # }
/// ```
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
    /// `search_path`. The name must be an identifier: a letter or `_`, then letters, digits or
    /// `_`, at most 63 bytes; [`connect`](Self::connect) refuses any other.
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
    /// [`ConnectError`] when the schema name is not an identifier (before connecting), the URL
    /// is invalid, the server cannot be reached or a migration fails.
    pub async fn connect(self) -> Result<PgStore, ConnectError> {
        self.open().await.map_err(ConnectError)
    }

    async fn open(self) -> Result<PgStore, Reason> {
        if let Some(schema) = &self.schema
            && !is_identifier(schema)
        {
            return Err(Reason::Schema(schema.clone()));
        }
        let mut options: PgConnectOptions = self.url.parse()?;
        if let Some(schema) = &self.schema {
            let admin = PgPoolOptions::new()
                .max_connections(1)
                .acquire_timeout(self.acquire_timeout)
                .connect_with(options.clone())
                .await?;
            sqlx::query(&format!(r#"CREATE SCHEMA IF NOT EXISTS "{schema}""#))
                .execute(&admin)
                .await?;
            admin.close().await;
            // Quoted as in `CREATE SCHEMA`, so that a name with capitals means the same schema.
            options = options.options([("search_path", format!(r#""{schema}""#))]);
        }
        let pool = PgPoolOptions::new()
            .max_connections(self.max_connections)
            .acquire_timeout(self.acquire_timeout)
            .connect_with(options)
            .await?;
        crate::migrate::run(&pool).await?;
        let schema: String = sqlx::query_scalar("SELECT current_schema()").fetch_one(&pool).await?;
        let channel: String = format!("keygate_{schema}").chars().take(63).collect();
        Ok(PgStore::new(pool, channel))
    }
}

/// Whether `name` is an identifier PostgreSQL takes as it is: `[A-Za-z_][A-Za-z0-9_]*`, at
/// most 63 bytes. Such a name needs no escaping, in SQL or in the connection's options.
fn is_identifier(name: &str) -> bool {
    let mut bytes = name.bytes();
    name.len() <= MAX_IDENTIFIER
        && bytes.next().is_some_and(|b| b.is_ascii_alphabetic() || b == b'_')
        && bytes.all(|b| b.is_ascii_alphanumeric() || b == b'_')
}

#[cfg(test)]
mod tests {
    use super::is_identifier;

    #[test]
    fn schema_names_are_plain_identifiers() {
        for ok in ["keygate", "_k", "Kg_2", "a", &"s".repeat(63)] {
            assert!(is_identifier(ok), "{ok}");
        }
        for bad in [
            "",
            "2kg",
            "kg-1",
            "kg 1",
            "kg;x",
            r#"kg"x"#,
            "kg,public",
            "kg\\x",
            "kg\u{0}",
            "kgé",
            "kg -c log_statement=all",
            &"s".repeat(64),
        ] {
            assert!(!is_identifier(bad), "{bad:?}");
        }
    }
}
