//! Routes 26–28: operators, with the admin key.

use poem_openapi::{
    ApiResponse, OpenApi,
    param::{Path, Query},
    payload::Json,
};

use poem::Request;

use super::outcomes::*;
use super::{
    ApiTags,
    auth::origin,
    body::JsonBody,
    error::ApiError,
    models::*,
    paging::{Limit, Offset},
    security::AdminKey,
};
use crate::{
    services::{
        admin,
        events::{self, EventKind},
    },
    state::AppState,
};

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

#[derive(ApiResponse)]
pub enum SecurityEventPage {
    /// A page of events, newest first.
    #[oai(status = 200)]
    Ok(
        Json<SecurityEventListEnvelope>,
        /// How many events match in all.
        #[oai(header = "X-Total-Count")]
        u64,
    ),
}

#[derive(ApiResponse)]
pub enum AdminTaskPage {
    /// A page of analyses, newest first.
    #[oai(status = 200)]
    Ok(
        Json<AdminTaskListEnvelope>,
        /// How many analyses match in all.
        #[oai(header = "X-Total-Count")]
        u64,
    ),
}

/// What each route of this area can answer besides its success (`super::outcomes`).
#[rustfmt::skip]
pub const STATUSES: Statuses = &[
    ("adminUsersList", &[SERVER, DATABASE, LIMITED, PARAMS, CREDENTIALS]),
    ("adminUsersSetCredits", &[SERVER, DATABASE, LIMITED, JSON_BODY, CREDENTIALS, &[(404, ErrorCode::UserNotFound)]]),
    ("adminSecurityEventsList", &[SERVER, DATABASE, LIMITED, PARAMS, CREDENTIALS]),
    ("adminTasksList", &[SERVER, DATABASE, LIMITED, PARAMS, CREDENTIALS]),
];

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
        #[oai(default)]
        limit: Query<Limit>,
        /// Rows to skip (newest first).
        #[oai(default)]
        offset: Query<Offset>,
    ) -> Result<UserPage, ApiError> {
        let (rows, total) = admin::list_users(&self.state.db, limit.0.0, offset.0.0).await?;
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
        req: &Request,
        _admin: AdminKey,
        /// The account's user id.
        user_id: Path<String>,
        body: JsonBody<SetCreditsRequest>,
    ) -> Result<Json<UserEnvelope>, ApiError> {
        let (user, before) = admin::set_credits(&self.state, &user_id.0, body.0.credits.0).await?;
        let detail = format!(
            "from {} to {}",
            crate::domain::format_decimal(before),
            crate::domain::format_decimal(user.credits)
        );
        events::record(&self.state, EventKind::AdminCreditsChanged, Some(&user.id), &origin(req), Some(detail)).await;
        Ok(Json(UserEnvelope::new(User::from(&user), "User credits updated successfully.")))
    }

    /// Security events
    ///
    /// The security trail, newest first: logins (succeeded, failed, locked), password and
    /// 2FA changes, recovery codes, API key resets, deletions and admin actions, with the
    /// client's address and user agent. `user_id` narrows it to one account.
    #[oai(path = "/security_events", method = "get", operation_id = "adminSecurityEventsList")]
    async fn security_events(
        &self,
        _admin: AdminKey,
        /// Only this account's events.
        user_id: Query<Option<String>>,
        /// Page size, 1 to 100.
        #[oai(default)]
        limit: Query<Limit>,
        /// Rows to skip (newest first).
        #[oai(default)]
        offset: Query<Offset>,
    ) -> Result<SecurityEventPage, ApiError> {
        let (rows, total) = events::list(&self.state.db, user_id.0.as_deref(), limit.0.0, offset.0.0).await?;
        let data = rows.iter().map(SecurityEvent::from).collect();
        Ok(SecurityEventPage::Ok(
            Json(SecurityEventListEnvelope::new(data, "Security events fetched successfully.")),
            total,
        ))
    }

    /// List analyses
    ///
    /// Every analysis, newest first, with what it cost at the model provider (tokens read
    /// and written, summed over its calls) and how many steps the agent took. `user_id`
    /// narrows it to one account.
    #[oai(path = "/tasks", method = "get", operation_id = "adminTasksList")]
    async fn tasks(
        &self,
        _admin: AdminKey,
        /// Only this account's analyses.
        user_id: Query<Option<String>>,
        /// Page size, 1 to 100.
        #[oai(default)]
        limit: Query<Limit>,
        /// Rows to skip (newest first).
        #[oai(default)]
        offset: Query<Offset>,
    ) -> Result<AdminTaskPage, ApiError> {
        let (rows, total) = admin::list_tasks(&self.state.db, user_id.0.as_deref(), limit.0.0, offset.0.0).await?;
        let data = rows.iter().map(AdminTask::from).collect();
        Ok(AdminTaskPage::Ok(Json(AdminTaskListEnvelope::new(data, "Tasks fetched successfully.")), total))
    }
}
