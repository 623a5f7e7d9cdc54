use sea_orm_migration::{prelude::*, schema::*};

use crate::shape::unique_index;

use crate::m20261123_000001_create_users::Users;

#[derive(DeriveMigrationName)]
pub struct Migration;

#[derive(DeriveIden)]
enum StripeColumns {
    StripeCustomerId,
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .alter_table(
                Table::alter().table(Users::Table).add_column(string_null(StripeColumns::StripeCustomerId)).to_owned(),
            )
            .await?;
        // Unique, so two users can never share one Stripe customer (NULLs do not collide).
        manager
            .create_index(unique_index("uq_users_stripe_customer_id", Users::Table, [StripeColumns::StripeCustomerId]))
            .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager.drop_index(Index::drop().name("uq_users_stripe_customer_id").table(Users::Table).to_owned()).await?;
        manager
            .alter_table(Table::alter().table(Users::Table).drop_column(StripeColumns::StripeCustomerId).to_owned())
            .await
    }
}
