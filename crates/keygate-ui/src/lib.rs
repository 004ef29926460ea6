#![doc = include_str!("../README.md")]
#![forbid(unsafe_code)]

mod key_login;
mod page;
mod session;

#[cfg(feature = "actix-web")]
#[cfg_attr(docsrs, doc(cfg(feature = "actix-web")))]
pub mod actix;
#[cfg(feature = "axum")]
#[cfg_attr(docsrs, doc(cfg(feature = "axum")))]
pub mod axum;
#[cfg(feature = "warp")]
#[cfg_attr(docsrs, doc(cfg(feature = "warp")))]
pub mod warp;

pub use key_login::{DEFAULT_SESSION_LIFETIME, KeyLogin, SESSION_COOKIE};
pub use page::{CONTENT_SECURITY_POLICY, CSRF_HEADER, KeysPage, PageRequest};
pub use session::{LoginRefused, RequestHead, Session, Sessions};

/// The page's files, compiled into the crate: no CDN, no build step.
mod assets {
    pub(crate) const INDEX_HTML: &str = include_str!("../assets/index.html");
    pub(crate) const APP_JS: &str = include_str!("../assets/app.js");
    pub(crate) const APP_CSS: &str = include_str!("../assets/app.css");
}
