//! The demo on a SQLite file, stopped and started again as a user runs it: keys minted before
//! the restart still work, and with `--admin-key-file` the admin key is the same one, not a new
//! one per start.

#![cfg(unix)]
#![allow(clippy::unwrap_used)]

use std::os::unix::fs::PermissionsExt;
use std::path::Path;
use std::process::{Child, Command, Stdio};

mod common;

use common::{BIN, TempDir, get, send};

const PEPPER: &str = "the pepper of the restart test, 32+ bytes";

struct Demo {
    child: Child,
    addr: String,
    admin: String,
}

impl Demo {
    fn start(store: &str, admin_key_file: &Path) -> Demo {
        let mut child = Command::new(BIN)
            .args(["--addr", "127.0.0.1:0", "--store", store, "--admin-key-file"])
            .arg(admin_key_file)
            .env("KEYGATE_PEPPER", PEPPER)
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        let ready = common::ready(&mut child);
        Demo {
            addr: ready["addr"].as_str().unwrap().to_owned(),
            admin: ready["admin_key"].as_str().unwrap().to_owned(),
            child,
        }
    }

    /// SIGTERM, and a clean exit.
    fn stop(mut self) {
        Command::new("kill").args(["-TERM", &self.child.id().to_string()]).status().unwrap();
        assert!(self.child.wait().unwrap().success(), "exits cleanly on SIGTERM");
    }

    /// The names of the keys of the admin's workspace, listed over HTTP.
    fn key_names(&self) -> Vec<String> {
        let (status, body) = send(&self.addr, "GET", "/v1/api-keys", &self.admin, "");
        assert_eq!(status, 200, "{body}");
        let list: serde_json::Value = serde_json::from_str(&body).unwrap();
        let mut names: Vec<String> = list["data"]
            .as_array()
            .unwrap()
            .iter()
            .map(|k| k["name"].as_str().unwrap().to_owned())
            .collect();
        names.sort();
        names
    }
}

impl Drop for Demo {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn pings(addr: &str, key: &str) -> bool {
    get(addr, "/v1/ping", Some(key)).starts_with("HTTP/1.1 200 OK")
}

#[test]
fn a_restarted_demo_on_sqlite_keeps_its_keys_and_its_admin_key() {
    let dir = TempDir::new("restart");
    let store = format!("sqlite://{}", dir.path().join("keys.db").display());
    let key_file = dir.path().join("admin.key");
    // A file that holds no usable key, readable by all: replaced by a minted key, owner-only.
    std::fs::write(&key_file, "not a key\n").unwrap();
    std::fs::set_permissions(&key_file, std::fs::Permissions::from_mode(0o644)).unwrap();

    let first = Demo::start(&store, &key_file);
    assert_eq!(std::fs::read_to_string(&key_file).unwrap(), format!("{}\n", first.admin));
    let mode = std::fs::metadata(&key_file).unwrap().permissions().mode();
    assert_eq!(mode & 0o777, 0o600, "{mode:o}");
    let (status, body) = send(
        &first.addr,
        "POST",
        "/v1/api-keys",
        &first.admin,
        r#"{"name":"before the restart","permissions":["tasks:read"]}"#,
    );
    assert_eq!(status, 201, "{body}");
    let minted: serde_json::Value = serde_json::from_str(&body).unwrap();
    let key = minted["key"].as_str().unwrap().to_owned();
    assert!(pings(&first.addr, &key));
    let admin = first.admin.clone();
    first.stop();

    let second = Demo::start(&store, &key_file);
    assert_eq!(second.admin, admin, "the admin key of the file, printed again");
    assert!(pings(&second.addr, &key), "a key minted before the restart still works");
    assert_eq!(
        second.key_names(),
        ["before the restart", "demo admin"],
        "no second admin key was minted"
    );
    second.stop();

    // Revoked, the admin key in the file no longer verifies: the next start mints another
    // and writes it, and the key minted before still works.
    let third = Demo::start(&store, &key_file);
    let admin_id = {
        let (_, body) = send(&third.addr, "GET", "/v1/me", &third.admin, "");
        let me: serde_json::Value = serde_json::from_str(&body).unwrap();
        me["api_key_id"].as_str().unwrap().to_owned()
    };
    let (status, body) =
        send(&third.addr, "DELETE", &format!("/v1/api-keys/{admin_id}"), &third.admin, "");
    assert!(status == 200 || status == 204, "{status} {body}");
    third.stop();
    let fourth = Demo::start(&store, &key_file);
    assert_ne!(fourth.admin, admin, "a new admin key");
    assert_eq!(std::fs::read_to_string(&key_file).unwrap(), format!("{}\n", fourth.admin));
    assert!(pings(&fourth.addr, &key));
    assert!(!pings(&fourth.addr, &admin), "the revoked one stays revoked");
    fourth.stop();
}
