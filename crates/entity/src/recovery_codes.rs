use sea_orm::entity::prelude::*;

/// A single-use 2FA recovery code, stored as a keyed hash.
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "recovery_codes")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: String,
    pub user_id: String,
    /// HMAC-SHA256 of the code under the server secret, hex.
    pub code_hash: String,
    /// Unix microseconds; set when the code is spent.
    pub used_at: Option<i64>,
    pub created_at: i64,
}

belongs_to_user!();
