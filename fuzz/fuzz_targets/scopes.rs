//! Arbitrary strings as scopes, scope sets and requirements, checked against every preset's
//! policy. Nothing may panic, and the answers must agree with each other.
//!
//! The input is text (decoded lossily) of up to four lines: one scope; the granted scopes; the
//! required scopes (both comma-separated); and `any` for an any-of requirement.

#![no_main]

use std::sync::OnceLock;

use keygate::preset::Preset;
use keygate::scope::{MAX_SCOPE_LEN, Requirement, Scope, ScopePolicy, ScopeSet};
use libfuzzer_sys::fuzz_target;

fn policies() -> &'static [ScopePolicy] {
    static POLICIES: OnceLock<Vec<ScopePolicy>> = OnceLock::new();
    POLICIES.get_or_init(|| {
        [Preset::productlane(), Preset::plane(), Preset::livetest(), Preset::workspace()]
            .into_iter()
            .map(|p| p.policy)
            .chain([ScopePolicy::default()])
            .collect()
    })
}

fn list(line: &str) -> Vec<&str> {
    if line.is_empty() { Vec::new() } else { line.split(',').collect() }
}

fuzz_target!(|data: &[u8]| {
    let text = String::from_utf8_lossy(data);
    let mut lines = text.split('\n');
    let one = lines.next().unwrap_or_default();
    let granted = list(lines.next().unwrap_or_default());
    let required = list(lines.next().unwrap_or_default());
    let any_of = lines.next() == Some("any");

    if let Ok(scope) = Scope::new(one) {
        assert_eq!(scope.as_str(), one);
        assert!(scope.as_str().len() <= MAX_SCOPE_LEN);
        assert!(scope.covers(&scope));
        assert_eq!(scope.is_wildcard(), one.contains('*'));
        assert_eq!(scope.to_string(), one);
    }
    let granted = ScopeSet::parse(&granted);
    let required_set = ScopeSet::parse(&required);
    let requirement =
        if any_of { Requirement::any_of(&required) } else { Requirement::all_of(&required) };
    if let Ok(r) = &requirement {
        assert!(!r.scopes().is_empty());
        assert_eq!(r.is_any_of(), any_of);
    }
    for policy in policies() {
        let _ = policy.known();
        let full = policy.full_access();
        let Ok(granted) = &granted else { continue };
        let _ = policy.validate(granted);
        if let Ok(requirement) = &requirement {
            if let Err(denied) = policy.check(granted, requirement) {
                assert!(!denied.required().is_empty());
            }
            // Where the policy lists its scopes, full access grants every listed one.
            let listed = ScopeSet::from_scopes(requirement.scopes().to_vec());
            if policy.known().is_some()
                && !requirement.scopes().iter().any(|s| s.is_wildcard())
                && policy.validate(&listed).is_ok()
            {
                assert!(policy.check(&full, requirement).is_ok(), "{requirement:?}");
            }
            for scope in requirement.scopes() {
                let _ = policy.grants(granted, scope);
            }
        }
        if let Ok(required) = &required_set {
            let missing = policy.not_held(granted, required);
            assert!(missing.len() <= required.len());
            // What is not held is among what was asked; what is asked and not granted is not
            // held. (A granted scope may still be not held: what it implies must be granted too.)
            for scope in &missing {
                assert!(required.contains(scope.as_str()), "{scope:?}");
            }
            for scope in required.iter() {
                if !policy.grants(granted, scope) {
                    assert!(missing.contains(scope), "{scope:?}");
                }
            }
            // Holding everything asked leaves nothing missing.
            assert!(policy.not_held(required, required).is_empty());
        }
    }
});
