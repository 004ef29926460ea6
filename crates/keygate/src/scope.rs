//! Scopes, scope sets, requirements and the policy that says which scope implies which.
//!
//! A scope is `resource:action` (`tasks:read`) or a plain name (`admin`). Either part of a
//! granted scope may be `*`: `tasks:*` grants every action on tasks, `*:read` grants reading
//! everything, and `*` alone grants everything. A [`ScopePolicy`] is chosen per deployment: the
//! scopes it knows (minting with any other is an error) and what each implies.
//!
//! ```
//! use keygate::scope::{Requirement, ScopePolicy, ScopeSet};
//!
//! // A workspace API: `admin` implies `read:all` and `write:all`, which reach every resource.
//! let policy = ScopePolicy::builder()
//!     .known(["read:all", "write:all", "admin", "tasks:read", "tasks:write"])
//!     .implies("read:all", ["*:read"])
//!     .implies("write:all", ["*:write"])
//!     .implies("admin", ["read:all", "write:all"])
//!     .build()?;
//!
//! let admin = ScopeSet::parse(["admin"])?;
//! let reader = ScopeSet::parse(["read:all"])?;
//! let write_tasks = Requirement::all_of(["tasks:write"])?;
//! assert!(policy.check(&admin, &write_tasks).is_ok());
//! let denied = policy.check(&reader, &write_tasks).unwrap_err();
//! assert_eq!(denied.required()[0].as_str(), "tasks:write");
//! assert!(policy.validate(&ScopeSet::parse(["billing:read"])?).is_err());
//! # Ok::<(), keygate::scope::ScopeError>(())
//! ```

use std::fmt;
use std::sync::Arc;

use serde::{Deserialize, Deserializer, Serialize, Serializer};

/// Longest scope text.
pub const MAX_SCOPE_LEN: usize = 128;

/// Most scopes in one set.
pub const MAX_SCOPES: usize = 256;

/// A problem with scopes.
///
/// ```
/// use keygate::scope::{Scope, ScopeError, ScopePolicy, ScopeSet};
///
/// assert_eq!(Scope::new("tasks read"), Err(ScopeError::Invalid("tasks read".into())));
/// let policy = ScopePolicy::builder().known(["tasks:read"]).build()?;
/// let err = policy.validate(&ScopeSet::parse(["billing:read"])?).unwrap_err();
/// assert_eq!(err, ScopeError::Unknown("billing:read".into()));
/// # Ok::<(), ScopeError>(())
/// ```
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum ScopeError {
    /// The text is not a scope: empty, too long, or holding something other than
    /// `[A-Za-z0-9_.-]`, one `:` and `*` parts.
    #[error("`{0}` is not a valid scope")]
    Invalid(String),
    /// The scope is well formed but the policy does not know it.
    #[error("unknown scope `{0}`")]
    Unknown(String),
    /// A set holds more than [`MAX_SCOPES`] scopes.
    #[error("too many scopes (at most 256)")]
    TooMany,
    /// A requirement lists no scope.
    #[error("a requirement needs at least one scope")]
    EmptyRequirement,
}

/// One scope, such as `tasks:read`, `admin`, `tasks:*` or `*`.
///
/// ```
/// use keygate::scope::Scope;
///
/// let all_tasks = Scope::new("tasks:*")?;
/// assert!(all_tasks.is_wildcard());
/// assert!(all_tasks.covers(&Scope::new("tasks:delete")?));
/// assert!(!all_tasks.covers(&Scope::new("projects:read")?));
/// # Ok::<(), keygate::scope::ScopeError>(())
/// ```
#[derive(Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Scope {
    text: Arc<str>,
    colon: Option<u8>,
}

fn valid_part(p: &str) -> bool {
    p == "*"
        || (!p.is_empty()
            && p.bytes().all(|b| b.is_ascii_alphanumeric() || matches!(b, b'_' | b'.' | b'-')))
}

impl Scope {
    /// Reads a scope.
    ///
    /// # Errors
    /// [`ScopeError::Invalid`] when `text` is not a scope.
    pub fn new(text: &str) -> Result<Self, ScopeError> {
        let invalid = || ScopeError::Invalid(text.chars().take(MAX_SCOPE_LEN).collect());
        if text.len() > MAX_SCOPE_LEN {
            return Err(invalid());
        }
        let colon = match text.split_once(':') {
            None if valid_part(text) => None,
            Some((res, act)) if valid_part(res) && valid_part(act) => Some(res.len() as u8),
            _ => return Err(invalid()),
        };
        Ok(Scope { text: text.into(), colon })
    }

    /// The scope's text.
    pub fn as_str(&self) -> &str {
        &self.text
    }

    fn parts(&self) -> Option<(&str, &str)> {
        self.colon.map(|i| {
            let i = usize::from(i);
            (&self.text[..i], &self.text[i + 1..])
        })
    }

    /// Whether the scope holds a `*`.
    pub fn is_wildcard(&self) -> bool {
        self.text.contains('*')
    }

    /// Whether holding `self` grants `required` by itself, wildcards included (no implications).
    pub fn covers(&self, required: &Scope) -> bool {
        if &*self.text == "*" || self.text == required.text {
            return true;
        }
        match (self.parts(), required.parts()) {
            (Some((gr, ga)), Some((rr, ra))) => (gr == "*" || gr == rr) && (ga == "*" || ga == ra),
            _ => false,
        }
    }
}

impl fmt::Display for Scope {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.text)
    }
}

impl fmt::Debug for Scope {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Debug::fmt(&*self.text, f)
    }
}

impl std::str::FromStr for Scope {
    type Err = ScopeError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Scope::new(s)
    }
}

impl Serialize for Scope {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&self.text)
    }
}

impl<'de> Deserialize<'de> for Scope {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let text = <std::borrow::Cow<'de, str>>::deserialize(d)?;
        Scope::new(&text).map_err(serde::de::Error::custom)
    }
}

/// The scopes a key holds: sorted, without duplicates.
///
/// ```
/// use keygate::scope::ScopeSet;
///
/// let scopes = ScopeSet::parse(["tasks:write", "tasks:read", "tasks:write"])?;
/// assert_eq!(scopes.len(), 2);
/// assert!(scopes.contains("tasks:read"));
/// let texts: Vec<&str> = scopes.iter().map(|s| s.as_str()).collect();
/// assert_eq!(texts, ["tasks:read", "tasks:write"]);
/// # Ok::<(), keygate::scope::ScopeError>(())
/// ```
#[derive(Clone, Default, PartialEq, Eq, Hash)]
pub struct ScopeSet(Vec<Scope>);

impl ScopeSet {
    /// An empty set.
    pub fn new() -> Self {
        ScopeSet(Vec::new())
    }

    /// Reads a set of scopes.
    ///
    /// # Errors
    /// [`ScopeError::Invalid`] for the first text that is not a scope, [`ScopeError::TooMany`]
    /// past [`MAX_SCOPES`].
    pub fn parse<I, S>(scopes: I) -> Result<Self, ScopeError>
    where
        I: IntoIterator<Item = S>,
        S: AsRef<str>,
    {
        let mut set = Vec::new();
        for s in scopes {
            if set.len() == MAX_SCOPES {
                return Err(ScopeError::TooMany);
            }
            set.push(Scope::new(s.as_ref())?);
        }
        Ok(Self::from_scopes(set))
    }

    /// A set from scopes already read.
    pub fn from_scopes(mut scopes: Vec<Scope>) -> Self {
        scopes.sort();
        scopes.dedup();
        ScopeSet(scopes)
    }

    /// Whether the set holds exactly `scope` (no wildcards, no implications).
    pub fn contains(&self, scope: &str) -> bool {
        self.0.iter().any(|s| s.as_str() == scope)
    }

    /// The scopes, sorted.
    pub fn iter(&self) -> std::slice::Iter<'_, Scope> {
        self.0.iter()
    }

    /// How many scopes.
    pub fn len(&self) -> usize {
        self.0.len()
    }

    /// Whether the set is empty.
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    /// The scopes as a slice, sorted.
    pub fn as_slice(&self) -> &[Scope] {
        &self.0
    }
}

impl fmt::Debug for ScopeSet {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_list().entries(&self.0).finish()
    }
}

impl<'a> IntoIterator for &'a ScopeSet {
    type Item = &'a Scope;
    type IntoIter = std::slice::Iter<'a, Scope>;
    fn into_iter(self) -> Self::IntoIter {
        self.0.iter()
    }
}

impl Serialize for ScopeSet {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        self.0.serialize(s)
    }
}

impl<'de> Deserialize<'de> for ScopeSet {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let scopes = Vec::<Scope>::deserialize(d)?;
        if scopes.len() > MAX_SCOPES {
            return Err(serde::de::Error::custom(ScopeError::TooMany));
        }
        Ok(ScopeSet::from_scopes(scopes))
    }
}

/// What a route needs: all of some scopes, or any one of them.
///
/// ```
/// use keygate::scope::{Requirement, ScopePolicy, ScopeSet};
///
/// let read_or_admin = Requirement::any_of(["tasks:read", "admin"])?;
/// let policy = ScopePolicy::default();
/// assert!(policy.check(&ScopeSet::parse(["admin"])?, &read_or_admin).is_ok());
/// let both = Requirement::all_of(["tasks:read", "tasks:write"])?;
/// assert!(policy.check(&ScopeSet::parse(["tasks:read"])?, &both).is_err());
/// # Ok::<(), keygate::scope::ScopeError>(())
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Requirement {
    any: bool,
    scopes: Vec<Scope>,
}

impl Requirement {
    /// Every one of `scopes` is needed.
    ///
    /// # Errors
    /// [`ScopeError::Invalid`] for a text that is not a scope, [`ScopeError::EmptyRequirement`]
    /// for no scope at all.
    pub fn all_of<I, S>(scopes: I) -> Result<Self, ScopeError>
    where
        I: IntoIterator<Item = S>,
        S: AsRef<str>,
    {
        Self::build(false, scopes)
    }

    /// Any one of `scopes` is enough.
    ///
    /// # Errors
    /// As [`Requirement::all_of`].
    pub fn any_of<I, S>(scopes: I) -> Result<Self, ScopeError>
    where
        I: IntoIterator<Item = S>,
        S: AsRef<str>,
    {
        Self::build(true, scopes)
    }

    fn build<I, S>(any: bool, scopes: I) -> Result<Self, ScopeError>
    where
        I: IntoIterator<Item = S>,
        S: AsRef<str>,
    {
        let scopes = ScopeSet::parse(scopes)?.0;
        if scopes.is_empty() {
            return Err(ScopeError::EmptyRequirement);
        }
        Ok(Requirement { any, scopes })
    }

    /// Whether any one scope is enough.
    pub fn is_any_of(&self) -> bool {
        self.any
    }

    /// The scopes named.
    pub fn scopes(&self) -> &[Scope] {
        &self.scopes
    }
}

/// The scopes a route needs, as a type, for extractors such as keygate-axum's `Scoped<R>`.
/// Declare one with [`requirement!`](crate::requirement).
///
/// ```
/// use std::sync::OnceLock;
/// use keygate::scope::{Requirement, ScopeRequirement};
///
/// // What `requirement!(TasksWrite = all_of["tasks:write"])` writes.
/// struct TasksWrite;
///
/// impl ScopeRequirement for TasksWrite {
///     fn requirement() -> &'static Requirement {
///         static REQUIREMENT: OnceLock<Requirement> = OnceLock::new();
///         REQUIREMENT.get_or_init(|| Requirement::all_of(["tasks:write"]).unwrap())
///     }
/// }
/// assert_eq!(TasksWrite::requirement().scopes()[0].as_str(), "tasks:write");
/// ```
pub trait ScopeRequirement: Send + Sync + 'static {
    /// The requirement.
    fn requirement() -> &'static Requirement;
}

/// Declares a [`ScopeRequirement`] type: a unit struct whose requirement is built once.
///
/// ```
/// use keygate::scope::ScopeRequirement;
///
/// keygate::requirement!(pub TasksWrite = all_of["tasks:write"]);
/// keygate::requirement!(ReadOrAdmin = any_of["tasks:read", "admin"]);
/// assert!(ReadOrAdmin::requirement().is_any_of());
/// ```
///
/// # Panics
/// On first use, if a scope literal is not a valid scope.
#[macro_export]
macro_rules! requirement {
    ($vis:vis $name:ident = $kind:ident [$($scope:literal),+ $(,)?]) => {
        #[doc = concat!("Requires ", stringify!($kind), " of: ", $($scope, " "),+)]
        #[derive(Debug, Clone, Copy)]
        $vis struct $name;

        impl $crate::scope::ScopeRequirement for $name {
            fn requirement() -> &'static $crate::scope::Requirement {
                static REQUIREMENT: ::std::sync::OnceLock<$crate::scope::Requirement> =
                    ::std::sync::OnceLock::new();
                REQUIREMENT.get_or_init(|| {
                    $crate::scope::Requirement::$kind([$($scope),+])
                        .expect(concat!("invalid scope in ", stringify!($name)))
                })
            }
        }
    };
}

/// A failed scope check: what was needed and what the key holds.
///
/// ```
/// use keygate::scope::{Requirement, ScopePolicy, ScopeSet};
///
/// let held = ScopeSet::parse(["tasks:read"])?;
/// let needed = Requirement::all_of(["tasks:read", "tasks:write"])?;
/// let denied = ScopePolicy::default().check(&held, &needed).unwrap_err();
/// assert_eq!(denied.required()[0].as_str(), "tasks:write");
/// assert_eq!(denied.granted()[0].as_str(), "tasks:read");
/// assert!(!denied.is_any_of());
/// # Ok::<(), keygate::scope::ScopeError>(())
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ScopeDenied {
    required: Vec<Scope>,
    granted: Vec<Scope>,
    any: bool,
}

impl ScopeDenied {
    /// The scopes to add: the missing ones of an all-of requirement, every option of an any-of.
    pub fn required(&self) -> &[Scope] {
        &self.required
    }

    /// The scopes the key holds.
    pub fn granted(&self) -> &[Scope] {
        &self.granted
    }

    /// Whether any one of [`required`](Self::required) would have been enough.
    pub fn is_any_of(&self) -> bool {
        self.any
    }
}

/// Which scopes exist and which imply which. Cloning is cheap.
///
/// ```
/// use keygate::scope::{Scope, ScopePolicy, ScopeSet};
///
/// let policy = ScopePolicy::builder()
///     .known(["tasks:read", "tasks:write", "admin:*"])
///     .implies("admin:*", ["*"])
///     .build()?;
/// let admin = ScopeSet::parse(["admin:*"])?;
/// assert!(policy.grants(&admin, &Scope::new("tasks:write")?));
/// assert_eq!(policy.full_access().len(), 3);
/// # Ok::<(), keygate::scope::ScopeError>(())
/// ```
#[derive(Debug, Clone)]
pub struct ScopePolicy(Arc<PolicyInner>);

#[derive(Debug)]
struct PolicyInner {
    known: Option<ScopeSet>,
    /// Each implying scope with everything it implies, transitively.
    implications: Vec<(Scope, Vec<Scope>)>,
}

/// Builds a [`ScopePolicy`].
///
/// ```
/// use keygate::scope::{Scope, ScopePolicy, ScopeSet};
///
/// // Implications are followed through: `owner` implies `admin`, which implies `tasks:*`.
/// let policy = ScopePolicy::builder()
///     .implies("owner", ["admin"])
///     .implies("admin", ["tasks:*"])
///     .build()?;
/// assert!(policy.grants(&ScopeSet::parse(["owner"])?, &Scope::new("tasks:delete")?));
/// assert!(ScopePolicy::builder().known(["not a scope"]).build().is_err());
/// # Ok::<(), keygate::scope::ScopeError>(())
/// ```
#[derive(Debug, Clone, Default)]
pub struct ScopePolicyBuilder {
    known: Option<Vec<String>>,
    implications: Vec<(String, Vec<String>)>,
}

impl ScopePolicyBuilder {
    /// The scopes keys may be minted with. Without this, any well-formed scope is accepted.
    pub fn known<I, S>(mut self, scopes: I) -> Self
    where
        I: IntoIterator<Item = S>,
        S: Into<String>,
    {
        self.known.get_or_insert_with(Vec::new).extend(scopes.into_iter().map(Into::into));
        self
    }

    /// Holding `scope` grants each of `implied` as well (and what they imply in turn). An implied
    /// scope may be a wildcard: `implies("admin:*", ["*"])` makes `admin:*` full access.
    pub fn implies<I, S>(mut self, scope: impl Into<String>, implied: I) -> Self
    where
        I: IntoIterator<Item = S>,
        S: Into<String>,
    {
        self.implications.push((scope.into(), implied.into_iter().map(Into::into).collect()));
        self
    }

    /// Checks every scope named and builds the policy.
    ///
    /// # Errors
    /// [`ScopeError::Invalid`] for a text that is not a scope.
    pub fn build(self) -> Result<ScopePolicy, ScopeError> {
        let known = self.known.map(ScopeSet::parse).transpose()?;
        let mut direct: Vec<(Scope, Vec<Scope>)> = Vec::new();
        for (scope, implied) in &self.implications {
            let scope = Scope::new(scope)?;
            let implied = implied.iter().map(|s| Scope::new(s)).collect::<Result<Vec<_>, _>>()?;
            match direct.iter_mut().find(|(s, _)| *s == scope) {
                Some((_, list)) => list.extend(implied),
                None => direct.push((scope, implied)),
            }
        }
        // Transitive closure: follow implications until nothing new is added.
        let mut implications = direct.clone();
        loop {
            let mut grew = false;
            for (_, implied) in implications.iter_mut() {
                let mut add: Vec<Scope> = implied
                    .iter()
                    .flat_map(|i| direct.iter().filter(|(from, _)| i.covers(from)))
                    .flat_map(|(_, to)| to.iter())
                    .filter(|t| !implied.contains(t))
                    .cloned()
                    .collect();
                add.sort();
                add.dedup();
                grew |= !add.is_empty();
                implied.extend(add);
            }
            if !grew {
                break;
            }
        }
        Ok(ScopePolicy(Arc::new(PolicyInner { known, implications })))
    }
}

impl Default for ScopePolicy {
    /// Any well-formed scope, no implications.
    fn default() -> Self {
        ScopePolicy(Arc::new(PolicyInner { known: None, implications: Vec::new() }))
    }
}

impl ScopePolicy {
    /// Starts a policy.
    pub fn builder() -> ScopePolicyBuilder {
        ScopePolicyBuilder::default()
    }

    /// The scopes keys may be minted with, if the policy lists them.
    pub fn known(&self) -> Option<&ScopeSet> {
        self.0.known.as_ref()
    }

    /// Every known scope: the "full access" bundle. Empty when the policy lists none.
    pub fn full_access(&self) -> ScopeSet {
        self.0.known.clone().unwrap_or_default()
    }

    /// Checks that every scope of `scopes` is known: listed, or a wildcard that covers at
    /// least one listed scope.
    ///
    /// # Errors
    /// [`ScopeError::Unknown`] naming the first scope that is not.
    pub fn validate(&self, scopes: &ScopeSet) -> Result<(), ScopeError> {
        let Some(known) = &self.0.known else {
            return Ok(());
        };
        for s in scopes {
            let ok = known.0.binary_search(s).is_ok()
                || (s.is_wildcard() && known.iter().any(|k| s.covers(k)));
            if !ok {
                return Err(ScopeError::Unknown(s.as_str().to_owned()));
            }
        }
        Ok(())
    }

    /// Whether `granted` grants `required`, through wildcards and implications.
    pub fn grants(&self, granted: &ScopeSet, required: &Scope) -> bool {
        granted.iter().any(|g| {
            g.covers(required)
                || self
                    .0
                    .implications
                    .iter()
                    .find(|(from, _)| from == g)
                    .is_some_and(|(_, to)| to.iter().any(|i| i.covers(required)))
        })
    }

    /// The scopes of `requested` that a holder of `granted` may not hand out: a scope may be
    /// handed out when `granted` grants it and everything it implies, so a wildcard only by a
    /// holder of a wildcard that covers it. Empty when all of `requested` may be.
    ///
    /// ```
    /// use keygate::scope::{ScopePolicy, ScopeSet};
    ///
    /// let policy = ScopePolicy::builder().implies("admin", ["*:read"]).build()?;
    /// let held = ScopeSet::parse(["tasks:read", "tasks:write", "admin"])?;
    /// assert!(policy.not_held(&held, &ScopeSet::parse(["tasks:read", "users:read"])?).is_empty());
    /// let beyond = policy.not_held(&held, &ScopeSet::parse(["tasks:*", "users:write"])?);
    /// assert_eq!(beyond.iter().map(|s| s.as_str()).collect::<Vec<_>>(), ["tasks:*", "users:write"]);
    /// # Ok::<(), keygate::scope::ScopeError>(())
    /// ```
    pub fn not_held(&self, granted: &ScopeSet, requested: &ScopeSet) -> Vec<Scope> {
        let implied = |s: &Scope| -> &[Scope] {
            self.0.implications.iter().find(|(from, _)| from == s).map_or(&[], |(_, to)| to)
        };
        requested
            .iter()
            .filter(|r| {
                !self.grants(granted, r) || implied(r).iter().any(|i| !self.grants(granted, i))
            })
            .cloned()
            .collect()
    }

    /// Checks `granted` against a requirement. Allocates only when the check fails.
    ///
    /// # Errors
    /// [`ScopeDenied`] with the scopes to add and the scopes held.
    pub fn check(&self, granted: &ScopeSet, requirement: &Requirement) -> Result<(), ScopeDenied> {
        let ok = if requirement.any {
            requirement.scopes.iter().any(|r| self.grants(granted, r))
        } else {
            requirement.scopes.iter().all(|r| self.grants(granted, r))
        };
        if ok {
            return Ok(());
        }
        let required = if requirement.any {
            requirement.scopes.clone()
        } else {
            requirement.scopes.iter().filter(|r| !self.grants(granted, r)).cloned().collect()
        };
        Err(ScopeDenied { required, granted: granted.0.clone(), any: requirement.any })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn set(s: &[&str]) -> ScopeSet {
        ScopeSet::parse(s).unwrap()
    }
    fn scope(s: &str) -> Scope {
        Scope::new(s).unwrap()
    }

    #[test]
    fn scope_syntax() {
        for ok in ["admin", "tasks:read", "tasks:*", "*:read", "*", "a.b-c_d:e", "admin:*"] {
            assert!(Scope::new(ok).is_ok(), "{ok}");
        }
        for bad in ["", ":", "tasks:", ":read", "a:b:c", "tasks read", "tâches:read", "t*:read"] {
            assert!(matches!(Scope::new(bad), Err(ScopeError::Invalid(_))), "{bad}");
        }
        assert!(Scope::new(&"a".repeat(129)).is_err());
    }

    #[test]
    fn wildcards_cover() {
        assert!(scope("*").covers(&scope("admin")));
        assert!(scope("*").covers(&scope("tasks:read")));
        assert!(scope("tasks:*").covers(&scope("tasks:read")));
        assert!(!scope("tasks:*").covers(&scope("projects:read")));
        assert!(scope("*:read").covers(&scope("projects:read")));
        assert!(!scope("*:read").covers(&scope("projects:write")));
        assert!(!scope("tasks:read").covers(&scope("tasks:*")));
        assert!(!scope("admin").covers(&scope("admin:read")));
    }

    #[test]
    fn implications_are_transitive() {
        let p = ScopePolicy::builder()
            .implies("read:all", ["*:read"])
            .implies("admin", ["read:all"])
            .build()
            .unwrap();
        assert!(p.grants(&set(&["admin"]), &scope("tasks:read")));
        assert!(p.grants(&set(&["admin"]), &scope("read:all")));
        assert!(!p.grants(&set(&["admin"]), &scope("tasks:write")));
    }

    #[test]
    fn admin_star_is_everything() {
        let p = ScopePolicy::builder().implies("admin:*", ["*"]).build().unwrap();
        assert!(p.grants(&set(&["admin:*"]), &scope("tasks:delete")));
        assert!(p.grants(&set(&["admin:*"]), &scope("admin")));
    }

    #[test]
    fn all_of_reports_the_missing_any_of_reports_all() {
        let p = ScopePolicy::default();
        let held = set(&["tasks:read"]);
        let all = Requirement::all_of(["tasks:read", "tasks:write"]).unwrap();
        let denied = p.check(&held, &all).unwrap_err();
        assert_eq!(denied.required(), &[scope("tasks:write")]);
        assert_eq!(denied.granted(), &[scope("tasks:read")]);
        let any = Requirement::any_of(["tasks:write", "admin"]).unwrap();
        let denied = p.check(&held, &any).unwrap_err();
        assert_eq!(denied.required().len(), 2);
        assert!(p.check(&held, &Requirement::any_of(["admin", "tasks:read"]).unwrap()).is_ok());
        assert_eq!(Requirement::all_of(Vec::<&str>::new()), Err(ScopeError::EmptyRequirement));
    }

    #[test]
    fn registry_rejects_unknown_scopes() {
        let p = ScopePolicy::builder().known(["tasks:read", "tasks:write"]).build().unwrap();
        assert!(p.validate(&set(&["tasks:read"])).is_ok());
        assert!(p.validate(&set(&["tasks:*"])).is_ok());
        assert_eq!(
            p.validate(&set(&["tasks:read", "users:read"])),
            Err(ScopeError::Unknown("users:read".into()))
        );
        assert_eq!(p.validate(&set(&["users:*"])), Err(ScopeError::Unknown("users:*".into())));
        assert_eq!(p.full_access(), set(&["tasks:read", "tasks:write"]));
    }

    #[test]
    fn sets_sort_and_dedup() {
        let s = set(&["b", "a", "b"]);
        assert_eq!(s.iter().map(Scope::as_str).collect::<Vec<_>>(), ["a", "b"]);
        assert_eq!(serde_json::to_string(&s).unwrap(), r#"["a","b"]"#);
        let back: ScopeSet = serde_json::from_str(r#"["b","a"]"#).unwrap();
        assert_eq!(back, s);
        assert!(serde_json::from_str::<ScopeSet>(r#"["not a scope"]"#).is_err());
    }
}
