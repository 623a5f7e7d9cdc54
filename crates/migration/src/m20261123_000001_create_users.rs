use sea_orm_migration::{prelude::*, schema::*};

use crate::shape::index;

#[derive(DeriveMigrationName)]
pub struct Migration;

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .create_table(
                Table::create()
                    .table(Users::Table)
                    .if_not_exists()
                    .col(string(Users::Id).primary_key())
                    .col(string_uniq(Users::Email))
                    .col(string_null(Users::PasswordHash))
                    .col(string(Users::FirstName))
                    .col(string_null(Users::LastName))
                    .col(big_integer(Users::Credits).default(0))
                    .col(boolean(Users::IsActive).default(false))
                    .col(boolean(Users::Is2faEnabled).default(false))
                    .col(boolean(Users::IsDarkMode).default(true))
                    .col(string_null(Users::TotpSecret))
                    .col(string_null(Users::TotpPendingSecret))
                    .col(big_integer_null(Users::TotpLastStep))
                    .col(big_integer(Users::CreatedAt))
                    .col(big_integer(Users::UpdatedAt))
                    .check(Expr::col(Users::Credits).gte(0))
                    .to_owned(),
            )
            .await?;
        manager.create_index(index("idx_users_created_at", Users::Table, [Users::CreatedAt])).await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager.drop_table(Table::drop().table(Users::Table).to_owned()).await
    }
}

#[derive(DeriveIden)]
pub enum Users {
    Table,
    Id,
    Email,
    PasswordHash,
    FirstName,
    LastName,
    Credits,
    IsActive,
    #[sea_orm(iden = "is_2fa_enabled")]
    Is2faEnabled,
    IsDarkMode,
    TotpSecret,
    TotpPendingSecret,
    TotpLastStep,
    CreatedAt,
    UpdatedAt,
}
