//! `keygate scan` over a tree holding real keys, look-alikes, a `.git` directory, a binary
//! file and a large one, in each output format; and over stdin.

#![allow(clippy::unwrap_used)]

mod common;

use std::collections::BTreeSet;

use common::{TempDir, keygate, keygate_with_stdin};
use keygate::format::Environment;
use keygate::preset::Preset;
use serde_json::Value;

/// A key of `preset`'s format.
fn key(preset: &Preset, environment: Environment) -> String {
    preset.format.generate(environment).unwrap().expose_secret().to_owned()
}

/// `key` with the character at `at` changed: the checksum no longer matches.
fn mutated(key: &str, at: usize) -> String {
    let mut bad = key.to_owned();
    let c = if &bad[at..=at] == "A" { "B" } else { "A" };
    bad.replace_range(at..=at, c);
    bad
}

struct Tree {
    dir: TempDir,
    /// (file, line, column, preset, environment or null, preview) of every planted key.
    planted: BTreeSet<(String, u64, u64, String, Option<String>, String)>,
    keys: Vec<String>,
}

fn planted_tree() -> Tree {
    let dir = TempDir::new("scan");
    let (live, test) =
        (key(&Preset::livetest(), Environment::Live), key(&Preset::livetest(), Environment::Test));
    let pl = key(&Preset::productlane(), Environment::Live);
    let pk = key(&Preset::plane(), Environment::Live);
    let ws = key(&Preset::workspace(), Environment::Live);
    let retired = "pl_v1_8Xy2Lm0Qw3Er5Ty7Ui9Op1As";

    let config = format!(
        "# settings\nSTRIPE_LIKE={live}\nélan = \"{test}\"\n  token: {pl}\nold = {retired}\n"
    );
    let config_path = dir.write("src/config.env", config);
    let code_path =
        dir.write("src/nested/deep/app.py", format!("headers = {{'X-Api-Key': '{pk}'}}\n{ws}\n"));
    // Look-alikes: a bad checksum, one character short, one too many, split across lines,
    // glued to other key characters, a retired prefix with too short a body.
    let look_alikes = format!(
        "{}\n{}\n{}A\n{}\\\n{}\n{}\nx{live}\npl_v1_ pl_v1_short\nsk_live_{}\n",
        mutated(&live, 20),
        &pl[..pl.len() - 1],
        pk,
        &ws[..20],
        &ws[20..],
        mutated(&test, test.len() - 1),
        "0".repeat(61),
    );
    dir.write("docs/examples.md", look_alikes);
    dir.write(".git/config", format!("token = {live}\n"));
    dir.write("sub/.git/objects/ab", format!("{pl}\n"));
    dir.write(
        "assets/logo.png",
        [b"\x89PNG\r\n\x1a\n\0\0\0\rIHDR ".as_slice(), live.as_bytes()].concat(),
    );
    dir.write("big.log", format!("{}\n{live}\n", "x".repeat(2000)));
    dir.write("clean.txt", "nothing here\n");

    let file = |p: &std::path::Path| p.display().to_string();
    let c = file(&config_path);
    let a = file(&code_path);
    let row = |f: &str, line, col, preset: &str, env: Option<&str>, preview: String| {
        (f.to_owned(), line, col, preset.to_owned(), env.map(str::to_owned), preview)
    };
    let planted = BTreeSet::from([
        row(&c, 2, 13, "livetest", Some("live"), live[..12].to_owned()),
        row(&c, 3, 9, "livetest", Some("test"), test[..12].to_owned()),
        row(&c, 4, 10, "productlane", Some("live"), pl[..10].to_owned()),
        row(&c, 5, 7, "productlane", None, retired[..10].to_owned()),
        row(&a, 1, 26, "plane", Some("live"), pk[..7].to_owned()),
        row(&a, 2, 1, "workspace", Some("live"), ws[..7].to_owned()),
    ]);
    Tree { dir, planted, keys: vec![live, test, pl, pk, ws] }
}

fn scan_json(tree: &Tree, extra: &[&str]) -> (i32, Value, String) {
    let root = tree.dir.0.to_str().unwrap();
    let mut args = vec!["scan", "--format", "json", "--max-size", "1K"];
    args.extend_from_slice(extra);
    args.push(root);
    let run = keygate(&args, &[]);
    (run.code, run.json(), run.stdout)
}

#[test]
fn json_finds_exactly_the_planted_keys_and_never_prints_one() {
    let tree = planted_tree();
    let (code, out, text) = scan_json(&tree, &[]);
    assert_eq!(code, 1);
    let found: BTreeSet<_> = out["findings"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| {
            assert_eq!(f["retired"], f["environment"].is_null());
            (
                f["file"].as_str().unwrap().to_owned(),
                f["line"].as_u64().unwrap(),
                f["column"].as_u64().unwrap(),
                f["preset"].as_str().unwrap().to_owned(),
                f["environment"].as_str().map(str::to_owned),
                f["preview"].as_str().unwrap().to_owned(),
            )
        })
        .collect();
    assert_eq!(found, tree.planted);
    // .git is not walked; the binary and the file over --max-size are skipped.
    assert_eq!((out["files_scanned"].as_u64(), out["files_skipped"].as_u64()), (Some(4), Some(2)));
    for key in &tree.keys {
        assert!(!text.contains(key.as_str()), "a full key was printed");
    }
}

#[test]
fn one_preset_only() {
    let tree = planted_tree();
    let (code, out, _) = scan_json(&tree, &["--preset", "plane"]);
    assert_eq!(code, 1);
    let presets: Vec<_> =
        out["findings"].as_array().unwrap().iter().map(|f| f["preset"].clone()).collect();
    assert_eq!(presets, ["plane"]);
}

#[test]
fn text_lists_one_finding_a_line() {
    let tree = planted_tree();
    let run = keygate(&["scan", "--max-size", "1K", tree.dir.0.to_str().unwrap()], &[]);
    assert_eq!(run.code, 1, "{run:?}");
    let lines: Vec<&str> = run.stdout.lines().collect();
    assert_eq!(lines.len(), tree.planted.len());
    let config = tree.dir.path("src/config.env").display().to_string();
    assert!(
        lines[0].starts_with(&format!("{config}:2:13: livetest live key sk_live_")),
        "{lines:?}"
    );
    assert!(
        lines.iter().any(|l| l.contains(":5:7: productlane retired key pl_v1_8Xy2…")),
        "{lines:?}"
    );
}

#[test]
fn sarif_is_a_2_1_0_log_with_rules_and_locations() {
    let tree = planted_tree();
    let run = keygate(
        &["scan", "--format", "sarif", "--max-size", "1K", tree.dir.0.to_str().unwrap()],
        &[],
    );
    assert_eq!(run.code, 1);
    let log = run.json();
    assert_eq!(log["version"], "2.1.0");
    assert!(log["$schema"].as_str().unwrap().contains("sarif-2.1.0"));
    let run = &log["runs"][0];
    assert_eq!(run["tool"]["driver"]["name"], "keygate");
    let rules: Vec<&str> = run["tool"]["driver"]["rules"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["id"].as_str().unwrap())
        .collect();
    let results = run["results"].as_array().unwrap();
    assert_eq!(results.len(), tree.planted.len());
    for result in results {
        let rule = result["ruleId"].as_str().unwrap();
        assert_eq!(rules[result["ruleIndex"].as_u64().unwrap() as usize], rule);
        assert!(["error", "warning"].contains(&result["level"].as_str().unwrap()));
        assert!(!result["message"]["text"].as_str().unwrap().is_empty());
        let location = &result["locations"][0]["physicalLocation"];
        assert!(location["artifactLocation"]["uri"].as_str().unwrap().starts_with("file:///"));
        let region = &location["region"];
        assert!(region["startLine"].as_u64().unwrap() >= 1);
        assert!(region["endColumn"].as_u64().unwrap() > region["startColumn"].as_u64().unwrap());
    }
    let retired = results.iter().filter(|r| r["level"] == "warning").count();
    assert_eq!(retired, 1);
}

#[test]
fn a_clean_tree_exits_0_and_an_error_exits_2() {
    let dir = TempDir::new("clean");
    dir.write("a/b.txt", "sk_live_nothing\n");
    let run = keygate(&["scan", dir.0.to_str().unwrap()], &[]);
    assert_eq!((run.code, run.stdout.as_str()), (0, ""));
    let json = keygate(&["scan", "--format", "json", dir.0.to_str().unwrap()], &[]).json();
    assert_eq!(json["findings"], serde_json::json!([]));

    let missing = dir.path("missing");
    let line = keygate(&["scan", missing.to_str().unwrap()], &[]).fails();
    assert!(line.contains("cannot read") && line.contains("missing"), "{line}");
    assert!(keygate(&["scan", "--format", "xml", "."], &[]).fails().contains("xml"));
    assert!(keygate(&["scan", "--max-size", "lots", "."], &[]).fails().contains("lots"));
    assert!(keygate(&["scan"], &[]).fails().contains("PATH"));
    assert!(keygate(&["scan", "--check", "."], &[]).fails().contains("--store"));
}

#[test]
fn an_unreadable_directory_deep_in_the_tree_exits_2_and_the_rest_is_reported() {
    let dir = TempDir::new("deep");
    let live = key(&Preset::livetest(), Environment::Live);
    dir.write("a.txt", format!("{live}\n"));
    // Directories nested past PATH_MAX: the walk cannot read the deepest one by its path.
    // (Made by a shell stepping into each, so that no single path is too long.)
    let name = "d".repeat(250);
    let made = std::process::Command::new("sh")
        .arg("-c")
        .arg(format!(
            "cd '{}' && for i in $(seq 20); do mkdir {name} && cd -P {name} || exit 1; done",
            dir.0.display()
        ))
        .status()
        .unwrap();
    assert!(made.success());
    let run = keygate(&["scan", dir.0.to_str().unwrap()], &[]);
    assert_eq!(run.code, 2, "{run:?}");
    assert!(run.stderr.contains("cannot read"), "{run:?}");
    assert!(run.stdout.contains("a.txt:1:1: livetest live key"), "{run:?}");
}

#[test]
fn file_names_cannot_write_control_characters_to_the_terminal() {
    let dir = TempDir::new("names");
    let live = key(&Preset::livetest(), Environment::Live);
    dir.write("evil\x1b[2J.txt", format!("{live}\n"));
    let run = keygate(&["scan", dir.0.to_str().unwrap()], &[]);
    assert_eq!(run.code, 1, "{run:?}");
    assert!(!run.stdout.contains('\x1b'), "{run:?}");
    assert!(run.stdout.contains("evil\\u{1b}[2J.txt:1:1:"), "{run:?}");
}

#[test]
fn stdin_is_scanned_whole() {
    let live = key(&Preset::livetest(), Environment::Live);
    let input = format!("{}\nlog line with {live} in it\n", "noise ".repeat(400_000));
    let run = keygate_with_stdin(&["scan", "-"], &[], input.as_bytes());
    assert_eq!(run.code, 1, "{run:?}");
    assert_eq!(run.stdout, format!("<stdin>:2:15: livetest live key {}…\n", &live[..12]));
}

#[test]
fn a_closed_output_keeps_the_exit_code() {
    let dir = TempDir::new("pipe");
    let keys: String =
        (0..3000).map(|_| key(&Preset::livetest(), Environment::Live) + "\n").collect();
    dir.write("many.txt", keys);
    let script = format!(
        "set -o pipefail; '{}' scan '{}' | head -1 >/dev/null",
        env!("CARGO_BIN_EXE_keygate"),
        dir.path("many.txt").display()
    );
    let out = std::process::Command::new("bash").args(["-c", &script]).output().unwrap();
    assert_eq!(out.status.code(), Some(1), "{out:?}");
    assert!(out.stderr.is_empty(), "{out:?}");
}
