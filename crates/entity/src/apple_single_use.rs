use sea_orm::entity::prelude::*;

/// A Sign in with Apple value that is good once: a nonce this server issued
/// (`nonce:<sha256 hex of the nonce>`, deleted when used) or an identity token already used
/// (`token:<sha256 hex of the token>`, kept until the token expires).
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "apple_single_use")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: String,
    /// Unix seconds.
    pub expires_at: i64,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
