use std::marker::PhantomData;

use axum::extract::FromRequestParts;
use axum::http::request::Parts;
use keygate::Principal;
use keygate::adapter::Verified;
use keygate::plan::RequirePlan;
use keygate::scope::ScopeRequirement;

use crate::Rejection;

/// The id of the request: its `X-Request-Id` if sane, else one keygate makes. Read from what
/// [`KeygateLayer`](crate::KeygateLayer) left in the extensions; on a route
/// without the layer, it reads the header itself.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RequestId(pub String);

impl<S: Send + Sync> FromRequestParts<S> for RequestId {
    type Rejection = std::convert::Infallible;

    async fn from_request_parts(parts: &mut Parts, _state: &S) -> Result<Self, Self::Rejection> {
        Ok(RequestId(match parts.extensions.get::<Verified>() {
            Some(verified) => verified.request_id(),
            None => keygate::adapter::request_id(&parts.headers),
        }))
    }
}

/// Extracts the [`Principal`] of a request authenticated by [`KeygateLayer`](crate::KeygateLayer).
///
/// ```
/// use keygate_axum::Auth;
///
/// async fn me(Auth(principal): Auth) -> String {
///     principal.workspace_id().to_owned()
/// }
/// ```
#[derive(Debug, Clone)]
pub struct Auth(pub Principal);

impl<S: Send + Sync> FromRequestParts<S> for Auth {
    type Rejection = Rejection;

    async fn from_request_parts(parts: &mut Parts, _state: &S) -> Result<Self, Self::Rejection> {
        parts.extensions.get::<Verified>().map(|v| Auth(v.principal().clone())).ok_or_else(|| {
            Rejection::misconfigured("keygate: Auth used on a route without KeygateLayer")
        })
    }
}

/// Extracts the [`Principal`] of a request whose key holds the scopes `R` requires, else
/// rejects it with 403 `scope_required` in the preset's style.
///
/// ```
/// use keygate_axum::Scoped;
///
/// keygate_axum::requirement!(TasksDelete = all_of["tasks:delete"]);
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

impl<S: Send + Sync, R: ScopeRequirement> FromRequestParts<S> for Scoped<R> {
    type Rejection = Rejection;

    async fn from_request_parts(parts: &mut Parts, _state: &S) -> Result<Self, Self::Rejection> {
        let principal =
            checked(parts, "keygate: Scoped used on a route without KeygateLayer", |v| {
                v.require(R::requirement())
            })?;
        Ok(Scoped { principal, _requirement: PhantomData })
    }
}

/// Extracts the [`Principal`] of a request whose key is on a plan `P` allows (declare `P` with
/// [`plan_requirement!`](keygate::plan_requirement)), else rejects it with 403 `forbidden` in
/// the preset's style. Put it after [`Scoped`] to check scopes first.
///
/// ```
/// use keygate_axum::Planned;
///
/// keygate_axum::plan_requirement!(Professional = ["professional"]);
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

impl<S: Send + Sync, P: RequirePlan> FromRequestParts<S> for Planned<P> {
    type Rejection = Rejection;

    async fn from_request_parts(parts: &mut Parts, _state: &S) -> Result<Self, Self::Rejection> {
        let principal =
            checked(parts, "keygate: Planned used on a route without KeygateLayer", |v| {
                v.require_plan(P::requirement())
            })?;
        Ok(Planned { principal, _requirement: PhantomData })
    }
}

/// The principal of a request that passes `check`, or the refusal to send: the rendered one, or
/// 500 (`missing_layer`) when the route has no [`KeygateLayer`](crate::KeygateLayer).
// The extractors' own error type, returned as it is.
#[allow(clippy::result_large_err)]
fn checked(
    parts: &Parts,
    missing_layer: &'static str,
    check: impl FnOnce(&Verified) -> Result<(), keygate::response::Response>,
) -> Result<Principal, Rejection> {
    let Some(verified) = parts.extensions.get::<Verified>() else {
        return Err(Rejection::misconfigured(missing_layer));
    };
    match check(verified) {
        Ok(()) => Ok(verified.principal().clone()),
        Err(refusal) => Err(Rejection(refusal.into_http())),
    }
}
