//! Google ID-token verification against the JWKS at `GOOGLE_JWKS_URL`, with the keys
//! cached and re-fetched when a token names a key id we do not have.

use std::{
    collections::HashMap,
    sync::Arc,
    time::{Duration, Instant},
};

use jsonwebtoken::{Algorithm, DecodingKey, Validation, jwk::JwkSet};
use serde::Deserialize;
use tokio::sync::RwLock;

/// The claims we use from a verified Google ID token.
#[derive(Debug, Deserialize)]
pub struct GoogleClaims {
    pub email: String,
    #[serde(default)]
    pub email_verified: EmailVerified,
    pub given_name: Option<String>,
    pub family_name: Option<String>,
    pub name: Option<String>,
}

/// Google sends `email_verified` as a boolean, older tokens as the string "true".
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

#[derive(Debug, thiserror::Error)]
pub enum GoogleError {
    #[error("GOOGLE_CLIENT_ID is not set")]
    NotConfigured,
    #[error("invalid token")]
    Invalid,
    #[error("key set unavailable: {0}")]
    KeySet(String),
}

#[derive(Clone)]
pub struct GoogleVerifier {
    client_id: Option<String>,
    jwks_url: String,
    http: reqwest::Client,
    cache: Arc<RwLock<KeyCache>>,
}

#[derive(Default)]
struct KeyCache {
    keys: HashMap<String, DecodingKey>,
    fetched_at: Option<Instant>,
}

/// Refetch at most this often when unknown key ids arrive, so a stream of forged
/// tokens cannot turn us into a load generator against Google.
const MIN_REFETCH: Duration = Duration::from_secs(10);
const MAX_AGE: Duration = Duration::from_secs(3600);

impl GoogleVerifier {
    pub fn new(client_id: Option<String>, jwks_url: String, http: reqwest::Client) -> Self {
        Self { client_id, jwks_url, http, cache: Arc::default() }
    }

    pub fn is_configured(&self) -> bool {
        self.client_id.is_some()
    }

    pub async fn verify(&self, id_token: &str) -> Result<GoogleClaims, GoogleError> {
        let client_id = self.client_id.as_ref().ok_or(GoogleError::NotConfigured)?;
        let header = jsonwebtoken::decode_header(id_token).map_err(|_| GoogleError::Invalid)?;
        if header.alg != Algorithm::RS256 {
            return Err(GoogleError::Invalid);
        }
        let kid = header.kid.ok_or(GoogleError::Invalid)?;
        let key = self.key(&kid).await?.ok_or(GoogleError::Invalid)?;
        let mut validation = Validation::new(Algorithm::RS256);
        validation.set_audience(&[client_id]);
        validation.set_issuer(&["https://accounts.google.com", "accounts.google.com"]);
        validation.set_required_spec_claims(&["exp", "iss", "aud", "sub"]);
        validation.leeway = 30;
        let claims =
            jsonwebtoken::decode::<GoogleClaims>(id_token, &key, &validation).map_err(|_| GoogleError::Invalid)?.claims;
        if !claims.email_verified.is_true() {
            return Err(GoogleError::Invalid);
        }
        Ok(claims)
    }

    async fn key(&self, kid: &str) -> Result<Option<DecodingKey>, GoogleError> {
        {
            let cache = self.cache.read().await;
            let fresh = cache.fetched_at.is_some_and(|at| at.elapsed() < MAX_AGE);
            if let Some(key) = cache.keys.get(kid).filter(|_| fresh) {
                return Ok(Some(key.clone()));
            }
        }
        let mut cache = self.cache.write().await;
        let recently = cache.fetched_at.is_some_and(|at| at.elapsed() < MIN_REFETCH);
        if !recently || !cache.keys.contains_key(kid) && cache.fetched_at.is_none() {
            cache.keys = self.fetch().await?;
            cache.fetched_at = Some(Instant::now());
        }
        Ok(cache.keys.get(kid).cloned())
    }

    async fn fetch(&self) -> Result<HashMap<String, DecodingKey>, GoogleError> {
        let response = self
            .http
            .get(&self.jwks_url)
            .send()
            .await
            .and_then(|r| r.error_for_status())
            .map_err(|e| GoogleError::KeySet(e.to_string()))?;
        let set: JwkSet = response.json().await.map_err(|e| GoogleError::KeySet(e.to_string()))?;
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
