//! Rate limits and attempt counters. In memory for one process (governor for the
//! per-second limit); in Redis when `REDIS_URL` is set, so that several processes share
//! them. Attempt windows open at the first attempt and, like locks, are computed from the
//! app's clock, not from Redis TTLs alone, so both modes behave the same.
//!
//! A limiter that cannot reach Redis logs, and lets the request through, since an outage
//! of the limiter must not become an outage of the API. Guesses are the exception: an
//! attempt at a password or a code that cannot be counted is refused (429), or anyone who
//! could make Redis unreachable or slow would guess without limit.

mod rate_batch;

use std::{
    collections::HashMap,
    num::NonZeroU32,
    sync::{Arc, Mutex},
};

use governor::{DefaultKeyedRateLimiter, Quota, RateLimiter};
use rate_batch::RateBatch;
use redis::aio::ConnectionManager;

/// How long a per-second counter outlives its second in Redis.
const RATE_WINDOW_TTL_SECS: u64 = 2;

/// How many failed attempts a key may have within `window` seconds before it is locked
/// for `lock` seconds.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct AttemptRule {
    pub max: i64,
    pub window: i64,
    pub lock: i64,
}

/// Seconds a client is told to wait when its attempt was refused because the limiter could
/// not count it (Redis unreachable or too slow): the time readiness takes to notice.
pub const UNCOUNTED_RETRY_AFTER: u64 = 2;

/// An attempt that was counted; its place in the window's count.
#[derive(Debug, Clone, Copy)]
#[must_use = "settle the attempt with attempt_succeeded or attempt_failed"]
pub struct Attempted {
    count: i64,
}

/// A refusal: retry after this many seconds (at least 1).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RetryAfter(pub u64);

pub struct Limits {
    backend: Backend,
    per_second: NonZeroU32,
}

enum Backend {
    Memory { per_second: DefaultKeyedRateLimiter<String>, counters: Mutex<HashMap<String, Counter>> },
    Redis { connection: ConnectionManager, prefix: String, per_request: Arc<RateBatch> },
}

/// A count within a window, or a lock, in memory.
#[derive(Debug, Clone, Copy)]
struct Counter {
    value: i64,
    /// Unix seconds after which the entry is void.
    expires_at: i64,
}

impl Limits {
    pub fn memory(per_second: NonZeroU32) -> Self {
        Self {
            backend: Backend::Memory {
                per_second: RateLimiter::keyed(Quota::per_second(per_second)),
                counters: Mutex::default(),
            },
            per_second,
        }
    }

    pub async fn redis(url: &str, prefix: &str, per_second: NonZeroU32) -> Result<Self, redis::RedisError> {
        let connection = crate::redis_link::connect(url).await?;
        let per_request = RateBatch::start(connection.clone(), RATE_WINDOW_TTL_SECS);
        Ok(Self { backend: Backend::Redis { connection, prefix: prefix.to_string(), per_request }, per_second })
    }

    pub fn is_shared(&self) -> bool {
        matches!(self.backend, Backend::Redis { .. })
    }

    /// One request of a credential (or an address) against the per-second limit.
    pub async fn check_rate(&self, key: &str, now_secs: i64) -> Result<(), RetryAfter> {
        self.check_rate_and_read(key, now_secs, None).await.0
    }

    /// [`Self::check_rate`], and with Redis the integer at `also_read` (a full key, outside
    /// this limiter's prefix; 0 when absent) in the same round trip: the authentication
    /// cache's version of the caller, which every cached request needs anyway. None when
    /// not asked for, in memory, or when Redis cannot say.
    pub async fn check_rate_and_read(
        &self,
        key: &str,
        now_secs: i64,
        also_read: Option<&str>,
    ) -> (Result<(), RetryAfter>, Option<i64>) {
        let limit = match &self.backend {
            Backend::Memory { per_second, .. } => match per_second.check_key(&key.to_string()) {
                Ok(()) => Ok(()),
                Err(not_until) => {
                    use governor::clock::{Clock, DefaultClock};
                    let wait = not_until.wait_time_from(DefaultClock::default().now());
                    Err(RetryAfter(wait.as_secs_f64().ceil().max(1.0) as u64))
                }
            },
            Backend::Redis { prefix, per_request, .. } => {
                let counted = per_request
                    .count_and_read(format!("{prefix}rate:{key}:{now_secs}"), also_read.map(String::from))
                    .await;
                let over = counted.is_some_and(|(count, _)| count > i64::from(self.per_second.get()));
                return (if over { Err(RetryAfter(1)) } else { Ok(()) }, counted.and_then(|(_, read)| read));
            }
        };
        (limit, None)
    }

    /// Whether Redis answers a PING (true in memory: nothing to reach).
    pub async fn ping(&self) -> bool {
        let Backend::Redis { connection, .. } = &self.backend else { return true };
        let mut connection = connection.clone();
        let ping = redis::cmd("PING");
        match tokio::time::timeout(crate::redis_link::REPLY_TIMEOUT, ping.query_async::<String>(&mut connection)).await
        {
            Ok(Ok(_)) => true,
            failed => {
                tracing::error!(?failed, "readiness: Redis did not answer");
                false
            }
        }
    }

    /// Counts one event in a window of `window` seconds that opens with the first event
    /// (so a burst is never split across two windows); refused once `max` are counted.
    pub async fn hit_window(&self, key: &str, now_secs: i64, window: i64, max: i64) -> Result<(), RetryAfter> {
        match self.count_in_window(&format!("win:{key}"), now_secs, window, 1).await {
            Some((count, ends_at)) if count > max => Err(RetryAfter((ends_at - now_secs).max(1) as u64)),
            _ => Ok(()),
        }
    }

    /// Adds `delta` to the window's count (opening it at the first event) and returns the
    /// new count and when the window ends; None when Redis is unavailable.
    async fn count_in_window(&self, key: &str, now_secs: i64, window: i64, delta: i64) -> Option<(i64, i64)> {
        match &self.backend {
            Backend::Memory { counters, .. } => {
                let mut counters = counters.lock().unwrap_or_else(|p| p.into_inner());
                if counters.len() > 100_000 {
                    counters.retain(|_, c| c.expires_at > now_secs);
                }
                let entry =
                    counters.entry(key.to_string()).or_insert(Counter { value: 0, expires_at: now_secs + window });
                if entry.expires_at <= now_secs {
                    *entry = Counter { value: 0, expires_at: now_secs + window };
                }
                entry.value = (entry.value + delta).max(0);
                Some((entry.value, entry.expires_at))
            }
            Backend::Redis { connection, prefix, .. } => {
                // Atomic on the server: open the window at the first event, on our clock.
                const SCRIPT: &str = r"
                    local start = tonumber(redis.call('HGET', KEYS[1], 'start'))
                    if (not start) or (start + tonumber(ARGV[2]) <= tonumber(ARGV[1])) then
                        start = tonumber(ARGV[1])
                        redis.call('HSET', KEYS[1], 'start', start, 'count', 0)
                        redis.call('EXPIRE', KEYS[1], ARGV[3])
                    end
                    local count = redis.call('HINCRBY', KEYS[1], 'count', ARGV[4])
                    if count < 0 then
                        redis.call('HSET', KEYS[1], 'count', 0)
                        count = 0
                    end
                    return {count, start}
                ";
                let mut connection = connection.clone();
                let result: Result<(i64, i64), _> = redis::cmd("EVAL")
                    .arg(SCRIPT)
                    .arg(1)
                    .arg(format!("{prefix}{key}"))
                    .arg(now_secs)
                    .arg(window)
                    .arg(window + 60)
                    .arg(delta)
                    .query_async(&mut connection)
                    .await;
                match result {
                    Ok((count, start)) => Some((count, start + window)),
                    Err(err) => {
                        tracing::error!(%err, "rate limiter: Redis unavailable");
                        None
                    }
                }
            }
        }
    }

    /// At most one event per `period` seconds under `key`.
    pub async fn cooldown(&self, key: &str, now_secs: i64, period: i64) -> Result<(), RetryAfter> {
        let key = format!("cool:{key}");
        match self.lock_until(&key).await {
            Some(until) if until > now_secs => Err(RetryAfter((until - now_secs) as u64)),
            _ => {
                self.set_lock(&key, now_secs + period, period).await;
                Ok(())
            }
        }
    }

    /// Counts an attempt before it is verified, so that however many arrive at once, no
    /// more than `rule.max` are verified per window: refused while the key is locked, or
    /// when the count (failures plus attempts in flight) would pass `max`.
    /// The caller settles the attempt with [`Self::attempt_succeeded`] (the count is given
    /// back) or [`Self::attempt_failed`].
    pub async fn begin_attempt(&self, key: &str, now_secs: i64, rule: AttemptRule) -> Result<Attempted, RetryAfter> {
        let lock_key = format!("lock:{key}");
        if let Some(until) = self.lock_until(&lock_key).await.filter(|until| *until > now_secs) {
            return Err(RetryAfter((until - now_secs) as u64));
        }
        let Some((count, _)) = self.count_in_window(&format!("fail:{key}"), now_secs, rule.window, 1).await else {
            // The limiter cannot count: refuse the guess. Let through, it would be a free one
            // for as long as Redis is out of reach or slow, which load alone can make it.
            return Err(RetryAfter(UNCOUNTED_RETRY_AFTER));
        };
        if count > rule.max {
            // Only attempts still in flight can make the count pass `max` (the `max`-th
            // failure locks): refuse this one; their outcome decides what follows.
            self.count_in_window(&format!("fail:{key}"), now_secs, rule.window, -1).await;
            return Err(RetryAfter(1));
        }
        Ok(Attempted { count })
    }

    /// The attempt was right: it does not count against the key.
    pub async fn attempt_succeeded(&self, key: &str, now_secs: i64, rule: AttemptRule) {
        self.count_in_window(&format!("fail:{key}"), now_secs, rule.window, -1).await;
    }

    /// The attempt failed and stays counted; the `max`-th failure locks the key.
    pub async fn attempt_failed(&self, key: &str, now_secs: i64, rule: AttemptRule, attempted: Attempted) {
        if attempted.count >= rule.max {
            self.set_lock(&format!("lock:{key}"), now_secs + rule.lock, rule.lock).await;
            tracing::warn!(%key, lock_secs = rule.lock, "too many failures: locked");
        }
    }

    async fn lock_until(&self, key: &str) -> Option<i64> {
        match &self.backend {
            Backend::Memory { counters, .. } => {
                counters.lock().unwrap_or_else(|p| p.into_inner()).get(key).map(|c| c.value)
            }
            Backend::Redis { connection, prefix, .. } => {
                let mut connection = connection.clone();
                let value: Result<Option<i64>, _> =
                    redis::cmd("GET").arg(format!("{prefix}{key}")).query_async(&mut connection).await;
                value.unwrap_or_else(|err| {
                    tracing::error!(%err, "rate limiter: Redis unavailable");
                    None
                })
            }
        }
    }

    async fn set_lock(&self, key: &str, until: i64, ttl: i64) {
        match &self.backend {
            Backend::Memory { counters, .. } => {
                let mut counters = counters.lock().unwrap_or_else(|p| p.into_inner());
                counters.retain(|_, c| c.expires_at > until - ttl);
                counters.insert(key.to_string(), Counter { value: until, expires_at: until });
            }
            Backend::Redis { connection, prefix, .. } => {
                let mut connection = connection.clone();
                // The TTL only cleans up; `until` (on the app's clock) decides.
                let result: Result<(), _> = redis::cmd("SET")
                    .arg(format!("{prefix}{key}"))
                    .arg(until)
                    .arg("EX")
                    .arg(ttl.max(1) as u64 + 60)
                    .query_async(&mut connection)
                    .await;
                if let Err(err) = result {
                    tracing::error!(%err, "rate limiter: Redis unavailable");
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A limiter on the test Redis (`TEST_REDIS_URL`, else None: skipped) reached through a
    /// relay the test can cut or slow.
    async fn limits_through_relay() -> Option<(doubles::relay::Relay, Limits)> {
        let Some(url) = std::env::var("TEST_REDIS_URL").ok().filter(|v| !v.is_empty()) else {
            eprintln!("skipped: set TEST_REDIS_URL to run the Redis limiter test");
            return None;
        };
        let (relay, through_relay) = doubles::relay::Relay::to_redis(&url).await;
        let prefix = format!("clara-test:{}:", uuid::Uuid::new_v4().simple());
        let limits = Limits::redis(&through_relay, &prefix, NonZeroU32::new(2).unwrap()).await.unwrap();
        Some((relay, limits))
    }

    /// A Redis that answers late (a loaded machine, a busy server) is not a Redis that is
    /// gone: its reply still counts the attempt. Before, the client gave up after half a
    /// second and the limiter let the attempt through uncounted (the likely cause of a CI
    /// run on a loaded machine where ten wrong codes did not lock an account).
    #[tokio::test]
    async fn a_late_reply_still_counts_the_attempt() {
        let Some((relay, limits)) = limits_through_relay().await else { return };
        relay.delay_replies(std::time::Duration::from_millis(800));
        let rule = AttemptRule { max: 2, window: 60, lock: 60 };
        let first = limits.begin_attempt("slow", 100, rule).await.expect("not locked");
        assert_eq!(first.count, 1, "the attempt was counted, not waved through as if Redis were gone");
        limits.attempt_failed("slow", 100, rule, first).await;
        let second = limits.begin_attempt("slow", 100, rule).await.expect("not locked yet");
        assert_eq!(second.count, 2);
        limits.attempt_failed("slow", 100, rule, second).await;
        assert_eq!(
            limits.begin_attempt("slow", 100, rule).await.err(),
            Some(RetryAfter(60)),
            "the second failure locks"
        );
    }

    /// A guess the limiter cannot count is refused, not let through: whoever could make Redis
    /// unreachable, or slower than the reply timeout by loading the machine, would otherwise
    /// guess passwords and codes without limit for as long as it lasts. The per-second rate
    /// still lets requests through: an outage of the limiter stops guesses, not the API.
    #[tokio::test]
    async fn an_attempt_the_limiter_cannot_count_is_refused() {
        let Some((relay, limits)) = limits_through_relay().await else { return };
        let rule = AttemptRule { max: 5, window: 60, lock: 60 };
        let counted = limits.begin_attempt("gone", 100, rule).await.expect("counted while Redis answers");
        limits.attempt_succeeded("gone", 100, rule).await;
        assert_eq!(counted.count, 1);
        relay.cut().await;
        assert_eq!(limits.begin_attempt("gone", 100, rule).await.err(), Some(RetryAfter(UNCOUNTED_RETRY_AFTER)));
        assert_eq!(limits.check_rate("k", 100).await, Ok(()), "the rate limit fails open");
    }

    #[tokio::test]
    async fn the_rate_check_reads_another_key_in_its_round_trip() {
        let memory = Limits::memory(NonZeroU32::new(2).unwrap());
        assert_eq!(memory.check_rate_and_read("k", 100, Some("v")).await, (Ok(()), None), "nothing to read alone");
        let Some(url) = std::env::var("TEST_REDIS_URL").ok().filter(|v| !v.is_empty()) else {
            eprintln!("skipped: set TEST_REDIS_URL to run the Redis limiter test");
            return;
        };
        let prefix = format!("clara-test:{}:", uuid::Uuid::new_v4().simple());
        let limits = Limits::redis(&url, &prefix, NonZeroU32::new(2).unwrap()).await.unwrap();
        let other = format!("{prefix}auth-version:usr_1");
        assert_eq!(limits.check_rate_and_read("k", 100, Some(&other)).await, (Ok(()), Some(0)), "absent reads as 0");
        let Backend::Redis { connection, .. } = &limits.backend else { unreachable!() };
        let _: () = redis::cmd("SET").arg(&other).arg(7).query_async(&mut connection.clone()).await.unwrap();
        assert_eq!(limits.check_rate_and_read("k", 100, Some(&other)).await, (Ok(()), Some(7)));
        // The limit still counts: the third request of the second is refused.
        assert_eq!(limits.check_rate_and_read("k", 100, None).await, (Err(RetryAfter(1)), None));
        assert!(limits.ping().await);
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn concurrent_requests_are_each_counted_once_and_read_after_they_arrive() {
        let Some(url) = std::env::var("TEST_REDIS_URL").ok().filter(|v| !v.is_empty()) else {
            eprintln!("skipped: set TEST_REDIS_URL to run the Redis limiter test");
            return;
        };
        let prefix = format!("clara-test:{}:", uuid::Uuid::new_v4().simple());
        let limits = std::sync::Arc::new(Limits::redis(&url, &prefix, NonZeroU32::new(50).unwrap()).await.unwrap());
        let version = format!("{prefix}auth-version:usr_1");
        let Backend::Redis { connection, .. } = &limits.backend else { unreachable!() };
        let _: () = redis::cmd("SET").arg(&version).arg(7).query_async(&mut connection.clone()).await.unwrap();
        // 120 requests of one credential in the same second, all in flight together (and
        // so sharing pipelines): exactly the budget of 50 is let through.
        let requests = (0..120).map(|i| {
            let (limits, version) = (limits.clone(), version.clone());
            // Half of them on a second key, which has a budget of its own.
            let key = if i % 2 == 0 { "k1" } else { "k2" };
            tokio::spawn(async move { limits.check_rate_and_read(key, 100, Some(&version)).await })
        });
        let answers: Vec<_> = futures_util::future::join_all(requests).await.into_iter().map(Result::unwrap).collect();
        assert_eq!(answers.iter().filter(|(limit, _)| limit.is_ok()).count(), 100, "50 for each key");
        assert!(answers.iter().all(|(_, read)| *read == Some(7)));
        let counted: i64 =
            redis::cmd("GET").arg(format!("{prefix}rate:k1:100")).query_async(&mut connection.clone()).await.unwrap();
        assert_eq!(counted, 60, "each request counted once");
        // A change made before a request is sent is what that request reads.
        let _: () = redis::cmd("SET").arg(&version).arg(8).query_async(&mut connection.clone()).await.unwrap();
        assert_eq!(limits.check_rate_and_read("k3", 100, Some(&version)).await, (Ok(()), Some(8)));
        let ttl: i64 =
            redis::cmd("TTL").arg(format!("{prefix}rate:k1:100")).query_async(&mut connection.clone()).await.unwrap();
        assert!((1..=2).contains(&ttl), "every counter expires (TTL {ttl})");
    }
}
