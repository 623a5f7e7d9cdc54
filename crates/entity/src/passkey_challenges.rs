use sea_orm::entity::prelude::*;

/// A started passkey ceremony (registration or sign-in): the webauthn-rs state, kept
/// server-side until it is finished (the row is deleted: single use) or expires.
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "passkey_challenges")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: String,
    /// `registration` or `authentication`.
    pub kind: String,
    /// The registering user; None for a sign-in.
    pub user_id: Option<String>,
    /// The webauthn-rs `PasskeyRegistration` / `DiscoverableAuthentication`, as JSON.
    #[sea_orm(column_type = "Text")]
    pub state: String,
    /// Unix microseconds.
    pub created_at: i64,
    /// Unix seconds.
    pub expires_at: i64,
    /// For a registration, the session that gave the fresh proof and started it: only it
    /// may finish the registration. None for a sign-in.
    pub session_id: Option<String>,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
