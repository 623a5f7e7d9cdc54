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
                    .foreign_key(&mut cascade(
                        "fk_passkeys_user",
                        (Passkeys::Table, Passkeys::UserId),
                        (Users::Table, Users::Id),
                    ))
                    .to_owned(),
            )
            .await?;
        manager.create_index(index("ix_passkeys_user_id", Passkeys::Table, [Passkeys::UserId])).await?;
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
                    .foreign_key(&mut cascade(
                        "fk_passkey_challenges_user",
                        (PasskeyChallenges::Table, PasskeyChallenges::UserId),
                        (Users::Table, Users::Id),
                    ))
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(index(
                "ix_passkey_challenges_expires_at",
                PasskeyChallenges::Table,
                [PasskeyChallenges::ExpiresAt],
            ))
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
