//! The demo binary as a user runs it: the ready line, a request, the one-line errors, shutdown.

#![allow(clippy::unwrap_used)]

use std::io::{BufRead, BufReader};
use std::process::{Command, Stdio};

mod common;

use common::{BIN, get};

#[test]
fn starts_prints_its_ready_line_and_serves() {
    for preset in ["livetest", "productlane", "workspace"] {
        let mut child = Command::new(BIN)
            .args(["--addr", "127.0.0.1:0", "--preset", preset])
            .env_remove("KEYGATE_PEPPER")
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        let mut line = String::new();
        BufReader::new(child.stdout.take().unwrap()).read_line(&mut line).unwrap();
        let ready: serde_json::Value = serde_json::from_str(&line).unwrap();
        assert!(line.starts_with(r#"{"event":"ready","addr":"127.0.0.1:"#), "{line}");
        let addr = ready["addr"].as_str().unwrap();
        let key = ready["admin_key"].as_str().unwrap();
        assert_eq!(ready.as_object().unwrap().len(), 3);

        assert!(get(addr, "/healthz", None).ends_with("\r\n\r\nok"));
        let pong = get(addr, "/v1/ping", Some(key));
        assert!(pong.starts_with("HTTP/1.1 200 OK") && pong.ends_with("pong"), "{pong}");
        let me = get(addr, "/v1/me", Some(key));
        assert!(me.contains(r#""workspace_id":"wks_demo""#), "{me}");
        assert!(get(addr, "/v1/tasks", None).starts_with("HTTP/1.1 401"));

        // SIGTERM: a clean exit.
        Command::new("kill").args(["-TERM", &child.id().to_string()]).status().unwrap();
        assert!(child.wait().unwrap().success(), "{preset}: exits cleanly on SIGTERM");
    }
}

#[test]
fn with_a_grpc_address_the_ready_line_tells_where_grpc_is_served() {
    let mut child = Command::new(BIN)
        .args(["--addr", "127.0.0.1:0"])
        .env("KEYGATE_GRPC_ADDR", "127.0.0.1:0")
        .env_remove("KEYGATE_PEPPER")
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let mut line = String::new();
    BufReader::new(child.stdout.take().unwrap()).read_line(&mut line).unwrap();
    let ready: serde_json::Value = serde_json::from_str(&line).unwrap();
    assert_eq!(ready.as_object().unwrap().len(), 4, "{line}");
    let at = |field: &str| line.find(&format!(r#""{field}":"#)).unwrap();
    assert!(at("addr") < at("grpc_addr") && at("grpc_addr") < at("admin_key"), "{line}");
    let grpc: std::net::SocketAddr = ready["grpc_addr"].as_str().unwrap().parse().unwrap();
    assert_ne!(grpc.port(), 0);
    assert_ne!(grpc.to_string(), ready["addr"].as_str().unwrap());
    std::net::TcpStream::connect(grpc).expect("the gRPC port accepts connections");
    Command::new("kill").args(["-TERM", &child.id().to_string()]).status().unwrap();
    assert!(child.wait().unwrap().success(), "exits cleanly on SIGTERM");
}

#[test]
fn bad_settings_are_one_line_errors() {
    type Case<'a> = (&'a [&'a str], &'a [(&'a str, &'a str)]);
    let cases: [Case<'_>; 8] = [
        (&["--preset", "nope"], &[]),
        (&["--addr", "nowhere"], &[]),
        (&["--bogus"], &[]),
        (&["--framework"], &[]),
        (&["--addr", "127.0.0.1:0"], &[("KEYGATE_PEPPER", "too short")]),
        (&["--addr", "127.0.0.1:0", "--store", "mysql://x"], &[]),
        // A random pepper would leave the stored keys unverifiable after a restart.
        (&["--addr", "127.0.0.1:0", "--store", "sqlite:///nowhere/keys.db"], &[]),
        (&["--addr", "127.0.0.1:0"], &[("RUST_LOG", "=[")]),
    ];
    for (args, env) in cases {
        let out = Command::new(BIN)
            .args(args)
            .env_remove("KEYGATE_PEPPER")
            .envs(env.iter().copied())
            .output()
            .unwrap();
        assert_eq!(out.status.code(), Some(2), "{args:?}");
        let err = String::from_utf8(out.stderr).unwrap();
        assert_eq!(err.lines().count(), 1, "{args:?}: {err}");
        assert!(err.starts_with("keygate-demo: "), "{err}");
        assert!(out.stdout.is_empty());
    }
}

#[test]
fn help_lists_every_flag_and_environment_variable() {
    let out = Command::new(BIN).arg("--help").output().unwrap();
    assert!(out.status.success());
    assert!(out.stderr.is_empty());
    let help = String::from_utf8(out.stdout).unwrap();
    for name in [
        "--framework",
        "--addr",
        "--preset",
        "--store",
        "--redis ",
        "--redis-prefix",
        "--trusted-proxy",
        "--admin-key-file",
        "KEYGATE_PEPPER",
        "KEYGATE_REDIS_PREFIX",
        "RUST_LOG",
    ] {
        assert!(help.contains(name), "{name} is missing from:\n{help}");
    }
}
