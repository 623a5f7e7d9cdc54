//! What a signed credential says: whose it is, which kind, and which row keeps it alive.
//! Apart from `tokens` (which signs and checks them) so that the memo of checked tokens
//! can hold claims without reaching back into the signer.

use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Role {
    User,
    ApiKey,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Claims {
    pub sub: String,
    pub role: Role,
    pub iat: i64,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub exp: Option<i64>,
    /// The session row (user tokens) or key row (API keys) that keeps the token alive.
    pub jti: String,
}
