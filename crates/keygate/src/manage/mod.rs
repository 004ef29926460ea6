//! Key lifecycle: mint, list, get, update, revoke, rotate, expiring soon.
//!
//! [`Keygate::mint`](crate::Keygate::mint) makes a key from the OS CSPRNG, stores its record (with the keyed hash of
//! its secret, never the secret) and returns the full key exactly once. Everything else sees a
//! [`KeyInfo`]: the record without its hash, with the preview instead of the key.
//!
//! | operation | method |
//! | --- | --- |
//! | mint | [`Keygate::mint`](crate::Keygate::mint) |
//! | list a workspace's keys, paged | [`Keygate::list_keys`](crate::Keygate::list_keys) |
//! | one key, with usage | [`Keygate::get_key`](crate::Keygate::get_key) |
//! | rename, rescope, change expiry, disable | [`Keygate::update_key`](crate::Keygate::update_key) |
//! | revoke now; revoke all of an owner | [`Keygate::revoke_key`](crate::Keygate::revoke_key), [`Keygate::revoke_all`](crate::Keygate::revoke_all) |
//! | rotate with a grace period | [`Keygate::rotate_key`](crate::Keygate::rotate_key) |
//! | keys expiring soon | [`Keygate::expiring_soon`](crate::Keygate::expiring_soon) |
//!
//! These methods are the operator's: they act on any key of any workspace. To act for a
//! tenant (an API key, a logged-in user), go through [`Keygate::acting_for`](crate::Keygate::acting_for), which applies the
//! authorization rules of [`crate::caller`]. The lifecycle rules hold for everyone: a revoked
//! key is final, an expired key cannot be brought back, a disabled key cannot be rotated.
//!
//! ```
//! use keygate::{Keygate, manage::NewKey, preset::Preset, store::Owner, format::Environment};
//!
//! # #[tokio::main(flavor = "current_thread")]
//! # async fn main() -> Result<(), Box<dyn std::error::Error>> {
//! let gate = Keygate::builder(Preset::livetest()).random_pepper().build()?;
//! let minted = gate
//!     .mint(
//!         NewKey::new(Owner::workspace("wks_1"), "CI pipeline")
//!             .scopes(["tasks:read", "tasks:write"])?
//!             .environment(Environment::Test),
//!     )
//!     .await?;
//! assert!(minted.key.expose_secret().starts_with("sk_test_"));
//! assert_eq!(minted.record.preview.len(), "sk_test_".len() + 4);
//! # Ok(())
//! # }
//! ```

mod error;
mod info;
mod lifecycle;
mod new_key;

pub use error::ManageError;
pub use info::{KeyInfo, KeyPage, MintedKey, UsageInfo};
pub use new_key::NewKey;

/// Longest key name.
pub const MAX_NAME_LEN: usize = 200;

/// Longest key description.
pub const MAX_DESCRIPTION_LEN: usize = 2000;
