//! The demo's routes on warp.

use std::sync::Arc;

use keygate::Keygate;
use keygate_warp::{
    Verified, authenticated_with, management_with, recover, require_plan, scoped_weighted,
    scoped_with,
};
use tokio::net::TcpListener;
use warp::reply::Response;
use warp::{Filter, Reply};

use crate::Documents;
use crate::tasks::{
    CREATE_TASK_COST, Professional, Tasks, TasksDelete, TasksRead, TasksWrite, reports_need_a_plan,
};

fn reply(v: &Verified, response: keygate::response::Response) -> Response {
    keygate_warp::reply(v, response.into_http::<warp::hyper::body::Bytes>())
}

fn document((content_type, body): (&'static str, String)) -> Response {
    warp::reply::with_header(body, "content-type", content_type).into_response()
}

pub(crate) async fn serve(
    listener: TcpListener,
    gate: Keygate,
    tasks: Arc<Tasks>,
    tls: bool,
    docs: Arc<Documents>,
    shutdown: impl std::future::Future<Output = ()> + Send + 'static,
) {
    let keys_page = keygate_ui::warp::filter(docs.keys_page().clone());
    let healthz = warp::path!("healthz").and(warp::get()).map(|| warp::Reply::into_response("ok"));
    let d = docs.clone();
    let metrics = warp::path!("metrics").and(warp::get()).map(move || document(d.metrics()));
    let openapi =
        warp::path!("v1" / "openapi.json").and(warp::get()).map(move || document(docs.openapi()));
    let ping = warp::path!("v1" / "ping")
        .and(warp::get())
        .and(authenticated_with(gate.clone(), tls))
        .map(|v: Verified| keygate_warp::reply(&v, "pong"));
    let t = tasks.clone();
    let list = warp::path!("v1" / "tasks")
        .and(warp::get())
        .and(scoped_with::<TasksRead>(gate.clone(), tls))
        .map(move |v: Verified| reply(&v, t.list(v.principal())));
    let (t, gated) = (tasks.clone(), reports_need_a_plan(&gate));
    let reports = warp::path!("v1" / "reports")
        .and(warp::get())
        .and(scoped_with::<TasksRead>(gate.clone(), tls))
        .and_then(move |v: Verified| async move {
            if gated { require_plan::<Professional>(v).await } else { Ok(v) }
        })
        .map(move |v: Verified| reply(&v, t.report(v.principal())));
    let (t, g) = (tasks.clone(), gate.clone());
    let create = warp::path!("v1" / "tasks")
        .and(warp::post())
        .and(scoped_weighted::<TasksWrite>(gate.clone(), tls, CREATE_TASK_COST))
        .and(warp::body::content_length_limit(crate::MAX_TASK_BODY as u64))
        .and(warp::body::bytes())
        .map(move |v: Verified, body: warp::hyper::body::Bytes| {
            reply(&v, t.create(&g, v.principal(), &body, &v.request_id()))
        });
    let (t, g) = (tasks, gate.clone());
    let remove = warp::path!("v1" / "tasks" / String)
        .and(warp::delete())
        .and(scoped_with::<TasksDelete>(gate.clone(), tls))
        .map(move |id: String, v: Verified| {
            reply(&v, t.delete(&g, v.principal(), &id, &v.request_id()))
        });
    let routes = healthz
        .or(metrics)
        .unify()
        .or(openapi)
        .unify()
        .or(ping)
        .unify()
        .or(list)
        .unify()
        .or(reports)
        .unify()
        .or(create)
        .unify()
        .or(remove)
        .unify()
        .or(management_with(gate, tls))
        .unify()
        .or(keys_page)
        .unify()
        .recover(recover);
    warp::serve(routes).incoming(listener).graceful(shutdown).run().await;
}
