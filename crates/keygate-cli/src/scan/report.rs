//! Writing a scan's findings: text, JSON or SARIF 2.1.0; progress on a terminal.

use std::io::Write;

use serde_json::{Value, json};

use super::{FileHits, Hit, Totals};
use crate::cli::{PRESETS, ScanFormat};
use crate::output::{Failure, print, print_json};

/// A problem met while scanning: one line on stderr; the scan goes on.
pub(crate) fn error(message: &str) {
    eprintln!("keygate: {}", crate::output::sanitize(message));
}

/// The progress line, rewritten in place on a terminal's stderr.
pub(crate) fn progress(done: usize, total: usize, bytes: u64, found: usize) {
    let mut err = std::io::stderr().lock();
    let _ =
        write!(err, "\rscanning: {done}/{total} files, {} MiB, {found} found\x1b[K", bytes >> 20);
    let _ = err.flush();
}

/// The last progress line, kept.
pub(crate) fn progress_done(total: usize, bytes: u64, found: usize) {
    progress(total, total, bytes, found);
    eprintln!();
}

fn kind(hit: &Hit) -> &'static str {
    hit.environment.map_or("retired", |e| e.as_str())
}

/// Every finding with its status, in input order.
fn findings(results: &[FileHits]) -> impl Iterator<Item = (&str, &Hit, Option<&'static str>)> {
    results.iter().flat_map(|r| {
        r.hits.iter().enumerate().map(|(i, h)| (r.file.as_str(), h, r.status.get(i).copied()))
    })
}

pub(crate) fn write(
    format: ScanFormat,
    results: &[FileHits],
    totals: &Totals,
) -> Result<(), Failure> {
    match format {
        ScanFormat::Text => {
            let mut text = String::new();
            for (file, hit, status) in findings(results) {
                text.push_str(&format!(
                    "{}:{}:{}: {} {} key {}…",
                    crate::output::sanitize(file),
                    hit.line,
                    hit.column,
                    hit.preset,
                    kind(hit),
                    hit.preview
                ));
                if let Some(status) = status {
                    text.push_str(&format!(" [{status}]"));
                }
                text.push('\n');
            }
            print(&text)
        }
        ScanFormat::Json => {
            let findings: Vec<Value> = findings(results)
                .map(|(file, hit, status)| {
                    let mut f = json!({
                        "file": file,
                        "line": hit.line,
                        "column": hit.column,
                        "preset": hit.preset,
                        "environment": hit.environment.map(|e| e.as_str()),
                        "retired": hit.environment.is_none(),
                        "preview": hit.preview,
                    });
                    if let (Some(status), Some(object)) = (status, f.as_object_mut()) {
                        object.insert("status".into(), status.into());
                    }
                    f
                })
                .collect();
            print_json(&json!({
                "findings": findings,
                "files_scanned": totals.scanned,
                "files_skipped": totals.skipped,
                "errors": totals.errors,
            }))
        }
        ScanFormat::Sarif => print_json(&sarif(results)),
    }
}

fn rule_id(preset: &str) -> String {
    format!("keygate/{preset}-key")
}

/// The findings as a SARIF 2.1.0 log: one rule per preset, one result per finding.
fn sarif(results: &[FileHits]) -> Value {
    let rules: Vec<Value> = PRESETS
        .iter()
        .map(|p| {
            json!({
                "id": rule_id(p),
                "name": format!("Leaked{}{}Key", p[..1].to_ascii_uppercase(), &p[1..]),
                "shortDescription": { "text": format!("A {p} API key in the source") },
                "fullDescription": { "text": format!(
                    "Text with the prefix, length and checksum of a {p} API key. Anyone who \
                     reads it can use the key: revoke or rotate it, then remove it from the history."
                ) },
                "help": { "text": "keygate rotate ID --grace 1h replaces the key; keygate revoke ID stops it." },
                "defaultConfiguration": { "level": "error" },
                "properties": { "tags": ["security", "secret"] },
            })
        })
        .collect();
    let results: Vec<Value> = findings(results)
        .map(|(file, hit, status)| {
            let rule_index = PRESETS.iter().position(|p| *p == hit.preset).unwrap_or(0);
            let what = match hit.environment {
                Some(e) => format!(
                    "A {} {} key ({}…) is in this file",
                    hit.preset,
                    e.as_str(),
                    hit.preview
                ),
                None => format!(
                    "A key of a retired {} version ({}…) is in this file",
                    hit.preset, hit.preview
                ),
            };
            let message = match status {
                Some(s) => format!("{what}; in the store it is {s}."),
                None => format!("{what}."),
            };
            let mut result = json!({
                "ruleId": rule_id(hit.preset),
                "ruleIndex": rule_index,
                "level": if hit.environment.is_some() { "error" } else { "warning" },
                "message": { "text": message },
                "locations": [{
                    "physicalLocation": {
                        "artifactLocation": { "uri": uri(file) },
                        "region": {
                            "startLine": hit.line,
                            "startColumn": hit.column,
                            "endLine": hit.line,
                            "endColumn": hit.column + hit.len,
                        },
                    },
                }],
                "partialFingerprints": { "keyPreview/v1": hit.preview },
            });
            if let (Some(status), Some(object)) = (status, result.as_object_mut()) {
                object.insert("properties".into(), json!({ "status": status }));
            }
            result
        })
        .collect();
    json!({
        "$schema": "https://json.schemastore.org/sarif-2.1.0.json",
        "version": "2.1.0",
        "runs": [{
            "tool": { "driver": {
                "name": "keygate",
                "version": env!("CARGO_PKG_VERSION"),
                "informationUri": env!("CARGO_PKG_REPOSITORY"),
                "rules": rules,
            } },
            "columnKind": "unicodeCodePoints",
            "results": results,
        }],
    })
}

/// A path as a URI reference: `/` separators, every byte outside the unreserved set and `/`
/// percent-encoded; an absolute path becomes a `file://` URI.
fn uri(path: &str) -> String {
    let path = path.replace('\\', "/");
    let mut out = String::with_capacity(path.len());
    if path.starts_with('/') {
        out.push_str("file://");
    }
    for b in path.bytes() {
        if b.is_ascii_alphanumeric() || b"-._~/".contains(&b) {
            out.push(char::from(b));
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::uri;

    #[test]
    fn paths_become_uri_references() {
        assert_eq!(uri("src/main.rs"), "src/main.rs");
        assert_eq!(uri("my dir/a#b.txt"), "my%20dir/a%23b.txt");
        assert_eq!(uri("/tmp/x"), "file:///tmp/x");
        assert_eq!(uri("<stdin>"), "%3Cstdin%3E");
    }
}
