//! The embedded migrations, recorded in keygate's own table, `keygate_migrations`.
//!
//! sqlx's `Migrator` records every migration in `_sqlx_migrations` and refuses to run when that
//! table holds a version it does not know: keygate's migrations and a host application's own
//! would each stop the other on a shared schema. So keygate runs its migrations itself, in one
//! transaction under a lock of its own, and leaves `_sqlx_migrations` to the application.
//!
//! Earlier versions of this crate used sqlx's `Migrator`. Their record in `_sqlx_migrations`
//! is adopted: each keygate migration found there, with this build's checksum, is moved into
//! `keygate_migrations` instead of being run again.

use sqlx::Executor;
use sqlx::migrate::{MigrateError, Migration, Migrator};
use sqlx::postgres::PgPool;
use sqlx::{Postgres, Transaction};

/// keygate's migrations, embedded at build time.
static MIGRATOR: Migrator = sqlx::migrate!("./migrations");

/// Applies the migrations this schema has not had, in order, and records them.
///
/// # Errors
/// The schema holds a keygate migration this build does not know (a newer keygate migrated
/// it) or one that differs from this build's; a migration fails; the server cannot be used.
/// Nothing is changed on error.
pub(crate) async fn run(pool: &PgPool) -> Result<(), sqlx::Error> {
    let mut tx = pool.begin().await?;
    // Replicas starting together take turns; the lock ends with the transaction.
    sqlx::query(
        "SELECT pg_advisory_xact_lock(hashtextextended('keygate_migrations:' || current_schema(), 0))",
    )
    .execute(&mut *tx)
    .await?;
    // Checked rather than `CREATE TABLE IF NOT EXISTS`, whose notice would be logged at every
    // start.
    let exists: bool = sqlx::query_scalar(
        "SELECT EXISTS (SELECT FROM pg_catalog.pg_tables \
         WHERE schemaname = current_schema() AND tablename = 'keygate_migrations')",
    )
    .fetch_one(&mut *tx)
    .await?;
    if !exists {
        sqlx::query(
            "CREATE TABLE keygate_migrations (
                 version     BIGINT PRIMARY KEY,
                 description TEXT NOT NULL,
                 checksum    BYTEA NOT NULL,
                 applied_at  TIMESTAMPTZ NOT NULL DEFAULT now()
             )",
        )
        .execute(&mut *tx)
        .await?;
    }
    adopt(&mut tx).await?;

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
            "INSERT INTO keygate_migrations (version, description, checksum) VALUES ($1, $2, $3)",
        )
        .bind(migration.version)
        .bind(&*migration.description)
        .bind(&*migration.checksum)
        .execute(&mut *tx)
        .await?;
    }
    tx.commit().await
}

/// Moves keygate's migrations out of `_sqlx_migrations` (where an earlier keygate recorded
/// them, found through the search path as it found them) into `keygate_migrations`. Only a row
/// with a keygate version and this build's checksum is keygate's; anything else is the
/// application's and stays.
async fn adopt(tx: &mut Transaction<'_, Postgres>) -> Result<(), sqlx::Error> {
    let legacy: bool = sqlx::query_scalar("SELECT to_regclass('_sqlx_migrations') IS NOT NULL")
        .fetch_one(&mut **tx)
        .await?;
    if !legacy {
        return Ok(());
    }
    for migration in up().collect::<Vec<_>>() {
        let moved = sqlx::query(
            "WITH gone AS ( \
                 DELETE FROM _sqlx_migrations WHERE version = $1 AND checksum = $2 AND success \
                 RETURNING version, description, checksum, installed_on) \
             INSERT INTO keygate_migrations (version, description, checksum, applied_at) \
             SELECT version, description, checksum, installed_on FROM gone \
             ON CONFLICT (version) DO NOTHING",
        )
        .bind(migration.version)
        .bind(&*migration.checksum)
        .execute(&mut **tx)
        .await?;
        if moved.rows_affected() > 0 {
            tracing::info!(
                version = migration.version,
                "moved keygate's migration record from _sqlx_migrations to keygate_migrations"
            );
        }
    }
    Ok(())
}

/// The migrations to apply, in order. Collected before any `await` that uses them, so that the
/// future holds no iterator over them and stays `Send` for any lifetime.
fn up() -> impl Iterator<Item = &'static Migration> {
    MIGRATOR.iter().filter(|m| !m.migration_type.is_down_migration())
}

fn migrate_error(e: MigrateError) -> sqlx::Error {
    sqlx::Error::Migrate(Box::new(e))
}
