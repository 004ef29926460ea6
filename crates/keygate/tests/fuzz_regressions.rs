//! Inputs found by the fuzz targets (`fuzz/`), kept as tests.

use keygate::preset::Preset;
use keygate::scope::{ScopeError, ScopeSet};

/// From the `scopes` target: a scope granted through a wildcard (`*:all` covers `write:all`) is
/// still not one its holder may hand out, since it implies `*:write`, which `*:all` does not
/// grant. `not_held` names it though `grants` holds; the target's property was too strong, the
/// policy is as documented.
#[test]
fn a_scope_granted_by_a_wildcard_is_not_held_when_its_implications_are_not()
-> Result<(), ScopeError> {
    let policy = Preset::workspace().policy;
    let granted = ScopeSet::parse(["*:all"])?;
    let requested = ScopeSet::parse(["write:all"])?;
    let scope = &requested.as_slice()[0];
    assert!(policy.grants(&granted, scope));
    let not_held = policy.not_held(&granted, &requested);
    assert_eq!(not_held.iter().map(|s| s.as_str()).collect::<Vec<_>>(), ["write:all"]);
    // Its holder may hand it out.
    assert!(policy.not_held(&requested, &requested).is_empty());
    Ok(())
}
