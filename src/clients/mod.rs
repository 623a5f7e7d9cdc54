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

/// An outbound error and its causes on one line: reqwest's own text says only "error
/// sending request", the cause says why ("connection refused").
pub fn error_chain(err: &dyn std::error::Error) -> String {
    let mut text = err.to_string();
    let mut source = err.source();
    while let Some(cause) = source {
        let cause_text = cause.to_string();
        if !text.contains(&cause_text) {
            text.push_str(": ");
            text.push_str(&cause_text);
        }
        source = cause.source();
    }
    text
}
