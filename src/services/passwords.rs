//! bcrypt, always off the async runtime threads, with at most one hash per core at a
//! time so a login flood cannot starve the other requests.

use std::sync::Arc;

use tokio::sync::{OnceCell, Semaphore};

use super::{ServiceError, ServiceResult};
use crate::domain::Password;

#[derive(Clone)]
pub struct PasswordHasher {
    cost: u32,
    permits: Arc<Semaphore>,
    /// Verified against when the account has no password, so that an unknown e-mail
    /// takes as long as a wrong password.
    dummy_hash: Arc<OnceCell<String>>,
}

impl PasswordHasher {
    pub fn new(cost: u32) -> Self {
        let cores = std::thread::available_parallelism().map(|n| n.get()).unwrap_or(2);
        Self { cost, permits: Arc::new(Semaphore::new(cores)), dummy_hash: Arc::new(OnceCell::new()) }
    }

    async fn run<T: Send + 'static>(&self, work: impl FnOnce() -> T + Send + 'static) -> ServiceResult<T> {
        let _permit = self.permits.acquire().await.map_err(|e| ServiceError::Internal(e.to_string()))?;
        tokio::task::spawn_blocking(work).await.map_err(|e| ServiceError::Internal(format!("hashing task: {e}")))
    }

    pub async fn hash(&self, password: &Password) -> ServiceResult<String> {
        let password = password.as_str().to_string();
        let cost = self.cost;
        self.run(move || bcrypt::hash(password, cost))
            .await?
            .map_err(|e| ServiceError::Internal(format!("bcrypt: {e}")))
    }

    /// True when `password` matches `hash`; with no hash, spends the same time and says no.
    pub async fn verify(&self, password: &str, hash: Option<&str>) -> ServiceResult<bool> {
        let (hash, real) = match hash {
            Some(hash) => (hash.to_string(), true),
            None => (self.dummy_hash().await?, false),
        };
        let password = password.to_string();
        let matched = self.run(move || bcrypt::verify(password, &hash).unwrap_or(false)).await?;
        Ok(real && matched)
    }

    async fn dummy_hash(&self) -> ServiceResult<String> {
        let cost = self.cost;
        self.dummy_hash
            .get_or_try_init(|| async move {
                self.run(move || bcrypt::hash("not a password of anyone", cost))
                    .await?
                    .map_err(|e| ServiceError::Internal(format!("bcrypt: {e}")))
            })
            .await
            .cloned()
    }
}
