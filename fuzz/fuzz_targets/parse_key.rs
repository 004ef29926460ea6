//! Arbitrary bytes as a key: through every preset's `KeyFormat::parse` (as exact UTF-8 when the
//! bytes are valid, and lossily decoded) and as an `Authorization` header value through the
//! preset's credential reader. Nothing may panic; a key that parses is one the format could have
//! printed.

#![no_main]

use std::sync::OnceLock;

use keygate::preset::Preset;
use libfuzzer_sys::fuzz_target;

fn presets() -> &'static [Preset] {
    static PRESETS: OnceLock<Vec<Preset>> = OnceLock::new();
    PRESETS.get_or_init(|| {
        vec![Preset::productlane(), Preset::plane(), Preset::livetest(), Preset::workspace()]
    })
}

fn parse_all(text: &str) {
    for preset in presets() {
        if let Ok(parsed) = preset.format.parse(text) {
            // A parsed key is the text it came from: its own prefix, id and secret.
            assert!(text.is_ascii());
            let prefix = preset.format.prefix(parsed.environment());
            assert_eq!(text.len(), prefix.len() + preset.format.body_len());
            assert!(text.starts_with(prefix));
            let body = &text[prefix.len()..];
            let (id, rest) = body.split_at(preset.format.id_len());
            assert_eq!(id, parsed.id().as_str());
            assert_eq!(&rest[..preset.format.secret_len()], parsed.secret());
            assert!(preset.format.preview(text).is_some());
        }
    }
}

fuzz_target!(|data: &[u8]| {
    if let Ok(text) = std::str::from_utf8(data) {
        parse_all(text);
    }
    parse_all(&String::from_utf8_lossy(data));
    for preset in presets() {
        let headers = [("authorization", data)];
        if let Ok(token) = preset.sources.extract(&headers[..]) {
            assert!(token.bytes().all(|b| b.is_ascii_graphic() || b == b' '));
            parse_all(token);
        }
    }
});
