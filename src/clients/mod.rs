//! Outward connections: SMTP, Google's key set, Stripe and the model provider.

pub mod agent;
pub mod google_jwks;
pub mod mailer;
pub mod stripe;
