//! The payment simulator: paying a sandbox Checkout Session sends Stripe's
//! `checkout.session.completed` event, signed with the webhook secret, to this server's own
//! webhook route over HTTP, so the purchase is credited by the real webhook path. The event
//! id is fixed per session, so paying twice delivers the same event twice, and the webhook's
//! own de-duplication credits it once.

use hmac::{Hmac, Mac};
use serde_json::{Value, json};
use sha2::Sha256;

use super::{Sandbox, stripe_api::CheckoutRecord};

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

/// `t=<now>,v1=<hex HMAC-SHA256 of "<t>.<body>">`, as Stripe signs.
pub fn stripe_signature(secret: &str, now_secs: i64, payload: &[u8]) -> String {
    // HMAC takes a key of any length.
    let mut mac = Hmac::<Sha256>::new_from_slice(secret.as_bytes()).expect("HMAC accepts any key");
    mac.update(format!("{now_secs}.").as_bytes());
    mac.update(payload);
    format!("t={now_secs},v1={}", data_encoding::HEXLOWER.encode(&mac.finalize().into_bytes()))
}

/// The event Stripe sends when a card payment completes.
pub fn completed_event(session: &CheckoutRecord, now_secs: i64) -> Value {
    let suffix = session.id.trim_start_matches("cs_");
    json!({
        "id": format!("evt_{suffix}"),
        "object": "event",
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

/// Pays the session: delivers its signed event to this server's webhook.
pub async fn pay(sandbox: &Sandbox, now_secs: i64, session_id: &str) -> Result<Paid, PayError> {
    let session = sandbox.sessions.get(session_id).ok_or(PayError::UnknownSession)?;
    let payload = completed_event(&session, now_secs).to_string();
    let signature = stripe_signature(&sandbox.webhook_secret, now_secs, payload.as_bytes());
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

    #[test]
    fn the_signature_is_what_the_real_verifier_accepts() {
        let header = stripe_signature("whsec_sandbox_x", 1_000, b"{}");
        assert_eq!(verify_webhook_signature("whsec_sandbox_x", &header, b"{}", 1_000), Ok(()));
        assert!(verify_webhook_signature("whsec_other", &header, b"{}", 1_000).is_err());
    }
}
