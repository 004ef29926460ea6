use std::fmt;
use std::future::{Ready, ready};
use std::marker::PhantomData;

use actix_web::dev::Payload;
use actix_web::http::StatusCode;
use actix_web::{FromRequest, HttpMessage, HttpRequest, HttpResponse, ResponseError};
use keygate::Principal;
use keygate::adapter::Verified;
use keygate::plan::RequirePlan;
use keygate::scope::ScopeRequirement;

use crate::into_response;

/// The id of the request: the caller's `X-Request-Id` if sane, else a new one.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RequestId(pub String);

impl FromRequest for RequestId {
    type Error = actix_web::Error;
    type Future = Ready<Result<Self, Self::Error>>;

    fn from_request(req: &HttpRequest, _: &mut Payload) -> Self::Future {
        let id = match req.extensions().get::<Verified>() {
            Some(verified) => verified.request_id(),
            None => keygate::adapter::request_id(&crate::ActixHeaders(req.headers())),
        };
        ready(Ok(RequestId(id)))
    }
}

/// A refused request: keygate's rendered error, sent as it is.
#[derive(Debug)]
pub struct Rejection {
    response: Option<keygate::adapter::Refusal>,
}

impl Rejection {
    /// Why the request was refused; `None` when the route lacks the middleware (a 500).
    pub fn error(&self) -> Option<&keygate::AuthError> {
        self.response.as_ref().map(keygate::adapter::Refusal::error)
    }

    fn misconfigured(what: &'static str) -> Self {
        tracing::error!("{what}");
        Rejection { response: None }
    }
}

impl fmt::Display for Rejection {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.response {
            Some(r) => write!(f, "request refused by keygate: {}", r.status()),
            None => f.write_str("keygate middleware missing"),
        }
    }
}

impl ResponseError for Rejection {
    fn status_code(&self) -> StatusCode {
        self.response
            .as_ref()
            .and_then(|r| StatusCode::from_u16(r.status()).ok())
            .unwrap_or(StatusCode::INTERNAL_SERVER_ERROR)
    }

    fn error_response(&self) -> HttpResponse {
        match &self.response {
            Some(r) => into_response(r.response()),
            None => HttpResponse::InternalServerError().body("keygate middleware missing"),
        }
    }
}

/// Extracts the [`Principal`] of a request authenticated by [`KeygateTransform`](crate::KeygateTransform).
///
/// ```
/// use keygate_actix::Auth;
///
/// async fn me(Auth(principal): Auth) -> String {
///     principal.workspace_id().to_owned()
/// }
/// ```
#[derive(Debug, Clone)]
pub struct Auth(pub Principal);

impl FromRequest for Auth {
    type Error = Rejection;
    type Future = Ready<Result<Self, Self::Error>>;

    fn from_request(req: &HttpRequest, _: &mut Payload) -> Self::Future {
        let principal = req.extensions().get::<Verified>().map(|v| v.principal().clone());
        ready(principal.map(Auth).ok_or_else(|| {
            Rejection::misconfigured("keygate: Auth used on a route without KeygateTransform")
        }))
    }
}

/// Extracts the [`Principal`] of a request whose key holds the scopes `R` requires, else
/// refuses it with 403 `scope_required` in the preset's style.
///
/// ```
/// use keygate_actix::Scoped;
///
/// keygate_actix::requirement!(TasksDelete = all_of["tasks:delete"]);
///
/// async fn delete_task(Scoped { principal, .. }: Scoped<TasksDelete>) -> String {
///     format!("deleted by {}", principal.key_id())
/// }
/// ```
#[derive(Debug, Clone)]
pub struct Scoped<R> {
    /// Who the request acts for.
    pub principal: Principal,
    _requirement: PhantomData<fn() -> R>,
}

impl<R: ScopeRequirement> FromRequest for Scoped<R> {
    type Error = Rejection;
    type Future = Ready<Result<Self, Self::Error>>;

    fn from_request(req: &HttpRequest, _: &mut Payload) -> Self::Future {
        let checked = checked(req, "Scoped", |v| v.require(R::requirement()));
        ready(checked.map(|principal| Scoped { principal, _requirement: PhantomData }))
    }
}

/// Extracts the [`Principal`] of a request whose key is on a plan `P` allows (declare `P` with
/// [`plan_requirement!`](keygate::plan_requirement)), else refuses it with 403 `forbidden` in
/// the preset's style. Put it after [`Scoped`] to check scopes first.
///
/// ```
/// use keygate_actix::Planned;
///
/// keygate_actix::plan_requirement!(Professional = ["professional"]);
///
/// async fn reports(Planned { principal, .. }: Planned<Professional>) -> String {
///     format!("reports for {}", principal.workspace_id())
/// }
/// ```
#[derive(Debug, Clone)]
pub struct Planned<P> {
    /// Who the request acts for.
    pub principal: Principal,
    _requirement: PhantomData<fn() -> P>,
}

impl<P: RequirePlan> FromRequest for Planned<P> {
    type Error = Rejection;
    type Future = Ready<Result<Self, Self::Error>>;

    fn from_request(req: &HttpRequest, _: &mut Payload) -> Self::Future {
        let checked = checked(req, "Planned", |v| v.require_plan(P::requirement()));
        ready(checked.map(|principal| Planned { principal, _requirement: PhantomData }))
    }
}

/// The principal of a request that passes `check`, or the refusal to send: the rendered one, or
/// 500 when the route has no [`KeygateTransform`](crate::KeygateTransform) in front of it.
fn checked(
    req: &HttpRequest,
    extractor: &'static str,
    check: impl FnOnce(&Verified) -> Result<(), keygate::adapter::Refusal>,
) -> Result<Principal, Rejection> {
    let extensions = req.extensions();
    let Some(verified) = extensions.get::<Verified>() else {
        tracing::error!("keygate: {extractor} used on a route without KeygateTransform");
        return Err(Rejection { response: None });
    };
    match check(verified) {
        Ok(()) => Ok(verified.principal().clone()),
        Err(refusal) => Err(Rejection { response: Some(refusal) }),
    }
}
