//! Stripe's API as our client uses it: customers, Checkout Sessions and billing-portal
//! sessions, form-encoded in and JSON out, each refusing a wrong secret key as Stripe does
//! before it reads anything. Checkout Sessions are kept (bounded) until paid; paying one
//! means sending the `checkout.session.completed` event Stripe would, signed as Stripe signs
//! ([`completed_event`], [`signature`]).

use std::{
    collections::HashMap,
    sync::{Arc, Mutex},
};

use hmac::{Hmac, Mac};
use poem::{
    Endpoint, EndpointExt, Response, Route,
    endpoint::BoxEndpoint,
    handler,
    http::StatusCode,
    post,
    web::{Data, Form},
};
use serde_json::{Value, json};
use sha2::Sha256;

use crate::{faults::Faults, serve::Double};

/// Checkout Sessions kept at most; the oldest is forgotten first.
const CAPACITY: usize = 10_000;

/// A Checkout Session as created.
#[derive(Debug, Clone, Default)]
pub struct CheckoutRecord {
    pub id: String,
    pub customer: String,
    pub metadata: HashMap<String, String>,
    pub amount_cents: i64,
    pub success_url: String,
    pub cancel_url: String,
    /// Order of creation, for forgetting the oldest.
    serial: u64,
}

impl CheckoutRecord {
    /// A session for `customer` paying `amount_cents`, as it would have been created (for an
    /// event about a session this double did not create).
    pub fn of(id: &str, customer: &str, metadata: HashMap<String, String>, amount_cents: i64) -> Self {
        Self { id: id.into(), customer: customer.into(), metadata, amount_cents, ..Self::default() }
    }

    /// Credits bought, as the metadata carries them (a decimal).
    pub fn credits(&self) -> &str {
        self.metadata.get("credits").map(String::as_str).unwrap_or("0")
    }
}

#[derive(Default)]
pub struct Sessions {
    inner: Mutex<(HashMap<String, CheckoutRecord>, u64)>,
}

impl Sessions {
    fn insert(&self, mut record: CheckoutRecord) {
        let mut guard = self.inner.lock().unwrap_or_else(|e| e.into_inner());
        let (sessions, serial) = &mut *guard;
        if sessions.len() >= CAPACITY
            && let Some(oldest) = sessions.values().min_by_key(|r| r.serial).map(|r| r.id.clone())
        {
            sessions.remove(&oldest);
        }
        *serial += 1;
        record.serial = *serial;
        sessions.insert(record.id.clone(), record);
    }

    pub fn get(&self, id: &str) -> Option<CheckoutRecord> {
        self.inner.lock().unwrap_or_else(|e| e.into_inner()).0.get(id).cloned()
    }
}

/// The double of Stripe's API.
pub struct Stripe {
    /// The secret key callers must present.
    secret_key: String,
    /// Where the checkout and portal pages of the links it hands out are.
    pages_base: String,
    pub sessions: Sessions,
    pub faults: Arc<Faults>,
}

impl Stripe {
    /// A Stripe taking `secret_key`, whose checkout links lead to `{pages_base}/checkout/{id}`
    /// and portal links to `{pages_base}/portal/{customer}`.
    pub fn new(secret_key: &str, pages_base: &str) -> Self {
        Self {
            secret_key: secret_key.into(),
            pages_base: pages_base.trim_end_matches('/').into(),
            sessions: Sessions::default(),
            faults: Arc::default(),
        }
    }
}

fn new_id(prefix: &str) -> String {
    format!("{prefix}_sandbox_{}", uuid::Uuid::new_v4().simple())
}

/// An error as Stripe words it: `{"error": {"type": "invalid_request_error", "message"}}`.
struct Refusal {
    status: StatusCode,
    message: String,
}

impl Refusal {
    fn new(status: StatusCode, message: impl Into<String>) -> Self {
        Self { status, message: message.into() }
    }

    fn into_response(self) -> Response {
        Response::builder()
            .status(self.status)
            .content_type("application/json")
            .body(json!({"error": {"type": "invalid_request_error", "message": self.message}}).to_string())
    }
}

fn stripe_json(value: Value) -> Response {
    Response::builder().content_type("application/json").body(value.to_string())
}

fn field<'a>(form: &'a [(String, String)], name: &str) -> Option<&'a str> {
    form.iter().find(|(k, _)| k == name).map(|(_, v)| v.as_str())
}

fn required<'a>(form: &'a [(String, String)], name: &str) -> Result<&'a str, Refusal> {
    field(form, name)
        .filter(|v| !v.is_empty())
        .ok_or_else(|| Refusal::new(StatusCode::BAD_REQUEST, format!("Missing required param: {name}.")))
}

#[handler]
fn create_customer(Form(form): Form<Vec<(String, String)>>) -> Response {
    stripe_json(json!({
        "id": new_id("cus"),
        "object": "customer",
        "email": field(&form, "email"),
        "name": field(&form, "name"),
    }))
}

#[handler]
fn create_checkout_session(Form(form): Form<Vec<(String, String)>>, stripe: Data<&Arc<Stripe>>) -> Response {
    match checkout_record(&form) {
        Ok(record) => {
            let answer = json!({
                "id": record.id,
                "object": "checkout.session",
                "mode": "payment",
                "status": "open",
                "payment_status": "unpaid",
                "amount_total": record.amount_cents,
                "currency": "usd",
                "customer": record.customer,
                "metadata": record.metadata,
                "success_url": record.success_url,
                "cancel_url": record.cancel_url,
                "url": format!("{}/checkout/{}", stripe.pages_base, record.id),
            });
            stripe.sessions.insert(record);
            stripe_json(answer)
        }
        Err(refused) => refused.into_response(),
    }
}

/// The session our client asked for: a price of one dollar times the quantity, or an
/// inline price (`price_data[unit_amount]`) times the quantity.
fn checkout_record(form: &[(String, String)]) -> Result<CheckoutRecord, Refusal> {
    let number = |name: &str| -> Result<i64, Refusal> {
        required(form, name)?
            .parse::<i64>()
            .ok()
            .filter(|n| *n > 0)
            .ok_or_else(|| Refusal::new(StatusCode::BAD_REQUEST, format!("Invalid integer: {name}.")))
    };
    let quantity = number("line_items[0][quantity]")?;
    let unit = if field(form, "line_items[0][price]").is_some() {
        100
    } else {
        number("line_items[0][price_data][unit_amount]")?
    };
    let metadata = form
        .iter()
        .filter_map(|(k, v)| Some((k.strip_prefix("metadata[")?.strip_suffix(']')?.to_string(), v.clone())))
        .collect();
    Ok(CheckoutRecord {
        id: new_id("cs"),
        customer: required(form, "customer")?.to_string(),
        metadata,
        amount_cents: unit.saturating_mul(quantity),
        success_url: required(form, "success_url")?.to_string(),
        cancel_url: required(form, "cancel_url")?.to_string(),
        serial: 0,
    })
}

#[handler]
fn create_portal_session(Form(form): Form<Vec<(String, String)>>, stripe: Data<&Arc<Stripe>>) -> Response {
    let (customer, return_url) = match (required(&form, "customer"), required(&form, "return_url")) {
        (Ok(c), Ok(r)) => (c, r),
        (Err(refused), _) | (_, Err(refused)) => return refused.into_response(),
    };
    let mut url = url::Url::parse(&format!("{}/portal/{customer}", stripe.pages_base))
        .unwrap_or_else(|_| url::Url::parse("http://127.0.0.1/").expect("a fixed URL parses"));
    url.query_pairs_mut().append_pair("return_url", return_url);
    stripe_json(
        json!({"id": new_id("bps"), "object": "billing_portal.session", "customer": customer, "url": url.as_str()}),
    )
}

impl Double for Stripe {
    fn routes(self: Arc<Self>) -> BoxEndpoint<'static, Response> {
        let expected = format!("Bearer {}", self.secret_key);
        Route::new()
            .at("/v1/customers", post(create_customer))
            .at("/v1/checkout/sessions", post(create_checkout_session))
            .at("/v1/billing_portal/sessions", post(create_portal_session))
            .data(self)
            .around(move |endpoint, req| {
                // A wrong secret key is refused before anything is read, as Stripe does.
                let keyed = req.headers().get(poem::http::header::AUTHORIZATION).and_then(|v| v.to_str().ok())
                    == Some(expected.as_str());
                async move {
                    match keyed {
                        true => endpoint.call(req).await.map(poem::IntoResponse::into_response),
                        false => {
                            Ok(Refusal::new(StatusCode::UNAUTHORIZED, "Invalid API Key provided.").into_response())
                        }
                    }
                }
            })
            .boxed()
    }

    fn faults(&self) -> &Arc<Faults> {
        &self.faults
    }
}

/// `t=<now>,v1=<hex HMAC-SHA256 of "<t>.<body>">`, as Stripe signs its webhook deliveries.
pub fn signature(secret: &str, now_secs: i64, payload: &[u8]) -> String {
    // HMAC takes a key of any length.
    let mut mac = Hmac::<Sha256>::new_from_slice(secret.as_bytes()).expect("HMAC accepts any key");
    mac.update(format!("{now_secs}.").as_bytes());
    mac.update(payload);
    format!("t={now_secs},v1={}", data_encoding::HEXLOWER.encode(&mac.finalize().into_bytes()))
}

/// The event Stripe sends when a card payment completes; its id is fixed per session, as
/// Stripe sends the same event again when a delivery is retried.
pub fn completed_event(session: &CheckoutRecord, now_secs: i64) -> Value {
    let suffix = session.id.trim_start_matches("cs_");
    json!({
        "id": format!("evt_{suffix}"),
        "object": "event",
        "api_version": "2025-10-29.clover",
        "type": "checkout.session.completed",
        "created": now_secs,
        "livemode": false,
        "data": {"object": {
            "id": session.id,
            "object": "checkout.session",
            "mode": "payment",
            "status": "complete",
            "payment_status": "paid",
            "amount_total": session.amount_cents,
            "currency": "usd",
            "customer": session.customer,
            "client_reference_id": session.metadata.get("user_id"),
            "metadata": session.metadata,
            "success_url": session.success_url,
            "cancel_url": session.cancel_url,
        }},
    })
}
