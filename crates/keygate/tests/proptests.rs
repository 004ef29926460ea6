//! Property tests of the key format, the credential reader and every other public parser,
//! over any text (not only the key alphabet): none panics, and what a parser accepts reads back
//! to itself through its `Display` or `as_str`.

#![allow(clippy::unwrap_used)]

use std::str::FromStr;

use keygate::clock::Timestamp;
use keygate::credential::CredentialSources;
use keygate::format::{Environment, KeyFormat, KeyId, MAX_KEY_LEN};
use keygate::hash::{MIN_PEPPER_LEN, Pepper};
use keygate::plan::PlanRequirement;
use keygate::scope::{MAX_SCOPE_LEN, Requirement, Scope, ScopeSet};
use keygate::store::KeyKind;
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

/// Any text: arbitrary strings, printable Unicode, and texts shaped like what the parsers
/// accept, so that both their refusals and their round trips are reached.
fn text() -> impl Strategy<Value = String> {
    prop_oneof![
        any::<String>(),
        "\\PC*",
        "[a-z*_.-]{0,12}(:[a-z*_.\\-é]{0,12})?",
        "key_[A-Za-z0-9]{0,40}.?",
        "live|test|user|service|Live|TEST| live",
        "-?[0-9]{1,5}-[0-9]{2}-[0-9]{2}[Tt ][0-9]{2}:[0-9]{2}:[0-9]{2}(\\.[0-9]{1,12})?([Zz]|[+-][0-9]{2}:[0-9]{2})",
    ]
}

fn texts() -> impl Strategy<Value = Vec<String>> {
    prop::collection::vec(text(), 0..6)
}

/// Header names as a client may send them: any text, and the names the readers look for.
fn header_name() -> impl Strategy<Value = String> {
    prop_oneof![text(), "(?i)authorization|x-api-key|x-forwarded-proto", "[A-Za-z-]{0,12}"]
}

/// Header values: arbitrary bytes, and values shaped like a credential.
fn header_value() -> impl Strategy<Value = Vec<u8>> {
    prop_oneof![
        prop::collection::vec(any::<u8>(), 0..300),
        text().prop_map(String::into_bytes),
        "(?i)(bearer|basic)?[ \t]{0,3}[ -~]{0,80}".prop_map(String::into_bytes),
    ]
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(1024))]

    /// `Scope::new` and `FromStr` agree, never panic, and a scope reads back as its own text.
    #[test]
    fn scope_parse_round_trip(s in text()) {
        let parsed = Scope::new(&s);
        prop_assert_eq!(&parsed, &Scope::from_str(&s));
        if let Ok(scope) = parsed {
            prop_assert_eq!(scope.as_str(), s.as_str());
            prop_assert_eq!(scope.to_string(), s.clone());
            prop_assert!(s.len() <= MAX_SCOPE_LEN);
            prop_assert_eq!(Scope::new(scope.as_str()), Ok(scope.clone()));
            prop_assert!(scope.covers(&scope));
        }
    }

    /// `ScopeSet::parse` never panics, and a set parses back from its own scopes.
    #[test]
    fn scope_set_parse_round_trip(scopes in texts()) {
        if let Ok(set) = ScopeSet::parse(&scopes) {
            let back = ScopeSet::parse(set.iter().map(Scope::as_str));
            prop_assert_eq!(back, Ok(set.clone()));
            prop_assert!(set.len() <= scopes.len());
            for s in &set {
                prop_assert!(scopes.iter().any(|t| t == s.as_str()));
            }
        }
    }

    /// `Requirement::all_of` / `any_of` never panic, accept exactly the non-empty lists of
    /// scopes, and a requirement rebuilds from its own scopes.
    #[test]
    fn requirement_round_trip(scopes in texts()) {
        let all = Requirement::all_of(&scopes);
        let any = Requirement::any_of(&scopes);
        prop_assert_eq!(all.is_ok(), any.is_ok());
        prop_assert_eq!(all.is_ok(), !scopes.is_empty() && scopes.iter().all(|s| Scope::new(s).is_ok()));
        if let (Ok(all), Ok(any)) = (all, any) {
            prop_assert!(!all.is_any_of() && any.is_any_of());
            prop_assert_eq!(Requirement::all_of(all.scopes().iter().map(Scope::as_str)), Ok(all.clone()));
            prop_assert_eq!(Requirement::any_of(any.scopes().iter().map(Scope::as_str)), Ok(any.clone()));
        }
    }

    /// `PlanRequirement::any_of` never panics, accepts any non-empty list, and keeps the names.
    #[test]
    fn plan_requirement_round_trip(plans in texts()) {
        match PlanRequirement::any_of(&plans) {
            Ok(req) => {
                let names: Vec<&str> = req.allowed().iter().map(|p| &**p).collect();
                prop_assert_eq!(&names, &plans.iter().map(String::as_str).collect::<Vec<_>>());
                prop_assert_eq!(PlanRequirement::any_of(names), Ok(req.clone()));
            }
            Err(_) => prop_assert!(plans.is_empty()),
        }
    }

    /// `KeyId::from_str` never panics, and an id it accepts displays as the text it came from.
    #[test]
    fn key_id_round_trip(s in text()) {
        if let Ok(id) = KeyId::from_str(&s) {
            prop_assert_eq!(id.to_string(), s.clone());
            prop_assert_eq!(format!("key_{}", id.as_str()), s.clone());
            prop_assert_eq!(KeyId::from_str(&id.to_string()), Ok(id));
        }
    }

    /// `Environment` and `KeyKind` read exactly their own names.
    #[test]
    fn environment_and_kind_round_trip(s in text()) {
        match Environment::from_str(&s) {
            Ok(env) => {
                prop_assert_eq!(env.as_str(), s.as_str());
                prop_assert_eq!(env.to_string(), s.clone());
            }
            Err(_) => prop_assert!(s != "live" && s != "test"),
        }
        match KeyKind::from_str(&s) {
            Ok(kind) => prop_assert_eq!(kind.as_str(), s.as_str()),
            Err(_) => prop_assert!(s != "user" && s != "service"),
        }
    }

    /// `Timestamp::parse_rfc3339` (and `FromStr`) never panic; what they accept writes back as
    /// RFC 3339 that reads to the same instant.
    #[test]
    fn timestamp_parse_round_trip(s in text()) {
        let parsed = Timestamp::parse_rfc3339(&s);
        prop_assert_eq!(&parsed, &Timestamp::from_str(&s));
        if let Ok(t) = parsed {
            let written = t.to_rfc3339();
            prop_assert_eq!(Timestamp::parse_rfc3339(&written), Ok(t), "{} -> {}", s, written);
            prop_assert_eq!(t.to_string(), written);
        }
    }

    /// Every instant of the years RFC 3339 can write reads back from its own text, to the
    /// millisecond; outside them, writing says so without a panic.
    #[test]
    fn timestamp_write_round_trip(ms in any::<i64>(), near in -62_135_596_800_000i64..253_402_300_799_999) {
        for t in [Timestamp::from_unix_millis(ms), Timestamp::from_unix_millis(near)] {
            let written = t.to_rfc3339();
            if !written.starts_with('@') {
                prop_assert_eq!(Timestamp::parse_rfc3339(&written), Ok(t), "{}", written);
            }
        }
        let t = Timestamp::from_unix_millis(near);
        prop_assert_eq!(Timestamp::parse_rfc3339(&t.to_rfc3339()), Ok(t));
    }

    /// The credential reader never panics, whatever the header names and values and whatever
    /// header a deployment names; what it returns is visible ASCII taken from one of the values.
    #[test]
    fn extract_over_any_headers(headers in prop::collection::vec((header_name(), header_value()), 0..5), own in header_name()) {
        for sources in [CredentialSources::bearer(), CredentialSources::header(&own), CredentialSources::bearer_or_header(&own)] {
            let _ = sources.label();
            if let Ok(token) = sources.extract(&headers) {
                prop_assert!(!token.is_empty());
                prop_assert!(token.len() <= MAX_KEY_LEN + 64);
                prop_assert!(token.bytes().all(|b| b.is_ascii_graphic() || b == b' '));
                let from_a_value = headers.iter().any(|(_, v)| {
                    v.windows(token.len()).any(|w| w == token.as_bytes())
                });
                prop_assert!(from_a_value);
            }
        }
    }

    /// `Pepper::new` takes any bytes: it refuses fewer than 32, keeps the rest, and never shows
    /// them.
    #[test]
    fn pepper_over_any_bytes(bytes in prop::collection::vec(any::<u8>(), 0..80)) {
        let len = bytes.len();
        match Pepper::new(bytes) {
            Ok(pepper) => {
                prop_assert!(len >= MIN_PEPPER_LEN);
                prop_assert_eq!(format!("{pepper:?}"), "Pepper([REDACTED])");
            }
            Err(e) => {
                prop_assert!(len < MIN_PEPPER_LEN);
                prop_assert_eq!(e.0, len);
            }
        }
    }
}

/// At the edges of the years RFC 3339 can write, an offset can carry the instant outside them:
/// `9999-12-31T23:59:59-01:00` was once read, and then written as `@253402304399000ms`, which
/// does not read back. Such a text is now refused.
#[test]
fn a_timestamp_at_the_edge_of_the_years_round_trips_or_is_refused() {
    for text in [
        "0001-01-01T00:00:00+01:00",
        "0001-01-01T00:30:00+23:59",
        "9999-12-31T23:59:59-01:00",
        "9999-12-31T23:59:59.999999999-23:59",
        "0001-01-01T00:00:00Z",
        "9999-12-31T23:59:59.999Z",
    ] {
        if let Ok(t) = Timestamp::parse_rfc3339(text) {
            let written = t.to_rfc3339();
            assert_eq!(Timestamp::parse_rfc3339(&written), Ok(t), "{text} -> {written}");
        }
    }
    assert!(Timestamp::parse_rfc3339("9999-12-31T23:59:59-01:00").is_err());
    assert!(Timestamp::parse_rfc3339("0001-01-01T00:00:00+01:00").is_err());
    assert!(Timestamp::parse_rfc3339("9999-12-31T23:59:59.999Z").is_ok());
}
