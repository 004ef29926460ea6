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
fn bad_settings_are_one_line_errors() {
    type Case<'a> = (&'a [&'a str], &'a [(&'a str, &'a str)]);
    let cases: [Case<'_>; 5] = [
        (&["--preset", "nope"], &[]),
        (&["--addr", "nowhere"], &[]),
        (&["--bogus"], &[]),
        (&["--addr", "127.0.0.1:0"], &[("KEYGATE_PEPPER", "too short")]),
        (&["--addr", "127.0.0.1:0", "--store", "mysql://x"], &[]),
    ];
    for (args, env) in cases {
        let out = Command::new(BIN).args(args).envs(env.iter().copied()).output().unwrap();
        assert_eq!(out.status.code(), Some(2), "{args:?}");
        let err = String::from_utf8(out.stderr).unwrap();
        assert_eq!(err.lines().count(), 1, "{args:?}: {err}");
        assert!(err.starts_with("keygate-demo: "), "{err}");
        assert!(out.stdout.is_empty());
    }
}
