//! Plan gating: routes that only keys on some plans may use, declared like a scope requirement.
//!
//! A key's plan is its own [`rate_plan`](crate::store::KeyRecord::rate_plan), or the default
//! plan for its kind ([`Keygate::plan_for`](crate::Keygate::plan_for)). A key whose plan is not among those a
//! [`PlanRequirement`] allows is refused with 403 `forbidden`, "This endpoint requires the
//! professional plan." in the preset's style.
//!
//! ```
//! use keygate::{AuthError, Keygate, manage::NewKey, plan::PlanRequirement, preset::Preset, store::Owner};
//!
//! # #[tokio::main(flavor = "current_thread")]
//! # async fn main() -> Result<(), Box<dyn std::error::Error>> {
//! let gate = Keygate::builder(Preset::livetest()).random_pepper().build()?;
//! let professional = PlanRequirement::any_of(["professional"])?;
//!
//! let free = gate.mint(NewKey::new(Owner::workspace("w"), "free")).await?;
//! let principal = gate.verify(free.key.expose_secret()).await?;
//! let err = gate.authorize_plan(&principal, &professional).unwrap_err();
//! assert_eq!(gate.render(&err, None).status, 403);
//!
//! let paid = gate.mint(NewKey::new(Owner::workspace("w"), "paid").rate_plan("professional")).await?;
//! let principal = gate.verify(paid.key.expose_secret()).await?;
//! assert!(gate.authorize_plan(&principal, &professional).is_ok());
//! # Ok(())
//! # }
//! ```

use std::fmt;
use std::sync::Arc;

/// The plans a route allows: any one of them is enough.
///
/// ```
/// use keygate::plan::PlanRequirement;
///
/// let paid = PlanRequirement::any_of(["professional", "enterprise"])?;
/// assert!(paid.allows("enterprise"));
/// assert!(!paid.allows("free"));
/// # Ok::<(), keygate::plan::EmptyPlanRequirement>(())
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PlanRequirement {
    allowed: Vec<Arc<str>>,
}

/// A [`PlanRequirement`] named no plan.
///
/// ```
/// use keygate::plan::{EmptyPlanRequirement, PlanRequirement};
///
/// let none: [&str; 0] = [];
/// assert_eq!(PlanRequirement::any_of(none), Err(EmptyPlanRequirement));
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("a plan requirement needs at least one plan")]
pub struct EmptyPlanRequirement;

impl PlanRequirement {
    /// Keys on any one of `plans` may use the route.
    ///
    /// # Errors
    /// [`EmptyPlanRequirement`] for no plan at all.
    pub fn any_of<I, S>(plans: I) -> Result<Self, EmptyPlanRequirement>
    where
        I: IntoIterator<Item = S>,
        S: AsRef<str>,
    {
        let allowed: Vec<Arc<str>> = plans.into_iter().map(|p| Arc::from(p.as_ref())).collect();
        if allowed.is_empty() {
            return Err(EmptyPlanRequirement);
        }
        Ok(PlanRequirement { allowed })
    }

    /// The plans allowed.
    pub fn allowed(&self) -> &[Arc<str>] {
        &self.allowed
    }

    /// Whether a key on `plan` may use the route.
    pub fn allows(&self, plan: &str) -> bool {
        self.allowed.iter().any(|p| &**p == plan)
    }
}

/// The plans a route allows, as a type, for extractors such as keygate-axum's `Planned<P>`.
/// Declare one with [`plan_requirement!`](crate::plan_requirement).
///
/// ```
/// use std::sync::OnceLock;
/// use keygate::plan::{PlanRequirement, RequirePlan};
///
/// // What `plan_requirement!(Professional = ["professional"])` writes.
/// struct Professional;
///
/// impl RequirePlan for Professional {
///     fn requirement() -> &'static PlanRequirement {
///         static REQUIREMENT: OnceLock<PlanRequirement> = OnceLock::new();
///         REQUIREMENT.get_or_init(|| PlanRequirement::any_of(["professional"]).unwrap())
///     }
/// }
/// assert!(Professional::requirement().allows("professional"));
/// ```
pub trait RequirePlan: Send + Sync + 'static {
    /// The requirement.
    fn requirement() -> &'static PlanRequirement;
}

/// Declares a [`RequirePlan`] type: a unit struct whose requirement is built once.
///
/// ```
/// use keygate::plan::RequirePlan;
///
/// keygate::plan_requirement!(pub Paid = ["professional", "enterprise"]);
/// assert!(Paid::requirement().allows("enterprise"));
/// ```
#[macro_export]
macro_rules! plan_requirement {
    ($vis:vis $name:ident = [$($plan:literal),+ $(,)?]) => {
        #[doc = concat!("Requires one of the plans: ", $($plan, " "),+)]
        #[derive(Debug, Clone, Copy)]
        $vis struct $name;

        impl $crate::plan::RequirePlan for $name {
            fn requirement() -> &'static $crate::plan::PlanRequirement {
                static REQUIREMENT: ::std::sync::OnceLock<$crate::plan::PlanRequirement> =
                    ::std::sync::OnceLock::new();
                REQUIREMENT.get_or_init(|| {
                    $crate::plan::PlanRequirement::any_of([$($plan),+])
                        .expect(concat!("no plan in ", stringify!($name)))
                })
            }
        }
    };
}

/// A failed plan check: the plans the route allows and the key's plan, if it has one.
///
/// ```
/// use keygate::{AuthError, Keygate, error::Forbidden, manage::NewKey, plan::PlanRequirement};
/// use keygate::{preset::Preset, store::Owner};
///
/// # #[tokio::main(flavor = "current_thread")]
/// # async fn main() -> Result<(), Box<dyn std::error::Error>> {
/// let gate = Keygate::builder(Preset::livetest()).random_pepper().build()?;
/// let minted = gate.mint(NewKey::new(Owner::workspace("wks_1"), "ci")).await?;
/// let principal = gate.verify(minted.key.expose_secret()).await?;
/// let paid = PlanRequirement::any_of(["professional", "enterprise"])?;
/// let Err(AuthError::Forbidden(Forbidden::Plan(denied))) = gate.authorize_plan(&principal, &paid) else {
///     panic!("a free key is refused");
/// };
/// assert_eq!(denied.plan(), Some("free"));
/// assert_eq!(denied.to_string(), "professional or enterprise");
/// # Ok(())
/// # }
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PlanDenied {
    allowed: Vec<Arc<str>>,
    plan: Option<Arc<str>>,
}

impl PlanRequirement {
    /// Checks a key's plan (`None` when the deployment gives it none) against the requirement.
    ///
    /// ```
    /// use keygate::plan::PlanRequirement;
    ///
    /// let pro = PlanRequirement::any_of(["professional"])?;
    /// assert!(pro.check(Some("professional")).is_ok());
    /// let denied = pro.check(Some("free")).unwrap_err();
    /// assert_eq!((denied.plan(), denied.to_string().as_str()), (Some("free"), "professional"));
    /// # Ok::<(), keygate::plan::EmptyPlanRequirement>(())
    /// ```
    ///
    /// # Errors
    /// [`PlanDenied`], naming the plans allowed and the key's plan.
    pub fn check(&self, plan: Option<&str>) -> Result<(), PlanDenied> {
        if plan.is_some_and(|p| self.allows(p)) {
            return Ok(());
        }
        Err(PlanDenied { allowed: self.allowed.clone(), plan: plan.map(Arc::from) })
    }
}

impl PlanDenied {
    /// The plans the route allows.
    pub fn allowed(&self) -> &[Arc<str>] {
        &self.allowed
    }

    /// The key's plan; `None` when the deployment gives it none.
    pub fn plan(&self) -> Option<&str> {
        self.plan.as_deref()
    }
}

/// The allowed plans as prose: `professional`, `professional or enterprise`.
impl fmt::Display for PlanDenied {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (i, plan) in self.allowed.iter().enumerate() {
            match i {
                0 => {}
                i if i + 1 == self.allowed.len() => f.write_str(" or ")?,
                _ => f.write_str(", ")?,
            }
            f.write_str(plan)?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn denials_name_the_allowed_plans() {
        let denied = |plans: &[&str]| PlanDenied {
            allowed: plans.iter().map(|p| Arc::from(*p)).collect(),
            plan: None,
        };
        assert_eq!(denied(&["professional"]).to_string(), "professional");
        assert_eq!(denied(&["pro", "team"]).to_string(), "pro or team");
        assert_eq!(denied(&["a", "b", "c"]).to_string(), "a, b or c");
        assert_eq!(PlanRequirement::any_of(Vec::<&str>::new()), Err(EmptyPlanRequirement));
    }
}
