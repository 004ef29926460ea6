//! [`Keygate`]: the handle a service keeps, built once from a preset, a store and a pepper.
//!
//! ```
//! use std::sync::Arc;
//! use keygate::{Keygate, hash::Pepper, preset::Preset, store::MemoryStore};
//!
//! let gate = Keygate::builder(Preset::livetest())
//!     .store(Arc::new(MemoryStore::new()))
//!     .pepper(1, Pepper::generate()?)
//!     .build()?;
//! assert_eq!(gate.preset().name, "livetest");
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```

use std::fmt;
use std::sync::Arc;

use crate::clock::{Clock, SystemClock};
use crate::format::Environment;
use crate::hash::{KeyHasher, Pepper, PepperVersion};
use crate::preset::Preset;
use crate::store::{KeyStore, MemoryStore};

/// The keygate handle: verifies requests and manages keys. Cloning is cheap (one `Arc`).
#[derive(Clone)]
pub struct Keygate {
    pub(crate) inner: Arc<Inner>,
}

pub(crate) struct Inner {
    pub(crate) preset: Preset,
    pub(crate) store: Arc<dyn KeyStore>,
    pub(crate) hasher: KeyHasher,
    pub(crate) clock: Arc<dyn Clock>,
    pub(crate) environment: Option<Environment>,
}

impl fmt::Debug for Keygate {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Keygate")
            .field("preset", &self.inner.preset.name)
            .field("hasher", &self.inner.hasher)
            .field("environment", &self.inner.environment)
            .finish_non_exhaustive()
    }
}

/// A [`Keygate`] could not be built.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum BuildError {
    /// No pepper was given. Replicas sharing a store must share a pepper, so keygate does not
    /// make one up unless told to ([`KeygateBuilder::random_pepper`]).
    #[error("no pepper: call `pepper` (or `random_pepper` for a store that lives in memory)")]
    NoPepper,
    /// The OS random number generator failed while making a pepper.
    #[error(transparent)]
    Random(#[from] crate::format::RandomError),
}

/// Builds a [`Keygate`].
pub struct KeygateBuilder {
    preset: Preset,
    store: Option<Arc<dyn KeyStore>>,
    pepper: Option<(PepperVersion, Pepper)>,
    retired: Vec<(PepperVersion, Pepper)>,
    random_pepper: bool,
    clock: Arc<dyn Clock>,
    environment: Option<Environment>,
}

impl fmt::Debug for KeygateBuilder {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("KeygateBuilder")
            .field("preset", &self.preset.name)
            .finish_non_exhaustive()
    }
}

impl KeygateBuilder {
    /// The key store (default: a new [`MemoryStore`]).
    pub fn store(mut self, store: Arc<dyn KeyStore>) -> Self {
        self.store = Some(store);
        self
    }

    /// The current pepper and its version: new keys are hashed with it.
    pub fn pepper(mut self, version: PepperVersion, pepper: Pepper) -> Self {
        self.pepper = Some((version, pepper));
        self
    }

    /// Keeps an older pepper so that keys hashed with it still verify.
    pub fn retired_pepper(mut self, version: PepperVersion, pepper: Pepper) -> Self {
        self.retired.push((version, pepper));
        self
    }

    /// Makes a random pepper at build time if none was given: only for a store that lives and
    /// dies with this process, since its keys cannot verify anywhere else.
    pub fn random_pepper(mut self) -> Self {
        self.random_pepper = true;
        self
    }

    /// The clock (default: the system clock). Tests pass a [`ManualClock`](crate::clock::ManualClock).
    pub fn clock(mut self, clock: Arc<dyn Clock>) -> Self {
        self.clock = clock;
        self
    }

    /// Accepts only keys of `environment`; keys of the other get 403 `forbidden` (a test key on
    /// a live deployment). By default both are accepted.
    pub fn environment(mut self, environment: Environment) -> Self {
        self.environment = Some(environment);
        self
    }

    /// Builds the handle.
    ///
    /// # Errors
    /// [`BuildError::NoPepper`] without a pepper; [`BuildError::Random`] if making one failed.
    pub fn build(self) -> Result<Keygate, BuildError> {
        let mut hasher = match (self.pepper, self.random_pepper) {
            (Some((version, pepper)), _) => KeyHasher::new(version, pepper),
            (None, true) => KeyHasher::new(1, Pepper::generate()?),
            (None, false) => return Err(BuildError::NoPepper),
        };
        for (version, pepper) in self.retired {
            hasher = hasher.with_retired(version, pepper);
        }
        let mut preset = self.preset;
        preset.renderer = preset.renderer.credential_label(preset.sources.label());
        Ok(Keygate {
            inner: Arc::new(Inner {
                preset,
                store: self.store.unwrap_or_else(|| Arc::new(MemoryStore::new())),
                hasher,
                clock: self.clock,
                environment: self.environment,
            }),
        })
    }
}

impl Keygate {
    /// Starts a handle for `preset`.
    pub fn builder(preset: Preset) -> KeygateBuilder {
        KeygateBuilder {
            preset,
            store: None,
            pepper: None,
            retired: Vec::new(),
            random_pepper: false,
            clock: Arc::new(SystemClock),
            environment: None,
        }
    }

    /// The preset in force.
    pub fn preset(&self) -> &Preset {
        &self.inner.preset
    }

    /// The key store.
    pub fn store(&self) -> &Arc<dyn KeyStore> {
        &self.inner.store
    }

    /// The clock.
    pub fn clock(&self) -> &Arc<dyn Clock> {
        &self.inner.clock
    }

    /// Renders `err` in the preset's style (see [`Renderer::render`](crate::response::Renderer::render)).
    pub fn render(
        &self,
        err: &crate::AuthError,
        request_id: Option<&str>,
    ) -> crate::response::ErrorResponse {
        self.inner.preset.renderer.render(err, request_id)
    }
}
