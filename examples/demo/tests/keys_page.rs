//! The keys page in a real headless browser (Debian's Chromium, driven by playwright-core), on
//! every framework: `crates/keygate-ui/tests/browser/keys_page.mjs` against a demo started here.
//! The axum run saves screenshots at desktop and phone width in `crates/keygate-ui/screenshots`.
//!
//! Needs `node`, Chromium at `/usr/bin/chromium` (or `CHROMIUM`) and `npm ci` in
//! `crates/keygate-ui/tests/browser`; without them the test is ignored, and
//! `cargo test -- --include-ignored` (what CI runs) fails saying what is missing.

#![cfg(unix)]
#![allow(clippy::unwrap_used)]

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};

mod common;

use common::BIN;

struct Demo(Child);

impl Drop for Demo {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

fn browser_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../crates/keygate-ui/tests/browser")
}

#[test]
#[ignore = "needs node, Chromium and `npm ci` in crates/keygate-ui/tests/browser"]
fn the_keys_page_works_in_a_real_browser_on_every_framework() {
    let dir = browser_dir();
    assert!(
        dir.join("node_modules/playwright-core").is_dir(),
        "run `npm ci` in {} first",
        dir.display()
    );
    let chromium = std::env::var("CHROMIUM").unwrap_or_else(|_| "/usr/bin/chromium".into());
    assert!(Path::new(&chromium).exists(), "no Chromium at {chromium}: apt-get install chromium");
    for framework in ["axum", "actix", "warp"] {
        let mut child = Command::new(BIN)
            .args(["--framework", framework, "--addr", "127.0.0.1:0"])
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        let ready = common::ready(&mut child);
        let _demo = Demo(child);
        let mut node = Command::new("node");
        node.arg("keys_page.mjs")
            .current_dir(&dir)
            .env("BASE_URL", format!("http://{}", ready["addr"].as_str().unwrap()))
            .env("ADMIN_KEY", ready["admin_key"].as_str().unwrap())
            .env("CHROMIUM", &chromium);
        if framework == "axum" {
            let shots = dir.join("../../screenshots");
            std::fs::create_dir_all(&shots).unwrap();
            node.env("SCREENSHOTS", shots);
        }
        let out = node.output().expect("node runs");
        assert!(
            out.status.success(),
            "{framework}: {}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
    }
}
