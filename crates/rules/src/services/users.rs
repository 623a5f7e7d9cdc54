//! Looking a user up by id, for the use cases that act on an account named in a path or a row.

use entity::users;
use sea_orm::EntityTrait;

use super::{Resource, ServiceError, ServiceResult};
use crate::state::Core;

pub async fn find_user(state: &Core, user_id: &str) -> ServiceResult<users::Model> {
    users::Entity::find_by_id(user_id.to_string()).one(&state.db).await?.ok_or(ServiceError::NotFound(Resource::User))
}
