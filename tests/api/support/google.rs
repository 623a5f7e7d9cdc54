//! A fake Google: an RSA key made in the test, its JWKS served on 127.0.0.1, and ID
//! tokens signed with it. The key set and keys are provider-neutral: `tests/api/apple.rs`
//! serves them as Apple's, with Apple's claims.

use std::sync::{
    Arc, Mutex, OnceLock,
    atomic::{AtomicBool, AtomicUsize, Ordering},
};

use base64::{Engine, engine::general_purpose::URL_SAFE_NO_PAD};
use jsonwebtoken::{Algorithm, EncodingKey, Header};
use poem::{
    EndpointExt, IntoResponse, Response, Route, Server, get, handler,
    http::StatusCode,
    listener::{Acceptor, Listener, TcpListener},
    web::{Data, Json},
};
use rsa::{RsaPrivateKey, pkcs1::EncodeRsaPrivateKey, traits::PublicKeyParts};
use serde_json::{Value, json};

pub const CLIENT_ID: &str = "clara-test.apps.googleusercontent.com";

pub struct TestKey {
    pub kid: String,
    encoding: EncodingKey,
    pub jwk: Value,
}

fn make_key(kid: &str) -> TestKey {
    let private = RsaPrivateKey::new(&mut rsa::rand_core::OsRng, 2048).expect("RSA key");
    let pem = private.to_pkcs1_pem(rsa::pkcs1::LineEnding::LF).expect("PEM");
    let jwk = json!({
        "kty": "RSA", "alg": "RS256", "use": "sig", "kid": kid,
        "n": URL_SAFE_NO_PAD.encode(private.n().to_bytes_be()),
        "e": URL_SAFE_NO_PAD.encode(private.e().to_bytes_be()),
    });
    TestKey { kid: kid.into(), encoding: EncodingKey::from_rsa_pem(pem.as_bytes()).expect("key"), jwk }
}

/// Two keys made once per test process (RSA generation is slow).
pub fn keys() -> &'static [TestKey; 2] {
    static KEYS: OnceLock<[TestKey; 2]> = OnceLock::new();
    KEYS.get_or_init(|| [make_key("key-one"), make_key("key-two")])
}

impl TestKey {
    pub fn sign(&self, claims: &Value) -> String {
        let mut header = Header::new(Algorithm::RS256);
        header.kid = Some(self.kid.clone());
        jsonwebtoken::encode(&header, claims, &self.encoding).expect("sign")
    }
}

pub fn claims(email: &str, aud: &str, exp_offset: i64) -> Value {
    let now = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap().as_secs() as i64;
    json!({
        "iss": "https://accounts.google.com", "aud": aud, "sub": "1234567890",
        "email": email, "email_verified": true, "given_name": "grace", "family_name": "hopper",
        "iat": now, "exp": now + exp_offset,
    })
}

#[derive(Clone)]
pub struct FakeJwks {
    pub url: String,
    pub served: Arc<Mutex<Vec<Value>>>,
    pub fetches: Arc<AtomicUsize>,
    /// While set, the key set answers 503 (the provider's outage).
    pub failing: Arc<AtomicBool>,
}

#[derive(Clone)]
struct Shared {
    served: Arc<Mutex<Vec<Value>>>,
    fetches: Arc<AtomicUsize>,
    failing: Arc<AtomicBool>,
}

#[handler]
fn jwks(shared: Data<&Shared>) -> Response {
    shared.fetches.fetch_add(1, Ordering::SeqCst);
    if shared.failing.load(Ordering::SeqCst) {
        return StatusCode::SERVICE_UNAVAILABLE.into_response();
    }
    Json(json!({ "keys": shared.served.lock().unwrap().clone() })).into_response()
}

impl FakeJwks {
    /// Serves the first test key only.
    pub async fn start() -> Self {
        let served = Arc::new(Mutex::new(vec![keys()[0].jwk.clone()]));
        let fetches = Arc::new(AtomicUsize::new(0));
        let failing = Arc::new(AtomicBool::new(false));
        let shared = Shared { served: served.clone(), fetches: fetches.clone(), failing: failing.clone() };
        let acceptor = TcpListener::bind("127.0.0.1:0").into_acceptor().await.expect("bind JWKS");
        let port = acceptor.local_addr()[0].as_socket_addr().expect("socket address").port();
        let app = Route::new().at("/certs", get(jwks)).data(shared);
        tokio::spawn(Server::new_with_acceptor(acceptor).run(app));
        Self { url: format!("http://127.0.0.1:{port}/certs"), served, fetches, failing }
    }

    /// Requests the key set has answered so far.
    pub fn fetched(&self) -> usize {
        self.fetches.load(Ordering::SeqCst)
    }

    /// Makes the key set fail (503) or answer again.
    pub fn fail(&self, failing: bool) {
        self.failing.store(failing, Ordering::SeqCst);
    }

    /// Adds the second key, as Google does when it rotates.
    pub fn rotate(&self) {
        self.served.lock().unwrap().push(keys()[1].jwk.clone());
    }
}
