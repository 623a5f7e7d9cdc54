//! A per-process cache of authenticated callers: the user row behind a session or an API
//! key, so that an authenticated read need not ask the database.
//!
//! Why it cannot serve a revoked credential or a stale account:
//! - every write to a user, their sessions or their key calls [`AuthCache::forget`] after
//!   it commits, which drops the user's entry;
//! - a fill whose database read may predate such a write is refused: `forget` moves the
//!   epoch of the user's shard, and a fill only lands if the epoch taken before the query
//!   is still current (checked under the same lock);
//! - with `REDIS_URL` (several processes), `forget` also bumps the user's version in
//!   Redis before the write's response is sent, and a hit is served only if the version
//!   it was filled under is still the current one: one Redis read instead of a database
//!   query, and another process's change is seen by the very next request. When Redis
//!   cannot be read, the cache is bypassed, never trusted;
//! - a revocation (logout, password change, session ended, account deleted) publishes
//!   its version before it is made ([`AuthCache::publish`]); when Redis does not take
//!   it, the revocation is not made and the client is answered 503, to retry;
//! - entries live at most `AUTH_CACHE_TTL_SECS`.
//!
//! Without `REDIS_URL` a process assumes it is the only one on its database.
//!
//! The version read costs no round trip of its own on the request path: the rate limiter
//! reads it in the pipeline of its counter (one Redis round trip per request, see
//! [`AuthCache::prefetched`]); it is read after the request arrived, so a change answered
//! before the request was sent is seen, exactly as with a read of its own.

use std::{
    collections::HashMap,
    hash::BuildHasher,
    sync::{Arc, Mutex, MutexGuard},
    time::{Duration, Instant},
};

use entity::users;
use redis::aio::ConnectionManager;

const SHARDS: usize = 64;
/// Credentials remembered per user; a user with more sessions than this just misses more.
const CREDENTIALS_PER_USER: usize = 16;

tokio::task_local! {
    /// The caller's version as the rate limiter read it for this request: (user id,
    /// version), taken by the first lookup of that user in the request, so that a later
    /// lookup in the same request (after a write of its own) reads Redis again.
    static PREFETCHED: std::cell::Cell<Option<(String, i64)>>;
}

/// A revocation's change could not be published to the other processes (Redis did not
/// answer): a 503 `database_unavailable`, retried by the client.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Unpublished;

impl From<Unpublished> for crate::services::ServiceError {
    fn from(_: Unpublished) -> Self {
        Self::DatabaseUnavailable("the change could not be published to the other processes (Redis)".into())
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum CredentialKind {
    Session,
    ApiKey,
}

/// A credential checked against the database: a session (with its expiry) or a key.
#[derive(Clone, Debug)]
pub struct Credential {
    pub id: String,
    pub kind: CredentialKind,
    /// Unix seconds after which a session is dead; None for keys.
    pub expires_at: Option<i64>,
    /// Unix microseconds of the session's last recorded use; None for keys (not tracked).
    pub last_used_at: Option<i64>,
}

struct Entry {
    user: Arc<users::Model>,
    credentials: Vec<Credential>,
    filled_at: Instant,
    /// The user's version in Redis when the entry was read (shared mode).
    version: i64,
}

#[derive(Default)]
struct Shard {
    epoch: u64,
    entries: HashMap<String, Entry>,
}

/// Taken before the database read whose result may be cached.
#[derive(Debug)]
pub struct Ticket {
    shard: usize,
    epoch: u64,
    version: i64,
}

/// What a lookup found, for the metrics.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Lookup {
    Hit,
    Miss,
    /// Caching is off, or Redis could not be asked.
    Bypass,
}

impl Lookup {
    pub fn label(self) -> &'static str {
        match self {
            Lookup::Hit => "hit",
            Lookup::Miss => "miss",
            Lookup::Bypass => "bypass",
        }
    }
}

pub struct AuthCache {
    inner: Option<Inner>,
}

struct Inner {
    shards: Vec<Mutex<Shard>>,
    hasher: std::collections::hash_map::RandomState,
    ttl: Duration,
    per_shard: usize,
    versions: Option<Versions>,
}

/// Per-user change counters in Redis, shared by every process.
struct Versions {
    connection: ConnectionManager,
    prefix: String,
}

impl AuthCache {
    pub fn disabled() -> Self {
        Self { inner: None }
    }

    /// A cache for a process that is alone on its database.
    pub fn local(ttl: Duration, capacity: usize) -> Self {
        if ttl.is_zero() || capacity == 0 {
            return Self::disabled();
        }
        Self { inner: Some(Inner::new(ttl, capacity, None)) }
    }

    /// A cache for one of several processes, checked against versions kept in Redis.
    pub async fn shared(ttl: Duration, capacity: usize, url: &str, prefix: &str) -> Result<Self, redis::RedisError> {
        if ttl.is_zero() || capacity == 0 {
            return Ok(Self::disabled());
        }
        let connection = crate::redis_link::connect(url).await?;
        let versions = Versions { connection, prefix: format!("{prefix}auth-version:") };
        Ok(Self { inner: Some(Inner::new(ttl, capacity, Some(versions))) })
    }

    /// The Redis key of the user's version, for a caller that reads it on the cache's
    /// behalf ([`Self::prefetched`]); None unless the cache is shared.
    pub fn version_key(&self, user_id: &str) -> Option<String> {
        let versions = self.inner.as_ref()?.versions.as_ref()?;
        Some(format!("{}{user_id}", versions.prefix))
    }

    /// Runs `request` with the user's version already read (see [`Self::version_key`]):
    /// the lookups it makes for that user use it instead of a Redis read of their own.
    pub async fn prefetched<F: Future>(user_id: String, version: i64, request: F) -> F::Output {
        PREFETCHED.scope(std::cell::Cell::new(Some((user_id, version))), request).await
    }

    /// The user behind this credential, if it was checked within the TTL and nothing of
    /// the user changed since.
    pub async fn get(
        &self,
        user_id: &str,
        credential_id: &str,
        kind: CredentialKind,
        now_secs: i64,
    ) -> (Lookup, Option<Arc<users::Model>>) {
        let Some(inner) = &self.inner else { return (Lookup::Bypass, None) };
        let (user, version) = {
            let mut shard = inner.shard(user_id);
            let Some(entry) = shard.entries.get(user_id) else { return (Lookup::Miss, None) };
            if entry.filled_at.elapsed() >= inner.ttl {
                shard.entries.remove(user_id);
                return (Lookup::Miss, None);
            }
            let known = entry
                .credentials
                .iter()
                .any(|c| c.id == credential_id && c.kind == kind && c.expires_at.is_none_or(|at| at > now_secs));
            if !known {
                return (Lookup::Miss, None);
            }
            (entry.user.clone(), entry.version)
        };
        if let Some(versions) = &inner.versions {
            match versions.current(user_id).await {
                Some(current) if current == version => {}
                Some(_) => {
                    inner.drop_entry_if(user_id, version);
                    return (Lookup::Miss, None);
                }
                None => return (Lookup::Bypass, None),
            }
        }
        (Lookup::Hit, Some(user))
    }

    /// For a session served from the cache: true, once, when its last recorded use is at
    /// least `every_micros` old (both in microseconds). The entry then counts the use as
    /// recorded now, so the requests of the next `every_micros` do not ask again (in this
    /// process).
    pub fn claim_touch(&self, user_id: &str, session_id: &str, now_micros: i64, every_micros: i64) -> bool {
        let Some(inner) = &self.inner else { return false };
        let mut shard = inner.shard(user_id);
        let Some(entry) = shard.entries.get_mut(user_id) else { return false };
        let Some(credential) =
            entry.credentials.iter_mut().find(|c| c.id == session_id && c.kind == CredentialKind::Session)
        else {
            return false;
        };
        match credential.last_used_at {
            Some(at) if now_micros - at >= every_micros => {
                credential.last_used_at = Some(now_micros);
                true
            }
            _ => false,
        }
    }

    /// Call before reading the user from the database; None means do not cache.
    pub async fn ticket(&self, user_id: &str) -> Option<Ticket> {
        let inner = self.inner.as_ref()?;
        let shard = inner.shard_index(user_id);
        let epoch = lock(&inner.shards[shard]).epoch;
        let version = match &inner.versions {
            Some(versions) => versions.current(user_id).await?,
            None => 0,
        };
        Some(Ticket { shard, epoch, version })
    }

    /// Remembers a user and a credential read after `ticket` was taken, unless the user
    /// was forgotten in this process since.
    pub fn fill(&self, ticket: Ticket, user: &users::Model, credential: Credential) {
        let Some(inner) = &self.inner else { return };
        let mut shard = lock(&inner.shards[ticket.shard]);
        if shard.epoch != ticket.epoch {
            return;
        }
        let ttl = inner.ttl;
        let fresh =
            shard.entries.get(&user.id).is_some_and(|e| e.filled_at.elapsed() < ttl && e.version == ticket.version);
        if !fresh && shard.entries.len() >= inner.per_shard {
            shard.entries.retain(|_, e| e.filled_at.elapsed() < ttl);
            if shard.entries.len() >= inner.per_shard {
                // Full of live entries: make room by dropping the oldest.
                if let Some(oldest) = shard.entries.iter().min_by_key(|(_, e)| e.filled_at).map(|(k, _)| k.clone()) {
                    shard.entries.remove(&oldest);
                }
            }
        }
        match shard.entries.get_mut(&user.id).filter(|_| fresh) {
            // Nothing forgotten since the entry was made: its credentials still hold.
            Some(entry) => {
                entry.user = Arc::new(user.clone());
                entry.credentials.retain(|c| c.id != credential.id);
                if entry.credentials.len() >= CREDENTIALS_PER_USER {
                    entry.credentials.remove(0);
                }
                entry.credentials.push(credential);
            }
            None => {
                let entry = Entry {
                    user: Arc::new(user.clone()),
                    credentials: vec![credential],
                    filled_at: Instant::now(),
                    version: ticket.version,
                };
                shard.entries.insert(user.id.clone(), entry);
            }
        }
    }

    /// Before a revocation (a logout, a password change, a session ended, an account
    /// deleted): with Redis, moves the user's version on, and says whether it could. A
    /// revocation that cannot be published is not made (the caller answers 503 and the
    /// client retries): made anyway, the other processes would go on serving the revoked
    /// credential from their caches until `AUTH_CACHE_TTL_SECS`. [`Self::forget`] after
    /// the commit still follows: a fill that read the database between the two is dropped.
    pub async fn publish(&self, user_id: &str) -> Result<(), Unpublished> {
        let Some(inner) = &self.inner else { return Ok(()) };
        match &inner.versions {
            Some(versions) if !versions.bump(user_id, inner.ttl).await => Err(Unpublished),
            _ => Ok(()),
        }
    }

    /// Drops the user here and, with Redis, in every process. Call after the write that
    /// changed the user, their sessions or their key has committed.
    pub async fn forget(&self, user_id: &str) {
        let Some(inner) = &self.inner else { return };
        if let Some(versions) = &inner.versions {
            // Logged by `bump`; the change is made, and the entries age out.
            let _ = versions.bump(user_id, inner.ttl).await;
        }
        inner.forget_local(user_id);
    }

    /// Entries held now (for tests and diagnostics).
    pub fn len(&self) -> usize {
        self.inner.as_ref().map_or(0, |inner| inner.shards.iter().map(|s| lock(s).entries.len()).sum())
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

fn lock(shard: &Mutex<Shard>) -> MutexGuard<'_, Shard> {
    shard.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
}

impl Inner {
    fn new(ttl: Duration, capacity: usize, versions: Option<Versions>) -> Self {
        Self {
            shards: (0..SHARDS).map(|_| Mutex::default()).collect(),
            hasher: Default::default(),
            ttl,
            per_shard: capacity.div_ceil(SHARDS),
            versions,
        }
    }

    fn shard_index(&self, user_id: &str) -> usize {
        (self.hasher.hash_one(user_id) as usize) % SHARDS
    }

    fn shard(&self, user_id: &str) -> MutexGuard<'_, Shard> {
        lock(&self.shards[self.shard_index(user_id)])
    }

    fn forget_local(&self, user_id: &str) {
        let mut shard = self.shard(user_id);
        shard.epoch += 1;
        shard.entries.remove(user_id);
    }

    fn drop_entry_if(&self, user_id: &str, version: i64) {
        let mut shard = self.shard(user_id);
        if shard.entries.get(user_id).is_some_and(|e| e.version == version) {
            shard.entries.remove(user_id);
        }
    }
}

impl Versions {
    /// The user's version, 0 when never changed (or long ago); None when Redis cannot say.
    async fn current(&self, user_id: &str) -> Option<i64> {
        let prefetched = PREFETCHED.try_with(|cell| match cell.take() {
            Some((id, version)) if id == user_id => Some(version),
            other => {
                cell.set(other);
                None
            }
        });
        if let Ok(Some(version)) = prefetched {
            return Some(version);
        }
        let mut connection = self.connection.clone();
        let mut get = redis::cmd("GET");
        get.arg(format!("{}{user_id}", self.prefix));
        match tokio::time::timeout(crate::redis_link::REPLY_TIMEOUT, get.query_async::<Option<i64>>(&mut connection))
            .await
        {
            Ok(Ok(version)) => Some(version.unwrap_or(0)),
            Ok(Err(err)) => {
                tracing::warn!(%err, "auth cache: cannot read a version; using the database");
                None
            }
            Err(_) => {
                tracing::warn!("auth cache: reading a version timed out; using the database");
                None
            }
        }
    }

    /// Moves the user's version on; false when Redis did not take it. The key outlives
    /// any entry filled under an older version (their TTL), so letting it expire later can
    /// never revive one.
    async fn bump(&self, user_id: &str, ttl: Duration) -> bool {
        let key = format!("{}{user_id}", self.prefix);
        let mut connection = self.connection.clone();
        let keep_secs = ttl.as_secs() * 2 + 60;
        let mut bump = redis::pipe();
        bump.atomic().incr(&key, 1).ignore().expire(&key, keep_secs as i64).ignore();
        match tokio::time::timeout(crate::redis_link::REPLY_TIMEOUT, bump.query_async::<()>(&mut connection)).await {
            Ok(Ok(())) => true,
            Ok(Err(err)) => {
                tracing::error!(%user_id, %err, "auth cache: cannot publish a change to Redis");
                false
            }
            Err(_) => {
                tracing::error!(%user_id, "auth cache: publishing a change to Redis timed out");
                false
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use doubles::relay::Relay;

    fn user(id: &str, credits: i64) -> users::Model {
        users::Model {
            id: id.into(),
            email: format!("{id}@example.com"),
            password_hash: None,
            first_name: "Ada".into(),
            last_name: None,
            is_active: true,
            is_2fa_enabled: false,
            is_dark_mode: true,
            credits,
            totp_secret: None,
            totp_pending_secret: None,
            totp_last_step: None,
            stripe_customer_id: None,
            created_at: 0,
            updated_at: 0,
        }
    }

    fn session(id: &str, expires_at: i64) -> Credential {
        Credential { id: id.into(), kind: CredentialKind::Session, expires_at: Some(expires_at), last_used_at: Some(0) }
    }

    fn credits(found: (Lookup, Option<Arc<users::Model>>)) -> Option<i64> {
        found.1.map(|u| u.credits)
    }

    #[tokio::test]
    async fn serves_only_the_credential_it_checked_until_forgotten() {
        let cache = AuthCache::local(Duration::from_secs(60), 100);
        let ticket = cache.ticket("usr_1").await.unwrap();
        cache.fill(ticket, &user("usr_1", 5), session("ses_a", 1_000));
        assert_eq!(cache.get("usr_1", "ses_a", CredentialKind::Session, 10).await.0, Lookup::Hit);
        assert_eq!(credits(cache.get("usr_1", "ses_a", CredentialKind::Session, 10).await), Some(5));
        // Another session, the same id as a key, an expired session: not served.
        assert_eq!(cache.get("usr_1", "ses_b", CredentialKind::Session, 10).await.0, Lookup::Miss);
        assert_eq!(cache.get("usr_1", "ses_a", CredentialKind::ApiKey, 10).await.0, Lookup::Miss);
        assert_eq!(cache.get("usr_1", "ses_a", CredentialKind::Session, 1_000).await.0, Lookup::Miss);
        assert_eq!(cache.get("usr_2", "ses_a", CredentialKind::Session, 10).await.0, Lookup::Miss);
        cache.forget("usr_1").await;
        assert_eq!(cache.get("usr_1", "ses_a", CredentialKind::Session, 10).await.0, Lookup::Miss);
        assert!(cache.is_empty());
    }

    #[tokio::test]
    async fn a_read_that_raced_a_change_is_not_kept() {
        let cache = AuthCache::local(Duration::from_secs(60), 100);
        // Read (old row) ... the change commits and forgets ... then the fill arrives.
        let ticket = cache.ticket("usr_1").await.unwrap();
        cache.forget("usr_1").await;
        cache.fill(ticket, &user("usr_1", 5), session("ses_a", 1_000));
        assert_eq!(cache.get("usr_1", "ses_a", CredentialKind::Session, 10).await.0, Lookup::Miss);
        // A read that starts after the change is kept.
        let ticket = cache.ticket("usr_1").await.unwrap();
        cache.fill(ticket, &user("usr_1", 7), session("ses_a", 1_000));
        assert_eq!(credits(cache.get("usr_1", "ses_a", CredentialKind::Session, 10).await), Some(7));
    }

    #[tokio::test]
    async fn credentials_add_up_and_entries_age_out() {
        let cache = AuthCache::local(Duration::from_millis(200), 100);
        cache.fill(cache.ticket("usr_1").await.unwrap(), &user("usr_1", 1), session("ses_a", 1_000));
        let key = Credential { id: "key_a".into(), kind: CredentialKind::ApiKey, expires_at: None, last_used_at: None };
        cache.fill(cache.ticket("usr_1").await.unwrap(), &user("usr_1", 1), key);
        assert_eq!(cache.get("usr_1", "ses_a", CredentialKind::Session, 10).await.0, Lookup::Hit);
        assert_eq!(cache.get("usr_1", "key_a", CredentialKind::ApiKey, 10).await.0, Lookup::Hit);
        tokio::time::sleep(Duration::from_millis(250)).await;
        assert_eq!(cache.get("usr_1", "key_a", CredentialKind::ApiKey, 10).await.0, Lookup::Miss);
    }

    #[tokio::test]
    async fn capacity_is_kept() {
        let cache = AuthCache::local(Duration::from_secs(60), SHARDS);
        for i in 0..1_000 {
            let id = format!("usr_{i}");
            cache.fill(cache.ticket(&id).await.unwrap(), &user(&id, 0), session("ses", 1_000));
        }
        assert!(cache.len() <= SHARDS, "{}", cache.len());
        // The newest is kept.
        assert_eq!(cache.get("usr_999", "ses", CredentialKind::Session, 10).await.0, Lookup::Hit);
    }

    #[tokio::test]
    async fn a_session_use_is_claimed_once_a_minute() {
        let cache = AuthCache::local(Duration::from_secs(60), 100);
        cache.fill(cache.ticket("usr_1").await.unwrap(), &user("usr_1", 1), session("ses_a", 1_000));
        // Last used at 0: due at 60, once; then not before 120.
        assert!(!cache.claim_touch("usr_1", "ses_a", 59, 60));
        assert!(cache.claim_touch("usr_1", "ses_a", 60, 60));
        assert!(!cache.claim_touch("usr_1", "ses_a", 61, 60));
        assert!(!cache.claim_touch("usr_1", "ses_a", 119, 60));
        assert!(cache.claim_touch("usr_1", "ses_a", 120, 60));
        // Not cached: nothing to claim (the database read decides).
        assert!(!cache.claim_touch("usr_1", "ses_b", 500, 60));
        assert!(!cache.claim_touch("usr_2", "ses_a", 500, 60));
    }

    #[tokio::test]
    async fn off_means_off() {
        let cache = AuthCache::local(Duration::ZERO, 100);
        assert!(cache.ticket("usr_1").await.is_none());
        assert_eq!(cache.get("usr_1", "ses_a", CredentialKind::Session, 10).await.0, Lookup::Bypass);
    }

    /// A shared cache on the test Redis, reached through a relay the test can cut, with
    /// `usr_1`'s session `ses_a` filled; and its key prefix.
    async fn filled_through_relay(redis_url: &str) -> (Relay, String, AuthCache) {
        let (relay, through_relay) = Relay::to_redis(redis_url).await;
        let prefix = format!("clara-test:{}:", uuid::Uuid::new_v4().simple());
        let cache = AuthCache::shared(Duration::from_secs(60), 100, &through_relay, &prefix).await.unwrap();
        cache.fill(cache.ticket("usr_1").await.unwrap(), &user("usr_1", 5), session("ses_a", 1_000));
        (relay, prefix, cache)
    }

    #[tokio::test]
    async fn an_unreachable_redis_means_the_database_is_asked() {
        let Some(redis_url) = std::env::var("TEST_REDIS_URL").ok().filter(|v| !v.is_empty()) else {
            // Without a test Redis: a shared cache that cannot reach Redis does not start.
            let refused = AuthCache::shared(Duration::from_secs(60), 100, "redis://127.0.0.1:1", "x:").await;
            assert!(refused.is_err());
            return;
        };
        let (relay, _, cache) = filled_through_relay(&redis_url).await;
        assert_eq!(cache.get("usr_1", "ses_a", CredentialKind::Session, 10).await.0, Lookup::Hit);

        relay.cut().await;
        // Whatever another process changed meanwhile could not be learnt: not trusted.
        for _ in 0..3 {
            assert_eq!(cache.get("usr_1", "ses_a", CredentialKind::Session, 10).await.0, Lookup::Bypass);
        }
        assert!(cache.ticket("usr_2").await.is_none(), "nothing is filled without a version");
        // A change still reaches this process's own entries.
        cache.forget("usr_1").await;
        assert!(cache.is_empty());
    }

    #[tokio::test]
    async fn a_version_read_in_the_limiters_round_trip_is_used_once_and_for_its_user_only() {
        let Some(redis_url) = std::env::var("TEST_REDIS_URL").ok().filter(|v| !v.is_empty()) else {
            eprintln!("skipped: set TEST_REDIS_URL to run the shared-cache tests");
            return;
        };
        let (relay, prefix, cache) = filled_through_relay(&redis_url).await;
        assert_eq!(cache.version_key("usr_1"), Some(format!("{prefix}auth-version:usr_1")));
        // Redis out of reach: only the version handed over can serve the hit, so a Hit
        // here proves the lookup made no read of its own.
        relay.cut().await;
        let lookups = AuthCache::prefetched("usr_1".into(), 0, async {
            let first = cache.get("usr_1", "ses_a", CredentialKind::Session, 10).await.0;
            // Taken by the first lookup: a second one in the same request reads Redis.
            let second = cache.get("usr_1", "ses_a", CredentialKind::Session, 10).await.0;
            (first, second)
        })
        .await;
        assert_eq!(lookups, (Lookup::Hit, Lookup::Bypass));
        // Another user's version is never used for this one.
        let other =
            AuthCache::prefetched("usr_2".into(), 0, cache.get("usr_1", "ses_a", CredentialKind::Session, 10)).await;
        assert_eq!(other.0, Lookup::Bypass);
        // A newer version than the entry's: the entry is stale.
        let moved =
            AuthCache::prefetched("usr_1".into(), 1, cache.get("usr_1", "ses_a", CredentialKind::Session, 10)).await;
        assert_eq!(moved.0, Lookup::Miss);
        assert!(cache.is_empty(), "the stale entry is dropped");
        assert!(AuthCache::local(Duration::from_secs(60), 100).version_key("usr_1").is_none(), "nothing to read alone");
    }
}
