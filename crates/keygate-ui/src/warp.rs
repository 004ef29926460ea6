//! The page as a warp filter.

use keygate::adapter::TlsConnection;
use warp::Filter;
use warp::http::HeaderMap;
use warp::reply::Response;

use crate::{KeysPage, PageRequest, RequestHead};

/// A filter answering the requests under `page`'s mount path, and rejecting (not found) the
/// others, so that it combines with the host's routes with `or`. Requests carrying
/// [`TlsConnection`] in their extensions are taken as TLS.
///
/// ```
/// use std::sync::Arc;
/// use warp::Filter;
/// use keygate::{Keygate, preset::Preset};
/// use keygate_ui::{KeyLogin, KeysPage};
///
/// # fn main() -> Result<(), keygate::BuildError> {
/// let gate = Keygate::builder(Preset::livetest()).random_pepper().build()?;
/// let page = KeysPage::new(gate.clone(), "/ui", Arc::new(KeyLogin::new(gate)));
/// let healthz = warp::path!("healthz").map(|| "ok");
/// let routes = keygate_ui::warp::filter(page).or(healthz);
/// # let _ = routes;
/// # Ok(())
/// # }
/// ```
pub fn filter(
    page: KeysPage,
) -> impl Filter<Extract = (Response,), Error = warp::Rejection> + Clone {
    warp::method()
        .and(warp::path::full())
        .and(warp::query::raw().or(warp::any().map(String::new)).unify())
        .and(warp::header::headers_cloned())
        .and(warp::ext::optional::<TlsConnection>())
        .and(warp::body::stream())
        .and_then(
            move |method: warp::http::Method,
                  path: warp::path::FullPath,
                  query: String,
                  headers: HeaderMap,
                  tls: Option<TlsConnection>,
                  body| {
                let page = page.clone();
                async move {
                    let body = keygate_warp::read_capped(body).await;
                    let head = RequestHead::new(
                        headers
                            .iter()
                            .filter_map(|(n, v)| {
                                Some((n.as_str().to_owned(), v.to_str().ok()?.to_owned()))
                            })
                            .collect(),
                    );
                    let request = PageRequest {
                        method: method.as_str(),
                        path: path.as_str(),
                        query: (!query.is_empty()).then_some(query.as_str()),
                        head,
                        body: body.as_bytes(),
                        tls: tls.is_some(),
                    };
                    match page.handle(request).await {
                        Some(response) => Ok(response.into_http()),
                        None => Err(warp::reject::not_found()),
                    }
                }
            },
        )
}
