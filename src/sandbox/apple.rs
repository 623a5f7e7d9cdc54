//! The sandbox's Apple: identity tokens shaped as Sign in with Apple's, signed with the
//! sandbox key ([`super::google::SandboxKey`]), whose key set this server also serves as
//! Apple's (`GET /api/v1/sandbox/apple/auth/keys`, where `APPLE_JWKS_URL` points in sandbox
//! mode). Only a sandbox server trusts them.

use serde_json::json;
use sha2::{Digest, Sha256};

use super::google::SandboxKey;

/// How long a minted token is valid, like Apple's identity tokens.
const LIFETIME_SECS: u64 = 600;

/// What a token is minted for.
pub struct AppleMintRequest<'a> {
    pub email: &'a str,
    /// Copied to the `nonce` claim as given, as Apple copies what the app put in its
    /// request (the SHA-256 hex of the server's nonce).
    pub nonce: Option<&'a str>,
    pub email_verified: bool,
}

/// An identity token with Apple's claims: issuer, the sandbox service id as audience, a
/// subject stable per address, Apple's string booleans.
pub fn mint(key: &SandboxKey, request: &AppleMintRequest<'_>) -> String {
    let now =
        std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map(|d| d.as_secs()).unwrap_or_default();
    let email = request.email.to_ascii_lowercase();
    let digest = data_encoding::HEXLOWER.encode(&Sha256::digest(email.as_bytes())[..16]);
    let mut claims = json!({
        "iss": "https://appleid.apple.com",
        "aud": super::APPLE_CLIENT_ID,
        "sub": format!("000000.{digest}.0000"),
        "email": email,
        "email_verified": if request.email_verified { "true" } else { "false" },
        "is_private_email": if email.ends_with("@privaterelay.appleid.com") { "true" } else { "false" },
        "auth_time": now,
        "nonce_supported": true,
        "iat": now,
        "exp": now + LIFETIME_SECS,
    });
    if let Some(nonce) = request.nonce {
        claims["nonce"] = json!(nonce);
    }
    key.sign(&claims)
}

#[cfg(test)]
mod tests {
    use jsonwebtoken::{Algorithm, DecodingKey, Validation, jwk::JwkSet};
    use serde_json::Value;

    use super::*;

    #[test]
    fn minted_apple_tokens_verify_against_the_served_key_set() {
        let request = AppleMintRequest { email: "Ada@Example.com", nonce: Some("abc"), email_verified: true };
        let token = mint(&SandboxKey::load(), &request);
        let set: JwkSet = serde_json::from_value(SandboxKey::jwks()).unwrap();
        let key = DecodingKey::from_jwk(&set.keys[0]).unwrap();
        let mut validation = Validation::new(Algorithm::RS256);
        validation.set_audience(&[super::super::APPLE_CLIENT_ID]);
        validation.set_issuer(&["https://appleid.apple.com"]);
        let claims = jsonwebtoken::decode::<Value>(&token, &key, &validation).unwrap().claims;
        assert_eq!(claims["email"], "ada@example.com");
        assert_eq!(claims["email_verified"], "true");
        assert_eq!(claims["nonce"], "abc");
    }
}
