//! `scan --check`: whether each key found still works in the store.

use std::sync::Arc;

use keygate::clock::{Clock, SystemClock};
use keygate::hash::KeyHasher;
use keygate::store::KeyStore;

use super::{FileHits, Formats};
use crate::cli::Global;
use crate::output::Failure;
use crate::{pepper, store};

/// The store and the hasher to check keys with.
pub(crate) struct Checker {
    runtime: tokio::runtime::Runtime,
    store: Arc<dyn KeyStore>,
    hasher: KeyHasher,
}

impl Checker {
    /// Opens the store and reads the pepper.
    pub(crate) fn open(global: &Global) -> Result<Checker, Failure> {
        let pepper = pepper::require(global.pepper_file.as_deref(), "scan --check")?;
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .map_err(|e| Failure::msg(format!("cannot start the runtime: {e}")))?;
        let store = runtime.block_on(store::open(global, false))?;
        Ok(Checker { runtime, store, hasher: KeyHasher::new(1, pepper) })
    }

    /// Sets the status of every hit: `live`, `revoked`, `expired`, `disabled`, `unknown`
    /// (no key of this store: another deployment's, or a forgery with a valid checksum),
    /// `unchecked` (hashed with another pepper version) or `retired` (a retired prefix: not
    /// checked).
    pub(crate) fn check(&self, formats: &Formats, results: &mut [FileHits]) -> Result<(), Failure> {
        self.runtime.block_on(async {
            let now = SystemClock.now();
            for file in results.iter_mut() {
                for hit in &mut file.hits {
                    let key = hit.key.take();
                    let format = formats.get(hit.preset);
                    let parsed = match (&key, format) {
                        (Some(key), Some(format)) if hit.environment.is_some() => {
                            format.parse(key.expose_secret()).ok()
                        }
                        _ => None,
                    };
                    let Some(parsed) = parsed else {
                        file.status.push("retired");
                        continue;
                    };
                    let record = self
                        .store
                        .find(&parsed.id())
                        .await
                        .map_err(|e| Failure::msg(format!("cannot check a key: {e}")))?;
                    let status = match record {
                        None => "unknown",
                        Some(r) => {
                            match self.hasher.verify(parsed.secret(), r.pepper_version, &r.hash) {
                                Ok(true) if r.is_revoked_at(now) => "revoked",
                                Ok(true) if r.is_expired_at(now) => "expired",
                                Ok(true) if r.disabled => "disabled",
                                Ok(true) => "live",
                                Ok(false) => "unknown",
                                // Hashed with a pepper version other than the one given.
                                Err(_) => "unchecked",
                            }
                        }
                    };
                    file.status.push(status);
                }
            }
            Ok(())
        })
    }
}
