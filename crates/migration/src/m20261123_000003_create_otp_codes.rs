use sea_orm_migration::{prelude::*, schema::*};

use crate::m20261123_000001_create_users::Users;

#[derive(DeriveMigrationName)]
pub struct Migration;

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .create_table(
                Table::create()
                    .table(OtpCodes::Table)
                    .if_not_exists()
                    .col(string(OtpCodes::Id).primary_key())
                    .col(string(OtpCodes::UserId))
                    .col(string(OtpCodes::OtpType))
                    .col(string(OtpCodes::CodeHash))
                    .col(integer(OtpCodes::FailedAttempts).default(0))
                    .col(big_integer(OtpCodes::ExpiresAt))
                    .col(big_integer(OtpCodes::CreatedAt))
                    .foreign_key(
                        ForeignKey::create()
                            .name("fk_otp_codes_user")
                            .from(OtpCodes::Table, OtpCodes::UserId)
                            .to(Users::Table, Users::Id)
                            .on_delete(ForeignKeyAction::Cascade),
                    )
                    .to_owned(),
            )
            .await?;
        // One live code per user and type.
        manager
            .create_index(
                Index::create()
                    .name("uq_otp_codes_user_type")
                    .table(OtpCodes::Table)
                    .col(OtpCodes::UserId)
                    .col(OtpCodes::OtpType)
                    .unique()
                    .to_owned(),
            )
            .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager.drop_table(Table::drop().table(OtpCodes::Table).to_owned()).await
    }
}

#[derive(DeriveIden)]
enum OtpCodes {
    Table,
    Id,
    UserId,
    OtpType,
    CodeHash,
    FailedAttempts,
    ExpiresAt,
    CreatedAt,
}
