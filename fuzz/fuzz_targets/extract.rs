//! Arbitrary header lists through `CredentialSources::extract`, for Bearer only, a key header
//! only, and either. Nothing may panic; a credential found is one the sources could have read:
//! non-empty, bounded, visible ASCII.
//!
//! The input is one header a line, `Name: value` (the value is raw bytes, the name is decoded
//! lossily). A first line `@Name` sets the key header the sources read (`X-Api-Key` otherwise).

#![no_main]

use keygate::credential::CredentialSources;
use keygate::format::MAX_KEY_LEN;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let mut lines = data.split(|&b| b == b'\n').peekable();
    let mut key_header = "X-Api-Key".to_owned();
    if let Some(first) = lines.peek()
        && let Some(name) = first.strip_prefix(b"@")
    {
        key_header = String::from_utf8_lossy(name).into_owned();
        lines.next();
    }
    let headers: Vec<(String, &[u8])> = lines
        .map(|line| {
            let (name, value) = match line.iter().position(|&b| b == b':') {
                Some(i) => (&line[..i], &line[i + 1..]),
                None => (line, &[][..]),
            };
            let value = value.strip_prefix(b" ").unwrap_or(value);
            (String::from_utf8_lossy(name).into_owned(), value)
        })
        .collect();
    for sources in [
        CredentialSources::bearer(),
        CredentialSources::header(&key_header),
        CredentialSources::bearer_or_header(&key_header),
    ] {
        let _ = sources.label();
        if let Ok(token) = sources.extract(&headers[..]) {
            assert!(!token.is_empty());
            assert!(token.len() <= MAX_KEY_LEN + 64);
            assert!(token.bytes().all(|b| b.is_ascii_graphic() || b == b' '));
        }
    }
});
