//! Tokens as Google and Apple issue them: the claims each provider puts in its ID token,
//! signed with a [`SigningKey`] whose key set the server is pointed at. Only a server that
//! trusts that key set accepts them.

use serde_json::{Value, json};
use sha2::{Digest, Sha256};

use crate::keys::SigningKey;

/// How long a Google ID token is valid.
const GOOGLE_LIFETIME_SECS: u64 = 3600;
/// How long an Apple identity token is valid.
const APPLE_LIFETIME_SECS: u64 = 600;

fn now_secs() -> u64 {
    std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map(|d| d.as_secs()).unwrap_or_default()
}

/// What a Google token is minted for.
pub struct GoogleToken<'a> {
    /// The client id the token is for (its audience).
    pub audience: &'a str,
    pub email: &'a str,
    pub name: Option<&'a str>,
    pub email_verified: bool,
}

/// An ID token with Google's claims: issuer, audience, a subject stable per address, and the
/// name split as Google splits it.
pub fn google_token(key: &SigningKey, request: &GoogleToken<'_>) -> String {
    let now = now_secs();
    let email = request.email.to_ascii_lowercase();
    let subject = data_encoding::HEXLOWER.encode(&Sha256::digest(email.as_bytes())[..10]);
    let mut claims = json!({
        "iss": "https://accounts.google.com",
        "azp": request.audience,
        "aud": request.audience,
        "sub": subject,
        "email": email,
        "email_verified": request.email_verified,
        "iat": now,
        "exp": now + GOOGLE_LIFETIME_SECS,
    });
    if let Some(name) = request.name.map(str::trim).filter(|n| !n.is_empty()) {
        claims["name"] = json!(name);
        let mut parts = name.splitn(2, ' ');
        claims["given_name"] = json!(parts.next().unwrap_or(name));
        if let Some(family) = parts.next().map(str::trim).filter(|f| !f.is_empty()) {
            claims["family_name"] = json!(family);
        }
    }
    key.sign(&claims)
}

/// What an Apple token is minted for.
pub struct AppleToken<'a> {
    /// The service id the token is for (its audience).
    pub audience: &'a str,
    pub email: &'a str,
    /// Copied to the `nonce` claim as given, as Apple copies what the app put in its
    /// request (the SHA-256 hex of the server's nonce).
    pub nonce: Option<&'a str>,
    pub email_verified: bool,
}

/// An identity token with Apple's claims: issuer, audience, a subject stable per address,
/// Apple's string booleans.
pub fn apple_token(key: &SigningKey, request: &AppleToken<'_>) -> String {
    let now = now_secs();
    let email = request.email.to_ascii_lowercase();
    let digest = data_encoding::HEXLOWER.encode(&Sha256::digest(email.as_bytes())[..16]);
    let mut claims: Value = json!({
        "iss": "https://appleid.apple.com",
        "aud": request.audience,
        "sub": format!("000000.{digest}.0000"),
        "email": email,
        "email_verified": if request.email_verified { "true" } else { "false" },
        "is_private_email": if email.ends_with("@privaterelay.appleid.com") { "true" } else { "false" },
        "auth_time": now,
        "nonce_supported": true,
        "iat": now,
        "exp": now + APPLE_LIFETIME_SECS,
    });
    if let Some(nonce) = request.nonce {
        claims["nonce"] = json!(nonce);
    }
    key.sign(&claims)
}

#[cfg(test)]
mod tests {
    use jsonwebtoken::{Algorithm, DecodingKey, Validation, jwk::JwkSet};

    use super::*;
    use crate::keys::KeySet;

    fn verify(token: &str, audience: &str, issuer: &str) -> Value {
        let set: JwkSet = serde_json::from_value(KeySet::of(&[SigningKey::sandbox()]).jwks()).unwrap();
        let key = DecodingKey::from_jwk(&set.keys[0]).unwrap();
        let mut validation = Validation::new(Algorithm::RS256);
        validation.set_audience(&[audience]);
        validation.set_issuer(&[issuer]);
        assert_eq!(jsonwebtoken::decode_header(token).unwrap().kid.as_deref(), Some(crate::keys::SANDBOX_KEY_ID));
        jsonwebtoken::decode::<Value>(token, &key, &validation).unwrap().claims
    }

    #[test]
    fn google_tokens_verify_against_the_served_key_set() {
        let request = GoogleToken {
            audience: "client.apps",
            email: "Ada@Example.com",
            name: Some("Ada King Lovelace"),
            email_verified: true,
        };
        let claims =
            verify(&google_token(SigningKey::sandbox(), &request), "client.apps", "https://accounts.google.com");
        assert_eq!(claims["email"], "ada@example.com");
        assert_eq!(claims["given_name"], "Ada");
        assert_eq!(claims["family_name"], "King Lovelace");
    }

    #[test]
    fn apple_tokens_verify_against_the_served_key_set() {
        let request =
            AppleToken { audience: "co.app", email: "Ada@Example.com", nonce: Some("abc"), email_verified: true };
        let claims = verify(&apple_token(SigningKey::sandbox(), &request), "co.app", "https://appleid.apple.com");
        assert_eq!(claims["email"], "ada@example.com");
        assert_eq!(claims["email_verified"], "true");
        assert_eq!(claims["nonce"], "abc");
    }
}
