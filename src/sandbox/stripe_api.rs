//! The sandbox's Stripe: the three calls our Stripe client makes (customers, Checkout
//! Sessions, billing-portal sessions), form-encoded in and JSON out as Stripe's API is, at
//! `/api/v1/sandbox/stripe/v1/…`. Checkout Sessions are kept in memory until paid through
//! the checkout page (see `checkout.rs`).

use std::{collections::HashMap, sync::Mutex};

use poem::{
    Endpoint, EndpointExt, Request, Response, handler,
    http::StatusCode,
    web::{Data, Form},
};
use serde_json::{Value, json};

use super::Sandbox;

/// Checkout Sessions kept at most; the oldest is forgotten first.
const CAPACITY: usize = 10_000;

/// A Checkout Session as created.
#[derive(Debug, Clone)]
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

/// The double's routes, each answering a wrong secret key as Stripe does before it reads
/// anything.
pub fn keyed<E: Endpoint + 'static>(endpoint: E) -> impl Endpoint<Output = Response> {
    endpoint.map_to_response().around(|endpoint, req| async move {
        match check_key(&req) {
            Ok(()) => endpoint.call(req).await,
            Err(refused) => Ok(refused.into_response()),
        }
    })
}

/// Stripe's answer to a wrong secret key.
fn check_key(req: &Request) -> Result<(), Refusal> {
    let expected = format!("Bearer {}", super::STRIPE_SECRET_KEY);
    match req.headers().get(poem::http::header::AUTHORIZATION).and_then(|v| v.to_str().ok()) {
        Some(given) if given == expected => Ok(()),
        _ => Err(Refusal::new(StatusCode::UNAUTHORIZED, "Invalid API Key provided.")),
    }
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
pub fn create_customer(Form(form): Form<Vec<(String, String)>>) -> Response {
    stripe_json(json!({
        "id": new_id("cus"),
        "object": "customer",
        "email": field(&form, "email"),
        "name": field(&form, "name"),
    }))
}

#[handler]
pub fn create_checkout_session(
    Form(form): Form<Vec<(String, String)>>,
    sandbox: Data<&std::sync::Arc<Sandbox>>,
) -> Response {
    match checkout_record(&form) {
        Ok(record) => {
            let url = format!("{}{}/checkout/{}", sandbox.public_url, super::PREFIX, record.id);
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
                "url": url,
            });
            sandbox.sessions.insert(record);
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
pub fn create_portal_session(
    Form(form): Form<Vec<(String, String)>>,
    sandbox: Data<&std::sync::Arc<Sandbox>>,
) -> Response {
    let (customer, return_url) = match (required(&form, "customer"), required(&form, "return_url")) {
        (Ok(c), Ok(r)) => (c, r),
        (Err(refused), _) | (_, Err(refused)) => return refused.into_response(),
    };
    let mut url = url::Url::parse(&format!("{}{}/portal/{customer}", sandbox.public_url, super::PREFIX))
        .unwrap_or_else(|_| url::Url::parse("http://127.0.0.1/").expect("a fixed URL parses"));
    url.query_pairs_mut().append_pair("return_url", return_url);
    stripe_json(
        json!({"id": new_id("bps"), "object": "billing_portal.session", "customer": customer, "url": url.as_str()}),
    )
}
