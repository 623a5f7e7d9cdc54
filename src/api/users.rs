//! Routes 10–11: the user's own account; routes 28 and 31, deleting an account (an
//! operator with the admin key, or the user with an e-mailed code).

use poem::Request;
use poem_openapi::{ApiResponse, OpenApi, param::Path, payload::Json, types::MaybeUndefined};

use super::outcomes::*;
use super::{
    ApiTags,
    auth::origin,
    body::{JsonBody, OptionalJsonBody},
    error::ApiError,
    middleware::ClientAddr,
    models::*,
    own_user,
    security::{AdminOrSession, Caller, UserSession},
};
use crate::{
    domain::PersonName,
    services::{
        accounts::{self, ProfileChanges},
        admin,
        events::{self, EventKind},
        throttle::{self, Attempt},
    },
    state::AppState,
};

#[derive(ApiResponse)]
pub enum Deleted {
    /// The account and everything of it are gone.
    #[oai(status = 204)]
    NoContent,
}

pub struct UsersApi {
    pub state: AppState,
}

type Result<T> = std::result::Result<T, ApiError>;

fn name(raw: &str) -> Result<PersonName> {
    PersonName::parse(raw).map_err(|_| ApiError::invalid_parameters())
}

// Tagged per operation: Delete is an admin operation on the same path.
/// What each route of this area can answer besides its success (`super::outcomes`).
#[rustfmt::skip]
pub const STATUSES: Statuses = &[
    ("usersGet", &[SERVER, DATABASE, LIMITED, CREDENTIALS, NOT_YOURS]),
    // NO_USER: the account was deleted between the credential check and the write.
    ("usersUpdate", &[SERVER, DATABASE, LIMITED, JSON_BODY, CREDENTIALS, NOT_YOURS, NO_USER]),
    ("usersDelete", &[SERVER, DATABASE, LIMITED, JSON_BODY, CREDENTIALS, NOT_YOURS, &[(404, ErrorCode::UserNotFound)]]),
];

#[OpenApi]
impl UsersApi {
    /// View
    ///
    /// The caller's account, with a user token or an API key. Works before activation.
    #[oai(path = "/users/:user_id", method = "get", operation_id = "usersGet", tag = "ApiTags::User")]
    async fn get(
        &self,
        caller: Caller,
        /// The caller's user id.
        user_id: Path<String>,
    ) -> Result<Json<UserEnvelope>> {
        let user = own_user(&caller.0, &user_id.0)?;
        Ok(Json(UserEnvelope::new(User::from(user), "User fetched successfully.")))
    }

    /// Update
    ///
    /// Changes the names or the dark-mode preference; fields left out stay as they are.
    /// Works before activation.
    #[oai(path = "/users/:user_id", method = "patch", operation_id = "usersUpdate", tag = "ApiTags::User")]
    async fn update(
        &self,
        session: UserSession,
        /// The caller's user id.
        user_id: Path<String>,
        body: JsonBody<UpdateUserRequest>,
    ) -> Result<Json<UserEnvelope>> {
        let user = own_user(&session.0.user, &user_id.0)?;
        let req = body.0;
        let changes = ProfileChanges {
            first_name: match req.first_name {
                MaybeUndefined::Undefined => None,
                MaybeUndefined::Null => return Err(ApiError::invalid_parameters()),
                MaybeUndefined::Value(first) => Some(name(&first.0)?),
            },
            last_name: match req.last_name {
                MaybeUndefined::Undefined => None,
                MaybeUndefined::Null => Some(None),
                MaybeUndefined::Value(last) => Some(Some(name(&last.0)?)),
            },
            is_dark_mode: match req.is_dark_mode {
                MaybeUndefined::Undefined => None,
                MaybeUndefined::Null => return Err(ApiError::invalid_parameters()),
                MaybeUndefined::Value(dark) => Some(dark),
            },
        };
        let user = accounts::update_profile(&self.state, user, changes).await?;
        Ok(Json(UserEnvelope::new(User::from(&user), "User updated successfully.")))
    }

    /// Delete account
    ///
    /// Deletes the account with everything of it (sessions, codes, transactions, API
    /// key, tasks and their files), in one transaction. With the admin key: any account.
    /// With a user token: the caller's own, with a `DELETE_ACCOUNT` code from Send OTP.
    // Here rather than in AdminApi: poem-openapi keeps one path item per path, so a
    // second struct with this path would hide View and Update from the spec.
    #[oai(path = "/users/:user_id", method = "delete", operation_id = "usersDelete", tag = "ApiTags::User")]
    async fn delete(
        &self,
        req: &Request,
        auth: AdminOrSession,
        /// The account's user id.
        user_id: Path<String>,
        /// With a user token: `{"code": "<DELETE_ACCOUNT code>"}`. Not needed with the admin key.
        body: OptionalJsonBody<CodeRequest>,
    ) -> Result<Deleted> {
        match auth {
            AdminOrSession::Admin(_) => {
                admin::delete_user(&self.state, &user_id.0).await?;
                events::record(&self.state, EventKind::AdminAccountDeleted, Some(&user_id.0), &origin(req), None).await;
            }
            AdminOrSession::Session(UserSession(session)) => {
                let user = own_user(&session.user, &user_id.0)?;
                let code = body.0.ok_or_else(ApiError::invalid_parameters)?.code.0;
                let attempt = accounts::delete_own_account(&self.state, user, &code);
                let address = req.extensions().get::<ClientAddr>().and_then(|c| c.0);
                throttle::guarded(&self.state, Attempt::Code, &user.email, address, true, attempt).await?;
                events::record(&self.state, EventKind::AccountDeleted, Some(&user.id), &origin(req), None).await;
            }
        }
        Ok(Deleted::NoContent)
    }
}
