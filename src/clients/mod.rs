//! Outward connections: SMTP, Google's key set and Stripe.

pub mod google_jwks;
pub mod mailer;
pub mod stripe;
