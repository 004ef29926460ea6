//! The key lifecycle over the in-memory store, with a manual clock: mint, list, get with usage,
//! update, revoke, rotate with grace, expiring soon, write-behind flushes and events.

#![allow(clippy::unwrap_used)]

mod common;

use common::bearer;
use std::net::IpAddr;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use keygate::clock::{Clock, ManualClock, Timestamp};
use keygate::event::{Event, EventSink};
use keygate::format::KeyId;
use keygate::manage::{ManageError, NewKey};
use keygate::preset::Preset;
use keygate::scope::{Requirement, ScopeSet};
use keygate::store::KeyUpdate;
use keygate::store::suite::Switchable;
use keygate::store::{KeyStore, MemoryStore, Owner};
use keygate::{AuthError, Keygate};

fn start() -> Timestamp {
    common::at("2026-10-14T10:00:00Z")
}

#[derive(Default)]
struct Recorded(Mutex<Vec<String>>);

impl EventSink for Recorded {
    fn on_event(&self, event: &Event<'_>) {
        let line = match event {
            Event::Verified { key_id, .. } => format!("verified {key_id}"),
            Event::Failed { reason, key_id, client_ip } => {
                format!("failed {reason} {key_id:?} {client_ip:?}")
            }
            Event::RateLimited { key_id, .. } => format!("rate_limited {key_id:?}"),
            Event::Minted { key_id, .. } => format!("minted {key_id}"),
            Event::Revoked { key_id } => format!("revoked {key_id}"),
            Event::RevokedAll { count, .. } => format!("revoked_all {count}"),
            Event::Rotated { old, new, .. } => format!("rotated {old} {new}"),
            Event::ExpiringSoon { key_id, .. } => format!("expiring {key_id}"),
            // Timings differ from run to run; the metrics tests count them.
            Event::Checked { .. } => return,
            other => format!("{other:?}"),
        };
        self.0.lock().unwrap().push(line);
    }
}

struct Setup {
    gate: Keygate,
    clock: ManualClock,
    events: Arc<Recorded>,
}

fn setup_with(store: Arc<dyn KeyStore>) -> Setup {
    let clock = ManualClock::new(start());
    let events = Arc::new(Recorded::default());
    let gate = Keygate::builder(Preset::livetest())
        .random_pepper()
        .store(store)
        .clock(Arc::new(clock.clone()))
        .events(events.clone())
        .build()
        .unwrap();
    Setup { gate, clock, events }
}

fn setup() -> Setup {
    setup_with(Arc::new(MemoryStore::new()))
}

fn new_key(name: &str) -> NewKey {
    NewKey::new(Owner::user("wks_1", "usr_1"), name).scopes(["tasks:read"]).unwrap()
}

#[tokio::test]
async fn list_shows_previews_never_keys_or_hashes() {
    let s = setup();
    let mut keys = Vec::new();
    for i in 0..5 {
        s.clock.advance(Duration::from_secs(1));
        keys.push(s.gate.mint(new_key(&format!("key {i}"))).await.unwrap());
    }
    s.gate.mint(NewKey::new(Owner::workspace("wks_other"), "elsewhere")).await.unwrap();
    let first = s.gate.list_keys("wks_1", None, None, 3).await.unwrap();
    let second = s.gate.list_keys("wks_1", None, first.next, 3).await.unwrap();
    assert!(second.next.is_none());
    let listed: Vec<_> = first.keys.iter().chain(&second.keys).collect();
    assert_eq!(
        listed.iter().map(|k| k.name.as_str()).collect::<Vec<_>>(),
        ["key 0", "key 1", "key 2", "key 3", "key 4"]
    );
    let json = serde_json::to_string(&listed).unwrap();
    for minted in &keys {
        let text = minted.key.expose_secret();
        assert!(!json.contains(text));
        assert!(!json.contains(&text[text.len() - 40..]), "no part of the secret");
        assert!(json.contains(&format!("\"prefix\":\"{}\"", &text[..12])));
    }
    assert!(!json.contains("hash"));
}

#[tokio::test]
async fn get_shows_usage_and_last_used_before_and_after_a_flush() {
    let s = setup();
    let minted = s.gate.mint(new_key("used")).await.unwrap();
    let headers = bearer(minted.key.expose_secret());
    for _ in 0..7 {
        s.gate.authenticate(&headers, None).await.unwrap();
    }
    s.clock.advance(Duration::from_secs(30));
    s.gate.authenticate(&headers, None).await.unwrap();
    let last = s.clock_now();

    // Before the flush the store has nothing; `get_key` adds what is pending.
    let stored = s.gate.store().find(&minted.record.id).await.unwrap().unwrap();
    assert_eq!((stored.last_used, stored.usage.today), (None, 0));
    let info = s.gate.get_key(&minted.record.id).await.unwrap();
    assert_eq!(info.usage.requests_today, 8);
    assert_eq!(info.last_used, Some(last));

    assert_eq!(s.gate.flush_usage().await.unwrap(), 1);
    let stored = s.gate.store().find(&minted.record.id).await.unwrap().unwrap();
    assert_eq!(stored.last_used, Some(last));
    assert_eq!(stored.usage.requests_today(last), 8);
    assert_eq!(stored.usage.requests_this_month(last), 8);
    let info = s.gate.get_key(&minted.record.id).await.unwrap();
    assert_eq!(info.usage.requests_today, 8, "nothing counted twice");
    assert_eq!(s.gate.flush_usage().await.unwrap(), 0, "nothing left to flush");

    // The next day starts at zero; the month goes on.
    s.clock.advance(Duration::from_secs(86_400));
    s.gate.authenticate(&headers, None).await.unwrap();
    s.gate.flush_usage().await.unwrap();
    let info = s.gate.get_key(&minted.record.id).await.unwrap();
    assert_eq!((info.usage.requests_today, info.usage.requests_this_month), (1, 9));
}

impl Setup {
    fn clock_now(&self) -> Timestamp {
        keygate::clock::Clock::now(&self.clock)
    }
}

#[tokio::test]
async fn a_failed_flush_loses_nothing() {
    let store = Arc::new(Switchable::new(MemoryStore::new()));
    let s = setup_with(store.clone());
    let minted = s.gate.mint(new_key("k")).await.unwrap();
    let headers = bearer(minted.key.expose_secret());
    for _ in 0..3 {
        s.gate.authenticate(&headers, None).await.unwrap();
    }
    store.set_down(true);
    assert!(s.gate.flush_usage().await.is_err());
    store.set_down(false);
    s.gate.authenticate(&headers, None).await.unwrap();
    assert_eq!(s.gate.flush_usage().await.unwrap(), 1);
    let stored = s.gate.store().find(&minted.record.id).await.unwrap().unwrap();
    assert_eq!(stored.usage.requests_today(s.clock_now()), 4);
}

#[tokio::test(start_paused = true)]
async fn maintenance_flushes_on_its_interval_and_at_shutdown() {
    let s = setup();
    let minted = s.gate.mint(new_key("k")).await.unwrap();
    let headers = bearer(minted.key.expose_secret());
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let task = tokio::spawn(s.gate.clone().run_maintenance(Duration::from_secs(5), async {
        let _ = stopped.await;
    }));
    let stored_today = || async {
        let r = s.gate.store().find(&minted.record.id).await.unwrap().unwrap();
        r.usage.today
    };
    tokio::task::yield_now().await;
    s.gate.authenticate(&headers, None).await.unwrap();
    tokio::time::sleep(Duration::from_millis(5_100)).await;
    assert_eq!(stored_today().await, 1, "flushed after one interval");
    s.gate.authenticate(&headers, None).await.unwrap();
    s.gate.authenticate(&headers, None).await.unwrap();
    stop.send(()).unwrap();
    task.await.unwrap();
    assert_eq!(stored_today().await, 3, "flushed at shutdown");
}

#[tokio::test]
async fn updates_take_effect_at_once() {
    let s = setup();
    let minted = s.gate.mint(new_key("k")).await.unwrap();
    let id = minted.record.id;
    let key = minted.key.expose_secret();
    let write = Requirement::all_of(["tasks:write"]).unwrap();
    let p = s.gate.verify(key).await.unwrap();
    assert!(s.gate.authorize(&p, &write).is_err());

    let changes = KeyUpdate {
        name: Some("renamed".into()),
        scopes: Some(ScopeSet::parse(["tasks:read", "tasks:write"]).unwrap()),
        ..KeyUpdate::default()
    };
    let info = s.gate.update_key(&id, changes).await.unwrap();
    assert_eq!(info.name, "renamed");
    let p = s.gate.verify(key).await.unwrap();
    assert!(s.gate.authorize(&p, &write).is_ok(), "new scopes work on the next request");

    // Shorten the expiry, then extend it while the key is still valid.
    let soon = start().saturating_add(Duration::from_secs(60));
    s.gate
        .update_key(&id, KeyUpdate { expires_at: Some(Some(soon)), ..Default::default() })
        .await
        .unwrap();
    s.clock.advance(Duration::from_secs(30));
    let later = start().saturating_add(Duration::from_secs(3600));
    s.gate
        .update_key(&id, KeyUpdate { expires_at: Some(Some(later)), ..Default::default() })
        .await
        .unwrap();
    s.clock.advance(Duration::from_secs(60));
    assert!(s.gate.verify(key).await.is_ok(), "extended past the shorter expiry");

    // Once expired, a key cannot be brought back, by a new expiry or by removing it.
    let short = s
        .gate
        .mint(new_key("short").expires_at(s.clock.now().saturating_add(Duration::from_secs(10))))
        .await
        .unwrap();
    s.clock.advance(Duration::from_secs(10));
    for revive in [Some(later), None] {
        let change = KeyUpdate { expires_at: Some(revive), ..Default::default() };
        assert!(matches!(
            s.gate.update_key(&short.record.id, change).await,
            Err(ManageError::KeyExpired(_))
        ));
    }
    assert!(matches!(s.gate.verify(short.key.expose_secret()).await, Err(AuthError::Expired)));

    let disable = KeyUpdate { disabled: Some(true), ..Default::default() };
    assert!(!s.gate.update_key(&id, disable).await.unwrap().is_active);
    assert!(matches!(s.gate.verify(key).await, Err(AuthError::Disabled)));

    // Bad values are refused, each for its own reason, and change nothing in the record.
    type Why = fn(&ManageError) -> bool;
    let bad: [(KeyUpdate, Why); 5] = [
        (KeyUpdate { name: Some(String::new()), ..Default::default() }, |e| {
            matches!(e, ManageError::Name)
        }),
        (KeyUpdate { name: Some("x".repeat(201)), ..Default::default() }, |e| {
            matches!(e, ManageError::Name)
        }),
        (
            KeyUpdate {
                scopes: Some(ScopeSet::parse(["billing:read"]).unwrap()),
                ..Default::default()
            },
            |e| matches!(e, ManageError::Scope(_)),
        ),
        (KeyUpdate { expires_at: Some(Some(start())), ..Default::default() }, |e| {
            matches!(e, ManageError::ExpiryInPast)
        }),
        (
            KeyUpdate { rate_plan: Some(Some("gold".into())), ..Default::default() },
            |e| matches!(e, ManageError::UnknownPlan(p) if p == "gold"),
        ),
    ];
    let before = s.gate.store().find(&id).await.unwrap().unwrap();
    for (changes, why) in bad {
        let asked = format!("{changes:?}");
        let err = s.gate.update_key(&id, changes).await.unwrap_err();
        assert!(why(&err), "{asked}: refused for another reason: {err}");
        let after = s.gate.store().find(&id).await.unwrap().unwrap();
        assert_eq!(after, before, "{asked} changed the record");
    }
    assert_eq!(s.gate.get_key(&id).await.unwrap().name, "renamed");
    let ghost: KeyId = "key_AAAAAAAAAAAA".parse().unwrap();
    assert!(matches!(
        s.gate.update_key(&ghost, KeyUpdate::default()).await,
        Err(ManageError::NotFound(_))
    ));
}

#[tokio::test]
async fn revoke_is_immediate_and_bulk_revoke_is_per_owner() {
    let s = setup();
    let a = s.gate.mint(new_key("a")).await.unwrap();
    let b = s.gate.mint(new_key("b")).await.unwrap();
    let other_user = s.gate.mint(NewKey::new(Owner::user("wks_1", "usr_2"), "c")).await.unwrap();
    let info = s.gate.revoke_key(&a.record.id).await.unwrap();
    assert!(!info.is_active);
    assert!(matches!(s.gate.verify(a.key.expose_secret()).await, Err(AuthError::Invalid(_))));
    assert_eq!(s.gate.revoke_all("wks_1", Some("usr_1"),).await.unwrap(), 1);
    assert!(s.gate.verify(b.key.expose_secret()).await.is_err());
    assert!(s.gate.verify(other_user.key.expose_secret()).await.is_ok());
    let events = s.events.0.lock().unwrap().clone();
    assert!(events.contains(&format!("revoked {}", a.record.id)));
    assert!(events.contains(&"revoked_all 1".to_owned()));
}

#[tokio::test]
async fn rotation_keeps_the_old_key_for_its_grace_period_only() {
    let s = setup();
    let old = s.gate.mint(new_key("rotating").description("prod")).await.unwrap();
    let new = s.gate.rotate_key(&old.record.id, Duration::from_secs(300)).await.unwrap();
    assert_ne!(new.record.id, old.record.id);
    assert_eq!(new.record.name, "rotating");
    assert_eq!(new.record.description.as_deref(), Some("prod"));
    assert_eq!(new.record.scopes, old.record.scopes);
    assert_eq!(new.record.owner, old.record.owner);

    let (old_key, new_key_text) = (old.key.expose_secret(), new.key.expose_secret());
    s.clock.advance(Duration::from_millis(299_999));
    assert!(s.gate.verify(old_key).await.is_ok(), "old key works until the grace ends");
    assert!(s.gate.verify(new_key_text).await.is_ok());
    s.clock.advance(Duration::from_millis(1));
    assert!(matches!(s.gate.verify(old_key).await, Err(AuthError::Invalid(_))));
    assert!(s.gate.verify(new_key_text).await.is_ok());

    assert!(
        matches!(
            s.gate.rotate_key(&old.record.id, Duration::ZERO).await,
            Err(ManageError::NotFound(_))
        ),
        "a rotated key cannot be rotated again"
    );

    // Grace zero: at once.
    let next = s.gate.rotate_key(&new.record.id, Duration::ZERO).await.unwrap();
    assert!(s.gate.verify(new_key_text).await.is_err());
    assert!(s.gate.verify(next.key.expose_secret()).await.is_ok());
    let events = s.events.0.lock().unwrap().clone();
    assert!(events.contains(&format!("rotated {} {}", old.record.id, new.record.id)));
}

#[tokio::test]
async fn expiring_soon_lists_and_announces() {
    let s = setup();
    let in_a_day = start().saturating_add(Duration::from_secs(86_400));
    let in_a_month = start().saturating_add(Duration::from_secs(30 * 86_400));
    let soon = s.gate.mint(new_key("soon").expires_at(in_a_day)).await.unwrap();
    s.gate.mint(new_key("later").expires_at(in_a_month)).await.unwrap();
    s.gate.mint(new_key("never")).await.unwrap();
    let revoked = s.gate.mint(new_key("revoked").expires_at(in_a_day)).await.unwrap();
    s.gate.revoke_key(&revoked.record.id).await.unwrap();

    let week = s.gate.expiring_soon(Duration::from_secs(7 * 86_400), 100).await.unwrap();
    assert_eq!(week.iter().map(|k| k.id).collect::<Vec<_>>(), vec![soon.record.id]);
    let events = s.events.0.lock().unwrap().clone();
    assert!(events.contains(&format!("expiring {}", soon.record.id)));
}

#[tokio::test]
async fn events_cover_requests_and_lifecycle() {
    let s = setup();
    let minted = s.gate.mint(new_key("k")).await.unwrap();
    let id = minted.record.id;
    let client: Option<IpAddr> = Some("203.0.113.5".parse().unwrap());
    s.gate.authenticate(&bearer(minted.key.expose_secret()), client).await.unwrap();
    let text = minted.key.expose_secret();
    let mut wrong = text[..text.len() - 7].to_owned();
    wrong.push(if text.as_bytes()[text.len() - 7] == b'x' { 'y' } else { 'x' });
    let wrong = format!("{wrong}{}", keygate::format::checksum(&wrong));
    let _ = s.gate.authenticate(&bearer(&wrong), client).await;
    let _ = s.gate.authenticate(&bearer("sk_live_short"), client).await;
    let events = s.events.0.lock().unwrap().clone();
    assert_eq!(
        events,
        vec![
            format!("minted {id}"),
            format!("verified {id}"),
            format!("failed wrong_secret Some({id}) Some(203.0.113.5)"),
            "failed malformed None Some(203.0.113.5)".to_owned(),
        ]
    );
}
