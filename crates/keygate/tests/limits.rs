//! Per-key rate limits and the failed-auth throttle, driven by a manual clock.

#![allow(clippy::unwrap_used)]

mod common;

use common::{bearer, gate};
use std::net::IpAddr;
use std::sync::Arc;
use std::time::Duration;

use keygate::clock::{ManualClock, Timestamp};
use keygate::limit::{RatePlan, RatePlans, Window};
use keygate::manage::NewKey;
use keygate::preset::Preset;
use keygate::store::{KeyKind, Owner};
use keygate::{AuthError, Keygate};

/// 12:00:00 UTC on a whole hour, so minute and hour windows start together.
fn noon() -> Timestamp {
    common::at("2026-10-14T12:00:00Z")
}

fn ip(s: &str) -> Option<IpAddr> {
    Some(s.parse().unwrap())
}

async fn key(gate: &Keygate, new: NewKey) -> String {
    gate.mint(new).await.unwrap().key.expose_secret().to_owned()
}

fn user_key() -> NewKey {
    NewKey::new(Owner::workspace("wks_1"), "k")
}

#[tokio::test]
async fn free_plan_minute_window_with_headers_and_retry_after() {
    let clock = ManualClock::new(noon().saturating_add(Duration::from_secs(15)));
    let gate = gate(Preset::livetest(), &clock);
    let headers = bearer(&key(&gate, user_key()).await);
    for i in 0..100u64 {
        let ok = gate.authenticate(&headers, None).await.unwrap();
        let info = *ok.rate_limit().unwrap();
        assert_eq!(info.limit, 100);
        assert_eq!(info.remaining, 99 - i);
        assert_eq!(info.reset_secs(), noon().unix_seconds() + 60);
    }
    let err = gate.authenticate(&headers, None).await.unwrap_err();
    let AuthError::RateLimited(info) = err else { panic!("{err:?}") };
    assert_eq!(info.remaining, 0);
    assert_eq!(info.retry_after_secs(), Some(45));
    let response = gate.render(&AuthError::RateLimited(info), Some("req_1"));
    assert_eq!(response.status, 429);
    assert_eq!(response.header("retry-after"), Some("45"));
    assert_eq!(response.header("x-ratelimit-limit"), Some("100"));
    assert_eq!(response.header("x-ratelimit-remaining"), Some("0"));

    // Retry-After is never early: one millisecond before it, still refused; at it, allowed.
    clock.set(noon().saturating_add(Duration::from_millis(59_999)));
    assert!(gate.authenticate(&headers, None).await.is_err());
    clock.set(noon().saturating_add(Duration::from_secs(60)));
    assert!(gate.authenticate(&headers, None).await.is_ok());
}

#[tokio::test]
async fn both_windows_of_the_free_plan() {
    let clock = ManualClock::new(noon());
    let gate = gate(Preset::livetest(), &clock);
    let headers = bearer(&key(&gate, user_key()).await);
    // 100 a minute for ten minutes fills the hour's 1,000.
    for minute in 0..10 {
        clock.set(noon().saturating_add(Duration::from_secs(60 * minute)));
        for _ in 0..100 {
            gate.authenticate(&headers, None).await.unwrap();
        }
        assert!(gate.authenticate(&headers, None).await.is_err(), "minute {minute} is full");
    }
    clock.set(noon().saturating_add(Duration::from_secs(600)));
    let err = gate.authenticate(&headers, None).await.unwrap_err();
    let AuthError::RateLimited(info) = err else { panic!("{err:?}") };
    assert_eq!(info.limit, 1_000, "the hour window binds now");
    assert_eq!(info.retry_after_secs(), Some(3_000));
    assert_eq!(info.reset_secs(), noon().unix_seconds() + 3_600);
    clock.set(noon().saturating_add(Duration::from_secs(3_600)));
    assert!(gate.authenticate(&headers, None).await.is_ok(), "a new hour");
}

#[tokio::test]
async fn plans_per_kind_and_a_per_key_override() {
    let clock = ManualClock::new(noon());
    let plane = gate(Preset::plane(), &clock);
    for (kind, limit) in [(KeyKind::User, 60), (KeyKind::Service, 300)] {
        let headers = vec![("x-api-key", key(&plane, user_key().kind(kind)).await)];
        for _ in 0..limit {
            plane.authenticate(&headers, None).await.unwrap();
        }
        let err = plane.authenticate(&headers, None).await.unwrap_err();
        assert!(matches!(err, AuthError::RateLimited(i) if i.limit == limit), "{kind:?}");
    }

    let livetest = gate(Preset::livetest(), &clock);
    let pro = bearer(&key(&livetest, user_key().rate_plan("professional")).await);
    let info = livetest.authenticate(&pro, None).await.unwrap().rate_limit().copied().unwrap();
    assert_eq!((info.limit, info.remaining), (500, 499));
}

#[tokio::test]
async fn presets_without_plans_do_not_limit() {
    let clock = ManualClock::new(noon());
    let gate = gate(Preset::productlane(), &clock);
    let headers = bearer(&key(&gate, user_key()).await);
    for _ in 0..1_000 {
        assert!(gate.authenticate(&headers, None).await.unwrap().rate_limit().is_none());
    }
}

#[tokio::test]
async fn status_reads_without_consuming() {
    let clock = ManualClock::new(noon());
    let gate = gate(Preset::livetest(), &clock);
    let headers = bearer(&key(&gate, user_key()).await);
    let principal = gate.authenticate(&headers, None).await.unwrap();
    for _ in 0..5 {
        let status = gate.rate_limit_status(&principal).await.unwrap().unwrap();
        assert_eq!(status.remaining, 99);
    }
}

fn limited_preset(limit: u64) -> Preset {
    let mut preset = Preset::livetest();
    preset.plans = RatePlans::new()
        .default_for(KeyKind::User, RatePlan::new("tight").window(limit, Duration::from_secs(60)));
    preset
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn twice_the_limit_at_once_allows_exactly_the_limit() {
    const L: usize = 200;
    let clock = ManualClock::new(noon());
    let gate = gate(limited_preset(L as u64), &clock);
    let headers = Arc::new(bearer(&key(&gate, user_key()).await));
    let barrier = Arc::new(tokio::sync::Barrier::new(2 * L));
    let tasks: Vec<_> = (0..2 * L)
        .map(|_| {
            let (gate, headers, barrier) = (gate.clone(), headers.clone(), barrier.clone());
            tokio::spawn(async move {
                barrier.wait().await;
                gate.authenticate(&*headers, None).await.is_ok()
            })
        })
        .collect();
    let mut allowed = 0;
    for t in tasks {
        allowed += usize::from(t.await.unwrap());
    }
    assert_eq!(allowed, L);
}

#[tokio::test]
async fn failed_auth_throttle_blocks_failures_never_valid_keys() {
    let clock = ManualClock::new(noon());
    let gate = Keygate::builder(Preset::productlane())
        .random_pepper()
        .clock(Arc::new(clock.clone()))
        .failure_budget(Some(Window::new(5, Duration::from_secs(60))))
        .build()
        .unwrap();
    let good = bearer(&key(&gate, user_key()).await);
    let bad = bearer("pl_v2_not_a_key");
    let attacker = ip("198.51.100.9");
    for _ in 0..5 {
        assert!(matches!(gate.authenticate(&bad, attacker).await, Err(AuthError::Malformed(_))));
    }
    let err = gate.authenticate(&bad, attacker).await.unwrap_err();
    let AuthError::RateLimited(info) = err else { panic!("{err:?}") };
    assert_eq!(info.retry_after_secs(), Some(60));
    assert!(gate.authenticate(&good, attacker).await.is_ok(), "a valid key is never blocked");
    assert!(matches!(
        gate.authenticate(&bad, ip("198.51.100.10")).await,
        Err(AuthError::Malformed(_))
    ));
    // A missing credential is not a failed attempt.
    let none: Vec<(&str, &str)> = Vec::new();
    assert!(matches!(gate.authenticate(&none, attacker).await, Err(AuthError::Missing)));
    clock.advance(Duration::from_secs(60));
    assert!(matches!(gate.authenticate(&bad, attacker).await, Err(AuthError::Malformed(_))));
}

#[tokio::test]
async fn the_default_throttle_allows_100_failures_a_minute() {
    let clock = ManualClock::new(noon());
    let gate = gate(Preset::livetest(), &clock);
    let bad = bearer("sk_live_nope");
    for _ in 0..100 {
        assert!(matches!(
            gate.authenticate(&bad, ip("192.0.2.1")).await,
            Err(AuthError::Malformed(_))
        ));
    }
    assert!(matches!(
        gate.authenticate(&bad, ip("192.0.2.1")).await,
        Err(AuthError::RateLimited(_))
    ));
}

#[derive(Default)]
struct Events(std::sync::Mutex<Vec<String>>);

impl keygate::event::EventSink for Events {
    fn on_event(&self, event: &keygate::event::Event<'_>) {
        if let keygate::event::Event::RateLimited { key_id, client_ip, info } = event {
            let line = format!("rate_limited {key_id:?} {client_ip:?} {}", info.limit);
            self.0.lock().unwrap().push(line);
        }
    }
}

#[tokio::test]
async fn refusals_by_a_plan_or_the_throttle_are_events() {
    let clock = ManualClock::new(noon());
    let events = Arc::new(Events::default());
    let gate = Keygate::builder(limited_preset(1))
        .random_pepper()
        .clock(Arc::new(clock.clone()))
        .failure_budget(Some(Window::new(1, Duration::from_secs(60))))
        .events(events.clone())
        .build()
        .unwrap();
    let minted = gate.mint(user_key()).await.unwrap();
    let headers = bearer(minted.key.expose_secret());
    gate.authenticate(&headers, ip("192.0.2.7")).await.unwrap();
    assert!(gate.authenticate(&headers, ip("192.0.2.7")).await.is_err());
    let bad = bearer("sk_live_nope");
    let _ = gate.authenticate(&bad, ip("192.0.2.8")).await;
    let _ = gate.authenticate(&bad, ip("192.0.2.8")).await;
    let seen = events.0.lock().unwrap().clone();
    assert_eq!(
        seen,
        [
            format!("rate_limited Some({}) Some(192.0.2.7) 1", minted.record.id),
            "rate_limited None Some(192.0.2.8) 1".to_owned(),
        ]
    );
}
