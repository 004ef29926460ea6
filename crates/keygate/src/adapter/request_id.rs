//! Request ids: the caller's `X-Request-Id` when it is sane, else a fresh `req_…`.
//!
//! Envelope and problem bodies carry the id, so a client can quote it and an operator can find
//! the request in the logs. An incoming id is kept only if it is 1 to 128 characters of
//! `[A-Za-z0-9._:-]`, so it cannot smuggle anything into logs or headers.
//!
//! ```
//! use keygate::adapter::request_id;
//!
//! assert_eq!(request_id(&[("X-Request-Id", "abc-123")]), "abc-123");
//! let fresh = request_id(&[("X-Request-Id", "bad value\n")]);
//! assert!(fresh.starts_with("req_") && fresh.len() == 24);
//! ```

use std::sync::OnceLock;
use std::sync::atomic::{AtomicU64, Ordering};

use rand::TryRng;
use rand::rngs::SysRng;

use crate::credential::Headers;
use crate::format::BASE62;

/// Longest incoming request id kept.
pub const MAX_REQUEST_ID_LEN: usize = 128;

/// The request's id: its `X-Request-Id` if sane, else a new one.
pub fn request_id<H: Headers + ?Sized>(headers: &H) -> String {
    sent_request_id(headers).unwrap_or_else(new_request_id)
}

/// The request's `X-Request-Id`, if it sent exactly one and it is sane. Adapters use it on the
/// success path, where an id is needed only to echo the caller's.
pub fn sent_request_id<H: Headers + ?Sized>(headers: &H) -> Option<String> {
    let mut values = headers.get_all("x-request-id");
    match (values.next(), values.next()) {
        (Some(v), None) if is_sane(v) => Some(String::from_utf8_lossy(v).into_owned()),
        _ => None,
    }
}

fn is_sane(v: &[u8]) -> bool {
    (1..=MAX_REQUEST_ID_LEN).contains(&v.len())
        && v.iter().all(|&b| b.is_ascii_alphanumeric() || matches!(b, b'.' | b'_' | b':' | b'-'))
}

/// A new id: `req_` and 20 base62 characters, unique within the process and unlikely to repeat
/// across processes. Not a secret.
pub fn new_request_id() -> String {
    static SEED: OnceLock<u64> = OnceLock::new();
    static COUNTER: AtomicU64 = AtomicU64::new(0);
    let seed = *SEED.get_or_init(|| {
        let mut b = [0u8; 8];
        match SysRng.try_fill_bytes(&mut b) {
            Ok(()) => u64::from_le_bytes(b),
            // Ids need only be unique, not secret: the time will do.
            Err(_) => crate::clock::Clock::now(&crate::clock::SystemClock).unix_millis() as u64,
        }
    });
    let n = COUNTER.fetch_add(1, Ordering::Relaxed);
    let mut out = String::with_capacity(24);
    out.push_str("req_");
    for word in [splitmix(seed ^ n), splitmix(n.wrapping_add(seed.rotate_left(32)))] {
        let mut w = word;
        for _ in 0..10 {
            out.push(char::from(BASE62[(w % 62) as usize]));
            w /= 62;
        }
    }
    out
}

fn splitmix(mut z: u64) -> u64 {
    z = z.wrapping_add(0x9E37_79B9_7F4A_7C15);
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    z ^ (z >> 31)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_are_unique_and_safe() {
        let ids: std::collections::HashSet<_> = (0..10_000).map(|_| new_request_id()).collect();
        assert_eq!(ids.len(), 10_000);
        assert!(ids.iter().all(|id| id.len() == 24 && is_sane(id.as_bytes())));
        let long = "a".repeat(129);
        assert_ne!(request_id(&[("x-request-id", long.as_str())]), long);
        let twice = [("x-request-id", "a"), ("x-request-id", "b")];
        assert!(request_id(&twice).starts_with("req_"));
    }
}
