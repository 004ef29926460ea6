//! The keygate demo server: a small service on keygate, one binary for axum, actix-web and warp.
//!
//! Its contract (flags, ready line, routes) is in the workspace README. The library half lets
//! tests start it in-process with a manual clock or another store.

#![forbid(unsafe_code)]

pub mod options;
pub mod tasks;

mod actix_app;
mod admin_key;
mod axum_app;
mod grpc;
mod warp_app;

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use keygate::clock::Clock;
use keygate::format::Environment;
use keygate::hash::Pepper;
use keygate::preset::Preset;
use keygate::store::KeyStore;
use keygate::{Keygate, Secret};
use tokio::net::TcpListener;

pub use options::{Framework, Options, Parsed};

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

/// Where the demo serves its keys page.
pub const KEYS_PAGE: &str = "/ui";

/// What the demo serves without a key: `GET /metrics` (Prometheus text),
/// `GET /v1/openapi.json` (the management API of the running preset) and the keys page at
/// `/ui/` (signed in by pasting an admin key once).
pub struct Documents {
    metrics: metrics_exporter_prometheus::PrometheusHandle,
    openapi: String,
    keys_page: keygate_ui::KeysPage,
}

impl Documents {
    fn new(gate: &Keygate, metrics: metrics_exporter_prometheus::PrometheusHandle) -> Self {
        let logins = Arc::new(keygate_ui::KeyLogin::new(gate.clone()));
        let keys_page = keygate_ui::KeysPage::new(gate.clone(), KEYS_PAGE, logins);
        Documents { metrics, openapi: openapi_of(gate), keys_page }
    }

    /// The keys page, at [`KEYS_PAGE`].
    pub fn keys_page(&self) -> &keygate_ui::KeysPage {
        &self.keys_page
    }

    /// The content type and body of `/metrics`.
    pub fn metrics(&self) -> (&'static str, String) {
        ("text/plain; version=0.0.4; charset=utf-8", self.metrics.render())
    }

    /// The content type and body of `/v1/openapi.json`.
    pub fn openapi(&self) -> (&'static str, String) {
        ("application/json", self.openapi.clone())
    }
}

fn openapi_of(gate: &Keygate) -> String {
    let doc = keygate::management::openapi(gate.preset());
    serde_json::to_string(&doc).unwrap_or_else(|_| "{}".to_owned())
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
    /// Where to serve gRPC too (`--grpc-addr`).
    grpc_addr: Option<SocketAddr>,
    /// `/metrics` and `/v1/openapi.json`.
    documents: Arc<Documents>,
}

/// A demo serving on a bound address.
pub struct Running {
    /// Where it listens.
    pub addr: SocketAddr,
    /// Where it serves gRPC, with `--grpc-addr`.
    pub grpc_addr: Option<SocketAddr>,
    /// The admin key.
    pub admin_key: Secret,
    /// Its keygate handle.
    pub gate: Keygate,
    stop: tokio::sync::watch::Sender<bool>,
    server: tokio::task::JoinHandle<()>,
    grpc: Option<tokio::task::JoinHandle<()>>,
    maintenance: tokio::task::JoinHandle<()>,
}

impl Running {
    /// Stops serving, then flushes usage one last time.
    pub async fn stop(self) {
        let _ = self.stop.send(true);
        let _ = self.server.await;
        if let Some(grpc) = self.grpc {
            let _ = grpc.await;
        }
        let _ = self.maintenance.await;
    }

    /// Waits until the server stops by itself (it does not, unless it fails).
    pub async fn wait(&mut self) {
        let _ = (&mut self.server).await;
    }
}

impl Demo {
    /// Builds keygate for `options` and mints the admin key, or reuses the one in
    /// `--admin-key-file` while it still verifies.
    ///
    /// # Errors
    /// A one-line message for a setting that cannot be used.
    pub async fn build(options: &Options, overrides: Overrides) -> Result<Demo, String> {
        let mut preset = Preset::by_name(&options.preset)
            .ok_or_else(|| format!("unknown preset `{}`", options.preset))?;
        let fields = keygate::response::RateLimitFields::from_name(&options.rate_limit_headers)
            .ok_or_else(|| {
                format!("unknown --rate-limit-headers `{}`", options.rate_limit_headers)
            })?;
        preset.renderer = preset.renderer.rate_limit_fields(fields);
        let kind = StoreKind::of(&options.store);
        if overrides.store.is_none() && kind.is_none() {
            return Err(format!(
                "--store `{}` is neither memory, a sqlite:// URL nor a postgres:// URL",
                options.store
            ));
        }
        let named = if overrides.store.is_none() { kind } else { None };
        if overrides.pepper.is_none() && std::env::var_os("KEYGATE_PEPPER").is_none() {
            match named {
                Some(StoreKind::Postgres) => {
                    return Err("KEYGATE_PEPPER is required with --store postgres: replicas \
                                must share it"
                        .into());
                }
                Some(StoreKind::Sqlite) => {
                    return Err("KEYGATE_PEPPER is required with --store sqlite: keys hashed \
                                with a random pepper would not verify after a restart"
                        .into());
                }
                Some(StoreKind::Memory) | None => {}
            }
        }
        let mut builder = Keygate::builder(preset);
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
        } else if named == Some(StoreKind::Postgres) {
            let store = keygate_postgres::PgStore::builder(&options.store)
                .connect()
                .await
                .map_err(|e| e.to_string())?;
            builder = builder
                .store(keygate_postgres::cached(store, keygate::store::CacheConfig::default()));
        } else if named == Some(StoreKind::Sqlite) {
            // Not cached: a change made by another process on the file (the `keygate` command
            // line) holds from the next request.
            let store = keygate_sqlite::SqliteStore::open(&options.store)
                .await
                .map_err(|e| e.to_string())?;
            builder = builder.store(Arc::new(store));
        }
        if let Some(url) = &options.redis {
            let limiter = keygate_redis::RedisLimiter::connect(url, &options.redis_prefix)
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
        // Each demo counts into its own registry, so that demos sharing a process (tests) do
        // not add up.
        let recorder = metrics_exporter_prometheus::PrometheusBuilder::new().build_recorder();
        let metrics = recorder.handle();
        builder = builder
            .events(Arc::new(keygate::metrics::MetricsSink::with_recorder(Arc::new(recorder))));
        let gate = builder.build().map_err(|e| e.to_string())?;
        let documents = Arc::new(Documents::new(&gate, metrics));
        let admin_key = match &options.admin_key_file {
            Some(path) => admin_key::load_or_mint(&gate, path).await?,
            None => admin_key::mint(&gate).await?,
        };
        let tasks = Arc::new(tasks::Tasks::default());
        Ok(Demo {
            gate,
            tasks,
            admin_key,
            tls: overrides.tls,
            grpc_addr: options.grpc_addr,
            documents,
        })
    }

    /// Serves on `addr` with `framework` (and gRPC on `--grpc-addr`) until [`Running::stop`].
    ///
    /// # Errors
    /// A one-line message when an address cannot be bound.
    pub async fn serve(self, framework: Framework, addr: SocketAddr) -> Result<Running, String> {
        let listener =
            TcpListener::bind(addr).await.map_err(|e| format!("cannot listen on {addr}: {e}"))?;
        let addr = listener.local_addr().map_err(|e| e.to_string())?;
        let grpc_listener = match self.grpc_addr {
            Some(grpc) => Some(
                TcpListener::bind(grpc)
                    .await
                    .map_err(|e| format!("cannot listen on {grpc} (--grpc-addr): {e}"))?,
            ),
            None => None,
        };
        let grpc_addr = match &grpc_listener {
            Some(l) => Some(l.local_addr().map_err(|e| e.to_string())?),
            None => None,
        };
        let (stop, stopped) = tokio::sync::watch::channel(false);
        let shutdown = |mut rx: tokio::sync::watch::Receiver<bool>| async move {
            let _ = rx.wait_for(|stop| *stop).await;
        };
        let maintenance = tokio::spawn(
            self.gate.clone().run_maintenance(FLUSH_INTERVAL, shutdown(stopped.clone())),
        );
        let tls = self.tls;
        let grpc = grpc_listener.map(|listener| {
            tokio::spawn(grpc::serve(listener, self.gate.clone(), tls, shutdown(stopped.clone())))
        });
        let (gate, tasks, stopped) = (self.gate.clone(), self.tasks, shutdown(stopped));
        let docs = self.documents;
        let server = match framework {
            Framework::Axum => {
                tokio::spawn(axum_app::serve(listener, gate, tasks, tls, docs, stopped))
            }
            Framework::Warp => {
                tokio::spawn(warp_app::serve(listener, gate, tasks, tls, docs, stopped))
            }
            Framework::Actix => {
                let server = actix_app::server(listener, gate, tasks, tls, docs)?;
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
        Ok(Running {
            addr,
            grpc_addr,
            admin_key: self.admin_key,
            gate: self.gate,
            stop,
            server,
            grpc,
            maintenance,
        })
    }
}

/// The kinds of store `--store` can name.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum StoreKind {
    Memory,
    Sqlite,
    Postgres,
}

impl StoreKind {
    fn of(store: &str) -> Option<StoreKind> {
        if store == "memory" {
            Some(StoreKind::Memory)
        } else if store.starts_with("sqlite:") {
            Some(StoreKind::Sqlite)
        } else if store.starts_with("postgres://") || store.starts_with("postgresql://") {
            Some(StoreKind::Postgres)
        } else {
            None
        }
    }
}

/// The ready line: `{"event":"ready","addr":"…","admin_key":"…"}`, with `"grpc_addr":"…"`
/// after `addr` when serving gRPC.
pub fn ready_line(running: &Running) -> String {
    let text = |s: &str| serde_json::Value::from(s).to_string();
    let grpc = match running.grpc_addr {
        Some(addr) => format!(r#","grpc_addr":{}"#, text(&addr.to_string())),
        None => String::new(),
    };
    format!(
        r#"{{"event":"ready","addr":{}{grpc},"admin_key":{}}}"#,
        text(&running.addr.to_string()),
        text(running.admin_key.expose_secret())
    )
}
