//! The key commands: init, mint, list, show, update, revoke, rotate, expiring, inspect.

use std::io::Read;
use std::path::Path;
use std::process::ExitCode;

use keygate::Keygate;
use keygate::format::{ParseError, ParsedKey};
use keygate::manage::{KeyInfo, ManageError, NewKey};
use keygate::preset::Preset;
use keygate::scope::ScopeSet;
use keygate::store::{KeyKind, KeyUpdate, Owner};

use crate::cli::{Command, Global, Init, Inspect, Mint, PRESETS, Update};
use crate::output::{self, Failure, print, print_json};
use crate::{pepper, store};

/// The preset `--preset` names, livetest by default.
pub(crate) fn preset(global: &Global) -> Preset {
    global.preset.as_deref().and_then(Preset::by_name).unwrap_or_else(Preset::livetest)
}

/// keygate over the store, hashing with the deployment's pepper when `hashes` says the command
/// makes keys (a random one otherwise: the command never hashes).
async fn gate(global: &Global, hashes: Option<&str>, create: bool) -> Result<Keygate, Failure> {
    let builder = Keygate::builder(preset(global)).store(store::open(global, create).await?);
    let builder = match hashes {
        Some(what) => builder.pepper(1, pepper::require(global.pepper_file.as_deref(), what)?),
        None => builder.random_pepper(),
    };
    builder.build().map_err(|e| Failure::msg(e.to_string()))
}

fn manage(e: ManageError) -> Failure {
    Failure::msg(e.to_string())
}

pub(crate) async fn run(global: &Global, command: Command) -> Result<(), Failure> {
    match command {
        Command::Init(args) => init(global, &args).await,
        Command::Mint(args) => mint(global, args).await,
        Command::List(args) => {
            let gate = gate(global, None, false).await?;
            let mut keys = Vec::new();
            let mut after = None;
            loop {
                let page = gate
                    .list_keys(&global.workspace, args.user.as_deref(), after, 100)
                    .await
                    .map_err(manage)?;
                keys.extend(page.keys);
                match page.next {
                    Some(next) => after = Some(next),
                    None => break,
                }
            }
            show_keys(&keys, args.json)
        }
        Command::Show(args) => {
            let gate = gate(global, None, false).await?;
            show_key(&gate.get_key(&args.id).await.map_err(manage)?, args.json)
        }
        Command::Update(args) => update(global, args).await,
        Command::Revoke(args) => {
            let gate = gate(global, None, false).await?;
            show_key(&gate.revoke_key(&args.id).await.map_err(manage)?, args.json)
        }
        Command::Rotate(args) => {
            let gate = gate(global, Some("rotate"), false).await?;
            let minted = gate.rotate_key(&args.id, args.grace).await.map_err(manage)?;
            let info = gate.get_key(&minted.record.id).await.map_err(manage)?;
            show_minted(&info, minted.key.expose_secret(), args.json)
        }
        Command::Expiring(args) => {
            let gate = gate(global, None, false).await?;
            let keys = gate.expiring_soon(args.within, args.limit).await.map_err(manage)?;
            show_keys(&keys, args.json)
        }
        Command::Inspect(_) | Command::Scan(_) => {
            Err(Failure::msg("this command does not use the store"))
        }
    }
}

async fn init(global: &Global, args: &Init) -> Result<(), Failure> {
    let from_env = std::env::var_os("KEYGATE_PEPPER").is_some();
    let (pepper_text, made) = match &global.pepper_file {
        Some(_) if from_env => {
            return Err(Failure::msg("both KEYGATE_PEPPER and --pepper-file are set; use one"));
        }
        Some(path) if path.exists() => {
            return Err(Failure::msg(format!(
                "the pepper file {} already exists; keygate init never overwrites it \
                 (to reuse that pepper, set KEYGATE_PEPPER to its text)",
                path.display()
            )));
        }
        _ => match pepper::read(None)? {
            Some(text) => (text, false),
            None => (pepper::generate()?, true),
        },
    };
    // Files are created before the key is minted: a place that cannot be written mints nothing.
    let pepper_file = match (made, &global.pepper_file) {
        (true, Some(path)) => Some((pepper::create_private(path)?, path.as_path())),
        _ => None,
    };
    let key_file = match &args.key_file {
        Some(path) => match pepper::create_private(path) {
            Ok(file) => Some((file, path.as_path())),
            Err(e) => {
                remove(pepper_file.as_ref().map(|(_, p)| *p));
                return Err(e);
            }
        },
        None => None,
    };
    let created = [pepper_file.as_ref().map(|(_, p)| *p), key_file.as_ref().map(|(_, p)| *p)];
    let result = async {
        let store = store::open(global, true).await?;
        let gate = Keygate::builder(preset(global))
            .store(store)
            .pepper(1, pepper::to_pepper(&pepper_text)?)
            .build()
            .map_err(|e| Failure::msg(e.to_string()))?;
        // Keys already in the store were hashed with another pepper: a new one would leave
        // them unusable the day the service switches to it.
        if made {
            let page = gate.list_keys(&global.workspace, None, None, 1).await.map_err(manage)?;
            if !page.keys.is_empty() {
                return Err(Failure::msg(format!(
                    "the workspace {} already has keys; set KEYGATE_PEPPER to \
                     the pepper they were minted with, or use `keygate mint` instead",
                    global.workspace
                )));
            }
        }
        let admin = NewKey::new(Owner::workspace(&global.workspace), &args.name)
            .scope_set(gate.preset().policy.full_access())
            .kind(KeyKind::Service);
        let minted = gate.mint(admin).await.map_err(manage)?;
        Ok((gate, minted))
    }
    .await;
    let (gate, minted) = match result {
        Ok(done) => done,
        Err(e) => {
            created.into_iter().for_each(remove);
            return Err(e);
        }
    };
    let shown = (|| {
        let mut text = String::new();
        match pepper_file {
            Some((file, path)) => {
                pepper::write_line(file, path, pepper_text.expose_secret())?;
                text.push_str(&format!("pepper written to {}\n", path.display()));
            }
            None if made => {
                text.push_str(&format!("KEYGATE_PEPPER={}\n", pepper_text.expose_secret()));
            }
            None => {}
        }
        text.push_str(&format!("id: {}\n", minted.record.id));
        match key_file {
            Some((file, path)) => {
                pepper::write_line(file, path, minted.key.expose_secret())?;
                text.push_str(&format!("admin key written to {}\n", path.display()));
            }
            None => text.push_str(&format!("key: {}\n", minted.key.expose_secret())),
        }
        print(&text)
    })();
    if let Err(e) = shown {
        // A secret that reached nobody: the admin key is revoked and the files removed, so that
        // a second `keygate init` starts clean.
        let revoked = gate.revoke_key(&minted.record.id).await.is_ok();
        created.into_iter().for_each(remove);
        // Even a reader that went away is a failure here: what it did not read is shown once.
        let m = match e {
            Failure::Message(m) => m,
            Failure::Pipe => "cannot write to stdout: the reader went away".to_owned(),
        };
        return Err(Failure::msg(if revoked {
            format!("{m}; the admin key {} was revoked, run keygate init again", minted.record.id)
        } else {
            format!("{m}; revoke the admin key {} (it was never shown)", minted.record.id)
        }));
    }
    if made && global.pepper_file.is_none() || args.key_file.is_none() {
        eprintln!("keygate: the secrets above are shown once; keep them in your secret store");
    }
    Ok(())
}

fn remove(path: Option<&Path>) {
    if let Some(path) = path {
        let _ = std::fs::remove_file(path);
    }
}

async fn mint(global: &Global, args: Mint) -> Result<(), Failure> {
    let gate = gate(global, Some("mint"), false).await?;
    let owner = match &args.user {
        Some(user) => Owner::user(&global.workspace, user),
        None => Owner::workspace(&global.workspace),
    };
    let mut new = NewKey::new(owner, args.name)
        .scope_set(scopes(&args.scopes)?)
        .environment(args.environment)
        .kind(if args.kind == "service" { KeyKind::Service } else { KeyKind::User });
    if let Some(at) = args.expires {
        new = new.expires_at(at);
    }
    if let Some(d) = args.description {
        new = new.description(d);
    }
    if let Some(plan) = args.plan {
        new = new.rate_plan(plan);
    }
    if let Some(plan) = args.limits.and_then(|l| l.0) {
        new = new.rate_limits(plan.windows().iter().copied());
    }
    if let Some(n) = args.remaining {
        new = new.remaining(n);
    }
    if let Some(refill) = args.refill {
        new = new.refill(refill);
    }
    let minted = gate.mint(new).await.map_err(manage)?;
    let info = gate.get_key(&minted.record.id).await.map_err(manage)?;
    show_minted(&info, minted.key.expose_secret(), args.json)
}

fn scopes(list: &[String]) -> Result<ScopeSet, Failure> {
    ScopeSet::parse(list.iter().map(|s| s.trim()).filter(|s| !s.is_empty()))
        .map_err(|e| Failure::msg(e.to_string()))
}

async fn update(global: &Global, args: Update) -> Result<(), Failure> {
    let gate = gate(global, None, false).await?;
    let changes = KeyUpdate {
        name: args.name,
        description: args.description.map(|d| (!d.is_empty()).then_some(d)),
        scopes: args.scopes.as_deref().map(scopes).transpose()?,
        expires_at: args.expires.map(|e| e.0),
        disabled: args.disabled,
        rate_plan: args.plan.map(|p| (p != "default").then_some(p)),
        rate_limits: args.limits.map(|l| l.0),
        remaining: args.remaining.map(|r| r.0),
        refill: args.refill.map(|r| r.0),
        ..KeyUpdate::default()
    };
    if changes == KeyUpdate::default() {
        return Err(Failure::msg(
            "nothing to change: pass --name, --description, --scopes, --expires, --disabled, --plan, --limits, --remaining or --refill",
        ));
    }
    show_key(&gate.update_key(&args.id, changes).await.map_err(manage)?, args.json)
}

fn show_keys(keys: &[KeyInfo], json: bool) -> Result<(), Failure> {
    if json { print_json(&keys) } else { print(&output::key_table(keys)) }
}

fn show_key(key: &KeyInfo, json: bool) -> Result<(), Failure> {
    if json { print_json(key) } else { print(&output::key_details(key)) }
}

/// A key just minted or rotated: the one answer that shows the full key.
fn show_minted(info: &KeyInfo, key: &str, json: bool) -> Result<(), Failure> {
    if json {
        let mut value = serde_json::to_value(info)
            .map_err(|e| Failure::msg(format!("cannot write JSON: {e}")))?;
        if let Some(object) = value.as_object_mut() {
            object.insert("key".into(), key.into());
        }
        print_json(&value)
    } else {
        print(&format!("{}key:         {key}\n", output::key_details(info)))
    }
}

/// `keygate inspect`: offline, never prints the secret. Exit 0 for a key whose checksum
/// matches, 1 for anything else.
pub(crate) fn inspect(global: &Global, args: &Inspect) -> Result<ExitCode, Failure> {
    let text = if args.key == "-" {
        let mut text = String::new();
        std::io::stdin()
            .lock()
            .take(4096)
            .read_to_string(&mut text)
            .map_err(|e| Failure::msg(format!("cannot read the key from stdin: {e}")))?;
        text.trim().to_owned()
    } else {
        args.key.trim().to_owned()
    };
    let text = keygate::Secret::new(text);
    let names: Vec<&str> = match &global.preset {
        Some(p) => vec![p.as_str()],
        None => PRESETS.to_vec(),
    };
    let mut answer = None;
    for name in names {
        let Some(preset) = Preset::by_name(name) else { continue };
        match preset.format.parse(text.expose_secret()) {
            Err(ParseError::UnknownPrefix | ParseError::Empty | ParseError::InvalidCharacter) => {}
            result => {
                answer = Some(describe(name, &preset, result));
                break;
            }
        }
    }
    let (valid, fields) = answer.unwrap_or_else(|| {
        (false, vec![("checksum", "-".into()), ("error", "not a key of any known preset".into())])
    });
    if args.json {
        let object: serde_json::Map<String, serde_json::Value> =
            fields.into_iter().map(|(k, v)| (k.to_owned(), v.into())).collect();
        print_json(&object)?;
    } else {
        let lines: String =
            fields.iter().map(|(k, v)| format!("{:<12} {v}\n", format!("{k}:"))).collect();
        print(&lines)?;
    }
    Ok(if valid { ExitCode::SUCCESS } else { ExitCode::from(1) })
}

type Fields = Vec<(&'static str, String)>;

fn describe(
    name: &str,
    preset: &Preset,
    result: Result<ParsedKey<'_>, ParseError>,
) -> (bool, Fields) {
    let mut fields: Fields = vec![("preset", name.to_owned())];
    match result {
        Ok(parsed) => {
            fields.push(("environment", parsed.environment().as_str().into()));
            fields.push(("id", parsed.id().to_string()));
            fields.push(("preview", preset.format.preview_of(parsed.environment(), &parsed.id())));
            fields.push(("checksum", "ok".into()));
            (true, fields)
        }
        Err(ParseError::RetiredVersion { prefix }) => {
            fields.push((
                "retired",
                format!("yes: keys starting with {prefix} are no longer accepted"),
            ));
            (false, fields)
        }
        Err(ParseError::BadChecksum) => {
            fields.push(("checksum", "bad".into()));
            (false, fields)
        }
        Err(e) => {
            fields.push(("checksum", "-".into()));
            fields.push(("error", e.to_string()));
            (false, fields)
        }
    }
}
