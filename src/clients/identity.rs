//! The identity-token port of the rules, on Google's and Apple's key sets.

use rules::identity::{AppleIdentity, GoogleIdentity, IdentityTokens, JwksError};

use super::{apple_jwks::AppleVerifier, google_jwks::GoogleVerifier};

/// Both verifiers; clones share their key caches.
pub struct Verifiers {
    pub google: GoogleVerifier,
    pub apple: AppleVerifier,
}

#[async_trait::async_trait]
impl IdentityTokens for Verifiers {
    async fn google(&self, id_token: &str) -> Result<GoogleIdentity, JwksError> {
        let claims = self.google.verify(id_token).await?;
        Ok(GoogleIdentity {
            email: claims.email,
            given_name: claims.given_name,
            family_name: claims.family_name,
            name: claims.name,
        })
    }

    async fn apple(&self, id_token: &str, nonce: Option<&str>) -> Result<AppleIdentity, JwksError> {
        self.apple.verify(id_token, nonce).await
    }
}
