//! The payment simulator: paying a sandbox Checkout Session sends Stripe's
//! `checkout.session.completed` event, signed with the webhook secret, to this server's own
//! webhook route over HTTP, so the purchase is credited by the real webhook path. The event
//! id is fixed per session, so paying twice delivers the same event twice, and the webhook's
//! own de-duplication credits it once.

use doubles::stripe::{CheckoutRecord, completed_event, signature};
use serde_json::Value;

use super::Sandbox;

#[derive(Debug, thiserror::Error)]
pub enum PayError {
    #[error("no such Checkout Session")]
    UnknownSession,
    #[error("the webhook refused the sandbox's event: {0}")]
    Delivery(String),
}

/// What a payment did.
#[derive(Debug, Clone)]
pub struct Paid {
    pub session: CheckoutRecord,
    /// False when this session had been paid (and credited) before.
    pub credited: bool,
}

/// Pays the session: delivers its signed event to this server's webhook.
pub async fn pay(sandbox: &Sandbox, now_secs: i64, session_id: &str) -> Result<Paid, PayError> {
    let session = sandbox.stripe.sessions.get(session_id).ok_or(PayError::UnknownSession)?;
    let payload = completed_event(&session, now_secs).to_string();
    let signature = signature(&sandbox.webhook_secret, now_secs, payload.as_bytes());
    let request = sandbox
        .http
        .post(format!("{}/api/v1/stripe/webhook", sandbox.own_url))
        .header("Stripe-Signature", signature)
        .header("Content-Type", "application/json")
        .body(payload);
    let response = crate::telemetry::send(request, "sandbox webhook", crate::telemetry::Propagate::Yes)
        .await
        .map_err(|e| PayError::Delivery(e.to_string()))?;
    let status = response.status();
    let body: Value = response.json().await.map_err(|e| PayError::Delivery(e.to_string()))?;
    if !status.is_success() {
        return Err(PayError::Delivery(format!("{status}: {body}")));
    }
    let credited = body.pointer("/data/outcome").and_then(Value::as_str) == Some("credited");
    Ok(Paid { session, credited })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::clients::stripe::verify_webhook_signature;

    // The double's signature is the one the server's verifier takes (a test here, where
    // both are in reach).

    #[test]
    fn the_signature_is_what_the_real_verifier_accepts() {
        let header = signature("whsec_sandbox_x", 1_000, b"{}");
        assert_eq!(verify_webhook_signature("whsec_sandbox_x", &header, b"{}", 1_000), Ok(()));
        assert!(verify_webhook_signature("whsec_other", &header, b"{}", 1_000).is_err());
    }
}
