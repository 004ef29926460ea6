//! sqlx errors as [`StoreError`]s: what is an outage, what is a conflict, what is anything else.

use keygate::format::KeyId;
use keygate::store::StoreError;

/// SQLite's primary result codes that mean the database cannot be used right now: `BUSY` and
/// `LOCKED` (another writer held it past the busy timeout), `IOERR` and `CANTOPEN` (the file or
/// its disk).
const UNAVAILABLE_CODES: [i32; 4] = [5, 6, 10, 14];

/// An sqlx error as a store error: a locked database or an unusable file is
/// [`StoreError::Unavailable`].
pub(crate) fn store_error(e: sqlx::Error) -> StoreError {
    let unavailable = match &e {
        sqlx::Error::Io(_)
        | sqlx::Error::PoolTimedOut
        | sqlx::Error::PoolClosed
        | sqlx::Error::WorkerCrashed => true,
        sqlx::Error::Database(db) => db
            .code()
            .and_then(|c| c.parse::<i32>().ok())
            // The code is an extended result code; its low byte is the primary one.
            .is_some_and(|c| UNAVAILABLE_CODES.contains(&(c & 0xff))),
        _ => false,
    };
    if unavailable { StoreError::Unavailable(Box::new(e)) } else { StoreError::Other(Box::new(e)) }
}

/// Like [`store_error`], but a unique violation is [`StoreError::Conflict`] on `id`.
pub(crate) fn conflict_or(e: sqlx::Error, id: KeyId) -> StoreError {
    match &e {
        sqlx::Error::Database(db) if db.is_unique_violation() => StoreError::Conflict(id),
        _ => store_error(e),
    }
}
