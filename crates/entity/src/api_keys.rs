use sea_orm::entity::prelude::*;

/// A user's current API key. The row holds no secret: the token is the JWT signed over
/// this row's id with the server secret, so it can be re-derived but not forged.
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "api_keys")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: String,
    #[sea_orm(unique)]
    pub user_id: String,
    /// Unix microseconds.
    pub created_at: i64,
    pub updated_at: i64,
}

belongs_to_user!();
