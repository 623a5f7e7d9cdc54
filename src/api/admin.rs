//! Routes 26–28: operators, with the admin key.

use poem_openapi::{
    ApiResponse, OpenApi,
    param::{Path, Query},
    payload::Json,
};

use super::{ApiTags, body::JsonBody, default_limit, error::ApiError, models::*, security::AdminKey};
use crate::{services::admin, state::AppState};

pub struct AdminApi {
    pub state: AppState,
}

#[derive(ApiResponse)]
pub enum UserPage {
    /// A page of users, newest first.
    #[oai(status = 200)]
    Ok(
        Json<UserListEnvelope>,
        /// How many users there are in all.
        #[oai(header = "X-Total-Count")]
        u64,
    ),
}

#[OpenApi(tag = "ApiTags::Admin")]
impl AdminApi {
    /// List users
    ///
    /// Every account, newest first.
    #[oai(path = "/users", method = "get", operation_id = "adminUsersList")]
    async fn list(
        &self,
        _admin: AdminKey,
        /// Page size, 1 to 100.
        #[oai(default = "default_limit", validator(minimum(value = "1"), maximum(value = "100")))]
        limit: Query<u64>,
        /// Rows to skip (newest first).
        #[oai(default, validator(maximum(value = "9007199254740991")))]
        offset: Query<u64>,
    ) -> Result<UserPage, ApiError> {
        let (rows, total) = admin::list_users(&self.state.db, limit.0, offset.0).await?;
        let data = rows.iter().map(User::from).collect();
        Ok(UserPage::Ok(Json(UserListEnvelope::new(data, "Users fetched successfully.")), total))
    }

    /// Set credits
    ///
    /// Sets the user's balance. The change is written as one CREDIT or DEBIT transaction
    /// (`Admin updated credits from X to Y.`), valued at the first band's rate.
    #[oai(path = "/users/:user_id/credits", method = "put", operation_id = "adminUsersSetCredits")]
    async fn set_credits(
        &self,
        _admin: AdminKey,
        user_id: Path<String>,
        body: JsonBody<SetCreditsRequest>,
    ) -> Result<Json<UserEnvelope>, ApiError> {
        let user = admin::set_credits(&self.state, &user_id.0, body.0.credits.0).await?;
        Ok(Json(UserEnvelope::new(User::from(&user), "User credits updated successfully.")))
    }
}
