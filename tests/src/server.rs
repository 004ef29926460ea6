//! The demo server, in-process, on a free port, with a manual clock and a store that can be
//! taken down.

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use keygate::Keygate;
use keygate::clock::{ManualClock, Timestamp};
use keygate::format::Environment;
use keygate::preset::Preset;
use keygate::store::MemoryStore;
use keygate_demo::{Demo, Framework, Options, Overrides, Running};

use crate::client::{Reply, Request};

/// The in-memory store, unreachable while down: what a database outage looks like to keygate.
pub type Outage = keygate::store::suite::Switchable<MemoryStore>;

/// Settings a case may need.
#[derive(Clone, Default)]
pub struct ServerOptions {
    pub environment: Option<Environment>,
    /// Require HTTPS, trusting `X-Forwarded-Proto` or not.
    pub require_https: Option<keygate::HttpsPolicy>,
    /// Tell the adapters the listener terminates TLS.
    pub tls: bool,
    /// Share this store (and the pepper below) with other servers.
    pub store: Option<Arc<Outage>>,
    pub pepper: Option<[u8; 32]>,
    /// Serve gRPC too, on a free port.
    pub grpc: bool,
    /// `--rate-limit-headers`: `x-ratelimit` (default), `standard` or `both`.
    pub rate_limit_headers: Option<&'static str>,
}

/// A running demo.
pub struct Server {
    pub framework: Framework,
    pub preset: Preset,
    pub addr: SocketAddr,
    /// Where gRPC is served, with [`ServerOptions::grpc`].
    pub grpc_addr: Option<SocketAddr>,
    pub admin_key: String,
    pub clock: ManualClock,
    pub store: Arc<Outage>,
    pub gate: Keygate,
    running: Option<Running>,
}

/// Noon on a whole hour, so rate-limit windows start with the test.
pub fn start_time() -> Timestamp {
    Timestamp::parse_rfc3339("2026-10-14T12:00:00Z").unwrap()
}

impl Server {
    pub async fn start(framework: Framework, preset: &str) -> Server {
        Self::start_with(framework, preset, ServerOptions::default()).await
    }

    pub async fn start_with(framework: Framework, preset: &str, opts: ServerOptions) -> Server {
        let clock = ManualClock::new(start_time());
        let store = opts.store.clone().unwrap_or_default();
        let options = Options {
            framework,
            addr: SocketAddr::from(([127, 0, 0, 1], 0)),
            preset: preset.into(),
            grpc_addr: opts.grpc.then(|| SocketAddr::from(([127, 0, 0, 1], 0))),
            rate_limit_headers: opts.rate_limit_headers.unwrap_or("x-ratelimit").into(),
            ..Options::default()
        };
        let overrides = Overrides {
            clock: Some(Arc::new(clock.clone())),
            store: Some(store.clone()),
            environment: opts.environment,
            require_https: opts.require_https,
            tls: opts.tls,
            pepper: opts.pepper.map(|p| keygate::hash::Pepper::new(p).unwrap()),
        };
        let demo = Demo::build(&options, overrides).await.unwrap();
        let running = demo.serve(framework, options.addr).await.unwrap();
        Server {
            framework,
            preset: Preset::by_name(preset).unwrap(),
            addr: running.addr,
            grpc_addr: running.grpc_addr,
            admin_key: running.admin_key.expose_secret().to_owned(),
            clock,
            store,
            gate: running.gate.clone(),
            running: Some(running),
        }
    }

    pub fn name(&self) -> String {
        format!("{:?}/{}", self.framework, self.preset.name)
    }

    /// `req` carrying `key` where the preset reads it.
    pub fn with_key(&self, req: Request, key: &str) -> Request {
        if self.preset.name == "plane" { req.header("X-Api-Key", key) } else { req.bearer(key) }
    }

    /// The header the preset reads keys from.
    pub fn key_header(&self) -> &'static str {
        if self.preset.name == "plane" { "X-Api-Key" } else { "Authorization" }
    }

    /// The header value carrying `key`.
    pub fn key_value(&self, key: &str) -> String {
        if self.preset.name == "plane" { key.to_owned() } else { format!("Bearer {key}") }
    }

    pub async fn send(&self, req: Request) -> Reply {
        req.send(self.addr).await
    }

    /// `req` sent with the admin key.
    pub async fn admin(&self, req: Request) -> Reply {
        self.send(self.with_key(req, &self.admin_key)).await
    }

    /// Mints a key over HTTP with `scopes` and any more JSON fields; returns (id, key).
    pub async fn mint(&self, scopes: &[&str], more: &str) -> (String, String) {
        let scopes = serde_json::to_string(scopes).unwrap();
        let field = self.preset.scopes_field;
        let comma = if more.is_empty() { "" } else { "," };
        let body = format!(r#"{{"name":"case key","{field}":{scopes}{comma}{more}}}"#);
        let reply = self.admin(Request::new("POST", "/v1/api-keys").json(&body)).await;
        assert_eq!(reply.status, 201, "{}: mint: {}", self.name(), reply.body);
        let json = reply.json();
        (json["id"].as_str().unwrap().to_owned(), json["key"].as_str().unwrap().to_owned())
    }

    pub fn advance(&self, d: Duration) {
        self.clock.advance(d);
    }

    pub async fn stop(mut self) {
        if let Some(running) = self.running.take() {
            running.stop().await;
        }
    }
}
