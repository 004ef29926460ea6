//! The demo's gRPC health service (`--grpc-addr`) behind the keygate tower layer, called by a
//! real tonic client over a real socket: refusals are gRPC statuses, a good key is served.

#![allow(clippy::unwrap_used)]

use std::time::Duration;

use keygate::store::KeyKind;
use keygate_conformance::{Server, ServerOptions};
use keygate_demo::Framework;
use tonic::Code;
use tonic::metadata::MetadataValue;
use tonic::transport::Channel;
use tonic_health::pb::health_check_response::ServingStatus;
use tonic_health::pb::health_client::HealthClient;
use tonic_health::pb::{HealthCheckRequest, HealthCheckResponse};

async fn start(preset: &str) -> (Server, HealthClient<Channel>) {
    let options = ServerOptions { grpc: true, ..Default::default() };
    let s = Server::start_with(Framework::Axum, preset, options).await;
    let addr = s.grpc_addr.expect("the demo serves gRPC");
    let channel = Channel::from_shared(format!("http://{addr}")).unwrap().connect().await.unwrap();
    (s, HealthClient::new(channel))
}

/// A health check carrying `key` where the preset reads it (`authorization: Bearer …` or
/// `x-api-key`), or no key.
async fn check(
    s: &Server,
    client: &mut HealthClient<Channel>,
    key: Option<&str>,
) -> Result<tonic::Response<HealthCheckResponse>, tonic::Status> {
    let mut request = tonic::Request::new(HealthCheckRequest { service: String::new() });
    if let Some(key) = key {
        let name = s.key_header().to_ascii_lowercase();
        let value: MetadataValue<_> = s.key_value(key).parse().unwrap();
        request
            .metadata_mut()
            .insert(tonic::metadata::MetadataKey::from_bytes(name.as_bytes()).unwrap(), value);
    }
    request.metadata_mut().insert("x-request-id", MetadataValue::from_static("g-1"));
    client.check(request).await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_grpc_health_service_answers_keys_with_grpc_statuses() {
    for preset in ["livetest", "plane"] {
        let (s, mut client) = start(preset).await;
        let name = s.name();
        let label = s.key_header();

        let status = check(&s, &mut client, None).await.unwrap_err();
        assert_eq!(status.code(), Code::Unauthenticated, "{name}: no key");
        let message = match preset {
            "plane" => format!("Missing or malformed `{label}` header."),
            _ => "Missing or malformed `Authorization` header.".to_owned(),
        };
        assert_eq!(status.message(), message, "{name}: no key");
        assert_eq!(status.metadata().get("x-request-id").unwrap(), "g-1", "{name}");

        let (_, key) = s.mint(&["tasks:read"], "").await;
        let wrong = format!("{}x", &key[..key.len() - 1]);
        let status = check(&s, &mut client, Some(&wrong)).await.unwrap_err();
        assert_eq!(status.code(), Code::Unauthenticated, "{name}: wrong key: {status:?}");

        // Up to its plan's limit, the key is served; past it, RESOURCE_EXHAUSTED.
        let plan = s.preset.plans.default_plan(KeyKind::User).unwrap();
        let limit = plan.windows()[0].limit();
        s.advance(Duration::from_secs(20));
        for i in 0..limit {
            let response = check(&s, &mut client, Some(&key)).await;
            let response =
                response.unwrap_or_else(|e| panic!("{name}: call {i} of {limit}: {e:?}"));
            assert_eq!(response.get_ref().status, ServingStatus::Serving as i32, "{name}");
            let remaining = (limit - i - 1).to_string();
            assert_eq!(
                response.metadata().get("x-ratelimit-remaining").unwrap(),
                remaining.as_str()
            );
        }
        let status = check(&s, &mut client, Some(&key)).await.unwrap_err();
        assert_eq!(status.code(), Code::ResourceExhausted, "{name}: over the limit");
        assert_eq!(status.message(), "Rate limit exceeded. Retry in 40 seconds.", "{name}");
        assert_eq!(status.metadata().get("retry-after").unwrap(), "40", "{name}");
        s.stop().await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_grpc_layer_denies_what_the_deployment_forbids() {
    // HTTPS required and the gRPC listener is plain: PERMISSION_DENIED, even for the admin key.
    let options = ServerOptions {
        grpc: true,
        require_https: Some(keygate::HttpsPolicy { trust_forwarded_proto: false }),
        ..Default::default()
    };
    let s = Server::start_with(Framework::Axum, "livetest", options).await;
    let addr = s.grpc_addr.unwrap();
    let channel = Channel::from_shared(format!("http://{addr}")).unwrap().connect().await.unwrap();
    let mut client = HealthClient::new(channel);
    let admin = s.admin_key.clone();
    let status = check(&s, &mut client, Some(&admin)).await.unwrap_err();
    assert_eq!(status.code(), Code::PermissionDenied);
    assert_eq!(status.message(), "Requests must use HTTPS.");
    s.stop().await;
}
