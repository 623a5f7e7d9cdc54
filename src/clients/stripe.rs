//! Stripe over its HTTP API (form-encoded requests, JSON answers), and the verification
//! of its webhook signatures.

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

#[derive(Clone)]
pub struct StripeClient {
    http: reqwest::Client,
    api_base: String,
    secret_key: String,
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

#[derive(Debug, Deserialize)]
struct Created {
    id: String,
}

#[derive(Debug, Deserialize)]
struct PortalSession {
    url: String,
}

#[derive(Debug, Deserialize)]
struct ErrorEnvelope {
    error: ErrorDetail,
}

#[derive(Debug, Deserialize)]
struct ErrorDetail {
    #[serde(rename = "type", default)]
    kind: String,
    code: Option<String>,
    #[serde(default)]
    message: String,
}

fn new_idempotency_key(purpose: &str) -> String {
    format!("clara-{purpose}-{}", uuid::Uuid::new_v4().simple())
}

impl StripeClient {
    pub fn new(http: reqwest::Client, api_base: &str, secret_key: &str) -> Self {
        Self { http, api_base: api_base.trim_end_matches('/').to_string(), secret_key: secret_key.to_string() }
    }

    /// A `POST` that creates something. The idempotency key makes a retry of the same
    /// call safe: Stripe answers it with the first result instead of creating twice.
    async fn create<T: for<'de> Deserialize<'de>>(
        &self,
        path: &str,
        form: &[(&str, String)],
        idempotency_key: &str,
    ) -> Result<T, StripeError> {
        let request = self
            .http
            .post(format!("{}{path}", self.api_base))
            .bearer_auth(&self.secret_key)
            .header("Idempotency-Key", idempotency_key)
            .form(form);
        let response = crate::telemetry::send(request, "stripe", crate::telemetry::Propagate::Yes)
            .await
            .map_err(|e| if e.is_timeout() { StripeError::Timeout } else { StripeError::Transport(e.to_string()) })?;
        let status = response.status();
        let bytes = response
            .bytes()
            .await
            .map_err(|e| if e.is_timeout() { StripeError::Timeout } else { StripeError::Transport(e.to_string()) })?;
        if !status.is_success() {
            let detail = serde_json::from_slice::<ErrorEnvelope>(&bytes).map(|e| e.error).unwrap_or(ErrorDetail {
                kind: "api_error".into(),
                code: None,
                message: String::from_utf8_lossy(&bytes).chars().take(200).collect(),
            });
            return Err(StripeError::Api {
                status: status.as_u16(),
                kind: detail.kind,
                code: detail.code,
                message: detail.message,
            });
        }
        serde_json::from_slice(&bytes).map_err(|e| StripeError::Malformed(e.to_string()))
    }

    /// Creates a customer and returns its id.
    pub async fn create_customer(&self, email: &str, name: &str, user_id: &str) -> Result<String, StripeError> {
        let form = [("email", email.to_string()), ("name", name.to_string()), ("metadata[user_id]", user_id.into())];
        let created: Created = self.create("/v1/customers", &form, &new_idempotency_key("customer")).await?;
        Ok(created.id)
    }

    pub async fn create_checkout_session(&self, req: &CheckoutRequest<'_>) -> Result<CheckoutSession, StripeError> {
        let mut form = vec![
            ("mode", "payment".to_string()),
            ("customer", req.customer_id.to_string()),
            ("client_reference_id", req.user_id.to_string()),
            ("metadata[user_id]", req.user_id.to_string()),
            ("metadata[credits]", req.credits.to_string()),
            ("payment_intent_data[metadata][user_id]", req.user_id.to_string()),
            ("success_url", req.success_url.to_string()),
            ("cancel_url", req.cancel_url.to_string()),
        ];
        match req.price_id {
            Some(price) => {
                form.push(("line_items[0][price]", price.to_string()));
                form.push(("line_items[0][quantity]", (req.amount_cents / 100).to_string()));
            }
            None => {
                form.push(("line_items[0][quantity]", "1".into()));
                form.push(("line_items[0][price_data][currency]", "usd".into()));
                form.push(("line_items[0][price_data][unit_amount]", req.amount_cents.to_string()));
                form.push(("line_items[0][price_data][product_data][name]", req.product_name.to_string()));
            }
        }
        self.create("/v1/checkout/sessions", &form, &new_idempotency_key("checkout")).await
    }

    /// A billing-portal session; returns its URL.
    pub async fn create_portal_session(&self, customer_id: &str, return_url: &str) -> Result<String, StripeError> {
        let form = [("customer", customer_id.to_string()), ("return_url", return_url.to_string())];
        let session: PortalSession =
            self.create("/v1/billing_portal/sessions", &form, &new_idempotency_key("portal")).await?;
        Ok(session.url)
    }
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
