//! Every row of the error catalog, rendered in every style, byte for byte.

#![allow(clippy::unwrap_used)]

use std::sync::Arc;
use std::time::Duration;

use keygate::AuthError;
use keygate::clock::Timestamp;
use keygate::error::{Forbidden, InvalidKey, InvalidRequest, Malformed};
use keygate::format::{Environment, ParseError};
use keygate::limit::RateLimitInfo;
use keygate::preset::Preset;
use keygate::response::{ErrorStyle, Renderer};
use keygate::scope::{Requirement, ScopePolicy, ScopeSet};
use keygate::store::StoreError;

fn scope_denied() -> AuthError {
    let denied = ScopePolicy::default()
        .check(
            &ScopeSet::parse(["threads:read"]).unwrap(),
            &Requirement::all_of(["threads:write"]).unwrap(),
        )
        .unwrap_err();
    AuthError::InsufficientScope(denied)
}

fn limited() -> AuthError {
    AuthError::RateLimited(RateLimitInfo {
        limit: 100,
        remaining: 0,
        reset: Timestamp::from_unix_seconds(1_634_234_567),
        retry_after: Some(Duration::from_millis(41_200)),
        window: Duration::from_secs(60),
    })
}

/// (error, envelope code, status under productlane)
fn catalog() -> Vec<(AuthError, &'static str, u16)> {
    vec![
        (AuthError::Missing, "unauthenticated", 401),
        (AuthError::Malformed(Malformed::Key(ParseError::BadChecksum)), "unauthenticated", 401),
        (AuthError::Invalid(InvalidKey::UnknownId), "unauthenticated", 401),
        (AuthError::Expired, "unauthenticated", 401),
        (AuthError::Disabled, "unauthenticated", 401),
        (
            AuthError::UnsupportedVersion { prefix: Arc::from("pl_v1_") },
            "unsupported_key_version",
            410,
        ),
        (scope_denied(), "scope_required", 403),
        (AuthError::Forbidden(Forbidden::WrongEnvironment(Environment::Test)), "forbidden", 403),
        (AuthError::InvalidRequest(InvalidRequest::MultipleCredentials), "invalid_request", 400),
        (limited(), "rate_limited", 429),
        (AuthError::Unavailable(StoreError::Unavailable("down".into())), "unavailable", 503),
    ]
}

#[test]
fn productlane_scope_required_body_word_for_word() {
    let r = Preset::productlane().renderer.render(&scope_denied(), Some("req_abc"));
    assert_eq!(r.status, 403);
    assert_eq!(r.content_type, "application/json");
    assert_eq!(
        r.body,
        r#"{"error":{"code":"scope_required","message":"This endpoint requires the `threads:write` scope.","details":{"required":["threads:write"],"granted":["threads:read"]},"request_id":"req_abc"}}"#
    );
    assert_eq!(
        r.header("www-authenticate"),
        Some(r#"Bearer realm="api", error="insufficient_scope", scope="threads:write""#)
    );
}

#[test]
fn envelope_style_every_row() {
    let renderer = Preset::productlane().renderer;
    for (err, code, status) in catalog() {
        let r = renderer.render(&err, Some("req_1"));
        assert_eq!(r.status, status, "{err:?}");
        let body: serde_json::Value = serde_json::from_str(&r.body).unwrap();
        assert_eq!(body["error"]["code"], code);
        assert_eq!(body["error"]["request_id"], "req_1");
        assert!(body["error"]["message"].as_str().is_some_and(|m| !m.is_empty()));
        assert!(body["error"]["details"].is_object());
        // Field order as Productlane v2 shows it.
        assert!(r.body.starts_with(r#"{"error":{"code":"#), "{}", r.body);
    }
    let r = renderer.render(&AuthError::Missing, Some("req_1"));
    assert_eq!(
        r.body,
        r#"{"error":{"code":"unauthenticated","message":"Missing or malformed `Authorization` header.","details":{},"request_id":"req_1"}}"#
    );
    let r = renderer.render(&AuthError::Invalid(InvalidKey::Revoked), Some("req_1"));
    assert_eq!(
        r.body,
        r#"{"error":{"code":"unauthenticated","message":"Key revoked or unknown.","details":{},"request_id":"req_1"}}"#
    );
    let r = renderer
        .render(&AuthError::UnsupportedVersion { prefix: Arc::from("pl_v1_") }, Some("req_1"));
    assert_eq!(
        r.body,
        r#"{"error":{"code":"unsupported_key_version","message":"Keys starting with `pl_v1_` are no longer supported. Mint a new key.","details":{},"request_id":"req_1"}}"#
    );
}

#[test]
fn detail_style_uses_planes_strings() {
    let renderer = Preset::plane().renderer;
    let missing = renderer.render(&AuthError::Missing, None);
    assert_eq!(missing.status, 401);
    assert_eq!(missing.body, r#"{"detail":"Authentication credentials were not provided."}"#);
    for err in [
        AuthError::Invalid(InvalidKey::UnknownId),
        AuthError::Invalid(InvalidKey::Revoked),
        AuthError::Expired,
        AuthError::Disabled,
        AuthError::Malformed(Malformed::Scheme),
    ] {
        let r = renderer.render(&err, None);
        assert_eq!(r.status, 401);
        assert_eq!(r.body, r#"{"detail":"Given API token is not valid"}"#, "{err:?}");
    }
    let r = renderer.render(&limited(), None);
    assert_eq!(r.body, r#"{"detail":"Request was throttled. Expected available in 42 seconds."}"#);
    for (err, _, _) in catalog() {
        let r = renderer.render(&err, None);
        let body: serde_json::Value = serde_json::from_str(&r.body).unwrap();
        assert!(body["detail"].is_string(), "{}", r.body);
        assert_eq!(body.as_object().unwrap().len(), 1);
    }
}

#[test]
fn problem_style_is_rfc_9457() {
    let renderer = Preset::workspace().renderer;
    let r = renderer.render(&scope_denied(), Some("req_9"));
    assert_eq!(r.content_type, "application/problem+json");
    assert_eq!(
        r.body,
        r#"{"type":"about:blank","title":"Forbidden","status":403,"detail":"This endpoint requires the `threads:write` scope.","code":"scope_required","required":["threads:write"],"granted":["threads:read"],"request_id":"req_9"}"#
    );
    for (err, code, _) in catalog() {
        let r = renderer.render(&err, None);
        let body: serde_json::Value = serde_json::from_str(&r.body).unwrap();
        assert_eq!(body["code"], code);
        assert_eq!(body["status"], r.status);
        assert_eq!(body["type"], "about:blank");
        assert!(body["title"].is_string() && body["detail"].is_string());
    }
    let r = renderer.render(&AuthError::UnsupportedVersion { prefix: Arc::from("x_v1_") }, None);
    assert_eq!(r.status, 401, "only productlane answers 410");
}

#[test]
fn challenges_follow_rfc_6750() {
    let renderer = Renderer::new(ErrorStyle::Envelope).realm("keygate").unwrap();
    let header =
        |e: &AuthError| renderer.render(e, None).header("www-authenticate").map(str::to_owned);
    assert_eq!(header(&AuthError::Missing).as_deref(), Some(r#"Bearer realm="keygate""#));
    for err in [
        AuthError::Expired,
        AuthError::Invalid(InvalidKey::WrongSecret),
        AuthError::Malformed(Malformed::Empty),
    ] {
        assert_eq!(
            header(&err).as_deref(),
            Some(r#"Bearer realm="keygate", error="invalid_token""#)
        );
    }
    assert_eq!(
        header(&AuthError::InvalidRequest(InvalidRequest::MultipleCredentials)).as_deref(),
        Some(r#"Bearer realm="keygate", error="invalid_request""#)
    );
    assert_eq!(header(&limited()), None);
    assert_eq!(header(&AuthError::Forbidden(Forbidden::HttpsRequired)), None);
    assert!(Renderer::new(ErrorStyle::Envelope).realm("a\"b").is_err());
    assert!(Renderer::new(ErrorStyle::Envelope).realm("a\nb").is_err());
}

#[test]
fn rate_limited_carries_retry_after_and_limits() {
    let r = Preset::livetest().renderer.render(&limited(), Some("req_1"));
    assert_eq!(r.status, 429);
    assert_eq!(r.header("retry-after"), Some("42"), "41.2 s rounds up, never early");
    assert_eq!(r.header("x-ratelimit-limit"), Some("100"));
    assert_eq!(r.header("x-ratelimit-remaining"), Some("0"));
    assert_eq!(r.header("x-ratelimit-reset"), Some("1634234567"));
    assert!(r.body.contains(r#""details":{"retry_after":42}"#), "{}", r.body);
}

#[test]
fn x_api_key_presets_name_their_header() {
    let gate = keygate::Keygate::builder(Preset::plane()).random_pepper().build().unwrap();
    let mut preset = Preset::plane();
    preset.renderer = keygate::response::Renderer::new(ErrorStyle::Envelope);
    let envelope = keygate::Keygate::builder(preset).random_pepper().build().unwrap();
    assert!(gate.render(&AuthError::Missing, None).body.contains("credentials were not provided"));
    assert!(
        envelope
            .render(&AuthError::Missing, None)
            .body
            .contains("Missing or malformed `X-Api-Key` header.")
    );
}
