use sea_orm_migration::{prelude::*, schema::*};

#[derive(DeriveMigrationName)]
pub struct Migration;

#[derive(DeriveIden)]
enum Tasks {
    Table,
    /// JSON list of what the agent did, in order: `[{kind, detail, at}]`.
    Steps,
    /// Tokens the model provider counted for the task: what it read, what it wrote.
    PromptTokens,
    CompletionTokens,
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        // One column per statement: SQLite adds a single column per ALTER TABLE.
        let columns = [
            text(Tasks::Steps).default("[]").to_owned(),
            big_integer(Tasks::PromptTokens).default(0).to_owned(),
            big_integer(Tasks::CompletionTokens).default(0).to_owned(),
        ];
        for mut column in columns {
            manager.alter_table(Table::alter().table(Tasks::Table).add_column(&mut column).to_owned()).await?;
        }
        Ok(())
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        for column in [Tasks::CompletionTokens, Tasks::PromptTokens, Tasks::Steps] {
            manager.alter_table(Table::alter().table(Tasks::Table).drop_column(column).to_owned()).await?;
        }
        Ok(())
    }
}
