//! What a route can answer besides its success: the groups of error outcomes each area's
//! `STATUSES` table is written with, beside its routes. The spec's error responses are
//! built from those tables (`crate::spec::statuses`), and `tests/spec_coverage.rs` checks
//! them against what the test suite observes (every documented pair produced; nothing
//! undocumented seen).
//!
//! To document a new outcome, add a group to the route's row (as `IDEMPOTENCY` is on the
//! routes that take `Idempotency-Key`), and its code to `api::error_code`, whose examples
//! the spec shows.

pub use super::error_code::ErrorCode;

/// An error status and one `code` sent with it.
pub type Outcome = (u16, ErrorCode);

/// Anything unexpected. On every operation.
pub const SERVER: &[Outcome] = &[(500, ErrorCode::InternalError)];
/// The database is down, or the request ran out of time. Every operation that reads or
/// writes the database (all but version). With Redis, `database_unavailable` is also the
/// answer of a revocation (logout, password change, ending sessions, deleting an account)
/// whose change could not be published to the other processes: nothing was changed.
pub const DATABASE: &[Outcome] = &[(503, ErrorCode::DatabaseUnavailable), (503, ErrorCode::TimedOut)];
/// The per-credential rate limit: on every route of an area composed as `Metered`.
pub const LIMITED: &[Outcome] = &[(429, ErrorCode::RateLimited)];
/// A JSON body: missing or not JSON, of the wrong shape, or over 1 MiB.
pub const JSON_BODY: &[Outcome] =
    &[(400, ErrorCode::EmptyBody), (400, ErrorCode::InvalidParameters), (413, ErrorCode::PayloadTooLarge)];
/// `limit` / `offset` out of range, or another parameter that does not parse.
pub const PARAMS: &[Outcome] = &[(400, ErrorCode::InvalidParameters)];
/// A credential is needed and the one sent is missing, wrong or expired.
pub const CREDENTIALS: &[Outcome] = &[(401, ErrorCode::Unauthorized)];
/// The path names another user, or this credential kind is not allowed here.
pub const NOT_YOURS: &[Outcome] = &[(403, ErrorCode::Forbidden)];
/// The route needs an activated account.
pub const ACTIVE: &[Outcome] = &[(401, ErrorCode::AccountNotActive)];
/// The account has 2FA on and the code was missing or wrong.
pub const TWO_FACTOR: &[Outcome] = &[(401, ErrorCode::TwoFactorRequired)];
/// Adding a way in (passkey options, authenticator enrolment) without the fresh proof the
/// account must give, or with a wrong one: `two_factor_required` while 2FA is on.
pub const FRESH_PROOF: &[Outcome] = &[(401, ErrorCode::TwoFactorRequired), (401, ErrorCode::ProofRequired)];
/// A feature whose integration is not configured on the server.
pub const NOT_CONFIGURED: &[Outcome] = &[(503, ErrorCode::NotConfigured)];
/// Stripe failed or refused.
pub const PAYMENT: &[Outcome] = &[(502, ErrorCode::PaymentProviderError)];
/// The account named in the path (or in a Stripe event) does not exist.
pub const NO_USER: &[Outcome] = &[(404, ErrorCode::UserNotFound)];
/// A sandbox Checkout Session this process does not know.
pub const NO_SESSION: &[Outcome] = &[(404, ErrorCode::CheckoutSessionNotFound)];
/// A passkey id the caller does not have (another user's included).
pub const NO_PASSKEY: &[Outcome] = &[(404, ErrorCode::PasskeyNotFound)];
/// A webhook endpoint id the caller does not have (another user's included).
pub const NO_WEBHOOK: &[Outcome] = &[(404, ErrorCode::WebhookNotFound)];
/// A delivery the endpoint does not have.
pub const NO_DELIVERY: &[Outcome] = &[(404, ErrorCode::DeliveryNotFound)];
/// A webhook URL that is not https or not a public address.
pub const WEBHOOK_URL: &[Outcome] = &[(400, ErrorCode::InvalidWebhookUrl)];
/// The user has the most endpoints allowed.
pub const WEBHOOK_LIMIT: &[Outcome] = &[(409, ErrorCode::WebhookLimitReached)];
/// The e-mail with a code could not be sent.
pub const MAIL: &[Outcome] = &[(503, ErrorCode::MailUnavailable)];

/// A Stripe delivery: the body is read raw (never `empty_body`); no `Stripe-Signature`
/// header, a signature that does not verify, or a body that is not an event; over 1 MiB.
/// `Idempotency-Key`: a malformed key, the first request still running, the
/// key reused with another request.
pub const IDEMPOTENCY: &[Outcome] = &[
    (400, ErrorCode::InvalidParameters),
    (409, ErrorCode::IdempotencyKeyInUse),
    (422, ErrorCode::IdempotencyKeyReused),
];
pub const WEBHOOK: &[Outcome] = &[
    (400, ErrorCode::InvalidParameters),
    (400, ErrorCode::InvalidSignature),
    (400, ErrorCode::InvalidEvent),
    (413, ErrorCode::PayloadTooLarge),
];

/// An area's routes, by operation id, with the groups of outcomes each can answer.
pub type Statuses = &'static [(&'static str, &'static [&'static [Outcome]])];
