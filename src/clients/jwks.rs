//! A generic OpenID Connect ID-token verifier: RS256 tokens checked against a JWKS
//! (fetched from a URL, cached, re-fetched when a token names a key id we do not have,
//! at most one fetch, failed or not, every [`MIN_REFETCH`]; the keys known from the last
//! good fetch are served meanwhile), an issuer list, an audience list and `exp`. Google
//! sign-in ([`super::google_jwks`]) and Sign in with Apple ([`super::apple_jwks`]) are
//! thin layers over it that add their own claims and rules.

use std::{
    collections::HashMap,
    sync::Arc,
    time::{Duration, Instant},
};

use jsonwebtoken::{Algorithm, DecodingKey, Validation, jwk::JwkSet};
use serde::{Deserialize, de::DeserializeOwned};
use tokio::sync::{Mutex, RwLock};

pub use rules::identity::JwksError;

/// `email_verified`: Google sends a boolean (older tokens the string "true"), Apple
/// the string "true" or "false" (sometimes a boolean).
#[derive(Debug, Default, Deserialize)]
#[serde(untagged)]
pub enum EmailVerified {
    Bool(bool),
    Text(String),
    #[default]
    Missing,
}

impl EmailVerified {
    pub fn is_true(&self) -> bool {
        matches!(self, Self::Bool(true)) || matches!(self, Self::Text(t) if t == "true")
    }
}

/// One identity provider's tokens: who issues them, for which audiences, signed with
/// the keys at which URL.
#[derive(Clone)]
pub struct OidcVerifier {
    issuers: Vec<String>,
    /// Empty: not configured.
    audiences: Vec<String>,
    jwks_url: String,
    http: reqwest::Client,
    cache: Arc<RwLock<KeyCache>>,
    /// Held by the one fetch under way; never held by a lookup of a known key.
    fetching: Arc<Mutex<()>>,
}

#[derive(Default)]
struct KeyCache {
    keys: HashMap<String, DecodingKey>,
    /// When the keys were last fetched successfully.
    fetched_at: Option<Instant>,
    /// When a fetch was last started, whatever came of it.
    tried_at: Option<Instant>,
}

impl KeyCache {
    fn fresh(&self, kid: &str) -> Option<DecodingKey> {
        self.keys.get(kid).filter(|_| self.fetched_at.is_some_and(|at| at.elapsed() < MAX_AGE)).cloned()
    }

    /// The answer without a fetch: the key if known (even if old: better than refusing
    /// every genuine token while the provider is down), else a refusal; an error while
    /// no key set was ever had.
    fn known(&self, kid: &str, failure: impl FnOnce() -> JwksError) -> Result<Option<DecodingKey>, JwksError> {
        match self.keys.get(kid) {
            Some(key) => Ok(Some(key.clone())),
            None if self.fetched_at.is_none() => Err(failure()),
            None => Ok(None),
        }
    }
}

/// Fetch at most this often, whether the last fetch failed or a token named a key id we
/// do not have, so that a stream of forged tokens cannot turn us into a load generator
/// against the provider, nor queue behind one slow fetch after another.
pub const MIN_REFETCH: Duration = Duration::from_secs(10);
/// Keys older than this are fetched again before use.
const MAX_AGE: Duration = Duration::from_secs(3600);

impl OidcVerifier {
    pub fn new(issuers: &[&str], audiences: Vec<String>, jwks_url: String, http: reqwest::Client) -> Self {
        let audiences = audiences.into_iter().filter(|a| !a.is_empty()).collect();
        let issuers = issuers.iter().map(|i| i.to_string()).collect();
        Self { issuers, audiences, jwks_url, http, cache: Arc::default(), fetching: Arc::default() }
    }

    pub fn is_configured(&self) -> bool {
        !self.audiences.is_empty()
    }

    /// The token's claims, once its signature (RS256, a key of the set), issuer,
    /// audience, `exp` (30 s leeway) and `sub` have been checked.
    pub async fn verify<C: DeserializeOwned>(&self, id_token: &str) -> Result<C, JwksError> {
        if !self.is_configured() {
            return Err(JwksError::NotConfigured);
        }
        let header = jsonwebtoken::decode_header(id_token).map_err(|_| JwksError::Invalid)?;
        if header.alg != Algorithm::RS256 {
            return Err(JwksError::Invalid);
        }
        let kid = header.kid.ok_or(JwksError::Invalid)?;
        let key = self.key(&kid).await?.ok_or(JwksError::Invalid)?;
        let mut validation = Validation::new(Algorithm::RS256);
        validation.set_audience(&self.audiences);
        validation.set_issuer(&self.issuers);
        validation.set_required_spec_claims(&["exp", "iss", "aud", "sub"]);
        validation.leeway = 30;
        Ok(jsonwebtoken::decode::<C>(id_token, &key, &validation).map_err(|_| JwksError::Invalid)?.claims)
    }

    async fn key(&self, kid: &str) -> Result<Option<DecodingKey>, JwksError> {
        if let Some(key) = self.cache.read().await.fresh(kid) {
            return Ok(Some(key));
        }
        // One fetch at a time; a lookup that needs one waits for the fetch under way
        // (at most one fetch's time), then looks again.
        let _fetching = self.fetching.lock().await;
        {
            let mut cache = self.cache.write().await;
            if let Some(key) = cache.fresh(kid) {
                return Ok(Some(key));
            }
            if cache.tried_at.is_some_and(|at| at.elapsed() < MIN_REFETCH) {
                return cache.known(kid, || JwksError::KeySet("backing off after a failed fetch".into()));
            }
            cache.tried_at = Some(Instant::now());
        }
        match self.fetch().await {
            Ok(keys) => {
                let mut cache = self.cache.write().await;
                cache.keys = keys;
                cache.fetched_at = Some(Instant::now());
                Ok(cache.keys.get(kid).cloned())
            }
            Err(err) => {
                tracing::warn!(%err, url = %self.jwks_url, "key set fetch failed; the known keys are served meanwhile");
                self.cache.read().await.known(kid, || err)
            }
        }
    }

    async fn fetch(&self) -> Result<HashMap<String, DecodingKey>, JwksError> {
        let response = crate::telemetry::send(self.http.get(&self.jwks_url), "jwks", crate::telemetry::Propagate::Yes)
            .await
            .and_then(|r| r.error_for_status())
            .map_err(|e| JwksError::KeySet(e.to_string()))?;
        let set: JwkSet = response.json().await.map_err(|e| JwksError::KeySet(e.to_string()))?;
        Ok(set
            .keys
            .iter()
            .filter_map(|jwk| {
                let kid = jwk.common.key_id.clone()?;
                DecodingKey::from_jwk(jwk).ok().map(|key| (kid, key))
            })
            .collect())
    }
}
