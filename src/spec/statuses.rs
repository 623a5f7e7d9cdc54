//! Which error statuses, with which `code`s, each operation can answer: the one table
//! the spec's responses are built from. `tests/spec_coverage.rs` checks it against what
//! the test suite observes (every documented pair produced; nothing undocumented seen).
//!
//! To document a new outcome, add a group to the operation's rows (as `IDEMPOTENCY` is
//! on the five routes that take `Idempotency-Key`), and its codes to
//! `api::error_code`, whose examples the spec shows.

use std::collections::BTreeMap;

use serde_json::{Map, Value, json};

use crate::api::error::{ApiError, ErrorCode};

/// An error status and one `code` sent with it.
pub type Outcome = (u16, ErrorCode);

/// Anything unexpected. On every operation.
const SERVER: &[Outcome] = &[(500, ErrorCode::InternalError)];
/// The database is down, or the request ran out of time. Every operation that reads or
/// writes the database (all but version). With Redis, `database_unavailable` is also the
/// answer of a revocation (logout, password change, ending sessions, deleting an account)
/// whose change could not be published to the other processes: nothing was changed.
const DATABASE: &[Outcome] = &[(503, ErrorCode::DatabaseUnavailable), (503, ErrorCode::TimedOut)];
/// The per-credential rate limit. Not on health, version and the Stripe webhook (exempt).
const LIMITED: &[Outcome] = &[(429, ErrorCode::RateLimited)];
/// A JSON body: missing or not JSON, of the wrong shape, or over 1 MiB.
const JSON_BODY: &[Outcome] =
    &[(400, ErrorCode::EmptyBody), (400, ErrorCode::InvalidParameters), (413, ErrorCode::PayloadTooLarge)];
/// `limit` / `offset` out of range, or another parameter that does not parse.
const PARAMS: &[Outcome] = &[(400, ErrorCode::InvalidParameters)];
/// A credential is needed and the one sent is missing, wrong or expired.
const CREDENTIALS: &[Outcome] = &[(401, ErrorCode::Unauthorized)];
/// The path names another user, or this credential kind is not allowed here.
const NOT_YOURS: &[Outcome] = &[(403, ErrorCode::Forbidden)];
/// The route needs an activated account.
const ACTIVE: &[Outcome] = &[(401, ErrorCode::AccountNotActive)];
/// The account has 2FA on and the code was missing or wrong.
const TWO_FACTOR: &[Outcome] = &[(401, ErrorCode::TwoFactorRequired)];
/// Adding a way in (passkey options, authenticator enrolment) without the fresh proof the
/// account must give, or with a wrong one: `two_factor_required` while 2FA is on.
const FRESH_PROOF: &[Outcome] = &[(401, ErrorCode::TwoFactorRequired), (401, ErrorCode::ProofRequired)];
/// A feature whose integration is not configured on the server.
const NOT_CONFIGURED: &[Outcome] = &[(503, ErrorCode::NotConfigured)];
/// Stripe failed or refused.
const PAYMENT: &[Outcome] = &[(502, ErrorCode::PaymentProviderError)];
/// The account named in the path (or in a Stripe event) does not exist.
const NO_USER: &[Outcome] = &[(404, ErrorCode::UserNotFound)];
/// A sandbox Checkout Session this process does not know.
const NO_SESSION: &[Outcome] = &[(404, ErrorCode::CheckoutSessionNotFound)];
/// A passkey id the caller does not have (another user's included).
const NO_PASSKEY: &[Outcome] = &[(404, ErrorCode::PasskeyNotFound)];
/// A webhook endpoint id the caller does not have (another user's included).
const NO_WEBHOOK: &[Outcome] = &[(404, ErrorCode::WebhookNotFound)];
/// A delivery the endpoint does not have.
const NO_DELIVERY: &[Outcome] = &[(404, ErrorCode::DeliveryNotFound)];
/// A webhook URL that is not https or not a public address.
const WEBHOOK_URL: &[Outcome] = &[(400, ErrorCode::InvalidWebhookUrl)];
/// The user has the most endpoints allowed.
const WEBHOOK_LIMIT: &[Outcome] = &[(409, ErrorCode::WebhookLimitReached)];
/// The e-mail with a code could not be sent.
const MAIL: &[Outcome] = &[(503, ErrorCode::MailUnavailable)];

/// A Stripe delivery: the body is read raw (never `empty_body`); no `Stripe-Signature`
/// header, a signature that does not verify, or a body that is not an event; over 1 MiB.
/// `Idempotency-Key`: a malformed key, the first request still running, the
/// key reused with another request.
const IDEMPOTENCY: &[Outcome] = &[
    (400, ErrorCode::InvalidParameters),
    (409, ErrorCode::IdempotencyKeyInUse),
    (422, ErrorCode::IdempotencyKeyReused),
];
const WEBHOOK: &[Outcome] = &[
    (400, ErrorCode::InvalidParameters),
    (400, ErrorCode::InvalidSignature),
    (400, ErrorCode::InvalidEvent),
    (413, ErrorCode::PayloadTooLarge),
];

/// Operation id → the groups of outcomes it can answer with, besides its success.
pub const OPERATIONS: &[(&str, &[&[Outcome]])] = &[
    (
        "authRegister",
        &[SERVER, DATABASE, LIMITED, JSON_BODY, CREDENTIALS, &[(400, ErrorCode::UserExists)], MAIL, IDEMPOTENCY],
    ),
    ("authGoogle", &[SERVER, DATABASE, LIMITED, JSON_BODY, CREDENTIALS, TWO_FACTOR, NOT_CONFIGURED]),
    ("authAppleNonce", &[SERVER, DATABASE, LIMITED, CREDENTIALS, NOT_CONFIGURED]),
    ("authApple", &[SERVER, DATABASE, LIMITED, JSON_BODY, CREDENTIALS, TWO_FACTOR, NOT_CONFIGURED]),
    ("authPasskeyOptions", &[SERVER, DATABASE, LIMITED, CREDENTIALS, NOT_CONFIGURED]),
    ("authPasskey", &[SERVER, DATABASE, LIMITED, JSON_BODY, CREDENTIALS, NOT_CONFIGURED]),
    ("authLogin", &[SERVER, DATABASE, LIMITED, JSON_BODY, CREDENTIALS, TWO_FACTOR]),
    ("authLogout", &[SERVER, DATABASE, LIMITED, CREDENTIALS, NOT_YOURS]),
    ("authChangePassword", &[SERVER, DATABASE, LIMITED, JSON_BODY, CREDENTIALS, NOT_YOURS, NO_USER]),
    (
        "authSendOtp",
        &[SERVER, DATABASE, LIMITED, PARAMS, CREDENTIALS, &[(400, ErrorCode::AlreadyActive)], NO_USER, MAIL],
    ),
    ("authActivate", &[SERVER, DATABASE, LIMITED, JSON_BODY, CREDENTIALS, &[(400, ErrorCode::AlreadyActive)], NO_USER]),
    ("authEnable2fa", &[SERVER, DATABASE, LIMITED, JSON_BODY, CREDENTIALS, TWO_FACTOR, ACTIVE, NOT_YOURS]),
    ("authDisable2fa", &[SERVER, DATABASE, LIMITED, JSON_BODY, CREDENTIALS, TWO_FACTOR, ACTIVE, NOT_YOURS]),
    ("authStartTotp", &[SERVER, DATABASE, LIMITED, JSON_BODY, CREDENTIALS, FRESH_PROOF, ACTIVE, NOT_YOURS, NO_USER]),
    ("authRecoveryCodes", &[SERVER, DATABASE, LIMITED, JSON_BODY, CREDENTIALS, TWO_FACTOR, ACTIVE, NOT_YOURS]),
    ("sessionsList", &[SERVER, DATABASE, LIMITED, PARAMS, CREDENTIALS, ACTIVE, NOT_YOURS]),
    (
        "sessionsDelete",
        &[SERVER, DATABASE, LIMITED, CREDENTIALS, ACTIVE, NOT_YOURS, &[(404, ErrorCode::SessionNotFound)]],
    ),
    ("sessionsDeleteOthers", &[SERVER, DATABASE, LIMITED, CREDENTIALS, ACTIVE, NOT_YOURS]),
    ("usersGet", &[SERVER, DATABASE, LIMITED, CREDENTIALS, NOT_YOURS]),
    // NO_USER: the account was deleted between the credential check and the write.
    ("usersUpdate", &[SERVER, DATABASE, LIMITED, JSON_BODY, CREDENTIALS, NOT_YOURS, NO_USER]),
    ("usersDelete", &[SERVER, DATABASE, LIMITED, JSON_BODY, CREDENTIALS, NOT_YOURS, &[(404, ErrorCode::UserNotFound)]]),
    (
        "passkeysRegisterOptions",
        &[SERVER, DATABASE, LIMITED, JSON_BODY, CREDENTIALS, FRESH_PROOF, ACTIVE, NOT_YOURS, NOT_CONFIGURED],
    ),
    (
        "passkeysRegister",
        &[
            SERVER,
            DATABASE,
            LIMITED,
            JSON_BODY,
            CREDENTIALS,
            ACTIVE,
            NOT_YOURS,
            NOT_CONFIGURED,
            &[(400, ErrorCode::PasskeyRejected)],
            MAIL,
        ],
    ),
    ("passkeysList", &[SERVER, DATABASE, LIMITED, CREDENTIALS, ACTIVE, NOT_YOURS, NOT_CONFIGURED]),
    (
        "passkeysDelete",
        &[
            SERVER,
            DATABASE,
            LIMITED,
            CREDENTIALS,
            ACTIVE,
            NOT_YOURS,
            NOT_CONFIGURED,
            NO_PASSKEY,
            &[(409, ErrorCode::LastSignInMethod)],
        ],
    ),
    ("apiKeysGet", &[SERVER, DATABASE, LIMITED, CREDENTIALS, ACTIVE, NOT_YOURS]),
    ("apiKeysReset", &[SERVER, DATABASE, LIMITED, CREDENTIALS, ACTIVE, NOT_YOURS, IDEMPOTENCY]),
    ("transactionsList", &[SERVER, DATABASE, LIMITED, PARAMS, CREDENTIALS, ACTIVE, NOT_YOURS]),
    (
        "transactionsGet",
        &[SERVER, DATABASE, LIMITED, CREDENTIALS, ACTIVE, NOT_YOURS, &[(404, ErrorCode::TransactionNotFound)]],
    ),
    ("tasksList", &[SERVER, DATABASE, LIMITED, PARAMS, CREDENTIALS, ACTIVE, NOT_YOURS]),
    ("tasksGet", &[SERVER, DATABASE, LIMITED, CREDENTIALS, ACTIVE, NOT_YOURS, &[(404, ErrorCode::TaskNotFound)]]),
    (
        "webhooksCreate",
        &[SERVER, DATABASE, LIMITED, JSON_BODY, CREDENTIALS, ACTIVE, NOT_YOURS, WEBHOOK_URL, WEBHOOK_LIMIT],
    ),
    ("webhooksList", &[SERVER, DATABASE, LIMITED, CREDENTIALS, ACTIVE, NOT_YOURS]),
    ("webhooksDelete", &[SERVER, DATABASE, LIMITED, CREDENTIALS, ACTIVE, NOT_YOURS, NO_WEBHOOK]),
    ("webhooksRotate", &[SERVER, DATABASE, LIMITED, CREDENTIALS, ACTIVE, NOT_YOURS, NO_WEBHOOK]),
    ("webhooksDeliveries", &[SERVER, DATABASE, LIMITED, PARAMS, CREDENTIALS, ACTIVE, NOT_YOURS, NO_WEBHOOK]),
    ("webhooksRetry", &[SERVER, DATABASE, LIMITED, CREDENTIALS, ACTIVE, NOT_YOURS, NO_WEBHOOK, NO_DELIVERY]),
    (
        "tasksEvents",
        &[SERVER, DATABASE, LIMITED, PARAMS, CREDENTIALS, ACTIVE, NOT_YOURS, &[(404, ErrorCode::TaskNotFound)]],
    ),
    ("agentSupportedAttachments", &[SERVER, DATABASE, LIMITED, CREDENTIALS, NOT_YOURS]),
    (
        "agentAnalysis",
        &[
            SERVER,
            DATABASE,
            LIMITED,
            JSON_BODY,
            CREDENTIALS,
            ACTIVE,
            NOT_YOURS,
            &[(403, ErrorCode::InsufficientCredits)],
            NOT_CONFIGURED,
            IDEMPOTENCY,
        ],
    ),
    ("stripeRate", &[SERVER, DATABASE, LIMITED, CREDENTIALS]),
    ("stripePortal", &[SERVER, DATABASE, LIMITED, CREDENTIALS, ACTIVE, PAYMENT, NOT_CONFIGURED, IDEMPOTENCY]),
    (
        "stripeBuy",
        &[
            SERVER,
            DATABASE,
            LIMITED,
            JSON_BODY,
            CREDENTIALS,
            ACTIVE,
            &[(404, ErrorCode::RateNotFound)],
            PAYMENT,
            NOT_CONFIGURED,
            IDEMPOTENCY,
        ],
    ),
    ("stripeWebhook", &[SERVER, DATABASE, WEBHOOK, NO_USER, NOT_CONFIGURED]),
    ("stripeSettle", &[SERVER, DATABASE, WEBHOOK, NO_USER, NOT_CONFIGURED]),
    ("miscHealth", &[SERVER, DATABASE]),
    ("miscLive", &[SERVER]),
    ("miscReady", &[SERVER, DATABASE, &[(503, ErrorCode::RedisUnavailable), (503, ErrorCode::MigrationsPending)]]),
    ("miscVersion", &[SERVER]),
    ("adminUsersList", &[SERVER, DATABASE, LIMITED, PARAMS, CREDENTIALS]),
    ("adminUsersSetCredits", &[SERVER, DATABASE, LIMITED, JSON_BODY, CREDENTIALS, &[(404, ErrorCode::UserNotFound)]]),
    ("adminSecurityEventsList", &[SERVER, DATABASE, LIMITED, PARAMS, CREDENTIALS]),
    ("adminTasksList", &[SERVER, DATABASE, LIMITED, PARAMS, CREDENTIALS]),
    // Sandbox mode only: no credential, no rate limit, and only the portal reads the database.
    ("sandboxMailbox", &[SERVER, PARAMS]),
    ("sandboxCheckoutPage", &[SERVER, NO_SESSION]),
    ("sandboxCheckoutPay", &[SERVER, NO_SESSION]),
    ("sandboxPortalPage", &[SERVER, DATABASE, &[(404, ErrorCode::CustomerNotFound)]]),
    ("sandboxGoogleIdToken", &[SERVER, JSON_BODY]),
    ("sandboxAppleIdToken", &[SERVER, JSON_BODY]),
    ("sandboxPasskeyAttestation", &[SERVER, JSON_BODY]),
    ("sandboxPasskeyAssertion", &[SERVER, JSON_BODY]),
];

/// The outcomes of `operation_id`, by status, codes in table order.
pub fn outcomes(operation_id: &str) -> Option<BTreeMap<u16, Vec<ErrorCode>>> {
    let (_, groups) = OPERATIONS.iter().find(|(id, _)| *id == operation_id)?;
    let mut by_status: BTreeMap<u16, Vec<ErrorCode>> = BTreeMap::new();
    for (status, code) in groups.iter().flat_map(|g| g.iter()) {
        let codes = by_status.entry(*status).or_default();
        if !codes.contains(code) {
            codes.push(*code);
        }
    }
    Some(by_status)
}

fn error_response(template: Option<&Value>, status: u16, codes: &[ErrorCode]) -> Value {
    let mut response = template.cloned().unwrap_or_else(|| {
        json!({
            "description": "Error.",
            "content": {"application/json; charset=utf-8": {"schema": {"$ref": "#/components/schemas/ErrorBody"}}}
        })
    });
    let mut examples = Map::new();
    let mut lines = vec![];
    for code in codes {
        let error = ApiError::example(*code);
        let code = code.as_str();
        assert_eq!(error.status_code(), status, "{code} is sent with {}, not {status}", error.status_code());
        let body = error.body();
        lines.push(format!("- `{code}`: {}", body.message));
        let value = serde_json::to_value(poem_openapi::types::ToJSON::to_json(body)).expect("JSON");
        examples.insert(code.to_string(), json!({ "summary": body.message, "value": value }));
    }
    let base = response.get("description").and_then(Value::as_str).unwrap_or("Error.").to_string();
    response["description"] = json!(format!("{base}\n\n`code` is one of:\n{}", lines.join("\n")));
    if let Some(content) = response.get_mut("content").and_then(Value::as_object_mut) {
        for media in content.values_mut() {
            media["examples"] = Value::Object(examples.clone());
        }
    }
    response
}

/// Replaces each operation's error responses by those of [`OPERATIONS`].
pub fn apply(doc: &mut Value) {
    for (method, path, op) in super::operations_mut(doc) {
        let id = op.get("operationId").and_then(Value::as_str).unwrap_or_default().to_string();
        let table = outcomes(&id).unwrap_or_else(|| panic!("{method} {path} ({id}) is missing from spec::statuses"));
        let Some(Value::Object(responses)) = op.get_mut("responses") else { continue };
        let generated = std::mem::take(responses);
        for (status, response) in &generated {
            if status.starts_with('2') || status.starts_with('3') {
                responses.insert(status.clone(), response.clone());
            }
        }
        for (status, codes) in table {
            let template = generated.get(&status.to_string());
            responses.insert(status.to_string(), error_response(template, status, &codes));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_code_has_an_example_with_its_status() {
        for (id, _) in OPERATIONS {
            for (status, codes) in outcomes(id).unwrap() {
                error_response(None, status, &codes);
            }
        }
    }
}
