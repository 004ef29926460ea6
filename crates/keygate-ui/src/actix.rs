//! The page as actix-web routes.

use actix_web::web::{self, Bytes, Data};
use actix_web::{HttpRequest, HttpResponse};
use keygate::Peer;
use keygate::adapter::TlsConnection;

use crate::{KeysPage, PageRequest, RequestHead};

/// Routes for `page` at its mount path (the path itself, and everything under it), for
/// `App::configure`. Connections marked with [`TlsConnection`] (`HttpServer::on_connect`) are
/// taken as TLS.
///
/// ```
/// use std::sync::Arc;
/// use actix_web::App;
/// use keygate::{Keygate, preset::Preset};
/// use keygate_ui::{KeyLogin, KeysPage};
///
/// # fn main() -> Result<(), keygate::BuildError> {
/// let gate = Keygate::builder(Preset::livetest()).random_pepper().build()?;
/// let page = KeysPage::new(gate.clone(), "/ui", Arc::new(KeyLogin::new(gate)));
/// let app = App::new().configure(keygate_ui::actix::config(page));
/// # let _ = app;
/// # Ok(())
/// # }
/// ```
pub fn config(page: KeysPage) -> impl FnOnce(&mut web::ServiceConfig) {
    move |cfg| {
        let mount = page.mount().to_owned();
        let root = if mount.is_empty() { "/".to_owned() } else { mount.clone() };
        cfg.service(
            web::resource([root, format!("{mount}/"), format!("{mount}/{{rest:.*}}")])
                .app_data(Data::new(page))
                .app_data(web::PayloadConfig::new(keygate::adapter::MAX_BODY_LEN))
                .to(handle),
        );
    }
}

async fn handle(page: Data<KeysPage>, req: HttpRequest, body: Bytes) -> HttpResponse {
    let tls = req.conn_data::<TlsConnection>().is_some();
    let peer = Peer { ip: req.peer_addr().map(|a| a.ip()), tls };
    let authority = req.uri().authority().map(|a| a.as_str());
    let head = RequestHead::from_request(
        req.headers().iter().map(|(n, v)| (n.as_str(), v.to_str().ok())),
        authority,
        peer,
    );
    let query = req.query_string();
    let request = PageRequest {
        method: req.method().as_str(),
        path: req.path(),
        query: (!query.is_empty()).then_some(query),
        head,
        body: &body,
        tls,
    };
    match page.handle(request).await {
        Some(response) => keygate_actix::into_response(&response),
        None => HttpResponse::NotFound().finish(),
    }
}
