//! One real instance of every error `code`, built by the same constructors the handlers
//! use: the spec's error examples come from here, so they cannot drift from the wire.

use super::error::{ApiError, body};
use crate::{
    clients::stripe::SignatureError,
    services::{Resource, ServiceError, fresh_proof::Wanted},
};

/// Every error the API can send, one per code.
pub fn all() -> Vec<ApiError> {
    vec![
        ApiError::empty_body(),
        ApiError::invalid_parameters(),
        ServiceError::AlreadyExists.into(),
        ServiceError::AlreadyActive.into(),
        ServiceError::InvalidSignature(SignatureError::Mismatch).into(),
        ApiError::BadRequest(body("invalid_event", "The request body is not a Stripe event.", None)),
        ApiError::unauthorized(),
        ServiceError::TwoFactor { is_2fa_enabled: true }.into(),
        ServiceError::ProofRequired { is_2fa_enabled: false, wanted: Wanted::Password }.into(),
        ApiError::not_active(),
        ApiError::forbidden(),
        ServiceError::InsufficientCredits.into(),
        ServiceError::NotFound(Resource::User).into(),
        ServiceError::NotFound(Resource::Transaction).into(),
        ServiceError::NotFound(Resource::Task).into(),
        ServiceError::NotFound(Resource::CheckoutSession).into(),
        ServiceError::NotFound(Resource::Customer).into(),
        ServiceError::NotFound(Resource::Session).into(),
        ServiceError::NoRate.into(),
        ServiceError::NotFound(Resource::Webhook).into(),
        ServiceError::NotFound(Resource::WebhookDelivery).into(),
        ServiceError::WebhookLimit.into(),
        ServiceError::WebhookUrl("the URL must be https").into(),
        ApiError::route_not_found(),
        ApiError::method_not_allowed(),
        ApiError::payload_too_large(),
        ApiError::rate_limited(1),
        ApiError::internal(),
        ApiError::BadGateway(body(
            "payment_provider_error",
            "The payment provider did not answer in time. Nothing was charged; please try again later.",
            None,
        )),
        ServiceError::NotConfigured("STRIPE_SECRET_KEY and CLIENT_URL").into(),
        ServiceError::MailFailed.into(),
        ApiError::database_unavailable(),
        ApiError::timed_out(),
        ApiError::not_ready(crate::health::NotReady::Redis),
        ApiError::not_ready(crate::health::NotReady::MigrationsPending),
        ApiError::idempotency_key_in_use(),
        ApiError::idempotency_key_reused(),
        ServiceError::PasskeyRejected.into(),
        ServiceError::NotFound(Resource::Passkey).into(),
        ServiceError::LastSignInMethod.into(),
    ]
}

/// The example of `code`, if there is such a code.
pub fn example(code: &str) -> Option<ApiError> {
    all().into_iter().find(|e| e.body().code == code)
}
