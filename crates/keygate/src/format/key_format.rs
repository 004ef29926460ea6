//! The key format: its prefixes, generation and parsing.

use std::fmt;
use std::sync::Arc;

use memchr::memmem;
use rand::TryRng;
use rand::rngs::SysRng;

use crate::secret::Secret;

use super::checksum::{decode_checksum, push_checksum};
use super::{
    BASE62, CHECKSUM_LEN, Environment, KeyId, MAX_ID_LEN, MAX_KEY_LEN, MAX_SECRET_BITS,
    MIN_SECRET_BITS,
};

/// Why a [`KeyFormat`] could not be built.
///
/// ```
/// use keygate::format::{FormatError, KeyFormat};
///
/// let err = KeyFormat::builder("sk-live").build().unwrap_err();
/// assert_eq!(err, FormatError::InvalidSegment("sk-live".into()));
/// assert_eq!(KeyFormat::builder("sk").secret_bits(64).build().unwrap_err(), FormatError::SecretBits(64));
/// ```
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum FormatError {
    /// The prefix or a segment is empty or holds something other than `[A-Za-z0-9]`.
    #[error("prefix and segments must be non-empty and ASCII alphanumeric: `{0}`")]
    InvalidSegment(String),
    /// The secret would carry fewer than [`MIN_SECRET_BITS`] or more than [`MAX_SECRET_BITS`] bits.
    #[error("secret bits must be between 128 and 1024, got {0}")]
    SecretBits(u32),
    /// The key id length is outside 8 to [`MAX_ID_LEN`].
    #[error("key id length must be between 8 and 24, got {0}")]
    IdLength(usize),
    /// Two prefixes of the format (current or retired) are the same, or one starts with another.
    #[error("prefix `{0}` overlaps another prefix of the format")]
    Overlap(String),
    /// A full key would be longer than [`MAX_KEY_LEN`].
    #[error("keys of this format would be longer than 256 characters")]
    TooLong,
}

/// Why a credential is not a key of this format.
///
/// ```
/// use keygate::format::{KeyFormat, ParseError};
///
/// let format = KeyFormat::builder("pk").build()?;
/// assert_eq!(format.parse("").unwrap_err(), ParseError::Empty);
/// assert_eq!(format.parse("sk_abc").unwrap_err(), ParseError::UnknownPrefix);
/// assert_eq!(format.parse("pk_tooshort").unwrap_err(), ParseError::WrongLength);
/// # Ok::<(), keygate::format::FormatError>(())
/// ```
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum ParseError {
    /// The credential is empty.
    #[error("the key is empty")]
    Empty,
    /// The credential is longer than any key of this format.
    #[error("the key is too long")]
    TooLong,
    /// The credential holds a character other than `[A-Za-z0-9_]`.
    #[error("the key holds a character other than A-Z, a-z, 0-9 and _")]
    InvalidCharacter,
    /// The credential starts with no prefix this format knows.
    #[error("the key does not start with a known prefix")]
    UnknownPrefix,
    /// The credential starts with a retired prefix such as `pl_v1_`.
    #[error("keys starting with `{prefix}` are no longer supported")]
    RetiredVersion {
        /// The retired prefix, such as `pl_v1_`.
        prefix: Arc<str>,
    },
    /// The body after the prefix is not the format's length.
    #[error("the key has the wrong length")]
    WrongLength,
    /// The checksum does not match the rest of the key.
    #[error("the key's checksum does not match")]
    BadChecksum,
}

/// The OS random number generator failed.
///
/// Only key and pepper generation can meet it; a service usually passes it up with `?`.
///
/// ```
/// use keygate::{Secret, format::{Environment, KeyFormat, RandomError}};
///
/// fn new_test_key(format: &KeyFormat) -> Result<Secret, RandomError> {
///     format.generate(Environment::Test)
/// }
/// let format = KeyFormat::builder("sk").environments("live", "test").build()?;
/// assert!(new_test_key(&format)?.expose_secret().starts_with("sk_test_"));
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Debug, thiserror::Error)]
#[error("the operating system's random number generator failed")]
pub struct RandomError(#[source] pub(crate) rand::rngs::SysError);

#[derive(Debug, Clone)]
pub(super) struct Prefix {
    pub(super) text: Arc<str>,
    pub(super) environment: Environment,
    /// The checksum's CRC32 state after the prefix: a key's check hashes only what follows it.
    crc: crc32fast::Hasher,
}

impl Prefix {
    fn new(text: String, environment: Environment) -> Self {
        let mut crc = crc32fast::Hasher::new();
        crc.update(text.as_bytes());
        Prefix { text: text.into(), environment, crc }
    }
}

/// A key layout: prefixes, retired versions and the lengths of id and secret.
///
/// Build one with [`KeyFormat::builder`]. Cloning is cheap.
///
/// ```
/// use keygate::format::{Environment, KeyFormat};
///
/// let format = KeyFormat::builder("ws").build()?;
/// let key = format.generate(Environment::Live)?;
/// assert_eq!(key.expose_secret().len(), "ws_".len() + format.body_len());
/// assert!(format.parse(key.expose_secret()).is_ok());
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Debug, Clone)]
pub struct KeyFormat {
    current: Arc<[Prefix]>,
    /// Finds `<root>_`, which every prefix (current and retired) starts with: one pass over a
    /// text finds every candidate key.
    root: memmem::Finder<'static>,
    retired: Arc<[Arc<str>]>,
    id_len: usize,
    secret_len: usize,
}

/// Builds a [`KeyFormat`]: `KeyFormat::builder("sk").environments("live", "test").build()`.
///
/// ```
/// use keygate::format::{Environment, KeyFormat};
///
/// let format = KeyFormat::builder("acme").version("v3").id_len(16).secret_bits(128).build()?;
/// assert_eq!(format.prefix(Environment::Live), "acme_v3_");
/// assert_eq!((format.id_len(), format.secret_len()), (16, 22));
/// # Ok::<(), keygate::format::FormatError>(())
/// ```
#[derive(Debug, Clone)]
pub struct KeyFormatBuilder {
    root: String,
    version: Option<String>,
    retired: Vec<String>,
    environments: Option<(String, String)>,
    id_len: usize,
    secret_bits: u32,
}

impl KeyFormatBuilder {
    /// The current version segment: `builder("pl").version("v2")` makes `pl_v2_` keys.
    pub fn version(mut self, version: impl Into<String>) -> Self {
        self.version = Some(version.into());
        self
    }

    /// Version segments that are no longer accepted: a key starting with `<root>_<version>_` is
    /// reported as [`ParseError::RetiredVersion`], whatever follows.
    pub fn retired_versions<I, S>(mut self, versions: I) -> Self
    where
        I: IntoIterator<Item = S>,
        S: Into<String>,
    {
        self.retired.extend(versions.into_iter().map(Into::into));
        self
    }

    /// Environment segments: `builder("sk").environments("live", "test")` makes `sk_live_` keys
    /// for [`Environment::Live`] and `sk_test_` keys for [`Environment::Test`]. Without them every
    /// key is [`Environment::Live`].
    pub fn environments(mut self, live: impl Into<String>, test: impl Into<String>) -> Self {
        self.environments = Some((live.into(), test.into()));
        self
    }

    /// Length of the key id, 8 to 24 base62 characters (default 12, about 71 bits).
    pub fn id_len(mut self, len: usize) -> Self {
        self.id_len = len;
        self
    }

    /// Bits of randomness in the secret, 128 to 1024 (default 256).
    pub fn secret_bits(mut self, bits: u32) -> Self {
        self.secret_bits = bits;
        self
    }

    /// Checks the settings and builds the format.
    ///
    /// # Errors
    /// A [`FormatError`] naming the setting that is wrong.
    pub fn build(self) -> Result<KeyFormat, FormatError> {
        let segment = |s: &str| -> Result<(), FormatError> {
            if s.is_empty() || !s.bytes().all(|b| b.is_ascii_alphanumeric()) {
                return Err(FormatError::InvalidSegment(s.to_owned()));
            }
            Ok(())
        };
        segment(&self.root)?;
        let mut base = self.root.clone();
        base.push('_');
        if let Some(v) = &self.version {
            segment(v)?;
            base.push_str(v);
            base.push('_');
        }
        let current: Vec<Prefix> = match &self.environments {
            None => vec![Prefix::new(base.clone(), Environment::Live)],
            Some((live, test)) => {
                segment(live)?;
                segment(test)?;
                vec![
                    Prefix::new(format!("{base}{live}_"), Environment::Live),
                    Prefix::new(format!("{base}{test}_"), Environment::Test),
                ]
            }
        };
        let mut retired = Vec::with_capacity(self.retired.len());
        for v in &self.retired {
            segment(v)?;
            retired.push(Arc::<str>::from(format!("{}_{v}_", self.root)));
        }
        let all: Vec<&str> =
            current.iter().map(|p| &*p.text).chain(retired.iter().map(|r| &**r)).collect();
        for (i, a) in all.iter().enumerate() {
            for (j, b) in all.iter().enumerate() {
                if i != j && b.starts_with(a) {
                    return Err(FormatError::Overlap((*b).to_owned()));
                }
            }
        }
        if !(MIN_SECRET_BITS..=MAX_SECRET_BITS).contains(&self.secret_bits) {
            return Err(FormatError::SecretBits(self.secret_bits));
        }
        if !(8..=MAX_ID_LEN).contains(&self.id_len) {
            return Err(FormatError::IdLength(self.id_len));
        }
        let secret_len = base62_len_for_bits(self.secret_bits);
        let root = memmem::Finder::new(format!("{}_", self.root).as_bytes()).into_owned();
        let format = KeyFormat {
            current: current.into(),
            root,
            retired: retired.into(),
            id_len: self.id_len,
            secret_len,
        };
        if format.current.iter().any(|p| p.text.len() + format.body_len() > MAX_KEY_LEN) {
            return Err(FormatError::TooLong);
        }
        Ok(format)
    }
}

/// Fewest base62 characters that carry `bits` bits: the smallest `n` with `62^n >= 2^bits`.
fn base62_len_for_bits(bits: u32) -> usize {
    // log2(62) = 5.954196310386876; the product is never within rounding error of an integer
    // for the bit counts allowed.
    (f64::from(bits) / 62f64.log2()).ceil() as usize
}

/// A key read by [`KeyFormat::parse`]: borrowed from the credential, nothing copied but the id.
///
/// ```
/// use keygate::format::{Environment, KeyFormat};
///
/// let format = KeyFormat::builder("sk").environments("live", "test").build()?;
/// let key = format.generate(Environment::Test)?;
/// let parsed = format.parse(key.expose_secret())?;
/// assert_eq!(parsed.environment(), Environment::Test);
/// assert_eq!(parsed.secret().len(), format.secret_len());
/// assert!(key.expose_secret().contains(parsed.id().as_str()));
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Clone, Copy)]
pub struct ParsedKey<'a> {
    environment: Environment,
    id: KeyId,
    secret: &'a str,
}

impl<'a> ParsedKey<'a> {
    /// The environment its prefix names.
    pub fn environment(&self) -> Environment {
        self.environment
    }

    /// Its key id.
    pub fn id(&self) -> KeyId {
        self.id
    }

    /// The secret part, as text. Hash it; never log it.
    pub fn secret(&self) -> &'a str {
        self.secret
    }
}

impl fmt::Debug for ParsedKey<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ParsedKey")
            .field("environment", &self.environment)
            .field("id", &self.id)
            .field("secret", &"[REDACTED]")
            .finish()
    }
}

impl KeyFormat {
    /// Starts a format whose keys begin with `root` (`"pl"`, `"sk"`).
    pub fn builder(root: impl Into<String>) -> KeyFormatBuilder {
        KeyFormatBuilder {
            root: root.into(),
            version: None,
            retired: Vec::new(),
            environments: None,
            id_len: 12,
            secret_bits: 256,
        }
    }

    /// Length of the key id, in characters.
    pub fn id_len(&self) -> usize {
        self.id_len
    }

    /// Length of the secret, in characters.
    pub fn secret_len(&self) -> usize {
        self.secret_len
    }

    /// Length of everything after the prefix: id, secret and checksum.
    pub fn body_len(&self) -> usize {
        self.id_len + self.secret_len + CHECKSUM_LEN
    }

    /// The prefix of new keys for `environment`, such as `sk_test_`.
    ///
    /// A format without environment segments uses its one prefix for both.
    pub fn prefix(&self, environment: Environment) -> &str {
        self.current
            .iter()
            .find(|p| p.environment == environment)
            .unwrap_or(&self.current[0])
            .text
            .as_ref()
    }

    /// Whether keys of this format name their environment (`sk_live_` / `sk_test_`).
    pub fn has_environments(&self) -> bool {
        self.current.len() > 1
    }

    pub(super) fn current_prefixes(&self) -> &[Prefix] {
        &self.current
    }

    pub(super) fn root_finder(&self) -> &memmem::Finder<'static> {
        &self.root
    }

    /// The retired prefixes, such as `pl_v1_`.
    pub fn retired_prefixes(&self) -> impl Iterator<Item = &str> {
        self.retired.iter().map(|r| &**r)
    }

    /// A new key for `environment`, from the OS CSPRNG.
    ///
    /// # Errors
    /// [`RandomError`] if the operating system cannot provide randomness.
    pub fn generate(&self, environment: Environment) -> Result<Secret, RandomError> {
        let prefix = self.prefix(environment);
        let mut text = String::with_capacity(prefix.len() + self.body_len());
        text.push_str(prefix);
        let mut buf = zeroize::Zeroizing::new([0u8; 64]);
        let mut need = self.id_len + self.secret_len;
        while need > 0 {
            SysRng.try_fill_bytes(&mut buf[..]).map_err(RandomError)?;
            // Rejection sampling: 248 = 4 * 62, so every accepted byte maps to a uniform digit.
            for &b in buf.iter().filter(|&&b| b < 248).take(need) {
                text.push(char::from(BASE62[usize::from(b % 62)]));
                need -= 1;
            }
        }
        push_checksum(&mut text);
        Ok(Secret::new(text))
    }

    /// Reads a credential as a key of this format.
    ///
    /// Checks, before any I/O: the length cap, a retired prefix (which wins whatever follows), a
    /// current prefix, the body length (reported as [`ParseError::InvalidCharacter`] when the
    /// characters are wrong too), the checksum, then the character set.
    ///
    /// # Errors
    /// A [`ParseError`] saying which check failed.
    pub fn parse<'a>(&self, text: &'a str) -> Result<ParsedKey<'a>, ParseError> {
        if text.is_empty() {
            return Err(ParseError::Empty);
        }
        if text.len() > MAX_KEY_LEN {
            return Err(ParseError::TooLong);
        }
        if let Some(prefix) = self.retired.iter().find(|r| text.starts_with(&***r)) {
            return Err(ParseError::RetiredVersion { prefix: prefix.clone() });
        }
        let Some(prefix) = self.current.iter().find(|p| text.starts_with(&*p.text)) else {
            let key_chars = all_bytes(text.as_bytes(), |b| b.is_ascii_alphanumeric() | (b == b'_'));
            return Err(if key_chars {
                ParseError::UnknownPrefix
            } else {
                ParseError::InvalidCharacter
            });
        };
        let body = &text[prefix.text.len()..];
        if body.len() != self.body_len() {
            return Err(if all_bytes(body.as_bytes(), |b| b.is_ascii_alphanumeric()) {
                ParseError::WrongLength
            } else {
                ParseError::InvalidCharacter
            });
        }
        // The checksum first: it turns away typos and forgeries in a few nanoseconds; only a key
        // that passes it has its characters checked.
        // On bytes: the text is not yet known to be ASCII, so a character may straddle the split.
        let (signed, checksum) = text.as_bytes().split_at(text.len() - CHECKSUM_LEN);
        let mut crc = prefix.crc.clone();
        crc.update(&signed[prefix.text.len()..]);
        if decode_checksum(checksum) != Some(crc.finalize()) {
            return Err(ParseError::BadChecksum);
        }
        if !all_bytes(body.as_bytes(), |b| b.is_ascii_alphanumeric()) {
            return Err(ParseError::InvalidCharacter);
        }
        let (id, rest) = body.split_at(self.id_len);
        Ok(ParsedKey {
            environment: prefix.environment,
            id: KeyId::from_checked(id.as_bytes()),
            secret: &rest[..self.secret_len],
        })
    }

    /// The preview a listing may show: the prefix and the first 4 characters after it.
    ///
    /// `None` when `key` does not start with a current prefix of this format or is too short.
    pub fn preview(&self, key: &str) -> Option<String> {
        let prefix = self.current.iter().find(|p| key.starts_with(&*p.text))?;
        key.get(..prefix.text.len() + 4).map(str::to_owned)
    }

    /// The preview of the key whose prefix is for `environment` and whose id is `id`.
    pub fn preview_of(&self, environment: Environment, id: &KeyId) -> String {
        let id = id.as_str();
        format!("{}{}", self.prefix(environment), &id[..id.len().min(4)])
    }
}

/// Whether `ok` holds for every byte. No early exit, so the loop compiles to SIMD compares:
/// several times faster than `Iterator::all` on a key-sized input.
#[inline]
fn all_bytes(bytes: &[u8], ok: impl Fn(u8) -> bool) -> bool {
    bytes.iter().fold(true, |all, &b| all & ok(b))
}

#[cfg(test)]
mod tests {
    use super::super::checksum::encode_checksum;
    use super::super::{InvalidKeyId, checksum};
    use super::*;

    #[test]
    fn checksum_digits_round_trip() {
        for crc in [0, 1, 61, 62, 12_345_678, u32::MAX - 1, u32::MAX] {
            assert_eq!(decode_checksum(&encode_checksum(crc)), Some(crc));
        }
        assert_eq!(decode_checksum(b"zzzzzz"), None, "62^6 - 1 does not fit in 32 bits");
    }

    fn pl() -> KeyFormat {
        KeyFormat::builder("pl").version("v2").retired_versions(["v1"]).build().unwrap()
    }

    #[test]
    fn secret_lengths_carry_their_bits() {
        assert_eq!(base62_len_for_bits(128), 22);
        assert_eq!(base62_len_for_bits(256), 43);
        for bits in MIN_SECRET_BITS..=MAX_SECRET_BITS {
            let n = base62_len_for_bits(bits) as f64;
            assert!(n * 62f64.log2() >= f64::from(bits));
            assert!((n - 1.0) * 62f64.log2() < f64::from(bits));
        }
    }

    #[test]
    fn builder_rejects_bad_settings() {
        assert_eq!(
            KeyFormat::builder("p-l").build().unwrap_err(),
            FormatError::InvalidSegment("p-l".into())
        );
        assert_eq!(
            KeyFormat::builder("pl").version("").build().unwrap_err(),
            FormatError::InvalidSegment(String::new())
        );
        assert_eq!(
            KeyFormat::builder("pl").secret_bits(127).build().unwrap_err(),
            FormatError::SecretBits(127)
        );
        assert_eq!(
            KeyFormat::builder("pl").id_len(7).build().unwrap_err(),
            FormatError::IdLength(7)
        );
        assert_eq!(
            KeyFormat::builder("pl").version("v2").retired_versions(["v2"]).build().unwrap_err(),
            FormatError::Overlap("pl_v2_".into())
        );
        assert_eq!(
            KeyFormat::builder("sk").environments("live", "live").build().unwrap_err(),
            FormatError::Overlap("sk_live_".into())
        );
    }

    #[test]
    fn generated_keys_have_the_documented_shape() {
        let f = pl();
        let key = f.generate(Environment::Live).unwrap();
        let text = key.expose_secret();
        assert_eq!(text.len(), "pl_v2_".len() + 12 + 43 + 6);
        assert!(text.starts_with("pl_v2_"));
        assert!(text.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_'));
        assert_eq!(&text[text.len() - 6..], checksum(&text[..text.len() - 6]));
        let parsed = f.parse(text).unwrap();
        assert_eq!(parsed.id().as_str(), &text[6..18]);
        assert_eq!(parsed.secret(), &text[18..61]);
    }

    #[test]
    fn environments_pick_the_prefix() {
        let f = KeyFormat::builder("sk").environments("live", "test").build().unwrap();
        let live = f.generate(Environment::Live).unwrap();
        let test = f.generate(Environment::Test).unwrap();
        assert!(live.expose_secret().starts_with("sk_live_"));
        assert!(test.expose_secret().starts_with("sk_test_"));
        assert_eq!(f.parse(test.expose_secret()).unwrap().environment(), Environment::Test);
        assert!(f.has_environments());
    }

    #[test]
    fn preview_is_prefix_and_four_characters() {
        let f = pl();
        let key = f.generate(Environment::Live).unwrap();
        let preview = f.preview(key.expose_secret()).unwrap();
        assert_eq!(preview.len(), "pl_v2_".len() + 4);
        assert!(key.expose_secret().starts_with(&preview));
        let id = f.parse(key.expose_secret()).unwrap().id();
        assert_eq!(f.preview_of(Environment::Live, &id), preview);
        assert_eq!(f.preview("nope"), None);
    }

    #[test]
    fn key_id_text_form() {
        let id: KeyId = "key_abc123".parse().unwrap();
        assert_eq!(id.as_str(), "abc123");
        assert_eq!(id.to_string(), "key_abc123");
        assert_eq!(serde_json::to_string(&id).unwrap(), "\"key_abc123\"");
        for bad in ["abc123", "key_", "key_ab-c", "key_aaaaaaaaaaaaaaaaaaaaaaaaa", "key_é"] {
            assert_eq!(bad.parse::<KeyId>(), Err(InvalidKeyId), "{bad}");
        }
    }
}
