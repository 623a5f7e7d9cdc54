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
                    .table(Transactions::Table)
                    .if_not_exists()
                    // Insertion order, for "newest first" among rows of the same second.
                    .col(big_pk_auto(Transactions::Seq))
                    .col(string_uniq(Transactions::Id))
                    .col(string(Transactions::UserId))
                    .col(string(Transactions::Kind))
                    .col(string(Transactions::Description))
                    .col(big_integer(Transactions::ValueInCredits))
                    .col(big_integer(Transactions::ValueInFiat))
                    // The Checkout Session a purchase settles: unique, so a session credits once.
                    .col(string_null(Transactions::StripeSessionId).unique_key())
                    .col(big_integer(Transactions::CreatedAt))
                    .col(big_integer(Transactions::UpdatedAt))
                    .check(Expr::col(Transactions::ValueInCredits).gt(0))
                    .check(Expr::col(Transactions::ValueInFiat).gte(0))
                    .check(Expr::col(Transactions::Kind).is_in(["CREDIT", "DEBIT"]))
                    .foreign_key(&mut cascade(
                        "fk_transactions_user",
                        (Transactions::Table, Transactions::UserId),
                        (Users::Table, Users::Id),
                    ))
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(index(
                "idx_transactions_user_seq",
                Transactions::Table,
                [Transactions::UserId, Transactions::Seq],
            ))
            .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager.drop_table(Table::drop().table(Transactions::Table).to_owned()).await
    }
}

#[derive(DeriveIden)]
pub enum Transactions {
    Table,
    Seq,
    Id,
    UserId,
    Kind,
    Description,
    ValueInCredits,
    ValueInFiat,
    StripeSessionId,
    CreatedAt,
    UpdatedAt,
}
