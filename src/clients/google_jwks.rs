//! Google ID-token verification: the generic [`OidcVerifier`] with Google's issuers,
//! `GOOGLE_CLIENT_ID` as the audience and the keys at `GOOGLE_JWKS_URL`.

use serde::Deserialize;

use super::jwks::OidcVerifier;
pub use super::jwks::{EmailVerified, JwksError as GoogleError};

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

pub const ISSUERS: &[&str] = &["https://accounts.google.com", "accounts.google.com"];

#[derive(Clone)]
pub struct GoogleVerifier(OidcVerifier);

impl GoogleVerifier {
    pub fn new(client_id: Option<String>, jwks_url: String, http: reqwest::Client) -> Self {
        Self(OidcVerifier::new(ISSUERS, client_id.into_iter().collect(), jwks_url, http))
    }

    pub fn is_configured(&self) -> bool {
        self.0.is_configured()
    }

    /// The claims of a valid token whose address Google has verified.
    pub async fn verify(&self, id_token: &str) -> Result<GoogleClaims, GoogleError> {
        let claims: GoogleClaims = self.0.verify(id_token).await?;
        if !claims.email_verified.is_true() {
            return Err(GoogleError::Invalid);
        }
        Ok(claims)
    }
}
