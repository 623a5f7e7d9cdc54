//! Buying credits: rates, Checkout and portal sessions, and the webhook that settles a
//! purchase exactly once.

use entity::users;
use sea_orm::{ColumnTrait, EntityTrait, QueryFilter, sea_query::Expr};
use serde::Deserialize;

use super::{
    ServiceError, ServiceResult,
    ledger::{self, Movement},
};
use crate::{
    domain::{CreditBand, format_trimmed, format_usd, parse_hundredths},
    payments::{CheckoutRequest, Payments, verify_webhook_signature},
    state::Core,
};

const STRIPE_VARIABLES: &str = "STRIPE_SECRET_KEY and CLIENT_URL";

/// The Stripe client and the web app's URL, or the 503 that names what to set.
fn stripe(state: &Core) -> ServiceResult<(&dyn Payments, &str)> {
    match (&state.stripe, &state.config.billing.client_url) {
        (Some(client), Some(url)) => Ok((client.as_ref(), url)),
        _ => Err(ServiceError::NotConfigured(STRIPE_VARIABLES)),
    }
}

/// `return_path` must stay on the web app: empty, or a path starting with one `/`.
pub fn valid_return_path(path: &str) -> bool {
    path.len() <= 2048
        && (path.is_empty() || (path.starts_with('/') && !path.starts_with("//")))
        && !path.contains(['#', '\\'])
        && !path.chars().any(|c| c.is_control() || c.is_whitespace())
}

fn return_url(client_url: &str, return_path: &str, status: &str) -> String {
    let separator = if return_path.contains('?') { '&' } else { '?' };
    format!("{client_url}{return_path}{separator}stripe_status={status}")
}

#[derive(Debug)]
pub struct Checkout {
    pub url: String,
    pub credits: i64,
    pub cents: i64,
}

/// The band an amount falls in, and the credits it buys.
pub fn quote(state: &Core, cents: i64) -> ServiceResult<(&CreditBand, i64)> {
    let band = state.config.billing.credit_bands.find(cents).ok_or(ServiceError::NoRate)?;
    if band.stripe_price_id.is_some() && cents % 100 != 0 {
        // A one-dollar Price can only be sold in whole units.
        return Err(ServiceError::InvalidInput("whole dollars for this band"));
    }
    let credits = band.credits_for(cents);
    if credits <= 0 {
        return Err(ServiceError::NoRate);
    }
    Ok((band, credits))
}

/// The user's Stripe customer, made on first use. Two first uses at once may each make
/// one at Stripe; only the first stored wins and both callers use it.
async fn customer_id(state: &Core, client: &dyn Payments, user: &users::Model) -> ServiceResult<String> {
    let stored = users::Entity::find_by_id(user.id.as_str()).one(&state.db).await?;
    if let Some(id) = stored.and_then(|u| u.stripe_customer_id) {
        return Ok(id);
    }
    let name = match &user.last_name {
        Some(last) => format!("{} {last}", user.first_name),
        None => user.first_name.clone(),
    };
    let created = client.create_customer(&user.email, &name, &user.id).await?;
    let result = users::Entity::update_many()
        .col_expr(users::Column::StripeCustomerId, Expr::value(created.as_str()))
        .filter(users::Column::Id.eq(user.id.as_str()))
        .filter(users::Column::StripeCustomerId.is_null())
        .exec(&state.db)
        .await?;
    if result.rows_affected == 1 {
        state.auth_cache.forget(&user.id).await;
        return Ok(created);
    }
    users::Entity::find_by_id(user.id.as_str())
        .one(&state.db)
        .await?
        .and_then(|u| u.stripe_customer_id)
        .ok_or(ServiceError::NotFound(super::Resource::User))
}

/// Creates a Checkout Session for `cents` US cents.
pub async fn buy(state: &Core, user: &users::Model, cents: i64, return_path: &str) -> ServiceResult<Checkout> {
    let (client, client_url) = stripe(state)?;
    if !valid_return_path(return_path) {
        return Err(ServiceError::InvalidInput("return_path"));
    }
    let (band, credits) = quote(state, cents)?;
    let customer = customer_id(state, client, user).await?;
    let credits_text = format_trimmed(credits);
    let session = client
        .create_checkout_session(&CheckoutRequest {
            customer_id: &customer,
            user_id: &user.id,
            amount_cents: cents,
            credits: &credits_text,
            price_id: band.stripe_price_id.as_deref(),
            product_name: &format!("{credits_text} Clara credits"),
            success_url: &return_url(client_url, return_path, "success"),
            cancel_url: &return_url(client_url, return_path, "cancel"),
        })
        .await?;
    tracing::info!(user_id = %user.id, session_id = %session.id, cents, credits, "checkout session created");
    Ok(Checkout { url: session.url, credits, cents })
}

/// A billing-portal session for the user's customer; returns its URL.
pub async fn portal(state: &Core, user: &users::Model) -> ServiceResult<String> {
    let (client, client_url) = stripe(state)?;
    let customer = customer_id(state, client, user).await?;
    Ok(client.create_portal_session(&customer, client_url).await?)
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum WebhookOutcome {
    /// The purchase was credited now.
    Credited,
    /// This Checkout Session was credited before; nothing changed.
    Duplicate,
    /// Not an event that moves credits (another type, unpaid, or not one of ours).
    Ignored,
}

#[derive(Deserialize)]
struct Event {
    id: String,
    #[serde(rename = "type")]
    kind: String,
    data: EventData,
}

#[derive(Deserialize)]
struct EventData {
    object: serde_json::Value,
}

#[derive(Deserialize)]
struct CheckoutSessionObject {
    id: String,
    payment_status: Option<String>,
    amount_total: Option<i64>,
    #[serde(default)]
    metadata: std::collections::HashMap<String, String>,
}

/// Verifies and handles one webhook delivery. Returns the event id and what was done.
pub async fn handle_webhook(state: &Core, payload: &[u8], signature: &str) -> ServiceResult<(String, WebhookOutcome)> {
    let secret = state
        .config
        .billing
        .stripe_webhook_secret
        .as_deref()
        .ok_or(ServiceError::NotConfigured("STRIPE_WEBHOOK_SECRET"))?;
    verify_webhook_signature(secret, signature, payload, state.clock.now_secs())?;
    let event: Event = serde_json::from_slice(payload).map_err(|e| ServiceError::InvalidEvent(e.to_string()))?;
    let outcome = match event.kind.as_str() {
        // Card payments arrive paid with `completed`; delayed methods settle later with
        // `async_payment_succeeded`. Either credits, and only once per session.
        "checkout.session.completed" | "checkout.session.async_payment_succeeded" => {
            let session: CheckoutSessionObject =
                serde_json::from_value(event.data.object).map_err(|e| ServiceError::InvalidEvent(e.to_string()))?;
            settle(state, session).await?
        }
        _ => WebhookOutcome::Ignored,
    };
    tracing::info!(event_id = %event.id, kind = %event.kind, ?outcome, "stripe webhook");
    let label = match outcome {
        WebhookOutcome::Credited => "credited",
        WebhookOutcome::Duplicate => "duplicate",
        WebhookOutcome::Ignored => "ignored",
    };
    state.metrics.webhooks.with_label_values(&[label]).inc();
    Ok((event.id, outcome))
}

async fn settle(state: &Core, session: CheckoutSessionObject) -> ServiceResult<WebhookOutcome> {
    if session.payment_status.as_deref() != Some("paid") {
        return Ok(WebhookOutcome::Ignored);
    }
    let (Some(user_id), Some(credits)) = (session.metadata.get("user_id"), session.metadata.get("credits")) else {
        // A session some other integration on the same Stripe account made.
        return Ok(WebhookOutcome::Ignored);
    };
    let credits = serde_json::from_str::<serde_json::Number>(credits)
        .ok()
        .and_then(|n| parse_hundredths(&n).ok())
        .filter(|c| *c > 0)
        .ok_or_else(|| ServiceError::InvalidEvent("metadata.credits".into()))?;
    let cents =
        session.amount_total.filter(|c| *c >= 0).ok_or_else(|| ServiceError::InvalidEvent("amount_total".into()))?;
    let movement = Movement {
        user_id: user_id.clone(),
        credits,
        fiat_cents: cents,
        description: format!("User bought {} credits for ${}.", format_trimmed(credits), format_usd(cents)),
        stripe_session_id: Some(session.id),
        expected_balance: None,
    };
    match ledger::move_credits(&state.db, &state.clock, movement).await {
        Ok(_) => {
            state.auth_cache.forget(user_id).await;
            Ok(WebhookOutcome::Credited)
        }
        Err(ServiceError::AlreadyRecorded) => Ok(WebhookOutcome::Duplicate),
        Err(err) => Err(err),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn return_paths_stay_on_the_app() {
        for good in ["", "/", "/billing", "/billing?tab=credits", "/a/b-c_d.e"] {
            assert!(valid_return_path(good), "{good}");
        }
        for bad in ["billing", "//evil.com", "https://evil.com", "/a b", "/a#b", "/\\evil", "/a\nb"] {
            assert!(!valid_return_path(bad), "{bad}");
        }
        assert_eq!(return_url("https://app", "/b?x=1", "success"), "https://app/b?x=1&stripe_status=success");
        assert_eq!(return_url("https://app", "", "cancel"), "https://app?stripe_status=cancel");
    }
}
