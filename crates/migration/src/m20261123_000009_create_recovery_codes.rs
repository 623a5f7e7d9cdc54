use sea_orm_migration::{prelude::*, schema::*};

use crate::shape::{cascade, unique_index};

use crate::m20261123_000001_create_users::Users;

#[derive(DeriveMigrationName)]
pub struct Migration;

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .create_table(
                Table::create()
                    .table(RecoveryCodes::Table)
                    .if_not_exists()
                    .col(string(RecoveryCodes::Id).primary_key())
                    .col(string(RecoveryCodes::UserId))
                    .col(string(RecoveryCodes::CodeHash))
                    .col(big_integer_null(RecoveryCodes::UsedAt))
                    .col(big_integer(RecoveryCodes::CreatedAt))
                    .foreign_key(&mut cascade(
                        "fk_recovery_codes_user",
                        (RecoveryCodes::Table, RecoveryCodes::UserId),
                        (Users::Table, Users::Id),
                    ))
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(unique_index(
                "uq_recovery_codes_user_hash",
                RecoveryCodes::Table,
                [RecoveryCodes::UserId, RecoveryCodes::CodeHash],
            ))
            .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager.drop_table(Table::drop().table(RecoveryCodes::Table).to_owned()).await
    }
}

#[derive(DeriveIden)]
enum RecoveryCodes {
    Table,
    Id,
    UserId,
    CodeHash,
    UsedAt,
    CreatedAt,
}
