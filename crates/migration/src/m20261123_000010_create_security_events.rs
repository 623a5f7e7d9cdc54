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
                    .table(SecurityEvents::Table)
                    .if_not_exists()
                    .col(big_pk_auto(SecurityEvents::Seq))
                    .col(string_uniq(SecurityEvents::Id))
                    // No foreign key: the trail outlives a deleted account.
                    .col(string_null(SecurityEvents::UserId))
                    .col(string(SecurityEvents::Kind))
                    .col(string_null(SecurityEvents::ClientAddress))
                    .col(string_null(SecurityEvents::UserAgent))
                    .col(string_null(SecurityEvents::Detail))
                    .col(big_integer(SecurityEvents::CreatedAt))
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(index(
                "idx_security_events_user_seq",
                SecurityEvents::Table,
                [SecurityEvents::UserId, SecurityEvents::Seq],
            ))
            .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager.drop_table(Table::drop().table(SecurityEvents::Table).to_owned()).await
    }
}

#[derive(DeriveIden)]
enum SecurityEvents {
    Table,
    Seq,
    Id,
    UserId,
    Kind,
    ClientAddress,
    UserAgent,
    Detail,
    CreatedAt,
}
