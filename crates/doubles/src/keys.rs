//! An identity provider's key set (a JWKS, as Google serves its certificates and Apple its
//! keys) and the keys that sign its tokens. A sandbox serves one committed key as both
//! Google's and Apple's; a test makes its own keys and rotates them.

use std::sync::{Arc, Mutex, OnceLock};

use base64::{Engine, engine::general_purpose::URL_SAFE_NO_PAD};
use jsonwebtoken::{Algorithm, EncodingKey, Header};
use poem::{EndpointExt, Response, endpoint::BoxEndpoint, get, handler, web::Data};
use rsa::{RsaPrivateKey, pkcs1::EncodeRsaPrivateKey, traits::PublicKeyParts};
use serde_json::{Value, json};

use crate::{faults::Faults, serve::Double};

/// A key that signs tokens (RS256, its key id in the header), with its public half as a JWK.
pub struct SigningKey {
    pub kid: String,
    encoding: EncodingKey,
    pub jwk: Value,
}

/// The sandbox's key, committed on purpose: anyone may mint sandbox tokens anyway (the
/// minters need no credential), and only a sandbox server trusts it, because only a sandbox
/// server points `GOOGLE_JWKS_URL` and `APPLE_JWKS_URL` at its own key set.
const SANDBOX_KEY_PEM: &str = include_str!("sandbox_key.pem");
pub const SANDBOX_KEY_ID: &str = "clara-sandbox-1";

impl SigningKey {
    /// A key from an RSA private key in PEM (PKCS#8).
    pub fn from_pem(kid: &str, pem: &str) -> Result<Self, String> {
        use rsa::pkcs8::DecodePrivateKey;
        let private = RsaPrivateKey::from_pkcs8_pem(pem).map_err(|e| e.to_string())?;
        Self::from_private(kid, &private)
    }

    /// A new 2048-bit RSA key (slow without optimisation: make it once).
    pub fn generate(kid: &str) -> Self {
        let private = RsaPrivateKey::new(&mut rsa::rand_core::OsRng, 2048).expect("an RSA key");
        Self::from_private(kid, &private).expect("a new key encodes")
    }

    /// The sandbox's key (see [`SANDBOX_KEY_PEM`]).
    pub fn sandbox() -> &'static Self {
        static KEY: OnceLock<SigningKey> = OnceLock::new();
        KEY.get_or_init(|| Self::from_pem(SANDBOX_KEY_ID, SANDBOX_KEY_PEM).expect("the committed key parses"))
    }

    fn from_private(kid: &str, private: &RsaPrivateKey) -> Result<Self, String> {
        let pem = private.to_pkcs1_pem(rsa::pkcs1::LineEnding::LF).map_err(|e| e.to_string())?;
        let jwk = json!({
            "kty": "RSA", "alg": "RS256", "use": "sig", "kid": kid,
            "n": URL_SAFE_NO_PAD.encode(private.n().to_bytes_be()),
            "e": URL_SAFE_NO_PAD.encode(private.e().to_bytes_be()),
        });
        let encoding = EncodingKey::from_rsa_pem(pem.as_bytes()).map_err(|e| e.to_string())?;
        Ok(Self { kid: kid.into(), encoding, jwk })
    }

    /// `claims` signed with this key.
    pub fn sign(&self, claims: &Value) -> String {
        let mut header = Header::new(Algorithm::RS256);
        header.kid = Some(self.kid.clone());
        // Signing JSON claims with a parsed RSA key cannot fail.
        jsonwebtoken::encode(&header, claims, &self.encoding).unwrap_or_default()
    }
}

/// A key set as an identity provider serves it (`{"keys": [...]}`).
#[derive(Default)]
pub struct KeySet {
    served: Mutex<Vec<Value>>,
    pub faults: Arc<Faults>,
}

impl KeySet {
    pub fn of(keys: &[&SigningKey]) -> Self {
        Self { served: Mutex::new(keys.iter().map(|k| k.jwk.clone()).collect()), faults: Arc::default() }
    }

    /// Adds a key, as a provider does when it rotates.
    pub fn add(&self, key: &SigningKey) {
        self.served.lock().unwrap_or_else(|e| e.into_inner()).push(key.jwk.clone());
    }

    pub fn jwks(&self) -> Value {
        json!({"keys": self.served.lock().unwrap_or_else(|e| e.into_inner()).clone()})
    }

    /// Fetches of the key set so far.
    pub fn fetched(&self) -> usize {
        self.faults.received()
    }
}

#[handler]
fn jwks(set: Data<&Arc<KeySet>>) -> poem::web::Json<Value> {
    poem::web::Json(set.jwks())
}

impl Double for KeySet {
    /// The key set at any path below its root.
    fn routes(self: Arc<Self>) -> BoxEndpoint<'static, Response> {
        get(jwks).data(self).map_to_response().boxed()
    }

    fn faults(&self) -> &Arc<Faults> {
        &self.faults
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The public half a sandbox has always served: clients and caches that hold it keep
    /// working.
    #[test]
    fn the_sandbox_key_set_is_the_committed_key() {
        let served = KeySet::of(&[SigningKey::sandbox()]).jwks();
        let key = &served["keys"][0];
        assert_eq!((key["kid"].as_str(), key["e"].as_str()), (Some(SANDBOX_KEY_ID), Some("AQAB")));
        let modulus = key["n"].as_str().unwrap();
        assert!(modulus.starts_with("sjoImvtxZzAjk8JVa7LKqBOkNpLNN5PtO3EI4VCuF09agKoWKl3AlA8F"), "{modulus}");
        assert!(modulus.ends_with("T6XlIEb7nb2tZAtOWTtSkw3sTdUh-cbIEdfkQ_4gHfOIXQ"), "{modulus}");
    }
}
