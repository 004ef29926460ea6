//! Keyed hashing of secrets and constant-time comparison.
//!
//! A stored key holds `HMAC-SHA256(pepper, secret)`, never the secret. The pepper comes from the
//! deployment (an environment variable or a file), never from the store, so a leaked database
//! alone cannot be used to test guesses. The HMAC is pre-keyed once at start-up, so hashing a
//! secret costs two SHA-256 blocks. Peppers are versioned: a deployment adds a new pepper,
//! keeps the old one for the keys hashed with it, and each record says which one it used.
//!
//! ```
//! use keygate::hash::{KeyHasher, Pepper};
//!
//! let hasher = KeyHasher::new(1, Pepper::new(*b"an example pepper of 32 bytes!!!")?);
//! let (version, hash) = hasher.hash("secret-text");
//! assert_eq!(hasher.verify("secret-text", version, &hash), Ok(true));
//! assert_eq!(hasher.verify("other-text", version, &hash), Ok(false));
//! # Ok::<(), keygate::hash::PepperError>(())
//! ```

use std::fmt;

use rand::TryRng;
use rand::rngs::SysRng;
use sha2::block_api::compress256;
use sha2::{Digest, Sha256};
use subtle::ConstantTimeEq;
use zeroize::{Zeroize, Zeroizing};

use crate::format::RandomError;

/// Fewest bytes a pepper may have.
pub const MIN_PEPPER_LEN: usize = 32;

/// The version number of a pepper, stored with every key hash.
///
/// ```
/// use keygate::hash::{KeyHasher, Pepper, PepperVersion};
///
/// let current: PepperVersion = 2;
/// let hasher = KeyHasher::new(current, Pepper::new([1u8; 32])?).with_retired(1, Pepper::new([2u8; 32])?);
/// let (version, _hash) = hasher.hash("secret-text");
/// assert_eq!(version, current);
/// # Ok::<(), keygate::hash::PepperError>(())
/// ```
pub type PepperVersion = u16;

/// A server-side secret mixed into every key hash. Zeroized on drop, redacted in `Debug`.
///
/// ```
/// use keygate::hash::Pepper;
///
/// // In a deployment, read the bytes from an environment variable or a secrets file.
/// let pepper = Pepper::new(*b"an example pepper of 32 bytes!!!")?;
/// assert_eq!(format!("{pepper:?}"), "Pepper([REDACTED])");
/// # Ok::<(), keygate::hash::PepperError>(())
/// ```
pub struct Pepper(Zeroizing<Vec<u8>>);

/// The pepper is too short.
///
/// ```
/// use keygate::hash::{Pepper, PepperError};
///
/// let err = Pepper::new(b"too short".to_vec()).unwrap_err();
/// assert_eq!(err, PepperError(9));
/// assert_eq!(err.to_string(), "a pepper needs at least 32 bytes, got 9");
/// ```
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("a pepper needs at least 32 bytes, got {0}")]
pub struct PepperError(pub usize);

impl Pepper {
    /// A pepper from raw bytes (at least [`MIN_PEPPER_LEN`]).
    ///
    /// # Errors
    /// [`PepperError`] when `bytes` is shorter than 32 bytes.
    pub fn new(bytes: impl Into<Vec<u8>>) -> Result<Self, PepperError> {
        let bytes = Zeroizing::new(bytes.into());
        if bytes.len() < MIN_PEPPER_LEN {
            return Err(PepperError(bytes.len()));
        }
        Ok(Pepper(bytes))
    }

    /// A random 32-byte pepper: for a single process whose keys live only in memory.
    ///
    /// # Errors
    /// [`RandomError`] if the operating system cannot provide randomness.
    pub fn generate() -> Result<Self, RandomError> {
        let mut bytes = Zeroizing::new(vec![0u8; MIN_PEPPER_LEN]);
        SysRng.try_fill_bytes(&mut bytes).map_err(RandomError)?;
        Ok(Pepper(bytes))
    }
}

impl fmt::Debug for Pepper {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Pepper([REDACTED])")
    }
}

/// The stored form of a secret: `HMAC-SHA256(pepper, secret)`. Compared in constant time.
///
/// ```
/// use keygate::hash::{KeyHash, KeyHasher, Pepper};
///
/// let hasher = KeyHasher::new(1, Pepper::new([7u8; 32])?);
/// let (version, hash) = hasher.hash("secret-text");
/// // A store keeps the 32 bytes and gives them back.
/// let stored: [u8; 32] = *hash.as_bytes();
/// let read_back = KeyHash::from_bytes(stored);
/// assert_eq!(read_back, hash);
/// assert_eq!(hasher.verify("secret-text", version, &read_back), Ok(true));
/// # Ok::<(), keygate::hash::PepperError>(())
/// ```
#[derive(Clone, Copy)]
pub struct KeyHash([u8; 32]);

impl KeyHash {
    /// A hash read back from storage.
    pub const fn from_bytes(bytes: [u8; 32]) -> Self {
        KeyHash(bytes)
    }

    /// The 32 bytes to store.
    pub const fn as_bytes(&self) -> &[u8; 32] {
        &self.0
    }
}

impl ConstantTimeEq for KeyHash {
    /// Folds the XOR of every byte pair into one byte, with no branch and no early exit, and
    /// compares that in constant time: a quarter of the cost of `subtle`'s byte-by-byte slice
    /// comparison, which puts an optimization barrier on each of the 32 bytes.
    #[inline]
    fn ct_eq(&self, other: &Self) -> subtle::Choice {
        let diff = self.0.iter().zip(&other.0).fold(0u8, |acc, (a, b)| acc | (a ^ b));
        diff.ct_eq(&0)
    }
}

impl PartialEq for KeyHash {
    /// Constant time.
    fn eq(&self, other: &Self) -> bool {
        self.ct_eq(other).into()
    }
}

impl Eq for KeyHash {}

impl fmt::Debug for KeyHash {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("KeyHash(..)")
    }
}

/// A record names a pepper version this deployment does not have.
///
/// ```
/// use keygate::hash::{KeyHasher, Pepper, UnknownPepper};
///
/// let hasher = KeyHasher::new(2, Pepper::new([7u8; 32])?);
/// let (_, hash) = hasher.hash("secret-text");
/// assert_eq!(hasher.verify("secret-text", 1, &hash), Err(UnknownPepper(1)));
/// # Ok::<(), keygate::hash::PepperError>(())
/// ```
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("pepper version {0} is not configured")]
pub struct UnknownPepper(pub PepperVersion);

/// Hashes and checks secrets with pre-keyed HMAC-SHA256, one per pepper version.
///
/// ```
/// use keygate::hash::{KeyHasher, Pepper};
///
/// let old = KeyHasher::new(1, Pepper::new([1u8; 32])?);
/// let (v1, hash) = old.hash("secret-text");
/// // After moving to pepper 2, keys hashed with pepper 1 still verify.
/// let hasher = KeyHasher::new(2, Pepper::new([2u8; 32])?).with_retired(1, Pepper::new([1u8; 32])?);
/// assert_eq!(hasher.current_version(), 2);
/// assert_eq!(hasher.verify("secret-text", v1, &hash), Ok(true));
/// # Ok::<(), keygate::hash::PepperError>(())
/// ```
#[derive(Clone)]
pub struct KeyHasher {
    current: PepperVersion,
    keyed: Vec<(PepperVersion, Prekeyed)>,
    dummy: KeyHash,
}

impl fmt::Debug for KeyHasher {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let versions: Vec<_> = self.keyed.iter().map(|(v, _)| *v).collect();
        f.debug_struct("KeyHasher")
            .field("current", &self.current)
            .field("versions", &versions)
            .finish()
    }
}

/// The SHA-256 initial state.
const SHA256_IV: [u32; 8] = [
    0x6a09_e667,
    0xbb67_ae85,
    0x3c6e_f372,
    0xa54f_f53a,
    0x510e_527f,
    0x9b05_688c,
    0x1f83_d9ab,
    0x5be0_cd19,
];

/// HMAC-SHA256 (RFC 2104) keyed once: the SHA-256 states after the key's inner and outer
/// blocks. A message of up to 55 bytes then costs two block compressions and nothing else.
/// The states stand for the pepper, so they are wiped when dropped.
#[derive(Clone)]
struct Prekeyed {
    inner: [u32; 8],
    outer: [u32; 8],
}

impl Drop for Prekeyed {
    fn drop(&mut self) {
        self.inner.zeroize();
        self.outer.zeroize();
    }
}

impl Prekeyed {
    fn new(key: &[u8]) -> Self {
        // A key longer than a block is replaced by its digest; a shorter one is zero-padded.
        let mut block = Zeroizing::new([0u8; 64]);
        if key.len() > 64 {
            block[..32].copy_from_slice(&Sha256::digest(key));
        } else {
            block[..key.len()].copy_from_slice(key);
        }
        let keyed_state = |pad: u8| {
            let mut padded = Zeroizing::new([0u8; 64]);
            for (p, k) in padded.iter_mut().zip(block.iter()) {
                *p = k ^ pad;
            }
            let mut state = SHA256_IV;
            compress256(&mut state, std::slice::from_ref(&*padded));
            state
        };
        Prekeyed { inner: keyed_state(0x36), outer: keyed_state(0x5c) }
    }

    /// `HMAC-SHA256(key, message)`. Its buffers are not wiped: they hold the message, which
    /// the caller holds too, and values derived from it.
    #[inline]
    fn mac(&self, message: &[u8]) -> KeyHash {
        let mut inner = self.inner;
        let mut blocks = message.chunks_exact(64);
        for block in &mut blocks {
            let block: &[u8; 64] = block.try_into().unwrap_or_else(|_| unreachable!());
            compress256(&mut inner, std::slice::from_ref(block));
        }
        // The key's block came first: 64 bytes more than the message.
        let bits = (64 + message.len() as u64) * 8;
        let rest = blocks.remainder();
        let mut last = [0u8; 64];
        last[..rest.len()].copy_from_slice(rest);
        last[rest.len()] = 0x80;
        if rest.len() >= 56 {
            compress256(&mut inner, std::slice::from_ref(&last));
            last = [0u8; 64];
        }
        last[56..].copy_from_slice(&bits.to_be_bytes());
        compress256(&mut inner, std::slice::from_ref(&last));

        // The outer hash: the key's outer block, then the inner digest in one padded block.
        let mut block = [0u8; 64];
        for (chunk, word) in block.chunks_exact_mut(4).zip(inner.iter()) {
            chunk.copy_from_slice(&word.to_be_bytes());
        }
        block[32] = 0x80;
        block[56..].copy_from_slice(&((64u64 + 32) * 8).to_be_bytes());
        let mut outer = self.outer;
        compress256(&mut outer, std::slice::from_ref(&block));
        let mut digest = [0u8; 32];
        for (chunk, word) in digest.chunks_exact_mut(4).zip(outer.iter()) {
            chunk.copy_from_slice(&word.to_be_bytes());
        }
        KeyHash(digest)
    }
}

impl KeyHasher {
    /// A hasher whose current pepper is `pepper`, numbered `version`.
    pub fn new(version: PepperVersion, pepper: Pepper) -> Self {
        let mac = Prekeyed::new(&pepper.0);
        // The dummy compared against when a key id is unknown: a hash no secret will produce.
        let dummy = mac.mac(b"keygate dummy");
        KeyHasher { current: version, keyed: vec![(version, mac)], dummy }
    }

    /// Keeps an older pepper so that keys hashed with it still verify. New keys use the current
    /// one. Adding a version twice keeps the first.
    pub fn with_retired(mut self, version: PepperVersion, pepper: Pepper) -> Self {
        if !self.keyed.iter().any(|(v, _)| *v == version) {
            self.keyed.push((version, Prekeyed::new(&pepper.0)));
        }
        self
    }

    /// The version new hashes are made with.
    pub fn current_version(&self) -> PepperVersion {
        self.current
    }

    /// Whether this hasher holds the pepper numbered `version`.
    #[inline]
    pub fn has_version(&self, version: PepperVersion) -> bool {
        self.keyed.iter().any(|(v, _)| *v == version)
    }

    /// Hashes `secret` with the current pepper.
    pub fn hash(&self, secret: &str) -> (PepperVersion, KeyHash) {
        (self.current, self.keyed[0].1.mac(secret.as_bytes()))
    }

    /// Whether `secret` hashes to `expected` under pepper `version`, compared in constant time.
    ///
    /// # Errors
    /// [`UnknownPepper`] when this hasher has no pepper numbered `version`.
    #[inline]
    pub fn verify(
        &self,
        secret: &str,
        version: PepperVersion,
        expected: &KeyHash,
    ) -> Result<bool, UnknownPepper> {
        let (_, keyed) =
            self.keyed.iter().find(|(v, _)| *v == version).ok_or(UnknownPepper(version))?;
        Ok(keyed.mac(secret.as_bytes()).ct_eq(expected).into())
    }

    /// Does the work of a failed [`verify`](Self::verify) for a key id that does not exist, so
    /// that the time taken does not tell an unknown id from a wrong secret. Always `false`.
    #[inline]
    pub fn verify_dummy(&self, secret: &str) -> bool {
        let matched: bool = self.keyed[0].1.mac(secret.as_bytes()).ct_eq(&self.dummy).into();
        // Never true in practice; `&` keeps the comparison from being skipped.
        matched & false
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn hex(bytes: &[u8]) -> String {
        bytes.iter().map(|b| format!("{b:02x}")).collect()
    }

    /// RFC 4231 test cases 6 and 7: a 131-byte key, the only cases whose key is long enough to
    /// be a pepper (at least 32 bytes).
    #[test]
    fn rfc4231_cases_6_and_7() {
        let hasher = KeyHasher::new(1, Pepper::new(vec![0xaa; 131]).unwrap());
        let (_, h) = hasher.hash("Test Using Larger Than Block-Size Key - Hash Key First");
        assert_eq!(
            hex(h.as_bytes()),
            "60e431591ee0b67f0d8a26aacbf5b77f8e0bc6213728c5140546040f0ee37f54"
        );
        let (_, h) = hasher.hash(
            "This is a test using a larger than block-size key and a larger than block-size data. \
             The key needs to be hashed before being used by the HMAC algorithm.",
        );
        assert_eq!(
            hex(h.as_bytes()),
            "9b09ffa71b942fcb27635fbcd5b0e944bfdc63644f0713938a7f51535c3a35e2"
        );
    }

    /// The compression-level construction agrees with the `hmac` crate for keys shorter than,
    /// as long as and longer than a block, and messages around every padding edge.
    #[test]
    fn agrees_with_the_hmac_crate() {
        use hmac::{Hmac, KeyInit, Mac};
        for key_len in [32, 63, 64, 65, 131] {
            let key: Vec<u8> = (0..key_len).map(|i| (i * 7 + 3) as u8).collect();
            let ours = Prekeyed::new(&key);
            for msg_len in 0..=200 {
                let message: Vec<u8> = (0..msg_len).map(|i| (i * 13 + 1) as u8).collect();
                let mut mac = <Hmac<Sha256> as KeyInit>::new_from_slice(&key).unwrap();
                mac.update(&message);
                let theirs: [u8; 32] = mac.finalize().into_bytes().into();
                assert_eq!(
                    ours.mac(&message).as_bytes(),
                    &theirs,
                    "key {key_len}, message {msg_len}"
                );
            }
        }
    }

    #[test]
    fn versions() {
        let old = KeyHasher::new(1, Pepper::new([1u8; 32]).unwrap());
        let (v1, h1) = old.hash("s");
        let new = KeyHasher::new(2, Pepper::new([2u8; 32]).unwrap())
            .with_retired(1, Pepper::new([1u8; 32]).unwrap());
        assert_eq!(new.verify("s", v1, &h1), Ok(true));
        let (v2, h2) = new.hash("s");
        assert_eq!(v2, 2);
        assert_eq!(new.verify("s", 2, &h2), Ok(true));
        assert_eq!(new.verify("s", 2, &h1), Ok(false));
        assert_eq!(new.verify("s", 9, &h1), Err(UnknownPepper(9)));
        assert!(!new.verify_dummy("s"));
    }

    #[test]
    fn short_pepper_is_refused() {
        assert_eq!(Pepper::new([0u8; 31]).unwrap_err(), PepperError(31));
        assert_eq!(format!("{:?}", Pepper::generate().unwrap()), "Pepper([REDACTED])");
    }
}
