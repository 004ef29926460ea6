//! `GET /metrics` counts exactly the outcomes of a known sequence of requests, on every
//! framework.

#![allow(clippy::unwrap_used)]

use std::collections::BTreeMap;

use keygate_conformance::{FRAMEWORKS, Request, Server};

/// The samples of a Prometheus text page: `name{sorted labels}` → value.
fn samples(page: &str) -> BTreeMap<String, f64> {
    let mut out = BTreeMap::new();
    for line in page.lines().filter(|l| !l.starts_with('#') && !l.trim().is_empty()) {
        let (series, value) = line.rsplit_once(' ').unwrap();
        let key = match series.split_once('{') {
            Some((name, labels)) => {
                let mut labels: Vec<&str> = labels.trim_end_matches('}').split(',').collect();
                labels.sort_unstable();
                format!("{name}{{{}}}", labels.join(","))
            }
            None => series.to_owned(),
        };
        out.insert(key, value.parse().unwrap());
    }
    out
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn metrics_count_a_known_sequence() {
    for &framework in FRAMEWORKS {
        let s = Server::start(framework, "plane").await;
        let name = s.name();
        // The admin key's request: verified.
        let (_, key) = s.mint(&["tasks:read"], "").await;
        // Plane's user keys: 60 a minute. 60 pass, the 61st is refused.
        for _ in 0..60 {
            assert_eq!(s.send(s.with_key(Request::get("/v1/ping"), &key)).await.status, 200);
        }
        assert_eq!(s.send(s.with_key(Request::get("/v1/ping"), &key)).await.status, 429);
        // No key; a malformed one; then the store goes down.
        assert_eq!(s.send(Request::get("/v1/ping")).await.status, 401);
        assert_eq!(s.send(s.with_key(Request::get("/v1/ping"), "pk_nope")).await.status, 401);
        s.store.set_down(true);
        assert_eq!(s.send(s.with_key(Request::get("/v1/ping"), &s.admin_key)).await.status, 503);
        s.store.set_down(false);

        let r = s.send(Request::get("/metrics")).await;
        assert_eq!(r.status, 200, "{name}: {}", r.body);
        assert!(r.header("content-type").unwrap().starts_with("text/plain"), "{name}");
        let m = samples(&r.body);
        let at = |series: &str| m.get(series).copied();
        let auth = "keygate_authentications_total";
        assert_eq!(at(&format!(r#"{auth}{{code="ok",outcome="verified"}}"#)), Some(61.0), "{name}");
        let rate_limited = format!(r#"{auth}{{code="rate_limited",outcome="rate_limited"}}"#);
        assert_eq!(at(&rate_limited), Some(1.0), "{name}");
        assert_eq!(at(&format!(r#"{auth}{{code="missing",outcome="failed"}}"#)), Some(1.0));
        assert_eq!(at(&format!(r#"{auth}{{code="malformed",outcome="failed"}}"#)), Some(1.0));
        assert_eq!(at(&format!(r#"{auth}{{code="unavailable",outcome="failed"}}"#)), Some(1.0));
        assert_eq!(at("keygate_rate_limited_total"), Some(1.0), "{name}");
        assert_eq!(at("keygate_throttled_total"), None, "{name}: nothing throttled");
        assert_eq!(at(r#"keygate_store_errors_total{operation="find"}"#), Some(1.0), "{name}");
        // The admin key minted at start, and the key minted above.
        assert_eq!(at("keygate_keys_minted_total"), Some(2.0), "{name}");
        // Every presented key was timed: 61 verified (the 429 too: its key verified), the
        // malformed one and the one the store could not look up refused.
        let verified = r#"keygate_verify_duration_seconds_count{verified="true"}"#;
        assert_eq!(at(verified), Some(62.0), "{name}");
        let refused = r#"keygate_verify_duration_seconds_count{verified="false"}"#;
        assert_eq!(at(refused), Some(2.0), "{name}");
        // No key, address or secret in any label.
        assert!(!r.body.contains(&key) && !r.body.contains(&s.admin_key), "{name}");
        assert!(!r.body.contains("key_") && !r.body.contains("127.0.0.1"), "{name}");
        s.stop().await;
    }
}
