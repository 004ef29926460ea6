//! The secret type: the full text of an API key, wiped from memory when dropped.
//!
//! [`Secret`] has no `Display`, a `Debug` that prints `Secret([REDACTED])`, no `Serialize`
//! and no `PartialEq`: the only way to its text is [`Secret::expose_secret`], a name that
//! stands out in review.
//!
//! ```
//! use keygate::Secret;
//!
//! let key = Secret::new("sk_live_not_a_real_key".to_owned());
//! assert_eq!(format!("{key:?}"), "Secret([REDACTED])");
//! assert_eq!(key.expose_secret(), "sk_live_not_a_real_key");
//! ```

use std::fmt;

use zeroize::Zeroizing;

/// A secret string, such as a freshly minted API key. Zeroized on drop, redacted in `Debug`.
///
/// ```
/// use keygate::Secret;
///
/// let key = Secret::new("pk_not_a_real_key".to_owned());
/// // Logging the key by accident shows nothing.
/// assert_eq!(format!("{key:?}"), "Secret([REDACTED])");
/// assert!(key.expose_secret().starts_with("pk_"));
/// ```
pub struct Secret(Zeroizing<String>);

impl Secret {
    /// Wraps `text`. Build it at its final size: a `String` that grew may have left copies of
    /// its earlier buffers behind.
    pub fn new(text: String) -> Self {
        Secret(Zeroizing::new(text))
    }

    /// The secret text. Show it to its owner once; never log it.
    pub fn expose_secret(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Secret([REDACTED])")
    }
}
