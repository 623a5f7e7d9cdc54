use sea_orm::entity::prelude::*;

/// A passkey (WebAuthn credential) a user registered for signing in.
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "passkeys")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: String,
    pub user_id: String,
    /// base64url (unpadded) of the credential id the authenticator chose.
    #[sea_orm(unique)]
    pub credential_id: String,
    pub name: String,
    /// The webauthn-rs `Passkey` as JSON: public key, signature counter, backup flags.
    #[sea_orm(column_type = "Text")]
    pub credential: String,
    /// Unix microseconds.
    pub created_at: i64,
    pub last_used_at: Option<i64>,
}

belongs_to_user!();
