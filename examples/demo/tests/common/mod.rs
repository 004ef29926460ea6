//! What the demo's tests share: the binary, a plain HTTP exchange, and the servers of the
//! tests that need PostgreSQL or Redis, with a schema or a prefix of their own.
//!
//! The servers are named by `KEYGATE_TEST_POSTGRES_URL` and `KEYGATE_TEST_REDIS_URL`; a test
//! that runs without them, or with a server that does not answer, fails with a message saying
//! so.

#![allow(clippy::unwrap_used)]
#![allow(dead_code, reason = "each test file uses some of these")]

use std::io::{Read, Write};
use std::net::TcpStream;
use std::path::{Path, PathBuf};
use std::time::{SystemTime, UNIX_EPOCH};

/// The demo binary.
pub(crate) const BIN: &str = env!("CARGO_BIN_EXE_keygate-demo");

/// The ready line of a demo spawned with its stdout piped: `{"event":"ready","addr":…}`.
pub(crate) fn ready(child: &mut std::process::Child) -> serde_json::Value {
    use std::io::BufRead;
    let mut line = String::new();
    std::io::BufReader::new(child.stdout.take().unwrap()).read_line(&mut line).unwrap();
    serde_json::from_str(&line).unwrap_or_else(|e| panic!("{e}: {line:?}"))
}

/// A `GET` of `path` on the server at `addr`, with `auth` as a bearer key; returns the whole
/// reply, head and body.
pub(crate) fn get(addr: &str, path: &str, auth: Option<&str>) -> String {
    let mut stream = TcpStream::connect(addr).unwrap();
    let auth = auth.map(|k| format!("Authorization: Bearer {k}\r\n")).unwrap_or_default();
    write!(stream, "GET {path} HTTP/1.1\r\nHost: {addr}\r\n{auth}Connection: close\r\n\r\n")
        .unwrap();
    let mut reply = String::new();
    stream.read_to_string(&mut reply).unwrap();
    reply
}

/// A request with a JSON body and `key` as a bearer key; returns the status and the body.
pub(crate) fn send(addr: &str, method: &str, path: &str, key: &str, body: &str) -> (u16, String) {
    let mut stream = TcpStream::connect(addr).unwrap();
    write!(
        stream,
        "{method} {path} HTTP/1.1\r\nHost: {addr}\r\nAuthorization: Bearer {key}\r\n\
         Content-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
        body.len()
    )
    .unwrap();
    let mut reply = String::new();
    stream.read_to_string(&mut reply).unwrap();
    let status = reply.split(' ').nth(1).unwrap().parse().unwrap();
    let body = reply.split_once("\r\n\r\n").map(|(_, b)| b.to_owned()).unwrap_or_default();
    (status, body)
}

/// A directory no other test uses, removed with everything in it when dropped.
pub(crate) struct TempDir(PathBuf);

impl TempDir {
    pub(crate) fn new(name: &str) -> TempDir {
        let dir = std::env::temp_dir().join(unique(name));
        std::fs::create_dir_all(&dir).unwrap();
        TempDir(dir)
    }

    pub(crate) fn path(&self) -> &Path {
        &self.0
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

/// The server named by `name`; a run that asked for these tests fails without it.
pub(crate) fn server(name: &str) -> String {
    std::env::var(name).unwrap_or_else(|_| panic!("{name} names a server these tests need"))
}

/// A name no other test uses: `kg_<name>_<process id>_<nanoseconds>`.
pub(crate) fn unique(name: &str) -> String {
    let nanos = SystemTime::now().duration_since(UNIX_EPOCH).unwrap().as_nanos();
    format!("kg_{name}_{}_{}", std::process::id(), nanos % 1_000_000_000)
}

/// The URL of `base` with its tables in `schema`.
pub(crate) fn in_schema(base: &str, schema: &str) -> String {
    let sep = if base.contains('?') { '&' } else { '?' };
    format!("{base}{sep}options[search_path]={schema}")
}

async fn postgres(url: &str) -> sqlx::PgPool {
    sqlx::PgPool::connect(url).await.unwrap_or_else(|e| {
        panic!("the PostgreSQL server of KEYGATE_TEST_POSTGRES_URL does not answer: {e}")
    })
}

/// Creates `schema`.
pub(crate) async fn create_schema(url: &str, schema: &str) {
    let pool = postgres(url).await;
    sqlx::query(&format!(r#"CREATE SCHEMA "{schema}""#)).execute(&pool).await.unwrap();
    pool.close().await;
}

/// Drops `schema` and everything in it.
pub(crate) async fn drop_schema(url: &str, schema: &str) {
    let pool = postgres(url).await;
    sqlx::query(&format!(r#"DROP SCHEMA IF EXISTS "{schema}" CASCADE"#))
        .execute(&pool)
        .await
        .unwrap();
    pool.close().await;
}

async fn redis(url: &str) -> redis::aio::MultiplexedConnection {
    let answer = async { redis::Client::open(url)?.get_multiplexed_async_connection().await };
    answer.await.unwrap_or_else(|e| {
        panic!("the Redis server of KEYGATE_TEST_REDIS_URL does not answer: {e}")
    })
}

/// Fails the test at once, saying so, when the Redis server at `url` does not answer.
pub(crate) async fn redis_answers(url: &str) {
    let mut conn = redis(url).await;
    let _: () = redis::cmd("PING").query_async(&mut conn).await.unwrap();
}

/// Deletes every Redis key under `prefix`.
pub(crate) async fn drop_redis_prefix(url: &str, prefix: &str) {
    let mut conn = redis(url).await;
    let keys: Vec<String> =
        redis::cmd("KEYS").arg(format!("{prefix}:*")).query_async(&mut conn).await.unwrap();
    if !keys.is_empty() {
        let _: () = redis::cmd("DEL").arg(&keys).query_async(&mut conn).await.unwrap();
    }
}
