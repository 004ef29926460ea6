//! The command line: `keygate-demo [--framework F] [--addr A] [--preset P] [--store S] [--redis R]`.

use std::net::SocketAddr;

/// A web framework the demo can serve with.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Framework {
    /// axum, through keygate-axum.
    Axum,
    /// actix-web.
    Actix,
    /// warp.
    Warp,
}

/// What the command line asked for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Options {
    /// `--framework`, default axum.
    pub framework: Framework,
    /// `--addr`, default `127.0.0.1:8080`.
    pub addr: SocketAddr,
    /// `--preset`, default `livetest`.
    pub preset: String,
    /// `--store`, default `memory`.
    pub store: String,
    /// `--redis`, if given.
    pub redis: Option<String>,
    /// `--trusted-proxy CIDR`, repeatable: proxies whose `Forwarded` / `X-Forwarded-For` name
    /// the client for the failed-auth throttle.
    pub trusted_proxies: Vec<ipnet::IpNet>,
}

impl Default for Options {
    fn default() -> Self {
        Options {
            framework: Framework::Axum,
            addr: SocketAddr::from(([127, 0, 0, 1], 8080)),
            preset: "livetest".into(),
            store: "memory".into(),
            redis: None,
            trusted_proxies: Vec::new(),
        }
    }
}

/// The usage line.
pub const USAGE: &str = "usage: keygate-demo [--framework axum|actix|warp] [--addr 127.0.0.1:8080] \
[--preset productlane|plane|livetest|workspace] [--store memory|postgres://...] [--redis redis://...] \
[--trusted-proxy CIDR]...";

impl Options {
    /// Reads the arguments after the program name. `--flag value` and `--flag=value` both work.
    ///
    /// # Errors
    /// A one-line message naming the argument that is wrong.
    pub fn parse<I: IntoIterator<Item = String>>(args: I) -> Result<Options, String> {
        let mut options = Options::default();
        let mut args = args.into_iter();
        while let Some(arg) = args.next() {
            let (flag, inline) = match arg.split_once('=') {
                Some((f, v)) => (f.to_owned(), Some(v.to_owned())),
                None => (arg, None),
            };
            if flag == "--help" || flag == "-h" {
                return Err(USAGE.to_owned());
            }
            let mut value = || {
                inline
                    .clone()
                    .or_else(|| args.next())
                    .ok_or_else(|| format!("{flag} needs a value; {USAGE}"))
            };
            match flag.as_str() {
                "--framework" => {
                    options.framework = match value()?.as_str() {
                        "axum" => Framework::Axum,
                        "actix" => Framework::Actix,
                        "warp" => Framework::Warp,
                        other => {
                            return Err(format!(
                                "unknown framework `{other}` (axum, actix or warp)"
                            ));
                        }
                    }
                }
                "--addr" => {
                    let v = value()?;
                    options.addr = v.parse().map_err(|_| {
                        format!("--addr `{v}` is not an address such as 127.0.0.1:8080")
                    })?;
                }
                "--preset" => {
                    let v = value()?;
                    if keygate::preset::Preset::by_name(&v).is_none() {
                        return Err(format!(
                            "unknown preset `{v}` (productlane, plane, livetest or workspace)"
                        ));
                    }
                    options.preset = v;
                }
                "--store" => options.store = value()?,
                "--redis" => options.redis = Some(value()?),
                "--trusted-proxy" => {
                    let v = value()?;
                    let net = v
                        .parse::<ipnet::IpNet>()
                        .or_else(|_| v.parse::<std::net::IpAddr>().map(ipnet::IpNet::from));
                    options.trusted_proxies.push(net.map_err(|_| {
                        format!("--trusted-proxy `{v}` is not a CIDR range such as 10.0.0.0/8")
                    })?);
                }
                other => return Err(format!("unknown argument `{other}`; {USAGE}")),
            }
        }
        Ok(options)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(args: &[&str]) -> Result<Options, String> {
        Options::parse(args.iter().map(|s| (*s).to_owned()))
    }

    #[test]
    fn defaults_and_flags() {
        assert_eq!(parse(&[]).unwrap(), Options::default());
        let o = parse(&["--framework", "warp", "--addr=127.0.0.1:0", "--preset", "plane"]).unwrap();
        assert_eq!(o.framework, Framework::Warp);
        assert_eq!(o.addr.port(), 0);
        assert_eq!(o.preset, "plane");
        let o = parse(&["--trusted-proxy", "10.0.0.0/8", "--trusted-proxy=192.0.2.1"]).unwrap();
        assert_eq!(
            o.trusted_proxies,
            ["10.0.0.0/8".parse().unwrap(), "192.0.2.1/32".parse().unwrap()]
        );
    }

    #[test]
    fn bad_arguments_are_one_line_errors() {
        for bad in [
            &["--preset", "nope"][..],
            &["--addr", "here"],
            &["--framework", "rocket"],
            &["--addr"],
            &["--verbose"],
            &["--trusted-proxy", "10.0.0.0/33"],
            &["--trusted-proxy", "proxy.local"],
        ] {
            let err = parse(bad).unwrap_err();
            assert!(!err.contains('\n'), "{err}");
        }
    }
}
