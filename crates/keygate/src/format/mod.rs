//! Key layout: generation, parsing, checksum and preview.
//!
//! A key reads `<prefix>_<segment>…_<body>`, for example `pl_v2_…`, `sk_live_…` or `sk_test_…`.
//! The body is base62 (`0-9A-Za-z`) and has three fixed-length parts:
//!
//! | part | length | what it is |
//! | --- | --- | --- |
//! | key id | [`KeyFormat::id_len`] (default 12) | not secret: used to look the key up, in logs and previews |
//! | secret | [`KeyFormat::secret_len`] (default 43, 256 bits) | from the OS CSPRNG, never stored |
//! | checksum | 6 | CRC32 (IEEE) of every character before it, prefix included, in base62, most significant digit first, zero-padded |
//!
//! The checksum lets a secret scanner (or keygate itself, before any store I/O) tell a real key
//! from a typo. Only `[A-Za-z0-9_]` appears in a key, so a double-click selects all of it and the
//! regex `<prefix>_[0-9A-Za-z]{61}` finds it. [`KeyFormat::find_keys`] finds keys in any text
//! by their prefix, length and checksum, for secret scanning.
//!
//! ```
//! use keygate::format::{Environment, KeyFormat, ParseError};
//!
//! let format = KeyFormat::builder("pl").version("v2").retired_versions(["v1"]).build()?;
//! let key = format.generate(Environment::Live)?;
//! let parsed = format.parse(key.expose_secret())?;
//! assert!(key.expose_secret().starts_with("pl_v2_"));
//! assert_eq!(parsed.environment(), Environment::Live);
//! assert_eq!(format.preview(key.expose_secret()), Some(format!("pl_v2_{}", &parsed.id().as_str()[..4])));
//!
//! // A retired version is recognised by its prefix alone.
//! assert!(matches!(format.parse("pl_v1_whatever"), Err(ParseError::RetiredVersion { .. })));
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```

mod checksum;
mod environment;
mod id;
mod key_format;
mod scan;

pub use checksum::checksum;
pub use environment::{Environment, UnknownEnvironment};
pub use id::{InvalidKeyId, KeyId};
pub use key_format::{
    FormatError, KeyFormat, KeyFormatBuilder, ParseError, ParsedKey, RandomError,
};
pub use scan::{FindKeys, Found, FoundKind, MIN_RETIRED_BODY};

/// The base62 alphabet keygate writes: digits, then upper case, then lower case.
pub const BASE62: &[u8; 62] = b"0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz";

/// Length of the checksum at the end of every key.
pub const CHECKSUM_LEN: usize = 6;

/// Longest key id a format may use.
pub const MAX_ID_LEN: usize = 24;

/// Fewest secret bits a format may use.
pub const MIN_SECRET_BITS: u32 = 128;

/// Most secret bits a format may use.
pub const MAX_SECRET_BITS: u32 = 1024;

/// Longest key text keygate will look at; anything longer is rejected before it is read.
pub const MAX_KEY_LEN: usize = 256;
