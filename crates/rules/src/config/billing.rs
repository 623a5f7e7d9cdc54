//! Stripe, and what a dollar buys.

use super::{
    ConfigError, DEFAULT_STRIPE_API_BASE, Get, http_url, invalid,
    settings::{Section, Setting},
};
use crate::domain::{CreditBands, DEFAULT_CREDIT_RATES};

#[derive(Clone, Debug)]
pub struct Billing {
    pub stripe_secret_key: Option<String>,
    pub stripe_webhook_secret: Option<String>,
    /// Without a trailing slash.
    pub stripe_api_base: String,
    /// The web app Stripe sends buyers back to, without a trailing slash.
    pub client_url: Option<String>,
    pub credit_bands: CreditBands,
}

impl Billing {
    pub(super) fn parse<'a>(get: &impl Get<'a>) -> Result<Self, ConfigError> {
        let stripe_secret_key = get("STRIPE_SECRET_KEY").map(str::to_string);
        let stripe_webhook_secret = get("STRIPE_WEBHOOK_SECRET").map(str::to_string);
        let stripe_api_base = http_url(get("STRIPE_API_BASE").unwrap_or(DEFAULT_STRIPE_API_BASE), "STRIPE_API_BASE")?;
        let client_url = get("CLIENT_URL").map(|v| http_url(v, "CLIENT_URL")).transpose()?;
        let credit_bands = CreditBands::parse(get("CREDIT_RATES").unwrap_or(DEFAULT_CREDIT_RATES))
            .map_err(|reason| invalid("CREDIT_RATES", reason))?;
        Ok(Self { stripe_secret_key, stripe_webhook_secret, stripe_api_base, client_url, credit_bands })
    }
}

/// The settings of `docs/configuration.md`'s section "Stripe and credits".
pub const SECTION: Section = Section {
    title: "Stripe and credits",
    settings: &[
        Setting {
            variable: "STRIPE_SECRET_KEY",
            default: "unset (Portal/Buy answer 503)",
            meaning: "Stripe secret key (`sk_test_…` in test mode)",
        },
        Setting {
            variable: "STRIPE_WEBHOOK_SECRET",
            default: "unset (the webhook answers 503)",
            meaning: "the endpoint's signing secret (`whsec_…`) that `Stripe-Signature` is checked against",
        },
        Setting { variable: "STRIPE_API_BASE", default: "`https://api.stripe.com`", meaning: "Stripe API base URL" },
        Setting {
            variable: "CLIENT_URL",
            default: "unset (Portal/Buy answer 503)",
            meaning: "the web app's URL: Checkout success/cancel URLs and the portal's return URL start with it",
        },
        Setting {
            variable: "CREDIT_RATES",
            default: r##"`[{"lower_limit":5,"upper_limit":10000,"rate":100}]`"##,
            meaning: "JSON list of bands: USD limits (inclusive), credits per USD, optional `stripe_price_id` (a $1 Price). Checked at start: positive, at most two decimals, no overlaps",
        },
    ],
};
