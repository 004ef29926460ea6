//! The error bodies of each style, written out from the spec (the error catalog and the APIs the presets reproduce),
//! not from keygate's renderer.

use keygate::preset::Preset;
use serde_json::Value;

use crate::client::Reply;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Style {
    Envelope,
    Detail,
    Problem,
}

pub fn style(preset: &Preset) -> Style {
    match preset.name {
        "plane" => Style::Detail,
        "workspace" => Style::Problem,
        _ => Style::Envelope,
    }
}

/// One expected error.
#[derive(Debug, Clone)]
pub struct Expected<'a> {
    pub status: u16,
    pub code: &'a str,
    /// The envelope and problem message.
    pub message: String,
    /// The detail-style text.
    pub detail: String,
    /// The details members as JSON text without braces, such as `"field":"name"`; empty for none.
    pub details: String,
}

fn text(s: &str) -> String {
    Value::from(s).to_string()
}

fn title(status: u16) -> &'static str {
    match status {
        400 => "Bad Request",
        401 => "Unauthorized",
        403 => "Forbidden",
        404 => "Not Found",
        405 => "Method Not Allowed",
        410 => "Gone",
        413 => "Content Too Large",
        429 => "Too Many Requests",
        503 => "Service Unavailable",
        _ => "Error",
    }
}

impl Expected<'_> {
    /// The exact body in `style` for request id `rid`.
    pub fn body(&self, style: Style, rid: &str) -> String {
        match style {
            Style::Envelope => format!(
                r#"{{"error":{{"code":"{}","message":{},"details":{{{}}},"request_id":"{rid}"}}}}"#,
                self.code,
                text(&self.message),
                self.details
            ),
            Style::Detail => format!(r#"{{"detail":{}}}"#, text(&self.detail)),
            Style::Problem => {
                let members = if self.details.is_empty() {
                    String::new()
                } else {
                    format!(",{}", self.details)
                };
                format!(
                    r#"{{"type":"about:blank","title":"{}","status":{},"detail":{},"code":"{}"{members},"request_id":"{rid}"}}"#,
                    title(self.status),
                    self.status,
                    text(&self.message),
                    self.code
                )
            }
        }
    }

    /// Asserts status, content type and the exact body.
    pub fn check(&self, reply: &Reply, preset: &Preset, rid: &str, case: &str) {
        let style = style(preset);
        assert_eq!(reply.status, self.status, "{case}: status; body {}", reply.body);
        let content_type =
            if style == Style::Problem { "application/problem+json" } else { "application/json" };
        assert_eq!(reply.header("content-type"), Some(content_type), "{case}: content type");
        assert_eq!(reply.body, self.body(style, rid), "{case}: body");
        assert_eq!(reply.header("x-request-id"), Some(rid), "{case}: request id");
    }
}

/// The 401 for a missing credential.
pub fn missing(label: &str) -> Expected<'static> {
    Expected {
        status: 401,
        code: "unauthenticated",
        message: format!("Missing or malformed `{label}` header."),
        detail: "Authentication credentials were not provided.".into(),
        details: String::new(),
    }
}

/// The 401 for a credential that is not a key.
pub fn malformed(label: &str) -> Expected<'static> {
    Expected { detail: "Given API token is not valid".into(), ..missing(label) }
}

/// A 401 for a key that fails after lookup.
pub fn invalid(message: &str) -> Expected<'static> {
    Expected {
        status: 401,
        code: "unauthenticated",
        message: message.into(),
        detail: "Given API token is not valid".into(),
        details: String::new(),
    }
}

/// A failure whose detail text is its message.
pub fn plain<'a>(status: u16, code: &'a str, message: &str, details: &str) -> Expected<'a> {
    Expected {
        status,
        code,
        message: message.into(),
        detail: message.into(),
        details: details.into(),
    }
}

/// The 403 for a missing scope.
pub fn scope_required(required: &str, granted: &[&str]) -> Expected<'static> {
    let granted = serde_json::to_string(granted).unwrap();
    Expected {
        status: 403,
        code: "scope_required",
        message: format!("This endpoint requires the `{required}` scope."),
        detail: "You do not have permission to perform this action.".into(),
        details: format!(r#""required":["{required}"],"granted":{granted}"#),
    }
}

/// A 400 validation error about `field`.
pub fn invalid_field<'a>(field: &str, message: &str) -> Expected<'a> {
    plain(400, "invalid_request", message, &format!(r#""field":{}"#, text(field)))
}
