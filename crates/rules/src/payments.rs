//! Payments as the rules see them: the provider's port (Stripe's Checkout, customers and
//! billing portal) and the verification of its webhook signatures. The HTTP client that
//! implements the port is an adapter (`clients::stripe` in the server).

use hmac::{Hmac, Mac};
use serde::Deserialize;
use sha2::Sha256;

#[derive(Debug, thiserror::Error)]
pub enum StripeError {
    /// Stripe answered with an error body.
    #[error("Stripe answered {status}: {kind}{}: {message}", code.as_deref().map(|c| format!(" ({c})")).unwrap_or_default())]
    Api { status: u16, kind: String, code: Option<String>, message: String },
    #[error("Stripe did not answer in time")]
    Timeout,
    #[error("Stripe could not be reached: {0}")]
    Transport(String),
    #[error("Stripe's answer was not understood: {0}")]
    Malformed(String),
}

/// What a Checkout Session is created with.
pub struct CheckoutRequest<'a> {
    pub customer_id: &'a str,
    pub user_id: &'a str,
    pub amount_cents: i64,
    /// Hundredths of a credit, written into the metadata as a decimal.
    pub credits: &'a str,
    /// A Stripe Price of one dollar to sell with; otherwise the line item carries its own price.
    pub price_id: Option<&'a str>,
    pub product_name: &'a str,
    pub success_url: &'a str,
    pub cancel_url: &'a str,
}

#[derive(Debug, Deserialize)]
pub struct CheckoutSession {
    pub id: String,
    pub url: String,
}

/// The payment provider: what the rules ask of Stripe.
#[async_trait::async_trait]
pub trait Payments: Send + Sync {
    /// Creates a customer and returns its id.
    async fn create_customer(&self, email: &str, name: &str, user_id: &str) -> Result<String, StripeError>;
    /// Creates a Checkout Session for a purchase.
    async fn create_checkout_session(&self, req: &CheckoutRequest<'_>) -> Result<CheckoutSession, StripeError>;
    /// A billing-portal session; returns its URL.
    async fn create_portal_session(&self, customer_id: &str, return_url: &str) -> Result<String, StripeError>;
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum SignatureError {
    #[error("the Stripe-Signature header is malformed")]
    Malformed,
    #[error("the timestamp is outside the tolerance")]
    Stale,
    #[error("no signature matches")]
    Mismatch,
}

/// How far a webhook's timestamp may be from our clock.
pub const WEBHOOK_TOLERANCE_SECS: i64 = 300;

/// Checks `Stripe-Signature: t=<unix>,v1=<hex>[,v1=<hex>…]` against the raw body: an
/// HMAC-SHA256 of `<t>.<body>` under the endpoint secret, compared in constant time.
/// Any one matching `v1` is enough (Stripe sends several while a secret is rolled).
pub fn verify_webhook_signature(
    secret: &str,
    header: &str,
    payload: &[u8],
    now_secs: i64,
) -> Result<(), SignatureError> {
    let mut timestamp = None;
    let mut signatures = vec![];
    for part in header.split(',') {
        // Like Stripe's own libraries, skip what is not `key=value`.
        let Some((key, value)) = part.trim().split_once('=') else { continue };
        match key {
            "t" => timestamp = Some(value.parse::<i64>().map_err(|_| SignatureError::Malformed)?),
            "v1" => signatures.push(value),
            _ => {} // v0 and future schemes are not ours to check
        }
    }
    let timestamp = timestamp.ok_or(SignatureError::Malformed)?;
    if signatures.is_empty() {
        return Err(SignatureError::Malformed);
    }
    if now_secs.abs_diff(timestamp) > WEBHOOK_TOLERANCE_SECS as u64 {
        return Err(SignatureError::Stale);
    }
    let mut mac = Hmac::<Sha256>::new_from_slice(secret.as_bytes()).map_err(|_| SignatureError::Mismatch)?;
    mac.update(timestamp.to_string().as_bytes());
    mac.update(b".");
    mac.update(payload);
    let matched = signatures
        .iter()
        .filter_map(|hex| data_encoding::HEXLOWER_PERMISSIVE.decode(hex.as_bytes()).ok())
        .any(|signature| mac.clone().verify_slice(&signature).is_ok());
    if matched { Ok(()) } else { Err(SignatureError::Mismatch) }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sign(secret: &str, t: i64, payload: &[u8]) -> String {
        let mut mac = Hmac::<Sha256>::new_from_slice(secret.as_bytes()).unwrap();
        mac.update(format!("{t}.").as_bytes());
        mac.update(payload);
        data_encoding::HEXLOWER.encode(&mac.finalize().into_bytes())
    }

    #[test]
    fn signatures() {
        let body = br#"{"id":"evt_1"}"#;
        let good = sign("whsec_a", 1000, body);
        let other = sign("whsec_b", 1000, body);
        let check = |header: &str, now| verify_webhook_signature("whsec_a", header, body, now);
        assert_eq!(check(&format!("t=1000,v1={good}"), 1000), Ok(()));
        assert_eq!(check(&format!("t=1000,v1={other},v1={good},v0=abc"), 1299), Ok(()));
        assert_eq!(check(&format!("t=1000,v1={good}"), 1301), Err(SignatureError::Stale));
        assert_eq!(check(&format!("t=1000,v1={good}"), 699), Err(SignatureError::Stale));
        assert_eq!(check(&format!("t=1000,v1={other}"), 1000), Err(SignatureError::Mismatch));
        assert_eq!(check(&format!("t=1001,v1={good}"), 1000), Err(SignatureError::Mismatch));
        assert_eq!(check("t=1000,v1=zz", 1000), Err(SignatureError::Mismatch));
        assert_eq!(check(&format!(",garbage,t=1000,,v1={good}"), 1000), Ok(()));
        for malformed in ["", "garbage", "t=abc,v1=00", &format!("v1={good}"), "t=1000", "t=1000,v0=00"] {
            assert_eq!(check(malformed, 1000), Err(SignatureError::Malformed), "{malformed}");
        }
    }

    mod properties {
        use proptest::prelude::*;

        use super::*;

        proptest! {
            #[test]
            fn any_header_is_refused_without_panicking(header in any::<String>(), body in any::<Vec<u8>>(), now in any::<i64>()) {
                prop_assert!(verify_webhook_signature("whsec_a", &header, &body, now).is_err());
            }

            #[test]
            fn a_real_signature_is_found_among_noise(body in any::<Vec<u8>>(), noise in "[a-su-z0-9=,]{0,40}", t in 0i64..4_000_000_000) {
                let header = format!("{noise},t={t},v1={},v0=00", sign("whsec_a", t, &body));
                prop_assert_eq!(verify_webhook_signature("whsec_a", &header, &body, t), Ok(()));
            }
        }
    }
}
