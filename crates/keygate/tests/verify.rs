//! The verification pipeline end to end, over the in-memory store, with a manual clock.

#![allow(clippy::unwrap_used)]

mod common;

use common::bearer;
use std::sync::Arc;
use std::time::Duration;

use hmac::{Hmac, KeyInit, Mac};
use keygate::clock::{Clock, ManualClock, Timestamp};
use keygate::error::{Forbidden, InvalidKey, InvalidRequest, Malformed};
use keygate::format::{Environment, ParseError};
use keygate::hash::Pepper;
use keygate::manage::{ManageError, MintedKey, NewKey};
use keygate::preset::Preset;
use keygate::scope::{Requirement, ScopeError};
use keygate::store::suite::Switchable;
use keygate::store::{KeyStore, KeyUpdate, MemoryStore, Owner};
use keygate::{AuthError, Keygate, Peer};
use sha2::Sha256;

fn start() -> Timestamp {
    common::at("2026-10-14T00:00:00Z")
}

fn gate_with(preset: Preset) -> (Keygate, ManualClock) {
    let clock = ManualClock::new(start());
    let gate = Keygate::builder(preset)
        .pepper(1, Pepper::new([42u8; 32]).unwrap())
        .clock(Arc::new(clock.clone()))
        .build()
        .unwrap();
    (gate, clock)
}

async fn mint(gate: &Keygate, new: NewKey) -> MintedKey {
    gate.mint(new).await.unwrap()
}

fn new_key() -> NewKey {
    NewKey::new(Owner::user("wks_abc123", "usr_1"), "test key").scopes(["tasks:read"]).unwrap()
}

#[tokio::test]
async fn a_minted_key_verifies_and_carries_its_record() {
    let (gate, _) = gate_with(Preset::livetest());
    let minted = mint(&gate, new_key()).await;
    let p = gate.authenticate(&bearer(minted.key.expose_secret()), Peer::default()).await.unwrap();
    assert_eq!(p.key_id(), minted.record.id);
    assert_eq!(p.workspace_id(), "wks_abc123");
    assert_eq!(p.user_id(), Some("usr_1"));
    assert_eq!(p.name(), "test key");
    assert_eq!(p.environment(), Environment::Live);
    assert!(p.scopes().contains("tasks:read"));
    // The store holds HMAC-SHA256(pepper, secret), computed here without keygate, and no
    // text of the record holds the secret.
    let stored = gate.store().find(&minted.record.id).await.unwrap().unwrap();
    let key = minted.key.expose_secret();
    let secret = gate.preset().format.parse(key).unwrap().secret().to_owned();
    let mut mac = <Hmac<Sha256> as KeyInit>::new_from_slice(&[42u8; 32]).unwrap();
    mac.update(secret.as_bytes());
    let expected: [u8; 32] = mac.finalize().into_bytes().into();
    assert_eq!(stored.hash.as_bytes(), &expected, "the stored hash is the secret's HMAC");
    assert_eq!(stored.pepper_version, 1);
    let texts = [&stored.preview, &stored.name, &stored.owner.workspace_id];
    assert!(texts.iter().all(|t| !t.contains(&secret)), "no text field holds the secret");
    assert!(stored.description.is_none());
}

#[tokio::test]
async fn unknown_id_wrong_secret_and_revoked_look_the_same() {
    let (gate, clock) = gate_with(Preset::productlane());
    let minted = mint(&gate, NewKey::new(Owner::workspace("w"), "k")).await;
    let key = minted.key.expose_secret();
    let format = &gate.preset().format;

    // Wrong secret: same id, other secret, valid checksum.
    let other = format.generate(Environment::Live).unwrap();
    let id_len = "pl_v2_".len() + format.id_len();
    let forged = format!(
        "{}{}",
        &key[..id_len],
        &other.expose_secret()[id_len..other.expose_secret().len() - 6]
    );
    let forged = format!("{forged}{}", keygate::format::checksum(&forged));
    let wrong = gate.verify(&forged).await.unwrap_err();
    assert!(matches!(wrong, AuthError::Invalid(InvalidKey::WrongSecret)));

    // Unknown id.
    let unknown = gate.verify(other.expose_secret()).await.unwrap_err();
    assert!(matches!(unknown, AuthError::Invalid(InvalidKey::UnknownId)));

    // Revoked: takes effect on the next verify.
    gate.store()
        .update(
            &minted.record.id,
            &KeyUpdate { revoke_at: Some(clock.now()), ..Default::default() },
        )
        .await
        .unwrap();
    let revoked = gate.verify(key).await.unwrap_err();
    assert!(matches!(revoked, AuthError::Invalid(InvalidKey::Revoked)));

    let bodies: Vec<_> =
        [&wrong, &unknown, &revoked].iter().map(|e| gate.render(e, Some("req_1"))).collect();
    assert_eq!(bodies[0], bodies[1]);
    assert_eq!(bodies[1], bodies[2]);
    assert_eq!(bodies[0].status, 401);
}

#[tokio::test]
async fn expiry_at_its_boundary() {
    let (gate, clock) = gate_with(Preset::livetest());
    let expires = start().saturating_add(Duration::from_secs(60));
    let minted = mint(&gate, new_key().expires_at(expires)).await;
    let key = minted.key.expose_secret();
    clock.set(expires.saturating_sub(Duration::from_millis(1)));
    assert!(gate.verify(key).await.is_ok(), "valid until the last millisecond");
    clock.set(expires);
    assert!(matches!(gate.verify(key).await, Err(AuthError::Expired)), "expired at expires_at");
}

#[tokio::test]
async fn expired_and_disabled_are_told_only_to_the_holder() {
    let (gate, clock) = gate_with(Preset::livetest());
    let minted =
        mint(&gate, new_key().expires_at(start().saturating_add(Duration::from_secs(1)))).await;
    clock.advance(Duration::from_secs(2));
    let key = minted.key.expose_secret();
    assert!(matches!(gate.verify(key).await, Err(AuthError::Expired)));
    // The same expired key with a wrong secret learns nothing about expiry.
    let mut forged = key[..key.len() - 7].to_owned();
    forged.push(if key.as_bytes()[key.len() - 7] == b'a' { 'b' } else { 'a' });
    let forged = format!("{forged}{}", keygate::format::checksum(&forged));
    assert!(matches!(gate.verify(&forged).await, Err(AuthError::Invalid(InvalidKey::WrongSecret))));

    let other = mint(&gate, new_key()).await;
    gate.store()
        .update(&other.record.id, &KeyUpdate { disabled: Some(true), ..Default::default() })
        .await
        .unwrap();
    assert!(matches!(gate.verify(other.key.expose_secret()).await, Err(AuthError::Disabled)));
    gate.store()
        .update(&other.record.id, &KeyUpdate { disabled: Some(false), ..Default::default() })
        .await
        .unwrap();
    assert!(gate.verify(other.key.expose_secret()).await.is_ok(), "re-enabled");
}

#[tokio::test]
async fn a_test_key_with_a_live_prefix_is_not_that_key() {
    let (gate, _) = gate_with(Preset::livetest());
    let minted = mint(&gate, new_key().environment(Environment::Test)).await;
    let key = minted.key.expose_secret();
    let body = &key["sk_test_".len()..key.len() - 6];
    let forged = format!("sk_live_{body}");
    let forged = format!("{forged}{}", keygate::format::checksum(&forged));
    assert!(matches!(gate.verify(&forged).await, Err(AuthError::Invalid(_))));
    assert!(gate.verify(key).await.is_ok());
}

#[tokio::test]
async fn a_live_deployment_forbids_test_keys() {
    let clock = ManualClock::new(start());
    let gate = Keygate::builder(Preset::livetest())
        .random_pepper()
        .clock(Arc::new(clock))
        .environment(Environment::Live)
        .build()
        .unwrap();
    let test = mint(&gate, new_key().environment(Environment::Test)).await;
    let err = gate.verify(test.key.expose_secret()).await.unwrap_err();
    assert!(matches!(err, AuthError::Forbidden(Forbidden::WrongEnvironment(Environment::Test))));
    let response = gate.render(&err, Some("req_x"));
    assert_eq!(response.status, 403);
    assert!(response.body.contains(r#""code":"forbidden""#));
    let live = mint(&gate, new_key()).await;
    assert!(gate.verify(live.key.expose_secret()).await.is_ok());
}

#[tokio::test]
async fn retired_versions_are_410_in_productlane_and_401_elsewhere() {
    let (gate, _) = gate_with(Preset::productlane());
    for text in ["pl_v1_", "pl_v1_abc", "pl_v1_\u{ff01}", &format!("pl_v1_{}", "x".repeat(200))] {
        let err = gate.verify(text).await.unwrap_err();
        assert!(matches!(err, AuthError::UnsupportedVersion { .. }), "{text}");
        let r = gate.render(&err, Some("req_1"));
        assert_eq!(r.status, 410);
        assert!(r.body.contains(r#""code":"unsupported_key_version""#));
    }
    let mut preset = Preset::productlane();
    preset.renderer = preset.renderer.unsupported_version_status(401);
    let (gate, _) = gate_with(preset);
    let err = gate.verify("pl_v1_abc").await.unwrap_err();
    let r = gate.render(&err, None);
    assert_eq!(r.status, 401);
    assert_eq!(r.header("www-authenticate"), Some(r#"Bearer realm="api", error="invalid_token""#));
}

#[tokio::test]
async fn scopes_are_checked_with_the_preset_policy() {
    let (gate, _) = gate_with(Preset::workspace());
    let admin =
        mint(&gate, NewKey::new(Owner::workspace("w"), "a").scopes(["admin"]).unwrap()).await;
    let reader =
        mint(&gate, NewKey::new(Owner::workspace("w"), "r").scopes(["read:all"]).unwrap()).await;
    let write = Requirement::all_of(["tasks:write"]).unwrap();
    let read = Requirement::all_of(["tasks:read"]).unwrap();
    let a = gate.verify(admin.key.expose_secret()).await.unwrap();
    let r = gate.verify(reader.key.expose_secret()).await.unwrap();
    assert!(gate.authorize(&a, &write).is_ok());
    assert!(gate.authorize(&r, &read).is_ok());
    let err = gate.authorize(&r, &write).unwrap_err();
    let AuthError::InsufficientScope(denied) = &err else { panic!("{err:?}") };
    assert_eq!(denied.required()[0].as_str(), "tasks:write");
    assert_eq!(denied.granted()[0].as_str(), "read:all");
}

#[tokio::test]
async fn minting_checks_its_input() {
    let (gate, _) = gate_with(Preset::productlane());
    let owner = || Owner::workspace("w");
    let unknown = NewKey::new(owner(), "k").scopes(["billing:read"]).unwrap();
    assert!(matches!(gate.mint(unknown).await, Err(ManageError::Scope(ScopeError::Unknown(_)))));
    assert!(matches!(gate.mint(NewKey::new(owner(), "")).await, Err(ManageError::Name)));
    assert!(matches!(
        gate.mint(NewKey::new(owner(), "x".repeat(201))).await,
        Err(ManageError::Name)
    ));
    assert!(
        gate.mint(NewKey::new(owner(), "é".repeat(200))).await.is_ok(),
        "200 characters is fine"
    );
    let past = NewKey::new(owner(), "k").expires_at(start());
    assert!(matches!(gate.mint(past).await, Err(ManageError::ExpiryInPast)));
    let test = NewKey::new(owner(), "k").environment(Environment::Test);
    assert!(matches!(gate.mint(test).await, Err(ManageError::Environment(Environment::Test))));
    let plan = NewKey::new(owner(), "k").rate_plan("gold");
    assert!(matches!(gate.mint(plan).await, Err(ManageError::UnknownPlan(_))));
}

#[tokio::test]
async fn an_unreachable_store_fails_closed() {
    for preset in [Preset::productlane(), Preset::plane(), Preset::livetest(), Preset::workspace()]
    {
        let format = preset.format.clone();
        let store = Switchable::new(MemoryStore::new());
        store.set_down(true);
        let gate = Keygate::builder(preset).random_pepper().store(Arc::new(store)).build().unwrap();
        let key = format.generate(Environment::Live).unwrap();
        let err = gate.verify(key.expose_secret()).await.unwrap_err();
        assert!(matches!(err, AuthError::Unavailable(_)));
        let r = gate.render(&err, Some("req_1"));
        assert_eq!(r.status, 503);
        assert!(r.body.contains("unavailable"), "{}", r.body);
        // A malformed key is still refused before any store I/O.
        assert!(matches!(gate.verify("nope").await, Err(AuthError::Malformed(_))));
    }
}

#[test]
fn building_without_a_pepper_is_an_error() {
    assert!(matches!(
        Keygate::builder(Preset::livetest()).build(),
        Err(keygate::BuildError::NoPepper)
    ));
}

/// Every bad input of the core issue, through `verify` with real header lists.
#[tokio::test]
async fn bad_inputs_get_their_documented_errors() {
    let (gate, _) = gate_with(Preset::livetest());
    let minted = mint(&gate, new_key()).await;
    let key = minted.key.expose_secret().to_owned();
    let auth = |v: &[u8]| vec![("authorization".to_owned(), v.to_vec())];

    // Accepted: lowercase scheme, several spaces.
    assert!(
        gate.authenticate(&auth(format!("bearer {key}").as_bytes()), Peer::default()).await.is_ok()
    );
    assert!(
        gate.authenticate(&auth(format!("Bearer    {key}").as_bytes()), Peer::default())
            .await
            .is_ok()
    );

    let malformed = |e: &AuthError| matches!(e, AuthError::Malformed(_));
    type Expect = fn(&AuthError) -> bool;
    let cases: Vec<(&str, Vec<u8>, Expect)> = vec![
        ("empty value", b"".to_vec(), |e| matches!(e, AuthError::Missing)),
        ("scheme alone", b"Bearer".to_vec(), |e| {
            matches!(e, AuthError::Malformed(Malformed::Empty))
        }),
        ("tab separator", format!("Bearer\t{key}").into_bytes(), |e| {
            matches!(e, AuthError::Malformed(Malformed::InvalidCharacter))
        }),
        ("Basic", b"Basic dXNlcjpwYXNz".to_vec(), |e| {
            matches!(e, AuthError::Malformed(Malformed::Scheme))
        }),
        ("Token", format!("Token {key}").into_bytes(), |e| {
            matches!(e, AuthError::Malformed(Malformed::Scheme))
        }),
        ("no separator", format!("Bearer{key}").into_bytes(), |e| {
            matches!(e, AuthError::Malformed(Malformed::Scheme))
        }),
        ("trailing CR", format!("Bearer {key}\r").into_bytes(), malformed),
        ("trailing LF", format!("Bearer {key}\n").into_bytes(), malformed),
        ("NUL", format!("Bearer {key}\0").into_bytes(), malformed),
        ("non-ASCII", format!("Bearer {key}é").into_bytes(), malformed),
        (
            "invalid UTF-8",
            [b"Bearer ".as_slice(), &[0xff, 0xfe], key.as_bytes()].concat(),
            malformed,
        ),
        (
            "fullwidth",
            format!("Bearer {}", key.replacen('s', "\u{ff53}", 1)).into_bytes(),
            malformed,
        ),
        ("zero-width", format!("Bearer {}\u{200b}", key).into_bytes(), malformed),
        ("quoted", format!("Bearer \"{key}\"").into_bytes(), |e| {
            matches!(e, AuthError::Malformed(Malformed::Key(ParseError::InvalidCharacter)))
        }),
        ("url-encoded", format!("Bearer {}", key.replace('_', "%5F")).into_bytes(), |e| {
            matches!(e, AuthError::Malformed(Malformed::Key(ParseError::InvalidCharacter)))
        }),
        ("one short", format!("Bearer {}", &key[..key.len() - 1]).into_bytes(), |e| {
            matches!(e, AuthError::Malformed(Malformed::Key(ParseError::WrongLength)))
        }),
        ("one long", format!("Bearer {key}A").into_bytes(), |e| {
            matches!(e, AuthError::Malformed(Malformed::Key(ParseError::WrongLength)))
        }),
        (
            "bad checksum",
            format!(
                "Bearer {}{}",
                &key[..key.len() - 1],
                if key.ends_with('A') { 'B' } else { 'A' }
            )
            .into_bytes(),
            |e| matches!(e, AuthError::Malformed(Malformed::Key(ParseError::BadChecksum))),
        ),
        ("unknown prefix", format!("Bearer xx_{}", &key[3..]).into_bytes(), |e| {
            matches!(e, AuthError::Malformed(Malformed::Key(ParseError::UnknownPrefix)))
        }),
        ("1 MiB", [b"Bearer ".as_slice(), &vec![b'a'; 1 << 20]].concat(), |e| {
            matches!(e, AuthError::Malformed(Malformed::TooLong))
        }),
    ];
    for (name, value, expected) in cases {
        let err = gate.authenticate(&auth(&value), Peer::default()).await.unwrap_err();
        assert!(expected(&err), "{name}: got {err:?}");
        let r = gate.render(&err, Some("req_1"));
        assert_eq!(r.status, 401, "{name}");
        assert!(r.body.contains(r#""code":"unauthenticated""#), "{name}");
    }

    // Two Authorization headers, or Bearer plus X-Api-Key where both are read: 400.
    let twice = vec![
        ("Authorization", format!("Bearer {key}")),
        ("authorization", format!("Bearer {key}")),
    ];
    let err = gate.authenticate(&twice, Peer::default()).await.unwrap_err();
    assert!(matches!(err, AuthError::InvalidRequest(InvalidRequest::RepeatedHeader(_))));
    assert_eq!(gate.render(&err, None).status, 400);

    let mut both = Preset::livetest();
    both.sources = keygate::credential::CredentialSources::bearer_or_header("X-Api-Key");
    let both = Keygate::builder(both).random_pepper().store(gate.store().clone()).build().unwrap();
    let err = both
        .authenticate(
            &[("Authorization", format!("Bearer {key}")), ("X-Api-Key", key.clone())],
            Peer::default(),
        )
        .await
        .unwrap_err();
    assert!(matches!(err, AuthError::InvalidRequest(InvalidRequest::MultipleCredentials)));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn memory_store_passes_the_store_suite() {
    keygate::store::suite::run(Arc::new(MemoryStore::new())).await;
}

#[tokio::test]
async fn keys_keep_verifying_across_a_pepper_rotation() {
    let store: Arc<dyn KeyStore> = Arc::new(MemoryStore::new());
    let old = Keygate::builder(Preset::livetest())
        .pepper(1, Pepper::new([1u8; 32]).unwrap())
        .store(store.clone())
        .build()
        .unwrap();
    let before = mint(&old, new_key()).await;
    // The deployment moves to pepper 2 and keeps pepper 1 for the keys hashed with it.
    let new = Keygate::builder(Preset::livetest())
        .pepper(2, Pepper::new([2u8; 32]).unwrap())
        .retired_pepper(1, Pepper::new([1u8; 32]).unwrap())
        .store(store.clone())
        .build()
        .unwrap();
    let after = mint(&new, new_key()).await;
    assert_eq!(after.record.pepper_version, 2);
    assert!(new.verify(before.key.expose_secret()).await.is_ok(), "old keys still verify");
    assert!(new.verify(after.key.expose_secret()).await.is_ok());
    // Without the old pepper, its keys cannot be checked: refused as unknown, never accepted,
    // and never a 503 that would tell an outsider the id exists.
    let forgetful = Keygate::builder(Preset::livetest())
        .pepper(2, Pepper::new([2u8; 32]).unwrap())
        .store(store)
        .build()
        .unwrap();
    assert!(matches!(
        forgetful.verify(before.key.expose_secret()).await,
        Err(AuthError::Invalid(InvalidKey::UnknownId))
    ));
}
