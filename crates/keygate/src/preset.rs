//! The four compatibility presets: each reproduces the API-key auth that one real API documents.
//!
//! | preset | API | keys | credential | errors | scopes | rate plans |
//! | --- | --- | --- | --- | --- | --- | --- |
//! | [`Preset::productlane`] | Productlane v2 | `pl_v2_`, `pl_v1_` answered 410 | Bearer | envelope | Productlane's list, `admin` one among them | none |
//! | [`Preset::plane`] | Plane | `pk_` | `X-Api-Key` | `{"detail"}` | tasks + `admin` | user keys 60/min, service tokens 300/min |
//! | [`Preset::livetest`] | a live/test key API | `sk_live_` / `sk_test_` | Bearer | envelope | `tasks:*`, `projects:*`, `users:*`, `admin:*` = everything | Free 100/min + 1,000/h (default), Professional 500/min + 10,000/h |
//! | [`Preset::workspace`] | a workspace API | `ws_` | Bearer | RFC 9457 problem | `read:all`, `write:all`, `admin` (implies both) | none |
//!
//! Every preset also knows the scopes `tasks:read`, `tasks:write` and `tasks:delete`, and names an
//! admin scope that key management requires. A preset is a plain value: change any field. Each
//! sends the `X-RateLimit-*` headers; its renderer's
//! [`rate_limit_fields`](crate::response::Renderer::rate_limit_fields) switches to (or adds)
//! the IETF `RateLimit-Policy` / `RateLimit` fields.
//!
//! ```
//! use keygate::preset::Preset;
//! use keygate::response::ErrorStyle;
//!
//! let mut preset = Preset::productlane();
//! assert_eq!(preset.renderer.style(), ErrorStyle::Envelope);
//! preset.renderer = preset.renderer.realm("productlane")?;
//! # Ok::<(), keygate::response::InvalidRealm>(())
//! ```

use crate::credential::CredentialSources;
use crate::format::KeyFormat;
use crate::limit::{RatePlan, RatePlans};
use crate::response::{ErrorStyle, Renderer};
use crate::scope::{Scope, ScopePolicy};
use crate::store::KeyKind;

/// A deployment's API-key conventions: key format, where credentials are read, error style,
/// scopes and rate plans.
///
/// ```
/// use keygate::{format::KeyFormat, preset::Preset, response::ErrorStyle};
///
/// let plane = Preset::by_name("plane").unwrap();
/// assert_eq!(plane.sources.label(), "X-Api-Key");
/// assert_eq!(plane.renderer.style(), ErrorStyle::Detail);
/// let own = Preset::new("acme", KeyFormat::builder("acme").build()?);
/// assert_eq!(own.admin_scope.as_str(), "admin");
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Debug, Clone)]
#[non_exhaustive]
pub struct Preset {
    /// A short name: `productlane`, `plane`, `livetest`, `workspace`, or your own.
    pub name: &'static str,
    /// The key format.
    pub format: KeyFormat,
    /// Where credentials are read from.
    pub sources: CredentialSources,
    /// How errors are rendered.
    pub renderer: Renderer,
    /// Which scopes exist and which imply which.
    pub policy: ScopePolicy,
    /// The scope key management requires.
    pub admin_scope: Scope,
    /// Rate plans and the default per kind of key.
    pub plans: RatePlans,
    /// The name of the scope list in management-API bodies: `scopes`, or `permissions` as
    /// the live/test key API writes it. Requests may use either.
    pub scopes_field: &'static str,
}

const TASKS: [&str; 3] = ["tasks:read", "tasks:write", "tasks:delete"];

fn scope(s: &str) -> Scope {
    match Scope::new(s) {
        Ok(s) => s,
        Err(e) => unreachable!("preset scope: {e}"),
    }
}

fn built<T, E: std::fmt::Display>(r: Result<T, E>) -> T {
    match r {
        Ok(v) => v,
        Err(e) => unreachable!("preset settings are fixed and valid: {e}"),
    }
}

impl Preset {
    /// A deployment of your own: Bearer credentials, the envelope style, any well-formed scope,
    /// `admin` as the admin scope, and no rate plans.
    pub fn new(name: &'static str, format: KeyFormat) -> Self {
        Preset {
            name,
            format,
            sources: CredentialSources::bearer(),
            renderer: Renderer::new(ErrorStyle::Envelope),
            policy: ScopePolicy::default(),
            admin_scope: scope("admin"),
            plans: RatePlans::new(),
            scopes_field: "scopes",
        }
    }

    /// Productlane v2: `pl_v2_` Bearer keys, `pl_v1_` keys answered
    /// `410 unsupported_key_version`, the envelope style and Productlane's scope list.
    pub fn productlane() -> Self {
        let format = built(KeyFormat::builder("pl").version("v2").retired_versions(["v1"]).build());
        let known = [
            "threads:read",
            "threads:write",
            "messages:write",
            "comments:write",
            "contacts:read",
            "contacts:write",
            "companies:read",
            "companies:write",
            "changelogs:read",
            "changelogs:write",
            "docs:read",
            "docs:write",
            "portal:read",
            "projects:read",
            "projects:write",
            "issues:read",
            "issues:write",
            "admin",
        ];
        Preset {
            renderer: Renderer::new(ErrorStyle::Envelope).unsupported_version_status(410),
            policy: built(ScopePolicy::builder().known(known).known(TASKS).build()),
            ..Preset::new("productlane", format)
        }
    }

    /// Plane: `X-Api-Key` header, `{"detail": "..."}` errors, 60 requests a minute
    /// for user keys and 300 for service tokens.
    pub fn plane() -> Self {
        let format = built(KeyFormat::builder("pk").build());
        Preset {
            sources: CredentialSources::header("X-Api-Key"),
            renderer: Renderer::new(ErrorStyle::Detail),
            policy: built(ScopePolicy::builder().known(TASKS).known(["admin"]).build()),
            plans: RatePlans::new()
                .default_for(KeyKind::User, RatePlan::new("api_key").per_minute(60))
                .default_for(KeyKind::Service, RatePlan::new("service_token").per_minute(300)),
            ..Preset::new("plane", format)
        }
    }

    /// A live/test key API: `sk_live_` / `sk_test_` Bearer keys, the envelope style, `admin:*` as full
    /// access, and the Free (default) and Professional plans, each per minute and per hour.
    pub fn livetest() -> Self {
        let format = built(KeyFormat::builder("sk").environments("live", "test").build());
        let known = [
            "projects:read",
            "projects:write",
            "projects:delete",
            "users:read",
            "users:write",
            "admin:*",
        ];
        let free = RatePlan::new("free").per_minute(100).per_hour(1_000);
        Preset {
            policy: built(
                ScopePolicy::builder().known(TASKS).known(known).implies("admin:*", ["*"]).build(),
            ),
            admin_scope: scope("admin:*"),
            plans: RatePlans::new()
                .default_for(KeyKind::User, free.clone())
                .default_for(KeyKind::Service, free)
                .plan(RatePlan::new("professional").per_minute(500).per_hour(10_000)),
            scopes_field: "permissions",
            ..Preset::new("livetest", format)
        }
    }

    /// A workspace API: Bearer keys, RFC 9457 problem details, `read:all` and `write:all` over every
    /// resource, and `admin` implying both (and everything else).
    pub fn workspace() -> Self {
        let format = built(KeyFormat::builder("ws").build());
        Preset {
            renderer: Renderer::new(ErrorStyle::Problem),
            policy: built(
                ScopePolicy::builder()
                    .known(["read:all", "write:all", "admin"])
                    .known(TASKS)
                    .implies("read:all", ["*:read"])
                    .implies("write:all", ["*:write"])
                    .implies("admin", ["read:all", "write:all", "*"])
                    .build(),
            ),
            ..Preset::new("workspace", format)
        }
    }

    /// The preset called `name`, if it is one of the four.
    pub fn by_name(name: &str) -> Option<Self> {
        match name {
            "productlane" => Some(Self::productlane()),
            "plane" => Some(Self::plane()),
            "livetest" => Some(Self::livetest()),
            "workspace" => Some(Self::workspace()),
            _ => None,
        }
    }
}
