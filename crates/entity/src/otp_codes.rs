use sea_orm::entity::prelude::*;

/// One live code per user and type: the pair is unique, a new code replaces the old row.
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "otp_codes")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: String,
    pub user_id: String,
    pub otp_type: String,
    /// HMAC-SHA256 of the code under the server secret, hex.
    pub code_hash: String,
    pub failed_attempts: i32,
    /// Unix seconds.
    pub expires_at: i64,
    /// Unix microseconds.
    pub created_at: i64,
}

belongs_to_user!();
