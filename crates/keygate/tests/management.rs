//! Key management acting for a caller, through the library and the framework-neutral
//! management API: the workspace cap, the tenant plan switch, and what `Debug` shows.

#![allow(clippy::unwrap_used)]

mod common;

use std::sync::Arc;
use std::time::Duration;

use keygate::adapter::ApiRequest;
use keygate::caller::Caller;
use keygate::clock::ManualClock;
use keygate::format::Environment;
use keygate::limit::RatePlan;
use keygate::manage::{ManageError, NewKey};
use keygate::preset::Preset;
use keygate::response::Response;
use keygate::scope::ScopeSet;
use keygate::store::{KeyKind, KeyUpdate, Owner};
use keygate::{Keygate, KeygateBuilder};

fn gate_builder() -> (KeygateBuilder, ManualClock) {
    let clock = ManualClock::new(common::at("2026-10-14T12:00:00Z"));
    (common::builder(Preset::livetest(), &clock), clock)
}

async fn admin(gate: &Keygate) -> String {
    let new = NewKey::new(Owner::workspace("wks_1"), "admin").scopes(["admin:*"]).unwrap();
    gate.mint(new).await.unwrap().key.expose_secret().to_owned()
}

async fn call(gate: &Keygate, key: &str, method: &str, path: &str, body: &str) -> Response {
    let auth = format!("Bearer {key}");
    let headers = [("authorization", auth.as_str()), ("x-request-id", "req_1")];
    let (path, query) = path.split_once('?').map_or((path, None), |(p, q)| (p, Some(q)));
    let request = ApiRequest::new(method, path, &headers[..]).query(query).body(body.as_bytes());
    gate.handle_api(request, None).await
}

fn json(r: &Response) -> serde_json::Value {
    serde_json::from_str(&r.body).unwrap()
}

#[tokio::test]
async fn a_workspace_holds_at_most_its_cap_of_keys_in_force() {
    let (builder, clock) = gate_builder();
    let gate = builder.max_keys_per_workspace(3).build().unwrap();
    let key = admin(&gate).await;
    let mint = r#"{"name":"k","permissions":["tasks:read"]}"#;
    let first = call(&gate, &key, "POST", "/v1/api-keys", mint).await;
    assert_eq!(first.status, 201, "{}", first.body);
    let expiring =
        r#"{"name":"k","permissions":["tasks:read"],"expires_at":"2026-10-14T12:00:10Z"}"#;
    assert_eq!(call(&gate, &key, "POST", "/v1/api-keys", expiring).await.status, 201);

    // The admin key and two more: the cap. The next is refused and nothing is added.
    let refused = call(&gate, &key, "POST", "/v1/api-keys", mint).await;
    assert_eq!(refused.status, 409);
    assert_eq!(
        refused.body,
        r#"{"error":{"code":"key_limit_reached","message":"This workspace already holds 3 keys. Revoke one to mint another.","details":{},"request_id":"req_1"}}"#
    );
    let listed = call(&gate, &key, "GET", "/v1/api-keys", "").await;
    assert_eq!(json(&listed)["data"].as_array().unwrap().len(), 3);

    // An expired key no longer counts; a revoked one neither.
    clock.advance(Duration::from_secs(10));
    assert_eq!(call(&gate, &key, "POST", "/v1/api-keys", mint).await.status, 201);
    assert_eq!(call(&gate, &key, "POST", "/v1/api-keys", mint).await.status, 409);
    let id = json(&first)["id"].as_str().unwrap().to_owned();
    assert_eq!(call(&gate, &key, "DELETE", &format!("/v1/api-keys/{id}"), "").await.status, 200);
    assert_eq!(call(&gate, &key, "POST", "/v1/api-keys", mint).await.status, 201);

    // Another workspace has a cap of its own; the operator is not capped.
    let other = Caller::new("wks_2", Environment::Live, ScopeSet::parse(["admin:*"]).unwrap());
    let new = NewKey::new(Owner::workspace("wks_2"), "k");
    gate.acting_for(&other).mint(new).await.unwrap();
    gate.mint(NewKey::new(Owner::workspace("wks_1"), "operator's")).await.unwrap();
    let capped = Caller::new("wks_1", Environment::Live, ScopeSet::parse(["admin:*"]).unwrap());
    let new = NewKey::new(Owner::workspace("wks_1"), "k");
    assert!(matches!(
        gate.acting_for(&capped).mint(new).await,
        Err(ManageError::KeyLimitReached(3))
    ));
}

#[tokio::test]
async fn rate_plans_are_the_operators_unless_the_deployment_opts_in() {
    let (builder, _) = gate_builder();
    let gate = builder.build().unwrap();
    let key = admin(&gate).await;
    let body = r#"{"name":"k","rate_plan":"professional"}"#;
    let r = call(&gate, &key, "POST", "/v1/api-keys", body).await;
    assert_eq!((r.status, json(&r)["error"]["code"].as_str()), (403, Some("field_not_allowed")));
    // The operator sets it through the library.
    let minted = gate
        .mint(NewKey::new(Owner::workspace("wks_1"), "pro").rate_plan("professional"))
        .await
        .unwrap();
    assert_eq!(minted.record.rate_plan.as_deref(), Some("professional"));

    let (builder, _) = gate_builder();
    let gate = builder.tenant_rate_plans(true).build().unwrap();
    let key = admin(&gate).await;
    let r = call(&gate, &key, "POST", "/v1/api-keys", body).await;
    assert_eq!(r.status, 201, "{}", r.body);
    assert_eq!(json(&r)["rate_plan"], "professional");
    let id = json(&r)["id"].as_str().unwrap().to_owned();
    let r =
        call(&gate, &key, "PATCH", &format!("/v1/api-keys/{id}"), r#"{"rate_plan":null}"#).await;
    assert_eq!((r.status, json(&r)["rate_plan"].is_null()), (200, true));
    let r =
        call(&gate, &key, "PATCH", &format!("/v1/api-keys/{id}"), r#"{"rate_plan":"gold"}"#).await;
    assert_eq!(r.status, 400, "an unknown plan is still refused: {}", r.body);
}

#[tokio::test]
async fn a_keys_own_windows_are_the_operators_even_where_tenants_choose_plans() {
    let (builder, _) = gate_builder();
    let gate = builder.tenant_rate_plans(true).build().unwrap();
    let key = admin(&gate).await;
    // A tenant could otherwise lift its own limits to anything.
    let body = r#"{"name":"k","rate_limits":["18446744073709551615/ms"]}"#;
    let r = call(&gate, &key, "POST", "/v1/api-keys", body).await;
    assert_eq!((r.status, json(&r)["error"]["code"].as_str()), (403, Some("field_not_allowed")));
    let id = gate.verify(&key).await.unwrap().key_id();
    let path = format!("/v1/api-keys/{id}");
    let r = call(&gate, &key, "PATCH", &path, r#"{"rate_limits":["1000/s"]}"#).await;
    assert_eq!(r.status, 403, "{}", r.body);
    let r = call(&gate, &key, "PATCH", &path, r#"{"rate_limits":null}"#).await;
    assert_eq!(r.status, 403, "{}", r.body);
    // What is not a window is told so first.
    for (bad, says) in [
        (r#"{"rate_limits":["10/0s"]}"#, "\"10/0s\" is not a window such as 10/s or 1000/h"),
        (r#"{"rate_limits":["1/400d"]}"#, "at most 366 days"),
        (r#"{"rate_limits":"10/s"}"#, "rate_limits must be a list of windows"),
        (r#"{"rate_limits":["1/s","2/s","3/s","4/s","5/s"]}"#, "at most 4 windows"),
    ] {
        let r = call(&gate, &key, "PATCH", &path, bad).await;
        assert_eq!(r.status, 400, "{bad}: {}", r.body);
        let message = json(&r)["error"]["message"].as_str().unwrap().to_owned();
        assert!(message.contains(says), "{bad}: {message}");
    }
    // The operator sets them.
    let windows = ["10/s".parse().unwrap(), "1000/h".parse().unwrap()];
    let info = gate
        .update_key(
            &id,
            KeyUpdate { rate_limits: Some(Some(RatePlan::of_key(windows))), ..Default::default() },
        )
        .await
        .unwrap();
    let r = call(&gate, &key, "GET", &path, "").await;
    assert_eq!(json(&r)["rate_limits"], serde_json::json!(["10/1s", "1000/3600s"]));
    assert_eq!(info.rate_limits.len(), 2);
}

#[tokio::test]
async fn a_caller_mints_only_for_itself() {
    let (builder, _) = gate_builder();
    let gate = builder.build().unwrap();
    let admin = ScopeSet::parse(["admin:*"]).unwrap();
    let user = Caller::new("wks_1", Environment::Live, admin.clone()).user("usr_1");
    let keys = gate.acting_for(&user);
    for owner in
        [Owner::workspace("wks_1"), Owner::user("wks_1", "usr_2"), Owner::user("wks_2", "usr_1")]
    {
        let refused = keys.mint(NewKey::new(owner.clone(), "k")).await;
        assert!(matches!(refused, Err(ManageError::FieldNotAllowed("owner"))), "{owner:?}");
    }
    let mine = keys.mint(NewKey::new(Owner::user("wks_1", "usr_1"), "k")).await.unwrap();
    assert_eq!(mine.record.owner, Owner::user("wks_1", "usr_1"));
    let service = NewKey::new(Owner::user("wks_1", "usr_1"), "k").kind(KeyKind::Service);
    assert!(matches!(keys.mint(service).await, Err(ManageError::FieldNotAllowed("kind"))));
    let page = keys.list(None, 100).await.unwrap();
    assert_eq!(page.keys.iter().map(|k| k.id).collect::<Vec<_>>(), vec![mine.record.id]);

    // A workspace caller mints for anyone in its workspace, in its own environment by default.
    let test = Caller::new("wks_1", Environment::Test, admin);
    let minted =
        gate.acting_for(&test).mint(NewKey::new(Owner::user("wks_1", "usr_9"), "k")).await.unwrap();
    assert_eq!(minted.record.environment, Environment::Test);
    assert!(minted.key.expose_secret().starts_with("sk_test_"));
}

#[tokio::test]
async fn debug_never_shows_a_credential_or_a_key_in_an_answer() {
    let (builder, clock) = gate_builder();
    let gate = builder.build().unwrap();
    let key = admin(&gate).await;
    let auth = format!("Bearer {key}");
    let headers = [("authorization", auth.as_str())];
    let body = br#"{"name":"k","permissions":["tasks:read"]}"#;
    let request = ApiRequest::new("POST", "/v1/api-keys", &headers[..]).body(body);
    let shown = format!("{request:?}");
    assert!(!shown.contains(&key[8..]), "{shown}");
    assert!(!shown.contains("tasks:read"), "the body is not shown: {shown}");

    let minted = gate.handle_api(request, None).await;
    assert_eq!(minted.status, 201);
    assert_eq!(minted.header("cache-control"), Some("no-store"));
    let new_key = json(&minted)["key"].as_str().unwrap().to_owned();
    let shown = format!("{minted:?}");
    assert!(!shown.contains(&new_key[8..]), "{shown}");

    let id = json(&minted)["id"].as_str().unwrap().to_owned();
    clock.advance(Duration::from_secs(1));
    let rotated = call(&gate, &key, "POST", &format!("/v1/api-keys/{id}/rotate"), "").await;
    assert_eq!((rotated.status, rotated.header("cache-control")), (201, Some("no-store")));
    let rotated_key = json(&rotated)["key"].as_str().unwrap().to_owned();
    assert!(!format!("{rotated:?}").contains(&rotated_key[8..]));

    // Answers without a key are shown in full, and are not marked.
    let listed = call(&gate, &key, "GET", "/v1/api-keys", "").await;
    assert_eq!(listed.header("cache-control"), None);
    assert!(format!("{listed:?}").contains(&id));
}

#[tokio::test]
async fn a_long_description_and_an_unreachable_store_are_told_apart() {
    use keygate::store::suite::Switchable;
    use keygate::store::{MemoryStore, StoreError};

    let store = Arc::new(Switchable::new(MemoryStore::new()));
    let (builder, _) = gate_builder();
    let gate = builder.store(store.clone()).build().unwrap();
    let key = admin(&gate).await;

    let long = "d".repeat(2001);
    let new = NewKey::new(Owner::workspace("wks_1"), "k").description(long.clone());
    assert!(matches!(gate.mint(new).await, Err(ManageError::Description)));
    let body = format!(r#"{{"name":"k","description":"{long}"}}"#);
    let r = call(&gate, &key, "POST", "/v1/api-keys", &body).await;
    assert_eq!(
        r.body,
        r#"{"error":{"code":"invalid_request","message":"description must be at most 2000 characters.","details":{"field":"description"},"request_id":"req_1"}}"#
    );
    let fine = "d".repeat(2000);
    let new = NewKey::new(Owner::workspace("wks_1"), "k").description(fine);
    let id = gate.mint(new).await.unwrap().record.id;
    let changes = keygate::store::KeyUpdate { description: Some(Some(long)), ..Default::default() };
    assert!(matches!(gate.update_key(&id, changes).await, Err(ManageError::Description)));

    // The store goes down after the key was verified once: every operation says so, as 503.
    let verified = gate.verify(&key).await.unwrap();
    store.set_down(true);
    let new = NewKey::new(Owner::workspace("wks_1"), "k");
    assert!(matches!(gate.mint(new).await, Err(ManageError::Store(StoreError::Unavailable(_)))));
    let caller = Caller::of(&verified);
    assert!(matches!(
        gate.acting_for(&caller).get(&id).await,
        Err(ManageError::Store(StoreError::Unavailable(_)))
    ));
    let r = call(&gate, &key, "GET", "/v1/api-keys", "").await;
    assert_eq!(r.status, 503, "{}", r.body);
    assert!(r.body.contains(r#""code":"unavailable""#), "{}", r.body);
}

#[tokio::test]
async fn turning_back_on_or_extending_a_key_needs_its_scopes_and_rotation_respects_the_cap() {
    use keygate::store::KeyUpdate;

    let (builder, _) = gate_builder();
    let gate = builder.max_keys_per_workspace(3).build().unwrap();
    let strong = NewKey::new(Owner::workspace("wks_1"), "strong").scopes(["tasks:delete"]).unwrap();
    let id = gate.mint(strong).await.unwrap().record.id;
    let off = KeyUpdate { disabled: Some(true), ..KeyUpdate::default() };
    gate.update_key(&id, off).await.unwrap();

    // `admin:*` holds everything in this preset; the narrow caller does not hold `tasks:delete`.
    let full = Caller::new("wks_1", Environment::Live, ScopeSet::parse(["admin:*"]).unwrap());
    let narrow = Caller::new("wks_1", Environment::Live, ScopeSet::parse(["tasks:read"]).unwrap());
    let keys = gate.acting_for(&narrow);
    for change in [
        KeyUpdate { disabled: Some(false), ..KeyUpdate::default() },
        KeyUpdate { expires_at: Some(None), ..KeyUpdate::default() },
    ] {
        assert!(
            matches!(keys.update(&id, change.clone()).await, Err(ManageError::ScopeNotHeld(_))),
            "{change:?}"
        );
    }
    let rename = KeyUpdate { name: Some("renamed".into()), ..KeyUpdate::default() };
    assert_eq!(keys.update(&id, rename).await.unwrap().name, "renamed");
    let on = KeyUpdate { disabled: Some(false), ..KeyUpdate::default() };
    assert!(
        !gate.acting_for(&full).update(&id, on).await.unwrap().disabled,
        "one that holds it can"
    );

    // Cap 3: the strong key and two more are in force; rotating with a grace period would make
    // four for a while, so it is refused; at once it is not.
    let keys = gate.acting_for(&full);
    for name in ["a", "b"] {
        keys.mint(NewKey::new(Owner::workspace("wks_1"), name)).await.unwrap();
    }
    let refused = keys.rotate(&id, Duration::from_secs(60)).await;
    assert!(matches!(refused, Err(ManageError::KeyLimitReached(3))), "{refused:?}");
    keys.rotate(&id, Duration::ZERO).await.unwrap();
}

#[tokio::test]
async fn a_keys_usage_per_day_comes_from_the_flush_with_every_day_up_to_today() {
    let (builder, clock) = gate_builder();
    let gate = builder.build().unwrap();
    let key = admin(&gate).await;
    let other = gate.mint(NewKey::new(Owner::workspace("wks_1"), "used")).await.unwrap();
    let bearer = format!("Bearer {}", other.key.expose_secret());
    let use_it = |n: usize| {
        let (gate, bearer) = (&gate, &bearer);
        async move {
            for _ in 0..n {
                gate.authenticate(&[("authorization", bearer.as_str())], None).await.unwrap();
            }
            gate.flush_usage().await.unwrap();
        }
    };
    use_it(3).await;
    clock.advance(std::time::Duration::from_secs(86_400));
    use_it(2).await;
    let id = other.record.id;
    let usage = |query: &str| {
        let path = format!("/v1/api-keys/{id}/usage{query}");
        let (gate, key) = (&gate, &key);
        async move { call(gate, key, "GET", &path, "").await }
    };
    let r = usage("?days=3").await;
    assert_eq!(r.status, 200, "{}", r.body);
    assert_eq!(
        json(&r)["data"],
        serde_json::json!([
            {"date": "2026-10-13", "count": 0},
            {"date": "2026-10-14", "count": 3},
            {"date": "2026-10-15", "count": 2},
        ])
    );
    assert_eq!(json(&usage("").await)["data"].as_array().unwrap().len(), 30, "30 by default");
    assert_eq!(json(&usage("?days=90").await)["data"].as_array().unwrap().len(), 90);
    for bad in ["?days=0", "?days=91", "?days=x"] {
        let r = usage(bad).await;
        assert_eq!(r.status, 400, "{bad}: {}", r.body);
        assert!(r.body.contains("days must be a whole number from 1 to 90."), "{}", r.body);
    }
    // Another workspace's key does not exist for this caller.
    let stranger = gate.mint(NewKey::new(Owner::workspace("wks_2"), "x")).await.unwrap().record.id;
    let r = call(&gate, &key, "GET", &format!("/v1/api-keys/{stranger}/usage"), "").await;
    assert_eq!(r.status, 404, "{}", r.body);
    let r = call(&gate, &key, "POST", &format!("/v1/api-keys/{id}/usage"), "").await;
    assert_eq!(r.status, 405, "{}", r.body);
}
