//! A fake Stripe on 127.0.0.1: answers the three creates the server makes, records each
//! request as it arrived, and can be told to fail or to stall. Also signs webhook events
//! the way Stripe does.

use std::{
    sync::{Arc, Mutex},
    time::Duration,
};

use hmac::{Hmac, Mac};
use poem::{
    Body, EndpointExt, Request, Response, Route, Server, handler,
    http::StatusCode,
    listener::{Acceptor, Listener, TcpListener},
    web::Data,
};
use serde_json::{Value, json};
use sha2::Sha256;

pub const SECRET_KEY: &str = "sk_test_clara_fake";
pub const WEBHOOK_SECRET: &str = "whsec_clara_fake";
pub const CLIENT_URL: &str = "https://app.clara.test";

#[derive(Debug, Clone)]
pub struct Recorded {
    pub path: String,
    pub authorization: Option<String>,
    pub idempotency_key: Option<String>,
    pub content_type: Option<String>,
    /// The W3C trace context the server sent along (read by tests/otel/ only).
    #[allow(dead_code)]
    pub traceparent: Option<String>,
    pub form: Vec<(String, String)>,
}

impl Recorded {
    pub fn field(&self, name: &str) -> Option<&str> {
        self.form.iter().find(|(k, _)| k == name).map(|(_, v)| v.as_str())
    }

    pub fn fields(&self) -> std::collections::BTreeMap<String, String> {
        self.form.iter().cloned().collect()
    }
}

/// How the fake answers the next requests.
#[derive(Debug, Clone)]
pub enum Behaviour {
    Succeed,
    Fail { status: u16, body: Value },
    Stall(Duration),
}

#[derive(Clone)]
pub struct FakeStripe {
    pub url: String,
    requests: Arc<Mutex<Vec<Recorded>>>,
    behaviour: Arc<Mutex<Behaviour>>,
}

#[derive(Clone)]
struct Shared {
    requests: Arc<Mutex<Vec<Recorded>>>,
    behaviour: Arc<Mutex<Behaviour>>,
}

fn header(req: &Request, name: &str) -> Option<String> {
    req.headers().get(name).and_then(|v| v.to_str().ok()).map(str::to_string)
}

#[handler]
async fn create(req: &Request, body: Body, shared: Data<&Shared>) -> Response {
    let bytes = body.into_bytes().await.unwrap_or_default();
    let form: Vec<(String, String)> =
        url::form_urlencoded::parse(&bytes).map(|(k, v)| (k.into_owned(), v.into_owned())).collect();
    let path = req.uri().path().to_string();
    let number = {
        let mut requests = shared.requests.lock().unwrap();
        requests.push(Recorded {
            path: path.clone(),
            authorization: header(req, "authorization"),
            idempotency_key: header(req, "idempotency-key"),
            content_type: header(req, "content-type"),
            traceparent: header(req, "traceparent"),
            form,
        });
        requests.len()
    };
    let behaviour = shared.behaviour.lock().unwrap().clone();
    match behaviour {
        Behaviour::Fail { status, body } => {
            return Response::builder()
                .status(StatusCode::from_u16(status).unwrap())
                .content_type("application/json")
                .body(body.to_string());
        }
        // A slow Stripe: the answer comes, late.
        Behaviour::Stall(duration) => tokio::time::sleep(duration).await,
        Behaviour::Succeed => {}
    }
    let answer = match path.as_str() {
        "/v1/customers" => json!({"id": format!("cus_test_{number}"), "object": "customer"}),
        "/v1/checkout/sessions" => json!({
            "id": format!("cs_test_{number}"),
            "object": "checkout.session",
            "url": format!("https://checkout.stripe.test/c/pay/cs_test_{number}"),
        }),
        "/v1/billing_portal/sessions" => json!({
            "id": format!("bps_test_{number}"),
            "object": "billing_portal.session",
            "url": format!("https://billing.stripe.test/p/session/test_{number}"),
        }),
        _ => return Response::builder().status(StatusCode::NOT_FOUND).body("{}"),
    };
    Response::builder().content_type("application/json").body(answer.to_string())
}

impl FakeStripe {
    pub async fn start() -> Self {
        let requests = Arc::new(Mutex::new(vec![]));
        let behaviour = Arc::new(Mutex::new(Behaviour::Succeed));
        let shared = Shared { requests: requests.clone(), behaviour: behaviour.clone() };
        let acceptor = TcpListener::bind("127.0.0.1:0").into_acceptor().await.expect("bind fake Stripe");
        let port = acceptor.local_addr()[0].as_socket_addr().expect("socket address").port();
        let app = Route::new().at("/*path", poem::post(create)).data(shared);
        tokio::spawn(Server::new_with_acceptor(acceptor).run(app));
        Self { url: format!("http://127.0.0.1:{port}"), requests, behaviour }
    }

    /// The variables that point the server at this fake.
    pub fn env(&self) -> Vec<(&'static str, String)> {
        vec![
            ("STRIPE_SECRET_KEY", SECRET_KEY.to_string()),
            ("STRIPE_WEBHOOK_SECRET", WEBHOOK_SECRET.to_string()),
            ("STRIPE_API_BASE", self.url.clone()),
            ("CLIENT_URL", CLIENT_URL.to_string()),
            ("OUTBOUND_TIMEOUT_MS", "500".to_string()),
        ]
    }

    pub fn set(&self, behaviour: Behaviour) {
        *self.behaviour.lock().unwrap() = behaviour;
    }

    pub fn requests(&self) -> Vec<Recorded> {
        self.requests.lock().unwrap().clone()
    }

    pub fn requests_to(&self, path: &str) -> Vec<Recorded> {
        self.requests().into_iter().filter(|r| r.path == path).collect()
    }
}

/// A `Stripe-Signature` header for `payload` signed at `timestamp` with `secret`.
pub fn signature(secret: &str, timestamp: i64, payload: &[u8]) -> String {
    let mut mac = Hmac::<Sha256>::new_from_slice(secret.as_bytes()).unwrap();
    mac.update(format!("{timestamp}.").as_bytes());
    mac.update(payload);
    format!("t={timestamp},v1={}", data_encoding::HEXLOWER.encode(&mac.finalize().into_bytes()))
}

pub fn now_secs() -> i64 {
    std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap().as_secs() as i64
}

/// A `checkout.session.completed` event as Stripe sends it for a paid session.
pub fn checkout_completed(session_id: &str, user_id: &str, credits: &str, amount_cents: i64) -> Value {
    json!({
        "id": format!("evt_{}", uuid::Uuid::new_v4().simple()),
        "object": "event",
        "api_version": "2025-10-29.clover",
        "created": now_secs(),
        "livemode": false,
        "type": "checkout.session.completed",
        "data": {"object": {
            "id": session_id,
            "object": "checkout.session",
            "mode": "payment",
            "payment_status": "paid",
            "status": "complete",
            "amount_total": amount_cents,
            "currency": "usd",
            "client_reference_id": user_id,
            "customer": "cus_test_1",
            "metadata": {"user_id": user_id, "credits": credits},
        }},
    })
}
