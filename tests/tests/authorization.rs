//! The authorization model of key management, as one table over real HTTP: callers × actions →
//! the exact answer, on every framework and in every preset where the rule applies. A refused
//! request must create and change nothing, which each row checks against the store.

#![allow(clippy::unwrap_used)]

use std::collections::BTreeMap;
use std::time::Duration;

use keygate::format::Environment;
use keygate::manage::NewKey;
use keygate::preset::Preset;
use keygate::scope::{Requirement, ScopeSet};
use keygate::store::KeyUpdate;
use keygate::store::{KeyKind, ListQuery, Owner};
use keygate_conformance::expect::{Expected, invalid_field, plain};
use keygate_conformance::{FRAMEWORKS, PRESETS, Request, Server};
use keygate_demo::DEMO_WORKSPACE;
use serde_json::{Value, json};

const OTHER_WORKSPACE: &str = "wks_other";
const READ: &str = "tasks:read";
const WRITE: &str = "tasks:write";

/// Who sends the request.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Who {
    /// The demo's bootstrap admin key: live, no user, every scope.
    Root,
    /// A test key of the workspace with every scope.
    TestAdmin,
    /// A user's key (user U) with the admin scope and `tasks:read`.
    UserU,
    /// Another user's key (user V), the same scopes.
    UserV,
    /// A service token with the admin scope, `tasks:read` and `tasks:write`.
    Service,
    /// A key holding the admin scope only.
    AdminOnly,
    /// A key holding the admin scope and `tasks:read`.
    AdminRead,
    /// An admin key of another workspace.
    Other,
}

/// The key an action is about, minted by the operator for the row.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Target {
    /// A live workspace key (no user) with `tasks:read`.
    Plain,
    OfU,
    OfV,
    ServiceToken,
    TestKey,
    OtherWorkspace,
    Revoked,
    Expired,
    Disabled,
    /// `tasks:read` and `tasks:write`.
    Broad,
    /// The caller's own key.
    Itself,
}

#[derive(Debug, Clone)]
enum Action {
    /// `POST /v1/api-keys` with these members besides `name` (JSON object text without braces).
    Mint(String),
    Get(Target),
    /// `PATCH` with this body.
    Patch(Target, String),
    Delete(Target),
    Rotate(Target),
    /// `GET /v1/api-keys`: every page.
    List,
}

#[derive(Debug, Clone)]
enum Outcome {
    /// Done, with this status.
    Done(u16),
    /// Refused with exactly this answer.
    Refused(Expected<'static>),
}

struct Row {
    who: Who,
    action: Action,
    outcome: Outcome,
}

fn row(who: Who, action: Action, outcome: Outcome) -> Row {
    Row { who, action, outcome }
}

fn not_found() -> Outcome {
    Outcome::Refused(plain(404, "not_found", "No such key.", ""))
}

fn not_held(scopes: &[&str]) -> Outcome {
    let list = scopes.iter().map(|s| format!("`{s}`")).collect::<Vec<_>>().join(", ");
    Outcome::Refused(plain(
        403,
        "scope_not_held",
        &format!("A key can only grant scopes it holds itself; it does not hold {list}."),
        &format!(r#""not_held":{}"#, json!(scopes)),
    ))
}

fn environment_not_allowed() -> Outcome {
    Outcome::Refused(plain(
        403,
        "environment_not_allowed",
        "A test key can only mint and manage test keys.",
        "",
    ))
}

fn field_not_allowed(field: &str) -> Outcome {
    let message = match field {
        "kind" => "A user's key can only mint user keys.".to_owned(),
        f => format!("`{f}` can only be set by the operator."),
    };
    Outcome::Refused(plain(403, "field_not_allowed", &message, &format!(r#""field":"{field}""#)))
}

fn key_expired() -> Outcome {
    Outcome::Refused(plain(
        409,
        "key_expired",
        "The key has expired and cannot be changed or rotated. Mint a new key.",
        "",
    ))
}

fn key_disabled() -> Outcome {
    Outcome::Refused(plain(
        409,
        "key_disabled",
        "The key is disabled. Enable it before rotating it.",
        "",
    ))
}

fn control(field: &str) -> Outcome {
    Outcome::Refused(invalid_field(
        field,
        &format!("{field} must not contain control or bidirectional formatting characters."),
    ))
}

/// What a preset's rules depend on.
struct Flags {
    admin: String,
    /// The admin scope implies the data scopes (`admin:*` ⇒ `*`, `admin` ⇒ everything).
    admin_is_all: bool,
    environments: bool,
    field: &'static str,
}

impl Flags {
    fn of(preset: &Preset) -> Self {
        let admin = preset.admin_scope.as_str().to_owned();
        let held = ScopeSet::parse([admin.as_str()]).unwrap();
        let read = Requirement::all_of([READ]).unwrap();
        Flags {
            admin_is_all: preset.policy.check(&held, &read).is_ok(),
            admin,
            environments: preset.format.has_environments(),
            field: preset.scopes_field,
        }
    }

    fn scopes(&self, scopes: &[&str]) -> String {
        format!(r#""{}":{}"#, self.field, json!(scopes))
    }
}

/// The table. Rows that a preset cannot express (test keys where there are none) are left out.
fn matrix(f: &Flags) -> Vec<Row> {
    use Action::*;
    use Outcome::Done;
    use Target::*;
    use Who::*;
    let a = f.admin.as_str();
    let s = |scopes: &[&str]| f.scopes(scopes);
    let name = |n: &str| format!(r#""name":{}"#, json!(n));
    // Scopes beyond an admin-and-`tasks:read` key: refused, unless the preset's admin scope
    // implies every scope, so that such a key holds them all.
    let beyond = |status, scopes: &[&str]| {
        if f.admin_is_all { Done(status) } else { not_held(scopes) }
    };
    let mut rows = vec![
        // Subset: mint within and beyond the caller's own scopes.
        row(Root, Mint(s(&[READ, WRITE])), Done(201)),
        row(AdminRead, Mint(s(&[READ])), Done(201)),
        row(AdminRead, Mint(s(&[a])), Done(201)),
        row(AdminRead, Mint(s(&[READ, WRITE])), beyond(201, &[WRITE])),
        row(AdminRead, Mint(s(&["tasks:*"])), beyond(201, &["tasks:*"])),
        row(AdminOnly, Mint(s(&[READ])), beyond(201, &[READ])),
        row(AdminOnly, Mint(s(&["*"])), beyond(201, &["*"])),
        // Subset: PATCH own and other keys within and beyond.
        row(AdminRead, Patch(Itself, format!("{{{}}}", s(&[a, READ]))), Done(200)),
        row(
            AdminRead,
            Patch(Itself, format!("{{{}}}", s(&[a, READ, WRITE]))),
            beyond(200, &[WRITE]),
        ),
        row(AdminOnly, Patch(Itself, format!("{{{}}}", s(&[a, READ]))), beyond(200, &[READ])),
        row(AdminRead, Patch(Plain, format!("{{{}}}", s(&[READ]))), Done(200)),
        row(AdminRead, Patch(Plain, format!("{{{}}}", s(&[WRITE]))), beyond(200, &[WRITE])),
        // Rotation hands over the key: the caller must hold its scopes.
        row(AdminRead, Rotate(Plain), Done(201)),
        row(AdminRead, Rotate(Broad), beyond(201, &[WRITE])),
        row(Service, Rotate(Broad), Done(201)),
        // Owner: a user's key manages that user's keys only.
        row(UserU, Mint(s(&[READ])), Done(201)),
        row(UserU, Mint(format!(r#"{},"kind":"service""#, s(&[READ]))), field_not_allowed("kind")),
        row(Service, Mint(format!(r#"{},"kind":"service""#, s(&[READ]))), Done(201)),
        row(UserU, Get(OfU), Done(200)),
        row(UserU, Patch(OfU, format!("{{{}}}", name("renamed"))), Done(200)),
        row(UserU, Rotate(OfU), Done(201)),
        row(UserU, Delete(OfU), Done(200)),
        row(UserU, Get(OfV), not_found()),
        row(UserU, Patch(OfV, format!("{{{}}}", name("renamed"))), not_found()),
        row(UserU, Delete(OfV), not_found()),
        row(UserU, Rotate(OfV), not_found()),
        row(UserV, Rotate(OfU), not_found()),
        row(UserU, Get(ServiceToken), not_found()),
        row(UserU, Rotate(ServiceToken), not_found()),
        row(UserU, Rotate(Plain), not_found()),
        row(UserU, List, Done(200)),
        row(Service, Get(OfU), Done(200)),
        row(Service, Rotate(OfU), Done(201)),
        row(Root, Rotate(ServiceToken), Done(201)),
        // Workspace: another workspace's keys do not exist.
        row(Other, Get(Plain), not_found()),
        row(Other, Patch(Plain, format!("{{{}}}", name("mine now"))), not_found()),
        row(Other, Delete(Plain), not_found()),
        row(Other, Rotate(Plain), not_found()),
        row(Other, List, Done(200)),
        row(Root, Get(OtherWorkspace), not_found()),
        row(Root, Rotate(OtherWorkspace), not_found()),
        // Plan: the operator's.
        row(
            Root,
            Mint(format!(r#"{},"rate_plan":"professional""#, s(&[READ]))),
            field_not_allowed("rate_plan"),
        ),
        row(
            Root,
            Patch(Plain, r#"{"rate_plan":"professional"}"#.into()),
            field_not_allowed("rate_plan"),
        ),
        row(Root, Patch(Itself, r#"{"rate_plan":null}"#.into()), field_not_allowed("rate_plan")),
        row(
            Root,
            Mint(format!(r#"{},"rate_limits":["1000/s"]"#, s(&[READ]))),
            field_not_allowed("rate_limits"),
        ),
        row(
            Root,
            Patch(Itself, r#"{"rate_limits":["1000/s"]}"#.into()),
            field_not_allowed("rate_limits"),
        ),
        row(Root, Patch(Plain, r#"{"rate_limits":null}"#.into()), field_not_allowed("rate_limits")),
        // Lifecycle.
        row(Root, Get(Revoked), Done(200)),
        row(Root, Patch(Revoked, format!("{{{}}}", name("back"))), not_found()),
        row(Root, Delete(Revoked), not_found()),
        row(Root, Rotate(Revoked), not_found()),
        row(Root, Patch(Expired, r#"{"expires_at":null}"#.into()), key_expired()),
        row(Root, Patch(Expired, r#"{"expires_at":"2030-01-01T00:00:00Z"}"#.into()), key_expired()),
        row(Root, Patch(Expired, format!("{{{}}}", name("renamed"))), key_expired()),
        row(Root, Rotate(Expired), key_expired()),
        row(Root, Delete(Expired), Done(200)),
        row(Root, Rotate(Disabled), key_disabled()),
        row(Root, Patch(Disabled, r#"{"disabled":false}"#.into()), Done(200)),
        // Input.
        row(
            Root,
            Mint(format!("{},{}", s(&[READ]), s(&[a]))),
            Outcome::Refused(invalid_field(
                f.field,
                &format!("The field `{}` appears more than once.", f.field),
            )),
        ),
        row(
            Root,
            Patch(Plain, r#"{"name":"one","name":"two"}"#.into()),
            Outcome::Refused(invalid_field("name", "The field `name` appears more than once.")),
        ),
        row(Root, Mint(r#""name":"a\u0000b""#.into()), control("name")),
        row(Root, Mint(r#""name":"line\nbreak""#.into()), control("name")),
        row(Root, Mint(r#""name":"del\u007f""#.into()), control("name")),
        row(Root, Mint(r#""name":"c1\u0085""#.into()), control("name")),
        row(Root, Mint(r#""name":"txt.\u202Eexe""#.into()), control("name")),
        row(Root, Mint(r#""name":"iso\u2066late""#.into()), control("name")),
        row(Root, Mint(r#""name":"ok","description":"bell\u0007""#.into()), control("description")),
        row(Root, Mint(r#""name":"ok","description":"\u200Fmark""#.into()), control("description")),
        row(Root, Patch(Plain, r#"{"name":"nul\u0000"}"#.into()), control("name")),
        row(Root, Patch(Plain, r#"{"description":"\u202Dover"}"#.into()), control("description")),
        row(Root, Mint(r#""name":"Ünïcödé is fine""#.into()), Done(201)),
    ];
    if f.environments {
        rows.extend([
            // Environment: a test key sees and manages test keys only.
            row(TestAdmin, Mint(s(&[READ])), Done(201)),
            row(TestAdmin, Mint(format!(r#"{},"environment":"test""#, s(&[READ]))), Done(201)),
            row(
                TestAdmin,
                Mint(format!(r#"{},"environment":"live""#, s(&[READ]))),
                environment_not_allowed(),
            ),
            row(TestAdmin, Get(Plain), not_found()),
            row(TestAdmin, Patch(Plain, format!("{{{}}}", name("renamed"))), not_found()),
            row(TestAdmin, Delete(Plain), not_found()),
            row(TestAdmin, Rotate(Plain), not_found()),
            row(TestAdmin, Get(TestKey), Done(200)),
            row(TestAdmin, Patch(TestKey, format!("{{{}}}", name("renamed"))), Done(200)),
            row(TestAdmin, Rotate(TestKey), Done(201)),
            row(TestAdmin, Delete(TestKey), Done(200)),
            row(TestAdmin, List, Done(200)),
            // A live key manages both.
            row(Root, Mint(format!(r#"{},"environment":"test""#, s(&[READ]))), Done(201)),
            row(Root, Get(TestKey), Done(200)),
            row(Root, Rotate(TestKey), Done(201)),
        ]);
    }
    rows
}

/// One row's keys: the caller's and the target's.
struct Keys {
    caller_key: String,
    caller: keygate::store::Owner,
    caller_environment: Environment,
    target: Option<String>,
}

async fn mint(s: &Server, new: NewKey) -> (String, String) {
    let minted = s.gate.mint(new).await.unwrap();
    (minted.record.id.to_string(), minted.key.expose_secret().to_owned())
}

async fn setup(s: &Server, who: Who, target: Option<Target>) -> Keys {
    let full = s.preset.policy.full_access();
    let admin = s.preset.admin_scope.as_str();
    let ws = || Owner::workspace(DEMO_WORKSPACE);
    let key = |owner: Owner, scopes: &[&str]| {
        NewKey::new(owner, "matrix caller").scopes(scopes.iter().copied()).unwrap()
    };
    let (caller, environment, caller_id, caller_key) = match who {
        Who::Root => {
            let id = s.gate.verify(&s.admin_key).await.unwrap().key_id().to_string();
            (ws(), Environment::Live, id, s.admin_key.clone())
        }
        other => {
            let new = match other {
                Who::TestAdmin => NewKey::new(ws(), "test admin")
                    .scope_set(full.clone())
                    .environment(Environment::Test),
                Who::UserU => key(Owner::user(DEMO_WORKSPACE, "usr_u"), &[admin, READ]),
                Who::UserV => key(Owner::user(DEMO_WORKSPACE, "usr_v"), &[admin, READ]),
                Who::Service => key(ws(), &[admin, READ, WRITE]).kind(KeyKind::Service),
                Who::AdminOnly => key(ws(), &[admin]),
                Who::AdminRead => key(ws(), &[admin, READ]),
                _ => NewKey::new(Owner::workspace(OTHER_WORKSPACE), "other admin")
                    .scope_set(full.clone()),
            };
            let owner = new_owner(other);
            let env = if other == Who::TestAdmin { Environment::Test } else { Environment::Live };
            let (id, k) = mint(s, new).await;
            (owner, env, id, k)
        }
    };
    let target = match target {
        None => None,
        Some(Target::Itself) => Some(caller_id),
        Some(t) => {
            let read = |owner: Owner| NewKey::new(owner, "matrix target").scopes([READ]).unwrap();
            let new = match t {
                Target::OfU => read(Owner::user(DEMO_WORKSPACE, "usr_u")),
                Target::OfV => read(Owner::user(DEMO_WORKSPACE, "usr_v")),
                Target::ServiceToken => read(ws()).kind(KeyKind::Service),
                Target::TestKey => read(ws()).environment(Environment::Test),
                Target::OtherWorkspace => read(Owner::workspace(OTHER_WORKSPACE)),
                Target::Broad => read(ws()).scopes([READ, WRITE]).unwrap(),
                Target::Expired => read(ws())
                    .expires_at(s.gate.clock().now().saturating_add(Duration::from_secs(10))),
                _ => read(ws()),
            };
            let (id, _) = mint(s, new).await;
            let parsed = id.parse().unwrap();
            match t {
                Target::Revoked => {
                    s.gate.revoke_key(&parsed).await.unwrap();
                }
                Target::Disabled => {
                    let off = KeyUpdate { disabled: Some(true), ..KeyUpdate::default() };
                    s.gate.update_key(&parsed, off).await.unwrap();
                }
                _ => {}
            }
            Some(id)
        }
    };
    // Past the expiry of an `Expired` target, and into fresh rate-limit windows.
    s.advance(Duration::from_secs(61));
    Keys { caller_key, caller, caller_environment: environment, target }
}

fn new_owner(who: Who) -> Owner {
    match who {
        Who::UserU => Owner::user(DEMO_WORKSPACE, "usr_u"),
        Who::UserV => Owner::user(DEMO_WORKSPACE, "usr_v"),
        Who::Other => Owner::workspace(OTHER_WORKSPACE),
        _ => Owner::workspace(DEMO_WORKSPACE),
    }
}

/// Every stored setting of every key of both workspaces (usage aside, which requests move).
async fn settings(s: &Server) -> BTreeMap<String, String> {
    let mut all = BTreeMap::new();
    for workspace in [DEMO_WORKSPACE, OTHER_WORKSPACE] {
        let mut after = None;
        loop {
            let query = ListQuery::new(workspace).after(after).limit(1000);
            let page = s.gate.store().list(&query).await.unwrap();
            for r in &page.records {
                let settings = (
                    &r.owner,
                    r.kind,
                    r.environment,
                    &r.scopes,
                    &r.name,
                    &r.description,
                    r.expires_at,
                    r.revoked_at,
                    r.disabled,
                    &r.rate_plan,
                    r.hash.as_bytes(),
                );
                all.insert(r.id.to_string(), format!("{settings:?}"));
            }
            match page.next {
                Some(next) => after = Some(next),
                None => break,
            }
        }
    }
    all
}

fn request(action: &Action, target: Option<&str>) -> Request {
    let path = |suffix: &str| format!("/v1/api-keys/{}{suffix}", target.unwrap());
    match action {
        Action::Mint(members) => {
            let body = if members.starts_with(r#""name""#) {
                format!("{{{members}}}")
            } else {
                format!(r#"{{"name":"matrix mint",{members}}}"#)
            };
            Request::new("POST", "/v1/api-keys").json(&body)
        }
        Action::Get(_) => Request::get(&path("")),
        Action::Patch(_, body) => Request::new("PATCH", &path("")).json(body),
        Action::Delete(_) => Request::new("DELETE", &path("")),
        Action::Rotate(_) => Request::new("POST", &path("/rotate")),
        Action::List => Request::get("/v1/api-keys?limit=100"),
    }
}

fn target_of(action: &Action) -> Option<Target> {
    match action {
        Action::Get(t) | Action::Patch(t, _) | Action::Delete(t) | Action::Rotate(t) => Some(*t),
        Action::Mint(_) | Action::List => None,
    }
}

/// Lists every page the caller sees.
async fn list_all(s: &Server, key: &str) -> Vec<Value> {
    let mut items = Vec::new();
    let mut path = "/v1/api-keys?limit=100".to_owned();
    loop {
        let r = s.send(s.with_key(Request::get(&path), key)).await;
        assert_eq!(r.status, 200, "{}", r.body);
        let page = r.json();
        items.extend(page["data"].as_array().unwrap().iter().cloned());
        match page["next"].as_str() {
            Some(next) => path = format!("/v1/api-keys?limit=100&after={next}"),
            None => return items,
        }
    }
}

async fn run_matrix(s: Server) -> usize {
    let flags = Flags::of(&s.preset);
    let rows = matrix(&flags);
    let count = rows.len();
    for (i, row) in rows.into_iter().enumerate() {
        let case = format!("{} row {i}: {:?} {:?}", s.name(), row.who, row.action);
        let keys = setup(&s, row.who, target_of(&row.action)).await;
        let before = settings(&s).await;
        let rid = format!("authz-{i}");
        let req = request(&row.action, keys.target.as_deref()).header("X-Request-Id", &rid);
        let reply = s.send(s.with_key(req, &keys.caller_key)).await;
        match &row.outcome {
            Outcome::Refused(expected) => {
                expected.check(&reply, &s.preset, &rid, &case);
                assert_eq!(settings(&s).await, before, "{case}: a refused request changes nothing");
                assert!(reply.header("cache-control").is_none(), "{case}");
            }
            Outcome::Done(status) => {
                assert_eq!(reply.status, *status, "{case}: {}", reply.body);
                done(&s, &row.action, &keys, &reply, &case).await;
            }
        }
    }
    s.stop().await;
    count
}

/// What an allowed action must have done.
async fn done(
    s: &Server,
    action: &Action,
    keys: &Keys,
    reply: &keygate_conformance::Reply,
    case: &str,
) {
    let body = reply.json();
    let carries_key = matches!(action, Action::Mint(_) | Action::Rotate(_));
    assert_eq!(
        reply.header("cache-control"),
        carries_key.then_some("no-store"),
        "{case}: an answer with a key is not stored"
    );
    match action {
        Action::Mint(members) => {
            let key = body["key"].as_str().unwrap();
            let environment = if members.contains(r#""environment":"test""#) {
                Environment::Test
            } else if members.contains(r#""environment":"live""#) {
                Environment::Live
            } else {
                keys.caller_environment
            };
            let principal = s.gate.verify(key).await.unwrap();
            assert_eq!(principal.environment(), environment, "{case}: environment");
            assert_eq!(principal.workspace_id(), keys.caller.workspace_id, "{case}: workspace");
            assert_eq!(principal.user_id(), keys.caller.user_id.as_deref(), "{case}: user");
        }
        Action::Rotate(_) => {
            let old = keys.target.as_deref().unwrap();
            assert_eq!(body["rotated_from"], old, "{case}");
            let key = body["key"].as_str().unwrap();
            let principal = s.gate.verify(key).await.unwrap();
            let before = s.gate.store().find(&old.parse().unwrap()).await.unwrap().unwrap();
            assert_eq!(principal.scopes(), &before.scopes, "{case}: same scopes");
            assert_eq!(principal.record().owner, before.owner, "{case}: same owner");
        }
        Action::List => {
            let items = list_all(s, &keys.caller_key).await;
            assert!(!items.is_empty(), "{case}: the caller sees at least itself");
            for item in &items {
                let id = item["id"].as_str().unwrap();
                let record = s.gate.store().find(&id.parse().unwrap()).await.unwrap().unwrap();
                assert_eq!(record.owner.workspace_id, keys.caller.workspace_id, "{case}: {id}");
                if keys.caller.user_id.is_some() {
                    assert_eq!(record.owner.user_id, keys.caller.user_id, "{case}: {id}");
                }
                if keys.caller_environment == Environment::Test {
                    assert_eq!(record.environment, Environment::Test, "{case}: {id}");
                }
            }
        }
        Action::Get(_) | Action::Patch(..) | Action::Delete(_) => {
            assert_eq!(body["id"], keys.target.as_deref().unwrap(), "{case}");
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_authorization_matrix_on_every_framework_and_preset() {
    let mut cells = 0;
    for &framework in FRAMEWORKS {
        for preset in PRESETS {
            cells += run_matrix(Server::start(framework, preset).await).await;
        }
    }
    // Every row of every preset ran on every framework.
    let per_framework: usize =
        PRESETS.iter().map(|p| matrix(&Flags::of(&Preset::by_name(p).unwrap())).len()).sum();
    assert_eq!(cells, per_framework * FRAMEWORKS.len());
    eprintln!("authorization matrix: {cells} cells");
}
