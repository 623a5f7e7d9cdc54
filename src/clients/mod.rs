//! Outward connections: SMTP and Google's key set.

pub mod google_jwks;
pub mod mailer;
