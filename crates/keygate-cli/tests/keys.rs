//! The key commands as an operator runs them: init, mint, list, show, update, rotate, revoke
//! and expiring over a SQLite file, and over PostgreSQL when `KEYGATE_TEST_POSTGRES_URL`
//! names a server (each run in a schema of its own, dropped at the end).

#![allow(clippy::unwrap_used)]

mod common;

use std::process::Stdio;

use common::{TempDir, field, keygate, mode};

/// The whole lifecycle over the store `env` names (`KEYGATE_STORE`, maybe `KEYGATE_PG_SCHEMA`).
fn lifecycle(dir: &TempDir, store: &[(&str, &str)]) {
    let pepper_file = dir.path("pepper");
    let pepper_path = pepper_file.to_str().unwrap();

    // init: schema, pepper file (0600), the admin key printed once.
    let out = keygate(&["init", "--pepper-file", pepper_path, "--preset", "livetest"], store).ok();
    assert_eq!(mode(&pepper_file), 0o600);
    let pepper = std::fs::read_to_string(&pepper_file).unwrap();
    assert!(pepper.ends_with('\n') && pepper.trim().len() >= 32, "{pepper:?}");
    assert!(!out.contains(pepper.trim()), "a pepper written to a file is not printed");
    let admin_id = field(&out, "id");
    let admin_key = field(&out, "key");
    assert!(admin_key.starts_with("sk_live_"), "{out}");

    let mut env = store.to_vec();
    env.push(("KEYGATE_PEPPER_FILE", pepper_path));
    let env = env.as_slice();

    // The admin key checks as live in the store it was minted in.
    let leak = dir.write("leak/config.env", format!("ADMIN={admin_key}\n"));
    let scan = keygate(&["scan", "--check", "--format", "json", leak.to_str().unwrap()], env);
    assert_eq!(scan.code, 1, "{scan:?}");
    assert_eq!(scan.json()["findings"][0]["status"], "live");

    // mint
    let minted = keygate(
        &["mint", "--name", "ci", "--scopes", "tasks:read,tasks:write", "--environment", "test"],
        env,
    )
    .ok();
    let ci_id = field(&minted, "id");
    let ci_key = field(&minted, "key");
    assert!(ci_key.starts_with("sk_test_"));
    assert_eq!(field(&minted, "scopes"), "tasks:read,tasks:write");
    let expires = "2099-01-01T00:00:00Z";
    let soon = time_in_days(2);
    let json = keygate(&["mint", "--name", "soon", "--expires", &soon, "--json"], env);
    let soon_id = json.json()["id"].as_str().unwrap().to_owned();
    assert!(json.json()["key"].as_str().unwrap().starts_with("sk_live_"));

    // list: a table of previews, and JSON
    let table = keygate(&["list"], env).ok();
    assert!(table.starts_with("ID "), "{table}");
    for id in [&admin_id, &ci_id, &soon_id] {
        assert!(table.contains(id.as_str()), "{table}");
    }
    assert!(!table.contains(&ci_key) && !table.contains(&admin_key), "never the full key");
    let listed = keygate(&["list", "--json"], env).json();
    let listed = listed.as_array().unwrap();
    assert_eq!(listed.len(), 3);
    assert!(listed.iter().all(|k| k["prefix"].as_str().unwrap().len() == "sk_live_".len() + 4));

    // show
    let shown = keygate(&["show", &ci_id], env).ok();
    assert_eq!(field(&shown, "status"), "active");
    assert_eq!(field(&shown, "environment"), "test");
    assert!(!shown.contains(&ci_key));

    // update
    let updated = keygate(
        &["update", &ci_id, "--scopes", "tasks:read", "--expires", expires, "--disabled", "true"],
        env,
    )
    .ok();
    assert_eq!(field(&updated, "scopes"), "tasks:read");
    assert_eq!(field(&updated, "status"), "disabled");
    assert_eq!(field(&updated, "expires"), "2099-01-01T00:00:00Z");
    let enabled = keygate(&["update", &ci_id, "--disabled", "false", "--json"], env).json();
    assert_eq!(enabled["is_active"], true);
    assert!(keygate(&["update", &ci_id], env).fails().contains("nothing to change"));

    // credits: set at mint, changed and lifted by update
    let metered = keygate(
        &["mint", "--name", "trial", "--remaining", "5", "--refill", "monthly@15:100", "--json"],
        env,
    )
    .json();
    assert_eq!(metered["remaining"], 5);
    assert_eq!(metered["refill"], serde_json::json!({"interval":"monthly","day":15,"amount":100}));
    let trial_id = metered["id"].as_str().unwrap().to_owned();
    let shown = keygate(&["show", &trial_id], env).ok();
    assert_eq!(field(&shown, "credits"), "5");
    assert!(field(&shown, "refill").starts_with("monthly@15:100, next "), "{shown}");
    let lowered = keygate(&["update", &trial_id, "--remaining", "2", "--refill", "none"], env).ok();
    assert_eq!(field(&lowered, "credits"), "2");
    assert!(!lowered.contains("refill:"), "{lowered}");
    let lifted = keygate(&["update", &trial_id, "--remaining", "unlimited", "--json"], env).json();
    assert!(lifted["remaining"].is_null());
    assert!(
        keygate(&["mint", "--name", "x", "--refill", "weekly:5"], env)
            .fails()
            .contains("daily:AMOUNT")
    );
    keygate(&["revoke", &trial_id], env).ok();

    // a key's own rate-limit windows: set at mint, shown, replaced, then back to the plan's
    let limited =
        keygate(&["mint", "--name", "bot", "--limits", "10/s,1000/h", "--json"], env).json();
    assert_eq!(limited["rate_limits"], serde_json::json!(["10/1s", "1000/3600s"]));
    let bot_id = limited["id"].as_str().unwrap().to_owned();
    assert_eq!(field(&keygate(&["show", &bot_id], env).ok(), "limits"), "10/1s,1000/3600s");
    let changed = keygate(&["update", &bot_id, "--limits", "5/min"], env).ok();
    assert_eq!(field(&changed, "limits"), "5/60s");
    let back = keygate(&["update", &bot_id, "--limits", "plan", "--json"], env).json();
    assert_eq!(back["rate_limits"], serde_json::json!([]));
    assert!(
        keygate(&["update", &bot_id, "--limits", "10/0s"], env).fails().contains("LIMIT/PERIOD")
    );
    keygate(&["revoke", &bot_id], env).ok();

    // rotate: a new key shown once; the old one works during the grace period
    let rotated = keygate(&["rotate", &ci_id, "--grace", "1h"], env).ok();
    let new_id = field(&rotated, "id");
    let new_key = field(&rotated, "key");
    assert_ne!(new_id, ci_id);
    assert!(new_key.starts_with("sk_test_"));
    assert_eq!(field(&rotated, "scopes"), "tasks:read");
    assert_eq!(field(&keygate(&["show", &ci_id], env).ok(), "status"), "active");
    assert!(keygate(&["rotate", &ci_id], env).fails().contains("no such key"));

    // revoke
    let revoked = keygate(&["revoke", &new_id, "--json"], env).json();
    assert_eq!(revoked["is_active"], false);
    assert_eq!(field(&keygate(&["show", &new_id], env).ok(), "status"), "revoked");
    let both = dir.write("leak/two.txt", format!("{new_key}\n{}\n", admin_key));
    let scan = keygate(&["scan", "--check", both.to_str().unwrap()], env);
    assert_eq!(scan.code, 1, "{scan:?}");
    let lines: Vec<&str> = scan.stdout.lines().collect();
    assert!(lines[0].ends_with("[revoked]") && lines[1].ends_with("[live]"), "{scan:?}");

    // expiring
    let expiring = keygate(&["expiring", "--within", "7d", "--json"], env).json();
    let ids: Vec<&str> =
        expiring.as_array().unwrap().iter().map(|k| k["id"].as_str().unwrap()).collect();
    assert_eq!(ids, [soon_id.as_str()]);
    assert_eq!(
        keygate(&["expiring", "--within", "1d", "--json"], env).json(),
        serde_json::json!([])
    );

    // A key passed where an id or a path belongs is never echoed in full.
    for args in [
        vec!["show", admin_key.as_str()],
        vec!["revoke", admin_key.as_str()],
        vec!["scan", admin_key.as_str()],
    ] {
        let err = keygate(&args, env).fails();
        assert!(!err.contains(&admin_key), "{args:?} echoed the key: {err}");
        assert!(err.contains(&admin_key[..12]), "{err}");
    }

    // errors: one line, exit 2
    assert!(keygate(&["show", "key_Unknown00000"], env).fails().contains("no such key"));
    assert!(keygate(&["show", "nope"], env).fails().contains("not a key id"));
    assert!(keygate(&["rotate", &admin_id, "--grace", "1y"], env).fails().contains("duration"));
    assert!(
        keygate(&["mint", "--name", "x", "--scopes", "billing:read"], env)
            .fails()
            .contains("billing:read")
    );
    let no_pepper: Vec<_> = store.to_vec();
    assert!(keygate(&["mint", "--name", "x"], &no_pepper).fails().contains("KEYGATE_PEPPER"));

    // A reader that goes away does not make list fail or complain.
    let mut child = common::command(&["list"], env)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    drop(child.stdout.take());
    let out = child.wait_with_output().unwrap();
    assert!(out.status.success(), "{out:?}");
    assert!(out.stderr.is_empty(), "{out:?}");
}

/// An RFC 3339 time `days` from now.
fn time_in_days(days: i64) -> String {
    let now = keygate::clock::Clock::now(&keygate::clock::SystemClock);
    keygate::clock::Timestamp::from_unix_seconds(now.unix_seconds() + days * 86_400).to_rfc3339()
}

#[test]
fn the_key_lifecycle_over_a_sqlite_file() {
    let dir = TempDir::new("sqlite");
    let url = format!("sqlite://{}", dir.path("keys.db").display());
    lifecycle(&dir, &[("KEYGATE_STORE", url.as_str())]);
}

#[test]
fn commands_other_than_init_never_create_a_sqlite_file() {
    let dir = TempDir::new("nofile");
    let url = format!("sqlite://{}", dir.path("typo.db").display());
    assert!(keygate(&["list", "--store", &url], &[]).fails().contains("keygate init"));
    assert!(!dir.path("typo.db").exists());
    assert!(keygate(&["list"], &[]).fails().contains("KEYGATE_STORE"));
    assert!(keygate(&["list", "--store", "mysql://x"], &[]).fails().contains("sqlite://"));
}

#[test]
fn init_prints_the_pepper_once_when_no_file_is_named() {
    let dir = TempDir::new("print");
    let url = format!("sqlite://{}", dir.path("keys.db").display());
    let out = keygate(&["init", "--store", &url, "--preset", "productlane"], &[]).ok();
    let pepper = out.lines().find_map(|l| l.strip_prefix("KEYGATE_PEPPER=")).unwrap();
    assert_eq!(pepper.len(), 43);
    assert!(field(&out, "key").starts_with("pl_v2_"));
    // The printed pepper mints keys that check as live against the same store.
    let env = [("KEYGATE_STORE", url.as_str()), ("KEYGATE_PEPPER", pepper)];
    let minted = keygate(&["mint", "--name", "n", "--preset", "productlane"], &env).ok();
    let leak = dir.write("leak", field(&minted, "key"));
    let scan = keygate(&["scan", "--check", leak.to_str().unwrap()], &env);
    assert!(scan.stdout.ends_with("[live]\n"), "{scan:?}");
}

#[test]
fn init_writes_the_admin_key_file_and_never_overwrites() {
    let dir = TempDir::new("files");
    let url = format!("sqlite://{}", dir.path("keys.db").display());
    let key_file = dir.path("admin.key");
    let pepper_file = dir.path("pepper");
    let args = [
        "init",
        "--store",
        &url,
        "--pepper-file",
        pepper_file.to_str().unwrap(),
        "--key-file",
        key_file.to_str().unwrap(),
    ];
    let out = keygate(&args, &[]).ok();
    assert_eq!(mode(&key_file), 0o600);
    let key = std::fs::read_to_string(&key_file).unwrap();
    assert!(key.starts_with("sk_live_") && !out.contains(key.trim()), "{out}");
    let again = keygate(&args, &[]).fails();
    assert!(again.contains("already exists"), "{again}");
    assert_eq!(std::fs::read_to_string(&key_file).unwrap(), key);

    // A pepper file others can read is refused.
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(&pepper_file, std::fs::Permissions::from_mode(0o644)).unwrap();
    let env = [("KEYGATE_STORE", url.as_str())];
    let refused =
        keygate(&["mint", "--name", "x", "--pepper-file", pepper_file.to_str().unwrap()], &env);
    assert!(refused.fails().contains("chmod 600"));
}

#[test]
fn init_does_not_make_a_second_pepper_for_a_store_with_keys() {
    let dir = TempDir::new("second");
    let url = format!("sqlite://{}", dir.path("keys.db").display());
    let first = keygate(&["init", "--store", &url], &[]).ok();
    let pepper = first.lines().find_map(|l| l.strip_prefix("KEYGATE_PEPPER=")).unwrap();
    let again = keygate(&["init", "--store", &url], &[]).fails();
    assert!(again.contains("already has keys"), "{again}");
    assert!(!again.contains("KEYGATE_PEPPER="), "no new pepper is shown: {again}");
    let listed = keygate(&["list", "--store", &url, "--json"], &[("KEYGATE_PEPPER", pepper)]);
    assert_eq!(listed.json().as_array().unwrap().len(), 1, "no second admin key");
    // With the pepper the keys were minted with, a second admin key is fine.
    keygate(&["init", "--store", &url, "--name", "second"], &[("KEYGATE_PEPPER", pepper)]).ok();
}

#[test]
fn init_revokes_an_admin_key_that_nobody_could_read() {
    let dir = TempDir::new("unread");
    let url = format!("sqlite://{}", dir.path("keys.db").display());
    let pepper = "p".repeat(43);
    let env = [("KEYGATE_STORE", url.as_str()), ("KEYGATE_PEPPER", pepper.as_str())];
    let mut child = common::command(&["init"], &env)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    drop(child.stdout.take());
    let out = child.wait_with_output().unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{stderr}");
    assert!(stderr.contains("was revoked"), "{stderr}");
    let listed = keygate(&["list", "--json"], &env).json();
    let listed = listed.as_array().unwrap();
    assert_eq!(listed.len(), 1);
    assert_eq!(listed[0]["is_active"], false, "{listed:?}");
}

#[test]
fn every_command_has_help_naming_its_environment() {
    for command in [
        "init", "mint", "list", "show", "update", "revoke", "rotate", "expiring", "inspect", "scan",
    ] {
        let help = keygate(&[command, "--help"], &[]).ok();
        for var in ["KEYGATE_STORE", "KEYGATE_PEPPER", "KEYGATE_PRESET"] {
            assert!(help.contains(var), "{command} --help lacks {var}: {help}");
        }
    }
    assert!(keygate(&["--version"], &[]).ok().starts_with("keygate "));
    assert!(keygate(&["frobnicate"], &[]).fails().contains("frobnicate"));
}

#[test]
fn inspect_reads_a_key_offline() {
    let format = keygate::preset::Preset::plane().format;
    let key = format.generate(keygate::format::Environment::Live).unwrap();
    let key = key.expose_secret();
    let out = keygate(&["inspect", key], &[]).ok();
    assert_eq!(field(&out, "preset"), "plane");
    assert_eq!(field(&out, "checksum"), "ok");
    assert!(!out.contains(key), "never the secret");
    let stdin = common::keygate_with_stdin(&["inspect", "-", "--json"], &[], key.as_bytes());
    assert_eq!(stdin.json()["id"], format.parse(key).unwrap().id().to_string());

    let mut bad = key.to_owned();
    bad.replace_range(5..6, if &bad[5..6] == "a" { "b" } else { "a" });
    let out = keygate(&["inspect", &bad], &[]);
    assert_eq!((out.code, field(&out.stdout, "checksum")), (1, "bad".into()));
    let retired = keygate(&["inspect", "pl_v1_0123456789abcdef"], &[]);
    assert_eq!(retired.code, 1);
    assert!(field(&retired.stdout, "retired").starts_with("yes"));
    assert_eq!(keygate(&["inspect", "hello"], &[]).code, 1);
}

#[test]
#[ignore = "needs KEYGATE_TEST_POSTGRES_URL"]
fn the_key_lifecycle_over_postgres() {
    let url = std::env::var("KEYGATE_TEST_POSTGRES_URL").expect(
        "KEYGATE_TEST_POSTGRES_URL names the PostgreSQL server this test needs \
         (e.g. postgres://postgres@127.0.0.1/test)",
    );
    let tag = keygate::preset::Preset::workspace()
        .format
        .generate(keygate::format::Environment::Live)
        .unwrap();
    let schema = format!("kg_cli_{}", tag.expose_secret()[3..15].to_ascii_lowercase());
    let dir = TempDir::new("postgres");
    let env = [("KEYGATE_STORE", url.as_str()), ("KEYGATE_PG_SCHEMA", schema.as_str())];
    let result = std::panic::catch_unwind(|| lifecycle(&dir, &env));
    drop_schema(&url, &schema);
    if let Err(panic) = result {
        std::panic::resume_unwind(panic);
    }
}

fn drop_schema(url: &str, schema: &str) {
    let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
    runtime.block_on(async {
        let pool = sqlx::PgPool::connect(url).await.unwrap();
        sqlx::query(&format!(r#"DROP SCHEMA IF EXISTS "{schema}" CASCADE"#))
            .execute(&pool)
            .await
            .unwrap();
        pool.close().await;
    });
}
