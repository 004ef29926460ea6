//! `GET /v1/openapi.json`: served without a key on every framework, describing the running
//! preset's management API.

#![allow(clippy::unwrap_used)]

use keygate_conformance::{FRAMEWORKS, PRESETS, Request, Server};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_description_of_the_running_preset() {
    for &framework in FRAMEWORKS {
        for preset in PRESETS {
            let s = Server::start(framework, preset).await;
            let name = s.name();
            let r = s.send(Request::get("/v1/openapi.json")).await;
            assert_eq!(r.status, 200, "{name}: {}", r.body);
            assert_eq!(r.header("content-type"), Some("application/json"), "{name}");
            let doc = r.json();
            assert_eq!(doc["openapi"], "3.1.0", "{name}");
            let key = &doc["components"]["schemas"]["ApiKey"]["properties"];
            assert!(key[s.preset.scopes_field].is_object(), "{name}");
            assert!(doc["paths"]["/v1/api-keys/{id}/rotate"]["post"].is_object(), "{name}");
            s.stop().await;
        }
    }
}
