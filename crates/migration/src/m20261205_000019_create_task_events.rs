use sea_orm_migration::{prelude::*, schema::*};

use crate::shape::{cascade, unique_index};

#[derive(DeriveMigrationName)]
pub struct Migration;

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .create_table(
                Table::create()
                    .table(TaskEvents::Table)
                    .if_not_exists()
                    // Commit order across all tasks, for the cross-instance wake-up poll.
                    .col(big_pk_auto(TaskEvents::Seq))
                    .col(string(TaskEvents::TaskId))
                    // 1, 2, 3, … per task: the stream's event ids.
                    .col(big_integer(TaskEvents::Number))
                    // `step` or `status`.
                    .col(string(TaskEvents::Kind))
                    // The event's `data:` as sent, JSON.
                    .col(text(TaskEvents::Data))
                    .col(big_integer(TaskEvents::CreatedAt))
                    .foreign_key(&mut cascade(
                        "fk_task_events_task",
                        (TaskEvents::Table, TaskEvents::TaskId),
                        (Tasks::Table, Tasks::Id),
                    ))
                    .to_owned(),
            )
            .await?;
        // Two writers can never give one task the same number: the second insert fails.
        manager
            .create_index(unique_index(
                "idx_task_events_task_number",
                TaskEvents::Table,
                [TaskEvents::TaskId, TaskEvents::Number],
            ))
            .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager.drop_table(Table::drop().table(TaskEvents::Table).to_owned()).await
    }
}

#[derive(DeriveIden)]
enum TaskEvents {
    Table,
    Seq,
    TaskId,
    Number,
    Kind,
    Data,
    CreatedAt,
}

#[derive(DeriveIden)]
enum Tasks {
    Table,
    Id,
}
