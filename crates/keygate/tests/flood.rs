//! Under a flood of forged keys: a client over its failure budget costs the store nothing, a
//! key naming a pepper the deployment lacks looks like an unknown key, and trusted proxies
//! name the client.

#![allow(clippy::unwrap_used)]

mod common;

use std::net::IpAddr;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use keygate::clock::ManualClock;
use keygate::error::InvalidKey;
use keygate::event::{Event, EventSink};
use keygate::format::Environment;
use keygate::hash::Pepper;
use keygate::limit::Window;
use keygate::manage::NewKey;
use keygate::preset::Preset;
use keygate::store::suite::Switchable;
use keygate::store::{CacheConfig, CachedStore, KeyStore, MemoryStore, Owner};
use keygate::{AuthError, Keygate, Peer};

use common::bearer;

fn ip(s: &str) -> Peer {
    Peer::from(s.parse::<IpAddr>().unwrap())
}

/// A well-formed key with a fresh id: its checksum is public, so anyone can make these.
fn forged(gate: &Keygate) -> String {
    gate.preset().format.generate(Environment::Live).unwrap().expose_secret().to_owned()
}

#[tokio::test]
async fn a_client_over_its_budget_costs_the_store_no_lookup() {
    let clock = ManualClock::new(common::at("2026-10-14T12:00:00Z"));
    let backend = Arc::new(CachedStore::new(
        Switchable::new(MemoryStore::new()),
        CacheConfig { ttl: Duration::from_secs(3600), ..CacheConfig::default() },
    ));
    let gate = common::builder(Preset::livetest(), &clock)
        .store(backend.clone())
        .failure_budget(Some(Window::new(5, Duration::from_secs(60))))
        .build()
        .unwrap();
    let mint = || NewKey::new(Owner::workspace("wks_1"), "k").scopes(["tasks:read"]).unwrap();
    let cached = gate.mint(mint()).await.unwrap().key.expose_secret().to_owned();
    let uncached = gate.mint(mint()).await.unwrap().key.expose_secret().to_owned();
    // Another client reads the first key once: it is in the verification cache now.
    gate.authenticate(&bearer(&cached), ip("198.51.100.1")).await.unwrap();

    let attacker = ip("203.0.113.9");
    for _ in 0..5 {
        let err = gate.authenticate(&bearer(&forged(&gate)), attacker).await.unwrap_err();
        assert!(matches!(err, AuthError::Invalid(InvalidKey::UnknownId)), "{err:?}");
    }
    let lookups = backend.inner().finds_started();
    for _ in 0..1000 {
        let err = gate.authenticate(&bearer(&forged(&gate)), attacker).await.unwrap_err();
        assert!(matches!(err, AuthError::RateLimited(_)), "{err:?}");
    }
    assert_eq!(backend.inner().finds_started(), lookups, "1,000 forged keys, no store lookup");

    // From that address, a cached valid key still passes; an uncached one is refused unread.
    gate.authenticate(&bearer(&cached), attacker).await.unwrap();
    let err = gate.authenticate(&bearer(&uncached), attacker).await.unwrap_err();
    assert!(matches!(err, AuthError::RateLimited(_)));
    assert_eq!(backend.inner().finds_started(), lookups);
    // Any other client is served as usual, and a freshly minted key works at once.
    gate.authenticate(&bearer(&uncached), ip("198.51.100.2")).await.unwrap();
    let fresh = gate.mint(mint()).await.unwrap().key.expose_secret().to_owned();
    gate.authenticate(&bearer(&fresh), ip("198.51.100.2")).await.unwrap();
    // The budget comes back with the next window.
    clock.advance(Duration::from_secs(60));
    gate.authenticate(&bearer(&uncached), attacker).await.unwrap();
}

#[derive(Default)]
struct Peppers(Mutex<Vec<u16>>);

impl EventSink for Peppers {
    fn on_event(&self, event: &Event<'_>) {
        if let Event::UnknownPepperVersion { version, .. } = event {
            self.0.lock().unwrap().push(*version);
        }
    }
}

#[tokio::test]
async fn a_key_naming_a_missing_pepper_answers_like_an_unknown_key() {
    let store = Arc::new(MemoryStore::new());
    let old = Pepper::new([1u8; 32]).unwrap();
    let events = Arc::new(Peppers::default());
    let before =
        Keygate::builder(Preset::livetest()).pepper(7, old).store(store.clone()).build().unwrap();
    let minted = before.mint(NewKey::new(Owner::workspace("wks_1"), "k")).await.unwrap();
    // The deployment lost pepper 7 (rotated away too early).
    let after = Keygate::builder(Preset::livetest())
        .pepper(8, Pepper::new([2u8; 32]).unwrap())
        .store(store.clone())
        .events(events.clone())
        .build()
        .unwrap();
    let unknown = forged(&after);
    for _ in 0..3 {
        let lost = after.verify(minted.key.expose_secret()).await.unwrap_err();
        let never = after.verify(&unknown).await.unwrap_err();
        assert!(matches!(lost, AuthError::Invalid(InvalidKey::UnknownId)), "{lost:?}");
        let (a, b) = (after.render(&lost, Some("r")), after.render(&never, Some("r")));
        assert_eq!((a.status, &a.headers, &a.body), (b.status, &b.headers, &b.body));
    }
    assert_eq!(*events.0.lock().unwrap(), vec![7], "reported once");
    assert!(store.find(&minted.record.id).await.unwrap().is_some(), "the record is untouched");
}

#[tokio::test]
async fn behind_a_trusted_proxy_each_client_has_its_own_budget() {
    let clock = ManualClock::new(common::at("2026-10-14T12:00:00Z"));
    let budget = Some(Window::new(2, Duration::from_secs(60)));
    let proxied = common::builder(Preset::livetest(), &clock)
        .failure_budget(budget)
        .trusted_proxies(["10.0.0.0/8".parse().unwrap()])
        .build()
        .unwrap();
    let direct =
        common::builder(Preset::livetest(), &clock).failure_budget(budget).build().unwrap();
    let proxy = ip("10.0.0.2");
    let from = |client: &str, key: &str| {
        let mut headers = bearer(key);
        headers.push(("x-forwarded-for", format!("{client}, 10.0.0.7")));
        headers
    };
    for gate in [&proxied, &direct] {
        for client in ["198.51.100.1", "198.51.100.2"] {
            for _ in 0..2 {
                let _ = gate.authenticate(&from(client, &forged(gate)), proxy).await;
            }
        }
    }
    // Through the trusted proxy, each client spent its own budget of two: the third failure
    // of each is a 429; a new client is not limited.
    let third = proxied.authenticate(&from("198.51.100.1", &forged(&proxied)), proxy).await;
    assert!(matches!(third, Err(AuthError::RateLimited(_))));
    let new = proxied.authenticate(&from("198.51.100.3", &forged(&proxied)), proxy).await;
    assert!(matches!(new, Err(AuthError::Invalid(_))), "a new client has its own budget");
    // Without the setting the proxy is the client: all four failures were its own.
    let any = direct.authenticate(&from("198.51.100.3", &forged(&direct)), proxy).await;
    assert!(matches!(any, Err(AuthError::RateLimited(_))));
    // A client that is not a trusted proxy cannot choose its address by sending the header.
    let spoofer = ip("203.0.113.4");
    for n in 0..3 {
        let spoofed = from(&format!("192.0.2.{n}"), &forged(&proxied));
        let r = proxied.authenticate(&spoofed, spoofer).await;
        if n == 2 {
            assert!(matches!(r, Err(AuthError::RateLimited(_))), "counted as itself");
        }
    }
}
