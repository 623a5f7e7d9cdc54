//! Every error `code` the API sends, as one list: the enum the envelope is built from (a
//! handler cannot send a code that is not here), the list the spec publishes in
//! `ErrorBody.code`, and one real example of each (`ApiError::example`, an exhaustive match,
//! so a new code cannot go without one). On the wire `code` stays a string: a client generated with an
//! enum would fail on a code added later.

macro_rules! error_codes {
    ($($variant:ident => $code:literal),* $(,)?) => {
        #[derive(Debug, Clone, Copy, PartialEq, Eq)]
        pub enum ErrorCode {
            $($variant),*
        }

        impl ErrorCode {
            /// Every code, in the order the spec lists them.
            pub const ALL: &'static [ErrorCode] = &[$(ErrorCode::$variant),*];

            pub const fn as_str(self) -> &'static str {
                match self {
                    $(ErrorCode::$variant => $code),*
                }
            }
        }
    };
}

error_codes! {
    EmptyBody => "empty_body",
    InvalidParameters => "invalid_parameters",
    UserExists => "user_exists",
    AlreadyActive => "already_active",
    InvalidSignature => "invalid_signature",
    InvalidEvent => "invalid_event",
    Unauthorized => "unauthorized",
    TwoFactorRequired => "two_factor_required",
    ProofRequired => "proof_required",
    AccountNotActive => "account_not_active",
    Forbidden => "forbidden",
    InsufficientCredits => "insufficient_credits",
    UserNotFound => "user_not_found",
    TransactionNotFound => "transaction_not_found",
    TaskNotFound => "task_not_found",
    CheckoutSessionNotFound => "checkout_session_not_found",
    CustomerNotFound => "customer_not_found",
    SessionNotFound => "session_not_found",
    RateNotFound => "rate_not_found",
    WebhookNotFound => "webhook_not_found",
    DeliveryNotFound => "delivery_not_found",
    WebhookLimitReached => "webhook_limit_reached",
    InvalidWebhookUrl => "invalid_webhook_url",
    RouteNotFound => "route_not_found",
    MethodNotAllowed => "method_not_allowed",
    PayloadTooLarge => "payload_too_large",
    RateLimited => "rate_limited",
    InternalError => "internal_error",
    PaymentProviderError => "payment_provider_error",
    NotConfigured => "not_configured",
    MailUnavailable => "mail_unavailable",
    DatabaseUnavailable => "database_unavailable",
    TimedOut => "timed_out",
    RedisUnavailable => "redis_unavailable",
    MigrationsPending => "migrations_pending",
    IdempotencyKeyInUse => "idempotency_key_in_use",
    IdempotencyKeyReused => "idempotency_key_reused",
    PasskeyRejected => "passkey_rejected",
    PasskeyNotFound => "passkey_not_found",
    LastSignInMethod => "last_sign_in_method",
}

impl ErrorCode {
    /// The code named `text`, if there is one.
    pub fn parse(text: &str) -> Option<Self> {
        Self::ALL.iter().copied().find(|code| code.as_str() == text)
    }

    /// What the spec says of `ErrorBody.code`: every code, in this order.
    pub fn published_list() -> String {
        let codes: Vec<String> = Self::ALL.iter().map(|code| format!("`{}`", code.as_str())).collect();
        format!("Stable, machine-readable: {}.", codes.join(", "))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn codes_parse_back() {
        for code in ErrorCode::ALL {
            assert_eq!(ErrorCode::parse(code.as_str()), Some(*code));
        }
        assert_eq!(ErrorCode::parse("no_such_code"), None);
        assert!(ErrorCode::published_list().contains("`customer_not_found`"));
    }
}
