//! The embedded migrations, recorded in keygate's own table, `keygate_migrations`.
//!
//! sqlx's `Migrator` records every migration in `_sqlx_migrations` and refuses to run when that
//! table holds a version it does not know: keygate's migrations and a host application's own
//! would each stop the other on a shared database. So keygate runs its migrations itself, in
//! one `BEGIN IMMEDIATE` transaction (two processes opening one new file take turns), and
//! leaves `_sqlx_migrations` to the application.

use std::time::{SystemTime, UNIX_EPOCH};

use sqlx::Executor;
use sqlx::migrate::{MigrateError, Migration, Migrator};
use sqlx::sqlite::SqlitePool;

/// keygate's migrations, embedded at build time.
static MIGRATOR: Migrator = sqlx::migrate!("./migrations");

/// Applies the migrations this database has not had, in order, and records them.
///
/// # Errors
/// The database holds a keygate migration this build does not know (a newer keygate migrated
/// it) or one that differs from this build's; a migration fails; the database cannot be used.
/// Nothing is changed on error.
pub(crate) async fn run(pool: &SqlitePool) -> Result<(), sqlx::Error> {
    let mut tx = pool.begin_with("BEGIN IMMEDIATE").await?;
    sqlx::query(
        "CREATE TABLE IF NOT EXISTS keygate_migrations (
             version     INTEGER NOT NULL PRIMARY KEY,
             description TEXT NOT NULL,
             checksum    BLOB NOT NULL,
             applied_at  INTEGER NOT NULL
         ) STRICT",
    )
    .execute(&mut *tx)
    .await?;
    let applied: Vec<(i64, Vec<u8>)> =
        sqlx::query_as("SELECT version, checksum FROM keygate_migrations ORDER BY version")
            .fetch_all(&mut *tx)
            .await?;
    for (version, checksum) in &applied {
        match MIGRATOR.iter().find(|m| m.version == *version) {
            None => return Err(migrate_error(MigrateError::VersionMissing(*version))),
            Some(m) if *m.checksum != **checksum => {
                return Err(migrate_error(MigrateError::VersionMismatch(*version)));
            }
            Some(_) => {}
        }
    }
    let pending: Vec<&'static Migration> =
        up().filter(|m| !applied.iter().any(|(version, _)| *version == m.version)).collect();
    for migration in pending {
        // A plain `&str` runs unprepared, so a migration may hold several statements.
        (&mut *tx)
            .execute(&*migration.sql)
            .await
            .map_err(|e| migrate_error(MigrateError::ExecuteMigration(e, migration.version)))?;
        sqlx::query(
            "INSERT INTO keygate_migrations (version, description, checksum, applied_at) \
             VALUES (?1, ?2, ?3, ?4)",
        )
        .bind(migration.version)
        .bind(&*migration.description)
        .bind(&*migration.checksum)
        .bind(now_millis())
        .execute(&mut *tx)
        .await?;
    }
    tx.commit().await
}

/// Milliseconds since the Unix epoch, for the record of when a migration ran.
fn now_millis() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| i64::try_from(d.as_millis()).unwrap_or(i64::MAX))
}

/// The migrations to apply, in order. Collected before any `await` that uses them, so that the
/// future holds no iterator over them and stays `Send` for any lifetime.
fn up() -> impl Iterator<Item = &'static Migration> {
    MIGRATOR.iter().filter(|m| !m.migration_type.is_down_migration())
}

fn migrate_error(e: MigrateError) -> sqlx::Error {
    sqlx::Error::Migrate(Box::new(e))
}
