//! The same requests to the axum, actix-web and warp servers get the same replies, byte for
//! byte: status, headers (but `date`) and body.

#![allow(clippy::unwrap_used)]

use std::sync::Arc;

use keygate::format::{Environment, checksum};
use keygate_conformance::server::Outage;
use keygate_conformance::{FRAMEWORKS, PRESETS, Reply, Request, Server, ServerOptions};

/// What must match: the status, the headers but `date` (sorted by name), the body.
fn normalized(reply: &Reply) -> (u16, Vec<(String, String)>, String) {
    let mut headers: Vec<_> = reply.headers.iter().filter(|(n, _)| n != "date").cloned().collect();
    headers.sort();
    (reply.status, headers, reply.body.clone())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_framework_answers_alike() {
    for preset in PRESETS {
        let store = Arc::new(Outage::default());
        let opts =
            ServerOptions { store: Some(store), pepper: Some([9; 32]), ..Default::default() };
        let mut servers = Vec::new();
        for &framework in FRAMEWORKS {
            servers.push(Server::start_with(framework, preset, opts.clone()).await);
        }
        let first = &servers[0];
        let admin = first.admin_key.clone();
        // Minted through the library, so that no server counts a request the others do not.
        let new = keygate::manage::NewKey::new(
            keygate::store::Owner::workspace(keygate_demo::DEMO_WORKSPACE),
            "reader",
        );
        let minted = first.gate.mint(new.scopes(["tasks:read"]).unwrap()).await.unwrap();
        let reader = minted.key.expose_secret().to_owned();
        let unknown =
            first.preset.format.generate(Environment::Live).unwrap().expose_secret().to_owned();
        let cut = admin.len() - 7;
        let body =
            format!("{}{}", &admin[..cut], if &admin[cut..cut + 1] == "a" { "b" } else { "a" });
        let wrong = format!("{body}{}", checksum(&body));

        let key = |req: Request, k: &str| first.with_key(req, k);
        let field = first.preset.scopes_field;
        let cases: Vec<Request> = vec![
            Request::get("/healthz"),
            Request::get("/v1/ping"),
            key(Request::get("/v1/ping"), &admin),
            key(Request::get("/v1/ping"), "not-a-key"),
            key(Request::get("/v1/ping"), &unknown),
            key(Request::get("/v1/ping"), &wrong),
            key(Request::get("/v1/ping"), "pl_v1_abc"),
            key(Request::get("/v1/ping"), &format!("{admin}\u{e9}")),
            key(key(Request::get("/v1/ping"), &admin), &admin),
            Request::get("/v1/ping").bearer(&admin).header("X-Api-Key", &admin),
            Request::get(&format!("/v1/ping?api_key={admin}")),
            key(Request::get("/v1/me"), &admin),
            key(Request::get("/v1/rate-limit"), &reader),
            key(Request::get("/v1/tasks"), &reader),
            key(Request::new("POST", "/v1/tasks").json(r#"{"title":"x"}"#), &reader),
            key(Request::new("POST", "/v1/tasks").json(r#"{"title":7}"#), &admin),
            key(Request::new("DELETE", "/v1/tasks/task_404"), &admin),
            key(Request::get("/v1/api-keys"), &reader),
            key(Request::new("POST", "/v1/api-keys").json("{oops"), &admin),
            key(
                Request::new("POST", "/v1/api-keys")
                    .json(&format!(r#"{{"name":"k","{field}":["nope:nope"]}}"#)),
                &admin,
            ),
            key(
                Request::new("POST", "/v1/api-keys")
                    .json(r#"{"name":"k","expires_at":"2001-01-01T00:00:00Z"}"#),
                &admin,
            ),
            key(Request::get("/v1/api-keys/key_AAAAAAAAAAAA"), &admin),
            key(Request::new("PUT", "/v1/api-keys"), &admin),
            key(Request::new("POST", "/v1/api-keys").json(&"x".repeat(70_000)), &admin),
        ];
        for (i, case) in cases.into_iter().enumerate() {
            let case = case.header("X-Request-Id", format!("same-{i}"));
            let expected = normalized(&servers[0].send(case.clone()).await);
            for server in &servers[1..] {
                let got = normalized(&server.send(case.clone()).await);
                assert_eq!(
                    got,
                    expected,
                    "{preset} case {i} ({} {}): {} differs from axum",
                    case.method,
                    case.path,
                    server.name()
                );
            }
        }
        for server in servers {
            server.stop().await;
        }
    }
}
