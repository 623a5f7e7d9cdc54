use sea_orm::entity::prelude::*;

/// One analysis. PENDING → RUNNING → COMPLETED or FAILED (a failure refunds the cost).
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "tasks")]
pub struct Model {
    /// Queue and list order.
    #[sea_orm(primary_key)]
    pub seq: i64,
    #[sea_orm(unique)]
    pub id: String,
    pub user_id: String,
    /// `PENDING`, `RUNNING`, `COMPLETED` or `FAILED`.
    pub status: String,
    /// The `text` of the request.
    #[sea_orm(column_type = "Text", nullable)]
    pub input: Option<String>,
    /// JSON list of the stored files: name, category, extension, size.
    #[sea_orm(column_type = "Text")]
    pub attachments: String,
    /// JSON of the validated result.
    #[sea_orm(column_type = "Text", nullable)]
    pub result: Option<String>,
    #[sea_orm(column_type = "Text", nullable)]
    pub error: Option<String>,
    /// Hundredths of a credit debited for the task.
    pub credits_used: i64,
    /// How many times a worker has claimed it.
    pub attempts: i32,
    /// The current claim: only its holder may finish the task.
    pub claim_id: Option<String>,
    /// Unix microseconds of the claim; a RUNNING task whose claim is older than the lease
    /// was left by a stopped worker and is claimed again.
    pub claimed_at: Option<i64>,
    /// Unix microseconds.
    pub created_at: i64,
    pub updated_at: i64,
    /// JSON list of the agent's steps so far: `[{kind, detail, at}]`, `at` in microseconds.
    #[sea_orm(column_type = "Text")]
    pub steps: String,
    /// Tokens the model provider counted for this task (read, written).
    pub prompt_tokens: i64,
    pub completion_tokens: i64,
    /// JSON of the W3C `traceparent` (and `tracestate`) of the span that queued the task,
    /// captured only while traces are exported; the worker's `task run` span links to it.
    #[sea_orm(column_type = "Text", nullable)]
    pub trace_context: Option<String>,
}

belongs_to_user!();
