//! The caller's signed-in sessions and the account's security events.

use super::*;

envelope!(
    /// Success envelope around a page of security events, newest first.
    SecurityEventListEnvelope, Vec<SecurityEvent>);

envelope!(
    /// Success envelope around a page of the caller's sessions, newest first.
    SessionListEnvelope, Vec<Session>);

/// One of the caller's signed-in sessions.
#[derive(Debug, Clone, Object)]
#[oai(example)]
pub struct Session {
    /// `session_…`
    pub id: String,
    /// When it was made (sign-in), HTTP date in GMT.
    pub created_at: String,
    /// When it was last used, HTTP date in GMT; recorded at most once a minute, so up to a
    /// minute behind.
    pub last_used_at: String,
    /// The `User-Agent` it was made with (first 256 characters), if any.
    #[oai(nullable)]
    pub user_agent: Option<String>,
    /// The client address it was made from, if known.
    #[oai(nullable)]
    pub ip_address: Option<String>,
    /// True for the session of the token making this request.
    pub current: bool,
}

impl Session {
    pub fn new(row: &entity::sessions::Model, current_session_id: &str) -> Self {
        Self {
            id: row.id.clone(),
            created_at: http_date(row.created_at),
            last_used_at: http_date(row.last_used_at),
            user_agent: row.user_agent.clone(),
            ip_address: row.ip_address.clone(),
            current: row.id == current_session_id,
        }
    }
}

impl poem_openapi::types::Example for Session {
    fn example() -> Self {
        Self {
            id: "session_9a1c0e7d5b3f4e2a8c6d4b2a0f1e3d5c".into(),
            created_at: EXAMPLE_DATE.into(),
            last_used_at: EXAMPLE_DATE.into(),
            user_agent: Some("Mozilla/5.0 (X11; Linux x86_64) Firefox/133.0".into()),
            ip_address: Some("203.0.113.7".into()),
            current: true,
        }
    }
}

/// A security-relevant event of an account.
#[derive(Debug, Clone, Object)]
pub struct SecurityEvent {
    pub id: String,
    /// The account, when known (kept after it is deleted).
    #[oai(nullable)]
    pub user_id: Option<String>,
    /// `login_succeeded`, `login_failed`, `login_locked`, `password_changed`,
    /// `two_factor_enabled`, `two_factor_disabled`, `recovery_codes_created`,
    /// `api_key_reset`, `account_deleted`, `admin_credits_changed`, `admin_account_deleted`,
    /// `session_ended`, `other_sessions_ended`.
    /// `passkey_added`, `passkey_deleted`, `passkey_possibly_cloned`.
    pub kind: String,
    #[oai(nullable)]
    pub client_address: Option<String>,
    #[oai(nullable)]
    pub user_agent: Option<String>,
    #[oai(nullable)]
    pub detail: Option<String>,
    /// HTTP date in GMT, e.g. `Thu, 27 Nov 2025 00:10:11 GMT`.
    pub created_at: String,
    /// Repeated failed or locked logins of one account (or, for unknown accounts, one
    /// address) within 15 minutes add up in one event: how many there were.
    #[oai(validator(minimum(value = "1")))]
    pub count: i32,
    /// When the last of them happened (HTTP date); null for a single event.
    #[oai(nullable)]
    pub last_at: Option<String>,
}

impl From<&entity::security_events::Model> for SecurityEvent {
    fn from(row: &entity::security_events::Model) -> Self {
        Self {
            id: row.id.clone(),
            user_id: row.user_id.clone(),
            kind: row.kind.clone(),
            client_address: row.client_address.clone(),
            user_agent: row.user_agent.clone(),
            detail: row.detail.clone(),
            created_at: http_date(row.created_at),
            count: row.count,
            last_at: row.last_at.map(http_date),
        }
    }
}
