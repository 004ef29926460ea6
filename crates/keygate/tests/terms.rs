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
