//! The demo's gRPC side: the standard health service (`grpc.health.v1.Health`) behind the
//! keygate tower layer, refusing with gRPC statuses.

use std::net::IpAddr;

use keygate::Keygate;
use keygate_tower::KeygateLayer;
use tokio::net::TcpListener;
use tonic::transport::server::{TcpConnectInfo, TcpIncoming};

/// The client's address as tonic records it for each request.
fn remote_ip(extensions: &http::Extensions) -> Option<IpAddr> {
    extensions.get::<TcpConnectInfo>().and_then(TcpConnectInfo::remote_addr).map(|a| a.ip())
}

pub(crate) async fn serve(
    listener: TcpListener,
    gate: Keygate,
    tls: bool,
    shutdown: impl std::future::Future<Output = ()> + Send + 'static,
) {
    // The overall health ("") is SERVING from the start.
    let (_reporter, health) = tonic_health::server::health_reporter();
    let layer = KeygateLayer::new(gate).tls(tls).grpc().client_addr(remote_ip);
    let served = tonic::transport::Server::builder()
        .layer(layer)
        .serve_with_incoming_shutdown(health, TcpIncoming::from(listener), shutdown)
        .await;
    if let Err(e) = served {
        tracing::error!(error = %e, "gRPC server failed");
    }
}
