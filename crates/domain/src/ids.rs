/// The kinds of identifier; each is its prefix plus 32 lowercase hex digits of a random UUID.
#[derive(Debug, Clone, Copy)]
pub enum IdPrefix {
    User,
    Session,
    Otp,
    Transaction,
    ApiKey,
    Task,
    RecoveryCode,
    SecurityEvent,
    Passkey,
    PasskeyChallenge,
    /// A webhook endpoint.
    Webhook,
    /// A webhook message (one event for one endpoint).
    WebhookMessage,
}

impl IdPrefix {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::User => "user_",
            Self::Session => "session_",
            Self::Otp => "otp_",
            Self::Transaction => "transaction_",
            Self::ApiKey => "api_key_",
            Self::Task => "task_",
            Self::RecoveryCode => "recovery_code_",
            Self::SecurityEvent => "event_",
            Self::Passkey => "passkey_",
            Self::PasskeyChallenge => "passkey_challenge_",
            Self::Webhook => "whk_",
            Self::WebhookMessage => "msg_",
        }
    }

    /// True when `value` has this prefix followed by 32 lowercase hex digits.
    pub fn matches(self, value: &str) -> bool {
        value
            .strip_prefix(self.as_str())
            .is_some_and(|hex| hex.len() == 32 && hex.bytes().all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b)))
    }
}

pub fn new_id(prefix: IdPrefix) -> String {
    format!("{}{}", prefix.as_str(), uuid::Uuid::new_v4().simple())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_have_prefix_and_hex() {
        let id = new_id(IdPrefix::User);
        assert!(IdPrefix::User.matches(&id));
        assert!(!IdPrefix::Session.matches(&id));
        assert!(!IdPrefix::User.matches("user_ABC"));
    }
}
