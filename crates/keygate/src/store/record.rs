//! The stored record of a key, and who owns it.

use std::fmt;
use std::net::IpAddr;

use ipnet::IpNet;

use serde::{Deserialize, Serialize};

use crate::clock::Timestamp;
use crate::format::{Environment, KeyId};
use crate::hash::{KeyHash, PepperVersion};
use crate::scope::ScopeSet;

use super::{Credits, Metadata, Usage};

/// What a key is for (Plane): a user's key or a workspace's service token.
///
/// ```
/// use keygate::store::KeyKind;
///
/// assert_eq!(KeyKind::default(), KeyKind::User);
/// assert_eq!("service".parse::<KeyKind>()?, KeyKind::Service);
/// assert_eq!(KeyKind::Service.as_str(), "service");
/// # Ok::<(), keygate::store::UnknownKind>(())
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, Default)]
#[serde(rename_all = "lowercase")]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub enum KeyKind {
    /// A key acting for one user.
    #[default]
    User,
    /// A workspace-level token for services.
    Service,
}

impl KeyKind {
    /// `"user"` or `"service"`.
    pub fn as_str(self) -> &'static str {
        match self {
            KeyKind::User => "user",
            KeyKind::Service => "service",
        }
    }
}

impl std::str::FromStr for KeyKind {
    type Err = UnknownKind;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s {
            "user" => Ok(KeyKind::User),
            "service" => Ok(KeyKind::Service),
            _ => Err(UnknownKind),
        }
    }
}

/// The text is neither `user` nor `service`.
///
/// ```
/// use keygate::store::{KeyKind, UnknownKind};
///
/// assert_eq!("bot".parse::<KeyKind>(), Err(UnknownKind));
/// assert_eq!(UnknownKind.to_string(), "kind must be `user` or `service`");
/// ```
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("kind must be `user` or `service`")]
pub struct UnknownKind;

/// Who a key belongs to: a workspace, and optionally a user in it.
///
/// ```
/// use keygate::store::Owner;
///
/// let token = Owner::workspace("wks_1");
/// let laptop = Owner::user("wks_1", "usr_7");
/// assert_eq!(token.user_id, None);
/// assert_eq!((laptop.workspace_id.as_str(), laptop.user_id.as_deref()), ("wks_1", Some("usr_7")));
/// ```
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct Owner {
    /// The workspace (tenant) the key acts in.
    pub workspace_id: String,
    /// The user the key acts for, if it is a user's key.
    pub user_id: Option<String>,
}

impl Owner {
    /// A workspace with no user.
    pub fn workspace(workspace_id: impl Into<String>) -> Self {
        Owner { workspace_id: workspace_id.into(), user_id: None }
    }

    /// A user in a workspace.
    pub fn user(workspace_id: impl Into<String>, user_id: impl Into<String>) -> Self {
        Owner { workspace_id: workspace_id.into(), user_id: Some(user_id.into()) }
    }
}

/// Everything stored about a key. Never the secret: only its keyed hash.
///
/// A store outside this crate builds one with [`KeyRecord::new`] and sets the other fields,
/// so that a field added later does not break it.
///
/// ```
/// use keygate::clock::Timestamp;
/// use keygate::format::{Environment, KeyId};
/// use keygate::hash::KeyHash;
/// use keygate::store::{KeyRecord, Owner};
///
/// let id: KeyId = "key_AbCdEfGh1234".parse()?;
/// let mut record = KeyRecord::new(
///     id,
///     KeyHash::from_bytes([0; 32]),
///     1,
///     "sk_live_AbCd".into(),
///     Owner::workspace("wks_1"),
///     Environment::Live,
///     Timestamp::from_unix_seconds(1_800_000_000),
/// );
/// record.name = "CI".into();
/// assert!(record.is_in_force_at(Timestamp::from_unix_seconds(1_900_000_000)));
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct KeyRecord {
    /// The key id (also inside the key).
    pub id: KeyId,
    /// `HMAC-SHA256(pepper, secret)`.
    pub hash: KeyHash,
    /// Which pepper made [`hash`](Self::hash).
    pub pepper_version: PepperVersion,
    /// The prefix and first 4 characters after it: what listings show.
    pub preview: String,
    /// Who the key belongs to.
    pub owner: Owner,
    /// User key or service token.
    pub kind: KeyKind,
    /// Live or test.
    pub environment: Environment,
    /// The scopes granted.
    pub scopes: ScopeSet,
    /// A name for people (at most 200 characters through the management API).
    pub name: String,
    /// A longer note for people.
    pub description: Option<String>,
    /// When it was minted.
    pub created_at: Timestamp,
    /// When it stops working, if ever.
    pub expires_at: Option<Timestamp>,
    /// When it was revoked, or will be when a rotation's grace period ends.
    pub revoked_at: Option<Timestamp>,
    /// Turned off by its owner; can be turned back on.
    pub disabled: bool,
    /// When it last verified, as of the last usage flush.
    pub last_used: Option<Timestamp>,
    /// The name of its rate plan, if not the default for its kind: the per-key override.
    pub rate_plan: Option<String>,
    /// Windows of its own (10 a second and 1,000 an hour), which limit it instead of its plan's
    /// windows; its plan still names it for plan gating. Made with
    /// [`RatePlan::of_key`](crate::limit::RatePlan::of_key).
    pub rate_limits: Option<crate::limit::RatePlan>,
    /// Request counters, as of the last usage flush.
    pub usage: Usage,
    /// A small JSON object the service reads on every request (customer id, tier, flags).
    pub metadata: Option<Metadata>,
    /// The networks the key may be used from; empty for anywhere.
    pub allowed_ips: Vec<IpNet>,
    /// The credits each request spends; `None` for unlimited. The balance here is as of the
    /// read: spending goes through [`KeyStore::spend`](super::KeyStore::spend).
    pub credits: Option<Credits>,
}

impl fmt::Debug for KeyRecord {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("KeyRecord")
            .field("id", &self.id)
            .field("preview", &self.preview)
            .field("owner", &self.owner)
            .field("kind", &self.kind)
            .field("environment", &self.environment)
            .field("scopes", &self.scopes)
            .field("name", &self.name)
            .field("created_at", &self.created_at)
            .field("expires_at", &self.expires_at)
            .field("revoked_at", &self.revoked_at)
            .field("disabled", &self.disabled)
            .field("last_used", &self.last_used)
            .field("rate_plan", &self.rate_plan)
            .field("rate_limits", &self.rate_limits)
            .field("usage", &self.usage)
            .field("metadata", &self.metadata)
            .field("allowed_ips", &self.allowed_ips)
            .field("credits", &self.credits)
            .finish_non_exhaustive()
    }
}

impl KeyRecord {
    /// A record of a user key with the given identity, owner, environment and creation time,
    /// no scopes, an empty name and nothing else set.
    pub fn new(
        id: KeyId,
        hash: KeyHash,
        pepper_version: PepperVersion,
        preview: String,
        owner: Owner,
        environment: Environment,
        created_at: Timestamp,
    ) -> Self {
        KeyRecord {
            id,
            hash,
            pepper_version,
            preview,
            owner,
            kind: KeyKind::User,
            environment,
            scopes: ScopeSet::new(),
            name: String::new(),
            description: None,
            created_at,
            expires_at: None,
            revoked_at: None,
            disabled: false,
            last_used: None,
            rate_plan: None,
            rate_limits: None,
            usage: Usage::default(),
            metadata: None,
            allowed_ips: Vec::new(),
            credits: None,
        }
    }

    /// Whether the key is revoked at `now` (a rotation's grace period counts as not yet).
    pub fn is_revoked_at(&self, now: Timestamp) -> bool {
        self.revoked_at.is_some_and(|t| t <= now)
    }

    /// Whether the key has expired at `now`.
    pub fn is_expired_at(&self, now: Timestamp) -> bool {
        self.expires_at.is_some_and(|t| t <= now)
    }

    /// Whether the key may be used from `client`: anywhere when it names no network, else only
    /// from an address inside one of them (never from an unknown address).
    ///
    /// ```
    /// # use keygate::{clock::Timestamp, format::Environment, hash::KeyHash, store::{KeyRecord, Owner}};
    /// # let mut record = KeyRecord::new("key_AbCdEfGh1234".parse()?, KeyHash::from_bytes([0; 32]), 1,
    /// #     "sk_live_AbCd".into(), Owner::workspace("wks_1"), Environment::Live, Timestamp::UNIX_EPOCH);
    /// let office = "203.0.113.9".parse()?;
    /// assert!(record.allows_client(Some(office)) && record.allows_client(None));
    /// record.allowed_ips = vec!["203.0.113.0/24".parse()?];
    /// assert!(record.allows_client(Some(office)));
    /// assert!(!record.allows_client(Some("127.0.0.1".parse()?)) && !record.allows_client(None));
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn allows_client(&self, client: Option<IpAddr>) -> bool {
        self.allowed_ips.is_empty()
            || client.is_some_and(|ip| {
                let ip = ip.to_canonical();
                self.allowed_ips.iter().any(|net| net.contains(&ip))
            })
    }

    /// Whether the key counts against its workspace's cap at `now`: neither revoked nor
    /// expired (a disabled key still counts; it can be turned back on).
    pub fn is_in_force_at(&self, now: Timestamp) -> bool {
        !self.is_revoked_at(now) && !self.is_expired_at(now)
    }
}
