//! Outgoing webhooks: a user's endpoints (this file), the outbox written with each change
//! (`outbox`), the signature (`signing`), and the delivery loop (`delivery`).

pub mod outbox;
pub mod signing;
pub mod target;

use entity::{webhook_deliveries as deliveries, webhook_endpoints as endpoints};
use sea_orm::{
    ActiveModelTrait, ColumnTrait, EntityTrait, PaginatorTrait, QueryFilter, QueryOrder, Set, TransactionTrait,
    sea_query::Expr,
};

use super::{Resource, ServiceError, ServiceResult};
use crate::{
    domain::{IdPrefix, new_id},
    state::Core,
};

/// Seconds before each retry when `WEBHOOK_RETRY_SCHEDULE` is not set: 5 s, 5 min, 30 min,
/// 2 h, 5 h, 10 h, 10 h (then the delivery is `failed`).
pub const DEFAULT_RETRY_SCHEDULE: [u64; 7] = [5, 300, 1_800, 7_200, 18_000, 36_000, 36_000];
/// Endpoints one user may have.
pub const MAX_ENDPOINTS: u64 = 10;
/// How long the secret before a rotation still signs.
pub const ROTATION_OVERLAP_MICROS: i64 = 24 * 3_600 * 1_000_000;

pub const TASK_COMPLETED: &str = "task.completed";
pub const TASK_FAILED: &str = "task.failed";
pub const CREDITS_CHANGED: &str = "credits.changed";
pub const EVENT_TYPES: [&str; 3] = [TASK_COMPLETED, TASK_FAILED, CREDITS_CHANGED];

pub const PENDING: &str = "pending";
pub const DELIVERED: &str = "delivered";
pub const FAILED: &str = "failed";

/// An endpoint as created, with its secret (shown this once).
pub struct Created {
    pub endpoint: endpoints::Model,
    pub secret: String,
}

/// The event types an endpoint receives.
pub fn events_of(endpoint: &endpoints::Model) -> Vec<String> {
    serde_json::from_str(&endpoint.events).unwrap_or_default()
}

fn sealing_key(state: &Core, endpoint_id: &str) -> [u8; 32] {
    state.tokens.derived_key("webhook-secret", &[endpoint_id])
}

fn seal(state: &Core, endpoint_id: &str, secret: &[u8; 32]) -> ServiceResult<Vec<u8>> {
    super::sealed::seal(&sealing_key(state, endpoint_id), secret)
        .ok_or_else(|| ServiceError::invariant("sealing a webhook secret"))
}

/// The secrets that sign now: the current one, and the previous one within its overlap.
pub fn signing_keys(state: &Core, endpoint: &endpoints::Model) -> Vec<Vec<u8>> {
    let key = sealing_key(state, &endpoint.id);
    let mut keys = vec![];
    keys.extend(super::sealed::open(&key, &endpoint.secret));
    let now = state.clock.now_micros();
    if let (Some(previous), Some(until)) = (&endpoint.previous_secret, endpoint.previous_secret_until)
        && until > now
    {
        keys.extend(super::sealed::open(&key, previous));
    }
    keys
}

/// Checks the event list: known types, no repeats; None means all.
fn clean_events(events: Option<Vec<String>>) -> ServiceResult<Vec<String>> {
    let Some(events) = events else { return Ok(EVENT_TYPES.iter().map(|e| e.to_string()).collect()) };
    let mut out: Vec<String> = vec![];
    for event in events {
        if !EVENT_TYPES.contains(&event.as_str()) {
            return Err(ServiceError::InvalidInput("events"));
        }
        if !out.contains(&event) {
            out.push(event);
        }
    }
    if out.is_empty() {
        return Err(ServiceError::InvalidInput("events"));
    }
    Ok(out)
}

pub async fn create(
    state: &Core,
    user_id: &str,
    url: &str,
    events: Option<Vec<String>>,
    description: Option<String>,
) -> ServiceResult<Created> {
    target::check_url(state, url)?;
    let events = clean_events(events)?;
    if description.as_deref().is_some_and(|d| d.chars().count() > 500) {
        return Err(ServiceError::InvalidInput("description"));
    }
    let id = new_id(IdPrefix::Webhook);
    let secret = signing::new_secret();
    let now = state.clock.now_micros();
    let txn = state.db.begin().await?;
    // Creates for one account take turns, so the count below sees every earlier one.
    super::lock_account(&txn, user_id).await?;
    let count = endpoints::Entity::find().filter(endpoints::Column::UserId.eq(user_id)).count(&txn).await?;
    if count >= MAX_ENDPOINTS {
        return Err(ServiceError::WebhookLimit);
    }
    let endpoint = endpoints::ActiveModel {
        id: Set(id.clone()),
        user_id: Set(user_id.to_string()),
        url: Set(url.to_string()),
        events: Set(serde_json::to_string(&events).unwrap_or_else(|_| "[]".into())),
        description: Set(description),
        enabled: Set(true),
        secret: Set(seal(state, &id, &secret)?),
        previous_secret: Set(None),
        previous_secret_until: Set(None),
        created_at: Set(now),
        updated_at: Set(now),
        ..Default::default()
    }
    .insert(&txn)
    .await?;
    txn.commit().await?;
    Ok(Created { endpoint, secret: signing::encode_secret(&secret) })
}

pub async fn list(state: &Core, user_id: &str) -> ServiceResult<Vec<endpoints::Model>> {
    Ok(endpoints::Entity::find()
        .filter(endpoints::Column::UserId.eq(user_id))
        .order_by_asc(endpoints::Column::Seq)
        .all(&state.db)
        .await?)
}

pub async fn find(state: &Core, user_id: &str, endpoint_id: &str) -> ServiceResult<endpoints::Model> {
    endpoints::Entity::find()
        .filter(endpoints::Column::Id.eq(endpoint_id))
        .filter(endpoints::Column::UserId.eq(user_id))
        .one(&state.db)
        .await?
        .ok_or(ServiceError::NotFound(Resource::Webhook))
}

/// Deletes the endpoint and its delivery log (the foreign key cascades).
pub async fn delete(state: &Core, user_id: &str, endpoint_id: &str) -> ServiceResult<()> {
    let deleted = endpoints::Entity::delete_many()
        .filter(endpoints::Column::Id.eq(endpoint_id))
        .filter(endpoints::Column::UserId.eq(user_id))
        .exec(&state.db)
        .await?;
    if deleted.rows_affected == 0 {
        return Err(ServiceError::NotFound(Resource::Webhook));
    }
    Ok(())
}

/// A new secret; the current one keeps signing, as a second signature, for 24 hours.
pub async fn rotate(state: &Core, user_id: &str, endpoint_id: &str) -> ServiceResult<Created> {
    let endpoint = find(state, user_id, endpoint_id).await?;
    let secret = signing::new_secret();
    let now = state.clock.now_micros();
    endpoints::Entity::update_many()
        .col_expr(endpoints::Column::Secret, Expr::value(seal(state, &endpoint.id, &secret)?))
        .col_expr(endpoints::Column::PreviousSecret, Expr::value(Some(endpoint.secret.clone())))
        .col_expr(endpoints::Column::PreviousSecretUntil, Expr::value(Some(now + ROTATION_OVERLAP_MICROS)))
        .col_expr(endpoints::Column::UpdatedAt, Expr::value(now))
        .filter(endpoints::Column::Id.eq(endpoint.id.as_str()))
        .exec(&state.db)
        .await?;
    Ok(Created { endpoint: find(state, user_id, endpoint_id).await?, secret: signing::encode_secret(&secret) })
}

/// A page of the endpoint's deliveries, newest first, and how many it has.
pub async fn deliveries(
    state: &Core,
    user_id: &str,
    endpoint_id: &str,
    limit: u64,
    offset: u64,
) -> ServiceResult<(Vec<deliveries::Model>, u64)> {
    let endpoint = find(state, user_id, endpoint_id).await?;
    let newest_first = deliveries::Entity::find()
        .filter(deliveries::Column::EndpointId.eq(endpoint.id.as_str()))
        .order_by_desc(deliveries::Column::Seq);
    super::page(&state.db, newest_first, limit, offset).await
}

/// Makes the delivery due now (again, if it was delivered or failed). One already being
/// attempted is left to that attempt.
pub async fn retry(state: &Core, user_id: &str, endpoint_id: &str, delivery_id: &str) -> ServiceResult<()> {
    let endpoint = find(state, user_id, endpoint_id).await?;
    let delivery = deliveries::Entity::find()
        .filter(deliveries::Column::Id.eq(delivery_id))
        .filter(deliveries::Column::EndpointId.eq(endpoint.id.as_str()))
        .one(&state.db)
        .await?
        .ok_or(ServiceError::NotFound(Resource::WebhookDelivery))?;
    let now = state.clock.now_micros();
    deliveries::Entity::update_many()
        .col_expr(deliveries::Column::Status, Expr::value(PENDING))
        .col_expr(deliveries::Column::NextAttemptAt, Expr::value(Some(now)))
        .col_expr(deliveries::Column::UpdatedAt, Expr::value(now))
        .filter(deliveries::Column::Id.eq(delivery.id.as_str()))
        .filter(deliveries::Column::ClaimId.is_null())
        .exec(&state.db)
        .await?;
    Ok(())
}
