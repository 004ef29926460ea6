//! Property tests of the key format and the credential reader.

#![allow(clippy::unwrap_used)]

use keygate::credential::CredentialSources;
use keygate::format::{Environment, KeyFormat, MAX_KEY_LEN};
use proptest::prelude::*;

fn formats() -> Vec<KeyFormat> {
    vec![
        KeyFormat::builder("pl").version("v2").retired_versions(["v1"]).build().unwrap(),
        KeyFormat::builder("sk").environments("live", "test").build().unwrap(),
        KeyFormat::builder("pk").secret_bits(128).id_len(8).build().unwrap(),
    ]
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(512))]

    /// Every generated key parses back to its own id, secret and environment.
    #[test]
    fn generate_parse_round_trip(which in 0usize..3, test_env in any::<bool>()) {
        let format = &formats()[which];
        let env = if test_env && format.has_environments() { Environment::Test } else { Environment::Live };
        let key = format.generate(env).unwrap();
        let text = key.expose_secret();
        let parsed = format.parse(text).unwrap();
        let prefix = format.prefix(env);
        prop_assert_eq!(parsed.environment(), env);
        let id = parsed.id();
        prop_assert_eq!(id.as_str(), &text[prefix.len()..prefix.len() + format.id_len()]);
        prop_assert_eq!(parsed.secret().len(), format.secret_len());
        prop_assert!(text.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_'));
    }

    /// Changing any one character of a key to any other character makes it fail to parse.
    #[test]
    fn any_one_character_change_is_rejected(which in 0usize..3, pos in any::<prop::sample::Index>(), c in any::<char>()) {
        let format = &formats()[which];
        let key = format.generate(Environment::Live).unwrap();
        let mut chars: Vec<char> = key.expose_secret().chars().collect();
        let i = pos.index(chars.len());
        prop_assume!(chars[i] != c);
        chars[i] = c;
        let changed: String = chars.into_iter().collect();
        prop_assert!(format.parse(&changed).is_err(), "accepted {:?}", changed);
    }

    /// Dropping or adding one character is rejected.
    #[test]
    fn one_character_short_or_long_is_rejected(which in 0usize..3, pos in any::<prop::sample::Index>(), c in "[A-Za-z0-9]") {
        let format = &formats()[which];
        let key = format.generate(Environment::Live).unwrap();
        let text = key.expose_secret();
        let i = pos.index(text.len());
        let shorter = format!("{}{}", &text[..i], &text[i + 1..]);
        let longer = format!("{}{}{}", &text[..i], c, &text[i..]);
        prop_assert!(format.parse(&shorter).is_err());
        prop_assert!(format.parse(&longer).is_err());
    }

    /// A key-shaped text of the right length in bytes, with a character of several bytes in
    /// place of as many ASCII characters anywhere (across the checksum's edge included), is
    /// refused without a panic: the parser never slices text it has not checked.
    #[test]
    fn a_multibyte_character_of_the_right_length_is_refused(which in 0usize..3, pos in any::<prop::sample::Index>(), c in any::<char>().prop_filter("several bytes", |c| c.len_utf8() > 1)) {
        let format = &formats()[which];
        let key = format.generate(Environment::Live).unwrap();
        let text = key.expose_secret();
        let width = c.len_utf8();
        let i = pos.index(text.len() - width + 1);
        let forged = format!("{}{}{}", &text[..i], c, &text[i + width..]);
        prop_assert_eq!(forged.len(), text.len());
        prop_assert!(format.parse(&forged).is_err());
    }

    /// The parser never panics, whatever the text.
    #[test]
    fn parse_never_panics(text in any::<String>()) {
        for format in formats() {
            let _ = format.parse(&text);
        }
    }

    /// The credential reader never panics on arbitrary header bytes, and whatever it returns is
    /// visible ASCII no longer than a key plus a scheme.
    #[test]
    fn extract_never_panics(value in prop::collection::vec(any::<u8>(), 0..400), name in "(?i)authorization|x-api-key|accept") {
        let headers = vec![(name, value)];
        for sources in [CredentialSources::bearer(), CredentialSources::header("X-Api-Key"), CredentialSources::bearer_or_header("X-Api-Key")] {
            if let Ok(token) = sources.extract(&headers) {
                prop_assert!(token.len() <= MAX_KEY_LEN + 64);
                prop_assert!(token.bytes().all(|b| b.is_ascii_graphic() || b == b' '));
            }
        }
    }
}

/// A character straddling the checksum's first byte once made the parser panic, with the whole
/// credential in the panic message.
#[test]
fn a_character_across_the_checksum_edge_is_refused() {
    for format in formats() {
        let key = format.generate(Environment::Live).unwrap();
        let text = key.expose_secret();
        let edge = text.len() - 6;
        let forged = format!("{}é{}", &text[..edge - 1], &text[edge + 1..]);
        assert_eq!(forged.len(), text.len());
        assert!(format.parse(&forged).is_err());
    }
}
