//! The one error type of the API. Every failure, the framework's included, leaves the
//! server as this envelope with a stable `code`.

use poem::{IntoResponse, Response};
use poem_openapi::{ApiResponse, Enum, Object, payload::Json};

pub use super::error_code::ErrorCode;
use crate::{
    clients::stripe::{SignatureError, StripeError},
    services::{Resource, ServiceError, fresh_proof::Wanted},
};

pub const MSG_EMPTY_BODY: &str = "Request body is empty.";
pub const MSG_INVALID_PARAMETERS: &str = "One or more required parameters are either not given or have invalid schema.";
pub const MSG_UNAUTHORIZED: &str = "Authorization header or OTP is either missing, invalid or expired.";
pub const MSG_NOT_ACTIVE: &str = "Please activate your account to access the requested resource.";
pub const MSG_FORBIDDEN: &str = "You do not have access to the requested resource.";
pub const MSG_INTERNAL: &str = "Something went wrong.";
pub const MSG_DATABASE_UNAVAILABLE: &str = "The database is unavailable; try again shortly.";
pub const MSG_IDEMPOTENCY_KEY_IN_USE: &str = "The Idempotency-Key is already used by a request that is still running.";
pub const MSG_IDEMPOTENCY_KEY_REUSED: &str = "The Idempotency-Key was used with a different request.";
/// `Retry-After` of a 503 for an unreachable database: long enough not to hammer it while
/// it restarts, short enough that clients come back soon after.
pub const DATABASE_RETRY_AFTER_SECS: u64 = 2;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Enum)]
#[oai(rename_all = "lowercase")]
pub enum ErrorStatus {
    Error,
}

/// Sent with a 401 that 2FA caused, or that asks for the proof adding a way in needs.
#[derive(Debug, Clone, Object)]
pub struct TwoFactorState {
    pub is_2fa_enabled: bool,
    /// Only on the 401 of an operation that adds a way into the account (passkey
    /// creation options, authenticator enrolment): the proof to send, `password` (the
    /// account's password) or `code` (a current second factor while 2FA is on; otherwise a
    /// TWO_FACTOR_AUTH code from Send OTP).
    #[oai(skip_serializing_if_is_none)]
    pub proof: Option<String>,
}

/// The error envelope.
#[derive(Debug, Clone, Object)]
#[oai(example)]
pub struct ErrorBody {
    /// `{"is_2fa_enabled": …}` on a 401 caused by 2FA (`two_factor_required`), with
    /// `proof` when a way in was being added (`two_factor_required`, `proof_required`);
    /// otherwise null.
    #[oai(nullable)]
    pub data: Option<TwoFactorState>,
    pub message: String,
    pub status: ErrorStatus,
    /// Stable, machine-readable: one of the codes listed here (the spec's list is written
    /// from `ErrorCode`, see `spec::mod`).
    pub code: String,
}

impl ErrorBody {
    fn example_value() -> Self {
        Self {
            data: None,
            message: MSG_UNAUTHORIZED.into(),
            status: ErrorStatus::Error,
            code: ErrorCode::Unauthorized.as_str().into(),
        }
    }
}

#[derive(Debug, ApiResponse)]
pub enum ApiError {
    /// The body, a parameter or a field is missing or invalid.
    #[oai(status = 400)]
    BadRequest(Json<ErrorBody>),
    /// Credentials or code missing, wrong or expired; or the account is not active.
    #[oai(status = 401)]
    Unauthorized(Json<ErrorBody>),
    /// Another user's resource, a credential kind this route does not take, or not
    /// enough credits.
    #[oai(status = 403)]
    Forbidden(Json<ErrorBody>),
    /// No such user, transaction, credit band or route.
    #[oai(status = 404)]
    NotFound(Json<ErrorBody>),
    /// The route exists but not with this method.
    #[oai(status = 405)]
    MethodNotAllowed(Json<ErrorBody>),
    /// A request with the same `Idempotency-Key` is still running (retry shortly), or the
    /// change would leave the account no way to sign in.
    #[oai(status = 409)]
    Conflict(Json<ErrorBody>),
    /// The body is larger than the route accepts.
    #[oai(status = 413)]
    PayloadTooLarge(Json<ErrorBody>),
    /// The `Idempotency-Key` was already used with a different request body.
    #[oai(status = 422)]
    UnprocessableEntity(Json<ErrorBody>),
    /// Too many requests or attempts; retry after the given number of seconds.
    #[oai(status = 429)]
    TooManyRequests(Json<ErrorBody>, #[oai(header = "Retry-After")] u64),
    /// Something unexpected; details are only in the server log.
    #[oai(status = 500)]
    Internal(Json<ErrorBody>),
    /// The payment provider failed or refused the call; nothing was changed.
    #[oai(status = 502)]
    BadGateway(Json<ErrorBody>),
    /// A dependency (database, mail, an unconfigured integration) is unavailable, or the
    /// request took too long. With `database_unavailable`, `Retry-After` says when to retry.
    #[oai(status = 503)]
    Unavailable(Json<ErrorBody>, #[oai(header = "Retry-After")] Option<u64>),
}

pub(super) fn body(code: ErrorCode, message: impl Into<String>, data: Option<TwoFactorState>) -> Json<ErrorBody> {
    Json(ErrorBody { data, message: message.into(), status: ErrorStatus::Error, code: code.as_str().into() })
}

impl ApiError {
    pub fn empty_body() -> Self {
        Self::BadRequest(body(ErrorCode::EmptyBody, MSG_EMPTY_BODY, None))
    }
    pub fn invalid_parameters() -> Self {
        Self::BadRequest(body(ErrorCode::InvalidParameters, MSG_INVALID_PARAMETERS, None))
    }
    pub fn unauthorized() -> Self {
        Self::Unauthorized(body(ErrorCode::Unauthorized, MSG_UNAUTHORIZED, None))
    }
    pub fn forbidden() -> Self {
        Self::Forbidden(body(ErrorCode::Forbidden, MSG_FORBIDDEN, None))
    }
    pub fn not_active() -> Self {
        Self::Unauthorized(body(ErrorCode::AccountNotActive, MSG_NOT_ACTIVE, None))
    }
    pub fn route_not_found() -> Self {
        Self::NotFound(body(ErrorCode::RouteNotFound, "The requested route does not exist.", None))
    }
    pub fn method_not_allowed() -> Self {
        Self::MethodNotAllowed(body(
            ErrorCode::MethodNotAllowed,
            "The requested method is not allowed for this route.",
            None,
        ))
    }
    pub fn payload_too_large() -> Self {
        Self::PayloadTooLarge(body(
            ErrorCode::PayloadTooLarge,
            "The request body is larger than this route accepts.",
            None,
        ))
    }
    pub fn idempotency_key_in_use() -> Self {
        Self::Conflict(body(ErrorCode::IdempotencyKeyInUse, MSG_IDEMPOTENCY_KEY_IN_USE, None))
    }
    pub fn idempotency_key_reused() -> Self {
        Self::UnprocessableEntity(body(ErrorCode::IdempotencyKeyReused, MSG_IDEMPOTENCY_KEY_REUSED, None))
    }
    pub fn internal() -> Self {
        Self::Internal(body(ErrorCode::InternalError, MSG_INTERNAL, None))
    }
    pub fn rate_limited(retry_after: u64) -> Self {
        Self::TooManyRequests(
            body(ErrorCode::RateLimited, "You have exceeded the rate limit.", None),
            retry_after.max(1),
        )
    }
    pub fn timed_out() -> Self {
        Self::Unavailable(body(ErrorCode::TimedOut, "The request took too long. Please try again.", None), None)
    }
    pub fn database_unavailable() -> Self {
        Self::Unavailable(
            body(ErrorCode::DatabaseUnavailable, MSG_DATABASE_UNAVAILABLE, None),
            Some(DATABASE_RETRY_AFTER_SECS),
        )
    }
    /// Why `GET /health/ready` refuses: the process should get no traffic yet.
    pub fn not_ready(why: crate::health::NotReady) -> Self {
        use crate::health::NotReady;
        match why {
            NotReady::Database => Self::database_unavailable(),
            NotReady::Redis => Self::Unavailable(
                body(ErrorCode::RedisUnavailable, "Redis (REDIS_URL) does not answer.", None),
                Some(DATABASE_RETRY_AFTER_SECS),
            ),
            NotReady::MigrationsPending => Self::Unavailable(
                body(
                    ErrorCode::MigrationsPending,
                    "The database lacks migrations this server needs; run `clara-backend migrate`.",
                    None,
                ),
                Some(DATABASE_RETRY_AFTER_SECS),
            ),
        }
    }

    /// One real instance of the error, built by the same constructors the handlers use: the
    /// spec's error examples come from here, so they cannot drift from the wire.
    pub fn example(code: ErrorCode) -> Self {
        use ErrorCode::*;
        match code {
            EmptyBody => Self::empty_body(),
            InvalidParameters => Self::invalid_parameters(),
            UserExists => ServiceError::AlreadyExists.into(),
            AlreadyActive => ServiceError::AlreadyActive.into(),
            InvalidSignature => ServiceError::InvalidSignature(SignatureError::Mismatch).into(),
            InvalidEvent => Self::BadRequest(body(InvalidEvent, "The request body is not a Stripe event.", None)),
            Unauthorized => Self::unauthorized(),
            TwoFactorRequired => ServiceError::TwoFactor { is_2fa_enabled: true }.into(),
            ProofRequired => ServiceError::ProofRequired { is_2fa_enabled: false, wanted: Wanted::Password }.into(),
            AccountNotActive => Self::not_active(),
            Forbidden => Self::forbidden(),
            InsufficientCredits => ServiceError::InsufficientCredits.into(),
            UserNotFound => ServiceError::NotFound(Resource::User).into(),
            TransactionNotFound => ServiceError::NotFound(Resource::Transaction).into(),
            TaskNotFound => ServiceError::NotFound(Resource::Task).into(),
            CheckoutSessionNotFound => ServiceError::NotFound(Resource::CheckoutSession).into(),
            CustomerNotFound => ServiceError::NotFound(Resource::Customer).into(),
            SessionNotFound => ServiceError::NotFound(Resource::Session).into(),
            RateNotFound => ServiceError::NoRate.into(),
            WebhookNotFound => ServiceError::NotFound(Resource::Webhook).into(),
            DeliveryNotFound => ServiceError::NotFound(Resource::WebhookDelivery).into(),
            WebhookLimitReached => ServiceError::WebhookLimit.into(),
            InvalidWebhookUrl => ServiceError::WebhookUrl("the URL must be https").into(),
            RouteNotFound => Self::route_not_found(),
            MethodNotAllowed => Self::method_not_allowed(),
            PayloadTooLarge => Self::payload_too_large(),
            RateLimited => Self::rate_limited(1),
            InternalError => Self::internal(),
            PaymentProviderError => Self::BadGateway(body(
                PaymentProviderError,
                "The payment provider did not answer in time. Nothing was charged; please try again later.",
                None,
            )),
            NotConfigured => ServiceError::NotConfigured("STRIPE_SECRET_KEY and CLIENT_URL").into(),
            MailUnavailable => ServiceError::MailFailed.into(),
            DatabaseUnavailable => Self::database_unavailable(),
            TimedOut => Self::timed_out(),
            RedisUnavailable => Self::not_ready(crate::health::NotReady::Redis),
            MigrationsPending => Self::not_ready(crate::health::NotReady::MigrationsPending),
            IdempotencyKeyInUse => Self::idempotency_key_in_use(),
            IdempotencyKeyReused => Self::idempotency_key_reused(),
            PasskeyRejected => ServiceError::PasskeyRejected.into(),
            PasskeyNotFound => ServiceError::NotFound(Resource::Passkey).into(),
            LastSignInMethod => ServiceError::LastSignInMethod.into(),
        }
    }

    /// The envelope this error is sent as.
    pub fn body(&self) -> &ErrorBody {
        match self {
            Self::BadRequest(b)
            | Self::Unauthorized(b)
            | Self::Forbidden(b)
            | Self::NotFound(b)
            | Self::MethodNotAllowed(b)
            | Self::Conflict(b)
            | Self::PayloadTooLarge(b)
            | Self::UnprocessableEntity(b)
            | Self::TooManyRequests(b, _)
            | Self::Internal(b)
            | Self::BadGateway(b)
            | Self::Unavailable(b, _) => &b.0,
        }
    }

    pub fn status_code(&self) -> u16 {
        match self {
            Self::BadRequest(_) => 400,
            Self::Unauthorized(_) => 401,
            Self::Forbidden(_) => 403,
            Self::NotFound(_) => 404,
            Self::MethodNotAllowed(_) => 405,
            Self::Conflict(_) => 409,
            Self::PayloadTooLarge(_) => 413,
            Self::UnprocessableEntity(_) => 422,
            Self::TooManyRequests(..) => 429,
            Self::Internal(_) => 500,
            Self::BadGateway(_) => 502,
            Self::Unavailable(..) => 503,
        }
    }
}

impl From<ServiceError> for ApiError {
    fn from(err: ServiceError) -> Self {
        match err {
            ServiceError::InvalidInput(_) => Self::invalid_parameters(),
            ServiceError::AlreadyExists => {
                Self::BadRequest(body(ErrorCode::UserExists, "User with the given identifier already exists.", None))
            }
            ServiceError::AlreadyActive => {
                Self::BadRequest(body(ErrorCode::AlreadyActive, "User account is already activated.", None))
            }
            ServiceError::Unauthorized => Self::unauthorized(),
            ServiceError::TwoFactor { is_2fa_enabled } => Self::Unauthorized(body(
                ErrorCode::TwoFactorRequired,
                MSG_UNAUTHORIZED,
                Some(TwoFactorState { is_2fa_enabled, proof: None }),
            )),
            // While 2FA is on the proof is a second factor, and the answer is Login's.
            ServiceError::ProofRequired { is_2fa_enabled, wanted } => Self::Unauthorized(body(
                if is_2fa_enabled { ErrorCode::TwoFactorRequired } else { ErrorCode::ProofRequired },
                MSG_UNAUTHORIZED,
                Some(TwoFactorState { is_2fa_enabled, proof: Some(wanted.as_str().to_string()) }),
            )),
            ServiceError::NotActivated => Self::not_active(),
            ServiceError::Forbidden => Self::forbidden(),
            ServiceError::NotFound(resource) => Self::NotFound(body(
                match resource {
                    Resource::User => ErrorCode::UserNotFound,
                    Resource::Transaction => ErrorCode::TransactionNotFound,
                    Resource::Task => ErrorCode::TaskNotFound,
                    Resource::CheckoutSession => ErrorCode::CheckoutSessionNotFound,
                    Resource::Customer => ErrorCode::CustomerNotFound,
                    Resource::Session => ErrorCode::SessionNotFound,
                    Resource::Passkey => ErrorCode::PasskeyNotFound,
                    Resource::Webhook => ErrorCode::WebhookNotFound,
                    Resource::WebhookDelivery => ErrorCode::DeliveryNotFound,
                },
                format!("{} with the given identifier does not exist.", resource.name()),
                None,
            )),
            ServiceError::PasskeyRejected => Self::BadRequest(body(
                ErrorCode::PasskeyRejected,
                "The passkey could not be registered: the registration was not started, has expired or was \
                 already finished, the credential does not answer it, or it is already registered.",
                None,
            )),
            ServiceError::LastSignInMethod => Self::Conflict(body(
                ErrorCode::LastSignInMethod,
                "This passkey is the account's last way to sign in: set a password or add another passkey first.",
                None,
            )),
            ServiceError::NotConfigured(variables) => Self::Unavailable(
                body(
                    ErrorCode::NotConfigured,
                    format!("This feature is not configured on the server. Set {variables} to enable it."),
                    None,
                ),
                None,
            ),
            ServiceError::MailFailed => Self::Unavailable(
                body(ErrorCode::MailUnavailable, "The e-mail could not be sent. Please try again later.", None),
                None,
            ),
            ServiceError::DatabaseUnavailable(detail) => {
                tracing::warn!(%detail, "database unavailable");
                Self::database_unavailable()
            }
            ServiceError::RateLimited(retry_after) => Self::rate_limited(retry_after),
            ServiceError::InsufficientCredits => Self::Forbidden(body(
                ErrorCode::InsufficientCredits,
                "You do not have enough credits to perform this action.",
                None,
            )),
            ServiceError::WebhookLimit => Self::Conflict(body(
                ErrorCode::WebhookLimitReached,
                "A user can have at most 10 webhook endpoints; delete one first.",
                None,
            )),
            ServiceError::WebhookUrl(reason) => Self::BadRequest(body(
                ErrorCode::InvalidWebhookUrl,
                format!("The webhook URL is not allowed: {reason}."),
                None,
            )),
            ServiceError::NoRate => {
                Self::NotFound(body(ErrorCode::RateNotFound, "No credits rate found for the given amount.", None))
            }
            ServiceError::Payment(err) => {
                tracing::error!(%err, "payment provider call failed");
                let reason = match &err {
                    StripeError::Timeout => "did not answer in time".to_string(),
                    StripeError::Api { kind, code, .. } => {
                        format!("refused the request ({})", code.as_deref().unwrap_or(kind))
                    }
                    StripeError::Transport(_) | StripeError::Malformed(_) => "could not be reached".to_string(),
                };
                Self::BadGateway(body(
                    ErrorCode::PaymentProviderError,
                    format!("The payment provider {reason}. Nothing was charged; please try again later."),
                    None,
                ))
            }
            ServiceError::InvalidSignature(err) => Self::BadRequest(body(
                ErrorCode::InvalidSignature,
                format!("The Stripe-Signature header is invalid: {err}."),
                None,
            )),
            ServiceError::InvalidEvent(detail) => {
                tracing::warn!(%detail, "webhook body is not a Stripe event");
                Self::BadRequest(body(ErrorCode::InvalidEvent, "The request body is not a Stripe event.", None))
            }
            ServiceError::AlreadyRecorded | ServiceError::BalanceChanged => {
                tracing::error!("a ledger conflict reached the API unhandled");
                Self::internal()
            }
            ServiceError::Internal(fault) => {
                tracing::error!(error = %crate::clients::error_chain(&fault), "internal error");
                Self::internal()
            }
        }
    }
}

/// Turns any error that reached the top of the app into the envelope.
pub fn error_response(err: poem::Error) -> Response {
    use poem::{error::*, http::StatusCode};
    use poem_openapi::error::*;

    if err.is_from_response() {
        return err.into_response();
    }
    let api = if err.is::<NotFoundError>() {
        ApiError::route_not_found()
    } else if err.is::<MethodNotAllowedError>() {
        ApiError::method_not_allowed()
    } else if err.is::<ContentTypeError>() {
        ApiError::empty_body()
    } else if err.is::<AuthorizationError>() {
        ApiError::unauthorized()
    } else if matches!(err.downcast_ref::<ReadBodyError>(), Some(ReadBodyError::PayloadTooLarge)) {
        ApiError::payload_too_large()
    } else {
        match err.status() {
            StatusCode::BAD_REQUEST => ApiError::invalid_parameters(),
            StatusCode::UNAUTHORIZED => ApiError::unauthorized(),
            StatusCode::FORBIDDEN => ApiError::forbidden(),
            StatusCode::NOT_FOUND => ApiError::route_not_found(),
            StatusCode::METHOD_NOT_ALLOWED => ApiError::method_not_allowed(),
            StatusCode::PAYLOAD_TOO_LARGE => ApiError::payload_too_large(),
            status if status.is_client_error() => ApiError::invalid_parameters(),
            status => {
                tracing::error!(%status, error = %err, "unhandled error");
                ApiError::internal()
            }
        }
    };
    api.into_response()
}

impl poem_openapi::types::Example for ErrorBody {
    fn example() -> Self {
        Self::example_value()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn each_example_sends_its_own_code() {
        for code in ErrorCode::ALL {
            assert_eq!(ApiError::example(*code).body().code, code.as_str(), "{code:?}");
        }
    }
}
