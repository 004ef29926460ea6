//! The command line, parsed by clap: `keygate-demo --help` lists every flag and environment
//! variable.

use std::net::SocketAddr;
use std::path::PathBuf;

use clap::error::ErrorKind;

/// A web framework the demo can serve with.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum Framework {
    /// axum, through keygate-axum.
    Axum,
    /// actix-web, through keygate-actix.
    Actix,
    /// warp, through keygate-warp.
    Warp,
}

/// The environment variables the demo reads, for `--help`.
const ENVIRONMENT: &str = "\
Environment:
  KEYGATE_GRPC_ADDR     where to serve gRPC (--grpc-addr)
  KEYGATE_PEPPER        the HMAC pepper, at least 32 bytes; required with a sqlite:// or
                        postgres:// store (with the memory store a random one is made)
  KEYGATE_REDIS_PREFIX  the prefix of the Redis keys (--redis-prefix)
  RUST_LOG              which logs go to stderr, as a tracing filter (default: info)";

/// What the command line asked for.
#[derive(Debug, Clone, PartialEq, Eq, clap::Parser)]
#[command(
    name = "keygate-demo",
    version,
    about = "The keygate demo server: API-key authentication on axum, actix-web or warp.",
    long_about = None,
    after_help = ENVIRONMENT,
)]
pub struct Options {
    /// The web framework; the routes and bytes are the same on each.
    #[arg(long, value_enum, default_value = "axum")]
    pub framework: Framework,
    /// Where to listen (127.0.0.1:0 picks a free port; the ready line tells which).
    #[arg(long, default_value = "127.0.0.1:8080", value_parser = parse_addr)]
    pub addr: SocketAddr,
    /// Also serve gRPC here: the standard health service (grpc.health.v1.Health) behind
    /// keygate, refusing with gRPC statuses (127.0.0.1:0 picks a free port).
    #[arg(long, env = "KEYGATE_GRPC_ADDR", value_parser = parse_addr, value_name = "ADDR")]
    pub grpc_addr: Option<SocketAddr>,
    /// The compatibility preset: key format, headers, scopes and error style.
    #[arg(
        long,
        default_value = "livetest",
        value_parser = ["productlane", "plane", "livetest", "workspace"],
    )]
    pub preset: String,
    /// Where keys live: memory (lost at exit), sqlite://PATH (one file, kept across
    /// restarts) or postgres://… (shared by replicas). Both of the last need KEYGATE_PEPPER.
    #[arg(long, default_value = "memory", value_name = "memory|sqlite://PATH|postgres://…")]
    pub store: String,
    /// Share rate limits between replicas through Redis (default: in-process).
    #[arg(long, value_name = "redis://…")]
    pub redis: Option<String>,
    /// The prefix of every Redis key the demo writes.
    #[arg(long, env = "KEYGATE_REDIS_PREFIX", default_value = "keygate", value_name = "PREFIX")]
    pub redis_prefix: String,
    /// Behind these proxies (repeatable), the failed-auth throttle counts the client that
    /// `Forwarded` / `X-Forwarded-For` names, not the proxy.
    #[arg(long = "trusted-proxy", value_name = "CIDR", value_parser = parse_cidr)]
    pub trusted_proxies: Vec<ipnet::IpNet>,
    /// Keep the admin key in this file (mode 0600): a start reuses the key it holds while
    /// that key still verifies, and otherwise mints one and writes it. Without it, every
    /// start mints a new admin key.
    #[arg(long, value_name = "PATH")]
    pub admin_key_file: Option<PathBuf>,
    /// Which rate-limit headers responses carry: X-RateLimit-*, the IETF RateLimit-Policy /
    /// RateLimit fields, or both.
    #[arg(
        long,
        default_value = "x-ratelimit",
        value_parser = ["x-ratelimit", "standard", "both"],
    )]
    pub rate_limit_headers: String,
}

impl Default for Options {
    fn default() -> Self {
        Options {
            framework: Framework::Axum,
            addr: SocketAddr::from(([127, 0, 0, 1], 8080)),
            grpc_addr: None,
            preset: "livetest".into(),
            store: "memory".into(),
            redis: None,
            redis_prefix: "keygate".into(),
            trusted_proxies: Vec::new(),
            admin_key_file: None,
            rate_limit_headers: "x-ratelimit".into(),
        }
    }
}

/// What the command line says to do.
#[derive(Debug)]
pub enum Parsed {
    /// Serve with these options.
    Run(Box<Options>),
    /// Print this text (`--help`, `--version`) to stdout and exit successfully.
    Print(String),
}

impl Options {
    /// Reads the arguments, program name first; the environment fills in what they leave out
    /// (`KEYGATE_REDIS_PREFIX`).
    ///
    /// # Errors
    /// One line naming the argument that is wrong, without clap's usage block.
    pub fn from_args<I, T>(args: I) -> Result<Parsed, String>
    where
        I: IntoIterator<Item = T>,
        T: Into<std::ffi::OsString> + Clone,
    {
        match <Options as clap::Parser>::try_parse_from(args) {
            Ok(options) => Ok(Parsed::Run(Box::new(options))),
            Err(e) if matches!(e.kind(), ErrorKind::DisplayHelp | ErrorKind::DisplayVersion) => {
                Ok(Parsed::Print(e.render().to_string()))
            }
            Err(e) => Err(one_line(&e.render().to_string())),
        }
    }
}

/// clap's error without its `error:` label, usage block and `--help` hint, on one line.
fn one_line(rendered: &str) -> String {
    let text = rendered
        .lines()
        .map(str::trim)
        .filter(|l| !l.is_empty() && !l.starts_with("Usage:") && !l.starts_with("For more"))
        .collect::<Vec<_>>()
        .join(" ");
    let text = text.strip_prefix("error: ").unwrap_or(&text);
    format!("{text} (keygate-demo --help lists the flags)")
}

fn parse_addr(v: &str) -> Result<SocketAddr, String> {
    v.parse().map_err(|_| "not an address such as 127.0.0.1:8080".to_owned())
}

fn parse_cidr(v: &str) -> Result<ipnet::IpNet, String> {
    v.parse::<ipnet::IpNet>()
        .or_else(|_| v.parse::<std::net::IpAddr>().map(ipnet::IpNet::from))
        .map_err(|_| "not a CIDR range such as 10.0.0.0/8".to_owned())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(args: &[&str]) -> Result<Options, String> {
        match Options::from_args(std::iter::once("keygate-demo").chain(args.iter().copied()))? {
            Parsed::Run(options) => Ok(*options),
            Parsed::Print(text) => Err(text),
        }
    }

    #[test]
    fn defaults_and_flags() {
        let defaults = parse(&[]).unwrap();
        assert_eq!(
            Options { redis_prefix: "keygate".into(), ..defaults.clone() },
            Options::default()
        );
        let o = parse(&["--framework", "warp", "--addr=127.0.0.1:0", "--preset", "plane"]).unwrap();
        assert_eq!(o.framework, Framework::Warp);
        assert_eq!(o.addr.port(), 0);
        assert_eq!(o.preset, "plane");
        let o = parse(&["--trusted-proxy", "10.0.0.0/8", "--trusted-proxy=192.0.2.1"]).unwrap();
        assert_eq!(
            o.trusted_proxies,
            ["10.0.0.0/8".parse().unwrap(), "192.0.2.1/32".parse().unwrap()]
        );
        let o = parse(&["--store", "sqlite://keys.db", "--admin-key-file", "admin.key"]).unwrap();
        assert_eq!(o.store, "sqlite://keys.db");
        assert_eq!(o.admin_key_file, Some(PathBuf::from("admin.key")));
        let o = parse(&["--redis-prefix", "kg"]).unwrap();
        assert_eq!(o.redis_prefix, "kg");
        let o = parse(&["--rate-limit-headers", "both"]).unwrap();
        assert_eq!(o.rate_limit_headers, "both");
    }

    #[test]
    fn grpc_is_served_only_when_asked() {
        assert_eq!(parse(&[]).unwrap().grpc_addr, None);
        let o = parse(&["--grpc-addr", "127.0.0.1:50051"]).unwrap();
        assert_eq!(o.grpc_addr, Some(SocketAddr::from(([127, 0, 0, 1], 50051))));
        let err = parse(&["--grpc-addr", "anywhere"]).unwrap_err();
        assert!(err.contains("not an address such as 127.0.0.1:8080"), "{err}");
    }

    #[test]
    fn bad_arguments_are_one_line_errors() {
        for (bad, says) in [
            (&["--preset", "nope"][..], "invalid value 'nope' for '--preset <PRESET>'"),
            (&["--addr", "here"], "not an address such as 127.0.0.1:8080"),
            (&["--framework", "rocket"], "[possible values: axum, actix, warp]"),
            (&["--addr"], "a value is required for '--addr <ADDR>'"),
            (&["--verbose"], "unexpected argument '--verbose'"),
            (&["--trusted-proxy", "10.0.0.0/33"], "not a CIDR range"),
            (&["--trusted-proxy", "proxy.local"], "not a CIDR range"),
        ] {
            let err = parse(bad).unwrap_err();
            assert!(!err.contains('\n'), "{err}");
            assert!(err.contains(says), "{bad:?}: {err}");
            assert!(!err.starts_with("error"), "{err}");
        }
    }
}
