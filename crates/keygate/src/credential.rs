//! Finding the credential in a request's headers, whatever the web framework.
//!
//! A request carries its key in `Authorization: Bearer <key>` (scheme case-insensitive, one or
//! more spaces) and/or in a header such as `X-Api-Key` (name case-insensitive), as the
//! deployment chooses. Never in the query string. Two credentials, or a credential header sent
//! twice, make the request ambiguous and it is refused with
//! [`AuthError::InvalidRequest`].
//!
//! ```
//! use keygate::credential::CredentialSources;
//! use keygate::AuthError;
//!
//! let sources = CredentialSources::bearer();
//! assert_eq!(sources.extract(&[("Authorization", "bearer   sk_live_abc")]).unwrap(), "sk_live_abc");
//! assert!(matches!(sources.extract(&[("Authorization", "Basic dXNlcjpwYXNz")]), Err(AuthError::Malformed(_))));
//! assert!(matches!(sources.extract(&[("Accept", "*/*")]), Err(AuthError::Missing)));
//! ```

use std::sync::Arc;

use crate::error::{AuthError, InvalidRequest, Malformed};
use crate::format::MAX_KEY_LEN;

/// A read-only view of a request's headers. Adapters implement it for their framework's header
/// map; keygate implements it for lists of `(name, value)` pairs.
///
/// ```
/// use keygate::credential::Headers;
///
/// let headers = vec![("X-Api-Key", "pk_one"), ("x-api-key", "pk_two"), ("Accept", "*/*")];
/// let values: Vec<&[u8]> = headers.get_all("x-api-key").collect();
/// assert_eq!(values, [b"pk_one".as_slice(), b"pk_two".as_slice()]);
/// ```
pub trait Headers {
    /// Every value of header `name` (given in lower case), in the order received.
    fn get_all<'a>(&'a self, name: &str) -> impl Iterator<Item = &'a [u8]>;
}

impl<N: AsRef<str>, V: AsRef<[u8]>> Headers for [(N, V)] {
    fn get_all<'a>(&'a self, name: &str) -> impl Iterator<Item = &'a [u8]> {
        self.iter()
            .filter(move |(n, _)| n.as_ref().eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_ref())
    }
}

impl<N: AsRef<str>, V: AsRef<[u8]>, const K: usize> Headers for [(N, V); K] {
    fn get_all<'a>(&'a self, name: &str) -> impl Iterator<Item = &'a [u8]> {
        self.as_slice().get_all(name)
    }
}

impl<N: AsRef<str>, V: AsRef<[u8]>> Headers for Vec<(N, V)> {
    fn get_all<'a>(&'a self, name: &str) -> impl Iterator<Item = &'a [u8]> {
        self.as_slice().get_all(name)
    }
}

/// The usual key header, watched for as a second credential where Bearer alone is read.
const DEFAULT_KEY_HEADER: &str = "x-api-key";

/// Longest header value looked at: `Bearer`, some spaces and the longest key.
const MAX_VALUE_LEN: usize = MAX_KEY_LEN + 64;

/// Where a deployment reads credentials from.
///
/// ```
/// use keygate::{AuthError, credential::CredentialSources, error::InvalidRequest};
///
/// let sources = CredentialSources::bearer_or_header("X-Api-Key");
/// assert_eq!(sources.extract(&[("x-api-key", "pk_abc")]).unwrap(), "pk_abc");
/// let both = [("Authorization", "Bearer pk_abc"), ("X-Api-Key", "pk_abc")];
/// let err = sources.extract(&both).unwrap_err();
/// assert!(matches!(err, AuthError::InvalidRequest(InvalidRequest::MultipleCredentials)));
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CredentialSources {
    bearer: bool,
    header: Option<Arc<str>>,
    header_label: Option<Arc<str>>,
}

impl CredentialSources {
    /// `Authorization: Bearer <key>` only.
    pub fn bearer() -> Self {
        CredentialSources { bearer: true, header: None, header_label: None }
    }

    /// A header of its own only, such as `X-Api-Key: <key>`.
    pub fn header(name: &str) -> Self {
        CredentialSources {
            bearer: false,
            header: Some(name.to_ascii_lowercase().into()),
            header_label: Some(name.into()),
        }
    }

    /// Either `Authorization: Bearer <key>` or a header of its own; sending both is refused.
    pub fn bearer_or_header(name: &str) -> Self {
        CredentialSources { bearer: true, ..Self::header(name) }
    }

    /// The header named in messages: `Authorization`, or the key header when Bearer is off.
    pub fn label(&self) -> &str {
        match (&self.bearer, &self.header_label) {
            (false, Some(label)) => label,
            _ => "Authorization",
        }
    }

    /// Finds the one credential in `headers`, checked for shape but not yet parsed as a key.
    ///
    /// A request that also carries a credential where this deployment does not read one (an
    /// `X-Api-Key` beside `Authorization: Bearer`, or a Bearer token beside `X-Api-Key`) is
    /// ambiguous and refused.
    ///
    /// # Errors
    /// [`AuthError::Missing`] when none is sent (or the header is empty);
    /// [`AuthError::InvalidRequest`] when two are sent or a header is repeated;
    /// [`AuthError::Malformed`] when the value is too long, not visible ASCII, not `Bearer` (for
    /// `Authorization`), or a scheme with nothing after it.
    pub fn extract<'a, H: Headers + ?Sized>(&self, headers: &'a H) -> Result<&'a str, AuthError> {
        let mut found: Option<(&'a [u8], bool)> = None;
        if self.bearer {
            found = one_value(headers, "authorization", "Authorization")?.map(|v| (v, true));
        }
        if let Some(name) = &self.header
            && let Some(v) = one_value(headers, name, self.header_label.as_deref().unwrap_or(name))?
        {
            if found.is_some() {
                return Err(AuthError::InvalidRequest(InvalidRequest::MultipleCredentials));
            }
            found = Some((v, false));
        }
        let Some((value, is_authorization)) = found else {
            return Err(AuthError::Missing);
        };
        // A credential where this deployment does not read one is still a second credential:
        // a proxy or client that reads the other would act for someone else.
        let stray = (!self.bearer
            && headers.get_all("authorization").any(|v| strip_bearer(v).is_ok()))
            || (self.header.is_none() && headers.get_all(DEFAULT_KEY_HEADER).next().is_some());
        if stray {
            return Err(AuthError::InvalidRequest(InvalidRequest::MultipleCredentials));
        }
        if value.is_empty() {
            return Err(AuthError::Missing);
        }
        if value.len() > MAX_VALUE_LEN {
            return Err(Malformed::TooLong.into());
        }
        if !value.iter().all(|b| b.is_ascii_graphic() || *b == b' ') {
            return Err(Malformed::InvalidCharacter.into());
        }
        let token = if is_authorization { strip_bearer(value)? } else { value };
        // Visible ASCII only, checked above: this cannot fail.
        std::str::from_utf8(token).map_err(|_| Malformed::InvalidCharacter.into())
    }
}

/// The value of header `name`, if sent once; an error if sent more than once.
fn one_value<'a, H: Headers + ?Sized>(
    headers: &'a H,
    name: &str,
    label: &str,
) -> Result<Option<&'a [u8]>, AuthError> {
    let mut values = headers.get_all(name);
    let first = values.next();
    if first.is_some() && values.next().is_some() {
        return Err(AuthError::InvalidRequest(InvalidRequest::RepeatedHeader(label.into())));
    }
    Ok(first)
}

/// `Bearer` (any case), one or more spaces, then the token.
fn strip_bearer(value: &[u8]) -> Result<&[u8], AuthError> {
    const SCHEME: &[u8] = b"bearer";
    let Some(rest) = value
        .get(..SCHEME.len())
        .filter(|s| s.eq_ignore_ascii_case(SCHEME))
        .map(|_| &value[SCHEME.len()..])
    else {
        return Err(Malformed::Scheme.into());
    };
    match rest.iter().position(|&b| b != b' ') {
        // `Bearer` alone, or followed by spaces only.
        None => Err(Malformed::Empty.into()),
        // `Bearer<key>`: no separator.
        Some(0) => Err(Malformed::Scheme.into()),
        Some(n) => Ok(&rest[n..]),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bearer_forms() {
        let s = CredentialSources::bearer();
        assert_eq!(s.extract(&[("authorization", "Bearer k")]).unwrap(), "k");
        assert_eq!(s.extract(&[("AUTHORIZATION", "BEARER  k")]).unwrap(), "k");
        assert!(matches!(
            s.extract(&[("authorization", "Bearer")]),
            Err(AuthError::Malformed(Malformed::Empty))
        ));
        assert!(matches!(
            s.extract(&[("authorization", "Bearer   ")]),
            Err(AuthError::Malformed(Malformed::Empty))
        ));
        assert!(matches!(
            s.extract(&[("authorization", "Bearerk")]),
            Err(AuthError::Malformed(Malformed::Scheme))
        ));
        assert!(matches!(
            s.extract(&[("authorization", "Token k")]),
            Err(AuthError::Malformed(Malformed::Scheme))
        ));
        assert!(matches!(
            s.extract(&[("authorization", "Bearer\tk")]),
            Err(AuthError::Malformed(Malformed::InvalidCharacter))
        ));
        assert!(matches!(s.extract(&[("authorization", "")]), Err(AuthError::Missing)));
    }

    #[test]
    fn ambiguity_is_refused() {
        let s = CredentialSources::bearer_or_header("X-Api-Key");
        let both = [("authorization", "Bearer a"), ("x-api-key", "b")];
        assert!(matches!(
            s.extract(&both),
            Err(AuthError::InvalidRequest(InvalidRequest::MultipleCredentials))
        ));
        let twice = [("x-api-key", "a"), ("X-API-KEY", "b")];
        assert!(matches!(
            s.extract(&twice),
            Err(AuthError::InvalidRequest(InvalidRequest::RepeatedHeader(ref h))) if &**h == "X-Api-Key"
        ));
        assert_eq!(s.extract(&[("X-Api-Key", "k")]).unwrap(), "k");
    }

    #[test]
    fn a_credential_in_the_other_place_is_ambiguous() {
        let both = [("authorization", "Bearer a"), ("x-api-key", "b")];
        for s in [CredentialSources::bearer(), CredentialSources::header("X-Api-Key")] {
            assert!(matches!(
                s.extract(&both),
                Err(AuthError::InvalidRequest(InvalidRequest::MultipleCredentials))
            ));
        }
        let basic = [("authorization", "Basic dXNlcjpwYXNz"), ("x-api-key", "b")];
        assert_eq!(CredentialSources::header("X-Api-Key").extract(&basic).unwrap(), "b");
    }

    #[test]
    fn other_sources_alone_are_not_read() {
        let s = CredentialSources::header("X-Api-Key");
        assert!(matches!(s.extract(&[("authorization", "Bearer a")]), Err(AuthError::Missing)));
        assert_eq!(s.label(), "X-Api-Key");
        assert_eq!(CredentialSources::bearer().label(), "Authorization");
    }
}
