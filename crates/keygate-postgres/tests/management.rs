//! The management API over PostgreSQL: input PostgreSQL cannot store is refused as the
//! caller's mistake (400), before it reaches the database, never as an outage (503).

#![allow(clippy::unwrap_used)]

use std::sync::Arc;

use keygate::Keygate;
use keygate::adapter::ApiRequest;
use keygate::manage::NewKey;
use keygate::preset::Preset;
use keygate::response::Response;
use keygate::store::Owner;

mod common;

use common::{connect, drop_schema, unique_schema, url};

async fn call(gate: &Keygate, key: &str, method: &str, path: &str, body: &str) -> Response {
    let auth = format!("Bearer {key}");
    let headers = [("authorization", auth.as_str()), ("x-request-id", "req_1")];
    gate.handle_api(ApiRequest::new(method, path, &headers[..]).body(body.as_bytes()), None).await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "needs KEYGATE_TEST_POSTGRES_URL"]
async fn a_nul_in_a_name_is_a_400_on_postgres_never_a_503() {
    let url = url();
    let schema = unique_schema("nul");
    let store = connect(&url, &schema).await;
    let gate = Keygate::builder(Preset::livetest())
        .random_pepper()
        .store(Arc::new(store.clone()))
        .build()
        .unwrap();
    let admin = NewKey::new(Owner::workspace("wks_1"), "admin").scopes(["admin:*"]).unwrap();
    let key = gate.mint(admin).await.unwrap().key.expose_secret().to_owned();
    let field_error = |field: &str| {
        format!(
            r#"{{"error":{{"code":"invalid_request","message":"{field} must not contain control or bidirectional formatting characters.","details":{{"field":"{field}"}},"request_id":"req_1"}}}}"#
        )
    };

    let r = call(&gate, &key, "POST", "/v1/api-keys", r#"{"name":"a\u0000b"}"#).await;
    assert_eq!((r.status, r.body.as_str()), (400, field_error("name").as_str()));
    let body = r#"{"name":"ok","description":"x\u0000"}"#;
    let r = call(&gate, &key, "POST", "/v1/api-keys", body).await;
    assert_eq!((r.status, r.body.as_str()), (400, field_error("description").as_str()));

    let r = call(&gate, &key, "POST", "/v1/api-keys", r#"{"name":"fine"}"#).await;
    assert_eq!(r.status, 201, "{}", r.body);
    let id = serde_json::from_str::<serde_json::Value>(&r.body).unwrap()["id"]
        .as_str()
        .unwrap()
        .to_owned();
    let path = format!("/v1/api-keys/{id}");
    let r = call(&gate, &key, "PATCH", &path, r#"{"name":"\u0000"}"#).await;
    assert_eq!((r.status, r.body.as_str()), (400, field_error("name").as_str()));
    let r = call(&gate, &key, "GET", &path, "").await;
    assert!(r.body.contains(r#""name":"fine""#), "nothing changed: {}", r.body);

    store.pool().close().await;
    drop_schema(&url, &schema).await;
}
