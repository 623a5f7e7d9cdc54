//! Credits and money: transactions, price bands, Stripe Checkout and portal pages, Stripe's events.

use super::*;

pub use domain::transaction::{Transaction, TransactionType};

/// A band of purchasable amounts and its price.
#[derive(Debug, Clone, Object)]
// `CreditRate` in the spec: C# refuses a member named like its class (`Rate.rate` would be
// generated as `VarRate`). The wire's field names are unchanged.
#[oai(example, rename = "CreditRate")]
pub struct Rate {
    /// Smallest amount in US dollars (inclusive).
    pub lower_limit: f64,
    /// Largest amount in US dollars (inclusive).
    pub upper_limit: f64,
    /// Credits per US dollar.
    pub rate: f64,
    /// The Stripe Price (of one dollar) this band is sold with, if any.
    #[oai(nullable)]
    pub stripe_price_id: Option<String>,
}

impl From<&CreditBand> for Rate {
    fn from(band: &CreditBand) -> Self {
        Self {
            lower_limit: hundredths_to_number(band.lower_cents),
            upper_limit: hundredths_to_number(band.upper_cents),
            rate: hundredths_to_number(band.rate_hundredths),
            stripe_price_id: band.stripe_price_id.clone(),
        }
    }
}

impl Rate {
    fn example_value() -> Self {
        Self { lower_limit: 5.0, upper_limit: 10000.0, rate: 100.0, stripe_price_id: None }
    }
}

/// A Stripe Checkout page for a purchase.
#[derive(Debug, Clone, Object)]
#[oai(example)]
pub struct Checkout {
    /// Send the buyer here. Credits arrive when Stripe confirms the payment.
    pub url: String,
    /// Credits the purchase will add.
    pub value_in_credits: f64,
    /// US dollars it costs.
    pub value_in_fiat: f64,
    /// The path given, echoed.
    pub return_path: String,
}

impl Checkout {
    fn example_value() -> Self {
        Self {
            url: "https://checkout.stripe.com/c/pay/cs_test_b1VbQddiB8glIwXq9TJrqDwnrHm4ukkRV1VewkBbb7Zq96ms5HYfqBYMe2"
                .into(),
            value_in_credits: 500.0,
            value_in_fiat: 5.0,
            return_path: "/billing".into(),
        }
    }
}

/// A Stripe page.
#[derive(Debug, Clone, Object)]
#[oai(example)]
pub struct PortalSession {
    /// Send the user here to manage billing.
    pub url: String,
}

impl PortalSession {
    fn example_value() -> Self {
        Self { url: "https://billing.stripe.com/p/session/test_YWNjdF8xU0ZyMm1Ld1luNXJKcDlOLF9UVXQ4T1BaZ0x3".into() }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Enum)]
#[oai(rename_all = "lowercase")]
pub enum WebhookOutcome {
    /// The purchase was credited now.
    Credited,
    /// This Checkout Session was credited before; nothing changed.
    Duplicate,
    /// An event that moves no credits.
    Ignored,
}

/// What a webhook delivery did.
#[derive(Debug, Clone, Object)]
pub struct WebhookReceipt {
    pub event_id: String,
    pub outcome: WebhookOutcome,
}

/// The part of a Stripe event this server reads; the whole event is signed and sent as is.
#[derive(Debug, Clone, Object)]
pub struct StripeEvent {
    /// `evt_…`
    pub id: String,
    /// e.g. `checkout.session.completed`.
    #[oai(rename = "type")]
    pub kind: String,
    pub data: StripeEventData,
}

#[derive(Debug, Clone, Object)]
pub struct StripeEventData {
    /// The Checkout Session (`id`, `payment_status`, `amount_total`, `metadata`) for checkout events.
    pub object: std::collections::HashMap<String, serde_json::Value>,
}

envelope!(
    /// Success envelope around a Transaction.
    TransactionEnvelope, Transaction);

envelope!(
    /// Success envelope around a page of Transactions, newest first.
    TransactionListEnvelope, Vec<Transaction>);

envelope!(
    /// Success envelope around the credit bands.
    RateListEnvelope, Vec<Rate>);

envelope!(
    /// Success envelope around a Checkout page.
    CheckoutEnvelope, Checkout);

envelope!(
    /// Success envelope around a billing-portal page.
    PortalSessionEnvelope, PortalSession);

envelope!(
    /// Success envelope of a webhook delivery.
    WebhookReceiptEnvelope, WebhookReceipt);

#[derive(Debug, Clone, Object)]
#[oai(deny_unknown_fields, example)]
pub struct BuyRequest {
    /// US dollars, at most two decimals, inside one of the Rate bands.
    pub amount: Decimal2,
    /// Where Stripe sends the buyer back: `""` or a path on the web app starting with `/`.
    /// `?stripe_status=success` or `cancel` is added.
    #[oai(validator(max_length = 2048))]
    pub return_path: Text,
}

impl BuyRequest {
    fn example_value() -> Self {
        Self { amount: Decimal2(500), return_path: "/billing".into() }
    }
}

#[derive(Debug, Clone, Object)]
#[oai(deny_unknown_fields, example)]
pub struct SetCreditsRequest {
    /// The new balance, not negative, at most two decimals.
    pub credits: Decimal2,
}

impl SetCreditsRequest {
    fn example_value() -> Self {
        Self { credits: Decimal2(1000) }
    }
}

examples!(Rate, Checkout, PortalSession, BuyRequest, SetCreditsRequest);
