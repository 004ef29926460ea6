//! Opening a [`SqliteStore`]: the file, its settings, the embedded migrations.

use std::fmt;
use std::path::PathBuf;
use std::str::FromStr;
use std::time::Duration;

use sqlx::sqlite::{SqliteConnectOptions, SqliteJournalMode, SqlitePoolOptions, SqliteSynchronous};

use crate::SqliteStore;
use crate::migrate;

/// A SQLite store could not be opened.
///
/// ```no_run
/// use keygate_sqlite::{OpenError, SqliteStore};
///
/// # async fn run() {
/// let opened: Result<SqliteStore, OpenError> = SqliteStore::open("sqlite://keys.db").await;
/// if let Err(e) = opened {
///     eprintln!("{e}"); // cannot open the SQLite key store at sqlite://keys.db: ...
/// }
/// # }
/// ```
pub struct OpenError {
    location: String,
    reason: Reason,
}

#[derive(Debug)]
enum Reason {
    /// The location, the file, a pragma or a migration.
    Sqlx(sqlx::Error),
    /// The location names no file: an in-memory or temporary database.
    NotAFile,
}

impl fmt::Debug for OpenError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("OpenError")
            .field("location", &self.location)
            .field("reason", &self.reason)
            .finish()
    }
}

impl fmt::Display for OpenError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "cannot open the SQLite key store at {}: ", self.location)?;
        match &self.reason {
            Reason::Sqlx(e) => write!(f, "{e}"),
            Reason::NotAFile => f.write_str(
                "it names no database file. An in-memory SQLite database lives in one \
                 connection (a pool of several connections would be several databases) and is \
                 gone with it: keep keys in memory with keygate::store::MemoryStore",
            ),
        }
    }
}

impl std::error::Error for OpenError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match &self.reason {
            Reason::Sqlx(e) => Some(e),
            Reason::NotAFile => None,
        }
    }
}

impl From<sqlx::Error> for Reason {
    fn from(e: sqlx::Error) -> Self {
        Reason::Sqlx(e)
    }
}

/// Settings for [`SqliteStore`], made by [`SqliteStore::builder`].
///
/// ```no_run
/// use std::time::Duration;
/// use keygate_sqlite::SqliteStore;
///
/// # async fn run() -> Result<(), keygate_sqlite::OpenError> {
/// let store = SqliteStore::builder("/var/lib/app/keys.db")
///     .create_if_missing(false)
///     .max_connections(4)
///     .busy_timeout(Duration::from_secs(2))
///     .open()
///     .await?;
/// # let _ = store;
/// # Ok(())
/// # }
/// ```
#[derive(Debug, Clone)]
pub struct SqliteStoreBuilder {
    location: String,
    create_if_missing: bool,
    max_connections: u32,
    acquire_timeout: Duration,
    busy_timeout: Duration,
}

impl SqliteStoreBuilder {
    /// The defaults for a store at `location`.
    pub(crate) fn new(location: String) -> Self {
        SqliteStoreBuilder {
            location,
            create_if_missing: true,
            max_connections: 4,
            acquire_timeout: Duration::from_secs(5),
            busy_timeout: Duration::from_secs(5),
        }
    }

    /// Whether a missing file is created (default `true`). With `false`, opening a file that
    /// does not exist is an error: for tools that must not make an empty store by a typo.
    pub fn create_if_missing(mut self, create: bool) -> Self {
        self.create_if_missing = create;
        self
    }

    /// Most pooled connections (default 4). Readers use them at once; writers take turns.
    pub fn max_connections(mut self, n: u32) -> Self {
        self.max_connections = n;
        self
    }

    /// How long a query waits for a pooled connection before the store reports itself
    /// unavailable (default 5 s).
    pub fn acquire_timeout(mut self, timeout: Duration) -> Self {
        self.acquire_timeout = timeout;
        self
    }

    /// How long a write waits for another writer (in this process or another) to finish
    /// before the store reports itself unavailable (default 5 s): SQLite's busy timeout.
    pub fn busy_timeout(mut self, timeout: Duration) -> Self {
        self.busy_timeout = timeout;
        self
    }

    /// Opens the file (creating it if asked), sets WAL, the busy timeout and foreign keys on
    /// every connection, and runs the embedded migrations.
    ///
    /// # Errors
    /// [`OpenError`] when the location is not a valid SQLite URL, names no file (`:memory:`,
    /// `mode=memory`, an empty name), the file cannot be opened or created, is not a SQLite
    /// database, or a migration fails.
    pub async fn open(self) -> Result<SqliteStore, OpenError> {
        let location = self.location.clone();
        self.connect().await.map_err(|reason| OpenError { location, reason })
    }

    async fn connect(self) -> Result<SqliteStore, Reason> {
        let options = if self.location.starts_with("sqlite:") {
            SqliteConnectOptions::from_str(&self.location)?
        } else {
            SqliteConnectOptions::new().filename(&self.location)
        };
        let options = options
            .create_if_missing(self.create_if_missing)
            .journal_mode(SqliteJournalMode::Wal)
            .synchronous(SqliteSynchronous::Full)
            .busy_timeout(self.busy_timeout)
            .foreign_keys(true);
        let pool = SqlitePoolOptions::new()
            .max_connections(self.max_connections.max(1))
            .acquire_timeout(self.acquire_timeout)
            .connect_with(options)
            .await?;
        // SQLite's own answer: an in-memory or temporary database has no file.
        let file: String =
            sqlx::query_scalar("SELECT file FROM pragma_database_list WHERE name = 'main'")
                .fetch_one(&pool)
                .await?;
        if file.is_empty() {
            pool.close().await;
            return Err(Reason::NotAFile);
        }
        if let Err(e) = migrate::run(&pool).await {
            pool.close().await;
            return Err(e.into());
        }
        Ok(SqliteStore::new(pool, PathBuf::from(file)))
    }
}
