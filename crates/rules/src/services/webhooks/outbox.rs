//! The outbox: an event becomes one delivery row per subscribed endpoint, written on the
//! connection (the transaction) of the change it announces, so an event exists exactly
//! when its change committed.

use entity::{webhook_deliveries as deliveries, webhook_endpoints as endpoints};
use sea_orm::{ColumnTrait, ConnectionTrait, EntityTrait, QueryFilter, Set};
use serde_json::{Value, json};

use super::{PENDING, events_of};
use crate::{
    domain::{IdPrefix, new_id},
    services::ServiceResult,
};

/// The user's enabled endpoints that take `event_type` (usually none: one indexed read).
pub async fn subscribers<C: ConnectionTrait>(
    db: &C,
    user_id: &str,
    event_type: &str,
) -> ServiceResult<Vec<endpoints::Model>> {
    let all = endpoints::Entity::find()
        .filter(endpoints::Column::UserId.eq(user_id))
        .filter(endpoints::Column::Enabled.eq(true))
        .all(db)
        .await?;
    Ok(all.into_iter().filter(|e| events_of(e).iter().any(|t| t == event_type)).collect())
}

/// RFC 3339 in UTC, e.g. `2025-11-27T00:10:11.123456Z`.
fn rfc3339(micros: i64) -> String {
    let time = ::time::OffsetDateTime::from_unix_timestamp_nanos(i128::from(micros) * 1_000)
        .unwrap_or(::time::OffsetDateTime::UNIX_EPOCH);
    time.format(&::time::format_description::well_known::Rfc3339).unwrap_or_default()
}

/// Writes the event for each endpoint: body `{"type", "timestamp", "data"}`.
pub async fn write<C: ConnectionTrait>(
    db: &C,
    now: i64,
    subscribers: &[endpoints::Model],
    event_type: &str,
    data: Value,
) -> ServiceResult<()> {
    if subscribers.is_empty() {
        return Ok(());
    }
    let body = json!({"type": event_type, "timestamp": rfc3339(now), "data": data}).to_string();
    let trace_context = crate::trace_context::current_context();
    let rows = subscribers.iter().map(|endpoint| deliveries::ActiveModel {
        id: Set(new_id(IdPrefix::WebhookMessage)),
        endpoint_id: Set(endpoint.id.clone()),
        event_type: Set(event_type.to_string()),
        payload: Set(body.clone()),
        status: Set(PENDING.into()),
        attempts: Set(0),
        next_attempt_at: Set(Some(now)),
        claim_id: Set(None),
        last_status_code: Set(None),
        last_error: Set(None),
        trace_context: Set(trace_context.clone()),
        created_at: Set(now),
        updated_at: Set(now),
        ..Default::default()
    });
    deliveries::Entity::insert_many(rows).exec_without_returning(db).await?;
    Ok(())
}

/// `task.completed` / `task.failed`, with the task as the API shows it, read on `db`
/// after the status change.
pub async fn task_finished<C: ConnectionTrait>(
    db: &C,
    now: i64,
    user_id: &str,
    task_id: &str,
    event_type: &str,
) -> ServiceResult<()> {
    let subscribers = subscribers(db, user_id, event_type).await?;
    if subscribers.is_empty() {
        return Ok(());
    }
    let task = crate::services::tasks::find(db, user_id, task_id).await?;
    let data = serde_json::to_value(crate::views::task(&task)).unwrap_or_default();
    write(db, now, &subscribers, event_type, data).await
}

/// `credits.changed`: the Transaction and the balance after it.
pub async fn credits_changed<C: ConnectionTrait>(
    db: &C,
    now: i64,
    transaction: &entity::transactions::Model,
    balance: i64,
) -> ServiceResult<()> {
    let subscribers = subscribers(db, &transaction.user_id, super::CREDITS_CHANGED).await?;
    if subscribers.is_empty() {
        return Ok(());
    }
    let transaction = serde_json::to_value(crate::views::transaction(transaction)).unwrap_or_default();
    let credits = crate::domain::hundredths_to_number(balance);
    write(db, now, &subscribers, super::CREDITS_CHANGED, json!({"transaction": transaction, "credits": credits})).await
}
