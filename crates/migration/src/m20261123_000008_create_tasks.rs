use sea_orm_migration::{prelude::*, schema::*};

use crate::shape::{cascade, index};

use crate::m20261123_000001_create_users::Users;

#[derive(DeriveMigrationName)]
pub struct Migration;

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .create_table(
                Table::create()
                    .table(Tasks::Table)
                    .if_not_exists()
                    .col(big_pk_auto(Tasks::Seq))
                    .col(string_uniq(Tasks::Id))
                    .col(string(Tasks::UserId))
                    .col(string(Tasks::Status))
                    .col(text_null(Tasks::Input))
                    .col(text(Tasks::Attachments))
                    .col(text_null(Tasks::Result))
                    .col(text_null(Tasks::Error))
                    .col(big_integer(Tasks::CreditsUsed))
                    .col(integer(Tasks::Attempts).default(0))
                    .col(string_null(Tasks::ClaimId))
                    .col(big_integer_null(Tasks::ClaimedAt))
                    .col(big_integer(Tasks::CreatedAt))
                    .col(big_integer(Tasks::UpdatedAt))
                    .check(Expr::col(Tasks::Status).is_in(["PENDING", "RUNNING", "COMPLETED", "FAILED"]))
                    .foreign_key(&mut cascade(
                        "fk_tasks_user",
                        (Tasks::Table, Tasks::UserId),
                        (Users::Table, Users::Id),
                    ))
                    .to_owned(),
            )
            .await?;
        manager.create_index(index("idx_tasks_user_seq", Tasks::Table, [Tasks::UserId, Tasks::Seq])).await?;
        // The worker's queue scan.
        manager.create_index(index("idx_tasks_status_seq", Tasks::Table, [Tasks::Status, Tasks::Seq])).await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager.drop_table(Table::drop().table(Tasks::Table).to_owned()).await
    }
}

#[derive(DeriveIden)]
enum Tasks {
    Table,
    Seq,
    Id,
    UserId,
    Status,
    Input,
    Attachments,
    Result,
    Error,
    CreditsUsed,
    Attempts,
    ClaimId,
    ClaimedAt,
    CreatedAt,
    UpdatedAt,
}
