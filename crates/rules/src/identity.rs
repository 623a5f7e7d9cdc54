//! Identity tokens (Google ID tokens, Apple identity tokens) as the rules see them: why one
//! was refused. Fetching key sets and checking signatures is an adapter's work.

#[derive(Debug, thiserror::Error)]
pub enum JwksError {
    /// No audience configured: the feature is off.
    #[error("not configured")]
    NotConfigured,
    #[error("invalid token")]
    Invalid,
    #[error("key set unavailable: {0}")]
    KeySet(String),
}

/// What a valid Google ID token says, once Google has verified its address.
#[derive(Debug)]
pub struct GoogleIdentity {
    pub email: String,
    pub given_name: Option<String>,
    pub family_name: Option<String>,
    pub name: Option<String>,
}

/// What a valid Apple identity token says, once its address is known to be verified.
#[derive(Debug)]
pub struct AppleIdentity {
    pub email: String,
    pub sub: String,
    /// The token's `nonce` claim: what the app put in its Apple request.
    pub nonce: Option<String>,
    /// Until when the token is valid (unix seconds).
    pub exp: i64,
}

/// Checks identity tokens against their issuer's published keys.
#[async_trait::async_trait]
pub trait IdentityTokens: Send + Sync {
    /// A Google ID token whose address Google has verified.
    async fn google(&self, id_token: &str) -> Result<GoogleIdentity, JwksError>;
    /// An Apple identity token; with `nonce`, its `nonce` claim must match it.
    async fn apple(&self, id_token: &str, nonce: Option<&str>) -> Result<AppleIdentity, JwksError>;
}
