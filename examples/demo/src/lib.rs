//! The keygate demo server: a small service on keygate, one binary for axum, actix-web and warp.
//!
//! Its contract (flags, ready line, routes) is in the workspace README. The library half lets
//! tests start it in-process with a manual clock or another store.

#![forbid(unsafe_code)]

pub mod options;
pub mod tasks;

mod actix_app;
mod axum_app;
mod warp_app;

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use keygate::clock::Clock;
use keygate::format::Environment;
use keygate::hash::Pepper;
use keygate::manage::NewKey;
use keygate::preset::Preset;
use keygate::store::{KeyKind, KeyStore, Owner};
use keygate::{Keygate, Secret};
use tokio::net::TcpListener;

pub use options::{Framework, Options};

/// How often usage and `last_used` are flushed to the store.
pub const FLUSH_INTERVAL: Duration = Duration::from_secs(5);

/// Largest `POST /v1/tasks` body.
pub const MAX_TASK_BODY: usize = 64 * 1024;

/// The workspace of the admin key and of the keys it mints.
pub const DEMO_WORKSPACE: &str = "wks_demo";

/// Settings that only a program embedding the demo can give: for tests.
#[derive(Default)]
pub struct Overrides {
    /// A clock other than the system's.
    pub clock: Option<Arc<dyn Clock>>,
    /// A store other than the one `--store` names.
    pub store: Option<Arc<dyn KeyStore>>,
    /// Accept only keys of this environment.
    pub environment: Option<Environment>,
    /// Require HTTPS, trusting `X-Forwarded-Proto` or not.
    pub require_https: Option<keygate::HttpsPolicy>,
    /// Tell the framework adapters that the listener terminates TLS itself, as a server with
    /// its own certificate would: for tests of that setting over a plain socket.
    pub tls: bool,
    /// The pepper, instead of `KEYGATE_PEPPER` or a random one: for demos sharing a store.
    pub pepper: Option<Pepper>,
}

/// A demo ready to serve: its keygate handle, its tasks and its admin key.
pub struct Demo {
    /// The keygate handle.
    pub gate: Keygate,
    /// The tasks of every workspace.
    pub tasks: Arc<tasks::Tasks>,
    /// The admin key: every scope of the preset.
    pub admin_key: Secret,
    /// Whether the adapters are told the listener terminates TLS.
    tls: bool,
}

/// A demo serving on a bound address.
pub struct Running {
    /// Where it listens.
    pub addr: SocketAddr,
    /// The admin key.
    pub admin_key: Secret,
    /// Its keygate handle.
    pub gate: Keygate,
    stop: tokio::sync::watch::Sender<bool>,
    server: tokio::task::JoinHandle<()>,
    maintenance: tokio::task::JoinHandle<()>,
}

impl Running {
    /// Stops serving, then flushes usage one last time.
    pub async fn stop(self) {
        let _ = self.stop.send(true);
        let _ = self.server.await;
        let _ = self.maintenance.await;
    }

    /// Waits until the server stops by itself (it does not, unless it fails).
    pub async fn wait(&mut self) {
        let _ = (&mut self.server).await;
    }
}

impl Demo {
    /// Builds keygate for `options` and mints the admin key.
    ///
    /// # Errors
    /// A one-line message for a setting that cannot be used.
    pub async fn build(options: &Options, overrides: Overrides) -> Result<Demo, String> {
        let preset = Preset::by_name(&options.preset)
            .ok_or_else(|| format!("unknown preset `{}`", options.preset))?;
        let postgres =
            options.store.starts_with("postgres://") || options.store.starts_with("postgresql://");
        if overrides.store.is_none() && options.store != "memory" && !postgres {
            return Err(format!(
                "--store `{}` is neither memory nor a postgres:// URL",
                options.store
            ));
        }
        let shared = postgres && overrides.store.is_none();
        if shared && overrides.pepper.is_none() && std::env::var_os("KEYGATE_PEPPER").is_none() {
            return Err(
                "KEYGATE_PEPPER is required with --store postgres: replicas must share it".into()
            );
        }
        let mut builder = Keygate::builder(preset.clone());
        builder = match overrides.pepper {
            Some(pepper) => builder.pepper(1, pepper),
            None => match std::env::var("KEYGATE_PEPPER") {
                Ok(text) => {
                    let pepper = Pepper::new(text.into_bytes())
                        .map_err(|e| format!("KEYGATE_PEPPER: {e}"))?;
                    builder.pepper(1, pepper)
                }
                Err(std::env::VarError::NotPresent) => builder.random_pepper(),
                Err(std::env::VarError::NotUnicode(_)) => {
                    return Err("KEYGATE_PEPPER is not valid UTF-8".into());
                }
            },
        };
        builder = builder.trusted_proxies(options.trusted_proxies.iter().copied());
        if let Some(store) = overrides.store {
            builder = builder.store(store);
        } else if shared {
            let store = keygate_postgres::PgStore::builder(&options.store)
                .connect()
                .await
                .map_err(|e| e.to_string())?;
            builder = builder
                .store(keygate_postgres::cached(store, keygate::store::CacheConfig::default()));
        }
        if let Some(url) = &options.redis {
            let prefix = std::env::var("KEYGATE_REDIS_PREFIX").unwrap_or_else(|_| "keygate".into());
            let limiter = keygate_redis::RedisLimiter::connect(url, &prefix)
                .await
                .map_err(|e| format!("cannot use Redis at {url}: {e}"))?;
            builder = builder.limiter(Arc::new(limiter));
        }
        if let Some(clock) = overrides.clock {
            builder = builder.clock(clock);
        }
        if let Some(env) = overrides.environment {
            builder = builder.environment(env);
        }
        if let Some(https) = overrides.require_https {
            builder = builder.require_https(https.trust_forwarded_proto);
        }
        let gate = builder.build().map_err(|e| e.to_string())?;
        let admin = NewKey::new(Owner::workspace(DEMO_WORKSPACE), "demo admin")
            .scope_set(preset.policy.full_access())
            .kind(KeyKind::Service);
        let admin_key =
            gate.mint(admin).await.map_err(|e| format!("cannot mint the admin key: {e}"))?.key;
        let tasks = Arc::new(tasks::Tasks::default());
        Ok(Demo { gate, tasks, admin_key, tls: overrides.tls })
    }

    /// Serves on `addr` with `framework` until [`Running::stop`].
    ///
    /// # Errors
    /// A one-line message when the address cannot be bound.
    pub async fn serve(self, framework: Framework, addr: SocketAddr) -> Result<Running, String> {
        let listener =
            TcpListener::bind(addr).await.map_err(|e| format!("cannot listen on {addr}: {e}"))?;
        let addr = listener.local_addr().map_err(|e| e.to_string())?;
        let (stop, stopped) = tokio::sync::watch::channel(false);
        let shutdown = |mut rx: tokio::sync::watch::Receiver<bool>| async move {
            let _ = rx.wait_for(|stop| *stop).await;
        };
        let maintenance = tokio::spawn(
            self.gate.clone().run_maintenance(FLUSH_INTERVAL, shutdown(stopped.clone())),
        );
        let (gate, tasks, stopped) = (self.gate.clone(), self.tasks, shutdown(stopped));
        let tls = self.tls;
        let server = match framework {
            Framework::Axum => tokio::spawn(axum_app::serve(listener, gate, tasks, tls, stopped)),
            Framework::Warp => tokio::spawn(warp_app::serve(listener, gate, tasks, tls, stopped)),
            Framework::Actix => {
                let server = actix_app::server(listener, gate, tasks, tls)?;
                let handle = server.handle();
                tokio::spawn(async move {
                    tokio::select! {
                        result = server => {
                            if let Err(e) = result {
                                tracing::error!(error = %e, "server failed");
                            }
                        }
                        () = stopped => handle.stop(true).await,
                    }
                })
            }
        };
        Ok(Running { addr, admin_key: self.admin_key, gate: self.gate, stop, server, maintenance })
    }
}

/// The ready line: `{"event":"ready","addr":"…","admin_key":"…"}`.
pub fn ready_line(running: &Running) -> String {
    let text = |s: &str| serde_json::Value::from(s).to_string();
    format!(
        r#"{{"event":"ready","addr":{},"admin_key":{}}}"#,
        text(&running.addr.to_string()),
        text(running.admin_key.expose_secret())
    )
}
