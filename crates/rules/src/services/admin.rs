//! What operators do with the admin key: list users, set a balance, delete an account.

use entity::{tasks, users};
use sea_orm::{ColumnTrait, ConnectionTrait, EntityTrait, QueryFilter, QueryOrder, QuerySelect};

use super::{
    Resource, ServiceError, ServiceResult,
    ledger::{self, Movement},
    users::find_user,
};
use crate::{domain::format_decimal, state::Core};

/// A page of all users, newest first, and how many there are.
pub async fn list_users<C: ConnectionTrait>(
    db: &C,
    limit: u64,
    offset: u64,
) -> ServiceResult<(Vec<users::Model>, u64)> {
    let newest_first = users::Entity::find().order_by_desc(users::Column::CreatedAt).order_by_desc(users::Column::Id);
    super::page(db, newest_first, limit, offset).await
}

/// A page of every analysis (or one account's), newest first, and how many match.
pub async fn list_tasks<C: ConnectionTrait>(
    db: &C,
    user_id: Option<&str>,
    limit: u64,
    offset: u64,
) -> ServiceResult<(Vec<tasks::Model>, u64)> {
    let mut newest_first = tasks::Entity::find().order_by_desc(tasks::Column::Seq);
    if let Some(user_id) = user_id {
        newest_first = newest_first.filter(tasks::Column::UserId.eq(user_id));
    }
    super::page(db, newest_first, limit, offset).await
}

/// Sets the balance to `credits` (hundredths) through the ledger: one CREDIT or DEBIT for
/// the difference, valued at the first band's rate. No change writes nothing. Returns the
/// user and the balance that was replaced.
pub async fn set_credits(state: &Core, user_id: &str, credits: i64) -> ServiceResult<(users::Model, i64)> {
    if credits < 0 {
        return Err(ServiceError::InvalidInput("credits"));
    }
    // A compare-and-set: if another movement lands between the read and the write, read
    // again, so the description always names the balance that was really replaced.
    for _ in 0..10 {
        let user = find_user(state, user_id).await?;
        if user.credits == credits {
            let previous = user.credits;
            return Ok((user, previous));
        }
        let difference = credits - user.credits;
        let movement = Movement {
            user_id: user.id.clone(),
            credits: difference,
            fiat_cents: state.config.billing.credit_bands.first().cents_for(difference.abs()),
            description: format!(
                "Admin updated credits from {} to {}.",
                format_decimal(user.credits),
                format_decimal(credits)
            ),
            stripe_session_id: None,
            expected_balance: Some(user.credits),
        };
        match ledger::move_credits(&state.db, &state.clock, movement).await {
            Ok(_) => {
                state.auth_cache.forget(user_id).await;
                return Ok((find_user(state, user_id).await?, user.credits));
            }
            Err(ServiceError::BalanceChanged) => continue,
            Err(err) => return Err(err),
        }
    }
    Err(ServiceError::invariant("a balance settles within the retries"))
}

/// Deletes the account and everything that belongs to it: the rows through the
/// cascading foreign keys, then the files of its unfinished analyses.
pub async fn delete_user(state: &Core, user_id: &str) -> ServiceResult<()> {
    state.auth_cache.publish(user_id).await?;
    let task_ids: Vec<String> = tasks::Entity::find()
        .filter(tasks::Column::UserId.eq(user_id))
        .select_only()
        .column(tasks::Column::Id)
        .into_tuple()
        .all(&state.db)
        .await?;
    let result = users::Entity::delete_by_id(user_id).exec(&state.db).await?;
    if result.rows_affected == 0 {
        return Err(ServiceError::NotFound(Resource::User));
    }
    state.auth_cache.forget(user_id).await;
    for task_id in task_ids {
        let _ = tokio::fs::remove_dir_all(super::tasks::task_dir(state, &task_id)).await;
    }
    tracing::info!(%user_id, "account deleted by an operator");
    Ok(())
}
