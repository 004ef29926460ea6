//! Finding keys in text: the secret scanner's side of the format.

use memchr::memmem;

use super::checksum::decode_checksum;
use super::key_format::{KeyFormat, Prefix};
use super::{CHECKSUM_LEN, Environment};

/// Fewest characters after a retired prefix for the text to be reported as a retired key:
/// enough that `pl_v1_` in prose or in a regex is not a finding.
pub const MIN_RETIRED_BODY: usize = 16;

/// What a scan found at one place.
///
/// ```
/// use keygate::format::{Environment, FoundKind, KeyFormat};
///
/// let format = KeyFormat::builder("sk").environments("live", "test").build()?;
/// let key = format.generate(Environment::Test)?;
/// let text = format!("export TOKEN={}\n", key.expose_secret());
/// let found: Vec<_> = format.find_keys(text.as_bytes()).collect();
/// assert_eq!(found.len(), 1);
/// assert_eq!((found[0].offset, found[0].len), (13, key.expose_secret().len()));
/// assert_eq!(found[0].kind, FoundKind::Key(Environment::Test));
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub struct Found {
    /// Where the key starts, in bytes from the start of the text.
    pub offset: usize,
    /// Its length in bytes.
    pub len: usize,
    /// A current key or a retired one.
    pub kind: FoundKind,
}

/// Whether a found key is one of the format's current keys or starts with a retired prefix.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum FoundKind {
    /// A key with a current prefix, the format's exact length and a matching checksum, of this
    /// environment.
    Key(Environment),
    /// Text starting with a retired prefix (such as `pl_v1_`) followed by at least
    /// [`MIN_RETIRED_BODY`] base62 characters. Its checksum cannot be checked: a retired
    /// version's layout is not known.
    Retired,
}

/// The keys of one format in a text, in order: see [`KeyFormat::find_keys`].
#[derive(Debug)]
pub struct FindKeys<'f, 'h> {
    format: &'f KeyFormat,
    haystack: &'h [u8],
    candidates: memmem::FindIter<'h, 'f>,
}

impl KeyFormat {
    /// Every key of this format in `haystack`, by prefix, exact shape and checksum.
    ///
    /// A key is reported only when it stands alone: the bytes on either side are not
    /// `[A-Za-z0-9_]`, so `xsk_live_…` or a key with a character too many is not one. A key
    /// whose checksum does not match (a look-alike, a typo, an example made by hand) is not
    /// reported; a retired prefix followed by a key-like body is, as [`FoundKind::Retired`].
    /// The text may hold anything, including invalid UTF-8.
    ///
    /// ```
    /// use keygate::format::{Environment, FoundKind, KeyFormat};
    ///
    /// let format = KeyFormat::builder("pl").version("v2").retired_versions(["v1"]).build()?;
    /// let key = format.generate(Environment::Live)?;
    /// let mut forged = key.expose_secret().to_owned();
    /// forged.replace_range(10..11, if &forged[10..11] == "A" { "B" } else { "A" });
    /// let text = format!("a={} b={forged} c=pl_v1_0123456789abcdefXYZ", key.expose_secret());
    /// let kinds: Vec<_> = format.find_keys(text.as_bytes()).map(|f| f.kind).collect();
    /// assert_eq!(kinds, [FoundKind::Key(Environment::Live), FoundKind::Retired]);
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn find_keys<'f, 'h>(&'f self, haystack: &'h [u8]) -> FindKeys<'f, 'h> {
        FindKeys { format: self, haystack, candidates: self.root_finder().find_iter(haystack) }
    }
}

impl Iterator for FindKeys<'_, '_> {
    type Item = Found;

    fn next(&mut self) -> Option<Found> {
        for start in self.candidates.by_ref() {
            if let Some(found) = self.format.key_at(self.haystack, start) {
                return Some(found);
            }
        }
        None
    }
}

/// Whether `b` may appear in a key: a key is a run of these.
#[inline]
fn is_key_byte(b: u8) -> bool {
    b.is_ascii_alphanumeric() || b == b'_'
}

impl KeyFormat {
    /// The key starting at `start`, where the root and its `_` were found.
    fn key_at(&self, text: &[u8], start: usize) -> Option<Found> {
        if start > 0 && is_key_byte(text[start - 1]) {
            return None;
        }
        let rest = &text[start..];
        // Stands alone when the byte after `len` bytes is not a key byte.
        let alone = |len: usize| text.get(start + len).is_none_or(|&b| !is_key_byte(b));
        if let Some(Prefix { text: prefix, environment, .. }) =
            self.current_prefixes().iter().find(|p| rest.starts_with(p.text.as_bytes()))
        {
            let len = prefix.len() + self.body_len();
            let candidate = rest.get(..len)?;
            let body = &candidate[prefix.len()..];
            if !alone(len) || !body.iter().all(u8::is_ascii_alphanumeric) {
                return None;
            }
            let (signed, checksum) = candidate.split_at(len - CHECKSUM_LEN);
            if decode_checksum(checksum) != Some(crc32fast::hash(signed)) {
                return None;
            }
            return Some(Found { offset: start, len, kind: FoundKind::Key(*environment) });
        }
        let retired = self.retired_prefixes().find(|p| rest.starts_with(p.as_bytes()))?;
        let body = rest[retired.len()..].iter().take_while(|b| b.is_ascii_alphanumeric()).count();
        let len = retired.len() + body;
        (body >= MIN_RETIRED_BODY && alone(len)).then_some(Found {
            offset: start,
            len,
            kind: FoundKind::Retired,
        })
    }
}

#[cfg(test)]
mod tests {
    use proptest::prelude::*;

    use super::*;

    fn formats() -> Vec<KeyFormat> {
        vec![
            KeyFormat::builder("pl").version("v2").retired_versions(["v1"]).build().unwrap(),
            KeyFormat::builder("sk").environments("live", "test").build().unwrap(),
            KeyFormat::builder("ws").id_len(8).secret_bits(128).build().unwrap(),
        ]
    }

    fn found(format: &KeyFormat, text: &str) -> Vec<(usize, usize, FoundKind)> {
        format.find_keys(text.as_bytes()).map(|f| (f.offset, f.len, f.kind)).collect()
    }

    #[test]
    fn finds_keys_at_their_offsets_and_skips_look_alikes() {
        let f = &formats()[1];
        let live = f.generate(Environment::Live).unwrap();
        let test = f.generate(Environment::Test).unwrap();
        let (live, test) = (live.expose_secret(), test.expose_secret());
        let text = format!("{live}\nTOKEN=\"{test}\" sk_live_short x{live} {live}y {live}_");
        assert_eq!(
            found(f, &text),
            [
                (0, live.len(), FoundKind::Key(Environment::Live)),
                (live.len() + 8, test.len(), FoundKind::Key(Environment::Test)),
            ]
        );
    }

    #[test]
    fn keys_split_across_lines_or_cut_short_are_not_found() {
        let f = &formats()[0];
        let key = f.generate(Environment::Live).unwrap();
        let key = key.expose_secret();
        let split = format!("{}\n{}", &key[..30], &key[30..]);
        assert_eq!(found(f, &split), []);
        assert_eq!(found(f, &key[..key.len() - 1]), []);
        assert_eq!(found(f, &format!("{key}A")), []);
    }

    #[test]
    fn retired_prefixes_are_reported_as_retired_when_key_like() {
        let f = &formats()[0];
        let text =
            "old=pl_v1_AbCdEfGhIjKlMnOpQrSt; doc: pl_v1_ pl_v1_short pl_v1_AbCdEfGhIjKlMnOpQrSt_x";
        assert_eq!(found(f, text), [(4, 26, FoundKind::Retired)]);
    }

    #[test]
    fn empty_and_tiny_inputs() {
        for f in formats() {
            for text in ["", "p", "pl", "pl_", "pl_v2_", "sk_live_", "_"] {
                assert_eq!(found(&f, text), [], "{text}");
            }
        }
    }

    proptest! {
        #[test]
        fn never_panics_on_arbitrary_bytes(bytes in proptest::collection::vec(any::<u8>(), 0..512)) {
            for f in formats() {
                for found in f.find_keys(&bytes) {
                    prop_assert!(found.offset + found.len <= bytes.len());
                }
            }
        }

        #[test]
        fn every_minted_key_in_random_text_is_found_where_it_is(
            before in "[ -~\n]{0,200}",
            after in "[ -~\n]{0,200}",
            which in 0usize..3,
            test in any::<bool>(),
        ) {
            let f = &formats()[which];
            let environment = if test && f.has_environments() { Environment::Test } else { Environment::Live };
            let key = f.generate(environment).unwrap();
            let key = key.expose_secret();
            // Separators keep the key apart from random key characters on either side.
            let text = format!("{before} {key} {after}");
            let at = before.len() + 1;
            let hits = found(f, &text);
            prop_assert!(hits.contains(&(at, key.len(), FoundKind::Key(environment))), "{hits:?}");
        }

        #[test]
        fn a_one_byte_change_is_not_reported(index in 0usize..256, byte in any::<u8>(), which in 0usize..3) {
            let f = &formats()[which];
            let key = f.generate(Environment::Live).unwrap();
            let mut bytes = key.expose_secret().as_bytes().to_vec();
            let index = index % bytes.len();
            prop_assume!(bytes[index] != byte);
            bytes[index] = byte;
            let text = [b" ".as_slice(), &bytes, b" "].concat();
            // CRC32 detects every single-byte change; a prefix changed into a retired one
            // (`pl_v2_` into `pl_v1_`) is reported as retired, never as a key.
            let keys = f.find_keys(&text).filter(|f| matches!(f.kind, FoundKind::Key(_))).count();
            prop_assert_eq!(keys, 0);
        }
    }
}
