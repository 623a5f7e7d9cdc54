//! bcrypt, always off the async runtime threads, with at most one hash per core at a
//! time so a login flood cannot starve the other requests, and the cores shared
//! round-robin by client address so one client's flood of sign-ups or guesses cannot
//! starve other clients' logins.

use std::{net::IpAddr, sync::Arc};

use prometheus::IntCounterVec;
use tokio::sync::OnceCell;

use super::{ServiceError, ServiceResult, fair_queue::FairQueue};
use crate::{address_key::AddressKey, domain::Password};

/// Whose turn a hash is: the client's address (None when it is not known).
pub type Client = Option<IpAddr>;

#[derive(Clone)]
pub struct PasswordHasher {
    cost: u32,
    /// Turns by client as the budgets count them (IPv6 per /64).
    cores: Arc<FairQueue<Option<AddressKey>>>,
    /// Verified against when the account has no password, so that an unknown e-mail
    /// takes as long as a wrong password.
    dummy_hash: Arc<OnceCell<String>>,
    /// bcrypt runs by kind (hash, verify).
    counted: IntCounterVec,
}

impl PasswordHasher {
    pub fn new(cost: u32, counted: IntCounterVec) -> Self {
        let cores = std::thread::available_parallelism().map(|n| n.get()).unwrap_or(2);
        Self { cost, cores: Arc::new(FairQueue::new(cores)), dummy_hash: Arc::new(OnceCell::new()), counted }
    }

    async fn run<T: Send + 'static>(
        &self,
        client: Client,
        kind: &str,
        work: impl FnOnce() -> T + Send + 'static,
    ) -> ServiceResult<T> {
        let _permit = self.cores.acquire(client.map(AddressKey::of)).await;
        self.counted.with_label_values(&[kind]).inc();
        tokio::task::spawn_blocking(work).await.map_err(|e| ServiceError::internal("hashing task", e))
    }

    pub async fn hash(&self, password: &Password, client: Client) -> ServiceResult<String> {
        let password = password.as_str().to_string();
        let cost = self.cost;
        self.run(client, "hash", move || bcrypt::hash(password, cost))
            .await?
            .map_err(|e| ServiceError::internal("bcrypt", e))
    }

    /// True when `password` matches `hash`; with no hash, spends the same time and says no.
    pub async fn verify(&self, password: &str, hash: Option<&str>, client: Client) -> ServiceResult<bool> {
        let (hash, real) = match hash {
            Some(hash) => (hash.to_string(), true),
            None => (self.dummy_hash().await?, false),
        };
        let password = password.to_string();
        let matched = self.run(client, "verify", move || bcrypt::verify(password, &hash).unwrap_or(false)).await?;
        Ok(real && matched)
    }

    async fn dummy_hash(&self) -> ServiceResult<String> {
        let cost = self.cost;
        self.dummy_hash
            .get_or_try_init(|| async move {
                self.run(None, "dummy", move || bcrypt::hash("not a password of anyone", cost))
                    .await?
                    .map_err(|e| ServiceError::internal("bcrypt", e))
            })
            .await
            .cloned()
    }
}
