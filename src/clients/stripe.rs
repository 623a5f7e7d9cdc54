//! Stripe over its HTTP API (form-encoded requests, JSON answers): the adapter behind
//! `rules::payments::Payments`. Webhook signatures are checked by the rules.

use serde::Deserialize;

pub use rules::payments::{
    CheckoutRequest, CheckoutSession, Payments, SignatureError, StripeError, WEBHOOK_TOLERANCE_SECS,
    verify_webhook_signature,
};

#[derive(Clone)]
pub struct StripeClient {
    http: reqwest::Client,
    api_base: String,
    secret_key: String,
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
}

#[async_trait::async_trait]
impl Payments for StripeClient {
    /// Creates a customer and returns its id.
    async fn create_customer(&self, email: &str, name: &str, user_id: &str) -> Result<String, StripeError> {
        let form = [("email", email.to_string()), ("name", name.to_string()), ("metadata[user_id]", user_id.into())];
        let created: Created = self.create("/v1/customers", &form, &new_idempotency_key("customer")).await?;
        Ok(created.id)
    }

    async fn create_checkout_session(&self, req: &CheckoutRequest<'_>) -> Result<CheckoutSession, StripeError> {
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
    async fn create_portal_session(&self, customer_id: &str, return_url: &str) -> Result<String, StripeError> {
        let form = [("customer", customer_id.to_string()), ("return_url", return_url.to_string())];
        let session: PortalSession =
            self.create("/v1/billing_portal/sessions", &form, &new_idempotency_key("portal")).await?;
        Ok(session.url)
    }
}
