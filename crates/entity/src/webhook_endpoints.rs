use sea_orm::entity::prelude::*;

/// A URL of the user's back end that hears about their analyses and credits.
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "webhook_endpoints")]
pub struct Model {
    #[sea_orm(primary_key)]
    pub seq: i64,
    /// `whk_<32 hex>`.
    #[sea_orm(unique)]
    pub id: String,
    pub user_id: String,
    #[sea_orm(column_type = "Text")]
    pub url: String,
    /// JSON list of the event types sent to it.
    #[sea_orm(column_type = "Text")]
    pub events: String,
    #[sea_orm(column_type = "Text", nullable)]
    pub description: Option<String>,
    pub enabled: bool,
    /// The signing secret's 32 bytes, sealed (AES-256-GCM, nonce first).
    pub secret: Vec<u8>,
    /// The secret before the last rotation, sealed; it still signs until `previous_secret_until`.
    pub previous_secret: Option<Vec<u8>>,
    /// Unix microseconds.
    pub previous_secret_until: Option<i64>,
    /// Unix microseconds.
    pub created_at: i64,
    pub updated_at: i64,
}

belongs_to_user!();
