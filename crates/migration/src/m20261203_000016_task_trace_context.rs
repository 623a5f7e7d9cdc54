use sea_orm_migration::{prelude::*, schema::*};

#[derive(DeriveMigrationName)]
pub struct Migration;

#[derive(DeriveIden)]
enum Tasks {
    Table,
    /// The W3C trace context (`traceparent`, `tracestate`) of the request that queued the
    /// task, as JSON, when traces were on; the task's run links to it. Never on the wire.
    TraceContext,
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        // Nullable, so rows queued before this migration (or with traces off) need nothing.
        manager
            .alter_table(Table::alter().table(Tasks::Table).add_column(text_null(Tasks::TraceContext)).to_owned())
            .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager.alter_table(Table::alter().table(Tasks::Table).drop_column(Tasks::TraceContext).to_owned()).await
    }
}
