//! The management API over real HTTP: the whole key lifecycle, and every validation error.

#![allow(clippy::unwrap_used)]

use std::time::Duration;

use keygate_conformance::expect::{invalid, invalid_field, plain, scope_required};
use keygate_conformance::{FRAMEWORKS, PRESETS, Request, Server};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_key_lifecycle_in_every_preset() {
    for &framework in FRAMEWORKS {
        for preset in PRESETS {
            lifecycle(Server::start(framework, preset).await).await;
        }
    }
}

async fn lifecycle(s: Server) {
    let name = s.name();
    let field = s.preset.scopes_field;

    // Mint: 201, the full key once.
    let body = format!(r#"{{"name":"ci","{field}":["tasks:read"],"description":"pipeline"}}"#);
    let r = s.admin(Request::new("POST", "/v1/api-keys").json(&body)).await;
    assert_eq!(r.status, 201, "{name}: {}", r.body);
    let created = r.json();
    let id = created["id"].as_str().unwrap().to_owned();
    let key = created["key"].as_str().unwrap().to_owned();
    assert!(id.starts_with("key_"));
    assert_eq!(created["name"], "ci");
    assert_eq!(created[field], serde_json::json!(["tasks:read"]));
    assert_eq!(
        created["prefix"].as_str().unwrap(),
        &key[..created["prefix"].as_str().unwrap().len()]
    );
    assert!(created["created_at"].is_string() && created["expires_at"].is_null());

    // Use it.
    for _ in 0..3 {
        let r = s.send(s.with_key(Request::get("/v1/tasks"), &key)).await;
        assert_eq!(r.status, 200, "{name}: use");
    }
    let me = s.send(s.with_key(Request::get("/v1/me"), &key)).await.json();
    assert_eq!(me["api_key_id"], id.as_str());
    assert_eq!(me["workspace_id"], keygate_demo::DEMO_WORKSPACE);
    assert_eq!(me["scopes"], serde_json::json!(["tasks:read"]));

    // List: previews, never the key.
    let r = s.admin(Request::get("/v1/api-keys")).await;
    assert_eq!(r.status, 200);
    assert!(!r.body.contains(&key), "{name}: a listing never shows a key");
    assert!(!r.body.contains(&key[key.len() - 20..]), "{name}: nor any of its secret");
    let list = r.json();
    let item =
        list["data"].as_array().unwrap().iter().find(|k| k["id"] == id.as_str()).unwrap().clone();
    // The listing shows the same preview as the mint: the key's prefix and first four
    // characters of its id, and no more of it.
    let preview = created["prefix"].as_str().unwrap();
    assert_eq!(item["prefix"].as_str(), Some(preview), "{name}: the listed preview");
    let id_start = key.len() - s.preset.format.body_len();
    assert_eq!(preview, &key[..id_start + 4], "{name}: the preview is the prefix and 4 characters");
    assert!(item.get("key").is_none() && item.get("hash").is_none());

    // Details: usage and last_used.
    let r = s.admin(Request::get(&format!("/v1/api-keys/{id}"))).await;
    let details = r.json();
    assert_eq!(details["usage"]["requests_today"], 4, "{name}: {}", r.body);
    assert_eq!(details["usage"]["requests_this_month"], 4);
    assert!(details["last_used"].is_string());
    assert_eq!(details["description"], "pipeline");

    // Patch scopes: in effect on the next request.
    let create = Request::new("POST", "/v1/tasks").json(r#"{"title":"ship it"}"#);
    assert_eq!(s.send(s.with_key(create.clone(), &key)).await.status, 403);
    let patch = format!(r#"{{"{field}":["tasks:read","tasks:write"],"name":"ci (updated)"}}"#);
    let r = s.admin(Request::new("PATCH", &format!("/v1/api-keys/{id}")).json(&patch)).await;
    assert_eq!(r.status, 200, "{name}: patch: {}", r.body);
    assert_eq!(r.json()["name"], "ci (updated)");
    let r = s.send(s.with_key(create, &key)).await;
    assert_eq!(r.status, 201, "{name}: new scope at once: {}", r.body);
    let task = r.json();
    assert_eq!(task["title"], "ship it");

    // Rotate with a grace period.
    let rotate = Request::new("POST", &format!("/v1/api-keys/{id}/rotate"))
        .json(r#"{"grace_period_seconds":60}"#);
    let r = s.admin(rotate).await;
    assert_eq!(r.status, 201, "{name}: rotate: {}", r.body);
    let rotated = r.json();
    let new_id = rotated["id"].as_str().unwrap().to_owned();
    let new_key = rotated["key"].as_str().unwrap().to_owned();
    assert_eq!(rotated["rotated_from"], id.as_str());
    assert_eq!(rotated[field], serde_json::json!(["tasks:read", "tasks:write"]));
    let ping = |k: &str| s.with_key(Request::get("/v1/ping"), k);
    assert_eq!(s.send(ping(&key)).await.status, 200, "{name}: old key in its grace period");
    assert_eq!(s.send(ping(&new_key)).await.status, 200);
    s.advance(Duration::from_secs(60));
    assert_eq!(s.send(ping(&key)).await.status, 401, "{name}: old key after the grace period");
    assert_eq!(s.send(ping(&new_key)).await.status, 200);

    // Revoke: rejected at once.
    let r = s.admin(Request::new("DELETE", &format!("/v1/api-keys/{new_id}"))).await;
    assert_eq!(r.status, 200);
    assert_eq!(r.json()["is_active"], false);
    let r = s.send(ping(&new_key).header("X-Request-Id", "m-1")).await;
    invalid("Key revoked or unknown.").check(&r, &s.preset, "m-1", &format!("{name}: revoked"));

    // The task can be deleted by a key with tasks:delete.
    let (_, deleter) = s.mint(&["tasks:delete"], "").await;
    let task_id = task["id"].as_str().unwrap();
    let r =
        s.send(s.with_key(Request::new("DELETE", &format!("/v1/tasks/{task_id}")), &deleter)).await;
    assert_eq!(r.status, 204, "{name}: delete task: {}", r.body);

    // /v1/rate-limit reads the key's figures.
    let r = s.send(s.with_key(Request::get("/v1/rate-limit"), &deleter)).await;
    let rl = r.json();
    if s.preset.plans.default_plan(keygate::store::KeyKind::User).is_some() {
        assert!(rl["limit"].as_u64().unwrap() > 0);
        assert_eq!(
            rl["remaining"].as_u64().unwrap() + 2,
            rl["limit"].as_u64().unwrap(),
            "{name}: {}",
            r.body
        );
        assert_eq!(r.header("x-ratelimit-remaining"), Some(rl["remaining"].to_string().as_str()));
        assert!(rl["reset_at"].as_str().unwrap().ends_with('Z'));
    } else {
        assert!(rl["limit"].is_null(), "{name}: no plan, no figures");
    }
    s.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn validation_errors_in_every_preset() {
    for &framework in FRAMEWORKS {
        for preset in PRESETS {
            validation(Server::start(framework, preset).await).await;
        }
    }
}

async fn validation(s: Server) {
    let name = s.name();
    let field = s.preset.scopes_field;
    let post = |body: &str, rid: &str| {
        Request::new("POST", "/v1/api-keys").json(body).header("X-Request-Id", rid)
    };
    let long = "x".repeat(201);
    let cases: Vec<(String, keygate_conformance::expect::Expected<'_>)> = vec![
        (
            "{not json".into(),
            plain(
                400,
                "invalid_request",
                "The body is not valid JSON: key must be a string at line 1 column 2.",
                "",
            ),
        ),
        ("[1,2]".into(), plain(400, "invalid_request", "The body must be a JSON object.", "")),
        (r#"{"name":7}"#.into(), invalid_field("name", "name must be a string.")),
        (
            format!(r#"{{"name":"k","{field}":"tasks:read"}}"#),
            invalid_field(field, &format!("{field} must be a list of strings.")),
        ),
        (
            format!(r#"{{"name":"k","{field}":["billing:read"]}}"#),
            invalid_field(field, "Unknown scope `billing:read`."),
        ),
        (
            format!(r#"{{"name":"k","{field}":["not a scope"]}}"#),
            invalid_field(field, "`not a scope` is not a valid scope."),
        ),
        (
            r#"{"name":"k","expires_at":"2020-01-01T00:00:00Z"}"#.into(),
            invalid_field("expires_at", "expires_at must be in the future."),
        ),
        (
            r#"{"name":"k","expires_at":"tomorrow"}"#.into(),
            invalid_field(
                "expires_at",
                "expires_at must be an RFC 3339 time such as 2026-10-14T00:00:00Z.",
            ),
        ),
        (
            format!(r#"{{"name":"{long}"}}"#),
            invalid_field("name", "name must be 1 to 200 characters."),
        ),
        (r#"{"name":""}"#.into(), invalid_field("name", "name must be 1 to 200 characters.")),
        (r#"{}"#.into(), invalid_field("name", "name is required.")),
        (
            r#"{"name":"k","environment":"staging"}"#.into(),
            invalid_field("environment", "environment must be `live` or `test`."),
        ),
        (
            r#"{"name":"k","kind":"robot"}"#.into(),
            invalid_field("kind", "kind must be `user` or `service`."),
        ),
        (
            r#"{"name":"k","colour":"red"}"#.into(),
            invalid_field("colour", "Unknown field `colour`."),
        ),
    ];
    for (i, (body, expected)) in cases.into_iter().enumerate() {
        let rid = format!("v-{i}");
        let r = s.admin(post(&body, &rid)).await;
        expected.check(&r, &s.preset, &rid, &format!("{name}: {body}"));
    }

    // Unknown or foreign key ids: 404.
    let (other_id, _) = s.mint(&["tasks:read"], "").await;
    for path in [
        "/v1/api-keys/key_AAAAAAAAAAAA",
        "/v1/api-keys/nonsense",
        "/v1/api-keys/key_AAAAAAAAAAAA/rotate",
    ] {
        let method = if path.ends_with("rotate") { "POST" } else { "GET" };
        let r = s.admin(Request::new(method, path).header("X-Request-Id", "n-1")).await;
        plain(404, "not_found", "No such key.", "").check(
            &r,
            &s.preset,
            "n-1",
            &format!("{name}: {path}"),
        );
    }
    let r = s
        .admin(
            Request::new("PATCH", &format!("/v1/api-keys/{other_id}"))
                .json(r#"{"disabled":"yes"}"#)
                .header("X-Request-Id", "n-2"),
        )
        .await;
    invalid_field("disabled", "disabled must be true or false.").check(&r, &s.preset, "n-2", &name);
    let r = s
        .admin(
            Request::new("POST", &format!("/v1/api-keys/{other_id}/rotate"))
                .json(r#"{"grace_period_seconds":-5}"#)
                .header("X-Request-Id", "n-3"),
        )
        .await;
    invalid_field(
        "grace_period_seconds",
        "grace_period_seconds must be a whole number from 0 to 2592000 (30 days).",
    )
    .check(&r, &s.preset, "n-3", &name);

    // Without the admin scope: 403 scope_required.
    let (_, reader) = s.mint(&["tasks:read"], "").await;
    let r = s
        .send(s.with_key(Request::get("/v1/api-keys").header("X-Request-Id", "a-1"), &reader))
        .await;
    let admin = s.preset.admin_scope.as_str();
    scope_required(admin, &["tasks:read"]).check(
        &r,
        &s.preset,
        "a-1",
        &format!("{name}: not admin"),
    );

    // A method the route does not have.
    let r = s.admin(Request::new("PUT", "/v1/api-keys").header("X-Request-Id", "x-1")).await;
    plain(405, "method_not_allowed", "Use GET, POST.", "").check(&r, &s.preset, "x-1", &name);
    assert_eq!(r.header("allow"), Some("GET, POST"));

    // A body over 64 KiB.
    let big = format!(r#"{{"name":"{}"}}"#, "x".repeat(70_000));
    let r = s.admin(post(&big, "x-2")).await;
    plain(413, "payload_too_large", "The body is over 65536 bytes.", "")
        .check(&r, &s.preset, "x-2", &name);
    s.stop().await;
}
