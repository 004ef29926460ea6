//! A [`RateLimiter`] over Redis, shared by every replica of a service.
//!
//! Each decision is one `EVALSHA` of a Lua script that finds, at the time the caller passes
//! (keygate's clock, as for the in-process limiter), the current fixed window of each of the
//! plan's windows, refuses if any is full and otherwise counts the request in all of them. Redis
//! runs a script atomically, so across any number of replicas a limit of L lets exactly L
//! requests through per window; replicas whose clocks agree (NTP) agree on the windows. The
//! counts expire by themselves a second after their window ends. Every counter the script
//! touches comes through `KEYS`, named `{<prefix>:<key id>}:rl:<period ms>:<window index>`: the
//! hash tag keeps a key's windows in one slot of a Redis Cluster. The decision is then reported
//! with keygate's own rule ([`Counters`]) at that same time, so the figures match the
//! in-process limiter's and `X-RateLimit-Reset`.
//!
//! When Redis cannot be reached, a check fails with [`LimiterError::Unavailable`] after the
//! configured timeout; the deployment decides what that means with
//! [`KeygateBuilder::limiter_failure`](keygate::KeygateBuilder::limiter_failure) (closed, the
//! default: 503; open: the request passes unlimited and an event says so). Authentication never
//! depends on Redis.
//!
//! ```no_run
//! use std::sync::Arc;
//! use keygate_redis::RedisLimiter;
//!
//! # async fn run() -> Result<(), Box<dyn std::error::Error>> {
//! let limiter = RedisLimiter::connect("redis://127.0.0.1:6379", "myapp").await?;
//! // Keygate::builder(preset).limiter(Arc::new(limiter)) ...
//! # let _ = Arc::new(limiter);
//! # Ok(())
//! # }
//! ```

#![forbid(unsafe_code)]

use std::time::Duration;

use keygate::clock::Timestamp;
use keygate::format::KeyId;
use keygate::limit::{Counters, Decision, LimiterError, RateLimiter, RatePlan};
use redis::aio::{ConnectionManager, ConnectionManagerConfig};

/// Checks every window of a plan and, if all have room and counting is asked, counts.
/// KEYS: the name of each window's count, in the order of the windows (every name the script
/// touches comes through `KEYS`, as Redis Cluster requires). ARGV: the caller's time (ms since
/// the epoch), the request's cost (0 for a status, which counts nothing and asks for room for
/// one), window count, then limit and period (ms) of each window. Returns: allowed (0/1), then
/// each window's count before this request.
const SCRIPT: &str = r"
local now = tonumber(ARGV[1])
local cost = tonumber(ARGV[2])
local n = tonumber(ARGV[3])
local need = cost
if need == 0 then need = 1 end
local ends = {}
local counts = {}
local allowed = 1
for i = 1, n do
  local limit = tonumber(ARGV[2 + 2 * i])
  local period = tonumber(ARGV[3 + 2 * i])
  ends[i] = (math.floor(now / period) + 1) * period
  counts[i] = tonumber(redis.call('GET', KEYS[i]) or '0')
  if counts[i] + need > limit then allowed = 0 end
end
if allowed == 1 and cost > 0 then
  for i = 1, n do
    redis.call('INCRBY', KEYS[i], cost)
    redis.call('PEXPIRE', KEYS[i], ends[i] - now + 1000)
  end
end
local out = {allowed}
for i = 1, n do out[#out + 1] = counts[i] end
return out
";

/// The name of the count of one window of one key: `{<prefix>:<key id>}:rl:<period ms>:<window
/// index>`. The braces are a Redis Cluster hash tag: every window of a key lands in one slot, so
/// one script can touch them all.
fn window_name(prefix: &str, key: &KeyId, period_ms: u64, now_ms: i64) -> String {
    let period = i64::try_from(period_ms).unwrap_or(i64::MAX);
    let index = now_ms.div_euclid(period);
    format!("{{{prefix}:{}}}:rl:{period_ms}:{index}", key.as_str())
}

/// How long [`RedisLimiter::connect`] waits for Redis before a check fails: 500 ms.
/// [`RedisLimiter::connect_lazy`] takes its own.
pub const DEFAULT_TIMEOUT: Duration = Duration::from_millis(500);

/// Rate limits kept in Redis. Cheap to clone; clones share one multiplexed connection that
/// reconnects by itself.
///
/// ```no_run
/// use std::sync::Arc;
/// use keygate::limit::RateLimiter;
/// use keygate_redis::{DEFAULT_TIMEOUT, RedisLimiter};
///
/// # fn run() -> Result<(), redis::RedisError> {
/// // Connects on first use: a Redis that is down now only fails checks until it is back.
/// let limiter = RedisLimiter::connect_lazy("redis://127.0.0.1:6379", "myapp", DEFAULT_TIMEOUT)?;
/// let limiter: Arc<dyn RateLimiter> = Arc::new(limiter);
/// // Keygate::builder(preset).limiter(limiter) ...
/// # let _ = limiter;
/// # Ok(())
/// # }
/// ```
#[derive(Clone)]
pub struct RedisLimiter {
    connection: ConnectionManager,
    prefix: String,
    script: redis::Script,
}

impl std::fmt::Debug for RedisLimiter {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RedisLimiter").field("prefix", &self.prefix).finish_non_exhaustive()
    }
}

fn config(timeout: Duration) -> ConnectionManagerConfig {
    ConnectionManagerConfig::new()
        .set_connection_timeout(Some(timeout))
        .set_response_timeout(Some(timeout))
        .set_number_of_retries(1)
        .set_max_delay(Duration::from_millis(200))
}

impl RedisLimiter {
    /// Connects to `url` (`redis://host:port`), keeping counts under `{<prefix>:<key id>}:`.
    /// Fails if Redis does not answer within [`DEFAULT_TIMEOUT`].
    ///
    /// # Errors
    /// The client's error when the URL is invalid or the server does not answer.
    pub async fn connect(url: &str, prefix: &str) -> Result<Self, redis::RedisError> {
        let client = redis::Client::open(url)?;
        let connection =
            ConnectionManager::new_with_config(client, config(DEFAULT_TIMEOUT)).await?;
        Ok(Self::with_connection(connection, prefix))
    }

    /// Like [`connect`](Self::connect), but connects on first use: a server that is down now
    /// only makes checks fail until it is back.
    ///
    /// # Errors
    /// The client's error when the URL is invalid.
    pub fn connect_lazy(
        url: &str,
        prefix: &str,
        timeout: Duration,
    ) -> Result<Self, redis::RedisError> {
        let client = redis::Client::open(url)?;
        let connection = ConnectionManager::new_lazy_with_config(client, config(timeout))?;
        Ok(Self::with_connection(connection, prefix))
    }

    fn with_connection(connection: ConnectionManager, prefix: &str) -> Self {
        RedisLimiter { connection, prefix: prefix.to_owned(), script: redis::Script::new(SCRIPT) }
    }

    async fn run(
        &self,
        key: &KeyId,
        plan: &RatePlan,
        now: Timestamp,
        cost: Option<u64>,
    ) -> Result<Option<Decision>, LimiterError> {
        let windows = plan.windows();
        if windows.is_empty() {
            return Ok(None);
        }
        let now_ms = now.unix_millis();
        let mut invocation = self.script.prepare_invoke();
        invocation.arg(now_ms).arg(cost.unwrap_or(0)).arg(windows.len());
        for w in windows {
            let period = u64::try_from(w.period().as_millis()).unwrap_or(u64::MAX).max(1);
            invocation.key(window_name(&self.prefix, key, period, now_ms));
            invocation.arg(w.limit()).arg(period);
        }
        let mut connection = self.connection.clone();
        let reply: Vec<i64> = invocation
            .invoke_async(&mut connection)
            .await
            .map_err(|e| LimiterError::Unavailable(Box::new(e)))?;
        let [_, counts @ ..] = reply.as_slice() else {
            return Err(LimiterError::Unavailable(
                "malformed reply from the rate-limit script".into(),
            ));
        };
        let counts: Vec<u64> = counts.iter().map(|&c| u64::try_from(c).unwrap_or(0)).collect();
        let mut counters = Counters::at(windows, now, &counts);
        Ok(match cost {
            Some(cost) => counters.decide_weighted(windows, now, cost, true),
            None => counters.decide(windows, now, false),
        })
    }
}

#[async_trait::async_trait]
impl RateLimiter for RedisLimiter {
    async fn check(
        &self,
        key: &KeyId,
        plan: &RatePlan,
        cost: u64,
        now: Timestamp,
    ) -> Result<Option<Decision>, LimiterError> {
        self.run(key, plan, now, Some(cost)).await
    }

    async fn status(
        &self,
        key: &KeyId,
        plan: &RatePlan,
        now: Timestamp,
    ) -> Result<Option<Decision>, LimiterError> {
        self.run(key, plan, now, None).await
    }
}
