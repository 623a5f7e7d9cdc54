use sea_orm_migration::{prelude::*, schema::*};

use crate::shape::index;

/// Sign in with Apple's single-use values: the nonces this server issued (until used or
/// expired) and the identity tokens already used (until they expire). In the database, not
/// in memory, so that every server process sees them.
#[derive(DeriveMigrationName)]
pub struct Migration;

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .create_table(
                Table::create()
                    .table(AppleSingleUse::Table)
                    .if_not_exists()
                    // `nonce:<sha256 hex>` or `token:<sha256 hex>`: the primary key decides which
                    // of racing uses wins.
                    .col(string(AppleSingleUse::Id).primary_key())
                    .col(big_integer(AppleSingleUse::ExpiresAt))
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(index("ix_apple_single_use_expires_at", AppleSingleUse::Table, [AppleSingleUse::ExpiresAt]))
            .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager.drop_table(Table::drop().table(AppleSingleUse::Table).to_owned()).await
    }
}

#[derive(DeriveIden)]
enum AppleSingleUse {
    Table,
    Id,
    ExpiresAt,
}
