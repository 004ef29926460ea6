//! sqlx errors as [`StoreError`]s: what is an outage, what is a conflict, what is anything else.

use keygate::format::KeyId;
use keygate::store::StoreError;

/// An sqlx error as a store error: connection trouble is [`StoreError::Unavailable`].
pub(crate) fn store_error(e: sqlx::Error) -> StoreError {
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

/// Like [`store_error`], but a unique violation is [`StoreError::Conflict`] on `id`.
pub(crate) fn conflict_or(e: sqlx::Error, id: KeyId) -> StoreError {
    match &e {
        sqlx::Error::Database(db) if db.is_unique_violation() => StoreError::Conflict(id),
        _ => store_error(e),
    }
}
