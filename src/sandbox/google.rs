//! The sandbox's Google: a signing key whose public half this server serves as a JWKS
//! (`GET /api/v1/sandbox/google/certs`), where the real verifier fetches it, and a minter of
//! ID tokens signed with it.
//!
//! The key is committed on purpose: anyone may mint sandbox tokens anyway (the minter needs
//! no credential), and only a sandbox server trusts the key, because only a sandbox server
//! points `GOOGLE_JWKS_URL` at its own key set. A production server fetches Google's.

use jsonwebtoken::{Algorithm, EncodingKey, Header};
use serde_json::{Value, json};
use sha2::{Digest, Sha256};

/// The key id tokens name in their header.
pub const KEY_ID: &str = "clara-sandbox-1";
const PRIVATE_KEY_PEM: &str = include_str!("google_key.pem");
/// The key's modulus, base64url: the public half served in the JWKS.
const MODULUS: &str = "sjoImvtxZzAjk8JVa7LKqBOkNpLNN5PtO3EI4VCuF09agKoWKl3AlA8FmyFZyfs6U1tr0nN7bEhspICYBritcVXn6T7LTd9ZgmjJwQKHor0qDPoqhthA22tDOAwqZVy5hn6OYBSkxojLFjTKTtFgskcZdtgL08OzqBGkFsr7tnlnxsZEJkmOWgsltfQ3iE-8Rfk4R0RM3ow0YxGaZcyQNqpTFgGd-mAN7tuitaSgUTxfW835NtHPkK6jZ0WCgyAVrE4TpzepnLpe1obMcQYV1nlh95EKhxykchwLNPC-T6XlIEb7nb2tZAtOWTtSkw3sTdUh-cbIEdfkQ_4gHfOIXQ";
/// How long a minted token is valid, like Google's.
const LIFETIME_SECS: u64 = 3600;

pub struct SandboxKey {
    encoding: EncodingKey,
}

/// What a token is minted for.
pub struct MintRequest<'a> {
    pub email: &'a str,
    pub name: Option<&'a str>,
    pub email_verified: bool,
}

impl SandboxKey {
    pub fn load() -> Self {
        // A committed constant: parsing it cannot fail at run time once the tests pass.
        let encoding = EncodingKey::from_rsa_pem(PRIVATE_KEY_PEM.as_bytes()).expect("the sandbox's Google key parses");
        Self { encoding }
    }

    /// The key set, as Google serves its own.
    pub fn jwks() -> Value {
        json!({"keys": [{"kty": "RSA", "alg": "RS256", "use": "sig", "kid": KEY_ID, "n": MODULUS, "e": "AQAB"}]})
    }

    /// An ID token with Google's claims: issuer, the sandbox client id as audience, a
    /// subject stable per address, and the name split as Google splits it.
    pub fn mint(&self, request: &MintRequest<'_>) -> String {
        let now =
            std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map(|d| d.as_secs()).unwrap_or_default();
        let email = request.email.to_ascii_lowercase();
        let subject = data_encoding::HEXLOWER.encode(&Sha256::digest(email.as_bytes())[..10]);
        let mut claims = json!({
            "iss": "https://accounts.google.com",
            "azp": super::GOOGLE_CLIENT_ID,
            "aud": super::GOOGLE_CLIENT_ID,
            "sub": subject,
            "email": email,
            "email_verified": request.email_verified,
            "iat": now,
            "exp": now + LIFETIME_SECS,
        });
        if let Some(name) = request.name.map(str::trim).filter(|n| !n.is_empty()) {
            claims["name"] = json!(name);
            let mut parts = name.splitn(2, ' ');
            claims["given_name"] = json!(parts.next().unwrap_or(name));
            if let Some(family) = parts.next().map(str::trim).filter(|f| !f.is_empty()) {
                claims["family_name"] = json!(family);
            }
        }
        self.sign(&claims)
    }

    /// `claims` signed with the sandbox key (RS256, its key id in the header). The sandbox's
    /// Apple signs with the same key: only a sandbox server trusts it, as Apple's or Google's.
    pub fn sign(&self, claims: &Value) -> String {
        let mut header = Header::new(Algorithm::RS256);
        header.kid = Some(KEY_ID.into());
        // Signing with a parsed RSA key and JSON claims cannot fail.
        jsonwebtoken::encode(&header, claims, &self.encoding).unwrap_or_default()
    }
}

#[cfg(test)]
mod tests {
    use jsonwebtoken::{DecodingKey, Validation, jwk::JwkSet};

    use super::*;

    #[test]
    fn minted_tokens_verify_against_the_served_key_set() {
        let token = SandboxKey::load().mint(&MintRequest {
            email: "Ada@Example.com",
            name: Some("Ada King Lovelace"),
            email_verified: true,
        });
        let set: JwkSet = serde_json::from_value(SandboxKey::jwks()).unwrap();
        let key = DecodingKey::from_jwk(&set.keys[0]).unwrap();
        let mut validation = Validation::new(Algorithm::RS256);
        validation.set_audience(&[super::super::GOOGLE_CLIENT_ID]);
        let claims = jsonwebtoken::decode::<Value>(&token, &key, &validation).unwrap().claims;
        assert_eq!(claims["email"], "ada@example.com");
        assert_eq!(claims["given_name"], "Ada");
        assert_eq!(claims["family_name"], "King Lovelace");
        assert_eq!(jsonwebtoken::decode_header(&token).unwrap().kid.as_deref(), Some(KEY_ID));
    }
}
