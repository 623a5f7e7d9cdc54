//! Google for the tests: two keys made in the test process, a key set served on 127.0.0.1
//! (the key-set double), and claims as Google puts them in an ID token. The key set and keys
//! are provider-neutral: `tests/api/apple.rs` serves them as Apple's, with Apple's claims.

use std::sync::OnceLock;

use doubles::{
    Served,
    keys::{KeySet, SigningKey},
};
use serde_json::{Value, json};

pub const CLIENT_ID: &str = "clara-test.apps.googleusercontent.com";

pub type FakeJwks = Served<KeySet>;

/// Two keys made once per test process (RSA generation is slow).
pub fn keys() -> &'static [SigningKey; 2] {
    static KEYS: OnceLock<[SigningKey; 2]> = OnceLock::new();
    KEYS.get_or_init(|| [SigningKey::generate("key-one"), SigningKey::generate("key-two")])
}

/// A key set serving the first test key only; its URL is `{url}/certs`.
pub async fn start() -> FakeJwks {
    let mut served = doubles::serve(KeySet::of(&[&keys()[0]])).await;
    served.url.push_str("/certs");
    served
}

pub fn claims(email: &str, aud: &str, exp_offset: i64) -> Value {
    let now = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap().as_secs() as i64;
    json!({
        "iss": "https://accounts.google.com", "aud": aud, "sub": "1234567890",
        "email": email, "email_verified": true, "given_name": "grace", "family_name": "hopper",
        "iat": now, "exp": now + exp_offset,
    })
}
