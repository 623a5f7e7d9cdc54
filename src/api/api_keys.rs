//! Routes 12–13: the user's API key.

use poem_openapi::{ApiResponse, OpenApi, param::Path, payload::Json};

use super::{ApiTags, error::ApiError, models::*, own_active_user, security::UserSession};
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
    #[oai(path = "/users/:user_id/api_key", method = "post", operation_id = "apiKeysReset")]
    async fn reset(
        &self,
        req: &poem::Request,
        session: UserSession,
        /// The caller's user id.
        user_id: Path<String>,
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
