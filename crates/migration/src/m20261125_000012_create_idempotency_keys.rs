use sea_orm_migration::{prelude::*, schema::*};

use crate::shape::{index, unique_index};

#[derive(DeriveMigrationName)]
pub struct Migration;

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .create_table(
                Table::create()
                    .table(IdempotencyKeys::Table)
                    .if_not_exists()
                    .col(string(IdempotencyKeys::Id).primary_key())
                    .col(text(IdempotencyKeys::Scope))
                    .col(string(IdempotencyKeys::Method))
                    .col(text(IdempotencyKeys::Path))
                    .col(text(IdempotencyKeys::Key))
                    .col(string(IdempotencyKeys::State))
                    .col(string_null(IdempotencyKeys::Fingerprint))
                    .col(integer_null(IdempotencyKeys::ResponseStatus))
                    .col(blob_null(IdempotencyKeys::ResponseBody))
                    .col(text_null(IdempotencyKeys::ResponseHeaders))
                    .col(big_integer(IdempotencyKeys::CreatedAt))
                    .col(big_integer(IdempotencyKeys::ExpiresAt))
                    .to_owned(),
            )
            .await?;
        // Claiming a key is an INSERT: this index decides which of racing requests runs.
        manager
            .create_index(unique_index(
                "uq_idempotency_keys_scope_method_path_key",
                IdempotencyKeys::Table,
                [IdempotencyKeys::Scope, IdempotencyKeys::Method, IdempotencyKeys::Path, IdempotencyKeys::Key],
            ))
            .await?;
        manager
            .create_index(index("ix_idempotency_keys_expires_at", IdempotencyKeys::Table, [IdempotencyKeys::ExpiresAt]))
            .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager.drop_table(Table::drop().table(IdempotencyKeys::Table).to_owned()).await
    }
}

#[derive(DeriveIden)]
enum IdempotencyKeys {
    Table,
    Id,
    Scope,
    Method,
    Path,
    Key,
    State,
    Fingerprint,
    ResponseStatus,
    ResponseBody,
    ResponseHeaders,
    CreatedAt,
    ExpiresAt,
}
