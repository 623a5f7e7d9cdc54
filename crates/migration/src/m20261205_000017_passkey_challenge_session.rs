use sea_orm_migration::{prelude::*, schema::*};

#[derive(DeriveMigrationName)]
pub struct Migration;

#[derive(DeriveIden)]
enum PasskeyChallenges {
    Table,
    /// The session that gave the fresh proof and started a registration: only that session
    /// may finish it. Null for a sign-in (and for registrations started before this column,
    /// which therefore can no longer be finished).
    SessionId,
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .alter_table(
                Table::alter()
                    .table(PasskeyChallenges::Table)
                    .add_column(string_null(PasskeyChallenges::SessionId))
                    .to_owned(),
            )
            .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .alter_table(
                Table::alter().table(PasskeyChallenges::Table).drop_column(PasskeyChallenges::SessionId).to_owned(),
            )
            .await
    }
}
