//! API keys: one current key per user, shown as a signed token derived from its row.

use entity::{api_keys, users};
use sea_orm::{
    ActiveModelTrait, ColumnTrait, ConnectionTrait, EntityTrait, QueryFilter, Set, SqlErr, TransactionTrait,
};

use super::{ServiceError, ServiceResult};
use crate::{
    domain::{IdPrefix, new_id},
    state::Core,
};

/// A key row with its token.
pub struct IssuedKey {
    pub key: api_keys::Model,
    pub token: String,
}

fn issued(state: &Core, key: api_keys::Model) -> IssuedKey {
    let token = state.tokens.api_key_token(&key.user_id, &key.id, key.created_at.div_euclid(1_000_000));
    IssuedKey { key, token }
}

fn new_row(state: &Core, user_id: &str) -> api_keys::ActiveModel {
    let now = state.clock.now_micros();
    api_keys::ActiveModel {
        id: Set(new_id(IdPrefix::ApiKey)),
        user_id: Set(user_id.to_string()),
        created_at: Set(now),
        updated_at: Set(now),
    }
}

async fn current(state: &Core, user_id: &str) -> ServiceResult<Option<api_keys::Model>> {
    Ok(api_keys::Entity::find().filter(api_keys::Column::UserId.eq(user_id)).one(&state.db).await?)
}

/// The user's key, made on first view. Two first views at once get the same key: the
/// unique user id lets one insert win and the other reads it.
pub async fn view(state: &Core, user: &users::Model) -> ServiceResult<IssuedKey> {
    if let Some(key) = current(state, &user.id).await? {
        return Ok(issued(state, key));
    }
    match new_row(state, &user.id).insert(&state.db).await {
        Ok(key) => Ok(issued(state, key)),
        Err(err) if matches!(err.sql_err(), Some(SqlErr::UniqueConstraintViolation(_))) => {
            let key =
                current(state, &user.id).await?.ok_or(ServiceError::invariant("an API key just made is there"))?;
            Ok(issued(state, key))
        }
        Err(err) => Err(err.into()),
    }
}

/// Deletes the user's key, in the caller's transaction, where whoever held a credential
/// of the account may have read it (a password change, ending the other sessions, an
/// activation): its token is refused once the caller has committed and told the
/// authentication cache (`forget`); the next View makes a new key.
pub async fn revoke(db: &impl ConnectionTrait, user_id: &str) -> ServiceResult<()> {
    api_keys::Entity::delete_many().filter(api_keys::Column::UserId.eq(user_id)).exec(db).await?;
    Ok(())
}

/// Replaces the user's key; the old token stops working at once.
pub async fn reset(state: &Core, user: &users::Model) -> ServiceResult<IssuedKey> {
    let txn = state.db.begin().await?;
    revoke(&txn, &user.id).await?;
    let key = new_row(state, &user.id).insert(&txn).await?;
    txn.commit().await?;
    state.auth_cache.forget(&user.id).await;
    tracing::info!(user_id = %user.id, key_id = %key.id, "API key reset");
    Ok(issued(state, key))
}
