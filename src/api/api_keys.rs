//! Routes 12–13: the user's API key.

use poem_openapi::{
    ApiResponse, OpenApi,
    param::{Header, Path},
    payload::Json,
};

use super::outcomes::*;
use super::{ApiTags, error::ApiError, idempotency::idempotent, models::*, own_active_user, security::UserSession};
use crate::{
    services::{
        api_keys,
        events::{self, EventKind},
    },
    state::AppState,
};

pub struct ApiKeysApi {
    pub state: AppState,
}

#[derive(ApiResponse)]
pub enum ApiKeyCreated {
    /// The new key; the previous one no longer works.
    #[oai(status = 201)]
    Created(Json<ApiKeyEnvelope>),
}

/// What each route of this area can answer besides its success (`super::outcomes`).
#[rustfmt::skip]
pub const STATUSES: Statuses = &[
    ("apiKeysGet", &[SERVER, DATABASE, LIMITED, CREDENTIALS, ACTIVE, NOT_YOURS]),
    ("apiKeysReset", &[SERVER, DATABASE, LIMITED, CREDENTIALS, ACTIVE, NOT_YOURS, IDEMPOTENCY]),
];

#[OpenApi(tag = "ApiTags::ApiKey")]
impl ApiKeysApi {
    /// View
    ///
    /// The caller's API key, made on the first view; later views show the same token.
    /// Send it as `Authorization: Bearer clara_api_…` to every route marked UT|AK and to MCP.
    #[oai(path = "/users/:user_id/api_key", method = "get", operation_id = "apiKeysGet")]
    async fn get(
        &self,
        session: UserSession,
        /// The caller's user id.
        user_id: Path<String>,
    ) -> Result<Json<ApiKeyEnvelope>, ApiError> {
        let user = own_active_user(&session.0.user, &user_id.0)?;
        let issued = api_keys::view(&self.state, user).await?;
        Ok(Json(ApiKeyEnvelope::new(ApiKey::new(&issued.key, issued.token), "API key fetched successfully.")))
    }

    /// Reset
    ///
    /// Replaces the caller's API key. The old token stops working at once.
    ///
    /// Safe to retry with an `Idempotency-Key`: a repeat is answered from the first
    /// request, marked `Idempotent-Replayed: true`.
    #[oai(path = "/users/:user_id/api_key", method = "post", operation_id = "apiKeysReset", transform = "idempotent")]
    async fn reset(
        &self,
        req: &poem::Request,
        session: UserSession,
        /// The caller's user id.
        user_id: Path<String>,
        /// 1–255 visible ASCII characters that make retries safe: the first request with a
        /// key runs, and a retry with the same key and body within 24 hours gets the same
        /// answer, with `Idempotent-Replayed: true`, and does nothing again. The same key with
        /// another body: 422 `idempotency_key_reused`; while the first still runs: 409
        /// `idempotency_key_in_use`.
        #[oai(name = "Idempotency-Key", validator(min_length = 1, max_length = 255, pattern = r"^[\x21-\x7E]+$"))]
        _idempotency_key: Header<Option<String>>,
    ) -> Result<ApiKeyCreated, ApiError> {
        let user = own_active_user(&session.0.user, &user_id.0)?;
        let issued = api_keys::reset(&self.state, user).await?;
        events::record(&self.state, EventKind::ApiKeyReset, Some(&user.id), &super::auth::origin(req), None).await;
        Ok(ApiKeyCreated::Created(Json(ApiKeyEnvelope::new(
            ApiKey::new(&issued.key, issued.token),
            "API key reset successfully.",
        ))))
    }
}
