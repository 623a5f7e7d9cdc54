//! Routes 10–11: the user's own account; and route 28, an operator deleting an account.

use poem_openapi::{ApiResponse, OpenApi, param::Path, payload::Json, types::MaybeUndefined};

use super::{
    ApiTags,
    body::JsonBody,
    error::ApiError,
    models::*,
    own_user,
    security::{AdminKey, Caller, UserSession},
};
use crate::{
    domain::PersonName,
    services::{
        accounts::{self, ProfileChanges},
        admin,
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
        let user = own_user(&caller.user, &user_id.0)?;
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

    /// Delete user
    ///
    /// Deletes the account with its sessions, codes and transactions.
    // Here rather than in AdminApi: poem-openapi keeps one path item per path, so a
    // second struct with this path would hide View and Update from the spec.
    #[oai(path = "/users/:user_id", method = "delete", operation_id = "usersDelete", tag = "ApiTags::Admin")]
    async fn delete(&self, _admin: AdminKey, user_id: Path<String>) -> Result<Deleted> {
        admin::delete_user(&self.state, &user_id.0).await?;
        Ok(Deleted::NoContent)
    }
}
