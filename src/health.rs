//! What the health routes report, computed at most once a second however many probes come.
//!
//! A load balancer polling many instances, or a burst of probes, would otherwise pay a
//! database round trip each. Here a result is reused for [`FRESH_FOR`], and probes that
//! arrive while a check runs wait for that check instead of starting their own.

use std::{
    sync::Mutex,
    time::{Duration, Instant},
};

use migration::MigratorTrait;
use sea_orm::{ConnectionTrait, DatabaseConnection};

/// How long a result answers later probes.
pub const FRESH_FOR: Duration = Duration::from_secs(1);
/// A dependency that has not answered by then is down.
const PING_TIMEOUT: Duration = Duration::from_secs(2);

/// Why the process is not ready to serve.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum NotReady {
    Database,
    Redis,
    MigrationsPending,
}

/// One cached check: the last result and when it was taken; `flight` lets one caller run
/// the check while the others wait for its result.
struct Cached<T> {
    last: Mutex<Option<(Instant, T)>>,
    flight: tokio::sync::Mutex<()>,
}

impl<T: Clone> Cached<T> {
    fn new() -> Self {
        Self { last: Mutex::new(None), flight: tokio::sync::Mutex::new(()) }
    }

    fn fresh(&self) -> Option<T> {
        let last = self.last.lock().unwrap_or_else(|p| p.into_inner());
        last.as_ref().filter(|(at, _)| at.elapsed() < FRESH_FOR).map(|(_, value)| value.clone())
    }

    async fn get<F: Future<Output = T>>(&self, check: impl FnOnce() -> F) -> T {
        if let Some(value) = self.fresh() {
            return value;
        }
        let _flight = self.flight.lock().await;
        // Whoever held the flight before us may have just refreshed it.
        if let Some(value) = self.fresh() {
            return value;
        }
        let value = check().await;
        *self.last.lock().unwrap_or_else(|p| p.into_inner()) = Some((Instant::now(), value.clone()));
        value
    }
}

/// The health checks of one process.
pub struct HealthChecks {
    database: Cached<bool>,
    ready: Cached<Result<(), NotReady>>,
}

impl Default for HealthChecks {
    fn default() -> Self {
        Self { database: Cached::new(), ready: Cached::new() }
    }
}

impl HealthChecks {
    /// Whether the database answers (`GET /health`).
    pub async fn database(&self, db: &DatabaseConnection) -> bool {
        self.database.get(|| ping_database(db)).await
    }

    /// Whether this process can serve (`GET /health/ready`): the database answers, Redis
    /// answers when configured, and every migration this binary knows is applied.
    pub async fn ready(&self, db: &DatabaseConnection, limits: &crate::limits::Limits) -> Result<(), NotReady> {
        self.ready
            .get(|| async {
                if !self.database(db).await {
                    return Err(NotReady::Database);
                }
                if limits.is_shared() && !limits.ping().await {
                    return Err(NotReady::Redis);
                }
                match tokio::time::timeout(PING_TIMEOUT, migration::Migrator::get_pending_migrations(db)).await {
                    Ok(Ok(pending)) if pending.is_empty() => Ok(()),
                    Ok(Ok(pending)) => {
                        tracing::error!(pending = pending.len(), "readiness: migrations are not applied");
                        Err(NotReady::MigrationsPending)
                    }
                    Ok(Err(err)) => {
                        tracing::error!(%err, "readiness: cannot read the applied migrations");
                        Err(NotReady::Database)
                    }
                    Err(_) => {
                        tracing::error!("readiness: reading the applied migrations timed out");
                        Err(NotReady::Database)
                    }
                }
            })
            .await
    }
}

async fn ping_database(db: &DatabaseConnection) -> bool {
    match tokio::time::timeout(PING_TIMEOUT, db.execute_unprepared("SELECT 1")).await {
        Ok(Ok(_)) => true,
        failed => {
            tracing::error!(?failed, "health check: database did not answer");
            false
        }
    }
}

#[cfg(test)]
mod tests {
    use std::sync::{
        Arc,
        atomic::{AtomicUsize, Ordering},
    };

    use super::*;

    #[tokio::test]
    async fn concurrent_probes_share_one_check_and_reuse_it() {
        let cached = Arc::new(Cached::<u32>::new());
        let runs = Arc::new(AtomicUsize::new(0));
        let probes: Vec<_> = (0..50)
            .map(|_| {
                let (cached, runs) = (cached.clone(), runs.clone());
                tokio::spawn(async move {
                    cached
                        .get(|| async {
                            runs.fetch_add(1, Ordering::SeqCst);
                            tokio::time::sleep(Duration::from_millis(50)).await;
                            7
                        })
                        .await
                })
            })
            .collect();
        for probe in probes {
            assert_eq!(probe.await.unwrap(), 7);
        }
        assert_eq!(runs.load(Ordering::SeqCst), 1, "one check for 50 concurrent probes");
        assert_eq!(cached.get(|| async { 8 }).await, 7, "reused while fresh");
    }

    #[tokio::test]
    async fn a_stale_result_is_checked_again() {
        let cached = Cached::<u32>::new();
        assert_eq!(cached.get(|| async { 1 }).await, 1);
        *cached.last.lock().unwrap() = Some((Instant::now() - FRESH_FOR, 1));
        assert_eq!(cached.get(|| async { 2 }).await, 2);
    }
}
