//! Analyses: the task, its steps, the operators' view and the accepted attachment types.

use super::*;
use entity::tasks;

pub use domain::task::{Task, TaskStatus, TaskStep};

/// An analysis as operators see it: its state and what it cost at the model provider.
#[derive(Debug, Clone, Object)]
#[oai(example)]
pub struct AdminTask {
    pub id: String,
    pub user_id: String,
    pub status: TaskStatus,
    /// Times a worker took it up (more than one after an interrupted run).
    #[oai(validator(minimum(value = "0")))]
    pub attempts: i32,
    /// Tokens the provider read, summed over the task's calls.
    #[oai(validator(minimum(value = "0")))]
    pub prompt_tokens: i64,
    /// Tokens the provider wrote, summed over the task's calls.
    #[oai(validator(minimum(value = "0")))]
    pub completion_tokens: i64,
    /// Steps the agent took in its last run.
    pub steps: u32,
    /// Credits the analysis cost (refunded if it failed, unless a file exceeded the
    /// reading limits).
    pub credits_used: f64,
    /// HTTP date in GMT.
    pub created_at: String,
    /// HTTP date in GMT.
    pub updated_at: String,
}

impl From<&tasks::Model> for AdminTask {
    fn from(row: &tasks::Model) -> Self {
        let task = crate::views::task(row);
        Self {
            id: task.id,
            user_id: task.user_id,
            status: task.status,
            attempts: row.attempts,
            prompt_tokens: row.prompt_tokens,
            completion_tokens: row.completion_tokens,
            steps: task.steps.len() as u32,
            credits_used: task.credits_used,
            created_at: task.created_at,
            updated_at: task.updated_at,
        }
    }
}

impl poem_openapi::types::Example for AdminTask {
    fn example() -> Self {
        Self {
            id: "task_0b6f8c4f9d2e4a7b8c1d2e3f4a5b6c7d".into(),
            user_id: "user_5e5ce11ad8ed4a328df03ffd19fa80ec".into(),
            status: TaskStatus::Completed,
            attempts: 1,
            prompt_tokens: 5_120,
            completion_tokens: 412,
            steps: 5,
            credits_used: 20.0,
            created_at: EXAMPLE_DATE.into(),
            updated_at: EXAMPLE_DATE.into(),
        }
    }
}

/// File extensions Analysis accepts, by kind. Audio and video are listed only when the
/// server can transcribe them.
#[derive(Debug, Clone, Object)]
#[oai(example)]
pub struct SupportedAttachments {
    pub audio: Vec<String>,
    pub image: Vec<String>,
    pub pdf: Vec<String>,
    pub video: Vec<String>,
}

impl SupportedAttachments {
    fn example_value() -> Self {
        let list = |items: &[&str]| items.iter().map(|s| s.to_string()).collect();
        Self {
            audio: vec![],
            image: list(&crate::domain::attachments::IMAGE_EXTENSIONS),
            pdf: list(&crate::domain::attachments::PDF_EXTENSIONS),
            video: vec![],
        }
    }
}

envelope!(
    /// Success envelope around a Task.
    TaskEnvelope, Task);

envelope!(
    /// Success envelope around a page of Tasks, newest first.
    TaskListEnvelope, Vec<Task>);

envelope!(
    /// Success envelope around the supported attachment types.
    SupportedAttachmentsEnvelope, SupportedAttachments);

envelope!(
    /// Success envelope around a page of analyses as operators see them, newest first.
    AdminTaskListEnvelope, Vec<AdminTask>);

examples!(SupportedAttachments);
