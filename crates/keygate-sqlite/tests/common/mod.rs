//! What every SQLite test needs: a directory of its own for its database file, removed when
//! the test ends, and a key record to store.

#![allow(clippy::unwrap_used)]
#![allow(dead_code, reason = "each test file uses some of these")]

use std::path::{Path, PathBuf};
use std::time::{SystemTime, UNIX_EPOCH};

use keygate::clock::Timestamp;
use keygate::format::{Environment, KeyFormat};
use keygate::hash::{KeyHasher, Pepper};
use keygate::scope::ScopeSet;
use keygate::store::{KeyRecord, Owner};

/// A directory no other test uses, removed with everything in it (the database, its `-wal`
/// and `-shm` files) when dropped.
pub(crate) struct TempDir(PathBuf);

impl TempDir {
    pub(crate) fn new(name: &str) -> TempDir {
        let nanos = SystemTime::now().duration_since(UNIX_EPOCH).unwrap().as_nanos();
        let dir = std::env::temp_dir()
            .join(format!("keygate-sqlite-{name}-{}-{nanos}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        TempDir(dir)
    }

    pub(crate) fn path(&self) -> &Path {
        &self.0
    }

    /// `sqlite://<dir>/<file>`.
    pub(crate) fn url(&self, file: &str) -> String {
        format!("sqlite://{}", self.0.join(file).display())
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

/// A live key record of `workspace`, created at `created_at`, with one scope.
pub(crate) fn record(workspace: &str, created_at: Timestamp) -> KeyRecord {
    let format = KeyFormat::builder("t").build().unwrap();
    let key = format.generate(Environment::Live).unwrap();
    let parsed = format.parse(key.expose_secret()).unwrap();
    let (pepper_version, hash) =
        KeyHasher::new(1, Pepper::new([3u8; 32]).unwrap()).hash(parsed.secret());
    let mut record = KeyRecord::new(
        parsed.id(),
        hash,
        pepper_version,
        format.preview_of(Environment::Live, &parsed.id()),
        Owner::workspace(workspace),
        Environment::Live,
        created_at,
    );
    record.scopes = ScopeSet::parse(["tasks:read"]).unwrap();
    record.name = "sqlite".into();
    record
}
