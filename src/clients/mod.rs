//! Outward connections: SMTP, Google's key set, Stripe, the model provider, and the
//! agent's web search and fact-check search.

pub mod agent;
pub mod fact_check;
pub mod google_jwks;
pub mod mailer;
pub mod search;
pub mod stripe;
