//! Keys that carry their own terms, over real HTTP on every framework: metadata and networks.

#![allow(clippy::unwrap_used)]

use keygate_conformance::expect::{invalid_field, plain};
use keygate_conformance::{FRAMEWORKS, PRESETS, Request, Server};
use serde_json::json;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn metadata_is_set_at_mint_and_by_patch_and_shown_in_details_and_me() {
    for &framework in FRAMEWORKS {
        for preset in PRESETS {
            let s = Server::start(framework, preset).await;
            metadata(&s).await;
            s.stop().await;
        }
    }
}

async fn metadata(s: &Server) {
    let name = s.name();
    let (id, key) =
        s.mint(&["tasks:read"], r#""metadata":{"customer":"cus_42","beta":true}"#).await;
    let me = s.send(s.with_key(Request::get("/v1/me"), &key)).await.json();
    assert_eq!(me["metadata"], json!({"customer":"cus_42","beta":true}), "{name}: /v1/me");
    let details = s.admin(Request::get(&format!("/v1/api-keys/{id}"))).await.json();
    assert_eq!(details["metadata"], json!({"customer":"cus_42","beta":true}), "{name}: details");

    let patch = Request::new("PATCH", &format!("/v1/api-keys/{id}"));
    let r = s.admin(patch.clone().json(r#"{"metadata":{"tier":"pro"}}"#)).await;
    assert_eq!(r.status, 200, "{name}: patch: {}", r.body);
    assert_eq!(r.json()["metadata"], json!({"tier":"pro"}), "{name}: replaced, not merged");
    let me = s.send(s.with_key(Request::get("/v1/me"), &key)).await.json();
    assert_eq!(me["metadata"], json!({"tier":"pro"}), "{name}: in effect on the next request");

    let r = s.admin(patch.clone().json(r#"{"name":"renamed"}"#)).await;
    assert_eq!(r.json()["metadata"], json!({"tier":"pro"}), "{name}: an absent field is kept");
    let r = s.admin(patch.clone().json(r#"{"metadata":null}"#)).await;
    assert_eq!(r.status, 200, "{name}: {}", r.body);
    assert!(r.json()["metadata"].is_null(), "{name}: null removes it");

    // Without metadata, `/v1/me` says null.
    let (_, plain_key) = s.mint(&["tasks:read"], "").await;
    let me = s.send(s.with_key(Request::get("/v1/me"), &plain_key)).await.json();
    assert!(me["metadata"].is_null(), "{name}: no metadata");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn metadata_that_is_not_a_small_object_is_refused_in_the_presets_style() {
    let message = "metadata must be a JSON object of at most 4096 bytes.";
    let big = format!(r#"{{"blob":"{}"}}"#, "x".repeat(4096));
    for &framework in FRAMEWORKS {
        for preset in PRESETS {
            let s = Server::start(framework, preset).await;
            let field = s.preset.scopes_field;
            let (id, _) = s.mint(&["tasks:read"], "").await;
            let bodies = [
                format!(r#"{{"name":"m","{field}":[],"metadata":[1,2]}}"#),
                format!(r#"{{"name":"m","{field}":[],"metadata":"text"}}"#),
                format!(r#"{{"name":"m","{field}":[],"metadata":{big}}}"#),
            ];
            for (i, body) in bodies.iter().enumerate() {
                let rid = format!("meta-{i}");
                let req =
                    Request::new("POST", "/v1/api-keys").json(body).header("X-Request-Id", &rid);
                let r = s.admin(req).await;
                invalid_field("metadata", message).check(&r, &s.preset, &rid, &s.name());
            }
            let req = Request::new("PATCH", &format!("/v1/api-keys/{id}"))
                .json(&format!(r#"{{"metadata":{big}}}"#))
                .header("X-Request-Id", "meta-p");
            let r = s.admin(req).await;
            invalid_field("metadata", message).check(&r, &s.preset, "meta-p", &s.name());
            let list = s.admin(Request::get("/v1/api-keys")).await.json();
            assert_eq!(list["data"].as_array().unwrap().len(), 2, "{}: nothing minted", s.name());
            s.stop().await;
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_key_bound_to_other_networks_is_refused_after_its_secret_matched() {
    for &framework in FRAMEWORKS {
        for preset in PRESETS {
            let s = Server::start(framework, preset).await;
            let name = s.name();
            let (id, key) = s.mint(&["tasks:read"], r#""allowed_ips":["203.0.113.0/24"]"#).await;
            let details = s.admin(Request::get(&format!("/v1/api-keys/{id}"))).await.json();
            assert_eq!(details["allowed_ips"], json!(["203.0.113.0/24"]), "{name}: details");

            let r = s
                .send(s.with_key(Request::get("/v1/tasks"), &key).header("X-Request-Id", "net-1"))
                .await;
            let message = "This key cannot be used from this address.";
            plain(403, "forbidden", message, "").check(&r, &s.preset, "net-1", &name);
            // A wrong secret from the same address is the usual 401: the networks of a key are
            // told only to its holder.
            let mut wrong = key.clone().into_bytes();
            let at = wrong.len() - 10;
            wrong[at] = if wrong[at] == b'A' { b'B' } else { b'A' };
            let wrong = String::from_utf8(wrong).unwrap();
            let r = s.send(s.with_key(Request::get("/v1/tasks"), &wrong)).await;
            assert_eq!(r.status, 401, "{name}: a wrong secret");

            let patch = Request::new("PATCH", &format!("/v1/api-keys/{id}"));
            let r = s
                .admin(patch.clone().json(r#"{"allowed_ips":["127.0.0.0/8","2001:db8::1"]}"#))
                .await;
            assert_eq!(r.status, 200, "{name}: patch: {}", r.body);
            assert_eq!(r.json()["allowed_ips"], json!(["127.0.0.0/8", "2001:db8::1/128"]));
            let r = s.send(s.with_key(Request::get("/v1/tasks"), &key)).await;
            assert_eq!(r.status, 200, "{name}: accepted from a network it names: {}", r.body);

            let r = s
                .admin(
                    patch
                        .json(r#"{"allowed_ips":["10.0.0.0/33"]}"#)
                        .header("X-Request-Id", "net-2"),
                )
                .await;
            let message = r#""10.0.0.0/33" is not a CIDR such as 203.0.113.0/24."#;
            invalid_field("allowed_ips", message).check(&r, &s.preset, "net-2", &name);
            s.stop().await;
        }
    }
}

/// What a key out of credits is told, in each style.
fn usage_exceeded(retry_after: Option<u64>) -> keygate_conformance::expect::Expected<'static> {
    match retry_after {
        None => plain(429, "usage_exceeded", "The key has used all its credits.", ""),
        Some(secs) => plain(
            429,
            "usage_exceeded",
            &format!("The key has used all its credits. They are refilled in {secs} seconds."),
            &format!(r#""retry_after":{secs}"#),
        ),
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_key_with_credits_passes_as_many_requests_then_is_refused_until_its_refill() {
    for &framework in FRAMEWORKS {
        for preset in PRESETS {
            let s = Server::start(framework, preset).await;
            credits(&s).await;
            s.stop().await;
        }
    }
}

async fn credits(s: &Server) {
    let name = s.name();
    let (id, key) = s.mint(&["tasks:read"], r#""remaining":3"#).await;
    let details = s.admin(Request::get(&format!("/v1/api-keys/{id}"))).await.json();
    assert_eq!(details["remaining"], json!(3), "{name}: details");
    assert!(details["refill"].is_null(), "{name}: no refill");
    for i in 0..3 {
        let r = s.send(s.with_key(Request::get("/v1/tasks"), &key)).await;
        assert_eq!(r.status, 200, "{name}: request {i}: {}", r.body);
    }
    let r =
        s.send(s.with_key(Request::get("/v1/tasks"), &key).header("X-Request-Id", "cr-1")).await;
    usage_exceeded(None).check(&r, &s.preset, "cr-1", &name);
    assert_eq!(r.header("retry-after"), None, "{name}: no refill, no Retry-After");
    let details = s.admin(Request::get(&format!("/v1/api-keys/{id}"))).await.json();
    assert_eq!(details["remaining"], json!(0), "{name}: the refused request spent nothing");

    // Raised by PATCH; `/v1/me` shows the balance after its own request.
    let patch = Request::new("PATCH", &format!("/v1/api-keys/{id}"));
    let r = s.admin(patch.clone().json(r#"{"remaining":2}"#)).await;
    assert_eq!((r.status, r.json()["remaining"].clone()), (200, json!(2)), "{name}: {}", r.body);
    let me = s.send(s.with_key(Request::get("/v1/me"), &key)).await.json();
    assert_eq!(me["remaining"], json!(1), "{name}: /v1/me");

    // A daily refill: the balance is set to its amount at midnight UTC (12 hours away).
    let refill = r#""remaining":1,"refill":{"interval":"daily","amount":2}"#;
    let (rid, rkey) = s.mint(&["tasks:read"], refill).await;
    let details = s.admin(Request::get(&format!("/v1/api-keys/{rid}"))).await.json();
    assert_eq!(details["refill"], json!({"interval":"daily","amount":2}), "{name}: refill");
    assert_eq!(details["refills_at"], json!("2026-10-15T00:00:00Z"), "{name}: refills_at");
    let r = s.send(s.with_key(Request::get("/v1/tasks"), &rkey)).await;
    assert_eq!(r.status, 200, "{name}: {}", r.body);
    s.advance(std::time::Duration::from_secs(43_199));
    let r =
        s.send(s.with_key(Request::get("/v1/tasks"), &rkey).header("X-Request-Id", "cr-2")).await;
    usage_exceeded(Some(1)).check(&r, &s.preset, "cr-2", &name);
    assert_eq!(r.header("retry-after"), Some("1"), "{name}: Retry-After");
    s.advance(std::time::Duration::from_secs(1));
    let me = s.send(s.with_key(Request::get("/v1/me"), &rkey)).await.json();
    assert_eq!(me["remaining"], json!(1), "{name}: refilled to 2 at the boundary, then spent");
    assert_eq!(me["refill"], json!({"interval":"daily","amount":2}), "{name}: /v1/me refill");
    let r = s.send(s.with_key(Request::get("/v1/tasks"), &rkey)).await;
    assert_eq!(r.status, 200, "{name}: {}", r.body);
    let r = s.send(s.with_key(Request::get("/v1/tasks"), &rkey)).await;
    assert_eq!((r.status, r.header("retry-after")), (429, Some("86400")), "{name}: {}", r.body);

    // `null` makes the key unlimited.
    let r = s.admin(patch.json(r#"{"remaining":null}"#)).await;
    assert!(r.json()["remaining"].is_null(), "{name}: {}", r.body);
    let r = s.send(s.with_key(Request::get("/v1/tasks"), &key)).await;
    assert_eq!(r.status, 200, "{name}: unlimited again: {}", r.body);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_caller_with_credits_cannot_mint_an_unlimited_key_or_a_larger_balance() {
    for &framework in FRAMEWORKS {
        for preset in PRESETS {
            let s = Server::start(framework, preset).await;
            let name = s.name();
            let admin = s.preset.admin_scope.as_str();
            let (_, capped) = s.mint(&[admin, "tasks:read"], r#""remaining":10"#).await;
            let field = s.preset.scopes_field;
            let message = "A key with credits can only grant credits it holds itself: a balance no larger than its own, and a refill no larger than its own.";
            let refusals = [
                ("remaining", String::new()),
                ("remaining", r#","remaining":100"#.to_owned()),
                ("refill", r#","remaining":1,"refill":{"interval":"daily","amount":1}"#.to_owned()),
            ];
            for (i, (at, more)) in refusals.iter().enumerate() {
                let rid = format!("cnh-{i}");
                let body = format!(r#"{{"name":"sub","{field}":["tasks:read"]{more}}}"#);
                let req =
                    Request::new("POST", "/v1/api-keys").json(&body).header("X-Request-Id", &rid);
                let r = s.send(s.with_key(req, &capped)).await;
                let details = format!(r#""field":"{at}""#);
                plain(403, "credits_not_held", message, &details).check(&r, &s.preset, &rid, &name);
            }
            // Three refused requests spent three credits, and this one spends one before it is
            // checked: 6 are left to grant.
            let body = format!(r#"{{"name":"sub","{field}":["tasks:read"],"remaining":6}}"#);
            let r =
                s.send(s.with_key(Request::new("POST", "/v1/api-keys").json(&body), &capped)).await;
            assert_eq!(r.status, 201, "{name}: {}", r.body);
            let sub = r.json()["id"].as_str().unwrap().to_owned();
            let patch = Request::new("PATCH", &format!("/v1/api-keys/{sub}"));
            let r = s.send(s.with_key(patch.clone().json(r#"{"remaining":null}"#), &capped)).await;
            assert_eq!(r.status, 403, "{name}: lifting credits: {}", r.body);
            assert!(r.body.contains("credits it holds itself"), "{name}: {}", r.body);
            let r = s.send(s.with_key(patch.json(r#"{"remaining":3}"#), &capped)).await;
            assert_eq!(r.status, 200, "{name}: lowering is allowed: {}", r.body);
            s.stop().await;
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_route_that_costs_two_spends_two_credits_and_counts_twice_in_the_windows() {
    for &framework in FRAMEWORKS {
        let mut windows_seen = 0;
        for preset in PRESETS {
            let s = Server::start(framework, preset).await;
            windows_seen += usize::from(weighted(&s).await);
            s.stop().await;
        }
        assert!(windows_seen > 0, "{framework:?}: no preset limits keys: nothing measured");
    }
}

/// Returns whether the key's plan had windows to check.
async fn weighted(s: &Server) -> bool {
    let name = s.name();
    let create = || Request::new("POST", "/v1/tasks").json(r#"{"title":"weighed"}"#);
    let (id, key) = s.mint(&["tasks:read", "tasks:write"], r#""remaining":3"#).await;
    let r = s.send(s.with_key(create(), &key)).await;
    assert_eq!(r.status, 201, "{name}: 3 credits cover a cost of 2: {}", r.body);
    let details = s.admin(Request::get(&format!("/v1/api-keys/{id}"))).await.json();
    assert_eq!(details["remaining"], json!(1), "{name}: the create spent 2");
    let r = s.send(s.with_key(create().header("X-Request-Id", "w-1"), &key)).await;
    usage_exceeded(None).check(&r, &s.preset, "w-1", &name);
    let details = s.admin(Request::get(&format!("/v1/api-keys/{id}"))).await.json();
    assert_eq!(details["remaining"], json!(1), "{name}: the refused create spent nothing");
    let r = s.send(s.with_key(Request::get("/v1/tasks"), &key)).await;
    assert_eq!(r.status, 200, "{name}: a read costs 1 and still passes: {}", r.body);
    let r = s.send(s.with_key(Request::get("/v1/tasks"), &key)).await;
    assert_eq!(r.status, 429, "{name}: then the balance is spent: {}", r.body);

    // The rate-limit windows count the create twice, where the key's plan has windows.
    let (_, key) = s.mint(&["tasks:read", "tasks:write"], "").await;
    let remaining = |r: &keygate_conformance::Reply| {
        r.header("x-ratelimit-remaining").map(|v| v.parse::<u64>().unwrap())
    };
    let before = remaining(&s.send(s.with_key(Request::get("/v1/tasks"), &key)).await);
    let after_create = remaining(&s.send(s.with_key(create(), &key)).await);
    let after_read = remaining(&s.send(s.with_key(Request::get("/v1/tasks"), &key)).await);
    if let Some(before) = before {
        assert_eq!(after_create, Some(before - 2), "{name}: a create counts 2");
        assert_eq!(after_read, Some(before - 3), "{name}: a read counts 1");
    }
    before.is_some()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_key_with_windows_of_its_own_is_limited_by_them_and_shows_them() {
    use keygate::manage::NewKey;
    use keygate::store::Owner;
    for &framework in FRAMEWORKS {
        for preset in PRESETS {
            let s = Server::start(framework, preset).await;
            let name = s.name();
            // The operator sets them (a tenant cannot: the authorization table covers that).
            let workspace = s.gate.verify(&s.admin_key).await.unwrap().workspace_id().to_owned();
            let windows = ["2/s".parse().unwrap(), "1000/h".parse().unwrap()];
            let scopes = NewKey::new(Owner::workspace(workspace), "bot").scopes(["tasks:read"]);
            let minted = s.gate.mint(scopes.unwrap().rate_limits(windows)).await.unwrap();
            let key = minted.key.expose_secret();
            let id = minted.record.id.to_string();
            let details = s.admin(Request::get(&format!("/v1/api-keys/{id}"))).await.json();
            assert_eq!(details["rate_limits"], json!(["2/1s", "1000/3600s"]), "{name}: details");
            for left in ["1", "0"] {
                let r = s.send(s.with_key(Request::get("/v1/tasks"), key)).await;
                assert_eq!(r.status, 200, "{name}: {}", r.body);
                let limit = (r.header("x-ratelimit-limit"), r.header("x-ratelimit-remaining"));
                assert_eq!(limit, (Some("2"), Some(left)), "{name}: its own window binds");
            }
            let r = s.send(s.with_key(Request::get("/v1/tasks"), key)).await;
            assert_eq!((r.status, r.header("retry-after")), (429, Some("1")), "{name}: {}", r.body);
            s.advance(std::time::Duration::from_secs(1));
            let r = s.send(s.with_key(Request::get("/v1/tasks"), key)).await;
            assert_eq!(r.status, 200, "{name}: the next second: {}", r.body);
            s.stop().await;
        }
    }
}
