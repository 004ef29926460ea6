//! How a refused request is answered: the preset's JSON body, or a gRPC status.

use keygate::adapter::Refusal;
use keygate::{AuthError, Keygate};

/// Turns a [`Refusal`] into the response the inner service's clients expect. The response
/// body type `B` is the inner service's.
pub trait Refuse<B>: Clone + Send + Sync + 'static {
    /// The answer to a request `gate` refused.
    fn refuse(&self, gate: &Keygate, refusal: Refusal) -> http::Response<B>;
}

/// The preset's answer, byte for byte: status, `WWW-Authenticate`, `Retry-After`,
/// `X-RateLimit-*`, `X-Request-Id` and the JSON body. The default.
#[derive(Debug, Clone, Copy, Default)]
pub struct JsonRefusal;

impl<B: From<String>> Refuse<B> for JsonRefusal {
    fn refuse(&self, _gate: &Keygate, refusal: Refusal) -> http::Response<B> {
        refusal.into_http()
    }
}

/// A gRPC answer, as gRPC clients expect a failed call: HTTP 200, `content-type:
/// application/grpc`, an empty body, and the status in `grpc-status` with the preset's message
/// (percent-encoded) in `grpc-message`. The rendered answer's other headers (`X-Request-Id`,
/// `Retry-After`, `X-RateLimit-*`, `WWW-Authenticate`) go along as metadata.
///
/// | refusal | `grpc-status` |
/// | --- | --- |
/// | no key, malformed, unknown, revoked, expired, disabled or retired key; two credentials | 16 `UNAUTHENTICATED` |
/// | missing scope, wrong plan, wrong environment, HTTPS required | 7 `PERMISSION_DENIED` |
/// | over the key's rate limit or the failed-auth throttle | 8 `RESOURCE_EXHAUSTED` |
/// | store or limiter unreachable | 14 `UNAVAILABLE` |
///
/// ```
/// use keygate::{AuthError, adapter::Refusal, Keygate, preset::Preset};
/// use keygate_tower::{GrpcRefusal, Refuse};
///
/// # fn main() -> Result<(), Box<dyn std::error::Error>> {
/// let gate = Keygate::builder(Preset::livetest()).random_pepper().build()?;
/// let refusal = Refusal::new(AuthError::Expired, gate.render(&AuthError::Expired, None));
/// let response: http::Response<String> = GrpcRefusal.refuse(&gate, refusal);
/// assert_eq!(response.status(), 200);
/// assert_eq!(response.headers()["grpc-status"], "16");
/// assert_eq!(response.headers()["grpc-message"], "Key expired.");
/// assert_eq!(response.headers()["content-type"], "application/grpc");
/// # Ok(())
/// # }
/// ```
#[derive(Debug, Clone, Copy, Default)]
pub struct GrpcRefusal;

impl GrpcRefusal {
    /// The gRPC status code of `err`.
    pub fn code(err: &AuthError) -> u8 {
        match err {
            AuthError::InsufficientScope(_) | AuthError::Forbidden(_) => 7,
            AuthError::RateLimited(_) | AuthError::UsageExceeded { .. } => 8,
            AuthError::Unavailable(_) => 14,
            _ => 16,
        }
    }
}

impl<B: Default> Refuse<B> for GrpcRefusal {
    fn refuse(&self, gate: &Keygate, refusal: Refusal) -> http::Response<B> {
        let message = gate.preset().renderer.message(refusal.error());
        let code = GrpcRefusal::code(refusal.error());
        let mut response = http::Response::new(B::default());
        let headers = response.headers_mut();
        for (name, value) in refusal.into_response().headers {
            if let Ok(value) = http::HeaderValue::from_str(&value) {
                headers.append(name, value);
            }
        }
        headers
            .insert(http::header::CONTENT_TYPE, http::HeaderValue::from_static("application/grpc"));
        headers.insert("grpc-status", http::HeaderValue::from(u16::from(code)));
        if let Ok(value) = http::HeaderValue::from_str(&percent_encode(&message)) {
            headers.insert("grpc-message", value);
        }
        response
    }
}

/// `grpc-message` encoding: bytes outside printable ASCII, and `%`, as `%XX`.
fn percent_encode(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for &b in text.as_bytes() {
        if (0x20..=0x7e).contains(&b) && b != b'%' {
            out.push(char::from(b));
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::percent_encode;

    #[test]
    fn grpc_messages_are_percent_encoded_as_the_grpc_spec_says() {
        assert_eq!(percent_encode("Key expired."), "Key expired.");
        assert_eq!(percent_encode("100% sure\n"), "100%25 sure%0A");
        assert_eq!(percent_encode("clé"), "cl%C3%A9");
    }
}
