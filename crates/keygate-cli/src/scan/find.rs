//! Finding keys in a stream of bytes, with their line and column.

use std::io::{self, Read};

use keygate::Secret;
use keygate::format::{Environment, FoundKind, KeyFormat};
use keygate::preset::Preset;

/// Bytes read at a time: small enough to stay in cache while every format looks at it.
const CHUNK: usize = 1 << 20;

/// A file whose first this many bytes hold a NUL is binary, as git and ripgrep decide.
const BINARY_PROBE: usize = 8 << 10;

/// The formats to look for, each with its preset's name.
#[derive(Debug)]
pub(crate) struct Formats(Vec<(&'static str, KeyFormat)>);

impl Formats {
    pub(crate) fn new(presets: impl IntoIterator<Item = Preset>) -> Self {
        Formats(presets.into_iter().map(|p| (p.name, p.format)).collect())
    }

    pub(crate) fn get(&self, preset: &str) -> Option<&KeyFormat> {
        self.0.iter().find(|(name, _)| *name == preset).map(|(_, f)| f)
    }
}

/// One key found: where, of which preset, and its preview.
#[derive(Debug)]
pub(crate) struct Hit {
    /// 1-based line.
    pub(crate) line: usize,
    /// 1-based column, in characters.
    pub(crate) column: usize,
    /// Length of the key (ASCII: characters and bytes alike).
    pub(crate) len: usize,
    pub(crate) preset: &'static str,
    /// `None` for a retired key.
    pub(crate) environment: Option<Environment>,
    pub(crate) preview: String,
    /// The key itself, kept only to check it against a store; never printed.
    pub(crate) key: Option<Secret>,
}

/// What reading one input gave.
#[derive(Debug)]
pub(crate) enum Scanned {
    Hits(Vec<Hit>),
    Binary,
}

/// Where a chunk starts: the line, and the characters since that line's start.
#[derive(Debug, Clone, Copy)]
struct Position {
    line: usize,
    column: usize,
}

impl Position {
    fn advance(&mut self, bytes: &[u8]) {
        match memchr::memrchr(b'\n', bytes) {
            Some(last) => {
                self.line += memchr::memchr_iter(b'\n', bytes).count();
                self.column = chars(&bytes[last + 1..]);
            }
            None => self.column += chars(bytes),
        }
    }
}

/// UTF-8 characters in `bytes` (each byte of invalid UTF-8 counting as one).
fn chars(bytes: &[u8]) -> usize {
    bytes.iter().filter(|&&b| b & 0xC0 != 0x80).count()
}

fn is_key_byte(b: u8) -> bool {
    b.is_ascii_alphanumeric() || b == b'_'
}

/// Every key of `formats` in `input`, read a chunk at a time. Chunks end after a newline (or,
/// on a line longer than a chunk, after a byte that cannot be in a key), so no key is cut.
/// With `probe_binary`, an input whose start holds a NUL is not scanned.
pub(crate) fn scan(
    formats: &Formats,
    input: &mut dyn Read,
    probe_binary: bool,
    keep_keys: bool,
    buf: &mut Vec<u8>,
    mut progress: impl FnMut(usize),
) -> io::Result<Scanned> {
    buf.clear();
    let mut hits = Vec::new();
    let mut at = Position { line: 1, column: 0 };
    let mut first = true;
    let mut found = Vec::new();
    loop {
        let len = buf.len();
        buf.resize(len + CHUNK, 0);
        let n = loop {
            match input.read(&mut buf[len..]) {
                Ok(n) => break n,
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                Err(e) => return Err(e),
            }
        };
        buf.truncate(len + n);
        progress(n);
        let eof = n == 0;
        if first && probe_binary {
            first = false;
            if memchr::memchr(0, &buf[..buf.len().min(BINARY_PROBE)]).is_some() {
                return Ok(Scanned::Binary);
            }
        }
        let cut = if eof {
            buf.len()
        } else {
            match memchr::memrchr(b'\n', buf) {
                Some(i) => i + 1,
                None => match buf.iter().rposition(|&b| !is_key_byte(b)) {
                    Some(i) => i + 1,
                    // A chunk of key characters only: not a key (too long); cut anywhere.
                    None if buf.len() >= 4 * CHUNK => buf.len(),
                    None => continue,
                },
            }
        };
        let text = &buf[..cut];
        found.clear();
        for (preset, format) in &formats.0 {
            found.extend(format.find_keys(text).map(|f| (f, *preset, format)));
        }
        found.sort_by_key(|(f, _, _)| f.offset);
        let mut pos = at;
        let mut done = 0;
        for (f, preset, format) in &found {
            pos.advance(&text[done..f.offset]);
            done = f.offset;
            let key = &text[f.offset..f.offset + f.len];
            // A found key is ASCII.
            let key = String::from_utf8_lossy(key);
            let (environment, preview) = match f.kind {
                FoundKind::Key(environment) => {
                    (Some(environment), format.preview(&key).unwrap_or_default())
                }
                _ => {
                    let prefix = format.retired_prefixes().find(|p| key.starts_with(p));
                    let shown = prefix.map_or(0, str::len) + 4;
                    (None, key[..shown.min(key.len())].to_owned())
                }
            };
            hits.push(Hit {
                line: pos.line,
                column: pos.column + 1,
                len: f.len,
                preset,
                environment,
                preview,
                key: keep_keys.then(|| Secret::new(key.into_owned())),
            });
        }
        pos.advance(&text[done..]);
        at = pos;
        buf.drain(..cut);
        if eof {
            return Ok(Scanned::Hits(hits));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn hits(text: &[u8]) -> Vec<(usize, usize, &'static str)> {
        let formats = Formats::new([Preset::livetest(), Preset::productlane()]);
        let mut buf = Vec::new();
        match scan(&formats, &mut &text[..], true, false, &mut buf, |_| {}).unwrap() {
            Scanned::Hits(h) => h.iter().map(|h| (h.line, h.column, h.preset)).collect(),
            Scanned::Binary => panic!("binary"),
        }
    }

    #[test]
    fn lines_and_columns_count_characters() {
        let key = Preset::livetest().format.generate(Environment::Live).unwrap();
        let key = key.expose_secret();
        let text = format!("first\nlet é = \"{key}\";\n\n  {key}\n");
        assert_eq!(hits(text.as_bytes()), [(2, 10, "livetest"), (4, 3, "livetest")]);
    }

    #[test]
    fn keys_past_a_chunk_keep_their_place() {
        let key = Preset::productlane().format.generate(Environment::Live).unwrap();
        let line = "x".repeat(999) + "\n";
        let mut text = line.repeat(CHUNK / 1000 + 3);
        text.push_str(&format!("ab {}", key.expose_secret()));
        assert_eq!(hits(text.as_bytes()), [(CHUNK / 1000 + 4, 4, "productlane")]);
        // One line longer than a chunk, cut between words.
        let text = format!("{} {}", "word ".repeat(CHUNK / 4), key.expose_secret());
        assert_eq!(hits(text.as_bytes()), [(1, 5 * (CHUNK / 4) + 2, "productlane")]);
    }

    #[test]
    fn a_nul_near_the_start_is_binary() {
        let formats = Formats::new([Preset::livetest()]);
        let mut buf = Vec::new();
        let text = b"\x7fELF\0\0\0 sk_live_";
        let scanned = scan(&formats, &mut &text[..], true, false, &mut buf, |_| {}).unwrap();
        assert!(matches!(scanned, Scanned::Binary));
    }
}
