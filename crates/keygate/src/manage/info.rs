//! What is shown of a key: never the key, never its hash.

use std::sync::Arc;

use serde::Serialize;

use crate::clock::Timestamp;
use crate::format::{Environment, KeyId};
use crate::scope::ScopeSet;
use crate::secret::Secret;
use crate::store::{Cursor, KeyKind, KeyRecord, Metadata, Refill, SeenNetwork};

/// A freshly minted key: the full key, shown once, and its record.
///
/// ```
/// use keygate::{Keygate, manage::NewKey, preset::Preset, store::Owner};
///
/// # #[tokio::main(flavor = "current_thread")]
/// # async fn main() -> Result<(), Box<dyn std::error::Error>> {
/// let gate = Keygate::builder(Preset::livetest()).random_pepper().build()?;
/// let minted = gate.mint(NewKey::new(Owner::workspace("wks_1"), "ci")).await?;
/// assert!(minted.key.expose_secret().starts_with("sk_live_"));
/// assert_eq!(minted.record.name, "ci");
/// // Its Debug output never shows the key.
/// assert!(!format!("{minted:?}").contains(minted.key.expose_secret()));
/// # Ok(())
/// # }
/// ```
#[derive(Debug)]
pub struct MintedKey {
    /// The full key. Hand it to its owner once; it cannot be recovered later.
    pub key: Secret,
    /// The stored record.
    pub record: Arc<KeyRecord>,
}

/// What a listing or a lookup shows of a key: never the key, never its hash.
///
/// ```
/// use keygate::{Keygate, manage::NewKey, preset::Preset, store::Owner};
///
/// # #[tokio::main(flavor = "current_thread")]
/// # async fn main() -> Result<(), Box<dyn std::error::Error>> {
/// let gate = Keygate::builder(Preset::livetest()).random_pepper().build()?;
/// let minted = gate.mint(NewKey::new(Owner::user("wks_1", "usr_1"), "laptop")).await?;
/// let info = gate.get_key(&minted.record.id).await?;
/// assert_eq!((info.prefix.len(), info.is_active), ("sk_live_".len() + 4, true));
/// assert_eq!(info.user_id.as_deref(), Some("usr_1"));
/// # Ok(())
/// # }
/// ```
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct KeyInfo {
    /// The key id, `key_…`.
    pub id: KeyId,
    /// The prefix and the first 4 characters after it.
    pub prefix: String,
    /// Its name.
    pub name: String,
    /// Its description.
    pub description: Option<String>,
    /// Its workspace.
    pub workspace_id: String,
    /// Its user, if any.
    pub user_id: Option<String>,
    /// `user` or `service`.
    pub kind: KeyKind,
    /// `live` or `test`.
    pub environment: Environment,
    /// Its scopes.
    pub scopes: ScopeSet,
    /// Whether it works now: not revoked, disabled or expired.
    pub is_active: bool,
    /// Turned off by its owner.
    pub disabled: bool,
    /// When it was minted.
    pub created_at: Timestamp,
    /// When it expires, if ever.
    pub expires_at: Option<Timestamp>,
    /// When it was (or will be, after a rotation) revoked.
    pub revoked_at: Option<Timestamp>,
    /// Its last request, counting requests not yet flushed.
    pub last_used: Option<Timestamp>,
    /// Its own rate plan, if not the default.
    pub rate_plan: Option<String>,
    /// Its own rate-limit windows, which limit it instead of its plan's; empty for none.
    pub rate_limits: Vec<crate::limit::Window>,
    /// Its metadata, if any.
    pub metadata: Option<Metadata>,
    /// The networks it may be used from; empty for anywhere.
    #[serde(serialize_with = "networks")]
    pub allowed_ips: Vec<ipnet::IpNet>,
    /// Its balance of credits as of now; `None` for an unlimited key.
    pub remaining: Option<u64>,
    /// The refill of its credits, if any.
    pub refill: Option<Refill>,
    /// When its credits are next refilled, if they are.
    pub refills_at: Option<Timestamp>,
    /// Its request counts, counting requests not yet flushed.
    pub usage: UsageInfo,
    /// The networks it was used from, most recent first, as of the last usage flush: in one
    /// key's details ([`Keygate::get_key`](crate::Keygate::get_key)), not in lists.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub recent_networks: Option<Vec<SeenNetwork>>,
}

/// Request counts of a key (the live/test key API's `usage`).
///
/// ```
/// use keygate::{Keygate, manage::NewKey, preset::Preset, store::Owner};
///
/// # #[tokio::main(flavor = "current_thread")]
/// # async fn main() -> Result<(), Box<dyn std::error::Error>> {
/// let gate = Keygate::builder(Preset::livetest()).random_pepper().build()?;
/// let minted = gate.mint(NewKey::new(Owner::workspace("wks_1"), "ci")).await?;
/// gate.authenticate(&[("authorization", format!("Bearer {}", minted.key.expose_secret()))], None).await?;
/// let usage = gate.get_key(&minted.record.id).await?.usage;
/// assert_eq!((usage.requests_today, usage.requests_this_month), (1, 1));
/// # Ok(())
/// # }
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct UsageInfo {
    /// Requests on the current UTC day.
    pub requests_today: u64,
    /// Requests in the current UTC month.
    pub requests_this_month: u64,
}

/// A page of [`KeyInfo`]s.
///
/// ```
/// use keygate::{Keygate, manage::NewKey, preset::Preset, store::Owner};
///
/// # #[tokio::main(flavor = "current_thread")]
/// # async fn main() -> Result<(), Box<dyn std::error::Error>> {
/// let gate = Keygate::builder(Preset::livetest()).random_pepper().build()?;
/// for name in ["a", "b", "c"] {
///     gate.mint(NewKey::new(Owner::workspace("wks_1"), name)).await?;
/// }
/// let first = gate.list_keys("wks_1", None, None, 2).await?;
/// assert_eq!(first.keys.len(), 2);
/// let rest = gate.list_keys("wks_1", None, first.next, 2).await?;
/// assert_eq!((rest.keys.len(), rest.next), (1, None));
/// # Ok(())
/// # }
/// ```
#[derive(Debug, Clone)]
pub struct KeyPage {
    /// The keys, oldest first.
    pub keys: Vec<KeyInfo>,
    /// Pass it back to get the next page; `None` on the last page.
    pub next: Option<Cursor>,
}

/// Networks as CIDR texts.
pub(crate) fn networks<S: serde::Serializer>(
    nets: &[ipnet::IpNet],
    s: S,
) -> Result<S::Ok, S::Error> {
    s.collect_seq(nets.iter().map(ToString::to_string))
}
