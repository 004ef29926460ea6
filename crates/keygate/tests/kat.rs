//! Known-answer vectors for the key format. The expected values were computed independently of
//! this crate (Python's `zlib.crc32` and a 6-digit base62 encoder with the alphabet
//! `0-9A-Za-z`), so they pin the published checksum scheme, not just our own output.

#![allow(clippy::unwrap_used)]

use keygate::format::{Environment, KeyFormat, ParseError, checksum};

#[test]
fn checksum_vectors() {
    let vectors = [
        ("", "000000"),
        ("sk_live_", "2pFfUd"),
        ("pl_v2_0000000000000000000000000000000000000000000000000000000", "1dkkLY"),
        ("sk_test_AbCdEfGhIjKlMnOpQrStUvWxYz0123456789abcdefghijklmnopqrs", "0DCM4x"),
        ("sk_test_AbCdEfGhIjKlMnOpQrStUvWxYz0123456789abcdefghijklmnopq", "0Dhodb"),
        ("sk_live_zzzzzzzzzzzzZZZZZZZZZZZZZZZZZZZZZZZZZZZZZZZZZZZZZZZZZZZ", "3xIR79"),
        ("pk_7fRk2QpL9xWmhhhhhhhhhhhhhhhhhhhhhhhhhhhhhhhhhhhhhhhhhhh", "2uknlu"),
        ("ghp_zQWBuTSOoRi4A9spHcVY5ncnsDkxkJ", "23hDkE"),
    ];
    for (text, expected) in vectors {
        assert_eq!(checksum(text), expected, "checksum of {text:?}");
    }
}

#[test]
fn full_key_vectors() {
    let pl = KeyFormat::builder("pl").version("v2").retired_versions(["v1"]).build().unwrap();
    let key = "pl_v2_00000000000000000000000000000000000000000000000000000001dkkLY";
    let parsed = pl.parse(key).unwrap();
    assert_eq!(parsed.id().as_str(), "000000000000");
    assert_eq!(parsed.secret(), "0".repeat(43));
    assert_eq!(parsed.environment(), Environment::Live);
    assert_eq!(pl.preview(key).as_deref(), Some("pl_v2_0000"));

    let sk = KeyFormat::builder("sk").environments("live", "test").build().unwrap();
    let key = "sk_test_AbCdEfGhIjKlMnOpQrStUvWxYz0123456789abcdefghijklmnopqrs0DCM4x";
    let parsed = sk.parse(key).unwrap();
    assert_eq!(parsed.id().as_str(), "AbCdEfGhIjKl");
    assert_eq!(parsed.id().to_string(), "key_AbCdEfGhIjKl");
    assert_eq!(parsed.environment(), Environment::Test);
    assert_eq!(sk.preview(key).as_deref(), Some("sk_test_AbCd"));

    let live = "sk_live_zzzzzzzzzzzzZZZZZZZZZZZZZZZZZZZZZZZZZZZZZZZZZZZZZZZZZZZ3xIR79";
    assert_eq!(sk.parse(live).unwrap().environment(), Environment::Live);
    // The same body under the other prefix fails its checksum.
    let swapped = live.replacen("sk_live_", "sk_test_", 1);
    assert_eq!(sk.parse(&swapped).unwrap_err(), ParseError::BadChecksum);

    let pk = KeyFormat::builder("pk").build().unwrap();
    assert!(pk.parse("pk_7fRk2QpL9xWmhhhhhhhhhhhhhhhhhhhhhhhhhhhhhhhhhhhhhhhhhhh2uknlu").is_ok());
}

#[test]
fn lengths_are_fixed_per_format() {
    let f = KeyFormat::builder("sk").environments("live", "test").build().unwrap();
    for _ in 0..100 {
        let key = f.generate(Environment::Live).unwrap();
        assert_eq!(key.expose_secret().len(), "sk_live_".len() + 12 + 43 + 6);
    }
    let short = KeyFormat::builder("sk").secret_bits(128).id_len(8).build().unwrap();
    assert_eq!(short.secret_len(), 22);
    let key = short.generate(Environment::Live).unwrap();
    assert_eq!(key.expose_secret().len(), "sk_".len() + 8 + 22 + 6);
}
