use sea_orm_migration::{prelude::*, schema::*};

use crate::m20261123_000001_create_users::Users;

#[derive(DeriveMigrationName)]
pub struct Migration;

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .create_table(
                Table::create()
                    .table(Passkeys::Table)
                    .if_not_exists()
                    .col(string(Passkeys::Id).primary_key())
                    .col(string(Passkeys::UserId))
                    // base64url of the credential id; one account per credential.
                    .col(string_uniq(Passkeys::CredentialId))
                    .col(string(Passkeys::Name))
                    // The webauthn-rs `Passkey`, serialized as JSON (public key, counter, flags).
                    .col(text(Passkeys::Credential))
                    .col(big_integer(Passkeys::CreatedAt))
                    .col(big_integer_null(Passkeys::LastUsedAt))
                    .foreign_key(
                        ForeignKey::create()
                            .name("fk_passkeys_user")
                            .from(Passkeys::Table, Passkeys::UserId)
                            .to(Users::Table, Users::Id)
                            .on_delete(ForeignKeyAction::Cascade),
                    )
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create().name("ix_passkeys_user_id").table(Passkeys::Table).col(Passkeys::UserId).to_owned(),
            )
            .await?;
        // A started ceremony: the webauthn-rs state kept server-side until it is finished
        // (single use: finishing deletes the row) or expires.
        manager
            .create_table(
                Table::create()
                    .table(PasskeyChallenges::Table)
                    .if_not_exists()
                    .col(string(PasskeyChallenges::Id).primary_key())
                    // `registration` or `authentication`.
                    .col(string(PasskeyChallenges::Kind))
                    // The registering user; null for a sign-in.
                    .col(string_null(PasskeyChallenges::UserId))
                    .col(text(PasskeyChallenges::State))
                    .col(big_integer(PasskeyChallenges::CreatedAt))
                    .col(big_integer(PasskeyChallenges::ExpiresAt))
                    .foreign_key(
                        ForeignKey::create()
                            .name("fk_passkey_challenges_user")
                            .from(PasskeyChallenges::Table, PasskeyChallenges::UserId)
                            .to(Users::Table, Users::Id)
                            .on_delete(ForeignKeyAction::Cascade),
                    )
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("ix_passkey_challenges_expires_at")
                    .table(PasskeyChallenges::Table)
                    .col(PasskeyChallenges::ExpiresAt)
                    .to_owned(),
            )
            .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager.drop_table(Table::drop().table(PasskeyChallenges::Table).to_owned()).await?;
        manager.drop_table(Table::drop().table(Passkeys::Table).to_owned()).await
    }
}

#[derive(DeriveIden)]
enum Passkeys {
    Table,
    Id,
    UserId,
    CredentialId,
    Name,
    Credential,
    CreatedAt,
    LastUsedAt,
}

#[derive(DeriveIden)]
enum PasskeyChallenges {
    Table,
    Id,
    Kind,
    UserId,
    State,
    CreatedAt,
    ExpiresAt,
}
