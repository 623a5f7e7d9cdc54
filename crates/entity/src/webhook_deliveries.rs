use sea_orm::entity::prelude::*;

/// One event for one endpoint: the outbox row written with the change it announces, and
/// the log of its attempts.
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "webhook_deliveries")]
pub struct Model {
    #[sea_orm(primary_key)]
    pub seq: i64,
    /// `msg_<32 hex>`: the `webhook-id` of every attempt.
    #[sea_orm(unique)]
    pub id: String,
    pub endpoint_id: String,
    pub event_type: String,
    /// The JSON body sent.
    #[sea_orm(column_type = "Text")]
    pub payload: String,
    /// `pending`, `delivered` or `failed`.
    pub status: String,
    pub attempts: i32,
    /// Unix microseconds: when the next attempt is due, or while one runs, when its claim
    /// lapses. None once delivered or failed.
    pub next_attempt_at: Option<i64>,
    /// The claim of the attempt running now.
    pub claim_id: Option<String>,
    pub last_status_code: Option<i32>,
    #[sea_orm(column_type = "Text", nullable)]
    pub last_error: Option<String>,
    /// W3C trace context of the change that wrote the event (traces on only).
    #[sea_orm(column_type = "Text", nullable)]
    pub trace_context: Option<String>,
    /// Unix microseconds.
    pub created_at: i64,
    pub updated_at: i64,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {
    #[sea_orm(
        belongs_to = "super::webhook_endpoints::Entity",
        from = "Column::EndpointId",
        to = "super::webhook_endpoints::Column::Id",
        on_delete = "Cascade"
    )]
    Endpoint,
}

impl Related<super::webhook_endpoints::Entity> for Entity {
    fn to() -> RelationDef {
        Relation::Endpoint.def()
    }
}

impl ActiveModelBehavior for ActiveModel {}
