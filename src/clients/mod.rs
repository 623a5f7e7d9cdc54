//! Outward connections: SMTP, Google's and Apple's key sets, Stripe, the model provider, and the
//! agent's web search and fact-check search.

pub mod agent;
pub mod apple_jwks;
pub mod fact_check;
pub mod google_jwks;
pub mod identity;
pub mod jwks;
pub use rules::mail::templates as mail_templates;
pub mod mailer;
pub mod search;
pub mod stripe;
