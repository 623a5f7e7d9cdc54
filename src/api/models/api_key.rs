//! The user's API key.

use super::*;
use entity::api_keys;

/// The user's API key: a long-lived credential for scripts, servers and MCP clients.
#[derive(Debug, Clone, Object)]
#[oai(example)]
pub struct ApiKey {
    pub id: String,
    /// `clara_api_<JWT>`: send it as `Authorization: Bearer <token>`.
    pub token: String,
    pub user_id: String,
    /// HTTP date in GMT, e.g. `Thu, 27 Nov 2025 00:10:11 GMT`.
    pub created_at: String,
    /// HTTP date in GMT, e.g. `Thu, 27 Nov 2025 00:10:11 GMT`.
    pub updated_at: String,
}

impl ApiKey {
    pub fn new(key: &api_keys::Model, token: String) -> Self {
        Self {
            id: key.id.clone(),
            token,
            user_id: key.user_id.clone(),
            created_at: http_date(key.created_at),
            updated_at: http_date(key.updated_at),
        }
    }

    fn example_value() -> Self {
        Self {
            id: "api_key_8a1f0c2e5b7d4e6f9a0b1c2d3e4f5a6b".into(),
            token: "clara_api_eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9.eyJzdWIiOiJ1c2VyXzVlNWNlMTFhZDhlZDRhMzI4ZGYwM2ZmZDE5ZmE4MGVjIn0.sig".into(),
            user_id: "user_5e5ce11ad8ed4a328df03ffd19fa80ec".into(),
            created_at: EXAMPLE_DATE.into(),
            updated_at: EXAMPLE_DATE.into(),
        }
    }
}

envelope!(
    /// Success envelope around an API key.
    ApiKeyEnvelope, ApiKey);

examples!(ApiKey);
