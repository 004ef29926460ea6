//! Events: what happened to keys and requests, for audit logs, metrics and alerts.
//!
//! Give the [`Keygate`](crate::Keygate) builder an [`EventSink`]; it is called synchronously,
//! so a sink that does I/O should hand events to a queue. Events carry key ids, never secrets.
//! keygate also emits `tracing` events: `info` for minted, revoked and rotated keys, `debug` for
//! refused credentials and rate-limited requests (per request, so a flood of them cannot flood
//! the logs), `warn` for expiring keys and an unreachable store or limiter, `trace` for each
//! verified request. Each authentication runs in a `debug` span `keygate.authenticate`
//! (fields `preset`, `client_ip`, `key_id`, `outcome`) and each management call in a span
//! `keygate.management` (`method`, `route`, `key_id`, `status`); no field ever holds a secret.
//!
//! With the feature `metrics`, [`MetricsSink`](crate::metrics::MetricsSink) turns events into
//! counters and a histogram of the `metrics` crate.
//!
//! ```
//! use std::sync::{Arc, Mutex};
//! use keygate::event::{Event, EventSink};
//!
//! #[derive(Default)]
//! struct Audit(Mutex<Vec<String>>);
//!
//! impl EventSink for Audit {
//!     fn on_event(&self, event: &Event<'_>) {
//!         self.0.lock().unwrap().push(format!("{event:?}"));
//!     }
//! }
//! let audit = Arc::new(Audit::default());
//! // Keygate::builder(preset).events(audit.clone()) ...
//! # let _ = audit;
//! ```

use std::net::IpAddr;

use crate::clock::Timestamp;
use crate::format::KeyId;
use crate::limit::RateLimitInfo;

/// Something that happened.
///
/// ```
/// use keygate::event::Event;
/// use keygate::format::KeyId;
///
/// let key_id: KeyId = "key_AbCdEfGh1234".parse()?;
/// let event = Event::Revoked { key_id };
/// let line = match event {
///     Event::Revoked { key_id } => format!("revoked {key_id}"),
///     _ => String::new(),
/// };
/// assert_eq!(line, "revoked key_AbCdEfGh1234");
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum Event<'a> {
    /// A request's key verified and passed its rate limit.
    Verified {
        /// The key.
        key_id: KeyId,
        /// Its workspace.
        workspace_id: &'a str,
    },
    /// A request failed authentication.
    Failed {
        /// Why, as [`AuthError::reason`](crate::AuthError::reason) says.
        reason: &'static str,
        /// The key id, when the credential named one.
        key_id: Option<KeyId>,
        /// The client address, when the adapter gave it.
        client_ip: Option<IpAddr>,
    },
    /// A request was refused by a rate limit: a key's plan, or the failed-auth throttle.
    RateLimited {
        /// The key, for a key's plan; `None` for the failed-auth throttle.
        key_id: Option<KeyId>,
        /// The client address, when the adapter gave it.
        client_ip: Option<IpAddr>,
        /// The figures the 429 reports.
        info: RateLimitInfo,
    },
    /// A key was minted.
    Minted {
        /// The new key.
        key_id: KeyId,
        /// Its workspace.
        workspace_id: &'a str,
    },
    /// A key was revoked.
    Revoked {
        /// The key.
        key_id: KeyId,
    },
    /// Every key of a workspace (or of one user in it) was revoked.
    RevokedAll {
        /// The workspace.
        workspace_id: &'a str,
        /// The user, if only theirs.
        user_id: Option<&'a str>,
        /// How many keys changed.
        count: u64,
    },
    /// A key was rotated: `new` replaces `old`, which works until `old_revoked_at`.
    Rotated {
        /// The key replaced.
        old: KeyId,
        /// The key replacing it.
        new: KeyId,
        /// When the old key stops working.
        old_revoked_at: Timestamp,
    },
    /// The rate limiter could not decide; the request was refused (fail closed) or let through
    /// without a limit (fail open), as the deployment chose.
    LimiterUnavailable {
        /// The key whose request it was.
        key_id: KeyId,
        /// Whether the request was let through.
        failed_open: bool,
    },
    /// A stored key names a pepper version this deployment does not have: its requests are
    /// refused like an unknown key's. Reported once per version and process.
    UnknownPepperVersion {
        /// The key that named it first.
        key_id: KeyId,
        /// The version.
        version: crate::hash::PepperVersion,
    },
    /// A presented key was checked (parse, lookup, hash, constant-time compare, state): how
    /// long that took, and whether the key verified. Requests without a credential are not
    /// checked.
    Checked {
        /// The time the check took.
        elapsed: std::time::Duration,
        /// Whether the key verified.
        verified: bool,
    },
    /// The key store could not answer: a request was refused with 503 (authentication never
    /// fails open) or a management call failed.
    StoreUnavailable {
        /// What was asked of it: `find` (a request's key), `spend` (a request's credits),
        /// `manage` (a management call).
        operation: &'static str,
    },
    /// A key expires soon.
    ExpiringSoon {
        /// The key.
        key_id: KeyId,
        /// Its workspace.
        workspace_id: &'a str,
        /// When it expires.
        expires_at: Timestamp,
    },
    /// A key was used from a network (its /24 or /48) that is not among the networks it was
    /// recently used from: worth an alert when keys are expected to stay put. Decided by the
    /// store when usage is flushed ([`Keygate::flush_usage`](crate::Keygate::flush_usage)), so
    /// it comes up to one flush interval after the request, once however many replicas saw
    /// the network (short of two flushing the same new network at the same moment).
    NewNetwork {
        /// The key.
        key_id: KeyId,
        /// The network, such as `203.0.113.0/24`.
        network: ipnet::IpNet,
        /// The last request from it before the flush.
        seen_at: Timestamp,
    },
}

/// Receives [`Event`]s.
///
/// ```
/// use std::sync::{Arc, Mutex};
/// use keygate::{Keygate, event::{Event, EventSink}, manage::NewKey, preset::Preset, store::Owner};
///
/// #[derive(Default)]
/// struct Minted(Mutex<Vec<String>>);
///
/// impl EventSink for Minted {
///     fn on_event(&self, event: &Event<'_>) {
///         if let Event::Minted { workspace_id, .. } = event {
///             self.0.lock().unwrap().push(workspace_id.to_string());
///         }
///     }
/// }
///
/// # #[tokio::main(flavor = "current_thread")]
/// # async fn main() -> Result<(), Box<dyn std::error::Error>> {
/// let sink = Arc::new(Minted::default());
/// let gate = Keygate::builder(Preset::livetest()).random_pepper().events(sink.clone()).build()?;
/// gate.mint(NewKey::new(Owner::workspace("wks_1"), "ci")).await?;
/// assert_eq!(*sink.0.lock().unwrap(), ["wks_1"]);
/// # Ok(())
/// # }
/// ```
pub trait EventSink: Send + Sync + 'static {
    /// Called once per event, on the task that caused it: keep it short.
    fn on_event(&self, event: &Event<'_>);
}
