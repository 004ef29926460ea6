//! Paged listings: the query, its cursor and a page.

use std::sync::Arc;

use crate::clock::Timestamp;
use crate::format::{Environment, KeyId};

use super::KeyRecord;

/// Where a listing resumes: after the record with this creation time and id.
///
/// ```
/// # use keygate::{clock::Timestamp, format::Environment, hash::KeyHash, store::{KeyRecord, Owner}};
/// # fn record(id: &str, at: i64) -> KeyRecord {
/// #     let id = id.parse().unwrap();
/// #     let owner = Owner::workspace("wks_1");
/// #     let created = Timestamp::from_unix_seconds(at);
/// #     KeyRecord::new(id, KeyHash::from_bytes([0; 32]), 1, "sk_live_Ab".into(), owner, Environment::Live, created)
/// # }
/// use keygate::store::{Cursor, KeyStore, ListQuery, MemoryStore};
///
/// # #[tokio::main(flavor = "current_thread")]
/// # async fn main() -> Result<(), Box<dyn std::error::Error>> {
/// let store = MemoryStore::new();
/// store.insert(record("key_First0000001", 1_800_000_000)).await?;
/// store.insert(record("key_Second000002", 1_800_000_060)).await?;
/// let first = store.list(&ListQuery::new("wks_1").limit(1)).await?;
/// let after = first.records.last().map(|r| Cursor::after(r));
/// let second = store.list(&ListQuery::new("wks_1").limit(1).after(after)).await?;
/// assert_eq!(second.records[0].id.as_str(), "Second000002");
/// # Ok(())
/// # }
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub struct Cursor {
    /// Creation time of the last record seen.
    pub created_at: Timestamp,
    /// Id of the last record seen.
    pub id: KeyId,
}

impl Cursor {
    /// The cursor that resumes after `record`.
    pub fn after(record: &KeyRecord) -> Self {
        Cursor { created_at: record.created_at, id: record.id }
    }
}

/// Which records to list: one workspace (optionally one user or environment), oldest first, a
/// page at a time.
///
/// ```
/// use keygate::format::Environment;
/// use keygate::store::ListQuery;
///
/// let query = ListQuery::new("wks_1").user("usr_1").environment(Environment::Test).limit(50);
/// assert_eq!((query.workspace_id.as_str(), query.limit), ("wks_1", 50));
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct ListQuery {
    /// The workspace.
    pub workspace_id: String,
    /// Only this user's keys, if set.
    pub user_id: Option<String>,
    /// Only keys of this environment, if set.
    pub environment: Option<Environment>,
    /// Resume after this record.
    pub after: Option<Cursor>,
    /// At most this many records (a store may cap it at [`MAX_PAGE`]).
    pub limit: usize,
}

impl ListQuery {
    /// The first page of 100 of a workspace's keys.
    pub fn new(workspace_id: impl Into<String>) -> Self {
        ListQuery {
            workspace_id: workspace_id.into(),
            user_id: None,
            environment: None,
            after: None,
            limit: 100,
        }
    }

    /// Only this user's keys.
    pub fn user(mut self, user_id: impl Into<String>) -> Self {
        self.user_id = Some(user_id.into());
        self
    }

    /// Only keys of this environment.
    pub fn environment(mut self, environment: Environment) -> Self {
        self.environment = Some(environment);
        self
    }

    /// Resuming after this record.
    pub fn after(mut self, after: Option<Cursor>) -> Self {
        self.after = after;
        self
    }

    /// At most this many records.
    pub fn limit(mut self, limit: usize) -> Self {
        self.limit = limit;
        self
    }
}

/// Largest page a store returns.
pub const MAX_PAGE: usize = 1000;

/// One page of records, ordered by creation time then id.
///
/// ```
/// # use keygate::{clock::Timestamp, format::Environment, hash::KeyHash, store::{KeyRecord, Owner}};
/// # fn record(id: &str, at: i64) -> KeyRecord {
/// #     let id = id.parse().unwrap();
/// #     let owner = Owner::workspace("wks_1");
/// #     let created = Timestamp::from_unix_seconds(at);
/// #     KeyRecord::new(id, KeyHash::from_bytes([0; 32]), 1, "sk_live_Ab".into(), owner, Environment::Live, created)
/// # }
/// use keygate::store::{KeyStore, ListQuery, MemoryStore};
///
/// # #[tokio::main(flavor = "current_thread")]
/// # async fn main() -> Result<(), Box<dyn std::error::Error>> {
/// let store = MemoryStore::new();
/// store.insert(record("key_First0000001", 1_800_000_000)).await?;
/// store.insert(record("key_Second000002", 1_800_000_060)).await?;
/// let page = store.list(&ListQuery::new("wks_1")).await?;
/// let ids: Vec<&str> = page.records.iter().map(|r| r.id.as_str()).collect();
/// assert_eq!(ids, ["First0000001", "Second000002"]); // oldest first
/// assert!(page.next.is_none()); // nothing more to read
/// # Ok(())
/// # }
/// ```
#[derive(Debug, Clone)]
pub struct Page {
    /// The records.
    pub records: Vec<Arc<KeyRecord>>,
    /// Where the next page starts, if there may be one.
    pub next: Option<Cursor>,
}
