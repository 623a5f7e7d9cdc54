//! Stripe for the tests: the Stripe double served on 127.0.0.1 with the test keys, and the
//! events a test sends to the webhook as Stripe would.

use doubles::{
    Served,
    stripe::{CheckoutRecord, Stripe, completed_event},
};
use serde_json::Value;

pub const SECRET_KEY: &str = "sk_test_clara_fake";
pub const WEBHOOK_SECRET: &str = "whsec_clara_fake";
pub const CLIENT_URL: &str = "https://app.clara.test";
/// Where the double's checkout and portal links lead.
pub const PAGES: &str = "https://checkout.stripe.test";

pub type FakeStripe = Served<Stripe>;

pub async fn start() -> FakeStripe {
    doubles::serve(Stripe::new(SECRET_KEY, PAGES)).await
}

/// The variables that point the server at `stripe`.
pub fn env(stripe: &FakeStripe) -> Vec<(&'static str, String)> {
    vec![
        ("STRIPE_SECRET_KEY", SECRET_KEY.to_string()),
        ("STRIPE_WEBHOOK_SECRET", WEBHOOK_SECRET.to_string()),
        ("STRIPE_API_BASE", stripe.url.clone()),
        ("CLIENT_URL", CLIENT_URL.to_string()),
        ("OUTBOUND_TIMEOUT_MS", "500".to_string()),
    ]
}

/// A `Stripe-Signature` header for `payload` signed at `timestamp` with `secret`.
pub fn signature(secret: &str, timestamp: i64, payload: &[u8]) -> String {
    doubles::stripe::signature(secret, timestamp, payload)
}

pub fn now_secs() -> i64 {
    std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap().as_secs() as i64
}

/// A `checkout.session.completed` event for a paid session of `credits` (a decimal) for
/// `user_id`, with an event id of its own.
pub fn checkout_completed(session_id: &str, user_id: &str, credits: &str, amount_cents: i64) -> Value {
    let metadata = [("user_id".to_string(), user_id.to_string()), ("credits".to_string(), credits.to_string())];
    let session = CheckoutRecord::of(session_id, "cus_test_1", metadata.into(), amount_cents);
    let mut event = completed_event(&session, now_secs());
    event["id"] = format!("evt_{}", uuid::Uuid::new_v4().simple()).into();
    event
}
