//! Who a page request acts for: the host's session, mapped to a keygate [`Caller`].

use keygate::Peer;
use keygate::caller::Caller;

/// The head of a page request, as a [`Sessions`] implementation reads it: header names in
/// lower case.
///
/// ```
/// use keygate_ui::RequestHead;
///
/// let head = RequestHead::new(vec![("cookie".into(), "theme=dark; sid=abc123".into())]);
/// assert_eq!(head.cookie("sid"), Some("abc123"));
/// assert_eq!(head.cookie("theme"), Some("dark"));
/// assert_eq!(head.cookie("other"), None);
/// ```
#[derive(Clone, Default)]
pub struct RequestHead {
    headers: Vec<(String, String)>,
    peer: Peer,
}

/// Header names only: values carry session cookies, CSRF tokens and keys.
impl std::fmt::Debug for RequestHead {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let names: Vec<&str> = self.headers.iter().map(|(n, _)| n.as_str()).collect();
        f.debug_struct("RequestHead").field("headers", &names).field("peer", &self.peer).finish()
    }
}

impl RequestHead {
    /// A head of `headers` (names are compared without regard to case), from an unknown peer.
    pub fn new(headers: Vec<(String, String)>) -> Self {
        RequestHead { headers, peer: Peer::default() }
    }

    /// The same head, from the connection `peer` (its address, and whether it is TLS).
    pub fn with_peer(mut self, peer: Peer) -> Self {
        self.peer = peer;
        self
    }

    /// The connection the request came over.
    pub fn peer(&self) -> Peer {
        self.peer
    }

    /// How many values cookie `name` has across every `Cookie` header: a browser sends one;
    /// two mean another site planted one beside it.
    pub fn cookie_count(&self, name: &str) -> usize {
        self.cookie_pairs().filter(|(n, _)| *n == name).count()
    }

    fn cookie_pairs(&self) -> impl Iterator<Item = (&str, &str)> {
        self.headers
            .iter()
            .filter(|(n, _)| n.eq_ignore_ascii_case("cookie"))
            .flat_map(|(_, v)| v.split(';'))
            .filter_map(|pair| pair.trim().split_once('='))
    }

    /// A head from an adapter: `headers` (values that are not UTF-8 dropped), with `host` taken
    /// from the request's authority where the request has no `Host` header (HTTP/2).
    pub(crate) fn from_request<'a>(
        headers: impl Iterator<Item = (&'a str, Option<&'a str>)>,
        authority: Option<&str>,
        peer: Peer,
    ) -> Self {
        let mut headers: Vec<(String, String)> =
            headers.filter_map(|(n, v)| Some((n.to_owned(), v?.to_owned()))).collect();
        if !headers.iter().any(|(n, _)| n.eq_ignore_ascii_case("host"))
            && let Some(authority) = authority
        {
            headers.push(("host".to_owned(), authority.to_owned()));
        }
        RequestHead { headers, peer }
    }

    /// The first value of header `name`.
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers.iter().find(|(n, _)| n.eq_ignore_ascii_case(name)).map(|(_, v)| v.as_str())
    }

    /// The value of cookie `name`, from every `Cookie` header.
    pub fn cookie(&self, name: &str) -> Option<&str> {
        self.cookie_pairs().find(|(n, _)| *n == name).map(|(_, v)| v)
    }

    /// Every header, as received.
    pub fn headers(&self) -> &[(String, String)] {
        &self.headers
    }
}

/// A signed-in session: the caller the management API acts for, and the session's CSRF token,
/// which every state-changing request of the page must send back in `X-CSRF-Token`.
#[derive(Clone)]
pub struct Session {
    /// Who the page acts for: the authorization rules of keygate apply to it unchanged.
    pub caller: Caller,
    /// A secret bound to this session (not the session cookie itself): at least 128 random
    /// bits, or a keyed hash of the session id.
    pub csrf_token: String,
}

impl std::fmt::Debug for Session {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Session").field("caller", &self.caller).finish_non_exhaustive()
    }
}

/// Why a login was refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum LoginRefused {
    /// This host signs people in elsewhere ([`Sessions::login_url`]).
    NotOffered,
    /// The key is not one that may manage keys.
    Invalid,
    /// The store could not be asked.
    Unavailable,
}

/// The host's sessions, mapped to keygate callers: a cookie, an OAuth token, anything the
/// host signs its users in with. Implement it to put the keys page behind the host's own
/// login; [`KeyLogin`](crate::KeyLogin) is one implementation (an admin key pasted once).
///
/// ```
/// use keygate::{caller::Caller, format::Environment, scope::ScopeSet};
/// use keygate_ui::{RequestHead, Session, Sessions};
///
/// /// The host's own sessions: here, one fixed session id for the example.
/// struct HostSessions;
///
/// #[async_trait::async_trait]
/// impl Sessions for HostSessions {
///     async fn session(&self, head: &RequestHead) -> Option<Session> {
///         // Look the session up in the host's own store; a real one compares no secret with `==`.
///         let sid = head.cookie("host_session")?;
///         if sid.len() != 32 {
///             return None;
///         }
///         let scopes = ScopeSet::parse(["admin:*"]).ok()?;
///         Some(Session {
///             caller: Caller::new("wks_1", Environment::Live, scopes).user("usr_7"),
///             csrf_token: "another-secret-bound-to-the-session".into(),
///         })
///     }
///
///     fn login_url(&self) -> Option<&str> {
///         Some("/login")
///     }
/// }
/// ```
#[async_trait::async_trait]
pub trait Sessions: Send + Sync + 'static {
    /// The session of a request, if it is signed in.
    async fn session(&self, head: &RequestHead) -> Option<Session>;

    /// Where the page sends someone who is not signed in, when the host signs people in
    /// elsewhere. `None` (the default) for a page that signs in with its own form.
    fn login_url(&self) -> Option<&str> {
        None
    }

    /// Signs in with an API key pasted into the page's form, in the request `head`: returns the
    /// new session's cookie value. The default refuses ([`LoginRefused::NotOffered`]).
    async fn log_in(&self, key: &str, head: &RequestHead) -> Result<String, LoginRefused> {
        let _ = (key, head);
        Err(LoginRefused::NotOffered)
    }

    /// Ends the session of a request (the page's sign-out button).
    async fn log_out(&self, head: &RequestHead) {
        let _ = head;
    }
}
