//! The caller's webhook endpoints and their delivery logs.

use entity::{webhook_deliveries as delivery_rows, webhook_endpoints as endpoint_rows};
use poem_openapi::{
    ApiResponse, Enum, Object, OpenApi,
    param::{Path, Query},
    payload::Json,
};

use super::models::envelope;
use super::outcomes::*;
use super::{
    ApiTags,
    body::JsonBody,
    error::ApiError,
    models::NullEnvelope,
    own_active_user,
    paging::{Limit, Offset},
    security::UserSession,
};
use crate::{domain::http_date, services::webhooks, state::AppState};

pub struct WebhooksApi {
    pub state: AppState,
}

/// A new endpoint: where events go, which of them, and a note.
#[derive(Debug, Clone, Object)]
#[oai(deny_unknown_fields, example)]
pub struct WebhookCreateRequest {
    /// Where events are POSTed: https, to a public address.
    pub url: String,
    /// `task.completed`, `task.failed`, `credits.changed`; all of them when left out.
    pub events: Option<Vec<String>>,
    /// A note for people, up to 500 characters.
    pub description: Option<String>,
}

impl poem_openapi::types::Example for WebhookCreateRequest {
    fn example() -> Self {
        Self {
            url: "https://api.example.com/clara/events".into(),
            events: Some(vec![webhooks::TASK_COMPLETED.into(), webhooks::TASK_FAILED.into()]),
            description: Some("Our analysis pipeline".into()),
        }
    }
}

/// An endpoint of the caller's back end that hears about their analyses and credits.
#[derive(Debug, Clone, Object)]
pub struct WebhookEndpoint {
    /// `whk_<32 hex>`.
    pub id: String,
    pub url: String,
    pub events: Vec<String>,
    #[oai(nullable)]
    pub description: Option<String>,
    pub enabled: bool,
    /// HTTP date.
    pub created_at: String,
}

/// An endpoint with its signing secret, shown only when created or rotated.
#[derive(Debug, Clone, Object)]
pub struct WebhookEndpointWithSecret {
    #[oai(flatten)]
    pub endpoint: WebhookEndpoint,
    /// `whsec_` + base64 of 32 random bytes: verify each delivery's `webhook-signature` with
    /// it (Standard Webhooks). Shown only here.
    pub secret: String,
}

#[derive(Debug, Clone, Copy, Enum)]
#[oai(rename_all = "lowercase")]
pub enum WebhookDeliveryStatus {
    Pending,
    Delivered,
    Failed,
}

/// One event for the endpoint and how its delivery went.
#[derive(Debug, Clone, Object)]
pub struct WebhookDelivery {
    /// `msg_<32 hex>`: the `webhook-id` header of every attempt.
    pub id: String,
    pub event_type: String,
    pub status: WebhookDeliveryStatus,
    /// Attempts made so far.
    #[oai(validator(minimum(value = "0")))]
    pub attempts: i32,
    /// The receiver's HTTP status at the last attempt, if it answered.
    #[oai(nullable, validator(minimum(value = "100"), maximum(value = "599")))]
    pub last_status_code: Option<i32>,
    #[oai(nullable)]
    pub last_error: Option<String>,
    /// HTTP date of the next attempt, while pending.
    #[oai(nullable)]
    pub next_attempt_at: Option<String>,
    /// HTTP date.
    pub created_at: String,
}

fn endpoint(row: &endpoint_rows::Model) -> WebhookEndpoint {
    WebhookEndpoint {
        id: row.id.clone(),
        url: row.url.clone(),
        events: webhooks::events_of(row),
        description: row.description.clone(),
        enabled: row.enabled,
        created_at: http_date(row.created_at),
    }
}

fn with_secret(created: webhooks::Created) -> WebhookEndpointWithSecret {
    WebhookEndpointWithSecret { endpoint: endpoint(&created.endpoint), secret: created.secret }
}

fn delivery(row: &delivery_rows::Model) -> WebhookDelivery {
    WebhookDelivery {
        id: row.id.clone(),
        event_type: row.event_type.clone(),
        status: match row.status.as_str() {
            webhooks::DELIVERED => WebhookDeliveryStatus::Delivered,
            webhooks::FAILED => WebhookDeliveryStatus::Failed,
            _ => WebhookDeliveryStatus::Pending,
        },
        attempts: row.attempts,
        last_status_code: row.last_status_code,
        last_error: row.last_error.clone(),
        next_attempt_at: (row.status == webhooks::PENDING).then_some(row.next_attempt_at).flatten().map(http_date),
        created_at: http_date(row.created_at),
    }
}

envelope!(
    /// Success envelope around an endpoint with its secret.
    WebhookSecretEnvelope, WebhookEndpointWithSecret);
envelope!(
    /// Success envelope around the caller's endpoints.
    WebhookListEnvelope, Vec<WebhookEndpoint>);
envelope!(
    /// Success envelope around a page of deliveries.
    WebhookDeliveryListEnvelope, Vec<WebhookDelivery>);

#[derive(ApiResponse)]
pub enum WebhookCreated {
    #[oai(status = 201)]
    Created(Json<WebhookSecretEnvelope>),
}

#[derive(ApiResponse)]
pub enum WebhookDeleted {
    /// Deleted, with its delivery log; nothing more is sent to it.
    #[oai(status = 204)]
    NoContent,
}

#[derive(ApiResponse)]
pub enum DeliveryPage {
    /// A page of deliveries, newest first.
    #[oai(status = 200)]
    Ok(
        Json<WebhookDeliveryListEnvelope>,
        /// How many deliveries the endpoint has in all.
        #[oai(header = "X-Total-Count")]
        u64,
    ),
}

#[derive(ApiResponse)]
pub enum RetryAccepted {
    /// Due now; the log shows how it went.
    #[oai(status = 202)]
    Accepted(Json<NullEnvelope>),
}

/// What each route of this area can answer besides its success (`super::outcomes`).
#[rustfmt::skip]
pub const STATUSES: Statuses = &[
    ("webhooksCreate", &[SERVER, DATABASE, LIMITED, JSON_BODY, CREDENTIALS, ACTIVE, NOT_YOURS, WEBHOOK_URL, WEBHOOK_LIMIT]),
    ("webhooksList", &[SERVER, DATABASE, LIMITED, CREDENTIALS, ACTIVE, NOT_YOURS]),
    ("webhooksDelete", &[SERVER, DATABASE, LIMITED, CREDENTIALS, ACTIVE, NOT_YOURS, NO_WEBHOOK]),
    ("webhooksRotate", &[SERVER, DATABASE, LIMITED, CREDENTIALS, ACTIVE, NOT_YOURS, NO_WEBHOOK]),
    ("webhooksDeliveries", &[SERVER, DATABASE, LIMITED, PARAMS, CREDENTIALS, ACTIVE, NOT_YOURS, NO_WEBHOOK]),
    ("webhooksRetry", &[SERVER, DATABASE, LIMITED, CREDENTIALS, ACTIVE, NOT_YOURS, NO_WEBHOOK, NO_DELIVERY]),
];

#[OpenApi(tag = "ApiTags::Webhook")]
impl WebhooksApi {
    /// Create webhook endpoint
    ///
    /// Registers a URL that receives `task.completed`, `task.failed` and `credits.changed`
    /// events (or those in `events`), each a signed POST (Standard Webhooks). The answer holds
    /// the signing `secret`, shown only here. At most 10 endpoints: 409
    /// `webhook_limit_reached`. A URL that is not https or not a public address: 400
    /// `invalid_webhook_url`.
    #[oai(path = "/users/:user_id/webhooks", method = "post", operation_id = "webhooksCreate")]
    async fn create(
        &self,
        session: UserSession,
        /// The caller's user id.
        user_id: Path<String>,
        body: JsonBody<WebhookCreateRequest>,
    ) -> Result<WebhookCreated, ApiError> {
        let user = own_active_user(&session.0.user, &user_id.0)?;
        let request = body.0;
        let created =
            webhooks::create(&self.state, &user.id, &request.url, request.events, request.description).await?;
        let data = with_secret(created);
        Ok(WebhookCreated::Created(Json(WebhookSecretEnvelope::new(data, "Webhook endpoint created successfully."))))
    }

    /// View webhook endpoints
    ///
    /// The caller's endpoints, oldest first (secrets are never shown again).
    #[oai(path = "/users/:user_id/webhooks", method = "get", operation_id = "webhooksList")]
    async fn list(
        &self,
        session: UserSession,
        /// The caller's user id.
        user_id: Path<String>,
    ) -> Result<Json<WebhookListEnvelope>, ApiError> {
        let user = own_active_user(&session.0.user, &user_id.0)?;
        let rows = webhooks::list(&self.state, &user.id).await?;
        let data = rows.iter().map(endpoint).collect();
        Ok(Json(WebhookListEnvelope::new(data, "Webhook endpoints fetched successfully.")))
    }

    /// Delete webhook endpoint
    ///
    /// Deletes the endpoint and its delivery log. Another user's endpoint is 404
    /// `webhook_not_found`.
    #[oai(path = "/users/:user_id/webhooks/:webhook_id", method = "delete", operation_id = "webhooksDelete")]
    async fn delete(
        &self,
        session: UserSession,
        /// The caller's user id.
        user_id: Path<String>,
        /// `whk_…`
        webhook_id: Path<String>,
    ) -> Result<WebhookDeleted, ApiError> {
        let user = own_active_user(&session.0.user, &user_id.0)?;
        webhooks::delete(&self.state, &user.id, &webhook_id.0).await?;
        Ok(WebhookDeleted::NoContent)
    }

    /// Rotate webhook secret
    ///
    /// A new signing secret, shown only here. For 24 hours deliveries carry two signatures
    /// (space-separated in `webhook-signature`), by the new secret and the old one, so the
    /// receiver can switch without missing an event.
    #[oai(path = "/users/:user_id/webhooks/:webhook_id/rotate", method = "post", operation_id = "webhooksRotate")]
    async fn rotate(
        &self,
        session: UserSession,
        /// The caller's user id.
        user_id: Path<String>,
        /// `whk_…`
        webhook_id: Path<String>,
    ) -> Result<Json<WebhookSecretEnvelope>, ApiError> {
        let user = own_active_user(&session.0.user, &user_id.0)?;
        let rotated = webhooks::rotate(&self.state, &user.id, &webhook_id.0).await?;
        Ok(Json(WebhookSecretEnvelope::new(with_secret(rotated), "Webhook secret rotated successfully.")))
    }

    /// View webhook deliveries
    ///
    /// The endpoint's deliveries, newest first, with `X-Total-Count`: each event's message id
    /// (its `webhook-id`), status (`pending`, `delivered`, `failed`), attempts and last outcome.
    #[oai(
        path = "/users/:user_id/webhooks/:webhook_id/deliveries",
        method = "get",
        operation_id = "webhooksDeliveries"
    )]
    async fn deliveries(
        &self,
        session: UserSession,
        /// The caller's user id.
        user_id: Path<String>,
        /// `whk_…`
        webhook_id: Path<String>,
        /// Page size, 1 to 100.
        #[oai(default)]
        limit: Query<Limit>,
        /// Rows to skip (newest first).
        #[oai(default)]
        offset: Query<Offset>,
    ) -> Result<DeliveryPage, ApiError> {
        let user = own_active_user(&session.0.user, &user_id.0)?;
        let (rows, total) = webhooks::deliveries(&self.state, &user.id, &webhook_id.0, limit.0.0, offset.0.0).await?;
        let data = rows.iter().map(delivery).collect();
        Ok(DeliveryPage::Ok(
            Json(WebhookDeliveryListEnvelope::new(data, "Webhook deliveries fetched successfully.")),
            total,
        ))
    }

    /// Retry webhook delivery
    ///
    /// Makes the delivery due now, whether it is pending, delivered or failed (one being
    /// attempted at this moment is left to that attempt). It keeps its message id.
    #[oai(
        path = "/users/:user_id/webhooks/:webhook_id/deliveries/:delivery_id/retry",
        method = "post",
        operation_id = "webhooksRetry"
    )]
    async fn retry(
        &self,
        session: UserSession,
        /// The caller's user id.
        user_id: Path<String>,
        /// `whk_…`
        webhook_id: Path<String>,
        /// `msg_…`
        delivery_id: Path<String>,
    ) -> Result<RetryAccepted, ApiError> {
        let user = own_active_user(&session.0.user, &user_id.0)?;
        webhooks::retry(&self.state, &user.id, &webhook_id.0, &delivery_id.0).await?;
        Ok(RetryAccepted::Accepted(Json(NullEnvelope::new("Webhook delivery queued successfully."))))
    }
}
