//! The command line, parsed by clap: `keygate --help` and `keygate COMMAND --help`.

use std::path::PathBuf;
use std::time::Duration;

use keygate::clock::Timestamp;
use keygate::format::{Environment, KeyId};
use keygate::store::Refill;

/// The presets `--preset` accepts.
pub(crate) const PRESETS: [&str; 4] = ["productlane", "plane", "livetest", "workspace"];

/// The environment variables, listed under every command's `--help`.
const ENVIRONMENT: &str = "\
Environment:
  KEYGATE_STORE       the store, as --store
  KEYGATE_PRESET      the preset, as --preset
  KEYGATE_PEPPER      the HMAC pepper the service hashes keys with (at least 32 bytes); needed
                      to mint, rotate and scan --check; instead of --pepper-file
  KEYGATE_PEPPER_FILE a file holding the pepper, as --pepper-file
  KEYGATE_WORKSPACE   the workspace, as --workspace
  KEYGATE_PG_SCHEMA   the PostgreSQL schema, as --schema";

/// The `keygate` command line.
#[derive(Debug, clap::Parser)]
#[command(
    name = "keygate",
    version,
    about = "Operate keygate: mint, list, rotate and revoke API keys; find leaked keys.",
    long_about = None,
    after_help = ENVIRONMENT,
    propagate_version = true,
)]
pub(crate) struct Cli {
    #[command(flatten)]
    pub(crate) global: Global,
    #[command(subcommand)]
    pub(crate) command: Command,
}

/// Options every command takes.
#[derive(Debug, clap::Args)]
pub(crate) struct Global {
    /// Where keys live: sqlite://PATH or postgres://…
    #[arg(long, global = true, env = "KEYGATE_STORE", hide_env_values = true, value_name = "URL")]
    pub(crate) store: Option<String>,
    /// The compatibility preset: key format, scopes and plans (scan: only this one; default
    /// every preset; other commands: default livetest).
    #[arg(long, global = true, env = "KEYGATE_PRESET", value_parser = PRESETS)]
    pub(crate) preset: Option<String>,
    /// A file holding the pepper on one line, mode 0600 (`init` writes it).
    #[arg(long, global = true, env = "KEYGATE_PEPPER_FILE", value_name = "PATH")]
    pub(crate) pepper_file: Option<PathBuf>,
    /// The workspace whose keys are minted and listed.
    #[arg(
        long,
        global = true,
        env = "KEYGATE_WORKSPACE",
        default_value = "wks_default",
        value_name = "ID"
    )]
    pub(crate) workspace: String,
    /// With a postgres:// store: keep keygate's tables in this schema (created if missing).
    #[arg(long, global = true, env = "KEYGATE_PG_SCHEMA", value_name = "NAME")]
    pub(crate) schema: Option<String>,
}

/// What to do.
#[derive(Debug, clap::Subcommand)]
pub(crate) enum Command {
    /// Create the store's tables, make a pepper and mint the first admin key (printed once).
    #[command(after_help = ENVIRONMENT)]
    Init(Init),
    /// Mint a key; the full key is printed once.
    #[command(after_help = ENVIRONMENT)]
    Mint(Mint),
    /// List the workspace's keys (previews only).
    #[command(after_help = ENVIRONMENT)]
    List(List),
    /// Show one key (preview only), with its usage.
    #[command(after_help = ENVIRONMENT)]
    Show(Show),
    /// Change a key's name, description, scopes, expiry, disabled flag or plan.
    #[command(after_help = ENVIRONMENT)]
    Update(Update),
    /// Revoke a key now.
    #[command(after_help = ENVIRONMENT)]
    Revoke(Show),
    /// Replace a key by a new one; the old one works for --grace more. Prints the new key once.
    #[command(after_help = ENVIRONMENT)]
    Rotate(Rotate),
    /// Keys of any workspace that expire soon.
    #[command(after_help = ENVIRONMENT)]
    Expiring(Expiring),
    /// Read a key offline: preset, environment, id, checksum; never prints the secret.
    #[command(after_help = ENVIRONMENT)]
    Inspect(Inspect),
    /// Find leaked keys in files, directories or stdin. Exit 1 when any is found, 0 when none,
    /// 2 on error.
    #[command(after_help = ENVIRONMENT)]
    Scan(Scan),
}

/// `keygate init`.
#[derive(Debug, clap::Args)]
pub(crate) struct Init {
    /// The admin key's name.
    #[arg(long, default_value = "admin")]
    pub(crate) name: String,
    /// Write the admin key to this file (mode 0600) instead of printing it; the demo's
    /// --admin-key-file reads it.
    #[arg(long, value_name = "PATH")]
    pub(crate) key_file: Option<PathBuf>,
}

/// `keygate mint`.
#[derive(Debug, clap::Args)]
pub(crate) struct Mint {
    /// The key's name.
    #[arg(long)]
    pub(crate) name: String,
    /// Scopes to grant, comma separated.
    #[arg(long, value_delimiter = ',', value_name = "SCOPE,…")]
    pub(crate) scopes: Vec<String>,
    /// When the key stops working (RFC 3339).
    #[arg(long, value_name = "RFC3339", value_parser = parse_time)]
    pub(crate) expires: Option<Timestamp>,
    /// live or test (test needs a preset with test keys).
    #[arg(long, default_value = "live", value_parser = parse_environment)]
    pub(crate) environment: Environment,
    /// user (a person's key) or service (a service token).
    #[arg(long, default_value = "user", value_parser = ["user", "service"])]
    pub(crate) kind: String,
    /// The user the key belongs to, in the workspace.
    #[arg(long, value_name = "ID")]
    pub(crate) user: Option<String>,
    /// A description for people.
    #[arg(long)]
    pub(crate) description: Option<String>,
    /// A rate plan of the preset, instead of the default.
    #[arg(long, value_name = "NAME")]
    pub(crate) plan: Option<String>,
    /// Rate-limit windows of the key's own, which limit it instead of its plan's.
    #[arg(long, value_name = "10/s,1000/h", value_parser = parse_limits)]
    pub(crate) limits: Option<Limits>,
    /// Credits: each request spends one, and a request past them is refused (unlimited when
    /// absent).
    #[arg(long, value_name = "N")]
    pub(crate) remaining: Option<u64>,
    /// Set the credits to N every day, or every month (on the 1st, or on DAY 1-28).
    #[arg(long, value_name = "daily:N|monthly:N|monthly@DAY:N", value_parser = parse_refill)]
    pub(crate) refill: Option<Refill>,
    /// Print JSON.
    #[arg(long)]
    pub(crate) json: bool,
}

/// `keygate list`.
#[derive(Debug, clap::Args)]
pub(crate) struct List {
    /// Only this user's keys.
    #[arg(long, value_name = "ID")]
    pub(crate) user: Option<String>,
    /// Print JSON (an array) instead of a table.
    #[arg(long)]
    pub(crate) json: bool,
}

/// `keygate show ID`, `keygate revoke ID`.
#[derive(Debug, clap::Args)]
pub(crate) struct Show {
    /// The key id, key_….
    #[arg(value_parser = parse_id)]
    pub(crate) id: KeyId,
    /// Print JSON.
    #[arg(long)]
    pub(crate) json: bool,
}

/// `keygate update ID`.
#[derive(Debug, clap::Args)]
pub(crate) struct Update {
    /// The key id, key_….
    #[arg(value_parser = parse_id)]
    pub(crate) id: KeyId,
    /// New name.
    #[arg(long)]
    pub(crate) name: Option<String>,
    /// New description ("" removes it).
    #[arg(long)]
    pub(crate) description: Option<String>,
    /// New scopes, comma separated (replace the old ones).
    #[arg(long, value_delimiter = ',', value_name = "SCOPE,…")]
    pub(crate) scopes: Option<Vec<String>>,
    /// New expiry (RFC 3339), or `never`.
    #[arg(long, value_name = "RFC3339|never", value_parser = parse_expiry)]
    pub(crate) expires: Option<Expiry>,
    /// Turn the key off (true) or back on (false).
    #[arg(long, value_name = "true|false")]
    pub(crate) disabled: Option<bool>,
    /// A rate plan of the preset, or `default`.
    #[arg(long, value_name = "NAME|default")]
    pub(crate) plan: Option<String>,
    /// New rate-limit windows of the key's own, or `plan` to return it to its plan's.
    #[arg(long, value_name = "10/s,1000/h|plan", value_parser = parse_limits)]
    pub(crate) limits: Option<Limits>,
    /// New credits, or `unlimited`.
    #[arg(long, value_name = "N|unlimited", value_parser = parse_remaining)]
    pub(crate) remaining: Option<Remaining>,
    /// A new refill of the credits, or `none`.
    #[arg(long, value_name = "daily:N|monthly:N|monthly@DAY:N|none", value_parser = parse_refill_change)]
    pub(crate) refill: Option<RefillChange>,
    /// Print JSON.
    #[arg(long)]
    pub(crate) json: bool,
}

/// New credits: a balance, or none (unlimited).
#[derive(Debug, Clone, Copy)]
pub(crate) struct Remaining(pub(crate) Option<u64>);

/// A key's own windows: a plan of them, or none (its plan's).
#[derive(Debug, Clone)]
pub(crate) struct Limits(pub(crate) Option<keygate::limit::RatePlan>);

/// A new refill, or none.
#[derive(Debug, Clone, Copy)]
pub(crate) struct RefillChange(pub(crate) Option<Refill>);

/// A new expiry: a time or none.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Expiry(pub(crate) Option<Timestamp>);

/// `keygate rotate ID`.
#[derive(Debug, clap::Args)]
pub(crate) struct Rotate {
    /// The key id, key_….
    #[arg(value_parser = parse_id)]
    pub(crate) id: KeyId,
    /// How long the old key keeps working: 0, 90s, 15m, 1h, 7d.
    #[arg(long, default_value = "0", value_parser = parse_duration)]
    pub(crate) grace: Duration,
    /// Print JSON.
    #[arg(long)]
    pub(crate) json: bool,
}

/// `keygate expiring`.
#[derive(Debug, clap::Args)]
pub(crate) struct Expiring {
    /// The window from now: 90s, 15m, 1h, 7d.
    #[arg(long, value_parser = parse_duration)]
    pub(crate) within: Duration,
    /// At most this many keys.
    #[arg(long, default_value_t = 1000)]
    pub(crate) limit: usize,
    /// Print JSON (an array) instead of a table.
    #[arg(long)]
    pub(crate) json: bool,
}

/// `keygate inspect`.
#[derive(Debug, clap::Args)]
pub(crate) struct Inspect {
    /// The key, or - to read it from stdin (keeps it out of the shell's history).
    pub(crate) key: String,
    /// Print JSON.
    #[arg(long)]
    pub(crate) json: bool,
}

/// An output format of `scan`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub(crate) enum ScanFormat {
    /// One line per finding: file:line:column, preset, environment, preview.
    Text,
    /// One JSON object with every finding.
    Json,
    /// SARIF 2.1.0, for code scanning services.
    Sarif,
}

/// `keygate scan`.
#[derive(Debug, clap::Args)]
pub(crate) struct Scan {
    /// Files and directories to scan (- reads stdin). Directories are walked, skipping .git,
    /// symbolic links, binary files and files over --max-size.
    #[arg(required = true, value_name = "PATH|-")]
    pub(crate) paths: Vec<PathBuf>,
    /// Output format.
    #[arg(long, value_enum, default_value = "text")]
    pub(crate) format: ScanFormat,
    /// Skip files larger than this many bytes (suffixes K, M, G).
    #[arg(long, default_value = "10M", value_parser = parse_size, value_name = "BYTES")]
    pub(crate) max_size: u64,
    /// Say for each key found whether it still works in --store (needs the pepper).
    #[arg(long)]
    pub(crate) check: bool,
    /// Files read at once (default: the number of CPUs).
    #[arg(long, value_name = "N")]
    pub(crate) threads: Option<usize>,
}

fn parse_id(v: &str) -> Result<KeyId, String> {
    v.parse().map_err(|_| "not a key id such as key_AbCd1234EfGh".to_owned())
}

fn parse_time(v: &str) -> Result<Timestamp, String> {
    Timestamp::parse_rfc3339(v)
        .map_err(|_| "not an RFC 3339 time such as 2027-01-31T00:00:00Z".to_owned())
}

fn parse_expiry(v: &str) -> Result<Expiry, String> {
    if v == "never" { Ok(Expiry(None)) } else { parse_time(v).map(|t| Expiry(Some(t))) }
}

fn parse_refill(v: &str) -> Result<Refill, String> {
    v.parse().map_err(|e: keygate::store::RefillError| e.to_string())
}

fn parse_refill_change(v: &str) -> Result<RefillChange, String> {
    if v == "none" {
        Ok(RefillChange(None))
    } else {
        parse_refill(v).map(|r| RefillChange(Some(r)))
    }
}

fn parse_limits(v: &str) -> Result<Limits, String> {
    if v == "plan" {
        return Ok(Limits(None));
    }
    let windows = keygate::limit::windows_from_text(v).map_err(|e| e.to_string())?;
    if windows.is_empty() {
        return Err("at least one window, such as 10/s".to_owned());
    }
    Ok(Limits(Some(keygate::limit::RatePlan::of_key(windows))))
}

fn parse_remaining(v: &str) -> Result<Remaining, String> {
    if v == "unlimited" {
        return Ok(Remaining(None));
    }
    v.parse()
        .map(|n| Remaining(Some(n)))
        .map_err(|_| "a whole number of credits, or unlimited".to_owned())
}

fn parse_environment(v: &str) -> Result<Environment, String> {
    v.parse().map_err(|_| "live or test".to_owned())
}

/// `0`, or a number and one unit: `90s`, `15m`, `1h`, `7d`.
pub(crate) fn parse_duration(v: &str) -> Result<Duration, String> {
    let bad = || format!("`{v}` is not a duration such as 90s, 15m, 1h or 7d");
    if v == "0" {
        return Ok(Duration::ZERO);
    }
    let split = v.find(|c: char| !c.is_ascii_digit()).ok_or_else(bad)?;
    let (n, unit) = v.split_at(split);
    let n: u64 = n.parse().map_err(|_| bad())?;
    let unit = match unit {
        "s" => 1,
        "m" => 60,
        "h" => 3600,
        "d" => 86_400,
        _ => return Err(bad()),
    };
    n.checked_mul(unit).map(Duration::from_secs).ok_or_else(bad)
}

/// Bytes, with an optional K, M or G (powers of 1024).
pub(crate) fn parse_size(v: &str) -> Result<u64, String> {
    let bad = || format!("`{v}` is not a size such as 512K or 10M");
    let (n, unit) = match v.strip_suffix(['K', 'k']) {
        Some(n) => (n, 1 << 10),
        None => match v.strip_suffix(['M', 'm']) {
            Some(n) => (n, 1 << 20),
            None => match v.strip_suffix(['G', 'g']) {
                Some(n) => (n, 1 << 30),
                None => (v, 1),
            },
        },
    };
    n.parse::<u64>().ok().and_then(|n| n.checked_mul(unit)).ok_or_else(bad)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durations_and_sizes() {
        assert_eq!(parse_duration("0"), Ok(Duration::ZERO));
        assert_eq!(parse_duration("90s"), Ok(Duration::from_secs(90)));
        assert_eq!(parse_duration("7d"), Ok(Duration::from_secs(7 * 86_400)));
        for bad in ["", "h", "1", "1w", "-1h", "1.5h", "99999999999999999999d"] {
            assert!(parse_duration(bad).is_err(), "{bad}");
        }
        assert_eq!(parse_size("10M"), Ok(10 << 20));
        assert_eq!(parse_size("512"), Ok(512));
        assert!(parse_size("ten").is_err());
    }

    #[test]
    fn the_command_line_is_consistent() {
        <Cli as clap::CommandFactory>::command().debug_assert();
    }
}
