//! The demo's routes on axum.

use std::net::SocketAddr;
use std::sync::Arc;

use axum::body::Bytes;
use axum::extract::{FromRef, Path, State};
use axum::response::{IntoResponse, Response};
use axum::routing::{delete, get};
use axum::{Extension, Router};
use keygate::Keygate;
use keygate::adapter::TlsConnection;
use keygate_axum::{Auth, KeygateLayer, Planned, RequestId, Scoped, management_router};
use tokio::net::TcpListener;

use crate::Documents;
use crate::tasks::{
    Professional, Tasks, TasksDelete, TasksRead, TasksWrite, reports_need_a_plan, route_costs,
};

#[derive(Clone)]
struct AppState {
    gate: Keygate,
    tasks: Arc<Tasks>,
}

impl FromRef<AppState> for Keygate {
    fn from_ref(state: &AppState) -> Keygate {
        state.gate.clone()
    }
}

/// The whole app: `/healthz`, the protected demo routes and the management API.
pub(crate) fn app(gate: Keygate, tasks: Arc<Tasks>, tls: bool, docs: Arc<Documents>) -> Router {
    let state = AppState { gate: gate.clone(), tasks };
    let metrics_docs = docs.clone();
    let keys_page = docs.keys_page().clone();
    let reports = if reports_need_a_plan(&gate) { get(planned_report) } else { get(report) };
    let protected = Router::new()
        .route("/v1/reports", reports)
        .route("/v1/ping", get(|Auth(_): Auth| async { "pong" }))
        .route("/v1/tasks", get(list).post(create))
        .route("/v1/tasks/{id}", delete(remove))
        .layer(KeygateLayer::new(gate.clone()).tls(tls).costs(route_costs()))
        .with_state(state);
    let app = Router::new()
        .route("/healthz", get(|| async { "ok" }))
        .route("/metrics", get(move || document(metrics_docs.metrics())))
        .route("/v1/openapi.json", get(move || document(docs.openapi())))
        .merge(protected)
        .merge(keygate_ui::axum::router(keys_page))
        .merge(management_router(gate));
    // What a TLS acceptor does: mark its requests, for the management router (the layer is
    // told already).
    if tls { app.layer(Extension(TlsConnection)) } else { app }
}

async fn document((content_type, body): (&'static str, String)) -> Response {
    ([(axum::http::header::CONTENT_TYPE, content_type)], body).into_response()
}

async fn list(State(s): State<AppState>, Scoped { principal, .. }: Scoped<TasksRead>) -> Response {
    s.tasks.list(&principal).into_http()
}

async fn report(
    State(s): State<AppState>,
    Scoped { principal, .. }: Scoped<TasksRead>,
) -> Response {
    s.tasks.report(&principal).into_http()
}

async fn planned_report(
    State(s): State<AppState>,
    _: Scoped<TasksRead>,
    Planned { principal, .. }: Planned<Professional>,
) -> Response {
    s.tasks.report(&principal).into_http()
}

async fn create(
    State(s): State<AppState>,
    RequestId(id): RequestId,
    Scoped { principal, .. }: Scoped<TasksWrite>,
    body: Bytes,
) -> Response {
    s.tasks.create(&s.gate, &principal, &body, &id).into_http()
}

async fn remove(
    State(s): State<AppState>,
    RequestId(id): RequestId,
    Scoped { principal, .. }: Scoped<TasksDelete>,
    Path(task): Path<String>,
) -> Response {
    s.tasks.delete(&s.gate, &principal, &task, &id).into_http()
}

pub(crate) async fn serve(
    listener: TcpListener,
    gate: Keygate,
    tasks: Arc<Tasks>,
    tls: bool,
    docs: Arc<Documents>,
    shutdown: impl std::future::Future<Output = ()> + Send + 'static,
) {
    let app = app(gate, tasks, tls, docs).into_make_service_with_connect_info::<SocketAddr>();
    if let Err(e) = axum::serve(listener, app).with_graceful_shutdown(shutdown).await {
        tracing::error!(error = %e, "server failed");
    }
}
