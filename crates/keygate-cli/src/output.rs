//! Writing answers to stdout, and how a command fails.

use std::io::{self, Write};
use std::sync::OnceLock;

use keygate::format::Environment;
use keygate::manage::KeyInfo;
use keygate::preset::Preset;

use crate::cli::PRESETS;

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

/// `text` made safe for one line on a terminal or in a log: a word that starts with a key
/// prefix of any preset is cut to that prefix and four characters (a secret never reaches a
/// scrollback, even a mistyped one that no checksum would recognise), and control characters
/// are escaped (`\u{1b}`), so that a file name cannot rewrite the terminal.
pub(crate) fn sanitize(text: &str) -> String {
    static PREFIXES: OnceLock<Vec<String>> = OnceLock::new();
    let prefixes = PREFIXES.get_or_init(|| {
        PRESETS
            .iter()
            .filter_map(|name| Preset::by_name(name))
            .flat_map(|p| {
                let f = p.format;
                let mut all = vec![
                    f.prefix(Environment::Live).to_owned(),
                    f.prefix(Environment::Test).to_owned(),
                ];
                all.extend(f.retired_prefixes().map(str::to_owned));
                all
            })
            .collect()
    });
    let is_key_char = |c: char| c.is_ascii_alphanumeric() || c == '_' || c == '-';
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    while let Some(c) = rest.chars().next() {
        let prefix = prefixes.iter().find(|p| rest.starts_with(p.as_str()));
        if let Some(prefix) = prefix {
            let body = &rest[prefix.len()..];
            let run = body.find(|c: char| !is_key_char(c)).unwrap_or(body.len());
            if run >= 8 {
                out.push_str(prefix);
                out.push_str(&body[..4]);
                out.push('…');
                rest = &body[run..];
                continue;
            }
        }
        if c.is_control() {
            out.extend(c.escape_default());
        } else {
            out.push(c);
        }
        rest = &rest[c.len_utf8()..];
    }
    out
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
    if !k.rate_limits.is_empty() {
        line("limits:", &keygate::limit::windows_to_text(&k.rate_limits));
    }
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

#[cfg(test)]
mod tests {
    use super::sanitize;

    #[test]
    fn key_shaped_words_are_cut_and_control_characters_escaped() {
        let key = "sk_live_kS07pAkVmql9VKWqcgo6j9sUnQ8t6XGnpcR2oIzEjQ12zQRoKUtMoPu28kdfe";
        let line = sanitize(&format!("invalid value '{key}' for '<ID>'"));
        assert_eq!(line, "invalid value 'sk_live_kS07…' for '<ID>'");
        assert_eq!(sanitize("a\x1b[2Jb\nc"), "a\\u{1b}[2Jb\\nc");
        // Short words and ordinary text are left alone.
        assert_eq!(sanitize("sk_live_ab: no such key é"), "sk_live_ab: no such key é");
    }
}
