//! The key id: the non-secret part of a key.

use std::fmt;
use std::hash::{Hash, Hasher};
use std::str::FromStr;

use serde::{Deserialize, Deserializer, Serialize, Serializer};

use super::MAX_ID_LEN;

/// The non-secret identifier inside a key: base62, at most [`MAX_ID_LEN`] characters.
///
/// Written as `key_<id>` (for example `key_7fRk2QpL9xWm`) wherever it leaves keygate: in the
/// management API, in logs and in [`Principal::key_id`](crate::Principal::key_id). It is `Copy`
/// and lives inline, so looking a key up allocates nothing.
///
/// ```
/// use keygate::format::KeyId;
///
/// let id: KeyId = "key_7fRk2QpL9xWm".parse()?;
/// assert_eq!(id.as_str(), "7fRk2QpL9xWm");
/// assert_eq!(id.to_string(), "key_7fRk2QpL9xWm");
/// assert_eq!(KeyId::from_raw("7fRk2QpL9xWm")?, id);
/// # Ok::<(), keygate::format::InvalidKeyId>(())
/// ```
#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub struct KeyId {
    len: u8,
    bytes: [u8; MAX_ID_LEN],
}

/// The text is not a key id.
///
/// ```
/// use keygate::format::{InvalidKeyId, KeyId};
///
/// assert_eq!("7fRk2QpL9xWm".parse::<KeyId>(), Err(InvalidKeyId)); // no `key_`
/// assert_eq!("key_7fRk-2QpL".parse::<KeyId>(), Err(InvalidKeyId)); // not base62
/// assert_eq!(KeyId::from_raw(""), Err(InvalidKeyId));
/// ```
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("not a key id (expected `key_` followed by 1 to 24 base62 characters)")]
pub struct InvalidKeyId;

impl KeyId {
    /// The text written as `key_`.
    pub const TAG: &'static str = "key_";

    /// A key id from its base62 characters (without `key_`).
    ///
    /// # Errors
    /// [`InvalidKeyId`] when `raw` is empty, longer than [`MAX_ID_LEN`] or not base62.
    pub fn from_raw(raw: &str) -> Result<Self, InvalidKeyId> {
        let b = raw.as_bytes();
        if b.is_empty() || b.len() > MAX_ID_LEN || !b.iter().all(u8::is_ascii_alphanumeric) {
            return Err(InvalidKeyId);
        }
        let mut bytes = [0u8; MAX_ID_LEN];
        bytes[..b.len()].copy_from_slice(b);
        Ok(KeyId { len: b.len() as u8, bytes })
    }

    /// A key id from bytes already checked to be 1 to [`MAX_ID_LEN`] ASCII alphanumerics.
    pub(super) fn from_checked(b: &[u8]) -> Self {
        let mut bytes = [0u8; MAX_ID_LEN];
        let len = b.len().min(MAX_ID_LEN);
        bytes[..len].copy_from_slice(&b[..len]);
        KeyId { len: len as u8, bytes }
    }

    /// The id as three words of its zero-padded bytes: a fixed-size read for hashing.
    #[inline]
    pub(crate) fn words(&self) -> [u64; 3] {
        let b = &self.bytes;
        let word = |i: usize| {
            u64::from_le_bytes([
                b[i],
                b[i + 1],
                b[i + 2],
                b[i + 3],
                b[i + 4],
                b[i + 5],
                b[i + 6],
                b[i + 7],
            ])
        };
        [word(0), word(8), word(16)]
    }

    /// The base62 characters, as they appear inside the key (without `key_`).
    pub fn as_str(&self) -> &str {
        // Only ASCII alphanumerics are ever stored.
        std::str::from_utf8(&self.bytes[..usize::from(self.len)]).unwrap_or_default()
    }
}

impl Hash for KeyId {
    fn hash<H: Hasher>(&self, state: &mut H) {
        state.write(&self.bytes[..usize::from(self.len)]);
    }
}

impl fmt::Display for KeyId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(Self::TAG)?;
        f.write_str(self.as_str())
    }
}

impl fmt::Debug for KeyId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Display::fmt(self, f)
    }
}

impl FromStr for KeyId {
    type Err = InvalidKeyId;
    /// Reads `key_<id>`.
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        s.strip_prefix(Self::TAG).ok_or(InvalidKeyId).and_then(KeyId::from_raw)
    }
}

impl Serialize for KeyId {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(self)
    }
}

impl<'de> Deserialize<'de> for KeyId {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let text = <std::borrow::Cow<'de, str>>::deserialize(d)?;
        text.parse().map_err(serde::de::Error::custom)
    }
}
