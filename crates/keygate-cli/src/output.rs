//! Writing answers to stdout, and how a command fails.

use std::io::{self, Write};

use keygate::manage::KeyInfo;

/// Why a command stopped.
#[derive(Debug)]
pub(crate) enum Failure {
    /// Something to tell the operator, on one line.
    Message(String),
    /// stdout was closed by its reader: stop quietly.
    Pipe,
}

impl Failure {
    pub(crate) fn msg(message: impl Into<String>) -> Self {
        Failure::Message(message.into())
    }
}

/// A failed write to stdout: quiet when the reader went away.
fn stdout_error(e: io::Error) -> Failure {
    if e.kind() == io::ErrorKind::BrokenPipe {
        Failure::Pipe
    } else {
        Failure::Message(format!("cannot write to stdout: {e}"))
    }
}

/// Writes `text` to stdout and flushes.
pub(crate) fn print(text: &str) -> Result<(), Failure> {
    let mut out = io::stdout().lock();
    out.write_all(text.as_bytes()).and_then(|()| out.flush()).map_err(stdout_error)
}

/// `value` as pretty JSON and a newline.
pub(crate) fn print_json(value: &impl serde::Serialize) -> Result<(), Failure> {
    let text = serde_json::to_string_pretty(value)
        .map_err(|e| Failure::msg(format!("cannot write JSON: {e}")))?;
    print(&format!("{text}\n"))
}

/// One key, as `field: value` lines.
pub(crate) fn key_details(k: &KeyInfo) -> String {
    let time = |t: Option<keygate::clock::Timestamp>| t.map_or("-".into(), |t| t.to_rfc3339());
    let scopes: Vec<&str> = k.scopes.iter().map(|s| s.as_str()).collect();
    let mut text = String::new();
    let mut line = |name: &str, value: &str| text.push_str(&format!("{name:<12} {value}\n"));
    line("id:", &k.id.to_string());
    line("preview:", &k.prefix);
    line("name:", &k.name);
    if let Some(d) = &k.description {
        line("description:", d);
    }
    line("workspace:", &k.workspace_id);
    if let Some(u) = &k.user_id {
        line("user:", u);
    }
    line("kind:", k.kind.as_str());
    line("environment:", k.environment.as_str());
    line("scopes:", &scopes.join(","));
    line("status:", status(k));
    line("created:", &k.created_at.to_rfc3339());
    line("expires:", &time(k.expires_at));
    line("revoked:", &time(k.revoked_at));
    line("last used:", &time(k.last_used));
    line("plan:", k.rate_plan.as_deref().unwrap_or("default"));
    line("today:", &k.usage.requests_today.to_string());
    line("this month:", &k.usage.requests_this_month.to_string());
    line("credits:", &k.remaining.map_or("unlimited".into(), |n| n.to_string()));
    if let Some(refill) = k.refill {
        line("refill:", &format!("{refill}, next {}", time(k.refills_at)));
    }
    text
}

/// `active`, `disabled`, `revoked`, `expired` or `inactive`.
pub(crate) fn status(k: &KeyInfo) -> &'static str {
    if k.is_active {
        "active"
    } else if k.revoked_at.is_some() {
        "revoked"
    } else if k.disabled {
        "disabled"
    } else if k.expires_at.is_some() {
        "expired"
    } else {
        "inactive"
    }
}

/// Keys as a table with a header row, columns padded to their widest cell.
pub(crate) fn key_table(keys: &[KeyInfo]) -> String {
    let header = ["ID", "PREVIEW", "NAME", "ENV", "KIND", "STATUS", "EXPIRES", "SCOPES"];
    let rows: Vec<[String; 8]> = keys
        .iter()
        .map(|k| {
            [
                k.id.to_string(),
                k.prefix.clone(),
                k.name.clone(),
                k.environment.as_str().into(),
                k.kind.as_str().into(),
                status(k).into(),
                k.expires_at.map_or("-".into(), |t| t.to_rfc3339()),
                k.scopes.iter().map(|s| s.as_str()).collect::<Vec<_>>().join(","),
            ]
        })
        .collect();
    let mut widths = header.map(|h| h.chars().count());
    for row in &rows {
        for (w, cell) in widths.iter_mut().zip(row) {
            *w = (*w).max(cell.chars().count());
        }
    }
    let mut text = String::new();
    let mut push = |cells: &mut dyn Iterator<Item = &str>| {
        let line: Vec<String> =
            cells.zip(widths).map(|(c, w)| format!("{c:<w$}")).collect::<Vec<_>>();
        text.push_str(line.join("  ").trim_end());
        text.push('\n');
    };
    push(&mut header.iter().copied());
    for row in &rows {
        push(&mut row.iter().map(String::as_str));
    }
    text
}
