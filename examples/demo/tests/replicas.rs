//! keygate on many replicas: two demo processes on one PostgreSQL and one Redis, and a demo
//! whose database goes away and comes back. Needs `KEYGATE_TEST_POSTGRES_URL` and
//! `KEYGATE_TEST_REDIS_URL`; each test uses a schema and a Redis prefix of its own and removes
//! them. Without the servers these tests are ignored; `cargo test -- --include-ignored` runs
//! them, and then a missing variable or a server that does not answer fails them.

#![allow(clippy::unwrap_used)]

use std::io::{Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

mod common;

use common::{
    BIN, create_schema, drop_redis_prefix, drop_schema, get, in_schema, redis_answers, server,
    unique,
};

const PEPPER: &str = "a shared pepper for the replica test";

struct Replica {
    child: Child,
    addr: String,
    admin: String,
}

impl Drop for Replica {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn start(store: &str, redis: &str, prefix: &str) -> Replica {
    let mut child = Command::new(BIN)
        .args(["--preset", "plane", "--addr", "127.0.0.1:0", "--store", store, "--redis", redis])
        .env("KEYGATE_PEPPER", PEPPER)
        .env("KEYGATE_REDIS_PREFIX", prefix)
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let ready = common::ready(&mut child);
    Replica {
        addr: ready["addr"].as_str().unwrap().to_owned(),
        admin: ready["admin_key"].as_str().unwrap().to_owned(),
        child,
    }
}

/// One request; returns the status and the body.
fn call(addr: &str, method: &str, path: &str, key: &str, body: &str) -> (u16, String) {
    let mut stream = TcpStream::connect(addr).unwrap();
    write!(
        stream,
        "{method} {path} HTTP/1.1\r\nHost: {addr}\r\nX-Api-Key: {key}\r\nContent-Type: application/json\r\n\
         Content-Length: {}\r\nConnection: close\r\n\r\n{body}",
        body.len()
    )
    .unwrap();
    let mut reply = String::new();
    stream.read_to_string(&mut reply).unwrap();
    let status = reply.split(' ').nth(1).unwrap().parse().unwrap();
    let body = reply.split_once("\r\n\r\n").map(|(_, b)| b.to_owned()).unwrap_or_default();
    (status, body)
}

fn mint(r: &Replica) -> String {
    let (status, body) = call(
        &r.addr,
        "POST",
        "/v1/api-keys",
        &r.admin,
        r#"{"name":"replica","scopes":["tasks:read"]}"#,
    );
    assert_eq!(status, 201, "{body}");
    let json: serde_json::Value = serde_json::from_str(&body).unwrap();
    json["key"].as_str().unwrap().to_owned()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "needs KEYGATE_TEST_POSTGRES_URL and KEYGATE_TEST_REDIS_URL"]
async fn two_replicas_share_keys_revocations_and_limits() {
    let (pg, redis) = (server("KEYGATE_TEST_POSTGRES_URL"), server("KEYGATE_TEST_REDIS_URL"));
    redis_answers(&redis).await;
    let schema = unique("replicas");
    let prefix = unique("replicas");
    create_schema(&pg, &schema).await;
    let store = in_schema(&pg, &schema);
    let (a, b) = (start(&store, &redis, &prefix), start(&store, &redis, &prefix));

    // A key minted on A works on B.
    let key = mint(&a);
    assert_eq!(call(&b.addr, "GET", "/v1/ping", &key, "").0, 200, "a key minted on A works on B");

    // A limit of L (60 a minute for a Plane API key), 2L requests split across A and B: exactly L
    // pass. Start early in a minute, so that the window cannot end mid-test.
    let limited = mint(&a);
    while SystemTime::now().duration_since(UNIX_EPOCH).unwrap().as_secs() % 60 > 40 {
        std::thread::sleep(Duration::from_millis(200));
    }
    // All 120 at once, half to each replica, released together.
    let start = std::sync::Barrier::new(120);
    let statuses: Vec<u16> = std::thread::scope(|scope| {
        let workers: Vec<_> = (0..120)
            .map(|i| {
                let (r, start, limited) = (if i % 2 == 0 { &a } else { &b }, &start, &limited);
                scope.spawn(move || {
                    start.wait();
                    call(&r.addr, "GET", "/v1/ping", limited, "").0
                })
            })
            .collect();
        workers.into_iter().map(|w| w.join().unwrap()).collect()
    });
    let passed = statuses.iter().filter(|&&s| s == 200).count();
    let refused = statuses.iter().filter(|&&s| s == 429).count();
    assert_eq!((passed, refused), (60, 60), "exactly the limit passes across both replicas");

    // A key revoked on A is refused on B within a second (B has it cached).
    let doomed = mint(&a);
    assert_eq!(call(&b.addr, "GET", "/v1/ping", &doomed, "").0, 200);
    let (_, me) = call(&a.addr, "GET", "/v1/me", &doomed, "");
    let id = serde_json::from_str::<serde_json::Value>(&me).unwrap()["api_key_id"]
        .as_str()
        .unwrap()
        .to_owned();
    let revoked = Instant::now();
    assert_eq!(call(&a.addr, "DELETE", &format!("/v1/api-keys/{id}"), &a.admin, "").0, 200);
    loop {
        let (status, body) = call(&b.addr, "GET", "/v1/ping", &doomed, "");
        if status == 401 {
            assert_eq!(body, r#"{"detail":"Given API token is not valid"}"#);
            break;
        }
        assert!(revoked.elapsed() < Duration::from_secs(1), "B still accepts a key revoked on A");
    }
    println!("revocation on A refused on B after {:?}", revoked.elapsed());

    drop((a, b));
    drop_schema(&pg, &schema).await;
    drop_redis_prefix(&redis, &prefix).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "needs KEYGATE_TEST_POSTGRES_URL and KEYGATE_TEST_REDIS_URL"]
async fn fifty_credits_pass_exactly_fifty_requests_across_two_replicas() {
    let (pg, redis) = (server("KEYGATE_TEST_POSTGRES_URL"), server("KEYGATE_TEST_REDIS_URL"));
    redis_answers(&redis).await;
    let schema = unique("credits");
    let prefix = unique("credits");
    create_schema(&pg, &schema).await;
    let store = in_schema(&pg, &schema);
    let (a, b) = (start(&store, &redis, &prefix), start(&store, &redis, &prefix));
    let body = r#"{"name":"trial","scopes":["tasks:read"],"remaining":50}"#;
    let (status, minted) = call(&a.addr, "POST", "/v1/api-keys", &a.admin, body);
    assert_eq!(status, 201, "{minted}");
    let minted: serde_json::Value = serde_json::from_str(&minted).unwrap();
    let key = minted["key"].as_str().unwrap().to_owned();
    let id = minted["id"].as_str().unwrap().to_owned();

    // 200 at once, half to each replica, released together. The key's plan (60 a minute)
    // refuses some before their credits are looked at; whatever the mix, 50 pass.
    let start = std::sync::Barrier::new(200);
    let statuses: Vec<(u16, String)> = std::thread::scope(|scope| {
        let workers: Vec<_> = (0..200)
            .map(|i| {
                let (r, start, key) = (if i % 2 == 0 { &a } else { &b }, &start, &key);
                scope.spawn(move || {
                    start.wait();
                    call(&r.addr, "GET", "/v1/ping", key, "")
                })
            })
            .collect();
        workers.into_iter().map(|w| w.join().unwrap()).collect()
    });
    let passed = statuses.iter().filter(|(s, _)| *s == 200).count();
    let refused = statuses.iter().filter(|(s, _)| *s == 429).count();
    assert_eq!((passed, refused), (50, 150), "exactly the credits pass across both replicas");
    let spent_out = statuses.iter().filter(|(_, b)| b.contains("used all its credits")).count();
    assert!(spent_out > 0, "some requests were refused for their credits, not only the limit");
    let (status, details) = call(&b.addr, "GET", &format!("/v1/api-keys/{id}"), &b.admin, "");
    assert_eq!(status, 200, "{details}");
    let details: serde_json::Value = serde_json::from_str(&details).unwrap();
    assert_eq!(details["remaining"], 0, "the balance is spent, never below zero");

    drop((a, b));
    drop_schema(&pg, &schema).await;
    drop_redis_prefix(&redis, &prefix).await;
}

/// A TCP proxy to PostgreSQL that the test can cut and restore.
struct Proxy {
    addr: SocketAddr,
    target: SocketAddr,
    task: Option<tokio::task::JoinHandle<()>>,
    connections: Arc<tokio::sync::Mutex<tokio::task::JoinSet<()>>>,
}

impl Proxy {
    async fn start(target: SocketAddr) -> Proxy {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let mut proxy = Proxy { addr, target, task: None, connections: Arc::default() };
        proxy.serve(listener);
        proxy
    }

    fn serve(&mut self, listener: tokio::net::TcpListener) {
        let (target, connections) = (self.target, self.connections.clone());
        self.task = Some(tokio::spawn(async move {
            while let Ok((mut client, _)) = listener.accept().await {
                connections.lock().await.spawn(async move {
                    if let Ok(mut server) = tokio::net::TcpStream::connect(target).await {
                        let _ = tokio::io::copy_bidirectional(&mut client, &mut server).await;
                    }
                });
            }
        }));
    }

    /// Closes the listener and every connection through it; when it returns, every socket
    /// through the proxy is closed.
    async fn cut(&mut self) {
        if let Some(task) = self.task.take() {
            task.abort();
            let _ = task.await;
        }
        self.connections.lock().await.shutdown().await;
    }

    async fn restore(&mut self) {
        let listener = tokio::net::TcpListener::bind(self.addr).await.unwrap();
        self.serve(listener);
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "needs KEYGATE_TEST_POSTGRES_URL"]
async fn an_unreachable_database_is_503_never_200_and_recovers() {
    let pg = server("KEYGATE_TEST_POSTGRES_URL");
    let schema = unique("outage");
    create_schema(&pg, &schema).await;
    let options: sqlx::postgres::PgConnectOptions = pg.parse().unwrap();
    let target: SocketAddr =
        format!("{}:{}", options.get_host(), options.get_port()).parse().unwrap();
    let mut proxy = Proxy::start(target).await;
    let via_proxy = pg.replacen(
        &format!("{}:{}", options.get_host(), options.get_port()),
        &proxy.addr.to_string(),
        1,
    );
    assert_ne!(via_proxy, pg, "the test URL names its host and port");

    let opts = keygate_demo::Options {
        preset: "workspace".into(),
        store: in_schema(&via_proxy, &schema),
        addr: "127.0.0.1:0".parse().unwrap(),
        ..keygate_demo::Options::default()
    };
    let overrides = keygate_demo::Overrides {
        pepper: Some(keygate::hash::Pepper::new(PEPPER).unwrap()),
        ..Default::default()
    };
    let demo = keygate_demo::Demo::build(&opts, overrides).await.unwrap();
    let running = demo.serve(opts.framework, opts.addr).await.unwrap();
    let addr = running.addr.to_string();
    let admin = running.admin_key.expose_secret().to_owned();
    let get = |key: &str| {
        let (addr, key) = (addr.clone(), key.to_owned());
        async move {
            tokio::task::spawn_blocking(move || get(&addr, "/v1/ping", Some(&key))).await.unwrap()
        }
    };
    assert!(get(&admin).await.starts_with("HTTP/1.1 200"));
    // A key the demo has cached, revoked below while the demo cannot hear about it.
    let owner = keygate::store::Owner::workspace(keygate_demo::DEMO_WORKSPACE);
    let doomed =
        running.gate.mint(keygate::manage::NewKey::new(owner.clone(), "doomed")).await.unwrap();
    let doomed_key = doomed.key.expose_secret().to_owned();
    assert!(get(&doomed_key).await.starts_with("HTTP/1.1 200"));

    // Minted before the cut and never used: the demo has nothing cached for it.
    let unseen = running
        .gate
        .mint(keygate::manage::NewKey::new(owner, "unseen"))
        .await
        .unwrap()
        .key
        .expose_secret()
        .to_owned();
    let unknown = keygate::preset::Preset::workspace()
        .format
        .generate(keygate::format::Environment::Live)
        .unwrap()
        .expose_secret()
        .to_owned();

    proxy.cut().await;
    let status = |reply: &str| reply.get(9..12).unwrap_or_default().to_owned();
    // A key the demo has to look up is answered 503 from the first request after the cut:
    // never 200, and never 401 (an unknown id is not known to be unknown).
    for key in [&unseen, &unknown] {
        let reply = get(key).await;
        assert_eq!(status(&reply), "503", "a lookup with the database gone: {reply:.12}");
        assert!(reply.contains("application/problem+json"), "{reply}");
        assert!(reply.contains(r#""code":"unavailable""#), "{reply}");
    }
    // A cached key may pass only until the lost connection is noticed (the listener's socket
    // closes with the proxy); then it is 503 too, never anything else.
    let cut = Instant::now();
    let mut passed_while_unnoticed = 0;
    loop {
        let reply = get(&admin).await;
        match status(&reply).as_str() {
            "503" => break,
            "200" => passed_while_unnoticed += 1,
            other => panic!("a cached key with the database gone: {other}: {reply}"),
        }
        assert!(cut.elapsed() < Duration::from_secs(10), "the lost connection is never noticed");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    println!("a cached key passed {passed_while_unnoticed} times before the loss was noticed");
    // Noticed: nothing passes while the database is gone, cached or not (each round at once,
    // since every answer waits for the pool's acquire timeout).
    for _ in 0..5 {
        let replies = tokio::join!(get(&admin), get(&doomed_key), get(&unseen), get(&unknown));
        for reply in [replies.0, replies.1, replies.2, replies.3] {
            assert_eq!(status(&reply), "503", "stays closed while the database is gone");
        }
    }

    // Revoked by another replica (straight to the database) while the demo is cut off: the
    // notification never reaches it.
    let direct = keygate_postgres::PgStore::builder(&pg).schema(&schema).connect().await.unwrap();
    let revoke = keygate::store::KeyUpdate {
        revoke_at: Some(keygate::clock::Timestamp::UNIX_EPOCH),
        ..Default::default()
    };
    keygate::store::KeyStore::update(&direct, &doomed.record.id, &revoke).await.unwrap();
    direct.pool().close().await;
    let reply = get(&doomed_key).await;
    assert_eq!(status(&reply), "503", "a key revoked during the outage never passes");

    proxy.restore().await;
    let deadline = Instant::now() + Duration::from_secs(15);
    while !get(&admin).await.starts_with("HTTP/1.1 200") {
        assert!(Instant::now() < deadline, "did not recover when the database came back");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    // Back online, the demo does not trust what it cached before the outage.
    let reply = get(&doomed_key).await;
    assert!(
        reply.starts_with("HTTP/1.1 401"),
        "a key revoked during the outage still works: {reply:.12}"
    );

    running.stop().await;
    proxy.cut().await;
    drop_schema(&pg, &schema).await;
}
