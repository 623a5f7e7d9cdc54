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
                    .table(OtpCodes::Table)
                    .if_not_exists()
                    .col(string(OtpCodes::Id).primary_key())
                    .col(string(OtpCodes::UserId))
                    .col(string(OtpCodes::OtpType))
                    .col(string(OtpCodes::CodeHash))
                    .col(integer(OtpCodes::FailedAttempts).default(0))
                    .col(big_integer(OtpCodes::ExpiresAt))
                    .col(big_integer(OtpCodes::CreatedAt))
                    .foreign_key(&mut cascade(
                        "fk_otp_codes_user",
                        (OtpCodes::Table, OtpCodes::UserId),
                        (Users::Table, Users::Id),
                    ))
                    .to_owned(),
            )
            .await?;
        // One live code per user and type.
        manager
            .create_index(unique_index(
                "uq_otp_codes_user_type",
                OtpCodes::Table,
                [OtpCodes::UserId, OtpCodes::OtpType],
            ))
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
