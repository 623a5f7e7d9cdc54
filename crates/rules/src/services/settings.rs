//! Server-wide values kept in the database.

use entity::settings;
use sea_orm::{ConnectionTrait, EntityTrait, Set};

use super::ServiceResult;

/// Returns the stored value for `key`, storing `make()` first when there is none.
/// Safe when several processes start at once: the first insert wins, all read it back.
pub async fn get_or_insert(
    db: &impl ConnectionTrait,
    key: &str,
    make: impl FnOnce() -> String,
) -> ServiceResult<String> {
    if let Some(row) = settings::Entity::find_by_id(key.to_string()).one(db).await? {
        return Ok(row.value);
    }
    settings::Entity::insert(settings::ActiveModel { key: Set(key.to_string()), value: Set(make()) })
        .on_conflict_do_nothing_on([settings::Column::Key])
        .exec(db)
        .await?;
    let row = settings::Entity::find_by_id(key.to_string())
        .one(db)
        .await?
        .ok_or_else(|| super::ServiceError::invariant("a setting just written is there"))?;
    Ok(row.value)
}
