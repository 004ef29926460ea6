use std::marker::PhantomData;

use axum::extract::{FromRef, FromRequestParts};
use axum::http::request::Parts;
use keygate::adapter::{Refusal, Verified};
use keygate::plan::RequirePlan;
use keygate::scope::ScopeRequirement;
use keygate::{Keygate, Principal};

use crate::{Rejection, peer_of};

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

/// Extracts the [`Principal`] of an authenticated request, else rejects it with keygate's
/// answer (401, 429…) in the preset's style.
///
/// Behind a [`KeygateLayer`](crate::KeygateLayer), it takes what the layer found. Without one,
/// it authenticates the request itself with the [`Keygate`] of the router's state
/// (`Keygate: FromRef<S>`), once per request however many extractors ask. The layer is what
/// adds `X-RateLimit-*` to successful answers; without it only refusals carry them.
///
/// ```
/// use axum::{Router, extract::FromRef, routing::get};
/// use keygate_axum::{Auth, keygate::{Keygate, preset::Preset}};
///
/// async fn me(Auth(principal): Auth) -> String {
///     principal.workspace_id().to_owned()
/// }
///
/// #[derive(Clone)]
/// struct AppState {
///     gate: Keygate,
/// }
///
/// impl FromRef<AppState> for Keygate {
///     fn from_ref(state: &AppState) -> Keygate {
///         state.gate.clone()
///     }
/// }
///
/// # fn app() -> Result<Router, Box<dyn std::error::Error>> {
/// let gate = Keygate::builder(Preset::livetest()).random_pepper().build()?;
/// let app = Router::new().route("/v1/me", get(me)).with_state(AppState { gate });
/// # Ok(app)
/// # }
/// ```
#[derive(Debug, Clone)]
pub struct Auth(pub Principal);

impl<S: Send + Sync> FromRequestParts<S> for Auth
where
    Keygate: FromRef<S>,
{
    type Rejection = Rejection;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, Self::Rejection> {
        Ok(Auth(verified(parts, state).await?.principal().clone()))
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

impl<S: Send + Sync, R: ScopeRequirement> FromRequestParts<S> for Scoped<R>
where
    Keygate: FromRef<S>,
{
    type Rejection = Rejection;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, Self::Rejection> {
        let verified = verified(parts, state).await?;
        verified.require(R::requirement())?;
        Ok(Scoped { principal: verified.principal().clone(), _requirement: PhantomData })
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

impl<S: Send + Sync, P: RequirePlan> FromRequestParts<S> for Planned<P>
where
    Keygate: FromRef<S>,
{
    type Rejection = Rejection;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, Self::Rejection> {
        let verified = verified(parts, state).await?;
        verified.require_plan(P::requirement())?;
        Ok(Planned { principal: verified.principal().clone(), _requirement: PhantomData })
    }
}

/// The request's authentication: the layer's, or one made now with the state's [`Keygate`] and
/// kept in the extensions for the request's other extractors.
async fn verified<S>(parts: &mut Parts, state: &S) -> Result<Verified, Refusal>
where
    Keygate: FromRef<S>,
{
    if let Some(verified) = parts.extensions.get::<Verified>() {
        return Ok(verified.clone());
    }
    let gate = Keygate::from_ref(state);
    let peer = peer_of(&parts.extensions, false);
    let verified = Verified::authenticate(&gate, &parts.headers, peer).await?;
    parts.extensions.insert(verified.clone());
    Ok(verified)
}
