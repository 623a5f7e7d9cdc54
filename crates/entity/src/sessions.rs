use sea_orm::entity::prelude::*;

#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "sessions")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: String,
    pub user_id: String,
    /// Unix microseconds.
    pub created_at: i64,
    /// Unix seconds, the same instant as the token's `exp`.
    pub expires_at: i64,
    /// The `User-Agent` the session was made with (at most 256 characters).
    pub user_agent: Option<String>,
    /// The client address the session was made from.
    pub ip_address: Option<String>,
    /// Unix microseconds; moved on at most once a minute while the session is used.
    pub last_used_at: i64,
}

belongs_to_user!();
