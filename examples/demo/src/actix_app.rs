//! The demo's routes on actix-web.

use std::sync::Arc;

use actix_web::dev::Server;
use actix_web::web::{self, Bytes, Data};
use actix_web::{App, HttpResponse, HttpServer};
use keygate::Keygate;
use keygate::adapter::TlsConnection;
use keygate_actix::{Auth, KeygateTransform, Planned, RequestId, Scoped, management_config};
use tokio::net::TcpListener;

use crate::Documents;
use crate::tasks::{
    Professional, Tasks, TasksDelete, TasksRead, TasksWrite, reports_need_a_plan, route_costs,
};

fn reply(response: keygate::response::Response) -> HttpResponse {
    keygate_actix::into_response(&response)
}

async fn list(
    tasks: Data<Arc<Tasks>>,
    Scoped { principal, .. }: Scoped<TasksRead>,
) -> HttpResponse {
    reply(tasks.list(&principal))
}

async fn report(
    tasks: Data<Arc<Tasks>>,
    Scoped { principal, .. }: Scoped<TasksRead>,
) -> HttpResponse {
    reply(tasks.report(&principal))
}

async fn planned_report(
    tasks: Data<Arc<Tasks>>,
    _: Scoped<TasksRead>,
    Planned { principal, .. }: Planned<Professional>,
) -> HttpResponse {
    reply(tasks.report(&principal))
}

async fn create(
    tasks: Data<Arc<Tasks>>,
    gate: Data<Keygate>,
    RequestId(id): RequestId,
    Scoped { principal, .. }: Scoped<TasksWrite>,
    body: Bytes,
) -> HttpResponse {
    reply(tasks.create(&gate, &principal, &body, &id))
}

async fn remove(
    tasks: Data<Arc<Tasks>>,
    gate: Data<Keygate>,
    RequestId(id): RequestId,
    Scoped { principal, .. }: Scoped<TasksDelete>,
    task: web::Path<String>,
) -> HttpResponse {
    reply(tasks.delete(&gate, &principal, &task, &id))
}

/// A handler answering with one of the demo's documents.
fn document(
    docs: Arc<Documents>,
    which: fn(&Documents) -> (&'static str, String),
) -> impl Fn() -> std::future::Ready<HttpResponse> + Clone {
    move || {
        let (content_type, body) = which(&docs);
        std::future::ready(HttpResponse::Ok().content_type(content_type).body(body))
    }
}

/// The server, ready to be awaited.
pub(crate) fn server(
    listener: TcpListener,
    gate: Keygate,
    tasks: Arc<Tasks>,
    tls: bool,
    docs: Arc<Documents>,
) -> Result<Server, String> {
    let listener = listener.into_std().map_err(|e| e.to_string())?;
    let gated = reports_need_a_plan(&gate);
    let keys_page = docs.keys_page().clone();
    let server = HttpServer::new(move || {
        let auth = KeygateTransform::new(gate.clone()).tls(tls);
        let reports = if gated { web::get().to(planned_report) } else { web::get().to(report) };
        App::new()
            .app_data(Data::new(gate.clone()))
            .app_data(Data::new(tasks.clone()))
            .app_data(web::PayloadConfig::new(crate::MAX_TASK_BODY))
            .route("/healthz", web::get().to(|| async { "ok" }))
            .route("/metrics", web::get().to(document(docs.clone(), Documents::metrics)))
            .route("/v1/openapi.json", web::get().to(document(docs.clone(), Documents::openapi)))
            .service(
                web::resource("/v1/ping")
                    .wrap(auth.clone())
                    .route(web::get().to(|_: Auth| async { "pong" })),
            )
            .service(
                web::resource("/v1/tasks")
                    .wrap(auth.clone().costs(route_costs()))
                    .route(web::get().to(list))
                    .route(web::post().to(create)),
            )
            .service(web::resource("/v1/reports").wrap(auth.clone()).route(reports))
            .service(web::resource("/v1/tasks/{id}").wrap(auth).route(web::delete().to(remove)))
            .configure(management_config(gate.clone()))
            .configure(keygate_ui::actix::config(keys_page.clone()))
    })
    // What a TLS acceptor does: mark its connections, for the management routes (and the
    // middleware, told already).
    .on_connect(move |_, data| {
        if tls {
            data.insert(TlsConnection);
        }
    })
    .workers(2)
    .disable_signals()
    .shutdown_timeout(1)
    .listen(listener)
    .map_err(|e| format!("cannot serve: {e}"))?
    .run();
    Ok(server)
}
