use sea_orm::entity::prelude::*;

/// One movement of credits. The user's balance is always the sum of CREDITs minus DEBITs.
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "transactions")]
pub struct Model {
    /// Insertion order; lists sort on it.
    #[sea_orm(primary_key)]
    pub seq: i64,
    #[sea_orm(unique)]
    pub id: String,
    pub user_id: String,
    /// `CREDIT` or `DEBIT`.
    pub kind: String,
    pub description: String,
    /// Hundredths of a credit, always positive; `kind` gives the direction.
    pub value_in_credits: i64,
    /// US cents.
    pub value_in_fiat: i64,
    /// The Checkout Session a purchase settled; unique.
    #[sea_orm(unique)]
    pub stripe_session_id: Option<String>,
    /// Unix microseconds.
    pub created_at: i64,
    pub updated_at: i64,
}

belongs_to_user!();
