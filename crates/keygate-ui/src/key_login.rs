//! [`KeyLogin`]: sessions opened by pasting an admin key once.

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::Duration;

use keygate::caller::Caller;
use keygate::clock::Timestamp;
use keygate::format::KeyId;
use keygate::scope::Requirement;
use keygate::{AuthError, Keygate};
use rand::TryRng;
use sha2::{Digest, Sha256};

use crate::session::{LoginRefused, RequestHead, Session, Sessions};

/// The cookie [`KeyLogin`] keeps its sessions in.
pub const SESSION_COOKIE: &str = "keygate_session";

/// How long a [`KeyLogin`] session lasts unless told otherwise: 8 hours.
pub const DEFAULT_SESSION_LIFETIME: Duration = Duration::from_secs(8 * 3600);

/// Sessions opened by pasting a key that holds the preset's admin scope into the page, once:
/// the key is authenticated as a request from that client would be (throttle, networks,
/// HTTPS, credits), then forgotten. On every request the session acts as the key does now
/// (its workspace, user, environment, current scopes and credits) and only from an address
/// the key allows; it ends when the key is revoked, disabled, expires or loses the admin
/// scope, at sign-out, or after its lifetime. Sessions live in this process's memory.
///
/// ```
/// use keygate::{Keygate, manage::NewKey, preset::Preset, store::Owner};
/// use keygate_ui::{KeyLogin, RequestHead, SESSION_COOKIE, Sessions};
///
/// # #[tokio::main(flavor = "current_thread")]
/// # async fn main() -> Result<(), Box<dyn std::error::Error>> {
/// let gate = Keygate::builder(Preset::livetest()).random_pepper().build()?;
/// let admin = gate.mint(NewKey::new(Owner::workspace("wks_1"), "admin").scopes(["admin:*"])?).await?;
/// let logins = KeyLogin::new(gate.clone());
/// let cookie = logins.log_in(admin.key.expose_secret(), &RequestHead::default()).await.unwrap();
/// let head = RequestHead::new(vec![("cookie".into(), format!("{SESSION_COOKIE}={cookie}"))]);
/// let session = logins.session(&head).await.unwrap();
/// assert_eq!(session.caller.workspace_id(), "wks_1");
/// // A key without the admin scope opens no session.
/// let reader = gate.mint(NewKey::new(Owner::workspace("wks_1"), "r").scopes(["tasks:read"])?).await?;
/// assert!(logins.log_in(reader.key.expose_secret(), &RequestHead::default()).await.is_err());
/// # Ok(())
/// # }
/// ```
pub struct KeyLogin {
    gate: Keygate,
    lifetime: Duration,
    /// Sessions by the SHA-256 of their cookie value: the lookup never compares the secret.
    sessions: Mutex<HashMap<[u8; 32], Entry>>,
}

struct Entry {
    csrf_token: String,
    key_id: KeyId,
    ends_at: Timestamp,
}

impl std::fmt::Debug for KeyLogin {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("KeyLogin").field("lifetime", &self.lifetime).finish_non_exhaustive()
    }
}

/// 32 random bytes as 64 hex digits.
fn random_token() -> Result<String, LoginRefused> {
    let mut bytes = [0u8; 32];
    rand::rngs::SysRng.try_fill_bytes(&mut bytes).map_err(|_| LoginRefused::Unavailable)?;
    Ok(bytes.iter().map(|b| format!("{b:02x}")).collect())
}

fn digest(token: &str) -> [u8; 32] {
    Sha256::digest(token.as_bytes()).into()
}

impl KeyLogin {
    /// Sessions for keys of `gate`, lasting [`DEFAULT_SESSION_LIFETIME`].
    pub fn new(gate: Keygate) -> Self {
        KeyLogin { gate, lifetime: DEFAULT_SESSION_LIFETIME, sessions: Mutex::new(HashMap::new()) }
    }

    /// How long a session lasts at most.
    pub fn lifetime(mut self, lifetime: Duration) -> Self {
        self.lifetime = lifetime;
        self
    }

    fn sessions(&self) -> std::sync::MutexGuard<'_, HashMap<[u8; 32], Entry>> {
        // Entries are inserted and removed whole: a panic elsewhere leaves none half-written.
        self.sessions.lock().unwrap_or_else(std::sync::PoisonError::into_inner)
    }
}

#[async_trait::async_trait]
impl Sessions for KeyLogin {
    async fn session(&self, head: &RequestHead) -> Option<Session> {
        // One session cookie: a second one was planted by someone else (a sibling site, or a
        // network attacker over plain HTTP), and neither is trusted.
        if head.cookie_count(SESSION_COOKIE) != 1 {
            return None;
        }
        let token = head.cookie(SESSION_COOKIE)?;
        let id = digest(token);
        let now = self.gate.clock().now();
        let (csrf_token, key_id) = {
            let sessions = self.sessions();
            let entry = sessions.get(&id).filter(|e| e.ends_at > now)?;
            (entry.csrf_token.clone(), entry.key_id)
        };
        // The session acts as its key does now: usable, still holding the admin scope, from
        // an address the key allows, with its current scopes and credits.
        let record = match self.gate.store().find(&key_id).await {
            Ok(Some(r)) => r,
            Ok(None) => {
                self.sessions().remove(&id);
                return None;
            }
            Err(_) => return None,
        };
        let admin = Requirement::all_of([self.gate.preset().admin_scope.as_str()]).ok()?;
        let client = self.gate.client_ip(head.headers(), head.peer());
        let usable = !record.disabled
            && !record.is_revoked_at(now)
            && !record.is_expired_at(now)
            && self.gate.preset().policy.check(&record.scopes, &admin).is_ok();
        if !usable {
            self.sessions().remove(&id);
            return None;
        }
        if !record.allows_client(client) {
            return None;
        }
        Some(Session { caller: Caller::of_record(&record), csrf_token })
    }

    async fn log_in(&self, key: &str, head: &RequestHead) -> Result<String, LoginRefused> {
        // The key signs in as it would make a request from this client: the failed-auth
        // throttle, its networks, HTTPS where required and its credits all apply, and the
        // outcome is reported to the event sinks.
        let label = self.gate.preset().sources.label();
        let credential = if label.eq_ignore_ascii_case("authorization") {
            format!("Bearer {}", key.trim())
        } else {
            key.trim().to_owned()
        };
        let mut headers: Vec<(&str, &str)> = head
            .headers()
            .iter()
            .filter(|(n, _)| {
                !n.eq_ignore_ascii_case("authorization") && !n.eq_ignore_ascii_case(label)
            })
            .filter(|(n, _)| !n.eq_ignore_ascii_case("x-api-key"))
            .map(|(n, v)| (n.as_str(), v.as_str()))
            .collect();
        headers.push((label, credential.as_str()));
        let principal =
            self.gate.authenticate(&headers, head.peer()).await.map_err(|e| match e {
                AuthError::Unavailable(_) => LoginRefused::Unavailable,
                _ => LoginRefused::Invalid,
            })?;
        let admin = Requirement::all_of([self.gate.preset().admin_scope.as_str()])
            .map_err(|_| LoginRefused::Invalid)?;
        self.gate.authorize(&principal, &admin).map_err(|_| LoginRefused::Invalid)?;
        let token = random_token()?;
        let entry = Entry {
            csrf_token: random_token()?,
            key_id: principal.key_id(),
            ends_at: self.gate.clock().now().saturating_add(self.lifetime),
        };
        tracing::info!(key_id = %entry.key_id, "keys page: signed in with a key");
        let now = self.gate.clock().now();
        let mut sessions = self.sessions();
        // Sessions that have ended go when a new one comes, not on every request.
        sessions.retain(|_, e| e.ends_at > now);
        sessions.insert(digest(&token), entry);
        Ok(token)
    }

    async fn log_out(&self, head: &RequestHead) {
        if let Some(token) = head.cookie(SESSION_COOKIE) {
            self.sessions().remove(&digest(token));
        }
    }
}
