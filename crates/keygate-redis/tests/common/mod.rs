//! What every Redis test needs: the server, a key id and a prefix of its own, and the removal
//! of what it counted.
//!
//! The server is named by `KEYGATE_TEST_REDIS_URL`; a test that runs without it, or with a
//! server that does not answer, fails with a message saying so.

#![allow(clippy::unwrap_used)]

use keygate::format::{Environment, KeyFormat, KeyId};
use keygate_redis::RedisLimiter;

/// The server to test against; a run that asked for these tests fails without one.
pub(crate) fn url() -> String {
    std::env::var("KEYGATE_TEST_REDIS_URL")
        .expect("KEYGATE_TEST_REDIS_URL names the Redis server these tests need")
}

/// A key id no other test uses.
pub(crate) fn fresh_id() -> KeyId {
    let format = KeyFormat::builder("t").build().unwrap();
    let key = format.generate(Environment::Live).unwrap();
    format.parse(key.expose_secret()).unwrap().id()
}

/// A prefix no other test counts under.
pub(crate) fn prefix() -> String {
    format!("keygate_test_{}", fresh_id().as_str())
}

/// A limiter at `url` counting under `prefix`.
pub(crate) async fn connect(url: &str, prefix: &str) -> RedisLimiter {
    RedisLimiter::connect(url, prefix).await.unwrap_or_else(|e| {
        panic!("the Redis server of KEYGATE_TEST_REDIS_URL does not answer: {e}")
    })
}

/// The names of every count under `prefix`: they all start with the hash tag `{<prefix>:`.
pub(crate) async fn names_under(url: &str, prefix: &str) -> Vec<String> {
    let client = redis::Client::open(url).unwrap();
    let mut conn = client.get_multiplexed_async_connection().await.unwrap();
    redis::cmd("KEYS").arg(format!("{{{prefix}:*")).query_async(&mut conn).await.unwrap()
}

/// Deletes every count under `prefix`.
pub(crate) async fn clean_up(url: &str, prefix: &str) {
    let client = redis::Client::open(url).unwrap();
    let mut conn = client.get_multiplexed_async_connection().await.unwrap();
    let keys = names_under(url, prefix).await;
    if !keys.is_empty() {
        let _: () = redis::cmd("DEL").arg(&keys).query_async(&mut conn).await.unwrap();
    }
}
