//! Sign in with Apple identity-token verification: the generic [`OidcVerifier`] with
//! Apple's issuer, `APPLE_CLIENT_IDS` (bundle ids and service ids) as the audiences and
//! the keys at `APPLE_JWKS_URL`, plus the nonce and e-mail rules.

use serde::Deserialize;
use sha2::{Digest, Sha256};

pub use super::jwks::JwksError as AppleError;
use super::jwks::{EmailVerified, OidcVerifier};

pub const ISSUERS: &[&str] = &["https://appleid.apple.com"];

/// The claims we use from a verified Apple identity token.
#[derive(Debug, Deserialize)]
pub struct AppleClaims {
    /// The stable user id (per team).
    pub sub: String,
    /// Absent in some later sign-ins; a private relay address (`…@privaterelay.appleid.com`)
    /// when the user hid theirs, an ordinary address for us.
    pub email: Option<String>,
    /// Apple sends the string "true" or "false".
    #[serde(default)]
    pub email_verified: EmailVerified,
    pub nonce: Option<String>,
    /// Unix seconds; the verifier has checked it.
    pub exp: i64,
}

pub use rules::identity::AppleIdentity;

#[derive(Clone)]
pub struct AppleVerifier(OidcVerifier);

/// Whether the token's `nonce` claim matches the nonce the client sent us: the nonce
/// itself, or its SHA-256 in hex (what Apple's own clients put in the request).
pub fn nonce_matches(claim: Option<&str>, nonce: &str) -> bool {
    let Some(claim) = claim else { return false };
    let hashed = format!("{:x}", Sha256::digest(nonce.as_bytes()));
    claim == nonce || claim.eq_ignore_ascii_case(&hashed)
}

impl AppleVerifier {
    pub fn new(client_ids: Vec<String>, jwks_url: String, http: reqwest::Client) -> Self {
        Self(OidcVerifier::new(ISSUERS, client_ids, jwks_url, http))
    }

    pub fn is_configured(&self) -> bool {
        self.0.is_configured()
    }

    /// The verified address of a valid token, with its `sub`, `nonce` and `exp`. With
    /// `nonce`, the token's `nonce` claim must match it (see [`nonce_matches`]). A token
    /// without an address, or with one Apple has not verified, is refused.
    pub async fn verify(&self, id_token: &str, nonce: Option<&str>) -> Result<AppleIdentity, AppleError> {
        let claims: AppleClaims = self.0.verify(id_token).await?;
        if nonce.is_some_and(|nonce| !nonce_matches(claims.nonce.as_deref(), nonce)) {
            return Err(AppleError::Invalid);
        }
        match claims.email {
            Some(email) if claims.email_verified.is_true() => {
                Ok(AppleIdentity { email, sub: claims.sub, nonce: claims.nonce, exp: claims.exp })
            }
            _ => Err(AppleError::Invalid),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::nonce_matches;

    #[test]
    fn apple_nonce_matches_raw_or_sha256_hex() {
        let hashed = "2c26b46b68ffc68ff99b453c1d30413413422d706483bfa0f98a5e886266e7ae"; // SHA-256("foo")
        assert!(nonce_matches(Some("foo"), "foo"));
        assert!(nonce_matches(Some(hashed), "foo"));
        assert!(nonce_matches(Some(&hashed.to_uppercase()), "foo"));
        assert!(!nonce_matches(Some("bar"), "foo"));
        assert!(!nonce_matches(None, "foo"));
        assert!(!nonce_matches(Some(hashed), hashed.trim_end_matches('e')));
    }
}
