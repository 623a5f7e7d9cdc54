use sea_orm_migration::{prelude::*, schema::*};

use crate::shape::{cascade, index};

#[derive(DeriveMigrationName)]
pub struct Migration;

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .create_table(
                Table::create()
                    .table(WebhookEndpoints::Table)
                    .if_not_exists()
                    .col(big_pk_auto(WebhookEndpoints::Seq))
                    .col(string_uniq(WebhookEndpoints::Id))
                    .col(string(WebhookEndpoints::UserId))
                    .col(text(WebhookEndpoints::Url))
                    // JSON list of the event types sent to it.
                    .col(text(WebhookEndpoints::Events))
                    .col(text_null(WebhookEndpoints::Description))
                    .col(boolean(WebhookEndpoints::Enabled))
                    // Sealed (AES-GCM) signing secrets: the current one and, for a day after
                    // a rotation, the one before it.
                    .col(blob(WebhookEndpoints::Secret))
                    .col(blob_null(WebhookEndpoints::PreviousSecret))
                    .col(big_integer_null(WebhookEndpoints::PreviousSecretUntil))
                    .col(big_integer(WebhookEndpoints::CreatedAt))
                    .col(big_integer(WebhookEndpoints::UpdatedAt))
                    .foreign_key(&mut cascade(
                        "fk_webhook_endpoints_user",
                        (WebhookEndpoints::Table, WebhookEndpoints::UserId),
                        (Users::Table, Users::Id),
                    ))
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(index("idx_webhook_endpoints_user", WebhookEndpoints::Table, [WebhookEndpoints::UserId]))
            .await?;
        manager
            .create_table(
                Table::create()
                    .table(WebhookDeliveries::Table)
                    .if_not_exists()
                    .col(big_pk_auto(WebhookDeliveries::Seq))
                    // `msg_…`: the `webhook-id` of every attempt.
                    .col(string_uniq(WebhookDeliveries::Id))
                    .col(string(WebhookDeliveries::EndpointId))
                    .col(string(WebhookDeliveries::EventType))
                    // The body sent, as written when the event happened.
                    .col(text(WebhookDeliveries::Payload))
                    // `pending`, `delivered` or `failed`.
                    .col(string(WebhookDeliveries::Status))
                    .col(integer(WebhookDeliveries::Attempts))
                    // When the next attempt is due; while an attempt runs, when its claim
                    // lapses. Null once delivered or failed.
                    .col(big_integer_null(WebhookDeliveries::NextAttemptAt))
                    .col(string_null(WebhookDeliveries::ClaimId))
                    .col(integer_null(WebhookDeliveries::LastStatusCode))
                    .col(text_null(WebhookDeliveries::LastError))
                    .col(text_null(WebhookDeliveries::TraceContext))
                    .col(big_integer(WebhookDeliveries::CreatedAt))
                    .col(big_integer(WebhookDeliveries::UpdatedAt))
                    .foreign_key(&mut cascade(
                        "fk_webhook_deliveries_endpoint",
                        (WebhookDeliveries::Table, WebhookDeliveries::EndpointId),
                        (WebhookEndpoints::Table, WebhookEndpoints::Id),
                    ))
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(index(
                "idx_webhook_deliveries_due",
                WebhookDeliveries::Table,
                [WebhookDeliveries::Status, WebhookDeliveries::NextAttemptAt],
            ))
            .await?;
        manager
            .create_index(index(
                "idx_webhook_deliveries_endpoint_seq",
                WebhookDeliveries::Table,
                [WebhookDeliveries::EndpointId, WebhookDeliveries::Seq],
            ))
            .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager.drop_table(Table::drop().table(WebhookDeliveries::Table).to_owned()).await?;
        manager.drop_table(Table::drop().table(WebhookEndpoints::Table).to_owned()).await
    }
}

#[derive(DeriveIden)]
enum WebhookEndpoints {
    Table,
    Seq,
    Id,
    UserId,
    Url,
    Events,
    Description,
    Enabled,
    Secret,
    PreviousSecret,
    PreviousSecretUntil,
    CreatedAt,
    UpdatedAt,
}

#[derive(DeriveIden)]
enum WebhookDeliveries {
    Table,
    Seq,
    Id,
    EndpointId,
    EventType,
    Payload,
    Status,
    Attempts,
    NextAttemptAt,
    ClaimId,
    LastStatusCode,
    LastError,
    TraceContext,
    CreatedAt,
    UpdatedAt,
}

#[derive(DeriveIden)]
enum Users {
    Table,
    Id,
}
