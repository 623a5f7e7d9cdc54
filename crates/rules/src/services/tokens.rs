//! Signed credentials: user-session tokens (`clara_user_<JWT>`), API key tokens
//! (`clara_api_<JWT>`) and the keyed hash
//! used to store one-time codes.

use hmac::{Hmac, Mac};
use jsonwebtoken::{Algorithm, DecodingKey, EncodingKey, Header, Validation};
use sha2::Sha256;
use std::sync::Arc;

pub use super::claims::{Claims, Role};
use super::verified_tokens::VerifiedTokens;

pub const USER_TOKEN_PREFIX: &str = "clara_user_";
pub const API_KEY_TOKEN_PREFIX: &str = "clara_api_";

#[derive(Clone)]
pub struct TokenKeys {
    secret: Vec<u8>,
    encoding: EncodingKey,
    decoding: DecodingKey,
    /// Shared by the clones: a token checked once is not checked again (see its module).
    verified: Arc<VerifiedTokens>,
}

impl TokenKeys {
    pub fn new(secret: &str) -> Self {
        Self {
            secret: secret.as_bytes().to_vec(),
            encoding: EncodingKey::from_secret(secret.as_bytes()),
            decoding: DecodingKey::from_secret(secret.as_bytes()),
            verified: Arc::default(),
        }
    }

    pub fn user_token(&self, user_id: &str, session_id: &str, iat: i64, exp: i64) -> String {
        let claims = Claims { sub: user_id.into(), role: Role::User, iat, exp: Some(exp), jti: session_id.into() };
        // Encoding HS256 with a valid key does not fail.
        let jwt = jsonwebtoken::encode(&Header::new(Algorithm::HS256), &claims, &self.encoding).unwrap_or_default();
        format!("{USER_TOKEN_PREFIX}{jwt}")
    }

    /// The API key token of a key row: the same inputs always sign the same token, so
    /// View can show it again without storing it.
    pub fn api_key_token(&self, user_id: &str, key_id: &str, iat: i64) -> String {
        let claims = Claims { sub: user_id.into(), role: Role::ApiKey, iat, exp: None, jti: key_id.into() };
        let jwt = jsonwebtoken::encode(&Header::new(Algorithm::HS256), &claims, &self.encoding).unwrap_or_default();
        format!("{API_KEY_TOKEN_PREFIX}{jwt}")
    }

    /// Checks the prefix, signature, algorithm and expiry; the caller checks the row. A
    /// token that passed before is only checked for expiry again.
    pub fn decode(&self, token: &str) -> Option<Claims> {
        if let Some(claims) = self.verified.get(token, jsonwebtoken::get_current_timestamp()) {
            return Some(claims);
        }
        let claims = self.check(token)?;
        self.verified.insert(token, claims.clone());
        Some(claims)
    }

    /// The full check of a token.
    fn check(&self, token: &str) -> Option<Claims> {
        let (jwt, role) = if let Some(jwt) = token.strip_prefix(USER_TOKEN_PREFIX) {
            (jwt, Role::User)
        } else if let Some(jwt) = token.strip_prefix(API_KEY_TOKEN_PREFIX) {
            (jwt, Role::ApiKey)
        } else {
            return None;
        };
        let mut validation = Validation::new(Algorithm::HS256);
        validation.leeway = 0;
        validation.required_spec_claims.clear();
        validation.validate_exp = role == Role::User;
        if role == Role::User {
            validation.set_required_spec_claims(&["exp", "sub"]);
        }
        let claims = jsonwebtoken::decode::<Claims>(jwt, &self.decoding, &validation).ok()?.claims;
        (claims.role == role).then_some(claims)
    }

    /// A 32-byte key for `purpose` and `context`, derived from the server secret: what it
    /// protects in the database cannot be read without the secret.
    pub fn derived_key(&self, purpose: &str, context: &[&str]) -> [u8; 32] {
        let mut mac = <Hmac<Sha256>>::new_from_slice(&self.secret).expect("HMAC takes any key length");
        mac.update(purpose.as_bytes());
        for part in context {
            mac.update(b"\0");
            mac.update(part.as_bytes());
        }
        mac.finalize().into_bytes().into()
    }

    /// Keyed hash of a one-time code: a stolen database does not reveal live codes.
    pub fn code_hash(&self, scope: &str, code: &str) -> String {
        let mut mac = <Hmac<Sha256>>::new_from_slice(&self.secret).expect("HMAC takes any key length");
        mac.update(scope.as_bytes());
        mac.update(b"\0");
        mac.update(code.as_bytes());
        hex(&mac.finalize().into_bytes())
    }
}

pub fn hex(bytes: &[u8]) -> String {
    const DIGITS: &[u8; 16] = b"0123456789abcdef";
    let mut out = String::with_capacity(bytes.len() * 2);
    for byte in bytes {
        out.push(DIGITS[usize::from(byte >> 4)] as char);
        out.push(DIGITS[usize::from(byte & 0x0f)] as char);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hex_is_lowercase_and_two_digits_a_byte() {
        assert_eq!(hex(&[0x00, 0x0f, 0xab, 0xff]), "000fabff");
        assert_eq!(hex(&[]), "");
    }

    #[test]
    fn round_trip_and_tamper() {
        let keys = TokenKeys::new("a-secret-of-at-least-thirty-two-bytes!!");
        let now = jsonwebtoken::get_current_timestamp() as i64;
        let token = keys.user_token("user_1", "session_1", now, now + 60);
        let claims = keys.decode(&token).unwrap();
        assert_eq!((claims.sub.as_str(), claims.jti.as_str(), claims.role), ("user_1", "session_1", Role::User));
        assert!(keys.decode(&token.replace(USER_TOKEN_PREFIX, API_KEY_TOKEN_PREFIX)).is_none());
        assert!(keys.decode(&format!("{token}x")).is_none());
        assert!(TokenKeys::new("another-secret-of-thirty-two-bytes!!!").decode(&token).is_none());
        let expired = keys.user_token("user_1", "session_1", now - 120, now - 60);
        assert!(keys.decode(&expired).is_none());
    }

    #[test]
    fn a_remembered_token_is_checked_as_strictly_as_a_new_one() {
        let keys = TokenKeys::new("a-secret-of-at-least-thirty-two-bytes!!");
        let now = jsonwebtoken::get_current_timestamp() as i64;
        let token = keys.user_token("user_1", "session_1", now, now + 60);
        // Twice: the second answer comes from the memo and is the same.
        for _ in 0..2 {
            let claims = keys.decode(&token).unwrap();
            assert_eq!((claims.sub.as_str(), claims.jti.as_str()), ("user_1", "session_1"));
        }
        // A clone shares the memo; a server with another secret does not.
        assert!(keys.clone().decode(&token).is_some());
        assert!(TokenKeys::new("another-secret-of-thirty-two-bytes!!!").decode(&token).is_none());
        // Any change to a remembered token's bytes is a full check, and fails.
        let (head, signature) = token.rsplit_once('.').unwrap();
        let flipped = if signature.starts_with('A') { "B" } else { "A" };
        assert!(keys.decode(&format!("{head}.{flipped}{}", &signature[1..])).is_none());
        assert!(keys.decode(&token.replace(USER_TOKEN_PREFIX, API_KEY_TOKEN_PREFIX)).is_none());
        // A forged token is not remembered as passed, however often it is sent.
        let forged = TokenKeys::new("another-secret-of-thirty-two-bytes!!!").user_token("user_1", "s", now, now + 60);
        for _ in 0..2 {
            assert!(keys.decode(&forged).is_none());
        }
    }
}
