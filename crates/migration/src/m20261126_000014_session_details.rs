use sea_orm_migration::{prelude::*, schema::*};

#[derive(DeriveMigrationName)]
pub struct Migration;

#[derive(DeriveIden)]
enum Sessions {
    Table,
    CreatedAt,
    /// The `User-Agent` the session was made with (capped), if any.
    UserAgent,
    /// The client address the session was made from, if known.
    IpAddress,
    /// Unix microseconds; moved on at most once a minute while the session is used.
    LastUsedAt,
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        // One column per statement: SQLite adds a single column per ALTER TABLE.
        let columns = [
            text_null(Sessions::UserAgent).to_owned(),
            string_null(Sessions::IpAddress).to_owned(),
            big_integer(Sessions::LastUsedAt).default(0).to_owned(),
        ];
        for mut column in columns {
            manager.alter_table(Table::alter().table(Sessions::Table).add_column(&mut column).to_owned()).await?;
        }
        // A session made before this migration was last seen, as far as we know, when made.
        manager
            .exec_stmt(
                Query::update()
                    .table(Sessions::Table)
                    .value(Sessions::LastUsedAt, Expr::col(Sessions::CreatedAt))
                    .to_owned(),
            )
            .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        for column in [Sessions::LastUsedAt, Sessions::IpAddress, Sessions::UserAgent] {
            manager.alter_table(Table::alter().table(Sessions::Table).drop_column(column).to_owned()).await?;
        }
        Ok(())
    }
}
