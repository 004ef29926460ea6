//! Terms a key carries, through the library: its networks are checked against the client
//! address after the trusted-proxy rule, and its metadata reaches the principal.

use std::net::IpAddr;

use keygate::error::Forbidden;
use keygate::manage::NewKey;
use keygate::preset::Preset;
use keygate::store::{KeyUpdate, Metadata, Owner};
use keygate::{AuthError, Keygate, Peer};

fn ip(text: &str) -> IpAddr {
    text.parse().expect("address")
}

#[tokio::test]
async fn a_keys_networks_are_checked_against_the_client_behind_a_trusted_proxy() {
    let gate = Keygate::builder(Preset::livetest())
        .random_pepper()
        .trusted_proxies(["10.0.0.0/8".parse().expect("proxy range")])
        .build()
        .expect("gate");
    let new = NewKey::new(Owner::workspace("wks_1"), "office")
        .allowed_ips(["203.0.113.0/24".parse().expect("network")]);
    let minted = gate.mint(new).await.expect("mint");
    let auth = format!("Bearer {}", minted.key.expose_secret());

    // Through the trusted proxy, the forwarded address is the client's.
    let from_office = [("authorization", auth.as_str()), ("x-forwarded-for", "203.0.113.7")];
    gate.authenticate(&from_office, Peer::from(ip("10.1.2.3"))).await.expect("office");
    let from_home = [("authorization", auth.as_str()), ("x-forwarded-for", "198.51.100.1")];
    let refused = gate.authenticate(&from_home, Peer::from(ip("10.1.2.3"))).await;
    assert!(matches!(refused, Err(AuthError::Forbidden(Forbidden::Network))), "{refused:?}");

    // An untrusted peer cannot claim the office's address.
    let spoofed = gate.authenticate(&from_office, Peer::from(ip("198.51.100.1"))).await;
    assert!(matches!(spoofed, Err(AuthError::Forbidden(Forbidden::Network))), "{spoofed:?}");
    // Nor can a request whose address is unknown pass.
    let unknown = gate.authenticate(&[("authorization", auth.as_str())], Peer::default()).await;
    assert!(matches!(unknown, Err(AuthError::Forbidden(Forbidden::Network))), "{unknown:?}");
    // An IPv4 address written as IPv6 is the same address.
    let mapped = [("authorization", auth.as_str())];
    gate.authenticate(&mapped, Peer::from(ip("::ffff:203.0.113.9"))).await.expect("mapped");

    // Cleared by the operator: usable from anywhere.
    let open = KeyUpdate { allowed_ips: Some(Vec::new()), ..KeyUpdate::default() };
    gate.update_key(&minted.record.id, open).await.expect("update");
    gate.authenticate(&from_home, Peer::from(ip("10.1.2.3"))).await.expect("anywhere");
}

#[tokio::test]
async fn metadata_set_by_the_operator_reaches_the_principal_on_the_next_request() {
    let gate = Keygate::builder(Preset::plane()).random_pepper().build().expect("gate");
    let minted = gate.mint(NewKey::new(Owner::workspace("wks_1"), "ci")).await.expect("mint");
    let key = minted.key.expose_secret();
    assert_eq!(gate.verify(key).await.expect("verify").metadata(), None);
    let terms = Metadata::parse(r#"{"tier":"pro"}"#).expect("metadata");
    let change = KeyUpdate { metadata: Some(Some(terms.clone())), ..KeyUpdate::default() };
    gate.update_key(&minted.record.id, change).await.expect("update");
    assert_eq!(gate.verify(key).await.expect("verify").metadata(), Some(&terms));
}

#[derive(Default)]
struct NewNetworks(std::sync::Mutex<Vec<String>>);

impl keygate::event::EventSink for NewNetworks {
    fn on_event(&self, event: &keygate::event::Event<'_>) {
        if let keygate::event::Event::NewNetwork { network, .. } = event {
            self.0.lock().expect("lock").push(network.to_string());
        }
    }
}

#[tokio::test]
async fn the_first_use_from_a_network_is_an_event_once_and_the_details_list_it() {
    let sink = std::sync::Arc::new(NewNetworks::default());
    let gate = Keygate::builder(Preset::livetest())
        .random_pepper()
        .events(sink.clone())
        .build()
        .expect("gate");
    let minted = gate.mint(NewKey::new(Owner::workspace("wks_1"), "ci")).await.expect("mint");
    let auth = format!("Bearer {}", minted.key.expose_secret());
    let headers = [("authorization", auth.as_str())];
    for client in ["203.0.113.7", "203.0.113.99", "2001:db8:5:1::1"] {
        gate.authenticate(&headers, Peer::from(ip(client))).await.expect("verified");
    }
    assert!(sink.0.lock().expect("lock").is_empty(), "decided when usage is flushed");
    gate.flush_usage().await.expect("flush");
    let mut seen = sink.0.lock().expect("lock").clone();
    seen.sort();
    assert_eq!(seen, ["2001:db8:5::/48", "203.0.113.0/24"], "one event per new network");

    // The same networks again: no event. A third network: one more.
    gate.authenticate(&headers, Peer::from(ip("203.0.113.8"))).await.expect("verified");
    gate.authenticate(&headers, Peer::from(ip("198.51.100.1"))).await.expect("verified");
    gate.flush_usage().await.expect("flush");
    assert_eq!(sink.0.lock().expect("lock").len(), 3);
    assert_eq!(sink.0.lock().expect("lock")[2], "198.51.100.0/24");

    let details = gate.get_key(&minted.record.id).await.expect("details");
    let networks: Vec<String> = details
        .recent_networks
        .expect("in the details")
        .iter()
        .map(|n| n.network.to_string())
        .collect();
    assert_eq!(networks.len(), 3);
    assert!(networks.contains(&"198.51.100.0/24".to_owned()), "{networks:?}");
    // Lists do not carry them.
    let page = gate.list_keys("wks_1", None, None, 10).await.expect("list");
    assert!(page.keys[0].recent_networks.is_none());
}

mod credits {
    use std::sync::Arc;
    use std::time::Duration;

    use keygate::caller::Caller;
    use keygate::clock::{ManualClock, Timestamp};
    use keygate::format::Environment;
    use keygate::manage::{ManageError, NewKey};
    use keygate::preset::Preset;
    use keygate::scope::ScopeSet;
    use keygate::store::{KeyUpdate, Owner, Refill};
    use keygate::{AuthError, Keygate, Peer};

    fn at(text: &str) -> Timestamp {
        Timestamp::parse_rfc3339(text).expect("time")
    }

    #[tokio::test]
    async fn a_key_spends_its_credits_then_is_refused_until_its_refill() {
        let clock = Arc::new(ManualClock::new(at("2026-10-14T23:59:58Z")));
        let gate = Keygate::builder(Preset::productlane())
            .random_pepper()
            .clock(clock.clone())
            .build()
            .expect("gate");
        let refill: Refill = "daily:2".parse().expect("refill");
        let new = NewKey::new(Owner::workspace("wks_1"), "trial").remaining(3).refill(refill);
        let minted = gate.mint(new).await.expect("mint");
        let auth = format!("Bearer {}", minted.key.expose_secret());
        let headers = [("authorization", auth.as_str())];
        for left in [2, 1, 0] {
            let principal = gate.authenticate(&headers, Peer::default()).await.expect("credit");
            assert_eq!(principal.remaining(), Some(left));
        }
        let refused = gate.authenticate(&headers, Peer::default()).await.unwrap_err();
        assert!(
            matches!(refused, AuthError::UsageExceeded { retry_after: Some(d) } if d == Duration::from_secs(2)),
            "{refused:?}"
        );
        let response = gate.render(&refused, None);
        assert_eq!((response.status, response.header("retry-after")), (429, Some("2")));
        assert!(response.body.contains(r#""code":"usage_exceeded""#), "{}", response.body);
        assert_eq!(gate.get_key(&minted.record.id).await.expect("get").remaining, Some(0));

        // At midnight the balance is set to the refill's amount.
        clock.advance(Duration::from_secs(2));
        let info = gate.get_key(&minted.record.id).await.expect("get");
        assert_eq!((info.remaining, info.refills_at), (Some(2), Some(at("2026-10-16T00:00:00Z"))));
        for left in [1, 0] {
            let principal = gate.authenticate(&headers, Peer::default()).await.expect("refilled");
            assert_eq!(principal.remaining(), Some(left));
        }
        assert!(matches!(
            gate.authenticate(&headers, Peer::default()).await,
            Err(AuthError::UsageExceeded { .. })
        ));
    }

    #[tokio::test]
    async fn a_refused_request_spends_nothing_and_an_unlimited_key_is_not_metered() {
        let gate = Keygate::builder(Preset::livetest())
            .random_pepper()
            .environment(Environment::Live)
            .build()
            .expect("gate");
        let test_key =
            NewKey::new(Owner::workspace("wks_1"), "t").environment(Environment::Test).remaining(1);
        let minted = gate.mint(test_key).await.expect("mint");
        let auth = format!("Bearer {}", minted.key.expose_secret());
        let refused = gate.authenticate(&[("authorization", auth.as_str())], None).await;
        assert!(matches!(refused, Err(AuthError::Forbidden(_))), "{refused:?}");
        assert_eq!(gate.get_key(&minted.record.id).await.expect("get").remaining, Some(1));

        let open = gate.mint(NewKey::new(Owner::workspace("wks_1"), "o")).await.expect("mint");
        let auth = format!("Bearer {}", open.key.expose_secret());
        let principal =
            gate.authenticate(&[("authorization", auth.as_str())], None).await.expect("ok");
        assert_eq!(principal.remaining(), None);
        // The operator lifts or sets credits.
        let cap = KeyUpdate { remaining: Some(Some(0)), ..KeyUpdate::default() };
        gate.update_key(&open.record.id, cap).await.expect("update");
        let refused = gate.authenticate(&[("authorization", auth.as_str())], None).await;
        assert!(matches!(refused, Err(AuthError::UsageExceeded { retry_after: None })));
        let lift = KeyUpdate { remaining: Some(None), ..KeyUpdate::default() };
        gate.update_key(&open.record.id, lift).await.expect("update");
        gate.authenticate(&[("authorization", auth.as_str())], None).await.expect("unlimited");
    }

    #[tokio::test]
    async fn a_caller_with_credits_grants_no_more_than_it_holds() {
        let gate = Keygate::builder(Preset::livetest()).random_pepper().build().expect("gate");
        let scopes = ScopeSet::parse(["admin:*"]).expect("scopes");
        let monthly: Refill = "monthly:100".parse().expect("refill");
        let caller =
            Caller::new("wks_1", Environment::Live, scopes.clone()).credits(50, Some(monthly));
        let keys = gate.acting_for(&caller);
        let new = || NewKey::new(Owner::workspace("wks_1"), "sub");
        let refused = |r: Result<_, ManageError>, field: &str| {
            assert!(matches!(r, Err(ManageError::CreditsNotHeld(f)) if f == field), "{field}");
        };
        refused(keys.mint(new()).await.map(drop), "remaining");
        refused(keys.mint(new().remaining(51)).await.map(drop), "remaining");
        refused(keys.mint(new().refill("daily:10".parse().expect("r"))).await.map(drop), "refill");
        refused(
            keys.mint(new().remaining(5).refill("monthly:101".parse().expect("r"))).await.map(drop),
            "refill",
        );
        let sub = keys
            .mint(new().remaining(5).refill("monthly@3:100".parse().expect("r")))
            .await
            .expect("mint");
        let id = sub.record.id;
        let lift = KeyUpdate { remaining: Some(None), ..KeyUpdate::default() };
        refused(keys.update(&id, lift.clone()).await.map(drop), "remaining");
        let raise = KeyUpdate { remaining: Some(Some(51)), ..KeyUpdate::default() };
        refused(keys.update(&id, raise).await.map(drop), "remaining");
        let lower = KeyUpdate { remaining: Some(Some(50)), ..KeyUpdate::default() };
        assert_eq!(keys.update(&id, lower).await.expect("lower").remaining, Some(50));

        // An unlimited caller may set anything.
        let operator = Caller::new("wks_1", Environment::Live, scopes);
        gate.acting_for(&operator).update(&id, lift).await.expect("lift");
        gate.acting_for(&operator).mint(new()).await.expect("unlimited");
    }
}
