//! A request as an adapter handles it: authenticated once, then asked for scopes and plans and
//! for the headers of its response, so that the request-id, rate-limit-header and rejection
//! rules are written once.

use super::Refusal;
use super::request_id::{new_request_id, sent_request_id};
use crate::credential::Headers;
use crate::gate::Keygate;
use crate::plan::PlanRequirement;
use crate::response::Response;
use crate::scope::Requirement;
use crate::verify::{Peer, Principal};

/// A request that passed [`Verified::authenticate`]. Adapters keep it with the request (in its
/// extensions) for their extractors and the management API.
///
/// ```
/// use keygate::{Keygate, Peer, adapter::Verified, manage::NewKey, preset::Preset};
/// use keygate::{scope::Requirement, store::Owner};
///
/// # #[tokio::main(flavor = "current_thread")]
/// # async fn main() -> Result<(), Box<dyn std::error::Error>> {
/// let gate = Keygate::builder(Preset::livetest()).random_pepper().build()?;
/// let minted = gate.mint(NewKey::new(Owner::workspace("wks_1"), "ci").scopes(["tasks:read"])?).await?;
/// let bearer = format!("Bearer {}", minted.key.expose_secret());
/// let headers = [("Authorization", bearer.as_str()), ("X-Request-Id", "req-1")];
/// let verified = Verified::authenticate(&gate, &headers, Peer::default()).await.unwrap();
/// assert_eq!(verified.principal().workspace_id(), "wks_1");
/// let refused = verified.require(&Requirement::all_of(["tasks:write"])?).unwrap_err();
/// assert_eq!((refused.status(), refused.response().header("x-request-id")), (403, Some("req-1")));
/// # Ok(())
/// # }
/// ```
#[derive(Debug, Clone)]
pub struct Verified {
    principal: Principal,
    gate: Keygate,
    sent_request_id: Option<String>,
}

impl Verified {
    /// Who the request acts for.
    pub fn principal(&self) -> &Principal {
        &self.principal
    }

    /// The handle that authenticated it.
    pub fn gate(&self) -> &Keygate {
        &self.gate
    }

    /// The caller's `X-Request-Id`, if it sent a sane one.
    pub fn sent_request_id(&self) -> Option<&str> {
        self.sent_request_id.as_deref()
    }

    /// The id for an error body: the caller's, or a new one (a new one on each call when the
    /// caller sent none; ids are made only when a response needs one).
    pub fn request_id(&self) -> String {
        self.sent_request_id.clone().unwrap_or_else(new_request_id)
    }

    /// Checks `requirement` under the preset's policy.
    ///
    /// # Errors
    /// The refusal, rendered as 403 `scope_required` with the request's `X-RateLimit-*` and
    /// `X-Request-Id` headers, ready to send.
    pub fn require(&self, requirement: &Requirement) -> Result<(), Refusal> {
        self.gate.authorize(&self.principal, requirement).map_err(|err| self.refuse(err))
    }

    /// Checks that the key's plan is one `requirement` allows.
    ///
    /// # Errors
    /// The refusal, rendered as 403 `forbidden` ("This endpoint requires the professional
    /// plan.") with the request's `X-RateLimit-*` and `X-Request-Id` headers, ready to send.
    pub fn require_plan(&self, requirement: &PlanRequirement) -> Result<(), Refusal> {
        self.gate.authorize_plan(&self.principal, requirement).map_err(|err| self.refuse(err))
    }

    /// `err` rendered for this request, with its rate-limit and request-id headers.
    fn refuse(&self, err: crate::AuthError) -> Refusal {
        let id = self.request_id();
        let mut response: Response = self.gate.render(&err, Some(&id));
        if let Some(info) = self.principal.rate_limit() {
            response.add_rate_limit_headers(&self.gate.preset().renderer, info, self.gate.now());
        }
        response.headers.push(("x-request-id", id));
        Refusal::new(err, response)
    }

    /// The headers every response to this request carries: `X-RateLimit-*` when the key's plan
    /// has windows, and `X-Request-Id` when the caller sent one.
    pub fn response_headers(&self) -> Vec<(&'static str, String)> {
        // No allocation for a request with neither.
        let mut headers = Vec::new();
        if let Some(info) = self.principal.rate_limit() {
            headers.extend(self.gate.preset().renderer.rate_limit_headers(info, self.gate.now()));
        }
        if let Some(id) = &self.sent_request_id {
            headers.push(("x-request-id", id.clone()));
        }
        headers
    }
}

impl Verified {
    /// [`Keygate::authenticate`] for an adapter: on success the [`Verified`] request; on
    /// failure the [`Refusal`]: the error, and the rendered response with `X-Request-Id` (the
    /// caller's, or a new one), ready to send.
    ///
    /// # Errors
    /// The refusal.
    pub async fn authenticate<H: Headers + ?Sized>(
        gate: &Keygate,
        headers: &H,
        peer: Peer,
    ) -> Result<Verified, Refusal> {
        Self::authenticate_weighted(gate, headers, peer, crate::DEFAULT_COST).await
    }

    /// [`authenticate`](Self::authenticate) for a request of a route that costs `cost`
    /// ([`Keygate::authenticate_weighted`]).
    ///
    /// # Errors
    /// The refusal.
    pub async fn authenticate_weighted<H: Headers + ?Sized>(
        gate: &Keygate,
        headers: &H,
        peer: Peer,
        cost: u64,
    ) -> Result<Verified, Refusal> {
        let sent = sent_request_id(headers);
        match gate.authenticate_weighted(headers, peer, cost).await {
            Ok(principal) => Ok(Verified { principal, gate: gate.clone(), sent_request_id: sent }),
            Err(err) => {
                let id = sent.unwrap_or_else(new_request_id);
                let mut response = gate.render(&err, Some(&id));
                response.headers.push(("x-request-id", id));
                Err(Refusal::new(err, response))
            }
        }
    }
}
