use sea_orm::entity::prelude::*;

/// An append-only record of something security-relevant that happened to an account.
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "security_events")]
pub struct Model {
    #[sea_orm(primary_key)]
    pub seq: i64,
    #[sea_orm(unique)]
    pub id: String,
    /// Kept after the account is deleted (no foreign key).
    pub user_id: Option<String>,
    pub kind: String,
    pub client_address: Option<String>,
    pub user_agent: Option<String>,
    pub detail: Option<String>,
    /// Unix microseconds.
    pub created_at: i64,
    /// How many times it happened in this row's window (repeatable events add up here).
    pub count: i32,
    /// Unix microseconds of the last repeat; None until it repeats.
    pub last_at: Option<i64>,
    /// Kind, account or address, and window of a repeatable event; None for the others.
    #[sea_orm(unique)]
    pub aggregate_key: Option<String>,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
