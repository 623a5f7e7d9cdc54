use sea_orm::entity::prelude::*;

/// One event of a task's stream: a step written or a status reached, in the order they
/// happened. Written in the transaction of the change it records.
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "task_events")]
pub struct Model {
    /// Commit order across all tasks.
    #[sea_orm(primary_key)]
    pub seq: i64,
    pub task_id: String,
    /// 1, 2, 3, … within the task: the event's `id:` on the stream.
    pub number: i64,
    /// `step` or `status`.
    pub kind: String,
    /// The event's data as sent, JSON.
    #[sea_orm(column_type = "Text")]
    pub data: String,
    /// Unix microseconds.
    pub created_at: i64,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {
    #[sea_orm(
        belongs_to = "super::tasks::Entity",
        from = "Column::TaskId",
        to = "super::tasks::Column::Id",
        on_delete = "Cascade"
    )]
    Task,
}

impl Related<super::tasks::Entity> for Entity {
    fn to() -> RelationDef {
        Relation::Task.def()
    }
}

impl ActiveModelBehavior for ActiveModel {}
