use sea_orm_migration::{prelude::*, schema::*};

use crate::shape::unique_index;

#[derive(DeriveMigrationName)]
pub struct Migration;

#[derive(DeriveIden)]
enum SecurityEvents {
    Table,
    /// How many times the event happened in its row's window (1 for a single event).
    Count,
    /// Unix microseconds of the last repeat; NULL until the event repeats.
    LastAt,
    /// Set on repeatable events (failed or locked logins): kind, account or address, and
    /// window. Unique, so repeats add to one row instead of writing new ones.
    AggregateKey,
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        // One column per statement: SQLite adds a single column per ALTER TABLE.
        let columns = [
            integer(SecurityEvents::Count).default(1).to_owned(),
            big_integer_null(SecurityEvents::LastAt),
            string_null(SecurityEvents::AggregateKey),
        ];
        for mut column in columns {
            manager.alter_table(Table::alter().table(SecurityEvents::Table).add_column(&mut column).to_owned()).await?;
        }
        manager
            .create_index(unique_index(
                "uq_security_events_aggregate_key",
                SecurityEvents::Table,
                [SecurityEvents::AggregateKey],
            ))
            .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .drop_index(Index::drop().name("uq_security_events_aggregate_key").table(SecurityEvents::Table).to_owned())
            .await?;
        for column in [SecurityEvents::AggregateKey, SecurityEvents::LastAt, SecurityEvents::Count] {
            manager.alter_table(Table::alter().table(SecurityEvents::Table).drop_column(column).to_owned()).await?;
        }
        Ok(())
    }
}
