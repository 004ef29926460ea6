//! The Redis limiter against a real Redis (`KEYGATE_TEST_REDIS_URL`). Each test counts under
//! a prefix of its own.
//!
//! The tests that need a server are ignored without one; `cargo test -- --include-ignored` runs
//! them, and then a missing variable or a server that does not answer fails them.

#![allow(clippy::unwrap_used)]

use std::sync::Arc;
use std::time::Duration;

use keygate::clock::Timestamp;
use keygate::limit::{RateLimiter, RatePlan};
use keygate_redis::RedisLimiter;

mod common;

use common::{clean_up, connect, fresh_id, names_under, prefix, url};

/// The caller's clock in these tests: windows follow it, not Redis's clock, so no test can
/// straddle a window boundary (midnight UTC for a day window) by running at the wrong moment.
const NOW: Timestamp = Timestamp::from_unix_millis(1_800_000_000_000);

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "needs KEYGATE_TEST_REDIS_URL"]
async fn twice_the_limit_across_two_replicas_allows_exactly_the_limit() {
    let url = url();
    let prefix = prefix();
    let a = connect(&url, &prefix).await;
    let b = connect(&url, &prefix).await;
    // A day-long window, placed by the time the caller passes.
    let plan = Arc::new(RatePlan::new("t").window(50, Duration::from_secs(86_400)));
    let key = fresh_id();
    let tasks: Vec<_> = (0..100)
        .map(|i| {
            let limiter = if i % 2 == 0 { a.clone() } else { b.clone() };
            let plan = plan.clone();
            tokio::spawn(async move {
                limiter.check(&key, &plan, 1, NOW).await.unwrap().unwrap().allowed
            })
        })
        .collect();
    let mut allowed = 0;
    for t in tasks {
        allowed += usize::from(t.await.unwrap());
    }
    assert_eq!(allowed, 50);
    let refused = a.check(&key, &plan, 1, NOW).await.unwrap().unwrap();
    assert!(!refused.allowed);
    assert_eq!(refused.info.remaining, 0);
    // The day of NOW ends at 1_800_057_600 s (1_800_000_000 is 08:00 UTC): the windows are the
    // caller's, whatever the time on the Redis server.
    assert_eq!(refused.info.reset, Timestamp::from_unix_seconds(1_800_057_600));
    assert_eq!(refused.info.retry_after, Some(Duration::from_secs(57_600)));
    clean_up(&url, &prefix).await;
}

#[tokio::test]
#[ignore = "needs KEYGATE_TEST_REDIS_URL"]
async fn a_weighted_request_needs_room_for_its_whole_cost_and_counts_it() {
    let url = url();
    let prefix = prefix();
    let limiter = connect(&url, &prefix).await;
    let plan = RatePlan::new("t").window(5, Duration::from_secs(86_400));
    let key = fresh_id();
    let d = limiter.check(&key, &plan, 2, NOW).await.unwrap().unwrap();
    assert_eq!((d.allowed, d.info.remaining), (true, 3));
    let d = limiter.check(&key, &plan, 2, NOW).await.unwrap().unwrap();
    assert_eq!((d.allowed, d.info.remaining), (true, 1));
    // One left: cost 2 is refused and counts nothing; cost 1 still passes; a free route too.
    let d = limiter.check(&key, &plan, 2, NOW).await.unwrap().unwrap();
    assert!(!d.allowed);
    assert_eq!(limiter.status(&key, &plan, NOW).await.unwrap().unwrap().info.remaining, 1);
    assert!(limiter.check(&key, &plan, 1, NOW).await.unwrap().unwrap().allowed);
    assert!(limiter.check(&key, &plan, 0, NOW).await.unwrap().unwrap().allowed);
    assert!(!limiter.check(&key, &plan, 1, NOW).await.unwrap().unwrap().allowed);
    clean_up(&url, &prefix).await;
}

#[tokio::test]
#[ignore = "needs KEYGATE_TEST_REDIS_URL"]
async fn status_reads_without_counting_and_figures_match() {
    let url = url();
    let prefix = prefix();
    let limiter = connect(&url, &prefix).await;
    let plan = RatePlan::new("t")
        .window(5, Duration::from_secs(86_400))
        .window(10, Duration::from_secs(7 * 86_400));
    let key = fresh_id();
    for _ in 0..3 {
        let s = limiter.status(&key, &plan, NOW).await.unwrap().unwrap();
        assert!(s.allowed);
        assert_eq!((s.info.limit, s.info.remaining), (5, 5));
    }
    let d = limiter.check(&key, &plan, 1, NOW).await.unwrap().unwrap();
    assert_eq!((d.info.limit, d.info.remaining), (5, 4));
    let s = limiter.status(&key, &plan, NOW).await.unwrap().unwrap();
    assert_eq!(s.info.remaining, 4);
    assert!(limiter.check(&key, &RatePlan::new("none"), 1, NOW).await.unwrap().is_none());
    clean_up(&url, &prefix).await;
}

#[tokio::test]
#[ignore = "needs KEYGATE_TEST_REDIS_URL"]
async fn a_window_frees_up_when_it_ends_by_the_callers_clock() {
    let url = url();
    let prefix = prefix();
    let limiter = connect(&url, &prefix).await;
    let plan = RatePlan::new("t").window(2, Duration::from_secs(1));
    let key = fresh_id();
    let at = |ms: u64| NOW.saturating_add(Duration::from_millis(ms));
    assert!(limiter.check(&key, &plan, 1, at(250)).await.unwrap().unwrap().allowed);
    assert!(limiter.check(&key, &plan, 1, at(500)).await.unwrap().unwrap().allowed);
    let third = limiter.check(&key, &plan, 1, at(750)).await.unwrap().unwrap();
    assert!(!third.allowed, "the third request in a window is refused");
    assert_eq!(third.info.reset, at(1000), "windows are aligned to the second");
    assert_eq!(third.info.retry_after, Some(Duration::from_millis(250)));
    let next = limiter.check(&key, &plan, 1, at(1000)).await.unwrap().unwrap();
    assert!(next.allowed, "the next window has room");
    assert_eq!(next.info.remaining, 1);

    // A day window across midnight UTC: the last millisecond of a day and the first of the
    // next are two windows.
    let day = RatePlan::new("d").window(1, Duration::from_secs(86_400));
    let midnight = Timestamp::from_unix_seconds(1_800_057_600);
    let key = fresh_id();
    let before = Timestamp::from_unix_millis(midnight.unix_millis() - 1);
    assert!(limiter.check(&key, &day, 1, before).await.unwrap().unwrap().allowed);
    assert!(!limiter.check(&key, &day, 1, before).await.unwrap().unwrap().allowed);
    assert!(limiter.check(&key, &day, 1, midnight).await.unwrap().unwrap().allowed);
    clean_up(&url, &prefix).await;
}

/// Every count the script touches is named by the caller, through `KEYS`, and carries the hash
/// tag `{<prefix>:<key id>}`: on Redis Cluster all the windows of one key share one slot.
#[tokio::test]
#[ignore = "needs KEYGATE_TEST_REDIS_URL"]
async fn every_window_of_a_key_carries_its_hash_tag() {
    let url = url();
    let prefix = prefix();
    let limiter = connect(&url, &prefix).await;
    let plan = RatePlan::new("t")
        .window(5, Duration::from_secs(1))
        .window(50, Duration::from_secs(60))
        .window(500, Duration::from_secs(86_400));
    let (one, other) = (fresh_id(), fresh_id());
    for key in [&one, &other] {
        assert!(limiter.check(key, &plan, 1, NOW).await.unwrap().unwrap().allowed);
    }
    let mut names = names_under(&url, &prefix).await;
    names.sort();
    let mut expected: Vec<String> = [&one, &other]
        .iter()
        .flat_map(|key| {
            let tag = format!("{{{prefix}:{}}}", key.as_str());
            [
                format!("{tag}:rl:1000:1800000000"),
                format!("{tag}:rl:60000:30000000"),
                format!("{tag}:rl:86400000:20833"),
            ]
        })
        .collect();
    expected.sort();
    assert_eq!(names, expected);
    // A status read creates nothing.
    limiter.status(&fresh_id(), &plan, NOW).await.unwrap().unwrap();
    assert_eq!(names_under(&url, &prefix).await.len(), 6);
    clean_up(&url, &prefix).await;
    assert!(names_under(&url, &prefix).await.is_empty());
}

#[tokio::test]
async fn an_unreachable_redis_is_an_error_never_a_pass() {
    // Nothing listens on port 1: the connection is refused at once.
    let limiter =
        RedisLimiter::connect_lazy("redis://127.0.0.1:1", "x", Duration::from_millis(200)).unwrap();
    let plan = RatePlan::new("t").per_minute(10);
    let err = limiter.check(&fresh_id(), &plan, 1, NOW).await;
    assert!(matches!(err, Err(keygate::limit::LimiterError::Unavailable(_))));
}

#[derive(Default)]
struct Seen(std::sync::Mutex<Vec<bool>>);

impl keygate::event::EventSink for Seen {
    fn on_event(&self, event: &keygate::event::Event<'_>) {
        if let keygate::event::Event::LimiterUnavailable { failed_open, .. } = event {
            self.0.lock().unwrap().push(*failed_open);
        }
    }
}

/// With Redis gone, a request is refused (503) by default, or passes unlimited where the
/// deployment chose so; either way an event says what happened. Authentication still runs.
#[tokio::test]
async fn an_unreachable_redis_fails_closed_unless_told_otherwise() {
    use keygate::{
        AuthError, Keygate, LimiterFailure, manage::NewKey, preset::Preset, store::Owner,
    };
    for policy in [LimiterFailure::Closed, LimiterFailure::Open] {
        let limiter =
            RedisLimiter::connect_lazy("redis://127.0.0.1:1", "x", Duration::from_millis(200))
                .unwrap();
        let seen = Arc::new(Seen::default());
        let gate = Keygate::builder(Preset::livetest())
            .random_pepper()
            .limiter(Arc::new(limiter))
            .limiter_failure(policy)
            .events(seen.clone())
            .build()
            .unwrap();
        let key = gate.mint(NewKey::new(Owner::workspace("w"), "k")).await.unwrap().key;
        let headers = [("authorization", format!("Bearer {}", key.expose_secret()))];
        let outcome = gate.authenticate(&headers, None).await;
        match policy {
            LimiterFailure::Closed => {
                let err = outcome.unwrap_err();
                assert!(matches!(err, AuthError::Unavailable(_)));
                assert_eq!(gate.render(&err, None).status, 503);
            }
            _ => assert!(outcome.unwrap().rate_limit().is_none(), "passes, without figures"),
        }
        assert_eq!(*seen.0.lock().unwrap(), [policy == LimiterFailure::Open]);
        // A wrong key is still refused: the limiter's state never decides authentication.
        let wrong = [("authorization", "Bearer sk_live_nope")];
        assert!(matches!(gate.authenticate(&wrong, None).await, Err(AuthError::Malformed(_))));
    }
}
