//! The page as a warp filter.

use warp::Filter;
use warp::reply::Response;

use crate::{KeysPage, PageRequest, RequestHead};

/// A filter answering the requests under `page`'s mount path, and rejecting (not found) the
/// others, so that it combines with the host's routes with `or`. Requests carrying
/// [`TlsConnection`](keygate::adapter::TlsConnection) in their extensions are taken as TLS.
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
    // The path first: a request for another route is rejected before its body is read.
    let owns = page.clone();
    warp::path::full()
        .and_then(move |path: warp::path::FullPath| {
            let owned = owns.owns(path.as_str());
            async move { if owned { Ok(path) } else { Err(warp::reject::not_found()) } }
        })
        .and(keygate_warp::request_parts(false))
        .and_then(move |path: warp::path::FullPath, parts: keygate_warp::RequestParts| {
            let page = page.clone();
            async move {
                let head = RequestHead::from_request(
                    parts.headers.iter().map(|(n, v)| (n.as_str(), v.to_str().ok())),
                    None,
                    parts.peer,
                );
                let request = PageRequest {
                    method: parts.method.as_str(),
                    path: path.as_str(),
                    query: parts.query.as_deref(),
                    head,
                    body: parts.body.as_bytes(),
                    tls: parts.peer.tls,
                };
                match page.handle(request).await {
                    Some(response) => Ok(response.into_http()),
                    None => Err(warp::reject::not_found()),
                }
            }
        })
}
