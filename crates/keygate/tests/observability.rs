//! Metrics and spans: the throttle and an unreachable limiter counted by `MetricsSink`, and
//! the `tracing` spans of authentication and management, with no secret in any field.

#![allow(clippy::unwrap_used)]

use std::io::Write;
use std::net::{IpAddr, Ipv4Addr};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use keygate::adapter::ApiRequest;
use keygate::clock::Timestamp;
use keygate::format::KeyId;
use keygate::limit::{Decision, LimiterError, RateLimiter, RatePlan, Window};
use keygate::manage::NewKey;
use keygate::metrics::MetricsSink;
use keygate::preset::Preset;
use keygate::store::Owner;
use keygate::{AuthError, Keygate, LimiterFailure, Peer};
use metrics_exporter_prometheus::{PrometheusBuilder, PrometheusHandle};

fn sink() -> (Arc<MetricsSink>, PrometheusHandle) {
    let recorder = PrometheusBuilder::new().build_recorder();
    let handle = recorder.handle();
    (Arc::new(MetricsSink::with_recorder(Arc::new(recorder))), handle)
}

fn value(page: &str, series: &str) -> Option<f64> {
    page.lines().find_map(|l| l.strip_prefix(series)?.strip_prefix(' ')?.parse().ok())
}

/// A shared limiter whose backend is down.
struct Down;

#[async_trait::async_trait]
impl RateLimiter for Down {
    async fn check(
        &self,
        _: &KeyId,
        _: &RatePlan,
        _: u64,
        _: Timestamp,
    ) -> Result<Option<Decision>, LimiterError> {
        Err(LimiterError::Unavailable("connection refused".into()))
    }
    async fn status(
        &self,
        _: &KeyId,
        _: &RatePlan,
        _: Timestamp,
    ) -> Result<Option<Decision>, LimiterError> {
        Err(LimiterError::Unavailable("connection refused".into()))
    }
}

#[tokio::test]
async fn throttle_refusals_and_limiter_errors_are_counted() {
    let (sink, page) = sink();
    let gate = Keygate::builder(Preset::livetest())
        .random_pepper()
        .failure_budget(Some(Window::new(2, Duration::from_secs(60))))
        .limiter(Arc::new(Down))
        .limiter_failure(LimiterFailure::Open)
        .events(sink)
        .build()
        .unwrap();
    let peer = Peer::from(IpAddr::V4(Ipv4Addr::new(203, 0, 113, 9)));
    let bad = [("authorization", "Bearer sk_live_nope")];
    for _ in 0..2 {
        assert!(matches!(gate.authenticate(&bad, peer).await, Err(AuthError::Malformed(_))));
    }
    assert!(matches!(gate.authenticate(&bad, peer).await, Err(AuthError::RateLimited(_))));
    let minted = gate.mint(NewKey::new(Owner::workspace("wks_1"), "ci")).await.unwrap();
    let bearer = format!("Bearer {}", minted.key.expose_secret());
    gate.authenticate(&[("authorization", bearer.as_str())], peer).await.unwrap();

    let page = page.render();
    let auth = "keygate_authentications_total";
    assert_eq!(value(&page, "keygate_throttled_total"), Some(1.0), "{page}");
    assert_eq!(
        value(&page, &format!(r#"{auth}{{outcome="throttled",code="throttled"}}"#)),
        Some(1.0)
    );
    assert_eq!(value(&page, &format!(r#"{auth}{{outcome="failed",code="malformed"}}"#)), Some(2.0));
    assert_eq!(value(&page, &format!(r#"{auth}{{outcome="verified",code="ok"}}"#)), Some(1.0));
    let open = r#"keygate_limiter_errors_total{failed_open="true"}"#;
    assert_eq!(value(&page, open), Some(1.0), "{page}");
    assert_eq!(value(&page, "keygate_rate_limited_total"), None);
}

/// Each gate's sink counts into its own recorder, request after request: the handles a sink
/// registers once are its recorder's, not the first or the global one.
#[tokio::test]
async fn two_sinks_count_their_own_verified_requests_and_check_times() {
    let auth = r#"keygate_authentications_total{outcome="verified",code="ok"}"#;
    let checked = r#"keygate_verify_duration_seconds_count{verified="true"}"#;
    let refused = r#"keygate_verify_duration_seconds_count{verified="false"}"#;
    let mut pages = Vec::new();
    for requests in [3, 2] {
        let (sink, page) = sink();
        let gate =
            Keygate::builder(Preset::livetest()).random_pepper().events(sink).build().unwrap();
        let minted = gate.mint(NewKey::new(Owner::workspace("wks_1"), "ci")).await.unwrap();
        let bearer = format!("Bearer {}", minted.key.expose_secret());
        for _ in 0..requests {
            gate.authenticate(&[("authorization", bearer.as_str())], Peer::default())
                .await
                .unwrap();
        }
        let forged = format!(
            "Bearer {}",
            gate.preset()
                .format
                .generate(keygate::format::Environment::Live)
                .unwrap()
                .expose_secret()
        );
        assert!(
            gate.authenticate(&[("authorization", forged.as_str())], Peer::default())
                .await
                .is_err()
        );
        pages.push((requests, page));
    }
    for (requests, page) in pages {
        let page = page.render();
        assert_eq!(value(&page, auth), Some(f64::from(requests)), "{page}");
        assert_eq!(value(&page, checked), Some(f64::from(requests)), "{page}");
        assert_eq!(value(&page, refused), Some(1.0), "{page}");
    }
}

#[tokio::test]
async fn a_request_refused_for_plain_http_is_counted_as_a_failed_authentication() {
    let (sink, page) = sink();
    let gate = Keygate::builder(Preset::livetest())
        .random_pepper()
        .require_https(true)
        .events(sink)
        .build()
        .unwrap();
    let minted = gate.mint(NewKey::new(Owner::workspace("wks_1"), "ci")).await.unwrap();
    let bearer = format!("Bearer {}", minted.key.expose_secret());
    let peer = Peer::from(IpAddr::V4(Ipv4Addr::new(203, 0, 113, 9)));
    let refused = gate.authenticate(&[("authorization", bearer.as_str())], peer).await;
    assert!(matches!(refused, Err(AuthError::Forbidden(_))), "{refused:?}");
    let page = page.render();
    let series = r#"keygate_authentications_total{outcome="failed",code="forbidden"}"#;
    assert_eq!(value(&page, series), Some(1.0), "{page}");
}

/// Everything the fmt subscriber writes, span openings and closings with their fields included.
#[derive(Clone, Default)]
struct Captured(Arc<Mutex<Vec<u8>>>);

impl Write for Captured {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0.lock().unwrap().extend_from_slice(buf);
        Ok(buf.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

#[tokio::test(flavor = "current_thread")]
async fn spans_carry_ids_and_outcomes_but_never_a_secret() {
    let captured = Captured::default();
    let writer = captured.clone();
    let subscriber = tracing_subscriber::fmt()
        .with_max_level(tracing::Level::TRACE)
        .with_span_events(tracing_subscriber::fmt::format::FmtSpan::CLOSE)
        .with_ansi(false)
        .with_writer(move || writer.clone())
        .finish();
    let _guard = tracing::subscriber::set_default(subscriber);

    let gate = Keygate::builder(Preset::livetest()).random_pepper().build().unwrap();
    let admin = NewKey::new(Owner::workspace("wks_1"), "admin").scopes(["admin:*"]).unwrap();
    let admin = gate.mint(admin).await.unwrap();
    let bearer = format!("Bearer {}", admin.key.expose_secret());
    let headers = [("authorization", bearer.as_str()), ("content-type", "application/json")];
    // A management call whose answer carries a new key, and one that lists keys.
    let body = br#"{"name":"ci","permissions":["tasks:read"]}"#;
    let minted =
        gate.handle_api(ApiRequest::new("POST", "/v1/api-keys", &headers).body(body), None).await;
    assert_eq!(minted.status, 201);
    let new_key: serde_json::Value = serde_json::from_str(&minted.body).unwrap();
    let new_key = new_key["key"].as_str().unwrap().to_owned();
    let listed = gate.handle_api(ApiRequest::new("GET", "/v1/api-keys", &headers), None).await;
    assert_eq!(listed.status, 200);
    // A request with the new key, and one with the admin key's secret altered.
    let new_bearer = format!("Bearer {new_key}");
    gate.authenticate(&[("authorization", new_bearer.as_str())], Peer::default()).await.unwrap();
    let secret = admin.key.expose_secret();
    // The last secret character changed, the checksum made valid again.
    let cut = secret.len() - 7;
    let swapped = if &secret[cut..=cut] == "a" { "b" } else { "a" };
    let body = format!("{}{swapped}", &secret[..cut]);
    let forged = format!("Bearer {body}{}", keygate::format::checksum(&body));
    assert!(
        gate.authenticate(&[("authorization", forged.as_str())], Peer::default()).await.is_err()
    );

    let text = String::from_utf8(captured.0.lock().unwrap().clone()).unwrap();
    let id = admin.record.id.to_string();
    assert!(
        text.lines().any(|l| l.contains("keygate.management")
            && l.contains(r#"route="/v1/api-keys""#)
            && l.contains("method=\"POST\"")
            && l.contains(&format!("key_id={id}"))
            && l.contains("status=201")),
        "{text}"
    );
    assert!(
        text.lines().any(|l| l.contains("keygate.authenticate")
            && l.contains("outcome=\"verified\"")
            && l.contains("preset=\"livetest\"")),
        "{text}"
    );
    assert!(
        text.lines().any(|l| l.contains("keygate.authenticate")
            && l.contains("outcome=\"wrong_secret\"")
            && l.contains(&format!("key_id={id}"))),
        "{text}"
    );
    for secret in [secret, new_key.as_str(), &forged["Bearer ".len()..]] {
        // Neither a key nor its secret part (after the id) appears anywhere.
        let tail = &secret[secret.len() - 20..];
        assert!(!text.contains(tail), "a secret was recorded:\n{text}");
    }
}
