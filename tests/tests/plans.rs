//! Plan gating over HTTP: `GET /v1/reports` needs `tasks:read`, and in the presets that have
//! plans also the `professional` plan; on every framework.

#![allow(clippy::unwrap_used)]

use keygate::manage::NewKey;
use keygate::store::Owner;
use keygate_conformance::expect::{plain, scope_required};
use keygate_conformance::{FRAMEWORKS, PRESETS, Request, Server};
use keygate_demo::DEMO_WORKSPACE;

fn reports(rid: &str) -> Request {
    Request::get("/v1/reports").header("X-Request-Id", rid)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn reports_need_the_professional_plan_where_there_are_plans() {
    for &framework in FRAMEWORKS {
        for preset in PRESETS {
            let s = Server::start(framework, preset).await;
            let name = s.name();
            let plan_required =
                plain(403, "forbidden", "This endpoint requires the professional plan.", "");
            let (_, reader) = s.mint(&["tasks:read"], "").await;
            let r = s.send(s.with_key(reports("p-1"), &reader)).await;
            match *preset {
                "livetest" | "plane" => {
                    // A key on its kind's default plan (Free; Plane's API-key plan).
                    plan_required.check(&r, &s.preset, "p-1", &format!("{name}: default plan"));
                    assert_eq!(r.header("www-authenticate"), None, "{name}");
                    assert!(r.header("x-ratelimit-limit").is_some(), "{name}: limits on a 403");
                    // The admin key holds every scope, but not the plan.
                    let r = s.send(s.with_key(reports("p-2"), &s.admin_key)).await;
                    plan_required.check(&r, &s.preset, "p-2", &format!("{name}: admin"));
                }
                _ => {
                    assert_eq!((r.status, r.body.as_str()), (200, r#"{"tasks":0}"#), "{name}");
                }
            }
            if *preset == "livetest" {
                // The plan is the operator's to set.
                let professional = |scope: &str| {
                    NewKey::new(Owner::workspace(DEMO_WORKSPACE), "paid")
                        .scopes([scope])
                        .unwrap()
                        .rate_plan("professional")
                };
                let paid_reader = s.gate.mint(professional("tasks:read")).await.unwrap();
                let paid = paid_reader.key.expose_secret();
                let r = s.send(s.with_key(reports("p-3"), paid)).await;
                assert_eq!((r.status, r.body.as_str()), (200, r#"{"tasks":0}"#), "{name}: paid");
                assert_eq!(r.header("x-ratelimit-limit"), Some("500"), "{name}: its own plan");
                // The plan does not stand in for the scope, which is checked first.
                let paid_writer = s.gate.mint(professional("tasks:write")).await.unwrap();
                let r = s.send(s.with_key(reports("p-4"), paid_writer.key.expose_secret())).await;
                scope_required("tasks:read", &["tasks:write"]).check(
                    &r,
                    &s.preset,
                    "p-4",
                    &format!("{name}: paid, without the scope"),
                );
            }
            let (_, writer) = s.mint(&["tasks:write"], "").await;
            let r = s.send(s.with_key(reports("p-5"), &writer)).await;
            scope_required("tasks:read", &["tasks:write"]).check(
                &r,
                &s.preset,
                "p-5",
                &format!("{name}: without the scope"),
            );
            s.stop().await;
        }
    }
}
